/// A value of the TOML subset the config file uses, with the 1-based line it was written on.
struct TOMLValue: Equatable, Sendable {
    /// The kinds of value the subset supports; everything else is refused by the parser.
    enum Kind: Equatable, Sendable {
        case string(String)
        case integer(Int)
        case boolean(Bool)
        case array([TOMLValue])
    }

    var kind: Kind
    var line: Int

    /// `a string "7"`, `an integer 7`, …: the "got …" part of a type error.
    var typeDescription: String {
        switch kind {
        case .string(let text): "a string \(text.inputQuoted)"
        case .integer(let number): "an integer \(number)"
        case .boolean(let flag): "a boolean \(flag)"
        case .array: "an array"
        }
    }
}
