/// The least-privilege IAM policy for the daemon's role, from the config (`transferkeyd policy`).
public enum IAMPolicy {
    /// The tag `transferkeyd create` puts on every key it makes (the daemon module's `KeyCreator.importIDTag`).
    public static let importIDTag = "transferkeyd:import-id"

    /// The AWS partition of a region: `aws`, `aws-cn` or `aws-us-gov`.
    public static func partition(ofRegion region: String) -> String {
        if region.hasPrefix("cn-") { return "aws-cn" }
        if region.hasPrefix("us-gov-") { return "aws-us-gov" }
        return "aws"
    }

    /// The policy document: discovery reads on `*`; deletion and alias removal only on keys whose
    /// aliases match the prefix (as the vendor's template conditions them); alias removal also on the
    /// prefixed alias ARNs; the rescue (`CancelKeyDeletion`) on the configured accounts' keys without
    /// any alias condition, because cleanup has removed the alias by the time a rescue is needed;
    /// `transferkeyd create`'s calls (a key tagged with the import id, its prefixed alias) and the
    /// scheduling of a key it made that never got its alias (a lost `CreateAlias` race or a duplicate
    /// after an ambiguous `CreateKey`); snapshot polling; assuming the configured roles.
    public static func document(for config: Config) -> JSONValue {
        let pattern = config.aliasPrefix + "*"
        let tag = importIDTag
        let aliasResourceName = String(config.aliasPrefix.dropFirst("alias/".count)) + "*"
        let accounts: [(id: String, partition: String)] =
            config.accounts.isEmpty
            ? [("*", "aws")]
            : config.accounts.map { ($0.id, partition(ofRegion: $0.regions.first ?? "us-east-1")) }
        let keyARNs = accounts.map { JSONValue.string("arn:\($0.partition):kms:*:\($0.id):key/*") }
        let aliasARNs = accounts.map {
            JSONValue.string("arn:\($0.partition):kms:*:\($0.id):alias/\(aliasResourceName)")
        }
        var statements: [JSONValue] = [
            [
                "Sid": "DiscoverTransferKeys", "Effect": "Allow",
                "Action": [
                    "kms:ListAliases", "kms:ListKeys", "kms:DescribeKey", "kms:ListResourceTags", "kms:ListGrants",
                    "kms:GetKeyLastUsage",
                ],
                "Resource": "*",
            ],
            [
                "Sid": "RetireTransferKeysOnly", "Effect": "Allow",
                // RetireGrant: the import's own grants go once its key is scheduled (the account that made a grant
                // may retire it with this permission).
                "Action": .array(
                    (["kms:ScheduleKeyDeletion", "kms:DeleteAlias", "kms:RetireGrant"]
                        // disable_first: disabled before scheduling, enabled again if something needs it (the alias is
                        // still there at both moments).
                        + (config.disableFirst == nil ? [] : ["kms:DisableKey", "kms:EnableKey"])).map { .string($0) }),
                "Resource": .array(keyARNs),
                "Condition": [
                    // Every alias of the key must match (a key that also carries alias/prod-db is denied)…
                    "ForAllValues:StringLike": ["kms:ResourceAliases": .string(pattern)],
                    // …and it must have at least one (ForAllValues alone also matches a key with none).
                    "ForAnyValue:StringLike": ["kms:ResourceAliases": .string(pattern)],
                ],
            ],
            // Cancelling is the safe direction, and by the time a rescue is needed cleanup has deleted
            // the alias: `ForAnyValue` over a key with no alias is false, so no alias condition here.
            [
                "Sid": "RescueScheduledKeys", "Effect": "Allow", "Action": ["kms:CancelKeyDeletion"],
                "Resource": .array(keyARNs),
            ],
            // A key `create` made that never got its alias (CreateAlias lost a race, or a duplicate
            // after an ambiguous CreateKey): only keys with no alias at all that carry the import-id tag.
            [
                "Sid": "RetireUnaliasedCreatedKeys", "Effect": "Allow", "Action": ["kms:ScheduleKeyDeletion"],
                "Resource": .array(keyARNs),
                "Condition": [
                    "Null": ["aws:ResourceTag/\(tag)": "false", "kms:ResourceAliases": "true"]
                ],
            ],
            // `transferkeyd create` (when it runs with this role): a key only when the request tags it with
            // the import id and with no other tag (tags on CreateKey also need kms:TagResource).
            [
                "Sid": "CreateTaggedTransferKeys", "Effect": "Allow", "Action": ["kms:CreateKey", "kms:TagResource"],
                "Resource": "*",
                "Condition": [
                    "Null": ["aws:RequestTag/\(tag)": "false"],
                    "ForAllValues:StringEquals": [
                        "aws:TagKeys": .array([.string(tag), .string(OwnershipMark.intentTag)])
                    ],
                ],
            ],
            // The ownership mark bound to the ARN, written once CreateKey answered: only that tag, only on keys that
            // carry the import-id tag. Writing it proves nothing by itself: only GenerateMac on the mark key makes a
            // value that verifies.
            [
                "Sid": "MarkCreatedTransferKeys", "Effect": "Allow", "Action": ["kms:TagResource"],
                "Resource": .array(keyARNs),
                "Condition": [
                    "Null": ["aws:ResourceTag/\(tag)": "false"],
                    // Only the mark's tag key, and at least one (ForAllValues alone also matches a request with none).
                    "ForAllValues:StringEquals": ["aws:TagKeys": .array([.string(OwnershipMark.tag)])],
                    "ForAnyValue:StringEquals": ["aws:TagKeys": .array([.string(OwnershipMark.tag)])],
                ],
            ],
            [
                "Sid": "RemoveTransferAliases", "Effect": "Allow", "Action": ["kms:DeleteAlias"],
                "Resource": .array(aliasARNs),
            ],
            // Finishing a `create` that died before its alias existed: only on prefixed alias names,
            // and only on keys that carry transferkeyd's import-id tag.
            [
                "Sid": "FinishInterruptedCreatesAlias", "Effect": "Allow", "Action": ["kms:CreateAlias"],
                "Resource": .array(aliasARNs),
            ],
            [
                "Sid": "FinishInterruptedCreatesKey", "Effect": "Allow", "Action": ["kms:CreateAlias"],
                "Resource": .array(keyARNs),
                "Condition": ["Null": ["aws:ResourceTag/\(tag)": "false"]],
            ],
            // Attempts to use a key pending deletion (and who made a key) are in CloudTrail's event history;
            // LookupEvents has no resource-level permission.
            [
                "Sid": "WatchKeyUse", "Effect": "Allow", "Action": ["cloudtrail:LookupEvents"], "Resource": "*",
            ],
            [
                "Sid": "WatchSnapshotCopies", "Effect": "Allow", "Action": ["ec2:DescribeSnapshots"], "Resource": "*",
            ],
        ]
        if let markKey = config.ownershipMarkKey {
            // The mark key's own key policy must grant kms:GenerateMac to this role alone: whoever can call it can
            // make marks. VerifyMac may be granted more widely (auditors, a replacement host's role).
            statements.append([
                "Sid": "MakeAndVerifyOwnershipMarks", "Effect": "Allow",
                "Action": ["kms:GenerateMac", "kms:VerifyMac", "kms:DescribeKey"], "Resource": .string(markKey),
            ])
        }
        if let lease = config.lease {
            // The base credentials' own account (not known from the config: `*`), only the lease's table.
            statements.append([
                "Sid": "HoldWriterLease", "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
                "Resource": .string(
                    "arn:\(partition(ofRegion: lease.region)):dynamodb:\(lease.region):*:table/\(lease.table)"),
            ])
        }
        let roles = config.accounts.compactMap(\.roleARN)
        if !roles.isEmpty {
            statements.append([
                "Sid": "AssumeAccountRoles", "Effect": "Allow", "Action": ["sts:AssumeRole"],
                "Resource": .array(roles.map { .string($0) }),
            ])
        }
        return ["Version": "2012-10-17", "Statement": .array(statements)]
    }
}
