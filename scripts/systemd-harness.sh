#!/usr/bin/env bash
# Runs a real systemd 252 as PID 1 of a private PID/mount/cgroup namespace
# and starts services made from systemd/transferkeyd.service — every hardening line kept —
# to prove on this machine what `systemd-analyze` cannot:
#   1. tkd-migrate: the Swift binary (`transferkeyd migrate`) runs as the sysusers.d user
#      under the syscall filter, MemoryDenyWriteExecute, PrivateUsers …, exits 0 (no SIGSYS),
#      reads the root:transferkeyd 0640 config and writes its SQLite database to
#      StateDirectory (0700, owned by transferkeyd, database 0600 by UMask).
#   2. tkd-notify: Type=notify + NotifyAccess=main + WatchdogSec with the unit's sandbox: a
#      small Python sd_notify client sends READY=1,
#      STATUS= and WATCHDOG=1; it must become active with that status, then stop cleanly
#      on SIGTERM after STOPPING=1.
#   3. tkd-swift-notify: the same, with the Swift SystemdNotifier itself — the test bundle runs
#      as the unit's main process, only SystemdHarnessClientTests (enabled by
#      TRANSFERKEYD_SYSTEMD_HARNESS=1): READY, STATUS, WATCHDOG until told to stop, STOPPING,
#      exit 0. Skipped, saying so, when the bundle is not built.
#   4. tkd-run: `transferkeyd run` itself under the shipped unit (only the binary's path
#      changed): READY after migrations, STATUS with counts, `transferkeyd status` sees its
#      heartbeat and pid, SIGTERM → exit 0.
# The host is left as it was: /etc, /var, /run and /tmp are private copies or tmpfs inside
# the namespace; the namespace's PID 1 is killed by pid and its cgroup folders removed.
#
# Usage: scripts/systemd-harness.sh [BINARY [TEST_BUNDLE]]
#   (defaults .build/debug/transferkeyd and .build/debug/transferkeydPackageTests.xctest)
# Skips (exit 0, saying so) when not root, when there is no cgroup2 hierarchy, or no binary.
set -euo pipefail

cd "$(dirname "$0")/.."
binary=$(realpath -m "${1:-.build/debug/transferkeyd}")
bundle=$(realpath -m "${2:-.build/debug/transferkeydPackageTests.xctest}")

skip() { echo "systemd-harness: skipped: $*"; exit 0; }
[[ $(id -u) == 0 ]] || skip "needs root"
[[ -d /sys/fs/cgroup/unified && -w /sys/fs/cgroup/unified ]] || skip "no writable cgroup2 at /sys/fs/cgroup/unified"
[[ -x $binary ]] || skip "no binary at $binary (swift build first)"
command -v unshare nsenter >/dev/null || skip "unshare/nsenter missing"

name="tkd-harness-$$"
cgroup="/sys/fs/cgroup/unified/$name"
# Not under /tmp: the unit's PrivateTmp= would hide it from the services. A checkout that itself
# lives under a folder the namespace masks (/tmp, /var, /run, /etc — a CI clone may) stages the
# binary and the test bundle in a scratch folder under /opt instead, removed afterwards.
case "$PWD/" in
    /tmp/* | /var/* | /run/* | /etc/*)
        scratch=$(mktemp -d /opt/transferkeyd-harness.XXXXXX)
        cp "$binary" "$scratch/transferkeyd"
        binary="$scratch/transferkeyd"
        if [[ -x $bundle ]]; then
            cp "$bundle" "$scratch/$(basename "$bundle")"
            bundle="$scratch/$(basename "$bundle")"
        fi
        ;;
    *)
        mkdir -p .build
        scratch=$(mktemp -d "$PWD/.build/systemd-harness.XXXXXX")
        ;;
esac
chmod 0755 "$scratch"
unshare_pid=""
systemd_pid=""

cleanup() {
    # Killing the namespace's PID 1 kills everything in the namespace with it.
    if [[ -n $systemd_pid ]]; then kill -KILL "$systemd_pid" 2>/dev/null || true; fi
    if [[ -n $unshare_pid ]]; then
        kill -KILL "$unshare_pid" 2>/dev/null || true
        wait "$unshare_pid" 2>/dev/null || true
    fi
    if [[ -d $cgroup ]]; then
        # Dying processes take a moment to leave (cgroup.events says "populated 0" once the
        # whole subtree is empty); then remove the folders systemd made, deepest first.
        for _ in $(seq 100); do
            grep -q '^populated 0$' "$cgroup/cgroup.events" 2>/dev/null && break
            sleep 0.1
        done
        for _ in $(seq 20); do
            find "$cgroup" -depth -type d -exec rmdir {} \; 2>/dev/null || true
            [[ -d $cgroup ]] || break
            sleep 0.1
        done
        [[ -d $cgroup ]] && echo "systemd-harness: warning: could not remove $cgroup" >&2
    fi
    rm -rf "$scratch"
}
trap cleanup EXIT
# An interrupted run (Ctrl-C, a killed make) still cleans up: exit runs the EXIT trap.
trap "exit 130" INT TERM

fail() {
    echo "systemd-harness: FAIL: $*" >&2
    if [[ -n $systemd_pid ]]; then
        in_namespace systemctl --no-pager status tkd-migrate.service tkd-notify.service tkd-swift-notify.service \
            >&2 || true
    fi
    exit 1
}

in_namespace() { timeout 30 nsenter -t "$systemd_pid" -m -p -- "$@"; }

# --- The namespace's /etc: a copy of the host's, plus the service user and a config. ---
root="$scratch/root"
mkdir -p "$root"
cp -a /etc "$root/etc"
systemd-sysusers --root="$root" "$PWD/systemd/transferkeyd.sysusers" >/dev/null 2>&1 \
    || fail "systemd-sysusers could not create the service user"
gid=$(awk -F: '$1 == "transferkeyd" { print $3 }' "$root/etc/group")
[[ -n $gid ]] || fail "no transferkeyd group after systemd-sysusers"
cat >"$root/etc/systemd/system.conf" <<'EOF'
[Manager]
# Accounting needs controllers this nested hierarchy does not delegate.
DefaultCPUAccounting=no
DefaultIOAccounting=no
DefaultIPAccounting=no
DefaultBlockIOAccounting=no
DefaultMemoryAccounting=no
DefaultTasksAccounting=no
EOF
mkdir -p "$root/etc/transferkeyd"
install -m 0640 -g "$gid" examples/config.toml "$root/etc/transferkeyd/config.toml"
# The audit key, as `make install` makes it (transferkeyd audit init-key, then chgrp): root:transferkeyd 0440.
printf 'transferkeyd-audit-key v1 %s from 1\n' "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
    >"$root/etc/transferkeyd/audit.key"
chmod 0440 "$root/etc/transferkeyd/audit.key"
chgrp "$gid" "$root/etc/transferkeyd/audit.key"

# --- Units: the real unit's lines, with ExecStart (and for migrate, the type) swapped. ---
units="$scratch/units"
mkdir -p "$units"
cat >"$units/harness.target" <<'EOF'
[Unit]
Description=transferkeyd harness
DefaultDependencies=no
EOF
# No network-online.target here, and no default dependencies on units that do not exist.
from_real_unit() {
    sed -e 's/^\(Wants\|After\)=network-online.target$//' \
        -e 's/^\[Unit\]$/[Unit]\nDefaultDependencies=no/' \
        -e '/^\[Install\]$/,$d' \
        systemd/transferkeyd.service
}
from_real_unit | sed \
    -e "s|^ExecStart=.*|ExecStart=$binary migrate --config /etc/transferkeyd/config.toml|" \
    -e 's/^Type=notify$/Type=oneshot/' -e '/^NotifyAccess=/d' -e '/^WatchdogSec=/d' \
    -e '/^Restart/d' >"$units/tkd-migrate.service"

cat >"$scratch/notify.py" <<'EOF'
# A stand-in for `transferkeyd run`: the sd_notify protocol as the daemon speaks it.
import os, signal, socket, time
address = os.environ["NOTIFY_SOCKET"]
if address.startswith("@"):
    address = "\0" + address[1:]
def notify(text):
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(text.encode(), address)
stopping = False
def on_term(signum, frame):
    global stopping
    stopping = True
signal.signal(signal.SIGTERM, on_term)
interval = int(os.environ["WATCHDOG_USEC"]) / 2e6
notify("READY=1\nSTATUS=harness ready: 0 active")
while not stopping:
    notify("WATCHDOG=1")
    time.sleep(min(interval, 0.2))
notify("STOPPING=1")
EOF
chmod 0644 "$scratch/notify.py"
from_real_unit | sed -e "s|^ExecStart=.*|ExecStart=/usr/bin/python3 -I $scratch/notify.py|" \
    >"$units/tkd-notify.service"
from_real_unit | sed \
    -e "s|^ExecStart=.*|ExecStart=$bundle --testing-library swift-testing --filter SystemdHarnessClientTests|" \
    -e 's/^\[Service\]$/[Service]\nEnvironment=TRANSFERKEYD_SYSTEMD_HARNESS=1/' \
    >"$units/tkd-swift-notify.service"
# The daemon itself, with the unit exactly as shipped but for the binary's path.
from_real_unit | sed -e "s|^ExecStart=[^ ]*transferkeyd |ExecStart=$binary |" >"$units/tkd-run.service"

# --- Inside the namespaces: private cgroup2, /etc, /var, /run, /tmp; then systemd. ---
cat >"$scratch/inner.sh" <<EOF
#!/bin/sh
set -e
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount --bind "$root/etc" /etc
mount -t tmpfs -o mode=0755 tmpfs /var
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p /var/lib /var/tmp /var/log
chmod 1777 /var/tmp
export container=$name SYSTEMD_UNIT_PATH="$units"
exec /lib/systemd/systemd --system --unit=harness.target --log-target=console --log-level=warning \
    </dev/null >"$scratch/systemd.log" 2>&1
EOF
chmod 0755 "$scratch/inner.sh"

mkdir "$cgroup"
started=$(date +%s.%N)
(
    echo "$BASHPID" >"$cgroup/cgroup.procs"
    exec unshare --pid --fork --mount --uts --cgroup --mount-proc --kill-child=SIGKILL "$scratch/inner.sh"
) &
unshare_pid=$!

# systemd is the one child of unshare; wait until it answers.
for _ in $(seq 100); do
    systemd_pid=$(cat /proc/"$unshare_pid"/task/*/children 2>/dev/null | awk '{ print $1 }')
    if [[ -n $systemd_pid ]]; then
        state=$(in_namespace systemctl is-system-running 2>/dev/null || true)
        [[ $state == running || $state == degraded ]] && break
    fi
    sleep 0.1
done
[[ $state == running || $state == degraded ]] || {
    cat "$scratch/systemd.log" >&2 || true
    fail "systemd did not come up (state '${state:-none}')"
}

show() { in_namespace systemctl show "$1" -p "$2" --value; }

# 1. The Swift binary under the full sandbox.
in_namespace systemctl start tkd-migrate.service || true
[[ $(show tkd-migrate.service Result) == success ]] \
    || fail "tkd-migrate: Result=$(show tkd-migrate.service Result) ExecMainCode=$(show tkd-migrate.service ExecMainCode) ExecMainStatus=$(show tkd-migrate.service ExecMainStatus) (SIGSYS is 31)"
[[ $(in_namespace stat -c '%U %a' /var/lib/transferkeyd) == "transferkeyd 700" ]] \
    || fail "StateDirectory is '$(in_namespace stat -c '%U %a' /var/lib/transferkeyd)', want 'transferkeyd 700'"
[[ $(in_namespace stat -c '%U %a' /var/lib/transferkeyd/transferkeyd.db) == "transferkeyd 600" ]] \
    || fail "database is '$(in_namespace stat -c '%U %a' /var/lib/transferkeyd/transferkeyd.db 2>&1)', want 'transferkeyd 600'"
echo "harness: transferkeyd migrate ran under the unit's sandbox as transferkeyd: exit 0, database 0600 in a 0700 StateDirectory"

# 2. Type=notify, the status line, the watchdog, a clean stop.
in_namespace systemctl start tkd-notify.service || fail "tkd-notify did not start"
[[ $(show tkd-notify.service ActiveState) == active ]] || fail "tkd-notify is $(show tkd-notify.service ActiveState)"
[[ $(show tkd-notify.service StatusText) == "harness ready: 0 active" ]] \
    || fail "tkd-notify status is '$(show tkd-notify.service StatusText)'"
[[ $(show tkd-notify.service WatchdogUSec) == 1min ]] || fail "watchdog is $(show tkd-notify.service WatchdogUSec)"
[[ $(show tkd-notify.service User) == transferkeyd ]] || fail "tkd-notify runs as $(show tkd-notify.service User)"
sleep 0.5
in_namespace systemctl stop tkd-notify.service
[[ $(show tkd-notify.service Result) == success ]] || fail "tkd-notify stopped with Result=$(show tkd-notify.service Result)"
echo "harness: Type=notify service became active with its STATUS, pinged the watchdog, stopped cleanly"

# 3. The Swift notifier itself, from the test bundle.
if [[ -x $bundle ]]; then
    in_namespace systemctl start tkd-swift-notify.service || fail "tkd-swift-notify did not start"
    [[ $(show tkd-swift-notify.service StatusText) == "swift notifier ready" ]] \
        || fail "tkd-swift-notify status is '$(show tkd-swift-notify.service StatusText)'"
    in_namespace touch /var/lib/transferkeyd/harness-stop
    for _ in $(seq 100); do
        [[ $(show tkd-swift-notify.service ActiveState) == inactive ]] && break
        [[ $(show tkd-swift-notify.service ActiveState) == failed ]] && break
        sleep 0.1
    done
    [[ $(show tkd-swift-notify.service ActiveState) == inactive && $(show tkd-swift-notify.service Result) == success ]] \
        || fail "tkd-swift-notify ended $(show tkd-swift-notify.service ActiveState), Result=$(show tkd-swift-notify.service Result), status $(show tkd-swift-notify.service ExecMainStatus)"
    echo "harness: SystemdNotifier (test bundle) under the unit: READY with its STATUS, watchdog 30 s, STOPPING, exit 0"
else
    echo "harness: Swift notifier check skipped: no test bundle at $bundle (swift build --build-tests first)"
fi

# 4. `transferkeyd run` itself under the shipped unit: READY after migrations, STATUS with counts,
#    the watchdog armed, `status` reading its heartbeat, SIGTERM → exit 0.
grep -q "^ExecStart=$binary run " "$units/tkd-run.service" || fail "tkd-run: ExecStart was not rewritten"
in_namespace systemctl start tkd-run.service || fail "tkd-run did not start: $(in_namespace journalctl -u tkd-run --no-pager 2>&1 | tail -5)"
[[ $(show tkd-run.service ActiveState) == active ]] || fail "tkd-run is $(show tkd-run.service ActiveState)"
[[ $(show tkd-run.service User) == transferkeyd ]] || fail "tkd-run runs as $(show tkd-run.service User)"
for _ in $(seq 50); do
    [[ $(show tkd-run.service StatusText) == *active=* ]] && break
    sleep 0.1
done
run_status=$(show tkd-run.service StatusText)
[[ $run_status == *active=* ]] || fail "tkd-run status is '$run_status'"
in_namespace "$binary" status --config /etc/transferkeyd/config.toml >"$scratch/status.txt" 2>&1 \
    || fail "status while the daemon runs under systemd: $(cat "$scratch/status.txt")"
grep -q "running (pid $(show tkd-run.service MainPID) " "$scratch/status.txt" \
    || fail "status does not see the daemon's heartbeat: $(cat "$scratch/status.txt")"
in_namespace systemctl stop tkd-run.service
[[ $(show tkd-run.service Result) == success && $(show tkd-run.service ExecMainStatus) == 0 ]] \
    || fail "tkd-run stopped with Result=$(show tkd-run.service Result) status $(show tkd-run.service ExecMainStatus)"
echo "harness: transferkeyd run under the shipped unit: READY, STATUS '$run_status', status saw its heartbeat, SIGTERM → exit 0"

elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "harness: passed in ${elapsed}s (systemd $(/lib/systemd/systemd --version | awk 'NR == 1 { print $2 }'))"
