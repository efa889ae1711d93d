"""import_ab.py: two smshookctl builds importing the same spool.

    python3 bench/import_ab.py BASELINE_CTL CANDIDATE_CTL [--lines N]
        [--rounds R]

For a change to the importer: both binaries load the same spool (written
by bench_import.gen_spool) into fresh SQLite databases, in interleaved
rounds, and the median wall times and their ratio (baseline / candidate:
> 1, the candidate is faster) are printed. `make bench-import-ab` builds
the baseline from a git revision (BASE=...) and runs this.
"""
import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import bench_import as bi  # noqa: E402
import smshooktest as t  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("baseline")
    ap.add_argument("candidate")
    ap.add_argument("--lines", type=int, default=400000)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="smshook-import-ab-")
    try:
        spool = os.path.join(d, "spool")
        bi.gen_spool(spool, a.lines)
        conf = t.write_conf(d, spool=spool)
        times = {"baseline": [], "candidate": []}
        cpu = {"baseline": [], "candidate": []}
        rows = {}
        for rnd in range(a.rounds):
            order = ("baseline", "candidate") if rnd % 2 == 0 else \
                ("candidate", "baseline")
            for who in order:
                db = os.path.join(d, who + ".db")
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                el, _ = bi.timed([getattr(a, who), "-c", conf, "import",
                                  "--db", "sqlite:" + db])
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                times[who].append(el)
                cpu[who].append(r1.ru_utime + r1.ru_stime - r0.ru_utime -
                                r0.ru_stime)
                rows[who] = bi.sqlite_rows(db)
                for f in os.listdir(d):
                    if f.startswith(who + ".db"):
                        os.unlink(os.path.join(d, f))
            print("round %d: baseline %.2f s (cpu %.2f s), candidate %.2f s "
                  "(cpu %.2f s)" % (rnd + 1, times["baseline"][-1],
                                    cpu["baseline"][-1],
                                    times["candidate"][-1],
                                    cpu["candidate"][-1]))
        mb, mc = (statistics.median(times[k]) for k in ("baseline",
                                                         "candidate"))
        cb, cc = (statistics.median(cpu[k]) for k in ("baseline",
                                                       "candidate"))
        print("CPU (user + system), median: baseline %.2f s, candidate "
              "%.2f s, candidate speed = %.2f x baseline" % (cb, cc, cb / cc))
        print("import of %d lines into SQLite, median of %d rounds: "
              "baseline %.2f s, candidate %.2f s, candidate speed = %.2f x "
              "baseline (>= 0.95: %s); rows %d vs %d" % (
                  a.lines, a.rounds, mb, mc, mb / mc,
                  "met" if mb / mc >= 0.95 else "NOT MET",
                  rows["baseline"], rows["candidate"]))
        return 0 if rows["baseline"] == rows["candidate"] else 1
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
