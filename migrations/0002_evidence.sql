-- transferkeyd schema, version 2: the evidence behind "missing" snapshots and "deleted" keys.
-- Released migrations are never edited: change the schema with a new NNNN_*.sql file.

-- When DescribeKey first answered for the transfer's key (or CreateKey made it). A NotFoundException for a
-- key never seen is a wrong record (a wrong --region, a typo), not a deletion: the transfer is parked
-- `stuck` with the reason instead of being recorded `deleted`.
ALTER TABLE transfers ADD COLUMN key_seen_at TEXT;

-- Rows past scheduling were described before they got there.
UPDATE transfers SET key_seen_at = updated_at
WHERE key_id IS NOT NULL AND state IN ('key_scheduled', 'cleaned', 'deleted', 'cancelled');

-- When EC2 first reported the snapshot (any state), and when it first answered InvalidSnapshot.NotFound
-- for a snapshot it never reported. A snapshot never seen is never `missing`: EC2 is eventually
-- consistent after CopySnapshot, and a copy in another account is invisible; the lease ends such imports.
ALTER TABLE transfer_snapshots ADD COLUMN first_seen_at TEXT;
ALTER TABLE transfer_snapshots ADD COLUMN first_missing_at TEXT;

UPDATE transfer_snapshots SET first_seen_at = checked_at
WHERE state IN ('pending', 'completed', 'error', 'recoverable', 'recovering');

-- The rolling deletion budget and the orphan alarm window count audit events by kind and time.
CREATE INDEX events_kind_at ON events (kind, at);
