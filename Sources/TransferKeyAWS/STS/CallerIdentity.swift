/// The answer to `GetCallerIdentity`.
public struct CallerIdentity: Sendable, Equatable {
    /// The account id.
    public var account: String
    /// The caller's ARN.
    public var arn: String
    /// The caller's unique id.
    public var userID: String

    /// Creates an identity (tests and fakes).
    public init(account: String, arn: String, userID: String) {
        self.account = account
        self.arn = arn
        self.userID = userID
    }
}
