"""verify and import read a spool line the same way.

One day file of good and hostile lines: the lines `smshookctl verify`
calls invalid must be exactly the lines `smshookctl import` puts in
smshook_rejects, and every other line must give rows. Both use the one
definition of the spool line (src/common/line.c)."""
import json
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import ctlref as ref  # noqa: E402
from ctlref import t  # noqa: E402

DAY = "2026-01-02"
STAMP = "2026-01-02T03:04:05.678Z"


def good(i, **extra):
    p = {"event": "Delivered", "eventType": 20, "smsId": "agree-%d" % i,
         "phone": "1380000%04d" % i, "timestamp": 1767323045000 + i,
         "token": "tok-%d" % i, "signature": "s"}
    p.update(extra)
    return p


def env_text(payload_text, **over):
    """An envelope around payload_text with members overridden (raw JSON
    text values), in the receiver's order."""
    m = {"v": "1", "received_at": '"%s"' % STAMP,
         "remote_addr": '"203.0.113.9"', "encoding": '"json"',
         "verified": "true", "payload": payload_text}
    m.update(over)
    return "{" + ",".join('"%s":%s' % (k, v) for k, v in m.items()
                          if v is not None) + "}"


def lines():
    """(bytes of a line without '\\n', True if it must be accepted)."""
    pj = lambda p: json.dumps(p, separators=(",", ":"))
    out = [
        (env_text(pj(good(1))), True),
        (env_text(pj(good(2)), encoding='"form"', verified="false"), True),
        # the envelope's own members, each wrong or missing
        (env_text(pj(good(3)), encoding='"xml"', verified='"yes"'), False),
        (env_text(pj(good(4)), encoding='"xml"'), False),
        (env_text(pj(good(5)), verified='"yes"'), False),
        (env_text(pj(good(6)), verified="1"), False),
        (env_text(pj(good(7)), remote_addr=None), False),
        (env_text(pj(good(8)), remote_addr="42"), False),
        (env_text(pj(good(9)), v="2"), False),
        (env_text(pj(good(10)), v="1.0"), False),
        (env_text(pj(good(11)), received_at='"2026-01-02 03:04:05"'), False),
        (env_text('"not an object"'), False),
        # an escaped name must not hide a second payload
        ('{"v":1,"received_at":"%s","remote_addr":"x","encoding":"json",'
         '"verified":true,"p\\u0061yload":%s,"payload":%s}' %
         (STAMP, pj(good(12, eventType=5, statusCode=999)), pj(good(13))),
         False),
        (env_text('{"smsId":"a","sms\\u0049d":"b","token":"t",'
                  '"timestamp":1}'), False),
        # the payload must be an event
        (env_text(pj({k: v for k, v in good(14).items() if k != "token"})),
         False),
        (env_text(pj(good(15, token=""))), False),
        (env_text(pj(good(16, timestamp="12a"))), False),
        (env_text(pj(good(17, timestamp=-5))), False),
        (env_text(pj(good(18, timestamp="1767323045018"))), True),
        # lexical: NUL escape, lone surrogate, bad UTF-8, trailing junk
        (env_text(pj(good(19)).replace('"s"}', '"a\\u0000b"}')), False),
        (env_text(pj(good(20)).replace('"s"}', '"\\ud800"}')), False),
        (env_text(pj(good(21))) + " x", False),
        (env_text(pj(good(22))) + "{}", False),
        (env_text(pj(good(23)).replace('"s"}', '"01"}')) + "", True),
        (env_text('{"token":"t","timestamp":1,"n":01}'), False),
        # escapes in values are values all the same
        (env_text(pj(good(24)), encoding='"js\\u006fn"'), True),
        (env_text(pj(good(25)), received_at='"%s"' %
                  STAMP.replace("Z", "\\u005a")), True),
    ]
    enc = [(s.encode(), ok) for s, ok in out]
    enc.insert(5, ('{"v":1,"payload":{"message":"\xff"}}'.encode("latin-1"),
                   False))
    return enc


def agree():
    d = t.tmpdir("smshook-agree-")
    try:
        spool = os.path.join(d, "spool")
        os.makedirs(spool)
        db = ref.SqliteDB(d)
        conf = t.write_conf(d, extra="database = %s" % db.url)
        offsets, ok_offsets, off = [], [], 0
        with open(os.path.join(spool, DAY + ".jsonl"), "wb") as f:
            for text, ok in lines():
                (ok_offsets if ok else offsets).append(off)
                f.write(text + b"\n")
                off += len(text) + 1
        v = t.ctl(conf, "verify", DAY)
        t.expect(v.returncode == 1, "verify must fail: %s" % v.stdout)
        said = sorted(int(m.group(1)) for m in re.finditer(
            r"\.jsonl:(\d+): invalid line", v.stdout))
        t.eq(said, offsets, "(verify's invalid lines)\n" + v.stdout)
        p = t.ctl(conf, "import")
        t.eq(p.returncode, 0, "import: " + p.stderr)
        rejected = sorted(r[1] for r in db.rejects())
        t.eq(rejected, offsets, "(import's rejects)")
        rows = db.rows()
        t.eq(len(rows), len(ok_offsets), "(one row per good line)")
        ids = sorted(r[2] for r in rows)
        t.expect("agree-13" not in ids and "agree-12" not in ids,
                 "a duplicated payload gave rows: %r" % ids)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    r = t.Runner("ctl-agree")
    r.check("verify and import agree on hostile lines", agree)
    return r.finish()


if __name__ == "__main__":
    sys.exit(main())
