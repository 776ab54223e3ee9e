import Foundation

/// Where the CLI writes: results to stdout, errors and warnings to stderr.
enum Console {
    /// Writes one line to stderr.
    static func error(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Writes `text` to stdout, adding a final newline when missing.
    static func out(_ text: String) {
        print(text.hasSuffix("\n") ? String(text.dropLast()) : text)
    }

    /// Whether stdout is a terminal (progress and colour only then).
    static var isTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

    /// The width to wrap text for: the terminal's, else `$COLUMNS`, else 120.
    static var width: Int {
        var size = winsize()
        if isTerminal, ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col >= 40 { return Int(size.ws_col) }
        if let columns = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init), columns >= 40 {
            return columns
        }
        return 120
    }
}
