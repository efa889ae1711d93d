#!/usr/bin/env python3
"""py_import.py: the straightforward Python importer smshookctl import is
measured against: stdlib json + sqlite3, one transaction, the same tables,
indexes and normalisation (a payload row per line; one row per message
pointing at it, a row without message id or type with its event's token;
event type 2 -> 20; current event names; ids as text; event_time from
"timestamp").
    py_import.py SPOOL_DIR sqlite.db       load every *.jsonl day
    py_import.py SPOOL_DIR --csv out.csv   write the rows as CSV instead,
                                           and the payloads to
                                           out.csv.payloads (the input of
                                           psql \\copy)"""
import csv
import json
import os
import sqlite3
import sys

COLS = ("event_type", "event", "sms_id", "phone", "user_id", "sms_user",
        "template_id", "message", "status_code", "event_time", "received_at",
        "verified", "token", "token_row", "payload_id")
PAYLOAD_COLS = ("id", "received_at", "verified", "payload")
# code -> (normalised code, current name); older names map to codes
EVENTS = {1: (1, "Requested"), 20: (20, "Delivered"), 2: (20, "Delivered"),
          4: (4, "Suppressed"), 5: (5, "Failed"), 8: (8, "Template Verify")}
NAMES = {"Requested": 1, "request": 1, "Delivered": 20, "deliver": 2,
         "Suppressed": 4, "workererror": 4, "Failed": 5, "delivererror": 5,
         "Template Verify": 8, "templateVerify": 8}
SCHEMA = """
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE IF NOT EXISTS sms_event_payloads (
 id INTEGER PRIMARY KEY, received_at TEXT, verified INTEGER,
 payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sms_events (
 id INTEGER PRIMARY KEY,
 event_type INTEGER, event TEXT, sms_id TEXT, phone TEXT,
 user_id TEXT, sms_user TEXT, template_id TEXT, message TEXT,
 status_code INTEGER, event_time INTEGER, received_at TEXT,
 verified INTEGER, payload_id INTEGER, token TEXT, token_row INTEGER);
CREATE UNIQUE INDEX IF NOT EXISTS sms_events_message
 ON sms_events (event_type, sms_id) WHERE sms_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS sms_events_template
 ON sms_events (event_type, template_id, event_time) WHERE sms_id IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS sms_events_token
 ON sms_events (verified, token, token_row)
 WHERE sms_id IS NULL OR event_type IS NULL;
CREATE INDEX IF NOT EXISTS sms_events_time ON sms_events (event_time);
CREATE INDEX IF NOT EXISTS sms_events_payload ON sms_events (payload_id);
"""


def text(v):
    if v is None or isinstance(v, (dict, list, bool)):
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def integer(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.lstrip("-").isdigit():
        return int(v)
    return None


def listof(v):
    if isinstance(v, list):
        return v
    if isinstance(v, str) and v.lstrip().startswith("["):
        try:
            a = json.loads(v)
            if isinstance(a, list):
                return a
        except ValueError:
            pass
    if isinstance(v, (str, int, float)) and not isinstance(v, bool):
        return [v]
    return None


def rows(line, pid):
    """(payload row, message rows) of one line; pid is its payload id."""
    o = json.loads(line)
    p = o["payload"]
    verified = 1 if o.get("verified") else 0
    payload = (pid, o["received_at"], verified,
               json.dumps(p, ensure_ascii=False, separators=(",", ":")))
    code = integer(p.get("eventType"))
    if code is None and p.get("event") in NAMES:
        code = NAMES[p["event"]]
    code, name = EVENTS.get(code, (code, p.get("event")))
    common = (text(p.get("userId")), text(p.get("smsUser")),
              text(p.get("templateId")), text(p.get("message")),
              integer(p.get("statusCode")), integer(p.get("timestamp")),
              o["received_at"], verified)
    out = []
    ids = listof(p.get("smsIds")) if "smsIds" in p else None
    if ids:
        phones = listof(p.get("phones")) or []
        pairs = [(text(sid), text(phones[i]) if i < len(phones) else None)
                 for i, sid in enumerate(ids)]
    else:
        pairs = [(text(p.get("smsId")), text(p.get("phone")))]
    nokey = 0
    for sid, phone in pairs:
        sid = sid or None
        key = sid is None or code is None	# the token key's row
        out.append((code, name, sid, phone) + common +
                   (p.get("token") if key else None,
                    nokey if key else None, pid))
        nokey += key
    return payload, out


def lines(spool):
    for name in sorted(os.listdir(spool)):
        if name.endswith(".jsonl"):
            with open(os.path.join(spool, name), encoding="utf-8") as f:
                for line in f:
                    if line.endswith("\n"):
                        yield line


def main():
    spool = sys.argv[1]
    if sys.argv[2] == "--csv":
        with open(sys.argv[3], "w", newline="", encoding="utf-8") as f, \
                open(sys.argv[3] + ".payloads", "w", newline="",
                     encoding="utf-8") as g:
            ev, pay = csv.writer(f), csv.writer(g)
            for pid, line in enumerate(lines(spool), 1):
                payload, out = rows(line, pid)
                pay.writerow(payload)
                ev.writerows(out)
        return
    db = sqlite3.connect(sys.argv[2], isolation_level=None)
    db.executescript(SCHEMA)
    db.execute("BEGIN")
    ins_p = "INSERT INTO sms_event_payloads (received_at, verified, " \
        "payload) VALUES (?, ?, ?)"
    ins_e = "INSERT INTO sms_events (%s) VALUES (%s) ON CONFLICT DO " \
        "NOTHING" % (", ".join(COLS), ", ".join("?" * len(COLS)))
    for line in lines(spool):
        payload, out = rows(line, None)
        pid = db.execute(ins_p, payload[1:]).lastrowid
        db.executemany(ins_e, [r[:-1] + (pid,) for r in out])
    db.execute("COMMIT")
    db.close()


if __name__ == "__main__":
    main()
