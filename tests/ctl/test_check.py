"""smshookctl check tells the truth: it fails, one line per cause,
whenever an event would not be stored right now, and only then.

Causes, each on its own: today's day file, the configuration or a key
file not usable by the receiver's user (checked as that user, --user),
a missing spool_dir that user could not create (nothing is created),
the spool's file system full of bytes or of inodes (a tmpfs in a private
mount namespace), a token table that is not one, a database that does
not answer, a database URL that is not one, a database of another
shape.
--quiet says it with the exit status alone."""
import os
import pwd
import shutil
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from ctlref import SCHEMA, t  # noqa: E402

USER = "nobody"


def setup(extra=""):
    """A world-traversable temp dir, its spool owned by USER."""
    d = t.tmpdir("smshook-check-")
    os.chmod(d, 0o755)
    spool = os.path.join(d, "spool")
    os.mkdir(spool, 0o750)
    conf = t.write_conf(d, extra=extra)
    pw = pwd.getpwnam(USER)
    os.chown(spool, pw.pw_uid, pw.pw_gid)
    os.chown(conf, pw.pw_uid, pw.pw_gid)
    return d, conf, spool


def day_files(spool):
    """The paths of today's day file and, within two minutes of midnight,
    tomorrow's (check's clock may be past it): a test that spoils today's
    spoils both."""
    return [os.path.join(spool, d + ".jsonl") for d in t.days_near()]


def check(conf, *args):
    return t.ctl(conf, "check", "--user", USER, *args)


def fails(p, *words):
    """Exit 1 and one FAIL line holding every word."""
    t.eq(p.returncode, 1, p.stdout + p.stderr)
    lines = [l for l in p.stdout.splitlines() if "FAIL:" in l]
    t.eq(len(lines), 1, p.stdout)
    for w in words:
        t.expect(w in lines[0], "%r lacks %r" % (lines[0], w))
    t.expect("check: FAILED" in p.stdout, p.stdout)


def own(path):
    """Give path to USER, as the receiver's user's files are."""
    pw = pwd.getpwnam(USER)
    os.chown(path, pw.pw_uid, pw.pw_gid)


def as_user(*args):
    """smshookctl args... run as USER (import runs as the receiver's
    user)."""
    return subprocess.run(["runuser", "-u", USER, "--", t.SMSHOOKCTL] +
                          list(args), capture_output=True, text=True,
                          timeout=120)


def test_ok_then_quiet():
    d, conf, spool = setup()
    try:
        os.mkdir(os.path.join(d, "db"), 0o750)
        own(os.path.join(d, "db"))
        db = os.path.join(d, "db", "x.db")
        with open(conf, "a") as f:
            f.write("database = sqlite:%s\n" % db)
        p = check(conf)
        t.eq(p.returncode, 0, p.stdout + p.stderr)
        t.expect("checking as nobody" in p.stdout and "check: ok" in
                 p.stdout and "no tables yet (import makes them)" in
                 p.stdout, p.stdout)
        t.expect(not os.path.exists(db), "check made the database")
        p = check(conf, "--quiet")
        t.eq((p.returncode, p.stdout), (0, ""))
        p = as_user("-c", conf, "import")
        t.eq(p.returncode, 0, p.stderr)
        p = check(conf)
        t.eq(p.returncode, 0, p.stdout + p.stderr)
        t.expect("reachable, schema version " + SCHEMA in p.stdout, p.stdout)
    finally:
        shutil.rmtree(d)


def test_example_conf():
    """conf-examples/smshook.conf, its three paths pointed into a temp
    dir and nothing else changed, is a configuration that works: check
    says ok, the receiver stores a signed event with it, import reads it."""
    d = t.tmpdir("smshook-example-")
    try:
        os.chmod(d, 0o755)
        with open(os.path.join(t.TOP, "conf-examples", "smshook.conf")) as f:
            text = f.read()
        for old, new in (("/etc/smshook/app.key", d + "/app.key"),
                         ("/var/spool/smshook", d + "/spool"),
                         ("/var/lib/smshook/smshook.db", d + "/smshook.db")):
            t.expect(old in text, "%s in the example" % old)
            text = text.replace(old, new)
        conf = os.path.join(d, "smshook.conf")
        with open(conf, "w") as f:
            f.write(text)
        with open(os.path.join(d, "app.key"), "w") as f:
            f.write(t.KEY + "\n")
        os.chmod(os.path.join(d, "app.key"), 0o600)
        os.chmod(conf, 0o600)
        p = t.ctl(conf, "check", "--user", "root")
        t.eq(p.returncode, 0, p.stdout + p.stderr)
        t.expect("check: ok" in p.stdout, p.stdout)
        body = t.ctl(conf, "sign", "--event", "delivered").stdout
        st, _, answer, log = t.cgi(conf, body=body.encode())
        t.eq((st, answer), (200, b'{"status":"success"}'), log)
        p = t.ctl(conf, "import", "-v")
        t.eq(p.returncode, 0, p.stderr)
        t.expect("1 rows inserted" in p.stdout, p.stdout)
    finally:
        shutil.rmtree(d)


def test_day_file_not_writable():
    d, conf, spool = setup()
    try:
        # today's day file, and near midnight tomorrow's, as check may
        # take either for today
        paths = day_files(spool)
        for path in paths:
            with open(path, "w") as f:
                f.write("")
            os.chmod(path, 0o600)	# root's: nobody cannot append
        fails(check(conf), "today's day file", "Permission denied",
              "chown")
        p = check(conf, "-q")
        t.eq((p.returncode, p.stdout), (1, ""))
        # the receiver agrees: 503
        pw = pwd.getpwnam(USER)
        for path in paths:
            os.chown(path, pw.pw_uid, pw.pw_gid)
        t.eq(check(conf).returncode, 0)
    finally:
        shutil.rmtree(d)


def test_file_attributes():
    """chattr: an immutable day file is named as such, not as one to
    chown; an append-only spool_dir, where check's own probe file (and
    compress's and purge's files) cannot be removed, is a fault naming
    it, not a file left behind at every run in silence."""
    d, conf, spool = setup()
    paths = day_files(spool)
    try:
        for path in paths:
            with open(path, "w") as f:
                f.write("")
            own(path)
            p = subprocess.run(["chattr", "+i", path], capture_output=True,
                               text=True)
            t.eq(p.returncode, 0, "chattr on the spool's file system "
                 "(ext4 or another that has attributes): " + p.stderr)
        fails(check(conf), "today's day file", "Operation not permitted",
              "a file attribute forbids it")
        for path in paths:
            subprocess.run(["chattr", "-i", path], check=True)
        t.eq(check(conf).returncode, 0)
        subprocess.run(["chattr", "+a", spool], check=True)
        fails(check(conf), "spool_dir %s does not let files be removed"
              % spool, "chattr -a")
    finally:
        subprocess.run(["chattr", "-i", "-a", spool] + paths,
                       capture_output=True)
        shutil.rmtree(d)


def test_config_not_readable():
    d, conf, spool = setup()
    try:
        os.chown(conf, 0, 0)		# 0600 root's
        fails(check(conf), "cannot read the configuration", "0640")
    finally:
        shutil.rmtree(d)


def test_key_file_not_readable():
    """Every app_key_file is opened as the receiver's user; an unreadable
    one is named, its key never printed."""
    d, conf, spool = setup()
    try:
        keys = []
        for name, key in (("good.key", "k" * 32), ("bad.key", "s" * 32)):
            path = os.path.join(d, name)
            with open(path, "w") as f:
                f.write(key + "\n")
            os.chmod(path, 0o640)
            keys.append(path)
        os.chown(keys[0], 0, pwd.getpwnam(USER).pw_gid)
        with open(conf, "a") as f:
            f.write("app_key_file = good.key\napp_key_file = %s\n"
                    % keys[1])
        p = check(conf)
        fails(p, "cannot read app_key_file", keys[1], "Permission denied",
              "0640")
        t.expect("good.key" not in p.stdout.split("FAIL:")[1], p.stdout)
        t.expect("s" * 32 not in p.stdout and "k" * 32 not in p.stdout,
                 p.stdout)
        os.chown(keys[1], 0, pwd.getpwnam(USER).pw_gid)
        p = check(conf)
        t.eq(p.returncode, 0, p.stdout + p.stderr)
        t.expect("2 key files" in p.stdout, p.stdout)
    finally:
        shutil.rmtree(d)


def test_missing_spool():
    """A missing spool_dir is not made: it is fine if the receiver's user
    could make it where the receiver would (mode 0750, in a folder that
    exists), a cause otherwise, and nothing is left behind."""
    d, conf, spool = setup()
    try:
        os.rmdir(spool)
        pw = pwd.getpwnam(USER)
        before = sorted(os.listdir(d))
        # as root without --user: no owner to tell the receiver's user
        fails(t.ctl(conf, "check"), spool, "does not exist", "--user")
        t.eq(sorted(os.listdir(d)), before)
        # d is root's, 0755: nobody could not make it
        fails(check(conf), spool, "cannot create it in %s:" % d,
              "Permission denied", "mode 0750")
        # nor anyone in a folder that does not exist
        other = t.write_conf(d, spool=os.path.join(d, "none", "spool"),
                             name="other.conf")
        os.chown(other, pw.pw_uid, pw.pw_gid)
        fails(check(other), "cannot create it in %s:" % os.path.join(
              d, "none"), "No such file or directory")
        fails(t.ctl(other, "check", "--user", "root"), "No such file")
        before = sorted(os.listdir(d))
        os.chown(d, pw.pw_uid, pw.pw_gid)	# now it could
        p = check(conf)
        t.eq(p.returncode, 0, p.stdout + p.stderr)
        t.expect("%s: none yet" % spool in p.stdout and "inodes free" in
                 p.stdout, p.stdout)
        t.eq(sorted(os.listdir(d)), before)
    finally:
        shutil.rmtree(d)


def test_replay_table_not_a_table():
    """A file at the token table's path that is not one is a note: the
    receiver sets it aside and stores the event. With replay_window = 0
    the table is not used, so not checked."""
    d, conf, spool = setup()
    try:
        path = os.path.join(spool, ".replay")
        with open(path, "wb") as f:
            f.write(b"garbage!" * 100)
        # one the receiver's user cannot open to set aside, a directory:
        # faults (the receiver would store without a duplicate check)
        os.chmod(path, 0o644)
        fails(check(conf), "replay table %s is not writable" % path)
        os.rename(path, path + ".x")
        os.mkdir(path)
        os.chown(path, *owner(spool))
        fails(check(conf), "replay table %s is not writable" % path)
        os.rmdir(path)
        os.rename(path + ".x", path)
        os.chown(path, *owner(spool))
        p = check(conf)
        t.eq(p.returncode, 0, p.stdout + p.stderr)
        t.expect("note: %s is not a replay table" % path in p.stdout,
                 p.stdout)
        os.chown(conf, 0, 0)
        body = t.ctl(conf, "sign", "--event", "delivered").stdout
        st, _, answer, log = t.cgi(conf, body=body.encode())
        t.eq((st, answer), (200, b'{"status":"success"}'), log)
        t.expect(any(n.startswith(".replay.bad") for n in os.listdir(spool)),
                 os.listdir(spool))
        for name in os.listdir(spool):	# the receiver ran as root here
            own(os.path.join(spool, name))
        own(conf)
        os.chown(path, 0, 0)
        os.chmod(path, 0o600)		# root's: nobody cannot use it
        fails(check(conf), "replay table", "Permission denied")
        with open(conf, "a") as f:
            f.write("replay_window = 0\ntimestamp_tolerance = 0\n")
        p = check(conf)
        t.eq(p.returncode, 0, p.stdout + p.stderr)
        t.expect("replay table: off (replay_window = 0)" in p.stdout,
                 p.stdout)
    finally:
        shutil.rmtree(d)


def test_proxies_trust_everyone():
    """trusted_proxies that holds every address (0.0.0.0/0, ::/0, or a
    wider IPv6 range holding all of IPv4) lets each client name its own
    address: a fault beside allow_from, which it voids; a note without
    it. The proxies' own addresses: ok."""
    for proxies, allow, want in (
            ("0.0.0.0/0", "203.0.113.0/24", "fault"),
            ("10.0.0.0/8 ::/0", "203.0.113.0/24", "fault"),
            ("::ffff:0:0/96", "203.0.113.0/24", "fault"),
            ("0.0.0.0/0", None, "note"),
            ("10.0.0.0/8 2001:db8::/32", "203.0.113.0/24", None),
            ("0.0.0.0/1", "203.0.113.0/24", None)):
        extra = "trusted_proxies = " + proxies
        if allow is not None:
            extra += "\nallow_from = " + allow
        d, conf, spool = setup(extra)
        try:
            p = check(conf)
            if want == "fault":
                fails(p, "trusted_proxies holds every client's address",
                      "allow_from keeps no one out")
                continue
            t.eq(p.returncode, 0, p.stdout + p.stderr)
            t.eq("note: trusted_proxies holds every client" in p.stdout,
                 want == "note", "%s: %s" % (proxies, p.stdout))
        finally:
            shutil.rmtree(d)


def test_counters_not_writable():
    """Answer counters the receiver's user cannot write (made by root
    testing by hand): the receiver counts nothing, and stats and the
    alerts on its answers see none; a fault, until chowned. With
    counters = no, not looked at; none yet, nothing to say."""
    d, conf, spool = setup()
    try:
        path = os.path.join(spool, ".counters")
        p = check(conf)
        t.eq(p.returncode, 0, p.stdout + p.stderr)
        t.expect("answer counters" not in p.stdout, p.stdout)
        os.chown(conf, 0, 0)
        st, _, answer, log = t.cgi(conf, body=b"{}")	# as root
        t.eq((st, answer), (200, b'{"status":"ok"}'), log)
        own(conf)
        t.eq(os.stat(path).st_uid, 0, "made by root")
        os.chmod(path, 0o640)
        fails(check(conf), "answer counters %s is not writable" % path,
              "Permission denied", "chown it to the receiver's user")
        with open(conf, "a") as f:
            f.write("counters = no\n")
        p = check(conf)
        t.eq(p.returncode, 0, p.stdout + p.stderr)
        own(path)
        with open(conf) as f:
            text = f.read().replace("counters = no\n", "")
        with open(conf, "w") as f:
            f.write(text)
        p = check(conf)
        t.eq(p.returncode, 0, p.stdout + p.stderr)
        t.expect("answer counters %s: writable" % path in p.stdout,
                 p.stdout)
        # cut short (or another program's): the receiver counts nothing
        # in it; remove it, and the receiver makes a new one
        os.truncate(path, 100)
        fails(check(conf), "answer counters %s: not a counters file" % path,
              "remove it")
        # a link in its place, dangling: the receiver opens no link
        os.unlink(path)
        os.symlink(os.path.join(d, "elsewhere"), path)
        fails(check(conf), "answer counters %s is not writable" % path,
              "remove it")
    finally:
        shutil.rmtree(d)


def test_read_access():
    """The receiver reads what it writes: today's day file (its tail) and,
    with fsync = yes, spool_dir (to sync it). Write access alone is a
    fault, not ok."""
    d, conf, spool = setup()
    try:
        nogroup = pwd.getpwnam(USER).pw_gid
        paths = day_files(spool)
        for path in paths:
            with open(path, "w") as f:
                f.write("")
            os.chown(path, 0, nogroup)
            os.chmod(path, 0o620)	# nobody may append, not read
        fails(check(conf), "today's day file", "Permission denied")
        for path in paths:
            os.chmod(path, 0o640 | 0o020)
        t.eq(check(conf).returncode, 0)
        os.chown(spool, 0, nogroup)
        os.chmod(spool, 0o730)		# nobody may add files, not list
        fails(check(conf), "spool_dir", "not readable", "fsync = yes")
        with open(conf, "a") as f:
            f.write("fsync = no\n")
        p = check(conf)
        t.eq(p.returncode, 0, p.stdout + p.stderr)
    finally:
        shutil.rmtree(d)


def test_root_spool_without_user():
    """As root without --user, a spool_dir owned by root names no
    receiver's user: a fault, not a check done as root."""
    d, conf, spool = setup()
    try:
        os.chown(spool, 0, 0)
        p = t.ctl(conf, "check")
        fails(p, spool, "root's", "--user")
        t.expect("checking as" not in p.stdout, p.stdout)
        p = t.ctl(conf, "check", "--user", "root")
        t.eq(p.returncode, 0, p.stdout + p.stderr)
        # a --user that does not exist is a usage error: nothing is
        # said on stdout, where a script would look for the last line
        p = t.ctl(conf, "check", "--user", "nosuchuser-smshook")
        t.eq(p.returncode, 2, p.stderr)
        t.eq(p.stdout, "", "(nothing checked)")
        t.expect("--user nosuchuser-smshook: no such user" in p.stderr,
                 p.stderr)
    finally:
        shutil.rmtree(d)


def in_tmpfs(d, conf, size, inodes, fill, *args):
    """Run check with spool_dir a fresh tmpfs (private namespace)."""
    spool = os.path.join(d, "spool")
    script = ("set -e; mount -t tmpfs -o size=%s,nr_inodes=%d,mode=0750 "
              "tmpfs %s; chown %s %s; %s; exec %s -c %s check --user %s %s"
              % (size, inodes, spool, USER, spool, fill, t.SMSHOOKCTL, conf,
                 USER, " ".join(args)))
    return subprocess.run(["unshare", "-m", "--propagation", "private",
                           "sh", "-c", script], capture_output=True,
                          text=True, timeout=60)


def test_full_file_system():
    d, conf, spool = setup()
    try:
        p = in_tmpfs(d, conf, "1m", 1000, "true", "--min-free", "100k",
                     "--min-inodes", "10")
        t.eq(p.returncode, 0, p.stdout + p.stderr)
        p = in_tmpfs(d, conf, "1m", 1000, "dd if=/dev/zero of=%s/fill "
                     "bs=64k count=15 2>/dev/null || true" % spool,
                     "--min-free", "100k", "--min-inodes", "10")
        fails(p, "bytes free, below 102400", "compress and purge")
        p = in_tmpfs(d, conf, "1m", 40, "for i in $(seq 35); do : > "
                     "%s/f$i; done" % spool, "--min-free", "1",
                     "--min-inodes", "10")
        fails(p, "inodes free, below 10")
    finally:
        shutil.rmtree(d)


def test_database_faults():
    for url, words in [("postgresql://smshook@127.0.0.1:1/none",
                        ["database:", "postgresql"]),
                       ("mysql://x/y", ["database:", "expected sqlite"]),
                       ("postgressql://u:s3cret@h/db",
                        ["database", '"postgressql:"', "expected sqlite"])]:
        d, conf, spool = setup("database = " + url)
        try:
            p = check(conf)
            fails(p, *words)
            t.expect("x/y" not in p.stdout or "mysql" in p.stdout, p.stdout)
            t.expect("s3cret" not in p.stdout + p.stderr, p.stdout)
            p = t.ctl(conf, "import")
            t.eq(p.returncode, 1, p.stderr)
            t.expect("s3cret" not in p.stdout + p.stderr, p.stderr)
        finally:
            shutil.rmtree(d)
    # a database of another shape
    d, conf, spool = setup()
    try:
        own(d)				# the database's folder is the user's
        db = os.path.join(d, "other.db")
        sql_as(db, spool, "CREATE TABLE sms_events (x TEXT)")
        with open(conf, "a") as f:
            f.write("database = sqlite:%s\n" % db)
        fails(check(conf), "database:", "no such",
              "not this version's")
        t.eq(tables(db), ["sms_events"], "(check changed nothing)")
    finally:
        shutil.rmtree(d)
    # no sms_events yet, but another table import uses of another shape;
    # then this version's tables with one of them wrong
    d, conf, spool = setup()
    try:
        dbdir = os.path.join(d, "db")	# the receiver's, as its spool
        os.mkdir(dbdir)
        os.chown(dbdir, *owner(spool))
        db = os.path.join(dbdir, "stray.db")
        sql_as(db, spool, "CREATE TABLE smshook_positions (z TEXT)")
        with open(conf, "a") as f:
            f.write("database = sqlite:%s\n" % db)
        fails(check(conf), "database:", "table smshook_positions has not "
              "the columns source, day, byte_offset, gz_size")
        os.unlink(db)
        t.eq(t.ctl(conf, "import").returncode, 0)
        sql_as(db, spool, "DROP TABLE smshook_rejects",
               "CREATE TABLE smshook_rejects (x)")
        fails(check(conf), "database:", "table smshook_rejects has not")
        # this version's tables, but a file the receiver's user (who
        # runs import) cannot write
        sql_as(db, spool, "DROP TABLE smshook_rejects")
        p = check(conf)
        t.eq(p.returncode, 0, p.stdout)
        os.chown(db, 0, 0)
        os.chmod(db, 0o644)
        fails(check(conf), "database: sqlite %s: import cannot write it"
              % db)
        # the file the user's, its folder not: SQLite cannot make the
        # -wal and -shm files beside it, and import fails
        os.chown(db, *owner(spool))
        os.chown(dbdir, 0, 0)
        os.chmod(dbdir, 0o755)
        fails(check(conf), "database: sqlite %s: import cannot make its "
              "-wal and -shm files in %s" % (db, dbdir))
        p = as_user("-c", conf, "import")
        t.eq(p.returncode, 1, p.stdout + p.stderr)
    finally:
        shutil.rmtree(d)
    # no file, and none can be made where it should be
    d, conf, spool = setup("database = sqlite:/nonexistent/smshook.db")
    try:
        fails(check(conf), "database:", "/nonexistent/smshook.db",
              "import cannot create it")
    finally:
        shutil.rmtree(d)
    # no path at all: import refuses it, so check does too
    for url in ("sqlite:", "sqlite://"):
        d, conf, spool = setup("database = " + url)
        try:
            fails(check(conf), "database: sqlite: empty path")
        finally:
            shutil.rmtree(d)
    # no known kind: the line to fix is named, not a chown, and a
    # keyword form's password is not shown
    d, conf, spool = setup("database = host=db password=hunter2")
    try:
        p = check(conf)
        fails(p, "expected sqlite:PATH", 'check "database =" in')
        t.expect("hunter2" not in p.stdout + p.stderr and "chown" not in
                 p.stdout, p.stdout)
    finally:
        shutil.rmtree(d)
    # a folder root may use and the receiver's user may not: checked as
    # that user, as import runs
    d, conf, spool = setup()
    try:
        private = os.path.join(d, "db")
        os.mkdir(private, 0o700)
        with open(conf, "a") as f:
            f.write("database = sqlite:%s/x.db\n" % private)
        fails(check(conf), "database:", private)
        p = t.ctl(conf, "check", "--user", "root")
        t.eq(p.returncode, 0, p.stdout + p.stderr)
    finally:
        shutil.rmtree(d)


def sql_as(db, like, *sql):
    """Run sql on the SQLite file db, then give it (and its -wal, -shm)
    to the owner of like."""
    c = sqlite3.connect(db)
    for q in sql:
        c.execute(q)
    c.commit()
    c.close()
    for n in os.listdir(os.path.dirname(db)):
        if n.startswith(os.path.basename(db)):
            os.chown(os.path.join(os.path.dirname(db), n), *owner(like))


def owner(path):
    """(uid, gid) of path."""
    st = os.stat(path)
    return st.st_uid, st.st_gid


def tables(path):
    c = sqlite3.connect(path)
    try:
        return sorted(r[0] for r in c.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"))
    finally:
        c.close()


def test_old_schema_not_migrated():
    """A database of version 1 is import's to migrate: check says so, and
    leaves it as it is."""
    d, conf, spool = setup()
    try:
        own(d)				# the database's folder is the user's
        db = os.path.join(d, "v1.db")
        c = sqlite3.connect(db)
        c.execute("PRAGMA journal_mode=WAL")
        c.executescript(
            "CREATE TABLE sms_events (id INTEGER PRIMARY KEY, event_type "
            "INTEGER, event TEXT, sms_id TEXT, phone TEXT, user_id TEXT, "
            "sms_user TEXT, template_id TEXT, message TEXT, status_code "
            "INTEGER, event_time INTEGER, received_at TEXT, payload TEXT "
            "NOT NULL);"
            "INSERT INTO sms_events (event_type, sms_id, payload) VALUES "
            "(1, 'a', '{}');")
        c.commit()
        c.close()
        own(db)
        with open(conf, "a") as f:
            f.write("database = sqlite:%s\n" % db)
        p = check(conf)
        t.eq(p.returncode, 0, p.stdout + p.stderr)
        t.expect("schema version 1 (import migrates it to %s)" % SCHEMA in
                 p.stdout, p.stdout)
        t.eq(tables(db), ["sms_events"], "(check changed nothing)")
        t.eq(sorted(os.listdir(d)), ["smshook.conf", "spool", "v1.db"],
             "(no file left beside it)")
        # its folder root's: the user could not even read it (WAL)
        os.chown(d, 0, 0)
        fails(check(conf), "database:", "-wal and -shm files in %s" % d)
    finally:
        shutil.rmtree(d)


def test_root_makes_the_users_database():
    """import run once as root makes the SQLite file its folder's owner's
    (and so its -wal and -shm files): the user's cron imports next, and
    check as that user says ok."""
    d, conf, spool = setup()
    try:
        dbdir = os.path.join(d, "db")
        os.mkdir(dbdir, 0o750)
        own(dbdir)
        db = os.path.join(dbdir, "x.db")
        with open(conf, "a") as f:
            f.write("database = sqlite:%s\n" % db)
        with open(os.path.join(spool, "2020-01-02.jsonl"), "wb") as f:
            f.write(t.v1_line(t.event(smsId="a")))
        own(os.path.join(spool, "2020-01-02.jsonl"))
        p = t.ctl(conf, "import")
        t.eq(p.returncode, 0, p.stderr)
        t.eq(owner(db), owner(dbdir), "(the database's owner)")
        t.eq(os.stat(db).st_mode & 0o777, 0o640)
        with open(os.path.join(spool, "2020-01-03.jsonl"), "wb") as f:
            f.write(t.v1_line(t.event(smsId="b")))
        own(os.path.join(spool, "2020-01-03.jsonl"))
        p = as_user("-c", conf, "import")
        t.eq(p.returncode, 0, p.stdout + p.stderr)
        t.eq(check(conf).returncode, 0)
        t.eq([n for n in os.listdir(dbdir) if owner(os.path.join(dbdir, n))
              != owner(dbdir)], [], "(files of root's left)")
    finally:
        shutil.rmtree(d)


def main():
    r = t.Runner("ctl-check")
    if os.getuid() != 0:
        r.check("runs as root (checks as another user)",
                lambda: t.expect(False, "not root"))
        return r.finish()
    return r.check_all(globals())


if __name__ == "__main__":
    sys.exit(main())
