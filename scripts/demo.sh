#!/usr/bin/env bash
# make demo — the whole story against a local AWS emulator (moto + our fault layer), in a
# temporary folder, touching nothing else, and stopping everything it started (also on Ctrl-C).
#   1. an import tracked with a pending snapshot copy, which then completes
#   2. an import the platform signals with `transferkeyd complete`
#   3. an orphan: a prefixed alias nobody recorded, older than orphan_grace
#   4. a decoy: a tracked key that also carries a production alias — refused, untouched
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bold() { if [ -t 1 ]; then printf '\n\033[1m== %s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi; }
say() { printf '   %s\n' "$*"; }

work=$(mktemp -d /tmp/transferkeyd-demo.XXXXXX)
emulator_pid=""
daemon_pid=""
cleanup() {
  [ -n "$daemon_pid" ] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
  [ -n "$emulator_pid" ] && kill -TERM "$emulator_pid" 2>/dev/null && wait "$emulator_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bold "building transferkeyd (debug)"
swift build --product transferkeyd 2>&1 | tail -1
bin="$(swift build --show-bin-path)/transferkeyd"

bold "starting the AWS emulator (moto + fault layer) on a free 127.0.0.1 port"
python3 emulator/fault_moto.py --port 0 --port-file "$work/port" --parent-pid $$ >"$work/emulator.log" 2>&1 &
emulator_pid=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "the emulator did not start:"; tail "$work/emulator.log"; exit 1; }
endpoint="http://127.0.0.1:$(cat "$work/port")"
say "emulator at $endpoint"
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo-secret AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
seed() { python3 emulator/aws_seed.py --endpoint "$endpoint" "$@"; }
fault() { curl -fsS -X POST -H 'Content-Type: application/json' -d "$2" "$endpoint/_fault/$1" >/dev/null; }

cat > "$work/config.toml" <<TOML
database = "$work/transferkeyd.db"
poll_interval = "2s"
scan_interval = "10s"
orphan_grace = "1h"
[aws]
endpoint_url = "$endpoint"
[[accounts]]
id = "123456789012"
regions = ["us-east-1"]
TOML
export TRANSFERKEYD_CONFIG="$work/config.toml"
P=alias/CadoResponse-KMS-Alias

bold "the platform starts imports: temporary keys with prefixed aliases"
key1=$(seed create-key --alias $P-imp-1); snap1=$(seed create-snapshot)
fault snapshots "{\"$snap1\": \"pending\"}"
"$bin" track --import-id imp-1 --account 123456789012 --region us-east-1 --key-id "$key1" --alias $P-imp-1 --snapshot "$snap1"
key2=$(seed create-key --alias $P-imp-2)
"$bin" track --import-id imp-2 --account 123456789012 --region us-east-1 --key-id "$key2" --alias $P-imp-2
decoy=$(seed create-key --alias $P-imp-3 --alias alias/prod-db)
"$bin" track --import-id imp-3 --account 123456789012 --region us-east-1 --key-id "$decoy" --alias $P-imp-3
orphan=$(seed create-key --alias $P-crashed-import)
fault alias-dates "{\"$P-crashed-import\": $(( $(date +%s) - 7200 ))}"
say "orphan: $P-crashed-import (created 2 h ago, never tracked)"
say "decoy:  key $decoy also carries alias/prod-db"

bold "starting the daemon"
"$bin" run >"$work/daemon.log" 2>&1 &
daemon_pid=$!
sleep 3
say "imp-1 still importing (snapshot pending): key $(seed key-state "$key1")"

bold "the platform finishes: imp-1's snapshot completes, imp-2 and imp-3 signal complete"
fault snapshots "{\"$snap1\": \"completed\"}"
"$bin" complete imp-2
"$bin" complete imp-3

state_of() { "$bin" show "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["transfer"]["state"])'; }
for i in $(seq 1 60); do
  s1=$(state_of imp-1); s2=$(state_of imp-2); s3=$(state_of imp-3)
  printf '\r   imp-1=%-13s imp-2=%-13s imp-3=%-13s orphan=%s   ' "$s1" "$s2" "$s3" "$(seed key-state "$orphan" | cut -d' ' -f1)"
  if [ "$s1" = cleaned ] && [ "$s2" = cleaned ] && [ "$s3" = refused ] && seed key-state "$orphan" | grep -q PendingDeletion; then break; fi
  sleep 1
done
echo

bold "what the daemon logged"
sed 's/^/   /' "$work/daemon.log"

bold "transferkeyd status"
"$bin" status || true
bold "transferkeyd list"
"$bin" list
bold "transferkeyd show imp-1"
"$bin" show imp-1
bold "what AWS says now"
for k in "$key1" "$key2" "$orphan" "$decoy"; do say "key $k: $(seed key-state "$k")"; done
say "aliases left: $(seed aliases | cut -d' ' -f1 | tr '\n' ' ')"
bold "transferkeyd audit verify"
"$bin" audit verify
bold "audit with plain SQL"
sqlite3 "$work/transferkeyd.db" "select at, kind, import_id from events where import_id is not null order by seq" | tail -12
bold "done: keys pending deletion, aliases gone, the decoy refused and untouched; stopping everything"
