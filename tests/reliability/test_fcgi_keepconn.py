#!/usr/bin/env python3
"""A FastCGI worker's connections.

Those the web server keeps open (FCGI_KEEP_CONN, sent by nginx with
fastcgi_keep_conn on and by Apache mod_proxy_fcgi with enablereuse): a
worker must answer the next request on the same connection, go back to
new connections once the web server closes it, and still stop at once on
SIGTERM while the kept connection is idle.

The others: a request read to its end is closed at once after the
answer; one whose body was left unread is closed as libfcgi closes, the
worker's side shut down first and the rest read and thrown away, so no
reset can cost the web server the answer, and a stop signal waits till
that close is done; it lasts libfcgi's timeout (2 s) in all, however
much the peer keeps sending. A stop (SIGTERM, SIGHUP or SIGQUIT) while
connections wait: the request in hand is answered in full, then the
worker exits 0 without taking a waiting one (a stop signal only sets a
flag, which the worker looks at before every accept); a stop while it
waits ends the wait at once. A socket
made non-blocking by another program does not make it spin; on TCP
libfcgi accepts and checks FCGI_WEB_SERVER_ADDRS.

A bare worker (listening unix socket on fd 0) driven by the FastCGI
records of tests/lib/fcgiclient.py.
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import smshooktest as t  # noqa: E402
import fcgiclient as fc  # noqa: E402

KEEP_CONN = 1
TIMEOUT = 5


def send_request(sock, rid, prm, body=b"", flags=KEEP_CONN, end=True):
    """Send one request on an open connection; end=False leaves its body
    unfinished (no empty stdin record)."""
    msg = fc.record(fc.BEGIN_REQUEST,
                    struct.pack(">HB5x", fc.RESPONDER, flags), rid)
    msg += fc.record(fc.PARAMS, fc.encode_params(prm), rid)
    msg += fc.record(fc.PARAMS, b"", rid)
    if body:
        msg += fc.record(fc.STDIN, body, rid)
    if end:
        msg += fc.record(fc.STDIN, b"", rid)
    sock.sendall(msg)


def kept_request(sock, rid, prm, body=b"", flags=KEEP_CONN, end=True):
    """One request on an open connection, by default with FCGI_KEEP_CONN;
    returns (status, headers, body) once FCGI_END_REQUEST came."""
    send_request(sock, rid, prm, body, flags, end)
    return answer(sock, rid)


def answer(sock, rid):
    """Read records up to FCGI_END_REQUEST: (status, headers, body)."""
    out = []
    while True:
        ver, rtype, r, clen, plen = fc.HEADER.unpack(
            fc._recv_exact(sock, fc.HEADER.size))
        content = fc._recv_exact(sock, clen + plen)[:clen]
        t.eq(r, rid, "request id of the answer")
        if rtype == fc.STDOUT:
            out.append(content)
        elif rtype == fc.END_REQUEST:
            return fc.parse_response(b"".join(out))


def start(d, env=None, family=socket.AF_UNIX, keep=None):
    """A worker on a listening socket of its own: (process, the socket's
    address, spool dir). AF_INET: 127.0.0.1 on a free port. keep, a list,
    gets the listening socket, left open."""
    conf = t.write_conf(d)
    lsock, path = t.listen_socket(d, family)
    with open(os.path.join(d, "stderr.log"), "wb") as err:
        proc = subprocess.Popen([t.SMSHOOK, "-c", conf], stdin=lsock.fileno(),
                                stdout=subprocess.DEVNULL, stderr=err,
                                env=env)
    if keep is None:
        lsock.close()
    else:
        keep.append(lsock)
    return proc, path, os.path.join(d, "spool")


def ready(path, what="ready"):
    """A GET on a new connection must be answered 200: the worker serves."""
    got = fc.request(path, fc.params("GET", ctype=None), timeout=TIMEOUT)
    t.eq(got[0], 200, what)


def start_lingering(d):
    """start(), with libfcgi's lingering close waiting 60 s, not 2: a slow
    run (under valgrind, say) cannot see its timeout as a close."""
    return start(d, dict(os.environ, LIBFCGI_OS_CLOSE_POLL_TIMEOUT="60000"))


def over_long(sock):
    """A request whose Content-Length is over max_body, its body unsent:
    answered 413 before the body is read, so the close lingers."""
    st, _, _ = kept_request(sock, 1, fc.params("POST", length=1 << 21),
                            b"{" * 100, flags=0, end=False)
    t.eq(st, 413, "answer to an over-long body")


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.connect(path)
    return s


def kept_connection(d):
    proc, path, spool = start(d)
    try:
        s = connect(path)
        try:
            st, _, body = kept_request(s, 1, fc.params("GET", ctype=None))
            t.eq(st, 200, "first request")
            ev = t.event()
            raw = t.json_body(ev)
            st, _, body = kept_request(s, 2, fc.params("POST", raw), raw)
            t.eq((st, json.loads(body)), (200, {"status": "success"}),
                 "second request on the kept connection")
            st, _, body = kept_request(s, 3, fc.params("POST", raw), raw)
            t.eq(json.loads(body), {"status": "duplicate"},
                 "third request on the kept connection")
        finally:
            s.close()
        # the web server dropped it: the worker accepts new connections
        ready(path, "new connection after the kept one closed")
        toks = [line["payload"]["token"] for _, line in t.spool_lines(spool)]
        t.eq(toks, [ev["token"]], "one line for the event")
    finally:
        t.kill_left(proc)


def body_records(body, rid, size=4096):
    """body as stdin records of size bytes, the way web servers send it,
    then the empty record that ends it."""
    return b"".join(fc.record(fc.STDIN, body[i:i + size], rid)
                    for i in range(0, len(body), size)) + \
        fc.record(fc.STDIN, b"", rid)


def unread_kept(d):
    """On a kept connection, answers given before the body was read (405,
    413, 200 to a Content-Length of 0, a GET) leave the connection in
    step: the next request on it is stored. A body too long to throw
    away is closed after its answer."""
    proc, path, spool = start(d)
    try:
        s = connect(path)
        try:
            for rid, prm, body, want in (
                    (1, fc.params("PUT", length=20000), b"x" * 20000, 405),
                    (2, fc.params("POST", length=2 << 20), b"{" * (2 << 20),
                     413),
                    (3, fc.params("POST", length=0), b"{" * 20000, 200)):
                send_request(s, rid, prm, end=False)
                s.sendall(body_records(body, rid))
                st, _, _ = answer(s, rid)
                t.eq(st, want, "request %d on the kept connection" % rid)
            # a GET, which reads no body: its empty stdin record, sent on
            # its own, is left to the drain
            send_request(s, 4, fc.params("GET", ctype=None), end=False)
            s.sendall(fc.record(fc.STDIN, b"", 4))
            t.eq(answer(s, 4)[0], 200, "GET, its stdin record on its own")
            raw = t.json_body(t.event())
            st, _, body = kept_request(s, 5, fc.params("POST", raw), raw)
            t.eq((st, json.loads(body)), (200, {"status": "success"}),
                 "an event after them on the same connection")
        finally:
            s.close()
        t.eq(len(t.spool_lines(spool)), 1, "one line, for the event")
        # more than the worker throws away: answered, then closed
        s = connect(path)
        try:
            big = 17 << 20
            send_request(s, 1, fc.params("PUT", length=big), end=False)
            s.sendall(body_records(b"x" * big, 1, 65528))
            t.eq(answer(s, 1)[0], 405, "an over-long unread body")
            t.eq(s.recv(1), b"", "its connection closed")
        finally:
            s.close()
        t.fcgi_store_one(path, "a new connection after it")
        # the web server gone in the middle of a body the worker drains:
        # the worker lets the connection go and serves the next one
        s = connect(path)
        try:
            send_request(s, 1, fc.params("PUT", length=20000), end=False)
            s.sendall(fc.record(fc.STDIN, b"x" * 4096, 1))
        finally:
            s.close()
        t.fcgi_store_one(path, "a new connection after one dropped mid-body")
    finally:
        t.kill_left(proc)


DRAIN_MAX = 16 << 20	# fcgi_main.c: the most of an unread body thrown away


def drain_limit(d):
    """On a kept connection the worker throws away at most DRAIN_MAX
    bytes of a body left unread, and keeps the connection only if the
    body's end was read within them. One of DRAIN_MAX - 1 bytes ends
    there: the next request on the connection is stored. One of exactly
    DRAIN_MAX bytes is all thrown away, but its end (the empty stdin
    record after them) is not read: like one of DRAIN_MAX + 1, it is
    answered, then its connection closed. A new connection is served
    after each."""
    proc, path, spool = start(d)
    try:
        for rid, size in enumerate((DRAIN_MAX - 1, DRAIN_MAX,
                                    DRAIN_MAX + 1), 1):
            what = "an unread body of DRAIN_MAX %+d bytes" % (
                size - DRAIN_MAX)
            s = connect(path)
            try:
                send_request(s, rid, fc.params("PUT", length=size),
                             end=False)
                s.sendall(body_records(b"x" * size, rid, 65528))
                t.eq(answer(s, rid)[0], 405, what)
                if size < DRAIN_MAX:
                    raw = t.json_body(t.event())
                    st, _, body = kept_request(s, rid + 10,
                                               fc.params("POST", raw), raw)
                    t.eq((st, json.loads(body)), (200, {"status":
                                                        "success"}),
                         "the next request after " + what)
                else:
                    try:
                        end = s.recv(1)
                    except socket.timeout:
                        end = "nothing in %d s: kept open" % TIMEOUT
                    t.eq(end, b"", "connection closed after " + what)
            finally:
                s.close()
            t.fcgi_store_one(path, "a new connection after " + what)
        t.eq(len(t.spool_lines(spool)), 4, "one line for each event")
    finally:
        t.kill_left(proc)


def sigterm_while_kept(d):
    proc, path, _ = start(d)
    try:
        s = connect(path)
        try:
            st, _, _ = kept_request(s, 1, fc.params("GET", ctype=None))
            t.eq(st, 200, "request on the kept connection")
            t.sigterm_exits(proc, TIMEOUT)
        finally:
            s.close()
    finally:
        t.kill_left(proc)


def closed(sock):
    """1 if the worker closed its end, 0 if it only shut down its writing
    side (lingering): both read as the end, only a write tells."""
    t.eq(sock.recv(1), b"", "the end after the answer")
    try:
        sock.sendall(b"\0" * 8)
    except (BrokenPipeError, ConnectionResetError):
        return 1
    return 0


def closes_at_once(d):
    proc, path, spool = start_lingering(d)
    try:
        s = connect(path)
        try:
            raw = t.json_body(t.event())
            st, _, body = kept_request(s, 1, fc.params("POST", raw), raw,
                                       flags=0)
            t.eq((st, json.loads(body)), (200, {"status": "success"}),
                 "answer")
            t.eq(closed(s), 1, "closed at once, read to its end")
        finally:
            s.close()
        s = connect(path)
        try:
            over_long(s)
            t.eq(closed(s), 0, "lingering close, the body unread")
        finally:
            s.close()
        ready(path, "next connection")
        t.eq(len(t.spool_lines(spool)), 1, "one line stored")
    finally:
        t.kill_left(proc)


# read(2)'s and accept(2)'s numbers, the first field of /proc/PID/syscall
SYS_READ, SYS_ACCEPT, SYS_POLL, SYS_PPOLL = {
    "x86_64": (0, 43, 7, 271),
    "aarch64": (63, 202, -1, 73)}[os.uname().machine]


def syscall_of(pid):
    """The number of the system call pid sleeps in, or None if running."""
    with open("/proc/%d/syscall" % pid) as f:
        nr = f.read().split()[0]
    return int(nr) if nr.isdigit() else None


def stop_pending(pid):
    """True if pid lives with a SIGTERM pending and blocked: it holds the
    signal back (pending alone may be a signal not yet taken; a zombie's
    sets say nothing)."""
    with open("/proc/%d/status" % pid) as f:
        st = dict(line.split(":", 1) for line in f)
    bit = 1 << (signal.SIGTERM - 1)
    return (st["State"].split()[0] != "Z" and
            int(st["ShdPnd"], 16) & bit != 0 and
            int(st["SigBlk"], 16) & bit != 0)


def stop_while_lingering(d):
    # a 413 leaves the body unread: libfcgi closes lingering, waiting for
    # the web server to close first. A stop signal must not cut that
    # short (a reset could eat the answer): it waits, then the worker exits
    proc, path, _ = start_lingering(d)
    try:
        s = connect(path)
        try:
            over_long(s)
            proc.send_signal(signal.SIGTERM)
            t.wait_for(lambda: stop_pending(proc.pid),
                       "SIGTERM held while the close lingers")
            t.eq(closed(s), 0, "still lingering after SIGTERM")
        finally:
            s.close()
        t.eq(proc.wait(TIMEOUT), 0, "exit status once the close is done")
    finally:
        t.kill_left(proc)


def in_request(pid):
    """True once the worker sleeps in read(2): inside a request, reading
    its body, not in its wait for a connection (accept or poll)."""
    return syscall_of(pid) == SYS_READ


def stop_under_load(d, sig=signal.SIGTERM):
    """sig (any stop signal) with a request in hand and others waiting."""
    proc, path, spool = start(d)
    socks = []
    try:
        ready(path)
        evs = [t.json_body(t.event()) for _ in range(13)]
        first = connect(path)
        socks.append(first)
        send_request(first, 1, fc.params("POST", evs[0]), evs[0][:10],
                     flags=0, end=False)
        t.wait_for(lambda: in_request(proc.pid), "worker inside a request")
        for raw in evs[1:]:
            s = connect(path)
            socks.append(s)
            send_request(s, 1, fc.params("POST", raw), raw, flags=0)
        proc.send_signal(sig)
        first.sendall(fc.record(fc.STDIN, evs[0][10:]) +
                      fc.record(fc.STDIN, b""))
        done = []
        for i, s in enumerate(socks):
            try:
                st, _, body = answer(s, 1)
                t.eq((st, json.loads(body)), (200, {"status": "success"}),
                     "answer %d" % i)
                done.append(i)
            except (ConnectionError, OSError):
                pass
        t.eq(proc.wait(TIMEOUT), 0, "exit status after " +
             signal.Signals(sig).name)
        t.eq(done, [0], "answered: the request in hand, no waiting one")
        t.eq(len(t.spool_lines(spool)), 1, "its line stored")
    finally:
        for s in socks:
            s.close()
        t.kill_left(proc)


STOP_GRACE_S = 5	# fcgi_main.c: how long a stop waits for a request


def stop_idle_connection(d):
    """A connection on which the web server sends nothing (no request
    begun) does not hold a stop off for ever: after SIGTERM the worker
    waits STOP_GRACE_S for a request, then closes it unanswered and
    exits 0. A request that does come within that time is answered."""
    for late in (True, False):
        sub = os.path.join(d, "late" if late else "never")
        os.mkdir(sub)
        proc, path, spool = start(sub)
        s = None
        try:
            ready(path)
            s = connect(path)
            t.wait_for(lambda: in_request(proc.pid), "worker reading the "
                       "new connection")
            began = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            if late:
                raw = t.json_body(t.event())
                time.sleep(1)	# a slow web server, on purpose
                send_request(s, 1, fc.params("POST", raw), raw, flags=0)
                st, _, body = answer(s, 1)
                t.eq((st, json.loads(body)), (200, {"status": "success"}),
                     "a request sent a second after SIGTERM")
                t.eq(proc.wait(TIMEOUT), 0, "exit status after it")
                t.eq(len(t.spool_lines(spool)), 1, "its line stored")
                continue
            t.eq(proc.wait(STOP_GRACE_S + TIMEOUT), 0, "exit status")
            took = time.monotonic() - began
            # the grace, then libfcgi's close of the connection, which
            # lingers up to 2 s for the web server to close first
            t.expect(STOP_GRACE_S - 1 < took < STOP_GRACE_S + 4,
                     "exit %.1f s after SIGTERM" % took)
            t.eq(s.recv(8), b"", "the idle connection closed")
        finally:
            if s is not None:
                s.close()
            t.kill_left(proc)


def answers_counted(d):
    """The answers the counters' file holds, summed over every kind."""
    p = t.ctl(os.path.join(d, "smshook.conf"), "stats", "--json")
    return sum(a["count"] for a in json.loads(p.stdout)["receiver"]["answers"])


def stop_params_cut(d):
    """A stop while a request's params are still coming (only
    FCGI_BEGIN_REQUEST sent, or some params without their end): after
    STOP_GRACE_S the connection is closed unanswered, no answer counted
    or logged, and the worker exits 0."""
    for how in ("begin", "params"):
        sub = os.path.join(d, how)
        os.mkdir(sub)
        proc, path, _ = start(sub)
        s = None
        try:
            ready(path)
            before = answers_counted(sub)
            s = connect(path)
            s.settimeout(STOP_GRACE_S + TIMEOUT)
            msg = fc.record(fc.BEGIN_REQUEST,
                            struct.pack(">HB5x", fc.RESPONDER, 0))
            if how == "params":
                msg += fc.record(fc.PARAMS, fc.encode_params(
                    fc.params("POST", b"{}")))
            s.sendall(msg)
            t.wait_for(lambda: in_request(proc.pid), "worker reading "
                       "the request")
            proc.send_signal(signal.SIGTERM)
            try:
                got = s.recv(64)
            except ConnectionResetError:
                got = b""
            t.eq(got, b"", "closed unanswered (%s)" % how)
            t.eq(proc.wait(TIMEOUT), 0, "exit status (%s)" % how)
            t.eq(answers_counted(sub), before, "no answer counted (%s)"
                 % how)
            with open(os.path.join(sub, "stderr.log")) as f:
                text = f.read()
            t.expect(" from " not in text, "no answer logged: " + text)
        finally:
            if s is not None:
                s.close()
            t.kill_left(proc)


def cut_body(d):
    """A body the stream breaks off before its end, with no
    CONTENT_LENGTH to measure it by (the connection's sending side
    closed, or FCGI_ABORT_REQUEST in its place): 500 "cannot read body"
    and nothing stored, so the whole event sent again is stored, not
    refused as a duplicate of a cut copy. A form matters most: its
    signature covers only timestamp and token, so a cut one verifies."""
    proc, path, spool = start(d)
    try:
        for how in ("shutdown", "abort"):
            ev = t.event(message="the message text, to be cut " * 4)
            del ev["smsId"]
            body = urllib.parse.urlencode(
                [(k, str(v)) for k, v in ev.items() if k != "message"] +
                [("message", ev["message"])]).encode()
            before = len(t.spool_lines(spool))
            s = connect(path)
            try:
                send_request(s, 1, fc.params("POST", b"", t.FORM),
                             body[:-20], flags=0, end=False)
                if how == "shutdown":
                    s.shutdown(socket.SHUT_WR)
                else:
                    s.sendall(fc.record(fc.ABORT_REQUEST))
                st, _, answer_body = answer(s, 1)
                t.eq((st, json.loads(answer_body)),
                     (500, {"error": "cannot read body"}), how)
            finally:
                s.close()
            t.eq(len(t.spool_lines(spool)), before,
                 "nothing stored (%s)" % how)
            got = fc.request(path, fc.params("POST", body, t.FORM), body,
                             timeout=TIMEOUT)
            t.eq((got[0], json.loads(got[2])), (200, {"status": "success"}),
                 "the whole event sent again (%s)" % how)
            t.eq(t.spool_lines(spool)[-1][1]["payload"]["message"],
                 ev["message"], "stored whole")
    finally:
        t.kill_left(proc)


def counters_cut(d):
    """The answer counters' file cut short (or removed) under a worker
    that has it mapped: every request is still answered, the worker
    lives on, and it counts again into the file then at the path."""
    proc, path, spool = start(d)
    try:
        counters = os.path.join(spool, ".counters")
        t.fcgi_store_one(path, "first event")
        # an answer is counted once sent: the next answer on this one
        # worker means the count is done, and the file made
        ready(path)
        for how in ("cut", "removed"):
            if how == "cut":
                os.truncate(counters, 0)
            else:
                os.unlink(counters)
            t.fcgi_store_one(path, "event right after the file was %s" % how)
            t.eq(proc.poll(), None, "worker alive after the file was "
                 + how)
            time.sleep(1.1)	# COUNTERS_RECHECK_MS: the file looked at
            t.fcgi_store_one(path, "event a second later (%s)" % how)
            ready(path)		# counted before the file is removed
        t.eq(len(t.spool_lines(spool)), 5, "every event stored")
        t.eq(successes(d), 1, "counted since the removal")
    finally:
        t.kill_left(proc)


def successes(d):
    """The 200 success answers the counters' file holds now."""
    p = t.ctl(os.path.join(d, "smshook.conf"), "stats", "--json")
    answers = {(a["status"], a["reason"]): a["count"]
               for a in json.loads(p.stdout)["receiver"]["answers"]}
    return answers[(200, "success")]


def other_role(d):
    """FastCGI's authorizer and filter roles are not served as a
    responder (an authorizer's 200 grants access): 500, logged,
    nothing stored."""
    proc, path, spool = start(d)
    try:
        for role in (2, 3):
            raw = t.json_body(t.event())
            s = connect(path)
            try:
                msg = fc.record(fc.BEGIN_REQUEST,
                                struct.pack(">HB5x", role, 0), 1)
                msg += fc.stream(fc.PARAMS, fc.encode_params(
                    fc.params("POST", raw)))
                msg += fc.stream(fc.STDIN, raw)
                s.sendall(msg)
                st, _, body = answer(s, 1)
                t.eq((st, json.loads(body)),
                     (500, {"error": "FastCGI role not supported"}),
                     "role %d" % role)
            finally:
                s.close()
        t.eq(t.spool_lines(spool), [], "nothing stored")
        with open(os.path.join(d, "stderr.log")) as f:
            t.expect("FastCGI role 2 refused" in f.read(), "logged")
    finally:
        t.kill_left(proc)


def switches(pid):
    """The voluntary context switches of pid so far."""
    with open("/proc/%d/status" % pid) as f:
        st = dict(line.split(":", 1) for line in f)
    return int(st["voluntary_ctxt_switches"])


def drip_while_lingering(d):
    # a lingering close ends after libfcgi's timeout in all (1 s here),
    # even if the peer keeps sending within every wait: libfcgi's own
    # close would wait anew after each byte, and hold the worker for ever
    proc, path, spool = start(d, dict(os.environ,
                                      LIBFCGI_OS_CLOSE_POLL_TIMEOUT="1000"))
    try:
        s = connect(path)
        try:
            over_long(s)
            began = time.monotonic()
            ended = None
            while ended is None and time.monotonic() - began < 8:
                try:
                    s.sendall(b"\0")
                except (BrokenPipeError, ConnectionResetError):
                    ended = time.monotonic() - began
                    break
                time.sleep(0.2)   # the pace of the drip, not a wait
        finally:
            s.close()
        t.expect(ended is not None, "the worker closed the connection "
                 "while the peer kept sending")
        t.expect(ended < 4, "closed %.2f s after the answer, the bound "
                 "1 s (the rest is room for a loaded machine)" % ended)
        ready(path, "next connection served")
        t.eq(t.spool_lines(spool), [], "nothing stored")
    finally:
        t.kill_left(proc)


def linger_env_invalid(d):
    # a LIBFCGI_OS_CLOSE_POLL_TIMEOUT that is no number of milliseconds
    # is said at start, not silently replaced by the default
    def start_log(value):
        """A worker's log once it served, the variable set to value."""
        sub = os.path.join(d, "v%s" % value)
        os.makedirs(sub)
        proc, path, _ = start(sub, dict(
            os.environ, LIBFCGI_OS_CLOSE_POLL_TIMEOUT=value))
        try:
            ready(path)
        finally:
            t.kill_left(proc)
        with open(os.path.join(sub, "stderr.log")) as f:
            return f.read()
    for bad in ("2s", "0", "-5", "99999999999"):
        log = start_log(bad)
        t.expect('LIBFCGI_OS_CLOSE_POLL_TIMEOUT "%s": expected '
                 'milliseconds, 1 or more; 2000 used' % bad in log,
                 "%s: %s" % (bad, log))
    log = start_log("1500")
    t.expect("LIBFCGI_OS_CLOSE_POLL_TIMEOUT" not in log, log)


def stop_while_waiting(d):
    # an idle worker's accept(2) times out every second and begins again
    # (the bound on a stop signal sent just before it): send SIGTERM just
    # after a new one began, and the exit must come well before it ends
    proc, path, _ = start(d)
    try:
        ready(path)
        t.wait_for(lambda: syscall_of(proc.pid) == SYS_ACCEPT,
                   "worker waiting in accept")
        n = switches(proc.pid)
        t.wait_for(lambda: switches(proc.pid) != n, "a new wait begun")
        began = time.monotonic()
        t.sigterm_exits(proc, TIMEOUT)
        took = time.monotonic() - began
        # the timeout would end it about 1 s after the wait began; the
        # rest is room for a loaded machine (and LeakSanitizer's exit)
        t.expect(took < 0.8, "exit %.3f s after SIGTERM: the signal ends "
                 "the wait, not its timeout" % took)
    finally:
        t.kill_left(proc)


def dropped_connections(d):
    # the worker takes a Unix-socket connection itself and hands it to
    # libfcgi: one closed unused and one that is not FastCGI are dropped
    proc, path, spool = start(d)
    try:
        s = connect(path)
        s.close()
        s = connect(path)
        try:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            t.eq(s.recv(64), b"", "a connection that is not FastCGI closed")
        finally:
            s.close()
        t.fcgi_store_one(path, "the next request")
        t.eq(len(t.spool_lines(spool)), 1, "one line stored")
    finally:
        t.kill_left(proc)


def cpu_seconds(pid):
    """utime + stime of pid so far, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def made_nonblocking(d):
    # the socket's O_NONBLOCK is shared by all who hold it: set again by
    # another program, accept(2) fails at once, and the worker must wait
    # in poll(2) rather than spin
    keep = []
    proc, path, spool = start(d, keep=keep)
    try:
        ready(path)
        keep[0].setblocking(False)
        used = cpu_seconds(proc.pid)
        began = time.monotonic()
        t.wait_for(lambda: time.monotonic() - began > 2.5, "idle time")
        used = cpu_seconds(proc.pid) - used
        t.expect(used < 0.5, "CPU while idle on a non-blocking socket: "
                 "%.2f s in 2.5 s" % used)
        t.fcgi_store_one(path, "a request after")
        t.sigterm_exits(proc, TIMEOUT)
    finally:
        keep[0].close()
        t.kill_left(proc)


def tcp_listener(d):
    # on TCP libfcgi accepts (FCGI_WEB_SERVER_ADDRS is checked there) and
    # the worker waits in poll(2), which SIGTERM ends
    env = dict(os.environ, FCGI_WEB_SERVER_ADDRS="127.0.0.1")
    for sub in ("ok", "refused"):
        os.mkdir(os.path.join(d, sub))
    proc, addr, spool = start(os.path.join(d, "ok"), env, socket.AF_INET)
    try:
        t.fcgi_store_one(addr, "a request over TCP", socket.AF_INET)
        t.eq(len(t.spool_lines(spool)), 1, "its line stored")
        t.wait_for(lambda: syscall_of(proc.pid) in (SYS_POLL, SYS_PPOLL),
                   "worker waiting in poll")
        t.sigterm_exits(proc, TIMEOUT)
    finally:
        t.kill_left(proc)
    env["FCGI_WEB_SERVER_ADDRS"] = "192.0.2.1"
    proc, addr, spool = start(os.path.join(d, "refused"), env,
                              socket.AF_INET)
    try:
        raw = t.json_body(t.event())
        try:
            fc.request(addr, fc.params("POST", raw), raw, timeout=TIMEOUT,
                       family=socket.AF_INET)
            t.expect(False, "a client not in FCGI_WEB_SERVER_ADDRS answered")
        except (ConnectionError, OSError):
            pass
        t.eq(t.spool_lines(spool), [], "nothing stored")
        t.eq(proc.poll(), None, "the worker still serves")
    finally:
        t.kill_left(proc)


def main():
    r = t.Runner("test_fcgi_keepconn")
    d = t.tmpdir()
    try:
        for name, fn, what in (
                ("kept", kept_connection, "FCGI_KEEP_CONN: three requests "
                 "on one connection, then a new connection"),
                ("unread", unread_kept, "FCGI_KEEP_CONN: answers before "
                 "the body was read keep the connection in step"),
                ("drain", drain_limit, "FCGI_KEEP_CONN: an unread body "
                 "is thrown away up to DRAIN_MAX bytes, its end within "
                 "them keeps the connection"),
                ("sigterm", sigterm_while_kept, "FCGI_KEEP_CONN: SIGTERM "
                 "while the kept connection is idle exits 0"),
                ("close", closes_at_once, "closed at once when read to the "
                 "end, lingering when the body is unread"),
                ("stop", stop_under_load, "SIGTERM with connections "
                 "waiting: the request in hand is answered, then exit 0"),
                ("hup", lambda sub: stop_under_load(sub, signal.SIGHUP),
                 "SIGHUP with connections waiting: the request in hand "
                 "is answered, then exit 0"),
                ("quit", lambda sub: stop_under_load(sub, signal.SIGQUIT),
                 "SIGQUIT with connections waiting: the request in hand "
                 "is answered, then exit 0"),
                ("linger", stop_while_lingering, "SIGTERM while a "
                 "close lingers waits for it, then exit 0"),
                ("drip", drip_while_lingering, "a lingering close "
                 "ends after its bound, the peer sending all the while"),
                ("lingerenv", linger_env_invalid, "an invalid "
                 "LIBFCGI_OS_CLOSE_POLL_TIMEOUT is logged at start"),
                ("idle", stop_while_waiting, "SIGTERM while waiting for a "
                 "connection exits 0 at once"),
                ("idleconn", stop_idle_connection, "SIGTERM with a "
                 "connection that sends nothing: exit 0 after the grace"),
                ("params", stop_params_cut, "SIGTERM while a request's "
                 "params are still coming: closed unanswered after the "
                 "grace, not counted, exit 0"),
                ("cut", cut_body, "a body the stream breaks off: 500, "
                 "nothing stored, the whole one then stored"),
                ("role", other_role, "authorizer and filter roles: 500, "
                 "nothing stored"),
                ("counters", counters_cut, "the counters' file cut short "
                 "or removed under a worker: answered, counted anew"),
                ("dropped", dropped_connections, "a connection closed "
                 "unused or not FastCGI is dropped, the next served"),
                ("tcp", tcp_listener, "TCP: a request, SIGTERM while "
                 "waiting, a client FCGI_WEB_SERVER_ADDRS refuses"),
                ("nonblocking", made_nonblocking, "a socket made "
                 "non-blocking by another program: no spin, still served")):
            sub = os.path.join(d, name)
            os.mkdir(sub)
            r.check(what, fn, sub)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(r.finish())


if __name__ == "__main__":
    main()
