#!/usr/bin/env python3
"""Disk faults: the receiver never answers 200 for an event it has not
stored, never leaves a partial line, and does not remember the token of
an event it refused, so the provider's retry gets it in.

- spool on a tiny tmpfs filled to ENOSPC (needs root to mount; skipped
  with a message otherwise);
- EIO and short writes (cut back), failed fdatasync/fsync (the line
  left whole, stored again on retry), a torn tail whose repair fails
  (503, file unchanged), the token write failing after the line is
  stored (200, the resend stored again), injected with libfiu;
- read-only spool (mode 0555 as nobody; tmpfs remounted read-only);
- a missing spool dir (created 0750); its parent not readable (0711,
  as nobody: 200 with fsync on);
- replay table corrupted (set aside) or unusable: a directory, mode
  000, a FIFO, or damaged in a dir it cannot be moved out of (events
  still stored).

SMSHOOK_LONG=1 posts more events in each scenario.
"""
import glob
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import smshooktest as t  # noqa: E402

LONG = os.environ.get("SMSHOOK_LONG") == "1"
N = 200 if LONG else 12
# each new token may touch a fresh 4 KiB page of the sparse replay table:
# room for N events (and their tokens) once the filler is gone
TMPFS = "4m" if LONG else "256k"
FIU = shutil.which("fiu-run")
FIGURES = []


def run(conf, body, ctype=t.JSON, wrap=None, user=None):
    e = dict(t.base_env())
    e.update({"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "POST",
         "REMOTE_ADDR": "127.0.0.1", "SMSHOOK_CONFIG": conf,
         "CONTENT_TYPE": ctype, "CONTENT_LENGTH": str(len(body)),
         })
    p = subprocess.run((wrap or []) + [t.SMSHOOK], input=body, env=e,
                       capture_output=True, timeout=60, user=user)
    st, hd, rb = t.parse_cgi(p.stdout)
    return st, hd, rb, p.stderr.decode(errors="replace")


def fiu(point, extra=""):
    """fiu-run prefix failing the first call through point with EIO."""
    return [FIU, "-x", "-f", "", "-c",
            "enable name=%s,onetime=1,failinfo=5%s" % (point, extra)]


def stored_one(d, name, extra=""):
    """A spool dir/name and its config (extra lines added) with one event
    stored, so the day file and replay table exist: (spool, conf, token,
    body, content type) of that event."""
    spool = os.path.join(d, name)
    conf = t.write_conf(d, extra, spool=spool, name=name + ".conf")
    tok, body, ct = events(1)[0]
    st, hd, rb, err = run(conf, body, ct)
    expect_success(st, rb, err, "setup")
    return spool, conf, tok, body, ct


def spool_in(d, name, mode, extra=""):
    """A folder d/name holding a spool of mode (whatever the umask) and a
    config for it (extra lines added): (folder, spool, config)."""
    sub = os.path.join(d, name)
    os.mkdir(sub)
    spool = os.path.join(sub, "spool")
    os.mkdir(spool, mode)
    os.chmod(spool, mode)
    return sub, spool, t.write_conf(sub, extra, spool=spool)


def events(n, kind="delivered"):
    out = []
    for i in range(n):
        ev = t.event(kind)
        form = i % 3 == 2
        out.append((ev["token"], t.form_body(ev) if form else t.json_body(ev),
                    t.FORM if form else t.JSON))
    return out


def spool_tokens(spool):
    """Every token on disk; also checks every file ends in '\\n' and
    every line parses (spool_lines raises otherwise)."""
    for name, data in t.spool_bytes(spool).items():
        t.expect(data == b"" or data.endswith(b"\n"),
                 "%s ends with a partial line: %r" % (name, data[-80:]))
    toks = [line["payload"]["token"] for _, line in t.spool_lines(spool)]
    return toks


def expect_503(st, hd, rb, err, what):
    t.eq(st, 503, "%s: %s %s" % (what, rb, err))
    t.eq(hd.get("retry-after"), "120", "Retry-After")
    t.eq(json.loads(rb), {"error": "spool unavailable"})
    t.expect("503 from" in err, "rejection logged")


def expect_success(st, rb, err, what):
    t.eq(st, 200, "%s: %s %s" % (what, rb, err))
    t.eq(json.loads(rb), {"status": "success"}, what)


# ------------------------------------------------------------ ENOSPC

def fill(path):
    """Write path until the file system says ENOSPC; returns bytes."""
    n = 0
    with open(path, "wb", buffering=0) as f:
        for chunk in (65536, 4096, 512, 1):
            while True:
                try:
                    f.write(b"x" * chunk)
                    n += chunk
                except OSError:
                    break
    return n


def enospc(mnt, d):
    spool = os.path.join(mnt, "spool")
    conf = t.write_conf(d, spool=spool, name="enospc.conf")
    # one event first: spool dir and replay table exist from now on
    tok, body, ct = events(1)[0]
    st, hd, rb, err = run(conf, body, ct)
    expect_success(st, rb, err, "first event")
    stored = [tok]
    day = glob.glob(os.path.join(spool, "*.jsonl"))
    t.eq(len(day), 1)
    # a fresh day file needs a page of its own: move the old one off
    # the file system so the next append must allocate
    kept = open(day[0], "rb").read()
    os.unlink(day[0])
    filler = os.path.join(mnt, "filler")
    filled = fill(filler)
    evs = events(N)
    for tok, body, ct in evs:
        st, hd, rb, err = run(conf, body, ct)
        expect_503(st, hd, rb, err, "disk full")
        t.expect("No space left on device" in err, err)
        t.expect(tok not in spool_tokens(spool), "refused event on disk")
    t.eq(spool_tokens(spool), [], "nothing stored while full")
    os.unlink(filler)
    for tok, body, ct in evs:       # the provider's retry, same tokens
        st, hd, rb, err = run(conf, body, ct)
        expect_success(st, rb, err, "retry after space returned")
        stored.append(tok)
    # and now they are remembered
    st, hd, rb, err = run(conf, evs[0][1], evs[0][2])
    t.eq(json.loads(rb), {"status": "duplicate"})
    got = spool_tokens(spool)
    t.eq(sorted(got), sorted(stored[1:]), "exactly the retried events")
    FIGURES.append("ENOSPC: tmpfs " + TMPFS + ", filler %d bytes; %d POSTs while "
                   "full -> %d x 503, 0 lines; %d retries after freeing "
                   "space -> %d x 200, %d lines" % (
                       filled, N, N, N, N, len(got)))
    _ = kept


def enospc_midway(mnt, d):
    """Space runs out in the middle of a run: the set of events answered
    200 is exactly the set on disk, every file ends in '\\n'."""
    spool = os.path.join(mnt, "spool2")
    conf = t.write_conf(d, spool=spool, name="midway.conf")
    filler = os.path.join(mnt, "filler2")
    fill(filler)
    os.truncate(filler, max(0, os.path.getsize(filler) - 24 * 1024))
    ok, refused = [], []
    evs = events(max(N, 40) * 2)
    streak = 0
    for tok, body, ct in evs:
        st, hd, rb, err = run(conf, body, ct)
        if st == 200:
            expect_success(st, rb, err, "midway")
            ok.append(tok)
            streak = 0
        else:
            expect_503(st, hd, rb, err, "midway")
            refused.append((tok, body, ct))
            streak += 1
        t.eq(sorted(spool_tokens(spool)), sorted(ok), "200 <=> on disk")
        if streak >= 5 and len(refused) >= N:
            break
    t.expect(ok and refused, "both outcomes seen (%d ok, %d refused)"
             % (len(ok), len(refused)))
    os.unlink(filler)
    for tok, body, ct in refused:
        st, hd, rb, err = run(conf, body, ct)
        expect_success(st, rb, err, "retry")
        ok.append(tok)
    t.eq(sorted(spool_tokens(spool)), sorted(ok))
    FIGURES.append("ENOSPC midway: %d accepted before space ran out, %d "
                   "refused (503) and all %d accepted on retry; lines on "
                   "disk == 200 answers" % (len(ok) - len(refused),
                                            len(refused), len(refused)))


def readonly_remount(mnt, d):
    spool = os.path.join(mnt, "spool3")
    conf = t.write_conf(d, spool=spool, name="ro.conf")
    tok, body, ct = events(1)[0]
    st, hd, rb, err = run(conf, body, ct)
    expect_success(st, rb, err, "before remount")
    subprocess.run(["mount", "-o", "remount,ro", mnt], check=True)
    try:
        evs = events(3)
        for tok2, body2, ct2 in evs:
            st, hd, rb, err = run(conf, body2, ct2)
            expect_503(st, hd, rb, err, "read-only file system")
            t.expect("Read-only file system" in err, err)
    finally:
        subprocess.run(["mount", "-o", "remount,rw", mnt], check=True)
    t.eq(spool_tokens(spool), [tok])
    for tok2, body2, ct2 in evs:
        st, hd, rb, err = run(conf, body2, ct2)
        expect_success(st, rb, err, "after remount rw")
    FIGURES.append("read-only remount: 3 POSTs -> 3 x 503; accepted after "
                   "remount rw")


def compress_full(mnt, d):
    """compress on a full disk: exit 1 naming the .gz.tmp it could not
    write and "No space left on device" (zlib alone says EIO, which
    smshookctl(1) uses for a damaged file); the day is kept whole, no
    .tmp left."""
    spool = os.path.join(mnt, "cspool")
    os.mkdir(spool)
    conf = t.write_conf(d, spool=spool, name="compress.conf")
    day = os.path.join(spool, "2020-01-01.jsonl")
    lines = b"".join(t.v1_line(t.event(smsId=os.urandom(24).hex()))
                     for _ in range(60))
    with open(day, "wb") as f:
        f.write(lines)
    os.utime(day, (1577836800, 1577836800))
    filler = os.path.join(mnt, "filler-compress")
    fill(filler)
    try:
        p = t.ctl(conf, "compress")
        t.eq(p.returncode, 1, p.stderr)
        t.expect("%s.gz.tmp: No space left on device" % day in p.stderr,
                 p.stderr)
        t.eq(open(day, "rb").read(), lines, "(the day kept whole)")
        t.eq(sorted(os.listdir(spool)), [".smshookctl.lock",
                                         "2020-01-01.jsonl"])
    finally:
        os.unlink(filler)
    t.eq(t.ctl(conf, "compress").returncode, 0, "(with room again)")
    t.eq(sorted(os.listdir(spool)), [".smshookctl.lock",
                                     "2020-01-01.jsonl.gz"])


def tmpfs_suite(r, d):
    mnt = os.path.join(d, "mnt")
    os.mkdir(mnt)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % TMPFS,
                        "tmpfs", mnt], capture_output=True, text=True)
    if p.returncode != 0:
        print("SKIP tmpfs scenarios: mount failed (%s)" % p.stderr.strip())
        return
    try:
        r.check("ENOSPC: 503, no partial line, retry accepted", enospc,
                mnt, d)
        for f in os.listdir(mnt):
            if f.startswith("filler"):
                os.unlink(os.path.join(mnt, f))
        r.check("ENOSPC midway: 200 <=> stored", enospc_midway, mnt, d)
        for f in os.listdir(mnt):
            if f.startswith("filler"):
                os.unlink(os.path.join(mnt, f))
        r.check("compress on a full disk: ENOSPC named, day kept",
                compress_full, mnt, d)
        r.check("read-only remount: 503", readonly_remount, mnt, d)
    finally:
        subprocess.run(["umount", "-l", mnt])

# ------------------------------------------------------------ libfiu

def injected(d, point, errtext, extra=""):
    """EIO or a short write: 503 and the file cut back, byte-identical."""
    spool, conf, tok0, body0, ct0 = stored_one(
        d, "fiu-" + point.replace("/", "_"))
    before = t.spool_bytes(spool)
    evs = events(max(2, N // 4))
    for tok, body, ct in evs:
        st, hd, rb, err = run(conf, body, ct, wrap=fiu(point, extra))
        expect_503(st, hd, rb, err, point)
        t.expect(errtext in err, "%s: %r" % (point, err))
        t.eq(t.spool_bytes(spool), before, "cut back to the old length")
    for tok, body, ct in evs:
        st, hd, rb, err = run(conf, body, ct)
        expect_success(st, rb, err, "retry after " + point)
    t.eq(sorted(spool_tokens(spool)), sorted([tok0] + [e[0] for e in evs]))
    FIGURES.append("libfiu %s: %d POSTs -> %d x 503, spool byte-identical; "
                   "all accepted on retry" % (point, len(evs), len(evs)))


def verify_clean(conf):
    """smshookctl verify: exit 0, nothing invalid, foreign or torn."""
    p = t.ctl(conf, "verify")
    t.eq(p.returncode, 0, "verify: %s%s" % (p.stdout, p.stderr))
    for zero in ("0 invalid", "0 foreign", "0 incomplete"):
        t.expect(zero in p.stdout, "verify: %s" % p.stdout)


def expect_kept_whole(spool, tok, body, ct, most):
    """tok is on at most `most` lines, every one whole (spool_tokens
    checks that each file ends in '\\n' and every line parses) and
    carrying the event as sent; returns the count."""
    toks = spool_tokens(spool)
    n = toks.count(tok)
    t.expect(n <= most, "token on %d lines (at most %d)" % (n, most))
    if ct == t.JSON:
        want = json.loads(body)
    else:       # a form's fields are stored as text
        want = dict(urllib.parse.parse_qsl(body.decode(),
                                           keep_blank_values=True))
    for _, line in t.spool_lines(spool):
        if line["payload"]["token"] == tok:
            t.eq(line["payload"], want, "the line holds the event")
    return n


def injected_sync(d):
    """EIO on fdatasync after the line was written: 503 with Retry-After.
    The sync runs outside the day file's lock (group commit), so the line
    is not cut back: it stays whole, the token is not remembered, the
    retry is accepted and may store the event a second time, which
    verify accepts (importers collapse it on its unique key)."""
    point = "posix/io/sync/fdatasync"
    spool, conf, tok0, body0, ct0 = stored_one(
        d, "fiu-" + point.replace("/", "_"))
    evs = events(max(2, N // 4))
    kept = 0
    for tok, body, ct in evs:
        st, hd, rb, err = run(conf, body, ct, wrap=fiu(point))
        expect_503(st, hd, rb, err, point)
        t.expect("sync " in err and "Input/output error" in err,
                 "%s: %r" % (point, err))
        kept += expect_kept_whole(spool, tok, body, ct, 1)
    for tok, body, ct in evs:
        st, hd, rb, err = run(conf, body, ct)
        expect_success(st, rb, err, "retry after " + point)
        t.expect(expect_kept_whole(spool, tok, body, ct, 2) >= 1,
                 "the retry is on disk")
    st, hd, rb, err = run(conf, evs[0][1], evs[0][2])
    t.eq(json.loads(rb), {"status": "duplicate"}, "remembered after retry")
    toks = spool_tokens(spool)
    t.eq(toks.count(tok0), 1, "the setup event untouched")
    t.eq(sorted(set(toks)), sorted([tok0] + [e[0] for e in evs]))
    verify_clean(conf)
    FIGURES.append("libfiu %s: %d POSTs -> %d x 503, %d failed lines left "
                   "whole; all accepted on retry, verify clean"
                   % (point, len(evs), len(evs), kept))


def new_day_dir_sync(d):
    """The first line of a new day file also syncs the directory; when
    that fails the answer is 503 and the (whole) line may stay, the
    token is not remembered and the retry is stored."""
    spool = os.path.join(d, "fiu-dirsync")
    conf = t.write_conf(d, spool=spool, name="fiu-dir.conf")
    tok, body, ct = events(1)[0]
    st, hd, rb, err = run(conf, body, ct,
                          wrap=fiu("posix/io/sync/fsync"))
    expect_503(st, hd, rb, err, "directory fsync")
    t.expect("sync " in err and "Input/output error" in err, err)
    expect_kept_whole(spool, tok, body, ct, 1)
    st, hd, rb, err = run(conf, body, ct)
    expect_success(st, rb, err, "retry")
    t.expect(expect_kept_whole(spool, tok, body, ct, 2) >= 1,
             "the retry is on disk")
    t.eq(set(spool_tokens(spool)), {tok})
    st, hd, rb, err = run(conf, body, ct)
    t.eq(json.loads(rb), {"status": "duplicate"}, "remembered after retry")
    verify_clean(conf)


def double_fault(d):
    """Short write and a failed cut-back: the torn tail is left, but the
    answer is 503, and the next writer removes it before appending."""
    spool, conf, tok0, body0, ct0 = stored_one(d, "fiu-double")
    tok1, body1, ct1 = events(1)[0]
    wrap = [FIU, "-x", "-f", "",
            "-c", "enable name=posix/io/rw/write/reduce,onetime=1",
            "-c", "enable name=posix/io/rw/ftruncate,onetime=1,failinfo=5"]
    st, hd, rb, err = run(conf, body1, ct1, wrap=wrap)
    expect_503(st, hd, rb, err, "short write + failed cut-back")
    t.expect("cannot cut back" in err, err)
    data = list(t.spool_bytes(spool).values())[0]
    torn = not data.endswith(b"\n")
    # readers ignore an unterminated last line; the next append cuts it
    tok2, body2, ct2 = events(1)[0]
    st, hd, rb, err = run(conf, body2, ct2)
    expect_success(st, rb, err, "next writer")
    if torn:
        t.expect("unfinished line" in err, err)
    t.eq(spool_tokens(spool), [tok0, tok2])
    st, hd, rb, err = run(conf, body1, ct1)
    expect_success(st, rb, err, "retry")
    t.eq(spool_tokens(spool), [tok0, tok2, tok1])
    FIGURES.append("libfiu short write + failed ftruncate: 503; torn tail "
                   "%s, removed by the next append; retry accepted"
                   % ("left" if torn else "not left"))


def repair_fails(d):
    """A torn last line whose repair fails (the cut-back, or the read of
    the tail): 503 "repair", the file left as it was; the retry cuts the
    torn tail and is stored, whole lines only."""
    spool, conf, tok0, body0, ct0 = stored_one(d, "fiu-repair")
    day = glob.glob(os.path.join(spool, "*.jsonl"))[0]
    with open(day, "ab") as f:      # a writer killed mid-line
        f.write(body0[:40])
    before = t.spool_bytes(spool)
    tok1, body1, ct1 = events(1)[0]
    st, hd, rb, err = run(conf, body1, ct1,
                          wrap=fiu("posix/io/rw/ftruncate"))
    expect_503(st, hd, rb, err, "failed repair")
    t.expect("repair " in err and "Input/output error" in err, err)
    t.eq(t.spool_bytes(spool), before, "left as it was")
    st, hd, rb, err = run(conf, body1, ct1)
    expect_success(st, rb, err, "retry")
    t.expect("removed 40 bytes of an unfinished line" in err, err)
    t.eq(spool_tokens(spool), [tok0, tok1])
    # the read of the tail fails (without a token table, the first pread)
    spool2 = os.path.join(d, "fiu-repair-read")
    conf2 = t.write_conf(d, "replay_window = 0", spool=spool2,
                         name="fiu-repair-read.conf")
    st, hd, rb, err = run(conf2, body0, ct0)
    expect_success(st, rb, err, "setup")
    before = t.spool_bytes(spool2)
    st, hd, rb, err = run(conf2, body1, ct1, wrap=fiu("posix/io/rw/pread"))
    expect_503(st, hd, rb, err, "failed read of the tail")
    t.expect("repair " in err and "Input/output error" in err, err)
    t.eq(t.spool_bytes(spool2), before, "left as it was")
    st, hd, rb, err = run(conf2, body1, ct1)
    expect_success(st, rb, err, "retry")
    t.eq(spool_tokens(spool2), [tok0, tok1])
    FIGURES.append("libfiu torn tail + failed ftruncate, failed pread of "
                   "the tail: 503 each, file unchanged; retry accepted, "
                   "whole lines only")


def token_write_fails(d):
    """The token cannot be recorded after its line is stored: still 200
    success (the line is on disk), the failure logged; the table did not
    remember it, so a resend is stored again (import keeps one row)."""
    spool, conf, tok0, body0, ct0 = stored_one(d, "fiu-pwrite")
    tok, body, ct = events(1)[0]
    st, hd, rb, err = run(conf, body, ct, wrap=fiu("posix/io/rw/pwrite"))
    expect_success(st, rb, err, "token write fails")
    t.expect("replay table write: Input/output error" in err, err)
    t.eq(spool_tokens(spool), [tok0, tok])
    st, hd, rb, err = run(conf, body, ct)
    expect_success(st, rb, err, "resend: not remembered")
    t.eq(spool_tokens(spool), [tok0, tok, tok])
    st, hd, rb, err = run(conf, body, ct)
    t.eq(json.loads(rb), {"status": "duplicate"}, "remembered now")
    verify_clean(conf)
    FIGURES.append("libfiu posix/io/rw/pwrite (token write): 200 success, "
                   "line on disk, logged; resend stored again, then "
                   "duplicate")


def fiu_suite(r, d):
    if FIU is None:
        print("SKIP libfiu scenarios: fiu-run not installed (fiu-utils)")
        return
    if "ASAN_OPTIONS" in os.environ:
        # libfiu's write() wrapper and ASan's interceptor do not stack;
        # the plain build runs these scenarios
        print("SKIP libfiu scenarios under AddressSanitizer")
        return
    r.check("EIO on write: 503, no partial line", injected, d,
            "posix/io/rw/write", "Input/output error")
    r.check("short write: 503, cut back", injected, d,
            "posix/io/rw/write/reduce", "write ")
    r.check("EIO on fdatasync: 503, line left whole, retry accepted",
            injected_sync, d)
    r.check("EIO on directory fsync of a new day: 503", new_day_dir_sync, d)
    r.check("short write + failed cut-back: repaired next", double_fault, d)
    r.check("torn tail, repair fails: 503, file unchanged, retry stored",
            repair_fails, d)
    r.check("token write fails after the line: 200, resend stored",
            token_write_fails, d)

# ------------------------------------------------------------ modes

def nobody():
    return pwd.getpwnam("nobody")


def readonly_dir(d):
    pw = nobody()
    sub, spool, conf = spool_in(d, "ro", 0o555)
    os.chown(conf, pw.pw_uid, pw.pw_gid)
    evs = events(3)
    for tok, body, ct in evs:
        st, hd, rb, err = run(conf, body, ct, user="nobody")
        expect_503(st, hd, rb, err, "spool mode 0555")
        t.expect("Permission denied" in err, err)
    t.eq(os.listdir(spool), [])
    os.chown(spool, pw.pw_uid, pw.pw_gid)
    os.chmod(spool, 0o750)
    for tok, body, ct in evs:
        st, hd, rb, err = run(conf, body, ct, user="nobody")
        expect_success(st, rb, err, "after chmod")
    t.eq(sorted(spool_tokens(spool)), sorted(e[0] for e in evs))


def missing_dir(d):
    sub = os.path.join(d, "missing")
    os.mkdir(sub)
    spool = os.path.join(sub, "not", "yet")
    os.mkdir(os.path.dirname(spool))
    conf = t.write_conf(sub, spool=spool)
    tok, body, ct = events(1)[0]
    st, hd, rb, err = run(conf, body, ct)
    expect_success(st, rb, err, "missing spool dir")
    t.eq(stat.S_IMODE(os.stat(spool).st_mode), 0o750, "spool dir mode")
    for f in glob.glob(os.path.join(spool, "*.jsonl")):
        t.eq(stat.S_IMODE(os.stat(f).st_mode), 0o640, "day file mode")
    t.eq(spool_tokens(spool), [tok])
    # parent missing too: cannot be created -> 503, nothing claimed
    conf2 = t.write_conf(sub, spool=os.path.join(sub, "a", "b"),
                         name="deep.conf")
    st, hd, rb, err = run(conf2, body, ct)
    expect_503(st, hd, rb, err, "spool parent missing")


def replay_corrupt(d):
    sub = os.path.join(d, "corrupt")
    os.mkdir(sub)
    spool = os.path.join(sub, "spool")
    os.mkdir(spool, 0o750)
    conf = t.write_conf(sub, spool=spool)
    with open(os.path.join(spool, ".replay"), "wb") as f:
        f.write(b"this is not a replay table\n" * 10)
    tok, body, ct = events(1)[0]
    st, hd, rb, err = run(conf, body, ct)
    expect_success(st, rb, err, "corrupt replay table")
    t.expect("not a replay table" in err, err)
    bad = glob.glob(os.path.join(spool, ".replay.bad-*"))
    t.eq(len(bad), 1, "set aside")
    t.eq(open(bad[0], "rb").read()[:11], b"this is not")
    t.eq(spool_tokens(spool), [tok])
    st, hd, rb, err = run(conf, body, ct)
    t.eq(json.loads(rb), {"status": "duplicate"}, "fresh table works")


def replay_unusable(d):
    pw = nobody()
    sub, spool, conf = spool_in(d, "unusable", 0o750)
    # a directory where the table should be: open(O_RDWR) fails
    os.mkdir(os.path.join(spool, ".replay"))
    tok, body, ct = events(1)[0]
    st, hd, rb, err = run(conf, body, ct)
    expect_success(st, rb, err, ".replay is a directory")
    t.expect("storing without duplicate check" in err, err)
    t.eq(spool_tokens(spool), [tok])
    # unreadable for the worker user
    spool2 = os.path.join(sub, "spool2")
    os.mkdir(spool2, 0o750)
    os.chown(spool2, pw.pw_uid, pw.pw_gid)
    conf2 = t.write_conf(sub, spool=spool2, name="nobody.conf")
    os.chown(conf2, pw.pw_uid, pw.pw_gid)
    rp = os.path.join(spool2, ".replay")
    with open(rp, "wb") as f:
        f.write(b"x")
    os.chmod(rp, 0o000)
    tok2, body2, ct2 = events(1)[0]
    st, hd, rb, err = run(conf2, body2, ct2, user="nobody")
    expect_success(st, rb, err, ".replay unreadable")
    t.expect("Permission denied" in err and "replay" in err, err)
    t.eq(spool_tokens(spool2), [tok2])


def replay_fifo(d):
    """.replay is a FIFO: not ours to set aside or to read. The receiver
    does not wait on it, logs it and stores the event without the
    duplicate check; the FIFO stays."""
    sub = os.path.join(d, "fifo")
    os.mkdir(sub)
    spool = os.path.join(sub, "spool")
    os.mkdir(spool, 0o750)
    conf = t.write_conf(sub, spool=spool)
    rp = os.path.join(spool, ".replay")
    os.mkfifo(rp, 0o640)
    tok, body, ct = events(1)[0]
    for n in (1, 2):                # a resend is stored again
        st, hd, rb, err = run(conf, body, ct)
        expect_success(st, rb, err, ".replay is a FIFO")
        t.expect("not a regular file; storing without duplicate check"
                 in err, err)
        t.eq(spool_tokens(spool), [tok] * n)
    t.expect(stat.S_ISFIFO(os.lstat(rp).st_mode), "the FIFO left in place")
    t.eq(glob.glob(os.path.join(spool, ".replay.*")), [], "nothing made")


def replay_aside_fails(d):
    """A damaged table that cannot be set aside (the spool dir is not
    writable for the rename, as nobody): the event is stored without the
    duplicate check, the reason logged, the table left as it was."""
    pw = nobody()
    sub, spool, conf = spool_in(d, "aside", 0o755)
    os.chown(conf, pw.pw_uid, pw.pw_gid)
    # the day file (and, near midnight, the next) and a damaged table
    # are nobody's; the dir is not
    days = {time.strftime("%Y-%m-%d.jsonl", time.gmtime(time.time() + k))
            for k in (0, 120)}
    rp = os.path.join(spool, ".replay")
    garbage = b"this is not a replay table\n" * 10
    for name, data in [(n, b"") for n in days] + [(".replay", garbage)]:
        path = os.path.join(spool, name)
        with open(path, "wb") as f:
            f.write(data)
        os.chown(path, pw.pw_uid, pw.pw_gid)
    tok, body, ct = events(1)[0]
    for n in (1, 2):                # a resend is stored again
        st, hd, rb, err = run(conf, body, ct, user="nobody")
        expect_success(st, rb, err, "table cannot be set aside")
        t.expect("storing without duplicate check" in err, err)
        t.expect("not a replay table, cannot move it to " in err and
                 "Permission denied" in err, err)
        t.expect("moved to" not in err, err)
        t.eq(spool_tokens(spool), [tok] * n)
    with open(rp, "rb") as f:
        t.eq(f.read(), garbage, "the table left as it was")
    t.eq(glob.glob(os.path.join(spool, ".replay.*")), [], "nothing made")


def parent_unreadable(d):
    """The spool's parent searchable but not readable (0711, not the
    worker's): its sync is skipped, and with fsync on the event is still
    stored and answered 200."""
    pw = nobody()
    sub, spool, conf = spool_in(d, "hidden", 0o750, "fsync = yes")
    os.chmod(sub, 0o711)
    os.chown(spool, pw.pw_uid, pw.pw_gid)
    os.chown(conf, pw.pw_uid, pw.pw_gid)
    evs = events(2)
    for tok, body, ct in evs:
        st, hd, rb, err = run(conf, body, ct, user="nobody")
        expect_success(st, rb, err, "parent 0711")
        t.eq(err, "", "nothing logged")
    t.eq(spool_tokens(spool), [e[0] for e in evs])


def file_size_limit(d):
    """RLIMIT_FSIZE (ulimit -f on shared hosting) below the 32 MiB replay
    table, then at the day file's size: SIGXFSZ must not kill the
    receiver; the table is skipped (logged) and a full spool is a 503."""
    import resource

    sub = os.path.join(d, "fsize")
    os.mkdir(sub)
    spool = os.path.join(sub, "spool")
    conf = t.write_conf(sub, spool=spool)

    def limited(body, ct, limit):
        def lim():
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        e = dict(t.base_env(), GATEWAY_INTERFACE="CGI/1.1",
                 REQUEST_METHOD="POST", REMOTE_ADDR="127.0.0.1",
                 SMSHOOK_CONFIG=conf, CONTENT_TYPE=ct,
                 CONTENT_LENGTH=str(len(body)))
        p = subprocess.run([t.SMSHOOK], input=body, env=e,
                           capture_output=True, timeout=60, preexec_fn=lim)
        t.eq(p.returncode, 0, "killed by signal %d?" % -p.returncode)
        st, hd, rb = t.parse_cgi(p.stdout)
        return st, hd, rb, p.stderr.decode(errors="replace")

    (tok, body, ct), (tok2, body2, ct2) = events(2)
    st, hd, rb, err = limited(body, ct, 1 << 20)
    expect_success(st, rb, err, "file size limit below the replay table")
    t.expect("storing without duplicate check" in err, err)
    t.eq([n for n in os.listdir(spool) if n.startswith(".replay")], [],
         "no table or temporary table left")
    t.eq(spool_tokens(spool), [tok])
    day = [n for n in os.listdir(spool) if n.endswith(".jsonl")][0]
    size = os.path.getsize(os.path.join(spool, day))
    st, hd, rb, err = limited(body2, ct2, size)
    expect_503(st, hd, rb, err, "day file at the file size limit")
    t.eq(spool_tokens(spool), [tok])
    st, hd, rb, err = run(conf, body2, ct2)
    expect_success(st, rb, err, "retry without the limit")
    t.eq(spool_tokens(spool), [tok, tok2])


def main():
    r = t.Runner("test_disk_faults")
    if os.geteuid() != 0:
        print("SKIP test_disk_faults: needs root (mount, chown, run as "
              "nobody)")
        sys.exit(r.finish())
    d = t.tmpdir()
    try:
        tmpfs_suite(r, d)
        fiu_suite(r, d)
        r.check("read-only spool dir (0555, as nobody): 503", readonly_dir, d)
        r.check("missing spool dir: created 0750, 200", missing_dir, d)
        r.check("corrupt replay table: set aside, 200", replay_corrupt, d)
        r.check("unusable replay table: stored anyway, logged",
                replay_unusable, d)
        r.check("replay table a FIFO: no wait, stored, left in place",
                replay_fifo, d)
        r.check("damaged replay table not set aside (dir 0755, as "
                "nobody): stored", replay_aside_fails, d)
        r.check("spool parent 0711 (as nobody), fsync on: 200",
                parent_unreadable, d)
        r.check("file size limit (SIGXFSZ): table skipped, 503 when full",
                file_size_limit, d)
        for f in FIGURES:
            print("figures: " + f)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(r.finish())


if __name__ == "__main__":
    main()
