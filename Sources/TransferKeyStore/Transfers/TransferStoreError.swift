import TransferKeyCore

/// A request the store refused because of what is already recorded; nothing was changed.
public struct TransferStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: Sendable, Equatable {
        case duplicateImportID
        case keyAlreadyTracked
        case notFound
        case illegalTransition
        case noKey
        case notWaivable
        case keyARNMismatch
        case ambiguous
    }

    public let code: Code
    public let description: String

    static func duplicateImportID(_ importID: String) -> Self {
        Self(code: .duplicateImportID, description: "import id \(importID) is already recorded; pick a new one")
    }

    static func keyAlreadyTracked(_ keyID: String, by importID: String) -> Self {
        Self(
            code: .keyAlreadyTracked,
            description: "key \(keyID) is already tracked by unfinished import \(importID)")
    }

    /// No transfer has `reference` as import id, key id or key ARN.
    public static func notFound(_ reference: String) -> Self {
        Self(
            code: .notFound,
            description: "no transfer has import id, key id or key ARN \(reference) (see `transferkeyd list`)")
    }

    /// `reference` names several transfers: the caller must name one by its import id.
    static func ambiguous(_ reference: String, importIDs: [String]) -> Self {
        Self(
            code: .ambiguous,
            description:
                "\(reference) names \(importIDs.count) transfers (\(importIDs.joined(separator: ", "))); name one by its import id"
        )
    }

    static func notCreating(_ importID: String, state: TransferState) -> Self {
        Self(
            code: .illegalTransition,
            description: "transfer \(importID) is \(state.rawValue); a key can only be attached while creating")
    }

    static func noKey(_ importID: String) -> Self {
        Self(
            code: .noKey,
            description:
                "transfer \(importID) never got a key (its create failed before AWS made one); nothing to retry")
    }

    static func notWaivable(_ importID: String, state: TransferState, rule: String?) -> Self {
        let why =
            state != .refused
            ? "it is \(state.rawValue), not refused"
            : "its refusal (\(rule ?? "an unnamed rule")) is about the key itself, which no operator can waive: make"
                + " the key safe in AWS, then `transferkeyd retry \(importID)`"
        return Self(code: .notWaivable, description: "transfer \(importID) cannot be accepted: \(why)")
    }

    static func notRetryable(_ importID: String, state: TransferState) -> Self {
        Self(
            code: .illegalTransition,
            description:
                "transfer \(importID) is \(state.rawValue); only a stuck or refused transfer can be retried (see `transferkeyd show \(importID)`)"
        )
    }

    static func keyARNMismatch(_ importID: String, arn: String) -> Self {
        Self(
            code: .keyARNMismatch,
            description:
                "transfer \(importID): \(arn) is not the ARN of its key, account and region; key_arn left as it is")
    }

    static func illegal(_ importID: String, _ error: IllegalTransition) -> Self {
        Self(code: .illegalTransition, description: "transfer \(importID): \(error)")
    }
}
