#!/usr/bin/env python3
"""Clock: events posted across midnight land in their own day's file.

libfaketime (Debian's faketime package) starts each CGI process at a
chosen instant a few seconds either side of midnight, in UTC and in
configured zones (Asia/Shanghai: midnight there is 16:00 UTC). For each
stored line the expected file is the day of its received_at converted to
the zone; every event posted is found exactly once.

SMSHOOK_LONG=1 adds zones with odd offsets and year ends, and more
instants per midnight.
"""
import datetime
import glob
import json
import os
import shutil
import subprocess
import sys
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import smshooktest as t  # noqa: E402

LONG = os.environ.get("SMSHOOK_LONG") == "1"
LIBS = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1") +
              glob.glob("/usr/lib/faketime/libfaketime.so.1"))
UTC = datetime.timezone.utc

# (zone, local midnight that starts this day)
CASES = [("UTC", "2026-11-27"), ("Asia/Shanghai", "2026-11-27")]
if LONG:
    CASES += [("UTC", "2027-01-01"), ("Asia/Shanghai", "2027-01-01"),
              ("America/St_Johns", "2026-11-27"),
              ("Asia/Kathmandu", "2026-11-27"),
              ("Pacific/Chatham", "2026-11-27"),
              ("Pacific/Kiritimati", "2026-11-27"),
              ("America/Adak", "2026-11-27"),
              ("Europe/Berlin", "2026-03-29")]   # DST starts that night
OFFSETS = list(range(-3, 4)) if not LONG else list(range(-30, 31))


def run(conf, body, instant):
    """POST body with the process clock starting at instant (UTC)."""
    e = dict(t.base_env())
    e.update({"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "POST",
         "REMOTE_ADDR": "127.0.0.1", "SMSHOOK_CONFIG": conf,
         "CONTENT_TYPE": t.JSON, "CONTENT_LENGTH": str(len(body)),
         "TZ": "UTC", "LD_PRELOAD": LIBS[0], "FAKETIME_NO_CACHE": "1",
         "FAKETIME": "@" + instant.strftime("%Y-%m-%d %H:%M:%S")})
    p = subprocess.run([t.SMSHOOK], input=body, env=e, capture_output=True,
                       timeout=30)
    st, hd, rb = t.parse_cgi(p.stdout)
    return st, rb, p.stderr.decode(errors="replace")


def midnight(d, zone, day, figures):
    sub = os.path.join(d, zone.replace("/", "_") + "-" + day)
    os.mkdir(sub)
    spool = os.path.join(sub, "spool")
    conf = t.write_conf(sub, "timezone = %s" % zone)
    tz = ZoneInfo(zone)
    y, m, dd = (int(x) for x in day.split("-"))
    mid = datetime.datetime(y, m, dd, tzinfo=tz).astimezone(UTC)
    posted = {}
    for off in OFFSETS:
        instant = mid + datetime.timedelta(seconds=off)
        ev = t.event(timestamp=int(instant.timestamp() * 1000))
        st, rb, err = run(conf, t.json_body(ev), instant)
        t.eq(st, 200, "%s %s: %s %s" % (zone, instant, rb, err))
        t.eq(json.loads(rb), {"status": "success"})
        posted[ev["token"]] = instant
    lines = t.spool_lines(spool)
    t.eq(sorted(line["payload"]["token"] for _, line in lines),
         sorted(posted), "every event exactly once")
    days = set()
    for name, line in lines:
        at = datetime.datetime.strptime(line["received_at"],
                                        "%Y-%m-%dT%H:%M:%S.%fZ")
        at = at.replace(tzinfo=UTC)
        instant = posted[line["payload"]["token"]]
        # faketime took effect: received within a few seconds of it
        t.expect(abs((at - instant).total_seconds()) < 5,
                 "received_at %s, faked %s" % (at, instant))
        want = at.astimezone(tz).strftime("%Y-%m-%d") + ".jsonl"
        t.eq(name, want, "%s received %s" % (zone, line["received_at"]))
        days.add(name)
    before = (mid - datetime.timedelta(days=1)).astimezone(tz)
    t.eq(sorted(days), sorted([before.strftime("%Y-%m-%d") + ".jsonl",
                               day + ".jsonl"]), "both sides of midnight")
    figures.append("%s midnight %s (%s UTC): %d events, %s" % (
        zone, day, mid.strftime("%Y-%m-%d %H:%M"), len(lines),
        ", ".join("%s: %d" % (n, sum(1 for x, _ in lines if x == n))
                  for n in sorted(days))))


def main():
    r = t.Runner("test_clock")
    if not LIBS:
        print("SKIP test_clock: libfaketime not installed (faketime)")
        sys.exit(r.finish())
    d = t.tmpdir()
    figures = []
    try:
        for zone, day in CASES:
            r.check("midnight %s %s" % (zone, day), midnight, d, zone, day,
                    figures)
        for f in figures:
            print("figures: " + f)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(r.finish())


if __name__ == "__main__":
    main()
