-- transferkeyd schema, version 3: AWS's clock beside the host's.
-- Released migrations are never edited: change the schema with a new NNNN_*.sql file.

-- AWS's time when the transfer was recorded (the host's `created_at` carried onto AWS's clock by the Date header
-- of an answer; for a discovered key, AWS's time when the scan judged it). Every comparison with a date AWS keeps
-- (a key's CreationDate, an alias's) uses this, never the host's clock. NULL when AWS's clock was not known then.
ALTER TABLE transfers ADD COLUMN aws_recorded_at TEXT;

-- `show`/`cancel-deletion ARN` resolve a key ARN by its kind: by key_arn, without a scan of the table.
CREATE INDEX transfers_key_arn ON transfers (key_arn);
