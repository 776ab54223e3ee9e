/// What AWS answered to a KMS call whose body says nothing the caller needs: its request id, for the audit trail.
public struct KMSReceipt: Sendable, Equatable {
    /// `x-amzn-RequestId` of the answer.
    public var requestID: String?

    /// Creates a receipt.
    public init(requestID: String?) {
        self.requestID = requestID
    }
}
