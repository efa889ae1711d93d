"""smshookctl import: exactly-once loading into SQLite and PostgreSQL.

Every scenario runs against SQLite and against a real PostgreSQL server
started (and stopped) here with scripts/pg-test.sh. The expected rows are
computed independently from the spool by ctlref.reference()."""
import fcntl
import glob
import itertools
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import ctlref as ref  # noqa: E402
from ctlref import t  # noqa: E402

QUICK = os.environ.get("SMSHOOK_QUICK") == "1"
# libfaketime (Debian's faketime) sleeping ten times faster: for waits
# that are counted in sleeps asked for, not read from the clock
FAKETIME_LIB = glob.glob("/usr/lib/*/faketime/libfaketime.so.1")
FAST_SLEEPS = ({"LD_PRELOAD": FAKETIME_LIB[0], "FAKETIME": "+0 x10"}
               if FAKETIME_LIB else {})
KILL_ROUNDS = 8 if QUICK else 30
KILL_LINES = 4000 if QUICK else 20000


class Env:
    """A temp dir with config, spool and a fresh database of one kind."""

    def __init__(self, kind, pg_url, db_in_conf=True):
        self.dir = t.tmpdir("smshook-ctl-")
        self.spool = os.path.join(self.dir, "spool")
        os.makedirs(self.spool)
        self.db = ref.SqliteDB(self.dir) if kind == "sqlite" else \
            ref.PgDB(pg_url)
        extra = "database = %s" % self.db.url if db_in_conf else ""
        self.conf = t.write_conf(self.dir, extra=extra)

    def ctl(self, *args, **kw):
        return t.ctl(self.conf, *args, **kw)

    def imp(self, *args):
        p = self.ctl("import", *args)
        t.eq(p.returncode, 0, "import failed: %s" % p.stderr)
        return p

    def check_reference(self, ordered=True):
        """The database holds exactly the reference rows (in import order
        when days were imported one after the other)."""
        want = ref.reference(self.spool)
        got = rows = self.db.rows()
        t.eq(len(got), len(want), "(row count)")
        if not ordered:
            key = lambda r: [("" if v is None else str(v)) for v in r]
            got, want = sorted(got, key=key), sorted(want, key=key)
        for i, (g, w) in enumerate(zip(got, want)):
            t.eq(g, w, "(row %d)" % i)
        t.eq(self.db.payloads()[1], 0, "(payload rows no row names)")
        return rows

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def scenario(fn):
    def run(kind, pg_url):
        e = Env(kind, pg_url)
        try:
            fn(e)
        finally:
            e.close()
    run.__name__ = fn.__name__
    return run

# ---------------------------------------------------------------- scenarios


@scenario
def through_receiver(e):
    """Events posted through the real receiver (CGI), JSON and form."""
    ids = ["1652150994014_9373_1_1_aaaaaa$1388888880%d" % i for i in range(3)]
    posts = [
        (t.json_body(t.event("requested", smsIds=ids,
                             phones=["1388888880%d" % i for i in range(3)])),
         t.JSON),
        (t.form_body(t.event("requested", smsIds=["f1$1", "f2$2"],
                             phones=["1", "2"])), t.FORM),
        (t.form_body(t.event("delivered", eventType=2, event="deliver",
                             smsId="old$1")), t.FORM),
        (t.json_body(t.event("template")), t.JSON),
        (t.json_body(t.event("suppressed")), t.JSON),
        (t.json_body(t.event("failed")), t.JSON),
    ]
    for body, ctype in posts:
        st = t.cgi(e.conf, body=body, ctype=ctype)[0]
        t.eq(st, 200, "(receiver answer)")
    p = e.imp()
    t.eq(p.stdout + p.stderr, "", "(import is quiet on success)")
    rows = e.check_reference()
    t.eq(len(rows), 3 + 2 + 1 + 1 + 1 + 1)
    req = [r for r in rows if r[0] == 1]
    t.eq([(r[2], r[3]) for r in req[:3]],
         [(ids[i], "1388888880%d" % i) for i in range(3)], "(pairs)")
    t.eq([(r[2], r[3]) for r in req[3:]], [("f1$1", "1"), ("f2$2", "2")],
         "(form smsIds decoded)")
    old = [r for r in rows if r[2] == "old$1"]
    t.eq([(r[0], r[1]) for r in old], [(20, "Delivered")], "(2 -> 20)")
    fail = [r for r in rows if r[0] == 5]
    t.eq([r[8] for r in fail], [500], "(status_code)")
    tpl = [r for r in rows if r[0] == 8]
    t.eq(len(tpl), 1)
    t.expect(tpl[0][9] > 10**12, "event_time in ms")
    before = e.db.rows()
    e.imp()
    t.eq(e.db.rows(), before, "(a second import changes nothing)")
    p = e.imp("-v")
    t.expect("0 rows inserted" in p.stdout, p.stdout)
    # stats reads the import's position and last run, read only
    p = e.ctl("stats", "--json")
    t.eq((p.returncode, p.stderr), (0, ""))
    imp = json.loads(p.stdout)["import"]
    t.eq((imp["lag_bytes"], imp["lag_seconds"]), (0, 0), imp)
    t.expect(imp["last_import_at"].endswith("Z"), imp)


@scenario
def duplicates(e):
    ev = dict(t.SAMPLES["delivered"], timestamp=1767225600000, token="x" * 50,
              signature="0" * 64)
    tp = dict(t.SAMPLES["template"], timestamp=1767225600001, token="y" * 50,
              signature="0" * 64)
    line = t.v1_line(ev)
    ref.append(e.spool, "2026-01-01", line + line + t.v1_line(tp))
    ref.append(e.spool, "2026-01-02", line + t.v1_line(tp) +
               t.v1_line(t.form_payload(ev), encoding="form"))
    e.imp()
    rows = e.check_reference()
    t.eq(len(rows), 2, "(one delivered row, one template row)")
    t.eq(len(e.db.rejects()), 0)


@scenario
def numeric_ids(e):
    """Ids sent as numbers or as strings both become text."""
    p = dict(t.SAMPLES["failed"], smsId=12345, phone=13999999999,
             userId="19999", templateId=7, statusCode="412",
             timestamp="1767225600000", token="z" * 50, signature="0" * 64)
    q = dict(t.SAMPLES["requested"], smsIds=[1, "2"], phones=[13800000001],
             timestamp=1767225600002, token="w" * 50, signature="0" * 64)
    ref.append(e.spool, "2026-01-02", t.v1_line(p) + t.v1_line(q))
    e.imp()
    rows = e.check_reference()
    t.eq([(r[2], r[3], r[4], r[6], r[8], r[9]) for r in rows],
         [("12345", "13999999999", "19999", "7", 412, 1767225600000),
          ("1", "13800000001", "19999", "29999", None, 1767225600002),
          ("2", None, "19999", "29999", None, 1767225600002)])
    # ids too long for a double's exact integers are their own text: two
    # such messages one apart are two rows, not one taken twice
    longs = (12345678901234567, 12345678901234568, 123456789012345678901,
             123456789012345678902, -9876543210987654321098765432109)
    ref.append(e.spool, "2026-01-03", b"".join(t.v1_line(dict(
        t.SAMPLES["delivered"], smsId=i, timestamp=1767312000000,
        token="L%d" % k * 10, signature="0" * 64))
        for k, i in enumerate(longs)))
    p = e.imp("-v")
    t.expect("5 rows inserted" in p.stdout, p.stdout)
    rows = e.check_reference()
    t.eq(sorted(r[2] for r in rows[3:]), sorted(str(i) for i in longs))


@scenario
def number_forms(e):
    """Numbers in every JSON form, in an integer column (statusCode) and
    a text one (userId), as the importer reads them and the reference
    model (ctlref) says: integers decided on the number's text (a
    fraction a double rounds to an integer is none), integers of more
    than 16 characters only up to 2^53, other numbers through a
    double."""
    # (no exponent form of an integer past 10^16: PostgreSQL's jsonb
    # keeps it as plain digits in the payload, which reads back apart)
    forms = ["5.9999999999999999", "12345678901234567", "2.5",
             "-1234567890123456", "20.0", "200e-1", "1e-400",
             "9007199254740993", "9007199254740992", "50e-1"]
    ref.append(e.spool, "2026-01-04", b"".join(
        ('{"v":1,"received_at":"2026-01-04T03:04:05.678Z",'
         '"remote_addr":"127.0.0.1","encoding":"json","verified":true,'
         '"payload":{"event":"Delivered","eventType":20,"smsId":"N%d",'
         '"statusCode":%s,"userId":%s,"timestamp":1767312000000,'
         '"token":"n%d"}}\n' % (k, v, v, k)).encode()
        for k, v in enumerate(forms)))
    e.imp()
    rows = e.check_reference()
    t.eq([(r[4], r[8]) for r in rows],
         [("6", None), ("12345678901234567", None), ("2.5", None),
          ("-1234567890123456", -1234567890123456), ("20", 20),
          ("20", 20), ("0", None), ("9007199254740993", 9007199254740993),
          ("9007199254740992", 9007199254740992), ("5", 5)])


@scenario
def empty_ids(e):
    """An event with an empty smsId names no message: two such events
    of one type are two rows (the empty text was one key for all)."""
    lines = b"".join(t.v1_line(dict(t.SAMPLES["suppressed"], smsId="",
                                    phone="1380000000%d" % i,
                                    timestamp=1767225600000 + i,
                                    token="e%d" % i * 25,
                                    signature="0" * 64)) for i in (1, 2))
    ref.append(e.spool, "2026-01-02", lines)
    p = e.imp("-v")
    t.expect("2 rows inserted" in p.stdout, p.stdout)
    rows = e.check_reference()
    t.eq([(r[2], r[3]) for r in rows],
         [(None, "13800000001"), (None, "13800000002")])


@scenario
def keyless_events(e):
    """Events without a message id but of one template and millisecond
    are rows of their own, a row each (up to schema version 5 the
    template key held them, and import took the second for a retry of
    the first); two template reviews of one template and millisecond
    are one row. Also in a version 5 database, which is migrated."""
    def line(kind, i, **kw):
        ev = dict(t.SAMPLES[kind], timestamp=1767225600000,
                  token="k%d" % i * 25, signature="0" * 64, **kw)
        ev.pop("smsId", None)
        return t.v1_line(ev)
    e.imp()
    # the version 5 template key
    schema_sql(e, "DROP INDEX sms_events_template")
    schema_sql(e, "CREATE UNIQUE INDEX sms_events_template ON sms_events "
               "(event_type, template_id, event_time) WHERE sms_id IS NULL "
               "AND event_type <> 6")
    schema_sql(e, "UPDATE smshook_schema SET version = 5")
    ref.append(e.spool, "2026-01-02", b"".join(
        [line("suppressed", i, phone="1380000000%d" % i) for i in (1, 2)] +
        [line("delivered", i, phone="1390000000%d" % i) for i in (3, 4)] +
        [line("template", i) for i in (5, 6)]))
    p = e.imp("-v")
    t.expect("6 lines, 5 rows inserted, 1 duplicate" in p.stdout, p.stdout)
    rows = e.check_reference()
    t.eq(sorted((r[0], r[3]) for r in rows),
         [(4, "13800000001"), (4, "13800000002"), (8, None),
          (20, "13900000003"), (20, "13900000004")])
    t.eq(schema_sql(e, "SELECT version FROM smshook_schema"), [SCHEMA])


# rows with a token, with a token_row, and all: as one text
TOKEN_COUNTS = ("SELECT count(token) || ',' || count(token_row) || ',' || "
                "count(*) FROM sms_events")


def tokened_lines():
    """Lines whose rows the message key does not hold, some of them of
    one event: a delivered event without smsId, an unknown event, one
    with an smsId but no type, a requested one with two empty ids beside
    a real one, a template review without templateId (which only the
    token key holds), a reply (which the reply key holds too); the first
    again unverified (a forged copy, which must not stand in for it)."""
    def ev(kind, tok, **kw):
        p = dict(t.SAMPLES[kind], timestamp=1767225600000,
                 token=tok * 25, signature="0" * 64, **kw)
        for k in ("smsId", "templateId"):
            if k not in kw:
                p.pop(k, None)
        return p
    first = ev("delivered", "a1", phone="13900000001")
    return [t.v1_line(first),
            t.v1_line(ev("failed", "b2", eventType=77, event="x")),
            t.v1_line(ev("failed", "f6", smsId="s6$1", event="zzz",
                         eventType=None)),
            t.v1_line(ev("requested", "c3", smsIds=["", "m1$1", ""],
                         phones=["1", "2", "3"])),
            t.v1_line(ev("template", "d4")),
            t.v1_line(ev("delivered", "e5", eventType=6, event="Reply",
                         phone="13900000005", replyContent="TD")),
            t.v1_line(first, verified=False)]


@scenario
def keyless_read_again(e):
    """A row without a message id is keyed by its event's token and its
    place among the event's such rows: the same lines read again (a day
    whose positions were lost, the receiver storing a retry twice, a
    second host) add no row and no payload; the unverified copy of a
    verified event is a row of its own."""
    lines = tokened_lines()
    ref.append(e.spool, "2026-01-02", b"".join(lines))
    p = e.imp("-v")
    t.expect("7 lines, 9 rows inserted, 0 duplicates" in p.stdout,
             p.stdout)
    rows, payloads = e.check_reference(), e.db.payloads()
    t.eq(schema_sql(e, TOKEN_COUNTS), ["8,8,9"],
         "(the token key's rows have both columns, the other neither)")
    t.eq(schema_sql(e, "SELECT token_row FROM sms_events WHERE token = "
                    "'%s' ORDER BY id" % ("c3" * 25)), ["0", "1"])
    schema_sql(e, "DELETE FROM smshook_positions")
    ref.append(e.spool, "2026-01-03", b"".join(lines))
    p = e.imp("-v")
    t.expect("14 lines, 0 rows inserted, 18 duplicates" in p.stdout,
             p.stdout)
    t.eq(e.db.rows(), rows, "(no row twice)")
    t.eq(e.db.payloads(), payloads, "(no payload row twice)")
    e.check_reference()
    # export applies the same key to the spool, which holds them twice
    p = e.ctl("export", "--format", "jsonl")
    t.eq(p.returncode, 0, p.stderr)
    t.eq(len(p.stdout.splitlines()), len(rows), p.stdout)


def copy_keyless(e):
    """Store again, each with a payload row of its own, the rows that
    only the token key holds (as a version before 7 did when it read
    their lines again), without token columns."""
    copy = ("event_type, event, sms_id, phone, user_id, sms_user, "
            "template_id, message, status_code, event_time, received_at, "
            "verified")
    # the rows only the token key holds, of sms_events e
    keyless = ("(e.sms_id IS NULL OR e.event_type IS NULL) AND NOT "
               "coalesce(e.event_type = 8 AND e.template_id IS NOT NULL "
               "AND e.event_time IS NOT NULL, false) AND NOT "
               "coalesce(e.event_type = 6 AND e.phone IS NOT NULL AND "
               "e.message IS NOT NULL AND e.event_time IS NOT NULL, "
               "false)")
    schema_sql(e, "INSERT INTO sms_event_payloads (received_at, verified, "
               "payload) SELECT received_at, verified, payload FROM "
               "sms_event_payloads WHERE id IN (SELECT payload_id FROM "
               "sms_events e WHERE %s) ORDER BY id" % keyless)
    schema_sql(e, "INSERT INTO sms_events (%s, payload_id) SELECT %s, "
               "(SELECT max(q.id) FROM sms_event_payloads q WHERE "
               "q.payload = p.payload AND q.verified = p.verified) FROM "
               "sms_events e JOIN sms_event_payloads p ON p.id = "
               "e.payload_id WHERE %s ORDER BY e.id" %
               (copy, ", ".join("e." + c for c in copy.split(", ")),
                keyless))


def migrated_to_first(e, rows):
    """Over rows, the tokened lines' reference rows, copy_keyless's 7
    copies; an import reads no line, migrates, and keeps the first of
    each: the rows, their payloads, the token columns of the 8 rows the
    token key holds."""
    t.eq(len(e.db.rows()), len(rows) + 7, "(the copies)")
    p = e.imp("-v")
    t.expect(" 0 lines," in p.stdout, p.stdout)
    t.eq(e.db.rows(), rows, "(the first copy alone)")
    t.eq(e.db.payloads(), (7, 0))
    t.eq(schema_sql(e, "SELECT version FROM smshook_schema"), [SCHEMA])
    t.eq(schema_sql(e, TOKEN_COUNTS), ["8,8,9"], "(the token key's rows)")


@scenario
def migrate_tokens(e):
    """A version 6 database holding one event's rows twice (each copy
    with a payload of its own, as a day read again left them): import
    gives every row its token, keeps the first copy alone, drops the
    payloads no row names, and makes the token key."""
    lines = tokened_lines()
    ref.append(e.spool, "2026-01-02", b"".join(lines))
    e.imp()
    rows = e.check_reference()
    # version 6's tables, the view as it made it (a report's view on
    # it), and the rows no key held then stored again
    for q in ("DROP VIEW sms_events_full", "DROP INDEX sms_events_token",
              "ALTER TABLE sms_events DROP COLUMN token",
              "ALTER TABLE sms_events DROP COLUMN token_row",
              "CREATE VIEW sms_events_full AS SELECT e.*, p.payload FROM "
              "sms_events e JOIN sms_event_payloads p ON p.id = "
              "e.payload_id",
              "CREATE VIEW my_report AS SELECT id, payload FROM "
              "sms_events_full",
              "UPDATE smshook_schema SET version = 6"):
        schema_sql(e, q)
    copy_keyless(e)
    migrated_to_first(e, rows)
    t.eq(schema_sql(e, "SELECT count(*) FROM my_report"), ["9"])
    # and the key is made: the lines read again add nothing
    schema_sql(e, "DELETE FROM smshook_positions")
    p = e.imp("-v")
    t.expect("7 lines, 0 rows inserted, 9 duplicates" in p.stdout,
             p.stdout)
    e.check_reference()


@scenario
def old_binary_on_v7(e):
    """Version 7 tables a binary from before the version check wrote to
    (it steps the version back, and its copies of the rows only the
    token key holds have no token columns, so the key let them in):
    import migrates them like version 6's, keeping the first of each."""
    ref.append(e.spool, "2026-01-02", b"".join(tokened_lines()))
    e.imp()
    rows = e.check_reference()
    copy_keyless(e)
    schema_sql(e, "UPDATE smshook_schema SET version = 2")
    migrated_to_first(e, rows)


@scenario
def old_binary_between(e):
    """Tables a binary from before the version check stepped back (it
    took them for its own, version 2, and moved a position without the
    marks it did not know): the marks are taken away, the position is
    taken as it is, and no day is read again (import reads no line). A
    row stored with sms_id '' (versions before 6) gets NULL, as import
    stores an empty smsId now."""
    def keyless(i):
        ev = dict(t.SAMPLES["delivered"], timestamp=1767225600000 + i,
                  token="o%d" % i * 25, signature="0" * 64)
        ev.pop("smsId")
        return t.v1_line(ev)
    day = "2026-01-02"
    ref.append(e.spool, day, b"".join(keyless(i) for i in range(6)))
    e.imp()
    # as the old binary left them: its version, the position moved on
    # under a mark of where it stood before
    schema_sql(e, "UPDATE smshook_positions SET last_line = 'before', "
               "first_line = 'before'")
    schema_sql(e, "UPDATE smshook_schema SET version = 2")
    schema_sql(e, "UPDATE sms_events SET sms_id = '' WHERE id = "
               "(SELECT min(id) FROM sms_events)")
    p = e.imp("-v")
    t.expect("read from its start" not in p.stderr, p.stderr)
    t.expect(" 0 lines," in p.stdout, p.stdout)
    t.eq(len(e.db.rows()), 6, "(no row doubled)")
    e.check_reference()
    t.eq(schema_sql(e, "SELECT count(*) FROM sms_events WHERE sms_id = "
                    "''"), ["0"])
    t.eq(schema_sql(e, "SELECT version FROM smshook_schema"), [SCHEMA])


@scenario
def torn_line(e):
    lines = ref.gen_lines(20, 7, dup_rate=0)
    last = lines[-1]
    cut = len(last) // 2
    path = ref.append(e.spool, "2026-01-03", b"".join(lines[:-1]) +
                      last[:cut])
    e.imp()
    n = len(e.db.rows())
    t.eq(n, len(ref.reference(e.spool)), "(torn tail not imported)")
    t.eq(e.db.positions()["2026-01-03"], os.path.getsize(path) - cut,
         "(position stops before the torn line)")
    ref.append(e.spool, "2026-01-03", last[cut:])
    e.imp()
    e.check_reference()
    t.expect(len(e.db.rows()) > n, "the completed line is imported")
    e.imp()
    e.check_reference()


@scenario
def rejects(e):
    good = ref.gen_lines(5, 3, dup_rate=0)
    bad = [b"garbage\n", b'{"v":2,"payload":{}}\n', b"\xff\xfe bad utf8\n",
           b'{"v":1,"received_at":"x","payload":{}}\n', b"\n"]
    data = good[0] + bad[0] + good[1] + bad[1] + bad[2] + good[2] + \
        bad[3] + bad[4] + b"".join(good[3:])
    ref.append(e.spool, "2026-01-04", data)
    p = e.ctl("import")
    t.eq(p.returncode, 0, p.stderr)
    t.expect("5 lines rejected" in p.stderr, p.stderr)
    e.check_reference()
    got = [(d, o) for d, o, _, _ in e.db.rejects()]
    t.eq(got, ref.rejects_expected(e.spool), "(rejects with file+offset)")
    rj = e.db.rejects()
    t.eq(rj[0][3], "garbage")
    t.expect(all(r[2] for r in rj), "every reject has a reason")
    t.expect("\ufffd" in rj[2][3], "invalid UTF-8 stored replaced")
    p = e.ctl("import")
    t.eq((p.returncode, p.stderr), (0, ""), "(rejects are not re-read)")
    t.eq(len(e.db.rejects()), 5)


# A rule of the database's own refusing one message id: the line
# naming it is refused as a whole (smshookctl(1), import).
REFUSE = {
    "sqlite": ["CREATE TRIGGER test_refuse BEFORE INSERT ON sms_events "
               "WHEN NEW.sms_id = 'refused-b' BEGIN SELECT RAISE(ABORT, "
               "'refused by the test'); END"],
    "pg": ["CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql "
           "AS $$ BEGIN IF NEW.sms_id = 'refused-b' THEN RAISE EXCEPTION "
           "'refused by the test' USING ERRCODE = 'check_violation'; END IF; "
           "RETURN NEW; END $$",
           "CREATE TRIGGER test_refuse BEFORE INSERT ON sms_events FOR EACH "
           "ROW EXECUTE FUNCTION test_refuse()"],
}


@scenario
def refused_line(e):
    """A line one of whose rows the database refuses (a trigger of the
    test's) is kept aside in smshook_rejects with the database's reason;
    the rows of it stored before the refusal, and its payload, are
    undone; the lines around it go in, and a rerun adds nothing."""
    e.imp()				# the tables, for the trigger
    for sql in REFUSE[e.db.kind]:
        schema_sql(e, sql)
    day = "2026-01-15"
    sent = lambda kind, ms, **kw: t.v1_line(dict(
        t.SAMPLES[kind], timestamp=ms, token="r%d" % ms, signature="0" * 64,
        **kw))
    lines = [sent("delivered", 1767225600000, smsId="ok-0"),
             sent("requested", 1767225600001,
                  smsIds=["ref-a", "refused-b", "ref-c"],
                  phones=["13800000001", "13800000002", "13800000003"]),
             sent("delivered", 1767225600002, smsId="ok-2")]
    path = ref.append(e.spool, day, b"".join(lines))
    p = e.ctl("import", "-v")
    t.eq(p.returncode, 0, p.stderr)
    t.expect("1 line rejected" in p.stderr, p.stderr)
    t.expect("2 rows inserted" in p.stdout and "1 rejected" in p.stdout,
             p.stdout)
    rows = e.db.rows()
    t.eq([r[2] for r in rows], ["ok-0", "ok-2"], "(no row of the refused "
         "line, not even the one before the refusal)")
    t.eq(e.db.payloads(), (2, 0), "(no payload of the refused line)")
    rj = e.db.rejects()
    t.eq([(d, o, line) for d, o, _, line in rj],
         [(day, len(lines[0]), lines[1][:-1].decode())])
    prefix = {"sqlite": "sqlite: ", "pg": "postgresql: "}[e.db.kind]
    t.expect(rj[0][2].startswith(prefix) and "refused by the test" in
             rj[0][2], rj[0][2])
    t.eq(e.db.positions()[day], os.path.getsize(path))
    p = e.imp("-v")
    t.expect("0 lines" in p.stdout and "0 rows inserted" in p.stdout,
             p.stdout)
    t.eq((e.db.rows(), e.db.rejects()), (rows, rj), "(a rerun adds nothing)")


@scenario
def written_while_importing(e):
    """A writer appends to two days while imports run over and over; it
    writes its last lines only once two imports have run (however slow
    they are), so that at least two start before it is done."""
    lines = ref.gen_lines(3000, 11, dup_rate=0.1)
    stop = threading.Event()		# the writer is done
    two = threading.Event()		# two imports have run meanwhile

    def writer():
        i = 0
        while i < len(lines):
            if i + 7 >= len(lines):
                two.wait(60)
            day = "2026-01-05" if i % 2 else "2026-01-06"
            ref.append(e.spool, day, b"".join(lines[i:i + 7]))
            i += 7
            time.sleep(0.002)
        stop.set()
    th = threading.Thread(target=writer)
    th.start()
    during = 0				# imports started before stop
    try:
        while not stop.is_set():
            during += 1
            e.imp()
            if during == 2:
                two.set()
    finally:
        two.set()
        th.join()
    e.imp()
    t.expect(during >= 2, "imports ran during the writes")
    e.check_reference(ordered=False)


@scenario
def kill_nine(e):
    """kill -9 the importer at random points, again and again, then once
    after it committed a day (a readiness check on the positions); the
    rows are then those of the lines before the positions, and a clean
    run afterwards must give exactly the reference rows."""
    rnd = random.Random(42)
    days = ["2026-02-0%d" % d for d in range(1, 5)]
    per = KILL_LINES // len(days)
    for k, day in enumerate(days):
        ref.append(e.spool, day, b"".join(
            ref.gen_lines(per, 100 + k, day_tag="d%d" % k)))
    # how long one full import takes, measured on a scratch copy
    scratch = Env(e.db.kind, getattr(kill_nine, "pg_url", None),
                  db_in_conf=False)
    try:
        shutil.rmtree(scratch.spool)
        shutil.copytree(e.spool, scratch.spool)
        t0 = time.time()
        p = scratch.ctl("import", "--db", scratch.db.url)
        t.eq(p.returncode, 0, p.stderr)
        full = time.time() - t0
    finally:
        scratch.close()
    total = sum(os.path.getsize(p) for _, p in ref.day_files(e.spool))
    killed = 0
    for rnd_i in range(KILL_ROUNDS):
        # the spool keeps growing (new lines and retries) between runs
        more = ref.gen_lines(KILL_LINES // 20, 1000 + rnd_i,
                             day_tag="k%d" % rnd_i, dup_rate=0.2)
        more.append(rnd.choice(more))
        ref.append(e.spool, days[rnd_i % len(days)], b"".join(more))
        # kill somewhere within the time this run needs for what is left
        pos = e.db.positions()
        pending = sum(os.path.getsize(p) - pos.get(d, 0)
                      for d, p in ref.day_files(e.spool))
        window = 0.02 + full * pending / total
        proc = subprocess.Popen([t.SMSHOOKCTL, "-c", e.conf, "import"],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        time.sleep(rnd.uniform(0, window))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait()
        err = proc.stderr.read().decode()
        proc.stderr.close()
        t.eq(err, "", "(importer stderr)")
    # one run more, killed after it committed a day and before it
    # committed the last: the first day's few new lines go in at once,
    # the others' take long enough for the readiness check to see it
    ref.append(e.spool, days[0], b"".join(
        ref.gen_lines(10, 2000, day_tag="c0") +
        [keyless_line("c0-%d" % i) for i in range(5)]))
    for k, day in enumerate(days[1:]):
        ref.append(e.spool, day, b"".join(
            ref.gen_lines(3000, 2001 + k, day_tag="c%d" % (k + 1)) +
            [keyless_line("c%d-%d" % (k + 1, i)) for i in range(5)]))
    before = e.db.positions()
    sizes = {d: os.path.getsize(p) for d, p in ref.day_files(e.spool)}
    proc = subprocess.Popen([t.SMSHOOKCTL, "-c", e.conf, "import"],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    pos = kill_after_commit(
        e, proc, lambda p: p != before and
        any(p.get(d, 0) < n for d, n in sizes.items()),
        "a day committed, another not yet")
    t.expect(any(pos[d] == sizes[d] != before.get(d) for d in sizes),
             "a day committed whole: %r, was %r" % (pos, before))
    same_rows(e.db.rows(), upto(e, pos), ordered=False)
    # the spool grows before the next run: a day committed before the
    # kill is read on from its position, not again
    for day in days:
        ref.append(e.spool, day, keyless_line("after-" + day))
    want = lines_after(e, pos)
    p = e.imp("-v")
    t.expect(", %d lines," % want in p.stdout, "read %d lines from the "
             "positions: %s" % (want, p.stdout))
    rows = e.check_reference(ordered=False)
    t.expect(len(rows) > KILL_LINES, "rows: %d" % len(rows))
    e.imp()
    t.expect(e.db.rows() == rows, "a rerun after the kills changes nothing")
    print("     (%s: %d of %d runs killed, then one after a commit, %d rows, "
          "full import %.2fs)" % (e.db.kind, killed, KILL_ROUNDS, len(rows),
                                  full))


def kill_after_commit(e, proc, ready, what):
    """Readiness check, then kill -9: wait until ready(positions) holds
    for what proc, an import, has committed, stop proc, and kill it if
    ready still holds (else let it go on). The import must not end
    first. Returns the positions it was killed at."""
    seen = {}

    def landed():
        t.expect(proc.poll() is None, "the import ended before " + what)
        if not ready(e.db.positions()):
            return False
        proc.send_signal(signal.SIGSTOP)	# nothing commits from here
        seen.update(e.db.positions())
        if ready(seen):
            return True
        seen.clear()
        proc.send_signal(signal.SIGCONT)
        return False
    try:
        t.wait_for(landed, what, timeout=120)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        err = proc.stderr.read().decode()
        proc.stderr.close()
    t.eq(proc.returncode, -signal.SIGKILL, "(killed, not ended)")
    t.eq(err, "", "(importer stderr)")
    return seen


BATCH_LINES = 50000	# cmd_import.c: lines one transaction holds at most


def keyless_line(tag):
    """A small valid spool line without a message id or template (only
    its token keys its row)."""
    return t.v1_line({"eventType": 20, "phone": tag,
                      "timestamp": 1767225600000, "token": "k" + tag})


def lines_after(e, pos):
    """How many complete lines the days hold past positions pos (plain
    day files): what an import that goes on from pos reads."""
    n = 0
    for day, path in ref.day_files(e.spool):
        with open(path, "rb") as f:
            f.seek(pos.get(day, 0))
            n += f.read().count(b"\n")
    return n


def upto(e, pos):
    """The reference rows of the lines before each day's position in pos
    (plain day files)."""
    cut = t.tmpdir()
    try:
        for day, path in ref.day_files(e.spool):
            with open(path, "rb") as f:
                ref.append(cut, day, f.read(pos.get(day, 0)))
        return ref.reference(cut)
    finally:
        shutil.rmtree(cut)


def same_rows(got, want, ordered=True):
    """At a kill: the database holds the rows of the lines before the
    positions, each once (a count first: a list of rows is long)."""
    t.eq(len(got), len(want), "(rows of the lines before the positions)")
    if not ordered:
        key = lambda r: [("" if v is None else str(v)) for v in r]
        got, want = sorted(got, key=key), sorted(want, key=key)
    t.expect(got == want, "rows differ from those of the lines before "
             "the positions")


@scenario
def batches_killed(e):
    """A day of more than BATCH_LINES lines commits every BATCH_LINES
    lines, with the position after them: import killed -9 after a batch
    committed (a readiness check on the position, not a time) leaves the
    rows of exactly the lines before that position, and a rerun takes
    the others from there, and reads no line before it (the token key
    would hide a line imported twice: import's count shows it)."""
    day = "2026-03-01"
    n = 2 * BATCH_LINES + 1000
    lines = [keyless_line("b%d" % i) for i in range(n)]
    ref.append(e.spool, day, b"".join(lines))
    ends = list(itertools.accumulate(len(x) for x in lines))
    proc = subprocess.Popen([t.SMSHOOKCTL, "-c", e.conf, "import"],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    pos = kill_after_commit(e, proc, lambda p: 0 < p.get(day, 0) < ends[-1],
                            "a batch committed")
    batches = [ends[k * BATCH_LINES - 1] for k in (1, 2)]
    t.expect(pos[day] in batches, "position %d, not one after a batch %r"
             % (pos[day], batches))
    k = ends.index(pos[day]) + 1
    same_rows(e.db.rows(), upto(e, pos))
    t.eq(e.db.payloads(), (k, 0))
    p = e.imp("-v")
    t.expect(", %d lines," % (n - k) in p.stdout, p.stdout)
    t.eq(len(e.check_reference()), n)
    t.eq(e.db.positions()[day], ends[-1])
    print("     (%s: killed after %d of %d lines committed)" %
          (e.db.kind, k, n))


@scenario
def lock_held(e):
    ref.append(e.spool, "2026-01-07", b"".join(ref.gen_lines(3, 5)))
    with open(os.path.join(e.spool, ".smshookctl.lock"), "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        t0 = time.time()
        p = e.ctl("import")
        waited = time.time() - t0
    t.eq(p.returncode, 1)
    t.expect("another smshookctl is running" in p.stderr, p.stderr)
    t.expect(4 <= waited < 15, "waited %.1fs" % waited)
    t.eq(e.db.rows(), [])
    e.imp()
    e.check_reference()


SCHEMA = ref.SCHEMA


def schema_sql(e, sql):
    """sql run on e's database, outside smshookctl; its rows as text."""
    if e.db.kind == "sqlite":
        c = sqlite3.connect(e.db.path)
        try:
            with c:
                return [str(r[0]) for r in c.execute(sql)]
        finally:
            c.close()
    return t.psql(e.db.url, sql).split()


@scenario
def newer_schema(e):
    """Tables a newer smshookctl made are refused, never stepped back:
    import writes nothing and check names the fix."""
    e.imp()
    schema_sql(e, "UPDATE smshook_schema SET version = 99")
    ref.append(e.spool, "2026-01-08", b"".join(ref.gen_lines(3, 5)))
    p = e.ctl("import")
    t.eq(p.returncode, 1, p.stderr)
    t.expect("schema version 99, newer than this smshookctl's" in p.stderr,
             p.stderr)
    p = e.ctl("check", "--user", "root")
    t.eq(p.returncode, 1, p.stdout + p.stderr)
    t.expect("check: FAIL: database:" in p.stdout and
             "use a newer smshookctl" in p.stdout, p.stdout)
    t.eq(schema_sql(e, "SELECT version FROM smshook_schema"), ["99"])
    t.eq(e.db.rows(), [])


@scenario
def replies_one_template(e):
    """Replies of two phones with the same templateId and replyTime are
    two rows, also in a database made before replies had a key of their
    own (it is migrated); a retry of either is not a third."""
    a = ref.reply_line("13800000001", "a" * 50)
    b = ref.reply_line("13800000002", "b" * 50)
    ref.append(e.spool, "2026-01-09", a)
    e.imp()
    # the version 2 template key, which held replies too
    schema_sql(e, "DROP INDEX sms_events_template")
    schema_sql(e, "CREATE UNIQUE INDEX sms_events_template ON sms_events "
               "(event_type, template_id, event_time) WHERE sms_id IS NULL")
    schema_sql(e, "UPDATE smshook_schema SET version = 2")
    p = e.ctl("check", "--user", "root")
    t.expect("schema version 2 (import migrates it to %s)" % SCHEMA in
             p.stdout, p.stdout)
    t.eq(schema_sql(e, "SELECT version FROM smshook_schema"), ["2"],
         "(check migrates nothing)")
    ref.append(e.spool, "2026-01-09", b + a + b)
    e.imp()
    rows = e.check_reference()
    t.eq(sorted(r[3] for r in rows), ["13800000001", "13800000002"],
         "(one row per phone)")
    t.eq(schema_sql(e, "SELECT version FROM smshook_schema"), [SCHEMA])


@scenario
def form_repeated_ids(e):
    """A form that gave smsId and phone more than once: one row per id,
    its phone beside it, and a second copy of the line (a retry, or one a
    failed sync left) adds none; a repeated templateId is its first."""
    p = {"eventType": "20", "event": "Delivered", "smsId": ["r1", "r2"],
         "phone": ["1", "2"], "templateId": ["7", "8"],
         "timestamp": "1767225600000", "token": "f" * 50,
         "signature": "0" * 64}
    line = t.v1_line(p, encoding="form")
    ref.append(e.spool, "2026-01-03", line + line)
    p = e.imp("-v")
    t.expect("2 rows inserted" in p.stdout, p.stdout)
    rows = e.check_reference()
    t.eq([(r[2], r[3], r[6]) for r in rows], [("r1", "1", "7"),
                                              ("r2", "2", "7")])


@scenario
def export_keys_apart(e):
    """Two replies whose phone and text differ only in where a unit
    separator (U+001F) falls are two rows, and export, which applies
    import's keys itself, gives both."""
    a = dict(v1_reply("138\x1f1", "TD", "2026-03-02 10:00:00",
                      1767225600000), token="a" * 50)
    b = dict(v1_reply("138", "1\x1fTD", "2026-03-02 10:00:00",
                      1767225600000), token="b" * 50)
    ref.append(e.spool, "2026-01-04", t.v1_line(a) + t.v1_line(b))
    e.imp()
    t.eq(len(e.check_reference()), 2)
    p = e.ctl("export", "--format", "jsonl")
    t.eq(p.returncode, 0, p.stderr)
    t.eq(sorted((r["phone"], r["message"]) for r in
                map(json.loads, p.stdout.splitlines())),
         [("138", "1\x1fTD"), ("138\x1f1", "TD")])


# A version 1 database: the payload in every sms_events row.
V1_TABLE = {
    "sqlite": "CREATE TABLE sms_events (id INTEGER PRIMARY KEY, event_type "
              "INTEGER, event TEXT, sms_id TEXT, phone TEXT, user_id TEXT, "
              "sms_user TEXT, template_id TEXT, message TEXT, status_code "
              "INTEGER, event_time INTEGER, received_at TEXT, payload TEXT "
              "NOT NULL)",
    "pg": "CREATE TABLE sms_events (id bigserial PRIMARY KEY, event_type "
          "bigint, event text, sms_id text, phone text, user_id text, "
          "sms_user text, template_id text, message text, status_code "
          "bigint, event_time bigint, received_at timestamptz, payload "
          "jsonb NOT NULL)",
}
V1_INDEXES = [
    "CREATE UNIQUE INDEX sms_events_message ON sms_events (event_type, "
    "sms_id) WHERE sms_id IS NOT NULL",
    "CREATE UNIQUE INDEX sms_events_template ON sms_events (event_type, "
    "template_id, event_time) WHERE sms_id IS NULL",
    "CREATE INDEX sms_events_time ON sms_events (event_time)",
]


def sql_text(v):
    """v as an SQL literal."""
    return "NULL" if v is None else "'%s'" % str(v).replace("'", "''")


def v1_reply(phone, text, when, ts):
    """A reply's payload: phone (None: none), replyContent, replyTime."""
    p = {"event": "reply", "eventType": 6, "templateId": "0",
         "replyContent": text, "replyTime": when, "timestamp": ts,
         "token": "t%d" % ts, "signature": "0" * 64}
    if phone is not None:
        p["phone"] = phone
    return p


def v1_tables(e, replies):
    """Make e's database version 1, holding replies (phone, text,
    replyTime, timestamp) as it stored them: neither text nor reply
    time in the columns, the timestamp as event_time."""
    schema_sql(e, V1_TABLE[e.db.kind])
    for sql in V1_INDEXES:
        schema_sql(e, sql)
    for phone, text, when, ts in replies:
        payload = v1_reply(phone, text, when, ts)
        kind = "6, 'Reply'"
        if ts in V1_BY_NAME:	# before version 1 knew the code 6
            del payload["eventType"]
            kind = "NULL, 'reply'"
        schema_sql(e, "INSERT INTO sms_events (event_type, event, phone, "
                   "template_id, event_time, received_at, payload) VALUES "
                   "(%s, %s, '0', %d, '2026-01-01T00:00:02.000Z', %s)" % (
                       kind, sql_text(phone), ts,
                       sql_text(json.dumps(payload))))


# Replies named by "event" alone, which version 1 stored without a type
V1_BY_NAME = {1767225600015, 1767225600016}


# Replies a version 1 database holds (phone, text, replyTime, timestamp)
# and the event_time the migration must give each, the one import gives
# the same payload; None: a copy of the reply before it, not kept.
V1_REPLIES = [
    (("13800000001", "TD", "2026-01-01 08:00:00", 1767225600001),
     1767225600000),
    (("13800000001", "TD", "2026-01-01 08:00:00", 1767225600002), None),
    # a day past its month's end runs on into the next: 2 March
    (("13800000002", "TD", "2026-02-30 08:00:00", 1767225600003),
     1772409600000),
    (("13800000003", "TD", "0000-01-01 00:00:00", 1767225600004),
     -62167248000000),
    # not a time: the timestamp stays
    (("13800000004", "TD", "2026-13-01 08:00:00", 1767225600005),
     1767225600005),
    (("13800000005", "TD", "2026-01-01 24:00:00", 1767225600006),
     1767225600006),
    (("13800000006", "TD", "2026-01-05", 1767225600007), 1767225600007),
    # written more loosely than exactly two digits each: not a time
    (("13800000008", "TD", "2026-1-1 08:00:00", 1767225600012),
     1767225600012),
    (("13800000009", "TD", " 2026-01-01 08:00:00", 1767225600013),
     1767225600013),
    (("13800000010", "TD", "2026-01-01 08:00:60", 1767225600014),
     1767225600014),
    # no phone, or no text: no key (NULL equals nothing), every one kept
    ((None, "TD", "2026-01-01 08:00:00", 1767225600008), 1767225600000),
    ((None, "TD", "2026-01-01 08:00:00", 1767225600009), 1767225600000),
    (("13800000007", None, "2026-01-01 08:00:00", 1767225600010),
     1767225600000),
    (("13800000007", None, "2026-01-01 08:00:00", 1767225600011),
     1767225600000),
    # named by "event" alone (V1_BY_NAME): a reply all the same
    (("13800000011", "TD", "2026-01-01 08:00:00", 1767225600015),
     1767225600000),
    (("13800000011", "TD", "2026-01-01 08:00:00", 1767225600016), None),
]


@scenario
def migrate_replies(e):
    """A version 1 database's replies get their text and the time import
    gives them, whatever their replyTime holds; a copy of a reply goes,
    as the reply key would have it. The same replies (those with a key)
    in the spool then add no row: import agrees."""
    v1_tables(e, [r for r, _ in V1_REPLIES])
    ref.append(e.spool, "2026-01-09", b"".join(
        t.v1_line(v1_reply(*r)) for r, _ in V1_REPLIES if None not in r))
    e.imp()
    got = [(r[3], r[7], r[9]) for r in e.db.rows() if r[0] == 6]
    t.eq(got, [(r[0], r[1], ms) for r, ms in V1_REPLIES if ms is not None])
    t.eq({r[1] for r in e.db.rows() if r[0] == 6}, {"Reply"}, "(names)")
    t.eq([r for r in e.db.rows() if r[0] is None], [], "(untyped rows)")
    # the payloads of the copies it removed go with them
    t.eq(schema_sql(e, "SELECT count(*) FROM sms_event_payloads WHERE id "
                    "NOT IN (SELECT payload_id FROM sms_events)"), ["0"])
    t.eq(schema_sql(e, "SELECT version FROM smshook_schema"), [SCHEMA])


@scenario
def migrate_refused(e):
    """A version 1 database the migration cannot change (a view of the
    user's own reads the payload column it drops) stays as it was, and
    import gives the database's own reason."""
    v1_tables(e, [("13800000001", "TD", "2026-01-01 08:00:00",
                   1767225600000)])
    schema_sql(e, "CREATE VIEW my_replies AS SELECT payload FROM sms_events")
    p = e.ctl("import")
    t.eq(p.returncode, 1, p.stderr)
    why = {"sqlite": "no such column: payload",
           "pg": "other objects depend on it"}[e.db.kind]
    t.expect("migrate" in p.stderr and why in p.stderr, p.stderr)
    t.eq(schema_sql(e, "SELECT count(payload) FROM sms_events"), ["1"],
         "(nothing migrated)")
    schema_sql(e, "DROP VIEW my_replies")
    e.imp()
    t.eq(schema_sql(e, "SELECT version FROM smshook_schema"), [SCHEMA])


@scenario
def positions_lost(e):
    """Positions are kept per host name and spool path: when they no
    longer match (here: gone), every day is read again and the keys
    collapse it all, payload rows included."""
    for k, day in enumerate(["2026-01-10", "2026-01-11"]):
        ref.append(e.spool, day, b"".join(ref.gen_lines(200, 60 + k,
                                                        day_tag=day)))
    e.imp()
    rows, payloads = e.check_reference(), e.db.payloads()
    schema_sql(e, "DELETE FROM smshook_positions")
    p = e.imp("-v")
    t.expect("0 rows inserted" in p.stdout, p.stdout)
    t.eq(e.db.rows(), rows, "(no row twice)")
    t.eq(e.db.payloads(), payloads, "(no payload row twice)")
    t.eq(len(e.db.positions()), 2)


@scenario
def regrown_to_position(e):
    """A day cut back (a spool restored from a backup) and grown again by
    a line as long as the one lost, so that a line ends at the position
    anew: the bytes before it are not those imported, so purge keeps the
    day and import reads it from its start; the new line goes in."""
    day = "2020-05-10"
    a, b, c = (t.v1_line(t.event(smsId=i, timestamp=1589068800000 + k))
               for k, i in enumerate(("AAAA", "BBBB", "CCCC")))
    t.eq(len(b), len(c), "(the lines' lengths)")
    path = ref.append(e.spool, day, a + b)
    e.imp()
    t.eq(sorted(r[2] for r in e.db.rows()), ["AAAA", "BBBB"])
    with open(path, "wb") as f:
        f.write(a + c)
    p = e.ctl("purge", "--keep-days", "0")
    t.eq(p.returncode, 1, p.stderr)
    t.expect("no line ends at its imported position" in p.stderr, p.stderr)
    t.expect(os.path.exists(path), "(purged)")
    p = e.imp("-v")
    t.expect("is not the text imported before" in p.stderr, p.stderr)
    t.eq(sorted(r[2] for r in e.db.rows()), ["AAAA", "BBBB", "CCCC"])
    # and once more it is the text imported: nothing read, nothing said
    p = e.imp("-v")
    t.expect("0 lines" in p.stdout and p.stderr == "", p.stdout + p.stderr)
    p = e.ctl("purge", "--keep-days", "0")
    t.eq((p.returncode, p.stderr), (0, ""))


@scenario
def positions_unmarked(e):
    """A version 3 database, whose positions have no mark of their day's
    first line, is migrated by import, which takes each position as it
    is and marks it when it next sees the day; from then on a day written
    again after purge is read from its start."""
    days = ["2020-04-01", "2020-04-02"]
    for k, day in enumerate(days):
        ref.append(e.spool, day, b"".join(ref.gen_lines(
            3, 70 + k, dup_rate=0, day_tag=day)))
    e.imp()
    rows = e.db.rows()
    schema_sql(e, "ALTER TABLE smshook_positions DROP COLUMN first_line")
    schema_sql(e, "UPDATE smshook_schema SET version = 3")
    p = e.ctl("check", "--user", "root")
    t.expect("schema version 3 (import migrates it to %s)" % SCHEMA in
             p.stdout, p.stdout)
    p = e.ctl("purge", "--keep-days", "0")
    t.eq(p.returncode, 1, "(an older version: import migrates it first)")
    t.expect("smshookctl import migrates them" in p.stderr, p.stderr)
    p = e.imp("-v")
    t.expect("0 lines" in p.stdout, p.stdout)
    t.eq(p.stderr, "", "(no day is taken for another file)")
    t.eq(schema_sql(e, "SELECT version FROM smshook_schema"), [SCHEMA])
    t.eq(schema_sql(e, "SELECT count(*) FROM smshook_positions WHERE "
                    "first_line IS NOT NULL"), ["2"], "(both marked)")
    t.eq(e.db.rows(), rows, "(nothing read again)")
    p = e.ctl("purge", "--keep-days", "0")
    t.eq((p.returncode, p.stderr), (0, ""))
    ref.append(e.spool, days[0], b"".join(ref.gen_lines(
        1, 80, day_tag="again")))
    ref.append(e.spool, days[1], b"".join(ref.gen_lines(
        5, 81, dup_rate=0, day_tag="again")))
    e.imp()
    t.eq(e.db.rows(), rows + ref.reference(e.spool))


def no_database():
    d = t.tmpdir()
    try:
        conf = t.write_conf(d)
        os.makedirs(os.path.join(d, "spool"))
        p = t.ctl(conf, "import")
        t.eq(p.returncode, 1)
        t.expect("database" in p.stderr and "--db" in p.stderr, p.stderr)
        p = t.ctl(conf, "import", "--db", "mysql://x")
        t.eq(p.returncode, 2, "a bad argument")
        t.expect("expected sqlite:PATH" in p.stderr, p.stderr)
        p = t.ctl(conf, "import", "--bogus")
        t.eq(p.returncode, 2)
        p = t.ctl(conf, "import", "--help")
        t.eq(p.returncode, 0)
        t.expect("usage" in p.stdout, p.stdout)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def two_hosts_at_once(url, isolation=None):
    """Two receiver hosts whose spools hold the same 8000 events in
    opposite orders (retries that reached the other host) import into one
    PostgreSQL at the same cron minute: each would wait on the other's
    uncommitted keys, and PostgreSQL end one as a deadlock. They take
    turns instead: both exit 0, and every event is one row; also when
    the database's default isolation is repeatable read or serializable
    (each transaction would start its snapshot while it waited)."""
    e = Env("pg", url)
    d2 = t.tmpdir("smshook-ctl-")
    try:
        if isolation:
            t.psql(e.db.url, "DO $$BEGIN EXECUTE format('ALTER DATABASE %%I "
                   "SET default_transaction_isolation = %%L', "
                   "current_database(), '%s'); END$$" % isolation)
        spool2 = os.path.join(d2, "spool")
        os.makedirs(spool2)
        conf2 = t.write_conf(d2, extra="database = %s" % e.db.url)
        lines = ref.gen_lines(8000, 81, dup_rate=0, day_tag="both")
        ref.append(e.spool, "2020-04-01", b"".join(lines))
        ref.append(spool2, "2020-04-01", b"".join(reversed(lines)))
        procs = [subprocess.Popen([t.SMSHOOKCTL, "-c", c, "import"],
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
                 for c in (e.conf, conf2)]
        outs = [p.communicate(timeout=300) for p in procs]
        for p, (out, err) in zip(procs, outs):
            t.eq((p.returncode, err), (0, ""))
        rows = e.db.rows()
        key = lambda r: [("" if v is None else str(v)) for v in r]
        t.eq(sorted(rows, key=key), sorted(ref.reference(e.spool), key=key),
             "(every event one row)")
        t.eq(e.db.payloads()[1], 0, "(payload rows no row names)")
    finally:
        e.close()
        shutil.rmtree(d2, ignore_errors=True)


IMPORT_LOCK = 32489964762525547	# "smshook": db_pg.c's advisory key


def lock_wait_fails(url):
    """The import lock cannot be had (another session holds it, and the
    role's lock_timeout or statement_timeout ends the wait): the first
    day says so, without finding its connection in a transaction the
    failed begin left aborted, the run leaves the other days (each would
    wait as long) and exits 1 with nothing committed; once the lock is
    free, all goes in."""
    e = Env("pg", url)
    holder = None
    try:
        old_days = ["2020-04-02", "2020-04-03"]
        for k, day in enumerate(old_days):
            ref.append(e.spool, day, b"".join(ref.gen_lines(20, 90 + k,
                                                            day_tag=day)))
        e.imp()					# the tables exist
        rows, pos = e.db.rows(), e.db.positions()
        for k, day in enumerate(["2020-04-04", "2020-04-05"]):
            ref.append(e.spool, day, b"".join(ref.gen_lines(20, 95 + k,
                                                            day_tag=day)))
        holder = subprocess.Popen(
            ["psql", "-X", "-q", "-d", e.db.url, "-c", "SELECT "
             "pg_advisory_lock(%d); SELECT pg_sleep(120)" % IMPORT_LOCK],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        held = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' " \
            "AND granted"
        t.wait_for(lambda: t.psql(e.db.url, held).strip() == "1",
                   what="the lock held")
        # the role's lock_timeout, or its statement_timeout, ends the wait
        for opt, why in (("lock_timeout", "lock"), ("statement_timeout",
                                                     "statement")):
            env = dict(os.environ, PGOPTIONS="-c %s=200" % opt)
            p = t.ctl(e.conf, "import", env=env)
            t.eq(p.returncode, 1, p.stderr)
            t.eq(p.stderr.splitlines(), [
                "smshookctl import: 2020-04-04: postgresql: begin: ERROR:  "
                "canceling statement due to %s timeout" % why,
                "smshookctl import: the database stayed locked by another "
                "session: the days after 2020-04-04 are left for the next "
                "run"])
        t.eq((e.db.rows(), e.db.positions()), (rows, pos),
             "(nothing committed)")
        # end the holding session itself: killing psql alone leaves its
        # server process asleep, the lock held, till pg_sleep ends
        t.psql(e.db.url, "SELECT pg_terminate_backend(pid) FROM pg_locks "
               "WHERE locktype = 'advisory' AND granted")
        holder.wait()
        holder = None
        e.imp()
        e.check_reference()
    finally:
        if holder is not None:
            holder.kill()
            holder.wait()
        e.close()


def lock_taken_over(path):
    """The cron lock file at path replaced by another, locked, in one
    step (the path is never without a file a waiting run could make its
    own); that file, held."""
    third = open(path + ".new", "a")
    fcntl.flock(third, fcntl.LOCK_EX)
    os.rename(path + ".new", path)
    return third


def gave_way(e, p, third):
    """Run p, which had to wait for third's lock, gave up and said so,
    importing nothing; once third lets go, all goes in."""
    out, err = p.communicate(timeout=30)
    t.eq(p.returncode, 1, err)
    t.expect("another smshookctl is running" in err and
             "do not remove it" in err, err)
    t.eq(e.db.rows(), [])
    third.close()
    e.imp()
    e.check_reference()


def lock_replaced():
    """The cron lock replaced (removed as if stale, made anew by a third
    run) while a run waits for it: once the first holder ends, the
    waiting run does not take the removed file's lock and run beside
    the third; it waits for the new file's, and says so (nothing
    imported meanwhile). lock_unlinked below is the same race inside
    one try."""
    e = Env("sqlite", None)
    path = os.path.join(e.spool, ".smshookctl.lock")
    p = None
    try:
        ref.append(e.spool, "2026-01-07", b"".join(ref.gen_lines(3, 5)))
        held = open(path, "a")
        fcntl.flock(held, fcntl.LOCK_EX)
        p = subprocess.Popen([t.SMSHOOKCTL, "-c", e.conf, "import"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)


        def waits():		# tried the lock, sleeps till the next try
            try:
                with open("/proc/%d/wchan" % p.pid) as f:
                    return "nanosleep" in f.read()
            except OSError:
                return False
        t.wait_for(waits, "import waiting for the lock")
        third = lock_taken_over(path)
        held.close()		# the first holder ends
        gave_way(e, p, third)
    finally:
        if p is not None and p.poll() is None:
            p.kill()
            p.communicate()
        e.close()


FLOCKGATE_SO = os.path.join(t.BUILD, "tests", "flockgate.so")


def lock_unlinked():
    """The cron lock file replaced (removed as if stale, made anew and
    locked by a third run) between a run's open of it and its flock:
    the flock on the removed file succeeds, but is no lock; the run
    takes the new file's instead, waits for it, and says so (nothing
    imported meanwhile). tests/lib/flockgate.c holds the run between the
    two calls."""
    e = Env("sqlite", None)
    path = os.path.join(e.spool, ".smshookctl.lock")
    gate = t.tmpdir("smshook-gate-")
    p = third = None
    try:
        ref.append(e.spool, "2026-01-07", b"".join(ref.gen_lines(3, 5)))
        env = dict(os.environ, LD_PRELOAD=FLOCKGATE_SO, FLOCKGATE=gate)
        p = subprocess.Popen([t.SMSHOOKCTL, "-c", e.conf, "import"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env)
        t.gate_wait(gate, p, "import", exited=lambda q: q.communicate())
        t.expect(os.path.exists(path), "the run made its lock file")
        third = lock_taken_over(path)
        t.gate_release(gate, p)
        gave_way(e, p, third)
    finally:
        if p is not None and p.poll() is None:
            p.kill()
            p.communicate()
        if third is not None:
            third.close()
        shutil.rmtree(gate, ignore_errors=True)
        e.close()


def long_source():
    """Two spools whose paths are alike in their first 500 bytes: each
    import's source name (host:path) would be cut to the same 511 bytes,
    and the two spools' positions one row. A name that does not fit is
    refused: import stores nothing, stats leaves its import metrics
    out."""
    e = Env("sqlite", None, db_in_conf=False)
    try:
        deep = os.path.join(e.dir, "a" * 200, "b" * 200, "c" * 100)
        for name in ("spoolA", "spoolB"):
            spool = os.path.join(deep, name)
            os.makedirs(spool)
            ref.append(spool, "2020-04-08", b"".join(
                ref.gen_lines(5, 120, day_tag="2020-04-08")))
            conf = t.write_conf(e.dir, extra="database = " + e.db.url,
                                spool=spool, name=name + ".conf")
            # stats leaves its import metrics out, as for a database
            # it cannot read
            for cmd, rc in (("import", 1), ("stats", 0)):
                p = t.ctl(conf, cmd)
                t.eq(p.returncode, rc, "%s: %s" % (cmd, p.stderr))
                t.expect("spool_dir: the spool's name in the database "
                         "(host name:path) is longer than 511 bytes: use a "
                         "shorter path" in p.stderr, p.stderr)
        t.eq(e.db.positions(), {}, "positions stored")
    finally:
        e.close()


def sqlite_locked():
    """Another connection holds the SQLite file's write lock past the
    wait (30 s): the run, which takes the lock first to look at the
    tables, says so once and exits 1 with nothing committed (no day
    waits again); once the lock is free, all goes in."""
    e = Env("sqlite", None)
    con = None
    try:
        ref.append(e.spool, "2020-04-08", b"".join(
            ref.gen_lines(20, 101, day_tag="2020-04-08")))
        e.imp()					# the tables exist
        rows, pos = e.db.rows(), e.db.positions()
        for k, day in enumerate(["2020-04-09", "2020-04-10"]):
            ref.append(e.spool, day, b"".join(ref.gen_lines(
                20, 102 + k, day_tag=day)))
        con = sqlite3.connect(e.db.path, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
        # SQLite's busy handler adds up the sleeps it asks for: the 30 s
        # counted in full, slept ten times faster
        p = e.ctl("import", timeout=120, env=FAST_SLEEPS)
        t.eq(p.returncode, 1, p.stderr)
        t.eq(p.stderr, "smshookctl import: sqlite: begin: database is "
             "locked\n")
        con.execute("ROLLBACK")
        t.eq((e.db.rows(), e.db.positions()), (rows, pos),
             "(nothing committed)")
        e.imp()
        e.check_reference()
    finally:
        if con is not None:
            con.close()
        e.close()


def stopped_holder(url):
    """An import stopped inside its transaction (^Z, a host cut off from
    the server) holds the import lock: the server ends its session after
    a minute idle in the transaction, so another host's import, waiting
    for its turn, goes on and exits 0 (it waited for ever before). The
    stopped one, let go, fails its day with nothing committed and, its
    connection lost, leaves the next day for the next run in one line
    (not one failure a day); that run imports both, every event one
    row."""
    e = Env("pg", url)
    d2 = t.tmpdir("smshook-ctl-")
    a, sessions = None, []
    try:
        lines = ref.gen_lines(2000, 99, dup_rate=0, day_tag="2020-04-07")
        ref.append(e.spool, "2020-04-07", b"".join(lines[:50]))
        e.imp()				# the tables, and the day's position
        ref.append(e.spool, "2020-04-07", b"".join(lines[50:]))
        ref.append(e.spool, "2020-04-08", b"".join(ref.gen_lines(
            20, 100, dup_rate=0, day_tag="2020-04-08")))
        spool2 = os.path.join(d2, "spool")	# the other host: retries
        os.makedirs(spool2)
        ref.append(spool2, "2020-04-07", b"".join(lines[:100]))
        conf2 = t.write_conf(d2, extra="database = %s" % e.db.url)
        # its position's update waits for a row lock, its turn taken:
        # stop it there, then let the update go
        blocker = psql_session(e.db.url)
        sessions.append(blocker)
        say(blocker, "BEGIN; SELECT 1 FROM smshook_positions FOR UPDATE;")
        count = lambda q: t.psql(e.db.url, "SELECT count(*) FROM " + q).strip()
        t.wait_for(lambda: count("pg_stat_activity WHERE state = "
                                 "'idle in transaction'") == "1",
                   what="the position locked")
        # the plain run waits out import's own minute; under ASan, which
        # runs the same code slower, the session sets a few seconds
        # (import keeps a value set, as for a role's)
        env = dict(os.environ)
        if "ASAN_OPTIONS" in env:
            env["PGOPTIONS"] = "-c idle_in_transaction_session_timeout=3s"
        a = subprocess.Popen([t.SMSHOOKCTL, "-c", e.conf, "import"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env)
        t.wait_for(lambda: count(
            "pg_locks WHERE locktype = 'transactionid' AND NOT granted") ==
            "1", what="the import in its turn, waiting for the row")
        a.send_signal(signal.SIGSTOP)
        say(blocker, "COMMIT;")
        t0 = time.monotonic()
        b = t.ctl(conf2, "import", timeout=150)
        t.eq((b.returncode, b.stderr), (0, ""), "(the other host's import)")
        print("     (the other host waited %.0f s)" % (time.monotonic() - t0))
        a.send_signal(signal.SIGCONT)
        out, err = a.communicate(timeout=60)
        t.eq(a.returncode, 1, err)
        err = err.splitlines()
        t.eq(len(err), 2, err)
        t.expect(err[0].startswith("smshookctl import: 2020-04-07: "
                                   "postgresql: commit: "), err)
        t.eq(err[1], "smshookctl import: the connection to the database "
             "was lost: the days after 2020-04-07 are left for the next "
             "run")
        a = None
        t.eq(count("smshook_positions WHERE byte_offset = %d" %
                   len(b"".join(lines[:50]))), "1",
             "(nothing of the stopped run committed)")
        e.imp()
        e.check_reference(ordered=False)
    finally:
        if a is not None:
            a.send_signal(signal.SIGCONT)
            a.kill()
            a.communicate()
        end_sessions(sessions)
        e.close()
        shutil.rmtree(d2, ignore_errors=True)


def schema_of_role(url):
    """An older schema's tables in public, and a schema named after the
    role made since (search_path "$user", public puts it first): the
    migration changes the tables where they are, it makes no second set
    in the role's schema, and the next day's rows go in beside the old."""
    e = Env("pg", url)
    try:
        ref.append(e.spool, "2020-06-01", b"".join(
            ref.gen_lines(30, 61, day_tag="2020-06-01")))
        e.imp()
        schema_sql(e, "ALTER TABLE smshook_positions DROP COLUMN last_line;"
                   " UPDATE smshook_schema SET version = 4; CREATE SCHEMA "
                   "postgres")
        ref.append(e.spool, "2020-06-02", b"".join(
            ref.gen_lines(30, 62, day_tag="2020-06-02")))
        e.imp()
        t.eq(schema_sql(e, "SELECT count(*) FROM pg_tables WHERE "
                        "schemaname = 'postgres'"), ["0"], "(no second set)")
        t.eq(schema_sql(e, "SELECT version FROM public.smshook_schema"),
             [SCHEMA])
        e.check_reference()
    finally:
        e.close()


SCHEMA_LOCK = 7262917		# db_pg.c's advisory key for the tables


def psql_session(url):
    """An open psql reading its statements from stdin."""
    return subprocess.Popen(["psql", "-X", "-q", "-d", url],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, text=True)


def say(session, sql):
    session.stdin.write(sql + "\n")
    session.stdin.flush()


def end_sessions(sessions):
    """End each psql_session: its stdin closed, psql and its
    transaction end."""
    for q in sessions:
        q.stdin.close()
        q.wait(timeout=30)


def view_reader(e):
    """A session with a transaction open on sms_events_full (as a report
    left running), once its lock is held; close its stdin to end it."""
    reader = psql_session(e.db.url)
    say(reader, "BEGIN; SELECT count(*) FROM sms_events_full WHERE false;")
    t.wait_for(lambda: t.psql(e.db.url, "SELECT count(*) FROM pg_locks l "
                              "JOIN pg_class c ON c.oid = l.relation WHERE "
                              "c.relname = 'sms_events_full' AND "
                              "l.granted").strip() == "1",
               what="the reader's transaction open")
    return reader


def schema_made_meanwhile(url):
    """Two hosts find an older schema at once: the one that waited for
    the other's migration finds the tables current and changes nothing,
    so a reader's open transaction on the view (which the view's
    re-creation would wait a minute for) does not hold it up."""
    e = Env("pg", url)
    sessions, p = [], None
    try:
        ref.append(e.spool, "2020-06-03", b"".join(
            ref.gen_lines(30, 63, day_tag="2020-06-03")))
        e.imp()
        schema_sql(e, "ALTER TABLE smshook_positions DROP COLUMN last_line;"
                   " UPDATE smshook_schema SET version = 4")
        other = psql_session(e.db.url)	# the other host, migrating
        sessions.append(other)
        say(other, "SELECT pg_advisory_lock(%d);" % SCHEMA_LOCK)
        locks = "SELECT count(*) FROM pg_locks WHERE locktype = " \
            "'advisory' AND %s"
        t.wait_for(lambda: t.psql(e.db.url, locks % "granted").strip() ==
                   "1", what="the other host's lock")
        ref.append(e.spool, "2020-06-04", b"".join(
            ref.gen_lines(30, 64, day_tag="2020-06-04")))
        p = subprocess.Popen([t.SMSHOOKCTL, "-c", e.conf, "import"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        t.wait_for(lambda: t.psql(e.db.url, locks % "NOT granted").strip()
                   == "1", what="this host waiting its turn")
        say(other, "ALTER TABLE smshook_positions ADD COLUMN last_line "
            "text; UPDATE smshook_schema SET version = %s;" % SCHEMA)
        sessions.append(view_reader(e))
        say(other, "SELECT pg_advisory_unlock(%d);" % SCHEMA_LOCK)
        out, err = p.communicate(timeout=30)
        t.eq((p.returncode, err), (0, ""), "import beside the reader")
        e.check_reference()
    finally:
        if p is not None and p.poll() is None:
            p.kill()
            p.communicate()
        end_sessions(sessions)
        e.close()


def rows_role(e, role, extra=""):
    """Make role in e's database with rights on the rows alone (not the
    tables' owner), then run extra (with {r} for its name); the URL to
    connect as it."""
    t.psql(e.db.url, ("CREATE ROLE {r} LOGIN; GRANT SELECT, INSERT, "
                      "UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r};"
                      " GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "
                      "public TO {r}; " + extra).format(r=role))
    return e.db.url.replace("postgres@", role + "@", 1)


def drop_role(e, role):
    """Drop role and what it owns, if it was made."""
    try:
        t.psql(e.db.url, "DROP OWNED BY %s; DROP ROLE %s" % (role, role))
    except RuntimeError:
        pass


def check_role_rights(url):
    """smshookctl check names the right import lacks, as import would
    fail without it: CREATE on the schema when there are no tables yet
    (PostgreSQL 15 gives it to no role but the owner), the rows' rights
    and the sequences' (USAGE, or UPDATE, as nextval takes either) on
    tables made, TEMPORARY on the database, and ownership when the
    tables are to be migrated or lack a part (the view); with them,
    ok."""
    e = Env("pg", url)
    role = "smshook_check_%d" % os.getpid()
    try:
        as_role = rows_role(e, role, "REVOKE ALL ON ALL TABLES IN SCHEMA "
                            "public FROM {r}")
        conf = t.write_conf(e.dir, extra="database = %s" % as_role,
                            name="role.conf")

        def check(*want):
            p = t.ctl(conf, "check", "--user", "root")
            if not want:
                t.eq(p.returncode, 0, p.stdout + p.stderr)
                return
            t.eq(p.returncode, 1, p.stdout + p.stderr)
            t.expect(any(w in p.stdout for w in want) and "GRANT it to "
                     "the role" in p.stdout, p.stdout)
        check("no CREATE right on schema public")
        ref.append(e.spool, "2020-07-10", b"".join(
            ref.gen_lines(20, 110, day_tag="2020-07-10")))
        e.imp()					# made by their owner
        t.psql(e.db.url, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO "
               + role)
        check("no INSERT right on table sms_events")
        t.psql(e.db.url, "GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN "
               "SCHEMA public TO " + role)
        check("no USAGE right on sequence public.sms_event")
        t.psql(e.db.url, "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public "
               "TO " + role)
        check()
        t.psql(e.db.url, "REVOKE USAGE ON ALL SEQUENCES IN SCHEMA public "
               "FROM {r}; GRANT UPDATE ON ALL SEQUENCES IN SCHEMA public "
               "TO {r}".format(r=role))
        check()
        p = t.ctl(e.conf, "import", "--db", as_role)
        t.eq(p.returncode, 0, p.stderr)
        temp = "DO $$BEGIN EXECUTE format('%s TEMPORARY ON DATABASE %%I " \
            "%s PUBLIC', current_database()); END$$"
        t.psql(e.db.url, temp % ("REVOKE", "FROM"))
        check("no TEMPORARY right on database")
        t.psql(e.db.url, temp % ("GRANT", "TO"))
        schema_sql(e, "DROP VIEW sms_events_full")
        check("not the owner of table sms_events")
        e.imp()					# its owner makes it again
        check()
        schema_sql(e, "ALTER TABLE smshook_positions DROP COLUMN "
                   "last_line; UPDATE smshook_schema SET version = 4")
        check("not the owner of table sms_events")
    finally:
        drop_role(e, role)
        e.close()


def check_read_only(url, pgdir):
    """smshook check fails, with the fix, where no session of the role
    could write, as import then fails: a role whose transactions are read
    only by default, and a hot standby; the role made writable again,
    ok."""
    e = Env("pg", url)
    role = "smshook_ro_%d" % os.getpid()
    sdir = None
    try:
        ref.append(e.spool, "2020-07-10", b"".join(
            ref.gen_lines(5, 111, day_tag="2020-07-10")))
        e.imp()
        as_role = rows_role(e, role, "ALTER ROLE {r} SET "
                            "default_transaction_read_only = on")
        conf = t.write_conf(e.dir, extra="database = %s" % as_role,
                            name="role.conf")

        def check(conf, want):
            p = t.ctl(conf, "check", "--user", "root")
            if want is None:
                t.eq(p.returncode, 0, p.stdout + p.stderr)
                return
            t.eq(p.returncode, 1, p.stdout + p.stderr)
            t.expect(want in p.stdout and "GRANT" not in p.stdout, p.stdout)
        check(conf, "transactions are read only by default for this role "
              "(default_transaction_read_only is on: ALTER ROLE")
        ref.append(e.spool, "2020-07-11", b"".join(
            ref.gen_lines(5, 112, day_tag="2020-07-11")))
        p = t.ctl(conf, "import")
        t.expect(p.returncode != 0 and "read-only transaction" in p.stderr,
                 "import as the read-only role: %r" % p.stderr)
        t.psql(e.db.url, "ALTER ROLE %s RESET default_transaction_read_only"
               % role)
        check(conf, None)
        sdir, surl = t.pg_start(standby_of=pgdir)
        db = t.pg_db_url(surl, e.db.url.partition("?")[0].rsplit("/")[-1])
        conf = t.write_conf(e.dir, extra="database = %s" % db,
                            name="standby.conf")
        check(conf, "the server is a standby, read only (point "
              "\"database =\" at the primary)")
    finally:
        if sdir is not None:
            t.pg_stop(sdir)
        drop_role(e, role)
        e.close()


def schema_left_alone(url):
    """With the schema current, import runs no DDL: a reader's open
    transaction on the view holds it up no more than it holds up the
    reader, and a role with rights on the rows alone (not the tables'
    owner, no CREATE) imports."""
    e = Env("pg", url)
    reader = None
    role = "smshook_rows_%d" % os.getpid()
    try:
        ref.append(e.spool, "2020-05-01", b"".join(
            ref.gen_lines(20, 70, day_tag="2020-05-01")))
        e.imp()
        reader = view_reader(e)
        ref.append(e.spool, "2020-05-02", b"".join(
            ref.gen_lines(20, 71, day_tag="2020-05-02")))
        p = t.ctl(e.conf, "import", timeout=30)
        t.eq((p.returncode, p.stderr), (0, ""), "(import beside a reader)")
        reader.stdin.close()
        reader.wait(timeout=30)
        reader = None
        as_role = rows_role(e, role, "REVOKE CREATE ON SCHEMA public "
                            "FROM PUBLIC")
        ref.append(e.spool, "2020-05-03", b"".join(
            ref.gen_lines(20, 72, day_tag="2020-05-03")))
        p = t.ctl(e.conf, "import", "--db", as_role)
        t.eq((p.returncode, p.stderr), (0, ""), "(import as %s)" % role)
        e.check_reference()
    finally:
        if reader is not None:
            reader.kill()
            reader.wait()
        drop_role(e, role)
        e.close()


def commit_fails(url):
    """The database refuses the commit (a deferred constraint trigger on
    smshook_positions raising, as a full disk or a lost server would
    fail it): import names the day and the reason, exits 1, and neither
    rows nor positions move; once the commit goes through, the next
    import brings exactly what was left out."""
    e = Env("pg", url)
    try:
        ref.append(e.spool, "2020-06-01", b"".join(
            ref.gen_lines(20, 80, day_tag="2020-06-01")))
        e.imp()
        t.psql(e.db.url, "CREATE FUNCTION smshook_test_refuse() RETURNS "
               "trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION "
               "'commit refused for the test'; END $$; CREATE CONSTRAINT "
               "TRIGGER smshook_test_refuse AFTER INSERT OR UPDATE ON "
               "smshook_positions DEFERRABLE INITIALLY DEFERRED FOR EACH "
               "ROW EXECUTE FUNCTION smshook_test_refuse()")
        rows, positions = e.db.rows(), e.db.positions()
        ref.append(e.spool, "2020-06-01", b"".join(
            ref.gen_lines(5, 81, day_tag="2020-06-01-more")))
        ref.append(e.spool, "2020-06-02", b"".join(
            ref.gen_lines(7, 82, day_tag="2020-06-02")))
        p = e.ctl("import")
        t.eq(p.returncode, 1, p.stderr)
        for day in ("2020-06-01", "2020-06-02"):
            t.expect("%s: " % day in p.stderr and "commit refused for the "
                     "test" in p.stderr, p.stderr)
        t.eq(e.db.rows(), rows, "(rows after the refused commit)")
        t.eq(e.db.positions(), positions, "(positions)")
        t.psql(e.db.url, "DROP TRIGGER smshook_test_refuse ON "
               "smshook_positions; DROP FUNCTION smshook_test_refuse()")
        e.imp()
        e.check_reference()
    finally:
        e.close()


def reject_refused(url):
    """Storing a reject fails for a reason that is not the line's (the
    role may not insert into smshook_rejects): that day stops
    uncommitted, named with the reason, exit 1, and the other days go
    in; once the right is given, the next import takes the day whole."""
    e = Env("pg", url)
    role = "smshook_norej_%d" % os.getpid()
    try:
        ref.append(e.spool, "2020-07-01", b"".join(
            ref.gen_lines(5, 90, day_tag="2020-07-01")))
        e.imp()			# the tables, made by their owner
        as_role = rows_role(e, role, "REVOKE INSERT ON smshook_rejects "
                            "FROM {r}")
        lines = ref.gen_lines(6, 91, day_tag="2020-07-02")
        ref.append(e.spool, "2020-07-02", b"".join(lines[:3]) +
                   b"not an event\n" + b"".join(lines[3:]))
        ref.append(e.spool, "2020-07-03", b"".join(
            ref.gen_lines(4, 92, day_tag="2020-07-03")))
        before = e.db.positions()
        p = t.ctl(e.conf, "import", "--db", as_role)
        t.eq(p.returncode, 1, p.stderr)
        t.expect("2020-07-02: " in p.stderr and "permission denied" in
                 p.stderr, p.stderr)
        t.expect("2020-07-03" not in p.stderr, p.stderr)
        after = e.db.positions()
        t.eq(after.get("2020-07-02"), before.get("2020-07-02"),
             "(the refused day's position)")
        t.expect("2020-07-03" in after, "the other day imported")
        t.eq(e.db.rejects(), [], "(no reject stored)")
        t.psql(e.db.url, "GRANT INSERT ON smshook_rejects TO %s" % role)
        p = t.ctl(e.conf, "import", "--db", as_role)
        t.eq(p.returncode, 0, p.stderr)
        e.check_reference(ordered=False)	# the later day went first
        t.eq([(d, o) for d, o, _, _ in e.db.rejects()],
             ref.rejects_expected(e.spool))
    finally:
        drop_role(e, role)
        e.close()


def positions_unreadable(url):
    """The role may not read smshook_positions: import and purge each
    name the day and the reason and exit 1; purge keeps the day, import
    adds no row."""
    e = Env("pg", url)
    role = "smshook_nopos_%d" % os.getpid()
    try:
        path = ref.append(e.spool, "2020-08-01", b"".join(
            ref.gen_lines(5, 93, day_tag="2020-08-01")))
        os.utime(path, (0, 0))
        e.imp()
        as_role = rows_role(e, role, "REVOKE SELECT ON smshook_positions "
                            "FROM {r}")
        rows = e.db.rows()
        ref.append(e.spool, "2020-08-01", b"".join(
            ref.gen_lines(2, 94, day_tag="2020-08-01-more")))
        os.utime(path, (0, 0))
        # import names the day it stops at; purge stops before any
        for args, where in ((["import"], "2020-08-01: postgresql: read "
                             "position: "),
                            (["purge", "--keep-days", "1"], "postgresql: ")):
            p = t.ctl(e.conf, *(args + ["--db", as_role]))
            t.eq(p.returncode, 1, "%s: %s" % (args, p.stderr))
            t.expect(where in p.stderr and "permission denied for table "
                     "smshook_positions" in p.stderr, p.stderr)
        t.expect(os.path.exists(path), "purge kept the day")
        t.eq(e.db.rows(), rows, "(no row added)")
    finally:
        drop_role(e, role)
        e.close()


def latin1_and_secrets(url):
    """A database not in UTF8 is refused by import and check, naming the
    encoding, before any day: a line it cannot hold would be refused, and
    so would its reject, for ever. A malformed connection string is named
    without libpq's words, which quote it, password and all."""
    e = Env("pg", url, db_in_conf=False)
    name = "latin_%d" % os.getpid()
    try:
        ref.append(e.spool, "2020-05-04", b"".join(
            ref.gen_lines(5, 73, day_tag="2020-05-04")))
        t.psql(url, "CREATE DATABASE %s TEMPLATE template0 ENCODING "
               "'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'" % name)
        base, _, query = url.partition("?")
        latin = base.rsplit("/", 1)[0] + "/" + name + "?" + query
        want = "postgresql: database encoding LATIN1: smshook needs a " \
            "UTF8 database"
        p = e.ctl("import", "--db", latin)
        t.eq(p.returncode, 1, p.stderr)
        t.expect(want in p.stderr, p.stderr)
        with open(e.conf, "a") as f:
            f.write("database = %s\n" % latin)
        p = e.ctl("check", "--user", "root")
        t.eq(p.returncode, 1, p.stdout + p.stderr)
        t.expect(want in p.stdout + p.stderr, p.stdout + p.stderr)
        for bad in ("postgresql://u:s3cr%ZZet@/x?host=/nonexistent",
                    "postgresql://u:s3cret@[::1"):
            p = e.ctl("import", "--db", bad)
            t.eq(p.returncode, 1, p.stderr)
            t.expect("malformed connection string" in p.stderr and
                     "s3cr" not in p.stderr, p.stderr)
    finally:
        try:
            t.psql(url, "DROP DATABASE IF EXISTS %s" % name)
        except RuntimeError:
            pass
        e.close()


SCENARIOS = [through_receiver, duplicates, numeric_ids, number_forms,
             empty_ids, keyless_events, keyless_read_again,
             migrate_tokens, old_binary_on_v7, old_binary_between,
             torn_line, rejects, refused_line,
             written_while_importing, kill_nine, batches_killed,
             lock_held, newer_schema, replies_one_template,
             form_repeated_ids, export_keys_apart,
             migrate_replies, migrate_refused, positions_lost,
             positions_unmarked, regrown_to_position]


def main():
    r = t.Runner("ctl-import")
    r.check("no database configured", no_database)
    only = os.environ.get("SMSHOOK_CTL_ONLY")
    scenarios = [s for s in SCENARIOS if not only or s.__name__ == only]
    for s in scenarios:
        r.check("sqlite: " + s.__name__, s, "sqlite", None)
    if not only or only == "sqlite_locked":
        r.check("sqlite: sqlite_locked", sqlite_locked)
    if not only or only == "lock_replaced":
        r.check("sqlite: lock_replaced", lock_replaced)
    if (not only or only == "lock_unlinked") and t.shim_ready(
            r, FLOCKGATE_SO, "sqlite: lock_unlinked"):
        r.check("sqlite: lock_unlinked", lock_unlinked)
    if not only or only == "long_source":
        r.check("sqlite: long_source", long_source)
    pgdir = None
    try:
        try:
            pgdir, url = t.pg_start()
        except Exception as exc:  # noqa: BLE001
            r.check("postgresql server starts", lambda: (_ for _ in ()).throw(exc))
            url = None
        if url is not None:
            kill_nine.pg_url = url
            # lock_held: the cron lock is taken before the database is
            # opened, so PostgreSQL's run would be SQLite's again
            for s in scenarios:
                if s is not lock_held:
                    r.check("postgresql: " + s.__name__, s, "pg", url)
            if not only or only == "two_hosts_at_once":
                r.check("postgresql: two_hosts_at_once", two_hosts_at_once,
                        url)
                r.check("postgresql: two_hosts_at_once, serializable",
                        two_hosts_at_once, url, "serializable")
                r.check("postgresql: schema_of_role", schema_of_role, url)
                r.check("postgresql: schema_made_meanwhile",
                        schema_made_meanwhile, url)
                r.check("postgresql: lock_wait_fails", lock_wait_fails, url)
                r.check("postgresql: stopped_holder", stopped_holder, url)
                r.check("postgresql: schema_left_alone", schema_left_alone,
                        url)
                r.check("postgresql: check_role_rights", check_role_rights,
                        url)
                r.check("postgresql: check_read_only", check_read_only,
                        url, pgdir)
                r.check("postgresql: latin1_and_secrets",
                        latin1_and_secrets, url)
                r.check("postgresql: commit_fails", commit_fails, url)
                r.check("postgresql: reject_refused", reject_refused, url)
                r.check("postgresql: positions_unreadable",
                        positions_unreadable, url)
    finally:
        if pgdir is not None:
            t.pg_stop(pgdir)
    return r.finish()


if __name__ == "__main__":
    sys.exit(main())
