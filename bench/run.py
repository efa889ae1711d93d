#!/usr/bin/env python3
"""smshook benchmarks: run by "make bench", see BENCHMARKS.md.

Every figure that has a target is a ratio to a reference measured in the
same run, in interleaved rounds (A B C A B C A B C), and the median of the
per-round ratios is reported: the machine is shared and noisy.

    run.py [--build DIR] [--out DIR] [--only SECTIONS] [--rounds N]
           [--duration S] [--mem-requests N] [--import-lines N]

SECTIONS (comma-separated): sweep, headline, nginx, latency, fsync, cgi,
memory, replay (part of headline), import. Default: all of them but
nginx.
"""
import argparse
import json
import os
import platform
import pwd
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import smshooktest as t  # noqa: E402

WORKER = "www-data"
KEY = t.KEY
# the size of the spool line a bench body makes (584-589 bytes), for
# fsync_loop's lines
LINE_BYTES = 584
CONC = [1, 2, 4, 8, 16, 32]
RESULT_RE = re.compile(r"RESULT (.*)")

ARGS = None
WORK = None
BUILD = None
SMSHOOK = None      # a copy taken at start: others rebuild build/ meanwhile
SMSHOOKCTL = None


def log(*a):
    print(*a, flush=True)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True,
                          **kw).stdout


# ---------------------------------------------------------------- setup

def as_worker():
    """subprocess kwargs to run as the worker user when we are root."""
    if os.getuid() != 0:
        return {}
    return {"user": WORKER, "group": WORKER}


def chown_worker(*paths):
    if os.getuid() != 0:
        return
    pw = pwd.getpwnam(WORKER)
    for p in paths:
        os.chown(p, pw.pw_uid, pw.pw_gid)


def fresh_dir(name):
    d = os.path.join(WORK, name)
    if os.path.exists(d):
        shutil.rmtree(d)
    os.mkdir(d, 0o750)
    chown_worker(d)
    return d


def machine():
    def first(path, key):
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
        return "?"
    df = sh(["df", "-T", WORK]).splitlines()[-1].split()
    mnt = sh(["findmnt", "-n", "-o", "SOURCE,FSTYPE,OPTIONS", "-T", WORK])
    versions = {}
    for name, cmd in (("lighttpd", ["lighttpd", "-v"]),
                      ("wrk", ["wrk", "-v"]),
                      ("php-cgi", ["php-cgi", "-v"]),
                      ("node", ["node", "--version"]),
                      ("sqlite3", ["python3", "-c",
                                   "import sqlite3;print(sqlite3.sqlite_version)"]),
                      ("psql", ["psql", "--version"])):
        p = subprocess.run(cmd, capture_output=True, text=True)
        versions[name] = ((p.stdout or p.stderr).splitlines() or ["?"])[0]
    return {
        "nproc": os.cpu_count(),
        "cpu": first("/proc/cpuinfo", "model name"),
        "kernel": platform.release(),
        "memory": first("/proc/meminfo", "MemTotal"),
        "spool_fs": "%s %s (%s)" % (df[0], df[1], mnt.strip()),
        "spool_dir_parent": WORK,
        "loadavg_start": open("/proc/loadavg").read().strip(),
        "versions": versions,
    }


def setup(build, prefix):
    """A fresh work dir (WORK, removed by the caller) holding copies of
    the programs under test: others may rebuild build/ meanwhile."""
    global WORK, BUILD, SMSHOOK, SMSHOOKCTL
    BUILD = os.path.abspath(build)
    WORK = tempfile.mkdtemp(prefix=prefix)
    os.chmod(WORK, 0o755)
    bindir = os.path.join(WORK, "bin")
    try:
        os.mkdir(bindir, 0o755)
        for name in ("smshook", "smshookctl"):
            shutil.copy2(os.path.join(BUILD, name), bindir)
    except OSError:
        shutil.rmtree(WORK, ignore_errors=True)
        raise
    SMSHOOK = os.path.join(bindir, "smshook")
    SMSHOOKCTL = os.path.join(bindir, "smshookctl")


def gen_bodies(n, name):
    path = os.path.join(WORK, name)
    subprocess.run([sys.executable, os.path.join(HERE, "gen_bodies.py"),
                    str(n), path], check=True)
    return path


def smshook_conf(d, fsync="no", replay=None, extra=""):
    lines = ["app_key = %s" % KEY, "spool_dir = %s" % os.path.join(d, "spool"),
             "fsync = %s" % fsync, "log_level = warn"]
    if replay is not None:
        lines.append("replay_window = %d" % replay)
    if extra:
        lines.append(extra)
    path = os.path.join(d, "smshook.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(path, 0o640)
    chown_worker(path)
    return path


# ---------------------------------------------------------------- servers

class Lighttpd:
    """lighttpd on 127.0.0.1:free port, from a temp dir, with one FastCGI
    application spawned by lighttpd itself (bin-path), max-procs procs."""

    def __init__(self, app, procs=2, fsync="no", replay=None, extra="",
                 close_at_once=False, binary=None, sync=False):
        self.app = app
        self.dir = fresh_dir("srv-" + app)
        self.spool = os.path.join(self.dir, "spool")
        os.mkdir(self.spool, 0o750)
        chown_worker(self.spool)
        docroot = os.path.join(self.dir, "htdocs")
        os.mkdir(docroot, 0o755)
        self.port = t.free_port()
        env = {}
        if app == "smshook":
            binpath = os.path.join(self.dir, "smshook")
            shutil.copy2(binary or SMSHOOK, binpath)
            env["SMSHOOK_CONFIG"] = smshook_conf(self.dir, fsync, replay,
                                                 extra)
            path = "/smshook"
        elif app == "hello":
            binpath = os.path.join(self.dir, "hello_fcgi")
            shutil.copy2(os.path.join(BUILD, "bench", "hello_fcgi"), binpath)
            if close_at_once:
                env["HELLO_CLOSE_AT_ONCE"] = "1"
            if sync:
                env["HELLO_SYNC_FILE"] = os.path.join(self.spool,
                                                      "hello.jsonl")
            path = "/hello"
        elif app == "php":
            binpath = shutil.which("php-cgi")
            shutil.copy2(os.path.join(HERE, "receiver.php"),
                         os.path.join(docroot, "hook.php"))
            env = {"PHP_FCGI_CHILDREN": "0",
                   "PHP_FCGI_MAX_REQUESTS": "100000",
                   "SMSHOOK_KEY": KEY, "SMSHOOK_SPOOL": self.spool}
            path = "/hook.php"
        else:
            raise ValueError(app)
        self.url = "http://127.0.0.1:%d%s" % (self.port, path)
        user = WORKER if os.getuid() == 0 else pwd.getpwuid(os.getuid()).pw_name
        envtext = ", ".join('"%s" => "%s"' % kv for kv in env.items())
        self.conf = os.path.join(self.dir, "lighttpd.conf")
        with open(self.conf, "w") as f:
            f.write("""server.modules = ( "mod_fastcgi" )
server.document-root = "%(docroot)s"
server.bind = "127.0.0.1"
server.port = %(port)d
server.username = "%(user)s"
server.groupname = "%(user)s"
server.errorlog = "%(dir)s/error.log"
server.max-request-size = 1100
server.max-keep-alive-requests = 100000
fastcgi.server = ( "%(path)s" => ((
	"bin-path" => "%(bin)s",
	"bin-environment" => ( %(env)s ),
	"socket" => "%(dir)s/fcgi.sock",
	"check-local" => "%(local)s",
	"min-procs" => %(procs)d,
	"max-procs" => %(procs)d,
	"connect-timeout" => 2,
	"read-timeout" => 3,
)) )
""" % {"docroot": docroot, "port": self.port, "user": user,
       "dir": self.dir, "path": path, "bin": binpath, "env": envtext,
       "procs": procs, "local": "enable" if app == "php" else "disable"})
        chown_worker(self.dir)
        self.proc = None

    def start(self):
        with open(os.path.join(self.dir, "stderr.log"), "ab") as err:
            self.proc = subprocess.Popen(["lighttpd", "-D", "-f", self.conf],
                                         stdout=subprocess.DEVNULL,
                                         stderr=err)
        t.wait_port(self.port)
        st, _, body = t.http(self.url, method="GET")
        if st != 200:
            raise RuntimeError("%s: GET answered %d %r" % (self.app, st, body))
        return self

    def workers(self):
        return children(self.proc.pid)

    def front_pids(self):
        return [self.proc.pid]

    def stop(self):
        t.stop_proc(self.proc, timeout=10)
        self.proc = None

    def log(self):
        return server_log(self.dir)


class Node:
    """receiver.js run directly (no web server in front), cluster of procs
    workers; with front="nginx", behind one nginx worker that keeps its
    connections to Node.js open (upstream keepalive), as an operator who
    needs TLS or a shared port 443 runs it."""

    def __init__(self, procs=2, front=None):
        self.app = "node" if front is None else "node-" + front
        self.procs = procs
        self.dir = fresh_dir("srv-" + self.app)
        self.spool = os.path.join(self.dir, "spool")
        os.mkdir(self.spool, 0o750)
        chown_worker(self.spool)
        self.port = t.free_port()
        self.front = None
        port = self.port
        if front == "nginx":
            port = t.free_port()
            self.conf = os.path.join(self.dir, "nginx.conf")
            with open(self.conf, "w") as f:
                f.write(NGINX_PROXY % {"dir": self.dir, "node": self.port,
                                       "port": port, "user": ""})
            self.front_port = port
        self.url = "http://127.0.0.1:%d/hook" % port
        self.proc = None

    def start(self):
        env = dict(os.environ, SMSHOOK_KEY=KEY, SMSHOOK_SPOOL=self.spool)
        with open(os.path.join(self.dir, "stderr.log"), "ab") as err:
            self.proc = subprocess.Popen(
                ["node", os.path.join(HERE, "receiver.js"), str(self.port),
                 str(self.procs)], env=env, stdout=subprocess.DEVNULL,
                stderr=err, **as_worker())
            t.wait_port(self.port)
        if self.app == "node-nginx":
            self.front = start_nginx(self.dir, self.conf, self.front_port)
        return self

    def workers(self):
        return children(self.proc.pid)

    def front_pids(self):
        """nginx's master and worker, if it has a front."""
        if self.front is None:
            return []
        return [self.front.pid] + children(self.front.pid)

    def stop(self):
        if self.front is not None:
            t.stop_proc(self.front, timeout=10)
            self.front = None
        t.stop_proc(self.proc, timeout=10)
        self.proc = None

    def log(self):
        return server_log(self.dir)


def start_nginx(d, conf, port):
    """nginx with conf, from its server's dir d (stderr to its log), once
    it listens on port."""
    with open(os.path.join(d, "stderr.log"), "ab") as err:
        p = subprocess.Popen(["nginx", "-p", d, "-c", conf],
                             stdout=subprocess.DEVNULL, stderr=err)
    t.wait_port(port)
    return p


# nginx as the bench runs it: one worker (as conf-examples/nginx.conf's
# smshook gets), no access log (lighttpd writes none either), its
# temporary files in the server's dir; then the server block
NGINX_HEAD = """%(user)sworker_processes 1;
daemon off;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path %(dir)s/tmp-body;
	proxy_temp_path %(dir)s/tmp-proxy;
	fastcgi_temp_path %(dir)s/tmp-fcgi;
	uwsgi_temp_path %(dir)s/tmp-uwsgi;
	scgi_temp_path %(dir)s/tmp-scgi;
	keepalive_requests 100000;
"""

# in front of Node.js: HTTP/1.1 to Node.js with kept connections
NGINX_PROXY = NGINX_HEAD + """	upstream node { server 127.0.0.1:%(node)d; keepalive 16; }
	server {
		listen 127.0.0.1:%(port)d;
		location = /hook {
			proxy_pass http://node;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
"""

# in front of FastCGI workers spawn-fcgi started, as the shipped
# conf-examples/nginx.conf and spawn-fcgi.sh (the parameters smshook
# reads); %(keep)s keeps connections to them open
NGINX_FCGI = NGINX_HEAD + """	client_body_buffer_size 1088k;
	upstream fcgi { server unix:%(dir)s/fcgi.sock; %(keep)s}
	server {
		listen 127.0.0.1:%(port)d;
		location = /hook {
			fastcgi_pass fcgi;
			%(keep_conn)s
			fastcgi_param REQUEST_METHOD $request_method;
			fastcgi_param CONTENT_TYPE $content_type;
			fastcgi_param CONTENT_LENGTH $content_length;
			fastcgi_param SERVER_PROTOCOL $server_protocol;
			fastcgi_param GATEWAY_INTERFACE CGI/1.1;
			fastcgi_param REMOTE_ADDR $remote_addr;
		}
	}
}
"""


class NginxFcgi:
    """nginx (one worker) in front of procs FastCGI workers started by
    spawn-fcgi, as conf-examples/nginx.conf and spawn-fcgi.sh ship it;
    keep: nginx keeps that many idle connections to them open
    (fastcgi_keep_conn), fewer than the workers as smshook(8) says."""

    def __init__(self, app, procs=4, keep=0):
        self.app = app
        self.dir = fresh_dir("srv-nginx-" + app)
        self.spool = os.path.join(self.dir, "spool")
        os.mkdir(self.spool, 0o750)
        chown_worker(self.spool)
        self.port = t.free_port()
        self.procs = procs
        self.env = dict(os.environ)
        if app == "smshook":
            self.argv = [SMSHOOK]
            self.env["SMSHOOK_CONFIG"] = smshook_conf(self.dir)
        elif app == "hello":
            self.argv = [os.path.join(BUILD, "bench", "hello_fcgi")]
            self.env["HELLO_CLOSE_AT_ONCE"] = "1"
        else:
            raise ValueError(app)
        root = os.getuid() == 0
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(NGINX_FCGI % {
                "dir": self.dir, "port": self.port,
                "user": "user %s;\n" % WORKER if root else "",
                "keep": "keepalive %d; " % keep if keep else "",
                "keep_conn": "fastcgi_keep_conn on;" if keep else ""})
        self.url = "http://127.0.0.1:%d/hook" % self.port
        self.front = None

    def start(self):
        user = ["-u", WORKER, "-g", WORKER] if os.getuid() == 0 else []
        subprocess.run(["spawn-fcgi", "-s", os.path.join(self.dir,
                        "fcgi.sock"), "-M", "0660", "-F", str(self.procs),
                        "-P", os.path.join(self.dir, "fcgi.pid")] + user +
                       ["--"] + self.argv, env=self.env, check=True,
                       stdout=subprocess.DEVNULL)
        self.front = start_nginx(self.dir, self.conf, self.port)
        return self

    def workers(self):
        with open(os.path.join(self.dir, "fcgi.pid")) as f:
            return [int(x) for x in f.read().split()]

    def front_pids(self):
        return [self.front.pid] + children(self.front.pid)

    def stop(self):
        t.stop_proc(self.front, timeout=10)
        pids = self.workers()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        t.wait_for(lambda: not any(os.path.exists("/proc/%d" % p)
                                   for p in pids), "FastCGI workers to exit")

    def log(self):
        return server_log(self.dir)


def server_log(d):
    """The error log and stderr a server left in its dir d."""
    text = ""
    for n in ("error.log", "stderr.log"):
        p = os.path.join(d, n)
        if os.path.exists(p):
            text += open(p, errors="replace").read()
    return text


def children(pid):
    """The pids of pid's children."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                         text=True)
    return [int(p) for p in out.stdout.split()]


RECEIVERS = {
    "hello": lambda: Lighttpd("hello"),
    "hello-close": lambda: Lighttpd("hello", close_at_once=True),
    "hello-fsync-4": lambda: Lighttpd("hello", procs=4, sync=True,
                                      close_at_once=True),
    "smshook": lambda: Lighttpd("smshook", fsync="no"),
    "smshook-fsync": lambda: Lighttpd("smshook", fsync="yes"),
    "smshook-fsync-4": lambda: Lighttpd("smshook", procs=4, fsync="yes"),
    "smshook-noreplay": lambda: Lighttpd("smshook", fsync="no", replay=0),
    "smshook-nocounters": lambda: Lighttpd("smshook", fsync="no",
                                           extra="counters = no"),
    "smshook-base": lambda: Lighttpd("smshook", fsync="no",
                                     binary=ARGS.base),
    "php": lambda: Lighttpd("php"),
    "node": lambda: Node(),
    "node-nginx": lambda: Node(front="nginx"),
    "hello-nginx": lambda: NginxFcgi("hello"),
    "smshook-nginx": lambda: NginxFcgi("smshook"),
    "hello-nginx-keep": lambda: NginxFcgi("hello", keep=3),
    "smshook-nginx-keep": lambda: NginxFcgi("smshook", keep=3),
}


def spool_count(spool):
    n = 0
    for name in os.listdir(spool):
        if name.endswith(".jsonl"):
            with open(os.path.join(spool, name), "rb") as f:
                n += f.read().count(b"\n")
    return n


# ---------------------------------------------------------------- wrk

def result(cmd):
    """Run cmd; the key=value pairs of its "RESULT ..." line, numbers
    as int or float."""
    out = sh(cmd)
    m = RESULT_RE.search(out)
    if not m:
        raise RuntimeError("no RESULT from %s:\n%s" % (cmd[0], out))
    r = {}
    for kv in m.group(1).split():
        k, v = kv.split("=")
        r[k] = v if not v[:1].isdigit() else float(v) if "." in v else \
            int(v)
    return r


def wrk(url, conns, secs, bodies, delay=0, threads=None, timeout=3):
    threads = threads or min(ARGS.wrk_threads, conns)
    cmd = ["wrk", "-t", str(threads), "-c", str(conns), "-d", "%ds" % secs,
           "--timeout", "%ds" % timeout, "-s", os.path.join(HERE, "post.lua"),
           url, "--", bodies, str(threads), str(delay)]
    r = result(cmd)
    r["errors"] = r["connect"] + r["read"] + r["write"] + r["timeout"]
    r["cmd"] = " ".join(cmd)
    return r


def cpu_ticks(pids):
    """utime + stime of pids, in clock ticks (0 for a vanished one)."""
    n = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            n += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return n


def measure(name, conns, secs, delay=0):
    """Start a fresh receiver (fresh spool: every token new), warm it up
    with 1 s of other bodies, measure, check the spool, stop it."""
    srv = RECEIVERS[name]().start()
    try:
        wrk(srv.url, min(conns, 8), 1, WARM)
        before = spool_count(srv.spool)
        pids = srv.workers()
        c0 = cpu_ticks(pids)
        front = srv.front_pids()
        f0 = cpu_ticks(front)
        r = wrk(srv.url, conns, secs, BODIES, delay=delay)
        c1 = cpu_ticks(pids)
        f1 = cpu_ticks(front)
        stored = spool_count(srv.spool) - before
        # a worker that ended or was replaced would take its CPU with it
        if sorted(srv.workers()) != sorted(pids):
            raise RuntimeError("%s: workers %r became %r while measured" % (
                name, pids, srv.workers()))
    finally:
        srv.stop()
    r["stored"] = stored
    # CPU time of the receiver's worker processes (and of lighttpd) per
    # request: far less sensitive to other load than requests/s
    hz = os.sysconf("SC_CLK_TCK")
    r["worker_cpu_us"] = round((c1 - c0) * 1e6 / hz / max(1, r["requests"]),
                               1)
    r["front_cpu_us"] = round((f1 - f0) * 1e6 / hz / max(1, r["requests"]),
                              1)
    # every answered request must be a stored line (200 success)
    # (hello stores nothing: sending a body twice changes nothing there)
    hello = name.startswith("hello")
    if r["status"] or r["errors"] or (r["wrapped"] and not hello):
        log("  WARNING %s c=%d: status=%d errors=%d wrapped=%d\n%s" % (
            name, conns, r["status"], r["errors"], r["wrapped"],
            srv.log()[-2000:]))
    if not hello and stored < r["requests"]:
        log("  WARNING %s c=%d: %d requests answered, %d lines stored" % (
            name, conns, r["requests"], stored))
    shutil.rmtree(srv.dir, ignore_errors=True)
    return r


def write_csv(name, header, rows):
    path = os.path.join(ARGS.out, name)
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for row in rows:
            f.write(",".join(str(row[h]) for h in header) + "\n")
    return path


# ---------------------------------------------------------------- sections

def sweep(res):
    """Requests/s vs concurrency for the four receivers (one pass)."""
    log("== sweep: requests/s vs connections, %d s each" % ARGS.sweep_secs)
    rows = []
    for c in CONC:
        for name in ("hello", "smshook", "php", "node"):
            r = measure(name, c, ARGS.sweep_secs)
            log("  %-8s c=%-3d %8.0f req/s  p99 %6.2f ms  max %7.2f ms" % (
                name, c, r["rps"], r["p99_us"] / 1e3, r["max_us"] / 1e3))
            rows.append(dict(receiver=name, connections=c, rps=r["rps"],
                             p50_us=r["p50_us"], p99_us=r["p99_us"],
                             max_us=r["max_us"], errors=r["errors"],
                             non200=r["status"],
                             worker_cpu_us=r["worker_cpu_us"],
                             front_cpu_us=r["front_cpu_us"]))
    write_csv("sweep.csv", ["receiver", "connections", "rps", "p50_us",
                            "p99_us", "max_us", "errors", "non200",
                            "worker_cpu_us", "front_cpu_us"], rows)
    res["sweep"] = rows
    res["max_us_all"] = max([res.get("max_us_all", 0)] +
                            [r["max_us"] for r in rows])
    plot()


def plot():
    p = subprocess.run(["gnuplot", "-e", "datafile='%s'; outfile='%s'" % (
        os.path.join(ARGS.out, "sweep.csv"),
        os.path.join(ARGS.out, "throughput.png")),
        os.path.join(HERE, "throughput.gp")], capture_output=True, text=True)
    if p.returncode != 0:
        log("  gnuplot failed: " + p.stderr)


def headline(res):
    """Interleaved rounds at one concurrency: the throughput ratios."""
    names = ["hello", "hello-close", "smshook", "smshook-noreplay",
             "smshook-nocounters", "php", "node", "node-nginx"]
    if ARGS.base:
        names.insert(3, "smshook-base")
    c = ARGS.conns
    log("== headline: %d rounds at %d connections, %d s each" % (
        ARGS.rounds, c, ARGS.duration))
    rows = []
    guard = []
    rounds = []
    for rnd in range(ARGS.rounds):
        got = {}
        rounds.append(got)
        for name in names:
            r = measure(name, c, ARGS.duration)
            got[name] = r
            if name == "hello":
                guard.append(guard_calls())
            rows.append(dict(round=rnd + 1, receiver=name, connections=c,
                             rps=r["rps"], p50_us=r["p50_us"],
                             p99_us=r["p99_us"], max_us=r["max_us"],
                             errors=r["errors"], non200=r["status"],
                             worker_cpu_us=r["worker_cpu_us"],
                             front_cpu_us=r["front_cpu_us"]))
        log("  round %d: " % (rnd + 1) + "  ".join(
            "%s %.0f (%.0f us cpu)" % (n, got[n]["rps"],
                                       got[n]["worker_cpu_us"])
            for n in names) + "  guard calls %.1f us" % guard[-1])
    write_csv("headline.csv", ["round", "receiver", "connections", "rps",
                               "p50_us", "p99_us", "max_us", "errors",
                               "non200", "worker_cpu_us", "front_cpu_us"],
              rows)
    by = {}
    for row in rows:
        by.setdefault(row["round"], {})[row["receiver"]] = row["rps"]
    ratio = lambda a, b: median([v[a] / v[b] for v in by.values()])  # noqa
    res["headline"] = {
        "connections": c,
        "rps": {n: median([v[n] for v in by.values()]) for n in names},
        "worker_cpu_us": {n: median([row["worker_cpu_us"] for row in rows
                                     if row["receiver"] == n])
                          for n in names},
        "smshook/hello": ratio("smshook", "hello"),
        # the CPU target's verdict is the ratio of the medians; the median
        # of the rounds' own ratios is printed beside it (noise: the two
        # differed by up to 0.16 in one run)
        "cpu_smshook/hello_rounds": median(
            [v["smshook"]["worker_cpu_us"] / v["hello"]["worker_cpu_us"]
             for v in rounds]),
        "smshook/hello-close": ratio("smshook", "hello-close"),
        "smshook/php": ratio("smshook", "php"),
        "smshook/node": ratio("smshook", "node"),
        "smshook/node-nginx": ratio("smshook", "node-nginx"),
        "hello/node": ratio("hello", "node"),
        "hello/php": ratio("hello", "php"),
        "replay_on/off": ratio("smshook", "smshook-noreplay"),
        "guard_calls_us": median(guard),
        "guard_cmd": " ".join(guard_cmd("DIR")),
        "counters_on/off": ratio("smshook", "smshook-nocounters"),
    }
    if ARGS.base:
        cpu = lambda n, v: v[n]["worker_cpu_us"]  # noqa
        res["headline"]["vs_base"] = {
            "base": ARGS.base,
            "rps": ratio("smshook", "smshook-base"),
            "worker_cpu": median([cpu("smshook", v) / cpu("smshook-base", v)
                                  for v in rounds]),
        }
    res["max_us_all"] = max([res.get("max_us_all", 0)] +
                            [r["max_us"] for r in rows])


def nginx(res):
    """The receiver behind nginx, as conf-examples/nginx.conf ships it
    (4 workers, a new connection per request) and keeping 3 connections
    to them open, each beside hello-world the same way and Node.js on its
    own port, in interleaved rounds."""
    names = ["hello-nginx", "smshook-nginx", "hello-nginx-keep",
             "smshook-nginx-keep", "node"]
    c = ARGS.conns
    log("== nginx: %d rounds at %d connections, %d s each" % (
        ARGS.rounds, c, ARGS.duration))
    rows = []
    for rnd in range(ARGS.rounds):
        for name in names:
            r = measure(name, c, ARGS.duration)
            rows.append(dict(round=rnd + 1, receiver=name, rps=r["rps"],
                             p99_us=r["p99_us"],
                             worker_cpu_us=r["worker_cpu_us"],
                             front_cpu_us=r["front_cpu_us"]))
        log("  round %d: " % (rnd + 1) + "  ".join(
            "%s %.0f (%.0f us cpu, front %.0f)" % (
                row["receiver"], row["rps"], row["worker_cpu_us"],
                row["front_cpu_us"]) for row in rows[-len(names):]))
    write_csv("nginx.csv", ["round", "receiver", "rps", "p99_us",
                            "worker_cpu_us", "front_cpu_us"], rows)
    by = {}
    for row in rows:
        by.setdefault(row["round"], {})[row["receiver"]] = row
    ratio = lambda a, b, k="rps": median(  # noqa
        [v[a][k] / v[b][k] for v in by.values()])
    res["nginx"] = {
        "rps": {n: median([v[n]["rps"] for v in by.values()])
                for n in names},
        "worker_cpu_us": {n: median([v[n]["worker_cpu_us"]
                                     for v in by.values()]) for n in names},
        "front_cpu_us": {n: median([v[n]["front_cpu_us"]
                                    for v in by.values()]) for n in names},
        "smshook/hello": ratio("smshook-nginx", "hello-nginx"),
        "smshook/node": ratio("smshook-nginx", "node"),
        "keep_smshook/hello": ratio("smshook-nginx-keep",
                                    "hello-nginx-keep"),
        "keep_smshook/node": ratio("smshook-nginx-keep", "node"),
        "keep_hello/node": ratio("hello-nginx-keep", "node"),
        "keep/unkept": ratio("smshook-nginx-keep", "smshook-nginx"),
    }


def guard_cmd(d):
    return [os.path.join(BUILD, "bench", "guard_calls"), "-i", "100000", d]


def guard_calls():
    """CPU time per event of the system calls behind smshook's promises,
    made in a loop without any request (bench/guard_calls.c), in the same
    spool file system: hello-world's CPU plus this is the floor."""
    d = fresh_dir("guard")
    r = result(guard_cmd(d))
    shutil.rmtree(d, ignore_errors=True)
    return r["us_per_event"]


def latency(res):
    """p99 at half of smshook's peak rate: every connection waits a fixed
    delay after each answer (wrk's delay() hook), so the offered rate is
    connections / (delay + service time); connections are chosen from the
    measured peak and the achieved rate is reported."""
    peak = max([r["rps"] for r in res.get("sweep", [])
                if r["receiver"] == "smshook"] +
               [res.get("headline", {}).get("rps", {}).get("smshook", 0)])
    if not peak:
        r = measure("smshook", ARGS.conns, ARGS.duration)
        peak = r["rps"]
    res["peak_rps"] = peak
    target = peak / 2
    delay = 10                                    # ms
    conns = max(1, round(target * delay / 1000.0))
    log("== latency: smshook at half its peak (%.0f of %.0f req/s): "
        "%d connections, %d ms between requests each" % (
            target, peak, conns, delay))
    rows = []
    for rnd in range(ARGS.rounds):
        r = measure("smshook", conns, ARGS.latency_secs, delay=delay)
        # one correction step if the achieved rate is off by > 10 %
        if rnd == 0 and abs(r["rps"] - target) > 0.1 * target:
            conns = max(1, round(conns * target / r["rps"]))
            log("  achieved %.0f req/s, retrying with %d connections" % (
                r["rps"], conns))
            r = measure("smshook", conns, ARGS.latency_secs, delay=delay)
        h = measure("hello", conns, ARGS.latency_secs, delay=delay)
        log("  round %d: smshook %.0f req/s, p50 %.2f ms, p99 %.2f ms, "
            "max %.2f ms; hello-world at the same load: p50 %.2f ms, "
            "p99 %.2f ms" % (rnd + 1, r["rps"], r["p50_us"] / 1e3,
                             r["p99_us"] / 1e3, r["max_us"] / 1e3,
                             h["p50_us"] / 1e3, h["p99_us"] / 1e3))
        rows.append(dict(round=rnd + 1, connections=conns, delay_ms=delay,
                         rps=r["rps"], p50_us=r["p50_us"], p90_us=r["p90_us"],
                         p99_us=r["p99_us"], max_us=r["max_us"],
                         errors=r["errors"], hello_rps=h["rps"],
                         hello_p50_us=h["p50_us"], hello_p99_us=h["p99_us"],
                         hello_max_us=h["max_us"]))
    write_csv("latency.csv", ["round", "connections", "delay_ms", "rps",
                              "p50_us", "p90_us", "p99_us", "max_us",
                              "errors", "hello_rps", "hello_p50_us",
                              "hello_p99_us", "hello_max_us"], rows)
    res["latency"] = {"target_rps": target, "connections": conns,
                      "delay_ms": delay,
                      "rps": median([r["rps"] for r in rows]),
                      "p99_ms": median([r["p99_us"] for r in rows]) / 1e3,
                      "hello_p99_ms": median([r["hello_p99_us"]
                                              for r in rows]) / 1e3,
                      "p50_ms": median([r["p50_us"] for r in rows]) / 1e3,
                      "max_ms": max(r["max_us"] for r in rows) / 1e3}
    res["max_us_all"] = max([res.get("max_us_all", 0)] +
                            [r["max_us"] for r in rows])


def fsync(res):
    """smshook fsync = yes against write + fdatasync in a C loop, same
    directory's file system, 2 writers (one per FastCGI worker), and 4
    for the receiver's 4 workers."""
    c = ARGS.conns
    log("== fsync: smshook fsync=yes (%d connections) vs fsync_loop "
        "(2 writers), %d rounds, %d s each" % (c, ARGS.rounds, ARGS.duration))
    rows = []
    for rnd in range(ARGS.rounds):
        r = measure("smshook-fsync", c, ARGS.duration)
        r4 = measure("smshook-fsync-4", c, ARGS.duration)
        h4 = measure("hello-fsync-4", c, ARGS.duration)
        d = fresh_dir("fsync-loop")
        out = {}
        # LINE_BYTES: the spool line a bench body makes (584-589 bytes)
        for lock, procs in (("", 2), ("-l", 2), ("-w", 2), ("-g", 2),
                            ("", 4)):
            f = os.path.join(d, "loop%s-%d.jsonl" % (lock, procs))
            cmd = [os.path.join(BUILD, "bench", "fsync_loop"), "-p",
                   str(procs), "-t", str(ARGS.duration), "-b",
                   str(LINE_BYTES)] + ([lock] if lock else []) + [f]
            line = sh(cmd)
            key = lock if procs == 2 else "p4"
            out[key] = float(re.search(r"rate=([0-9.]+)", line).group(1))
            m = re.search(r"syncs=([0-9]+)", line)
            if m:
                out["syncs"] = int(m.group(1))
        shutil.rmtree(d, ignore_errors=True)
        log("  round %d: smshook %.0f req/s (4 workers: %.0f, worker CPU "
            "%.1f us; hello-world + sync, 4 workers: %.0f, %.1f us), "
            "fsync_loop %.0f lines/s (4 writers: %.0f), -l (flock around "
            "write+sync) %.0f, -w (flock around write) %.0f, -g (explicit "
            "group commit) %.0f (%d syncs)" % (
                rnd + 1, r["rps"], r4["rps"], r4["worker_cpu_us"], h4["rps"],
                h4["worker_cpu_us"], out[""], out["p4"], out["-l"],
                out["-w"], out["-g"], out.get("syncs", 0)))
        rows.append(dict(round=rnd + 1, smshook_rps=r["rps"],
                         smshook4_rps=r4["rps"], hello4_rps=h4["rps"],
                         smshook4_cpu_us=r4["worker_cpu_us"],
                         hello4_cpu_us=h4["worker_cpu_us"],
                         loop_rate=out[""], loop4_rate=out["p4"],
                         loop_flock_rate=out["-l"],
                         loop_wlock_rate=out["-w"],
                         loop_group_rate=out["-g"],
                         loop_group_syncs=out.get("syncs", 0),
                         p99_us=r["p99_us"], max_us=r["max_us"],
                         max4_us=r4["max_us"]))
    write_csv("fsync.csv", ["round", "smshook_rps", "smshook4_rps",
                            "hello4_rps", "smshook4_cpu_us", "hello4_cpu_us",
                            "loop_rate", "loop4_rate",
                            "loop_flock_rate", "loop_wlock_rate",
                            "loop_group_rate", "loop_group_syncs", "p99_us",
                            "max_us", "max4_us"], rows)
    res["fsync"] = {
        "smshook_rps": median([r["smshook_rps"] for r in rows]),
        "loop_rate": median([r["loop_rate"] for r in rows]),
        "loop_flock_rate": median([r["loop_flock_rate"] for r in rows]),
        "ratio": median([r["smshook_rps"] / r["loop_rate"] for r in rows]),
        "smshook4_rps": median([r["smshook4_rps"] for r in rows]),
        "ratio4": median([r["smshook4_rps"] / r["loop_rate"] for r in rows]),
        "loop4_rate": median([r["loop4_rate"] for r in rows]),
        "ratio4_loop4": median([r["smshook4_rps"] / r["loop4_rate"]
                                for r in rows]),
        "hello4_loop4": median([r["hello4_rps"] / r["loop4_rate"]
                                for r in rows]),
        "hello4_rps": median([r["hello4_rps"] for r in rows]),
        "hello4_loop": median([r["hello4_rps"] / r["loop_rate"]
                               for r in rows]),
        "ratio4_hello": median([r["smshook4_rps"] / r["hello4_rps"]
                                for r in rows]),
        "ratio_flock": median([r["smshook_rps"] / r["loop_flock_rate"]
                               for r in rows]),
        "loop_wlock_rate": median([r["loop_wlock_rate"] for r in rows]),
        "loop_group_rate": median([r["loop_group_rate"] for r in rows]),
    }
    res["max_us_all"] = max([res.get("max_us_all", 0)] +
                            [max(r["max_us"], r["max4_us"]) for r in rows])


def cgi(res):
    """Wall time per CGI request: fork + exec + body on stdin + answer."""
    d = fresh_dir("cgi")
    spool = os.path.join(d, "spool")
    os.mkdir(spool, 0o750)
    conf = smshook_conf(d, fsync="no")
    php = os.path.join(d, "hook.php")
    shutil.copy2(os.path.join(HERE, "receiver.php"), php)
    base = {"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "POST",
            "CONTENT_TYPE": "application/json", "REMOTE_ADDR": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1", "PATH": "/usr/bin:/bin",
            "SMSHOOK_CONFIG": conf, "SMSHOOK_KEY": KEY, "SMSHOOK_SPOOL": spool,
            "SCRIPT_FILENAME": php, "REDIRECT_STATUS": "200"}
    loop = os.path.join(BUILD, "bench", "cgi_loop")
    progs = {"hello": ([os.path.join(BUILD, "bench", "hello_cgi")], "ok"),
             "smshook": ([SMSHOOK], "success"),
             "php": ([shutil.which("php-cgi")], "success")}
    n = {"hello": ARGS.cgi_requests, "smshook": ARGS.cgi_requests,
         "php": max(100, ARGS.cgi_requests // 5)}
    log("== cgi: wall time per request, %d rounds (%d/%d/%d requests)" % (
        ARGS.rounds, n["hello"], n["smshook"], n["php"]))
    rows = []
    for rnd in range(ARGS.rounds):
        got = {}
        for name, (argv, match) in progs.items():
            bodies = gen_bodies(n[name], "cgi-bodies.jsonl")
            cmd = [loop, "-n", str(n[name]), "-m", match, bodies] + argv
            out = sh(cmd, env=base)
            m = dict(kv.split("=") for kv in out.split())
            if int(m["matched"]) != n[name]:
                raise RuntimeError("%s CGI: %s of %d answers matched %r" % (
                    name, m["matched"], n[name], match))
            got[name] = float(m["us_per_request"])
            rows.append(dict(round=rnd + 1, program=name, requests=n[name],
                             us_per_request=got[name]))
        log("  round %d: hello %.0f us, smshook %.0f us, php-cgi %.0f us" % (
            rnd + 1, got["hello"], got["smshook"], got["php"]))
    write_csv("cgi.csv", ["round", "program", "requests", "us_per_request"],
              rows)
    by = {}
    for row in rows:
        by.setdefault(row["round"], {})[row["program"]] = row["us_per_request"]
    res["cgi"] = {
        "us": {p: median([v[p] for v in by.values()]) for p in progs},
        "smshook/hello": median([v["smshook"] / v["hello"]
                                 for v in by.values()]),
        "smshook/php": median([v["smshook"] / v["php"] for v in by.values()]),
        "cmd": "env GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST ... "
               "cgi_loop -n N -m MATCH BODIES PROGRAM",
    }
    shutil.rmtree(d, ignore_errors=True)


def vmrss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def memory(res):
    """One FastCGI worker (max-procs 1, so it sees every request): VmRSS
    after 10,000 requests and after --mem-requests."""
    total = ARGS.mem_requests
    log("== memory: one smshook worker, VmRSS at 10,000 and %d requests" %
        total)
    bodies = gen_bodies(total + 20000, "mem-bodies.jsonl")
    srv = Lighttpd("smshook", procs=1, fsync="no").start()
    samples = []
    days = {}  # every day file: midnight may pass meanwhile
    try:
        pid = srv.workers()[0]
        count = 0
        cmd = ["wrk", "-t", "1", "-c", "8", "-d", "3600s", "--timeout", "3s",
               "-s", os.path.join(HERE, "post.lua"), srv.url, "--", bodies,
               "1", "0"]
        w = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        marks = [10000, 50000, 100000] + list(range(200000, total + 1,
                                                    100000))
        marks = [m for m in marks if m <= total]
        if total not in marks:
            marks.append(total)
        start = time.time()
        while marks:
            time.sleep(0.05)
            for n in os.listdir(srv.spool):
                if n.endswith(".jsonl") and n not in days:
                    days[n] = open(os.path.join(srv.spool, n), "rb")
            count += sum(f.read().count(b"\n") for f in days.values())
            if count >= marks[0]:
                samples.append(dict(requests=count, rss_kib=vmrss(pid),
                                    seconds=round(time.time() - start, 1)))
                log("  %8d requests: VmRSS %d KiB" % (count,
                                                      samples[-1]["rss_kib"]))
                marks.pop(0)
            if w.poll() is not None:
                raise RuntimeError("wrk ended early: " + w.stdout.read())
        w.send_signal(signal.SIGINT)
        w.communicate(timeout=30)
        if srv.workers() != [pid]:
            raise RuntimeError("the worker was restarted: %r" % srv.workers())
    finally:
        for f in days.values():
            f.close()
        srv.stop()
    write_csv("memory.csv", ["requests", "rss_kib", "seconds"], samples)
    first, last = samples[0], samples[-1]
    res["memory"] = {"requests_first": first["requests"],
                     "rss_first_kib": first["rss_kib"],
                     "requests_last": last["requests"],
                     "rss_last_kib": last["rss_kib"],
                     "growth_kib": last["rss_kib"] - first["rss_kib"]}
    shutil.rmtree(srv.dir, ignore_errors=True)
    os.unlink(bodies)


def import_(res):
    import bench_import
    res["import"] = bench_import.run(ARGS, WORK, SMSHOOKCTL, log, write_csv)


# ---------------------------------------------------------------- report

def verdict(ok):
    return "met" if ok else "NOT MET"


def report(res):
    lines = []
    add = lines.append
    h = res.get("headline")
    if h:
        add("Throughput at %d connections (median of %d rounds), req/s: %s" % (
            h["connections"], ARGS.rounds, ", ".join(
                "%s %.0f" % kv for kv in h["rps"].items())))
        add("  worker CPU per request, us: %s" % ", ".join(
            "%s %.1f" % kv for kv in h["worker_cpu_us"].items()))
        cpu = h["worker_cpu_us"]
        add("  worker CPU smshook / hello = %.2f (<= 1.5: %s); median of "
            "the rounds' own ratios %.2f" % (
                cpu["smshook"] / cpu["hello"],
                verdict(cpu["smshook"] <= 1.5 * cpu["hello"]),
                h.get("cpu_smshook/hello_rounds", float("nan"))))
        if "hello-close" in cpu:
            add("  against a hello-world that also closes at once, as smshook"
                " does: worker CPU %.2f (<= 1.5: %s), requests/s %.2f "
                "(>= 0.9: %s)" % (
                    cpu["smshook"] / cpu["hello-close"],
                    verdict(cpu["smshook"] <= 1.5 * cpu["hello-close"]),
                    h["smshook/hello-close"],
                    verdict(h["smshook/hello-close"] >= 0.9)))
        if "vs_base" in h:
            add("  against --base %s, same rounds: worker CPU %.2f, "
                "requests/s %.2f (medians of the rounds' ratios)" % (
                    h["vs_base"]["base"], h["vs_base"]["worker_cpu"],
                    h["vs_base"]["rps"]))
        if "guard_calls_us" in h:
            base = cpu.get("hello-close", cpu["hello"])
            floor = base + h["guard_calls_us"]
            add("  floor: hello closing at once + the guarding system calls "
                "alone (%.1f us, bench/guard_calls) = %.1f us = %.2f x hello;"
                " smshook is %.1f us above it" % (
                    h["guard_calls_us"], floor, floor / cpu["hello"],
                    cpu["smshook"] - floor))
        add("  smshook fsync=no / hello-world FastCGI = %.2f (>= 0.9: %s)" % (
            h["smshook/hello"], verdict(h["smshook/hello"] >= 0.9)))
        add("  smshook fsync=no / PHP (php-cgi FastCGI) = %.2f (>= 2: %s)" % (
            h["smshook/php"], verdict(h["smshook/php"] >= 2)))
        if "hello/php" in h:
            add("    hello-world FastCGI / PHP = %.2f (the bound for any "
                "responder behind the same lighttpd)" % h["hello/php"])
        add("  smshook fsync=no / Node.js cluster = %.2f (>= 2: %s)" % (
            h["smshook/node"], verdict(h["smshook/node"] >= 2)))
        if "smshook/node-nginx" in h:
            add("    hello-world FastCGI / Node.js cluster = %.2f (the bound "
                "for any responder behind lighttpd); smshook / Node.js "
                "behind nginx (upstream keepalive), both behind a web "
                "server = %.2f" % (h["hello/node"], h["smshook/node-nginx"]))
        add("  replay on / replay_window = 0 = %.2f (>= 0.8: %s)" % (
            h["replay_on/off"], verdict(h["replay_on/off"] >= 0.8)))
        if "counters_on/off" in h:
            add("  answer counters on / counters = no = %.2f (>= 0.97: %s)"
                % (h["counters_on/off"], verdict(h["counters_on/off"] >=
                                                  0.97)))
    ng = res.get("nginx")
    if ng:
        add("Behind nginx (one worker), 4 FastCGI workers, %d connections, "
            "median req/s: %s" % (ARGS.conns, ", ".join(
                "%s %.0f" % kv for kv in ng["rps"].items())))
        add("  a new connection per request (as shipped): smshook / "
            "hello-world %.2f, smshook / Node.js %.2f" % (
                ng["smshook/hello"], ng["smshook/node"]))
        add("  3 connections kept (fastcgi_keep_conn): smshook / hello-world"
            " %.2f, smshook / Node.js %.2f (>= 2: %s; hello-world / Node.js "
            "%.2f), kept / new per request %.2f" % (
                ng["keep_smshook/hello"], ng["keep_smshook/node"],
                verdict(ng["keep_smshook/node"] >= 2),
                ng["keep_hello/node"], ng["keep/unkept"]))
    lt = res.get("latency")
    if lt:
        add("Latency at half the peak (%.0f req/s achieved, target %.0f, "
            "%d connections, %d ms delay): p50 %.2f ms, p99 %.2f ms "
            "(<= 5 ms: %s); hello-world at the same load: p99 %.2f ms" % (
                lt["rps"], lt["target_rps"], lt["connections"],
                lt["delay_ms"], lt["p50_ms"], lt["p99_ms"],
                verdict(lt["p99_ms"] <= 5), lt["hello_p99_ms"]))
    if "max_us_all" in res:
        add("Slowest request in any wrk run: %.1f ms (< 3 s: %s)" % (
            res["max_us_all"] / 1e3, verdict(res["max_us_all"] < 3e6)))
    f = res.get("fsync")
    if f:
        add("fsync = yes: smshook %.0f req/s, fsync_loop %.0f lines/s "
            "(flock around write+sync %.0f, around write only %.0f, explicit "
            "group commit %.0f): ratio %.2f (>= 0.8: %s); vs the write+sync "
            "flock loop %.2f" % (
                f["smshook_rps"], f["loop_rate"], f["loop_flock_rate"],
                f["loop_wlock_rate"], f["loop_group_rate"], f["ratio"],
                verdict(f["ratio"] >= 0.8), f["ratio_flock"]))
        add("fsync = yes with 4 FastCGI workers: smshook %.0f req/s: ratio "
            "%.2f to the 2-writer loop (>= 0.8: %s)" % (
                f["smshook4_rps"], f["ratio4"], verdict(f["ratio4"] >= 0.8)))
        if "ratio4_loop4" in f:
            add("  against the loop with 4 writers too (%.0f lines/s): "
                "smshook %.2f, hello-world + sync %.2f" % (
                    f["loop4_rate"], f["ratio4_loop4"], f["hello4_loop4"]))
        add("  the transport's limit: hello-world + the same write and sync, "
            "4 workers, %.0f req/s = %.2f x the loop; smshook / it = %.2f" % (
                f["hello4_rps"], f["hello4_loop"], f["ratio4_hello"]))
    c = res.get("cgi")
    if c:
        add("CGI per request: hello %.0f us, smshook %.0f us, php-cgi %.0f us"
            % (c["us"]["hello"], c["us"]["smshook"], c["us"]["php"]))
        add("  smshook / hello CGI = %.2f (<= 3: %s)" % (
            c["smshook/hello"], verdict(c["smshook/hello"] <= 3)))
        add("  smshook / php-cgi = %.2f (<= 0.25: %s)" % (
            c["smshook/php"], verdict(c["smshook/php"] <= 0.25)))
    m = res.get("memory")
    if m:
        add("Memory: VmRSS %d KiB after %d requests, %d KiB after %d: "
            "growth %d KiB (<= 64: %s), under 6 MiB: %s" % (
                m["rss_first_kib"], m["requests_first"], m["rss_last_kib"],
                m["requests_last"], m["growth_kib"],
                verdict(m["growth_kib"] <= 64),
                verdict(m["rss_last_kib"] < 6 * 1024)))
    im = res.get("import")
    if im:
        for line in im.get("report", []):
            add(line)
    text = "\n".join(lines) + "\n"
    with open(os.path.join(ARGS.out, "summary.txt"), "w") as fh:
        fh.write(text)
    log("\n== summary\n" + text)


def main():
    global ARGS, BODIES, WARM
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--only", default="sweep,headline,latency,fsync,cgi,"
                    "memory,import")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--sweep-secs", type=int, default=3)
    ap.add_argument("--latency-secs", type=int, default=10)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--bodies", type=int, default=200000)
    ap.add_argument("--cgi-requests", type=int, default=1000)
    ap.add_argument("--mem-requests", type=int, default=200000)
    ap.add_argument("--import-lines", type=int, default=1000000)
    ap.add_argument("--import-rounds", type=int, default=1)
    ap.add_argument("--base", default=None, help="another smshook binary, "
                    "measured in the headline rounds beside this one")
    ARGS = ap.parse_args()
    # make "kill PID" run the finally clauses: servers stopped, temp removed
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    os.makedirs(ARGS.out, exist_ok=True)
    setup(ARGS.build, "smshook-bench-")
    res = {}
    try:
        res["machine"] = machine()
        res["machine"]["git"] = sh(["git", "-C", TOP, "log", "-1",
                                    "--format=%h %s"]).strip()
        log("machine: " + json.dumps(res["machine"]))
        log("generating %d signed bodies" % ARGS.bodies)
        BODIES = gen_bodies(ARGS.bodies, "bodies.jsonl")
        WARM = gen_bodies(30000, "warm.jsonl")
        sections = ARGS.only.split(",")
        for name, fn in (("sweep", sweep), ("headline", headline),
                         ("nginx", nginx),
                         ("latency", latency), ("fsync", fsync),
                         ("cgi", cgi), ("memory", memory),
                         ("import", import_)):
            if name in sections:
                t0 = time.time()
                fn(res)
                log("  (%s: %.0f s)" % (name, time.time() - t0))
        res["machine"]["loadavg_end"] = open("/proc/loadavg").read().strip()
    finally:
        with open(os.path.join(ARGS.out, "results.json"), "w") as f:
            json.dump(res, f, indent=1)
        report(res)
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    main()
