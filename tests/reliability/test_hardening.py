#!/usr/bin/env python3
"""Hardening: each finding of an adversarial review, reproduced end to
end against the real binaries (RELIABILITY.md, "Hardening", has the
findings, causes and fixes).

  forgery    digits moved from the timestamp to the token, and back
  refused    lines PostgreSQL cannot hold go to smshook_rejects, the day
             goes on (SQLite imports what it can hold)
  square     a request naming many ids costs its payload once
  late       a line written after its day was compressed is imported
             once and never purged before that
  names      an escaped duplicate name is refused at the receiver
  fifo       a FIFO where the day file goes: 503, nothing acknowledged
  long       a compressed day of one endless line: bounded memory, each
             command exits 0; a long complete line is a reject with its
             offset, and invalid for verify
  export     spreadsheet formulas neutralised; verified imported; the
             summary of a failed import counts nothing it did not commit
"""
import gzip
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "ctl"))
import smshooktest as t  # noqa: E402
import ctlref as ref  # noqa: E402

PG = {}


def ctl_rss(conf, *args):
    """Run smshookctl; (returncode, stdout, stderr, its own max RSS KiB)."""
    import tempfile
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            os.execv(t.SMSHOOKCTL, [t.SMSHOOKCTL, "-c", conf] + list(args))
        _, status, ru = os.wait4(pid, 0)
        out.seek(0)
        err.seek(0)
        return (os.waitstatus_to_exitcode(status), out.read().decode(),
                err.read().decode(), ru.ru_maxrss)


def rss_bounded(rss, what):
    """rss (KiB) is under 32 MiB. Not asserted under AddressSanitizer,
    whose quarantine keeps freed memory resident: the plain build of
    the same run asserts it."""
    if "ASAN_OPTIONS" in os.environ:
        return
    t.expect(rss is not None and rss < 32 * 1024,
             "%s: max RSS %s KiB" % (what, rss))


def stored(spool):
    return [line for _, line in t.spool_lines(spool)]


def post(conf, ev=None, body=None, env=None):
    body = body if body is not None else t.json_body(ev)
    st, hd, rb, err = t.cgi(conf, body=body, env=env)
    return st, hd, (json.loads(rb) if rb else None), err


def forgery(d):
    """One captured event must not become others by moving digits."""
    conf = t.write_conf(d)
    spool = os.path.join(d, "spool")
    ev = t.event("failed", statusCode=500)
    st, _, rb, err = post(conf, ev)
    t.eq((st, rb), (200, {"status": "success"}), err)
    ts, tok = str(ev["timestamp"]), ev["token"]
    for k in (1, 2, 3):
        # the same signed text, split elsewhere: timestamp digits to the
        # token, or token digits to the timestamp
        forged = dict(ev, timestamp=int(ts[:-k]), token=ts[-k:] + tok,
                      statusCode=999)
        st, _, rb, _ = post(conf, forged)
        t.eq(st, 400, "shifted %d digit(s) into the token: %r" % (k, rb))
    forged = dict(ev, timestamp=int(ts + "0"), token="0" + tok)
    st, _, _, _ = post(conf, forged)
    t.eq(st, 400, "a digit from the token into the timestamp")
    lines = stored(spool)
    t.eq(len(lines), 1, "only the genuine event is stored")


def proxied_client(d):
    """Behind a trusted proxy, an X-Forwarded-For hop that is no address
    leaves the client unknown (403), never the proxy taken for it, even
    where allow_from covers the proxies' network; a hop's port, as some
    proxies write it, is read as its address."""
    conf = t.write_conf(d, extra="trusted_proxies = 127.0.0.0/8\n"
                        "allow_from = 127.0.0.0/8, 203.0.113.0/24\n")
    spool = os.path.join(d, "spool")
    for xff, want in (("198.51.100.7, garbage", "client address unknown"),
                      ("garbage", "client address unknown"),
                      ("198.51.100.7, 127.0.0.5, [::1", "client address "
                       "unknown"),
                      ("198.51.100.7:4711", "client not allowed")):
        st, _, rb, err = post(conf, t.event(),
                              env={"HTTP_X_FORWARDED_FOR": xff})
        t.eq((st, rb), (403, {"error": want}), "%s: %s" % (xff, err))
    t.eq(stored(spool), [], "nothing stored")
    st, _, rb, err = post(conf, t.event(),
                          env={"HTTP_X_FORWARDED_FOR": "203.0.113.9:4711"})
    t.eq((st, rb), (200, {"status": "success"}), err)
    t.eq([line["remote_addr"] for line in stored(spool)], ["203.0.113.9"])


def refused_pg(d):
    """Lines PostgreSQL refuses become rejects; the day goes on."""
    spool = os.path.join(d, "spool")
    day = "2026-01-05"
    good = lambda i: t.v1_line(dict(t.event(smsId="ok-%d" % i)))
    bad = [
        t.v1_line(dict(t.event(smsId="big-num"))).replace(
            b'"smsId"', b'"customArgs":1e131072,"smsId"'),
        t.v1_line(dict(t.event(smsId="tiny-num"))).replace(
            b'"smsId"', b'"customArgs":[1e-16384],"smsId"'),
        # random text: PostgreSQL cannot compress it into an index entry
        t.v1_line(dict(t.event(smsId=os.urandom(1500).hex()))),
        t.v1_line(dict(t.event(smsId="bad-time")),
                  received_at="2026-13-45T99:99:99.000Z"),
    ]
    data = b"".join([good(0)] + bad + [good(9)])
    os.makedirs(spool)
    with open(os.path.join(spool, day + ".jsonl"), "wb") as f:
        f.write(data)
    offsets, off = [], 0
    for line in data.split(b"\n")[:-1]:
        offsets.append(off)
        off += len(line) + 1
    # SQLite holds them all
    sq = ref.SqliteDB(d)
    conf = t.write_conf(d, extra="database = " + sq.url)
    p = t.ctl(conf, "import", "-v")
    t.eq(p.returncode, 0, p.stderr)
    t.eq(len(sq.rows()), 6, "SQLite: every line a row")
    if "url" not in PG:
        return
    pg = ref.PgDB(PG["url"])
    p = t.ctl(conf, "import", "--db", pg.url, "-v")
    t.eq(p.returncode, 0, "PostgreSQL import must go on: " + p.stderr)
    rej = pg.rejects()
    t.eq(sorted(r[1] for r in rej), offsets[1:5], "the four refused lines")
    for r in rej:
        t.expect(r[2].startswith("postgresql:"), "the database's reason: %r"
                 % (r[2],))
    ids = sorted(r[2] for r in pg.rows())
    t.eq(ids, ["ok-0", "ok-9"], "the lines before and after are imported")
    t.expect("2 rows inserted" in p.stdout and "4 rejected" in p.stdout,
             p.stdout)
    # a rerun changes nothing
    p = t.ctl(conf, "import", "--db", pg.url, "-v")
    t.expect("0 rows inserted" in p.stdout, p.stdout)
    t.eq(len(pg.rejects()), 4)


def many_ids(n, i):
    ev = t.event("requested", smsIds=["%d_9373_%d_%06d$1380000%04d" %
                                      (1700000000000 + i, i, k, k % 10000)
                                      for k in range(n)],
                 phones=["1380000%04d" % (k % 10000) for k in range(n)],
                 message="request")
    return t.v1_line(ev)


def square(d):
    """2,000 ids: the payload once, not 2,000 times; memory bounded."""
    spool = os.path.join(d, "spool")
    os.makedirs(spool)
    lines = [many_ids(2000, i) for i in range(20)]
    with open(os.path.join(spool, "2026-01-06.jsonl"), "wb") as f:
        f.write(b"".join(lines))
    spool_bytes = sum(len(x) for x in lines)
    sq = ref.SqliteDB(d)
    conf = t.write_conf(d, extra="database = " + sq.url)
    p = t.ctl(conf, "import")
    t.eq(p.returncode, 0, p.stderr)
    size = os.path.getsize(sq.path) + (os.path.getsize(sq.path + "-wal")
                                       if os.path.exists(sq.path + "-wal")
                                       else 0)
    t.eq(len(sq._q("SELECT id FROM sms_events")), 40000)
    t.eq(len(sq._q("SELECT id FROM sms_event_payloads")), 20)
    t.expect(size < 12 * spool_bytes,
             "SQLite %d bytes for %d bytes of spool" % (size, spool_bytes))
    if "url" not in PG:
        return
    pg = ref.PgDB(PG["url"])
    rc, out, err, rss = ctl_rss(conf, "import", "--db", pg.url)
    t.eq(rc, 0, err)
    rss_bounded(rss, "PostgreSQL importer")
    print("figures: %d ids, %d KiB of spool, SQLite %d KiB, importer "
          "max RSS %d KiB" % (40000, spool_bytes >> 10, size >> 10, rss))


def migrate(d):
    """A database of the first version is migrated, keeping its rows."""
    spool = os.path.join(d, "spool")
    os.makedirs(spool)
    path = os.path.join(d, "old.db")
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE sms_events (id INTEGER PRIMARY KEY, event_type "
        "INTEGER, event TEXT, sms_id TEXT, phone TEXT, user_id TEXT, "
        "sms_user TEXT, template_id TEXT, message TEXT, status_code "
        "INTEGER, event_time INTEGER, received_at TEXT, payload TEXT NOT "
        "NULL);"
        "CREATE UNIQUE INDEX sms_events_message ON sms_events (event_type, "
        "sms_id) WHERE sms_id IS NOT NULL;"
        "CREATE UNIQUE INDEX sms_events_template ON sms_events (event_type,"
        " template_id, event_time) WHERE sms_id IS NULL;"
        "CREATE INDEX sms_events_time ON sms_events (event_time);"
        "CREATE TABLE smshook_positions (source TEXT NOT NULL, day TEXT "
        "NOT NULL, byte_offset INTEGER NOT NULL, gz_size INTEGER, PRIMARY "
        "KEY (source, day));"
        "CREATE TABLE smshook_rejects (source TEXT NOT NULL, day TEXT NOT "
        "NULL, byte_offset INTEGER NOT NULL, reason TEXT NOT NULL, line "
        "TEXT NOT NULL, PRIMARY KEY (source, day, byte_offset));")
    pay = '{"smsIds":["a","b"],"token":"t"}'
    for sid in ("a", "b"):
        db.execute("INSERT INTO sms_events (event_type, sms_id, "
                   "received_at, payload) VALUES (1, ?, "
                   "'2026-01-01T00:00:00.000Z', ?)", (sid, pay))
    db.execute("INSERT INTO sms_events (event_type, sms_id, received_at, "
               "payload) VALUES (20, 'c', '2026-01-01T00:00:01.000Z', "
               "'{\"smsId\":\"c\"}')")
    # two phones' replies in one second, under the template id the
    # provider's sample sends: one key once their reply time is taken
    for phone, text, ms in (("13800000001", "TD", 1767225600123),
                            ("13800000002", "STOP", 1767225600456)):
        db.execute("INSERT INTO sms_events (event_type, phone, template_id,"
                   " event_time, received_at, payload) VALUES (6, ?, '0', ?,"
                   " '2026-01-01T00:00:02.000Z', ?)", (phone, ms, json.dumps(
                       {"eventType": 6, "phone": phone, "templateId": 0,
                        "replyContent": text,
                        "replyTime": "2026-01-01 08:00:00",
                        "timestamp": ms, "token": "t" + phone})))
    db.commit()
    db.close()
    conf = t.write_conf(d, extra="database = sqlite:" + path)
    with open(os.path.join(spool, "2026-01-07.jsonl"), "wb") as f:
        f.write(t.v1_line(t.event(smsId="d")))
    p = t.ctl(conf, "import")
    t.eq(p.returncode, 0, p.stderr)
    db = sqlite3.connect(path)
    got = list(db.execute("SELECT sms_id, payload FROM sms_events_full "
                          "ORDER BY id"))
    t.eq([g[0] for g in got], ["a", "b", "c", None, None, "d"])
    t.eq(got[0][1], pay)
    t.eq(got[1][1], pay)
    t.eq(db.execute("SELECT count(*) FROM sms_event_payloads").fetchone()[0],
         5, "the two rows of one event share one payload")
    t.eq(list(db.execute("SELECT phone, message FROM sms_events WHERE "
                         "event_type = 6 ORDER BY phone")),
         [("13800000001", "TD"), ("13800000002", "STOP")])
    t.eq(str(db.execute("SELECT version FROM smshook_schema").fetchone()[0]),
         ref.SCHEMA)
    cols = [r[1] for r in db.execute("PRAGMA table_info(sms_events)")]
    t.expect("payload" not in cols and "payload_id" in cols, cols)
    db.close()


def late(d):
    """Clock back after compress: the late line is imported once."""
    spool = os.path.join(d, "spool")
    os.makedirs(spool)
    day = "2026-01-08"
    sq = ref.SqliteDB(d)
    conf = t.write_conf(d, extra="database = " + sq.url)
    first = [t.v1_line(t.event(smsId="early-%d" % i)) for i in range(3)]
    path = os.path.join(spool, day + ".jsonl")
    with open(path, "wb") as f:
        f.write(b"".join(first))
    old = time.time() - 3600
    os.utime(path, (old, old))
    for cmd in (["import"], ["compress"]):
        p = t.ctl(conf, *cmd)
        t.eq(p.returncode, 0, p.stderr)
    t.expect(os.path.exists(path + ".gz") and not os.path.exists(path))
    # the receiver writes that day again (as a clock set back would)
    late1 = t.v1_line(t.event(smsId="late-1"))
    with open(path, "wb") as f:
        f.write(late1)
    os.chmod(path, 0o640)
    p = t.ctl(conf, "purge", "--keep-days", "0")
    t.expect(os.path.exists(path) and os.path.exists(path + ".gz"),
             "purge must keep a day not fully imported: " + p.stderr)
    p = t.ctl(conf, "verify", day)
    t.eq(p.returncode, 0, p.stdout)
    p = t.ctl(conf, "import")
    t.eq(p.returncode, 0, p.stderr)
    ids = sorted(r[2] for r in sq.rows())
    t.eq(ids, ["early-0", "early-1", "early-2", "late-1"])
    p = t.ctl(conf, "import")
    t.eq(len(sq.rows()), 4, "imported once")
    # compress merges the late file into the .gz; positions still hold
    os.utime(path, (old, old))
    p = t.ctl(conf, "compress", "-v")
    t.eq(p.returncode, 0, p.stderr)
    t.expect(not os.path.exists(path), "merged: " + p.stdout)
    with gzip.open(path + ".gz") as f:
        t.eq(f.read(), b"".join(first) + late1)
    with open(path, "wb") as f:
        f.write(t.v1_line(t.event(smsId="late-2")))
    p = t.ctl(conf, "import")
    t.eq(p.returncode, 0, p.stderr)
    t.eq(sorted(r[2] for r in sq.rows()),
         ["early-0", "early-1", "early-2", "late-1", "late-2"])
    p = t.ctl(conf, "purge", "--keep-days", "0")
    t.eq(p.returncode, 0, p.stderr)
    t.expect(not os.path.exists(path) and not os.path.exists(path + ".gz"),
             "all imported: purged")


def names(d):
    """An escaped name is the same name: a duplicate, refused."""
    conf = t.write_conf(d)
    ev = t.event()
    body = t.json_body(ev)[:-1] + b',"t\\u006fken":"other"}'
    st, _, rb, _ = post(conf, body=body)
    t.eq((st, rb.get("error")), (400, "duplicate member name"))
    body = t.json_body(ev)[:-1] + b',"\\u0065ventType":5}'
    st, _, rb, _ = post(conf, body=body)
    t.eq(st, 400)
    t.eq(stored(os.path.join(d, "spool")), [])


def fifo(d):
    """A FIFO at the day file: 503, nothing acknowledged, retry works."""
    conf = t.write_conf(d, extra="fsync = no")
    spool = os.path.join(d, "spool")
    os.makedirs(spool, mode=0o750)
    # at today's day file and, near midnight, tomorrow's: the receiver
    # may take either for today
    paths = [os.path.join(spool, day + ".jsonl") for day in t.days_near()]
    for path in paths:
        os.mkfifo(path, 0o640)
    ev = t.event()
    st, hd, rb, err = post(conf, ev)
    t.eq(st, 503, "%r %s" % (rb, err))
    t.expect("retry-after" in hd, hd)
    t.expect("not a regular file" in err, err)
    for path in paths:
        os.unlink(path)
    st, _, rb, _ = post(conf, ev)
    t.eq(rb, {"status": "success"}, "the retry is stored, not a duplicate")
    t.eq(len(stored(spool)), 1)
    # a FIFO as a day file for smshookctl: refused, never waited on
    os.mkfifo(os.path.join(spool, "2026-01-09.jsonl"), 0o640)
    p = t.ctl(conf, "verify", timeout=20)
    t.expect(p.returncode == 1 and "2026-01-09" in p.stdout, p.stdout)


def long_lines(d):
    """An endless line in a .gz: bounded memory, linear time, and import,
    verify and stats exit 0 (verify calls it incomplete); a complete line
    longer than max_body allows stops import until max_body is raised."""
    spool = os.path.join(d, "spool")
    os.makedirs(spool)
    gzpath = os.path.join(spool, "2026-01-10.jsonl.gz")
    head = t.v1_line(t.event(smsId="before"))
    with gzip.open(gzpath, "wb", compresslevel=9) as f:
        f.write(head)
        chunk = b"x" * (1 << 20)
        for _ in range(256):
            f.write(chunk)
    t.expect(os.path.getsize(gzpath) < (2 << 20))
    sq = ref.SqliteDB(d)
    conf = t.write_conf(d, extra="database = " + sq.url)
    for cmd in (["import"], ["verify"], ["stats"]):
        t0 = time.monotonic()
        rc, out, err, rss = ctl_rss(conf, *cmd)
        el = time.monotonic() - t0
        # an unfinished line is no fault: each command ends as usual
        t.eq((rc, err), (0, ""), "(%s: exit status, stderr)" % cmd[0])
        rss_bounded(rss, cmd[0])
        print("figures: %s of 256 MiB without a newline: %.1f s, max RSS "
              "%d KiB" % (cmd[0], el, rss))
        if cmd == ["verify"]:
            t.expect("%s:%d: incomplete last line (%d bytes, never "
                     "completed: the day is compressed)\n" % (
                         gzpath, len(head), 256 << 20) in out, out)
            t.expect(out.endswith("verify: 1 file, 1 line, 0 invalid, 0 "
                                  "foreign, 1 incomplete, 0 missing or "
                                  "unreadable\n"), out)
    t.eq([r[2] for r in sq.rows()], ["before"])
    # a complete line longer than max_body lets the receiver write now,
    # but not longer than a larger max_body would: perhaps stored before
    # max_body was lowered, so never a reject. Import stops the day and
    # says what to raise; verify says the line was not read.
    first = t.v1_line(t.event(smsId="one"))
    path = os.path.join(spool, "2026-01-11.jsonl")
    with open(path, "wb") as f:
        f.write(first)
        f.write(b"y" * (8 << 20) + b"\n")
        f.write(t.v1_line(t.event(smsId="two")))
    p = t.ctl(conf, "import")
    t.eq(p.returncode, 1, p.stderr)
    t.expect("2026-01-11: offset %d: a line of %d bytes, longer than "
             "max_body = 1048576 lets the receiver write" % (
                 len(first), 8 << 20) in p.stderr and "raise max_body to "
             "import it" in p.stderr, p.stderr)
    t.eq([r for r in sq.rejects() if r[0] == "2026-01-11"], [])
    t.eq(sorted(r[2] for r in sq.rows()), ["before"])
    p = t.ctl(conf, "verify", "2026-01-11")
    t.eq((p.returncode, p.stderr), (1, ""), p.stdout)
    t.eq(p.stdout, "%s:%d: line not read: %d bytes, longer than max_body "
         "lets the receiver write now (raise max_body to read it)\n"
         "verify: 1 file, 3 lines, 0 invalid, 0 foreign, 0 incomplete, "
         "1 missing or unreadable\n" % (path, len(first), 8 << 20))
    # export stops there as import does, stats leaves it out of its
    # counts (not an invalid line): both name it and exit 1
    for cmd, what in ((["export", "--format", "jsonl"], "raise max_body "
                       "to export it"),
                      (["stats"], "not counted (raise max_body)")):
        p = t.ctl(conf, *cmd, "--from", "2026-01-11")
        t.eq(p.returncode, 1, p.stderr)
        t.expect("%s: offset %d: a line of %d bytes, longer than max_body "
                 "lets the receiver write now: %s" % (
                     path, len(first), 8 << 20, what) in p.stderr, p.stderr)
        t.expect("invalid" not in p.stderr and "not v1" not in p.stderr,
                 p.stderr)
    # max_body raised: the line is read, and as it is no event, it is a
    # reject at its offset; the next line goes in
    with open(conf, "a") as f:
        f.write("max_body = 2m\n")
    p = t.ctl(conf, "import")
    t.eq(p.returncode, 0, p.stderr)
    rej = [r for r in sq.rejects() if r[0] == "2026-01-11"]
    t.eq([r[1] for r in rej], [len(first)])
    t.eq(len(rej[0][3]), 8 << 20, "(kept whole, as any invalid line)")
    t.eq(sorted(r[2] for r in sq.rows()), ["before", "one", "two"])
    p = t.ctl(conf, "verify", "2026-01-11")
    t.eq((p.returncode, p.stderr), (1, ""), p.stdout)
    t.expect(p.stdout.startswith("%s:%d: invalid line: " % (
        path, len(first))), p.stdout)


def export_and_flags(d):
    """CSV formulas neutralised; verified imported; honest summaries."""
    spool = os.path.join(d, "spool")
    os.makedirs(spool)
    sq = ref.SqliteDB(d)
    conf = t.write_conf(d, extra="database = " + sq.url)
    evil = t.event(smsId="=HYPERLINK(\"http://x\")", message="+1+cmd",
                   phone="@SUM(A1)")
    with open(os.path.join(spool, "2026-01-12.jsonl"), "wb") as f:
        f.write(t.v1_line(evil))
        f.write(t.v1_line(t.event(smsId="unsigned"), verified=False))
    p = t.ctl(conf, "export")
    t.eq(p.returncode, 0, p.stderr)
    rows = p.stdout.splitlines()
    t.expect('"\'=HYPERLINK(""http://x"")"' in rows[1], rows[1])
    t.expect('"\'+1+cmd"' in rows[1] and '"\'@SUM(A1)"' in rows[1], rows[1])
    p = t.ctl(conf, "export", "--format", "jsonl")
    t.eq(json.loads(p.stdout.splitlines()[0])["sms_id"],
         "=HYPERLINK(\"http://x\")", "JSONL: values unchanged")
    p = t.ctl(conf, "import")
    t.eq(p.returncode, 0, p.stderr)
    got = dict(sq._q("SELECT sms_id, verified FROM sms_events"))
    t.eq(got["unsigned"], 0)
    t.eq(got["=HYPERLINK(\"http://x\")"], 1)
    # a day that fails half-way: its rows are not counted as duplicates
    bad = os.path.join(spool, "2026-01-13.jsonl.gz")
    with gzip.open(bad, "wb", compresslevel=1) as f:
        for i in range(3000):
            f.write(t.v1_line(t.event(smsId="half-%d" % i)))
    data = bytearray(open(bad, "rb").read())
    for k in range(len(data) * 2 // 3, len(data) * 2 // 3 + 64):
        data[k] ^= 0x5a			# damage late in the stream
    with open(bad, "wb") as f:
        f.write(data)
    p = t.ctl(conf, "import", "-v")
    t.eq(p.returncode, 1, "a broken day fails the import")
    t.expect(" 0 duplicates" in p.stdout and "0 rows inserted" in p.stdout,
             p.stdout)


def mutate(rnd, i):
    """A spool line, mostly valid, with values a database may refuse."""
    kind = rnd.choice(["delivered", "failed", "requested"])
    # every line its own message: no line's rows are another's
    ev = t.event(kind, smsId="r-%d" % i, **({"smsIds": ["r-%d" % i]}
                                             if kind == "requested" else {}))
    pick = rnd.randrange(10)
    if pick == 0:
        ev["customArgs"] = {"n": float("1e%d" % rnd.randrange(300))}
    elif pick == 1:
        ev["smsId"] = os.urandom(rnd.randrange(1, 2000)).hex()
    elif pick == 2:
        ev["message"] = "".join(chr(rnd.randrange(1, 0x2fff))
                                for _ in range(rnd.randrange(50)))
    elif pick == 3:
        ev["statusCode"] = rnd.choice([10 ** 20, -1, "x", None, 2.5])
    line = t.v1_line(ev, received_at=rnd.choice(
        ["2026-01-14T01:02:03.004Z", "2026-02-30T01:02:03.004Z",
         "2026-01-14T25:61:61.999Z", "9999-12-31T23:59:59.9999999Z"]
        if pick == 4 else ["2026-01-14T01:02:03.004Z"]))
    if pick == 5:
        line = line.replace(b'"smsId"', b'"customArgs":%de%d,"smsId"' % (
            rnd.randrange(1, 99), rnd.choice([131072, -16384, 99999, 5])))
    if pick == 6:
        k = rnd.randrange(len(line) - 1)
        line = line[:k] + bytes([rnd.randrange(256)]) + line[k + 1:]
        line = line.replace(b"\n", b"") + b"\n"
    return line


def pg_random(d):
    """Random, mostly hostile lines into PostgreSQL: the import always
    ends, and every line is a payload row or a reject, never lost."""
    import random
    if "url" not in PG:
        return
    rnd = random.Random(int(os.environ.get("SMSHOOK_SEED", "11")))
    n = 20000 if os.environ.get("SMSHOOK_LONG") == "1" else 600
    spool = os.path.join(d, "spool")
    os.makedirs(spool)
    lines = [mutate(rnd, i) for i in range(n)]
    with open(os.path.join(spool, "2026-01-14.jsonl"), "wb") as f:
        f.write(b"".join(lines))
    pg = ref.PgDB(PG["url"])
    conf = t.write_conf(d, extra="database = " + pg.url)
    p = t.ctl(conf, "import", "-v", timeout=600)
    t.eq(p.returncode, 0, p.stderr)
    pays = int(t.psql(pg.url, "SELECT count(*) FROM sms_event_payloads"))
    rej = len(pg.rejects())
    t.eq(pays + rej, n, "every line a payload or a reject")
    t.eq(pg.positions()["2026-01-14"], sum(len(x) for x in lines))
    print("figures: %d random lines: %d payloads, %d rejects" % (n, pays,
                                                                 rej))


def main():
    r = t.Runner("hardening")
    pgdir = None
    try:
        try:
            pgdir, PG["url"] = t.pg_start()
        except Exception as exc:  # noqa: BLE001
            print("PostgreSQL did not start: %s" % exc)
        for fn in (forgery, proxied_client, refused_pg, square, migrate,
                   late, names, fifo, long_lines, export_and_flags,
                   pg_random):
            d = t.tmpdir("smshook-hard-")
            try:
                r.check(fn.__name__, fn, d)
            finally:
                shutil.rmtree(d, ignore_errors=True)
        if "url" not in PG:
            r.check("postgresql server starts",
                    lambda: t.expect(False, "no PostgreSQL"))
    finally:
        if pgdir is not None:
            t.pg_stop(pgdir)
    return r.finish()


if __name__ == "__main__":
    sys.exit(main())
