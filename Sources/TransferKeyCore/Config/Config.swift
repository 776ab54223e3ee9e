import Foundation

/// The daemon's settings, from `/etc/transferkeyd/config.toml` (examples/config.toml shows every key); every key has a default.
///
/// `parse(_:)` is strict: unknown keys, wrong types, out-of-range values and malformed identifiers are an
/// `InputError` naming the key path and the line. Key paths count array positions from 1, like the lines:
/// `accounts[2].regions[1]` is the first region of the second `[[accounts]]` table.
public struct Config: Sendable, Equatable {
    /// Where the config file is read from unless `--config` or `TRANSFERKEYD_CONFIG` says otherwise.
    public static let defaultPath = "/etc/transferkeyd/config.toml"

    /// The SQLite file, as written; a relative path is resolved by the caller against the config file's folder.
    public var database = "/var/lib/transferkeyd/transferkeyd.db"
    /// The alias prefix of every key the daemon may touch; matches the vendor's IAM `kms:ResourceAliases` condition.
    public var aliasPrefix = "alias/CadoResponse-KMS-Alias"
    /// How often snapshot copies are polled for completion (1s…1h).
    public var pollInterval: TimeInterval = 30
    /// How often every account × region is scanned for unrecorded prefixed aliases (10s…7d).
    public var scanInterval: TimeInterval = 600
    /// The `ScheduleKeyDeletion` waiting period in days (AWS allows 7…30).
    public var pendingWindowDays = 7
    /// The lease: a transfer is cleaned up no later than this after it started (1m…30d).
    public var maxTransferAge: TimeInterval = 86_400
    /// An unrecorded prefixed alias younger than this is left alone (1m…30d; 0 is refused so that an import
    /// that has not yet called `track` is never raced).
    public var orphanGrace: TimeInterval = 21_600
    /// A `create` whose `creating` row is untouched for this long died or gave up; the daemon then
    /// finishes it or parks it (1s…1d). Must exceed how long one `create` may take with its retries.
    public var createTimeout: TimeInterval = 300
    /// At most this many `ScheduleKeyDeletion` calls per cycle (≥ 1): the blast-radius cap.
    public var maxDeletionsPerCycle = 25
    /// At most this many `ScheduleKeyDeletion` calls in any rolling hour (≥ 1): the blast radius over time.
    public var maxDeletionsPerHour = 200
    /// More unrecorded keys than this found within `orphan_alarm_window` pauses orphan cleanup until
    /// `approve-orphans` (≥ 1).
    public var orphanAlarmThreshold = 100
    /// The rolling window over which the orphan alarm counts unrecorded keys (1h…30d).
    public var orphanAlarmWindow: TimeInterval = 86_400
    /// A discovered key without transferkeyd's tag counts as a transfer key only if it was made at most this long
    /// before its first prefixed alias (1m…7d).
    public var orphanMaxKeyLead: TimeInterval = 3_600
    /// `ownership_mark_key`: the ARN of an HMAC KMS key (`HMAC_256`, `GENERATE_VERIFY_MAC`) whose `kms:GenerateMac`
    /// only the daemon's role may call. Every key `create` makes carries a mark made with it, bound to the key's ARN
    /// and import id; a discovered key with a mark that verifies is proven a transfer key, and a key whose `CreateKey`
    /// answer was lost is recognised by it. Nil: no marks; tags then prove nothing, and a lost answer is left to an
    /// operator.
    public var ownershipMarkKey: String?
    /// `usage_slack`: a cryptographic use of the key this long after its import ended still counts as the import's own
    /// (KMS's reporting delay, the copy's last operations); later uses defer the deletion (1m…1d, default 15m).
    public var usageSlack: TimeInterval = 900
    /// `in_use_deferrals`: a key found in use this many times in a row is refused for an operator (1…100, default 3).
    public var inUseDeferrals = 3
    /// `import_grantees`: principals (IAM `StringLike` patterns) whose grants, made before the import ended, are the
    /// import's own (e.g. EC2's infrastructure role for the snapshot copy). Any other live grant refuses the key.
    public var importGrantees: [String] = []
    /// `disable_first`: AWS's recommended way to retire a key. A key every rule approves is disabled first
    /// (`DisableKey`), watched this long for anything that tries to use it (a refused call in CloudTrail, or the key
    /// enabled again), and only then scheduled for deletion; a use ends in `refused` (`in_use`) with the key enabled
    /// again. Nil (the default): scheduled at once (1m…30d).
    public var disableFirst: TimeInterval?
    /// Perform every read and record what would be done, but make no mutating AWS call.
    public var dryRun = false
    /// AWS client settings, from `[aws]`.
    public var aws = AWSSettings()
    /// The accounts to work in, from `[[accounts]]`; none by default.
    public var accounts: [Account] = []
    /// Where to write Prometheus text-format metrics (`metrics_file`), if anywhere; resolved like `database`.
    public var metricsFile: String?
    /// `audit_key_file`: the secret that keys the audit chain (see `AuditKey`), outside the database — a root-owned
    /// file readable by the daemon's group (`make install` creates /etc/transferkeyd/audit.key) or systemd's
    /// credential `audit-key`. Unset: `$CREDENTIALS_DIRECTORY/audit-key` when present, else an unkeyed chain.
    public var auditKeyFile: String?
    /// `[replication]`, if the ledger is replicated off the host.
    public var replication: Replication?
    /// `[lease]`, if one writer across hosts is enforced with a DynamoDB lease.
    public var lease: Lease?

    /// The defaults, with no accounts.
    public init() {}

    /// `ACCOUNT/REGION` of every configured account × region, in the config's order.
    public var configuredPairs: [String] {
        accounts.flatMap { account in account.regions.map { "\(account.id)/\($0)" } }
    }

    /// `[replication]`: the ledger's off-host copy, kept by Litestream (a sidecar the operator runs). transferkeyd
    /// reads the replica through the `litestream` command: a writer refuses to start a new ledger while a replica
    /// exists (restore it first), and `check` reports how far the replica lags.
    public struct Replication: Sendable, Equatable {
        /// `litestream_config`: Litestream's config file that replicates `database` (required in the table).
        public var litestreamConfig: String = ""
        /// `litestream`: the Litestream binary (default `litestream`, found on PATH).
        public var litestream = "litestream"
        /// `max_lag`: `check` fails when the replica's newest file is older than the ledger's last write by more
        /// than this (10s…1d; default 5m).
        public var maxLag: TimeInterval = 300

        /// The defaults.
        public init() {}
    }

    /// `[lease]`: one writer across hosts. `run` holds a lease in a DynamoDB table (one item, renewed every third of
    /// `duration` with a new random version; AWS's conditional writes decide every change of holder) and a second
    /// `run` on any host refuses with exit 1 naming the holder. A standby (`standby = true`) waits instead and takes
    /// over once the holder has renewed nothing for `duration`, restoring the ledger from `[replication]` first.
    /// No clock is compared across hosts: each side measures `duration` on its own monotonic clock.
    public struct Lease: Sendable, Equatable {
        /// `dynamodb_table`: the table (partition key `lease`, a string), in the base credentials' account.
        public var table = ""
        /// `region`: the table's region.
        public var region = ""
        /// `name`: the lease's item key (default `transferkeyd`): daemons sharing a name exclude each other.
        public var name = "transferkeyd"
        /// `duration`: how long a holder that renews nothing keeps the lease (20s…10m; default 60s). The holder stops
        /// working once half of it has passed without a confirmed renewal.
        public var duration: TimeInterval = 60
        /// `standby`: wait for the lease instead of refusing (default false).
        public var standby = false

        /// The defaults (a table and region are required in the file).
        public init() {}
    }

    /// `[aws]`: how the AWS clients connect.
    public struct AWSSettings: Sendable, Equatable {
        /// `endpoint_url`: one endpoint for all services (emulators, tests), `http(s)://host[:port][/]`.
        public var endpointURL: String?
        /// `max_attempts`: tries per AWS call including the first (1…20; 3 as in the AWS SDKs' standard mode).
        public var maxAttempts = 3
        /// `request_timeout`: how long one attempt may take before it is abandoned and retried (1s…5m).
        public var requestTimeout: TimeInterval = 30
        /// `allow_insecure_endpoint`: whether `endpoint_url` / `AWS_ENDPOINT_URL*` may use plain http to a
        /// host other than loopback (default false).
        public var allowInsecureEndpoint = false
        /// `max_in_flight`: transfers worked at once in one account × region (1…64; default 16). The per-operation
        /// pacing keeps each operation under AWS's quota whatever this is; more in flight only hides latency.
        public var maxInFlight = 16

        /// The defaults: AWS's own endpoints, 3 attempts of at most 30 s each, 16 transfers in flight per lane.
        public init(
            endpointURL: String? = nil, maxAttempts: Int = 3, requestTimeout: TimeInterval = 30,
            allowInsecureEndpoint: Bool = false, maxInFlight: Int = 16
        ) {
            self.endpointURL = endpointURL
            self.maxAttempts = maxAttempts
            self.requestTimeout = requestTimeout
            self.allowInsecureEndpoint = allowInsecureEndpoint
            self.maxInFlight = maxInFlight
        }
    }

    /// One `[[accounts]]` table: an AWS account and the regions to work in.
    public struct Account: Sendable, Equatable {
        /// The 12-digit account id.
        public var id: String
        /// The role to assume in the account; nil means the base credentials are used as they are.
        public var roleARN: String?
        /// The STS external id for `roleARN`; only with a role.
        public var externalID: String?
        /// The regions to scan and clean, at least one, no duplicates, all in one partition.
        public var regions: [String]
        /// `platform_principals`: who makes transfer keys in this account (IAM `StringLike` patterns of principal ARNs).
        /// When set, a discovered key proven only by its age must also have been made by one of them, by CloudTrail's
        /// `CreateKey` record; empty: not checked (`check` warns).
        public var platformPrincipals: [String] = []

        /// An account entry.
        public init(id: String, roleARN: String? = nil, externalID: String? = nil, regions: [String]) {
            self.id = id
            self.roleARN = roleARN
            self.externalID = externalID
            self.regions = regions
        }
    }

    /// The configured account with this id, if any.
    public func account(_ id: String) -> Account? {
        accounts.first { $0.id == id }
    }
}
