import Foundation
import Testing

@testable import TransferKeyCore

/// Runs `check`, expecting an `InputError` for `field` whose message contains `fragment`.
func expectInputError<T>(
    _ fragment: String, field: String = "--x", sourceLocation: SourceLocation = #_sourceLocation,
    _ check: () throws(InputError) -> T
) {
    do {
        let value = try check()
        Issue.record(
            "accepted, giving \(value); expected an error containing \(fragment)", sourceLocation: sourceLocation)
    } catch {
        #expect(error.field == field, sourceLocation: sourceLocation)
        #expect(error.message.contains(fragment), "message: \(error.message)", sourceLocation: sourceLocation)
        #expect(!error.description.contains("\n"), "one line: \(error.description)", sourceLocation: sourceLocation)
    }
}

@Suite("Validator")
struct ValidatorTests {
    // MARK: account ids

    @Test("12-digit account ids are accepted unchanged", arguments: ["111122223333", "000000000000", "987654321098"])
    func acceptsAccountID(text: String) throws {
        #expect(try Validator.accountID(text, field: "--account") == text)
    }

    @Test(
        "account ids that are not exactly 12 ASCII digits are refused, showing what was given",
        arguments: [
            ("", "got nothing"),
            ("11112222333", "got 11 digits"),
            ("1111222233334", "got 13 digits"),
            (" 111122223333", "must be 12 digits, got \" 111122223333\""),
            ("111122223333\n", "\\n"),
            ("1111-2222-3333", "must be 12 digits"),
            ("11112222333O", "must be 12 digits"),
            ("١١١١٢٢٢٢٣٣٣٣", "\\u{661}"),  // Arabic-Indic digits look like digits to Unicode, not to AWS
            ("１１１１２２２２３３３３", "\\u{FF11}"),  // fullwidth digits
        ])
    func refusesAccountID(text: String, fragment: String) {
        expectInputError(fragment, field: "--account") { () throws(InputError) in
            try Validator.accountID(text, field: "--account")
        }
    }

    // MARK: regions

    @Test(
        "region names of every partition are accepted",
        arguments: [
            "us-east-1", "eu-central-2", "us-gov-west-1", "cn-north-1", "ap-southeast-4", "us-iso-east-1",
            "us-isob-east-1", "il-central-1", "mx-central-1", "ca-west-1", "ap-northeast-3", "me-south-1",
            "af-south-1", "sa-east-1", "eu-west-3", "us-west-2",
        ])
    func acceptsRegion(text: String) throws {
        #expect(try Validator.region(text, field: "--region") == text)
    }

    @Test(
        "malformed region names are refused",
        arguments: [
            "", "US-EAST-1", "us-east", "useast1", "us-east-1 ", " us-east-1", "us-east-123", "us-middle-1",
            "usa-east-1", "us-gov-east", "us-xyz-east-1", "us-east-1a", "us\u{2010}east\u{2010}1", "us-east-",
            "-east-1", "us--east-1", "us-gov-west-1-1", "eu-cеntral-1",
        ])
    func refusesRegion(text: String) {
        expectInputError("must be an AWS region", field: "--region") { () throws(InputError) in
            try Validator.region(text, field: "--region")
        }
    }

    // MARK: key references

    @Test("bare key ids (UUID and multi-Region) are accepted")
    func acceptsBareKeyIDs() throws {
        let uuid = "1234abcd-12ab-34cd-56ef-1234567890ab"
        #expect(try Validator.keyReference(uuid, field: "--key-id") == .keyID(uuid))
        let mrk = "mrk-1234abcd12ab34cd56ef1234567890ab"
        let reference = try Validator.keyReference(mrk, field: "--key-id")
        #expect(reference == .keyID(mrk))
        #expect(reference.keyID == mrk)
        #expect(reference.text == mrk)
    }

    @Test(
        "key ARNs are accepted and split into their parts",
        arguments: [
            ("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "aws", "us-east-1"),
            ("arn:aws-cn:kms:cn-north-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab", "aws-cn", "cn-north-1"),
            (
                "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "aws-us-gov",
                "us-gov-west-1"
            ),
            (
                "arn:aws-iso-b:kms:us-isob-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "aws-iso-b",
                "us-isob-east-1"
            ),
        ])
    func acceptsKeyARN(text: String, partition: String, region: String) throws {
        let reference = try Validator.keyReference(text, field: "--key-id")
        guard case .arn(let arn, let foundPartition, let foundRegion, let account, let keyID) = reference else {
            Issue.record("not an ARN: \(reference)")
            return
        }
        #expect(arn == text)
        #expect(foundPartition == partition)
        #expect(foundRegion == region)
        #expect(account == "111122223333")
        #expect(reference.keyID == keyID)
        #expect(text.hasSuffix("key/" + keyID))
        #expect(reference.text == text)
    }

    @Test(
        "malformed key ids and ARNs are refused",
        arguments: [
            ("", "got nothing"),
            ("1234ABCD-12AB-34CD-56EF-1234567890AB", "must be a KMS key id"),
            ("1234abcd-12ab-34cd-56ef-1234567890a", "must be a KMS key id"),
            ("1234abcd12ab34cd56ef1234567890ab0000", "must be a KMS key id"),
            ("{1234abcd-12ab-34cd-56ef-1234567890ab}", "must be a KMS key id"),
            ("1234abcd-12ab-34cd-56ef-1234567890ab ", "must be a KMS key id"),
            ("mrk-1234abcd12ab34cd56ef1234567890a", "must be a KMS key id"),
            ("mrk-1234ABCD12ab34cd56ef1234567890ab", "must be a KMS key id"),
            ("alias/CadoResponse-KMS-Alias-1", "aliases are not accepted"),
            ("arn:aws:kms:us-east-1:111122223333:alias/CadoResponse-KMS-Alias-1", "alias ARNs are not accepted"),
            ("arn:aws:s3:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "a key ARN looks like"),
            ("arn:aws:kms:cn-north-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "does not match region"),
            ("arn:aws-xx:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "unknown partition"),
            ("arn:aws:kms:US-EAST-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "invalid region"),
            ("arn:aws:kms:us-east-1:11112222333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "is not 12 digits"),
            ("arn:aws:kms:us-east-1:111122223333:key/1234ABCD-12ab-34cd-56ef-1234567890ab", "is not a lowercase UUID"),
            ("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab:x", "a key ARN looks like"),
            ("arn:aws:kms:us-east-1:111122223333:1234abcd-12ab-34cd-56ef-1234567890ab", "must end in key/ID"),
        ])
    func refusesKeyReference(text: String, fragment: String) {
        expectInputError(fragment, field: "--key-id") { () throws(InputError) in
            try Validator.keyReference(text, field: "--key-id")
        }
    }

    // MARK: aliases

    static let prefix = "alias/CadoResponse-KMS-Alias"

    @Test(
        "aliases under the prefix are accepted",
        arguments: [
            "alias/CadoResponse-KMS-Alias", "alias/CadoResponse-KMS-Alias-imp42", "alias/CadoResponse-KMS-Alias/a_b-9",
            "alias/CadoResponse-KMS-Alias" + String(repeating: "x", count: 228),
        ])
    func acceptsAlias(text: String) throws {
        #expect(try Validator.aliasName(text, prefix: Self.prefix, field: "--alias") == text)
    }

    @Test(
        "aliases outside the prefix, reserved or malformed are refused",
        arguments: [
            ("", "must be a KMS alias starting with \"alias/CadoResponse-KMS-Alias\", got nothing"),
            ("alias/", "must be a KMS alias"),
            ("CadoResponse-KMS-Alias-1", "must be a KMS alias"),
            ("alias/cadoresponse-kms-alias-1", "case-sensitive"),
            ("alias/aws/ebs", "AWS managed keys"),
            ("alias/AWS/ebs", "AWS managed keys"),
            ("alias/prod-db", "must start with \"alias/CadoResponse-KMS-Alias\", got \"alias/prod-db\""),
            ("alias/CadoResponse-KMS-Alias 1", "only letters"),
            ("alias/CadoResponse-KMS-Alias.1", "only letters"),
            ("alias/CadoResponse-KMS-\u{410}lias", "\\u{410}"),  // Cyrillic А
            ("alias/CadoResponse-KMS-Alias" + String(repeating: "x", count: 229), "at most 256"),
            (" alias/CadoResponse-KMS-Alias", "must be a KMS alias"),
        ])
    func refusesAlias(text: String, fragment: String) {
        expectInputError(fragment, field: "--alias") { () throws(InputError) in
            try Validator.aliasName(text, prefix: Self.prefix, field: "--alias")
        }
    }

    // MARK: snapshots

    @Test("snapshot ids with 8 or 17 hex digits are accepted", arguments: ["snap-0123abcd", "snap-0123456789abcdef0"])
    func acceptsSnapshot(text: String) throws {
        #expect(try Validator.snapshotID(text, field: "--snapshot") == text)
    }

    @Test(
        "malformed snapshot ids are refused",
        arguments: [
            "", "snap-XYZ", "snap-0123ABCD", "snap-0123abc", "snap-0123456789abcdef", "snap-0123456789abcdef01",
            "vol-0123abcd", "snap-0123abcd ", "SNAP-0123abcd", "snap-0123abcg", "snap_0123abcd",
        ])
    func refusesSnapshot(text: String) {
        expectInputError("must be \"snap-\" and 8 or 17 lowercase hex digits", field: "--snapshot") {
            () throws(InputError) in try Validator.snapshotID(text, field: "--snapshot")
        }
    }

    // MARK: import ids

    @Test(
        "import ids of letters, digits, '.', '_' and '-' are accepted",
        arguments: [
            "imp-42", "a", "7", "job.2026-11-28T23_18_16Z-1", "IMP_42.retry-1", String(repeating: "x", count: 128),
            // Near the key-id shape, but not one: uppercase hex, 35 characters, an extra group.
            "1234ABCD-12AB-34CD-56EF-1234567890AB-import", "orphans-are-fine", "mrk-import-1",
        ])
    func acceptsImportID(text: String) throws {
        #expect(try Validator.importID(text, field: "--import-id") == text)
    }

    @Test(
        "import ids that could be read as something else, or are empty, too long or outside the syntax, are refused",
        arguments: [
            ("", "got nothing"), ("imp 42", "A–Z a–z 0–9 . _ -"), ("imp\t42", "\\t"), ("impé", "\\u{E9}"),
            ("imp\u{0}", "\\u{0}"), ("imp\u{7F}", "\\u{7F}"), (String(repeating: "x", count: 129), "at most 128"),
            ("!~", "starting with a letter or digit"), ("-imp", "starting with a letter or digit"),
            ("job/2026-11-28T23:18:16Z#1", "A–Z a–z 0–9 . _ -"),
            // A key ARN, an alias, a key id, a multi-Region key id, the daemon's own forms.
            ("arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "A–Z a–z 0–9 . _ -"),
            ("alias/CadoResponse-KMS-Alias-imp-42", "A–Z a–z 0–9 . _ -"),
            ("1234abcd-12ab-34cd-56ef-1234567890ab", "must not be a KMS key id"),
            ("1234ABCD-12AB-34CD-56EF-1234567890AB", "must not be a KMS key id"),
            ("mrk-1234abcd12ab34cd56ef1234567890ab", "must not be a KMS key id"),
            ("orphan-111122223333-eu-west-1-1234abcd-12ab-34cd-56ef-1234567890ab", "must not start with \"orphan-\""),
            ("duplicate-111122223333-eu-west-1-x", "must not start with \"duplicate-\""),
        ])
    func refusesImportID(text: String, fragment: String) {
        expectInputError(fragment, field: "--import-id") { () throws(InputError) in
            try Validator.importID(text, field: "--import-id")
        }
    }

    // MARK: durations

    @Test(
        "durations in s, m, h and d, alone or combined largest first (2h30m), become seconds",
        arguments: [
            ("30s", 30.0), ("10m", 600), ("24h", 86_400), ("7d", 604_800), ("1s", 1), ("05m", 300),
            ("3650d", 315_360_000), ("2h30m", 9_000), ("1d12h", 129_600), ("1h0m30s", 3_630), ("0h5m", 300),
            ("3649d23h59m60s", 315_360_000),
        ])
    func acceptsDuration(text: String, seconds: TimeInterval) throws {
        #expect(try Validator.duration(text, field: "--max-age") == seconds)
    }

    @Test(
        "malformed, zero, negative and huge durations are refused",
        arguments: [
            ("", "got nothing"), ("10x", "followed by s, m, h or d"), ("-5m", "followed by s, m, h or d"),
            ("+5m", "followed by s, m, h or d"), ("0s", "greater than zero"), ("000d", "greater than zero"),
            ("99999999999999999999d", "at most 3650d"), ("3651d", "at most 3650d"),
            ("1.5h", "followed by s, m, h or d"), ("10 m", "followed by s, m, h or d"), (" 10m", "got \" 10m\""),
            ("10M", "followed by s, m, h or d"), ("m", "followed by s, m, h or d"), ("10", "followed by s, m, h or d"),
            ("１０m", "\\u{FF11}"), ("30m2h", "largest unit first"), ("1h1h", "largest unit first"),
            ("2h30", "followed by s, m, h or d"), ("h30m", "followed by s, m, h or d"), ("1h 30m", "got \"1h 30m\""),
            ("0h0m", "greater than zero"), ("3650d1s", "at most 3650d"),
        ])
    func refusesDuration(text: String, fragment: String) {
        expectInputError(fragment, field: "--max-age") { () throws(InputError) in
            try Validator.duration(text, field: "--max-age")
        }
    }

    // MARK: role ARNs

    @Test(
        "IAM role ARNs are accepted",
        arguments: [
            "arn:aws:iam::111122223333:role/CadoResponseRole", "arn:aws:iam::111122223333:role/path/to/Name",
            "arn:aws-cn:iam::111122223333:role/R", "arn:aws-us-gov:iam::111122223333:role/a+b=c,d.e@f-g_h",
            "arn:aws:iam::111122223333:role/" + String(repeating: "n", count: 64),
        ])
    func acceptsRoleARN(text: String) throws {
        #expect(try Validator.roleARN(text, field: "role_arn") == text)
    }

    @Test(
        "malformed role ARNs are refused",
        arguments: [
            ("", "must be an IAM role ARN"), ("arn:aws:iam::11112222333:role/X", "is not 12 digits"),
            ("arn:aws:iam::111122223333:user/X", "must be an IAM role ARN"),
            ("arn:aws:iam:us-east-1:111122223333:role/X", "must be an IAM role ARN"),
            ("arn:aws:sts::111122223333:assumed-role/X/s", "must be an IAM role ARN"),
            ("arn:aws:iam::111122223333:role/", "role name"), ("arn:aws:iam::111122223333:role//X", "path segments"),
            ("arn:aws:iam::111122223333:role/" + String(repeating: "n", count: 65), "role name"),
            ("arn:aws-xx:iam::111122223333:role/X", "unknown partition"),
            ("arn:aws:iam::111122223333:role/Name with space", "role name"),
            ("arn:aws:iam::111122223333:role/" + String(repeating: "p/", count: 300) + "X", "at most 512"),
            ("arn:aws:iam::111122223333:role/X ", "role name"),
        ])
    func refusesRoleARN(text: String, fragment: String) {
        expectInputError(fragment, field: "role_arn") { () throws(InputError) in
            try Validator.roleARN(text, field: "role_arn")
        }
    }

    @Test(
        "partitions: the three public ones and the ISO family, nothing else",
        arguments: [
            ("aws", true), ("aws-cn", true), ("aws-us-gov", true), ("aws-iso", true), ("aws-iso-b", true),
            ("aws-iso-f", true), ("aws-iso-bb", false), ("aws-iso-", false), ("AWS", false), ("aws-eusc", false),
            ("", false),
        ])
    func partitions(text: String, isValid: Bool) {
        #expect(Validator.isPartition(text) == isValid)
    }

    // MARK: external ids

    @Test(
        "external ids of 2–1224 allowed characters are accepted",
        arguments: ["ab", "example-external-id", "a:b/c=d,e.f@g+h_i-j", String(repeating: "e", count: 1224)])
    func acceptsExternalID(text: String) throws {
        #expect(try Validator.externalID(text, field: "external_id") == text)
    }

    @Test(
        "bad external ids are refused without repeating the value",
        arguments: [
            ("", "2–1224 characters, got 0"), ("a", "2–1224 characters, got 1"),
            (String(repeating: "e", count: 1225), "got 1225"), ("has space", "at position 4"),
            ("ünïcode", "at position 1"), ("secret\n", "at position 7"),
        ])
    func refusesExternalID(text: String, fragment: String) {
        expectInputError(fragment, field: "external_id") { () throws(InputError) in
            try Validator.externalID(text, field: "external_id")
        }
        do {
            _ = try Validator.externalID(text, field: "external_id")
        } catch {
            #expect(text.count < 2 || !error.message.contains(text))
        }
    }

    // MARK: endpoint URLs

    @Test(
        "endpoint URLs with scheme, host and optional port are accepted",
        arguments: [
            "http://127.0.0.1:5000", "https://kms.us-east-1.amazonaws.com", "http://localhost:4566/",
            "http://[::1]:5000",
            "https://moto",
        ])
    func acceptsEndpoint(text: String) throws {
        #expect(try Validator.endpointURL(text, field: "aws.endpoint_url") == text)
    }

    @Test(
        "endpoint URLs with another scheme, a path, credentials or a bad port are refused",
        arguments: [
            "", "ftp://x", "http://", "http://host:0", "http://host:65536", "http://host/path", "http://user@host",
            "http://host?x=1", "HTTP://host", "http://ho st", "http://host:", "http://-host", "http://[::1",
            "http://[zz]:1", "http://host:5000/x", "127.0.0.1:5000",
        ])
    func refusesEndpoint(text: String) {
        do {
            _ = try Validator.endpointURL(text, field: "aws.endpoint_url")
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.field == "aws.endpoint_url")
        }
    }

    // MARK: quoting

    @Test("echoed input is one line with invisible characters made visible, and cut when long")
    func quoting() {
        #expect("a\"b\\c\nd\u{0}é".inputQuoted == "\"a\\\"b\\\\c\\nd\\u{0}\\u{E9}\"")
        let long = String(repeating: "x", count: 500).inputQuoted
        #expect(long.count == 303)
        #expect(long.hasSuffix("…\""))
    }
}
