import Foundation
import PropertyBased
import Testing

@testable import TransferKeyCore

/// Hostile text for validators and parsers: random ASCII, Latin-1 and Unicode (look-alikes, controls,
/// non-characters), valid examples with one edit, and huge inputs.
enum HostileText {
    /// Where a mutation of a valid example comes from, and what it does.
    static func mutate(_ example: String, operation: Int, position: Int, character: Character) -> String {
        var characters = Array(example)
        let index = characters.isEmpty ? 0 : position % (characters.count + 1)
        switch operation % 6 {
        case 0: return String(characters.prefix(index))  // truncated
        case 1: characters.insert(character, at: index)  // one character more
        case 2: if index < characters.count { characters[index] = character }  // one character changed
        case 3: if index < characters.count { characters.remove(at: index) }  // one character fewer
        case 4: return example.uppercased()  // case folded
        default: return example + example  // doubled
        }
        return String(characters)
    }

    /// Strings of up to `maximumLength` characters of every kind.
    static func strings(maximumLength: Int = 48) -> Generator<String, AnySequence<(index: Int, value: Any)>> {
        Gen.oneOf(
            Gen.ascii.string(of: 0...maximumLength),
            Gen.latin1.string(of: 0...maximumLength),
            Gen.character(in: "\u{0}"..."\u{2FFF}").string(of: 0...maximumLength),
            Gen.letterOrNumber.string(of: 0...maximumLength))
    }

    /// Characters that often break parsers: separators, quotes, controls, look-alikes.
    static let awkward: [Character] = [
        ":", "/", "-", "_", ".", "*", "?", " ", "\t", "\n", "\r", "\u{0}", "\u{7F}", "\"", "'", "\\", "%", "=",
        "\u{430}", "\u{FF0F}", "\u{200B}", "\u{FEFF}", "\u{A0}", "é", "0", "a", "Z",
    ]
}

/// One validator under test: its name, how to call it, and inputs it must accept.
struct ValidatorCase: Sendable, CustomTestStringConvertible {
    var name: String
    var field: String
    var validExamples: [String]
    var check: @Sendable (String) throws -> Void

    var testDescription: String { name }

    static let all: [ValidatorCase] = [
        .init(name: "account id", field: "--account", validExamples: ["111122223333"]) {
            _ = try Validator.accountID($0, field: "--account")
        },
        .init(name: "region", field: "--region", validExamples: ["us-east-1", "us-gov-west-1", "cn-north-1"]) {
            _ = try Validator.region($0, field: "--region")
        },
        .init(
            name: "key id or ARN", field: "--key-id",
            validExamples: [
                "1234abcd-12ab-34cd-56ef-1234567890ab", "mrk-1234abcd12ab34cd56ef1234567890ab",
                "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            ]
        ) { _ = try Validator.keyReference($0, field: "--key-id") },
        .init(name: "alias", field: "--alias", validExamples: ["alias/CadoResponse-KMS-Alias-imp-1"]) {
            _ = try Validator.aliasName($0, prefix: "alias/CadoResponse-KMS-Alias", field: "--alias")
        },
        .init(name: "snapshot id", field: "--snapshot", validExamples: ["snap-0123456789abcdef0", "snap-01234567"]) {
            _ = try Validator.snapshotID($0, field: "--snapshot")
        },
        .init(name: "import id", field: "--import-id", validExamples: ["imp-42", "2026-11-29.import_7"]) {
            _ = try Validator.importID($0, field: "--import-id")
        },
        .init(name: "duration", field: "--max-age", validExamples: ["30s", "10m", "24h", "7d", "2h30m", "1d12h"]) {
            _ = try Validator.duration($0, field: "--max-age")
        },
        .init(
            name: "role ARN", field: "accounts[1].role_arn",
            validExamples: ["arn:aws:iam::111122223333:role/CadoResponseRole", "arn:aws:iam::111122223333:role/a/b/R"]
        ) { _ = try Validator.roleARN($0, field: "accounts[1].role_arn") },
        .init(name: "external id", field: "accounts[1].external_id", validExamples: ["example-external-id"]) {
            _ = try Validator.externalID($0, field: "accounts[1].external_id")
        },
        .init(
            name: "endpoint URL", field: "aws.endpoint_url",
            validExamples: ["http://127.0.0.1:5000", "https://kms.us-east-1.amazonaws.com"]
        ) { _ = try Validator.endpointURL($0, field: "aws.endpoint_url") },
        .init(
            name: "transfer reference", field: "ID", validExamples: ["imp-42", "1234abcd-12ab-34cd-56ef-1234567890ab"]
        ) {
            _ = try Validator.transferReference($0, field: "ID")
        },
    ]
}

/// What every validator promises for any input: accept, or throw one printable line that names the field.
func expectAcceptsOrExplains(_ validator: ValidatorCase, _ input: String) {
    do {
        try validator.check(input)
        // Accepted text is plain printable ASCII: no look-alike, control or invisible character gets through.
        #expect(
            input.unicodeScalars.allSatisfy { (0x21...0x7E).contains($0.value) },
            "\(validator.name) accepted \(input.inputQuoted)")
    } catch let error as InputError {
        #expect(error.field == validator.field)
        let line = error.description
        #expect(
            line.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F },
            "one printable line for \(input.inputQuoted): \(line.inputQuoted)")
        #expect(line.utf8.count < 4_000, "a bounded message, even for huge input")
    } catch {
        Issue.record("\(validator.name) threw \(error), not an InputError, for \(input.inputQuoted)")
    }
}

@Suite("Validators: property-based fuzzing")
struct ValidatorPropertyTests {
    @Test("every valid example is accepted (the generators below start from real inputs)", arguments: ValidatorCase.all)
    func validExamples(_ validator: ValidatorCase) throws {
        for example in validator.validExamples { try validator.check(example) }
    }

    @Test("random text ends in acceptance or one printable line naming the field", arguments: ValidatorCase.all)
    func randomText(_ validator: ValidatorCase) async {
        await propertyCheck(count: 400, input: HostileText.strings()) { input in
            expectAcceptsOrExplains(validator, input)
        }
    }

    @Test(
        "valid examples with one edit (truncated, grown, changed, shortened, upper-cased, doubled)",
        arguments: ValidatorCase.all)
    func mutatedExamples(_ validator: ValidatorCase) async {
        await propertyCheck(
            count: 400, input: Gen<String?>.element(of: validator.validExamples).map { $0! }, Gen.int(in: 0...5),
            Gen.int(in: 0...200), Gen<Character?>.element(of: HostileText.awkward).map { $0! }
        ) { example, operation, position, character in
            expectAcceptsOrExplains(
                validator, HostileText.mutate(example, operation: operation, position: position, character: character))
        }
    }

    @Test("huge inputs (up to 200 kB) are refused with a bounded message", arguments: ValidatorCase.all)
    func hugeInput(_ validator: ValidatorCase) async {
        await propertyCheck(
            count: 6, input: Gen<String?>.element(of: validator.validExamples).map { $0! },
            Gen.int(in: 10_000...200_000)
        ) { example, size in
            let huge = String(repeating: example, count: max(1, size / max(1, example.count)))
            #expect(throws: InputError.self) { try validator.check(huge) }
            expectAcceptsOrExplains(validator, huge)
        }
    }
}
