"""Start conf-examples/lighttpd.conf for real, rendered with only its
placeholders substituted, with smshook under mod_fastcgi."""
import os
import pwd
import shutil
import signal
import subprocess
import time

import smshooktest as t

EXAMPLE = os.path.join(t.TOP, "conf-examples", "lighttpd.conf")
WORKER = "www-data"


def render(template, values):
    with open(template) as f:
        text = f.read()
    for k, v in values.items():
        text = text.replace("@%s@" % k, str(v))
    if "@" in "".join(l for l in text.splitlines() if not l.startswith("#")):
        raise RuntimeError("unsubstituted placeholder in " + template)
    return text


def chown_worker(*paths):
    """Give paths to the worker user when running as root."""
    if os.getuid() != 0:
        return
    pw = pwd.getpwnam(WORKER)
    for p in paths:
        os.chown(p, pw.pw_uid, pw.pw_gid)



def proc_state(pid):
    """pid's state, kernel wait channel and system call, as text."""
    out = [str(pid)]
    for name in ("stat", "wchan", "syscall"):
        try:
            with open("/proc/%d/%s" % (pid, name)) as f:
                text = f.read().strip()
        except OSError as e:
            text = "(%s)" % e.strerror
        out.append(name + ": " + (text.split(") ", 1)[-1][:1]
                                  if name == "stat" else text[:80]))
    return " ".join(out)

class Lighttpd:
    """lighttpd + smshook in a temp dir; use as a context manager."""

    def __init__(self, conf_extra="", key=t.KEY, port=None):
        self.dir = t.tmpdir("smshook-lighttpd-")
        self.spool = os.path.join(self.dir, "spool")
        self.docroot = os.path.join(self.dir, "htdocs")
        self.rundir = os.path.join(self.dir, "run")
        self.stuck = []		# stop_leftovers: what SIGTERM did not stop
        for d in (self.spool, self.docroot, self.rundir):
            os.mkdir(d, 0o750 if d == self.spool else 0o755)
        self.conf = t.write_conf(self.dir, extra=conf_extra, key=key)
        os.chmod(self.conf, 0o640)
        chown_worker(self.spool, self.rundir, self.conf)
        # the worker user may not traverse the checkout (CI clones
        # anywhere): run a copy of the binary from the temp dir
        self.sbindir = os.path.join(self.dir, "sbin")
        os.mkdir(self.sbindir, 0o755)
        shutil.copy2(t.SMSHOOK, os.path.join(self.sbindir, "smshook"))
        self.port = port or t.free_port()
        user = WORKER if os.getuid() == 0 else pwd.getpwuid(os.getuid()).pw_name
        self.lconf = os.path.join(self.dir, "lighttpd.conf")
        with open(self.lconf, "w") as f:
            f.write(render(EXAMPLE, {
                "SBINDIR": self.sbindir, "CONF": self.conf, "PORT": self.port,
                "ADDR": "127.0.0.1",
                "DOCROOT": self.docroot, "RUNDIR": self.rundir,
                "USER": user}))
        self.url = "http://127.0.0.1:%d/smshook" % self.port
        self.proc = None

    def start(self, wrap=()):
        """Start lighttpd, run through the command wrap if given (which
        must exec it, so that the process is lighttpd)."""
        # lighttpd hands its own stderr to the FastCGI workers it spawns:
        # that is where smshook's log lines go (the journal under systemd)
        with open(self.stderr_path(), "ab") as err:
            self.proc = subprocess.Popen(list(wrap) + ["lighttpd", "-D", "-f",
                                                       self.lconf],
                                         stdout=subprocess.DEVNULL,
                                         stderr=err)
        try:
            t.wait_port(self.port)
        except RuntimeError:
            self.stop()
            raise RuntimeError("lighttpd did not start: " + self.log())
        return self

    def errorlog_path(self):
        """The example's server.errorlog."""
        return os.path.join(self.rundir, "error.log")

    def stderr_path(self):
        """Where lighttpd's own stderr (and its workers') goes."""
        return os.path.join(self.dir, "stderr.log")

    def log(self):
        """lighttpd's error log followed by the workers' stderr."""
        text = ""
        for p in (self.errorlog_path(), self.stderr_path()):
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    text += f.read()
        return text

    def workers(self):
        """PIDs of the smshook FastCGI processes lighttpd started."""
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid), "-x",
                              "smshook"], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def stop(self):
        """Stop lighttpd, then any worker of this instance it left
        running (one it was respawning as it stopped), as a service
        manager stopping the unit would."""
        t.stop_proc(self.proc, timeout=10)
        self.stop_leftovers()

    def stop_leftovers(self, timeout=10.0):
        """SIGTERM, then SIGKILL after timeout, to every live process
        running this instance's smshook. What those SIGTERM did not stop
        were doing is kept in self.stuck, for the test to print."""
        left = self.own_smshooks()
        for s in (signal.SIGTERM, signal.SIGKILL):
            for pid in left:
                try:
                    os.kill(pid, s)
                except ProcessLookupError:
                    pass
            deadline = time.time() + timeout
            while left and time.time() < deadline:
                time.sleep(0.01)
                left = [p for p in left if p in self.own_smshooks()]
            if not left:
                break
            if s == signal.SIGTERM:
                self.stuck += [proc_state(p) for p in left]

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    def restart(self, sig=signal.SIGTERM, timeout=10.0):
        """Stop lighttpd with sig and start a new one on the same port,
        config and spool. Workers still running afterwards (all of them
        after SIGKILL: orphans keep the FastCGI sockets and would be
        reused) get SIGTERM, then SIGKILL after timeout, as a service
        manager stopping the unit would; stale sockets are removed."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stop_leftovers(timeout)
        for name in os.listdir(self.rundir):
            if name.startswith("smshook.sock"):
                os.unlink(os.path.join(self.rundir, name))
        return self.start()

    def own_smshooks(self):
        """PIDs of every live process running this instance's copy of
        smshook, lighttpd's children or not (zombies excluded)."""
        exe = os.path.join(self.sbindir, "smshook")
        pids = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                if os.readlink("/proc/%s/exe" % name) == exe:
                    pids.append(int(name))
            except OSError:
                pass
        return pids
