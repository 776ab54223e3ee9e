/// One row of `transferkeyd check`: what was checked, where, how it went, and the fix when it failed.
public struct PrerequisiteCheck: Sendable, Equatable {
    /// How a check went.
    public enum Outcome: String, Sendable, Equatable {
        /// The prerequisite holds.
        case passed
        /// The prerequisite does not hold (a permission, a credential, a file mode…): `fix` says what to do.
        case failed
        /// No answer at all: AWS or the database could not be reached (exit 3).
        case unreachable
        /// Not tried, because a check it depends on failed first.
        case skipped
        /// Holds, but leaves a safety rule without its evidence (e.g. no `platform_principals`): shown with `fix`,
        /// not a failure (exit 0).
        case warning
    }

    /// `config`, `database`, or `ACCOUNT/REGION`.
    public var scope: String
    /// The account, for per account × region rows.
    public var accountID: String?
    /// The region, for per account × region rows.
    public var region: String?
    /// What was checked, e.g. `credentials`, `kms:ListAliases`.
    public var name: String
    /// How it went.
    public var outcome: Outcome
    /// What was found (a credential source, an identity ARN, an error code and message).
    public var detail: String
    /// What to do about a failure, in one line; nil when it passed.
    public var fix: String?

    /// Creates a row.
    public init(
        scope: String, accountID: String? = nil, region: String? = nil, name: String, outcome: Outcome,
        detail: String, fix: String? = nil
    ) {
        self.scope = scope
        self.accountID = accountID
        self.region = region
        self.name = name
        self.outcome = outcome
        self.detail = detail
        self.fix = fix
    }

    /// Whether the row counts as a problem.
    public var isProblem: Bool { outcome != .passed && outcome != .warning }
}
