-- transferkeyd schema, version 1.
-- Released migrations are never edited: change the schema with a new NNNN_*.sql file.
-- Timestamps are UTC ISO-8601 text with milliseconds, e.g. 2026-11-28T23:18:16.123Z.

-- One row per temporary KMS key whose life this daemon owns.
CREATE TABLE transfers (
    id                  INTEGER PRIMARY KEY,
    import_id           TEXT NOT NULL UNIQUE
                        CHECK (length(import_id) BETWEEN 1 AND 128),
    account_id          TEXT NOT NULL
                        CHECK (length(account_id) = 12 AND account_id NOT GLOB '*[^0-9]*'),
    region              TEXT NOT NULL CHECK (length(region) BETWEEN 1 AND 32),
    -- NULL only while `creating`: the intent is written before the key exists.
    key_id              TEXT,
    key_arn             TEXT,
    alias_name          TEXT CHECK (alias_name IS NULL OR alias_name GLOB 'alias/*'),
    state               TEXT NOT NULL
                        CHECK (state IN ('creating', 'active', 'cleanup_due', 'key_scheduled',
                                         'cleaned', 'deleted', 'stuck', 'refused', 'cancelled')),
    origin              TEXT NOT NULL CHECK (origin IN ('tracked', 'created', 'discovered')),
    -- Where the destination snapshot copies live (default: the key's account and region).
    snapshot_account_id TEXT
                        CHECK (snapshot_account_id IS NULL
                               OR (length(snapshot_account_id) = 12
                                   AND snapshot_account_id NOT GLOB '*[^0-9]*')),
    snapshot_region     TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    -- The lease: cleanup starts no later than this, whatever the import says.
    deadline_at         TEXT NOT NULL,
    completed_at        TEXT,
    -- Why the import counts as over: succeeded | failed | expired | snapshots_gone.
    completion          TEXT
                        CHECK (completion IS NULL
                               OR completion IN ('succeeded', 'failed', 'expired', 'snapshots_gone')),
    key_deletion_date   TEXT,
    attempts            INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at     TEXT,
    last_error          TEXT,
    -- A key id is known except while creating, or when creating failed before AWS made the key.
    CHECK (state IN ('creating', 'stuck', 'cancelled') OR key_id IS NOT NULL),
    CHECK (completed_at IS NULL OR completion IS NOT NULL)
);

-- "Due work": the daemon claims rows by state and next_attempt_at.
CREATE INDEX transfers_due ON transfers (state, next_attempt_at);
-- `status` counts and `list --account`.
CREATE INDEX transfers_account_state ON transfers (account_id, state);
CREATE INDEX transfers_key_id ON transfers (key_id);

-- The destination snapshot copies whose completion ends an import.
CREATE TABLE transfer_snapshots (
    import_id   TEXT NOT NULL REFERENCES transfers (import_id) ON DELETE RESTRICT ON UPDATE RESTRICT,
    snapshot_id TEXT NOT NULL CHECK (snapshot_id GLOB 'snap-*'),
    -- Last EC2 state seen; `unknown` until first polled, `missing` once EC2 no longer knows it.
    state       TEXT NOT NULL DEFAULT 'unknown'
                CHECK (state IN ('unknown', 'pending', 'completed', 'error',
                                 'recoverable', 'recovering', 'missing')),
    checked_at  TEXT,
    PRIMARY KEY (import_id, snapshot_id)
) WITHOUT ROWID;

CREATE INDEX transfer_snapshots_state ON transfer_snapshots (state);

-- Append-only audit trail, hash-chained:
--   hash = hex(SHA-256(prev_hash || canonical encoding of (seq, at, import_id, kind, detail, actor)))
-- The first row's prev_hash is 64 zeros. `transferkeyd audit verify` walks the chain.
CREATE TABLE events (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,
    import_id TEXT,
    kind      TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
    -- A JSON object (json_valid alone also accepts arrays, numbers and strings).
    detail    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail) AND json_type(detail) = 'object'),
    actor     TEXT NOT NULL CHECK (length(actor) BETWEEN 1 AND 128),
    prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
    hash      TEXT NOT NULL UNIQUE CHECK (length(hash) = 64)
);

CREATE INDEX events_import_id ON events (import_id, seq);
CREATE INDEX events_at ON events (at);

CREATE TRIGGER events_refuse_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events is append-only: rows cannot be updated');
END;

CREATE TRIGGER events_refuse_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events is append-only: rows cannot be deleted');
END;

-- INSERT OR REPLACE / REPLACE INTO deletes the row it collides with WITHOUT firing
-- events_refuse_delete (delete triggers fire on REPLACE only under PRAGMA recursive_triggers,
-- which is off by default), so refuse any insert that reuses an existing seq or hash.
CREATE TRIGGER events_refuse_replace BEFORE INSERT ON events
WHEN EXISTS (SELECT 1 FROM events WHERE seq = NEW.seq)
  OR EXISTS (SELECT 1 FROM events WHERE hash = NEW.hash)
BEGIN
    SELECT RAISE(ABORT, 'events is append-only: rows cannot be replaced');
END;

-- The running daemon's heartbeat (one row): `status` tells alive from dead with it.
CREATE TABLE daemon (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    pid          INTEGER NOT NULL,
    hostname     TEXT NOT NULL,
    version      TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    stopped_at   TEXT,
    -- Why the daemon stopped claiming work (disk full, database locked, …), if it did.
    paused_reason TEXT
);

-- Daemon-wide switches that operators flip, e.g. the orphan-alarm pause.
CREATE TABLE flags (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    set_at     TEXT NOT NULL,
    set_by     TEXT NOT NULL
) WITHOUT ROWID;

-- The last orphan scan of each account × region and what it found.
CREATE TABLE scans (
    account_id     TEXT NOT NULL,
    region         TEXT NOT NULL,
    started_at     TEXT NOT NULL,
    finished_at    TEXT,
    ok             INTEGER NOT NULL DEFAULT 0 CHECK (ok IN (0, 1)),
    aliases_seen   INTEGER NOT NULL DEFAULT 0,
    orphans_found  INTEGER NOT NULL DEFAULT 0,
    error          TEXT,
    PRIMARY KEY (account_id, region)
) WITHOUT ROWID;
