#!/usr/bin/env python3
"""valgrind memcheck over one long-lived FastCGI worker.

smshook runs as a FastCGI worker (a listening unix socket on fd 0, bound
here) under

    valgrind --error-exitcode=99 --leak-check=full
             --errors-for-leak-kinds=definite,indirect --track-fds=no

and serves thousands of requests sent by tests/lib/fcgiclient.py, no web
server involved: valid events of every type as JSON and form (signed
with either of two keys), duplicates, bad signatures, malformed JSON and
forms, a stale timestamp and a peer outside allow_from (403), GET, HEAD,
empty POST, other methods (405), bodies over max_body (413) and
unsupported types (415). Every answer's status and body are checked;
the spool must hold exactly the events answered `success`. Then SIGTERM:
valgrind must exit 0, its log must say "ERROR SUMMARY: 0 errors" and
show no definitely or indirectly lost bytes.

SMSHOOK_LONG=1 sends 20 000 requests instead of 3 000.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import smshooktest as t  # noqa: E402
import fcgiclient as fc  # noqa: E402

LONG = os.environ.get("SMSHOOK_LONG") == "1"
N = 20000 if LONG else 3000
KEY2 = "rotated-key-abcdefghijklmnop"
MAX_BODY = 65536
VALGRIND = shutil.which("valgrind")
KINDS = sorted(t.SAMPLES)
FIGURES = []


def case_list():
    """Request makers: each returns (label, params, body, status, answer
    (a dict, or None to skip the body check), token stored or None)."""
    sent = []       # bodies accepted so far, for duplicates

    def valid(i):
        kind = KINDS[i % len(KINDS)]
        key = KEY2 if i % 7 == 3 else t.KEY
        ev = t.event(kind, key=key, unknownField={"kept": i})
        form = (i // len(KINDS)) % 2 == 1
        body = t.form_body(ev) if form else t.json_body(ev)
        ct = t.FORM if form else t.JSON
        sent.append((body, ct))
        return ("valid %s %s" % (kind, "form" if form else "json"),
                fc.params("POST", body, ct), body, 200,
                {"status": "success"}, ev["token"])

    def duplicate(i):
        body, ct = sent[(i * 7919) % len(sent)]
        return ("duplicate", fc.params("POST", body, ct), body, 200,
                {"status": "duplicate"}, None)

    def bad_signature(i):
        ev = t.event(KINDS[i % len(KINDS)], key="not-the-key")
        form = i % 2 == 1
        body = t.form_body(ev) if form else t.json_body(ev)
        return ("bad signature", fc.params("POST", body,
                t.FORM if form else t.JSON), body, 401, None, None)

    def malformed(i):
        ev = t.event(KINDS[i % len(KINDS)])
        body = t.json_body(ev)
        bad = [body[:len(body) // 2], body + b"}", body.replace(b":", b"", 1),
               b"[" + body + b"]", b"\xff" + body, b'{"token":"\x00"}',
               b"null", b"{" * 5000]
        b = bad[i % len(bad)]
        return ("malformed json", fc.params("POST", b), b, 400, None, None)

    def malformed_form(i):
        ev = t.event(KINDS[i % len(KINDS)])
        body = t.form_body(ev) + [b"&token=%zz", b"&%4", b"&timestamp=x",
                                  b"&token=again"][i % 4]
        return ("malformed form", fc.params("POST", body, t.FORM), body,
                400, None, None)

    def stale(i):
        ev = t.event(timestamp=t.now_ms() - 3600 * 1000)
        body = t.json_body(ev)
        return ("stale timestamp", fc.params("POST", body), body, 403, None,
                None)

    def outsider(i):
        ev = t.event()
        body = t.json_body(ev)
        return ("outside allow_from", fc.params("POST", body,
                remote="10.1.2.3" if i % 2 else "2001:db8::1"), body, 403,
                None, None)

    def get(i):
        return ("GET", fc.params("GET", ctype=None), b"", 200,
                {"status": "ok"}, None)

    def head(i):
        return ("HEAD", fc.params("HEAD", ctype=None), b"", 200, None, None)

    def empty_post(i):
        return ("empty POST", fc.params("POST", b"", length=0), b"", 200,
                {"status": "ok"}, None)

    def method(i):
        m = ["PUT", "DELETE", "OPTIONS", "PATCH", "FOO"][i % 5]
        return (m, fc.params(m, b"{}"), b"{}", 405, None, None)

    def too_large(i):
        if i % 2:
            body = b"x" * (MAX_BODY + 1)
            return ("413 body", fc.params("POST", body), body, 413,
                    {"error": "body too large"}, None)
        return ("413 length", fc.params("POST", b"{}", length=10 ** 9),
                b"{}", 413, {"error": "body too large"}, None)

    def unsupported(i):
        ct = ["application/xml", "text/plain", "multipart/form-data"][i % 3]
        body = t.json_body(t.event())
        return ("415 " + ct, fc.params("POST", body, ct), body, 415, None,
                None)

    # weights: about half the requests are valid events
    return ([valid] * 10 + [duplicate] * 2 + [bad_signature, malformed,
            malformed_form, stale, outsider, get, head, empty_post, method,
            too_large, unsupported])


def check_answer(i, case, got):
    label, _, _, status, answer, _ = case
    st, hd, rb, err = got
    t.eq(st, status, "request %d (%s): %r" % (i, label, rb))
    t.eq(hd.get("content-type"), "application/json", label)
    if label == "HEAD":
        t.eq(rb, b"", "HEAD has no body")
    elif answer is not None:
        t.eq(json.loads(rb), answer, label)
    else:
        t.expect(isinstance(json.loads(rb), dict), label)
    if status == 405:
        t.eq(hd.get("allow"), "GET, HEAD, POST")


def parse_log(path):
    with open(path, errors="replace") as f:
        text = f.read()
    summary = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    lost = {k: int(v.replace(",", "")) for k, v in re.findall(
        r"(definitely|indirectly) lost: ([\d,]+) bytes", text)}
    heap = re.search(r"total heap usage: ([\d,]+) allocs, ([\d,]+) frees",
                     text)
    return text, summary, lost, heap


def run(d):
    conf = t.write_conf(d, extra="\n".join([
        "app_key = " + KEY2, "max_body = 64k", "timestamp_tolerance = 300",
        "allow_from = 127.0.0.0/8, ::1", "log_level = debug"]))
    spool = os.path.join(d, "spool")
    sockpath = os.path.join(d, "smshook.sock")
    vglog = os.path.join(d, "valgrind.log")
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(sockpath)
    lsock.listen(128)
    cmd = [VALGRIND, "--log-file=" + vglog, "--error-exitcode=99",
           "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
           "--track-fds=no", t.SMSHOOK, "-c", conf]
    with open(os.path.join(d, "stderr.log"), "wb") as err:
        proc = subprocess.Popen(cmd, stdin=lsock.fileno(),
                                stdout=subprocess.DEVNULL, stderr=err)
    lsock.close()
    cases = case_list()
    stored = []
    counts = {}
    start = time.time()
    try:
        # the first answer is the readiness check (valgrind starts slowly)
        first = fc.request(sockpath, fc.params("GET", ctype=None),
                           timeout=120)
        t.eq(first[0], 200, "first GET")
        for i in range(N):
            case = cases[i % len(cases)](i)
            got = fc.request(sockpath, case[1], case[2], timeout=60)
            check_answer(i, case, got)
            if case[5] is not None:
                stored.append(case[5])
            key = "%d %s" % (case[3], (case[4] or {}).get(
                "status", "HEAD" if case[0] == "HEAD" else ""))
            counts[key.strip()] = counts.get(key.strip(), 0) + 1
        served = time.time() - start
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text, summary, lost, heap = parse_log(vglog)
    tail = text[-3000:]
    t.eq(rc, 0, "valgrind exit status\n" + tail)
    t.expect(summary is not None and summary.group(1) == "0",
             "ERROR SUMMARY\n" + tail)
    t.expect("definitely" in lost or "no leaks are possible" in text,
             "no LEAK SUMMARY in the log\n" + tail)
    t.eq(lost.get("definitely", 0), 0, "definitely lost\n" + tail)
    t.eq(lost.get("indirectly", 0), 0, "indirectly lost\n" + tail)
    t.expect(heap is not None, "no HEAP SUMMARY (did the worker exit "
             "normally?)\n" + tail)
    toks = [line["payload"]["token"] for _, line in t.spool_lines(spool)]
    t.eq(len(toks), len(stored), "lines on disk == success answers")
    t.eq(sorted(toks), sorted(stored), "tokens on disk")
    for name, data in t.spool_bytes(spool).items():
        t.expect(data.endswith(b"\n"), name + " ends with a partial line")
    FIGURES.append("%d requests + 1 readiness GET served by one worker "
                   "under valgrind in %.1f s (%.1f ms each); %s"
                   % (N, served, served * 1000 / (N + 1), ", ".join(
                       "%s x%d" % kv for kv in sorted(counts.items()))))
    FIGURES.append("%d lines in the spool == %d success answers"
                   % (len(toks), len(stored)))
    FIGURES.append("valgrind exit %d, ERROR SUMMARY: %s errors, definitely "
                   "lost %d bytes, indirectly lost %d bytes; heap: %s "
                   "allocs, %s frees" % (rc, summary.group(1),
                                         lost.get("definitely", 0),
                                         lost.get("indirectly", 0),
                                         heap.group(1), heap.group(2)))


def main():
    r = t.Runner("test_valgrind_worker")
    why = t.valgrind_unusable(t.SMSHOOK)
    if why is not None:
        print("SKIP test_valgrind_worker: " + why)
        sys.exit(r.finish())
    d = t.tmpdir()
    try:
        r.check("FastCGI worker under valgrind memcheck: %d requests, "
                "0 errors, no leaks" % N, run, d)
        for f in FIGURES:
            print("figures: " + f)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(r.finish())


if __name__ == "__main__":
    main()
