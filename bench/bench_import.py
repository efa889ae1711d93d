"""bench_import.py: the import section of bench/run.py.

A spool of N lines (written here in smshook's exact line format, over 4
day files; a mix of event types, requested events with 2 smsIds) is
loaded, in interleaved rounds, by:
  - smshookctl import --db sqlite:PATH       vs  bench/py_import.py
  - smshookctl import --db postgresql://...  vs  psql \\copy of the same
    rows as a pre-made CSV (py_import.py --csv, not timed) into the same
    table with the same indexes.
Each run loads into a fresh database. Wall time; ratio = reference time /
smshookctl time (> 1: smshookctl faster).
"""
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import smshooktest as t  # noqa: E402

PG_DDL = """
CREATE TABLE sms_event_payloads (
 id bigserial PRIMARY KEY, received_at timestamptz, verified boolean,
 payload jsonb NOT NULL);
CREATE TABLE sms_events (
 id bigserial PRIMARY KEY,
 event_type bigint, event text, sms_id text, phone text,
 user_id text, sms_user text, template_id text, message text,
 status_code bigint, event_time bigint, received_at timestamptz,
 verified boolean, payload_id bigint, token text, token_row bigint);
CREATE UNIQUE INDEX sms_events_message
 ON sms_events (event_type, sms_id) WHERE sms_id IS NOT NULL;
CREATE UNIQUE INDEX sms_events_template
 ON sms_events (event_type, template_id, event_time) WHERE sms_id IS NULL;
CREATE UNIQUE INDEX sms_events_token
 ON sms_events (verified, token, token_row)
 WHERE sms_id IS NULL OR event_type IS NULL;
CREATE INDEX sms_events_time ON sms_events (event_time);
CREATE INDEX sms_events_payload ON sms_events (payload_id);
"""
COLS = ("event_type, event, sms_id, phone, user_id, sms_user, template_id, "
        "message, status_code, event_time, received_at, verified, "
        "token, token_row, payload_id")
DAYS = ("2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23")


def gen_spool(spool, n):
    """n spool lines as smshook writes them (same key order, compact)."""
    os.makedirs(spool, exist_ok=True)
    kinds = ["delivered"] * 17 + ["requested", "failed", "suppressed"]
    per = (n + len(DAYS) - 1) // len(DAYS)
    i = 0
    for day in DAYS:
        with open(os.path.join(spool, day + ".jsonl"), "w") as f:
            for _ in range(min(per, n - i)):
                kind = "template" if i % 1000 == 999 else kinds[i % 20]
                ev = dict(t.SAMPLES[kind])
                ts = 1795700000000 + i
                if kind == "requested":
                    ev["smsIds"] = ["%d_9373_%d_a$13888888888" % (ts, i),
                                    "%d_9373_%d_b$13888888889" % (ts, i)]
                    ev["phones"] = ["13888888888", "13888888889"]
                elif kind != "template":
                    ev["smsId"] = "%d_19999_376_%d_qrwnpq$13888888888" % (
                        ts, i)
                token = secrets.token_hex(25)
                ev.update(timestamp=ts, token=token,
                          signature=t.sign(t.KEY, ts, token))
                f.write('{"v":1,"received_at":"%sT%02d:%02d:%02d.%03dZ",'
                        '"remote_addr":"203.0.113.9","encoding":"json",'
                        '"verified":true,"payload":%s}\n' % (
                            day, (i // 3600000) % 24, (i // 60000) % 60,
                            (i // 1000) % 60, i % 1000,
                            json.dumps(ev, ensure_ascii=False,
                                       separators=(",", ":"))))
                i += 1


def timed(cmd, **kw):
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    el = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), p.returncode,
                                                 p.stderr[-2000:]))
    return el, p


def sqlite_rows(path):
    import sqlite3
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT count(*) FROM sms_events").fetchone()[0]
    finally:
        db.close()


def run(args, work, ctl, log, write_csv):
    n = args.import_lines
    rounds = args.import_rounds
    d = os.path.join(work, "import")
    spool = os.path.join(d, "spool")
    os.makedirs(d)
    p = subprocess.run([ctl, "import", "--help"], capture_output=True,
                       text=True)
    if p.returncode != 0:
        log("== import: smshookctl import not available (%s); skipped" %
            p.stderr.strip())
        return {"report": ["Import: smshookctl import not available: "
                           "skipped"]}
    log("== import: %d spool lines, %d round(s)" % (n, rounds))
    t0 = time.monotonic()
    gen_spool(spool, n)
    conf = t.write_conf(d, spool=spool)
    csvfile = os.path.join(d, "rows.csv")
    subprocess.run([sys.executable, os.path.join(HERE, "py_import.py"),
                    spool, "--csv", csvfile], check=True)
    log("  spool and CSV written in %.0f s (%d MiB of spool)" % (
        time.monotonic() - t0,
        sum(os.path.getsize(os.path.join(spool, x))
            for x in os.listdir(spool)) >> 20))
    rows = []
    pgdir = pgurl = None
    try:
        try:
            pgdir, pgurl = t.pg_start()
        except Exception as e:  # noqa: BLE001 - report and go on
            log("  PostgreSQL did not start (%s): SQLite only" % e)
        for rnd in range(rounds):
            r = {"round": rnd + 1}
            db = os.path.join(d, "ctl.db")
            r["ctl_sqlite_s"], _ = timed([ctl, "-c", conf, "import", "--db",
                                          "sqlite:" + db])
            r["ctl_sqlite_rows"] = sqlite_rows(db)
            pydb = os.path.join(d, "py.db")
            r["py_sqlite_s"], _ = timed([sys.executable,
                                         os.path.join(HERE, "py_import.py"),
                                         spool, pydb])
            r["py_sqlite_rows"] = sqlite_rows(pydb)
            for f in os.listdir(d):
                if f.startswith(("ctl.db", "py.db")):
                    os.unlink(os.path.join(d, f))
            if pgurl:
                a = t.pg_new_db(pgurl, "ctl_%d" % rnd)
                r["ctl_pg_s"], _ = timed([ctl, "-c", conf, "import", "--db",
                                          a])
                r["ctl_pg_rows"] = int(t.psql(
                    a, "SELECT count(*) FROM sms_events"))
                b = t.pg_new_db(pgurl, "copy_%d" % rnd)
                t.psql(b, PG_DDL)
                r["copy_pg_s"], _ = timed(
                    ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", b,
                     "-c", "\\copy sms_event_payloads (id, received_at, "
                     "verified, payload) FROM '%s.payloads' WITH (FORMAT "
                     "csv)" % csvfile,
                     "-c", "\\copy sms_events (%s) FROM '%s' WITH (FORMAT "
                     "csv)" % (COLS, csvfile)])
                r["copy_pg_rows"] = int(t.psql(
                    b, "SELECT count(*) FROM sms_events"))
                t.psql(pgurl, "DROP DATABASE ctl_%d" % rnd)
                t.psql(pgurl, "DROP DATABASE copy_%d" % rnd)
            log("  round %d: " % (rnd + 1) + ", ".join(
                "%s %s" % (k, round(v, 2) if isinstance(v, float) else v)
                for k, v in r.items() if k != "round"))
            rows.append(r)
    finally:
        if pgdir:
            t.pg_stop(pgdir)
    keys = ["round", "ctl_sqlite_s", "py_sqlite_s", "ctl_sqlite_rows",
            "py_sqlite_rows"]
    if pgurl:
        keys += ["ctl_pg_s", "copy_pg_s", "ctl_pg_rows", "copy_pg_rows"]
    write_csv("import.csv", keys, rows)
    med = statistics.median
    out = {"lines": n, "rounds": rounds,
           "ctl_sqlite_s": med([r["ctl_sqlite_s"] for r in rows]),
           "py_sqlite_s": med([r["py_sqlite_s"] for r in rows]),
           "sqlite_speedup": med([r["py_sqlite_s"] / r["ctl_sqlite_s"]
                                  for r in rows])}
    rep = ["Import of %d lines into SQLite: smshookctl %.1f s, Python "
           "%.1f s: %.2fx (>= 3: %s); rows %d vs %d" % (
               n, out["ctl_sqlite_s"], out["py_sqlite_s"],
               out["sqlite_speedup"],
               "met" if out["sqlite_speedup"] >= 3 else "NOT MET",
               rows[-1]["ctl_sqlite_rows"], rows[-1]["py_sqlite_rows"])]
    if pgurl:
        out.update(ctl_pg_s=med([r["ctl_pg_s"] for r in rows]),
                   copy_pg_s=med([r["copy_pg_s"] for r in rows]),
                   pg_speedup=med([r["copy_pg_s"] / r["ctl_pg_s"]
                                   for r in rows]))
        rep.append("Import into PostgreSQL: smshookctl %.1f s, psql \\copy "
                   "%.1f s: %.2fx (>= 1: %s); rows %d vs %d" % (
                       out["ctl_pg_s"], out["copy_pg_s"], out["pg_speedup"],
                       "met" if out["pg_speedup"] >= 1 else "NOT MET",
                       rows[-1]["ctl_pg_rows"], rows[-1]["copy_pg_rows"]))
    out["report"] = rep
    shutil.rmtree(d, ignore_errors=True)
    return out
