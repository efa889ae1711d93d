#!/usr/bin/env python3
"""Security review items as tests.

- a bad signature's expected value is never in an answer or the log;
- app keys never reach the log (many requests, errors, config errors);
- signatures are compared in constant time (CRYPTO_memcmp, no memcmp or
  strcmp on them);
- spool files 0640, spool dir 0750, whatever the caller's umask;
- a config holding app_key readable by others is refused (CGI 500 with
  the reason logged; smshook -n exits 1);
- in CGI mode argv (which Apache fills from a query string such as
  "?-c/etc/passwd") cannot change the configuration;
- client bytes cannot forge log lines.
"""
import glob
import json
import os
import re
import shutil
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import smshooktest as t  # noqa: E402

LONG = os.environ.get("SMSHOOK_LONG") == "1"
KEY2 = "second-rotated-key-ABCDEFGHIJ"
FILEKEY = "key-from-a-file-0123456789abcdef"


def run(conf, method="POST", body=b"", ctype=t.JSON, argv=None, env=None,
        umask=-1):
    e = {"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": method,
         "REMOTE_ADDR": "127.0.0.1", "SMSHOOK_CONFIG": conf,
         "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if ctype:
        e["CONTENT_TYPE"] = ctype
    if body:
        e["CONTENT_LENGTH"] = str(len(body))
    e.update(env or {})
    p = subprocess.run([t.SMSHOOK] + (argv or []), input=body, env=e,
                       capture_output=True, timeout=30, umask=umask)
    st, hd, rb = t.parse_cgi(p.stdout)
    return st, hd, rb, p.stderr.decode(errors="replace"), p.stdout


def setup(d, extra="log_level = debug"):
    kf = os.path.join(d, "key")
    with open(kf, "w") as f:
        f.write(FILEKEY + "\n")
    os.chmod(kf, 0o600)
    return t.write_conf(d, "app_key = %s\napp_key_file = %s\n%s"
                        % (KEY2, kf, extra))


def secrets_of():
    return [t.KEY, KEY2, FILEKEY]


def no_secret(text, what, extra=()):
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    for s in list(secrets_of()) + list(extra):
        t.expect(s not in text and s.lower() not in text.lower(),
                 "%s reveals %r: %r" % (what, s, text[:300]))


def bad_signature(d):
    conf = setup(d)
    n = 0
    for kind in sorted(t.SAMPLES):
        for enc in ("json", "form"):
            ev = t.event(kind, key="wrong-key")
            expected = [t.sign(k, ev["timestamp"], ev["token"])
                        for k in secrets_of()]
            body = t.json_body(ev) if enc == "json" else t.form_body(ev)
            st, hd, rb, err, raw = run(conf, body=body,
                                       ctype=t.JSON if enc == "json"
                                       else t.FORM)
            t.eq(st, 401)
            t.eq(json.loads(rb), {"error": "Invalid signature"})
            no_secret(raw, "answer", expected)
            no_secret(err, "log", expected)
            t.expect("401 from 127.0.0.1" in err, err)
            n += 1
    # truncated and empty signatures, and a signature of another token
    ev = t.event()
    for sig in ("", ev["signature"][:32], ev["signature"][:-1],
                t.sign(t.KEY, ev["timestamp"], "x")):
        e2 = dict(ev, signature=sig)
        st, hd, rb, err, raw = run(conf, body=t.json_body(e2))
        t.eq(st, 401)
        no_secret(raw, "answer", [ev["signature"]])
        no_secret(err, "log", [ev["signature"]])
        n += 1
    print("figures: %d bad-signature requests, expected value in 0 answers"
          " and 0 log lines" % n)


def keys_not_logged(d):
    conf = setup(d)
    spool = os.path.join(d, "spool")
    logs = []
    reqs = 0
    good = t.event(key=KEY2)
    cases = [dict(body=t.json_body(good)), dict(body=t.json_body(good)),
             dict(body=t.json_body(t.event(key=FILEKEY))),
             dict(body=t.form_body(t.event())),
             dict(body=b"{"), dict(body=b"[1]"), dict(body=b"x" * 100,
                                                      ctype="text/xml"),
             dict(method="PUT"), dict(method="GET"), dict(method="HEAD"),
             dict(body=t.json_body(t.event(key="nope"))),
             dict(body=t.json_body(dict(t.event(), token=1))),
             dict(body=b"x" * (2 * 1024 * 1024)),
             dict(body=t.json_body(t.event()), env={"CONTENT_LENGTH": "9"})]
    rounds = 20 if LONG else 2
    for _ in range(rounds):
        for c in cases:
            st, hd, rb, err, raw = run(conf, **c)
            logs.append(err)
            no_secret(raw, "answer")
            reqs += 1
    # spool unavailable (503)
    blocker = os.path.join(d, "blocker")
    open(blocker, "w").close()
    c503 = t.write_conf(d, "log_level = debug", spool=os.path.join(
        blocker, "spool"), name="503.conf")
    st, hd, rb, err, raw = run(c503, body=t.json_body(t.event()))
    t.eq(st, 503, err)
    logs.append(err)
    reqs += 1
    # config errors
    bad_confs = {
        "unknown key": "app_key = %s\nspool_dir = %s\nbogus = %s\n"
                       % (t.KEY, spool, t.KEY),
        "bad value": "app_key = %s\nspool_dir = %s\nmax_body = lots\n"
                     % (t.KEY, spool),
        "dup": "app_key = %s\nspool_dir = %s\nspool_dir = /x\n"
               % (t.KEY, spool),
        "bad tz": "app_key = %s\nspool_dir = %s\ntimezone = Mars/Base\n"
                  % (t.KEY, spool),
        "bad line": "app_key = %s\nspool_dir = %s\n%s\n"
                    % (t.KEY, spool, t.KEY),
        # typos of the key's name must not echo the value
        "hyphen": "app-key = %s\nspool_dir = %s\n" % (t.KEY, spool),
        "upper": "APP_KEY = %s\nspool_dir = %s\n" % (t.KEY, spool),
        "appkey": "appkey = %s\nspool_dir = %s\n" % (t.KEY, spool),
        "no equals": "app_key %s\nspool_dir = %s\n" % (t.KEY, spool),
        "colon": "app_key: %s\nspool_dir = %s\n" % (t.KEY, spool),
        "empty key": "app_key = \nspool_dir = %s\n" % spool,
        "readable": "app_key = %s\nspool_dir = %s\n" % (t.KEY, spool),
    }
    for name, text in bad_confs.items():
        p = os.path.join(d, "bad-%s.conf" % name.replace(" ", "_"))
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, 0o644 if name == "readable" else 0o600)
        st, hd, rb, err, raw = run(p, body=t.json_body(t.event()))
        t.eq(st, 500, name)
        # the kind of problem, never the file's path
        t.expect(json.loads(rb)["error"].startswith("configuration error ("),
                 rb)
        t.expect(p.encode() not in rb, "path in the answer: %r" % rb)
        no_secret(raw, "answer (%s)" % name)
        logs.append(err)
        q = subprocess.run([t.SMSHOOK, "-n", "-c", p], capture_output=True,
                           text=True)
        t.eq(q.returncode, 1, name)
        logs.append(q.stdout + q.stderr)
        reqs += 1
    q = subprocess.run([t.SMSHOOK, "-n", "-c", conf], capture_output=True,
                       text=True)
    t.eq(q.returncode, 0, q.stderr)
    logs.append(q.stdout + q.stderr)
    all_logs = "".join(logs)
    no_secret(all_logs, "logs")
    t.expect("unknown key" in all_logs and "readable by others" in all_logs)
    print("figures: %d requests and config checks, %d log lines, 0 with key"
          " material" % (reqs, all_logs.count("\n")))


def constant_time():
    src = os.path.join(t.TOP, "src")
    verify = open(os.path.join(src, "common", "verify.c")).read()
    t.expect("CRYPTO_memcmp(" in verify, "verify.c uses CRYPTO_memcmp")
    code = re.sub(r"/\*.*?\*/", "", verify, flags=re.S)
    plain = re.findall(r"(?<![A-Za-z_])(memcmp|strcmp|strncmp|strcasecmp|"
                       r"strncasecmp|bcmp|timingsafe_bcmp)\s*\(", code)
    t.eq(plain, [], "plain comparisons in verify.c")
    # nowhere else may a signature meet a plain comparison
    for path in glob.glob(os.path.join(src, "*", "*.c")):
        for i, line in enumerate(open(path), 1):
            if re.search(r"\b(mem|str|strn|strcase)cmp\s*\(", line) and \
                    re.search(r"sig|hmac", line, re.I):
                raise AssertionError("%s:%d compares a signature: %s"
                                     % (path, i, line.strip()))


def modes(d):
    sub = os.path.join(d, "modes")
    os.mkdir(sub)
    conf = t.write_conf(sub)
    spool = os.path.join(sub, "spool")
    st, hd, rb, err, raw = run(conf, body=t.json_body(t.event()), umask=0)
    t.eq(st, 200, err)
    t.eq(oct(stat.S_IMODE(os.stat(spool).st_mode)), oct(0o750), "spool dir")
    files = glob.glob(os.path.join(spool, "*.jsonl"))
    t.eq(len(files), 1)
    for f in files + [os.path.join(spool, ".replay")]:
        t.eq(oct(stat.S_IMODE(os.stat(f).st_mode)), oct(0o640), f)


def loose_config(d):
    sub = os.path.join(d, "loose")
    os.mkdir(sub)
    conf = t.write_conf(sub)
    for mode, ok in ((0o644, False), (0o604, False), (0o640, True),
                     (0o600, True)):
        os.chmod(conf, mode)
        st, hd, rb, err, raw = run(conf, body=t.json_body(t.event()))
        q = subprocess.run([t.SMSHOOK, "-n", "-c", conf],
                           capture_output=True, text=True)
        if ok:
            t.eq(st, 200, "mode %o: %s" % (mode, err))
            t.eq(q.returncode, 0, q.stderr)
        else:
            t.eq(st, 500, "mode %o" % mode)
            t.eq(json.loads(rb), {"error": "configuration error "
                                  "(configuration file readable by others)"})
            t.expect("readable by others" in err and conf in err, err)
            t.eq(q.returncode, 1)
            t.expect("readable by others" in q.stderr, q.stderr)
    # a key file readable by others is refused too
    kf = os.path.join(sub, "keyfile")
    with open(kf, "w") as f:
        f.write(FILEKEY + "\n")
    os.chmod(kf, 0o644)
    conf2 = t.write_conf(sub, key=None, name="kf.conf",
                         extra="app_key_file = %s" % kf)
    os.chmod(conf2, 0o644)     # no inline key: the file itself may be
    st, hd, rb, err, raw = run(conf2, body=t.json_body(t.event()))
    t.eq(st, 500)
    t.expect("readable by others" in err and "keyfile" in err, err)
    os.chmod(kf, 0o600)
    st, hd, rb, err, raw = run(conf2, body=t.json_body(
        t.event(key=FILEKEY)))
    t.eq(st, 200, err)


def program_copy(d, name):
    """A configuration in d/name and a copy of smshook as
    d/name/bin/smshook.cgi: (conf, program)."""
    sub = os.path.join(d, name)
    os.mkdir(sub)
    conf = t.write_conf(sub)
    prog = os.path.join(sub, "bin", "smshook.cgi")
    os.mkdir(os.path.dirname(prog))
    shutil.copy(t.SMSHOOK, prog)
    return conf, prog


def program_modes(d):
    """smshook -n fails when the program or its folder is writable by
    group or others (anyone there could replace it; suEXEC refuses it),
    and says which; a sticky folder is not such a folder."""
    conf, prog = program_copy(d, "program")
    for dmode, pmode, bad in ((0o775, 0o755, "bin"), (0o755, 0o775, prog),
                              (0o757, 0o755, "bin"), (0o1777, 0o755, None),
                              (0o755, 0o755, None)):
        os.chmod(os.path.dirname(prog), dmode)
        os.chmod(prog, pmode)
        q = subprocess.run([prog, "-n", "-c", conf], capture_output=True,
                           text=True)
        what = "folder %o, program %o" % (dmode, pmode)
        if bad is None:
            t.eq((q.returncode, q.stderr), (0, ""), what)
        else:
            t.eq(q.returncode, 1, what)
            t.expect("writable by group or others" in q.stderr and
                     (bad == prog and prog in q.stderr or
                      os.path.dirname(prog) + " is" in q.stderr), q.stderr)


def without_proc(prog, conf):
    """prog -n -c conf in a private mount namespace whose /proc is an
    empty tmpfs (the machine's own /proc untouched)."""
    return subprocess.run(["unshare", "-m", "--propagation", "private",
                           "sh", "-c", "mount -t tmpfs -o size=64k tmpfs "
                           "/proc && exec \"$0\" -n -c \"$1\"", prog, conf],
                          capture_output=True, text=True, timeout=30)


def program_modes_no_proc(d):
    """Where /proc is missing the program cannot be found, and smshook -n
    says nothing of it: a valid configuration is answered ok, exit 0, with
    the program's folder as it should be and even with one writable by
    its group, which is refused where /proc is there."""
    conf, prog = program_copy(d, "noproc")
    os.chmod(prog, 0o755)
    for dmode in (0o755, 0o775):
        os.chmod(os.path.dirname(prog), dmode)
        what = "folder %o" % dmode
        q = without_proc(prog, conf)
        t.eq((q.returncode, q.stderr), (0, ""), what + ", no /proc")
        t.expect(q.stdout.startswith(conf + ": ok ("), q.stdout)
    q = subprocess.run([prog, "-n", "-c", conf], capture_output=True,
                       text=True)
    t.eq(q.returncode, 1, "folder 775, /proc there")
    t.expect(os.path.dirname(prog) + " is writable by group or others" in
             q.stderr, q.stderr)


def cgi_argv(d):
    sub = os.path.join(d, "argv")
    os.mkdir(sub)
    conf = t.write_conf(sub)
    spool = os.path.join(sub, "spool")
    n = 0
    for argv in (["-c/etc/passwd"], ["-c", "/etc/passwd"], ["-n"],
                 ["-V"], ["-c", "/nonexistent"], ["--help"]):
        ev = t.event()
        st, hd, rb, err, raw = run(conf, body=t.json_body(ev), argv=argv)
        t.eq(st, 200, "argv %r: %s %s" % (argv, raw, err))
        t.eq(json.loads(rb), {"status": "success"}, argv)
        t.expect(ev["token"] in [line["payload"]["token"]
                                 for _, line in t.spool_lines(spool)],
                 "stored in SMSHOOK_CONFIG's spool")
        st, hd, rb, err, raw = run(conf, method="GET", argv=argv)
        t.eq(rb, b'{"status":"ok"}', argv)
        n += 1
    t.eq(len(t.spool_lines(spool)), n)


def log_forging(d):
    sub = os.path.join(d, "forge")
    os.mkdir(sub)
    conf = t.write_conf(sub, "log_level = debug")
    # C0 and C1 controls, new lines to some readers (U+0085, U+2028,
    # U+2029), and marks that turn a line's words around (U+202E, ...)
    tok = "a\nsmshook[1]: error: forged\r\x1b[2J\u009b2J\u0085x\u2028y" \
        "\u2029z\u202e\u200f\u2066" + "b" * 20
    ev = t.event(token=tok)
    errs = []
    for _ in range(2):      # the second is a duplicate, logged with token
        st, hd, rb, err, raw = run(conf, body=t.json_body(ev))
        t.eq(st, 200)
        errs.append(err)
    st, hd, rb, err, raw = run(conf, body=b"{}", env={
        "REMOTE_ADDR": "127.0.0.1\nsmshook[1]: forged"})
    errs.append(err)
    text = "".join(errs)
    t.expect("duplicate token" in text, text)
    for line in text.splitlines():
        t.expect(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
                          r"smshook\[\d+\]: (error|warn|info|debug): ",
                          line) and not re.search(
                              "[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e"
                              "\u200f\u202a-\u202e\u2066-\u2069]", line),
                 "forged or raw log line: %r" % line)
    t.expect("a?smshook[1]: error: forged??[2J??2J??x???y???z?????????b"
             in text, text)
    t.expect("forged" not in "".join(l for l in text.splitlines()
                                     if l.split(" ", 1)[-1].startswith(
                                         "smshook[1]")))


def main():
    r = t.Runner("test_security")
    d = t.tmpdir()
    try:
        for sub in ("a", "b"):
            os.mkdir(os.path.join(d, sub))
        r.check("expected signature never revealed", bad_signature,
                os.path.join(d, "a"))
        r.check("app keys never logged", keys_not_logged,
                os.path.join(d, "b"))
        r.check("constant-time signature comparison", constant_time)
        r.check("spool 0640, dir 0750 under umask 0", modes, d)
        r.check("config with app_key readable by others refused",
                loose_config, d)
        r.check("CGI argv cannot change the config", cgi_argv, d)
        r.check("smshook -n refuses a program others could replace",
                program_modes, d)
        if "ASAN_OPTIONS" in os.environ:
            # LeakSanitizer needs /proc, and says so on stderr
            print("SKIP smshook -n without /proc under AddressSanitizer")
        else:
            r.check("smshook -n without /proc: ok, nothing said",
                    program_modes_no_proc, d)
        r.check("client bytes cannot forge log lines", log_forging, d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(r.finish())


if __name__ == "__main__":
    main()
