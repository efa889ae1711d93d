"""Every event as SendCloud sends it: the provider's own published
samples (tests/fixtures/provider/, both generations of its docs),
re-signed with the docs' test key, posted through the receiver as JSON
and as a form, over CGI and over FastCGI (lighttpd), then imported into
SQLite and PostgreSQL. The rows must be what the independent model
(ctlref.py) says, and each type's key columns what the docs mean.
Replies collapse on (phone, reply time, text) and feed `optouts`;
status codes carry the provider's meanings in `stats`."""
import json
import os
import shutil
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
import ctlref as ref  # noqa: E402
from ctlref import t  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import lighttpd  # noqa: E402

FIX = os.path.join(t.TOP, "tests", "fixtures", "provider")
KEY = "test_appkey"
# the samples' timestamps are years old: no clock window, no token memory
CONF = "replay_window = 0\ntimestamp_tolerance = 0\nmax_body = 64k"


def samples():
    with open(os.path.join(FIX, "samples.json"), encoding="utf-8") as f:
        return json.load(f)


def signed(ev):
    """The sample with a signature by the test key over its own
    timestamp text and token."""
    ev = dict(ev)
    ev.setdefault("token", t.new_token())	# two abridged samples lack one
    ev["signature"] = t.sign(KEY, ev["timestamp"], ev["token"])
    return ev


def bodies(s):
    """(body, content type) of a sample as JSON and as a form."""
    ev = signed(s["event"])
    form = urllib.parse.urlencode(
        [(k, v if isinstance(v, str) else
          json.dumps(v, ensure_ascii=False, separators=(",", ":")))
         for k, v in ev.items()]).encode()
    return [(json.dumps(ev, ensure_ascii=False).encode(), t.JSON),
            (form, t.FORM)]


def test_signature_vector():
    """The docs' test key and one published sample, signed by openssl,
    is what smshookctl sign makes."""
    with open(os.path.join(FIX, "signature_vector.json")) as f:
        v = json.load(f)
    t.eq(t.sign(v["key"], v["timestamp"], v["token"]), v["signature"])
    p = t.ctl("/nonexistent", "sign", "-k", v["key"], "--token", v["token"],
              "--timestamp", v["timestamp"], "--event", "delivered",
              env={"SMSHOOK_CONFIG": "/nonexistent"})
    t.eq(p.returncode, 0, p.stderr)
    t.eq(json.loads(p.stdout)["signature"], v["signature"])


def post_all(d):
    """Every sample, both encodings, CGI and FastCGI; returns the spool."""
    conf = t.write_conf(d, extra=CONF, key=KEY)
    spool = os.path.join(d, "spool")
    n = 0
    for s in samples():
        for body, ctype in bodies(s):
            st, _, rb, err = t.cgi(conf, body=body, ctype=ctype)
            t.eq((st, json.loads(rb)), (200, {"status": "success"}),
                 "CGI %s %s: %s" % (s["name"], ctype, err))
            n += 1
    srv = lighttpd.Lighttpd(conf_extra=CONF, key=KEY).start()
    try:
        for s in samples():
            for body, ctype in bodies(s):
                st, _, rb = t.http(srv.url, body=body, ctype=ctype)
                t.eq((st, json.loads(rb)), (200, {"status": "success"}),
                     "FastCGI %s %s: %s" % (s["name"], ctype, srv.log()))
        for name in os.listdir(srv.spool):
            if name.endswith(".jsonl"):
                with open(os.path.join(srv.spool, name), "rb") as f:
                    ref.append(spool, name[:-6], f.read())
    finally:
        srv.cleanup()
    t.eq(len(t.spool_lines(spool)), 4 * len(samples()),
         "every post stored once")
    return conf, spool


def check_types(rows):
    """What the docs mean by each sample, in the key columns."""
    by = {}
    for r in rows:
        by.setdefault(r[0], []).append(r)
    t.eq(sorted(by), [1, 4, 5, 6, 8, 20])
    for r in by[20]:
        t.eq(r[1], "Delivered")		# 2 and "deliver" normalised
    for r in by[6]:
        t.expect(r[7] is not None and r[3] is not None,
                 "a reply row has its text and phone: %r" % (r,))
    codes = {r[8] for r in by[4] + by[5]}
    t.expect(codes and None not in codes, "status codes: %r" % codes)
    for r in by[1]:
        t.expect(r[2] is not None and r[3] is not None,
                 "one row per smsIds item, phone beside: %r" % (r,))


def import_and_compare(conf, spool, db, url):
    p = t.ctl(conf, "import", "--db", url, "-v")
    t.eq(p.returncode, 0, p.stderr)
    want = ref.reference(spool)
    got = db.rows()
    t.eq(len(got), len(want), "(row count)\n" + p.stdout)
    key = lambda r: [("" if v is None else str(v)) for v in r]
    for g, w in zip(sorted(got, key=key), sorted(want, key=key)):
        t.eq(g, w)
    check_types(got)
    return got


def test_samples_into_both_databases():
    d = t.tmpdir("smshook-provider-")
    pgdir = None
    try:
        conf, spool = post_all(d)
        sq = ref.SqliteDB(d)
        rows = import_and_compare(conf, spool, sq, sq.url)
        replies = [r for r in rows if r[0] == 6]
        t.eq(len(replies), 1, "the reply, posted 4 times, is one row")
        pgdir, url = t.pg_start()
        pg = ref.PgDB(url)
        import_and_compare(conf, spool, pg, pg.url)
        # stats: failures by code, with the provider's meaning
        p = t.ctl(conf, "stats", "--json")
        t.eq(p.returncode, 0, p.stderr)
        fails = {f["status_code"]: f for f in json.loads(p.stdout)
                 ["failures"]}
        t.expect(fails, "failures counted: %s" % p.stdout)
        for code, f in fails.items():
            if code in (410, 420, 430, 440, 450, 460, 500, 510, 530, 550,
                        580, 590):
                t.expect(f["meaning"], "meaning of %d" % code)
            else:
                t.eq(f["meaning"], None, "unknown code %d" % code)
        p = t.ctl(conf, "stats")
        t.expect("by status code" in p.stdout, p.stdout)
    finally:
        if pgdir is not None:
            t.pg_stop(pgdir)
        shutil.rmtree(d, ignore_errors=True)


def test_replies_and_optouts():
    """Retries of a reply are one row; optouts lists the phones whose
    latest reply unsubscribes, on both databases: a later reply of
    nothing but punctuation or an emoji says neither, full-width letters
    are letters. A reply without a time (no replyTime, a timestamp with
    a fraction, as no receiver of today writes) is older than any with
    one, and counts when it is alone."""
    d = t.tmpdir("smshook-optouts-")
    pgdir = None
    try:
        conf = t.write_conf(d, key=KEY)

        def reply(phone, text, when):
            ev = {"event": "reply", "eventType": 6, "phone": phone,
                  "userId": 1, "smsUser": "App", "replyContent": text,
                  "replyTime": when, "timestamp": t.now_ms(),
                  "token": t.new_token()}
            st, _, rb, err = t.cgi(conf, body=t.json_body(signed(ev)))
            t.eq(st, 200, err)
        for args in [("13800000001", "TD", "2026-01-01 10:00:00"),
                     ("13800000001", "TD", "2026-01-01 10:00:00"),
                     ("13800000002", "退订。", "2026-01-01 10:00:00"),
                     ("13800000003", "td", "2026-01-01 10:00:00"),
                     ("13800000003", "yes please", "2026-01-02 10:00:00"),
                     ("13800000004", " Stop! ", "2026-01-01 10:00:00"),
                     ("13800000005", "hello", "2026-01-01 10:00:00"),
                     ("13800000006", "TD", "2026-01-01 10:00:00"),
                     ("13800000008", "退订～", "2026-01-01 10:00:00"),
                     ("13800000009", "“TD”", "2026-01-01 10:00:00"),
                     ("13800000010", "「退订…」", "2026-01-01 10:00:00"),
                     ("13800000011", "TD退订x", "2026-01-01 10:00:00"),
                     # a later "?" or emoji says neither: TD stands
                     ("13800000012", "TD", "2026-01-01 10:00:00"),
                     ("13800000012", "？", "2026-01-01 10:01:00"),
                     ("13800000013", "退订", "2026-01-01 10:00:00"),
                     ("13800000013", "😡", "2026-01-01 10:01:00"),
                     # full-width letters, invisible spaces around
                     ("13800000014", "ＴＤ", "2026-01-01 10:00:00"),
                     ("13800000015", "\u00a0TD\u200b\ufeff",
                      "2026-01-01 10:00:00"),
                     # a later reply with words in it decides
                     ("13800000016", "TD", "2026-01-01 10:00:00"),
                     ("13800000016", "👍 ok", "2026-01-01 10:01:00"),
                     # nothing but punctuation: not an opt-out
                     ("13800000017", "？！", "2026-01-01 10:00:00"),
                     # symbols of every block, other spaces
                     ("13800000018", "TD", "2026-01-01 10:00:00"),
                     ("13800000018", "⭐‼️™㊙", "2026-01-01 10:01:00"),
                     ("13800000019", "STOP\u202f!\u2009\u2028",
                      "2026-01-01 10:00:00"),
                     # blank letters and the Ogham space are no words
                     ("13800000020", "TD", "2026-01-01 10:00:00"),
                     ("13800000020", "\u3164\u1680", "2026-01-01 10:01:00"),
                     ("13800000021", "TD\uffa0\u115f", "2026-01-01 10:00:00")]:
            reply(*args)
        for phone, text in (("13800000006", "hello"), ("13800000007", "TD")):
            ref.append(os.path.join(d, "spool"), "2026-01-01", t.v1_line({
                "event": "reply", "eventType": 6, "phone": phone,
                "replyContent": text, "timestamp": 1767225600000.5,
                "token": t.new_token()}))
        sq = ref.SqliteDB(d)
        pgdir, url = t.pg_start()
        pg = ref.PgDB(url)
        for db in (sq, pg):
            p = t.ctl(conf, "import", "--db", db.url)
            t.eq(p.returncode, 0, p.stderr)
            t.eq(len([r for r in db.rows() if r[0] == 6]), 28,
                 "the retried reply is one row")
            p = t.ctl(conf, "optouts", "--db", db.url)
            t.eq(p.returncode, 0, p.stderr)
            # a reply may hold U+2028, which Python's splitlines would
            # take for a line's end too
            got = [l.split(",")[0].strip('"') for l in
                   p.stdout.split("\n")[1:-1]]
            t.eq(got, ["13800000001", "13800000002", "13800000004",
                       "13800000006", "13800000007", "13800000008",
                       "13800000009", "13800000010", "13800000012",
                       "13800000013", "13800000014", "13800000015",
                       "13800000018", "13800000019", "13800000020",
                       "13800000021"],
                 db.kind)
            p = t.ctl(conf, "optouts", "--db", db.url, "--format", "json",
                      "--word", "hello")
            t.eq([x["phone"] for x in json.loads(p.stdout)],
                 ["13800000005"])
            t.eq(json.loads(p.stdout)[0]["replied_at"],
                 "2026-01-01T02:00:00Z", "replyTime is UTC+8")
            p = t.ctl(conf, "optouts", "--db", db.url, "--format", "json")
            t.eq({x["phone"]: x["replied_at"] for x in
                  json.loads(p.stdout)}.get("13800000007", "absent"), None,
                 "a reply without a time has none in JSON")
            p = t.ctl(conf, "optouts", "--db", db.url)
            t.eq([l for l in p.stdout.splitlines()
                  if l.startswith('"13800000007"')], ['"13800000007","TD",'],
                 "and an empty time in CSV")
    finally:
        if pgdir is not None:
            t.pg_stop(pgdir)
        shutil.rmtree(d, ignore_errors=True)


def main():
    r = t.Runner("ctl-provider")
    return r.check_all(globals())


if __name__ == "__main__":
    sys.exit(main())
