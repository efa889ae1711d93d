"""smshookctl export, compress and purge, against SQLite and PostgreSQL
where a database is involved (purge asks it what was imported). Faults
(a day growing while it is compressed, a failed write, a FIFO, files of
another user, a .jsonl.gz cut short, a day file read that fails) make
compress, purge and the spool walk import shares exit 1, naming the file,
with nothing lost."""
import csv
import errno
import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import time
import zlib
import zoneinfo
from datetime import datetime, timedelta

sys.path.insert(0, os.path.dirname(__file__))
import ctlref as ref  # noqa: E402
from ctlref import t  # noqa: E402
from test_import import Env, scenario  # noqa: E402

OLD = time.time() - 7200		# "not modified for two hours"


def old_days(e, days, n=30, seed=1):
    for k, day in enumerate(days):
        path = ref.append(e.spool, day, b"".join(
            ref.gen_lines(n, seed + k, day_tag=day)))
        os.utime(path, (OLD, OLD))


def as_text(v):
    return "" if v is None else str(v)


@scenario
def export_formats(e):
    days = ["2026-01-01", "2026-01-02", "2026-01-03"]
    old_days(e, days)
    tricky = dict(t.SAMPLES["failed"], smsId="q$1", timestamp=1767225600000,
                  message='comma, "quote"\nnew line\r\ttab \u4f60\u597d',
                  token="q" * 50, signature="0" * 64)
    ref.append(e.spool, "2026-01-02", t.v1_line(tricky) + b"not json\n")
    # two phones' replies of one second, the same templateId: two rows
    a = ref.reply_line("13800000001", "a" * 50)
    b = ref.reply_line("13800000002", "b" * 50)
    ref.append(e.spool, "2026-01-03", a + b + a)
    want = ref.reference(e.spool)
    t.eq(len([w for w in want if w[0] == 6]), 2, "(reference: replies)")
    p = subprocess.run([t.SMSHOOKCTL, "-c", e.conf, "export"],
                       capture_output=True, timeout=60)
    t.eq(p.returncode, 0, p.stderr)
    t.expect(b"skipped 1 line" in p.stderr, p.stderr)
    t.expect(p.stdout.startswith((",".join(ref.COLS) + "\r\n").encode()),
             "CSV header with CRLF")
    got = list(csv.reader(io.StringIO(p.stdout.decode(), newline="")))
    t.eq(got[0], list(ref.COLS))
    t.eq(len(got) - 1, len(want), "(csv rows)")
    for g, w in zip(got[1:], want):
        w = [as_text(v) for v in w]
        g[-1] = ref.canon(json.loads(g[-1]))
        t.eq(g, w)
    t.expect(any(r[7] == tricky["message"] for r in got), "quoted message")
    # an empty text is "", a NULL nothing, as COPY ... CSV reads them
    empty = dict(t.SAMPLES["delivered"], smsId="empty", message="",
                 smsUser=None,
                 timestamp=1767225600000, token="e" * 50,
                 signature="0" * 64)
    ref.append(e.spool, "2026-01-01", t.v1_line(empty))
    p = e.ctl("export", "--from", "2026-01-01", "--to", "2026-01-01")
    row = [r.split(",") for r in p.stdout.splitlines()
           if r.split(",")[2:3] == ["empty"]]
    t.eq(len(row), 1, p.stdout)
    t.eq((row[0][7], row[0][5]), ('""', ""), "(message \"\", sms_user "
         "NULL)")
    want = ref.reference(e.spool)
    p = e.ctl("export", "--format", "jsonl", "--from", "2026-01-02",
              "--to", "2026-01-02")
    t.eq(p.returncode, 0, p.stderr)
    lines = p.stdout.splitlines()
    want2 = ref.reference(e.spool, days={"2026-01-02"})
    t.eq(len(lines), len(want2), "(jsonl rows for one day)")
    for g, w in zip(lines, want2):
        o = json.loads(g)
        t.eq(list(o), list(ref.COLS), "(jsonl keys)")
        o["payload"] = ref.canon(o["payload"])
        t.eq(tuple(o[c] for c in ref.COLS), w)
    # the export equals what import loads
    e.imp()
    t.eq(e.db.rows(), want, "(export == import)")
    p = e.ctl("export", "--format", "xml")
    t.eq(p.returncode, 2)
    p = e.ctl("export", "--from", "2026-13-01")
    t.eq(p.returncode, 2)


AHEAD = "Pacific/Kiritimati"	# UTC+14: "today" is not UTC's today


def compress_then_import(kind, pg_url):
    """compress_then_import_in on a new spool and database; its day files
    are named by the zone's day when it starts, so it runs once more if
    that day ended while it ran (at 10:00 UTC)."""
    def run(today):
        e = Env(kind, pg_url)
        try:
            compress_then_import_in(e, today)
        finally:
            e.close()
    t.same_day(run, AHEAD)


def compress_then_import_in(e, today):
    with open(e.conf, "a") as f:
        f.write("timezone = %s\n" % AHEAD)
    yday = (datetime.strptime(today, "%Y-%m-%d") -
            timedelta(days=1)).strftime("%Y-%m-%d")
    days = ["2020-01-01", "2020-01-02", "2020-01-03", yday, today]
    old_days(e, days)
    recent = ref.append(e.spool, "2020-01-04", b"".join(
        ref.gen_lines(10, 77, day_tag="r")))	# modified just now
    e.imp()
    # more lines for one old day after the import: read later from the .gz
    path = ref.append(e.spool, "2020-01-02", b"".join(
        ref.gen_lines(15, 99, day_tag="late")) + b'{"v":1,"torn')
    os.utime(path, (OLD, OLD))
    before = {d: ref.read_day(p) for d, p in ref.day_files(e.spool)}
    p = e.ctl("compress", "-v")
    t.eq(p.returncode, 0, p.stderr)
    t.eq(p.stderr, "")
    names = sorted(os.listdir(e.spool))
    torn = b'{"v":1,"torn'
    t.expect(before["2020-01-02"].endswith(torn), "a torn tail to drop")
    before["2020-01-02"] = before["2020-01-02"][:-len(torn)]
    for d in ["2020-01-01", "2020-01-02", "2020-01-03", yday]:
        t.expect(d + ".jsonl.gz" in names and d + ".jsonl" not in names,
                 "%s compressed: %s" % (d, names))
        with gzip.open(os.path.join(e.spool, d + ".jsonl.gz")) as f:
            t.eq(f.read(), before[d], "(%s: same bytes, whole lines)" % d)
    for d in [today, "2020-01-04"]:
        t.expect(d + ".jsonl" in names and d + ".jsonl.gz" not in names,
                 "%s left alone: %s" % (d, names))
    t.expect(not any(n.endswith(".tmp") for n in names), names)
    t.eq(os.path.exists(recent), True)
    # the torn tail, never acknowledged, stayed out of the .gz: a line
    # written to the day later is not glued to it
    p = e.ctl("verify", "2020-01-02")
    t.eq(p.returncode, 0, p.stdout)
    t.expect("0 incomplete" in p.stdout, p.stdout)
    late = ref.append(e.spool, "2020-01-02", b"".join(
        ref.gen_lines(1, 123, day_tag="later")))
    p = e.ctl("import", "-v")
    t.eq(p.returncode, 0, p.stderr)
    t.expect("16 lines" in p.stdout and "0 rejected" in p.stdout, p.stdout)
    e.check_reference(ordered=False)
    os.utime(late, (OLD, OLD))
    p = e.ctl("compress")
    t.eq(p.returncode, 0, p.stderr)
    t.expect(not os.path.exists(late), "merged")
    e.check_reference(ordered=False)
    p = e.ctl("import", "-v")
    t.expect("0 files, 0 lines" in p.stdout, p.stdout)
    p = e.ctl("compress", "--after", "0")	# today never, even so
    t.eq(p.returncode, 0, p.stderr)
    t.expect(today + ".jsonl" in os.listdir(e.spool), "today kept")
    p = e.ctl("compress", "--after", "x")
    t.eq(p.returncode, 2)


def put_gz(spool, day, data):
    path = os.path.join(spool, day + ".jsonl.gz")
    with gzip.open(path, "wb") as f:
        f.write(data)
    os.utime(path, (OLD, OLD))
    return path


@scenario
def compressed_torn_then_late(e):
    """A .gz an older compress made with a torn tail, then a late .jsonl
    for its day: the tail is one reject ending where the .gz does, the
    late lines are imported whole, and compress leaves both files rather
    than glue them for good."""
    lines = ref.gen_lines(4, 5, dup_rate=0, day_tag="t")
    put_gz(e.spool, "2020-03-01", b"".join(lines[:2]) + lines[2][:40])
    late = ref.append(e.spool, "2020-03-01", lines[3])
    os.utime(late, (OLD, OLD))
    p = e.ctl("import", "-v")
    t.eq(p.returncode, 0, p.stderr)
    t.expect("4 lines" in p.stdout and "1 rejected" in p.stdout, p.stdout)
    e.check_reference()
    rj = e.db.rejects()
    t.eq([(d, o) for d, o, _, _ in rj], ref.rejects_expected(e.spool))
    t.eq(rj[0][1], len(lines[0]) + len(lines[1]))
    t.expect("unfinished" in rj[0][2], rj[0][2])
    p = e.ctl("verify", "2020-03-01")
    t.eq(p.returncode, 0, p.stdout)
    t.expect("unfinished line" in p.stdout and "before a later file" in
             p.stdout, p.stdout)
    p = e.ctl("compress")
    t.eq(p.returncode, 0, p.stderr)
    t.expect("ends in an unfinished line" in p.stderr, p.stderr)
    t.expect(os.path.exists(late), "both kept")
    p = e.ctl("import", "-v")
    t.expect("0 files, 0 lines" in p.stdout, p.stdout)


@scenario
def torn_then_regrown(e):
    """A .gz with a torn tail and a late .jsonl of short lines: the 256
    bytes a position marks take in the torn piece (it has no '\n'), so a
    late file cut back and written again with a line as long as the
    one lost is told apart: purge keeps the day, import reads it from
    its start and takes the new line."""
    lines = ref.gen_lines(3, 7, dup_rate=0, day_tag="t")
    put_gz(e.spool, "2020-03-03", b"".join(lines[:2]) + b'{"v":1,qq')
    late = ref.append(e.spool, "2020-03-03", b"k\n")
    os.utime(late, (OLD, OLD))
    p = e.ctl("import")
    t.eq(p.returncode, 0, p.stderr)
    with open(late, "wb") as f:
        f.write(lines[2][:1] + b"\n" if lines[2][:1] != b"k" else b"j\n")
    os.utime(late, (OLD, OLD))
    p = e.ctl("purge", "--keep-days", "0")
    t.eq(p.returncode, 1, p.stderr)
    t.expect("the bytes before it are not those imported" in p.stderr,
             p.stderr)
    p = e.ctl("import")
    t.eq(p.returncode, 0, p.stderr)
    t.expect("is not the text imported before" in p.stderr, p.stderr)
    t.eq(sorted(o for d, o, _, _ in e.db.rejects() if d == "2020-03-03"),
         sorted(o for d, o in ref.rejects_expected(e.spool)
                if d == "2020-03-03"))


@scenario
def gz_only_torn_then_late(e):
    """A .gz holding only an unfinished line (no complete one before it),
    40 bytes long or longer than the 256 a position marks, then a late
    .jsonl: the marks hold across runs, so a run with nothing new reads
    nothing and says nothing, and a line added late is the only one
    taken, not the day read again from its start."""
    lines = ref.gen_lines(6, 9, dup_rate=0, day_tag="t")
    for day, piece in (("2020-03-05", lines[0][:40]),
                       ("2020-03-06", b'{"v":1,"x":"' + b"y" * 300)):
        put_gz(e.spool, day, piece)
        late = ref.append(e.spool, day, lines[1])
        os.utime(late, (OLD, OLD))
    p = e.ctl("import", "-v")
    t.eq(p.returncode, 0, p.stderr)
    t.expect("2 lines rejected" in p.stderr, p.stderr)
    t.expect("4 lines" in p.stdout and "2 rejected" in p.stdout, p.stdout)
    p = e.ctl("import", "-v")
    t.eq((p.returncode, p.stderr), (0, ""))
    t.expect("0 files, 0 lines" in p.stdout, p.stdout)
    for k, day in enumerate(("2020-03-05", "2020-03-06")):
        ref.append(e.spool, day, lines[2 + k])
    p = e.ctl("import", "-v")
    t.eq((p.returncode, p.stderr), (0, ""))
    t.expect("2 lines" in p.stdout and "0 rejected" in p.stdout, p.stdout)
    e.check_reference()
    t.eq([(d, o) for d, o, _, _ in e.db.rejects()],
         ref.rejects_expected(e.spool))


@scenario
def late_still_written(e):
    """A late .jsonl beside its .gz written within the last ten minutes
    (a receiver on a lagging clock, say) is left alone by compress, as a
    day not yet over is; once quiet, it is merged. A .gz cut short with a
    late .jsonl beside it is named, both kept, exit 1."""
    old_days(e, ["2020-02-06", "2020-02-07"])
    p = e.ctl("compress")
    t.eq(p.returncode, 0, p.stderr)
    late = ref.append(e.spool, "2020-02-06", b"".join(
        ref.gen_lines(3, 46, day_tag="late")))
    before = spool_snapshot(e.spool)
    p = e.ctl("compress")
    t.eq((p.returncode, p.stderr), (0, ""))
    t.eq(spool_snapshot(e.spool), before, "(the late file left alone)")
    os.utime(late, (OLD, OLD))
    p = e.ctl("compress")
    t.eq((p.returncode, p.stderr), (0, ""))
    t.expect(not os.path.exists(late), "merged once quiet")
    gz = os.path.join(e.spool, "2020-02-07.jsonl.gz")
    with open(gz, "rb") as f:
        data = f.read()
    with open(gz, "wb") as f:
        f.write(data[:len(data) // 2])
    os.utime(gz, (OLD, OLD))
    late = ref.append(e.spool, "2020-02-07", b"".join(
        ref.gen_lines(2, 47, day_tag="late")))
    os.utime(late, (OLD, OLD))
    before = spool_snapshot(e.spool)
    p = e.ctl("compress")
    t.eq(p.returncode, 1, p.stderr)
    t.expect(gz in p.stderr, p.stderr)
    t.eq(spool_snapshot(e.spool), before, "(both kept as they were)")


@scenario
def torn_gz_position(e):
    """A position where a .gz's torn tail ends, its late .jsonl still
    empty: no '\\n' comes before it, yet it is this text's, so the next
    run goes on from it with the late file's new line alone."""
    lines = ref.gen_lines(3, 6, dup_rate=0, day_tag="t")
    put_gz(e.spool, "2020-03-02", lines[0] + lines[1][:40])
    late = ref.append(e.spool, "2020-03-02", b"")
    p = e.ctl("import", "-v")
    t.eq(p.returncode, 0, p.stderr)
    t.expect("2 lines" in p.stdout and "1 rejected" in p.stdout, p.stdout)
    t.eq(e.db.positions(), {"2020-03-02": len(lines[0]) + 40})
    ref.append(e.spool, "2020-03-02", lines[2])
    p = e.ctl("import", "-v")
    t.eq((p.returncode, p.stderr), (0, ""))
    t.expect("1 lines" in p.stdout and "0 rejected" in p.stdout, p.stdout)
    t.expect(os.path.exists(late), "still beside the .gz")
    e.check_reference()


@scenario
def merge_stopped_before_unlink(e):
    """compress stopped after it merged a late .jsonl into the .gz but
    before it removed the .jsonl (and the receiver wrote one more line):
    every line is read once, and the next compress finishes the merge."""
    lines = ref.gen_lines(5, 6, dup_rate=0, day_tag="m")
    put_gz(e.spool, "2020-03-02", b"".join(lines[:4]))
    late = ref.append(e.spool, "2020-03-02", b"".join(lines[2:5]))
    os.utime(late, (OLD, OLD))
    p = e.ctl("import", "-v")
    t.eq(p.returncode, 0, p.stderr)
    t.expect("5 lines" in p.stdout, p.stdout)
    e.check_reference()
    t.eq(e.db.positions()["2020-03-02"], sum(len(x) for x in lines))
    p = e.ctl("verify", "2020-03-02")
    t.eq(p.returncode, 0, p.stdout)
    t.expect("5 lines, 0 invalid" in p.stdout, p.stdout)
    p = e.ctl("compress")
    t.eq(p.returncode, 0, p.stderr)
    with gzip.open(os.path.join(e.spool, "2020-03-02.jsonl.gz")) as f:
        t.eq(f.read(), b"".join(lines))
    t.expect(not os.path.exists(late), "merged")
    p = e.ctl("import", "-v")
    t.expect("0 files, 0 lines" in p.stdout, p.stdout)
    e.check_reference()


@scenario
def restored_beside_gz(e):
    """A day file restored from a backup (the day's first lines, or a run
    from its middle) beside the .gz compress made of the whole day: its
    lines are the .gz's already, so verify and stats count each once,
    import adds nothing and compress merges nothing; a line the receiver
    writes after the restore is taken once, also when compress merged it
    and was stopped before it removed the day file."""
    day = "2020-03-07"
    lines = ref.gen_lines(12, 71, dup_rate=0, day_tag="r")
    late = ref.append(e.spool, day, b"".join(lines))
    os.utime(late, (OLD, OLD))
    t.eq(e.ctl("import").returncode, 0)
    t.eq(e.ctl("compress").returncode, 0)
    t.expect(not os.path.exists(late), "compressed")
    gz = late + ".gz"

    def restore(data):
        with open(late, "wb") as f:
            f.write(data)
        os.utime(late, (OLD, OLD))

    def counted(n):
        p = e.ctl("verify", day)
        t.eq(p.returncode, 0, p.stdout + p.stderr)
        t.expect("%d lines, 0 invalid" % n in p.stdout, p.stdout)
        p = e.ctl("stats", "--json", "--from", day, "--to", day)
        t.eq(p.returncode, 0, p.stderr)
        t.eq(json.loads(p.stdout)["days"][0]["total"], n)

    def imported(n):
        p = e.ctl("import", "-v")
        t.eq((p.returncode, p.stderr), (0, ""))
        t.expect(" %d lines" % n in p.stdout, p.stdout)
        e.check_reference()

    def compressed(text):
        p = e.ctl("compress", "-v")
        t.eq((p.returncode, p.stderr), (0, ""))
        t.expect(not os.path.exists(late), "the copy removed")
        with gzip.open(gz) as f:
            t.eq(f.read(), text, "(nothing merged twice)")

    for backup in (lines[:5], lines[3:9]):
        restore(b"".join(backup))
        counted(12)
        imported(0)
        compressed(b"".join(lines))
    more = ref.gen_lines(1, 72, dup_rate=0, day_tag="after")[0]
    restore(b"".join(lines[:5]) + more)
    counted(13)
    imported(1)
    # compress merges that line and is stopped before it removes the file
    put_gz(e.spool, day, b"".join(lines) + more)
    restore(b"".join(lines[:5]) + more)
    counted(13)
    imported(0)
    compressed(b"".join(lines) + more)


@scenario
def compress_fifo(e):
    """A FIFO at a day's path: compress says so and goes on, it does not
    wait for a writer while holding the cron lock."""
    old_days(e, ["2020-03-03"])
    fifo = os.path.join(e.spool, "2020-03-04.jsonl")
    os.mkfifo(fifo, 0o640)
    os.utime(fifo, (OLD, OLD))
    # and one beside a compressed day, where its late lines would be
    put_gz(e.spool, "2020-03-05", b"".join(ref.gen_lines(3, 45,
                                                         day_tag="g")))
    late = os.path.join(e.spool, "2020-03-05.jsonl")
    os.mkfifo(late, 0o640)
    os.utime(late, (OLD, OLD))
    gz = spool_snapshot(e.spool)["2020-03-05.jsonl.gz"]
    p = e.ctl("compress", timeout=20)
    t.eq(p.returncode, 1, p.stderr)
    t.expect("2020-03-04.jsonl" in p.stderr, p.stderr)
    t.expect("%s: Invalid argument" % late in p.stderr, p.stderr)
    t.expect(os.path.exists(os.path.join(e.spool, "2020-03-03.jsonl.gz")),
             "the other day compressed")
    snap = spool_snapshot(e.spool)
    t.eq(snap.get("2020-03-05.jsonl.gz"), gz, "(the .gz as it was)")
    t.expect(not any(n.endswith(".tmp") for n in snap), snap.keys())


GZCORRUPT_SO = os.path.join(t.BUILD, "tests", "gzcorrupt.so")


def preload(so, **env):
    """The environment that preloads the shim so, with env beside it."""
    return dict(env, LD_PRELOAD=os.path.abspath(so))


def spool_snapshot(spool):
    """{name: bytes} of every file in the spool but the token table."""
    out = {}
    for name in sorted(os.listdir(spool)):
        path = os.path.join(spool, name)
        if not name.startswith(".") and os.path.isfile(path):
            with open(path, "rb") as f:
                out[name] = f.read()
    return out


@scenario
def compress_read_back_fails(e):
    """A compressed copy that does not read back whole (here cut short by
    tests/lib/gzcorrupt.c just before compress reads it back): compress
    says so and exits 1, the day is left as it was, no copy stays; the
    same for a late .jsonl being merged into its .gz. Without the fault
    both days are compressed."""
    env = preload(GZCORRUPT_SO, GZCORRUPT="1")
    old_days(e, ["2020-02-02"])
    p = e.ctl("compress")
    t.eq(p.returncode, 0, p.stderr)		# a .gz to merge into, below
    old_days(e, ["2020-02-01"])
    path = ref.append(e.spool, "2020-02-02", b"".join(
        ref.gen_lines(5, 42, day_tag="late")))
    os.utime(path, (OLD, OLD))
    before = spool_snapshot(e.spool)
    p = e.ctl("compress", env=env)
    t.eq(p.returncode, 1, p.stderr)
    for what, day in (("compressed", "2020-02-01"), ("merged", "2020-02-02")):
        t.expect("%s.jsonl" % day in p.stderr and "the %s copy does not "
                 "read back; left as it is" % what in p.stderr, p.stderr)
    t.eq(spool_snapshot(e.spool), before, "spool unchanged")
    p = e.ctl("compress")
    t.eq(p.returncode, 0, p.stderr)
    t.eq(sorted(n for n in os.listdir(e.spool) if not n.startswith(".")),
         ["2020-02-01.jsonl.gz", "2020-02-02.jsonl.gz"])


@scenario
def compress_changed(e):
    """A line appended to a day while compress copies it (by
    tests/lib/gzcorrupt.c once the copy is written, before it is read
    back, as a writer that does not take the lock would): compress says
    the day changed and exits 1, the .jsonl keeps every line and no copy
    stays; the next compress takes them all."""
    old_days(e, ["2020-02-03"])
    name = "2020-02-03.jsonl"
    late = ref.gen_lines(1, 43, day_tag="late")[0]
    before = spool_snapshot(e.spool)
    p = e.ctl("compress", env=preload(GZCORRUPT_SO,
                                      GZAPPEND=late[:-1].decode()))
    t.eq(p.returncode, 1, p.stderr)
    t.expect("%s changed while being compressed; left as it is" %
             os.path.join(e.spool, name) in p.stderr, p.stderr)
    t.eq(spool_snapshot(e.spool), {name: before[name] + late},
         "(every line kept, no copy)")
    os.utime(os.path.join(e.spool, name), (OLD, OLD))
    p = e.ctl("compress")
    t.eq((p.returncode, p.stderr), (0, ""))
    t.eq(list(spool_snapshot(e.spool)), [name + ".gz"])
    with gzip.open(os.path.join(e.spool, name + ".gz")) as f:
        t.eq(f.read(), before[name] + late)


def gz_cut(data, cut):
    """data gzip-compressed, then cut to cut(its size) bytes; and where
    the complete lines the bytes kept still give end."""
    gz = gzip.compress(data, mtime=0)
    gz = gz[:cut(len(gz))]
    text = zlib.decompressobj(31).decompress(gz)
    return gz, text.rfind(b"\n") + 1


def gz_refused(e, paths, at, why, days):
    """Each .jsonl.gz of paths (day: path) cannot be read past offset
    at[day] (why), with days the import's positions: verify calls it
    unreadable there, import names each and commits nothing, export
    fails on the first, each exiting 1."""
    rows = e.db.rows()
    t.eq(e.db.positions(), days)
    for day, path in paths.items():
        p = e.ctl("verify", day)
        t.eq(p.returncode, 1, p.stdout)
        t.expect("%s:%d: read error: %s\n" % (path, at[day], why) in
                 p.stdout, p.stdout)
        t.expect(p.stdout.endswith(" 0 incomplete, 1 missing or "
                                   "unreadable\n"), p.stdout)
    p = e.ctl("import")
    t.eq(p.returncode, 1, p.stderr)
    for path in paths.values():
        t.expect("read %s: %s" % (path, why) in p.stderr, p.stderr)
    t.eq(e.db.rows(), rows, "(nothing of the files committed)")
    t.eq(e.db.positions(), days)
    p = e.ctl("export")
    t.eq(p.returncode, 1, p.stderr)
    t.expect("read %s: %s" % (paths[min(paths)], why) in p.stderr,
             p.stderr)


def truncated_gz(e, cut):
    """A day's .jsonl.gz cut short (cut: the bytes kept of its size) is
    never taken for the whole day, however many complete lines it still
    gives: verify calls it unreadable, import commits nothing of it,
    export fails, each naming it and exiting 1, and purge keeps it. One
    day was imported up to its 500th line before the cut, the other up
    to where the cut file's complete lines end (nothing left to read
    before its cut). The whole file back, import takes the rest once."""
    days, whole, gz, cuts, paths = {}, {}, {}, {}, {}
    for k, day in enumerate(["2020-04-01", "2020-04-02"]):
        lines = ref.gen_lines(2000, 61 + k, dup_rate=0, day_tag=day)
        whole[day] = b"".join(lines)
        gz[day], cuts[day] = gz_cut(whole[day], cut)
        days[day] = sum(map(len, lines[:500])) if k == 0 else cuts[day]
        t.expect(0 < days[day] <= cuts[day], "(imported: within the cut)")
        ref.append(e.spool, day, whole[day][:days[day]])
    e.imp()
    for day in days:			# compressed, then cut
        os.unlink(os.path.join(e.spool, day + ".jsonl"))
        paths[day] = os.path.join(e.spool, day + ".jsonl.gz")
        with open(paths[day], "wb") as f:
            f.write(gz[day])
        os.utime(paths[day], (OLD, OLD))
    why = "truncated gzip file (it ends before its gzip stream does)"
    gz_refused(e, paths, cuts, why, days)
    before = spool_snapshot(e.spool)
    # both named as damaged, also the one with lines not imported
    # (which import can never finish), not "not fully imported"
    p = e.ctl("purge", "--keep-days", "1")
    t.eq(p.returncode, 1, p.stderr)
    for path in paths.values():
        t.expect("read %s: %s" % (path, why) in p.stderr, p.stderr)
    t.expect("not fully imported" not in p.stderr, p.stderr)
    t.eq(spool_snapshot(e.spool), before, "(both kept)")
    for day, path in paths.items():
        with open(path, "wb") as f:
            f.write(gzip.compress(whole[day], mtime=0))
    p = e.ctl("import")
    t.eq((p.returncode, p.stderr), (0, ""))
    e.check_reference(ordered=False)


@scenario
def gz_cut_mid_stream(e):
    truncated_gz(e, lambda size: size // 2)


@scenario
def gz_cut_before_trailer(e):
    """Cut where its compressed data ends: every line is there, but not
    the trailer that says they are all there and right."""
    truncated_gz(e, lambda size: size - 8)


@scenario
def gz_not_gzip(e):
    """A .jsonl.gz that is not gzip at all, empty (a copy that never
    arrived) or plain text, which zlib would read as it is: verify calls
    it unreadable, import and export fail on it, each naming it and
    exiting 1, nothing is committed, and purge keeps it, whether or not
    its day was imported before."""
    why = "not a gzip file (empty, or of another format)"
    days = {"2020-04-06": b"", "2020-04-07": None}
    ref.append(e.spool, "2020-04-06", b"".join(ref.gen_lines(
        10, 66, day_tag="a")))
    e.imp()
    rows, pos = e.db.rows(), e.db.positions()
    days["2020-04-07"] = b"".join(ref.gen_lines(10, 67, day_tag="b"))
    paths = []
    for day, data in days.items():
        plain = os.path.join(e.spool, day + ".jsonl")
        if os.path.exists(plain):
            os.unlink(plain)
        paths.append(plain + ".gz")
        with open(paths[-1], "wb") as f:
            f.write(data)
        os.utime(paths[-1], (OLD, OLD))
    before = spool_snapshot(e.spool)
    for cmd in (["verify"], ["import"], ["export"],
                ["purge", "--keep-days", "1"]):
        p = e.ctl(*cmd)
        t.eq(p.returncode, 1, "%s: %s" % (cmd[0], p.stderr))
        out = (p.stdout + p.stderr).splitlines()
        named = paths if cmd[0] != "export" else paths[:1]  # stops there
        t.expect(all(any(path in ln and ln.endswith(why) for ln in out)
                     for path in named), "%s: %s" % (cmd[0], out))
    t.eq((e.db.rows(), e.db.positions()), (rows, pos), "(nothing committed)")
    t.eq(spool_snapshot(e.spool), before, "(both kept)")


def damaged_member(e, tail, why, read=1):
    """A day's .jsonl.gz of two members, as compress writes one it merged
    a late .jsonl into, spoilt after its first: tail(member) gives the
    bytes that follow it. The lines of its first `read` members are given,
    but the file is never taken for the whole day: verify calls it
    unreadable where they end, import commits nothing of it past what it
    had, export fails, each naming it (why) and exiting 1, and purge
    keeps it. One day was imported up to its 500th line, the other to the
    end of the first member. The file whole, its two members back to
    back, import takes the rest once."""
    days, whole, first, given, paths = {}, {}, {}, {}, {}
    for k, day in enumerate(["2020-04-11", "2020-04-12"]):
        lines = ref.gen_lines(2000, 71 + k, dup_rate=0, day_tag=day)
        whole[day] = [gzip.compress(b"".join(lines[:1200]), mtime=0),
                      gzip.compress(b"".join(lines[1200:]), mtime=0)]
        first[day] = sum(map(len, lines[:1200]))
        given[day] = sum(map(len, lines[:1200 if read == 1 else 2000]))
        days[day] = sum(map(len, lines[:500])) if k == 0 else first[day]
        ref.append(e.spool, day, b"".join(lines)[:days[day]])
    e.imp()
    for day in days:
        os.unlink(os.path.join(e.spool, day + ".jsonl"))
        paths[day] = os.path.join(e.spool, day + ".jsonl.gz")
        with open(paths[day], "wb") as f:
            f.write(whole[day][0] + tail(whole[day][1]))
        os.utime(paths[day], (OLD, OLD))
    gz_refused(e, paths, given, why, days)
    before = spool_snapshot(e.spool)
    p = e.ctl("purge", "--keep-days", "1")
    t.eq(p.returncode, 1, p.stderr)
    for path in paths.values():
        t.expect("read %s: %s" % (path, why) in p.stderr, p.stderr)
    t.eq(spool_snapshot(e.spool), before, "(both kept)")
    for day, path in paths.items():
        with open(path, "wb") as f:
            f.write(b"".join(whole[day]))
    p = e.ctl("verify")
    t.eq(p.returncode, 0, p.stdout)
    t.expect("2 files, 4000 lines, 0 invalid" in p.stdout, p.stdout)
    p = e.ctl("import")
    t.eq((p.returncode, p.stderr), (0, ""))
    e.check_reference(ordered=False)


TRUNCATED = "truncated gzip file (it ends before its gzip stream does)"
DAMAGED = os.strerror(errno.EIO)


@scenario
def gz_member_cut_1_byte(e):
    """The second member cut one byte in: its 0x1f alone."""
    damaged_member(e, lambda m: m[:1], TRUNCATED)


@scenario
def gz_member_magic_flipped(e):
    damaged_member(e, lambda m: bytes([m[0] ^ 1]) + m[1:], DAMAGED)


@scenario
def gz_junk_after(e):
    """Bytes after the last member that are not gzip."""
    damaged_member(e, lambda m: m + b"not gzip\n", DAMAGED, read=2)


@scenario
def gz_trailing_zeros(e):
    """Zeros after the last member (gzip(1) skips them with a warning;
    compress never writes them)."""
    damaged_member(e, lambda m: m + bytes(512), DAMAGED, read=2)


@scenario
def gz_members_whole(e):
    """A .jsonl.gz of several whole members back to back, one of them
    empty, is the day's whole text: verify and import read every line,
    and purge removes it once imported."""
    lines = ref.gen_lines(300, 75, dup_rate=0, day_tag="m")
    path = os.path.join(e.spool, "2020-04-15.jsonl.gz")
    with open(path, "wb") as f:
        for part in (lines[:100], [], lines[100:299], lines[299:]):
            f.write(gzip.compress(b"".join(part), mtime=0))
    os.utime(path, (OLD, OLD))
    p = e.ctl("verify")
    t.eq(p.returncode, 0, p.stdout)
    t.expect("1 file, 300 lines, 0 invalid" in p.stdout, p.stdout)
    p = e.ctl("import", "-v")
    t.eq((p.returncode, p.stderr), (0, ""))
    t.expect("300 lines" in p.stdout, p.stdout)
    e.check_reference()
    t.eq(e.db.positions(), {"2020-04-15": sum(map(len, lines))})
    p = e.ctl("purge", "--keep-days", "1")
    t.eq((p.returncode, p.stderr), (0, ""))
    t.expect(not os.path.exists(path), "purged")


FIU = shutil.which("fiu-run")


@scenario
def merge_write_fails(e):
    """Writing the copy a late .jsonl is merged into fails (libfiu: the
    first write(2) gets EIO): compress names that copy (the .gz.tmp) and
    the error and exits 1, the .gz and the .jsonl are as they were and no
    copy stays; the next compress merges them. A copy that cannot be
    made (a folder in its place) is named too, not the day file."""
    old_days(e, ["2020-02-04"])
    day = os.path.join(e.spool, "2020-02-04.jsonl")
    os.mkdir(day + ".gz.tmp")		# compressing the day: the same
    p = e.ctl("compress")
    t.eq(p.returncode, 1, p.stderr)
    t.expect("%s.gz.tmp: " % day in p.stderr, p.stderr)
    os.rmdir(day + ".gz.tmp")
    p = e.ctl("compress")
    t.eq(p.returncode, 0, p.stderr)		# a .gz to merge into
    late = ref.append(e.spool, "2020-02-04", b"".join(
        ref.gen_lines(5, 44, day_tag="late")))
    os.utime(late, (OLD, OLD))
    before = spool_snapshot(e.spool)
    text = ref.read_day(late + ".gz")
    p = subprocess.run([FIU, "-x", "-f", "", "-c", "enable name=posix/io/"
                        "rw/write,onetime=1,failinfo=5", t.SMSHOOKCTL, "-c",
                        e.conf, "compress"], capture_output=True, text=True,
                       timeout=60)
    t.eq(p.returncode, 1, p.stderr)
    t.expect("%s.gz.tmp: Input/output error" % late in p.stderr, p.stderr)
    t.eq(spool_snapshot(e.spool), before, "spool unchanged, no copy left")
    os.mkdir(late + ".gz.tmp")
    p = e.ctl("compress")
    t.eq(p.returncode, 1, p.stderr)
    t.expect("%s.gz.tmp: " % late in p.stderr, p.stderr)
    os.rmdir(late + ".gz.tmp")
    p = e.ctl("compress")
    t.eq((p.returncode, p.stderr), (0, ""))
    t.eq(list(spool_snapshot(e.spool)), ["2020-02-04.jsonl.gz"])
    t.eq(ref.read_day(late + ".gz"), text)


def fiu_ctl(e, fault, *args):
    """smshookctl -c conf args... with libfiu's fault (a point name) hit
    once with EIO."""
    return subprocess.run([FIU, "-x", "-f", "", "-c", "enable name=%s,"
                           "onetime=1,failinfo=5" % fault, t.SMSHOOKCTL,
                           "-c", e.conf] + list(args), capture_output=True,
                          text=True, timeout=60)


@scenario
def rename_unlink_fail(e):
    """The rename that puts a .gz in place fails (libfiu), for a day
    compressed and for a late .jsonl merged into its .gz: compress names
    the file and the error, exits 1, and leaves the spool as it was, no
    .gz.tmp. The unlink of an imported .gz day fails: purge names it,
    exits 1, keeps the day. Each time the next run does the work. A
    leftover .gz.tmp purge cannot remove is named, exit 1, and keeps the
    day, so that the next run names it again (left after the day's
    files, no run would ever visit it again)."""
    old_days(e, ["2020-02-05"])
    gz = os.path.join(e.spool, "2020-02-05.jsonl.gz")
    for what in ("compress", "merge"):
        before = spool_snapshot(e.spool)
        p = fiu_ctl(e, "posix/io/dir/rename", "compress")
        t.eq(p.returncode, 1, "%s: %s" % (what, p.stderr))
        t.expect("Input/output error" in p.stderr and "2020-02-05.jsonl"
                 in p.stderr, p.stderr)
        t.eq(spool_snapshot(e.spool), before, "(%s: spool as it was)" % what)
        p = e.ctl("compress")
        t.eq((p.returncode, p.stderr), (0, ""), what)
        t.eq(list(spool_snapshot(e.spool)), ["2020-02-05.jsonl.gz"])
        if what == "compress":
            late = ref.append(e.spool, "2020-02-05", b"".join(
                ref.gen_lines(4, 45, day_tag="late")))
            os.utime(late, (OLD, OLD))
    e.imp()
    before = spool_snapshot(e.spool)
    p = fiu_ctl(e, "posix/io/dir/unlink", "purge", "--keep-days", "1")
    t.eq(p.returncode, 1, p.stderr)
    t.expect("%s: Input/output error" % gz in p.stderr, p.stderr)
    t.eq(spool_snapshot(e.spool), before, "(purge: the day kept)")
    # a leftover .gz.tmp that cannot be removed (a folder, here): named,
    # exit 1, the day kept, each run; once it can be, both go
    tmp = gz + ".tmp"
    os.makedirs(os.path.join(tmp, "x"))
    for _ in range(2):
        p = e.ctl("purge", "--keep-days", "1")
        t.eq(p.returncode, 1, p.stderr)
        t.expect("%s: Is a directory; the day is kept" % tmp in p.stderr,
                 p.stderr)
        t.eq(spool_snapshot(e.spool), before, "(the day kept)")
    shutil.rmtree(tmp)
    p = e.ctl("purge", "--keep-days", "1")
    t.eq((p.returncode, p.stderr), (0, ""))
    t.eq(spool_snapshot(e.spool), {})


NOBODY = 65534


def ctl_as_nobody(conf, *args):
    """smshookctl -c conf args... as nobody, without root's groups."""
    return subprocess.run(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" %
                           NOBODY, "--clear-groups", t.SMSHOOKCTL, "-c",
                           conf] + list(args), capture_output=True,
                          text=True, timeout=60)


def nobodys(spool_owner, spool_mode):
    """A config nobody reads and a spool of the owner and mode given,
    with an old day file of root's (mode 0644) and one of nobody's;
    returns (dir, conf, spool, the day files' paths)."""
    d = t.tmpdir()
    conf = t.write_conf(d)
    os.chown(conf, NOBODY, NOBODY)
    spool = os.path.join(d, "spool")
    os.mkdir(spool)
    paths = []
    for k, day in enumerate(["2020-01-01", "2020-01-02"]):
        path = ref.append(spool, day, b"".join(
            ref.gen_lines(3, 50 + k, day_tag=day)))
        os.chmod(path, 0o644)
        os.chown(path, NOBODY if k else 0, NOBODY if k else 0)
        os.utime(path, (OLD, OLD))
        paths.append(path)
    os.chown(spool, spool_owner, spool_owner)
    os.chmod(spool, spool_mode)
    return d, conf, spool, paths


def day_bytes(paths):
    """{path: bytes, or None when gone}."""
    out = {}
    for path in paths:
        try:
            with open(path, "rb") as f:
                out[path] = f.read()
        except FileNotFoundError:
            out[path] = None
    return out


def purge_unopenable():
    """purge run by a user who cannot open a day file (root's, now mode
    0600): it names the file and the error, exits 1 and keeps the day;
    the other day goes."""
    d, conf, spool, paths = nobodys(NOBODY, 0o750)
    try:
        os.chmod(paths[0], 0o600)
        before = day_bytes(paths[:1])
        p = ctl_as_nobody(conf, "purge", "--keep-days", "0", "--force")
        t.eq(p.returncode, 1, p.stderr)
        t.expect("%s: Permission denied" % paths[0] in p.stderr, p.stderr)
        t.eq(day_bytes(paths), dict(before, **{paths[1]: None}))
    finally:
        shutil.rmtree(d)


def spool_unlistable():
    """A spool the user can enter but not list (root's, mode 0711; the
    cron lock is the user's): compress, purge and import name it and the
    error, exit 1 and change nothing."""
    d, conf, spool, paths = nobodys(0, 0o711)
    try:
        lock = os.path.join(spool, ".smshookctl.lock")
        with open(lock, "w"):
            pass
        os.chown(lock, NOBODY, NOBODY)
        before = day_bytes(paths)
        for args in (["compress"], ["purge", "--keep-days", "0", "--force"],
                     ["import", "--db", "sqlite:" + os.path.join(d, "x.db")]):
            p = ctl_as_nobody(conf, *args)
            t.eq(p.returncode, 1, "%s: %s" % (args[0], p.stderr))
            t.expect("%s: Permission denied" % spool in p.stderr, p.stderr)
        t.eq(day_bytes(paths), before)
    finally:
        shutil.rmtree(d)


def lock_unopenable():
    """The cron lock a root run left (root's, mode 0640) cannot be opened
    by the user cron now runs as: compress, purge and import name it and
    the error, exit 1 and change nothing."""
    d, conf, spool, paths = nobodys(NOBODY, 0o750)
    try:
        lock = os.path.join(spool, ".smshookctl.lock")
        with open(lock, "w"):
            pass
        os.chmod(lock, 0o640)
        before = day_bytes(paths)
        for args in (["compress"], ["purge", "--keep-days", "0", "--force"],
                     ["import", "--db", "sqlite:" + os.path.join(spool,
                                                                 "x.db")]):
            p = ctl_as_nobody(conf, *args)
            t.eq(p.returncode, 1, "%s: %s" % (args[0], p.stderr))
            t.expect("%s: Permission denied" % lock in p.stderr, p.stderr)
        t.eq(day_bytes(paths), before)
        t.eq(sorted(os.listdir(spool)), [".smshookctl.lock",
                                         "2020-01-01.jsonl",
                                         "2020-01-02.jsonl"])
    finally:
        shutil.rmtree(d)


@scenario
def purge_guard(e):
    days = ["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04"]
    old_days(e, days)
    today = t.day()
    ref.append(e.spool, today, b"".join(ref.gen_lines(3, 5, day_tag="t")))
    # a torn tail is not an un-imported line
    path = ref.append(e.spool, "2020-01-01", b'{"v":1,"half')
    os.utime(path, (OLD, OLD))
    e.imp()
    # un-imported lines: one day then compressed, one still plain
    path = ref.append(e.spool, "2020-01-02", b"".join(
        ref.gen_lines(2, 9, day_tag="new")))
    os.utime(path, (OLD, OLD))
    ref.append(e.spool, "2020-01-04", b"".join(
        ref.gen_lines(2, 8, day_tag="new")))
    p = e.ctl("compress")
    t.eq(p.returncode, 0, p.stderr)
    t.eq(sorted(n for n in os.listdir(e.spool) if n.endswith(".gz")),
         ["2020-01-0%d.jsonl.gz" % d for d in (1, 2, 3)])
    rows = e.db.rows()
    p = e.ctl("purge", "--keep-days", "1")
    t.eq(p.returncode, 1, p.stderr)
    t.expect("2020-01-02.jsonl.gz is not fully imported" in p.stderr,
             p.stderr)
    t.expect("2020-01-04.jsonl is not fully imported" in p.stderr, p.stderr)
    names = sorted(os.listdir(e.spool))
    t.eq([n for n in names if n.startswith("20")],
         ["2020-01-02.jsonl.gz", "2020-01-04.jsonl", today + ".jsonl"])
    t.eq(e.db.rows(), rows, "(purge never touches rows)")
    # and a late .jsonl beside the .gz: -v names both files it removes,
    # and the .gz.tmp a killed compress left of either kind of day
    ref.append(e.spool, "2020-01-02", b"".join(
        ref.gen_lines(1, 10, day_tag="late")))
    for day in ("2020-01-02", "2020-01-04"):
        with open(os.path.join(e.spool, day + ".jsonl.gz.tmp"), "wb") as f:
            f.write(b"\x1f\x8b")
    p = e.ctl("purge", "--keep-days", "1", "--force", "-v")
    t.eq(p.returncode, 0, p.stderr)
    t.eq(sorted(ln.split("purge: removed ")[1] for ln in
                p.stdout.splitlines()),
         [os.path.join(e.spool, n) for n in (
             "2020-01-02.jsonl", "2020-01-02.jsonl.gz",
             "2020-01-02.jsonl.gz.tmp", "2020-01-04.jsonl",
             "2020-01-04.jsonl.gz.tmp")])
    t.eq([n for n in os.listdir(e.spool) if n.startswith("20")],
         [today + ".jsonl"])

    def keep_today(now):
        # today by purge's clock: after a midnight since the day above,
        # that day is yesterday's and a new one, imported, is today's
        if now != today:
            ref.append(e.spool, now, b"".join(ref.gen_lines(
                3, 6, day_tag="t")))
            e.imp()
        p = e.ctl("purge", "--keep-days", "0")
        t.eq(p.returncode, 0, p.stderr)
        t.expect(now + ".jsonl" in os.listdir(e.spool), "today is kept")
    t.same_day(keep_today)


@scenario
def purge_before_import(e):
    """No import has run yet (no tables): purge reads each day from its
    start, as it would a day without a position. An empty day and one of
    only an unfinished line have nothing to import and go; a day with a
    complete line is kept (exit 1); no table is made."""
    ref.append(e.spool, "2020-01-01", b"")
    ref.append(e.spool, "2020-01-02", b'{"v":1,"half')
    old_days(e, ["2020-01-03"], n=2)
    for day in ("2020-01-01", "2020-01-02"):
        os.utime(os.path.join(e.spool, day + ".jsonl"), (OLD, OLD))
    p = e.ctl("purge", "--keep-days", "1", "-v")
    t.eq(p.returncode, 1, p.stderr)
    t.eq(sorted(p.stdout.splitlines()),
         ["purge: removed " + os.path.join(e.spool, "2020-01-0%d.jsonl" % d)
          for d in (1, 2)])
    t.eq(p.stderr.count("is not fully imported"), 1, p.stderr)
    t.expect("2020-01-03.jsonl is not fully imported" in p.stderr, p.stderr)
    t.eq([n for n in os.listdir(e.spool) if n.startswith("20")],
         ["2020-01-03.jsonl"])
    t.eq(e.db.rows(), [], "(no table made)")


@scenario
def purge_shorter(e):
    """A day file shorter than its imported position (cut back to its
    first line after import) is not taken for imported: purge keeps it
    and says why; import reads it again from its start (its first line
    is in already), and purge then removes it."""
    day = "2020-02-01"
    lines = ref.gen_lines(3, 21, dup_rate=0, day_tag=day)
    path = ref.append(e.spool, day, b"".join(lines))
    e.imp()
    rows = e.db.rows()
    os.truncate(path, len(lines[0]))
    os.utime(path, (OLD, OLD))
    p = e.ctl("purge", "--keep-days", "0")
    t.eq(p.returncode, 1, p.stderr)
    t.expect(day + ".jsonl: no line ends at its imported position" in
             p.stderr and "kept" in p.stderr, p.stderr)
    t.expect(os.path.exists(path), "the shorter file is kept")
    p = e.ctl("import")
    t.eq(p.returncode, 0, p.stderr)
    t.expect(day + ".jsonl is not the text imported before" in p.stderr and
             "read from its start" in p.stderr, p.stderr)
    t.eq(e.db.rows(), rows, "(nothing imported twice)")
    p = e.ctl("purge", "--keep-days", "0")
    t.eq((p.returncode, p.stderr), (0, ""))
    t.expect(not os.path.exists(path), "purged once read again")


@scenario
def cut_back_and_grown(e):
    """A day file cut back below its imported position (power loss took
    lines import had read) that has grown past it again with new events
    before the next run, one day left plain and one compressed since: no
    line ends at the position, so stats counts all of it as lag, purge
    keeps it and import reads it again from its start. Every new event
    gets its row, the rows of the lost lines stay, none is doubled, and
    nothing lands in the rejects."""
    days = ["2020-02-05", "2020-02-06"]
    paths = {}
    for k, day in enumerate(days):
        lines = ref.gen_lines(5, 60 + k, dup_rate=0, day_tag=day)
        paths[day] = ref.append(e.spool, day, b"".join(lines))
        os.utime(paths[day], (OLD, OLD))
    e.imp()
    before = e.db.rows()
    pos = e.db.positions()
    for k, day in enumerate(days):
        keep = sum(len(x) for x in ref.gen_lines(5, 60 + k, dup_rate=0,
                                                     day_tag=day)[:3])
        os.truncate(paths[day], keep)
        ref.append(e.spool, day, b"".join(ref.gen_lines(
            6, 70 + k, dup_rate=0, day_tag=day + "new")))
        t.expect(os.path.getsize(paths[day]) > pos[day],
                 "%s grew past its position" % day)
        os.utime(paths[day], (OLD, OLD))
    grown = sum(os.path.getsize(paths[d]) for d in days)
    p = e.ctl("stats", "--json")
    t.eq(p.returncode, 0, p.stderr)
    t.eq(json.loads(p.stdout)["import"]["lag_bytes"], grown,
         "(stats: all of both days is still to import)")
    p = e.ctl("purge", "--keep-days", "0")
    t.eq(p.returncode, 1, p.stderr)
    for day in days:
        t.expect(day + ".jsonl: no line ends at its imported position %d" %
                 pos[day] in p.stderr, p.stderr)
    t.eq(sorted(n for n in os.listdir(e.spool) if n.startswith("20")),
         [day + ".jsonl" for day in days], "(purge keeps both)")
    # the second day compressed since: its text read through zlib
    os.utime(paths[days[1]], (OLD, OLD))
    p = e.ctl("compress")
    t.eq(p.returncode, 0, p.stderr)
    t.expect(os.path.exists(paths[days[1]] + ".gz"), "compressed")
    want = ref.reference(e.spool)
    p = e.ctl("import")
    t.eq(p.returncode, 0, p.stderr)
    for day in days:
        t.expect(day + ".jsonl" in p.stderr and "read from its start" in
                 p.stderr, p.stderr)
    rows = e.db.rows()
    t.eq(sorted(set(rows)), sorted(set(before) | set(want)),
         "(the lost lines' rows stay, every new event has its row)")
    t.eq(len(rows), len(set(rows)), "(no row twice)")
    t.eq(e.db.rejects(), [])
    p = e.ctl("purge", "--keep-days", "0")
    t.eq((p.returncode, p.stderr), (0, ""))
    t.eq([n for n in os.listdir(e.spool) if n.startswith("20")], [])


@scenario
def import_sync_fails(e):
    """Import makes the text it read durable before committing its
    position (with fsync = no the receiver's lines may be in memory
    only): when that fdatasync fails (libfiu), import names the day and
    the error, exits 1 and commits nothing; the next run imports it.
    SQLite syncs its own files during the run too, and its sync may be
    the one that fails (then its commit fails): PostgreSQL's client
    makes none, so there the failure is import's own."""
    old_days(e, ["2020-02-06"])
    e.imp()
    rows, pos = e.db.rows(), e.db.positions()
    old_days(e, ["2020-02-07"], seed=7)
    p = subprocess.run([FIU, "-x", "-f", "", "-c", "enable name=posix/io/"
                        "sync/fdatasync,onetime=1,failinfo=5", t.SMSHOOKCTL,
                        "-c", e.conf, "import"], capture_output=True,
                       text=True, timeout=60)
    t.eq(p.returncode, 1, p.stderr)
    if e.db.kind == "pg":
        t.expect("2020-02-07: sync: Input/output error" in p.stderr,
                 p.stderr)
    t.eq((e.db.rows(), e.db.positions()), (rows, pos),
         "(nothing committed)")
    e.imp()
    t.eq(e.db.rows(), ref.reference(e.spool))


DAYFAULT_SO = os.path.join(t.BUILD, "tests", "dayfault.so")


def dayfault(path, **faults):
    """The environment of tests/lib/dayfault.c acting on the day file at
    path: faults as its DAYFAULT_ variables (pread="OFF:NTH", truncate=1)."""
    return preload(DAYFAULT_SO, DAYFAULT_FILE=path,
                   **{"DAYFAULT_" + k.upper(): str(v)
                      for k, v in faults.items()})


@scenario
def position_unreadable(e):
    """The bytes before a day's imported position cannot be read (the
    first read of the 256 its mark covers gets EIO, tests/lib/dayfault.c):
    that is an error, not a text the position is not in. import names
    the day file and the error, exits 1 and commits nothing, and does not
    read the day from its start; purge names it too and keeps it; stats
    leaves the import metrics out (null), naming the file, and exits 1,
    where taking the day for another text would count all of it as lag.
    Without the fault, import takes the new lines once."""
    day = "2020-02-08"
    lines = ref.gen_lines(8, 81, dup_rate=0, day_tag=day)
    path = ref.append(e.spool, day, b"".join(lines[:5]))
    e.imp()
    rows, pos = e.db.rows(), e.db.positions()
    t.eq(pos, {day: sum(map(len, lines[:5]))})
    ref.append(e.spool, day, b"".join(lines[5:]))
    os.utime(path, (OLD, OLD))
    env = dayfault(path, pread=pos[day] - min(256, pos[day]))
    p = e.ctl("import", env=env)
    t.eq(p.returncode, 1, p.stderr)
    t.expect("%s: Input/output error" % path in p.stderr, p.stderr)
    t.expect("read from its start" not in p.stderr, p.stderr)
    t.eq((e.db.rows(), e.db.positions()), (rows, pos), "(nothing committed)")
    p = e.ctl("purge", "--keep-days", "0", env=env)
    t.eq(p.returncode, 1, p.stderr)
    t.expect("%s: Input/output error" % path in p.stderr, p.stderr)
    t.expect("no line ends" not in p.stderr, p.stderr)
    t.expect(os.path.exists(path), "kept")
    p = e.ctl("stats", "--json", env=env)
    t.eq(p.returncode, 1, p.stderr)		# the counts still come
    t.expect("import metrics left out: %s: Input/output error" % path
             in p.stderr, p.stderr)
    t.eq(json.loads(p.stdout)["import"], None, "(no import metrics)")
    e.imp()
    t.eq(e.db.rows(), ref.reference(e.spool))
    t.eq(e.db.positions(), {day: os.path.getsize(path)})


@scenario
def restart_unopenable(e):
    """A day file cut back below its imported position, which import
    would read again from its start, cannot be opened at its start
    either (the measuring read of its last byte, the second at that
    offset, gets EIO: tests/lib/dayfault.c): import names the day file
    and the error, exits 1 and commits nothing, and does not say it
    reads the day from its start. Without the fault it does."""
    day = "2020-02-09"
    lines = ref.gen_lines(4, 91, dup_rate=0, day_tag=day)
    path = ref.append(e.spool, day, b"".join(lines))
    e.imp()
    rows, pos = e.db.rows(), e.db.positions()
    os.truncate(path, len(lines[0]) + len(lines[1]))
    os.utime(path, (OLD, OLD))
    p = e.ctl("import", env=dayfault(
        path, pread="%d:2" % (os.path.getsize(path) - 1)))
    t.eq(p.returncode, 1, p.stderr)
    t.expect("%s: Input/output error" % path in p.stderr, p.stderr)
    t.expect("read from its start" not in p.stderr, p.stderr)
    t.eq((e.db.rows(), e.db.positions()), (rows, pos), "(nothing committed)")
    p = e.ctl("import")
    t.eq(p.returncode, 0, p.stderr)
    t.expect(day + ".jsonl is not the text imported before" in p.stderr,
             p.stderr)
    t.eq(e.db.rows(), rows, "(nothing imported twice)")
    t.eq(e.db.positions(), {day: os.path.getsize(path)})


@scenario
def first_line_gone(e):
    """A day file emptied between import's reading it and its commit (by
    tests/lib/dayfault.c when import makes the text it read durable):
    the position cannot be marked with the day's first line, so import
    says the line is gone, exits 1 and commits nothing."""
    day = "2020-02-10"
    path = ref.append(e.spool, day, b"".join(ref.gen_lines(
        3, 95, dup_rate=0, day_tag=day)))
    p = e.ctl("import", env=dayfault(path, truncate=1))
    t.eq(p.returncode, 1, p.stderr)
    t.expect("%s: its first line: gone" % day in p.stderr, p.stderr)
    t.eq(os.path.getsize(path), 0, "(emptied by the shim)")
    t.eq((e.db.rows(), e.db.positions()), ([], {}), "(nothing committed)")


def new_gate(e):
    """A directory for the FIFO of tests/lib/dayfault.c's gate."""
    d = os.path.join(os.path.dirname(e.spool), "gate")
    os.mkdir(d)
    return d


def jsonl_rows(out):
    """export --format jsonl's output as reference rows."""
    rows = []
    for x in out.splitlines():
        o = json.loads(x)
        o["payload"] = ref.canon(o["payload"])
        rows.append(tuple(o[c] for c in ref.COLS))
    return rows


def gated_ctl(e, gate, env, *args):
    """Start smshookctl args with env (dayfault(..., gate=...)) and wait
    until it is held at its gate: the process."""
    p = subprocess.Popen([t.SMSHOOKCTL, "-c", e.conf] + list(args),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=dict(os.environ, **env))
    t.gate_wait(gate, p, " ".join(args), exited=lambda q: q.communicate())
    return p


@scenario
def merged_while_read(e):
    """compress merges a late .jsonl into its .gz while export or verify
    reads the day (they take no lock): tests/lib/dayfault.c holds them at
    an open of one of the day's files until the merge is done. Held
    before the .jsonl, once the .gz is read: its lines are read in the new
    .gz, once, and the command exits 0. Held before the .gz, after it was
    measured: the new .gz is read, and a .jsonl written after the merge
    (the clock went back again) is left for the next run, not read at
    offsets that are not its own."""
    day = "2020-02-11"
    gate = new_gate(e)
    lines = ref.gen_lines(8, 111, dup_rate=0, day_tag=day)
    gz = os.path.join(e.spool, day + ".jsonl.gz")
    for cmd in (("export", "--format", "jsonl"), ("verify", day)):
        for which, nth in (("late", 2), ("gz", 3)):
            what = "%s, held at the %s" % (cmd[0], which)
            for n in os.listdir(e.spool):
                if n.startswith(day):
                    os.unlink(os.path.join(e.spool, n))
            put_gz(e.spool, day, b"".join(lines[:3]))
            late = ref.append(e.spool, day, b"".join(lines[3:6]))
            os.utime(late, (OLD, OLD))
            want = ref.reference(e.spool)
            p = gated_ctl(e, gate, dayfault(
                late if which == "late" else gz,
                gate="%d:%s" % (nth, gate)), *cmd)
            c = e.ctl("compress")
            t.eq(c.returncode, 0, c.stderr)
            t.expect(not os.path.exists(late), "merged (%s)" % what)
            if which == "gz":
                ref.append(e.spool, day, b"".join(lines[6:]))
            t.gate_release(gate, p)
            out, err = p.communicate(timeout=60)
            t.eq((p.returncode, err), (0, ""), "(%s)" % what)
            if cmd[0] == "verify":
                t.expect("6 lines, 0 invalid" in out, "%s: %s" % (what, out))
                continue
            t.eq(jsonl_rows(out), want, "(%s: every line once)" % what)
    p = e.ctl("verify", day)			# the day's whole text now
    t.eq(p.returncode, 0, p.stdout)
    t.expect("8 lines, 0 invalid" in p.stdout, p.stdout)


@scenario
def purged_while_read(e):
    """purge removes a day export, verify or stats listed but had not
    opened yet (tests/lib/dayfault.c holds them at its open until purge
    is done): the day is no longer one, as if they had run after purge;
    each exits 0 with the days that are left."""
    old = "2020-02-12"
    kept = (datetime.now(zoneinfo.ZoneInfo("UTC")) -
            timedelta(days=1)).strftime("%Y-%m-%d")	# purge keeps it
    gate = new_gate(e)
    for cmd in (("export", "--format", "jsonl"), ("verify",),
                ("stats", "--json")):
        for day, seed in ((old, 121), (kept, 122)):
            ref.append(e.spool, day, b"".join(ref.gen_lines(
                4, seed, dup_rate=0, day_tag=day + cmd[0])))
        path = os.path.join(e.spool, old + ".jsonl")
        os.utime(path, (OLD, OLD))
        e.imp()
        want = ref.reference(e.spool, days={kept})
        p = gated_ctl(e, gate, dayfault(path, gate="1:" + gate), *cmd)
        c = e.ctl("purge", "--keep-days", "5")
        t.eq((c.returncode, c.stderr), (0, ""), "(purge)")
        t.expect(not os.path.exists(path), "purged")
        t.gate_release(gate, p)
        out, err = p.communicate(timeout=60)
        t.eq((p.returncode, err), (0, ""), "(%s)" % cmd[0])
        if cmd[0] == "export":
            t.eq(jsonl_rows(out), want)
        elif cmd[0] == "verify":
            t.expect("1 file, %d lines, 0 invalid" % len(want) in out, out)
        else:
            doc = json.loads(out)
            t.eq([d["day"] for d in doc["days"]], [kept])
            t.eq(doc["all"]["total"], len(want))
        os.unlink(os.path.join(e.spool, kept + ".jsonl"))


@scenario
def purge_unlink_fails(e):
    """purge cannot remove a late .jsonl beside the .gz it removed
    (tests/lib/dayfault.c fails its unlink with EIO): it names that file
    and the error, and exits 1; without the fault the next purge removes
    it."""
    day = "2020-02-13"
    put_gz(e.spool, day, b"".join(ref.gen_lines(2, 131, day_tag=day)))
    late = ref.append(e.spool, day, b"".join(ref.gen_lines(
        1, 132, day_tag=day + "late")))
    p = e.ctl("purge", "--keep-days", "5", "--force",
              env=dayfault(late, unlink=1))
    t.eq(p.returncode, 1, p.stderr)
    t.eq(p.stderr.strip(), "smshookctl purge: %s: Input/output error"
         % late)
    t.expect(os.path.exists(late), "kept")
    p = e.ctl("purge", "--keep-days", "5", "--force")
    t.eq((p.returncode, p.stderr), (0, ""))
    t.expect(not os.path.exists(late), "removed")


def fixed_line(day, tag, i):
    """A delivered event's spool line, of one length whatever the tag
    (three letters) and i (below 60)."""
    p = dict(t.SAMPLES["delivered"], smsId="%s-%s-%02d$139" % (day, tag, i),
             timestamp=1767225600000 + i, token="%s%047d" % (tag, i),
             signature="0" * 64)
    return t.v1_line(p, received_at="2026-01-01T00:00:%02d.000Z" % i)


@scenario
def day_written_again(e):
    """A day purged after its import, then written again (the clock went
    back, or a request read before midnight was stored after purge
    --keep-days 0): whether the new file is longer than the text
    imported, as long (plain or compressed) or shorter, purge keeps it
    until import has read it from its start, once."""
    cases = [("2020-03-01", 5), ("2020-03-02", 3), ("2020-03-03", 1),
             ("2020-03-04", 3)]
    for day, _ in cases:
        path = ref.append(e.spool, day, b"".join(
            fixed_line(day, "old", i) for i in range(3)))
        os.utime(path, (OLD, OLD))
    e.imp()
    old_rows = e.db.rows()
    t.eq(len(old_rows), 12)
    p = e.ctl("compress")
    t.eq(p.returncode, 0, p.stderr)
    p = e.ctl("purge", "--keep-days", "0")
    t.eq((p.returncode, p.stderr), (0, ""))
    t.eq([n for n in os.listdir(e.spool) if n.startswith("20")], [])
    size = 0
    for day, n in cases:
        path = ref.append(e.spool, day, b"".join(
            fixed_line(day, "new", i) for i in range(n)))
        size += os.path.getsize(path)
    os.utime(path, (OLD, OLD))		# the last day compressed again
    p = e.ctl("compress")
    t.eq(p.returncode, 0, p.stderr)
    t.eq(sorted(n for n in os.listdir(e.spool) if n.startswith("20")),
         ["2020-03-01.jsonl", "2020-03-02.jsonl", "2020-03-03.jsonl",
          "2020-03-04.jsonl.gz"])
    p = e.ctl("stats", "--json")
    t.eq(p.returncode, 0, p.stderr)
    t.eq(json.loads(p.stdout)["import"]["lag_bytes"], size,
         "(stats: all of the new files is still to import)")
    p = e.ctl("purge", "--keep-days", "0")
    t.eq(p.returncode, 1, p.stderr)
    for day, _ in cases:
        t.expect(day + ".jsonl" in p.stderr, "%s named: %s" % (day, p.stderr))
    t.eq(len([n for n in os.listdir(e.spool) if n.startswith("20")]), 4,
         "(purge keeps the four)")
    p = e.ctl("import")
    t.eq(p.returncode, 0, p.stderr)
    for day, _ in cases:
        t.expect(day + ".jsonl" in p.stderr and "not the file imported "
                 "before" in p.stderr, "%s named: %s" % (day, p.stderr))
    t.eq(e.db.rows(), old_rows + ref.reference(e.spool),
         "(every new line imported once)")
    t.eq(len(e.db.rows()), 12 + 12)
    p = e.imp()
    t.eq(p.stdout + p.stderr, "", "(then nothing new)")
    p = e.ctl("purge", "--keep-days", "0")
    t.eq((p.returncode, p.stderr), (0, ""))
    t.eq([n for n in os.listdir(e.spool) if n.startswith("20")], [])


def purge_usage():
    d = t.tmpdir()
    try:
        conf = t.write_conf(d)
        os.makedirs(os.path.join(d, "spool"))
        p = t.ctl(conf, "purge")
        t.eq(p.returncode, 2)
        p = t.ctl(conf, "purge", "--keep-days", "3")
        t.eq(p.returncode, 1)
        t.expect("--force" in p.stderr and "database" in p.stderr, p.stderr)
        p = t.ctl(conf, "purge", "--keep-days", "-1")
        t.eq(p.returncode, 2)
    finally:
        import shutil
        shutil.rmtree(d, ignore_errors=True)


@scenario
def crontab_example(e):
    """conf-examples/crontab, placeholders filled in, each command run as
    cron would: exit 0 and no output (cron mails any output), check's
    too."""
    with open(os.path.join(t.TOP, "conf-examples", "crontab")) as f:
        text = f.read()
    text = (text.replace("@BINDIR@", os.path.dirname(t.SMSHOOKCTL))
            .replace("@CONF@", e.conf).replace("@USER@", "root"))
    cmds = [ln.split(None, 5)[5] for ln in text.splitlines()
            if ln and not ln.startswith("#") and "=" not in ln.split()[0]]
    t.eq([c.split()[3] for c in cmds], ["import", "compress", "purge",
                                        "check"])
    old_days(e, ["2020-01-01", "2020-01-02"])
    want = ref.reference(e.spool)
    # the lines are the receiver's user's; here root's spool is root's,
    # and check, run as root, asks whose receiver it checks for
    cmds[3] = cmds[3].replace(" check", " check --user root")
    for c in cmds:
        p = subprocess.run(["sh", "-c", c], capture_output=True, text=True,
                           timeout=60)
        t.eq((p.returncode, p.stdout, p.stderr), (0, "", ""), "(%s)" % c)
    t.eq(e.db.rows(), want)
    t.eq(os.listdir(e.spool), [".smshookctl.lock"],
         "(imported, compressed, then purged)")


SCENARIOS = [export_formats, compress_then_import, compressed_torn_then_late,
             torn_gz_position, torn_then_regrown, gz_only_torn_then_late,
             late_still_written,
             merge_stopped_before_unlink, restored_beside_gz,
             compress_fifo, purge_guard,
             purge_before_import,
             purge_shorter, cut_back_and_grown, day_written_again,
             gz_cut_mid_stream, gz_cut_before_trailer, gz_not_gzip,
             gz_member_cut_1_byte, gz_member_magic_flipped, gz_junk_after,
             gz_trailing_zeros, gz_members_whole,
             crontab_example]
# preloading tests/lib/dayfault.c: not under AddressSanitizer
DAYFAULT_SCENARIOS = [position_unreadable, restart_unopenable,
                      first_line_gone]
# and those no database takes part in: run once
DAYFAULT_SPOOL_SCENARIOS = [merged_while_read, purged_while_read,
                            purge_unlink_fails]


def main():
    r = t.Runner("ctl-export-compress-purge")
    r.check("purge usage", purge_usage)
    if "ASAN_OPTIONS" in os.environ:
        # a preloaded shim (ours or libfiu's) does not stack with ASan;
        # the plain build runs these
        print("SKIP compress_read_back_fails, compress_changed, "
              "merge_write_fails, import_sync_fails, rename_unlink_fail "
              "and the DAYFAULT_SCENARIOS under AddressSanitizer")
    else:
        if t.shim_built(r, GZCORRUPT_SO):
            r.check("sqlite: compress_read_back_fails",
                    compress_read_back_fails, "sqlite", None)
            r.check("sqlite: compress_changed", compress_changed, "sqlite",
                    None)
        if t.shim_built(r, DAYFAULT_SO):
            for s in DAYFAULT_SCENARIOS + DAYFAULT_SPOOL_SCENARIOS:
                r.check("sqlite: " + s.__name__, s, "sqlite", None)
        if FIU is None:
            print("SKIP merge_write_fails, import_sync_fails, "
                  "rename_unlink_fail: fiu-run not installed (fiu-utils)")
        else:
            r.check("sqlite: merge_write_fails", merge_write_fails,
                    "sqlite", None)
            r.check("sqlite: import_sync_fails", import_sync_fails,
                    "sqlite", None)
            r.check("sqlite: rename_unlink_fail", rename_unlink_fail,
                    "sqlite", None)
    if os.geteuid() != 0:
        print("SKIP purge_unopenable, spool_unlistable, lock_unopenable: "
              "need root (files of another user)")
    else:
        r.check("purge: a day file it cannot open", purge_unopenable)
        r.check("a spool it cannot list", spool_unlistable)
        r.check("a lock it cannot open", lock_unopenable)
    for s in SCENARIOS:
        r.check("sqlite: " + s.__name__, s, "sqlite", None)
    pgdir = None
    try:
        try:
            pgdir, url = t.pg_start()
        except Exception as exc:  # noqa: BLE001
            def fail():
                raise exc
            r.check("postgresql server starts", fail)
            url = None
        if url is not None:
            for s in SCENARIOS:
                r.check("postgresql: " + s.__name__, s, "pg", url)
            if FIU is not None and "ASAN_OPTIONS" not in os.environ:
                r.check("postgresql: import_sync_fails", import_sync_fails,
                        "pg", url)
            if os.path.exists(DAYFAULT_SO) and \
                    "ASAN_OPTIONS" not in os.environ:
                for s in DAYFAULT_SCENARIOS:
                    r.check("postgresql: " + s.__name__, s, "pg", url)
    finally:
        if pgdir is not None:
            t.pg_stop(pgdir)
    return r.finish()


if __name__ == "__main__":
    sys.exit(main())
