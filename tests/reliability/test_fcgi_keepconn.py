#!/usr/bin/env python3
"""FastCGI connections the web server keeps open (FCGI_KEEP_CONN, sent by
nginx with fastcgi_keep_conn on and by Apache mod_proxy_fcgi with
enablereuse): a worker must answer the next request on the same
connection, go back to new connections once the web server closes it,
and still stop at once on SIGTERM while the kept connection is idle.

A bare worker (listening unix socket on fd 0) driven by the FastCGI
records of tests/lib/fcgiclient.py, with the keep-connection flag set.
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import smshooktest as t  # noqa: E402
import fcgiclient as fc  # noqa: E402

KEEP_CONN = 1
TIMEOUT = 5


def kept_request(sock, rid, prm, body=b""):
    """One request on an open connection with FCGI_KEEP_CONN; returns
    (status, headers, body). The worker must not close the connection."""
    msg = fc.record(fc.BEGIN_REQUEST,
                    struct.pack(">HB5x", fc.RESPONDER, KEEP_CONN), rid)
    msg += fc.record(fc.PARAMS, fc.encode_params(prm), rid)
    msg += fc.record(fc.PARAMS, b"", rid)
    if body:
        msg += fc.record(fc.STDIN, body, rid)
    msg += fc.record(fc.STDIN, b"", rid)
    sock.sendall(msg)
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


def start(d):
    conf = t.write_conf(d)
    path = os.path.join(d, "smshook.sock")
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(path)
    lsock.listen(16)
    with open(os.path.join(d, "stderr.log"), "wb") as err:
        proc = subprocess.Popen([t.SMSHOOK, "-c", conf], stdin=lsock.fileno(),
                                stdout=subprocess.DEVNULL, stderr=err)
    lsock.close()
    return proc, path, os.path.join(d, "spool")


def stop(proc):
    if proc.poll() is None:
        proc.kill()
        proc.wait()


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
        got = fc.request(path, fc.params("GET", ctype=None),
                         timeout=TIMEOUT)
        t.eq(got[0], 200, "new connection after the kept one closed")
        toks = [line["payload"]["token"] for _, line in t.spool_lines(spool)]
        t.eq(toks, [ev["token"]], "one line for the event")
    finally:
        stop(proc)


def sigterm_while_kept(d):
    proc, path, _ = start(d)
    try:
        s = connect(path)
        try:
            st, _, _ = kept_request(s, 1, fc.params("GET", ctype=None))
            t.eq(st, 200, "request on the kept connection")
            proc.send_signal(signal.SIGTERM)
            t.eq(proc.wait(TIMEOUT), 0, "exit status after SIGTERM")
        finally:
            s.close()
    finally:
        stop(proc)


def main():
    r = t.Runner("test_fcgi_keepconn")
    d = t.tmpdir()
    try:
        for name, fn in (("kept", kept_connection),
                         ("sigterm", sigterm_while_kept)):
            sub = os.path.join(d, name)
            os.mkdir(sub)
            r.check({"kept": "FCGI_KEEP_CONN: three requests on one "
                     "connection, then a new connection",
                     "sigterm": "FCGI_KEEP_CONN: SIGTERM while the kept "
                     "connection is idle exits 0"}[name], fn, sub)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(r.finish())


if __name__ == "__main__":
    main()
