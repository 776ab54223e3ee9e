import Foundation
import GRDB
import TransferKeyCore

extension TransferStore {
    /// Fills the transfer's `key_arn` with `arn` as AWS reported it (`DescribeKey`'s `Arn`), when it is
    /// still empty; a recorded ARN is never overwritten. Not a state change, so no audit event.
    /// Returns whether the row changed.
    /// - Throws: `TransferStoreError` when no transfer has `importID`, or `arn` names another key.
    @discardableResult
    public func recordKeyARN(_ arn: String, for importID: String) throws -> Bool {
        try database.write { db in
            guard let record = try TransferRecord.fetchOne(db, importID: importID)
            else { throw TransferStoreError.notFound(importID) }
            guard record.keyARN == nil else { return false }
            guard let keyID = record.keyID,
                case .arn(_, _, let region, let accountID, let arnKeyID)? =
                    try? Validator.keyReference(arn, field: "key_arn"),
                arnKeyID == keyID, accountID == record.accountID, region == record.region
            else {
                throw TransferStoreError.keyARNMismatch(importID, arn: arn)
            }
            try db.execute(
                sql: "UPDATE transfers SET key_arn = ? WHERE import_id = ? AND key_arn IS NULL",
                arguments: [arn, importID])
            return db.changesCount > 0
        }
    }
}
