"""Real web servers for the e2e suites: Apache (mod_fcgid, mod_cgi with
.htaccess) and nginx (spawn-fcgi, systemd socket activation), each run
from conf-examples/ rendered with only its placeholders substituted.

Every server runs from its own temp dir, on 127.0.0.1 and a free port,
with www-data as the worker user when the suite runs as root."""
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time

import smshooktest as t

EXAMPLES = os.path.join(t.TOP, "conf-examples")
WORKER = "www-data"
APACHE_MODULES = "/usr/lib/apache2/modules"
PLACEHOLDER = re.compile(r"@[A-Z_]+@")


def render(name, values, text=None):
    """conf-examples/name with @KEY@ replaced by values[KEY], nothing else
    changed; an unknown placeholder left outside comments is an error."""
    if text is None:
        with open(os.path.join(EXAMPLES, name)) as f:
            text = f.read()
    for k, v in values.items():
        text = text.replace("@%s@" % k, str(v))
    for line in text.splitlines():
        if not line.lstrip().startswith("#") and PLACEHOLDER.search(line):
            raise RuntimeError("%s: unsubstituted placeholder: %s"
                               % (name, line))
    return text


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def worker_ids():
    """(uid, gid, name) the servers' workers run as."""
    if os.getuid() == 0:
        pw = pwd.getpwnam(WORKER)
    else:
        pw = pwd.getpwuid(os.getuid())
    return pw.pw_uid, pw.pw_gid, pw.pw_name


def give(path, owner=True, group=True):
    """chown path to the worker user and/or group (root only)."""
    if os.getuid() != 0:
        return
    uid, gid, _ = worker_ids()
    os.chown(path, uid if owner else -1, gid if group else -1)


class Site:
    """A temp dir with the layout the README recommends: smshook.conf
    root:www-data 0640, spool www-data 0750, a document root."""

    def __init__(self, prefix, conf_extra=""):
        self.dir = t.tmpdir(prefix)
        self.spool = os.path.join(self.dir, "spool")
        self.docroot = os.path.join(self.dir, "htdocs")
        self.rundir = os.path.join(self.dir, "run")
        os.mkdir(self.spool, 0o750)
        os.mkdir(self.docroot, 0o755)
        os.mkdir(self.rundir, 0o755)
        give(self.spool)
        self.conf = t.write_conf(self.dir, extra=conf_extra)
        os.chmod(self.conf, 0o640)
        give(self.conf, owner=False)
        # the worker user may not traverse the checkout (CI clones
        # anywhere): serve a copy of the binary from the temp dir
        self.sbindir = os.path.join(self.dir, "sbin")
        os.mkdir(self.sbindir, 0o755)
        shutil.copy2(t.SMSHOOK, os.path.join(self.sbindir, "smshook"))
        self.port = t.free_port()
        self.user = worker_ids()[2]
        self.errorlog = os.path.join(self.dir, "site-error.log")

    def values(self, **more):
        v = {"ADDR": "127.0.0.1", "PORT": self.port, "DOCROOT": self.docroot,
             "SBINDIR": self.sbindir, "CONF": self.conf, "SPOOL": self.spool,
             "RUNDIR": self.rundir, "USER": self.user, "WEBUSER": self.user,
             "SERVERNAME": "127.0.0.1", "ERRORLOG": self.errorlog}
        v.update(more)
        return v

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def read_log(path):
    if not os.path.exists(path):
        return ""
    with open(path, errors="replace") as f:
        return f.read()


stop_proc = t.stop_proc


def kill_pids(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def all_named(name, needle):
    """PIDs of processes called name whose command line or environment
    holds needle (a temp dir path: only this test's processes)."""
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                cmd = f.read()
            with open("/proc/%s/environ" % p, "rb") as f:
                cmd += b" " + f.read()
            cmd = cmd.replace(b"\0", b" ").decode(errors="replace")
            with open("/proc/%s/comm" % p) as f:
                comm = f.read().strip()
        except OSError:
            continue
        if comm == name and needle in cmd:
            pids.append(int(p))
    return pids

# ---------------------------------------------------------------- Apache

APACHE_TOP = """# test harness: the minimum around the rendered example
ServerRoot "{dir}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile "{dir}/apache2.pid"
DefaultRuntimeDir "{dir}/run"
Mutex file:{dir}/run default
ErrorLog "{dir}/error.log"
LogLevel {loglevel}
User {user}
Group {group}
{modules}
TypesConfig /etc/mime.types
{mpm}
<Directory />
	Options None
	AllowOverride None
	Require all denied
</Directory>
AccessFileName .htaccess
<FilesMatch "^\\.ht">
	Require all denied
</FilesMatch>
{extra}
Include "{example}"
{after}
"""


class Apache:
    """apache2 -DFOREGROUND in a temp dir around one rendered example.
    kind "fcgid": conf-examples/apache-mod_fcgid.conf as the vhost;
    kind "cgi": the vhost from conf-examples/apache-cgi.htaccess's
    comments, and that .htaccess in the document root, under mpm_prefork
    and mod_cgi (pipes); kind "cgid": the same under mpm_event and
    mod_cgid (one socket for stdin and stdout), what a2enmod cgi gives on
    Debian's default MPM. extra, after:
    lines for the top-level config before and after the example (or
    functions of the Site that return them); values: placeholders
    rendered other than Site.values() has them (SERVERNAME=...)."""

    def __init__(self, kind, conf_extra="", after="", extra="", **values):
        self.kind = kind
        self.site = Site("smshook-apache-%s-" % kind, conf_extra)
        s = self.site
        self.dir, self.spool, self.port = s.dir, s.spool, s.port
        self.conf = s.conf
        self.docroot = s.docroot
        mods = ["authz_core", "mime", "alias", "dir", "env"]
        if kind == "fcgid":
            mods += ["mpm_event", "fcgid"]
            mpm = ("StartServers 2\nFcgidIPCDir \"%s/fcgid\"\n"
                   "FcgidProcessTableFile \"%s/fcgid/shm\"" % (s.dir, s.dir))
            vhost = render("apache-mod_fcgid.conf", s.values(**values))
            self.url = "http://127.0.0.1:%d/smshook" % s.port
        elif kind in ("cgi", "cgid"):
            if kind == "cgi":
                mods += ["mpm_prefork", "cgi"]
                mpm = "StartServers 2"
            else:
                mods += ["mpm_event", "cgid"]
                mpm = "StartServers 2\nScriptSock \"%s/cgisock\"" % s.dir
            vhost = render("apache-cgi.htaccess", s.values(**values),
                           self.htaccess_vhost())
            write(os.path.join(s.docroot, ".htaccess"),
                  render("apache-cgi.htaccess", s.values()))
            shutil.copy(t.SMSHOOK, os.path.join(s.docroot, "smshook.cgi"))
            os.chmod(os.path.join(s.docroot, "smshook.cgi"), 0o755)
            self.url = "http://127.0.0.1:%d/smshook.cgi" % s.port
        else:
            raise ValueError(kind)
        self.example = write(os.path.join(s.dir, "example.conf"), vhost)
        uid, gid, name = worker_ids()
        self.httpd_conf = write(os.path.join(s.dir, "httpd.conf"),
                                APACHE_TOP.format(
            dir=s.dir, port=s.port, user=name,
            group=name if os.getuid() == 0 else "#%d" % gid,
            loglevel="warn fcgid:info" if kind == "fcgid" else "warn",
            modules="\n".join(
                "LoadModule %s_module %s/mod_%s.so" % (m, APACHE_MODULES, m)
                for m in mods),
            mpm=mpm, extra=extra(s) if callable(extra) else extra,
            example=self.example,
            after=after(s) if callable(after) else after))
        self.proc = None

    @staticmethod
    def htaccess_vhost():
        """The vhost documented in the .htaccess header, uncommented."""
        with open(os.path.join(EXAMPLES, "apache-cgi.htaccess")) as f:
            text = f.read()
        m = re.search(r"^# --- vhost ---\n(.*?)^# --- end ---$", text,
                      re.M | re.S)
        if m is None:
            raise RuntimeError("apache-cgi.htaccess: no vhost block")
        return "".join(l[2:] + "\n" for l in m.group(1).splitlines())

    def apache(self, *args, check=True):
        return subprocess.run(["apache2", "-f", self.httpd_conf] + list(args),
                              capture_output=True, text=True, timeout=30,
                              check=check)

    def start(self):
        r = self.apache("-t", check=False)
        if r.returncode != 0:
            raise RuntimeError("apache2 -t: " + r.stderr)
        self.proc = subprocess.Popen(
            ["apache2", "-f", self.httpd_conf, "-DFOREGROUND"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True)
        try:
            t.wait_port(self.port)
        except RuntimeError:
            self.stop()
            raise RuntimeError("apache2 did not start: " + self.log())
        return self

    def graceful(self):
        """apache2 -k graceful with this config (signals the PidFile)."""
        self.apache("-k", "graceful")

    def log(self):
        """The server's main error log, then the vhost's (ErrorLog)."""
        return self.main_log() + self.site_log()

    def main_log(self):
        return read_log(os.path.join(self.dir, "error.log"))

    def site_log(self):
        return read_log(self.site.errorlog)

    def workers(self):
        return all_named("smshook", self.dir) + all_named("smshook.cgi",
                                                          self.dir)


    def stop(self):
        stop_proc(self.proc)
        # mod_fcgid's processes go with Apache; make sure of it
        kill_pids(self.workers())
        kill_pids(all_named("apache2", self.httpd_conf))

    def cleanup(self):
        self.stop()
        self.site.cleanup()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

# ---------------------------------------------------------------- checks

KINDS = ["requested", "delivered", "suppressed", "failed", "template"]


def json_answer(resp, status, body):
    """resp is (status, headers, body): check all three."""
    t.eq(resp[0], status, "status (body %r)" % resp[2][:200])
    t.eq(resp[1].get("content-type", "").split(";")[0].strip(),
         "application/json", "Content-Type of a %d answer" % resp[0])
    if body is not None:
        import json
        t.eq(json.loads(resp[2]), body)


def check_basic(url, spool):
    """On a fresh spool: one signed event of each type as JSON and as a
    form, a bad signature, a GET, an empty POST; the spool then holds
    exactly the accepted events, payloads equal field by field."""
    t.eq(t.spool_lines(spool), [], "spool not fresh")
    sent = []
    for kind in KINDS:
        for form in (False, True):
            ev = t.event(kind)
            r = t.post(url, ev, form=form)
            json_answer(r, 200, {"status": "success"})
            sent.append((ev, form))
    bad = t.event("delivered", key="not the key")
    json_answer(t.post(url, bad), 401, {"error": "Invalid signature"})
    json_answer(t.post(url, t.event("failed", key="x"), form=True), 401,
                {"error": "Invalid signature"})
    json_answer(t.http(url, "GET", ctype=None), 200, {"status": "ok"})
    json_answer(t.http(url, "POST", body=b"", ctype=t.JSON), 200,
                {"status": "ok"})
    json_answer(t.http(url, "POST", body=b"", ctype=None), 200,
                {"status": "ok"})
    lines = [l for _, l in t.spool_lines(spool)]
    t.eq(len(lines), len(sent), "spool lines")
    for (ev, form), line in zip(sent, lines):
        t.eq(line["encoding"], "form" if form else "json")
        t.eq(line["verified"], True)
        t.eq(line["remote_addr"], "127.0.0.1")
        want = t.form_payload(ev) if form else ev
        t.eq(sorted(line["payload"]), sorted(want), "payload fields")
        for k in want:
            t.eq(line["payload"][k], want[k], "payload field " + k)


def check_body_limits(url, spool, too_big=None):
    """Default max_body (1 MiB): an event just under it is stored, just
    over it smshook itself answers 413 in JSON (the server lets it
    through); too_big = (size, status): a body of size bytes, above the
    server's own limit, is refused with status (the server may close the
    connection instead) and nothing is stored."""
    ev = t.event("delivered")
    room = 1048576 - len(t.json_body(ev)) - len(', "pad": ""') - 100
    ev = t.event("delivered", pad="x" * room)
    body = t.json_body(ev)
    t.expect(1048476 <= len(body) <= 1048576, len(body))
    before = len(t.spool_lines(spool))
    json_answer(t.http(url, body=body), 200, {"status": "success"})
    lines = t.spool_lines(spool)
    t.eq(len(lines), before + 1)
    t.eq(lines[-1][1]["payload"], ev, "1 MiB payload")
    over = t.event("delivered", pad="x" * (room + 200))
    body = t.json_body(over)
    t.expect(len(body) > 1048576, len(body))
    # smshook's own answer, not the web server's
    json_answer(t.http(url, body=body), 413, {"error": "body too large"})
    if too_big is not None:
        size, status = too_big
        big = t.event("delivered", pad="x" * size)
        try:
            r = t.http(url, body=t.json_body(big))
            t.eq(r[0], status, "(a %d-byte body)" % size)
        except OSError:
            pass            # the server may close the connection
    t.eq(len(t.spool_lines(spool)), before + 1, "nothing else stored")


def check_chunked(url, spool, too_big, max_body=1048576):
    """A signed event sent with Transfer-Encoding: chunked, no
    Content-Length, in several chunks: answered 200 success and stored
    once, exactly as sent. A chunked body just above max_body: smshook's
    own 413, nothing stored. too_big = (size, status, body): a chunked
    body of size bytes, above the server's own limit, gets status with
    body as JSON, or, with body None, the server's own page (not JSON);
    nothing stored."""
    before = len(t.spool_lines(spool))
    ev = t.event("delivered")
    json_answer(t.http_chunked(url, t.json_body(ev)), 200,
                {"status": "success"})
    lines = t.spool_lines(spool)
    t.eq(len(lines), before + 1, "lines stored")
    line = lines[-1][1]
    t.eq((line["encoding"], line["verified"]), ("json", True))
    t.eq(line["payload"], ev, "payload sent chunked")
    over = t.json_body(t.event("delivered", pad="x" * max_body))
    t.expect(max_body < len(over) < max_body + 1024, len(over))
    json_answer(t.http_chunked(url, over, pieces=16), 413,
                {"error": "body too large"})
    size, status, body = too_big
    r = t.http_chunked(url, t.json_body(t.event("delivered",
                                                pad="x" * size)), pieces=32)
    if body is not None:
        json_answer(r, status, body)
    else:
        t.eq(r[0], status, "status (body %r)" % r[2][:200])
        t.expect(not r[1].get("content-type", "").startswith(
            "application/json"), "smshook's own answer: %r" % r[2][:200])
    t.eq(len(t.spool_lines(spool)), before + 1, "nothing else stored")


def plant_secrets(docroot, conf, spool):
    """Copies of the config and of spool files under docroot, as an
    operator might misplace them; returns [(url path, secret bytes)]."""
    with open(conf, "rb") as f:
        conf_bytes = f.read()
    day = None
    for name in sorted(os.listdir(spool)):
        if name.endswith(".jsonl"):
            day = name
    t.expect(day is not None, "no spool file to plant")
    with open(os.path.join(spool, day), "rb") as f:
        day_bytes = f.read()
    token = day_bytes.split(b'"token":"')[1][:50]
    sub = os.path.join(docroot, "spool")
    os.makedirs(sub, exist_ok=True)
    planted = []
    for rel, data, secret in [
            ("smshook.conf", conf_bytes, t.KEY.encode()),
            ("smshook.conf.example", conf_bytes, t.KEY.encode()),
            ("spool/" + day, day_bytes, token),
            ("spool/" + day + ".gz", day_bytes, token),
            ("spool/.replay", day_bytes, token),
            (".replay", day_bytes, token),
            ("spool/smshook.db", day_bytes, token)]:
        with open(os.path.join(docroot, rel), "wb") as f:
            f.write(data)
        planted.append(("/" + rel, secret))
    planted.append(("/spool/", token))
    planted.append(("/spool", token))
    with open(os.path.join(docroot, "index.html"), "w") as f:
        f.write("public page\n")
    return planted


def check_unreachable(base, planted):
    """Nothing planted is served: 403 or 404, never the content; a
    plain page next to it is (so the refusals come from the rules)."""
    r = t.http(base + "/index.html", "GET", ctype=None)
    t.eq(r[0], 200, "control page")
    t.eq(r[2], b"public page\n")
    for path, secret in planted:
        r = t.http(base + path, "GET", ctype=None)
        t.expect(r[0] in (301, 403, 404), "%s answered %d" % (path, r[0]))
        t.expect(secret not in r[2], "%s leaked its content" % path)
        if r[0] == 301:             # /spool -> /spool/, refused above
            t.expect(r[1].get("location", "").endswith("/spool/"), path)

# ---------------------------------------------------------------- nginx

NGINX_TOP = """# test harness: the minimum around the rendered server block
{user}
worker_processes 2;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{
	worker_connections 256;
}}
http {{
	access_log {dir}/access.log;
	client_body_temp_path {dir}/tmp/body;
	fastcgi_temp_path {dir}/tmp/fastcgi;
	proxy_temp_path {dir}/tmp/proxy;
	scgi_temp_path {dir}/tmp/scgi;
	uwsgi_temp_path {dir}/tmp/uwsgi;
	types {{
		text/html html;
	}}
	default_type application/octet-stream;
{default_site}	include {example};
}}
"""

# As Debian's sites-enabled/default: the default server on the port, which
# gets every request whose Host no server_name matches.
NGINX_DEFAULT_SITE = """	server {{
		listen 127.0.0.1:{port} default_server;
		server_name _;
		return 404 "default site\n";
	}}
"""


def wait_unix(path, timeout=10.0):
    """Readiness check: wait until something accepts on unix socket path."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            return True
        except OSError:
            time.sleep(0.02)
        finally:
            s.close()
    raise RuntimeError("nothing listening on " + path)


def wait_gone(pids, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        alive = [p for p in pids if os.path.exists("/proc/%d" % p) and
                 not open("/proc/%d/stat" % p).read().split(") ")[1]
                 .startswith("Z")]
        if not alive:
            return []
        time.sleep(0.02)
    return alive


class SpawnFcgi:
    """conf-examples/spawn-fcgi.sh rendered and run: start / stop."""

    def __init__(self, site):
        self.site = site
        self.socket = os.path.join(site.rundir, "smshook", "smshook.sock")
        self.pidfile = self.socket[:-len(".sock")] + ".pid"
        self.logfile = os.path.join(site.dir, "smshook.log")
        self.script = write(os.path.join(site.dir, "spawn-fcgi.sh"),
                            render("spawn-fcgi.sh", site.values(
                                SOCKET=self.socket, LOGFILE=self.logfile)),
                            0o755)
        self.started = []

    def run(self, action):
        return subprocess.run(["sh", self.script, action],
                              capture_output=True, text=True, timeout=30)

    def pids(self):
        try:
            with open(self.pidfile) as f:
                return [int(p) for p in f.read().split()]
        except OSError:
            return []

    def start(self):
        r = self.run("start")
        if r.returncode != 0:
            raise RuntimeError("spawn-fcgi.sh start: " + r.stderr)
        self.started += self.pids()
        wait_unix(self.socket)
        return self

    def stop(self):
        pids = self.pids()
        r = self.run("stop")
        t.eq(r.returncode, 0, "spawn-fcgi.sh stop: " + r.stderr)
        t.eq(wait_gone(pids), [], "workers still running after stop")

    def kill(self):
        kill_pids(self.started + all_named("smshook", self.site.dir))

    def log(self):
        return read_log(self.logfile)


def unit(text):
    """A systemd unit file as {section: {key: value}} (last one wins)."""
    out, sec = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            sec = out.setdefault(line[1:-1], {})
        else:
            k, _, v = line.partition("=")
            sec[k.strip()] = v.strip()
    return out


class SystemdSocket:
    """conf-examples/smshook.socket + smshook.service rendered, checked
    with systemd-analyze verify, and run the way systemd runs them (no
    systemd here): the socket made as [Socket] says, then ExecStart as
    User/Group with UMask, the socket as fd 3, LISTEN_FDS=1, LISTEN_PID,
    and stderr (.log()) as the journal, with JOURNAL_STREAM."""

    def __init__(self, site):
        self.site = site
        self.socket = os.path.join(site.rundir, "smshook", "smshook.sock")
        v = site.values(SOCKET=self.socket)
        self.udir = os.path.join(site.dir, "units")
        os.mkdir(self.udir)
        self.units = {}
        for name in ("smshook.socket", "smshook.service"):
            text = render(name, v)
            write(os.path.join(self.udir, name), text)
            self.units[name] = unit(text)
        self.proc = None
        self.lsock = None
        self.errlog = os.path.join(site.dir, "journal.log")

    def verify(self):
        r = subprocess.run(["systemd-analyze", "verify", "--man=no"] +
                           [os.path.join(self.udir, n) for n in
                            ("smshook.socket", "smshook.service")],
                           capture_output=True, text=True, timeout=60)
        t.eq((r.returncode, r.stderr.strip()), (0, ""),
             "systemd-analyze verify")

    def start(self):
        self.listen()
        self.start_service()
        wait_unix(self.socket)
        return self

    def listen(self):
        """What systemd does for smshook.socket."""
        so = self.units["smshook.socket"]["Socket"]
        path = so["ListenStream"]
        os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
        s = socket.socket(socket.AF_UNIX)
        s.bind(path)
        s.listen(128)
        if os.getuid() == 0:
            os.chown(path, pwd.getpwnam(so["SocketUser"]).pw_uid,
                     _gid(so["SocketGroup"]))
        os.chmod(path, int(so["SocketMode"], 8))
        self.lsock = s

    def start_service(self):
        """What systemd does for smshook.service on the first connection."""
        sv = self.units["smshook.service"]["Service"]
        s = self.lsock
        argv = shlex.split(sv["ExecStart"])
        fd = s.fileno()
        kw = {}
        if os.getuid() == 0:
            kw = {"user": sv["User"], "group": sv["Group"],
                  "extra_groups": []}
        if getattr(self, "err", None) is not None:
            self.err.close()
        self.err = open(self.errlog, "ab")
        # the system's python: the worker user may not reach a private one
        py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") \
            else sys.executable
        self.proc = subprocess.Popen([py, "-c", SD_SHIM,
                                      str(fd)] + argv,
                                     pass_fds=(fd,), stdin=subprocess.DEVNULL,
                                     stdout=self.err, stderr=self.err,
                                     umask=int(sv["UMask"], 8), **kw)

    def pids(self):
        return [self.proc.pid] if self.proc else []

    def stop(self):
        stop_proc(self.proc)
        if self.proc is not None:
            t.eq(self.proc.returncode, 0, "exit status after SIGTERM")

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.lsock is not None:
            self.lsock.close()
            self.lsock = None
        if getattr(self, "err", None) is not None:
            self.err.close()

    def log(self):
        return read_log(self.errlog)


# fd 3 = the listening socket, LISTEN_FDS=1, LISTEN_PID=own pid, and
# stderr (the log file standing in for the journal) named in
# JOURNAL_STREAM as systemd names the journal's stream; exec.
SD_SHIM = """import os, sys
fd = int(sys.argv[1])
if fd != 3:
    os.dup2(fd, 3)
    os.close(fd)
os.environ["LISTEN_FDS"] = "1"
os.environ["LISTEN_PID"] = str(os.getpid())
st = os.fstat(2)
os.environ["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
os.execv(sys.argv[2], sys.argv[2:])
"""


def _gid(name):
    import grp
    return grp.getgrnam(name).gr_gid


class Nginx:
    """nginx -g 'daemon off;' around conf-examples/nginx.conf, with its
    FastCGI backend ("spawn": spawn-fcgi.sh, "systemd": the units)."""

    def __init__(self, backend, conf_extra=""):
        self.site = Site("smshook-nginx-%s-" % backend, conf_extra)
        s = self.site
        self.dir, self.spool, self.port = s.dir, s.spool, s.port
        self.conf, self.docroot = s.conf, s.docroot
        self.backend = (SpawnFcgi if backend == "spawn" else
                        SystemdSocket)(s)
        os.mkdir(os.path.join(s.dir, "tmp"))
        self.example = write(os.path.join(s.dir, "server.conf"), render(
            "nginx.conf", s.values(SOCKET=self.backend.socket)))
        self.nginx_conf = write(os.path.join(s.dir, "nginx.conf"),
                                NGINX_TOP.format(
            dir=s.dir, example=self.example,
            default_site=NGINX_DEFAULT_SITE.format(port=s.port),
            user="user %s;" % WORKER if os.getuid() == 0 else ""))
        self.url = "http://127.0.0.1:%d/smshook" % s.port
        self.proc = None

    def start(self):
        self.backend.start()
        r = subprocess.run(["nginx", "-t", "-p", self.dir, "-c",
                            self.nginx_conf], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("nginx -t: " + r.stderr)
        self.proc = subprocess.Popen(
            ["nginx", "-p", self.dir, "-c", self.nginx_conf,
             "-g", "daemon off;"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            t.wait_port(self.port)
        except RuntimeError:
            self.cleanup()
            raise RuntimeError("nginx did not start: " + self.log())
        return self

    def log(self):
        return (read_log(os.path.join(self.dir, "error.log")) +
                self.backend.log())

    def stop(self):
        stop_proc(self.proc, signal.SIGQUIT)
        kill_pids(all_named("nginx", self.nginx_conf))
        self.backend.kill()

    def cleanup(self):
        self.stop()
        self.site.cleanup()


def check_ctl_sign(url, conf, spool):
    """README's "Try it": smshookctl sign's output, posted as is, is
    stored, as JSON and as a form."""
    for form in (False, True):
        p = subprocess.run([t.SMSHOOKCTL, "-c", conf, "sign", "--event",
                            "requested"] + (["--form"] if form else []),
                           capture_output=True, timeout=30)
        t.eq(p.returncode, 0, "smshookctl sign: %r" % p.stderr)
        before = len(t.spool_lines(spool))
        r = t.http(url, body=p.stdout, ctype=t.FORM if form else t.JSON)
        json_answer(r, 200, {"status": "success"})
        lines = t.spool_lines(spool)
        t.eq(len(lines), before + 1)
        t.eq(lines[-1][1]["encoding"], "form" if form else "json")
