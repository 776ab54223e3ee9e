/// One account × region: AWS's quotas are per account × region, so the cleanup works each in a lane of its own.
public struct AccountRegion: Hashable, Sendable, Comparable {
    public var accountID: String
    public var region: String

    public init(accountID: String, region: String) {
        self.accountID = accountID
        self.region = region
    }

    /// `account/region`, as logs name it.
    public var name: String { "\(accountID)/\(region)" }

    public static func < (left: AccountRegion, right: AccountRegion) -> Bool {
        (left.accountID, left.region) < (right.accountID, right.region)
    }
}

extension TransferRecord {
    /// The account × region the transfer's key lives in: its cleanup lane.
    public var accountRegion: AccountRegion { AccountRegion(accountID: accountID, region: region) }
}
