"""The HTTP contract through a real lighttpd running smshook under
mod_fastcgi, configured by conf-examples/lighttpd.conf."""
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import contract  # noqa: E402
import lighttpd  # noqa: E402
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
    eq(t.post(target.server.url, t.event())[0], 200, "served after SIGTERM")


def main():
    r = t.Runner("e2e-lighttpd")
    target = Target()
    try:
        contract.run_all(r, target)
        r.check("sigterm_finishes_request", check_sigterm_finishes_request,
                target)
    finally:
        target.close()
    return r.finish()


if __name__ == "__main__":
    sys.exit(main())
