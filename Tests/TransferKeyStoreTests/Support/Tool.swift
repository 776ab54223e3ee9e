import Foundation

/// Runs command-line tools (`sqlite3`, `python3`) from tests.
enum Tool {
    /// What a finished process printed and returned.
    struct Output {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs `name` (looked up in PATH) with `arguments`, feeding `input` on stdin, and waits for it.
    static func run(_ name: String, _ arguments: [String], input: String? = nil) throws -> Output {
        // Output goes to files, so a chatty process can never block on a full pipe.
        let folder = FileManager.default.temporaryDirectory.appending(path: "tool-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let outURL = folder.appending(path: "out")
        let errURL = folder.appending(path: "err")
        let inURL = folder.appending(path: "in")
        try Data((input ?? "").utf8).write(to: inURL)
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [name] + arguments
        let handles = [
            try FileHandle(forReadingFrom: inURL), try FileHandle(forWritingTo: outURL),
            try FileHandle(forWritingTo: errURL),
        ]
        defer { for handle in handles { try? handle.close() } }
        process.standardInput = handles[0]
        process.standardOutput = handles[1]
        process.standardError = handles[2]
        try process.run()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus,
            stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    /// `sqlite3 PATH SQL…`, as an operator would type it.
    static func sqlite3(_ path: String, _ sql: String) throws -> Output {
        try run("sqlite3", [path, sql])
    }
}

/// Small file helpers for tests.
enum Files {
    /// The file's bytes, or nil when absent.
    static func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// Whether a file exists at `path`.
    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// The permission bits of the file at `path`.
    static func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }
}
