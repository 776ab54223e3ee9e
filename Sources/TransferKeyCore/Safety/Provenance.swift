import Foundation

/// Why a discovered key counts as a transfer key, or what evidence is missing.
public enum Provenance: Sendable, Equatable {
    /// The key carries an ownership mark that verified: this daemon made it for this import id.
    case mark(importID: String)
    /// The key was made `lead` seconds before its first prefixed alias and was `age` seconds old.
    case youngKey(lead: TimeInterval, age: TimeInterval)
    /// Neither: what is missing, in words.
    case missing(String)

    /// The evidence as `key=value` words for a log line or a message: `mark import_id=…`,
    /// `young_key lead_s=60 age_s=7262`, or what is missing.
    public var logText: String {
        switch self {
        case .mark(let importID): "ownership mark for import \(importID)"
        case .youngKey(let lead, let age):
            "young key: made \(Int(lead.rounded())) s before its first prefixed alias, \(Int(age.rounded())) s old"
        case .missing(let what): "missing: \(what)"
        }
    }

    /// Whether the evidence is enough to adopt the key without an operator.
    public var isProven: Bool {
        if case .missing = self { return false }
        return true
    }
}
