import Foundation
import TransferKeyCore

/// A transfer to record: what `track` (or the orphan scanner, or `create`) knows when it starts.
public struct NewTransfer: Sendable {
    public var importID: String
    public var accountID: String
    public var region: String
    /// The bare key id; `nil` only for `create`'s intent row, written before the key exists.
    public var keyID: String?
    public var keyARN: String?
    public var aliasName: String?
    public var origin: TransferOrigin
    /// Destination snapshot copies whose completion ends the import.
    public var snapshotIDs: [String]
    public var snapshotAccountID: String?
    public var snapshotRegion: String?
    /// When cleanup starts at the latest, whatever the import says.
    public var deadline: Date
    /// When AWS last described the key for whoever records it (the scanner, `create`); nil when nobody did.
    public var keySeenAt: Date?
    /// AWS's time at `now` (the recording), when it is known: what ages are judged against.
    public var awsRecordedAt: Date?
    /// A discovered key whose provenance the rules could not prove is recorded `refused` at once, with this
    /// reason (`rule: why`) and the audit detail of the decision.
    public var refusal: (reason: String, detail: [String: JSONValue])?

    /// Creates a transfer to record.
    public init(
        importID: String, accountID: String, region: String, keyID: String?, keyARN: String? = nil,
        aliasName: String? = nil, origin: TransferOrigin, snapshotIDs: [String] = [],
        snapshotAccountID: String? = nil, snapshotRegion: String? = nil, deadline: Date, keySeenAt: Date? = nil,
        awsRecordedAt: Date? = nil, refusal: (reason: String, detail: [String: JSONValue])? = nil
    ) {
        self.awsRecordedAt = awsRecordedAt
        self.keySeenAt = keySeenAt
        self.refusal = refusal
        self.importID = importID
        self.accountID = accountID
        self.region = region
        self.keyID = keyID
        self.keyARN = keyARN
        self.aliasName = aliasName
        self.origin = origin
        self.snapshotIDs = snapshotIDs
        self.snapshotAccountID = snapshotAccountID
        self.snapshotRegion = snapshotRegion
        self.deadline = deadline
    }
}
