/// How a transfer came to be recorded, exactly as stored in `transfers.origin`.
public enum TransferOrigin: String, CaseIterable, Codable, Sendable {
    /// The platform recorded a key it created (`transferkeyd track`).
    case tracked
    /// This daemon created the key (`transferkeyd create`).
    case created
    /// The orphan scanner found a prefixed alias nobody recorded.
    case discovered
}
