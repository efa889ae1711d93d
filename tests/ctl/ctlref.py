"""Shared by the tests/ctl suites: an independent Python model of what
smshookctl import must load (smshookctl(1), import), readers for both
databases, and spool line generators. Not a suite itself (no test_
prefix)."""
import datetime
import decimal
import fcntl
import functools
import gzip
import json
import os
import random
import re
import sqlite3
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import smshooktest as t  # noqa: E402

SCHEMA = "7"		# the schema version import makes and migrates to
COLS = ("event_type", "event", "sms_id", "phone", "user_id", "sms_user",
        "template_id", "message", "status_code", "event_time", "received_at",
        "verified", "payload")

# code or name -> (normalised code, current name)
TYPES = {1: (1, "Requested"), 2: (20, "Delivered"), 20: (20, "Delivered"),
         4: (4, "Suppressed"), 5: (5, "Failed"), 8: (8, "Template Verify"),
         6: (6, "Reply")}
NAMES = {"requested": 1, "request": 1, "delivered": 20, "deliver": 20,
         "suppressed": 4, "workererror": 4, "failed": 5, "delivererror": 5,
         "template verify": 8, "templateverify": 8, "reply": 6}
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


EXACT = 2 ** 53		# a double's exact integers, and json_exact's


def _text(v):
    """A column's text as rows.c's text_of makes it: an integer as its
    own text, however long; another number (a Decimal: its text, not a
    float) through a double, %.0f when that is an exact integer, else
    %.17g."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return str(v)
    if isinstance(v, decimal.Decimal):
        f = float(v)
        if f.is_integer() and abs(f) <= EXACT:
            return str(int(f))
        return "%.17g" % f
    return None


def _int(v):
    """A column's integer as rows.c's int_of reads it: an integer of up
    to 16 characters as it is; any other number by its text (json_exact):
    an integer of at most 2^53, or none; a string of up to 18 digits."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v if len(str(v)) <= 16 or abs(v) <= EXACT else None
    if isinstance(v, decimal.Decimal):
        if v == v.to_integral_value() and abs(v) <= EXACT:
            return int(v)
        return None
    if isinstance(v, str) and re.fullmatch(r"-?\d{1,18}", v):
        return int(v)
    return None


def _first(v):
    """A column's value: of a field a form repeated (a list) the first."""
    if isinstance(v, list):
        return v[0] if v else None
    return v


def _list(v):
    if isinstance(v, list):
        return v
    if isinstance(v, str) and v.lstrip(" \t").startswith("["):
        try:
            x = json.loads(v, parse_float=decimal.Decimal)
            if isinstance(x, list):
                return x
        except ValueError:
            pass
    if v is None or isinstance(v, (dict, list, bool)):
        return None
    return [v]


def _no_dups(pairs):
    names = [k for k, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError("duplicate member")
    return dict(pairs)


def _no_constant(name):
    raise ValueError("not JSON: " + name)


def _clean(v):
    """No lone surrogate and no NUL in any name or string (Python's json
    takes both; the strict lexer does not)."""
    if isinstance(v, str):
        return "\x00" not in v and not re.search("[\ud800-\udfff]", v)
    if isinstance(v, dict):
        return all(_clean(k) and _clean(x) for k, x in v.items())
    if isinstance(v, list):
        return all(_clean(x) for x in v)
    return True


def line_valid(env):
    """The spool line definition (smshookctl(1), verify)."""
    p = env.get("payload") if isinstance(env, dict) else None
    tok, ts = (p or {}).get("token"), (p or {}).get("timestamp")
    return (isinstance(env, dict) and env.get("v") == 1 and
            type(env.get("v")) is int and isinstance(p, dict) and
            isinstance(env.get("received_at"), str) and
            STAMP.match(env["received_at"]) is not None and
            isinstance(env.get("remote_addr"), str) and
            env.get("encoding") in ("json", "form") and
            isinstance(env.get("verified"), bool) and
            isinstance(tok, str) and tok != "" and
            ((isinstance(ts, str) and re.fullmatch(r"\d{1,18}", ts)) or
             (isinstance(ts, (int, float)) and not isinstance(ts, bool) and
              ts >= 0)))


def reply_time(rt):
    """A reply's time in ms, or None: exactly YYYY-MM-DD HH:MM:SS (UTC+8),
    month 1-12, day 1-31 (past the month's end into the next), hour
    0-23, minutes and seconds 0-59."""
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)",
                     rt) if isinstance(rt, str) else None
    if m is None:
        return None
    y, mo, d, h, mi, sec = (int(x) for x in m.groups())
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and
            sec < 60):
        return None
    # 400 years on (the calendar repeats), so that year 0 has a date
    days = (datetime.date(y + 400, mo, 1) -
            datetime.date(1970 + 400, 1, 1)).days + d - 1
    return ((days * 24 + h) * 3600 + mi * 60 + sec - 8 * 3600) * 1000


@functools.lru_cache(maxsize=None)
def line_rows(raw):
    """The rows of one spool line (bytes without '\\n'), a tuple, or None
    if it is not a valid v1 line. Kept per line: a test reads the same
    lines again and again."""
    try:
        text = raw.decode("utf-8")
        env = json.loads(text, object_pairs_hook=_no_dups,
                         parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError):
        return None
    if not _clean(env) or not line_valid(env):
        return None
    canon_payload = canon(env["payload"])
    # the columns from the numbers' text, as the importer reads them
    p = json.loads(text, parse_float=decimal.Decimal)["payload"]
    code = _int(_first(p.get("eventType")))
    name = None
    if code is not None:
        if code in TYPES:
            code, name = TYPES[code]
    event = _first(p.get("event"))
    if code is None and isinstance(event, str) and event.lower() in NAMES:
        code, name = TYPES[NAMES[event.lower()]]
    if name is None and isinstance(event, str):
        name = event
    common = dict(user_id=_text(_first(p.get("userId"))),
                  sms_user=_text(_first(p.get("smsUser"))),
                  template_id=_text(_first(p.get("templateId"))),
                  message=_text(_first(p.get("message"))),
                  status_code=_int(_first(p.get("statusCode"))),
                  event_time=_int(p.get("timestamp")),
                  received_at=env["received_at"],
                  verified=1 if env["verified"] else 0,
                  payload=canon_payload)
    if code == 6:		# a reply: its text and its time (UTC+8)
        if isinstance(_first(p.get("replyContent")), str):
            common["message"] = _first(p["replyContent"])
        at = reply_time(_first(p.get("replyTime")))
        if at is not None:
            common["event_time"] = at
    ids = _list(p.get("smsIds")) if "smsIds" in p else None
    phones = _list(p.get("phones")) or []
    if not ids and isinstance(p.get("smsId"), list):
        ids, phones = p["smsId"], _list(p.get("phone")) or []
    pairs = []
    if ids:
        for i, sid in enumerate(ids):
            pairs.append((_text(sid),
                          _text(phones[i]) if i < len(phones) else None))
    else:
        pairs.append((_text(_first(p.get("smsId"))),
                      _text(_first(p.get("phone")))))
    rows = []
    for sid, phone in pairs:
        r = dict(common, event_type=code, event=name, sms_id=sid or None,
                 phone=phone)
        rows.append(tuple(r[c] for c in COLS))
    return tuple(rows)


def canon(payload):
    return json.dumps(payload, sort_keys=True, ensure_ascii=False)


def day_files(spool):
    """(day, path) per day: the .jsonl.gz if there is one, else the
    .jsonl (read_day adds a .jsonl beside a .gz)."""
    found = {}
    for name in sorted(os.listdir(spool)):
        m = re.fullmatch(r"(\d{4}-\d\d-\d\d)\.jsonl(\.gz)?", name)
        if m and (m.group(1) not in found or m.group(2)):
            found[m.group(1)] = os.path.join(spool, name)
    return sorted(found.items())


def merged(data, more):
    """How many leading bytes of a .jsonl beside a .gz (more) the .gz's
    text (data) holds already: the longest run of whole lines it starts
    with that are, in order, complete lines of the .gz from one of them
    on (a copy compress made or merged and was stopped before it removed
    it, a day file restored from a backup), then, if the .gz ends with
    them, the whole lines after that run (a restored file's new lines a
    merge added to the .gz before it was stopped)."""
    end = data.rfind(b"\n") + 1

    def run(frm, to_end):
        best = p = 0
        while p < end:
            same = len(os.path.commonprefix([data[p:end], more[frm:]]))
            k = more.rfind(b"\n", frm, frm + same) + 1
            k = k - frm if k > 0 else 0
            if k > best and (not to_end or k == end - p):
                best = k
            p = data.find(b"\n", p) + 1
        return best

    first = run(0, False)
    return first + run(first, True) if first else 0


def day_parts(path):
    """A day's text in parts: the .gz's (or the .jsonl's), then what a
    .jsonl beside a .gz holds beyond it (all of a late file, the tail of
    a copy compress left behind)."""
    if not path.endswith(".gz"):
        with open(path, "rb") as f:
            return [f.read()]
    with gzip.open(path, "rb") as f:
        data = f.read()
    late = path[:-3]
    if not os.path.exists(late):
        return [data]
    with open(late, "rb") as f:
        more = f.read()
    return [data, more[merged(data, more):]]


def read_day(path):
    """A day's text, its parts joined."""
    return b"".join(day_parts(path))


def day_lines(path):
    """(offset, bytes) of each line a reader returns: the complete ones,
    and a .gz's unfinished last line when a late .jsonl follows (it ends
    where the .gz does: a reject, never glued to the next line)."""
    out = []
    off = 0
    parts = day_parts(path)
    for k, part in enumerate(parts):
        lines = part.split(b"\n")
        for raw in lines[:-1]:
            out.append((off, raw))
            off += len(raw) + 1
        if lines[-1] and k + 1 < len(parts):
            out.append((off, lines[-1]))
        off += len(lines[-1])
    return out


def reference(spool, days=None):
    """Rows in import order, duplicates dropped by the uniqueness rules
    (only the given days, if any)."""
    seen = set()
    out = []
    for day, path in day_files(spool):
        if days is not None and day not in days:
            continue
        for _, raw in day_lines(path):
            nokey = 0
            for r in line_rows(raw) or []:
                et, sid, ph, tpl, msg, tm = r[0], r[2], r[3], r[6], r[7], r[9]
                keys = []
                if sid is None or et is None:	# the token key's rows
                    keys.append(("k", r[11], json.loads(r[-1])["token"],
                                 nokey))
                    nokey += 1
                if et is not None and sid is not None:
                    keys.append(("m", et, sid))
                if et == 8 and sid is None and \
                        tpl is not None and tm is not None:
                    keys.append(("t", et, tpl, tm))
                if et == 6 and None not in (ph, tm, msg):
                    keys.append(("r", ph, tm, msg))
                if any(k in seen for k in keys):
                    continue
                seen.update(keys)
                out.append(r)
    return out


def rejects_expected(spool):
    """(day, offset) of every complete line that is not a v1 envelope."""
    out = []
    for day, path in day_files(spool):
        for off, raw in day_lines(path):
            if line_rows(raw) is None:
                out.append((day, off))
    return out

# ---------------------------------------------------------------- databases


UNUSED = ("SELECT (SELECT count(*) FROM sms_event_payloads), (SELECT "
          "count(*) FROM sms_event_payloads p WHERE NOT EXISTS (SELECT 1 "
          "FROM sms_events e WHERE e.payload_id = p.id))")


class SqliteDB:
    kind = "sqlite"

    def __init__(self, directory, name="smshook.db"):
        self.path = os.path.join(directory, name)
        self.url = "sqlite:" + self.path

    def _q(self, sql):
        if not os.path.exists(self.path):
            return []
        c = sqlite3.connect(self.path)
        try:
            if c.execute("SELECT count(*) FROM sqlite_master WHERE name = "
                         "'smshook_positions'").fetchone()[0] == 0:
                return []	# a first import killed before its tables
            return list(c.execute(sql))
        finally:
            c.close()

    def rows(self):
        out = []
        for r in self._q("SELECT %s FROM sms_events_full ORDER BY id" %
                         ", ".join(COLS)):
            r = list(r)
            r[-1] = canon(json.loads(r[-1]))
            out.append(tuple(r))
        return out

    def payloads(self):
        """(payload rows, those no sms_events row names)."""
        return (self._q(UNUSED) or [(0, 0)])[0]

    def rejects(self):
        return self._q("SELECT day, byte_offset, reason, line FROM "
                       "smshook_rejects ORDER BY day, byte_offset")

    def positions(self):
        return dict(self._q("SELECT day, byte_offset FROM smshook_positions"))


class PgDB:
    kind = "pg"
    counter = 0

    def __init__(self, server_url):
        PgDB.counter += 1
        self.url = t.pg_new_db(server_url, "t%d_%d" % (os.getpid(),
                                                        PgDB.counter))

    def _json(self, sql):
        out = t.psql(self.url, "SELECT coalesce(json_agg(x), '[]') FROM "
                     "(%s) x" % sql)
        return json.loads(out) if out.strip() else []

    def _exists(self):
        return t.psql(self.url, "SELECT to_regclass('sms_events') IS NOT "
                      "NULL").strip() == "t"

    def rows(self):
        if not self._exists():
            return []
        cols = list(COLS)
        cols[COLS.index("received_at")] = (
            "to_char(received_at AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS received_at")
        out = []
        for r in self._json("SELECT %s FROM sms_events_full ORDER BY id" %
                            ", ".join(cols)):
            v = [r[c] for c in COLS]
            v[-1] = canon(v[-1])
            i = COLS.index("verified")
            v[i] = None if v[i] is None else int(v[i])
            out.append(tuple(v))
        return out

    def payloads(self):
        """(payload rows, those no sms_events row names)."""
        if not self._exists():
            return (0, 0)
        return tuple(int(x) for x in t.psql(self.url, UNUSED).split("|"))

    def rejects(self):
        if not self._exists():
            return []
        return [(r["day"], r["byte_offset"], r["reason"], r["line"])
                for r in self._json("SELECT day, byte_offset, reason, line "
                                    "FROM smshook_rejects ORDER BY day, "
                                    "byte_offset")]

    def positions(self):
        if not self._exists():
            return {}
        return {r["day"]: r["byte_offset"] for r in
                self._json("SELECT day, byte_offset FROM smshook_positions")}

# ---------------------------------------------------------------- spool


def append(spool, day, data):
    """Append bytes to a day file under the receiver's exclusive lock."""
    os.makedirs(spool, exist_ok=True)
    path = os.path.join(spool, day + ".jsonl")
    with open(path, "ab") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(data)
        f.flush()
    return path


def reply_line(phone, token, text="TD"):
    """A reply line as the provider's own sample has it: templateId 0,
    so replies of one second differ only in phone, text and token."""
    return t.v1_line({"event": "reply", "eventType": "6", "phone": phone,
                      "replyContent": text, "replyTime": "2026-01-01 10:00:00",
                      "templateId": "0", "userId": "19999",
                      "smsUser": "smsuser", "timestamp": 1767225600000,
                      "token": token, "signature": "0" * 64})


def gen_lines(n, seed, base_ms=1767225600000, dup_rate=0.05, day_tag=""):
    """n spool lines (bytes) of mixed events: JSON and form encodings,
    requested with 1-3 smsIds, old codes, retries (repeated events)."""
    rnd = random.Random(seed)
    out = []
    made = []
    for i in range(n):
        if made and rnd.random() < dup_rate:
            out.append(rnd.choice(made))
            continue
        kind = rnd.choice(["requested", "delivered", "suppressed", "failed",
                           "template", "delivered_old"])
        uid = "%s%d_%d" % (day_tag, seed, i)
        ts = base_ms + i
        if kind == "requested":
            k = rnd.randint(1, 3)
            p = dict(t.SAMPLES["requested"],
                     smsIds=["%s_%d$1390000%04d" % (uid, j, j)
                             for j in range(k)],
                     phones=["1390000%04d" % j for j in range(k)])
        elif kind == "delivered_old":
            p = dict(t.SAMPLES["delivered"], eventType=2, event="deliver",
                     smsId=uid + "$138")
        elif kind == "template":
            p = dict(t.SAMPLES["template"], templateId=rnd.randint(1, 10**6))
        else:
            p = dict(t.SAMPLES[kind], smsId=uid + "$139")
        tok = "".join(rnd.choices("abcdefghijklmnopqrstuvwxyz0123456789",
                                  k=20))
        p.update(timestamp=ts, token=tok + uid,
                 signature="0" * 64)
        rec = "2026-01-01T00:%02d:%02d.%03dZ" % (i // 60000 % 60,
                                                 i // 1000 % 60, i % 1000)
        if rnd.random() < 0.3:
            line = t.v1_line(t.form_payload(p), received_at=rec,
                             encoding="form")
        else:
            line = t.v1_line(p, received_at=rec)
        made.append(line)
        out.append(line)
    return out
