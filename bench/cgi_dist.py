#!/usr/bin/env python3
"""CGI time per request, in one run: the "make dist" bundle's static
smshook, the dynamic build, and the hello-world CGI (bench/hello_cgi.c).
Run by "make bench-dist"; see BENCHMARKS.md.

    cgi_dist.py --build DIR --static PROGRAM [--requests N] [--rounds N]
                [--out DIR] [--label NAME]

--label names PROGRAM in the output when it is not the static bundle's
receiver, e.g. another revision's build for an A/B comparison (its
ratio then has no goal).

Each round runs the three programs one after the other (interleaved:
A B C A B C ...), N requests each, through bench/cgi_loop (fork, exec,
body on stdin, read the answer, wait: what a web server does), every
request a new signed event with fsync = no, as the CGI section of
bench/run.py. The figures are the medians over the rounds of the time
per request and of the per-round ratios to hello-world."""
import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import smshooktest as t  # noqa: E402


def gen_bodies(n, path):
    subprocess.run([sys.executable, os.path.join(HERE, "gen_bodies.py"),
                    str(n), path], check=True)
    return path


def run_loop(loop, n, bodies, argv, match, env):
    out = subprocess.run([loop, "-n", str(n), "-m", match, bodies] + argv,
                         env=env, capture_output=True, text=True,
                         check=True).stdout
    m = dict(kv.split("=") for kv in out.split())
    if int(m["matched"]) != n:
        raise RuntimeError("%s: %s of %d answers matched %r"
                           % (argv[0], m["matched"], n, match))
    return float(m["us_per_request"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--static", required=True)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--label", default=None)
    args = ap.parse_args()
    other = args.label or "static"
    build = os.path.abspath(args.build)
    work = tempfile.mkdtemp(prefix="smshook-bench-dist-")
    try:
        progs = {}
        for name, src in (("hello", os.path.join(build, "bench",
                                                 "hello_cgi")),
                          ("dynamic", os.path.join(build, "smshook")),
                          ("static", args.static)):
            progs[name] = os.path.join(work, name)
            shutil.copy2(src, progs[name])     # others may rebuild meanwhile
        spool = os.path.join(work, "spool")
        conf = os.path.join(work, "smshook.conf")
        with open(conf, "w") as f:
            f.write("app_key = %s\nspool_dir = %s\nfsync = no\n"
                    "log_level = warn\n" % (t.KEY, spool))
        os.chmod(conf, 0o600)
        env = {"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "POST",
               "CONTENT_TYPE": "application/json", "REMOTE_ADDR": "127.0.0.1",
               "SERVER_PROTOCOL": "HTTP/1.1", "PATH": "/usr/bin:/bin",
               "SMSHOOK_CONFIG": conf}
        loop = os.path.join(build, "bench", "cgi_loop")
        print("== CGI per request: %d rounds of %d requests each"
              % (args.rounds, args.requests), flush=True)
        rows = []
        for rnd in range(1, args.rounds + 1):
            got = {}
            for name, match in (("hello", "ok"), ("dynamic", "success"),
                                ("static", "success")):
                bodies = gen_bodies(args.requests,
                                    os.path.join(work, "bodies.jsonl"))
                got[name] = run_loop(loop, args.requests, bodies,
                                     [progs[name]], match, env)
                rows.append({"round": rnd, "program": name,
                             "requests": args.requests,
                             "us_per_request": "%.1f" % got[name]})
            print("  round %d: hello %.0f us, dynamic %.0f us, %s %.0f us"
                  " (%.2f x, %.2f x)" % (
                      rnd, got["hello"], got["dynamic"], other, got["static"],
                      got["dynamic"] / got["hello"],
                      got["static"] / got["hello"]), flush=True)
        by = {}
        for r in rows:
            by.setdefault(r["round"], {})[r["program"]] = \
                float(r["us_per_request"])
        med = {p: statistics.median(v[p] for v in by.values())
               for p in ("hello", "dynamic", "static")}
        ratio = {p: statistics.median(v[p] / v["hello"] for v in by.values())
                 for p in ("dynamic", "static")}
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "cgi-dist.csv"), "w",
                  newline="") as f:
            w = csv.DictWriter(f, ["round", "program", "requests",
                                   "us_per_request"])
            w.writeheader()
            w.writerows(rows)
        if args.label:
            print("== summary (medians)\n"
                  "CGI per request: hello %.0f us, this build's smshook "
                  "%.0f us, %s %.0f us\n"
                  "  this build / hello = %.2f\n"
                  "  %s / hello = %.2f\n"
                  "  this build / %s = %.2f (per-round median)"
                  % (med["hello"], med["dynamic"], other, med["static"],
                     ratio["dynamic"], other, ratio["static"], other,
                     statistics.median(v["dynamic"] / v["static"]
                                       for v in by.values())))
            return
        print("== summary (medians)\n"
              "CGI per request: hello %.0f us, dynamic smshook %.0f us, "
              "static smshook (make dist) %.0f us\n"
              "  dynamic / hello = %.2f\n"
              "  static / hello = %.2f (<= 2: %s)"
              % (med["hello"], med["dynamic"], med["static"],
                 ratio["dynamic"], ratio["static"],
                 "met" if ratio["static"] <= 2 else "NOT MET"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
