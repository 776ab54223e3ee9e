/// One account × region: AWS's quotas are per account × region, so the cleanup works each in a lane of its own.
public struct AccountRegion: Hashable, Sendable, Comparable {
    public var accountID: String
    public var region: String

    public init(accountID: String, region: String) {
        self.accountID = accountID
        self.region = region
    }

    public static func < (left: AccountRegion, right: AccountRegion) -> Bool {
        (left.accountID, left.region) < (right.accountID, right.region)
    }
}

extension TransferRecord {
    /// The account × region the transfer's key lives in: its cleanup lane.
    public var accountRegion: AccountRegion { AccountRegion(accountID: accountID, region: region) }

    /// `transfers` split by account × region, each lane in the given order, lanes in order of first appearance:
    /// the cleanup loop's lanes and the pending-deletion watch's.
    public static func lanes(of transfers: [TransferRecord]) -> [[TransferRecord]] {
        var order: [AccountRegion] = []
        var byLane: [AccountRegion: [TransferRecord]] = [:]
        for transfer in transfers {
            let lane = transfer.accountRegion
            if byLane[lane] == nil { order.append(lane) }
            byLane[lane, default: []].append(transfer)
        }
        return order.compactMap { byLane[$0] }
    }
}
