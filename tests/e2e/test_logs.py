"""Where smshook's log lines land, for each value of the "log" key, under
each server configured by conf-examples/ as the other suites render
them: a POST with a bad signature (401) gives exactly one line, with the
client's address and "Invalid signature", in the place README.md (Logs)
names, and none in the other places the server writes.

syslog runs in a private mount namespace (unshare -m) whose /dev is a
directory of the test's, with /dev/log a datagram socket the test reads;
the host's /dev is never touched."""
import os
import re
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import lighttpd  # noqa: E402
import servers  # noqa: E402
import smshooktest as t  # noqa: E402
from smshooktest import eq, expect  # noqa: E402

REASON = "Invalid signature"
MARK = "405 from 127.0.0.1: method not allowed"
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
# the line as smshook writes it, without a time
OWN = r"smshook\[\d+\]: warn: 401 from 127\.0\.0\.1: Invalid signature"
SYSLOG_TIME = r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d "


def provoke(url, headers=None):
    """A bad signature (401), then a PUT (405) whose line marks that the
    first one has been written too."""
    r = t.post(url, t.event("delivered", key="not the key"), headers=headers)
    eq(r[0], 401, "bad signature")
    eq(t.http(url, "PUT", b"{}", headers=headers)[0], 405, "PUT")


def wait_for(read, timeout=10.0):
    """read() once it holds the 401 and the marker (or the deadline is
    past): a readiness check, since a web server may write its log after
    it answered."""
    deadline = time.time() + timeout
    while True:
        text = read()
        if (REASON in text and MARK in text) or time.time() > deadline:
            return text
        time.sleep(0.02)


def only_here(here, form, elsewhere):
    """here() holds exactly one line with the 401, and it is form (a
    regular expression of the whole line); no reader of elsewhere
    ({name: read}) has one."""
    text = wait_for(here)
    lines = [l for l in text.splitlines() if REASON in l]
    eq(len(lines), 1, "lines with the 401 in:\n" + text[-3000:])
    expect(re.fullmatch(form, lines[0]), "line %r is not %r"
           % (lines[0], form))
    for name, read in elsewhere.items():
        expect(REASON not in read(), "the 401 also in " + name)


def reader(path):
    return lambda: servers.read_log(path)

# ---------------------------------------------------------------- syslog

# $1: a directory to become /dev, $2: the socket to be /dev/log; then
# exec the rest. The mounts live and die with the namespace.
PRIVATE_DEVLOG = """set -e
d=$1 sock=$2
shift 2
mkdir -p "$d"
for n in null zero random urandom; do
	: >"$d/$n"
	mount --bind "/dev/$n" "$d/$n"
done
: >"$d/log"
mount --bind "$sock" "$d/log"
mount --rbind "$d" /dev
exec "$@"
"""


class Syslog:
    """A datagram socket standing in for syslogd, and the command that
    runs a program in a private namespace where it is /dev/log."""

    def __init__(self):
        self.dir = t.tmpdir("smshook-syslog-")
        self.path = os.path.join(self.dir, "log.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setblocking(False)
        os.chmod(self.path, 0o666)     # the workers run as www-data
        self.got = []

    def wrap(self):
        return ["unshare", "-m", "--propagation", "private", "sh", "-c",
                PRIVATE_DEVLOG, "sh", os.path.join(self.dir, "dev"),
                self.path]

    def read(self):
        """Every datagram received so far, one a line."""
        while True:
            try:
                self.got.append(self.sock.recv(65536).decode(
                    errors="replace"))
            except BlockingIOError:
                return "\n".join(self.got) + "\n"

    def close(self):
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def syslog_form(facility):
    """A datagram of glibc's syslog(3) at warning with LOG_PID."""
    return r"<%d>%s%s" % (facility * 8 + 4, SYSLOG_TIME, OWN)

# ---------------------------------------------------------------- lighttpd


def check_lighttpd(log):
    with lighttpd.Lighttpd(conf_extra="log = " + log) as l:
        errorlog, stderr = reader(l.errorlog_path()), reader(l.stderr_path())
        provoke(l.url)
        if log == "fcgi":
            only_here(errorlog, r".* FastCGI-stderr:" + OWN,
                      {"lighttpd's stderr": stderr})
            # outside a request, the lines go to stderr
            expect(re.search("^" + STAMP + r"smshook\[\d+\]: info: FastCGI "
                             "worker ready", stderr(), re.M), stderr())
        else:
            only_here(stderr, STAMP + OWN,
                      {"server.errorlog": errorlog})


def check_lighttpd_syslog():
    sl = Syslog()
    l = lighttpd.Lighttpd(conf_extra="log = syslog\nlog_facility = local3")
    try:
        l.start(wrap=sl.wrap())
        provoke(l.url)
        only_here(sl.read, syslog_form(19),
                  {"server.errorlog": reader(l.errorlog_path()),
                   "lighttpd's stderr": reader(l.stderr_path())})
    finally:
        l.cleanup()
        sl.close()

# ---------------------------------------------------------------- CGI


def cgi_run(conf, wrap=(), stderr=None, env=None):
    """One POST with a bad signature to smshook as a CGI program run
    through wrap; returns its status."""
    body = t.json_body(t.event("delivered", key="not the key"))
    e = dict(t.base_env(), GATEWAY_INTERFACE="CGI/1.1",
             REQUEST_METHOD="POST", REMOTE_ADDR="127.0.0.1",
             CONTENT_TYPE=t.JSON, CONTENT_LENGTH=str(len(body)),
             SMSHOOK_CONFIG=conf, **(env or {}))
    p = subprocess.run(list(wrap) + [t.SMSHOOK], input=body, env=e,
                       stdout=subprocess.PIPE, stderr=stderr, timeout=30)
    return t.parse_cgi(p.stdout)[0]


def check_cgi_syslog():
    """CGI with log = syslog: one datagram, facility daemon by default."""
    sl = Syslog()
    d = t.tmpdir("smshook-logs-cgi-")
    try:
        conf = t.write_conf(d, extra="log = syslog")
        with open(os.path.join(d, "stderr"), "wb") as err:
            eq(cgi_run(conf, sl.wrap(), err), 401)
        # a datagram on a local socket is there once sendto returned
        lines = [l for l in sl.read().splitlines() if REASON in l]
        eq(len(lines), 1, lines)
        expect(re.fullmatch(syslog_form(3), lines[0]), lines[0])
        eq(servers.read_log(os.path.join(d, "stderr")), "", "stderr")
    finally:
        shutil.rmtree(d, ignore_errors=True)
        sl.close()


def check_journal_stream():
    """log = stderr: the time first, unless stderr is the stream that
    $JOURNAL_STREAM names (the journal adds its own)."""
    d = t.tmpdir("smshook-logs-journal-")
    try:
        conf = t.write_conf(d)
        journal = os.path.join(d, "journal")
        other = os.path.join(d, "other")
        for path in (journal, other):
            open(path, "wb").close()
        st = os.stat(journal)
        stream = "%d:%d" % (st.st_dev, st.st_ino)
        for path, form in ((journal, OWN), (other, STAMP + OWN)):
            with open(path, "ab") as err:
                eq(cgi_run(conf, stderr=err,
                           env={"JOURNAL_STREAM": stream}), 401)
            text = servers.read_log(path)
            expect(re.fullmatch(form + "\n", text), "%s: %r" % (path, text))
    finally:
        shutil.rmtree(d, ignore_errors=True)

# ---------------------------------------------------------------- Apache


def check_apache(kind, log):
    """mod_fcgid: log = fcgi in the vhost's ErrorLog, log = stderr in the
    server's main error log (mod_fcgid gives its processes that one). CGI:
    the vhost's ErrorLog, whatever the key (stderr either way)."""
    apache = servers.Apache(kind, conf_extra="log = " + log)
    try:
        apache.start()
        provoke(apache.url)
        site = {"the vhost's ErrorLog": apache.site_log}
        main = {"the main error log": apache.main_log}
        if kind == "fcgid" and log == "fcgi":
            only_here(apache.site_log, r".*\[client 127\.0\.0\.1:\d+\] "
                      r"mod_fcgid: stderr: " + OWN, main)
        elif kind == "fcgid":
            only_here(apache.main_log, STAMP + OWN, site)
        else:
            only_here(apache.site_log, r".*\[client 127\.0\.0\.1:\d+\] "
                      r"AH01215: stderr from .*: " + STAMP + OWN, main)
    finally:
        apache.cleanup()

# ---------------------------------------------------------------- nginx


def check_nginx(backend, log):
    """log = fcgi: nginx's error_log; log = stderr: the workers' stderr,
    spawn-fcgi.sh's log file, or the journal under systemd (no time)."""
    nginx = servers.Nginx(backend, conf_extra="log = " + log)
    try:
        nginx.start()
        provoke(nginx.url)
        error_log = reader(os.path.join(nginx.dir, "error.log"))
        if log == "fcgi":
            only_here(error_log, r'.* \[error\] .*FastCGI sent in stderr: "'
                      + OWN + r'" .*, client: 127\.0\.0\.1, .*',
                      {"the workers' stderr": nginx.backend.log})
        else:
            only_here(nginx.backend.log, (STAMP if backend == "spawn" else
                                          "") + OWN,
                      {"nginx's error_log": error_log})
    finally:
        nginx.cleanup()


def main():
    r = t.Runner("test_logs")
    start = time.time()
    for log in ("fcgi", "stderr"):
        r.check("lighttpd, log = %s" % log, check_lighttpd, log)
    r.check("lighttpd, log = syslog (local3)", check_lighttpd_syslog)
    r.check("CGI, log = syslog (daemon)", check_cgi_syslog)
    r.check("log = stderr: the time unless stderr is the journal",
            check_journal_stream)
    for kind in ("fcgid", "cgi"):
        for log in ("fcgi", "stderr"):
            r.check("apache %s, log = %s" % (kind, log), check_apache, kind,
                    log)
    for backend, log in (("spawn", "fcgi"), ("spawn", "stderr"),
                         ("systemd", "stderr")):
        r.check("nginx + %s, log = %s" % (backend, log), check_nginx,
                backend, log)
    print("test_logs: %.1f s" % (time.time() - start))
    return r.finish()


if __name__ == "__main__":
    sys.exit(main())
