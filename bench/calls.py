#!/usr/bin/env python3
"""System calls and context switches per request, counted by the kernel.

For each receiver named (as in run.py: hello, hello-close, smshook,
smshook-noreplay, ...), starts it behind lighttpd as run.py does, warms
it up, then loads it with wrk at 8 connections for SECS seconds while
`perf stat` counts, on its worker processes only, the syscall
tracepoints and context switches. Tracepoint counting does not slow the
workers down as strace does, so the worker stays in the regime the
headline measures (how often it finds no connection waiting, say).

    calls.py [--build DIR] [--secs S] NAME...

Prints, per receiver, the calls per request in all and of each kind
that matters to the accept loop, the failed accept(2)s, and the context
switches per request. Needs perf and root (tracepoints).
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run  # noqa: E402

EVENTS = ["raw_syscalls:sys_enter", "context-switches",
          "syscalls:sys_enter_accept",
          "syscalls:sys_enter_ppoll", "syscalls:sys_enter_poll",
          "syscalls:sys_enter_rt_sigpending"]


def count(name, secs):
    """perf stat counts over the workers of receiver name under load."""
    srv = run.RECEIVERS[name]().start()
    out = os.path.join(run.WORK, "perf-%s.txt" % name)
    try:
        run.wrk(srv.url, 8, 1, run.WARM)
        pids = ",".join(str(p) for p in srv.workers())
        p = subprocess.Popen(["perf", "stat", "-x", ",", "-o", out, "-e",
                              ",".join(EVENTS), "-p", pids])
        r = run.wrk(srv.url, 8, secs, run.BODIES)
        p.send_signal(signal.SIGINT)
        p.wait()
    finally:
        srv.stop()
    return r["requests"], read_counts(out)


def read_counts(path):
    """{event: count} from perf stat -x , output; every event in EVENTS
    must be there (one perf could not count would read as 0 calls)."""
    n = {}
    with open(path) as f:
        text = f.read()
    for line in text.splitlines():
        cols = line.strip().split(",")
        if len(cols) > 2 and cols[0].isdigit():
            n[cols[2]] = int(cols[0])
    missing = [e for e in EVENTS if e not in n]
    if missing:
        raise RuntimeError("perf stat did not count %s:\n%s" % (
            ", ".join(missing), text))
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("names", nargs="+")
    run.ARGS = ap.parse_args()
    run.ARGS.base = None
    run.setup(run.ARGS.build, "smshook-calls-")
    try:
        run.BODIES = run.gen_bodies(100000, "bodies.jsonl")
        run.WARM = run.gen_bodies(20000, "warm.jsonl")
        for name in run.ARGS.names:
            reqs, n = count(name, run.ARGS.secs)
            per = lambda k: n.get(k, 0) / max(1, reqs)  # noqa: E731
            # one accept per request succeeds (no kept connections): the
            # failed ones are those beyond it
            print("RESULT receiver=%s requests=%d calls=%.2f accept=%.2f "
                  "failed_accept=%.2f ppoll=%.2f poll=%.2f sigpending=%.3f "
                  "switches=%.2f" % (
                      name, reqs, per("raw_syscalls:sys_enter"),
                      per("syscalls:sys_enter_accept"),
                      max(0.0, per("syscalls:sys_enter_accept") - 1),
                      per("syscalls:sys_enter_ppoll"),
                      per("syscalls:sys_enter_poll"),
                      per("syscalls:sys_enter_rt_sigpending"),
                      per("context-switches")), flush=True)
    finally:
        shutil.rmtree(run.WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
