#!/usr/bin/env python3
"""Where the daemon's CPU goes while it cleans keys: `transferkeyd run` against the keep-alive KMS stub
(`bench/kms_stub.py`), measured over the cleanup only. Not a benchmark table (`make bench` writes those); the tool
for the question "which change moved the CPU per key, and why".

usage: profile_stub.py [--binary PATH] [--keys N] [--latency-ms MS] [--perf-stat | --perf-record FILE]

Prints the CPU per cleaned key (utime + stime from /proc), page faults and context switches per key, and the CPU of
each thread group (Swift's pool, NIO's event loops, ...). --perf-stat adds `perf stat` (task-clock, context switches,
page faults, fdatasync and madvise calls); --perf-record writes a DWARF call-graph profile to FILE (frame pointers
lose the callers of SQLite and libc) and prints the `perf report` command to read it. The machine is shared: run
two binaries alternately, several times each, before believing a difference under 10 %.
"""
from __future__ import annotations

import argparse
import collections
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_bench as rb  # noqa: E402  (the daemon driver and the stub's protocol are shared with `make bench`)

PERF_STAT_EVENTS = "task-clock,context-switches,page-faults,syscalls:sys_enter_fdatasync,syscalls:sys_enter_madvise"


def threads(pid: int) -> dict[int, tuple[str, list[int]]]:
    """Per thread id: its name and [CPU ticks, voluntary switches, involuntary switches, minor faults]."""
    found: dict[int, tuple[str, list[int]]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            stat = (task / "stat").read_text().rsplit(")", 1)[1].split()
            status = dict(line.split(":", 1) for line in (task / "status").read_text().splitlines() if ":" in line)
        except FileNotFoundError:  # the thread ended between the listing and the read
            continue
        found[int(task.name)] = (name, [int(stat[11]) + int(stat[12]), int(status["voluntary_ctxt_switches"]),
                                        int(status["nonvoluntary_ctxt_switches"]), int(stat[7])])
    return found


def grouped(before: dict[int, tuple[str, list[int]]], after: dict[int, tuple[str, list[int]]]) -> dict[str, list[int]]:
    """What each thread name did between two samples: [threads, CPU ticks, voluntary, involuntary, faults]; a thread
    that started in between counts whole, one that ended in between is lost (its work is in the process total)."""
    groups: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0, 0, 0])
    for tid, (name, values) in after.items():
        old = before.get(tid, (name, [0, 0, 0, 0]))[1]
        group = groups[name]
        group[0] += 1
        for index in range(4):
            group[index + 1] += values[index] - old[index]
    return groups


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", type=Path, default=rb.ROOT / ".build-release/release/transferkeyd")
    parser.add_argument("--keys", type=int, default=150)
    parser.add_argument("--latency-ms", type=int, default=40)
    side = parser.add_mutually_exclusive_group()
    side.add_argument("--perf-stat", action="store_true")
    side.add_argument("--perf-record", type=Path, metavar="FILE")
    options = parser.parse_args()
    if not options.binary.exists():
        parser.error(f"--binary: {options.binary} does not exist (build it: see `make bench`)")
    if options.keys < 1:
        parser.error("--keys: must be at least 1")

    work = Path(tempfile.mkdtemp(prefix="transferkeyd-profile."))
    stub, tkd, keys = rb.start_stub(options.binary, work, options.latency_ms, options.keys)
    try:
        tkd.start()
        assert tkd.daemon is not None
        pid = tkd.daemon.pid
        perf = None
        if options.perf_stat:
            perf = subprocess.Popen(["perf", "stat", "-e", PERF_STAT_EVENTS, "-p", str(pid)],
                                    stderr=open(work / "perf-stat.txt", "w"))
        elif options.perf_record:
            perf = subprocess.Popen(["perf", "record", "-F", "1499", "--call-graph", "dwarf,16384", "-o",
                                     str(options.perf_record), "-p", str(pid)],
                                    stdout=subprocess.DEVNULL, stderr=open(work / "perf-record.txt", "w"))
        if perf is not None:
            time.sleep(0.5)  # attached before the cleanup is measured
        before, cpu_before = threads(pid), rb.proc_sample(pid)[0]
        started = time.time()
        rb.log(f"cleaning {keys} keys at {options.latency_ms} ms a call")
        tkd.wait_for(lambda: tkd.counts().get("cleaned", 0) + tkd.counts().get("stuck", 0) >= keys,
                     120 + 2 * keys, "the cleanup did not finish")
        window = time.time() - started
        after, (cpu_after, rss_kib) = threads(pid), rb.proc_sample(pid)
        if perf is not None:
            perf.send_signal(signal.SIGINT)
            perf.wait(60)
        tkd.stop()
        counts = tkd.counts()
    finally:
        stub.terminate()
        stub.wait(10)

    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    groups = grouped(before, after)
    total = [sum(group[index] for group in groups.values()) for index in range(5)]
    print(f"{keys} keys at {options.latency_ms} ms a call, cleaned in {window:.1f} s ({counts}); binary {options.binary}")
    print(f"daemon CPU {(cpu_after - cpu_before) * 1000 / keys:.2f} ms a key; per key: {total[2] / keys:.1f} voluntary and "
          f"{total[3] / keys:.1f} involuntary context switches, {total[4] / keys:.1f} minor page faults; "
          f"RSS {rss_kib / 1024:.0f} MiB")
    for name, group in sorted(groups.items(), key=lambda item: -item[1][1]):
        print(f"  {name:18s} {group[0]:3d} thread(s)  CPU {group[1] * tick_ms:7.0f} ms  "
              f"switches {group[2] + group[3]:7d}  faults {group[4]:7d}")
    if options.perf_stat:
        print((work / "perf-stat.txt").read_text().rstrip())
    if options.perf_record:
        print(f"profile: {options.perf_record}; read it with\n  perf report -i {shlex.quote(str(options.perf_record))} "
              "--no-children --sort sym | swift demangle --simplified")
    print(f"command: {' '.join(shlex.quote(argument) for argument in sys.argv)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
