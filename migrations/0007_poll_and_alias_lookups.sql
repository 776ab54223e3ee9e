-- transferkeyd schema, version 7: the safety check "is this alias another live transfer's?" reads the rows of that
-- alias, not every live transfer of the account; the snapshot poll finds the active transfers in an index of their
-- own.
-- Released migrations are never edited: change the schema with a new NNNN_*.sql file.

-- Every scheduling step and every alias step asks which of the key's aliases another transfer of the account
-- recorded while its key must live on (`TransferStore.aliasNamesOfOtherLiveTransfers`). Through
-- `transfers_account_state` that walked all of the account's live transfers (3,000 active ones at 100,000
-- transfers), twice per cleaned key; by account and alias it reads the few rows that name the alias.
CREATE INDEX transfers_account_alias ON transfers (account_id, alias_name);

-- Every poll (every 30 s) joins the snapshots to the `active` transfers. Through `transfers_state_created` each
-- active transfer's row had to be read for its import id (3,000 rows at 100,000 transfers, in two queries a poll);
-- these index entries hold the import id (and the state, so that the join needs nothing else).
CREATE INDEX transfers_active_imports ON transfers (import_id, state) WHERE state = 'active';
