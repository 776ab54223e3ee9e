/// The least-privilege IAM policy for the daemon's role, from the config (`transferkeyd policy`).
public enum IAMPolicy {
    /// The AWS partition of a region: `aws`, `aws-cn` or `aws-us-gov`.
    public static func partition(ofRegion region: String) -> String {
        if region.hasPrefix("cn-") { return "aws-cn" }
        if region.hasPrefix("us-gov-") { return "aws-us-gov" }
        return "aws"
    }

    /// The policy document: discovery reads on `*`; deletion, cancellation and alias removal only on
    /// keys whose aliases match the prefix (as the vendor's template conditions them); alias removal
    /// also on the prefixed alias ARNs; re-creating a prefixed alias on a key tagged by `create`
    /// (finishing an interrupted `create`); snapshot polling; assuming the configured roles.
    /// `transferkeyd create` itself runs with the platform's credentials (CreateKey, CreateAlias,
    /// TagResource), not the daemon's.
    public static func document(for config: Config) -> JSONValue {
        let pattern = config.aliasPrefix + "*"
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
                "Action": ["kms:ListAliases", "kms:ListKeys", "kms:DescribeKey", "kms:ListResourceTags"],
                "Resource": "*",
            ],
            [
                "Sid": "RetireTransferKeysOnly", "Effect": "Allow",
                "Action": ["kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:DeleteAlias"],
                "Resource": .array(keyARNs),
                "Condition": [
                    // Every alias of the key must match (a key that also carries alias/prod-db is denied)…
                    "ForAllValues:StringLike": ["kms:ResourceAliases": .string(pattern)],
                    // …and it must have at least one (ForAllValues alone also matches a key with none).
                    "ForAnyValue:StringLike": ["kms:ResourceAliases": .string(pattern)],
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
                "Condition": ["Null": ["aws:ResourceTag/transferkeyd:import-id": "false"]],
            ],
            [
                "Sid": "WatchSnapshotCopies", "Effect": "Allow", "Action": ["ec2:DescribeSnapshots"], "Resource": "*",
            ],
        ]
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
