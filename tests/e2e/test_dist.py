"""The "make dist" bundle: its contents, static programs that say so,
and those programs alone in an empty chroot (nothing but the two
binaries, the configuration, the spool and /tmp; /usr/share/zoneinfo
bind-mounted read-only for the one time zone case), inside a private
mount namespace so that nothing on the host changes: CGI GET, signed
JSON and form events, a duplicate, a 401, a time zone, configuration
errors named in the answer, and smshookctl sign and import into SQLite.
Then the mode of every file the programs create, static and dynamic."""
import datetime
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import zoneinfo

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import disttest as dt  # noqa: E402
import smshooktest as t  # noqa: E402
from smshooktest import eq, expect  # noqa: E402

VERSION = dt.makefile_version()
EXAMPLES = os.path.join(t.TOP, "conf-examples")
DIST = os.path.join(t.TOP, "dist")


def check_members(tarball):
    """One top folder; programs 0755, the config folder 0700 and the
    config 0600; README, htaccess, crontab, man pages, licenses."""
    m = dt.members(tarball)
    top = dt.bundle_name()
    expect(all(n == top or n.startswith(top + "/") for n in m), sorted(m))
    want = {"bin/smshook": 0o755, "bin/smshookctl": 0o755,
            "smshook": 0o700, "smshook/smshook.conf": 0o600,
            "README": 0o644, "htaccess": 0o644, "crontab": 0o644,
            "VERSIONS": 0o644, "LICENSE": 0o644, "man/smshook.8": 0o644,
            "man/smshook.conf.5": 0o644, "man/smshookctl.1": 0o644}
    for name, mode in want.items():
        expect(top + "/" + name in m, "missing " + name)
        eq(oct(m[top + "/" + name][0]), oct(mode), "(mode of %s)" % name)
    lic = [n for n in m if n.startswith(top + "/licenses/")]
    for what in ("libc6", "libssl", "libfcgi", "libsqlite3", "zlib1g",
                 "cjson"):
        expect(any(what in n for n in lic), "no license of " + what)


def check_static(b):
    """file(1) and ldd(1) agree: statically linked, no interpreter."""
    for prog in ("smshook", "smshookctl"):
        path = os.path.join(b, "bin", prog)
        out = subprocess.run(["file", "-b", path], capture_output=True,
                             text=True).stdout
        expect("statically linked" in out and "x86-64" in out, out)
        p = subprocess.run(["ldd", path], capture_output=True, text=True)
        expect("not a dynamic executable" in p.stdout + p.stderr,
               p.stdout + p.stderr)


def check_versions(b):
    """-V: the version of the Makefile, "linked statically", and each
    library with its run-time and compiled-in version."""
    out = {}
    for prog in ("smshook", "smshookctl"):
        p = subprocess.run([os.path.join(b, "bin", prog), "-V"],
                           capture_output=True, text=True, env={})
        eq(p.returncode, 0, p.stderr)
        out[prog] = p.stdout
        lines = p.stdout.splitlines()
        eq(lines[0], "%s %s" % (prog, VERSION))
        eq(lines[1].split(), ["linked", "statically"])
        for lib in ("glibc", "OpenSSL", "cJSON"):
            expect(re.search(r"^  %s +\d+\.\d+\S* \(compiled with \d" % lib,
                             p.stdout, re.M), "%s: %s" % (lib, p.stdout))
    expect(re.search(r"^  libfcgi +\d+\.\d+\.\d+, Debian \S+ \(at build "
                     r"time", out["smshook"], re.M), out["smshook"])
    for lib in ("SQLite", "zlib"):
        expect(re.search(r"^  %s +\d+\.\d+\.\d+ \(compiled with " % lib,
                         out["smshookctl"], re.M), out["smshookctl"])
    expect(re.search(r"^  libpq +not built in", out["smshookctl"], re.M),
           out["smshookctl"])
    with open(os.path.join(b, "VERSIONS")) as f:
        versions = f.read()
    expect(out["smshook"] in versions and "cjson " in versions, versions)


def check_same_rules(b):
    """The bundle's htaccess refuses what conf-examples' does; its
    crontab runs the example's commands; its config knows every key of
    conf-examples/smshook.conf; its README names this version."""
    def denies(path):
        with open(path) as f:
            return re.findall(r'<FilesMatch "[^"]*">', f.read())
    eq(denies(os.path.join(b, "htaccess")),
       denies(os.path.join(EXAMPLES, "apache-cgi.htaccess")))

    def program(path):		# the program's own block, comments out
        with open(path) as f:
            m = re.search(r'<Files "smshook.cgi">\n(.*?)</Files>',
                          f.read(), re.S)
        return m and [ln.strip() for ln in m.group(1).splitlines()
                      if ln.strip() and not ln.strip().startswith("#")]
    eq(program(os.path.join(b, "htaccess")),
       program(os.path.join(EXAMPLES, "apache-cgi.htaccess")))
    with open(os.path.join(EXAMPLES, "crontab")) as f:
        example = f.read().replace("@BINDIR@", "$HOME/bin").replace(
            "@CONF@", "$HOME/smshook/smshook.conf")
    with open(os.path.join(b, "crontab")) as f:
        env, cmds = dt.crontab_lines(f.read())
    eq(cmds, dt.crontab_lines(example)[1])
    eq(env.get("MAILTO"), "@MAILTO@", "(the address to fill in)")
    expect(env.get("PATH", "").startswith("/"), env)

    def keys(path):
        with open(path) as f:
            return set(re.findall(r"^#?([a-z_]+) = ", f.read(), re.M))
    missing = keys(os.path.join(EXAMPLES, "smshook.conf")) - \
        keys(os.path.join(b, "smshook", "smshook.conf"))
    eq(missing, set(), "(keys the bundle's config does not show)")
    with open(os.path.join(b, "README")) as f:
        readme = f.read()
    expect(dt.bundle_name() + ".tar.gz" in readme and "@VERSION@" not in
           readme, "README version")


def check_bundle_config(b, d):
    """In the unpacked folder, with a key file added: bin/ finds
    smshook/smshook.conf beside it, and both programs pass it."""
    tree = os.path.join(d, "tree")
    shutil.copytree(b, tree, symlinks=True)
    key = os.path.join(tree, "smshook", "app.key")
    with open(key, "w") as f:
        f.write(t.KEY + "\n")
    os.chmod(key, 0o600)
    env = {"PATH": "/usr/bin:/bin"}
    # as root, check is told the receiver's user; it makes no spool_dir
    p = subprocess.run([os.path.join(tree, "bin", "smshookctl"), "check",
                        "--user", "root"], capture_output=True, text=True,
                       env=env)
    eq(p.returncode, 0, p.stdout + p.stderr)
    spool = os.path.join("smshook", "spool: none yet")
    expect(os.path.join(os.path.realpath(tree), spool) in p.stdout or
           os.path.join(tree, spool) in p.stdout,
           "relative spool_dir not taken from the config's folder: " +
           p.stdout)
    expect(not os.path.exists(os.path.join(tree, "smshook", "spool")),
           "check made spool_dir")
    # smshook -n makes it, as a start does
    p = subprocess.run([os.path.join(tree, "bin", "smshook"), "-n"],
                       capture_output=True, text=True, env=env)
    eq(p.returncode, 0, p.stderr)
    expect(p.stdout.startswith(os.path.join(os.path.realpath(tree),
                                            "smshook", "smshook.conf: ok")),
           p.stdout)
    expect(os.path.isdir(os.path.join(tree, "smshook", "spool")),
           "relative spool_dir not made in the config's folder")

def check_lookup(b, d):
    """The configuration's lookup order: -c, $SMSHOOK_CONFIG, the file
    beside the program's folder when it is safe, the default path; an
    unsafe file beside it is passed over, with the reason, and a CGI
    request is answered that it is not safe, not that none was found."""
    top = os.path.join(d, "lookup")
    for sub in ("", "bin", "smshook", "other"):
        os.mkdir(os.path.join(top, sub), 0o755)
    prog = os.path.join(top, "bin", "smshook")
    shutil.copy2(os.path.join(b, "bin", "smshook"), prog)
    beside = t.write_conf(os.path.join(top, "smshook"))
    other = t.write_conf(os.path.join(top, "other"))
    base = {"PATH": "/usr/bin:/bin"}

    def which(*args, env=None):
        p = subprocess.run([prog, "-n"] + list(args), capture_output=True,
                           text=True, env=dict(base, **(env or {})))
        return p.returncode, (p.stdout + p.stderr).strip()

    def cgi_error():
        """The 500 answer's error as CGI, the program's folder served."""
        p = subprocess.run([prog], capture_output=True, env=dict(
            base, GATEWAY_INTERFACE="CGI/1.1", REQUEST_METHOD="GET",
            REMOTE_ADDR="127.0.0.1", SCRIPT_FILENAME=prog,
            DOCUMENT_ROOT=os.path.dirname(prog)))
        r = t.parse_cgi(p.stdout) + (p.stderr.decode(errors="replace"),)
        eq(r[0], 500, r)
        return json.loads(r[2])["error"]
    unsafe = "configuration error (configuration file not safe (owner or " \
        "mode))"
    rc, out = which()
    eq(rc, 0, out)
    expect(out.startswith(os.path.realpath(beside) + ": ok"), out)
    rc, out = which(env={"SMSHOOK_CONFIG": other})
    expect(rc == 0 and out.startswith(other + ": ok"), out)
    rc, out = which("-c", other, env={"SMSHOOK_CONFIG": "/nonexistent"})
    expect(rc == 0 and out.startswith(other + ": ok"), out)
    # unsafe: the folder writable by others, then the file another's
    os.chmod(os.path.dirname(beside), 0o777)
    rc, out = which()
    eq(rc, 1, out)
    expect("is writable by group or others" in out and
           "/smshook/smshook.conf: No such file" in out, out)
    eq(cgi_error(), unsafe, "(the folder writable by others)")
    os.chmod(os.path.dirname(beside), 0o755)
    os.chmod(beside, 0o620)
    eq(cgi_error(), unsafe, "(the file writable by its group)")
    os.chmod(beside, 0o600)
    os.chown(beside, 65534, 65534)
    rc, out = which()
    eq(rc, 1, out)
    expect("belongs to uid 65534, not to the program's owner (uid 0)" in
           out, out)
    eq(cgi_error(), unsafe, "(the file another's)")
    os.chown(beside, 0, 0)
    os.chown(prog, 65534, 65534)     # root's file may serve anyone
    rc, out = which()
    expect(rc == 0 and out.startswith(os.path.realpath(beside)), out)
    os.unlink(beside)
    rc, out = which()
    eq(rc, 1, out)
    expect("configuration not used" not in out, out)
    eq(cgi_error(), "configuration error (configuration file not found)")


# ---------------------------------------------------------------- chroot


class Chroot:
    """An empty root: /bin/smshook, /bin/smshookctl, /smshook (config,
    key, spool, database), /tmp; nothing else."""

    def __init__(self, b, d):
        self.root = os.path.join(d, "root")
        for sub, mode in (("", 0o755), ("bin", 0o755), ("smshook", 0o700),
                          ("tmp", 0o1777)):
            os.mkdir(os.path.join(self.root, sub), mode)
            os.chmod(os.path.join(self.root, sub), mode)
        for prog in ("smshook", "smshookctl"):
            shutil.copy2(os.path.join(b, "bin", prog),
                         os.path.join(self.root, "bin", prog))
        self.key = os.path.join(self.root, "smshook", "app.key")
        with open(self.key, "w") as f:
            f.write(t.KEY + "\n")
        os.chmod(self.key, 0o600)
        self.conf_text = ("app_key_file = app.key\nspool_dir = spool\n"
                          "database = sqlite:smshook.db\n")
        self.write_conf()
        self.spool = os.path.join(self.root, "smshook", "spool")

    def write_conf(self, extra=""):
        path = os.path.join(self.root, "smshook", "smshook.conf")
        with open(path, "w") as f:
            f.write(self.conf_text + extra)
        os.chmod(path, 0o600)

    def listing(self):
        out = []
        for dirpath, dirs, files in os.walk(self.root):
            for n in dirs + files:
                out.append(os.path.relpath(os.path.join(dirpath, n),
                                           self.root))
        return sorted(out)

    def run(self, argv, env=None, body=b"", zoneinfo_ro=False):
        """argv inside the chroot, in a private mount namespace."""
        script = 'set -e\n'
        if zoneinfo_ro:
            script += ('mount --bind -o ro /usr/share/zoneinfo '
                       '"$ROOT/usr/share/zoneinfo"\n')
        script += 'exec chroot "$ROOT" "$@"\n'
        e = {"ROOT": self.root}
        e.update(env or {})
        return dt.in_private_ns(script, *argv, env=e, input=body)

    def cgi(self, method="POST", body=b"", ctype=t.JSON, zoneinfo_ro=False):
        """A CGI request as a web server makes it: the program's path in
        SCRIPT_FILENAME, no SMSHOOK_CONFIG (found beside /bin)."""
        env = {"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": method,
               "REMOTE_ADDR": "127.0.0.1", "SCRIPT_FILENAME": "/bin/smshook"}
        if body:
            env["CONTENT_LENGTH"] = str(len(body))
            env["CONTENT_TYPE"] = ctype
        p = self.run(["/bin/smshook"], env, body, zoneinfo_ro)
        st, headers, out = t.parse_cgi(p.stdout)
        return st, headers, out, p.stderr.decode(errors="replace")

    def ctl(self, *args):
        return self.run(["/bin/smshookctl", "-c", "/smshook/smshook.conf"] +
                        list(args))


def answer(r, status, body):
    eq(r[0], status, "(status; stderr %s)" % r[3])
    eq(r[1].get("content-type"), "application/json")
    eq(json.loads(r[2]), body)


def check_chroot(b, d):
    """The static programs, alone in an empty root, as CGI and cron."""
    c = Chroot(b, d)
    before = c.listing()
    eq(before, ["bin", "bin/smshook", "bin/smshookctl", "smshook",
                "smshook/app.key", "smshook/smshook.conf", "tmp"])
    answer(c.cgi("GET"), 200, {"status": "ok"})
    p = c.ctl("sign", "--event", "delivered")
    eq(p.returncode, 0, p.stderr)
    signed = p.stdout.strip()
    ev = json.loads(signed)
    answer(c.cgi(body=signed), 200, {"status": "success"})
    p = c.ctl("sign", "--event", "requested", "--form")
    eq(p.returncode, 0, p.stderr)
    answer(c.cgi(body=p.stdout, ctype=t.FORM), 200, {"status": "success"})
    answer(c.cgi(body=signed), 200, {"status": "duplicate"})
    p = c.ctl("sign", "-k", "not-the-key")
    answer(c.cgi(body=p.stdout.strip()), 401, {"error": "Invalid signature"})
    lines = [l for _, l in t.spool_lines(c.spool)]
    eq(len(lines), 2, "stored events")
    eq(lines[0]["payload"], ev)
    eq(lines[1]["encoding"], "form")
    # cron's work: into SQLite, inside the chroot
    p = c.ctl("import", "-v")
    eq(p.returncode, 0, p.stderr)
    db = os.path.join(c.root, "smshook", "smshook.db")
    with sqlite3.connect("file:%s?mode=ro" % db, uri=True) as con:
        rows = con.execute("SELECT event_type, sms_id FROM sms_events "
                           "ORDER BY id").fetchall()
    eq(rows[0], (20, ev["smsId"]))
    eq(len(rows), 2, rows)      # delivered + requested with one smsId
    p = c.ctl("import")
    eq((p.returncode, p.stdout, p.stderr), (0, b"", b""), "(rerun)")
    # nothing else appeared in the root
    extra = set(c.listing()) - set(before)
    expect(all(x.startswith("smshook/") for x in extra), sorted(extra))


def check_chroot_timezone(b, d):
    """timezone = Asia/Shanghai: without zone files the configuration
    is refused and the answer says what is wrong (no path); with
    /usr/share/zoneinfo bound read-only the event goes to Shanghai's
    day file."""
    c = Chroot(b, d)
    c.write_conf("timezone = Asia/Shanghai\n")
    r = c.cgi("GET")
    answer(r, 500, {"error": "configuration error (bad value at line 4)"})
    expect("unknown time zone" in r[3], r[3])
    os.makedirs(os.path.join(c.root, "usr", "share", "zoneinfo"))
    before = datetime.datetime.now(zoneinfo.ZoneInfo("Asia/Shanghai"))
    answer(c.cgi(body=t.json_body(t.event("failed")), zoneinfo_ro=True),
           200, {"status": "success"})
    after = datetime.datetime.now(zoneinfo.ZoneInfo("Asia/Shanghai"))
    days = sorted(os.listdir(c.spool))
    expect(days in ([".counters", ".replay",
                     before.strftime("%Y-%m-%d.jsonl")],
                    [".counters", ".replay",
                     after.strftime("%Y-%m-%d.jsonl")]), days)
    # the mount was the namespace's only
    eq(os.listdir(os.path.join(c.root, "usr", "share", "zoneinfo")), [])


def check_chroot_errors(b, d):
    """Configuration problems are named in the 500 answer, which never
    holds a path: a missing key file, a config readable by others with
    an inline key, a missing config."""
    c = Chroot(b, d)
    os.rename(c.key, c.key + ".away")
    answer(c.cgi("GET"), 500, {"error": "configuration error "
                               "(key file not found at line 1)"})
    c.conf_text = "app_key = %s\nspool_dir = spool\n" % t.KEY
    c.write_conf()
    os.chmod(os.path.join(c.root, "smshook", "smshook.conf"), 0o644)
    r = c.cgi("GET")
    answer(r, 500, {"error": "configuration error "
                    "(configuration file readable by others)"})
    expect(t.KEY not in r[2].decode() + r[3], "key in answer or log")
    os.unlink(os.path.join(c.root, "smshook", "smshook.conf"))
    r = c.cgi("GET")
    answer(r, 500, {"error": "configuration error "
                    "(configuration file not found)"})
    expect(b"/" not in r[2], r[2])


def check_modes(smshook, smshookctl, d, label):
    print("  %s %s" % (label, dt.check_created_modes(smshook, smshookctl, d)))


def main():
    r = t.Runner("test_dist")
    if os.getuid() != 0:
        print("needs root (chroot, a private mount namespace, chown)")
        r.check("root", lambda: (_ for _ in ()).throw(
            RuntimeError("not root")))
        sys.exit(r.finish())
    d = t.tmpdir("smshook-dist-")
    try:
        try:
            tarball = dt.bundle()
            b = dt.unpack(tarball, d)
        except Exception as e:  # noqa: BLE001 - report, run nothing else
            r.check("make dist", lambda: (_ for _ in ()).throw(e))
            sys.exit(r.finish())
        r.check("tarball: folder, files and modes", check_members, tarball)
        r.check("programs linked statically (file, ldd)", check_static, b)
        r.check("-V: versions built in", check_versions, b)
        r.check("htaccess, crontab, config agree with conf-examples",
                check_same_rules, b)
        r.check("unpacked: config found beside bin/, smshook -n, "
                "smshookctl check", check_bundle_config, b, d)
        r.check("configuration lookup order and safety", check_lookup, b, d)
        for name, fn in (("chroot: GET, JSON, form, duplicate, 401, "
                          "import into SQLite", check_chroot),
                         ("chroot: time zone with zoneinfo bound "
                          "read-only", check_chroot_timezone),
                         ("chroot: configuration errors named in the "
                          "answer", check_chroot_errors)):
            sub = os.path.join(d, fn.__name__)
            os.mkdir(sub)
            r.check(name, fn, b, sub)
        for label, pair in (("static", (os.path.join(b, "bin", "smshook"),
                                        os.path.join(b, "bin",
                                                     "smshookctl"))),
                            ("dynamic", (t.SMSHOOK, t.SMSHOOKCTL))):
            sub = os.path.join(d, "modes-" + label)
            os.mkdir(sub)
            r.check("file modes under umask 0 (%s build)" % label,
                    check_modes, pair[0], pair[1], sub, label)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(r.finish())


if __name__ == "__main__":
    main()
