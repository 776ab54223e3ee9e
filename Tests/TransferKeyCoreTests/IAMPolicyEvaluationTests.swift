import Foundation
import Testing

@testable import TransferKeyCore

/// The printed IAM policy, evaluated against the request context of every call the daemon (and
/// `transferkeyd create`) makes, so a policy that denies our own cleanup or rescue cannot ship.
@Suite("IAM policy: every call the daemon makes is allowed, and nothing beyond")
struct IAMPolicyEvaluationTests {
    private static let account = "111122223333"
    private static let region = "eu-west-1"
    private static let prefix = "alias/CadoResponse-KMS-Alias"
    private static let role = "arn:aws:iam::111122223333:role/CadoResponseRole"
    private static let keyARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    private static let alias = "alias/CadoResponse-KMS-Alias-imp-42"
    private static let aliasARN = "arn:aws:kms:eu-west-1:111122223333:alias/CadoResponse-KMS-Alias-imp-42"
    private static let tagKey = "aws:ResourceTag/transferkeyd:import-id"

    /// The policy exactly as `transferkeyd policy` prints it, parsed back.
    private static func printedPolicy() throws -> PolicyEvaluator {
        var config = Config()
        config.accounts = [Config.Account(id: account, roleARN: role, regions: [region, "us-east-1"])]
        return try PolicyEvaluator(text: IAMPolicy.document(for: config).prettyText)
    }

    /// One AWS request as IAM sees it: action, resource and condition keys.
    struct Call: CustomStringConvertible {
        var action: String
        var resource: String
        var context: [String: [String]] = [:]
        var note: String

        var description: String { "\(action) on \(resource) (\(note))" }
    }

    /// The key before cleanup: one prefixed alias, the import-id tag.
    private static let aliased: [String: [String]] = ["kms:ResourceAliases": [alias], tagKey: ["imp-42"]]
    /// A tracked key the platform made: prefixed alias, no tag.
    private static let aliasedUntagged: [String: [String]] = ["kms:ResourceAliases": [alias]]
    /// After DeleteAlias: no alias left (IAM leaves the key out of the context).
    private static let unaliased: [String: [String]] = [tagKey: ["imp-42"]]

    static let allowed: [Call] = [
        // Discovery, re-check and settling.
        Call(action: "kms:ListAliases", resource: "*", note: "scan and re-check"),
        Call(action: "kms:ListKeys", resource: "*", note: "finding a create's key by its tag"),
        Call(action: "kms:DescribeKey", resource: keyARN, context: aliased, note: "re-check before scheduling"),
        Call(action: "kms:DescribeKey", resource: keyARN, context: [:], note: "confirm deletion, no alias"),
        Call(action: "kms:ListResourceTags", resource: keyARN, context: unaliased, note: "provenance"),
        // Cleanup, in the vendor's order: schedule while the alias exists, then delete the alias.
        Call(action: "kms:ScheduleKeyDeletion", resource: keyARN, context: aliased, note: "created key"),
        Call(action: "kms:ScheduleKeyDeletion", resource: keyARN, context: aliasedUntagged, note: "tracked key"),
        Call(
            action: "kms:ScheduleKeyDeletion", resource: keyARN,
            context: ["kms:ResourceAliases": [alias, "alias/CadoResponse-KMS-Alias-imp-43"]],
            note: "two prefixed aliases"),
        Call(action: "kms:DeleteAlias", resource: aliasARN, context: aliased, note: "the alias itself"),
        Call(action: "kms:DeleteAlias", resource: keyARN, context: aliased, note: "the key the alias targets"),
        // The rescue, after cleanup removed the alias.
        Call(action: "kms:CancelKeyDeletion", resource: keyARN, context: unaliased, note: "cleaned created key"),
        Call(action: "kms:CancelKeyDeletion", resource: keyARN, context: [:], note: "cleaned tracked key"),
        Call(action: "kms:CancelKeyDeletion", resource: keyARN, context: aliased, note: "key_scheduled"),
        // transferkeyd create, and finishing one that died.
        Call(
            action: "kms:CreateKey", resource: "*",
            context: ["aws:RequestTag/transferkeyd:import-id": ["imp-42"], "aws:TagKeys": ["transferkeyd:import-id"]],
            note: "CreateKey with the import-id tag"),
        Call(
            action: "kms:CreateKey", resource: "*",
            context: [
                "aws:RequestTag/transferkeyd:import-id": ["imp-42"],
                "aws:TagKeys": ["transferkeyd:import-id", "transferkeyd:intent-mark"],
            ],
            note: "CreateKey with the import-id tag and the intent mark"),
        Call(
            action: "kms:TagResource", resource: "*",
            context: ["aws:RequestTag/transferkeyd:import-id": ["imp-42"], "aws:TagKeys": ["transferkeyd:import-id"]],
            note: "the Tags of CreateKey"),
        Call(action: "kms:CreateAlias", resource: aliasARN, context: unaliased, note: "the alias"),
        Call(
            action: "kms:TagResource", resource: keyARN,
            context: [tagKey: ["imp-42"], "aws:TagKeys": ["transferkeyd:mark"]],
            note: "the ownership mark on the key create made"),
        Call(action: "kms:CreateAlias", resource: keyARN, context: unaliased, note: "the tagged key"),
        // A key create made that never got its alias: scheduled on the tag alone.
        Call(action: "kms:ScheduleKeyDeletion", resource: keyARN, context: unaliased, note: "duplicate or lost alias"),
        // Snapshots and roles (`check`'s sts:GetCallerIdentity needs no permission: AWS always allows it).
        Call(action: "ec2:DescribeSnapshots", resource: "*", note: "snapshot polling"),
        Call(action: "sts:AssumeRole", resource: role, note: "the account's role"),
    ]

    static let denied: [Call] = [
        Call(
            action: "kms:ScheduleKeyDeletion", resource: keyARN,
            context: ["kms:ResourceAliases": [alias, "alias/prod-db"], tagKey: ["imp-42"]],
            note: "a decoy that also carries alias/prod-db"),
        Call(action: "kms:ScheduleKeyDeletion", resource: keyARN, context: [:], note: "no alias, no tag"),
        Call(
            action: "kms:ScheduleKeyDeletion", resource: keyARN,
            context: ["kms:ResourceAliases": ["alias/prod-db"], tagKey: ["imp-42"]],
            note: "tagged, but with a foreign alias"),
        Call(
            action: "kms:ScheduleKeyDeletion",
            resource: "arn:aws:kms:eu-west-1:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            context: aliased, note: "another account's key"),
        Call(
            action: "kms:CancelKeyDeletion",
            resource: "arn:aws:kms:eu-west-1:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            context: [:], note: "another account's key"),
        Call(
            action: "kms:DeleteAlias", resource: "arn:aws:kms:eu-west-1:111122223333:alias/prod-db",
            context: ["kms:ResourceAliases": ["alias/prod-db"]], note: "a foreign alias"),
        Call(
            action: "kms:DeleteAlias", resource: keyARN, context: ["kms:ResourceAliases": ["alias/prod-db"]],
            note: "the key of a foreign alias"),
        Call(action: "kms:CreateKey", resource: "*", note: "CreateKey without the tag"),
        Call(
            action: "kms:CreateKey", resource: "*",
            context: [
                "aws:RequestTag/transferkeyd:import-id": ["imp-42"],
                "aws:TagKeys": ["transferkeyd:import-id", "owner"],
            ],
            note: "CreateKey with another tag as well"),
        Call(action: "kms:TagResource", resource: keyARN, context: aliased, note: "re-tagging without the tag"),
        Call(
            action: "kms:TagResource", resource: keyARN,
            context: [tagKey: ["imp-42"], "aws:TagKeys": ["transferkeyd:import-id"]],
            note: "re-tagging the import id of a created key"),
        Call(
            action: "kms:TagResource", resource: keyARN, context: ["aws:TagKeys": ["transferkeyd:mark"]],
            note: "a mark on a key create never made (no import-id tag)"),
        Call(action: "kms:CreateAlias", resource: keyARN, context: [:], note: "an untagged key"),
        Call(
            action: "kms:CreateAlias", resource: "arn:aws:kms:eu-west-1:111122223333:alias/prod-db",
            context: unaliased, note: "a foreign alias name"),
        Call(action: "kms:Decrypt", resource: keyARN, context: aliased, note: "using the key"),
        Call(action: "kms:PutKeyPolicy", resource: keyARN, context: aliased, note: "changing its policy"),
        Call(action: "kms:UpdateAlias", resource: aliasARN, context: aliased, note: "moving the alias"),
        Call(action: "kms:DisableKey", resource: keyARN, context: aliased, note: "disabling"),
        Call(
            action: "sts:AssumeRole", resource: "arn:aws:iam::111122223333:role/Admin", note: "an unconfigured role"),
    ]

    @Test("every call of cleanup, rescue, create and discovery is allowed", arguments: allowed)
    func allowsOwnCalls(call: Call) throws {
        let policy = try Self.printedPolicy()
        #expect(policy.decision(for: call.action, on: call.resource, context: call.context) == .allow, "\(call)")
    }

    @Test("calls on foreign keys, foreign aliases and anything else are denied", arguments: denied)
    func deniesEverythingElse(call: Call) throws {
        let policy = try Self.printedPolicy()
        #expect(policy.decision(for: call.action, on: call.resource, context: call.context) != .allow, "\(call)")
    }

    @Test("the old policy (CancelKeyDeletion under the alias condition) denies the rescue of a cleaned key")
    func oldPolicyDeniedTheRescue() throws {
        let old = try PolicyEvaluator(
            text: """
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                 "Action": ["kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:DeleteAlias"],
                 "Resource": ["arn:aws:kms:*:111122223333:key/*"],
                 "Condition": {"ForAllValues:StringLike": {"kms:ResourceAliases": "alias/CadoResponse-KMS-Alias*"},
                               "ForAnyValue:StringLike": {"kms:ResourceAliases": "alias/CadoResponse-KMS-Alias*"}}}]}
                """)
        #expect(old.decision(for: "kms:CancelKeyDeletion", on: Self.keyARN, context: Self.unaliased) == .implicitDeny)
        #expect(old.decision(for: "kms:ScheduleKeyDeletion", on: Self.keyARN, context: Self.aliased) == .allow)
    }

    // MARK: - The evaluator itself

    @Test("the evaluator: wildcards, set operators over absent keys, Null, Bool, and Deny over Allow")
    func evaluatorSemantics() throws {
        #expect(PolicyEvaluator.like("alias/Cado-x", pattern: "alias/Cado*"))
        #expect(PolicyEvaluator.like("alias/Cado", pattern: "alias/Cado*"))
        #expect(!PolicyEvaluator.like("alias/prod", pattern: "alias/Cado*"))
        #expect(PolicyEvaluator.like("ab", pattern: "a?"))
        #expect(!PolicyEvaluator.like("a", pattern: "a?"))
        #expect(!PolicyEvaluator.like("abc", pattern: "a?"))
        #expect(PolicyEvaluator.like("a*b", pattern: "a*b"))

        let policy = try PolicyEvaluator(
            text: """
                {"Statement": [
                 {"Effect": "Allow", "Action": "kms:Any*", "Resource": "*",
                  "Condition": {"ForAnyValue:StringLike": {"k": "x*"}}},
                 {"Effect": "Allow", "Action": "kms:All*", "Resource": "*",
                  "Condition": {"ForAllValues:StringLike": {"k": "x*"}}},
                 {"Effect": "Allow", "Action": "kms:Null*", "Resource": "*", "Condition": {"Null": {"k": "true"}}},
                 {"Effect": "Allow", "Action": "kms:Bool*", "Resource": "arn:?:*", "Condition": {"Bool": {"b": "true"}}},
                 {"Effect": "Deny", "Action": "kms:AllDenied", "Resource": "*"}]}
                """)
        #expect(policy.decision(for: "kms:AnyX", on: "r", context: [:]) == .implicitDeny, "ForAnyValue over absent")
        #expect(policy.decision(for: "kms:AnyX", on: "r", context: ["k": []]) == .implicitDeny, "over empty")
        #expect(policy.decision(for: "kms:AnyX", on: "r", context: ["k": ["y", "x1"]]) == .allow)
        #expect(policy.decision(for: "kms:AllX", on: "r", context: [:]) == .allow, "ForAllValues over absent")
        #expect(policy.decision(for: "kms:AllX", on: "r", context: ["k": ["x1", "x2"]]) == .allow)
        #expect(policy.decision(for: "kms:AllX", on: "r", context: ["k": ["x1", "y"]]) == .implicitDeny)
        #expect(policy.decision(for: "kms:NullX", on: "r", context: [:]) == .allow)
        #expect(policy.decision(for: "kms:NullX", on: "r", context: ["k": ["v"]]) == .implicitDeny)
        #expect(policy.decision(for: "kms:BoolX", on: "arn:a:b", context: ["b": ["true"]]) == .allow)
        #expect(policy.decision(for: "kms:BoolX", on: "arn:a:b", context: ["b": ["false"]]) == .implicitDeny)
        #expect(policy.decision(for: "kms:BoolX", on: "arn:a:b", context: [:]) == .implicitDeny)
        #expect(policy.decision(for: "kms:BoolX", on: "arn:ab:c", context: ["b": ["true"]]) == .implicitDeny)
        #expect(policy.decision(for: "KMS:ALLX", on: "r", context: [:]) == .allow, "actions are case-insensitive")
        #expect(policy.decision(for: "kms:AllDenied", on: "r", context: [:]) == .explicitDeny)
        #expect(policy.decision(for: "ec2:AllX", on: "r", context: [:]) == .implicitDeny)
    }
}

/// A small IAM policy evaluator for the operators `transferkeyd policy` uses: `StringLike`,
/// `StringEquals`, `Null`, `Bool`, each optionally under `ForAllValues:` / `ForAnyValue:`; Allow and
/// Deny; `*` and `?` in actions and resources. Condition key names are case-insensitive, as in IAM.
struct PolicyEvaluator {
    enum Decision: Equatable { case allow, explicitDeny, implicitDeny }

    struct Statement {
        var isAllow: Bool
        var actions: [String]
        var resources: [String]
        /// operator → condition key → policy values.
        var conditions: [String: [String: [String]]]
    }

    struct Unsupported: Error, CustomStringConvertible {
        var description: String
    }

    var statements: [Statement] = []

    init(text: String) throws {
        let root = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        let list: [[String: Any]] =
            (root?["Statement"] as? [[String: Any]]) ?? (root?["Statement"] as? [String: Any]).map { [$0] } ?? []
        for raw in list {
            guard raw["NotAction"] == nil, raw["NotResource"] == nil, raw["Principal"] == nil else {
                throw Unsupported(description: "NotAction/NotResource/Principal are not supported")
            }
            var conditions: [String: [String: [String]]] = [:]
            for (op, block) in raw["Condition"] as? [String: Any] ?? [:] {
                guard let block = block as? [String: Any] else { throw Unsupported(description: "condition \(op)") }
                for (key, value) in block { conditions[op, default: [:]][key.lowercased()] = try Self.strings(value) }
            }
            statements.append(
                Statement(
                    isAllow: (raw["Effect"] as? String) == "Allow", actions: try Self.strings(raw["Action"] as Any),
                    resources: try Self.strings(raw["Resource"] as Any), conditions: conditions))
        }
    }

    private static func strings(_ value: Any) throws -> [String] {
        if let text = value as? String { return [text] }
        if let list = value as? [String] { return list }
        if let flag = value as? Bool { return [flag ? "true" : "false"] }
        throw Unsupported(description: "expected a string or a list of strings: \(value)")
    }

    /// Deny wins over Allow; nothing matching is an implicit deny.
    func decision(for action: String, on resource: String, context: [String: [String]]) -> Decision {
        let lowered = Dictionary(context.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { $1 })
        var allowed = false
        for statement in statements {
            guard statement.actions.contains(where: { Self.like(action.lowercased(), pattern: $0.lowercased()) }),
                statement.resources.contains(where: { Self.like(resource, pattern: $0) }),
                statement.conditions.allSatisfy({ block in
                    block.value.allSatisfy { Self.holds(block.key, values: $0.value, context: lowered[$0.key]) }
                })
            else { continue }
            if !statement.isAllow { return .explicitDeny }
            allowed = true
        }
        return allowed ? .allow : .implicitDeny
    }

    /// One condition operator over one key; `context` nil when the request does not carry the key.
    static func holds(_ op: String, values: [String], context: [String]?) -> Bool {
        let parts = op.split(separator: ":", maxSplits: 1).map(String.init)
        let (qualifier, base) = parts.count == 2 ? (parts[0], parts[1]) : ("", parts[0])
        if base == "Null" {
            // "true": the key must be absent (an empty set counts as absent); "false": present.
            let isAbsent = context?.isEmpty ?? true
            return values.contains { ($0.lowercased() == "true") == isAbsent }
        }
        let match: (String) -> Bool
        switch base {
        case "StringLike": match = { value in values.contains { like(value, pattern: $0) } }
        case "StringEquals": match = { value in values.contains(value) }
        case "Bool": match = { value in values.contains { $0.lowercased() == value.lowercased() } }
        default: return false  // an operator this evaluator does not know never grants anything
        }
        let present = context ?? []
        switch qualifier {
        case "ForAllValues": return present.allSatisfy(match)  // vacuously true over an absent key
        case "ForAnyValue": return present.contains(where: match)  // false over an absent key
        case "": return present.count == 1 && match(present[0])
        default: return false
        }
    }

    /// IAM's glob: `*` any run of characters (also none), `?` exactly one; case-sensitive.
    static func like(_ text: String, pattern: String) -> Bool {
        let text = Array(text)
        let pattern = Array(pattern)
        var (t, p) = (0, 0)
        var (star, mark) = (-1, 0)
        while t < text.count {
            if p < pattern.count, pattern[p] == "?" || (pattern[p] != "*" && pattern[p] == text[t]) {
                t += 1
                p += 1
            } else if p < pattern.count, pattern[p] == "*" {
                star = p
                mark = t
                p += 1
            } else if star >= 0 {
                p = star + 1
                mark += 1
                t = mark
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}
