import Foundation
import Testing

@testable import TransferKeyCore

@Suite("Create: the transfer key's policy")
struct CreateKeyPolicyTests {
    private func statements(_ document: JSONValue) throws -> [String: [String: Any]] {
        let parsed = try JSONSerialization.jsonObject(with: Data(document.text.utf8)) as? [String: Any]
        let list = try #require(parsed?["Statement"] as? [[String: Any]])
        var bySid: [String: [String: Any]] = [:]
        for statement in list { bySid[try #require(statement["Sid"] as? String)] = statement }
        #expect(parsed?["Version"] as? String == "2012-10-17")
        #expect(bySid.count == list.count, "statement ids are unique")
        return bySid
    }

    @Test("the owner keeps kms:*; grantees get only the use actions, and CreateGrant only for AWS resources")
    func leastPrivilege() throws {
        let document = TransferKeyPolicy.document(
            accountID: "111122223333", region: "eu-west-1", granteeAccounts: ["444455556666", "777788889999"])
        let bySid = try statements(document)
        #expect(bySid.count == 3)

        let owner = try #require(bySid["OwnerAccountAdministersTheKey"])
        #expect(owner["Effect"] as? String == "Allow")
        #expect((owner["Principal"] as? [String: Any])?["AWS"] as? String == "arn:aws:iam::111122223333:root")
        #expect(owner["Action"] as? String == "kms:*")
        #expect(owner["Condition"] == nil)

        let grantees = ["arn:aws:iam::444455556666:root", "arn:aws:iam::777788889999:root"]
        let use = try #require(bySid["GranteesUseTheKey"])
        #expect(use["Effect"] as? String == "Allow")
        #expect((use["Principal"] as? [String: Any])?["AWS"] as? [String] == grantees)
        #expect(
            Set(use["Action"] as? [String] ?? [])
                == ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"])
        #expect(use["Condition"] == nil)

        let grant = try #require(bySid["GranteesGrantOnlyToAWSServices"])
        #expect(grant["Effect"] as? String == "Allow")
        #expect((grant["Principal"] as? [String: Any])?["AWS"] as? [String] == grantees)
        #expect(grant["Action"] as? String == "kms:CreateGrant")
        let condition = try #require(grant["Condition"] as? [String: [String: String]])
        #expect(condition == ["Bool": ["kms:GrantIsForAWSResource": "true"]])

        // Nothing but the owner can delete, disable or re-policy the key.
        let granted = (use["Action"] as? [String] ?? []) + [grant["Action"] as? String ?? ""]
        #expect(!granted.contains { $0.contains("Delete") || $0.contains("Put") || $0 == "kms:*" })
    }

    @Test("deterministic: grantee order and duplicates do not change the bytes; partition follows the region")
    func deterministic() throws {
        let one = TransferKeyPolicy.document(
            accountID: "111122223333", region: "us-east-1", granteeAccounts: ["777788889999", "444455556666"])
        let two = TransferKeyPolicy.document(
            accountID: "111122223333", region: "us-east-1",
            granteeAccounts: ["444455556666", "777788889999", "444455556666"])
        #expect(one.text == two.text)
        let china = TransferKeyPolicy.document(
            accountID: "111122223333", region: "cn-north-1", granteeAccounts: ["444455556666"])
        #expect(china.text.contains("arn:aws-cn:iam::111122223333:root"))
        #expect(!china.text.contains("arn:aws:iam"))
    }
}
