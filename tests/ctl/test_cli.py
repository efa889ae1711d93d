"""smshookctl check, sign, verify, stats and every command's --help.

sign's output goes through the real receiver (CGI mode) for every event
type and both encodings; verify and stats run on spools it produced.
"""
import calendar
import gzip
import json
import os
import pwd
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import smshooktest as t  # noqa: E402

CTL = t.SMSHOOKCTL
TYPES = ["requested", "delivered", "suppressed", "failed", "template"]
CODES = {"requested": 1, "delivered": 20, "suppressed": 4, "failed": 5,
         "template": 8}
COMMANDS = ["check", "sign", "verify", "stats", "import", "export",
            "optouts",
            "compress", "purge"]
NOBODY = 65534


def ctl(conf, *args, user=None, env=None):
    """Run smshookctl -c conf args...; returns CompletedProcess (text)."""
    cmd = [CTL] + (["-c", conf] if conf else []) + list(args)
    if user is not None:
        cmd = ["setpriv", "--reuid=%d" % user, "--regid=%d" % user,
               "--clear-groups"] + cmd
    e = dict(os.environ)
    e.pop("SMSHOOK_CONFIG", None)
    e.update(env or {})
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                          env=e)


def setup(extra="fsync = no"):
    d = t.tmpdir()
    conf = t.write_conf(d, extra)
    return d, conf, os.path.join(d, "spool")


def post(conf, body, form=False):
    status, _, out, err = t.cgi(conf, body=body,
                                ctype=t.FORM if form else t.JSON)
    return status, out, err


def day_files(spool):
    return sorted(n for n in os.listdir(spool) if n.endswith(".jsonl"))


def sign_and_post(conf, kind, form=False, *extra):
    p = ctl(conf, "sign", "--event", kind, *(["--form"] if form else []),
            *extra)
    t.eq(p.returncode, 0, p.stderr)
    if form:	# no newline into a pipe: it would end the signature
        t.expect("\n" not in p.stdout, "form: %r" % p.stdout)
    else:
        t.expect(p.stdout.endswith("\n") and p.stdout.count("\n") == 1,
                 "one line: %r" % p.stdout)
    return p.stdout, post(conf, p.stdout.encode(), form)

# ---------------------------------------------------------------- sign


def test_sign_every_type_json_and_form():
    d, conf, spool = setup()
    try:
        n = 0
        for kind in TYPES:
            for form in (False, True):
                body, (status, out, err) = sign_and_post(conf, kind, form)
                t.eq(status, 200, "%s form=%s: %s %s" % (kind, form, out,
                                                          err))
                t.eq(json.loads(out), {"status": "success"})
                n += 1
                lines = t.spool_lines(spool)
                t.eq(len(lines), n)
                rec = lines[-1][1]
                t.eq(rec["verified"], True)
                t.eq(rec["encoding"], "form" if form else "json")
                p = rec["payload"]
                t.eq(str(p["eventType"]), str(CODES[kind]))
                t.eq(len(p["token"]), 50)
                t.expect(p["token"].isalnum(), p["token"])
                t.eq(len(str(p["timestamp"])), 13)
                # every field of the provider's sample is there
                for field in t.SAMPLES[kind]:
                    t.expect(field in p, "%s lacks %s" % (kind, field))
    finally:
        shutil.rmtree(d)


def test_sign_json_fields_and_signature():
    d, conf, _ = setup()
    try:
        p = ctl(conf, "sign", "--event", "requested", "--token", "T" * 50,
                "--timestamp", "1652150994087", "--sms-id",
                "1652150994014_9373_14466_36735_99drnc$13888888888")
        t.eq(p.returncode, 0, p.stderr)
        ev = json.loads(p.stdout)
        t.eq(ev["event"], "Requested")
        t.eq(ev["eventType"], 1)
        t.eq(ev["smsIds"],
             ["1652150994014_9373_14466_36735_99drnc$13888888888"])
        t.eq(ev["phones"], ["13888888888"])
        t.eq(ev["customArgs"], {})
        t.eq(ev["timestamp"], 1652150994087)
        t.eq(ev["token"], "T" * 50)
        t.eq(ev["signature"], t.sign(t.KEY, 1652150994087, "T" * 50))
    finally:
        shutil.rmtree(d)


def test_sign_form_encoding():
    d, conf, _ = setup()
    try:
        p = ctl(conf, "sign", "--event", "requested", "--form",
                "--timestamp", "1652150994087", "--sms-id",
                "1652150994014_9373_14466_36735_99drnc$13888888888")
        t.eq(p.returncode, 0, p.stderr)
        body = p.stdout.strip()
        t.expect("$" not in body and " " not in body and "[" not in body,
                 "not percent-encoded: %s" % body)
        f = dict(urllib.parse.parse_qsl(body, strict_parsing=True))
        t.eq(json.loads(f["smsIds"]),
             ["1652150994014_9373_14466_36735_99drnc$13888888888"])
        t.eq(json.loads(f["customArgs"]), {})
        t.eq(f["eventType"], "1")
        t.eq(f["timestamp"], "1652150994087")
        t.eq(f["signature"], t.sign(t.KEY, "1652150994087", f["token"]))
    finally:
        shutil.rmtree(d)


def test_sign_fresh_ids_and_reply():
    """Each signed event names a new message, so test events do not
    collapse into one row; a reply sample is there too."""
    d, conf, _ = setup()
    try:
        ids = set()
        for _ in range(4):
            p = ctl(conf, "sign", "--event", "delivered")
            t.eq(p.returncode, 0, p.stderr)
            ids.add(json.loads(p.stdout)["smsId"])
        t.eq(len(ids), 4, "four fresh ids: %r" % ids)
        for i in ids:
            t.expect(re.fullmatch(r"\d{13}_19999_376_4631_[A-Za-z0-9]{6}"
                                  r"\$13888888888", i), i)
        p = ctl(conf, "sign", "--event", "reply")
        ev = json.loads(p.stdout)
        t.eq((ev["event"], ev["eventType"], ev["replyContent"]),
             ("reply", 6, "TD"))
        t.expect(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d",
                              ev["replyTime"]), ev["replyTime"])
        status, out, err = post(conf, p.stdout.encode())
        t.eq(status, 200, "%r %s" % (out, err))
        p = ctl(conf, "sign", "--sms-id", "")
        t.eq(p.returncode, 2, "an empty --sms-id is a usage error")
        # what the receiver would refuse: not UTF-8, or an id for an
        # event that names no message (it would be left out unseen)
        bad = os.fsdecode(b"ab\xffcd")
        for args in (("--token", bad), ("--sms-id", bad),
                     ("--event", "reply", "--sms-id", "X1"),
                     ("--event", "template", "--sms-id", "X1")):
            p = ctl(conf, "sign", *args)
            t.eq((p.returncode, p.stdout), (2, ""), "%s: %s" % (args,
                                                                p.stderr))
            t.expect("UTF-8 text" in p.stderr or "names no message" in
                     p.stderr, p.stderr)
        # an id that reads as a placeholder stays itself
        for sid in ("NOW", "ID"):
            p = ctl(conf, "sign", "--sms-id", sid)
            t.eq(json.loads(p.stdout)["smsId"], sid)
        p = ctl(conf, "sign", "--timestamp", "165215099408")
        t.eq(p.returncode, 2, "12 digits are not a timestamp")
        p = ctl(conf, "sign", "--timestamp", "-165215099408")
        t.eq(p.returncode, 2, "a sign and 12 digits are not a timestamp")
        p = ctl(conf, "sign", "-k", "")
        t.eq(p.returncode, 2, "an empty key is a usage error")
        # the samples' status codes are the provider's own
        for kind, code in (("suppressed", 430), ("failed", 500)):
            p = ctl(conf, "sign", "--event", kind)
            t.eq(json.loads(p.stdout)["statusCode"], code, kind)
    finally:
        shutil.rmtree(d)


def test_sign_provider_names():
    d, conf, _ = setup()
    try:
        for name, code in [("Delivered", 20), ("deliver", 20), ("2", 20),
                           ("Template Verify", 8), ("templateVerify", 8),
                           ("workererror", 4), ("delivererror", 5),
                           ("request", 1)]:
            p = ctl(conf, "sign", "--event", name)
            t.eq(p.returncode, 0, name + p.stderr)
            t.eq(json.loads(p.stdout)["eventType"], code, name)
        p = ctl(conf, "sign", "--event", "bounced")
        t.eq(p.returncode, 2)
        t.expect("usage" in p.stderr, p.stderr)
    finally:
        shutil.rmtree(d)


def test_sign_key_without_config():
    p = ctl(None, "sign", "-k", "other", "--token", "abc", "--timestamp",
            "1700000000000", env={"SMSHOOK_CONFIG": "/nonexistent/x.conf"})
    t.eq(p.returncode, 0, p.stderr)
    t.eq(json.loads(p.stdout)["signature"],
         t.sign("other", 1700000000000, "abc"))
    p = ctl(None, "sign", env={"SMSHOOK_CONFIG": "/nonexistent/x.conf"})
    t.eq(p.returncode, 1, "no key and no config must fail")
    t.expect("/nonexistent/x.conf" in p.stderr, p.stderr)


def test_sign_wrong_key_401():
    d, conf, spool = setup()
    try:
        for form in (False, True):
            _, (status, out, _) = sign_and_post(conf, "delivered", form,
                                                "-k", "not-the-key")
            t.eq(status, 401, out)
        t.eq(t.spool_lines(spool), [])
    finally:
        shutil.rmtree(d)


def test_sign_pipe_to_curl_shape():
    """sign's JSON line is exactly a body: the receiver takes it as is."""
    d, conf, spool = setup()
    try:
        p = ctl(conf, "sign")
        ev = json.loads(p.stdout)
        t.eq(ev["event"], "Delivered")
        status, out, _ = post(conf, p.stdout.encode())
        t.eq(status, 200, out)
        status, out, _ = post(conf, p.stdout.encode())
        t.eq(json.loads(out), {"status": "duplicate"})
        t.eq(len(t.spool_lines(spool)), 1)
    finally:
        shutil.rmtree(d)

# ---------------------------------------------------------------- verify


def filled_spool(n_each=1):
    d, conf, spool = setup()
    posted = {k: 0 for k in TYPES}
    for kind in TYPES:
        for i in range(n_each):
            _, (status, out, _) = sign_and_post(conf, kind, i % 2 == 1)
            t.eq(status, 200, out)
            posted[kind] += 1
    return d, conf, spool, posted


def test_verify_clean():
    d, conf, spool, _ = filled_spool()
    try:
        p = ctl(conf, "verify")
        t.eq(p.returncode, 0, p.stdout + p.stderr)
        t.expect("5 lines" in p.stdout and "0 invalid" in p.stdout,
                 p.stdout)
        day = day_files(spool)[0][:10]
        p = ctl(conf, "verify", day)
        t.eq(p.returncode, 0, p.stdout)
        p = ctl(conf, "verify", "2001-01-01")
        t.eq(p.returncode, 1, "a missing day is an error")
        p = ctl(conf, "verify", "2001-02-30")
        t.eq(p.returncode, 2, "not a day: usage")
    finally:
        shutil.rmtree(d)


def test_std_fds_closed():
    """Started with standard input, output and error closed (a careless
    crontab or process manager): they are /dev/null, no file smshookctl
    opens takes their place, and the commands do their work, exit 0;
    but a command whose output is what it is for (stats, export) fails,
    its output gone nowhere."""
    d, conf, spool, _ = filled_spool()
    try:
        db = os.path.join(d, "closed.db")
        for args, rc in ((["verify"], 0), (["stats"], 1),
                         (["import", "-v", "--db", "sqlite:" + db], 0),
                         (["compress", "-v", "--after", "0"], 0),
                         (["export", "--format", "jsonl"], 1)):
            p = subprocess.run(
                ["sh", "-c", 'exec "$@" <&- >&- 2>&-', "sh", t.SMSHOOKCTL,
                 "-c", conf] + args, timeout=60)
            t.eq(p.returncode, rc, "%s with fds 0-2 closed" % args)
        con = sqlite3.connect(db)
        try:
            t.eq(con.execute("SELECT count(*) FROM sms_events").fetchone(),
                 (5,))
        finally:
            con.close()
        p = ctl(conf, "verify")
        t.eq(p.returncode, 0, p.stdout + p.stderr)
        t.expect("5 lines" in p.stdout, p.stdout)
    finally:
        shutil.rmtree(d)


def test_closed_pipe():
    """compress -v into a pipe whose reader is gone (| true): it does its
    work, every day, then fails (exit 1, not killed by SIGPIPE half
    way, its report past the pipe's buffer); export so piped ends at
    once, as a printing command does."""
    d, conf, spool, _ = filled_spool()
    try:
        with open(os.path.join(spool, day_files(spool)[0]), "rb") as f:
            text = f.read()
        days = ["2020-%02d-%02d" % (1 + k // 28, 1 + k % 28)
                for k in range(80)]
        for day in days:			# quiet for long: compressed
            with open(os.path.join(spool, day + ".jsonl"), "wb") as f:
                f.write(text)
            os.utime(os.path.join(spool, day + ".jsonl"), (1e9, 1e9))
        for args, rc in ((["compress", "-v", "--after", "0"], 1),
                         (["export"], -signal.SIGPIPE)):
            r, w = os.pipe()
            os.close(r)
            try:
                p = subprocess.run([t.SMSHOOKCTL, "-c", conf] + args,
                                   stdout=w, stderr=subprocess.PIPE,
                                   text=True, timeout=60)
            finally:
                os.close(w)
            t.eq(p.returncode, rc, "%s | true: %s" % (args, p.stderr))
            t.expect(rc != 1 or "stdout: Broken pipe" in p.stderr, p.stderr)
        t.eq(sorted(n for n in os.listdir(spool) if n.startswith("2020")),
             sorted(day + ".jsonl.gz" for day in days), "days compressed")
    finally:
        shutil.rmtree(d)


def test_file_size_limit():
    """Under a file size limit (ulimit -f) smaller than what it writes,
    export and import fail with exit 1 and a message, as any I/O error
    does, instead of being killed by SIGXFSZ in silence."""
    d, conf, spool, _ = filled_spool(n_each=8)
    try:
        out = os.path.join(d, "out.csv")
        db = os.path.join(d, "limited.db")
        for args, what in ((["export"], "stdout: "),
                           (["import", "--db", "sqlite:" + db], "sqlite: ")):
            with open(out, "wb") as f:
                p = subprocess.run(
                    ["prlimit", "--fsize=8192", t.SMSHOOKCTL, "-c",
                     conf] + args, stdout=f, stderr=subprocess.PIPE,
                    text=True, timeout=60)
            t.eq(p.returncode, 1, "%s: %s" % (args[0], p.stderr))
            t.expect(what in p.stderr and "File too large" in p.stderr,
                     p.stderr)
        p = ctl(conf, "import", "--db", "sqlite:" + db)
        t.eq(p.returncode, 0, p.stderr)
        con = sqlite3.connect(db)
        try:
            t.eq(con.execute("SELECT count(*) FROM sms_events").fetchone(),
                 (40,))
        finally:
            con.close()
    finally:
        shutil.rmtree(d)


def test_no_spool_yet():
    d, conf, spool = setup()
    try:
        t.expect(not os.path.exists(spool))
        p = ctl(conf, "verify")
        t.eq(p.returncode, 0, p.stdout + p.stderr)
        p = ctl(conf, "stats", "--json")
        t.eq(p.returncode, 0, p.stderr)
        t.eq(json.loads(p.stdout)["all"]["total"], 0)
        t.expect(not os.path.exists(spool), "read-only commands mkdir'd")
    finally:
        shutil.rmtree(d)


def test_verify_compressed_day():
    d, conf, spool, _ = filled_spool()
    try:
        path = os.path.join(spool, "2020-01-03.jsonl")
        shutil.copy(os.path.join(spool, day_files(spool)[0]), path)
        with open(path, "ab") as f:
            f.write(b"garbage\n")
        size = os.path.getsize(path)
        subprocess.run(["gzip", "-n", path], check=True)
        p = ctl(conf, "verify")
        t.eq(p.returncode, 1, p.stdout)
        t.expect("%s.gz:%d: invalid line: not JSON" % (path, size - 8)
                 in p.stdout, p.stdout)
        t.expect("2 files, 11 lines, 1 invalid" in p.stdout.splitlines()[-1],
                 p.stdout)
        # a day named twice is read once
        p = ctl(conf, "verify", "2020-01-03", "2020-01-03")
        t.expect("1 file, 6 lines, 1 invalid" in p.stdout.splitlines()[-1],
                 p.stdout)
    finally:
        shutil.rmtree(d)


def test_verify_problems():
    d, conf, spool, _ = filled_spool()
    try:
        path = os.path.join(spool, day_files(spool)[0])
        garbage_at = os.path.getsize(path)
        env = {"v": 1, "received_at": "2026-11-26T16:29:42.123Z",
               "remote_addr": "203.0.113.9", "encoding": "json",
               "verified": True, "payload": {"token": "x"}}
        with open(path, "ab") as f:
            f.write(b"this is not json\n")
            nonenv_at = garbage_at + len(b"this is not json\n")
            nonenv = json.dumps({"hello": "world"}).encode() + b"\n"
            f.write(nonenv)
            nots_at = nonenv_at + len(nonenv)
            f.write(json.dumps(env).encode() + b"\n")
        foreign = os.path.join(spool, "notes.txt")
        with open(foreign, "w") as f:
            f.write("hi\n")
        p = ctl(conf, "verify")
        t.eq(p.returncode, 1, p.stdout)
        out = p.stdout
        t.expect("%s:%d: invalid" % (path, garbage_at) in out, out)
        t.expect("%s:%d: invalid" % (path, nonenv_at) in out, out)
        t.expect("%s:%d: invalid" % (path, nots_at) in out, out)
        t.expect("timestamp" in out, out)
        t.expect("%s:0: foreign" % foreign in out, out)
        t.expect("3 invalid" in out and "1 foreign" in out, out)
        # our own dotfiles are not foreign
        os.unlink(foreign)
        with open(path, "rb") as f:
            good = f.read()[:garbage_at]
        with open(path, "wb") as f:
            f.write(good)
        for name in (".smshookctl.lock", ".replay.bad-1700000000"):
            open(os.path.join(spool, name), "w").close()
        # nor is a spool file system's own lost+found (a folder only)
        os.mkdir(os.path.join(spool, "lost+found"))
        p = ctl(conf, "verify")
        t.eq(p.returncode, 0, p.stdout)
        os.rmdir(os.path.join(spool, "lost+found"))
        open(os.path.join(spool, "lost+found"), "w").close()
        p = ctl(conf, "verify")
        t.eq(p.returncode, 1, p.stdout)
        os.unlink(os.path.join(spool, "lost+found"))
        # a foreign file alone fails too
        os.mkdir(os.path.join(spool, "old"))
        p = ctl(conf, "verify")
        t.eq(p.returncode, 1, p.stdout)
        t.expect(os.path.join(spool, "old") + ":0: foreign" in p.stdout,
                 p.stdout)
        # a day that does not exist is a foreign file, never a day
        os.rmdir(os.path.join(spool, "old"))
        bogus = os.path.join(spool, "2026-02-31.jsonl")
        with open(bogus, "wb") as f:
            f.write(good)
        p = ctl(conf, "verify")
        t.eq(p.returncode, 1, p.stdout)
        t.expect(bogus + ":0: foreign" in p.stdout, p.stdout)
        t.expect("1 foreign" in p.stdout and "0 invalid" in p.stdout,
                 p.stdout)
        p = ctl(conf, "stats")
        t.expect("2026-02-31" not in p.stdout, p.stdout)
    finally:
        shutil.rmtree(d)


def test_verify_incomplete_last_line():
    d, conf, spool, _ = filled_spool()
    try:
        path = os.path.join(spool, day_files(spool)[0])
        at = os.path.getsize(path)
        with open(path, "ab") as f:
            f.write(b'{"v":1,"received_at":"2026-')
        p = ctl(conf, "verify")
        t.eq(p.returncode, 0, p.stdout)
        t.expect("%s:%d: incomplete last line" % (path, at) in p.stdout,
                 p.stdout)
        t.expect("1 incomplete" in p.stdout, p.stdout)
    finally:
        shutil.rmtree(d)

# ---------------------------------------------------------------- stats


def stats_fixture():
    d, conf, spool, posted = filled_spool(2)
    # an unknown code, an older code (2 -> delivered), an unverified line
    day = day_files(spool)[0][:10]
    extra = os.path.join(spool, "2020-01-02.jsonl")
    rec = {"v": 1, "received_at": "2020-01-02T00:00:00.000Z",
           "remote_addr": "127.0.0.1", "encoding": "json", "verified": False,
           "payload": {"eventType": 99, "token": "a", "timestamp": 1}}
    with open(extra, "w") as f:
        f.write(json.dumps(rec) + "\n")
        rec["payload"] = {"eventType": 2, "token": "b", "timestamp": 2}
        rec["verified"] = True
        f.write(json.dumps(rec) + "\n")
        # failed events without a usable statusCode: counted, not dropped
        for i, code in enumerate(({}, {"statusCode": "abc"})):
            rec["payload"] = dict(eventType=5, token="c%d" % i,
                                  timestamp=3, **code)
            f.write(json.dumps(rec) + "\n")
    return d, conf, spool, posted, day


def test_stats_table():
    d, conf, spool, posted, day = stats_fixture()
    try:
        p = ctl(conf, "stats")
        t.eq(p.returncode, 0, p.stderr)
        table, _, fails = p.stdout.partition("\n\n")
        # then the suppressed and failed events by status code
        t.expect("by status code" in fails and "sending failure: number "
                 "does not exist" in fails, fails)
        # then the receiver's own answers: each type posted twice
        t.expect(re.search(r"\n  200  success +%d\n" % sum(posted.values()),
                           fails), fails)
        t.expect("  last event stored: 20" in fails, fails)
        t.expect("import (" not in fails, "no database configured")
        rows = [r.split() for r in table.strip().split("\n")]
        head = rows[0]
        t.eq(head[0], "day")
        t.expect("99" in head, head)
        body = {r[0]: dict(zip(head[1:], map(int, r[1:]))) for r in rows[1:]}
        for kind in TYPES:
            t.eq(body[day][kind], posted[kind], kind)
        t.eq(body[day]["total"], sum(posted.values()))
        t.eq(body[day]["unverified"], 0)
        t.eq(body["2020-01-02"]["99"], 1)
        t.eq(body["2020-01-02"]["delivered"], 1)
        t.eq(body["2020-01-02"]["unverified"], 1)
        t.eq(body["all"]["total"], sum(posted.values()) + 4)
        t.expect(fails.split("\n\n")[0].endswith(
            "\n       -           2  no status code, or not an integer"),
            fails)
        # columns are aligned: every line as long as the header
        lens = {len(r) for r in table.rstrip("\n").split("\n")}
        t.eq(len(lens), 1, p.stdout)
        p = ctl(conf, "stats", "--from", day)
        t.expect("2020-01-02" not in p.stdout, p.stdout)
        p = ctl(conf, "stats", "--to", "2020-01-02")
        table = p.stdout.partition("\n\n")[0]
        t.expect(day not in table and "2020-01-02" in table, p.stdout)
        t.eq(ctl(conf, "stats", "--from", "2020-13-01").returncode, 2)
        t.eq(ctl(conf, "stats", "--from", day, "--to", "2020-01-01")
             .returncode, 2)
    finally:
        shutil.rmtree(d)


def test_stats_json():
    d, conf, spool, posted, day = stats_fixture()
    try:
        p = ctl(conf, "stats", "--json")
        t.eq(p.returncode, 0, p.stderr)
        doc = json.loads(p.stdout)
        days = {x["day"]: x for x in doc["days"]}
        t.eq(sorted(days), ["2020-01-02", day])
        for kind in TYPES:
            t.eq(days[day]["events"][kind], posted[kind])
        t.eq(days["2020-01-02"]["events"]["99"], 1)
        t.eq(days["2020-01-02"]["unverified"], 1)
        t.eq(doc["all"]["total"], sum(posted.values()) + 4)
        t.eq([(f["status_code"], f["stage"], f["count"])
              for f in doc["failures"]],
             [(430, "processing", 2), (500, "sending", 2), (None, None, 2)])
        answers = {(a["status"], a["reason"]): a["count"]
                   for a in doc["receiver"]["answers"]}
        t.eq(answers[(200, "success")], sum(posted.values()))
        t.eq(answers[(401, "signature")], 0)
        t.expect(doc["receiver"]["stored_bytes"] > 0, doc["receiver"])
        t.expect(doc["receiver"]["last_stored_at"].startswith(day),
                 doc["receiver"])
        t.eq(doc["import"], None, "no database configured")
        p = ctl(conf, "stats", "--json", "--from", day)
        t.eq([x["day"] for x in json.loads(p.stdout)["days"]], [day])
    finally:
        shutil.rmtree(d)


def test_stats_import_lag():
    """With a database: what import has not taken yet, and when it last
    ran, in the table and the JSON document; a foreign counters file is
    left out, not read."""
    d, conf, spool, posted, day = stats_fixture()
    try:
        db = os.path.join(d, "ev.db")
        with open(conf, "a") as f:
            f.write("database = sqlite:%s\n" % db)
        doc = json.loads(ctl(conf, "stats", "--json").stdout)
        t.expect(not os.path.exists(db), "stats made the database")
        total = sum(os.path.getsize(os.path.join(spool, n))
                    for n in day_files(spool))
        t.eq((doc["import"]["lag_bytes"], doc["import"]["last_import_at"]),
             (total, None))
        t.expect(doc["import"]["lag_seconds"] > 0, doc["import"])
        p = ctl(conf, "stats")
        t.expect("  not yet imported: %d bytes" % total in p.stdout,
                 p.stdout)
        t.expect("  last import: never" in p.stdout, p.stdout)
        t.eq(ctl(conf, "import").returncode, 0)
        before = (os.stat(db).st_mtime_ns, open(db, "rb").read())
        doc = json.loads(ctl(conf, "stats", "--json").stdout)
        t.eq((os.stat(db).st_mtime_ns, open(db, "rb").read()), before,
             "stats changed the database")
        t.eq(sorted(n for n in os.listdir(d) if n.startswith("ev.db")),
             ["ev.db"], "files left beside the database")
        t.eq((doc["import"]["lag_bytes"], doc["import"]["lag_seconds"]),
             (0, 0))
        t.expect(doc["import"]["last_import_at"].endswith("Z"),
                 doc["import"])
        with open(os.path.join(spool, ".counters"), "r+b") as f:
            f.write(b"not-smshook-cnt\n")
        p = ctl(conf, "stats", "--json")
        t.eq(p.returncode, 0, p.stderr)
        t.eq(json.loads(p.stdout)["receiver"], None)
        t.expect("receiver counters left out: %s/.counters is not a "
                 "counters file" % spool in p.stderr, p.stderr)
        # in the metrics, their series left out, not written as zeros
        # (a reset, to Prometheus)
        prom = os.path.join(d, "x.prom")
        t.eq(ctl(conf, "stats", "--prometheus", prom).returncode, 0)
        text = open(prom).read()
        for name in ("smshook_answers_total", "smshook_stored_bytes_total",
                     "smshook_last_stored_event_timestamp_seconds"):
            t.expect(name not in text, text)
        t.expect("smshook_import_lag_bytes{" in text, text)
        q = subprocess.run(["promtool", "check", "metrics"], input=text,
                           capture_output=True, text=True)
        t.eq(q.returncode, 0, q.stdout + q.stderr)
        # a day cut short outside --from: the lag cannot be known, so
        # the file is named and stats fails, the rest still written
        cut = os.path.join(spool, "2019-12-31.jsonl.gz")
        with open(cut, "wb") as f:
            f.write(gzip.compress(b'{"v":1}\n' * 50)[:-6])
        for args in ([], ["--json"], ["--prometheus", prom]):
            p = ctl(conf, "stats", "--from", day, *args)
            t.eq(p.returncode, 1, p.stderr)
            t.expect("import metrics left out: %s: truncated gzip file"
                     % cut in p.stderr, p.stderr)
            t.expect(p.stdout if args[:1] != ["--prometheus"] else
                     open(prom).read(), "(the rest written)")
        t.expect("smshook_import_lag_bytes{" not in open(prom).read())
        # and without --from, as cron runs it: the day is counted as far
        # as it reads, named, stats fails; every other series is written
        # (one old damaged day must not stop the metrics the alerts read)
        for args in ([], ["--json"], ["--prometheus", prom],
                     ["--prometheus", "-"]):
            if os.path.exists(prom):
                os.unlink(prom)			# written by this run
            p = ctl(conf, "stats", *args)
            t.eq(p.returncode, 1, p.stderr)
            t.expect("%s: truncated gzip file" % cut in p.stderr, p.stderr)
            out = p.stdout if args[-1:] != [prom] else open(prom).read()
            t.expect(out, "(nothing written)")
            if args[:1] == ["--prometheus"]:
                t.expect("smshook_spool_events{" in out, out)
    finally:
        shutil.rmtree(d)


def one_day_not_imported(d, conf, spool, day, before=""):
    """The spool's day files replaced by day's, one line received at its
    midnight (before, some text ahead of it), and an SQLite database
    configured that has imported nothing."""
    for name in day_files(spool):
        os.unlink(os.path.join(spool, name))
    rec = {"v": 1, "received_at": day + "T00:00:00.000Z",
           "remote_addr": "127.0.0.1", "encoding": "json", "verified": True,
           "payload": {"eventType": 20, "token": "a", "timestamp": 1}}
    with open(os.path.join(spool, day + ".jsonl"), "w") as f:
        f.write(before + json.dumps(rec) + "\n")
    with open(conf, "a") as f:
        f.write("database = sqlite:%s\n" % os.path.join(d, "ev.db"))


def test_stats_lag_past_a_reject():
    """The import lag's age is that of the oldest line not imported that
    has a time: a line before it that is not valid (a reject to be) does
    not make it 0."""
    d, conf, spool, posted, day = stats_fixture()
    try:
        one_day_not_imported(d, conf, spool, "2020-01-02", "garbage\n")
        p = ctl(conf, "stats", "--json")
        t.eq(p.returncode, 0, p.stderr)
        lag = json.loads(p.stdout)["import"]["lag_seconds"]
        age = time.time() - calendar.timegm((2020, 1, 2, 0, 0, 0))
        t.expect(abs(lag - age) < 3600, "lag %r, want about %d" % (lag, age))
    finally:
        shutil.rmtree(d)


def test_stats_lag_ahead_of_the_clock():
    """A line received at a time still ahead of the clock (a clock since
    stepped back) is an age of 0, never a negative one, in every form."""
    d, conf, spool, posted, day = stats_fixture()
    try:
        one_day_not_imported(d, conf, spool, "2099-06-01")
        p = ctl(conf, "stats", "--json")
        t.eq(p.returncode, 0, p.stderr)
        t.eq(json.loads(p.stdout)["import"]["lag_seconds"], 0)
        p = ctl(conf, "stats")
        t.expect("-" not in p.stdout.split("not yet imported")[1], p.stdout)
        prom = os.path.join(d, "x.prom")
        t.eq(ctl(conf, "stats", "--prometheus", prom).returncode, 0)
        lags = [ln for ln in open(prom).read().splitlines()
                if ln.startswith("smshook_import_lag_seconds")]
        t.expect(lags and all(float(ln.split()[-1]) == 0 for ln in lags),
                 lags)
    finally:
        shutil.rmtree(d)


def test_stats_long_status_code():
    """A statusCode beyond a double's 15 digits keeps its exact digits in
    the JSON document."""
    d, conf, spool, posted, day = stats_fixture()
    try:
        for name in day_files(spool):
            os.unlink(os.path.join(spool, name))
        with open(os.path.join(spool, "2020-01-02.jsonl"), "wb") as f:
            f.write(t.v1_line(t.event("failed",
                                      statusCode=9007199254740993)))
        p = ctl(conf, "stats", "--json")
        t.eq(p.returncode, 0, p.stderr)
        t.eq([x["status_code"] for x in json.loads(p.stdout)["failures"]],
             [9007199254740993], p.stdout)
    finally:
        shutil.rmtree(d)


def test_readers_make_no_database():
    """purge and optouts only read the database: one not made yet is
    nothing imported (days kept, no replies), and it is not made."""
    d, conf, spool, posted, day = stats_fixture()
    try:
        db = os.path.join(d, "ev.db")
        with open(conf, "a") as f:
            f.write("database = sqlite:%s\n" % db)
        p = ctl(conf, "purge", "--keep-days", "1")
        t.eq(p.returncode, 1, p.stderr)
        t.expect("2020-01-02.jsonl is not fully imported" in p.stderr,
                 p.stderr)
        t.expect(os.path.exists(os.path.join(spool, "2020-01-02.jsonl")))
        p = ctl(conf, "optouts")
        t.eq((p.returncode, p.stdout), (0, "phone,reply,replied_at\n"),
             p.stderr)
        t.expect(not os.path.exists(db), "the database was made")
    finally:
        shutil.rmtree(d)


def untimed(metrics):
    """Metrics text without the line that says when it was written."""
    return "".join(l for l in metrics.splitlines(True)
                   if not l.startswith("smshook_stats_timestamp_seconds "))


def test_stats_prometheus():
    d, conf, spool, posted, day = stats_fixture()
    try:
        prom = os.path.join(d, "smshook.prom")
        with open(prom, "w") as f:
            f.write("stale\n")
        p = ctl(conf, "stats", "--prometheus", prom)
        t.eq(p.returncode, 0, p.stderr)
        t.eq(p.stdout, "", "quiet with --prometheus")
        t.eq([n for n in os.listdir(d) if n.startswith("smshook.prom.")],
             [], "tmp left behind")
        text = open(prom).read()
        t.expect("stale" not in text)
        t.expect("# TYPE smshook_answers_total counter" in text, text)
        # no label that grows with the days: events per type, all days
        t.expect("day=" not in text, text)
        for kind in TYPES:
            t.expect('smshook_spool_events{event="%s"} %d\n'
                     % (kind, posted[kind] + (kind == "delivered") +
                        2 * (kind == "failed")) in text, text)
        # an event code no name is known for: "other", so that the
        # series stay bounded whatever codes come
        t.expect('smshook_spool_events{event="other"} 1\n' in text and
                 'event="99"' not in text, text)
        t.expect('smshook_spool_unverified_events 1\n' in text, text)
        # the receiver's own answers: the fixture posted each type once
        t.expect('smshook_answers_total{status="200",reason="success"} %d\n'
                 % sum(posted.values()) in text, text)
        t.expect('smshook_spool_failed_events{status_code="500"}' in text,
                 text)
        t.expect('smshook_spool_failed_events{status_code="other"} 2\n'
                 in text, text)
        # Prometheus's own linter (scripts/deps.sh installs it)
        q = subprocess.run(["promtool", "check", "metrics"], input=text,
                           capture_output=True, text=True)
        t.eq(q.returncode, 0, q.stdout + q.stderr)
        for line in text.splitlines():
            t.expect(line.startswith("#") or len(line.split(" ")) == 2,
                     line)
        p = ctl(conf, "stats", "--prometheus",
                os.path.join(d, "missing-dir", "x.prom"))
        t.eq(p.returncode, 1)
        # the new file has a name of its own: what another user (or
        # another run) has at FILE.tmp is left alone, never written
        # through: a FIFO (no hang), a link to another file
        other = os.path.join(d, "other")
        with open(other, "w") as f:
            f.write("other\n")
        for leave in (os.mkfifo, lambda tmp: os.symlink(other, tmp),
                      lambda tmp: os.link(other, tmp)):
            leave(prom + ".tmp")
            p = t.ctl(conf, "stats", "--prometheus", prom, timeout=20)
            t.eq(p.returncode, 0, p.stderr)
            t.eq(open(other).read(), "other\n", "written through")
            t.expect(os.path.lexists(prom + ".tmp"), "another's removed")
            os.unlink(prom + ".tmp")
            t.eq(untimed(open(prom).read()), untimed(text))
        # "-": standard output, and not beside --json
        p = ctl(conf, "stats", "--prometheus", "-")
        t.eq((p.returncode, p.stderr), (0, ""))
        t.eq(untimed(p.stdout), untimed(text))
        t.eq(ctl(conf, "stats", "--prometheus", "-", "--json").returncode,
             2)
        # counters = no: the file holds old counts, not the receiver's
        # answers now: left out, not reported as if counted
        with open(conf, "a") as f:
            f.write("counters = no\n")
        p = ctl(conf, "stats", "--prometheus", "-")
        t.eq((p.returncode, p.stderr), (0, ""))
        t.expect("smshook_answers_total" not in p.stdout and
                 "smshook_last_stored" not in p.stdout, p.stdout)
        p = ctl(conf, "stats", "--json")
        t.eq((p.returncode, json.loads(p.stdout)["receiver"]), (0, None))
    finally:
        shutil.rmtree(d)

# ---------------------------------------------------------------- check


def test_root_in_users_spool():
    """compress run as root in a spool its owner (nobody) can write
    never writes through what that owner put at its temporary names, and
    leaves its cron lock to that owner."""
    d, conf, spool = setup()
    try:
        nobody = pwd.getpwnam("nobody")
        os.makedirs(spool)
        os.chown(spool, nobody.pw_uid, nobody.pw_gid)
        victim = os.path.join(d, "victim")
        with open(victim, "w") as f:
            f.write("victim\n")
        old = time.time() - 3 * 86400
        for day, leave in (("2020-01-02", os.link),
                           ("2020-01-03", lambda src, dst: os.mkfifo(dst))):
            path = os.path.join(spool, day + ".jsonl")
            with open(path, "wb") as f:
                f.write(t.v1_line(t.event()))
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
            os.utime(path, (old, old))
            leave(victim, path + ".gz.tmp")
        p = t.ctl(conf, "compress", "-v", timeout=30)
        t.eq(p.returncode, 0, p.stderr)
        t.eq(open(victim).read(), "victim\n", "written through a link")
        st = os.stat(victim)
        t.eq((st.st_uid, st.st_nlink), (0, 1), "victim chowned or kept")
        for day in ("2020-01-02", "2020-01-03"):
            gz = os.path.join(spool, day + ".jsonl.gz")
            t.eq(os.stat(gz).st_uid, nobody.pw_uid, gz)
            t.expect(not os.path.lexists(gz + ".tmp"), gz + ".tmp left")
        lock = os.path.join(spool, ".smshookctl.lock")
        st = os.stat(lock)
        t.eq((st.st_uid, st.st_gid), (nobody.pw_uid, nobody.pw_gid),
             "the lock left to root")
        # a FIFO at the lock's name: refused, not waited on
        os.unlink(lock)
        os.mkfifo(lock)
        p = t.ctl(conf, "compress", timeout=30)
        t.eq(p.returncode, 1, p.stderr)
        t.expect(lock + ": " + os.strerror(22) in p.stderr, p.stderr)
    finally:
        shutil.rmtree(d)


def test_check_ok():
    d, conf, spool = setup()
    try:
        # the receiver runs as root here; it makes spool_dir, check not
        p = ctl(conf, "check", "--user", "root")
        t.eq(p.returncode, 0, p.stdout + p.stderr)
        t.expect(not os.path.exists(spool), "spool_dir created")
        t.expect(spool + ": none yet" in p.stdout, p.stdout)
        os.mkdir(spool, 0o750)
        p = ctl(conf, "check", "--user", "root")
        t.eq(p.returncode, 0, p.stdout + p.stderr)
        t.eq(os.listdir(spool), [], "temp file left behind")
        sign_and_post(conf, "delivered")
        p = ctl(conf, "check", "--user", "root")
        t.eq(p.returncode, 0, p.stdout + p.stderr)
        t.expect("1 token" in p.stdout, p.stdout)
        with open(os.path.join(spool, ".replay"), "r+b") as f:
            f.write(b"garbage!")
        p = ctl(conf, "check", "--user", "root")
        t.eq(p.returncode, 0, "a foreign replay table is set aside")
        t.expect("not a replay table" in p.stdout, p.stdout)
    finally:
        shutil.rmtree(d)


def test_check_unwritable_spool():
    d, conf, spool = setup()
    try:
        os.mkdir(spool, 0o755)		# root's: nobody cannot write it
        os.chown(conf, NOBODY, NOBODY)	# but can read the config
        p = ctl(conf, "check", user=NOBODY)
        t.eq(p.returncode, 1, p.stdout + p.stderr)
        t.expect("check: FAIL: spool_dir" in p.stdout and "not writable" in
                 p.stdout and spool in p.stdout, p.stdout)
        p = ctl(conf, "check", "--bogus")
        t.eq(p.returncode, 2)
        bad = t.write_conf(d, "no_such_key = 1", name="bad.conf")
        p = ctl(bad, "check")
        t.eq(p.returncode, 1)
        # a configuration that does not parse is a fault like any other:
        # its file:line on a FAIL line, and FAILED last
        lines = p.stdout.splitlines()
        t.expect(len(lines) == 2 and lines[0].startswith("check: FAIL: ")
                 and "bad.conf:" in lines[0] and "no_such_key" in lines[0],
                 p.stdout)
        t.eq(lines[1], "check: FAILED")
        t.eq(p.stderr, "")
        p = ctl(bad, "check", "-q")
        t.eq((p.returncode, p.stdout, p.stderr), (1, "", ""))
    finally:
        shutil.rmtree(d)

def test_config_fifo():
    """A FIFO given as the configuration is refused at once, by check
    and by the CGI receiver, never waited on for a writer."""
    d = t.tmpdir()
    try:
        fifo = os.path.join(d, "fifo.conf")
        os.mkfifo(fifo, 0o600)
        p = subprocess.run([CTL, "-c", fifo, "check"], capture_output=True,
                           text=True, timeout=10)
        t.eq(p.returncode, 1, p.stdout + p.stderr)
        t.expect("check: FAIL: %s: not a regular file" % fifo in p.stdout,
                 p.stdout)
        status, out, err = post(fifo, b"{}")
        t.eq(status, 500, err)
        t.eq(json.loads(out), {"error": "configuration error "
                               "(configuration file not a regular file)"})
        t.expect(fifo + ": not a regular file" in err, err)
    finally:
        shutil.rmtree(d)

# ---------------------------------------------------------------- usage


def test_help_and_usage():
    d, conf, _ = setup()
    try:
        for cmd in COMMANDS:
            for flag in ("--help", "-h"):
                p = ctl(None, cmd, flag,
                        env={"SMSHOOK_CONFIG": "/nonexistent/x.conf"})
                t.eq(p.returncode, 0, "%s %s: %s" % (cmd, flag, p.stderr))
                t.expect(p.stdout.startswith("usage: smshookctl " + cmd),
                         "%s %s: %r" % (cmd, flag, p.stdout))
            p = ctl(conf, cmd, "--no-such-option")
            t.eq(p.returncode, 2, "%s bad option" % cmd)
            t.expect("usage:" in p.stderr and p.stdout == "",
                     "%s: %r %r" % (cmd, p.stdout, p.stderr))
            # getopt's own message names the command as every other
            t.expect(p.stderr.startswith("smshookctl %s: unrecognized "
                                         "option" % cmd), p.stderr)
        p = ctl(conf, "-x")
        t.expect(p.stderr.startswith("smshookctl: invalid option"),
                 p.stderr)
        # help and version that cannot be written are failures
        for args in (["-h"], ["-V"], ["stats", "--help"]):
            with open("/dev/full", "w") as full:
                q = subprocess.run([t.SMSHOOKCTL] + args, stdout=full,
                                   stderr=subprocess.PIPE, text=True)
            t.eq(q.returncode, 1, "%s: %s" % (args, q.stderr))
            t.expect("stdout: No space left on device" in q.stderr,
                     q.stderr)
        # output given nowhere (standard output closed) is a failure too
        for args in (["export"], ["stats"], ["-V"],
                     ["sign", "--event", "delivered"]):
            q = subprocess.run([t.SMSHOOKCTL, "-c", conf] + args,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: os.close(1))
            t.eq(q.returncode, 1, "%s >&-: %s" % (args, q.stderr))
            t.expect("stdout: Bad file descriptor" in q.stderr, q.stderr)
        # after other options too, still without a configuration
        for args in (["stats", "--json", "--help"], ["import", "-vh"],
                     ["stats", "--he"]):
            p = ctl(None, *args, env={"SMSHOOK_CONFIG": "/nonexistent/x"})
            t.eq(p.returncode, 0, "%s: %s" % (args, p.stderr))
            t.expect(p.stdout.startswith("usage: smshookctl " + args[0]),
                     p.stdout)
        # "-h" as an option's value is that value: the configuration
        # is read, and a missing one is a failure, not help
        p = ctl(None, "stats", "--prometheus", "-h",
                env={"SMSHOOK_CONFIG": "/nonexistent/x"})
        t.eq(p.returncode, 1, p.stderr)
        t.expect("/nonexistent/x" in p.stderr and p.stdout == "", p.stderr)
        # a --db of no known kind is a usage error, before anything runs
        for args in (["import", "--db", "mysql://x"], ["purge",
                     "--keep-days", "3", "--db", "x.db"], ["optouts",
                     "--db", "mysql://x"]):
            p = ctl(conf, *args)
            t.eq(p.returncode, 2, "%s: %s" % (args, p.stderr))
            t.expect("expected sqlite:PATH" in p.stderr, p.stderr)
        # libpq's keyword form is no URL: named without its value, which
        # may hold a password (with or without a ':' in it)
        for url in ("host=db password=hunter2 dbname=x",
                    "password=hunter2:x host=db"):
            p = ctl(conf, "import", "--db", url)
            t.eq(p.returncode, 2, p.stderr)
            t.expect("expected sqlite:PATH" in p.stderr and
                     "hunter2" not in p.stderr, p.stderr)
        # numbers of days are plain numbers: no size suffix
        for args in (["purge", "--keep-days", "1k"], ["compress", "--after",
                     "5k"], ["purge", "--keep-days", "+3"]):
            t.eq(ctl(conf, *args).returncode, 2, args)
        p = ctl(conf, "frobnicate")
        t.eq(p.returncode, 2)
        p = ctl(conf, "stats", "extra")
        t.eq(p.returncode, 2)
        # a usage error is one whatever the configuration: said before
        # the file is read (a missing one made them failures, exit 1)
        for args in (["purge"], ["stats", "--from", "x"], ["verify",
                     "2026-13-01"], ["export", "--from", "2020-01-02",
                     "--to", "2020-01-01"], ["check", "extra"], ["compress",
                     "extra"], ["import", "extra"], ["optouts", "extra"],
                     ["check", "--user", "no-such-user-here"]):
            p = ctl(None, *args, env={"SMSHOOK_CONFIG": "/nonexistent/x"})
            t.eq(p.returncode, 2, "%s: %s" % (args, p.stderr))
            t.expect("/nonexistent/x" not in p.stderr, p.stderr)
        p = ctl(None, "stats", env={"SMSHOOK_CONFIG": "/nonexistent/x"})
        t.eq(p.returncode, 1, p.stderr)
        t.expect("/nonexistent/x" in p.stderr, p.stderr)
    finally:
        shutil.rmtree(d)


def main():
    r = t.Runner("test_cli")
    return r.check_all(globals())


if __name__ == "__main__":
    sys.exit(main())
