#!/usr/bin/env python3
"""FastCGI processes that cannot start workers or take connections.

smshook -w N when fork fails (a user's process limit reached, no
memory): the parent logs each failure and tries again every second, so
the workers come up once fork works; if it keeps failing (more than 10
workers lost in a minute) the parent exits 1, leaving nothing behind.
A failed fork ends the pass over the empty slots: the next, a second
later, tries again. While some workers run, a failed fork is no loss:
the pool serves on, trying again after a wait that doubles. A bare parent (listening unix socket on fd 0, as
systemd passes it) with $BUILD/tests/forkfail.so preloaded: fork fails
the first $FORKFAIL times, or always.

A worker whose socket cannot accept (here a datagram socket on fd 0,
which libfcgi takes for a listening one): "FastCGI accept failed" is
logged and the process exits 1, so whatever started it starts another.

A worker whose accept fails for want of descriptors or memory (EMFILE,
ENFILE, ENOBUFS, ENOMEM; $BUILD/tests/acceptfail.so preloaded, failing
the first accepts with those): the failure passes, so the worker logs
it, waits a second and accepts again, on a Unix socket (the worker
accepts) as on TCP (libfcgi does); a stop signal ends the wait at once.

A stop signal to the parent of smshook -w (SIGTERM, SIGHUP, SIGQUIT)
while each worker is inside a request: the parent passes it on, each
request is answered and stored whole, and the parent exits 0 once every
worker has.

A worker killed by a signal with a connection in hand (as a client's
records can crash one, through a libfcgi flaw smshook(8) names) is
replaced and not counted towards giving up: twelve such crashes in a
minute leave the parent serving.

The minute is on the monotonic clock: a step of the wall clock (here by
libfaketime, stepped through its timestamp file) neither begins a new
one nor makes one last for ever.
"""
import datetime
import errno
import glob
import os
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import smshooktest as t  # noqa: E402
import fcgiclient as fc  # noqa: E402

FORKFAIL_SO = os.path.join(t.BUILD, "tests", "forkfail.so")
ACCEPTFAIL_SO = os.path.join(t.BUILD, "tests", "acceptfail.so")
SHORTAGES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
WORKERS = 2
NOT_STARTED = "cannot start a worker: " + os.strerror(11)   # EAGAIN
FAKETIME = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))


def start(d, args=(), env=None, kind=socket.SOCK_STREAM,
          family=socket.AF_UNIX, extra="", nofile=None):
    """smshook -c CONF args, a fresh spool, a socket of kind on fd 0
    (listening if a stream socket), a unix one or on 127.0.0.1, extra in
    the configuration, at most nofile descriptors if given; (process,
    its address)."""
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    conf = t.write_conf(d, extra)
    sock, path = t.listen_socket(d, family, kind)

    def limit():
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    with open(os.path.join(d, "stderr.log"), "wb") as log:
        proc = subprocess.Popen([t.SMSHOOK, "-c", conf] + list(args),
                                stdin=sock.fileno(),
                                stdout=subprocess.DEVNULL, stderr=log,
                                env=dict(os.environ, **(env or {})),
                                preexec_fn=limit)
    sock.close()
    return proc, path


def start_forkfail(d, failures, workers=WORKERS):
    """smshook -w workers, fork failing as forkfail.c's $FORKFAIL says."""
    return start(d, ("-w", str(workers)),
                 {"LD_PRELOAD": os.path.abspath(FORKFAIL_SO),
                  "FORKFAIL": str(failures)})


def log_text(d):
    with open(os.path.join(d, "stderr.log"), errors="replace") as f:
        return f.read()


def fails_then_works(d):
    """Three failed forks: logged, retried; both workers come up and a
    request is stored; SIGTERM stops them all, exit status 0."""
    proc, path = start_forkfail(d, 3)
    try:
        t.wait_children(proc.pid, WORKERS, what="after three failed forks")
        t.eq(log_text(d).count(NOT_STARTED), 3, "failures logged")
        t.fcgi_store_one(path, "stored")
        t.eq(len(t.spool_lines(os.path.join(d, "spool"))), 1)
        kids = t.children(proc.pid)
        t.sigterm_exits(proc)
        t.eq([k for k in kids if os.path.exists("/proc/%d" % k)], [],
             "workers left (the parent reaps them before it ends)")
    finally:
        t.kill_left(proc)


def some_running(d):
    """fork fails while two workers of three run (a process limit
    reached): the parent serves on with the two, trying again 1, 2, 4 s
    later and then 8 (logged, not counted towards giving up: 11 failures
    at one a second used to stop the pool). When a worker ends, its place
    is filled at once, not after the wait. SIGTERM, exit 0."""
    proc, path = start_forkfail(d, "children-2", workers=3)
    try:
        t.wait_children(proc.pid, 2, what="two workers")
        t.wait_for(lambda: log_text(d).count(NOT_STARTED) >= 4,
                   "four tries", timeout=20)
        t.eq(proc.poll(), None, "the parent still serves")
        t.fcgi_store_one(path, "stored by the one worker")
        text = log_text(d)
        t.expect("2 of 3 running, trying again in 8 s" in text, text)
        t.expect("lost too often" not in text, text)
        at = failure_times(text)
        t.expect(all(b - a > 0.9 * 2 ** k
                     for k, (a, b) in enumerate(zip(at, at[1:]))),
                 "tries 1, 2, 4 s apart: %s" % text)
        old = t.children(proc.pid)
        os.kill(old[0], signal.SIGKILL)
        began = time.monotonic()
        t.wait_for(lambda: [k for k in t.children(proc.pid)
                            if k not in old], "a new worker", timeout=5)
        t.expect(time.monotonic() - began < 2, "replaced in %.1f s, not "
                 "after the 8 s wait" % (time.monotonic() - began))
        t.fcgi_store_one(path, "stored by the new worker")
        t.sigterm_exits(proc)
    finally:
        t.kill_left(proc)


def failure_times(text):
    """The times (s) of the "cannot start a worker" log lines."""
    return [datetime.datetime.strptime(ln[:23], "%Y-%m-%dT%H:%M:%S.%f")
            .timestamp() for ln in text.splitlines() if NOT_STARTED in ln]


def always_fails(d):
    """fork never works: more than 10 failures in a minute, exit 1. A
    failure ends the pass (the other slot waits for the retry), so that
    a moment of failures is one loss, not one per worker: each failure
    a second after the one before."""
    proc, _ = start_forkfail(d, "always")
    try:
        t.eq(proc.wait(timeout=30), 1, "exit status")
        text = log_text(d)
        t.expect(text.count(NOT_STARTED) == 11, "11 failures logged: %s"
                 % text)
        at = failure_times(text)
        t.expect(min(b - a for a, b in zip(at, at[1:])) > 0.9,
                 "failures less than a second apart: %s" % text)
        t.expect("workers lost too often: stopping" in text,
                 "the reason is logged: %s" % text)
    finally:
        t.kill_left(proc)


def accept_fails(d):
    """accept(2) refused on fd 0: logged, exit status 1, nothing stored."""
    proc, path = start(d, kind=socket.SOCK_DGRAM)
    try:
        # readable: a datagram wakes the worker, whose accept then fails
        c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        c.sendto(b"x", path)
        c.close()
        t.eq(proc.wait(timeout=15), 1, "exit status")
        text = log_text(d)
        t.expect("FastCGI accept failed: " + os.strerror(95) in text,
                 "the reason is logged: %s" % text)     # EOPNOTSUPP
        t.eq(t.spool_lines(os.path.join(d, "spool")), [], "nothing stored")
    finally:
        t.kill_left(proc)


def start_acceptfail(d, errnos, family=socket.AF_UNIX):
    """A bare worker, its first accepts failing with errnos."""
    env = {"LD_PRELOAD": os.path.abspath(ACCEPTFAIL_SO),
           "ACCEPTFAIL": ",".join(str(e) for e in errnos)}
    if family == socket.AF_INET:
        env["FCGI_WEB_SERVER_ADDRS"] = "127.0.0.1"
    return start(d, env=env, family=family)


def accept_passes(d, family):
    """One accept failing with each shortage: each logged, the worker
    lives on and the requests are stored (200), SIGTERM exits 0."""
    proc, addr = start_acceptfail(d, SHORTAGES, family)
    try:
        for i in range(2):
            t.fcgi_store_one(addr, "request %d" % i, family)
        t.eq(proc.poll(), None, "the worker still serves")
        text = log_text(d)
        for e in SHORTAGES:
            t.expect(text.count("FastCGI accept failed: %s: trying again"
                                % os.strerror(e)) == 1,
                     "%s logged once: %s" % (errno.errorcode[e], text))
        t.eq(len(t.spool_lines(os.path.join(d, "spool"))), 2, "stored")
        t.sigterm_exits(proc)
    finally:
        t.kill_left(proc)


def out_of_fds(d):
    """Descriptors run out for real (RLIMIT_NOFILE 6: the socket, stdout,
    stderr and the three files a worker keeps between requests): the
    next accept fails with EMFILE, the worker closes its kept files and
    serves on, each request stored."""
    proc, addr = start(d, extra="fsync = no", nofile=6)
    try:
        for i in range(3):
            t.fcgi_store_one(addr, "request %d" % i)
        t.eq(len(t.spool_lines(os.path.join(d, "spool"))), 3, "stored")
        t.expect("(kept files closed)" in log_text(d), log_text(d))
        t.sigterm_exits(proc)
    finally:
        t.kill_left(proc)


def stop_while_short(d):
    """accept keeps failing with EMFILE: SIGTERM ends the wait between
    two tries at once, exit 0."""
    proc, _ = start_acceptfail(d, (errno.EMFILE,) * 100)
    try:
        t.wait_for(lambda: "accept failed" in log_text(d), "a failure")
        began = time.monotonic()
        t.sigterm_exits(proc)
        took = time.monotonic() - began
        t.expect(took < 0.5, "exit %.3f s after SIGTERM" % took)
    finally:
        t.kill_left(proc)


def wait_fails(d):
    """The wait for a connection fails (poll, EINVAL): logged, the worker
    exits 1, nothing stored; a signal (EINTR) is no failure. (On TCP,
    where libfcgi accepts, the worker waits in poll; on a Unix socket it
    waits in its own accept.)"""
    proc, _ = start(d, env={"LD_PRELOAD": os.path.abspath(ACCEPTFAIL_SO),
                            "POLLFAIL": "%d,%d" % (errno.EINTR,
                                                   errno.EINVAL),
                            "FCGI_WEB_SERVER_ADDRS": "127.0.0.1"},
                    family=socket.AF_INET)
    try:
        t.eq(proc.wait(timeout=10), 1, log_text(d))
        text = log_text(d)
        t.eq(text.count("FastCGI wait failed: %s"
                        % os.strerror(errno.EINVAL)), 1, text)
        t.expect(os.strerror(errno.EINTR) not in text, text)
        t.eq(t.spool_lines(os.path.join(d, "spool")), [], "nothing stored")
    finally:
        t.kill_left(proc)


def in_read(pid):
    """True once pid sleeps in read(2) (inside a request, not waiting
    for a connection); x86_64 and aarch64 numbers."""
    nr = {"x86_64": "0", "aarch64": "63"}[os.uname().machine]
    with open("/proc/%d/syscall" % pid) as f:
        return f.read().split()[0] == nr


def read_answer(sock):
    """Records up to FCGI_END_REQUEST: (status, headers, body); a close
    before it raises ConnectionError."""
    out = []
    while True:
        _, rtype, _, clen, plen = fc.HEADER.unpack(
            fc._recv_exact(sock, fc.HEADER.size))
        content = fc._recv_exact(sock, clen + plen)[:clen]
        if rtype == fc.STDOUT:
            out.append(content)
        elif rtype == fc.END_REQUEST:
            return fc.parse_response(b"".join(out))


def stop_in_flight(d, sig):
    """sig to the parent while each worker reads a request's body: all
    answered 200, stored whole, exit 0, no worker left."""
    proc, path = start(d, ("-w", str(WORKERS)))
    socks = []
    try:
        t.wait_children(proc.pid, WORKERS, what="workers up")
        kids = t.children(proc.pid)
        bodies = [t.json_body(t.event("delivered")) for _ in kids]
        for body in bodies:
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(15)
            s.connect(path)
            socks.append(s)
            s.sendall(fc.record(fc.BEGIN_REQUEST,
                                struct.pack(">HB5x", fc.RESPONDER, 0)) +
                      fc.stream(fc.PARAMS,
                                fc.encode_params(fc.params("POST", body))) +
                      fc.record(fc.STDIN, body[:20]))
        for k in kids:
            t.wait_for(lambda: in_read(k), "worker %d inside a request" % k)
        proc.send_signal(sig)
        time.sleep(0.3)		# the signal passed on, the bodies still cut
        for s, body in zip(socks, bodies):
            s.sendall(fc.record(fc.STDIN, body[20:]) +
                      fc.record(fc.STDIN, b""))
        for i, s in enumerate(socks):
            st, _, answer = read_answer(s)
            t.eq((st, answer), (200, b'{"status":"success"}'),
                 "request %d" % i)
        t.eq(proc.wait(timeout=15), 0, "exit status after " +
             signal.Signals(sig).name)
        lines = t.spool_lines(os.path.join(d, "spool"))
        t.eq(len(lines), WORKERS, "every request stored, whole")
        t.eq([k for k in kids if os.path.exists("/proc/%d" % k)], [],
             "workers left")
    finally:
        for s in socks:
            s.close()
        t.kill_left(proc)


def crashes_in_requests(d):
    """12 workers killed (SIGABRT) each inside a request, more than the
    10 losses that end the parent: it starts others and serves on."""
    proc, path = start(d, ("-w", str(WORKERS)))
    try:
        t.wait_children(proc.pid, WORKERS, what="workers up")
        for i in range(12):
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(15)
            s.connect(path)
            try:
                s.sendall(fc.record(fc.BEGIN_REQUEST,
                                    struct.pack(">HB5x", fc.RESPONDER, 0)))
                t.wait_for(lambda: [k for k in t.children(proc.pid)
                                    if in_read(k)], "a worker reading")
                k = [k for k in t.children(proc.pid) if in_read(k)][0]
                os.kill(k, signal.SIGABRT)
                t.eq(s.recv(8), b"", "connection %d closed" % i)
            finally:
                s.close()
            t.wait_children(proc.pid, WORKERS, gone=(k,),
                            what="replaced after crash %d" % i)
        t.eq(proc.poll(), None, "the parent still runs")
        t.fcgi_store_one(path, "served")
        t.expect("lost too often" not in log_text(d), log_text(d))
        t.sigterm_exits(proc)
    finally:
        t.kill_left(proc)


def ended_times(text):
    """The times (s) of the "worker ... ended" log lines."""
    return [datetime.datetime.strptime(ln[:23], "%Y-%m-%dT%H:%M:%S.%f")
            .replace(tzinfo=datetime.timezone.utc).timestamp()
            for ln in text.splitlines() if "ended (signal" in ln]


def kill_idle(proc, n, killed):
    """SIGKILL n of proc's workers, idle (each a loss), one at a time."""
    for _ in range(n):
        k = t.wait_children(proc.pid, WORKERS, gone=killed,
                            what="workers up")[0]
        os.kill(k, signal.SIGKILL)
        killed.append(k)


def start_faked(d, stamp, monotonic):
    """smshook -w WORKERS under libfaketime, its offset read from the
    file stamp at every call ("+0" now), the monotonic clock moved too
    if monotonic, else the wall clock alone."""
    t.expect(FAKETIME, "libfaketime not installed (faketime)")
    with open(stamp, "w") as f:
        f.write("+0\n")
    env = {"LD_PRELOAD": FAKETIME[0], "FAKETIME_TIMESTAMP_FILE": stamp,
           "FAKETIME_NO_CACHE": "1", "TZ": "UTC"}
    if not monotonic:
        env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
    return start(d, ("-w", str(WORKERS)), env)[0]


def clock_step(d):
    """11 workers lost within a minute, the wall clock stepped an hour
    ahead after the sixth: exit 1. Counted on the wall clock, the step
    began a new minute (and a step back made one last for ever)."""
    stamp = d + ".faketime"
    proc = start_faked(d, stamp, False)
    try:
        killed = []
        kill_idle(proc, 6, killed)
        with open(stamp, "w") as f:
            f.write("+1h\n")
        kill_idle(proc, 4, killed)
        at = ended_times(log_text(d))
        t.expect(at[-1] - time.time() > 3000, "the step taken: %s"
                 % log_text(d))
        k = t.wait_children(proc.pid, WORKERS, gone=killed,
                            what="workers up")[0]
        os.kill(k, signal.SIGKILL)
        gave_up(proc, d)
    finally:
        t.kill_left(proc)
        os.unlink(stamp)


def gave_up(proc, d):
    """proc, the parent of -w, ends with exit 1, and says why."""
    t.eq(proc.wait(timeout=10), 1, "exit status")
    t.expect("workers lost too often: stopping" in log_text(d), log_text(d))


def minute_straddled(d):
    """Losses counted over the last minute, not a minute from the first
    loss: one loss, nine 59 s later and two more 2 s after those (the
    monotonic clock moved ahead by libfaketime) are 11 within a minute:
    exit 1. Counted in a window begun at the first loss, the last two
    began a new window, and up to 20 losses in a moment went by."""
    stamp = d + ".faketime"
    proc = start_faked(d, stamp, True)
    try:
        killed = []
        for ahead, n in (("+0", 1), ("+59s", 9), ("+61s", 1)):
            with open(stamp, "w") as f:
                f.write(ahead + "\n")
            kill_idle(proc, n, killed)
            # replaced: the losses counted at this time, not the next
            t.wait_children(proc.pid, WORKERS, gone=killed,
                            what="workers up")
        t.expect(proc.poll() is None and "lost too often" not in
                 log_text(d), "11 losses over 61 s: given up")
        kill_idle(proc, 1, killed)
        gave_up(proc, d)
    finally:
        t.kill_left(proc)
        os.unlink(stamp)


def main():
    r = t.Runner("test_worker_start")
    d = t.tmpdir()
    try:
        r.check("accept fails: logged, exit 1", accept_fails,
                os.path.join(d, "c"))
        r.check("-w, 12 workers killed inside a request: replaced, "
                "not given up", crashes_in_requests, os.path.join(d, "g"))
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
            name = signal.Signals(sig).name
            r.check("-w, %s with a request in each worker: all answered, "
                    "exit 0" % name, stop_in_flight,
                    os.path.join(d, name), sig)
        r.check("-w, 11 losses in a minute, the wall clock stepped an "
                "hour ahead among them: exit 1", clock_step,
                os.path.join(d, "h"))
        r.check("-w, 11 losses in the last minute, 61 s after the first "
                "loss: exit 1", minute_straddled, os.path.join(d, "m"))
        if t.shim_ready(r, FORKFAIL_SO, "fork failures"):
            r.check("fork fails 3 times: logged, retried, workers serve",
                    fails_then_works, os.path.join(d, "a"))
            r.check("fork always fails: exit 1 after 11 failures",
                    always_fails, os.path.join(d, "b"))
            r.check("fork fails with one worker of two running: served "
                    "on, tried again with a growing wait, not given up",
                    some_running, os.path.join(d, "p"))
        if t.shim_ready(r, ACCEPTFAIL_SO, "accept failures"):
            r.check("accept short of descriptors or memory, unix socket: "
                    "logged, retried, served", accept_passes,
                    os.path.join(d, "d"), socket.AF_UNIX)
            r.check("accept short of descriptors or memory, TCP: logged, "
                    "retried, served", accept_passes,
                    os.path.join(d, "e"), socket.AF_INET)
            r.check("SIGTERM between two failed accepts: exit 0 at once",
                    stop_while_short, os.path.join(d, "f"))
            r.check("the wait for a connection fails: logged, exit 1",
                    wait_fails, os.path.join(d, "w"))
        r.check("out of descriptors for real: kept files closed, served",
                out_of_fds, os.path.join(d, "n"))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(r.finish())


if __name__ == "__main__":
    main()
