/// How far an orphan scan is: reported each time one account × region has been listed.
public struct ScanProgress: Sendable, Equatable {
    /// The account just listed.
    public var accountID: String
    /// The region just listed.
    public var region: String
    /// Every alias `ListAliases` returned there.
    public var aliasesSeen: Int
    /// Unrecorded keys old enough to adopt there (adoption comes once every place is listed).
    public var orphans: Int
    /// Why listing failed there, if it did.
    public var error: String?
    /// Account × region pairs listed so far, this one included.
    public var done: Int
    /// Account × region pairs in this scan.
    public var total: Int

    /// Creates a progress report.
    public init(
        accountID: String, region: String, aliasesSeen: Int, orphans: Int, error: String?, done: Int, total: Int
    ) {
        self.accountID = accountID
        self.region = region
        self.aliasesSeen = aliasesSeen
        self.orphans = orphans
        self.error = error
        self.done = done
        self.total = total
    }
}
