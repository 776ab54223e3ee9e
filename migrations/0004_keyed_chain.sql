-- transferkeyd schema, version 4: the audit chain keyed with a secret outside the database.
-- Released migrations are never edited: change the schema with a new NNNN_*.sql file.

-- mac = lowercase hex HMAC-SHA-256(audit key, hash): whoever rewrites rows and recomputes the SHA-256 chain
-- without the key (kept outside the database: `audit_key_file`) cannot make these, so `audit verify` names the
-- first forged event. NULL for events written before keying began (the key file records from which event on every
-- event must carry one); the chain's own hash links keep them tamper-evident as what they were.
ALTER TABLE events ADD COLUMN mac TEXT
    CHECK (mac IS NULL OR (length(mac) = 64 AND mac NOT GLOB '*[^0-9a-f]*'));

-- Where keying began (the first event with a MAC), found without a scan of the whole trail.
CREATE INDEX events_keyed ON events (seq) WHERE mac IS NOT NULL;
