"""The HTTP contract with smshook run directly as a CGI program (CGI
environment variables and stdin), plus what only CGI can show."""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import contract  # noqa: E402
import smshooktest as t  # noqa: E402
from smshooktest import eq, expect  # noqa: E402

BASE = "max_body = 64k"


class Target:
    def __init__(self, extra=BASE, key=t.KEY):
        self.dir = t.tmpdir("smshook-cgi-")
        self.spool = os.path.join(self.dir, "spool")
        self.conf = t.write_conf(self.dir, extra=extra, key=key)
        self.logs = []

    def send(self, method, body, ctype, headers, **kw):
        env = {}
        for k, v in (headers or {}).items():
            env["HTTP_" + k.upper().replace("-", "_")] = v
        status, h, b, err = t.cgi(self.conf, method, body or b"", ctype,
                                  env=env, **kw)
        self.logs.append(err)
        return status, h, b

    def log(self):
        return "".join(self.logs)

    def make(self, extra, key=t.KEY):
        return Target(BASE + "\n" + extra, key)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def check_length_lies(target):
    """CONTENT_LENGTH longer than the body: 400; garbage: 400."""
    body = t.json_body(t.event())
    before = t.spool_bytes(target.spool)
    contract.rejected(target, target.send("POST", body, t.JSON, None,
                                          length=len(body) + 10), 400, "short")
    contract.rejected(target, target.send("POST", body, t.JSON, None,
                                          length="12x"), 400, "garbage")
    contract.unchanged(target, before, "a lying CONTENT_LENGTH")


def check_bad_config(target):
    """A broken config answers 500 JSON and logs file:line."""
    bad = os.path.join(target.dir, "bad.conf")
    with open(bad, "w") as f:
        f.write("spool_dir = /tmp\nno_such_key = 1\n")
    status, headers, body, err = t.cgi(bad, "GET")
    eq(status, 500)
    eq(t.answer((status, headers, body)),
       {"error": "configuration error (unknown key at line 2)"})
    expect(bad + ":2: unknown key" in err, err)


def check_argv_ignored(target):
    """Apache passes an '='-less query string as argv: it must not
    choose the config."""
    e = dict(os.environ, GATEWAY_INTERFACE="CGI/1.1", REQUEST_METHOD="GET",
             REMOTE_ADDR="127.0.0.1", SMSHOOK_CONFIG=target.conf)
    p = subprocess.run([t.SMSHOOK, "-c", "/etc/passwd"], env=e,
                       capture_output=True, timeout=10)
    eq(t.parse_cgi(p.stdout)[0], 200, p.stderr)


def check_workers_usage(target):
    """-w takes 1 to 256 workers: anything else is a usage error (exit
    2) before any configuration is read."""
    for bad in ("0", "257", "x", "4x", "-1", ""):
        p = subprocess.run([t.SMSHOOK, "-w", bad, "-c", target.conf],
                           capture_output=True, text=True, timeout=10,
                           env=t.base_env())
        eq(p.returncode, 2, "-w %r: %s" % (bad, p.stderr))
        expect("-w: expected 1 to 256 workers" in p.stderr, p.stderr)
    p = subprocess.run([t.SMSHOOK, "-w", "256", "-n", "-c", target.conf],
                       capture_output=True, text=True, timeout=10,
                       env=t.base_env())
    eq(p.returncode, 0, p.stderr)
    # -n's "ok" and -V's versions that cannot be written are failures
    for args in (["-n", "-c", target.conf], ["-V"]):
        with open("/dev/full", "w") as full:
            p = subprocess.run([t.SMSHOOK] + args, stdout=full,
                               stderr=subprocess.PIPE, text=True,
                               timeout=10, env=t.base_env())
        eq(p.returncode, 1, "%s: %s" % (args, p.stderr))
        expect("smshook: stdout: No space left on device" in p.stderr,
               p.stderr)


def check_spool_dir_unusable(target):
    """A spool_dir that is a file, or whose parent is missing: smshook -n
    names it and exits 1 (not "ok"); a request then writes nothing and a
    POST is answered 503."""
    cases = (("afile", "Not a directory"),
             (os.path.join("nope", "spool"), "No such file or directory"))
    for name, why in cases:
        spool = os.path.join(target.dir, name)
        conf = t.write_conf(target.dir, spool=spool, name="unusable.conf")
        if name == "afile":
            with open(spool, "w") as f:
                f.write("x")
        p = subprocess.run([t.SMSHOOK, "-n", "-c", conf],
                           capture_output=True, text=True, timeout=10,
                           env=t.base_env())
        eq(p.returncode, 1, "%s: %s" % (name, p.stdout + p.stderr))
        expect("smshook: %s: spool_dir %s: %s" % (conf, spool, why)
               in p.stderr, p.stderr)
        expect("ok" not in p.stdout, p.stdout)
        st, _, body, _ = t.cgi(conf, "POST", t.json_body(t.event()))
        eq(st, 503, body)
        if name == "afile":
            with open(spool) as f:
                eq(f.read(), "x", "(the file named spool_dir)")
        else:
            expect(not os.path.exists(os.path.dirname(spool)),
                   "the missing parent stays missing")
        os.unlink(spool) if name == "afile" else None


def check_secrets_under_docroot(target):
    """A configuration file, key file or spool_dir the web server would
    serve (under DOCUMENT_ROOT, or CONTEXT_DOCUMENT_ROOT for mod_userdir
    and aliases): 500 naming the kind, never a path; the log names the
    file; nothing stored, and a spool_dir there is not made."""
    d = t.tmpdir()
    try:
        docroot = os.path.join(d, "htdocs")
        os.mkdir(docroot)
        key = os.path.join(docroot, "app.key")
        with open(key, "w") as f:
            f.write(t.KEY + "\n")
        os.chmod(key, 0o600)
        cases = (
            ("configuration file", t.write_conf(
                docroot, spool=os.path.join(d, "spool")), None),
            ("key file", t.write_conf(d, "app_key_file = " + key, key=None,
                                      name="keyfile.conf"), key),
            ("spool_dir", t.write_conf(
                d, spool=os.path.join(docroot, "spool"),
                name="spool.conf"), os.path.join(docroot, "spool")))
        for var in ("DOCUMENT_ROOT", "CONTEXT_DOCUMENT_ROOT"):
            env = {"DOCUMENT_ROOT": "/nonexistent-docroot", var: docroot}
            for kind, conf, path in cases:
                st, _, body, err = t.cgi(conf, "POST",
                                         t.json_body(t.event()), env=env)
                eq(st, 500, "%s %s: %r" % (var, kind, body))
                eq(json.loads(body), {"error": "configuration error (%s "
                                      "under the document root)" % kind})
                expect(d.encode() not in body, body)
                named = conf if path is None else conf + ": " + path
                sep = ": " if path is None else " "
                expect("configuration: %s%s%s under the document root "
                       "(move it out)" % (named, sep, kind) in err, err)
        expect(not os.path.exists(os.path.join(docroot, "spool")),
               "spool_dir made under the document root")
        expect(not os.path.exists(os.path.join(d, "spool")),
               "a refused configuration's spool_dir made")
    finally:
        shutil.rmtree(d)


def check_forwarded_for(target):
    """X-Forwarded-For counts only from a trusted proxy."""
    proxied = target.make("trusted_proxies = 127.0.0.0/8\n"
                          "allow_from = 203.0.113.0/24")
    try:
        xff = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9"}
        r = proxied.send("POST", t.json_body(t.event()), t.JSON, xff)
        eq(r[0], 200)
        eq(t.spool_lines(proxied.spool)[-1][1]["remote_addr"], "203.0.113.9")
        r = proxied.send("POST", t.json_body(t.event()), t.JSON,
                         {"X-Forwarded-For": "198.51.100.7"})
        eq(r[0], 403)
    finally:
        proxied.close()


def check_std_fds_closed(target):
    """Started with stderr, or stdout, closed (2>&-, a process manager),
    debug logging on: the token table never gets that descriptor, so no
    log line or answer is written into it. The same event twice: the
    table is not set aside as damaged, one line is stored, and the
    second is a duplicate (in the answer, or with stdout closed, in the
    log; the answer then goes nowhere, and the exit status says so, as
    for a web server gone)."""
    for fd in (2, 1):
        quiet = target.make("log_level = debug")
        try:
            body = t.json_body(t.event())
            e = dict(t.base_env(), GATEWAY_INTERFACE="CGI/1.1",
                     REQUEST_METHOD="POST", REMOTE_ADDR="127.0.0.1",
                     SMSHOOK_CONFIG=quiet.conf, CONTENT_TYPE=t.JSON,
                     CONTENT_LENGTH=str(len(body)))
            for want in ("success", "duplicate"):
                p = subprocess.run([t.SMSHOOK], input=body, env=e,
                                   capture_output=True, timeout=30,
                                   preexec_fn=lambda: os.close(fd))
                eq(p.returncode, 0 if fd == 2 else 1,
                   "fd %d closed: %r" % (fd, p.stderr))
                if fd == 2:
                    eq(t.answer(t.parse_cgi(p.stdout)), {"status": want},
                       "fd 2 closed")
                    eq(p.stderr, b"", "fd 2 closed")
                else:
                    eq(p.stdout, b"", "fd 1 closed")
                    expect(want == "success" or b"duplicate token" in
                           p.stderr, p.stderr)
            names = os.listdir(quiet.spool)
            eq([n for n in names if n.startswith(".replay.")], [],
               "fd %d closed: table set aside" % fd)
            eq(len(t.spool_lines(quiet.spool)), 1, "fd %d closed" % fd)
        finally:
            quiet.close()


def sig_mask(pid, field):
    """A signal mask of /proc/PID/status (SigIgn, SigCgt) as a number."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1], 16)
    raise AssertionError("no %s for %d" % (field, pid))


def check_sigterm_blocked(target):
    """A CGI request whose body has not all come (CONTENT_LENGTH above
    what was sent, stdin held open), while it waits: SIGPIPE ignored,
    SIGTERM and SIGUSR1 not caught (libfcgi's own handlers undone), so
    the web server's SIGTERM ends it at once, with nothing stored."""
    import fcntl
    import signal
    import termios
    body = t.json_body(t.event())
    before = t.spool_bytes(target.spool)
    e = dict(t.base_env(), GATEWAY_INTERFACE="CGI/1.1",
             REQUEST_METHOD="POST", REMOTE_ADDR="127.0.0.1",
             SMSHOOK_CONFIG=target.conf, CONTENT_TYPE=t.JSON,
             CONTENT_LENGTH=str(len(body) + 10))
    p = subprocess.Popen([t.SMSHOOK], env=e, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        p.stdin.write(body)
        p.stdin.flush()

        def unread():
            buf = fcntl.ioctl(p.stdin.fileno(), termios.FIONREAD,
                              b"\0\0\0\0")
            return int.from_bytes(buf, "little")
        t.wait_for(lambda: unread() == 0, "the body read")
        expect(sig_mask(p.pid, "SigIgn") & 1 << (signal.SIGPIPE - 1),
               "SIGPIPE not ignored")
        caught = sig_mask(p.pid, "SigCgt")
        for sig in (signal.SIGTERM, signal.SIGUSR1):
            expect(not caught & 1 << (sig - 1), "%s caught" % sig.name)
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=5)
        eq(p.returncode, -signal.SIGTERM, p.stderr.read())
    finally:
        if p.poll() is None:
            p.kill()
        p.communicate()
    contract.unchanged(target, before, "a request ended by SIGTERM")


def main():
    r = t.Runner("e2e-cgi")
    target = Target()
    try:
        contract.run_all(r, target)
        for c in (check_length_lies, check_bad_config, check_argv_ignored,
                  check_workers_usage, check_spool_dir_unusable,
                  check_secrets_under_docroot,
                  check_forwarded_for, check_std_fds_closed,
                  check_sigterm_blocked):
            r.check(c.__name__, c, target)
    finally:
        target.close()
    return r.finish()


if __name__ == "__main__":
    sys.exit(main())
