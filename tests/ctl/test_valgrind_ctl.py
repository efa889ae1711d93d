#!/usr/bin/env python3
"""valgrind memcheck over smshookctl, command by command.

test_valgrind_worker watches the receiver; this suite does the same for
the CLI, whose commands each run once and exit, so a leak or a read of
uninitialised memory there is easy to miss in the other suites (which
look only at output). Every smshookctl command below runs under

    valgrind -q --error-exitcode=99 --leak-check=full
             --errors-for-leak-kinds=definite,indirect --track-fds=no
             --log-file=LOG

over one realistic spool of four days (30, 10 and 1 days ago, today):
every event kind of t.SAMPLES as JSON and as form lines, the same
event twice, an unknown event code, an unknown extra field, a requested
event with three smsIds, two replies (one of them an opt-out), a line
that is not JSON (verify's error, import's reject) and, on today's
file, a torn last line without its newline. The commands: sign
(requested and template as JSON, delivered and reply with --form),
check, verify, stats (table, --json, --prometheus), import into SQLite
twice, export as CSV and JSONL, optouts, compress (three days to
.jsonl.gz), verify of the .gz, import of the torn line completed and of
a late line beside a .gz, then check (before import and after it),
import (twice), export, stats and optouts against one database of a
throwaway PostgreSQL (one server, stopped at the end), and last purge,
without --force (a clean run, then one refused for a day with a line
not imported) and with it: 30 runs under valgrind in 28 checks.

Each step (one command, two for optouts and the PostgreSQL import) is
one check. A command must exit with the status it should have (0, or 1
where the spool calls for it: verify of the invalid line, purge keeping
a day; check may say 0 or 1 about this throwaway setup), never 99, and
one or two facts about its output or effect are checked (row counts
against ctlref's independent model, export's rows against the
database's, the files compress and purge leave, signatures), so that
each check can fail on its own.

What counts as clean, and why: the exit status is valgrind's verdict
(--error-exitcode=99 replaces the program's own status, 0 or 1, on any
memcheck error and on definitely or indirectly lost bytes), and the log
is read as well: with -q it holds nothing but error records, so every
record in it fails the check and is shown in the failure message, but
for valgrind's own "Warning:" lines and "possibly lost" blocks (shown
by default, not one of --errors-for-leak-kinds). Demanding an empty log
would fail on a harmless valgrind warning; with -q there is no ERROR
SUMMARY or LEAK SUMMARY to parse, as test_valgrind_worker does.

Run time: 34 to 41 s on a 2-core machine, measured (a command takes 1
to 3 s under valgrind; PostgreSQL starts in about 2 s); the "figures:"
line gives a run's total. Every command has a timeout of 120 s.
Skipped (SKIP) without valgrind, and for a build with AddressSanitizer,
which cannot run under valgrind.
"""
import csv
import io
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(__file__))
import ctlref as ref  # noqa: E402
from ctlref import t  # noqa: E402

VALGRIND = shutil.which("valgrind")
VG_FLAGS = ["-q", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect", "--track-fds=no"]
TIMEOUT = 120
OLD = time.time() - 7200            # "not modified for two hours"
BASE_MS = 1767225600000
TODAY = datetime.now(timezone.utc)
D0, D1, D2, D3 = [(TODAY - timedelta(days=n)).strftime("%Y-%m-%d")
                  for n in (30, 10, 1, 0)]
OPT_OUT, KEEPS = "13800000001", "13800000002"    # the replies' phones
# valgrind's own notes, and a record that is no error (the first line)
WARNING = re.compile(r"^Warning: ")
POSSIBLY = re.compile(r"are possibly lost in loss record ")


class Ctx:
    """The temp dir, the spool, the configurations and the runs."""

    def __init__(self):
        self.dir = t.tmpdir("smshook-vgctl-")
        self.spool = os.path.join(self.dir, "spool")
        self.db = os.path.join(self.dir, "smshook.db")
        self.conf = t.write_conf(self.dir, extra="database = sqlite:" +
                                 self.db)
        self.pgdir = self.pg_url = self.pg_conf = None
        self.runs = 0
        self.seconds = 0.0
        self.today = None		# the spool's day file of today


def errors(text):
    """The records of a valgrind -q log (runs of lines between its
    empty "==pid==" lines) but its warning lines and possibly lost
    blocks."""
    records, cur = [], []
    for ln in text.splitlines() + [""]:
        ln = re.sub(r"^==\d+== ?", "", ln)
        if WARNING.match(ln):
            continue
        if ln.strip():
            cur.append(ln)
            continue
        if cur and not POSSIBLY.search(cur[0]):
            records.append("\n".join(cur))
        cur = []
    return records


def vg(c, conf, *args, want=0):
    """Run smshookctl -c conf args under valgrind memcheck: its log must
    hold no error and the exit status be want (an int or a tuple, never
    99). Returns the CompletedProcess."""
    c.runs += 1
    log = os.path.join(c.dir, "valgrind-%02d.log" % c.runs)
    args = [str(a) for a in args]
    what = "smshookctl " + " ".join(args)
    start = time.monotonic()
    p = subprocess.run([VALGRIND] + VG_FLAGS + ["--log-file=" + log,
                                                t.SMSHOOKCTL, "-c", conf] +
                       args, capture_output=True, encoding="utf-8",
                       errors="replace", timeout=TIMEOUT)
    c.seconds += time.monotonic() - start
    t.expect(os.path.exists(log), "%s: valgrind wrote no log" % what)
    with open(log, errors="replace") as f:
        text = f.read()
    errs = errors(text)
    t.expect(p.returncode != 99 and not errs,
             "%s: valgrind found %d errors (exit %d):\n%s\nstderr: %s"
             % (what, len(errs), p.returncode, "\n\n".join(errs)[:6000],
                p.stderr[-2000:]))
    want = want if isinstance(want, tuple) else (want,)
    t.expect(p.returncode in want, "%s: exit %d, want %s\nstdout: %s\n"
             "stderr: %s" % (what, p.returncode, want, p.stdout[-2000:],
                             p.stderr[-2000:]))
    return p

# ---------------------------------------------------------------- spool


def line(kind, i, form=False, **extra):
    """A spool line of event kind, its ids and timestamp made from i."""
    ids = {}
    if kind == "requested":
        ids = dict(smsIds=["%d_9373_%d$1388888%04d" % (BASE_MS, i, i)],
                   phones=["1388888%04d" % i])
    elif kind != "template":
        ids = dict(smsId="%d_19999_%d$1389999%04d" % (BASE_MS, i, i),
                   phone="1389999%04d" % i)
    ids.update(extra)
    ev = t.event(kind, timestamp=BASE_MS + i, token="vg%048d" % i, **ids)
    if form:
        return t.v1_line(t.form_payload(ev), encoding="form")
    return t.v1_line(ev)


def build_spool(c):
    """The four days; the older three not modified for two hours."""
    kinds = sorted(t.SAMPLES)
    day0 = [line(k, i) for i, k in enumerate(kinds)]
    dup = day0[kinds.index("delivered")]
    day1 = [line(k, 10 + i, form=True) for i, k in enumerate(kinds)]
    day2 = [dup,
            line("delivered", 20, eventType=99, event="Mystery"),
            line("failed", 21, notInTheDocs={"nested": [1, "two", None]}),
            line("requested", 22, smsIds=["many-%d$13700000%03d" % (j, j)
                                          for j in range(3)],
                 phones=["13700000%03d" % j for j in range(3)]),
            b'{"v":1,"received_at":"2026-01-02T03:04:05Z",not json}\n',
            ref.reply_line(OPT_OUT, "r" * 50, "TD"),
            ref.reply_line(KEEPS, "s" * 50, "hello")]
    torn = line("suppressed", 32)
    day3 = [line("delivered", 30), line("template", 31), torn[:40]]
    for day, lines in ((D0, day0), (D1, day1), (D2, day2), (D3, day3)):
        path = ref.append(c.spool, day, b"".join(lines))
        if day != D3:
            os.utime(path, (OLD, OLD))
    c.today = D3
    c.torn_rest = torn[40:]
    c.torn_at = sum(len(x) for x in day3[:2])
    c.invalid_at = sum(len(x) for x in day2[:4])


def sqlite_count(c, table="sms_events"):
    con = sqlite3.connect(c.db)
    try:
        return con.execute("SELECT count(*) FROM %s" % table).fetchone()[0]
    finally:
        con.close()


def pg_count(c, table="sms_events"):
    return int(t.psql(c.pg_url, "SELECT count(*) FROM %s" % table))


def spool_names(c):
    return sorted(n for n in os.listdir(c.spool) if not n.startswith("."))

# ---------------------------------------------------------------- steps


def sign_json(c, kind):
    p = vg(c, c.conf, "sign", "--event", kind)
    ev = json.loads(p.stdout)
    t.eq((ev["eventType"], ref.NAMES[ev["event"].lower()]),
         ({"requested": 1, "template": 8}[kind],) * 2, "(the kind asked)")
    t.eq(ev["signature"], t.sign(t.KEY, ev["timestamp"], ev["token"]),
         "(signed with the configuration's app_key)")


def sign_form(c, kind):
    p = vg(c, c.conf, "sign", "--event", kind, "--form")
    t.expect(not p.stdout.endswith("\n"), "no newline ends a form body")
    ev = dict(urllib.parse.parse_qsl(p.stdout, strict_parsing=True))
    t.eq(ev["event"].lower(), kind)
    t.eq(ev["signature"], t.sign(t.KEY, ev["timestamp"], ev["token"]))


def check(c, conf):
    user = ["--user", "root"] if os.geteuid() == 0 else []
    p = vg(c, conf, "check", *user, want=(0, 1))
    last = p.stdout.strip().splitlines()[-1]
    t.eq(last, "check: ok" if p.returncode == 0 else "check: FAILED",
         p.stdout)


def verify(c, names_gz=False):
    p = vg(c, c.conf, "verify", want=1)
    name = D2 + (".jsonl.gz" if names_gz else ".jsonl")
    t.expect("%s:%d: invalid line" % (name, c.invalid_at) in p.stdout,
             "the invalid line named at its offset: " + p.stdout)
    t.expect("%s.jsonl:%d: incomplete last line" % (D3, c.torn_at) in
             p.stdout, "the torn line named: " + p.stdout)
    t.expect("verify: 4 files, 19 lines, 1 invalid, 0 foreign, "
             "1 incomplete" in p.stdout, p.stdout)


def stats_table(c):
    p = vg(c, c.conf, "stats")
    rows = {ln.split()[0]: ln.split() for ln in p.stdout.splitlines()
            if ln[:1].isdigit() or ln.startswith("all ")}
    t.eq(sorted(rows), sorted([D0, D1, D2, D3, "all"]), p.stdout)
    t.eq(rows["all"][-3:], ["18", "0", "1"], "(total, unverified, "
         "invalid) " + p.stdout)


def stats_json(c):
    p = vg(c, c.conf, "stats", "--json")
    doc = json.loads(p.stdout)
    t.eq([d["day"] for d in doc["days"]], [D0, D1, D2, D3])
    t.eq((doc["all"]["total"], doc["all"]["invalid"]), (18, 1),
         "(events, duplicate included, and the invalid line)")
    t.eq(doc["all"]["events"].get("99"), 1, "(the unknown code)")


def stats_prometheus(c):
    prom = os.path.join(c.dir, "smshook.prom")
    vg(c, c.conf, "stats", "--prometheus", prom)
    t.eq(stat.S_IMODE(os.stat(prom).st_mode), 0o644)
    with open(prom) as f:
        text = f.read()
    t.expect("\nsmshook_spool_invalid_lines 1\n" in text, text)
    t.expect('smshook_spool_events{event="delivered"} ' in text, text)


def import_first(c):
    p = vg(c, c.conf, "import", "-v")
    want = ref.reference(c.spool)
    t.eq(len(want), 19, "(the model's rows of the spool)")
    t.eq(sqlite_count(c), len(want), "(rows imported)")
    t.eq(sqlite_count(c, "smshook_rejects"), 1, "(the invalid line)")
    t.expect("19 rows inserted" in p.stdout, p.stdout)


def import_again(c, n=19):
    p = vg(c, c.conf, "import", "-v")
    t.expect("0 rows inserted" in p.stdout, p.stdout)
    t.eq(sqlite_count(c), n, "(nothing imported twice)")


def export_csv(c):
    p = vg(c, c.conf, "export", "--format", "csv")
    rows = list(csv.reader(io.StringIO(p.stdout, newline="")))
    t.eq(rows[0], list(ref.COLS))
    t.eq(len(rows) - 1, sqlite_count(c), "(CSV rows == rows imported)")
    t.expect("skipped 1 line" in p.stderr, p.stderr)


def sqlite_ids(c):
    con = sqlite3.connect(c.db)
    try:
        return sorted(str(r[0]) for r in con.execute(
            "SELECT sms_id FROM sms_events"))
    finally:
        con.close()


def pg_ids(c):
    return sorted(t.psql(c.pg_url, "SELECT coalesce(sms_id, 'None') FROM "
                         "sms_events").split())


def export_jsonl(c, conf, db_ids):
    """export reads the spool alone: its rows are the database's."""
    p = vg(c, conf, "export", "--format", "jsonl")
    ids = sorted(str(json.loads(x)["sms_id"]) for x in p.stdout.splitlines())
    t.eq(len(ids), 21 if conf == c.pg_conf else 19)
    t.eq(ids, db_ids(c), "(JSONL rows == rows imported)")


def optouts(c, conf):
    p = vg(c, conf, "optouts", "--format", "json")
    t.eq([x["phone"] for x in json.loads(p.stdout)], [OPT_OUT])
    p = vg(c, conf, "optouts", "--word", "hello")
    t.eq([ln.split(",")[0] for ln in p.stdout.splitlines()[1:]],
         ['"%s"' % KEEPS], p.stdout)


def compress(c):
    p = vg(c, c.conf, "compress", "-v", "--after", "1")
    t.eq(spool_names(c), [D0 + ".jsonl.gz", D1 + ".jsonl.gz",
                          D2 + ".jsonl.gz", D3 + ".jsonl"])
    t.eq(len(p.stdout.splitlines()), 3, "(each day named) " + p.stdout)


def import_after_compress(c):
    """Today's torn line completed, and a late line for a compressed
    day: two rows more, read beside the .gz."""
    ref.append(c.spool, D3, c.torn_rest)
    ref.append(c.spool, D2, line("delivered", 40))
    p = vg(c, c.conf, "import", "-v")
    t.expect("2 rows inserted" in p.stdout, p.stdout)
    t.eq(sqlite_count(c), len(ref.reference(c.spool)))
    t.eq(sqlite_count(c), 21)


def pg_start(c):
    c.pgdir, server = t.pg_start()
    c.pg_url = t.pg_new_db(server, "vgctl")
    c.pg_conf = t.write_conf(c.dir, name="pg.conf",
                             extra="database = " + c.pg_url)


def pg_import(c):
    p = vg(c, c.pg_conf, "import", "-v")
    t.expect("21 rows inserted" in p.stdout, p.stdout)
    t.eq(pg_count(c), len(ref.reference(c.spool)))
    t.eq(pg_count(c, "smshook_rejects"), 1)
    p = vg(c, c.pg_conf, "import", "-v")
    t.expect("0 rows inserted" in p.stdout, p.stdout)
    t.eq(pg_count(c), 21)


def pg_stats(c):
    p = vg(c, c.pg_conf, "stats", "--json")
    doc = json.loads(p.stdout)
    t.eq((doc["import"]["lag_bytes"], doc["import"]["lag_seconds"]),
         (0, 0), doc["import"])
    t.eq(doc["all"]["total"], 18 + 2, "(and the two lines added)")


def purge_clean(c):
    p = vg(c, c.conf, "purge", "--keep-days", 5, "-v")
    t.eq(spool_names(c), [D2 + ".jsonl", D2 + ".jsonl.gz", D3 + ".jsonl"])
    t.eq(len(p.stdout.splitlines()), 2, "(each removal named) " + p.stdout)


def today_file(c, today):
    """The spool's day file of today, by purge's clock: D3's, unless
    midnight passed since the spool was built. Then D3's file (or, if a
    purge already took it, a new one) is made today's: the purge steps
    check that today's file is kept, and yesterday's would go."""
    name = today + ".jsonl"
    if name not in spool_names(c):
        last = os.path.join(c.spool, c.today + ".jsonl")
        if os.path.exists(last):
            os.rename(last, os.path.join(c.spool, name))
        else:
            ref.append(c.spool, today, line("delivered", 42))
    c.today = today
    return name


def purge_refused(c):
    """A line of a day purge would remove, not imported yet: kept."""
    ref.append(c.spool, D2, line("delivered", 41))

    def step(today):
        today_file(c, today)
        before = spool_names(c)
        p = vg(c, c.conf, "purge", "--keep-days", 0, want=1)
        t.expect(D2 + ".jsonl" in p.stderr, p.stderr)
        t.eq(spool_names(c), before, "(nothing removed)")
    t.same_day(step)


def purge_force(c):
    def step(today):
        name = today_file(c, today)
        vg(c, c.conf, "purge", "--keep-days", 0, "--force", "-v")
        t.eq(spool_names(c), [name], "(today is kept)")
    t.same_day(step)


def run_all(r, c):
    build_spool(c)
    sq = "sqlite: "
    for kind in ("requested", "template"):
        r.check("sign --event " + kind, sign_json, c, kind)
    for kind in ("delivered", "reply"):
        r.check("sign --event %s --form" % kind, sign_form, c, kind)
    r.check(sq + "check", check, c, c.conf)
    r.check("verify (exit 1: the invalid line)", verify, c)
    r.check("stats", stats_table, c)
    r.check("stats --json", stats_json, c)
    r.check("stats --prometheus", stats_prometheus, c)
    r.check(sq + "import (19 rows, 1 reject)", import_first, c)
    r.check(sq + "import again (nothing new)", import_again, c)
    r.check(sq + "export --format csv", export_csv, c)
    r.check(sq + "export --format jsonl", export_jsonl, c, c.conf,
            sqlite_ids)
    r.check(sq + "optouts (json, csv --word)", optouts, c, c.conf)
    r.check("compress (three days to .jsonl.gz)", compress, c)
    r.check("verify of the .gz (exit 1)", verify, c, True)
    r.check(sq + "import after compress (2 rows more)",
            import_after_compress, c)
    r.check(sq + "import once more (nothing new)", import_again, c, 21)
    try:
        r.check("postgresql server starts", pg_start, c)
        if c.pg_url is not None:
            pg = "postgresql: "
            r.check(pg + "check (no tables yet)", check, c, c.pg_conf)
            r.check(pg + "import twice (21 rows, then none)", pg_import, c)
            r.check(pg + "check (tables made)", check, c, c.pg_conf)
            r.check(pg + "export --format jsonl", export_jsonl, c,
                    c.pg_conf, pg_ids)
            r.check(pg + "stats --json (no lag)", pg_stats, c)
            r.check(pg + "optouts", optouts, c, c.pg_conf)
    finally:
        if c.pgdir is not None:
            t.pg_stop(c.pgdir)
    r.check("purge --keep-days 5", purge_clean, c)
    r.check("purge --keep-days 0 (exit 1: a line not imported)",
            purge_refused, c)
    r.check("purge --keep-days 0 --force", purge_force, c)


def main():
    r = t.Runner("test_valgrind_ctl")
    why = t.valgrind_unusable(t.SMSHOOKCTL)
    if why is not None:
        print("SKIP test_valgrind_ctl: " + why)
        sys.exit(r.finish())
    c = Ctx()
    start = time.monotonic()
    try:
        run_all(r, c)
        print("figures: %d smshookctl runs under valgrind in %.1f s "
              "(%.1f s each); %.1f s in all" % (
                  c.runs, c.seconds, c.seconds / max(c.runs, 1),
                  time.monotonic() - start))
    finally:
        shutil.rmtree(c.dir, ignore_errors=True)
    sys.exit(r.finish())


if __name__ == "__main__":
    main()
