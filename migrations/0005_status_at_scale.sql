-- transferkeyd schema, version 5: `status` at 100,000 transfers without scanning them.
-- Released migrations are never edited: change the schema with a new NNNN_*.sql file.

-- When the transfer's current run of failed attempts began (the `step_failed` event that made `attempts` 1):
-- what `status` reports as "retrying since". Set by the store with that event, cleared when `attempts` goes back
-- to 0 (a new state). It replaces a per-transfer search of the audit trail.
ALTER TABLE transfers ADD COLUMN failing_since TEXT;

UPDATE transfers SET failing_since = (
    SELECT max(e.at) FROM events e
    WHERE e.import_id = transfers.import_id AND e.kind = 'step_failed'
      AND json_extract(e.detail, '$.attempts') = 1)
WHERE attempts > 0;

-- The failing transfers of each account × region: only rows with attempts, by state then place.
CREATE INDEX transfers_failing ON transfers (state, account_id, region) WHERE attempts > 0;

-- The oldest live transfer and the deferred ones, by state, without a scan of the finished ones.
CREATE INDEX transfers_state_created ON transfers (state, created_at);
