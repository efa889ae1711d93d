"""Shared hosting for real: the "make dist" bundle installed into a
customer's account exactly as its README says, served by Apache 2.4
with mod_userdir, mod_cgi and suEXEC (apache2-suexec-pristine), so that
smshook.cgi runs as the customer, with SetEnv out of the picture.

Everything happens in a private mount namespace (unshare -m), held by
one process: there the customer and a second local user exist (passwd,
group and shadow are bind-mounted copies with their lines added, /home
is a temp dir), the host's libfcgi and libcjson are empty files (so only
a static program can answer), and suEXEC's log is a temp dir. The host
itself is not changed: no account, no file outside the temp dir.

Checked: suEXEC runs the program as the customer (files owned by the
customer's uid), a signed JSON and form event stored, a duplicate, a
401, the dynamic build failing where the static one works, the 500
answers that name a configuration problem (and a spool under the
document root), the README's check and curl commands, the crontab's
commands run as the customer (into SQLite), and another local user
unable to read the spool or the database."""
import grp
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import disttest as dt  # noqa: E402
import servers  # noqa: E402
import smshooktest as t  # noqa: E402
from smshooktest import eq, expect  # noqa: E402

SUEXEC = "/usr/lib/apache2/suexec"
LIBDIR = "/usr/lib/x86_64-linux-gnu"
HIDDEN = ["libfcgi.so.0", "libcjson.so.1"]
CUSTOMER, OTHER = "smshookcust", "smshookother"

USERDIR_CONF = """# a shared host: per-user sites in ~/public_html, CGI allowed there
DocumentRoot "{dir}/htdocs"
UserDir public_html
UserDir disabled root
<Directory /home/*/public_html>
	AllowOverride Options=ExecCGI,Indexes FileInfo AuthConfig Limit
	Options SymLinksIfOwnerMatch
	Require all granted
</Directory>
"""


def free_id(start=20000):
    """A number n such that neither n nor n + 1 is a uid or gid of the
    host."""
    def taken(i):
        for get in (pwd.getpwuid, grp.getgrgid):
            try:
                get(i)
                return True
            except KeyError:
                pass
        return False
    n = start
    while taken(n) or taken(n + 1):
        n += 2
    return n


class Host:
    """The namespace, its users, Apache, and ways to run things there."""

    def __init__(self, tarball):
        self.tarball = tarball
        self.dir = t.tmpdir("smshook-hosting-")
        self.uid = free_id()
        self.home = os.path.join(self.dir, "home", CUSTOMER)  # host path
        self.port = t.free_port()
        self.holder = None
        self.apache = None
        self.url = "http://127.0.0.1:%d/~%s/smshook.cgi" % (self.port,
                                                           CUSTOMER)

    # -------------------------------------------------------- namespace

    def _etc(self):
        """Copies of passwd, group and shadow with the two users added."""
        etc = os.path.join(self.dir, "etc")
        os.mkdir(etc, 0o755)
        users = ((CUSTOMER, self.uid, 0o711), (OTHER, self.uid + 1, 0o700))
        for name, add in (("passwd", "{n}:x:{u}:{u}::/home/{n}:/bin/sh\n"),
                          ("group", "{n}:x:{u}:\n"),
                          ("shadow", "{n}:!:19000:0:99999:7:::\n")):
            src = "/etc/" + name
            dst = os.path.join(etc, name)
            shutil.copy2(src, dst)
            with open(dst, "a") as f:
                for n, u, _ in users:
                    f.write(add.format(n=n, u=u))
            st = os.stat(src)
            os.chown(dst, st.st_uid, st.st_gid)
        home = os.path.join(self.dir, "home")
        os.mkdir(home, 0o755)
        for n, u, mode in users:
            os.mkdir(os.path.join(home, n), mode)
            os.chmod(os.path.join(home, n), mode)
            os.chown(os.path.join(home, n), u, u)
        return etc, home

    def enter(self):
        """Start the process that holds the private mount namespace."""
        etc, home = self._etc()
        empty = os.path.join(self.dir, "empty")
        open(empty, "w").close()
        log = os.path.join(self.dir, "apache-log")
        os.mkdir(log, 0o750)
        mounts = ["mount --bind %s/%s /etc/%s" % (etc, f, f)
                  for f in ("passwd", "group", "shadow")]
        mounts.append("mount --bind %s /home" % home)
        mounts.append("mount --bind %s /var/log/apache2" % log)
        for lib in HIDDEN:
            real = os.path.realpath(os.path.join(LIBDIR, lib))
            mounts.append("mount --bind -o ro %s %s" % (empty, real))
        script = "set -e\n" + "\n".join(mounts) + \
            "\necho ready\nexec sleep 86400\n"
        self.holder = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c",
             script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)
        line = self.holder.stdout.readline()
        if line != b"ready\n":
            raise RuntimeError("namespace: " + self.holder.stderr.read()
                               .decode(errors="replace"))

    def ns(self, argv):
        return ["nsenter", "-t", str(self.holder.pid), "-m", "--"] + argv

    def run(self, argv, **kw):
        """argv as root in the namespace."""
        kw.setdefault("timeout", 120)
        return subprocess.run(self.ns(argv), capture_output=True,
                              text=True, **kw)

    def as_user(self, user, script, cwd="~"):
        """sh -c script as user, as a login would set it up (or cron):
        in the namespace, a clean environment, HOME as its cwd."""
        home = "/home/" + user
        env = ["env", "-i", "HOME=" + home, "USER=" + user,
               "LOGNAME=" + user, "SHELL=/bin/sh",
               "PATH=/usr/local/bin:/usr/bin:/bin"]
        cd = "cd %s && " % (home if cwd == "~" else shlex.quote(cwd))
        return self.run(["runuser", "-u", user, "--"] + env +
                        ["sh", "-c", cd + script])

    def customer(self, script, cwd="~"):
        return self.as_user(CUSTOMER, script, cwd)

    # -------------------------------------------------------- Apache

    def start_apache(self):
        adir = os.path.join(self.dir, "apache")
        for sub in ("", "run", "htdocs"):
            os.mkdir(os.path.join(adir, sub), 0o755)
        example = servers.write(os.path.join(adir, "userdir.conf"),
                                USERDIR_CONF.format(dir=adir))
        mods = ["mpm_prefork", "authz_core", "mime", "dir", "userdir", "cgi"]
        self.httpd_conf = servers.write(
            os.path.join(adir, "httpd.conf"), servers.APACHE_TOP.format(
                dir=adir, port=self.port, user="www-data", group="www-data",
                loglevel="notice", mpm="StartServers 2", extra="", after="",
                modules="\n".join(
                    "LoadModule %s_module %s/mod_%s.so"
                    % (m, servers.APACHE_MODULES, m) for m in mods),
                example=example))
        self.error_log = os.path.join(adir, "error.log")
        r = self.run(["apache2", "-f", self.httpd_conf, "-t"])
        if r.returncode != 0:
            raise RuntimeError("apache2 -t: " + r.stderr)
        self.apache = subprocess.Popen(
            self.ns(["apache2", "-f", self.httpd_conf, "-DFOREGROUND"]),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True)
        try:
            t.wait_port(self.port)
        except RuntimeError:
            raise RuntimeError("apache2 did not start: " + self.log())

    def log(self):
        return servers.read_log(self.error_log)

    def suexec_log(self):
        return servers.read_log(os.path.join(self.dir, "apache-log",
                                             "suexec.log"))

    # -------------------------------------------------------- teardown

    def close(self):
        for p in (self.apache, self.holder):
            if p is not None and p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def cust_path(h, rel):
    """Host path of ~customer/rel."""
    return os.path.join(h.home, rel)


def readme(h):
    return dt.readme_blocks(cust_path(h, dt.bundle_name() + "/README"))


def answer(resp, status, body):
    servers.json_answer(resp, status, body)

# ---------------------------------------------------------------- checks


def check_preconditions(h):
    """suEXEC is installed set-uid root, and is what Apache will use."""
    st = os.stat(os.path.realpath(SUEXEC))
    expect(st.st_uid == 0 and st.st_mode & stat.S_ISUID, "suexec not "
           "set-uid root (apt install apache2-suexec-pristine)")
    r = subprocess.run([SUEXEC, "-V"], capture_output=True, text=True)
    out = r.stdout + r.stderr
    expect('AP_USERDIR_SUFFIX="public_html"' in out, out)
    # the hidden libraries really are hidden in the namespace
    for lib in HIDDEN:
        r = h.run(["stat", "-L", "-c", "%s", os.path.join(LIBDIR, lib)])
        eq(r.stdout.strip(), "0", "size of %s in the namespace" % lib)
        expect(os.path.getsize(os.path.join(LIBDIR, lib)) > 0,
               "the host's %s changed" % lib)
    r = h.run(["id", CUSTOMER])
    eq(r.returncode, 0, r.stderr)
    expect(subprocess.run(["id", CUSTOMER], capture_output=True)
           .returncode != 0, "the customer leaked into the host's passwd")


def check_install(h):
    """The README's steps 1 and 2, run as the customer, word for word
    (the key substituted)."""
    dst = cust_path(h, os.path.basename(h.tarball))
    shutil.copy(h.tarball, dst)
    os.chown(dst, h.uid, h.uid)
    with open(os.path.join(t.TOP, "dist", "README")) as f:
        text = f.read().replace("@VERSION@", dt.makefile_version())
    tmp = os.path.join(h.dir, "README")
    with open(tmp, "w") as f:
        f.write(text)
    blocks = dt.readme_blocks(tmp)
    steps = blocks["1. Unpack and install"] + blocks["2. Your APP KEY"]
    script = "set -e\n" + "\n".join(steps).replace(
        "YOUR-SENDCLOUD-APP-KEY", t.KEY)
    r = h.customer(script)
    eq(r.returncode, 0, r.stdout + r.stderr)
    for rel, mode in (("public_html/smshook.cgi", 0o755),
                      ("public_html/.htaccess", 0o644),
                      ("bin/smshookctl", 0o755), ("smshook", 0o700),
                      ("smshook/smshook.conf", 0o600),
                      ("smshook/app.key", 0o600)):
        st = os.stat(cust_path(h, rel))
        eq((st.st_uid, oct(stat.S_IMODE(st.st_mode))), (h.uid, oct(mode)),
           "(owner and mode of ~/%s)" % rel)


def check_readme_checks(h):
    """Step 3: both checks say ok, as the customer."""
    for cmd in readme(h)["3. Check"]:
        r = h.customer(cmd)
        eq(r.returncode, 0, "%s: %s" % (cmd, r.stdout + r.stderr))
        expect("ok" in r.stdout, "%s: %s" % (cmd, r.stdout))
    r = h.customer("~/public_html/smshook.cgi -n")
    expect(r.stdout.startswith("/home/%s/smshook/smshook.conf: ok"
                               % CUSTOMER), r.stdout)


def sign(h, *args):
    r = h.customer("~/bin/smshookctl sign " + " ".join(args))
    eq(r.returncode, 0, r.stderr)
    return r.stdout.strip().encode()


def check_events(h):
    """Through Apache and suEXEC: GET, a JSON and a form event stored by
    the customer's uid, the same event again, a wrong key."""
    answer(t.http(h.url, "GET", ctype=None), 200, {"status": "ok"})
    body = sign(h, "--event", "delivered")
    answer(t.http(h.url, body=body), 200, {"status": "success"})
    form = sign(h, "--event", "requested", "--form")
    answer(t.http(h.url, body=form, ctype=t.FORM), 200,
           {"status": "success"})
    answer(t.http(h.url, body=body), 200, {"status": "duplicate"})
    answer(t.http(h.url, body=sign(h, "-k", "not-the-key")), 401,
           {"error": "Invalid signature"})
    spool = cust_path(h, "smshook/spool")
    lines = [l for _, l in t.spool_lines(spool)]
    eq([l["payload"]["token"] for l in lines],
       [json.loads(body)["token"], re.search(
           rb"token=([A-Za-z0-9]+)", form).group(1).decode()])
    for name in [""] + os.listdir(spool):
        st = os.stat(os.path.join(spool, name))
        eq(st.st_uid, h.uid, "(owner of spool/%s: suEXEC ran the program "
           "as the customer)" % name)
        expect(not stat.S_IMODE(st.st_mode) & 0o007, "spool/%s: mode %o"
               % (name, stat.S_IMODE(st.st_mode)))
    expect(("uid: (%d/%s) gid: (%d/%s) cmd: smshook.cgi"
            % (h.uid, CUSTOMER, h.uid, CUSTOMER)) in h.suexec_log(),
           h.suexec_log()[-1000:])
    r = t.http(h.url.replace("smshook.cgi", ".htaccess"), "GET", ctype=None)
    eq(r[0], 403, ".htaccess served")
    # a database's side files and copies of secrets, should they land
    # under the document root, are not served either; a page still is
    docroot = cust_path(h, "public_html")
    for name, status in (("smshook.db-wal", 403), ("smshook.db-journal", 403),
                         ("smshook.conf~", 403), ("app.key.bak", 403),
                         ("smshook.sqlite3", 403), ("page.html", 200)):
        path = os.path.join(docroot, name)
        with open(path, "w") as f:
            f.write("secret\n")
        os.chown(path, h.uid, h.uid)
        os.chmod(path, 0o644)
        try:
            r = t.http(h.url.replace("smshook.cgi", name), "GET", ctype=None)
            eq(r[0], status, name + " served")
        finally:
            os.unlink(path)


def check_dynamic_fails(h):
    """The dynamic build, in the same place, cannot start without the
    host's libfcgi and libcjson: Apache's own HTML 500."""
    sub = cust_path(h, "public_html/dyn")
    os.mkdir(sub, 0o755)
    shutil.copy(t.SMSHOOK, os.path.join(sub, "smshook.cgi"))
    shutil.copy(cust_path(h, "public_html/.htaccess"), sub)
    for p in (sub, os.path.join(sub, "smshook.cgi"),
              os.path.join(sub, ".htaccess")):
        os.chown(p, h.uid, h.uid)
    os.chmod(os.path.join(sub, "smshook.cgi"), 0o755)
    r = t.http(h.url.replace("smshook.cgi", "dyn/smshook.cgi"), "GET",
               ctype=None)
    eq(r[0], 500)
    expect(not r[1].get("content-type", "").startswith("application/json"),
           r[1])
    expect("libfcgi.so.0" in h.log() or "libcjson.so.1" in h.log(),
           h.log()[-2000:])


def conf_line(h, key):
    with open(cust_path(h, "smshook/smshook.conf")) as f:
        for n, line in enumerate(f, 1):
            if line.startswith(key + " ="):
                return n
    raise AssertionError("no %s in the config" % key)


def check_diagnosable(h):
    """A broken configuration answers 500 naming the problem, never a
    path; the customer's checks tell the rest. A spool moved under the
    document root is refused the same way, and so is a configuration
    folder made writable by the group."""
    key = cust_path(h, "smshook/app.key")
    os.rename(key, key + ".away")
    try:
        r = t.http(h.url, "GET", ctype=None)
        answer(r, 500, {"error": "configuration error (key file not found "
                        "at line %d)" % conf_line(h, "app_key_file")})
        expect(b"/home" not in r[2], r[2])
        c = h.customer("~/bin/smshookctl check")
        eq(c.returncode, 1)
        expect("check: FAIL: " in c.stdout and "/home/%s/smshook/app.key"
               % CUSTOMER in c.stdout, c.stdout)
    finally:
        os.rename(key + ".away", key)
    conf = cust_path(h, "smshook/smshook.conf")
    with open(conf) as f:
        text = f.read()
    try:
        with open(conf, "w") as f:
            f.write(text.replace("spool_dir = spool",
                                 "spool_dir = ../public_html/spool"))
        answer(t.http(h.url, "GET", ctype=None), 500,
               {"error": "configuration error (spool_dir under the "
                "document root)"})
        # the log, which only the customer reads, names the path
        expect("public_html/spool spool_dir under the document root "
               "(move it out)" in h.log(), h.log()[-1000:])
    finally:
        with open(conf, "w") as f:
            f.write(text)
    folder = os.path.dirname(conf)
    mode = stat.S_IMODE(os.stat(folder).st_mode)
    os.chmod(folder, mode | 0o020)
    try:
        answer(t.http(h.url, "GET", ctype=None), 500,
               {"error": "configuration error (configuration file not "
                "safe (owner or mode))"})
    finally:
        os.chmod(folder, mode)
    answer(t.http(h.url, "GET", ctype=None), 200, {"status": "ok"})


def check_readme_try(h):
    """Step 4, the README's curl commands with this site's URL: their
    output is what the README shows."""
    cmds = readme(h)["4. Try it"]
    pairs = [(c, o) for c, o in zip(cmds, cmds[1:])
             if not c.startswith("{") and o.startswith("{")]
    eq(len(pairs), 2, cmds)
    for cmd, want in pairs:
        cmd = re.sub(r"(^|\| )curl ", r"\1curl -sS ", cmd).replace(
            "https://your.site/smshook.cgi", h.url)
        r = h.customer(cmd)
        eq((r.returncode, r.stdout.strip()), (0, want), cmd + r.stderr)


def check_cron(h):
    """Step 5's edit, then every crontab command as cron runs it for the
    customer: quiet, exit 0 (check too: the receiver, run as the
    customer, can store); the events land in ~/smshook/smshook.db, mode
    0640, the customer's."""
    bundle = "~/" + dt.bundle_name()
    sed = readme(h)["5. Cron"][0]
    r = h.customer("cd %s && %s" % (bundle, sed))
    eq(r.returncode, 0, r.stderr)
    with open(cust_path(h, dt.bundle_name() + "/crontab")) as f:
        env, cmds = dt.crontab_lines(f.read())
    eq(env["MAILTO"], "you@example.com")
    eq([c.split()[3] for c in cmds], ["import", "compress", "purge",
                                      "check"])
    for cmd in cmds:
        r = h.as_user(CUSTOMER, "PATH=%s; %s" % (env["PATH"], cmd))
        eq((r.returncode, r.stdout, r.stderr), (0, "", ""), cmd)
    # a spool the receiver cannot write: check's whole report, for mail
    spool = cust_path(h, "smshook/spool")
    mode = stat.S_IMODE(os.stat(spool).st_mode)
    os.chmod(spool, 0o550)
    try:
        r = h.as_user(CUSTOMER, "PATH=%s; %s" % (env["PATH"], cmds[3]))
    finally:
        os.chmod(spool, mode)
    expect(r.returncode == 1 and "FAIL" in r.stdout + r.stderr and
           "spool_dir" in r.stdout + r.stderr, r)
    db = cust_path(h, "smshook/smshook.db")
    st = os.stat(db)
    eq((st.st_uid, oct(stat.S_IMODE(st.st_mode))), (h.uid, oct(0o640)))
    with sqlite3.connect("file:%s?mode=ro" % db, uri=True) as c:
        got = sorted(c.execute("SELECT sms_id FROM sms_events"))
    want = set()
    lines = t.spool_lines(cust_path(h, "smshook/spool"))
    for _, l in lines:
        p = l["payload"]
        want |= {p["smsId"]} if "smsId" in p else set(json.loads(
            p["smsIds"]))
    eq(got, sorted((i,) for i in want), "(one row per message)")
    eq(len(lines), 3, "(events stored by now)")


def check_other_user(h):
    """Another account on the host reads nothing of the customer's."""
    spool = "/home/%s/smshook/spool" % CUSTOMER
    day = sorted(n for n in os.listdir(cust_path(h, "smshook/spool"))
                 if n.endswith(".jsonl"))[0]
    for what in ("ls /home/%s/smshook" % CUSTOMER, "ls " + spool,
                 "cat %s/%s" % (spool, day),
                 "cat /home/%s/smshook/smshook.db" % CUSTOMER,
                 "cat /home/%s/smshook/smshook.conf" % CUSTOMER):
        r = h.as_user(OTHER, what + " >/dev/null")
        expect(r.returncode != 0 and "Permission denied" in r.stderr,
               "%s as another user: %r" % (what, r))
    for dirpath, dirs, files in os.walk(cust_path(h, "smshook")):
        for n in [""] + dirs + files:
            p = os.path.join(dirpath, n)
            m = stat.S_IMODE(os.lstat(p).st_mode)
            expect(not m & 0o007, "%s: mode %o" % (p, m))


def main():
    r = t.Runner("test_shared_hosting")
    if os.getuid() != 0:
        print("needs root (suEXEC, a private mount namespace)")
        r.check("root", lambda: (_ for _ in ()).throw(
            RuntimeError("not root")))
        sys.exit(r.finish())
    start = time.time()
    h = None
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    try:
        h = Host(dt.bundle())
        h.enter()
        h.start_apache()
    except Exception as e:  # noqa: BLE001 - report, run nothing else
        r.check("set-up", lambda: (_ for _ in ()).throw(e))
        if h is not None:
            print(h.log()[-3000:] if h.apache else "")
            h.close()
        sys.exit(r.finish())
    try:
        r.check("suEXEC ready, libraries hidden, users only in the "
                "namespace", check_preconditions, h)
        r.check("README steps 1-2 as the customer", check_install, h)
        r.check("README step 3: smshookctl check, smshook.cgi -n",
                check_readme_checks, h)
        r.check("suEXEC: GET, JSON, form, duplicate, 401, files the "
                "customer's", check_events, h)
        r.check("dynamic build fails without the host's libraries",
                check_dynamic_fails, h)
        r.check("configuration problems named in the 500 answer",
                check_diagnosable, h)
        r.check("README step 4: the curl commands", check_readme_try, h)
        r.check("crontab commands as the customer, into SQLite",
                check_cron, h)
        r.check("another local user reads nothing", check_other_user, h)
    finally:
        h.close()
    print("test_shared_hosting: %.1f s" % (time.time() - start))
    sys.exit(r.finish())


if __name__ == "__main__":
    main()
