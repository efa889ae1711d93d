"""The HTTP contract (smshook(8), HTTP ANSWERS), run against any transport.

A target has .send(method, body, ctype, headers) -> (status, headers, body),
.spool (directory), .log() (what the receiver logged) and .make(extra)
(-> a new target whose smshook.conf has the extra lines, or None)."""
import json
import os
import re
import shutil

import smshooktest as t
from smshooktest import eq, expect

KINDS = ["requested", "delivered", "suppressed", "failed", "template"]


def unchanged(target, before, what):
    eq(t.spool_bytes(target.spool), before, "spool changed by " + what)


def rejected(target, resp, status, what, error=None):
    eq(resp[0], status, "status for " + what)
    body = t.answer(resp)
    expect("error" in body, "no error member for " + what)
    if error is not None:
        eq(body["error"], error)
    return body


def post_raw(target, body, ctype=t.JSON, headers=None):
    return target.send("POST", body, ctype, headers)


def new_lines(target, before):
    """Lines added to the spool since snapshot before."""
    added = []
    for name, data in t.spool_bytes(target.spool).items():
        old = before.get(name, b"")
        expect(data.startswith(old), name + " was rewritten")
        for raw in data[len(old):].split(b"\n")[:-1]:
            added.append((raw, json.loads(raw)))
    return added


def check_get_head(target):
    before = t.spool_bytes(target.spool)
    r = target.send("GET", None, None, None)
    eq(r[0], 200)
    eq(t.answer(r), {"status": "ok"})
    r = target.send("HEAD", None, None, None)
    eq(r[0], 200)
    eq(r[2], b"", "HEAD has no body")
    unchanged(target, before, "GET/HEAD")


def check_empty_post(target):
    before = t.spool_bytes(target.spool)
    for body in (b"", b"{}", b"  \n"):
        r = post_raw(target, body)
        eq(r[0], 200, "empty POST %r" % body)
        eq(t.answer(r), {"status": "ok"})
    unchanged(target, before, "an empty POST")


def check_accept(target, kind, form):
    ev = t.event(kind)
    before = t.spool_bytes(target.spool)
    body = t.form_body(ev) if form else t.json_body(ev)
    r = post_raw(target, body, t.FORM if form else t.JSON)
    eq(r[0], 200, "%s %s" % (kind, "form" if form else "json"))
    eq(t.answer(r), {"status": "success"})
    lines = new_lines(target, before)
    eq(len(lines), 1, "lines written")
    line = lines[0][1]
    eq(line["v"], 1)
    eq(line["encoding"], "form" if form else "json")
    eq(line["verified"], True)
    eq(line["remote_addr"], "127.0.0.1")
    expect(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
                        line["received_at"]), line["received_at"])
    want = t.form_payload(ev) if form else ev
    eq(sorted(line["payload"]), sorted(want), "payload fields")
    for k in want:
        eq(line["payload"][k], want[k], "payload field " + k)
    # the same event again is a duplicate, not a second line
    before = t.spool_bytes(target.spool)
    r = post_raw(target, body, t.FORM if form else t.JSON)
    eq(r[0], 200)
    eq(t.answer(r), {"status": "duplicate"})
    unchanged(target, before, "a duplicate")


def check_all_kinds(target):
    for kind in KINDS:
        for form in (False, True):
            check_accept(target, kind, form)


def check_spellings_and_unknowns(target):
    before = t.spool_bytes(target.spool)
    old = t.event("delivered", event="deliver", eventType=2)
    unknown = t.event("delivered", eventType=99, event="Clicked",
                      brandNew={"nested": [1, 2.50, "x"]})
    for ev in (old, unknown):
        r = post_raw(target, t.json_body(ev))
        eq(r[0], 200, "accepted %r" % ev.get("event"))
    lines = new_lines(target, before)
    eq([l[1]["payload"] for l in lines], [old, unknown])
    # number text is kept as sent, not re-printed
    ev = t.event("delivered")
    raw = t.json_body(ev)[:-1] + b', "ratio" : 1.50e3, "big": 12345678901234567890}'
    before = t.spool_bytes(target.spool)
    eq(post_raw(target, raw)[0], 200)
    line = new_lines(target, before)[0][0]
    expect(b'"ratio":1.50e3,"big":12345678901234567890}' in line, line)


def check_bad_input(target):
    good = t.event("delivered")
    missing = {k: {x: y for x, y in good.items() if x != k}
               for k in ("token", "timestamp", "signature")}
    cases = [
        (b'{"token": "abc", ', t.JSON, 400),
        (b'[1, 2, 3]', t.JSON, 400),
        (t.json_body(good).replace(b'"App"', b'"\xff\xfe"'), t.JSON, 400),
        (t.json_body(good).replace(b'"App"', b'"A\x00p"'), t.JSON, 400),
        (t.json_body(missing["token"]), t.JSON, 400),
        (t.json_body(missing["timestamp"]), t.JSON, 400),
        (t.json_body(missing["signature"]), t.JSON, 400),
        (t.json_body(dict(good, smsIds={"a": 1})), t.JSON, 400),
        # a digit string is fine, but only of 13 digits, like a number
        (t.json_body(dict(good, timestamp=str(good["timestamp"]) + "5")),
         t.JSON, 400),
        (t.json_body(dict(good, timestamp=good["timestamp"] // 10)), t.JSON,
         400),
        (t.form_body(good) + b"&x=%zz", t.FORM, 400),
        (b"<xml>nope</xml>", "text/xml", 415),
        (t.json_body(good), "multipart/form-data; boundary=x", 415),
    ]
    before = t.spool_bytes(target.spool)
    for body, ctype, status in cases:
        r = post_raw(target, body, ctype)
        rejected(target, r, status, repr(body[:40]))
    unchanged(target, before, "bad input")


def check_bad_signature(target):
    ev = t.event("delivered")
    right = ev["signature"]
    ev["signature"] = t.sign("another key", ev["timestamp"], ev["token"])
    before = t.spool_bytes(target.spool)
    r = post_raw(target, t.json_body(ev))
    rejected(target, r, 401, "bad signature", "Invalid signature")
    expect(right.encode() not in r[2], "expected signature revealed")
    for sig in ("", "zz" * 32, right[:-2], right.upper() + "00"):
        ev["signature"] = sig
        rejected(target, post_raw(target, t.json_body(ev)), 401, repr(sig))
    unchanged(target, before, "a bad signature")
    log = target.log()
    expect("Invalid signature" in log and "127.0.0.1" in log,
           "rejection not logged with reason and client")
    expect(right not in log and t.KEY not in log, "secret in the log")
    ev["signature"] = right.upper()            # case does not matter
    eq(post_raw(target, t.json_body(ev))[0], 200)


def check_methods(target):
    for m in ("PUT", "DELETE", "PATCH"):
        r = target.send(m, b"{}", t.JSON, None)
        rejected(target, r, 405, m)
        eq(r[1].get("allow"), "GET, HEAD, POST")


def check_too_large(target):
    """The target's config has max_body = 64k."""
    ev = t.event("delivered", message="x" * 100000)
    before = t.spool_bytes(target.spool)
    rejected(target, post_raw(target, t.json_body(ev)), 413, "large body")
    unchanged(target, before, "a large body")


def check_spool_failure(target):
    """An unwritable spool answers 503 + Retry-After and remembers
    nothing: the same event is accepted once the spool is back."""
    ev = t.event("failed")
    away = target.spool + ".away"
    os.rename(target.spool, away)
    try:
        with open(target.spool, "w") as f:     # a file where the dir was
            f.write("not a directory\n")
        r = post_raw(target, t.json_body(ev))
        rejected(target, r, 503, "unwritable spool")
        expect(r[1].get("retry-after", "").isdigit(), "no Retry-After")
    finally:
        os.unlink(target.spool)
        os.rename(away, target.spool)
    before = t.spool_bytes(target.spool)
    r = post_raw(target, t.json_body(ev))
    eq(r[0], 200, "retry after the spool came back")
    eq(t.answer(r), {"status": "success"})
    eq(len(new_lines(target, before)), 1)


def check_forbidden(target):
    """allow_from that excludes 127.0.0.1, and a timestamp tolerance."""
    denied = target.make("allow_from = 192.0.2.0/24, 2001:db8::/32")
    if denied is None:
        return
    try:
        before = t.spool_bytes(denied.spool)
        rejected(denied, post_raw(denied, t.json_body(t.event())), 403,
                 "allow_from")
        rejected(denied, denied.send("GET", None, None, None), 403, "GET")
        unchanged(denied, before, "a denied client")
    finally:
        denied.close()
    strict = target.make("timestamp_tolerance = 5m")
    try:
        before = t.spool_bytes(strict.spool)
        old = t.event(timestamp=t.now_ms() - 3600 * 1000)
        rejected(strict, post_raw(strict, t.json_body(old)), 403, "old")
        unchanged(strict, before, "an old timestamp")
        eq(post_raw(strict, t.json_body(t.event()))[0], 200)
    finally:
        strict.close()


PROXIED = "trusted_proxies = 127.0.0.0/8\nallow_from = 203.0.113.0/24"


def check_forwarded_twice(target):
    """target, configured with PROXIED, behind a trusted proxy: a client's
    own X-Forwarded-For never counts, sent as a line before the proxy's
    (nginx before 1.23 passes each line on as a parameter of its own) or
    spelt X_Forwarded_For (lighttpd passes it on under the same name):
    403, nothing written. The proxy's one line counts."""
    before = t.spool_bytes(target.spool)
    for own in ("X-Forwarded-For", "X_Forwarded_For"):
        pairs = [(own, "203.0.113.5"), ("X-Forwarded-For", "198.51.100.7")]
        rejected(target, target.send("POST", t.json_body(t.event()), t.JSON,
                                     pairs), 403, own)
    unchanged(target, before, "a client's own X-Forwarded-For")
    r = target.send("POST", t.json_body(t.event()), t.JSON,
                    [("X-Forwarded-For", "203.0.113.5")])
    eq(r[0], 200, "the proxy's line")
    eq(t.spool_lines(target.spool)[-1][1]["remote_addr"], "203.0.113.5")


def check_unverified(target):
    """require_signature = no stores unsigned events as verified:false."""
    loose = target.make("require_signature = no", key=None)
    if loose is None:
        return
    try:
        ev = t.event("delivered")
        del ev["signature"]
        before = t.spool_bytes(loose.spool)
        eq(post_raw(loose, t.json_body(ev))[0], 200)
        eq(new_lines(loose, before)[0][1]["verified"], False)
    finally:
        loose.close()


CHECKS = [check_get_head, check_empty_post, check_all_kinds,
          check_spellings_and_unknowns, check_bad_input, check_bad_signature,
          check_methods, check_too_large, check_spool_failure,
          check_forbidden, check_unverified]


class ServerTarget:
    """A running web server (.url, .spool, .log()) as a target, for the
    checks that need no configuration variation (SERVER_CHECKS)."""

    def __init__(self, server):
        self.server = server
        self.spool = server.spool

    def send(self, method, body, ctype, headers):
        return t.http(self.server.url, method, body, ctype, headers)

    def log(self):
        return self.server.log()

    def make(self, extra, key=t.KEY):
        return None                 # config variations: see test_cgi


SERVER_CHECKS = [check_get_head, check_empty_post, check_all_kinds,
                 check_spellings_and_unknowns, check_bad_input,
                 check_bad_signature, check_methods, check_spool_failure]


def run_all(runner, target):
    for c in CHECKS:
        runner.check(c.__name__, c, target)
