"""The HTTP contract through a real lighttpd running smshook under
mod_fastcgi, configured by conf-examples/lighttpd.conf."""
import json
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import contract  # noqa: E402
import lighttpd  # noqa: E402
import servers  # noqa: E402
import smshooktest as t  # noqa: E402
from smshooktest import eq, expect  # noqa: E402

BASE = "max_body = 64k"


class Target:
    def __init__(self, extra=BASE, key=t.KEY):
        self.server = lighttpd.Lighttpd(conf_extra=extra, key=key).start()
        self.spool = self.server.spool

    def send(self, method, body, ctype, headers):
        return t.http(self.server.url, method, body, ctype, headers)

    def log(self):
        return self.server.log()

    def make(self, extra, key=t.KEY):
        return Target(BASE + "\n" + extra, key)

    def close(self):
        self.server.cleanup()


def check_sigterm_finishes_request(target):
    """SIGTERM to busy workers: every 200 is on disk, workers restart."""
    acked, errors = [], []

    def client():
        for _ in range(60):
            ev = t.event("delivered")
            try:
                r = t.post(target.server.url, ev)
            except OSError as e:
                errors.append(e)
                continue
            if r[0] == 200:
                acked.append(ev["token"])

    threads = [threading.Thread(target=client) for _ in range(3)]
    for th in threads:
        th.start()
    for pid in target.server.workers():
        os.kill(pid, signal.SIGTERM)
    for th in threads:
        th.join()
    stored = [l["payload"]["token"] for _, l in t.spool_lines(target.spool)]
    for tok in acked:
        eq(stored.count(tok), 1, "acknowledged token stored once")
    expect(len(acked) > 0, "nothing acknowledged")
    # lighttpd answers 503 itself (not JSON) while it respawns workers
    # that are gone; within seconds the new ones serve
    deadline = time.monotonic() + 10
    while True:
        r = t.post(target.server.url, t.event())
        if r[0] == 200 or time.monotonic() > deadline:
            break
        eq(r[0], 503, "while workers restart")
        expect(not r[1].get("content-type", "").startswith(
            "application/json"), "smshook's own 503: %r" % (r[2],))
        time.sleep(0.05)
    eq(r[0], 200, "served after SIGTERM")


def check_secrets_not_served(target):
    """Copies of the config, key, spool and database under the docroot
    are refused by the example's url.access-deny; a page next to them
    is served, so the refusal is the rule's doing."""
    docroot = target.server.docroot
    planted = {"smshook.conf": b"app_key = secret-key-material\n",
               "app.key": b"secret-key-material\n",
               "2026-11-26.jsonl": b'{"v":1}\n',
               "2026-11-25.jsonl.gz": b"\x1f\x8b not really",
               "smshook.db": b"SQLite format 3\x00"}
    for name, data in dict(planted, **{"control.html": b"hello\n"}).items():
        with open(os.path.join(docroot, name), "wb") as f:
            f.write(data)
    base = "http://127.0.0.1:%d/" % target.server.port
    status, _, body = t.http(base + "control.html", "GET")
    eq((status, body), (200, b"hello\n"), "the control page")
    for name, data in planted.items():
        status, _, body = t.http(base + name, "GET")
        expect(status in (403, 404), "%s answered %d" % (name, status))
        expect(data not in body, name + " served")
    # and what the other servers' examples are held to: the token table
    # and counters, config examples, a database, in the spool's folder
    # or on their own
    servers.json_answer(t.post(target.server.url, t.event("delivered")),
                        200, {"status": "success"})
    planted = servers.plant_secrets(docroot, target.server.conf,
                                    target.server.spool)
    for rel in ("spool/.counters", "smshook.sqlite"):
        with open(os.path.join(docroot, rel), "wb") as f:
            f.write(b"secret-bytes")
        planted.append(("/" + rel, b"secret-bytes"))
    servers.check_unreachable(base.rstrip("/"), planted)


def check_route_and_get_body(target):
    """The example takes /smshook alone: a signed event posted to
    /smshookx or /smshook/x is not stored (a fastcgi.server key alone is
    a prefix); a GET with a body is smshook's 200, not lighttpd's 400."""
    base = "http://127.0.0.1:%d" % target.server.port
    before = t.spool_lines(target.spool)
    for path in ("/smshookx", "/smshook/x"):
        status, _, _ = t.http(base + path, body=t.json_body(t.event()))
        expect(status in (403, 404, 405), "%s answered %d" % (path, status))
    eq(t.spool_lines(target.spool), before, "(stored from another path)")
    status, hd, body = t.http(target.server.url, "GET", body=b"x" * 10)
    eq((status, json.loads(body)), (200, {"status": "ok"}), "(GET + body)")


def check_request_size_scoped(target):
    """The example's server.max-request-size is /smshook's alone: a body
    of 2 MiB to another page of the site is not lighttpd's 413, while
    /smshook still answers it so (above max_body, below lighttpd's
    own limit, the receiver's JSON 413)."""
    docroot = target.server.docroot
    with open(os.path.join(docroot, "other.html"), "w") as f:
        f.write("other page\n")
    base = "http://127.0.0.1:%d/" % target.server.port
    status, _, _ = t.http(base + "other.html", "POST",
                          body=b"x" * (2 * 1048576))
    expect(status != 413, "another page's body refused: %d" % status)
    status, _, _ = t.http(target.server.url, "POST",
                          body=b"x" * (2 * 1048576))
    eq(status, 413, "/smshook, 2 MiB")


def check_forwarded_twice(target):
    """X_Forwarded_For beside X-Forwarded-For, which lighttpd passes on
    under one name (see contract.check_forwarded_twice)."""
    proxied = target.make(contract.PROXIED)
    try:
        contract.check_forwarded_twice(proxied)
    finally:
        proxied.close()


def main():
    r = t.Runner("e2e-lighttpd")
    target = Target()
    try:
        contract.run_all(r, target)
        # lighttpd reads a chunked body whole, up to its
        # server.max-request-size (1100 KiB, its own HTML 413 above),
        # and passes it with CONTENT_LENGTH
        r.check("chunked_body", servers.check_chunked, target.server.url,
                target.spool, (2 * 1048576, 413, None), max_body=65536)
        r.check("sigterm_finishes_request", check_sigterm_finishes_request,
                target)
        r.check("secrets_not_served", check_secrets_not_served, target)
        r.check("route_and_get_body", check_route_and_get_body, target)
        r.check("forwarded_twice", check_forwarded_twice, target)
        r.check("request_size_scoped", check_request_size_scoped, target)
    finally:
        target.close()
    return r.finish()


if __name__ == "__main__":
    sys.exit(main())
