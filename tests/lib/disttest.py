"""Helpers for the suites of the "make dist" bundle (test_dist.py,
test_shared_hosting.py): build or find the tarball, unpack it, read its
README's commands and crontab, run programs in a private mount
namespace, and check the modes of every file the programs create."""
import glob
import json
import os
import re
import signal
import sqlite3
import stat
import subprocess
import tarfile
import time

import smshooktest as t


def makefile_version():
    with open(os.path.join(t.TOP, "Makefile")) as f:
        m = re.search(r"^VERSION\s*=\s*(\S+)", f.read(), re.M)
    return m.group(1)


def bundle_name():
    return "smshook-%s-linux-x86_64" % makefile_version()


def bundle():
    """The tarball: $SMSHOOK_DIST if set, else "make dist" in BUILD
    (which fetches cJSON's Debian source the first time)."""
    path = os.environ.get("SMSHOOK_DIST")
    if path:
        return path
    p = subprocess.run(["make", "-C", t.TOP, "-j2", "BUILD=" + t.BUILD,
                        "dist"], capture_output=True, text=True,
                       timeout=1800)
    if p.returncode != 0:
        raise RuntimeError("make dist failed:\n%s\n%s"
                           % (p.stdout[-3000:], p.stderr[-3000:]))
    return os.path.join(t.BUILD, bundle_name() + ".tar.gz")


def unpack(tarball, dest):
    """Unpack as tar(1) would for a user; returns the bundle's folder."""
    subprocess.run(["tar", "-xzf", tarball, "-C", dest], check=True)
    return os.path.join(dest, bundle_name())


def members(tarball):
    """{name: (mode, type)} of the tarball's members."""
    with tarfile.open(tarball) as tf:
        return {m.name: (m.mode, m.type) for m in tf.getmembers()}

# ---------------------------------------------------------------- README

def readme_blocks(readme):
    """{section title: [command line]} from the README's indented
    blocks; a line ending in a backslash or a pipe goes on."""
    with open(readme) as f:
        lines = f.read().splitlines()
    sections, title = {}, None
    for i, line in enumerate(lines):
        if i + 1 < len(lines) and re.fullmatch(r"-{3,}|={3,}", lines[i + 1]):
            title = line.strip()
            sections[title] = []
        elif title is not None and line.startswith("    "):
            cmds = sections[title]
            if cmds and cmds[-1].endswith(("\\", "|")):
                cmds[-1] = cmds[-1].rstrip("\\").rstrip() + " " + \
                    line.strip()
            else:
                cmds.append(line[4:])
    return sections

# ---------------------------------------------------------------- crontab

FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")
RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]


def crontab_lines(text, system=False):
    """(environment {NAME: value}, [command]) of a crontab, checking
    every line as cron(8) reads a user crontab: NAME=value, or five time
    fields within their ranges and a command. A system crontab
    (/etc/cron.d) has a user before the command: then [(user, command)]."""
    env, cmds = {}, []
    nf = 7 if system else 6
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$", s)
        if m:
            env[m.group(1)] = m.group(2)
            continue
        parts = s.split(None, nf - 1)
        t.expect(len(parts) == nf, "crontab line %d: %r" % (n, line))
        for field, (lo, hi) in zip(parts[:5], RANGES):
            t.expect(FIELD.match(field), "crontab line %d field %r"
                     % (n, field))
            for num in re.findall(r"\d+", field.split("/")[0]):
                t.expect(lo <= int(num) <= hi, "crontab line %d: %s out "
                         "of %d-%d" % (n, num, lo, hi))
        cmd = cron_command(parts[-1], n)
        cmds.append((parts[5], cmd) if system else cmd)
    return env, cmds


def cron_command(text, n):
    """The command cron runs for a line's command text: an unescaped '%'
    ends it (what follows is its standard input: never wanted here), and
    cron takes the backslash off each escaped one."""
    t.expect(re.search(r"(?<!\\)%", text) is None, "crontab line %d: a "
             "'%%' not escaped as '\\%%' cuts the command there" % n)
    return text.replace("\\%", "%")

# ---------------------------------------------------------------- namespaces

def in_private_ns(script, *args, env=None, input=None, timeout=60):
    """Run the sh script in a private mount namespace (unshare -m): its
    mounts vanish with it and never reach the host."""
    e = dict(t.base_env())
    e.update(env or {})
    return subprocess.run(["unshare", "-m", "--propagation", "private",
                           "sh", "-c", script, "sh"] + list(args),
                          env=e, input=input, capture_output=True,
                          timeout=timeout)

# ---------------------------------------------------------------- modes

CREATED_MAX = 0o640     # group may read (the web server's group), never others


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def check_private(path, want=None):
    """path is not readable, writable or searchable by others; exactly
    want when given."""
    m = mode_of(path)
    t.expect(not m & 0o007, "%s is mode %o: others have access" % (path, m))
    if want is not None:
        t.eq(oct(m), oct(want), "(mode of %s)" % path)


def _umask0():
    os.umask(0)


def _signed_cgi(smshook, conf, kind="delivered", form=False):
    ev = t.event(kind)
    body = t.form_body(ev) if form else t.json_body(ev)
    e = dict(t.base_env(), GATEWAY_INTERFACE="CGI/1.1",
             REQUEST_METHOD="POST", REMOTE_ADDR="127.0.0.1",
             SMSHOOK_CONFIG=conf, CONTENT_LENGTH=str(len(body)),
             CONTENT_TYPE=t.FORM if form else t.JSON)
    p = subprocess.run([smshook], input=body, env=e, capture_output=True,
                       timeout=30, preexec_fn=_umask0)
    st, _, out = t.parse_cgi(p.stdout)
    t.eq((st, json.loads(out)), (200, {"status": "success"}),
         p.stderr.decode(errors="replace"))
    return ev


def _ctl(smshookctl, conf, *args):
    p = subprocess.run([smshookctl, "-c", conf] + list(args),
                       capture_output=True, text=True, timeout=300,
                       preexec_fn=_umask0, env=t.base_env())
    t.eq(p.returncode, 0, "smshookctl %s: %s" % (" ".join(args), p.stderr))
    return p


def _import_catching_wal(smshookctl, conf, db):
    """smshookctl import, stopped (SIGSTOP) as soon as the database's
    -wal and -shm exist, so their modes can be read before the last
    close removes them; returns {name: mode}."""
    p = subprocess.Popen([smshookctl, "-c", conf, "import"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=_umask0, env=t.base_env())
    seen = {}
    try:
        deadline = time.time() + 120
        while time.time() < deadline and p.poll() is None:
            if os.path.exists(db + "-wal") and os.path.exists(db + "-shm"):
                p.send_signal(signal.SIGSTOP)
                try:
                    for suffix in ("", "-wal", "-shm"):
                        seen[suffix] = mode_of(db + suffix)
                except FileNotFoundError:
                    seen = {}           # closed meanwhile: not seen
                p.send_signal(signal.SIGCONT)
                break
            time.sleep(0.0005)
        out, err = p.communicate(timeout=300)
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGCONT)
            p.kill()
            p.wait()
    t.eq(p.returncode, 0, "import: %s" % err.decode(errors="replace"))
    t.expect(seen, "the import ended before its -wal and -shm were seen")
    return seen


def check_created_modes(smshook, smshookctl, d):
    """Run under umask 0 everything that creates a file: a CGI request
    (spool dir, day file, token table), compress (.gz day), import (the
    SQLite database, -wal, -shm), stats --prometheus (an export to a
    file) and the cron lock; each file is stat()ed. Returns a summary."""
    spool = os.path.join(d, "spool")
    db = os.path.join(d, "db", "smshook.db")
    os.mkdir(os.path.join(d, "db"), 0o755)
    conf = t.write_conf(d, extra="fsync = no\ndatabase = sqlite:" + db)
    _signed_cgi(smshook, conf)
    check_private(spool, 0o750)
    days = glob.glob(os.path.join(spool, "*.jsonl"))
    t.eq(len(days), 1, "day files")
    check_private(days[0], 0o640)
    check_private(os.path.join(spool, ".replay"), 0o640)
    check_private(os.path.join(spool, ".counters"), 0o640)
    # a closed day: the receiver's own file, moved back in time
    old = os.path.join(spool, "2020-01-01.jsonl")
    os.rename(days[0], old)
    os.utime(old, (time.time() - 3 * 86400,) * 2)
    _ctl(smshookctl, conf, "compress", "--after", "1")
    check_private(old + ".gz", 0o640)
    # enough lines for the import to be caught with its WAL open
    with open(os.path.join(spool, "2020-01-02.jsonl"), "wb") as f:
        for i in range(30000):
            ev = t.event("delivered", smsId="modes-%d" % i)
            f.write(t.v1_line(ev))
    os.chmod(os.path.join(spool, "2020-01-02.jsonl"), 0o640)
    seen = _import_catching_wal(smshookctl, conf, db)
    for suffix, m in seen.items():
        t.eq(oct(m), oct(0o640), "(mode of smshook.db%s)" % suffix)
    check_private(db, 0o640)
    with sqlite3.connect("file:%s?mode=ro" % db, uri=True) as c:
        n = c.execute("SELECT count(*) FROM sms_events").fetchone()[0]
    t.eq(n, 30001, "rows imported")
    prom = os.path.join(d, "smshook.prom")
    _ctl(smshookctl, conf, "stats", "--prometheus", prom)
    # the one exception: counts only, for node_exporter's own user
    t.eq(oct(mode_of(prom)), oct(0o644), "(mode of %s)" % prom)
    check_private(os.path.join(spool, ".smshookctl.lock"), 0o640)
    return "modes: spool 0750; day, .replay, .counters, .gz, db, -wal, " \
        "-shm, lock 0640; prometheus file 0644 (umask 0)"
