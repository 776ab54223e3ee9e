#!/usr/bin/env bash
# make demo — the whole story against a local AWS emulator (moto + our fault layer), in a
# temporary folder, touching nothing else, and stopping everything it started (also on Ctrl-C).
#   1. an import tracked with a pending snapshot copy, which then completes
#   2. an import the platform signals with `transferkeyd complete`
#   3. an orphan: a prefixed alias nobody recorded, older than orphan_grace
#   4. a decoy: a tracked key that also carries a production alias — refused, untouched
# Environment (for tests and the curious):
#   TRANSFERKEYD_BIN=PATH        use this binary instead of building one
#   TRANSFERKEYD_DEMO_KEEP=DIR   copy the demo's database (and its log) there before cleaning up,
#                                to try the README's SQL recipes on it afterwards
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bold() { if [ -t 1 ]; then printf '\n\033[1m== %s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi; }
say() { printf '   %s\n' "$*"; }

work=$(mktemp -d /tmp/transferkeyd-demo.XXXXXX)
emulator_pid=""
daemon_pid=""
cleanup() {
  if [ -n "${TRANSFERKEYD_DEMO_KEEP:-}" ] && [ -e "$work/transferkeyd.db" ]; then
    mkdir -p "$TRANSFERKEYD_DEMO_KEEP"
    # sqlite3's .backup gives a consistent copy even while the daemon still writes.
    sqlite3 "$work/transferkeyd.db" ".backup '$TRANSFERKEYD_DEMO_KEEP/transferkeyd.db'" || true
    cp "$work/daemon.log" "$TRANSFERKEYD_DEMO_KEEP/" 2>/dev/null || true
  fi
  [ -n "$daemon_pid" ] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
  [ -n "$emulator_pid" ] && kill -TERM "$emulator_pid" 2>/dev/null && wait "$emulator_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${TRANSFERKEYD_BIN:-}" ]; then
  bin=$TRANSFERKEYD_BIN
else
  bold "building transferkeyd (debug; the first build takes 10-20 minutes on 2 cores, then seconds)"
  # Streamed as it comes: progress shows, and a build error is shown whole (set -e stops here).
  swift build --product transferkeyd 2>&1 | sed -u 's/^/   /'
  bin="$(swift build --show-bin-path)/transferkeyd"
fi

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
audit_key_file = "$work/audit.key"
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
# Made a minute before its alias, as a real transfer key is: provenance enough to adopt it.
fault alias-dates "{\"$P-crashed-import\": {\"created\": $(( $(date +%s) - 7200 )), \"key_lead\": 60}}"
say "orphan: $P-crashed-import (created 2 h ago, never tracked)"
say "decoy:  key $decoy also carries alias/prod-db"
# AWS has a bad minute: the first 8 ScheduleKeyDeletion calls answer 500 KMSInternalException.
# The AWS client retries 8 times, then the daemon records the failure (step_failed, aws.code)
# and tries again after its own backoff.
curl -fsS -X POST -H 'Content-Type: application/json' \
  -d '{"operation": "ScheduleKeyDeletion", "action": "error", "status": 500, "code": "KMSInternalException", "message": "demo: KMS had a bad minute", "count": 8}' \
  "$endpoint/_fault/rules" >/dev/null
say "AWS will fail the first 8 ScheduleKeyDeletion calls with KMSInternalException (retried)"

bold "starting the daemon"
"$bin" run >"$work/daemon.log" 2>&1 &
daemon_pid=$!
say "daemon pid $daemon_pid, log $work/daemon.log"
sleep 3
say "imp-1 still importing (snapshot pending): key $(seed key-state "$key1")"

bold "the platform finishes: imp-1's snapshot completes, imp-2 and imp-3 signal complete"
fault snapshots "{\"$snap1\": \"completed\"}"
"$bin" complete imp-2
"$bin" complete imp-3

state_of() { "$bin" show "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["transfer"]["state"])'; }
# Progress: one line updated in place on a terminal; a line per change otherwise.
last=""
finished=false
for i in $(seq 1 90); do
  s1=$(state_of imp-1); s2=$(state_of imp-2); s3=$(state_of imp-3)
  so=$(seed key-state "$orphan" | cut -d' ' -f1)
  line=$(printf 'imp-1=%-13s imp-2=%-13s imp-3=%-13s orphan key=%s' "$s1" "$s2" "$s3" "$so")
  if [ -t 1 ]; then printf '\r   %s   ' "$line"; elif [ "$line" != "$last" ]; then say "$line"; fi
  last=$line
  if [ "$s1" = cleaned ] && [ "$s2" = cleaned ] && [ "$s3" = refused ] && [ "$so" = PendingDeletion ]; then finished=true; break; fi
  sleep 1
done
if [ -t 1 ]; then echo; fi

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
if ! $finished; then
  bold "the story did not finish within 90 s (see the daemon's log above); stopping everything"
  exit 1
fi
if [ -n "${TRANSFERKEYD_DEMO_KEEP:-}" ]; then
  say "keeping the database: $TRANSFERKEYD_DEMO_KEEP/transferkeyd.db (and daemon.log) — for the README's SQL recipes:"
  say "  DB=$TRANSFERKEYD_DEMO_KEEP/transferkeyd.db; sqlite3 \"\$DB\" \"select state, count(*) from transfers group by state\""
else
  say "the database goes with the demo; to keep it for the README's SQL recipes:"
  say "  TRANSFERKEYD_DEMO_KEEP=/tmp/transferkeyd-demo make demo   (then DB=/tmp/transferkeyd-demo/transferkeyd.db)"
fi
bold "done: keys pending deletion, aliases gone, the decoy refused and untouched; stopping everything"
