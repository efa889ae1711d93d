#!/usr/bin/env python3
"""Group commit (fsync = yes): the line is written under the day file's
lock and synced outside it, while the token's bucket of the token table
(spool_dir/.replay) stays locked (an open file description lock on the
bucket's bytes) from the duplicate check until the token is recorded. A
second copy of the event waits on that lock, then is a duplicate if the
first was stored, or is stored itself if the first failed or died. A
failed sync leaves the whole line in the file (503, never a partial
line); the retry writes a second one, which verify accepts and import
collapses.

The receiver runs as CGI processes. tests/lib/syncgate.c (preloaded,
$BUILD/tests/syncgate.so) holds a process in its first fdatasync until
the test writes 'y' (sync) or 'f' (EIO) to $SYNCGATE/<pid>.fifo. Every
wait is a readiness check with a deadline: the gate's FIFO appearing, a
blocked waiter on the token's bucket in /proc/locks.
"""
import collections
import hashlib
import json
import os
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import smshooktest as t  # noqa: E402

GATE_SO = os.path.join(t.BUILD, "tests", "syncgate.so")
FIU = shutil.which("fiu-run")
DEADLINE = 10.0


def new_event():
    """(token, JSON body) of a fresh delivered event, smsId = token so
    that import keeps one row per token."""
    tok = t.new_token()
    return tok, t.json_body(t.event("delivered", token=tok, smsId=tok))


def bucket_range(token):
    """The bytes of .replay that hold token's bucket, as /proc/locks
    shows a lock on them: (first, last). The table: a 64-byte header,
    65536 buckets of 16 slots of 32 bytes, bucket from digest bytes
    16 and 17 (replay.c)."""
    d = hashlib.sha256(token.encode()).digest()
    first = 64 + ((d[16] | d[17] << 8) % 65536) * 16 * 32
    return first, first + 16 * 32 - 1


class Env:
    """A config with fsync on, its spool, a gate directory and the
    receiver processes started (killed at close if still running)."""

    def __init__(self, d, name):
        self.dir = os.path.join(d, name)
        os.mkdir(self.dir)
        self.spool = os.path.join(self.dir, "spool")
        self.gate = os.path.join(self.dir, "gate")
        os.mkdir(self.gate)
        self.conf = t.write_conf(self.dir, extra="fsync = yes")
        self.procs = []

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
            for f in (p.stdout, p.stderr):
                f.close()

    def start(self, body, gated=False, wrap=None):
        """Start one CGI request; gated: held in its first fdatasync."""
        e = dict(t.base_env(), GATEWAY_INTERFACE="CGI/1.1",
                 REQUEST_METHOD="POST", REMOTE_ADDR="127.0.0.1",
                 SMSHOOK_CONFIG=self.conf, CONTENT_TYPE=t.JSON,
                 CONTENT_LENGTH=str(len(body)))
        if gated:
            e.update(LD_PRELOAD=GATE_SO, SYNCGATE=self.gate)
        rd, wr = os.pipe()
        os.write(wr, body)		# a few hundred bytes: fits the pipe
        os.close(wr)
        try:
            p = subprocess.Popen((wrap or []) + [t.SMSHOOK], stdin=rd,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=e)
        finally:
            os.close(rd)
        self.procs.append(p)
        return p

    def answer(self, p):
        """(status, headers, body, stderr) once p has exited."""
        out, err = p.communicate(timeout=30)
        st, hd, rb = t.parse_cgi(out)
        return st, hd, rb, err.decode(errors="replace")

    def post(self, body, wrap=None):
        return self.answer(self.start(body, wrap=wrap))

    def wait_gated(self, p, what):
        """Wait until p is held in fdatasync (its line is written)."""
        t.gate_wait(self.gate, p, what, DEADLINE,
                    exited=lambda q: "%r %s" % self.answer(q)[2:])

    def release(self, p, byte):
        """Let p's fdatasync go on: b'y' syncs, b'f' fails with EIO."""
        t.gate_release(self.gate, p, byte, DEADLINE)

    def bucket_locks(self, token):
        """(holders, blocked waiters) of token's bucket lock."""
        st = os.stat(os.path.join(self.spool, ".replay"))
        ident = "%02x:%02x:%d" % (os.major(st.st_dev), os.minor(st.st_dev),
                                  st.st_ino)
        first, last = (str(x) for x in bucket_range(token))
        held = waiting = 0
        with open("/proc/locks") as f:
            for line in f:
                fields = line.split()[1:]
                blocked = fields[:1] == ["->"]
                if blocked:
                    fields = fields[1:]
                # OFDLCK ADVISORY WRITE -1 MAJ:MIN:INODE START END
                if len(fields) >= 7 and fields[0] == "OFDLCK" and \
                        fields[4] == ident and fields[5] == first and \
                        fields[6] == last:
                    if blocked:
                        waiting += 1
                    else:
                        held += 1
        return held, waiting

    def wait_waiter(self, p, token, what):
        """Wait until p is blocked on token's bucket lock."""
        deadline = time.monotonic() + DEADLINE
        while self.bucket_locks(token)[1] < 1:
            if p.poll() is not None:
                st, hd, rb, err = self.answer(p)
                raise AssertionError("%s answered instead of waiting: %s %r "
                                     "%s" % (what, st, rb, err))
            t.expect(time.monotonic() < deadline,
                     "%s never blocked on the token's bucket" % what)
            time.sleep(0.01)

    def tokens(self):
        """Every token on disk, checking that every day file ends in
        '\\n' and every line parses (whole lines only)."""
        for name, data in t.spool_bytes(self.spool).items():
            t.expect(data.endswith(b"\n"),
                     "%s ends with a partial line: %r" % (name, data[-80:]))
        return collections.Counter(line["payload"]["token"]
                                   for _, line in t.spool_lines(self.spool))

    def verify_ok(self):
        p = t.ctl(self.conf, "verify")
        t.eq(p.returncode, 0, "verify: %s%s" % (p.stdout, p.stderr))
        for zero in ("0 invalid", "0 foreign", "0 incomplete"):
            t.expect(zero in p.stdout, "verify: %s" % p.stdout)

    def import_rows(self):
        """Import into a fresh SQLite database; rows per token."""
        db = os.path.join(self.dir, "import.db")
        p = t.ctl(self.conf, "import", "--db", "sqlite:" + db)
        t.eq(p.returncode, 0, "import: %s%s" % (p.stdout, p.stderr))
        c = sqlite3.connect(db)
        try:
            rejects = c.execute("SELECT count(*) FROM smshook_rejects")
            t.eq(rejects.fetchone()[0], 0, "rejected lines")
            rows = c.execute("SELECT sms_id, payload FROM "
                             "sms_events_full").fetchall()
        finally:
            c.close()
        for sid, payload in rows:
            t.eq(json.loads(payload)["token"], sid, "row of another token")
        return collections.Counter(sid for sid, _ in rows)


def not_answered(p, what):
    t.expect(p.poll() is None, "%s has exited already" % what)
    ready = select.select([p.stdout], [], [], 0)[0]
    t.expect(not ready, "%s has answered already" % what)


def expect_status(resp, status, what):
    st, hd, rb, err = resp
    t.eq(st, 200, "%s: %r %s" % (what, rb, err))
    t.eq(hd.get("content-type"), "application/json", what)
    t.eq(json.loads(rb), {"status": status}, what)


def expect_503(resp, what):
    st, hd, rb, err = resp
    t.eq(st, 503, "%s: %r %s" % (what, rb, err))
    t.eq(hd.get("retry-after"), "120", "%s: Retry-After" % what)
    t.eq(json.loads(rb), {"error": "spool unavailable"}, what)
    t.expect("503 from" in err and "sync " in err and
             "Input/output error" in err, "%s: logged: %s" % (what, err))


def scenario(fn):
    """Run fn(env) in a fresh Env of its own, closed afterwards."""
    def run(d):
        e = Env(d, fn.__name__)
        try:
            fn(e)
        finally:
            e.close()
    run.__name__ = fn.__name__
    return run


def gated_writer(e, what):
    """Start a request with a fresh event, held in its sync once its line
    is written: (token, body, process)."""
    tok, body = new_event()
    p = e.start(body, gated=True)
    e.wait_gated(p, what)
    t.eq(e.tokens()[tok], 1, "%s's line is in the day file, whole, before "
         "its sync" % what)
    not_answered(p, what)
    return tok, body, p


def hold_first_and_queue_second(e):
    """A (gated) writes its line and holds the bucket lock in fdatasync; B,
    the same event, blocks on the bucket lock. Returns (token, body, A, B)."""
    tok, body, a = gated_writer(e, "A")
    t.eq(e.bucket_locks(tok), (1, 0), "A holds the bucket lock, nobody waits")
    b = e.start(body)
    e.wait_waiter(b, tok, "B")
    not_answered(b, "B")
    not_answered(a, "A")
    t.eq(e.bucket_locks(tok), (1, 1), "A holds the bucket lock, B waits")
    t.eq(e.tokens()[tok], 1, "B wrote nothing while waiting")
    return tok, body, a, b


@scenario
def first_succeeds(e):
    tok, body, a, b = hold_first_and_queue_second(e)
    e.release(a, b"y")
    expect_status(e.answer(a), "success", "A")
    expect_status(e.answer(b), "duplicate", "B")
    t.eq(e.tokens(), {tok: 1}, "one line for the token")
    t.eq(e.bucket_locks(tok), (0, 0), "bucket lock released")
    e.verify_ok()
    t.eq(e.import_rows(), {tok: 1})


def second_stores_it(e, tok, body, b, after):
    """A's line stayed (whole) and failed or went unanswered: B, waiting
    for the bucket, stores a second line; the bucket is let go; a third
    copy C is a duplicate; verify accepts both lines, import makes one
    row."""
    expect_status(e.answer(b), "success", "B after " + after)
    t.eq(e.tokens(), {tok: 2}, "A's line kept whole, B's added")
    t.eq(e.bucket_locks(tok), (0, 0), "bucket lock released")
    expect_status(e.post(body), "duplicate", "C after B stored it")
    t.eq(e.tokens(), {tok: 2}, "C wrote nothing")
    e.verify_ok()
    t.eq(e.import_rows(), {tok: 1}, "import collapses the two lines")


@scenario
def first_sync_fails(e):
    tok, body, a, b = hold_first_and_queue_second(e)
    e.release(a, b"f")
    expect_503(e.answer(a), "A (sync failed)")
    second_stores_it(e, tok, body, b, "A's failure")


@scenario
def first_killed(e):
    tok, body, a, b = hold_first_and_queue_second(e)
    a.kill()				# SIGKILL between write and sync
    t.eq(a.wait(timeout=30), -signal.SIGKILL)
    t.eq(a.stdout.read(), b"", "A answered nothing")
    second_stores_it(e, tok, body, b, "A was killed")


@scenario
def other_token_not_held(e):
    """Group commit: while A is held in its sync (its bucket locked), B
    with a token of another bucket writes, syncs and is answered; then A
    is released and answered too."""
    atok, abody, a = gated_writer(e, "A")
    btok, bbody = new_event()
    while bucket_range(btok) == bucket_range(atok):
        btok, bbody = new_event()
    expect_status(e.post(bbody), "success", "B while A syncs")
    not_answered(a, "A")
    t.eq(e.bucket_locks(atok), (1, 0), "A still holds its bucket")
    t.eq(e.tokens(), {atok: 1, btok: 1}, "both lines whole")
    e.release(a, b"y")
    expect_status(e.answer(a), "success", "A")
    e.verify_ok()
    t.eq(e.import_rows(), {atok: 1, btok: 1})


@scenario
def fiu_sync_fails_beside_gated(e):
    btok, bbody, b = gated_writer(e, "B")
    atok, abody = new_event()
    wrap = [FIU, "-x", "-f", "", "-c",
            "enable name=posix/io/sync/fdatasync,onetime=1,failinfo=5"]
    expect_503(e.post(abody, wrap=wrap), "A (libfiu fdatasync EIO)")
    not_answered(b, "B")
    t.eq(e.tokens(), {btok: 1, atok: 1}, "A's line stays whole")
    e.release(b, b"y")
    expect_status(e.answer(b), "success", "B")
    expect_status(e.post(abody), "success", "A's retry")
    t.eq(e.tokens(), {atok: 2, btok: 1})
    expect_status(e.post(abody), "duplicate", "A again")
    expect_status(e.post(bbody), "duplicate", "B again")
    t.eq(e.tokens(), {atok: 2, btok: 1}, "duplicates wrote nothing")
    e.verify_ok()
    t.eq(e.import_rows(), {atok: 1, btok: 1})


@scenario
def killed_alone(e):
    tok, body, a = gated_writer(e, "A")
    a.kill()
    t.eq(a.wait(timeout=30), -signal.SIGKILL)
    t.eq(a.stdout.read(), b"", "A answered nothing")
    t.eq(e.bucket_locks(tok), (0, 0), "the kernel dropped A's bucket lock")
    expect_status(e.post(body), "success", "the same event again")
    t.eq(e.tokens(), {tok: 2}, "A's unsynced line and the retry's")
    expect_status(e.post(body), "duplicate", "and once more")
    t.eq(e.tokens(), {tok: 2})
    e.verify_ok()
    t.eq(e.import_rows(), {tok: 1})


@scenario
def stopped_in_sync(e):
    """A web server's restart or stop signals the CGI (Apache: SIGHUP or
    SIGTERM to its process group) between its line's write and its
    token's record: the signal waits till the token is in, then ends the
    process unanswered; the retry is a duplicate, no second line."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        tok, body, a = gated_writer(e, "A")
        a.send_signal(sig)
        not_answered(a, "A after %s" % sig.name)
        e.release(a, b"y")
        t.eq(a.wait(timeout=30), -sig, "A ended by %s" % sig.name)
        t.eq(a.stdout.read(), b"", "A answered nothing")
        expect_status(e.post(body), "duplicate", "the retry")
        t.eq(e.tokens()[tok], 1, "one line for the token")
    e.verify_ok()


def main():
    r = t.Runner("test_group_commit")
    if "ASAN_OPTIONS" in os.environ:
        # the preloaded shims (syncgate, libfiu) do not stack with ASan;
        # the plain build runs these scenarios
        print("SKIP test_group_commit under AddressSanitizer")
        sys.exit(r.finish())
    if not os.path.exists(GATE_SO):
        r.check("syncgate.so built", t.expect, False,
                "%s missing: make BUILD=... test builds it" % GATE_SO)
        sys.exit(r.finish())
    d = t.tmpdir()
    try:
        r.check("same token, first synced: 200 success, second duplicate",
                first_succeeds, d)
        r.check("same token, first's sync fails: 503, second stored, "
                "two whole lines, one row", first_sync_fails, d)
        r.check("kill -9 between write and sync: the waiter stores it",
                first_killed, d)
        r.check("another token is stored while a sync is held",
                other_token_not_held, d)
        if FIU is None:
            print("SKIP libfiu scenario: fiu-run not installed (fiu-utils)")
        else:
            r.check("libfiu fdatasync EIO beside a gated writer: 503, "
                    "retry stored", fiu_sync_fails_beside_gated, d)
        r.check("kill -9 before the sync: the token is not remembered",
                killed_alone, d)
        r.check("SIGTERM or SIGHUP in the sync: the token is remembered "
                "first, the retry a duplicate", stopped_in_sync, d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(r.finish())


if __name__ == "__main__":
    main()
