import Foundation

/// The key policy `transferkeyd create` gives a transfer key: the owning account keeps full
/// control (AWS requires a key policy that leaves the key manageable), and each grantee account
/// may only use the key for the snapshot copy — encrypt, decrypt, re-encrypt, make data keys,
/// describe it, and create grants for AWS services (EBS) acting on its behalf, never for anyone else.
public enum TransferKeyPolicy {
    /// What a grantee account may do with the key.
    public static let granteeActions = [
        "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey",
    ]

    /// The policy document for a key owned by `accountID` in `region`, shared with `granteeAccounts`.
    ///
    /// Deterministic: the same input always gives the same document (grantees sorted, duplicates removed).
    public static func document(accountID: String, region: String, granteeAccounts: [String]) -> JSONValue {
        let partition = Validator.partitionOf(region: region)
        let root = { (account: String) -> JSONValue in .string("arn:\(partition):iam::\(account):root") }
        let grantees = Array(Set(granteeAccounts)).sorted().map(root)
        return [
            "Version": "2012-10-17",
            "Id": "transferkeyd-transfer-key",
            "Statement": [
                [
                    "Sid": "OwnerAccountAdministersTheKey",
                    "Effect": "Allow",
                    "Principal": ["AWS": root(accountID)],
                    "Action": "kms:*",
                    "Resource": "*",
                ],
                [
                    "Sid": "GranteesUseTheKey",
                    "Effect": "Allow",
                    "Principal": ["AWS": .array(grantees)],
                    "Action": .array(granteeActions.map { .string($0) }),
                    "Resource": "*",
                ],
                [
                    "Sid": "GranteesGrantOnlyToAWSServices",
                    "Effect": "Allow",
                    "Principal": ["AWS": .array(grantees)],
                    "Action": "kms:CreateGrant",
                    "Resource": "*",
                    "Condition": ["Bool": ["kms:GrantIsForAWSResource": "true"]],
                ],
            ],
        ]
    }
}
