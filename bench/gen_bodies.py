#!/usr/bin/env python3
"""Write N signed SMSHook "delivered" events, one JSON body per line, each
with its own token, for wrk (bench/post.lua) and cgi_loop.
    gen_bodies.py N FILE [KEY]"""
import hashlib
import hmac
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "lib"))
import smshooktest as t  # noqa: E402


def main():
    n, path = int(sys.argv[1]), sys.argv[2]
    key = (sys.argv[3] if len(sys.argv) > 3 else t.KEY).encode()
    base = dict(t.SAMPLES["delivered"])
    base["smsId"] = "@SMSID@"
    base.update(timestamp=0, token="@TOKEN@", signature="@SIG@")
    # one template, filled by text substitution: json.dumps per body would
    # make generation the slowest part of a run
    tpl = json.dumps(base, ensure_ascii=False, separators=(",", ":"))
    tpl = tpl.replace('"timestamp":0', '"timestamp":%(ts)d').replace(
        "@SMSID@", "%(ts)d_19999_376_%(i)d_qrwnpq$13888888888").replace(
        "@TOKEN@", "%(token)s").replace("@SIG@", "%(sig)s") + "\n"
    ts0 = int(time.time() * 1000)
    with open(path, "w") as f:
        for i in range(n):
            token = os.urandom(25).hex()            # 50 characters
            ts = ts0 + i // 100
            sig = hmac.new(key, b"%d%s" % (ts, token.encode()),
                           hashlib.sha256).hexdigest()
            f.write(tpl % {"ts": ts, "i": i, "token": token, "sig": sig})


if __name__ == "__main__":
    main()
