/// Temporary credentials from `AssumeRole` or `AssumeRoleWithWebIdentity`.
public struct AssumedRole: Sendable, Equatable {
    /// The temporary credentials (with session token and expiry).
    public var credentials: Credentials
    /// `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
    public var assumedRoleARN: String?
    /// The role id and session name.
    public var assumedRoleID: String?

    /// Creates a result (tests and fakes).
    public init(credentials: Credentials, assumedRoleARN: String? = nil, assumedRoleID: String? = nil) {
        self.credentials = credentials
        self.assumedRoleARN = assumedRoleARN
        self.assumedRoleID = assumedRoleID
    }
}
