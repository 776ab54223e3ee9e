/// A TOML table with its entries in the order they were defined, each with its line.
struct TOMLTable: Equatable, Sendable {
    /// What a key holds: a value, a `[table]` or an `[[array of tables]]`.
    indirect enum Item: Equatable, Sendable {
        case value(TOMLValue)
        case table(TOMLTable)
        case tableArray([TOMLTable])
    }

    /// One key of the table and the line that defined it.
    struct Entry: Equatable, Sendable {
        var key: String
        var item: Item
        var line: Int
    }

    /// The line of the table's header (1 for the root table).
    var line: Int
    /// The entries, in definition order.
    var entries: [Entry] = []

    /// The entry for `key`, if defined.
    subscript(key: String) -> Entry? {
        entries.first { $0.key == key }
    }

    /// The position of `key` in `entries`, if defined.
    func index(of key: String) -> Int? {
        entries.firstIndex { $0.key == key }
    }
}
