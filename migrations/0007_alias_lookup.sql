-- transferkeyd schema, version 7: the safety check "is this alias another live transfer's?" reads the rows of that
-- alias, not every live transfer of the account.
-- Released migrations are never edited: change the schema with a new NNNN_*.sql file.

-- Every scheduling step and every alias step asks which of the key's aliases another transfer of the account
-- recorded while its key must live on (`TransferStore.aliasNamesOfOtherLiveTransfers`). Through
-- `transfers_account_state` that walked all of the account's live transfers (3,000 active ones at 100,000
-- transfers), twice per cleaned key; by account and alias it reads the few rows that name the alias.
CREATE INDEX transfers_account_alias ON transfers (account_id, alias_name);
