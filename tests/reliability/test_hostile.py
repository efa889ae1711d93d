#!/usr/bin/env python3
"""Hostile input corpus against the receiver in CGI mode.

Every request has its expected status, read from the code (handler.c,
request.c, payload.c, json.c, form.c) and checked against the HTTP
ANSWERS section of smshook(8). For every answer other than 200 "success"
the day files must be byte-for-byte unchanged; for every "success" exactly
one line is added.

SMSHOOK_LONG=1 also runs many random mutations of valid bodies
(SMSHOOK_MUTATIONS, default 20000; CI runs 500).
"""
import json
import os
import random
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import smshooktest as t  # noqa: E402

LONG = os.environ.get("SMSHOOK_LONG") == "1"
MUTATIONS = int(os.environ.get("SMSHOOK_MUTATIONS",
                               "20000" if LONG else "500"))
OTHER_KEY = "another-app-key-not-configured"
MIB = 1024 * 1024


def run(conf, method="POST", body=b"", ctype=t.JSON, length="auto",
        remote="127.0.0.1", env=None):
    """Run the CGI; length "auto" = len(body) when body, None = unset."""
    e = {"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": method,
         "SMSHOOK_CONFIG": conf, "PATH": os.environ.get("PATH", "/bin")}
    if remote is not None:
        e["REMOTE_ADDR"] = remote
    if ctype is not None:
        e["CONTENT_TYPE"] = ctype
    if length == "auto":
        length = len(body) if body else None
    if length is not None:
        e["CONTENT_LENGTH"] = str(length)
    e.update(env or {})
    p = subprocess.run([t.SMSHOOK], input=body, env=e, capture_output=True,
                       timeout=30)
    status, headers, rbody = t.parse_cgi(p.stdout)
    return status, headers, rbody, p.stderr.decode(errors="replace")


def ev(**kw):
    return t.event("delivered", **kw)


def jb(d):
    return t.json_body(d)


def raw_event(fields_json, token=None, ts=None, key=t.KEY, sig=None):
    """A JSON body built by hand: fields_json is inserted verbatim
    before the signed trio (so it may hold anything)."""
    token = token or t.new_token()
    ts = t.now_ms() if ts is None else ts
    sig = t.sign(key, ts, token) if sig is None else sig
    pre = fields_json + "," if fields_json else ""
    return ('{%s"timestamp":%s,"token":"%s","signature":"%s"}'
            % (pre, ts, token, sig)).encode()


def without(d, k):
    d = dict(d)
    del d[k]
    return d


def deep(n):
    return ('"customArgs":' + "[" * n + "]" * n)


def padded_json(size):
    """A valid event padded with trailing white space to size bytes."""
    b = jb(ev())
    return b + b" " * (size - len(b))


def build_cases():
    """(name, kwargs for run(), expected status, expected answer)."""
    C = []

    def add(name, status, answer=None, **kw):
        C.append((name, kw, status, answer))

    good = ev()
    tok = t.new_token()
    ts = t.now_ms()
    # ---- accepted controls
    add("valid json", 200, "success", body=jb(ev()))
    add("valid form", 200, "success", body=t.form_body(ev()), ctype=t.FORM)
    add("get", 200, "ok", method="GET")
    add("head", 200, None, method="HEAD")
    add("empty post", 200, "ok", body=b"")
    add("blank post", 200, "ok", body=b" \r\n\t ")
    add("empty object", 200, "ok", body=b"{}")
    add("empty object, spaces", 200, "ok", body=b" { } ")
    add("content-length 0 with a body", 200, "ok", body=jb(ev()), length=0)
    add("no content type, json sniffed", 200, "success", body=jb(ev()),
        ctype=None)
    add("no content type, form sniffed", 200, "success",
        body=t.form_body(ev()), ctype=None)
    add("json; charset=utf-8", 200, "success", body=jb(ev()),
        ctype="application/json; charset=utf-8")
    add("form; charset=ISO-8859-1, ASCII body", 200, "success",
        body=t.form_body(ev()),
        ctype="application/x-www-form-urlencoded; charset=ISO-8859-1")
    add("APPLICATION/JSON upper case", 200, "success", body=jb(ev()),
        ctype="APPLICATION/JSON")
    add("text/json", 200, "success", body=jb(ev()), ctype="text/json")
    add("uppercase valid signature", 200, "success",
        body=jb(dict(good, signature=good["signature"].upper())))
    add("replay of an accepted token", 200, "duplicate",
        body=jb(dict(good, message="changed")))
    add("surrogate pair escape", 200, "success",
        body=raw_event('"message":"\\ud83d\\ude00"'))
    add("huge number in free field kept", 200, "success",
        body=raw_event('"userId":123456789012345678901234567890,'
                       '"msgCount":1e999'))
    add("customArgs array of 2001 items kept", 200, "success",
        body=raw_event('"customArgs":[%s]' % ",".join(["1"] * 2001)))
    add("unknown event code kept", 200, "success",
        body=jb(ev(eventType=99, event="Whatever")))
    add("old spelling deliver/2", 200, "success",
        body=jb(ev(eventType=2, event="deliver")))
    add("repeated smsIds in form becomes array", 200, "success",
        body=t.form_body(ev()) + b"&smsIds=a&smsIds=b", ctype=t.FORM)
    add("max_body exactly, with length", 200, "success",
        body=padded_json(MIB))
    add("max_body exactly, no length", 200, "success",
        body=padded_json(MIB), length=None)
    # ---- malformed JSON
    full = jb(ev())
    add("truncated json", 400, body=full[:len(full) // 2])
    add("truncated json, last byte", 400, body=full[:-1])
    add("truncated in a string", 400, body=b'{"token":"abc')
    add("trailing garbage", 400, body=full + b"x")
    add("two objects", 400, body=full + full)
    add("missing colon", 400, body=b'{"token" "abc"}')
    add("trailing comma", 400, body=raw_event('"a":1').replace(b"}", b",}"))
    add("single quotes", 400, body=b"{'token':'abc'}")
    add("unquoted key", 400, body=b'{token:"abc"}')
    add("lone close brace", 400, body=b"}")
    add("bad literal", 400, body=raw_event('"a":nul'))
    add("leading zero number", 400, body=raw_event('"a":012'))
    add("number with trailing dot", 400, body=raw_event('"a":1.'))
    add("json null body", 400, body=b"null")
    add("json array", 400, body=b"[]")
    add("json array of an event", 400, body=b"[" + jb(ev()) + b"]")
    add("json scalar number", 400, body=b"42")
    add("json scalar string", 400, body=b'"hello"')
    add("json scalar true", 400, body=b"true")
    add("10k-deep nesting", 400, body=raw_event(deep(10000)))
    add("10k-deep unbalanced", 400, body=b"[" * 10000)
    add("1001-deep nesting (cJSON limit)", 400, body=raw_event(deep(1001)))
    # ---- UTF-8 and NUL
    add("invalid utf-8 in string", 400, body=raw_event('"message":"a\xffb"'
                                                      ).replace(b"\xc3\xbf",
                                                                b"\xff"))
    add("overlong utf-8", 400, body=raw_event('"message":"@@"').replace(
        b"@@", b"\xc0\xaf"))
    add("utf-8 encoded surrogate", 400, body=raw_event(
        '"message":"@@"').replace(b"@@", b"\xed\xa0\x80"))
    add("truncated utf-8 sequence", 400, body=raw_event(
        '"message":"@@"').replace(b"@@", b"\xe4\xbd"))
    add("above U+10FFFF", 400, body=raw_event('"message":"@@"').replace(
        b"@@", b"\xf4\x90\x80\x80"))
    add("invalid utf-8 outside strings", 400,
        body=b"{\xff" + jb(ev())[1:])
    add("charset=ISO-8859-1, a Latin-1 byte", 400,
        body=raw_event('"message":"caf@"').replace(b"@", b"\xe9"),
        ctype="application/json; charset=ISO-8859-1")
    add("byte order mark", 400, body=b"\xef\xbb\xbf" + jb(ev()))
    add("raw NUL in a string", 400, body=raw_event('"message":"a@b"').replace(
        b"@", b"\x00"))
    add("raw NUL outside strings", 400, body=jb(ev())[:-1] + b"\x00}")
    add("NUL as first byte", 400, body=b"\x00" + jb(ev()))
    add("escaped \\u0000", 400, body=raw_event('"message":"a\\u0000b"'))
    add("lone high surrogate escape", 400,
        body=raw_event('"message":"\\ud800"'))
    add("lone low surrogate escape", 400,
        body=raw_event('"message":"\\udc00"'))
    add("bad escape \\x", 400, body=raw_event('"message":"\\x41"'))
    add("short \\u escape", 400, body=raw_event('"message":"\\u12"'))
    add("raw control char in string", 400,
        body=raw_event('"message":"a\x01b"'))
    # ---- duplicate keys, wrong types, numbers
    add("duplicate token", 400, body=raw_event('"token":"x' + "y" * 49 + '"'))
    add("duplicate unknown key", 400, body=raw_event('"zz":1,"zz":2'))
    add("token as number", 400, body=jb(dict(good, token=12345)))
    add("token null", 400, body=jb(dict(good, token=None)))
    add("token empty", 400, body=jb(dict(ev(), token="")))
    add("token 257 bytes", 400, body=jb(ev(token="a" * 257)))
    add("smsIds object", 400, body=jb(t.event("requested",
                                             smsIds={"a": 1})))
    add("phones number", 400, body=jb(t.event("requested", phones=5)))
    add("message object", 400, body=jb(ev(message={"x": 1})))
    add("eventType not integer string", 400, body=jb(ev(eventType="abc")))
    add("eventType huge", 400, body=raw_event('"eventType":1e300'))
    add("verfiyResult fraction", 400,
        body=jb(t.event("template", verfiyResult=0.5)))
    add("number beyond the bounds in a list as JSON text", 400,
        body=raw_event('"smsIds":"[1e999999]"'), expect_field="smsIds")
    add("timestamp as a string of 12 digits", 400,
        body=jb(dict(good, timestamp=str(ts)[:-1])))
    add("timestamp with a leading zero", 400,
        body=raw_event("", ts="0" + str(ts)[1:]))
    add("timestamp as float", 400,
        body=raw_event("", ts="%d.5" % ts))
    add("timestamp as exponent", 400, body=raw_event("", ts="1.652e12"))
    add("timestamp negative", 400, body=raw_event("", ts="-1"))
    add("timestamp huge", 400, body=raw_event("", ts="9" * 30))
    add("timestamp 20 digits", 400, body=raw_event("", ts="1" * 20))
    add("timestamp null", 400, body=jb(dict(good, timestamp=None)))
    # ---- signatures and required fields
    add("signature 63 hex", 401, body=jb(dict(ev(), signature="a" * 63)))
    add("signature 65 hex", 401, body=jb(dict(ev(), signature="a" * 65)))
    add("signature non-hex", 401, body=jb(dict(ev(), signature="g" * 64)))
    add("signature of another key", 401, body=jb(ev(key=OTHER_KEY)))
    add("signature empty", 401, body=jb(dict(ev(), signature="")))
    add("signature with newline", 401,
        body=jb(dict(good, token=tok, signature=t.sign(t.KEY, ts, tok)
                     + "\n", timestamp=ts)))
    add("signature of another token", 401,
        body=jb(dict(ev(), signature=t.sign(t.KEY, ts, t.new_token()))))
    add("signature of another timestamp", 401,
        body=jb(dict(ev(timestamp=ts, token=tok),
                     signature=t.sign(t.KEY, ts + 1, tok))))
    add("signature as number", 400, body=jb(dict(ev(), signature=1)))
    add("signature null", 400, body=jb(dict(ev(), signature=None)))
    add("missing token", 400, body=jb(without(ev(), "token")))
    add("missing timestamp", 400, body=jb(without(ev(), "timestamp")))
    add("missing signature", 400, body=jb(without(ev(), "signature")))
    # ---- lengths
    add("content-length shorter than body", 400, body=full,
        length=len(full) - 5)
    add("content-length longer than body", 400, body=jb(ev()),
        length=len(full) + 100)
    add("content-length garbage", 400, body=jb(ev()), length="abc")
    add("content-length negative", 400, body=jb(ev()), length="-5")
    add("content-length plus sign", 400, body=jb(ev()), length="+12")
    add("content-length leading space", 400, body=jb(ev()), length=" 12")
    add("content-length exponent", 400, body=jb(ev()), length="1e3")
    add("content-length enormous", 413, body=jb(ev()), length="9" * 40)
    add("max_body + 1, with length", 413, body=padded_json(MIB + 1))
    add("max_body + 1, no length", 413, body=padded_json(MIB + 1),
        length=None)
    big = padded_json(10 * MIB)
    add("10 MiB body with length", 413, body=big)
    add("10 MiB body without length", 413, body=big, length=None)
    # ---- forms
    fb = t.form_body(ev())
    add("form broken %-escape %zz", 400, body=fb + b"&x=%zz", ctype=t.FORM)
    add("form truncated %4", 400, body=fb + b"&x=%4", ctype=t.FORM)
    add("form lone %", 400, body=fb + b"&x=%", ctype=t.FORM)
    add("form %00", 400, body=fb + b"&message=a%00b", ctype=t.FORM)
    add("form %ff invalid utf-8", 400, body=fb + b"&x=%ff", ctype=t.FORM)
    add("form raw NUL", 400, body=fb + b"&x=a\x00b", ctype=t.FORM)
    add("form repeated token", 400, body=fb + b"&token=abc", ctype=t.FORM)
    add("form repeated timestamp", 400, body=fb + b"&timestamp=1",
        ctype=t.FORM)
    add("form repeated signature", 400, body=fb + b"&signature=ab",
        ctype=t.FORM)
    add("form field without a name", 400, body=fb + b"&=x", ctype=t.FORM)
    add("form repeated message, one too long", 400,
        body=fb + b"&message=" + b"A" * 5000 + b"&message=B", ctype=t.FORM,
        expect_field="message")
    add("form repeated phone, one too long", 400,
        body=fb + b"&phone=" + b"1" * 300 + b"&phone=1", ctype=t.FORM,
        expect_field="phone")
    add("form repeated verfiyResult, not integers", 400,
        body=fb + b"&verfiyResult=abc&verfiyResult=x", ctype=t.FORM,
        expect_field="verfiyResult")
    add("form timestamp not a number", 400,
        body=t.form_body(dict(ev(), timestamp="abc")), ctype=t.FORM)
    add("form missing signature", 400,
        body=t.form_body(without(ev(), "signature")), ctype=t.FORM)
    add("form bad signature", 401,
        body=t.form_body(ev(key=OTHER_KEY)), ctype=t.FORM)
    add("form body sent as json", 400, body=t.form_body(ev()))
    add("json body sent as form", 400, body=jb(ev()), ctype=t.FORM)
    # ---- content types
    add("xml", 415, body=b"<?xml version='1.0'?><event/>",
        ctype="application/xml")
    add("text/xml with a json body", 415, body=jb(ev()), ctype="text/xml")
    add("multipart", 415, body=b"--x\r\nContent-Disposition: form-data; "
        b"name=\"token\"\r\n\r\nabc\r\n--x--\r\n",
        ctype="multipart/form-data; boundary=x")
    add("text/plain", 415, body=jb(ev()), ctype="text/plain")
    add("application/jsonp", 415, body=jb(ev()), ctype="application/jsonp")
    add("json type, then a word", 415, body=jb(ev()),
        ctype="application/json not/a-type")
    add("form type, then a word", 415, body=t.form_body(ev()),
        ctype="application/x-www-form-urlencoded garbage")
    # ---- methods
    for m in ("PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT",
              "post", "FOO"):
        add("method %s" % m, 405, method=m, body=jb(ev()))
    add("no REQUEST_METHOD", 405, method=None, body=jb(ev()))
    return C


def check_case(spool, conf, name, kw, status, answer):
    kw = dict(kw)
    expect_field = kw.pop("expect_field", None)
    method = kw.pop("method", "POST")
    env = {}
    if method is None:
        env = {}
    before = t.spool_bytes(spool)
    if method is None:
        st, hd, body, err = run(conf, method="", **kw)
    else:
        st, hd, body, err = run(conf, method=method, **kw)
    after = t.spool_bytes(spool)
    t.eq(st, status, "%s: stderr %s body %r" % (name, err, body[:200]))
    t.eq(hd.get("content-type"), "application/json", name)
    if method == "HEAD":
        t.eq(body, b"", "HEAD has no body")
    else:
        doc = json.loads(body)
        if status == 200 and answer is not None:
            t.eq(doc, {"status": answer}, name)
        if status != 200:
            t.expect("error" in doc, "%s: no error member" % name)
            if expect_field:
                t.expect(expect_field in doc["error"], doc["error"])
    if status == 405:
        t.eq(hd.get("allow"), "GET, HEAD, POST", "Allow header")
    if status != 200:
        t.expect(("%d from" % status) in err,
                 "%s: rejection not logged: %r" % (name, err))
    if status == 200 and answer == "success":
        added = sum(len(after.get(n, b"")) - len(before.get(n, b""))
                    for n in after)
        t.expect(added > 0, "%s: nothing written" % name)
        grown = [n for n in after if after[n] != before.get(n, b"")]
        t.eq(len(grown), 1, name)
        n = grown[0]
        old = before.get(n, b"")
        t.expect(after[n].startswith(old), "%s: old lines changed" % name)
        new = after[n][len(old):]
        t.eq(new.count(b"\n"), 1, "%s: exactly one line" % name)
        t.expect(new.endswith(b"\n"), name)
        json.loads(new)
    else:
        t.expect(before == after, "%s: spool changed" % name)
    _ = env


def fcgi_pass(r, cases):
    """The same corpus through lighttpd + mod_fastcgi, for the cases HTTP
    can express (POST/GET/HEAD, honest Content-Length, up to 64 KiB)."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
    try:
        import lighttpd
    except ImportError:
        print("SKIP FastCGI pass: tests/lib/lighttpd.py missing")
        return 0
    if shutil.which("lighttpd") is None or not os.path.exists(
            lighttpd.EXAMPLE):
        print("SKIP FastCGI pass: no lighttpd or conf-examples")
        return 0
    n = 0
    with lighttpd.Lighttpd() as srv:
        for name, kw, status, answer in cases:
            method = kw.get("method", "POST")
            body = kw.get("body", b"")
            if set(kw) - {"body", "ctype", "method", "expect_field"} or \
                    method not in ("POST", "GET", "HEAD") or \
                    len(body) > 65536 or "replay" in name:
                continue
            n += 1
            r.check("fcgi: " + name, fcgi_case, srv, name, method, body,
                    kw.get("ctype", t.JSON), status, answer)
    return n


def fcgi_case(srv, name, method, body, ctype, status, answer):
    before = t.spool_bytes(srv.spool)
    st, hd, rb = t.http(srv.url, method, body if method == "POST" else None,
                        ctype, None)
    after = t.spool_bytes(srv.spool)
    t.eq(st, status, "%s: %r %s" % (name, rb[:200], srv.log()[-500:]))
    t.eq(hd.get("content-type"), "application/json", name)
    if method != "HEAD" and status == 200 and answer:
        t.eq(json.loads(rb), {"status": answer}, name)
    if answer == "success":
        t.eq(sum(v.count(b"\n") for v in after.values()) -
             sum(v.count(b"\n") for v in before.values()), 1, name)
    else:
        t.expect(before == after, "%s: spool changed" % name)


def mutate(rng, b):
    b = bytearray(b)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        i = rng.randrange(len(b)) if b else 0
        if op == 0 and b:
            b[i] = rng.randrange(256)
        elif op == 1 and b:
            b[i] ^= 1 << rng.randrange(8)
        elif op == 2:
            b[i:i] = bytes([rng.choice(b'{}[]",:\\\x00\xff0-e.u')])
        elif op == 3 and b:
            del b[i:i + rng.randint(1, 8)]
        elif op == 4:
            b = b[:i]
        else:
            j = rng.randrange(len(b)) if b else 0
            b[i:i] = b[j:j + rng.randint(1, 16)]
    return bytes(b)


def mutations(spool, conf, figures):
    """Random mutations: only 200 "success" may add one line."""
    seed = int(os.environ.get("SMSHOOK_SEED", "0")) or int(time.time())
    rng = random.Random(seed)
    print("mutation seed %d" % seed)
    counts = {}
    stored = 0
    for i in range(MUTATIONS):
        if i % 100 == 0:
            # keep the snapshots small: check and clear the day files
            for name, line in t.spool_lines(spool):
                t.eq(line["v"], 1)
                stored += i > 0     # at 0: the corpus's lines
            for name in t.spool_bytes(spool):
                os.unlink(os.path.join(spool, name))
        base = jb(t.event(rng.choice(sorted(t.SAMPLES))))
        form = rng.random() < 0.3
        if form:
            base = t.form_body(json.loads(base))
        body = mutate(rng, base)
        before = t.spool_bytes(spool)
        st, hd, rb, err = run(conf, body=body,
                              ctype=t.FORM if form else t.JSON)
        after = t.spool_bytes(spool)
        t.expect(st in (200, 400, 401), "mutation %d: %r -> %s %s"
                 % (i, body, st, err))
        doc = json.loads(rb)
        key = "%d %s" % (st, doc.get("status", ""))
        counts[key] = counts.get(key, 0) + 1
        if doc.get("status") == "success":
            grown = sum(len(v) for v in after.values()) - \
                sum(len(v) for v in before.values())
            t.expect(grown > 0, "success without a line")
            t.eq(sum(v.count(b"\n") for v in after.values()) -
                 sum(v.count(b"\n") for v in before.values()), 1)
        else:
            t.expect(before == after, "mutation %d: %r (%s) changed the "
                     "spool" % (i, body, st))
    # every line on disk is whole and parses
    for name, line in t.spool_lines(spool):
        t.eq(line["v"], 1)
        stored += 1
    t.eq(stored, counts.get("200 success", 0), "one line per success")
    figures["mutations"] = (MUTATIONS, counts)


def main():
    r = t.Runner("test_hostile")
    d = t.tmpdir()
    figures = {}
    try:
        spool = os.path.join(d, "spool")
        conf = t.write_conf(d)
        cases = build_cases()
        started = time.time()
        tally = {}
        for name, kw, status, answer in cases:
            tally[status] = tally.get(status, 0) + 1
            r.check(name, check_case, spool, conf, name, kw, status, answer)
        print("corpus: %d requests in %.1f s; by expected status: %s" % (
            len(cases), time.time() - started,
            ", ".join("%d x%d" % (k, v) for k, v in sorted(tally.items()))))

        started = time.time()
        nf = fcgi_pass(r, cases)
        print("fastcgi: %d corpus requests through lighttpd in %.1f s"
              % (nf, time.time() - started))

        # allow_from and tolerance need their own configurations
        d2 = os.path.join(d, "allow")
        os.mkdir(d2)
        conf2 = t.write_conf(d2, "allow_from = 127.0.0.0/8, ::1\n"
                             "timestamp_tolerance = 300")
        spool2 = os.path.join(d2, "spool")
        now = t.now_ms()
        extra = [
            ("allow_from: outside", dict(body=jb(ev()), remote="10.0.0.1"),
             403, None),
            ("allow_from: GET outside", dict(method="GET",
                                             remote="10.0.0.1"), 403, None),
            ("allow_from: inside", dict(body=jb(ev()), remote="127.0.0.2"),
             200, "success"),
            ("allow_from: ipv6 inside", dict(body=jb(ev()), remote="::1"),
             200, "success"),
            ("allow_from: ipv4-mapped inside",
             dict(body=jb(ev()), remote="::ffff:127.0.0.1"), 200, "success"),
            ("allow_from: ipv6 outside", dict(body=jb(ev()), remote="2001:db8::1"),
             403, None),
            ("allow_from: no REMOTE_ADDR", dict(body=jb(ev()), remote=None),
             403, None),
            ("allow_from: garbage REMOTE_ADDR",
             dict(body=jb(ev()), remote="not-an-address"), 403, None),
            ("allow_from: X-Forwarded-For not believed",
             dict(body=jb(ev()), remote="10.0.0.1",
                  env={"HTTP_X_FORWARDED_FOR": "127.0.0.1"}), 403, None),
            ("tolerance: 1 h old", dict(body=jb(ev(timestamp=now - 3600000))),
             403, None),
            ("tolerance: 1 h ahead", dict(body=jb(ev(timestamp=now + 3600000))),
             403, None),
            ("tolerance: 2 min old", dict(body=jb(ev(timestamp=now - 120000))),
             200, "success"),
            ("tolerance: bad signature first", dict(body=jb(ev(
                timestamp=now - 3600000, key=OTHER_KEY))), 401, None),
        ]
        for name, kw, status, answer in extra:
            r.check(name, check_case, spool2, conf2, name, kw, status, answer)
        total = len(cases) + len(extra)

        r.check("random mutations", mutations, spool, conf, figures)
        r.check("every spool line whole", lambda: [
            t.expect(v.endswith(b"\n")) for v in t.spool_bytes(spool).values()
            if v])
        n, counts = figures.get("mutations", (0, {}))
        print("figures: %d corpus requests, %d mutations (%s)"
              % (total, n, ", ".join("%s: %d" % kv for kv in
                                     sorted(counts.items()))))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(r.finish())


if __name__ == "__main__":
    main()
