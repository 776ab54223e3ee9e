import Foundation

/// Why a discovered key counts as a transfer key, or what evidence is missing.
public enum Provenance: Sendable, Equatable {
    /// The key carries an ownership mark that verified: this daemon made it for this import id.
    case mark(importID: String)
    /// The key was made `lead` seconds before its first prefixed alias and was `age` seconds old.
    case youngKey(lead: TimeInterval, age: TimeInterval)
    /// Neither: what is missing, in words.
    case missing(String)

    /// Whether the evidence is enough to adopt the key without an operator.
    public var isProven: Bool {
        if case .missing = self { return false }
        return true
    }
}
