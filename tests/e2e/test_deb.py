"""The Debian package (debian/, "make deb"): built with dpkg-buildpackage,
lintian clean, installed with apt-get, the receiver behind the packaged
Apache, lighttpd and nginx snippets, the cron lines as the package runs
them, upgrade from an older build, reinstall, remove and purge.

Needs root, and a machine without smshook installed: it installs the
package for real and purges it at the end, leaves the web servers'
configuration and services as it found them, and removes the spool the
package keeps on purge. No service of the machine is started: the
receiver runs as systemd would run the packaged units (there is no
systemd in CI), the web servers are private instances on free loopback
ports reading the packaged snippets, and apt/dpkg run under a
policy-rc.d that forbids starting services."""
import grp
import json
import os
import pwd
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import smshooktest as t  # noqa: E402
import disttest as dt  # noqa: E402
import servers  # noqa: E402
from smshooktest import eq, expect  # noqa: E402

PKG = "smshook"
CONF = "/etc/smshook/smshook.conf"
SPOOL = "/var/spool/smshook"
LIB = "/var/lib/smshook"
UNITS = "/lib/systemd/system"
CRON = "/etc/cron.d/smshook"
APACHE_AVAIL = "/etc/apache2/conf-available/smshook.conf"
APACHE_LINK = "/etc/apache2/conf-enabled/smshook.conf"
LIGHTY_AVAIL = "/etc/lighttpd/conf-available/50-smshook.conf"
LIGHTY_ENABLED = "/etc/lighttpd/conf-enabled"
NGINX_SNIPPET = "/etc/nginx/snippets/smshook.conf"
POLICY = "/usr/sbin/policy-rc.d"
SERVICES = ("apache2", "lighttpd", "nginx")
KEY = t.KEY


def run(cmd, check=True, timeout=300, **kw):
    """Run cmd (a list), text output; raise with its output on failure."""
    env = kw.pop("env", None)
    if env is None:
        env = {k: v for k, v in os.environ.items()
               if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, env=env, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s: exit %d\n%s\n%s" % (
            " ".join(cmd), p.returncode, p.stdout[-3000:], p.stderr[-3000:]))
    return p


def apt_env():
    e = {k: v for k, v in os.environ.items()
         if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    e["DEBIAN_FRONTEND"] = "noninteractive"
    return e


def apt_install(deb, *extra):
    return run(["apt-get", "install", "-y", "-q", "--no-install-recommends"]
               + list(extra) + [deb], env=apt_env())


def under_systemd(cmd, tmp):
    """Run cmd (a list) as on a machine booted with systemd, as far as
    maintainer scripts can tell: in a private mount namespace where
    /run/systemd/system exists, with deb-systemd-invoke and systemctl
    stubs that only note their arguments. The notes, a line each."""
    stubs = os.path.join(tmp, "systemd-stubs")
    notes = os.path.join(tmp, "systemd-calls")
    os.makedirs(stubs, exist_ok=True)
    for name in ("deb-systemd-invoke", "systemctl"):
        with open(os.path.join(stubs, name), "w") as f:
            f.write('#!/bin/sh\necho "%s $*" >> "%s"\n' % (name, notes))
        os.chmod(os.path.join(stubs, name), 0o755)
    if os.path.exists(notes):
        os.unlink(notes)
    env = apt_env()
    env["PATH"] = stubs + ":" + env.get("PATH", "/usr/bin:/bin")
    if cmd[0] == "apt-get":	# which sets dpkg's PATH itself
        cmd = cmd[:1] + ["-o", "DPkg::Path=%s:/usr/sbin:/usr/bin:/sbin:/bin"
                         % stubs] + cmd[1:]
    run(["unshare", "-m", "--propagation", "private", "sh", "-c",
         'mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/system '
         '&& exec "$@"', "sh"] + cmd, env=env)
    return read(notes).splitlines() if os.path.exists(notes) else []


def dpkg(*args):
    return run(["dpkg"] + list(args), env=apt_env())


def installed_version():
    p = run(["dpkg-query", "-W", "-f", "${Status} ${Version}", PKG],
            check=False)
    if p.returncode != 0 or "ok installed" not in p.stdout:
        return None
    return p.stdout.split()[-1]


def package_state():
    """'installed', 'config-files' or None."""
    p = run(["dpkg-query", "-W", "-f", "${db:Status-Status}", PKG],
            check=False)
    return p.stdout.strip() if p.returncode == 0 and p.stdout.strip() \
        not in ("", "not-installed") else None


def makefile_version():
    with open(os.path.join(t.TOP, "Makefile")) as f:
        return re.search(r"^VERSION\s*=\s*(\S+)", f.read(), re.M).group(1)


def owner(path):
    st = os.lstat(path)
    try:
        user = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        user = st.st_uid
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = st.st_gid
    return user, group, stat.S_IMODE(st.st_mode)


def read(path):
    with open(path) as f:
        return f.read()


def spool_snapshot():
    """{name: bytes} of every file in the spool (day files, .replay...)."""
    out = {}
    for name in sorted(os.listdir(SPOOL)):
        with open(os.path.join(SPOOL, name), "rb") as f:
            out[name] = f.read()
    return out


def as_user(user, cmd, env=None, cwd="/"):
    """cmd run as user with only its own group, as cron and systemd do."""
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          user=user, group=user, extra_groups=[],
                          env=env or t.base_env(), cwd=cwd,
                          stdin=subprocess.DEVNULL)


def set_conf_key(extra=""):
    """The admin's edit: the key (and extra lines) appended to smshook.conf."""
    with open(CONF, "a") as f:
        f.write("\napp_key = %s\n%s" % (KEY, extra))


def signed_event(kind="delivered"):
    """A signed event from the installed smshookctl sign."""
    p = subprocess.run(["/usr/bin/smshookctl", "-c", CONF, "sign", "--event",
                        kind], capture_output=True, timeout=30)
    eq(p.returncode, 0, "smshookctl sign: %r" % p.stderr)
    return p.stdout

# ---------------------------------------------------------------- receiver



def said_by(cmd, p):
    """Where cmd reports a bad configuration: smshookctl check on a FAIL
    line of its stdout, smshook -n on stderr."""
    return p.stdout if cmd[-1] == "check" else p.stderr

class Receiver:
    """The packaged smshook.socket + smshook.service, run as systemd runs
    them: the socket made as [Socket] says, ExecStart as User/Group with
    UMask and the socket as fd 3 (servers.SD_SHIM)."""

    def __init__(self, logdir):
        self.log = os.path.join(logdir, "journal.log")
        self.proc = None
        self.lsock = None
        self.made_rundir = False

    def start(self):
        import socket
        self.units = {n: servers.unit(read(os.path.join(UNITS, n)))
                      for n in ("smshook.socket", "smshook.service")}
        so = self.units["smshook.socket"]["Socket"]
        sv = self.units["smshook.service"]["Service"]
        path = so["ListenStream"]
        rundir = os.path.dirname(path)
        if not os.path.isdir(rundir):
            os.mkdir(rundir, 0o755)
            self.made_rundir = True
        if os.path.exists(path):
            os.unlink(path)
        s = socket.socket(socket.AF_UNIX)
        s.bind(path)
        s.listen(128)
        os.chown(path, pwd.getpwnam(so["SocketUser"]).pw_uid,
                 grp.getgrnam(so["SocketGroup"]).gr_gid)
        os.chmod(path, int(so["SocketMode"], 8))
        self.lsock = s
        with open(self.log, "ab") as err:
            self.proc = subprocess.Popen(
                ["/usr/bin/python3", "-c", servers.SD_SHIM, str(s.fileno())]
                + sv["ExecStart"].split(), pass_fds=(s.fileno(),),
                stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                user=sv["User"], group=sv["Group"], extra_groups=[],
                umask=int(sv["UMask"], 8), env=t.base_env(), cwd="/")
        servers.wait_unix(path)
        return self

    def stop(self):
        if self.proc is not None:
            servers.stop_proc(self.proc)
            self.proc = None
        if self.lsock is not None:
            path = self.lsock.getsockname()
            self.lsock.close()
            self.lsock = None
            if os.path.exists(path):
                os.unlink(path)

    def cleanup(self):
        self.stop()
        if self.made_rundir:
            shutil.rmtree("/run/smshook", ignore_errors=True)

    def journal(self):
        return servers.read_log(self.log)

# ---------------------------------------------------------------- web servers


APACHE_CONF = """# test: a private Apache around the enabled snippet
ServerRoot "{dir}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile "{dir}/apache2.pid"
DefaultRuntimeDir "{dir}/run"
Mutex file:{dir}/run default
ErrorLog "{dir}/error.log"
LogLevel warn
User www-data
Group www-data
DocumentRoot "{dir}/htdocs"
LoadModule mpm_event_module {mods}/mod_mpm_event.so
LoadModule authz_core_module {mods}/mod_authz_core.so
{proxy}
<Directory />
	Require all denied
</Directory>
Include "{snippet}"
"""

LIGHTY_CONF = """# test: a private lighttpd around the enabled module
server.document-root = "{dir}/htdocs"
server.bind = "127.0.0.1"
server.port = {port}
server.username = "www-data"
server.groupname = "www-data"
server.errorlog = "{dir}/error.log"
server.pid-file = "{dir}/lighttpd.pid"
{includes}
"""

NGINX_SERVER = """server {{
	listen 127.0.0.1:{port};
	root {dir}/htdocs;
	include {snippet};
}}
"""


class WebServer:
    """A private instance of a distribution web server on a free port,
    configured by the packaged snippet; url is /smshook on it."""

    def __init__(self, kind, tmp, includes=()):
        self.kind = kind
        self.dir = os.path.join(tmp, kind)
        os.makedirs(os.path.join(self.dir, "htdocs"))
        os.makedirs(os.path.join(self.dir, "run"))
        os.makedirs(os.path.join(self.dir, "tmp"))
        self.port = t.free_port()
        self.url = "http://127.0.0.1:%d/smshook" % self.port
        self.conf = os.path.join(self.dir, kind + ".conf")
        v = {"dir": self.dir, "port": self.port}
        if kind == "apache2":
            self.write(APACHE_CONF.format(
                mods=servers.APACHE_MODULES, snippet=APACHE_LINK, proxy=(
                    "LoadModule proxy_module {0}/mod_proxy.so\n"
                    "LoadModule proxy_fcgi_module {0}/mod_proxy_fcgi.so"
                    .format(servers.APACHE_MODULES)), **v))
            self.argv = ["apache2", "-f", self.conf, "-DFOREGROUND"]
        elif kind == "lighttpd":
            self.write(LIGHTY_CONF.format(includes="\n".join(
                'include "%s"' % p for p in includes), **v))
            # it opens its error log as www-data
            pw = pwd.getpwnam("www-data")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.argv = ["lighttpd", "-D", "-f", self.conf]
        else:
            server = os.path.join(self.dir, "server.conf")
            with open(server, "w") as f:
                f.write(NGINX_SERVER.format(snippet=NGINX_SNIPPET, **v))
            # the snippet goes into a server block of the site's own, as
            # README.Debian says: no other server here
            self.write(servers.NGINX_TOP.format(dir=self.dir, example=server,
                                                default_site="",
                                                user="user www-data;"))
            self.argv = ["nginx", "-p", self.dir, "-c", self.conf, "-g",
                         "daemon off;"]
        self.proc = None

    def write(self, text):
        with open(self.conf, "w") as f:
            f.write(text)

    def start(self):
        with open(os.path.join(self.dir, "stderr.log"), "ab") as err:
            self.proc = subprocess.Popen(self.argv, stdout=err, stderr=err,
                                         stdin=subprocess.DEVNULL, cwd="/",
                                         start_new_session=True)
        try:
            t.wait_port(self.port)
        except RuntimeError:
            self.stop()
            raise RuntimeError("%s did not start: %s" % (self.kind, self.log()))
        return self

    def log(self):
        return "".join(servers.read_log(os.path.join(self.dir, n))
                       for n in ("error.log", "stderr.log"))

    def stop(self):
        if self.proc is not None:
            servers.stop_proc(self.proc, timeout=10)
            servers.kill_pids(servers.all_named(
                self.kind if self.kind != "apache2" else "apache2",
                self.conf))
            self.proc = None

# ---------------------------------------------------------------- cron


def cron_jobs():
    """(env, [(user, command)]) of /etc/cron.d/smshook, as cron reads it."""
    return dt.crontab_lines(read(CRON), system=True)


TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"


def run_cron(textfile_dir=None):
    """Every line as cron runs it: its user and only its groups, HOME as
    the cwd, the file's variables; returns [(command, rc, output)].
    textfile_dir stands in for node_exporter's folder (the machine's is
    never written)."""
    env, jobs = cron_jobs()
    out = []
    for user, cmd in jobs:
        if textfile_dir is not None:
            cmd = cmd.replace(TEXTFILE_DIR, textfile_dir)
        try:
            pw = pwd.getpwnam(user)
        except KeyError:
            raise AssertionError("cron user %s does not exist" % user)
        e = {"HOME": pw.pw_dir, "LOGNAME": user, "USER": user,
             "SHELL": "/bin/sh", "PATH": "/usr/bin:/bin"}
        e.update(env)
        cwd = pw.pw_dir if os.path.isdir(pw.pw_dir) else "/"
        p = as_user(user, [e["SHELL"], "-c", cmd], env=e, cwd=cwd)
        out.append((cmd, p.returncode, p.stdout + p.stderr))
    return out


def cron_quiet(results):
    for cmd, rc, output in results:
        eq((rc, output), (0, ""), "cron line %r" % cmd)

# ---------------------------------------------------------------- the suite


class Suite:
    def __init__(self, tmp):
        self.tmp = tmp
        self.build = os.path.join(tmp, "build")
        self.debdir = os.path.join(self.build, "deb")
        self.version = makefile_version()
        self.arch = run(["dpkg-architecture", "-qDEB_HOST_ARCH"]).stdout.strip()
        self.deb_version = None
        self.old_version = self.version + "-0~old1"
        self.receiver = Receiver(tmp)
        self.servers = []
        self.sent = 0           # events stored so far (all "delivered")

    def deb(self, version):
        return os.path.join(self.debdir, "smshook_%s_%s.deb"
                            % (version, self.arch))

    # -------------------------------------------------------- build

    def build_deb(self):
        start = time.time()
        p = run(["make", "-C", t.TOP, "deb", "BUILD=" + self.build])
        print("  make deb: %.1f s" % (time.time() - start))
        with open(os.path.join(self.debdir, "last-changes")) as f:
            self.changes = f.read().strip()
        self.deb_version = re.search(r"smshook_([^_]+)_",
                                     os.path.basename(self.changes)).group(1)
        expect(self.deb_version.startswith(self.version + "-"),
               "package version %s, Makefile VERSION %s"
               % (self.deb_version, self.version))
        expect(os.path.exists(self.deb(self.deb_version)), p.stdout[-2000:])

    def lintian(self):
        start = time.time()
        p = run(["lintian", "--fail-on", "error,warning", self.changes],
                check=False)
        print("  lintian: %.1f s" % (time.time() - start))
        tags = [l for l in p.stdout.splitlines() if re.match(r"^[EW]: ", l)]
        eq((p.returncode, tags), (0, []), "lintian:\n" + p.stdout + p.stderr)

    def build_old(self):
        start = time.time()
        env = apt_env()
        env["DEB_BUILD_OPTIONS"] = "nocheck"
        run(["make", "-C", t.TOP, "deb", "BUILD=" + self.build,
             "DEB_VERSION=" + self.old_version], env=env)
        print("  make deb DEB_VERSION=%s: %.1f s"
              % (self.old_version, time.time() - start))
        expect(os.path.exists(self.deb(self.old_version)))

    def package_contents(self):
        p = run(["dpkg-deb", "-c", self.deb(self.deb_version)])
        names = {l.split()[-1].lstrip(".") for l in p.stdout.splitlines()}
        for path in ("/usr/sbin/smshook", "/usr/bin/smshookctl", CONF, CRON,
                     APACHE_AVAIL, LIGHTY_AVAIL, NGINX_SNIPPET,
                     UNITS + "/smshook.socket", UNITS + "/smshook.service",
                     "/usr/share/man/man8/smshook.8.gz",
                     "/usr/share/man/man5/smshook.conf.5.gz",
                     "/usr/share/man/man1/smshookctl.1.gz",
                     "/usr/share/doc/smshook/README.Debian.gz",
                     "/usr/share/doc/smshook/copyright"):
            expect(path in names, path + " not in the package")
        # the data the package keeps on purge is not the package's
        for path in (SPOOL, LIB):
            expect(not any(n.startswith(path) for n in names),
                   path + " shipped in the package")
        info = os.path.join(self.tmp, "control")
        run(["dpkg-deb", "-e", self.deb(self.deb_version), info])
        eq(sorted(read(os.path.join(info, "conffiles")).split()),
           sorted([APACHE_AVAIL, CRON, LIGHTY_AVAIL, NGINX_SNIPPET, CONF]))

    def units_match_examples(self):
        """The packaged units are conf-examples' with the packaged paths."""
        values = {"SBINDIR": "/usr/sbin", "CONF": CONF, "SPOOL": SPOOL,
                  "USER": "smshook", "SOCKET": "/run/smshook/smshook.sock",
                  "WEBUSER": "www-data"}
        src = os.path.join(t.TOP, "debian")
        for name in ("smshook.socket", "smshook.service"):
            want = servers.unit(servers.render(name, values))
            eq(servers.unit(read(os.path.join(src, name))), want, name)

    def conf_matches_example(self):
        """The packaged smshook.conf is conf-examples' with the same keys
        and values, but app_key_file and database left unset (commented):
        the admin sets a key and, for the cron jobs, a database."""
        def keys(path):
            out = {}
            for line in read(path).splitlines():
                m = re.match(r"^(#?)([a-z_]+) = (.*)$", line)
                if m:
                    out[m.group(2)] = (m.group(3), m.group(1) == "")
            return out
        want = keys(os.path.join(t.TOP, "conf-examples", "smshook.conf"))
        for k in ("app_key_file", "database"):
            want[k] = (want[k][0], False)
        eq(keys(os.path.join(t.TOP, "debian", "conf", "smshook",
                             "smshook.conf")), want)

    # -------------------------------------------------------- install

    def install_old(self):
        start = time.time()
        apt_install(self.deb(self.old_version))
        print("  apt-get install: %.1f s" % (time.time() - start))
        eq(installed_version(), self.old_version)
        self.check_layout()

    def check_layout(self, enabled=False):
        """The files and modes of an installed package; the web server
        snippets as the admin left them (enabled or not)."""
        pw = pwd.getpwnam("smshook")
        expect(pw.pw_uid < 1000, "smshook is not a system user: %d"
               % pw.pw_uid)
        eq(pw.pw_shell, "/usr/sbin/nologin")
        eq(pw.pw_dir, LIB)
        eq(grp.getgrgid(pw.pw_gid).gr_name, "smshook")
        expect("smshook" not in [g.gr_name for g in grp.getgrall()
                                 if "www-data" in g.gr_mem],
               "www-data is in the group smshook")
        eq(owner("/etc/smshook"), ("root", "smshook", 0o750))
        eq(owner(CONF), ("root", "smshook", 0o640))
        eq(owner(SPOOL), ("smshook", "smshook", 0o750))
        eq(owner(LIB), ("smshook", "smshook", 0o750))
        eq(owner(CRON), ("root", "root", 0o644))
        for path in (APACHE_AVAIL, LIGHTY_AVAIL, NGINX_SNIPPET):
            eq(owner(path), ("root", "root", 0o644))
        # installed, not enabled nor started: nothing listens
        if shutil.which("systemctl"):
            for unit in ("smshook.socket", "smshook.service"):
                p = run(["systemctl", "is-enabled", unit], check=False)
                eq(p.stdout.strip(), "disabled", unit)
        expect(not os.path.exists("/run/smshook/smshook.sock"),
               "the socket exists after install")
        eq(os.path.exists(APACHE_LINK), enabled, "Apache snippet enabled")
        eq(os.path.exists(os.path.join(LIGHTY_ENABLED, "50-smshook.conf")),
           enabled, "lighttpd module enabled")
        if shutil.which("systemd-analyze"):
            p = run(["systemd-analyze", "verify", "--man=no",
                     UNITS + "/smshook.socket", UNITS + "/smshook.service"],
                    check=False)
            eq((p.returncode, p.stderr.strip()), (0, ""), "systemd-analyze")
        # www-data, the web servers' user, reads nothing of it
        for path in (CONF, SPOOL):
            p = as_user("www-data", ["/bin/cat" if path == CONF
                                     else "/bin/ls", path])
            expect(p.returncode != 0, "www-data can read " + path)

    def no_key_yet(self):
        """The conffile has no key: smshook -n and smshookctl check refuse
        it, a FastCGI start exits 1, a CGI request is answered 500."""
        for cmd in (["/usr/sbin/smshook", "-n"],
                    ["/usr/bin/smshookctl", "check"]):
            p = as_user("smshook", cmd)
            eq(p.returncode, 1, " ".join(cmd) + ": " + p.stderr)
            said = said_by(cmd, p)
            expect(CONF in said and "app_key" in said, said)
        status, _, body, _ = t.cgi(CONF, method="GET",
                                   binary="/usr/sbin/smshook")
        eq(status, 500)
        expect(json.loads(body)["error"].startswith("configuration error"),
               body)
        # the cron lines stand idle, silently, the metrics line too
        # where node_exporter is installed
        textfiles = os.path.join(self.tmp, "node-exporter-no-key")
        os.mkdir(textfiles, 0o755)
        cron_quiet(run_cron(textfiles))
        eq(os.listdir(LIB), [], "cron wrote to " + LIB)
        eq(os.listdir(textfiles), [], "cron wrote metrics")

    def no_key_message(self):
        """What the admin reads before setting a key."""
        for cmd in (["/usr/sbin/smshook", "-n"],
                    ["/usr/bin/smshookctl", "check"]):
            p = as_user("smshook", cmd)
            said = said_by(cmd, p)
            expect("%s: no app_key set" % CONF in said, "%s: %r"
                   % (" ".join(cmd), said))

    def set_key(self):
        set_conf_key()
        eq(owner(CONF), ("root", "smshook", 0o640))
        p = as_user("smshook", ["/usr/sbin/smshook", "-n"])
        eq(p.returncode, 0, p.stderr)
        expect(p.stdout.startswith(CONF + ": ok"), p.stdout)
        p = as_user("smshook", ["/usr/bin/smshookctl", "check"])
        eq(p.returncode, 0, p.stderr)
        expect("check: ok" in p.stdout, p.stdout)

    # -------------------------------------------------------- servers

    def apache_needs_proxy_fcgi(self):
        """a2enconf smshook; without mod_proxy_fcgi the configuration
        test names the module to enable."""
        run(["a2enconf", "-q", "smshook"])
        eq(os.path.realpath(APACHE_LINK), APACHE_AVAIL)
        w = WebServer("apache2", os.path.join(self.tmp, "noproxy"))
        text = read(w.conf)
        w.write(re.sub(r"LoadModule proxy\S* .*\n", "", text))
        p = run(["apache2", "-t", "-f", w.conf], check=False)
        expect(p.returncode != 0 and "a2enmod proxy_fcgi" in p.stderr,
               p.stderr)

    def start_servers(self):
        self.receiver.start()
        before = set(os.listdir(LIGHTY_ENABLED))
        run(["lighty-enable-mod", "smshook"], check=False)
        new = sorted(set(os.listdir(LIGHTY_ENABLED)) - before)
        expect("50-smshook.conf" in new, "lighty-enable-mod: %r" % new)
        expect(os.path.exists(APACHE_LINK), "Apache snippet not enabled")
        # one by one, so that those started are stopped if one fails
        self.servers = []
        for kind, includes in (
                ("apache2", ()),
                ("lighttpd", [os.path.join(LIGHTY_ENABLED, n) for n in new]),
                ("nginx", ())):
            self.servers.append(WebServer(kind, self.tmp, includes).start())

    def send_through(self, server):
        before = spool_snapshot()
        body = signed_event()
        r = t.http(server.url, body=body, ctype=t.JSON)
        servers.json_answer(r, 200, {"status": "success"})
        r = t.http(server.url, body=body, ctype=t.JSON)
        servers.json_answer(r, 200, {"status": "duplicate"})
        r = t.http(server.url, "GET", ctype=None)
        servers.json_answer(r, 200, {"status": "ok"})
        self.sent += 1
        lines = t.spool_lines(SPOOL)
        eq(len(lines), self.sent, "spool lines")
        token = json.loads(body)["token"]
        eq(lines[-1][1]["payload"]["token"], token)
        eq(lines[-1][1]["verified"], True)
        eq(lines[-1][1]["remote_addr"], "127.0.0.1")
        expect(spool_snapshot() != before)
        # the snippet takes /smshook itself, nothing below or beside it
        before = spool_snapshot()
        for path in ("/smshook/", "/smshook/other/page", "/smshookx"):
            status, _, answer = t.http(server.url[:-len("/smshook")] +
                                       path, body=signed_event(),
                                       ctype=t.JSON)
            expect(status != 200, "%s %s: %d %r" % (server.kind, path,
                                                     status, answer))
        eq(spool_snapshot(), before, "spool after posts beside /smshook")
        self.check_spool_files()

    def check_spool_files(self):
        """Everything in the spool is smshook's and nobody else's."""
        names = os.listdir(SPOOL)
        expect(any(n.endswith(".jsonl") for n in names), names)
        for name in names:
            user, group, mode = owner(os.path.join(SPOOL, name))
            eq((user, group), ("smshook", "smshook"), name)
            eq(mode & 0o027, 0, "%s mode %o" % (name, mode))
        for name in names:
            p = as_user("www-data", ["/bin/cat", os.path.join(SPOOL, name)])
            expect(p.returncode != 0, "www-data reads " + name)

    def stop_servers(self):
        for s in self.servers:
            s.stop()
        self.servers = []
        self.receiver.stop()

    # -------------------------------------------------------- cron

    def cron_with_database(self):
        """With "database" set the lines import (rows in SQLite), compress
        days that are over and purge old imported ones; quiet, as smshook."""
        day = 86400
        old = {}
        for age in (3, 100):
            name = time.strftime("%Y-%m-%d.jsonl",
                                 time.gmtime(time.time() - age * day))
            path = os.path.join(SPOOL, name)
            with open(path, "wb") as f:
                f.write(t.v1_line(t.event("delivered", key=KEY)))
            os.chown(path, pwd.getpwnam("smshook").pw_uid,
                     grp.getgrnam("smshook").gr_gid)
            os.chmod(path, 0o640)
            past = time.time() - age * day
            os.utime(path, (past, past))
            old[age] = name
        with open(CONF, "a") as f:
            f.write("database = sqlite:%s/smshook.db\n" % LIB)
        # node_exporter's folder, its user's (nobody stands in for it)
        textfiles = os.path.join(self.tmp, "node-exporter")
        os.mkdir(textfiles, 0o755)
        os.chown(textfiles, pwd.getpwnam("nobody").pw_uid,
                 grp.getgrnam("nogroup").gr_gid)
        cron_quiet(run_cron(textfiles))
        # the metrics line: made as smshook, written 0644 into a new file
        # by the folder's owner, whose links root would otherwise follow;
        # root opens nothing of smshook's either
        eq(os.listdir(textfiles), ["smshook.prom"])
        prom = os.path.join(textfiles, "smshook.prom")
        eq(owner(prom), ("nobody", "nogroup", 0o644))
        expect(not os.path.exists(os.path.join(LIB, "smshook.prom")),
               "a metrics file left in " + LIB)
        expect("\nsmshook_stats_timestamp_seconds " in read(prom),
               read(prom))
        db = os.path.join(LIB, "smshook.db")
        eq(owner(db)[:2], ("smshook", "smshook"))
        con = sqlite3.connect(db)
        try:
            rows = con.execute("SELECT count(*) FROM sms_events").fetchone()
        finally:
            con.close()
        # smshookctl sign's samples share one smsId: a row or more; that
        # every day was imported shows in purge deleting the old one
        expect(rows[0] >= 1, "no rows imported")
        names = os.listdir(SPOOL)
        expect(old[3] + ".gz" in names and old[3] not in names,
               "3 days old not compressed: %r" % names)
        expect(not any(n.startswith(old[100]) for n in names),
               "100 days old not purged: %r" % names)
        self.check_spool_files()

    # -------------------------------------------------------- upgrade

    def upgrade(self):
        conf = read(CONF)
        spool = spool_snapshot()
        start = time.time()
        # as under systemd: the receiver's socket keeps listening (no
        # stop before the new files), a running receiver is restarted
        calls = under_systemd(["apt-get", "install", "-y", "-q",
                               "--no-install-recommends",
                               self.deb(self.deb_version)], self.tmp)
        print("  upgrade: %.1f s" % (time.time() - start))
        eq(installed_version(), self.deb_version)
        expect(not any(" stop " in c + " " for c in calls), calls)
        expect("deb-systemd-invoke try-restart smshook.service" in calls,
               calls)
        eq(read(CONF), conf, "configuration after upgrade")
        eq(spool_snapshot(), spool, "spool after upgrade")
        self.check_layout()
        expect(not os.path.exists(CONF + ".dpkg-dist") and
               not os.path.exists(CONF + ".dpkg-old"), "conffile prompt")

    def reinstall(self):
        conf = read(CONF)
        spool = spool_snapshot()
        db = os.path.join(LIB, "smshook.db")
        with open(db, "rb") as f:
            dbbytes = f.read()
        apt_install(self.deb(self.deb_version), "--reinstall")
        eq(installed_version(), self.deb_version)
        eq(read(CONF), conf, "configuration after reinstall")
        eq(spool_snapshot(), spool, "spool after reinstall")
        with open(db, "rb") as f:
            eq(f.read(), dbbytes, "database after reinstall")
        self.check_layout(enabled=True)
        # and the receiver (the new binary) still stores
        self.receiver.start()
        self.servers = [WebServer("nginx", os.path.join(self.tmp, "again"))
                        .start()]
        self.send_through(self.servers[0])
        self.stop_servers()

    # -------------------------------------------------------- removal

    def remove(self):
        conf = read(CONF)
        spool = spool_snapshot()
        dpkg("-r", PKG)
        eq(package_state(), "config-files")
        for path in ("/usr/sbin/smshook", "/usr/bin/smshookctl",
                     UNITS + "/smshook.socket"):
            expect(not os.path.exists(path), path + " left by dpkg -r")
        eq(read(CONF), conf, "configuration after dpkg -r")
        eq(owner(CONF), ("root", "smshook", 0o640))
        eq(spool_snapshot(), spool, "spool after dpkg -r")
        pwd.getpwnam("smshook")
        expect(os.path.exists(LIB + "/smshook.db"), "database removed")
        # cron.d is a conffile, kept: its lines now do nothing, quietly
        expect(os.path.exists(CRON))
        cron_quiet(run_cron())
        # Apache's snippet is disabled with the package, lighttpd's stays
        expect(not os.path.lexists(APACHE_LINK), "Apache snippet enabled")
        expect(os.path.exists(os.path.join(LIGHTY_ENABLED,
                                           "50-smshook.conf")))

    def install_after_remove(self):
        """Installed again: everything as it was, Apache's snippet too,
        and (under systemd) the socket the removal stopped started again
        if it is enabled; the stubs say every unit is."""
        conf = read(CONF)
        spool = spool_snapshot()
        calls = under_systemd(["apt-get", "install", "-y", "-q",
                               "--no-install-recommends",
                               self.deb(self.deb_version)], self.tmp)
        expect("systemctl --quiet is-enabled smshook.socket" in calls and
               "deb-systemd-invoke start smshook.socket" in calls, calls)
        eq(installed_version(), self.deb_version)
        eq(read(CONF), conf)
        eq(spool_snapshot(), spool)
        self.check_layout(enabled=True)
        dpkg("-r", PKG)
        eq(package_state(), "config-files")

    def purge(self):
        spool = spool_snapshot()
        dpkg("-P", PKG)
        eq(package_state(), None)
        for path in ("/etc/smshook", CRON, APACHE_AVAIL, LIGHTY_AVAIL,
                     NGINX_SNIPPET, APACHE_LINK):
            expect(not os.path.lexists(path), path + " left by dpkg -P")
        expect(not os.path.lexists(os.path.join(LIGHTY_ENABLED,
                                                "50-smshook.conf")),
               "lighttpd link left by dpkg -P")
        # never the data, nor the user and group who own it: their IDs
        # must not go to the next system user made
        pwd.getpwnam("smshook")
        grp.getgrnam("smshook")
        eq(spool_snapshot(), spool, "spool after dpkg -P")
        eq(owner(SPOOL)[:2], ("smshook", "smshook"))
        expect(os.path.exists(LIB + "/smshook.db"), "database removed")

    def install_after_purge(self):
        """A new install takes up the kept spool and user; after an
        earlier version's purge, which removed the user, it gives the
        spool to the new user smshook."""
        spool = spool_snapshot()
        run(["deluser", "--system", "--quiet", "smshook"])
        apt_install(self.deb(self.deb_version))
        self.check_layout()
        eq(spool_snapshot(), spool)
        for name in os.listdir(SPOOL) + ["."]:
            eq(owner(os.path.join(SPOOL, name))[:2], ("smshook", "smshook"),
               name)
        eq(owner(LIB + "/smshook.db")[:2], ("smshook", "smshook"))
        dpkg("-P", PKG)
        eq(package_state(), None)

# ---------------------------------------------------------------- machine


class Machine:
    """What the test changes on the machine, recorded and put back."""

    def __init__(self):
        self.policy = not os.path.exists(POLICY)
        self.enabled = {s: self.is_enabled(s) for s in SERVICES}
        self.apache_confs = set(os.listdir("/etc/apache2/conf-enabled"))
        self.lighty = set(os.listdir(LIGHTY_ENABLED))
        self.apache_state = apache_state()
        self.apache_dirs = apache_dirs()

    @staticmethod
    def is_enabled(service):
        if not shutil.which("systemctl"):
            return "unknown"
        return run(["systemctl", "is-enabled", service],
                   check=False).stdout.strip()

    def prepare(self):
        # the package must not start anything while the test installs it
        if self.policy:
            with open(POLICY, "w") as f:
                f.write("#!/bin/sh\nexit 101\n")
            os.chmod(POLICY, 0o755)

    def restore(self, suite):
        for s in suite.servers:
            s.stop()
        suite.receiver.cleanup()
        if package_state() is not None:
            run(["dpkg", "-P", PKG], check=False, env=apt_env())
        for path in (SPOOL, LIB):
            shutil.rmtree(path, ignore_errors=True)
        # a purge keeps them, with the data, which is gone now
        if user_exists("smshook"):
            run(["deluser", "--system", "--quiet", "smshook"], check=False)
        if group_exists("smshook"):
            run(["delgroup", "--system", "--quiet", "smshook"], check=False)
        for name in set(os.listdir("/etc/apache2/conf-enabled")) - \
                self.apache_confs:
            os.unlink(os.path.join("/etc/apache2/conf-enabled", name))
        for name in set(os.listdir(LIGHTY_ENABLED)) - self.lighty:
            os.unlink(os.path.join(LIGHTY_ENABLED, name))
        # a2enconf/a2disconf make their record directories on first use
        for d in sorted(set(apache_dirs()) - set(self.apache_dirs)):
            try:
                os.rmdir(os.path.join(APACHE_STATE, d))
            except OSError:
                pass
        for s, state in self.enabled.items():
            if self.is_enabled(s) != state and state in ("enabled",
                                                         "disabled"):
                run(["systemctl", "enable" if state == "enabled"
                     else "disable", s], check=False)
        if self.policy:
            os.unlink(POLICY)

    def unchanged(self):
        eq({s: self.is_enabled(s) for s in SERVICES}, self.enabled,
           "services enabled")
        eq(set(os.listdir("/etc/apache2/conf-enabled")), self.apache_confs)
        eq(set(os.listdir(LIGHTY_ENABLED)), self.lighty)
        eq(apache_state(), self.apache_state, "Apache's state of smshook")
        eq(apache_dirs(), self.apache_dirs, "Apache's record directories")
        for path in (SPOOL, LIB, "/etc/smshook", "/run/smshook"):
            expect(not os.path.exists(path), path + " left behind")
        expect(not user_exists("smshook") and not group_exists("smshook"),
               "user or group smshook left behind")
        expect(os.path.exists(POLICY) != self.policy, "policy-rc.d")


APACHE_STATE = "/var/lib/apache2/conf"


def user_exists(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def group_exists(name):
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def apache_dirs():
    if not os.path.isdir(APACHE_STATE):
        return []
    return sorted(os.listdir(APACHE_STATE))


def apache_state():
    """Apache's records of who enabled or disabled conf smshook."""
    return [d for d in apache_dirs()
            if os.path.exists(os.path.join(APACHE_STATE, d, "smshook"))]


def machine_lock(timeout=600):
    """One test_deb at a time on a machine: it installs the package."""
    import fcntl
    f = open("/run/lock/smshook-test-deb.lock"
             if os.path.isdir("/run/lock") else "/tmp/smshook-test-deb.lock",
             "w")
    deadline = time.time() + timeout
    while True:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return f
        except BlockingIOError:
            if time.time() > deadline:
                raise AssertionError("another test_deb holds the lock")
            time.sleep(1)


def preconditions():
    """None when the test may run, else why not."""
    if os.getuid() != 0:
        return "needs root (it installs the package)"
    if os.environ.get("SMSHOOK_VALGRIND") or os.environ.get("ASAN_OPTIONS"):
        return "under AddressSanitizer or valgrind: the package is built " \
               "by Debian's tools, not from this instrumented build; the " \
               "plain run tests it"
    return None


def clean_machine():
    expect(package_state() is None,
           "smshook is installed here: test_deb needs a machine without it")
    for path in (SPOOL, LIB, "/etc/smshook", "/run/smshook"):
        expect(not os.path.exists(path), path + " exists already")
    for db in (pwd.getpwnam, grp.getgrnam):
        try:
            db("smshook")
        except KeyError:
            continue
        raise AssertionError("a user or group smshook exists already")


def run_steps(r, steps, chain=True, ran=True):
    """Each step (name, fn[, fatal]) in turn; with chain, once a fatal one
    (all but those marked False) fails, the rest are failed as not run.
    Returns whether the fatal steps passed."""
    for name, fn, *fatal in steps:
        if not ran:
            r.check(name, _not_run)
            continue
        before = r.failed
        r.check(name, fn)
        if r.failed != before:
            if chain and fatal != [False]:
                ran = False
    return ran


def _terminated(signum, frame):
    raise SystemExit("test_deb: terminated by signal %d" % signum)


def _not_run():
    raise AssertionError("not run: an earlier step failed")


def main():
    r = t.Runner("test_deb")
    why = preconditions()
    if why is not None:
        print("SKIP test_deb: " + why)	# a failure unless instrumented
        sys.exit(r.finish())
    lock = machine_lock()  # noqa: F841 - held until exit
    r.check("machine without smshook", clean_machine)
    if r.failed:
        sys.exit(r.finish())
    # stopped from outside: still purge and put the machine back
    signal.signal(signal.SIGTERM, _terminated)
    started = time.time()
    machine = Machine()
    tmp = t.tmpdir("smshook-deb-")
    try:
        suite = Suite(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    steps = [
        ("packaged units = conf-examples' with the packaged paths",
         suite.units_match_examples, False),
        ("packaged smshook.conf = conf-examples' without key and database",
         suite.conf_matches_example, False),
        ("make deb: dpkg-buildpackage in a copy of the tree",
         suite.build_deb),
        ("lintian: no error, no warning", suite.lintian),
        ("package: files, conffiles, no spool", suite.package_contents),
        ("an older build (make deb DEB_VERSION=...)", suite.build_old),
        ("apt-get install: user, modes, nothing enabled or started",
         suite.install_old),
        ("no key yet: refused, 500, cron idle", suite.no_key_yet),
        ("no key yet: both say \"no app_key set\"", suite.no_key_message,
         False),
        ("key set: smshook -n and smshookctl check pass", suite.set_key),
        ("upgrade: configuration and spool kept", suite.upgrade),
        ("a2enconf smshook without mod_proxy_fcgi: configtest says so",
         suite.apache_needs_proxy_fcgi),
        ("receiver socket, Apache, lighttpd, nginx started",
         suite.start_servers),
    ]
    later = [
        ("cron lines: import, compress, purge as smshook; metrics",
         suite.cron_with_database),
        ("reinstall: configuration, spool, database kept; stores",
         suite.reinstall),
        ("dpkg -r: programs gone; config, user, spool kept; cron idle",
         suite.remove),
        ("installed again after dpkg -r: as it was, Apache snippet too",
         suite.install_after_remove),
        ("dpkg -P: config, user, snippets gone; spool kept", suite.purge),
        ("install after purge: the kept spool is smshook's again",
         suite.install_after_purge),
    ]
    try:
        machine.prepare()
        if run_steps(r, steps):
            names = ["Apache (a2enconf smshook)",
                     "lighttpd (lighty-enable-mod smshook)",
                     "nginx (include snippets/smshook.conf)"]
            run_steps(r, [("signed event through %s: stored, smshook's, "
                           "0640" % name, lambda s=server:
                           suite.send_through(s))
                          for name, server in zip(names, suite.servers)],
                      chain=False)
            for s in suite.servers:
                if "error" in s.log().lower():
                    print("  %s log:\n%s" % (s.kind, s.log()))
            suite.stop_servers()
            if suite.receiver.journal():
                print("  receiver log:\n" + suite.receiver.journal())
            run_steps(r, later)
        else:
            run_steps(r, later, ran=False)
    finally:
        machine.restore(suite)
        shutil.rmtree(tmp, ignore_errors=True)
    r.check("machine as it was: services, web server links, no data left",
            machine.unchanged)
    print("  test_deb: %.1f s" % (time.time() - started))
    sys.exit(r.finish())


if __name__ == "__main__":
    main()
