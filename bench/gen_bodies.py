#!/usr/bin/env python3
"""Write N signed SMSHook "delivered" events, one JSON body per line, each
with its own token, for wrk (bench/post.lua) and cgi_loop.
    gen_bodies.py N FILE [KEY]"""
import json
import os
import secrets
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "lib"))
import smshooktest as t  # noqa: E402


def main():
    n, path = int(sys.argv[1]), sys.argv[2]
    key = sys.argv[3] if len(sys.argv) > 3 else t.KEY
    base = dict(t.SAMPLES["delivered"])
    ts = int(time.time() * 1000)
    with open(path, "w") as f:
        for i in range(n):
            ev = dict(base)
            token = secrets.token_hex(25)           # 50 characters
            stamp = ts + i // 100
            ev["smsId"] = "%d_19999_376_%d_qrwnpq$13888888888" % (stamp, i)
            ev["timestamp"] = stamp
            ev["token"] = token
            ev["signature"] = t.sign(key, stamp, token)
            f.write(json.dumps(ev, ensure_ascii=False,
                               separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
