/// A KMS key's `KeyState`, mapped once at the boundary (the daemon's AWS adapter) and carried as this type from
/// there up: the safety rules, the worker and the audit records read it, never the text. A value AWS adds later is
/// `.unknown` with AWS's own word kept (the audit records what AWS said), and no safety rule approves it.
///
/// A string literal is a state by AWS's name (`"PendingDeletion"`), so fakes and tests read like AWS's answers.
public enum KMSKeyState: Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    case enabled
    case disabled
    case pendingDeletion
    case pendingReplicaDeletion
    case pendingImport
    case unavailable
    case creating
    case updating
    /// A state no rule knows, by the name AWS gave it.
    case unknown(String)

    /// Every state AWS documents, in AWS's order.
    public static let known: [KMSKeyState] = [
        .enabled, .disabled, .pendingDeletion, .pendingReplicaDeletion, .pendingImport, .unavailable, .creating,
        .updating,
    ]

    /// The state AWS named; anything it does not document is `.unknown` with that name.
    public init(aws text: String) {
        self = Self.known.first { $0.awsName == text } ?? .unknown(text)
    }

    public init(stringLiteral text: String) { self.init(aws: text) }

    /// AWS's name of the state, as the audit records it.
    public var awsName: String {
        switch self {
        case .enabled: "Enabled"
        case .disabled: "Disabled"
        case .pendingDeletion: "PendingDeletion"
        case .pendingReplicaDeletion: "PendingReplicaDeletion"
        case .pendingImport: "PendingImport"
        case .unavailable: "Unavailable"
        case .creating: "Creating"
        case .updating: "Updating"
        case .unknown(let name): name
        }
    }

    public var description: String { awsName }

    /// AWS already has the key on its way out.
    public var isPendingDeletion: Bool { self == .pendingDeletion || self == .pendingReplicaDeletion }

    /// A replica is being made or the key changes: AWS refuses `ScheduleKeyDeletion` now, and a moment later
    /// it will not. "Look again later", never `stuck`.
    public var isTransitional: Bool { self == .creating || self == .updating }
}
