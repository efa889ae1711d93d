"""Shared helpers for smshook's Python test suites (stdlib only).

Import with:
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
    import smshooktest as t
"""
import datetime
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
import zoneinfo

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BUILD", "build")
if not os.path.isabs(BUILD):
    BUILD = os.path.join(TOP, BUILD)
SMSHOOK = os.path.join(BUILD, "smshook")
SMSHOOKCTL = os.path.join(BUILD, "smshookctl")
KEY = "test-app-key-0123456789"

# ---------------------------------------------------------------- events

def sign(key, timestamp, token):
    """hex(HMAC-SHA256(key, timestamp text + token)), as SendCloud does."""
    msg = (str(timestamp) + token).encode()
    return hmac.new(key.encode(), msg, hashlib.sha256).hexdigest()


def new_token():
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(50))


def now_ms():
    return int(time.time() * 1000)


SAMPLES = {
    "requested": {"event": "Requested", "eventType": 1, "message": "request",
                  "userId": 19999, "smsUser": "App",
                  "smsIds": ["1652150994014_9373_14466_36735_99drnc$13888888888"],
                  "templateId": 29999, "phones": ["13888888888"],
                  "customArgs": {}},
    "delivered": {"event": "Delivered", "eventType": 20, "message": "deliver",
                  "smsId": "1652117371408_19999_376_4631_qrwnpq$13888888888",
                  "phone": "13888888888", "userId": 19999, "smsUser": "App",
                  "templateId": 29999, "outboundTime": "2022-05-10 01:29:31",
                  "receiptTime": "2022-05-10 01:29:34", "msgCount": 1,
                  "customArgs": {"order": "A-1"}},
    "suppressed": {"event": "Suppressed", "eventType": 4,
                   "smsId": "1652117371408_19999_376_4631_qrwnpq$13888888889",
                   "phone": "13888888889", "userId": 19999, "smsUser": "App",
                   "templateId": 29999, "message": "blocked",
                   "encodeMessage": "5L2g5aW9", "statusCode": 412,
                   "outboundTime": "2022-05-10 01:29:31", "customArgs": {}},
    "failed": {"event": "Failed", "eventType": 5,
               "smsId": "1652117371408_19999_376_4631_qrwnpq$13888888890",
               "phone": "13888888890", "userId": 19999, "smsUser": "App",
               "templateId": 29999, "message": "failed",
               "encodeMessage": "5L2g5aW9", "statusCode": 500,
               "outboundTime": "2022-05-10 01:29:31",
               "receiptTime": "2022-05-10 01:29:40", "msgCount": 1,
               "customArgs": {}},
    "template": {"event": "Template Verify", "eventType": 8, "userId": 19999,
                 "templateId": 29999, "name": "verify code",
                 "verfiyResult": 1, "verfiyComment": "ok"},
}


def event(kind="delivered", key=KEY, token=None, timestamp=None, **extra):
    """A signed event as a dict (JSON order: fields, then the signed trio)."""
    ev = json.loads(json.dumps(SAMPLES[kind]))
    ev.update(extra)
    token = token or new_token()
    timestamp = now_ms() if timestamp is None else timestamp
    ev["timestamp"] = timestamp
    ev["token"] = token
    ev["signature"] = sign(key, timestamp, token)
    return ev


def json_body(ev):
    return json.dumps(ev, ensure_ascii=False).encode()


def form_body(ev):
    """Form encoding as the provider's email webhook does: lists and
    objects as JSON text inside a field, everything else as text."""
    pairs = []
    for k, v in ev.items():
        if isinstance(v, (list, dict)):
            v = json.dumps(v, ensure_ascii=False, separators=(",", ":"))
        pairs.append((k, str(v)))
    return urllib.parse.urlencode(pairs).encode()


FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# ---------------------------------------------------------------- setup

def tmpdir(prefix="smshook-test-"):
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    return d


def write_conf(directory, extra="", key=KEY, spool=None, name="smshook.conf"):
    """Write a config (mode 0600) and return its path; spool defaults to
    directory/spool."""
    spool = spool or os.path.join(directory, "spool")
    path = os.path.join(directory, name)
    lines = []
    if key is not None:
        lines.append("app_key = %s" % key)
    lines.append("spool_dir = %s" % spool)
    lines.append(extra)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(path, 0o600)
    return path


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10.0, host="127.0.0.1"):
    """Readiness check: wait until something accepts on host:port."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection((host, port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("nothing listening on %s:%d" % (host, port))


def wait_for(cond, what, timeout=10.0):
    """Readiness check: wait until cond() is true, or fail naming what."""
    deadline = time.time() + timeout
    while not cond():
        if time.time() >= deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.005)


def listen_socket(d, family=socket.AF_UNIX, kind=socket.SOCK_STREAM):
    """A socket for a worker's fd 0: Unix (d/smshook.sock) or on
    127.0.0.1 at a free port, listening if a stream socket; (socket, its
    address)."""
    sock = socket.socket(family, kind)
    if family == socket.AF_UNIX:
        addr = os.path.join(d, "smshook.sock")
        sock.bind(addr)
    else:
        sock.bind(("127.0.0.1", 0))
        addr = sock.getsockname()
    if kind == socket.SOCK_STREAM:
        sock.listen(16)
    return sock, addr


def fcgi_store_one(addr, what, family=socket.AF_UNIX, timeout=15):
    """A new signed event posted on a new FastCGI connection to addr
    must be answered 200 success."""
    import fcgiclient as fc  # tests/lib, beside this module
    raw = json_body(event())
    got = fc.request(addr, fc.params("POST", raw), raw, timeout=timeout,
                     family=family)
    eq((got[0], json.loads(got[2])), (200, {"status": "success"}), what)


def sigterm_exits(proc, timeout=15):
    """SIGTERM, then proc must exit 0."""
    proc.send_signal(signal.SIGTERM)
    eq(proc.wait(timeout), 0, "exit status after SIGTERM")


def kill_left(proc):
    """Kill proc if it still runs (a test's clean-up)."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def shim_built(r, so):
    """True if the shim so was built; else a failed check of r says so."""
    if os.path.exists(so):
        return True
    r.check(os.path.basename(so) + " built", expect, False,
            "%s missing: make BUILD=... test builds it" % so)
    return False


def shim_ready(r, so, what):
    """True if the shim so can be preloaded: not under AddressSanitizer,
    which it does not stack with (a SKIP line says so: the plain build
    runs what), and built (else a failed check of r says so)."""
    if "ASAN_OPTIONS" in os.environ:
        print("SKIP %s under AddressSanitizer" % what)
        return False
    return shim_built(r, so)


def gate_fifo(gate, p):
    """The FIFO a test shim holding process p at a gate makes in the
    directory gate (tests/lib/syncgate.c, dayfault.c)."""
    return os.path.join(gate, "%d.fifo" % p.pid)


def gate_wait(gate, p, what, timeout=10.0, exited=None):
    """Wait until p is held at its gate in the directory gate; if it exits
    first, fail with exited(p) (its output, say) in the message."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(gate_fifo(gate, p)):
        if p.poll() is not None:
            raise AssertionError("%s exited (%s) before its gate: %s" % (
                what, p.returncode, exited(p) if exited else ""))
        expect(time.monotonic() < deadline, "%s never reached its gate"
               % what)
        time.sleep(0.01)


def gate_release(gate, p, byte=b"y", timeout=10.0):
    """Let p, held at its gate in the directory gate, go on: write byte
    (the shim says what each means) once it is reading."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(gate_fifo(gate, p), os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:		# ENXIO: the gate has not opened it yet
            expect(p.poll() is None, "gated process died")
            expect(time.monotonic() < deadline, "gate never opened")
            time.sleep(0.01)
    try:
        os.write(fd, byte)
    finally:
        os.close(fd)


def stop_proc(proc, sig=signal.SIGTERM, timeout=15):
    """Stop a child gracefully: sig, then SIGKILL if it outlives timeout."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def spool_lines(spool):
    """Every line of every day file in spool, parsed, with its file name."""
    out = []
    if not os.path.isdir(spool):
        return out
    for name in sorted(os.listdir(spool)):
        if not name.endswith(".jsonl"):
            continue
        with open(os.path.join(spool, name), "rb") as f:
            for raw in f.read().split(b"\n")[:-1]:
                out.append((name, json.loads(raw)))
    return out


def spool_bytes(spool):
    """A snapshot of the day files' contents, to assert 'nothing written'."""
    snap = {}
    if os.path.isdir(spool):
        for name in sorted(os.listdir(spool)):
            if name.endswith(".jsonl") or name.endswith(".jsonl.gz"):
                with open(os.path.join(spool, name), "rb") as f:
                    snap[name] = f.read()
    return snap

# ---------------------------------------------------------------- days

def day(tz=None, at=None):
    """The day (YYYY-MM-DD) of time at (now when None) in zone tz (UTC
    when None): the name smshook and smshookctl give it by their own
    clock."""
    z = datetime.timezone.utc if tz is None else zoneinfo.ZoneInfo(tz)
    return datetime.datetime.fromtimestamp(
        time.time() if at is None else at, z).strftime("%Y-%m-%d")


def days_near(tz=None, ahead=120):
    """Today and, within ahead seconds of midnight, tomorrow: every day a
    command run in the next ahead seconds may take for today (a test
    that blocks today's day file blocks them all)."""
    now = time.time()
    return sorted({day(tz, now), day(tz, now + ahead)})


def same_day(step, tz=None):
    """step(today) for a step whose commands read the clock themselves
    and whose checks need today to stay today: if midnight (in zone tz)
    passed while it ran, its outcome is no verdict and it runs once more
    with the new day. Returns what the run that counts returned."""
    today = day(tz)
    try:
        res = step(today)
    except Exception:
        if day(tz) == today:
            raise
    else:
        if day(tz) == today:
            return res
    return step(day(tz))

# ---------------------------------------------------------------- CGI

def base_env():
    """PATH plus the sanitizer settings make check-asan runs under, for
    tests that build a child's environment from scratch."""
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for k, v in os.environ.items():
        if k.split("_")[0] in ("ASAN", "UBSAN", "LSAN"):
            e[k] = v
    return e


def cgi(conf, method="POST", body=b"", ctype=JSON, remote="127.0.0.1",
        length=None, env=None, binary=None):
    """Run smshook as a CGI program; returns (status, headers, body)."""
    e = dict(base_env(), GATEWAY_INTERFACE="CGI/1.1", REQUEST_METHOD=method,
             REMOTE_ADDR=remote, SMSHOOK_CONFIG=conf)
    if ctype is not None:
        e["CONTENT_TYPE"] = ctype
    if length is None and body:
        length = len(body)
    if length is not None:
        e["CONTENT_LENGTH"] = str(length)
    e.update(env or {})
    p = subprocess.run([binary or SMSHOOK], input=body, env=e,
                       capture_output=True, timeout=30)
    return parse_cgi(p.stdout) + (p.stderr.decode(errors="replace"),)


def parse_cgi(out):
    head, _, body = out.partition(b"\r\n\r\n")
    headers = {}
    status = None
    for line in head.split(b"\r\n"):
        k, _, v = line.decode().partition(":")
        v = v.strip()
        if k.lower() == "status":
            status = int(v.split()[0])
        headers[k.lower()] = v
    return status, headers, body

# ---------------------------------------------------------------- HTTP

class _Pairs:
    """Header lines for http.client, a name possibly more than once."""

    def __init__(self, pairs):
        self.pairs = pairs

    def __iter__(self):
        return iter([k for k, _ in self.pairs])

    def items(self):
        return list(self.pairs)


def http(url, method="POST", body=None, ctype=JSON, headers=None,
         timeout=10):
    """One HTTP request; headers a dict, or (name, value) pairs to send a
    name twice. Returns (status, headers (lower-case), body)."""
    import http.client
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    pairs = list((headers or {}).items() if isinstance(headers, dict)
                 else headers or [])
    if body is not None and ctype is not None and \
            not any(k.lower() == "content-type" for k, _ in pairs):
        pairs.append(("Content-Type", ctype))
    h = _Pairs(pairs)
    try:
        conn.request(method, u.path + ("?" + u.query if u.query else ""),
                     body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


def http_chunked(url, body, pieces=4, ctype=JSON, timeout=10):
    """POST body with Transfer-Encoding: chunked and no Content-Length,
    as pieces chunks; returns http()'s tuple. A server that answers
    before the end of a long body and stops reading is still heard: the
    answer is read after the failed send."""
    import http.client
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    step = max(1, -(-len(body) // pieces))
    chunks = [body[i:i + step] for i in range(0, len(body), step)]
    try:
        try:
            conn.request("POST", u.path, body=iter(chunks),
                         headers={"Content-Type": ctype,
                                  "Transfer-Encoding": "chunked"},
                         encode_chunked=True)
        except (BrokenPipeError, ConnectionResetError):
            pass            # answered early: the answer may be waiting
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


def post(url, ev, form=False, **kw):
    """POST a signed event dict as JSON (or form); returns http()'s tuple."""
    if form:
        return http(url, body=form_body(ev), ctype=FORM, **kw)
    return http(url, body=json_body(ev), ctype=JSON, **kw)


def answer(resp):
    """The JSON body of an http()/cgi() answer, checking Content-Type."""
    status, headers, body = resp[0], resp[1], resp[2]
    eq(headers.get("content-type", "").split(";")[0], "application/json",
       "(content type of a %s answer)" % status)
    return json.loads(body)


def form_payload(ev):
    """What the spool holds for ev sent as a form: strings, lists as JSON."""
    out = {}
    for k, v in ev.items():
        if isinstance(v, (list, dict)):
            v = json.dumps(v, ensure_ascii=False, separators=(",", ":"))
        out[k] = str(v)
    return out

# ---------------------------------------------------------------- runner

class Runner:
    """Minimal test runner: r.check(name, fn) ... sys.exit(r.finish())."""

    def __init__(self, suite):
        self.suite = suite
        self.passed = 0
        self.failed = 0

    def check(self, name, fn, *args, **kw):
        try:
            fn(*args, **kw)
        except Exception:  # noqa: BLE001 - report every failure
            self.failed += 1
            print("FAIL %s" % name)
            traceback.print_exc(file=sys.stdout)
        else:
            self.passed += 1
            print("ok   %s" % name)

    def finish(self):
        print("%s: %d passed, %d failed" % (self.suite, self.passed,
                                            self.failed))
        return 0 if self.failed == 0 else 1

    def check_all(self, namespace):
        """Run every test_* function of namespace (a module's globals()),
        in name order; returns finish()."""
        for name, fn in sorted(namespace.items()):
            if name.startswith("test_") and callable(fn):
                self.check(name, fn)
        return self.finish()


def children(pid):
    """The pids whose parent is pid, sorted."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(d))
    return sorted(out)


def wait_children(pid, n, gone=(), what=""):
    """Readiness check: wait until pid has n children, none in gone."""
    deadline = time.time() + 10
    while True:
        kids = children(pid)
        if len(kids) == n and not set(kids) & set(gone):
            return kids
        expect(time.time() < deadline, "%s: children of %d: %r, want %d"
               % (what, pid, kids, n))
        time.sleep(0.02)


def expect(cond, msg="expectation failed"):
    if not cond:
        raise AssertionError(msg)


def eq(a, b, msg=""):
    if a != b:
        raise AssertionError("%r != %r %s" % (a, b, msg))

# ---------------------------------------------------------------- smshookctl, databases

def valgrind_unusable(binary):
    """Why binary cannot run under valgrind here (valgrind missing, or
    binary built with AddressSanitizer), or None."""
    if shutil.which("valgrind") is None:
        return "valgrind not installed"
    with open(binary, "rb") as f:
        if b"__asan_init" in f.read():
            return "%s is built with AddressSanitizer" % binary
    return None


def ctl(conf, *args, timeout=120, env=None):
    """Run smshookctl -c conf args...; returns the CompletedProcess (text)."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([SMSHOOKCTL, "-c", conf] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=timeout,
                          env=e)


def v1_line(payload, received_at="2026-01-02T03:04:05.678Z", encoding="json",
            verified=True, remote="127.0.0.1"):
    """A spool line (bytes, with '\\n') as the receiver writes it."""
    env = {"v": 1, "received_at": received_at, "remote_addr": remote,
           "encoding": encoding, "verified": verified, "payload": payload}
    return (json.dumps(env, ensure_ascii=False, separators=(",", ":")) +
            "\n").encode()


def pg_start(standby_of=None):
    """Start a throwaway PostgreSQL (scripts/pg-test.sh), or a hot standby
    of the one started in dir standby_of; returns (dir, url). Always pair
    with pg_stop(dir) in a finally."""
    d = tempfile.mkdtemp(prefix="smshook-pg-")
    how = ["start", d] if standby_of is None else \
        ["standby", d, standby_of]
    try:
        p = subprocess.run(["sh", os.path.join(TOP, "scripts",
                                               "pg-test.sh")] + how,
                           capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pg_stop(d)
        raise
    if p.returncode != 0:
        pg_stop(d)
        raise RuntimeError("pg-test.sh start: " + p.stderr)
    return d, p.stdout.strip()


def pg_stop(d):
    subprocess.run(["sh", os.path.join(TOP, "scripts", "pg-test.sh"), "stop",
                    d], capture_output=True, timeout=120)


def psql(url, sql):
    """Run sql through psql; returns its unaligned, tuples-only output."""
    p = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                        "-d", url, "-c", sql], capture_output=True,
                       text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("psql: " + p.stderr)
    return p.stdout


def pg_db_url(url, name):
    """The URL of database name on the server of url."""
    base, _, query = url.partition("?")
    return base.rsplit("/", 1)[0] + "/" + name + ("?" + query if query else "")


def pg_new_db(url, name):
    """Create database name on the server of url; returns its URL."""
    psql(url, "CREATE DATABASE %s" % name)
    return pg_db_url(url, name)
