import Foundation

/// Checks every identifier an operator, a script or the config file can give, before it reaches SQLite or AWS.
///
/// Each check is strict and ASCII-only: no trimming, no case folding, no Unicode look-alikes.
/// A failure is an `InputError` naming `field` and saying what was expected and what was found.
public enum Validator {
    /// Whether `text` is an ARN partition of a region this validator accepts: `aws`, `aws-cn`, `aws-us-gov`,
    /// `aws-iso` or `aws-iso-` and one letter (see `partitionOf(region:)`).
    static func isPartition(_ text: String) -> Bool {
        if ["aws", "aws-cn", "aws-us-gov", "aws-iso"].contains(text) { return true }
        return text.hasPrefix("aws-iso-") && text.utf8.count == 9 && text.utf8.last?.isASCIILowercaseLetter == true
    }

    /// The longest accepted duration, 3650d: longer values are typos and would overflow date arithmetic elsewhere.
    static let maximumDuration: TimeInterval = 3650 * 86_400

    /// 12 ASCII digits.
    public static func accountID(_ text: String, field: String) throws(InputError) -> String {
        let bytes = Array(text.utf8)
        guard bytes.count == 12, bytes.allSatisfy(\.isASCIIDigit) else {
            if !bytes.isEmpty, bytes.allSatisfy(\.isASCIIDigit) {
                throw InputError(field: field, "must be 12 digits, got \(bytes.count) digits: \(text.inputQuoted)")
            }
            throw InputError(field: field, "must be 12 digits, got \(text.inputDescription)")
        }
        return text
    }

    /// An AWS region name such as `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1` or `us-isob-east-1`.
    ///
    /// The shape is `^(us-gov|us-iso[a-z]?|[a-z]{2})-(central|north|south|east|west|northeast|northwest|southeast|southwest)-[0-9]{1,2}$`:
    /// any two-letter prefix is accepted so that regions AWS opens later need no new release.
    public static func region(_ text: String, field: String) throws(InputError) -> String {
        guard isRegion(text) else {
            throw InputError(
                field: field,
                "must be an AWS region like \"us-east-1\" or \"eu-west-2\" (lowercase), got \(text.inputDescription)")
        }
        return text
    }

    /// A KMS key id (UUID or multi-Region `mrk-…`, lowercase as AWS writes them) or a key ARN.
    public static func keyReference(_ text: String, field: String) throws(InputError) -> KeyReference {
        let expected = "must be a KMS key id (lowercase UUID or \"mrk-\" + 32 hex digits) or a key ARN"
        if isBareKeyID(text) { return .keyID(text) }
        guard text.hasPrefix("arn:") else {
            if text.hasPrefix("alias/") {
                throw InputError(field: field, "\(expected); aliases are not accepted here, got \(text.inputQuoted)")
            }
            throw InputError(field: field, "\(expected), got \(text.inputDescription)")
        }
        // arn:PARTITION:kms:REGION:ACCOUNT:key/ID
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 6, parts[0] == "arn", parts[2] == "kms" else {
            throw InputError(
                field: field,
                "\(expected); a key ARN looks like arn:aws:kms:REGION:ACCOUNT:key/ID, got \(text.inputQuoted)")
        }
        let partition = parts[1]
        let region = parts[3]
        let account = parts[4]
        let resource = parts[5]
        guard isPartition(partition) else {
            throw InputError(field: field, "unknown partition \(partition.inputQuoted) in key ARN \(text.inputQuoted)")
        }
        guard isRegion(region) else {
            throw InputError(field: field, "invalid region \(region.inputDescription) in key ARN \(text.inputQuoted)")
        }
        guard partition == partitionOf(region: region) else {
            throw InputError(
                field: field,
                "partition \(partition) does not match region \(region) (expected \(partitionOf(region: region))) in key ARN \(text.inputQuoted)"
            )
        }
        guard account.utf8.count == 12, account.utf8.allSatisfy(\.isASCIIDigit) else {
            throw InputError(
                field: field, "account \(account.inputDescription) in key ARN is not 12 digits: \(text.inputQuoted)")
        }
        guard resource.hasPrefix("key/") else {
            if resource.hasPrefix("alias/") {
                throw InputError(field: field, "\(expected); alias ARNs are not accepted here, got \(text.inputQuoted)")
            }
            throw InputError(field: field, "key ARN must end in key/ID, got \(text.inputQuoted)")
        }
        let keyID = String(resource.dropFirst(4))
        guard isBareKeyID(keyID) else {
            throw InputError(
                field: field, "key id \(keyID.inputDescription) in key ARN is not a lowercase UUID or mrk- id")
        }
        return .arn(text, partition: partition, region: region, accountID: account, keyID: keyID)
    }

    /// An alias name that starts with `prefix` (case-sensitive), matches `^alias/[a-zA-Z0-9/_-]+$`, has at most
    /// 256 characters and is never an AWS-reserved `alias/aws/…` name.
    public static func aliasName(_ text: String, prefix: String, field: String) throws(InputError) -> String {
        let bytes = Array(text.utf8)
        guard text.hasPrefix("alias/"), bytes.count > 6 else {
            throw InputError(
                field: field, "must be a KMS alias starting with \(prefix.inputQuoted), got \(text.inputDescription)")
        }
        // AWS reserves alias/aws/ for its managed keys; they are never ours to touch, in any spelling.
        guard !text.lowercased().hasPrefix("alias/aws/") else {
            throw InputError(
                field: field,
                "alias/aws/… names belong to AWS managed keys and are never touched, got \(text.inputQuoted)")
        }
        guard bytes.allSatisfy(\.isAliasCharacter) else {
            throw InputError(field: field, "may contain only letters, digits, /, _ and -, got \(text.inputQuoted)")
        }
        guard bytes.count <= 256 else {
            throw InputError(field: field, "must be at most 256 characters, got \(bytes.count)")
        }
        guard text.hasPrefix(prefix) else {
            let hint = text.lowercased().hasPrefix(prefix.lowercased()) ? " (the prefix is case-sensitive)" : ""
            throw InputError(field: field, "must start with \(prefix.inputQuoted)\(hint), got \(text.inputQuoted)")
        }
        return text
    }

    /// An EBS snapshot id: `snap-` and 8 or 17 lowercase hex digits.
    public static func snapshotID(_ text: String, field: String) throws(InputError) -> String {
        let bytes = Array(text.utf8)
        guard text.hasPrefix("snap-"), bytes.count == 13 || bytes.count == 22,
            bytes.dropFirst(5).allSatisfy(\.isLowercaseHexDigit)
        else {
            throw InputError(
                field: field, "must be \"snap-\" and 8 or 17 lowercase hex digits, got \(text.inputDescription)")
        }
        return text
    }

    /// The prefixes of import ids the daemon makes itself (`orphan-…` for an adopted orphan, `duplicate-…` for a key
    /// a lost `CreateKey` answer made): no platform's id may take one of these forms.
    public static let reservedImportIDPrefixes = ["orphan-", "duplicate-"]

    /// An import id chosen by the platform: 1–128 characters of `A–Z a–z 0–9 . _ -`, starting with a letter or a
    /// digit, that is not a bare key id (a lowercase UUID or `mrk-` + 32 hex digits) and does not start with a
    /// reserved prefix (`orphan-`, `duplicate-`).
    ///
    /// So an id is one token in logs, `list` output and shell scripts, and it can never be read as another thing's
    /// name: without `:` and `/` it is no key ARN and no alias, and `show`/`cancel-deletion ID` resolve it by its
    /// kind.
    public static func importID(_ text: String, field: String) throws(InputError) -> String {
        let bytes = Array(text.utf8)
        let syntax = "must be 1–128 characters of A–Z a–z 0–9 . _ - starting with a letter or digit"
        guard !bytes.isEmpty else { throw InputError(field: field, "\(syntax), got nothing") }
        guard bytes.count <= 128 else {
            throw InputError(field: field, "must be at most 128 characters, got \(bytes.count)")
        }
        guard bytes[0].isASCIIAlphanumeric,
            bytes.allSatisfy(\.isImportIDCharacter)
        else {
            throw InputError(field: field, "\(syntax), got \(text.inputDescription)")
        }
        if isBareKeyID(text) || isBareKeyID(text.lowercased()) {
            throw InputError(
                field: field, "must not be a KMS key id (it would name a key, not an import), got \(text.inputQuoted)")
        }
        if let reserved = reservedImportIDPrefixes.first(where: { text.hasPrefix($0) }) {
            throw InputError(
                field: field,
                "must not start with \(reserved.inputQuoted) (the daemon's own records), got \(text.inputQuoted)")
        }
        return text
    }

    /// A duration `Ns`, `Nm`, `Nh` or `Nd` with N a whole number, or such parts combined largest unit first
    /// (`2h30m`, `1d12h`), as seconds; more than zero, at most 3650d.
    public static func duration(_ text: String, field: String) throws(InputError) -> TimeInterval {
        let expected =
            "must be a positive whole number followed by s, m, h or d, or several such parts largest unit first "
            + "(e.g. \"30s\", \"10m\", \"24h\", \"2h30m\", \"7d\")"
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { throw InputError(field: field, "\(expected), got \(text.inputDescription)") }
        let units: [(UInt8, Int)] = [
            (UInt8(ascii: "d"), 86_400), (UInt8(ascii: "h"), 3600), (UInt8(ascii: "m"), 60), (UInt8(ascii: "s"), 1),
        ]
        var seconds = 0
        var index = 0
        // Each part's unit must come after the previous part's in `units`: "1d12h", never "30m2h" or "1h1h".
        var nextUnit = 0
        while index < bytes.count {
            let digitsStart = index
            while index < bytes.count, bytes[index].isASCIIDigit { index += 1 }
            guard index > digitsStart, index < bytes.count,
                let unitIndex = units.firstIndex(where: { $0.0 == bytes[index] }), unitIndex >= nextUnit
            else {
                throw InputError(field: field, "\(expected), got \(text.inputDescription)")
            }
            let multiplier = units[unitIndex].1
            var part = 0
            for digit in bytes[digitsStart..<index] {
                let (times10, overflow1) = part.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(Int(digit - UInt8(ascii: "0")))
                let (partSeconds, overflow3) = sum.multipliedReportingOverflow(by: multiplier)
                guard !overflow1, !overflow2, !overflow3, partSeconds <= Int(maximumDuration) else {
                    throw InputError(field: field, "must be at most 3650d, got \(text.inputQuoted)")
                }
                part = sum
            }
            seconds += part * multiplier
            guard seconds <= Int(maximumDuration) else {
                throw InputError(field: field, "must be at most 3650d, got \(text.inputQuoted)")
            }
            nextUnit = unitIndex + 1
            index += 1
        }
        guard seconds > 0 else {
            throw InputError(field: field, "must be greater than zero, got \(text.inputQuoted)")
        }
        return TimeInterval(seconds)
    }

    /// An IAM role ARN `arn:PARTITION:iam::ACCOUNT:role[/PATH]/NAME`.
    ///
    /// NAME is 1–64 of `[A-Za-z0-9_+=,.@-]`; PATH segments use the same characters and the whole path is at most
    /// 512 characters.
    public static func roleARN(_ text: String, field: String) throws(InputError) -> String {
        _ = try roleARNParts(text, field: field)
        return text
    }

    /// The partition and account of a valid role ARN.
    static func roleARNParts(_ text: String, field: String) throws(InputError) -> (partition: String, accountID: String)
    {
        let expected = "must be an IAM role ARN like arn:aws:iam::111122223333:role/NAME"
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 6, parts[0] == "arn", parts[2] == "iam", parts[3].isEmpty else {
            throw InputError(field: field, "\(expected), got \(text.inputDescription)")
        }
        guard isPartition(parts[1]) else {
            throw InputError(field: field, "unknown partition \(parts[1].inputQuoted) in role ARN \(text.inputQuoted)")
        }
        let account = parts[4]
        guard account.utf8.count == 12, account.utf8.allSatisfy(\.isASCIIDigit) else {
            throw InputError(
                field: field, "account \(account.inputDescription) in role ARN is not 12 digits: \(text.inputQuoted)")
        }
        let resource = parts[5]
        guard resource.hasPrefix("role/") else {
            throw InputError(field: field, "\(expected), got \(text.inputQuoted)")
        }
        // role/a/b/NAME: everything between "role" and NAME is the path, which starts and ends with "/".
        let segments = resource.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard let name = segments.last, !name.isEmpty, name.utf8.count <= 64, name.utf8.allSatisfy(\.isIAMNameCharacter)
        else {
            throw InputError(
                field: field,
                "role name must be 1–64 of letters, digits and _+=,.@-, got \(text.inputQuoted)")
        }
        let path = segments.dropLast()
        guard path.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy(\.isIAMNameCharacter) }) else {
            throw InputError(
                field: field, "role path segments must be letters, digits and _+=,.@-, got \(text.inputQuoted)")
        }
        let pathLength = path.reduce(1) { $0 + $1.utf8.count + 1 }
        guard pathLength <= 512 else {
            throw InputError(field: field, "role path must be at most 512 characters, got \(pathLength)")
        }
        return (parts[1], account)
    }

    /// An STS external id: 2–1224 characters of `[A-Za-z0-9_+=,.@:/-]`.
    ///
    /// The value itself is never repeated in the error: it is a shared secret of sorts between the accounts.
    public static func externalID(_ text: String, field: String) throws(InputError) -> String {
        let bytes = Array(text.utf8)
        guard bytes.count >= 2, bytes.count <= 1224 else {
            throw InputError(field: field, "must be 2–1224 characters, got \(text.unicodeScalars.count)")
        }
        if let index = text.unicodeScalars.firstIndex(where: { !$0.isASCII || !UInt8($0.value).isExternalIDCharacter })
        {
            let position = text.unicodeScalars.distance(from: text.unicodeScalars.startIndex, to: index) + 1
            throw InputError(
                field: field,
                "may contain only letters, digits and _+=,.@:/-, got a forbidden character at position \(position)")
        }
        return text
    }

    // MARK: - Shared checks

    /// Whether `text` is a lowercase UUID or a multi-Region key id `mrk-` + 32 lowercase hex digits.
    static func isBareKeyID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        if text.hasPrefix("mrk-") {
            return bytes.count == 36 && bytes.dropFirst(4).allSatisfy(\.isLowercaseHexDigit)
        }
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            let isHyphenPosition = index == 8 || index == 13 || index == 18 || index == 23
            guard isHyphenPosition ? byte == UInt8(ascii: "-") : byte.isLowercaseHexDigit else { return false }
        }
        return true
    }

    /// Whether `text` has the shape of an AWS region name (see `region(_:field:)`).
    static func isRegion(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3 || parts.count == 4 else { return false }
        let isPrefixValid: Bool
        if parts.count == 4 {
            // us-gov, us-iso, us-isob, us-isof, …
            let second = parts[1]
            isPrefixValid =
                parts[0] == "us"
                && (second == "gov"
                    || (second.hasPrefix("iso") && second.utf8.count <= 4
                        && second.utf8.allSatisfy(\.isASCIILowercaseLetter)))
        } else {
            isPrefixValid = parts[0].utf8.count == 2 && parts[0].utf8.allSatisfy(\.isASCIILowercaseLetter)
        }
        let directions: Set<Substring> = [
            "central", "north", "south", "east", "west", "northeast", "northwest", "southeast", "southwest",
        ]
        let number = parts[parts.count - 1]
        return isPrefixValid && directions.contains(parts[parts.count - 2]) && (1...2).contains(number.utf8.count)
            && number.utf8.allSatisfy(\.isASCIIDigit)
    }

    /// The ARN partition a (valid) region belongs to.
    static func partitionOf(region: String) -> String {
        if region.hasPrefix("cn-") { return "aws-cn" }
        if region.hasPrefix("us-gov-") { return "aws-us-gov" }
        if region.hasPrefix("us-iso-") { return "aws-iso" }
        if region.hasPrefix("us-iso") {
            // us-isob-east-1 → aws-iso-b, us-isof-south-1 → aws-iso-f
            let letter = region.dropFirst(6).prefix(1)
            return "aws-iso-\(letter)"
        }
        return "aws"
    }
}
