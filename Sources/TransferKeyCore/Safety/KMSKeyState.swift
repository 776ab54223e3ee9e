/// A KMS key's `KeyState`, mapped once at the boundary; a value AWS adds later is `.unknown`, which no
/// safety rule approves.
public enum KMSKeyState: String, Sendable, Equatable, CaseIterable {
    case enabled = "Enabled"
    case disabled = "Disabled"
    case pendingDeletion = "PendingDeletion"
    case pendingReplicaDeletion = "PendingReplicaDeletion"
    case pendingImport = "PendingImport"
    case unavailable = "Unavailable"
    case creating = "Creating"
    case updating = "Updating"
    case unknown = "Unknown"

    /// The state AWS named, `.unknown` for anything else.
    public init(aws text: String) {
        self = KMSKeyState(rawValue: text) ?? .unknown
    }

    /// AWS already has the key on its way out.
    public var isPendingDeletion: Bool { self == .pendingDeletion || self == .pendingReplicaDeletion }

    /// A replica is being made or the key changes: AWS refuses `ScheduleKeyDeletion` now, and a moment later
    /// it will not. "Look again later", never `stuck`.
    public var isTransitional: Bool { self == .creating || self == .updating }
}
