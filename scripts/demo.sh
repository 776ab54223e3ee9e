#!/usr/bin/env bash
# make demo — what transferkeyd can show today, in a temporary folder, touching nothing else.
# The full story against a local AWS emulator (keys really scheduled for deletion, aliases
# removed, a decoy refused) arrives with the daemon; until then this plays the offline part.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
work=$(mktemp -d /tmp/transferkeyd-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

step "building transferkeyd"
swift build --product transferkeyd 2>&1 | tail -1
bin="$(swift build --show-bin-path)/transferkeyd"

cat > "$work/config.toml" <<TOML
database = "$work/transferkeyd.db"
[[accounts]]
id = "111122223333"
regions = ["eu-west-1"]
TOML
export TRANSFERKEYD_CONFIG="$work/config.toml"

step "the platform starts two imports and records their temporary keys"
"$bin" track --import-id imp-1 --account 111122223333 --region eu-west-1 \
  --key-id 1234abcd-12ab-34cd-56ef-1234567890ab --alias alias/CadoResponse-KMS-Alias-imp-1 \
  --snapshot snap-0123456789abcdef0
"$bin" track --import-id imp-2 --account 111122223333 --region eu-west-1 \
  --key-id mrk-0123456789abcdef0123456789abcdef --alias alias/CadoResponse-KMS-Alias-imp-2 --max-age 2h

step "bad input is refused with exit 2 and changes nothing"
"$bin" track --import-id imp-3 --account 111122223333 --region eu-west-1 \
  --key-id 1234abcd-12ab-34cd-56ef-1234567890ab --alias alias/prod-db || echo "(exit $?)"

step "import imp-1 finishes"
"$bin" complete imp-1

step "transferkeyd list"
"$bin" list
step "transferkeyd show imp-1"
"$bin" show imp-1
step "transferkeyd audit verify"
"$bin" audit verify
step "transferkeyd status (exit 1: no daemon is running yet)"
"$bin" status || echo "(exit $?)"
step "audit with plain SQL"
sqlite3 "$work/transferkeyd.db" "select at, kind, import_id from events order by at"
