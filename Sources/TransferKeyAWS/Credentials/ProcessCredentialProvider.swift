import Foundation

/// Credentials from a profile's `credential_process`: the command runs through `/bin/sh -c`, and its standard
/// output is the documented JSON (`Version` 1, `AccessKeyId`, `SecretAccessKey`, optional `SessionToken` and
/// `Expiration`). Cached, and run again 5 minutes before `Expiration`.
///
/// A non-zero exit, a timeout or unreadable output is an error (the chain stops there); standard error is not
/// read into messages, as it may hold secrets.
public struct ProcessCredentialProvider: CredentialProvider {
    /// The command line, as written in the profile.
    public let command: String
    /// The profile naming it, for messages.
    public let profileName: String
    private let timeout: Duration
    private let cache: CredentialCache

    /// Creates the provider; `timeout` bounds one run of the command.
    public init(command: String, profileName: String, timeout: Duration = .seconds(60)) {
        self.command = command
        self.profileName = profileName
        self.timeout = timeout
        cache = CredentialCache()
    }

    /// `credential_process of profile <name>`.
    public var source: String { "credential_process of profile \(profileName)" }

    /// The command's credentials.
    public func credentials() async throws -> Credentials {
        let source = self.source
        return try await cache.credentials { [command, timeout] in
            let output = try await Self.run(command, timeout: timeout, source: source)
            return try Self.decode(output, source: source)
        }
    }

    /// Forgets the cached credentials.
    public func invalidate() async { await cache.invalidate() }

    struct Document: Decodable {
        let version: Int?
        let accessKeyID: String?
        let secretAccessKey: String?
        let sessionToken: String?
        let expiration: String?

        enum CodingKeys: String, CodingKey {
            case version = "Version"
            case accessKeyID = "AccessKeyId"
            case secretAccessKey = "SecretAccessKey"
            case sessionToken = "SessionToken"
            case expiration = "Expiration"
        }
    }

    /// Parses the command's standard output.
    static func decode(_ output: Data, source: String) throws -> Credentials {
        guard let document = try? JSONDecoder().decode(Document.self, from: output) else {
            throw CredentialProviderError(source: source, message: "the command's output is not a JSON object")
        }
        guard document.version == 1 else {
            throw CredentialProviderError(source: source, message: "the command's output must have \"Version\": 1")
        }
        guard let keyID = document.accessKeyID, !keyID.isEmpty, let secret = document.secretAccessKey,
            !secret.isEmpty
        else {
            throw CredentialProviderError(
                source: source, message: "the command's output lacks AccessKeyId or SecretAccessKey")
        }
        var expiration: Date?
        if let text = document.expiration {
            guard let date = STSClient.parseDate(text) else {
                throw CredentialProviderError(
                    source: source, message: "the command's Expiration is not an ISO 8601 time")
            }
            expiration = date
        }
        return Credentials(
            accessKeyID: keyID, secretAccessKey: secret,
            sessionToken: document.sessionToken.flatMap { $0.isEmpty ? nil : $0 }, expiration: expiration)
    }

    /// Runs `command` with `/bin/sh -c` and returns its standard output, or throws when it fails or times out.
    static func run(_ command: String, timeout: Duration, source: String) async throws -> Data {
        let child = Child()
        child.process.executableURL = URL(filePath: "/bin/sh")
        child.process.arguments = ["-c", command]
        child.process.standardOutput = child.output
        child.process.standardInput = FileHandle.nullDevice
        child.process.standardError = FileHandle.standardError
        do {
            try child.process.run()
        } catch {
            throw CredentialProviderError(source: source, message: "cannot start /bin/sh: \(error)")
        }
        // The limit fires on a dispatch timer, not a task: a busy cooperative pool cannot delay it. It kills the whole
        // process group (Foundation starts the shell as the leader of its own): a child the command started keeps its
        // standard output open, and reading would wait for that child, not the time limit.
        let limit = DispatchWorkItem {
            if child.process.isRunning { kill(-child.process.processIdentifier, SIGKILL) }
        }
        let (seconds, attoseconds) = timeout.components
        DispatchQueue.global().asyncAfter(
            deadline: .now() + .nanoseconds(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)),
            execute: limit)
        defer { limit.cancel() }
        let data: Data = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let data = child.output.fileHandleForReading.readDataToEndOfFile()
                child.process.waitUntilExit()
                continuation.resume(returning: data)
            }
        }
        if child.process.terminationReason == .uncaughtSignal {
            throw CredentialProviderError(
                source: source,
                message: "the command was killed by signal \(child.process.terminationStatus) (time limit \(timeout))")
        }
        guard child.process.terminationStatus == 0 else {
            throw CredentialProviderError(
                source: source, message: "the command exited with status \(child.process.terminationStatus)")
        }
        return data
    }

    /// The child process and its output pipe, shared by the waiting thread and the time limit (both types are
    /// `Sendable` themselves, so no lock is needed here).
    private final class Child: Sendable {
        let process = Process()
        let output = Pipe()
    }
}
