import Foundation
import TransferKeyCore

/// Gives the AWS calls for one account × region (assuming the account's role where configured).
public protocol Cloud: Sendable {
    /// The calls for `accountID` in `region`.
    func region(accountID: String, region: String) -> any CloudRegion
    /// AWS's clock now, from the `Date` header of its latest answer carried forward on the monotonic clock;
    /// nil before AWS answered anything.
    func awsNow() -> Date?
}
