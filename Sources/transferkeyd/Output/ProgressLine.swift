import Foundation
import Synchronization

/// Progress of long work for people: on a terminal one line rewritten in place; otherwise (a pipe, a
/// file, cron) nothing in place, and one plain line per finished step.
final class ProgressLine: Sendable {
    /// Whether stdout is a terminal.
    let isTerminal: Bool
    /// Prints nothing at all (`reconcile --dry-run --json`: stdout holds only the document).
    let isSilent: Bool
    /// Whether a progress line is on the terminal; held while writing, so lines never interleave.
    private let isShowing = Mutex(false)

    init(isTerminal: Bool = Console.isTerminal, isSilent: Bool = false) {
        self.isTerminal = isTerminal && !isSilent
        self.isSilent = isSilent
    }

    /// On a terminal, replaces the progress line with `text`; otherwise does nothing.
    func show(_ text: String) {
        guard isTerminal else { return }
        isShowing.withLock { isShowing in
            // Carriage return + erase to the end of the line; no newline, so the next update overwrites it.
            FileHandle.standardOutput.write(Data(("\r\u{1B}[K" + text).utf8))
            isShowing = true
        }
    }

    /// A finished step: `inPlace` on a terminal, `line` as a line of its own otherwise.
    func step(inPlace: String, line: String) {
        if isTerminal {
            show(inPlace)
        } else if !isSilent {
            Console.out(line)
        }
    }

    /// Clears the progress line, so what follows starts on a clean line.
    func clear() {
        guard isTerminal else { return }
        isShowing.withLock { isShowing in
            if isShowing { FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8)) }
            isShowing = false
        }
    }
}
