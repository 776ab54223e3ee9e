-- transferkeyd schema, version 6: every query of `status` reads the few rows it shows, not the 100,000 behind them.
-- Released migrations are never edited: change the schema with a new NNNN_*.sql file.

-- How many transfers are in each state, kept by the triggers below in the transaction that changes a row: `status`
-- reads a handful of rows here instead of counting every transfer ever recorded. Derived data, like an index: the
-- `transfers` rows are the record, and `SELECT state, count(*) FROM transfers GROUP BY state` the check.
CREATE TABLE transfer_state_counts (
    state TEXT PRIMARY KEY,
    n     INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO transfer_state_counts (state, n) SELECT state, count(*) FROM transfers GROUP BY state;

CREATE TRIGGER transfers_count_insert AFTER INSERT ON transfers BEGIN
    INSERT INTO transfer_state_counts (state, n) VALUES (NEW.state, 1)
        ON CONFLICT (state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER transfers_count_update AFTER UPDATE OF state ON transfers WHEN OLD.state IS NOT NEW.state BEGIN
    UPDATE transfer_state_counts SET n = n - 1 WHERE state = OLD.state;
    INSERT INTO transfer_state_counts (state, n) VALUES (NEW.state, 1)
        ON CONFLICT (state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER transfers_count_delete AFTER DELETE ON transfers BEGIN
    UPDATE transfer_state_counts SET n = n - 1 WHERE state = OLD.state;
END;

-- Overdue leases: the live transfers by deadline.
CREATE INDEX transfers_live_deadline ON transfers (deadline_at)
    WHERE state IN ('creating', 'active', 'cleanup_due', 'key_scheduled');

-- The next deletions: keys pending deletion by their date.
CREATE INDEX transfers_deletion_date ON transfers (key_deletion_date)
    WHERE state IN ('key_scheduled', 'cleaned');

-- Deferred transfers (a safety rule's `deferred: RULE: …`), by state.
CREATE INDEX transfers_deferred ON transfers (state) WHERE last_error LIKE 'deferred: %';

-- Snapshots EC2 has answered NotFound for and never reported, by when that began.
CREATE INDEX transfer_snapshots_missing ON transfer_snapshots (first_missing_at)
    WHERE first_seen_at IS NULL AND first_missing_at IS NOT NULL;
