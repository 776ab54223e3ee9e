/// What one orphan scan found, per account × region and in total.
public struct ScanReport: Sendable, Equatable {
    /// The scan of one account × region.
    public struct Region: Sendable, Equatable {
        /// The account scanned.
        public var accountID: String
        /// The region scanned.
        public var region: String
        /// Every alias `ListAliases` returned.
        public var aliasesSeen = 0
        /// Aliases under the prefix that target a key.
        public var ownedAliases = 0
        /// Keys behind unrecorded prefixed aliases that are younger than `orphan_grace`: left for a later scan.
        public var youngKeys = 0
        /// Import ids of the orphans this scan recorded.
        public var adopted: [String] = []
        /// Why the scan of this account × region failed, if it did (e.g. `ListAliases: AccessDeniedException`).
        public var error: String?

        /// An empty result for one account × region.
        public init(accountID: String, region: String) {
            self.accountID = accountID
            self.region = region
        }
    }

    /// One entry per configured account × region, in configuration order.
    public var regions: [Region] = []
    /// Unrecorded keys old enough to adopt, over all accounts × regions: what the alarm counts.
    public var newOrphans = 0
    /// Whether `newOrphans` exceeded `orphan_alarm_threshold`, so orphan cleanup is paused.
    public var isAlarmTripped = false

    /// An empty report.
    public init() {}
}
