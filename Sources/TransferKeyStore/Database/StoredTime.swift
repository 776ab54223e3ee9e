import Foundation
import GRDB
import TransferKeyCore

extension Timestamp {
    /// How a record's `Date` is written: the contract's text (`Timestamp.string`), never GRDB's default format.
    static let encodingStrategy = DatabaseDateEncodingStrategy.custom { Timestamp.string($0) }

    /// How a stored time is read. Text that does not parse (only a hand edit writes it: every writer formats
    /// with `Timestamp.string`) reads as long past rather than failing the fetch, so one edited row can neither
    /// hide itself nor every other row from the work loop: it is due at once, and the safety checks judge it.
    static let decodingStrategy = DatabaseDateDecodingStrategy.custom { value in
        String.fromDatabaseValue(value).map(readBack)
    }

    /// A stored time's text as a `Date`: see `decodingStrategy` for text that does not parse.
    static func readBack(_ text: String) -> Date { Timestamp.date(text) ?? .distantPast }
}

extension Row {
    /// The stored time in `column`, nil when NULL; read as records read it (`Timestamp.decodingStrategy`).
    func time(_ column: String) -> Date? {
        (self[column] as String?).map(Timestamp.readBack)
    }
}
