/// An AWS account the daemon works in: its id and, optionally, the role to assume there.
public struct AWSAccount: Sendable, Hashable {
    /// The 12-digit account id.
    public var id: String
    /// The role to assume in that account; `nil` uses the base credentials directly.
    public var roleARN: String?
    /// The external id the role's trust policy demands, if any.
    public var externalID: String?

    /// Creates an account.
    public init(id: String, roleARN: String? = nil, externalID: String? = nil) {
        self.id = id
        self.roleARN = roleARN
        self.externalID = externalID
    }
}
