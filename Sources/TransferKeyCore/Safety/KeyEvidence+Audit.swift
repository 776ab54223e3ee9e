import Foundation

extension AliasEvidence {
    /// The alias in an audit event: its name and both dates.
    public var auditValue: JSONValue {
        [
            "name": .string(name), "creation_date": .string(creationDate.map(Timestamp.string)),
            "last_updated_date": .string(lastUpdatedDate.map(Timestamp.string)),
        ]
    }
}

extension KeyEvidence {
    /// The key in an audit event: everything a rule read.
    public var auditValue: JSONValue {
        [
            "key_id": .string(keyID), "account_id": .string(accountID), "region": .string(region),
            "key_manager": .string(keyManager),
            "key_state": .string(keyState.awsName), "origin": .string(origin),
            "custom_key_store_id": .string(customKeyStoreID),
            "key_spec": .string(keySpec), "key_usage": .string(keyUsage),
            "creation_date": .string(creationDate.map(Timestamp.string)),
            "deletion_date": .string(deletionDate.map(Timestamp.string)),
            "multi_region_key_type": .string(multiRegionKeyType),
            "aliases": .array(aliases.sorted { $0.name < $1.name }.map(\.auditValue)),
        ]
    }
}

extension DeletionEvidence {
    /// The evidence a decision rested on, for its audit event (`evidence` in the detail).
    public var auditValue: JSONValue {
        var value: [String: JSONValue] = [
            "key": key.auditValue, "replicas": .array(replicas.map(\.auditValue)),
            "aws_time": .string(awsNow.map(Timestamp.string)),
        ]
        if let tags { value["import_id_tag"] = .string(tags[KMSValue.importIDTag]) }
        if let mark { value["ownership_mark"] = mark.auditValue }
        if let usage { value["usage"] = usage.auditValue }
        return .object(value)
    }
}

extension Provenance {
    /// The provenance finding in an audit event.
    public var auditValue: JSONValue {
        switch self {
        case .mark(let importID): ["kind": "ownership_mark", "import_id": .string(importID)]
        case .youngKey(let lead, let age):
            ["kind": "young_key", "lead_seconds": .int(Int64(lead)), "age_seconds": .int(Int64(age))]
        case .missing(let what): ["kind": "missing", "missing": .string(what)]
        }
    }
}
