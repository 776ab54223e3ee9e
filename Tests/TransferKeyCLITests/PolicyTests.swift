import Foundation
import Testing
import TransferKeyTestSupport

@Suite("CLI: policy")
struct PolicyTests {
    @Test("the policy allows deletion only on keys whose aliases all match the prefix, and nothing more")
    func policy() throws {
        let fixture = try CLIFixture(extraConfig: "")
        defer { fixture.remove() }
        try CLIFixture.write(
            """
            database = "\(fixture.databasePath)"
            [[accounts]]
            id = "111122223333"
            role_arn = "arn:aws:iam::111122223333:role/CadoResponseRole"
            external_id = "example-external-id"
            regions = ["eu-west-1"]
            """, to: fixture.configPath)
        let result = try fixture.run(["policy"])
        #expect(result.exitCode == 0, "\(result)")
        let document = try parseJSON(result.stdout)
        #expect(document["Version"] as? String == "2012-10-17")
        let statements = try #require(document["Statement"] as? [[String: Any]])
        let bySid = Dictionary(uniqueKeysWithValues: statements.map { ($0["Sid"] as? String ?? "", $0) })

        let discover = try #require(bySid["DiscoverTransferKeys"])
        #expect(discover["Resource"] as? String == "*")
        #expect(
            Set(discover["Action"] as? [String] ?? []) == [
                "kms:ListAliases", "kms:ListKeys", "kms:DescribeKey", "kms:ListResourceTags", "kms:ListGrants",
                "kms:GetKeyLastUsage",
            ])
        let createKey = try #require(bySid["FinishInterruptedCreatesKey"])
        #expect(createKey["Action"] as? [String] == ["kms:CreateAlias"])
        let tagCondition = try #require(createKey["Condition"] as? [String: [String: String]])
        #expect(tagCondition["Null"]?["aws:ResourceTag/transferkeyd:import-id"] == "false")
        #expect(
            (bySid["FinishInterruptedCreatesAlias"]?["Resource"] as? [String]) == [
                "arn:aws:kms:*:111122223333:alias/CadoResponse-KMS-Alias*"
            ])

        let retire = try #require(bySid["RetireTransferKeysOnly"])
        #expect(
            Set(retire["Action"] as? [String] ?? []) == [
                "kms:ScheduleKeyDeletion", "kms:DeleteAlias", "kms:RetireGrant",
            ])
        #expect(retire["Resource"] as? [String] == ["arn:aws:kms:*:111122223333:key/*"])
        let condition = try #require(retire["Condition"] as? [String: [String: String]])
        #expect(condition["ForAllValues:StringLike"]?["kms:ResourceAliases"] == "alias/CadoResponse-KMS-Alias*")
        #expect(condition["ForAnyValue:StringLike"]?["kms:ResourceAliases"] == "alias/CadoResponse-KMS-Alias*")

        // The rescue works after cleanup removed the alias: no alias condition on CancelKeyDeletion.
        let rescue = try #require(bySid["RescueScheduledKeys"])
        #expect(rescue["Action"] as? [String] == ["kms:CancelKeyDeletion"])
        #expect(rescue["Resource"] as? [String] == ["arn:aws:kms:*:111122223333:key/*"])
        #expect(rescue["Condition"] == nil)

        let aliases = try #require(bySid["RemoveTransferAliases"])
        #expect(aliases["Action"] as? [String] == ["kms:DeleteAlias"])
        #expect(aliases["Resource"] as? [String] == ["arn:aws:kms:*:111122223333:alias/CadoResponse-KMS-Alias*"])

        #expect((bySid["WatchSnapshotCopies"]?["Action"] as? [String]) == ["ec2:DescribeSnapshots"])
        #expect(
            (bySid["AssumeAccountRoles"]?["Resource"] as? [String]) == [
                "arn:aws:iam::111122223333:role/CadoResponseRole"
            ])
        // Nothing grants a wildcard action, and no mutating KMS call is allowed on "*" except creating a
        // key that the request tags with the import id (CreateKey names no key; its Tags need TagResource).
        for statement in statements {
            let actions = statement["Action"] as? [String] ?? []
            #expect(!actions.contains { $0.hasSuffix(":*") || $0 == "*" })
            if statement["Sid"] as? String == "CreateTaggedTransferKeys" {
                #expect(Set(actions) == ["kms:CreateKey", "kms:TagResource"])
                let condition = try #require(statement["Condition"] as? [String: [String: Any]])
                #expect(condition["Null"]?["aws:RequestTag/transferkeyd:import-id"] as? String == "false")
                continue
            }
            if statement["Resource"] as? String == "*" {
                #expect(
                    actions.allSatisfy {
                        [
                            "kms:ListAliases", "kms:ListKeys", "kms:DescribeKey", "kms:ListResourceTags",
                            "kms:ListGrants", "kms:GetKeyLastUsage", "ec2:DescribeSnapshots", "cloudtrail:LookupEvents",
                        ]
                        .contains($0)
                    })
            }
        }
    }
}

@Suite("CLI: policy with an ownership mark key")
struct MarkKeyPolicyTests {
    @Test("with ownership_mark_key the policy lets the role make and verify marks on that key only")
    func markKeyStatement() throws {
        let fixture = try CLIFixture(extraConfig: "")
        defer { fixture.remove() }
        let markKey = "arn:aws:kms:eu-west-1:111122223333:key/0000beef-0000-4000-8000-000000000000"
        try CLIFixture.write(
            """
            database = "\(fixture.databasePath)"
            ownership_mark_key = "\(markKey)"
            [[accounts]]
            id = "111122223333"
            regions = ["eu-west-1"]
            """, to: fixture.configPath)
        let result = try fixture.run(["policy"])
        #expect(result.exitCode == 0, "\(result)")
        let statements = try #require(try parseJSON(result.stdout)["Statement"] as? [[String: Any]])
        let marks = try #require(statements.first { $0["Sid"] as? String == "MakeAndVerifyOwnershipMarks" })
        #expect(marks["Resource"] as? String == markKey)
        #expect(Set(marks["Action"] as? [String] ?? []) == ["kms:GenerateMac", "kms:VerifyMac", "kms:DescribeKey"])
        // No other statement grants GenerateMac.
        let others = statements.filter { $0["Sid"] as? String != "MakeAndVerifyOwnershipMarks" }
        #expect(!others.contains { ($0["Action"] as? [String] ?? []).contains("kms:GenerateMac") })
    }

    @Test("with disable_first the key-scoped statement adds DisableKey and EnableKey, under the same alias condition")
    func disableFirstStatement() throws {
        let fixture = try CLIFixture(extraConfig: "")
        defer { fixture.remove() }
        try CLIFixture.write(
            """
            database = "\(fixture.databasePath)"
            disable_first = "7d"
            [[accounts]]
            id = "111122223333"
            regions = ["eu-west-1"]
            """, to: fixture.configPath)
        let result = try fixture.run(["policy"])
        #expect(result.exitCode == 0, "\(result)")
        let statements = try #require(try parseJSON(result.stdout)["Statement"] as? [[String: Any]])
        let retire = try #require(statements.first { $0["Sid"] as? String == "RetireTransferKeysOnly" })
        #expect(
            Set(retire["Action"] as? [String] ?? []) == [
                "kms:ScheduleKeyDeletion", "kms:DeleteAlias", "kms:RetireGrant", "kms:DisableKey", "kms:EnableKey",
            ])
        #expect(retire["Condition"] != nil)
        let elsewhere = statements.filter { $0["Sid"] as? String != "RetireTransferKeysOnly" }
        #expect(!elsewhere.contains { ($0["Action"] as? [String] ?? []).contains("kms:DisableKey") })
    }
}
