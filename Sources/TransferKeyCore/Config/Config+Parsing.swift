import Foundation

extension Config {
    /// The keys allowed at the top level.
    static let topLevelKeys = [
        "database", "alias_prefix", "poll_interval", "scan_interval", "pending_window_days", "max_transfer_age",
        "orphan_grace", "max_deletions_per_cycle", "orphan_alarm_threshold", "dry_run", "metrics_file",
        "create_timeout", "max_deletions_per_hour", "orphan_alarm_window", "orphan_max_key_lead", "ownership_mark_key",
        "usage_slack", "in_use_deferrals", "import_grantees", "disable_first", "audit_key_file", "aws", "replication",
        "lease", "accounts",
    ]
    /// The keys allowed in `[aws]`.
    static let awsKeys = [
        "allow_insecure_endpoint", "endpoint_url", "max_attempts", "max_in_flight", "request_timeout",
    ]
    /// The keys allowed in each `[[accounts]]` table.
    static let accountKeys = ["id", "role_arn", "external_id", "regions", "platform_principals"]

    /// Parses and validates the text of a config file; keys left out keep their defaults.
    ///
    /// Errors name the key path (array positions counted from 1: `accounts[2].regions[1]`) and the 1-based line.
    public static func parse(_ text: String) throws(InputError) -> Config {
        let root = try TOMLParser.parse(text)
        var config = Config()
        for tomlEntry in root.entries {
            let entry = ConfigEntry(tomlEntry, field: TOMLParser.fieldName(tomlEntry.key))
            switch tomlEntry.key {
            case "database": config.database = try entry.path()
            case "alias_prefix": config.aliasPrefix = try aliasPrefix(entry)
            case "poll_interval": config.pollInterval = try entry.duration(from: "1s", to: "1h")
            case "scan_interval": config.scanInterval = try entry.duration(from: "10s", to: "7d")
            case "pending_window_days":
                config.pendingWindowDays = try entry.integer(in: 7...30, why: " (AWS's limits)")
            case "max_transfer_age": config.maxTransferAge = try entry.duration(from: "1m", to: "30d")
            case "orphan_grace": config.orphanGrace = try entry.duration(from: "1m", to: "30d")
            case "max_deletions_per_cycle": config.maxDeletionsPerCycle = try entry.integer(in: 1...Int.max)
            case "orphan_alarm_threshold": config.orphanAlarmThreshold = try entry.integer(in: 1...Int.max)
            case "max_deletions_per_hour": config.maxDeletionsPerHour = try entry.integer(in: 1...Int.max)
            case "orphan_alarm_window": config.orphanAlarmWindow = try entry.duration(from: "1h", to: "30d")
            case "orphan_max_key_lead": config.orphanMaxKeyLead = try entry.duration(from: "1m", to: "7d")
            case "dry_run": config.dryRun = try entry.boolean()
            case "metrics_file": config.metricsFile = try entry.path()
            case "audit_key_file": config.auditKeyFile = try entry.path()
            case "create_timeout": config.createTimeout = try entry.duration(from: "1s", to: "1d")
            case "ownership_mark_key": config.ownershipMarkKey = try ownershipMarkKey(entry)
            case "usage_slack": config.usageSlack = try entry.duration(from: "1m", to: "1d")
            case "in_use_deferrals": config.inUseDeferrals = try entry.integer(in: 1...100)
            case "import_grantees": config.importGrantees = try importGrantees(entry)
            case "disable_first": config.disableFirst = try entry.duration(from: "1m", to: "30d")
            case "aws": config.aws = try awsSettings(entry)
            case "replication": config.replication = try replication(entry)
            case "lease": config.lease = try lease(entry)
            case "accounts": config.accounts = try accounts(entry)
            default:
                throw ConfigEntry.unknownKey(
                    tomlEntry.key, field: entry.field, line: entry.line, in: "", known: topLevelKeys)
            }
        }
        return config
    }

    /// Principal patterns (IAM `StringLike`): an ARN (`arn:…`) or an AWS service principal (`….amazonaws.com`), no
    /// control characters, no bare `*` (that would make every grant the import's).
    private static func importGrantees(_ entry: ConfigEntry) throws(InputError) -> [String] {
        try principalPatterns(entry, services: true)
    }

    /// Principal patterns (IAM `StringLike`): ARNs, and AWS service principals where `services` allows them.
    static func principalPatterns(_ entry: ConfigEntry, services: Bool) throws(InputError) -> [String] {
        var patterns: [String] = []
        for (index, item) in try entry.stringArray().enumerated() {
            let field = "\(entry.field)[\(index + 1)]"
            let text = item.text
            guard text.hasPrefix("arn:") || (services && text.hasSuffix(".amazonaws.com")) else {
                throw InputError(
                    field: field,
                    "must be a principal ARN\(services ? " or an AWS service principal" : ""), got \(text.inputQuoted)",
                    line: item.line)
            }
            guard text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }), text.count <= 512 else {
                throw InputError(
                    field: field, "must be printable ASCII without spaces, got \(text.inputQuoted)", line: item.line)
            }
            guard text.filter({ $0 != "*" && $0 != "?" }).count >= 12 else {
                throw InputError(
                    field: field, "is so wild it matches anyone: \(text.inputQuoted) (name the principals)",
                    line: item.line)
            }
            patterns.append(text)
        }
        return patterns
    }

    /// The HMAC key that makes ownership marks: a key ARN (the region and account say where to call `GenerateMac`).
    private static func ownershipMarkKey(_ entry: ConfigEntry) throws(InputError) -> String {
        let text = try entry.string()
        let reference: KeyReference
        do {
            reference = try Validator.keyReference(text, field: entry.field)
        } catch {
            throw InputError(field: entry.field, error.message, line: entry.line)
        }
        guard case .arn = reference else {
            throw InputError(
                field: entry.field, "must be a key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), got \(text.inputQuoted)",
                line: entry.line)
        }
        return text
    }

    private static func aliasPrefix(_ entry: ConfigEntry) throws(InputError) -> String {
        let text = try entry.string()
        let bytes = Array(text.utf8)
        func fail(_ message: String) -> InputError { InputError(field: entry.field, message, line: entry.line) }
        guard text.hasPrefix("alias/") else { throw fail("must start with \"alias/\", got \(text.inputDescription)") }
        guard bytes.allSatisfy(\.isAliasCharacter) else {
            throw fail("may contain only letters, digits, /, _ and -, got \(text.inputQuoted)")
        }
        // A prefix that alias/aws/… names start with (alias/aws, alias/aw, …) would let a scan match AWS managed
        // keys' aliases; alias/aws/… itself is reserved by AWS.
        let lowercased = text.lowercased()
        guard lowercased == "alias/" || (!"alias/aws/".hasPrefix(lowercased) && !lowercased.hasPrefix("alias/aws/"))
        else {
            throw fail("must not match AWS-reserved alias/aws/… names, got \(text.inputQuoted)")
        }
        // A short prefix matches aliases nobody meant as transfer aliases: alias/C matches alias/CustomerBillingDB.
        guard (SafetyRules.minimumPrefixLength...200).contains(bytes.count) else {
            throw fail(
                "must be \(SafetyRules.minimumPrefixLength)…200 characters, got \(bytes.count): \(text.inputQuoted)"
                    + " (alias/ and at least 8 more, so that it names transfer aliases only)")
        }
        return text
    }

    private static func awsSettings(_ entry: ConfigEntry) throws(InputError) -> AWSSettings {
        guard case .table(let table) = entry.item else { throw entry.wrongType(expected: "an [aws] table") }
        var settings = AWSSettings()
        var endpoint: ConfigEntry?
        for tomlEntry in table.entries {
            let item = ConfigEntry(tomlEntry, field: "aws." + TOMLParser.fieldName(tomlEntry.key))
            switch tomlEntry.key {
            case "allow_insecure_endpoint":
                settings.allowInsecureEndpoint = try item.boolean()
            case "endpoint_url":
                endpoint = item
            case "max_attempts":
                settings.maxAttempts = try item.integer(in: 1...20)
            case "max_in_flight":
                settings.maxInFlight = try item.integer(in: 1...64)
            case "request_timeout":
                settings.requestTimeout = try item.duration(from: "1s", to: "5m")
            default:
                throw ConfigEntry.unknownKey(
                    tomlEntry.key, field: item.field, line: item.line, in: " in [aws]", known: awsKeys)
            }
        }
        if let endpoint {
            // After the loop: allow_insecure_endpoint may come after endpoint_url.
            let allowInsecure = settings.allowInsecureEndpoint
            settings.endpointURL = try endpoint.validated { (text, field) throws(InputError) in
                try Validator.endpointURL(text, field: field, allowInsecure: allowInsecure)
            }
        }
        return settings
    }

    /// The keys allowed in `[replication]`.
    static let replicationKeys = ["litestream_config", "litestream", "max_lag"]

    private static func replication(_ entry: ConfigEntry) throws(InputError) -> Replication {
        guard case .table(let table) = entry.item else { throw entry.wrongType(expected: "a [replication] table") }
        var settings = Replication()
        for tomlEntry in table.entries {
            let item = ConfigEntry(tomlEntry, field: "replication." + TOMLParser.fieldName(tomlEntry.key))
            switch tomlEntry.key {
            case "litestream_config": settings.litestreamConfig = try item.path()
            case "litestream": settings.litestream = try item.path()
            case "max_lag": settings.maxLag = try item.duration(from: "10s", to: "1d")
            default:
                throw ConfigEntry.unknownKey(
                    tomlEntry.key, field: item.field, line: item.line, in: " in [replication]", known: replicationKeys)
            }
        }
        guard !settings.litestreamConfig.isEmpty else {
            throw InputError(field: "replication.litestream_config", "is required in [replication]")
        }
        return settings
    }

    /// The keys allowed in `[lease]`.
    static let leaseKeys = ["dynamodb_table", "region", "name", "duration", "standby"]

    private static func lease(_ entry: ConfigEntry) throws(InputError) -> Lease {
        guard case .table(let table) = entry.item else { throw entry.wrongType(expected: "a [lease] table") }
        var settings = Lease()
        var regionSet = false
        for tomlEntry in table.entries {
            let item = ConfigEntry(tomlEntry, field: "lease." + TOMLParser.fieldName(tomlEntry.key))
            switch tomlEntry.key {
            case "dynamodb_table":
                let name = try item.string()
                // DynamoDB's table-name rules: 3–255 of letters, digits, `_`, `-`, `.`.
                guard (3...255).contains(name.count),
                    name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) })
                else {
                    throw InputError(
                        field: item.field,
                        "must be a DynamoDB table name (3–255 of A–Z a–z 0–9 _ - .), got \"\(name)\"",
                        line: item.line)
                }
                settings.table = name
            case "region":
                settings.region = try item.validated(Validator.region)
                regionSet = true
            case "name":
                settings.name = try item.string()
                guard !settings.name.isEmpty, settings.name.count <= 200,
                    settings.name.allSatisfy({ $0.isASCII && !$0.isWhitespace && !$0.isNewline })
                else {
                    throw InputError(field: item.field, "must be 1–200 printable ASCII characters", line: item.line)
                }
            case "duration": settings.duration = try item.duration(from: "20s", to: "10m")
            case "standby": settings.standby = try item.boolean()
            default:
                throw ConfigEntry.unknownKey(
                    tomlEntry.key, field: item.field, line: item.line, in: " in [lease]", known: leaseKeys)
            }
        }
        guard !settings.table.isEmpty else {
            throw InputError(field: "lease.dynamodb_table", "is required in [lease]")
        }
        guard regionSet else { throw InputError(field: "lease.region", "is required in [lease]") }
        return settings
    }

    private static func accounts(_ entry: ConfigEntry) throws(InputError) -> [Account] {
        guard case .tableArray(let tables) = entry.item else {
            throw entry.wrongType(expected: "[[accounts]] tables")
        }
        var accounts: [Account] = []
        var firstSeen: [String: (index: Int, line: Int)] = [:]
        for (offset, table) in tables.enumerated() {
            let position = offset + 1
            let (account, idLine) = try account(table, field: "accounts[\(position)]")
            if let earlier = firstSeen[account.id] {
                throw InputError(
                    field: "accounts[\(position)].id",
                    "duplicate account \(account.id), already configured in accounts[\(earlier.index)] (line \(earlier.line))",
                    line: idLine)
            }
            firstSeen[account.id] = (position, idLine)
            accounts.append(account)
        }
        return accounts
    }

    private static func account(_ table: TOMLTable, field prefix: String) throws(InputError) -> (Account, idLine: Int) {
        var id: (text: String, line: Int)?
        var role: (text: String, line: Int, partition: String, accountID: String)?
        var externalID: (text: String, line: Int)?
        var regions: (items: [(text: String, line: Int)], line: Int)?
        var principals: [String] = []
        for tomlEntry in table.entries {
            let item = ConfigEntry(tomlEntry, field: prefix + "." + TOMLParser.fieldName(tomlEntry.key))
            switch tomlEntry.key {
            case "id":
                id = (try item.validated(Validator.accountID), item.line)
            case "role_arn":
                let parts = try item.validated(Validator.roleARNParts)
                role = (try item.string(), item.line, parts.partition, parts.accountID)
            case "external_id":
                externalID = (try item.validated(Validator.externalID), item.line)
            case "platform_principals":
                principals = try principalPatterns(item, services: false)
            case "regions":
                let items = try item.stringArray()
                for (index, region) in items.enumerated() {
                    _ = try ConfigEntry.at(region.line) { () throws(InputError) in
                        try Validator.region(region.text, field: "\(item.field)[\(index + 1)]")
                    }
                }
                regions = (items, item.line)
            default:
                throw ConfigEntry.unknownKey(
                    tomlEntry.key, field: item.field, line: item.line, in: " in [[accounts]]", known: accountKeys)
            }
        }
        guard let id else {
            throw InputError(
                field: "\(prefix).id", "missing: each [[accounts]] needs id = \"<12 digits>\"", line: table.line)
        }
        guard let regions else {
            throw InputError(
                field: "\(prefix).regions", "missing: each [[accounts]] needs regions = [\"us-east-1\", …]",
                line: table.line)
        }
        guard let first = regions.items.first else {
            throw InputError(field: "\(prefix).regions", "must list at least one region, got []", line: regions.line)
        }
        // An account lives in exactly one partition, so its regions (and role) must agree on it.
        let partition = role?.partition ?? Validator.partitionOf(region: first.text)
        var seen: [String: Int] = [:]
        for (index, region) in regions.items.enumerated() {
            let field = "\(prefix).regions[\(index + 1)]"
            if let earlier = seen[region.text] {
                throw InputError(
                    field: field, "duplicate region \(region.text), already listed as regions[\(earlier)]",
                    line: region.line)
            }
            seen[region.text] = index + 1
            let regionPartition = Validator.partitionOf(region: region.text)
            guard regionPartition == partition else {
                let other = role == nil ? "\(first.text) is in \(partition)" : "role_arn is in \(partition)"
                throw InputError(
                    field: field,
                    "region \(region.text) is in partition \(regionPartition) but \(other); one account has one partition",
                    line: region.line)
            }
        }
        if let role, role.accountID != id.text {
            throw InputError(
                field: "\(prefix).role_arn",
                "role is in account \(role.accountID) but id is \(id.text); the role must belong to the account it serves",
                line: role.line)
        }
        if let externalID, role == nil {
            throw InputError(
                field: "\(prefix).external_id", "external_id needs role_arn (it is only sent when assuming a role)",
                line: externalID.line)
        }
        var account = Account(
            id: id.text, roleARN: role?.text, externalID: externalID?.text, regions: regions.items.map(\.text))
        account.platformPrincipals = principals
        return (account, id.line)
    }
}
