#!/usr/bin/env python3
"""Crash under load: nothing acknowledged is lost or stored twice.

conf-examples/lighttpd.conf as it is (smshook under mod_fastcgi, 2
workers, fsync on) takes signed events from 8 client threads (half with
keep-alive connections, half a new connection per request), each event
with a fresh token and smsId = token, JSON and form, delivered / failed /
suppressed. Meanwhile a killer thread sends SIGKILL to a random smshook
worker every 50-200 ms (lighttpd respawns them) and restarts lighttpd a
few times: SIGTERM, and SIGKILL for one of them (orphaned workers are
then stopped as a service manager would, see Lighttpd.restart). A client
counts an event as acknowledged only on a 200 (`success`, or
`duplicate` should the server have retried it); anything else, or a
connection error, is "not acknowledged" and the client moves on with a
new event (the provider would retry that one).

Afterwards, with lighttpd stopped:
- every acknowledged token is on exactly one complete spool line;
- every complete line of every day file parses; only a file's last
  line may lack its '\\n', and such a torn tail holds no acknowledged
  token;
- `smshookctl verify` exits 0 and reports the torn tail (if any) as an
  incomplete last line, nothing invalid;
- `smshookctl import --db sqlite:…` gives exactly one row per
  acknowledged event (sms_id = token), one row per distinct stored event.

SMSHOOK_LONG=1: 3 minutes of load and 6 restarts (2 with SIGKILL)
instead of 16 s and 3 (1). SMSHOOK_SEED replays the killer's choices.
"""
import collections
import http.client
import json
import os
import random
import shutil
import signal
import sqlite3
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import smshooktest as t  # noqa: E402
from lighttpd import Lighttpd  # noqa: E402

LONG = os.environ.get("SMSHOOK_LONG") == "1"
DURATION = 180.0 if LONG else 16.0
RESTARTS = ([signal.SIGTERM, signal.SIGTERM, signal.SIGKILL] * 2 if LONG
            else [signal.SIGTERM, signal.SIGKILL, signal.SIGTERM])
CLIENTS = 8
KINDS = ["delivered", "failed", "suppressed"]
SEED = int(os.environ.get("SMSHOOK_SEED") or random.SystemRandom().randrange(
    1, 2 ** 31))
FIGURES = []


class Load:
    """Shared tallies; lists are appended to under the GIL."""

    def __init__(self):
        self.stop = threading.Event()
        self.acked = []             # tokens answered 200
        self.sent = 0
        self.lock = threading.Lock()
        self.outcomes = collections.Counter()
        self.kills = 0
        self.restarts = []
        self.killer_error = None

    def count(self, what):
        with self.lock:
            self.outcomes[what] += 1


def client(n, port, load):
    keepalive = n % 2 == 0
    conn = None
    i = 0
    while not load.stop.is_set():
        tok = t.new_token()
        ev = t.event(KINDS[(n + i) % len(KINDS)], token=tok, smsId=tok)
        form = (n + i) % 2 == 1
        body = t.form_body(ev) if form else t.json_body(ev)
        ct = t.FORM if form else t.JSON
        i += 1
        with load.lock:
            load.sent += 1
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port,
                                                  timeout=10)
            hdrs = {"Content-Type": ct}
            if not keepalive:
                hdrs["Connection"] = "close"
            conn.request("POST", "/smshook", body=body, headers=hdrs)
            r = conn.getresponse()
            data = r.read()
            if r.status == 200:
                status = json.loads(data).get("status")
                load.acked.append(tok)
                load.count("200 " + str(status))
            else:
                load.count(str(r.status))
            if r.will_close or not keepalive:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException, ValueError) as e:
            load.count(type(e).__name__)
            if conn is not None:
                conn.close()
                conn = None
            # back off a little while the server is down (not a sync)
            time.sleep(0.01)
    if conn is not None:
        conn.close()


def killer(srv, load, rng, start):
    try:
        due = [start + DURATION * (k + 1) / (len(RESTARTS) + 1)
               for k in range(len(RESTARTS))]
        while not load.stop.is_set():
            load.stop.wait(rng.uniform(0.05, 0.2))
            if load.stop.is_set():
                break
            if due and time.time() >= due[0]:
                due.pop(0)
                sig = RESTARTS[len(load.restarts)]
                t0 = time.time()
                srv.restart(sig)
                load.restarts.append((signal.Signals(sig).name,
                                      time.time() - t0))
                continue
            pids = srv.workers()
            if pids:
                try:
                    os.kill(rng.choice(pids), signal.SIGKILL)
                    load.kills += 1
                except ProcessLookupError:
                    pass
    except Exception as e:  # noqa: BLE001 - reported by the test
        load.killer_error = e
        load.stop.set()


def stop_workers(srv, timeout=5.0):
    """Wait until no worker of srv is left (one may still be finishing
    a request after lighttpd exited), so the spool holds still; SIGKILL
    any left after timeout (an orphan lighttpd forked just before a
    SIGKILL restart and the new lighttpd adopted). Returns how many."""
    deadline = time.time() + timeout
    while srv.own_smshooks() and time.time() < deadline:
        time.sleep(0.01)
    left = srv.own_smshooks()
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    while srv.own_smshooks() and time.time() < deadline + timeout:
        time.sleep(0.01)
    return len(left)


def read_spool(spool):
    """(complete lines as (file, parsed), torn tails as (file, bytes)).
    Raises if a complete line does not parse."""
    lines, torn = [], []
    for name, data in t.spool_bytes(spool).items():
        t.expect(name.endswith(".jsonl"), "unexpected " + name)
        parts = data.split(b"\n")
        for k, raw in enumerate(parts[:-1]):
            try:
                lines.append((name, json.loads(raw)))
            except ValueError:
                raise AssertionError("%s line %d is torn or invalid: %r"
                                     % (name, k + 1, raw[:200]))
        if parts[-1]:
            torn.append((name, parts[-1]))
    return lines, torn


def run(d):
    load = Load()
    rng = random.Random(SEED)
    srv = Lighttpd().start()
    try:
        t.expect(srv.workers(), "lighttpd started no smshook worker")
        start = time.time()
        threads = [threading.Thread(target=client, args=(n, srv.port, load))
                   for n in range(CLIENTS)]
        kt = threading.Thread(target=killer, args=(srv, load, rng, start))
        for th in threads + [kt]:
            th.start()
        try:
            load.stop.wait(DURATION)
        finally:
            load.stop.set()
            for th in threads + [kt]:
                th.join(60)
        elapsed = time.time() - start
        if load.killer_error is not None:
            raise load.killer_error
        srv.stop()
        stop_workers(srv)
        log = srv.log()
        lines, torn = read_spool(srv.spool)
        tokens = collections.Counter(line["payload"]["token"]
                                     for _, line in lines)
        acked = load.acked
        t.eq(len(set(acked)), len(acked), "a token acknowledged twice")
        found = sum(1 for tok in acked if tokens[tok] == 1)
        lost = [tok for tok in acked if tokens[tok] == 0]
        dup = [tok for tok in acked if tokens[tok] > 1]
        dup_any = [tok for tok, c in tokens.items() if c > 1]
        ackset = set(acked)
        torn_acked = [name for name, tail in torn
                      if any(tok.encode() in tail for tok in ackset)]
        stored_unacked = len(set(tokens) - ackset)
        FIGURES.append(
            "%.1f s, %d clients, seed %d: sent %d, acked %d, found %d, "
            "lost %d, duplicated %d, torn %d, kills %d, restarts %d (%s)"
            % (elapsed, CLIENTS, SEED, load.sent, len(acked), found,
               len(lost), len(dup), len(torn), load.kills,
               len(load.restarts), ", ".join("%s %.2f s" % r
                                              for r in load.restarts)))
        if srv.stuck:
            FIGURES.append("workers SIGTERM did not stop within 10 s: " +
                           "; ".join(srv.stuck))
        FIGURES.append("outcomes: " + ", ".join(
            "%s x%d" % kv for kv in sorted(load.outcomes.items())))
        FIGURES.append("spool: %d complete lines in %d day file(s), %d "
                       "stored but not acknowledged, %d token(s) on two "
                       "lines" % (len(lines), len(t.spool_bytes(srv.spool)),
                                  stored_unacked, len(dup_any)))
        t.expect(len(acked) > 100, "too few acknowledged events (%d) for "
                 "the test to mean anything\n%s" % (len(acked), log[-3000:]))
        # lighttpd leaves a dead worker unrespawned for a second or two
        # at times: fewer kills than one per 125 ms, but never few
        t.expect(load.kills >= DURATION / 2, "killer too slow: %d kills"
                 % load.kills)
        t.eq(len(load.restarts), len(RESTARTS), "restarts")
        t.eq(lost, [], "acknowledged but not in the spool")
        t.eq(dup, [], "acknowledged and on two lines")
        t.eq(torn_acked, [], "an acknowledged token in a torn tail")
        t.eq(len(dup_any), 0, "a token on two lines (server-side retry?)")
        check_verify(srv, d, lines, torn)
        check_import(srv, d, acked, tokens)
    finally:
        srv.stop()
        stop_workers(srv)
        srv.cleanup()


def check_verify(srv, d, lines, torn):
    p = t.ctl(srv.conf, "verify")
    out = p.stdout + p.stderr
    t.eq(p.returncode, 0, "verify: " + out)
    t.expect("%d line%s, 0 invalid, 0 foreign, %d incomplete" % (
        len(lines), "" if len(lines) == 1 else "s", len(torn)) in out,
        "verify summary: " + out)
    for name, _ in torn:
        t.expect(name + ":" in out and "incomplete last line" in out,
                 "torn tail of %s not reported: %s" % (name, out))
    FIGURES.append("smshookctl verify: exit %d, %s" % (
        p.returncode, out.strip().splitlines()[-1]))


def check_import(srv, d, acked, tokens):
    db = os.path.join(d, "x.db")
    p = t.ctl(srv.conf, "import", "--db", "sqlite:" + db)
    t.eq(p.returncode, 0, "import: " + p.stdout + p.stderr)
    con = sqlite3.connect(db)
    try:
        rows = collections.Counter()
        for sms_id, payload in con.execute(
                "SELECT sms_id, payload FROM sms_events_full"):
            t.eq(json.loads(payload)["token"], sms_id, "payload of a row")
            rows[sms_id] += 1
        total = sum(rows.values())
    finally:
        con.close()
    missing = [tok for tok in acked if rows[tok] == 0]
    twice = [tok for tok, c in rows.items() if c > 1]
    t.eq(missing, [], "acknowledged event without a row")
    t.eq(twice, [], "event with two rows")
    t.eq(set(rows), set(tokens), "one row per distinct stored event")
    FIGURES.append("smshookctl import: %d rows (%d acknowledged, %d "
                   "stored but unacknowledged), 0 missing, 0 twice"
                   % (total, len(acked), total - len(acked)))


class Spool:
    """Enough of a Lighttpd for check_verify: a config and its spool."""

    def __init__(self, d):
        self.spool = os.path.join(d, "spool")
        os.mkdir(self.spool, 0o750)
        self.conf = t.write_conf(d, spool=self.spool)


def checker_self_test(d):
    """The checks above see a torn tail: read_spool returns it, verify
    reports it as incomplete (exit 0), and a torn middle line fails."""
    sub = os.path.join(d, "self-test")
    os.mkdir(sub)
    s = Spool(sub)
    evs = [t.event("delivered", smsId="x%d" % i) for i in range(3)]
    good = b"".join(t.v1_line(ev) for ev in evs[:2])
    path = os.path.join(s.spool, "2026-01-02.jsonl")
    with open(path, "wb") as f:
        f.write(good + t.v1_line(evs[2])[:50])
    lines, torn = read_spool(s.spool)
    t.eq(len(lines), 2)
    t.eq(len(torn), 1)
    check_verify(s, sub, lines, torn)
    with open(path, "wb") as f:
        f.write(t.v1_line(evs[2])[:50] + b"\n" + good)
    try:
        read_spool(s.spool)
    except AssertionError:
        pass
    else:
        raise AssertionError("a torn middle line went unnoticed")
    p = t.ctl(s.conf, "verify")
    t.expect(p.returncode != 0 and "invalid line" in p.stdout, p.stdout)
    del FIGURES[-1]


def main():
    r = t.Runner("test_crash_load")
    d = t.tmpdir()
    try:
        r.check("checker self-test: torn tail seen, torn middle line "
                "fails", checker_self_test, d)
        r.check("crash under load: %d s, kill -9 workers, %d lighttpd "
                "restarts: 0 lost, 0 duplicated" % (DURATION, len(RESTARTS)),
                run, d)
        for f in FIGURES:
            print("figures: " + f)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(r.finish())


if __name__ == "__main__":
    main()
