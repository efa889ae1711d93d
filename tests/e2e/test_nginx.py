"""smshook behind a real nginx, configured by conf-examples/nginx.conf,
with its FastCGI workers started by conf-examples/spawn-fcgi.sh, and by
conf-examples/smshook.socket + smshook.service (run as systemd would)."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import contract  # noqa: E402
import servers  # noqa: E402
import smshooktest as t  # noqa: E402
from smshooktest import eq, expect  # noqa: E402




def check_too_large_for_nginx(nginx):
    """Above client_max_body_size nginx answers, in JSON too."""
    before = t.spool_bytes(nginx.spool)
    ev = t.event("delivered", pad="x" * (2 * 1048576))
    servers.json_answer(t.post(nginx.url, ev), 413,
                        {"error": "Request body too large"})
    eq(t.spool_bytes(nginx.spool), before)


def stream(url, threads=4, per_thread=50, during=None):
    """Signed events from several threads; during() runs once a third
    are answered. Returns (sent, acked, other answers)."""
    sent, acked, other = [], [], {}
    cv = threading.Condition()

    def client():
        for _ in range(per_thread):
            ev = t.event("delivered")
            with cv:
                sent.append(ev["token"])
            try:
                r = t.post(url, ev, timeout=30)
                ok = r[0] == 200 and b'"success"' in r[2]
                status = r[0]
            except OSError as e:
                ok, status = False, type(e).__name__
            with cv:
                if ok:
                    acked.append(ev["token"])
                else:
                    other[status] = other.get(status, 0) + 1
                cv.notify_all()

    pool = [threading.Thread(target=client) for _ in range(threads)]
    for th in pool:
        th.start()
    if during is not None:
        with cv:
            cv.wait_for(lambda: len(acked) + sum(other.values()) >=
                        threads * per_thread // 3, timeout=60)
        during()
    for th in pool:
        th.join(120)
    return sent, acked, other


def check_stored_once(spool, before, sent, acked, label, extra=()):
    """The lines after the first before ones: every acknowledged token
    once, nothing twice, nothing that was not sent."""
    tokens = [l["payload"]["token"] for _, l in t.spool_lines(spool)]
    tokens = tokens[before:]
    have = set(tokens)
    lost = [x for x in acked if x not in have]
    print("%s: sent=%d acked=%d found=%d lost=%d duplicated=%d"
          % (label, len(sent), len(acked), len(acked) - len(lost),
             len(lost), len(tokens) - len(have)))
    eq(lost, [], "acknowledged but not stored")
    eq(len(tokens), len(have), "stored twice")
    expect(have <= set(sent) | set(extra), "a token nobody sent")


def check_debian_default_site(nginx):
    """Beside a default server on the same port (Debian's default site),
    the example's server_name (127.0.0.1 here) gets its requests; any
    other name goes to the default server, which is why it has one."""
    servers.json_answer(t.http(nginx.url, "GET", ctype=None), 200,
                        {"status": "ok"})
    r = t.http(nginx.url, "GET", ctype=None,
               headers={"Host": "other.example.com"})
    eq((r[0], r[2]), (404, b"default site\n"), "another name")


def check_acme_challenge(nginx):
    """certbot --webroot's challenge under the document root is served,
    though the example refuses other names that start with a dot; one
    beside it, a dot file, is not."""
    d = os.path.join(nginx.docroot, ".well-known", "acme-challenge")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "tok123"), "w") as f:
        f.write("tok123.thumbprint\n")
    with open(os.path.join(nginx.docroot, ".well-known", ".replay"),
              "w") as f:
        f.write("secret\n")
    base = "http://127.0.0.1:%d" % nginx.port
    r = t.http(base + "/.well-known/acme-challenge/tok123", "GET",
               ctype=None)
    eq((r[0], r[2]), (200, b"tok123.thumbprint\n"), "challenge")
    r = t.http(base + "/.well-known/.replay", "GET", ctype=None)
    eq(r[0], 404, "a dot file beside it")


def check_concurrent(nginx):
    before = len(t.spool_lines(nginx.spool))
    sent, acked, other = stream(nginx.url)
    eq(other, {}, "non-200 answers")
    eq(len(acked), len(sent))
    eq(len(t.spool_lines(nginx.spool)), before + len(sent))
    check_stored_once(nginx.spool, before, sent, acked, "concurrent")


def check_forwarded_twice():
    """X-Forwarded-For in two lines, each of which nginx passes on as a
    parameter of its own (see contract.check_forwarded_twice)."""
    proxied = servers.Nginx("spawn", contract.PROXIED).start()
    try:
        contract.check_forwarded_twice(contract.ServerTarget(proxied))
    finally:
        proxied.cleanup()


def check_backend_down(nginx):
    """spawn-fcgi.sh stop ends the workers; nginx then answers a JSON 503
    with Retry-After (SendCloud retries); start brings them back."""
    nginx.backend.stop()
    before = t.spool_bytes(nginx.spool)
    r = t.post(nginx.url, t.event("delivered"))
    servers.json_answer(r, 503, {"error": "Service unavailable"})
    expect(r[1].get("retry-after", "").isdigit(), "no Retry-After")
    eq(t.spool_bytes(nginx.spool), before)
    nginx.backend.start()
    servers.json_answer(t.post(nginx.url, t.event("delivered")), 200,
                        {"status": "success"})
    # started again while running: refused, the running workers kept
    # (they would go on unseen on a removed socket, out of stop's reach)
    pids = nginx.backend.pids()
    r = nginx.backend.run("start")
    eq(r.returncode, 1, r.stderr)
    expect("workers already running" in r.stderr, r.stderr)
    eq(nginx.backend.pids(), pids)
    servers.json_answer(t.post(nginx.url, t.event("delivered")), 200,
                        {"status": "success"})


def check_spawn_workers(nginx):
    """spawn-fcgi.sh's one smshook -w 4: its four workers run as the
    script's user; one killed (the OOM killer, a crash) is replaced, as
    spawn-fcgi itself replaces none, and requests go on."""
    parent = nginx.backend.pids()
    eq(len(parent), 1, "one process in the pid file")
    kids = t.wait_children(parent[0], 4, what="start")
    for k in kids:
        eq(os.stat("/proc/%d" % k).st_uid, servers.worker_ids()[0],
           "worker uid")
    for k in kids:
        os.kill(k, 9)
    t.wait_children(parent[0], 4, gone=kids, what="after SIGKILL")
    for _ in range(8):
        servers.json_answer(t.post(nginx.url, t.event("delivered")), 200,
                            {"status": "success"})


def check_worker_identity(nginx):
    """Workers run as the unit's / script's user, with umask 027: the
    day file they create is 0640."""
    pids = nginx.backend.pids()
    expect(pids, "no workers")
    for pid in pids:
        st = os.stat("/proc/%d" % pid)
        eq(st.st_uid, servers.worker_ids()[0], "worker uid")
    for name in os.listdir(nginx.spool):
        if name.endswith(".jsonl"):
            mode = os.stat(os.path.join(nginx.spool, name)).st_mode & 0o777
            eq(mode, 0o640, name)


def check_units(nginx):
    b = nginx.backend
    b.verify()
    sv = b.units["smshook.service"]["Service"]
    eq(sv["ReadWritePaths"], nginx.spool, "ReadWritePaths is the spool")
    for k in ("NoNewPrivileges", "PrivateTmp", "ProtectHome"):
        eq(sv.get(k), "yes", k)
    eq(sv.get("ProtectSystem"), "strict")


def check_restart_keeps_requests(nginx):
    """The socket outlives the service: SIGTERM during a stream loses no
    acknowledged event, and requests that arrive while the service is
    down wait in the socket until it is started again."""
    b = nginx.backend
    queued = {}

    def late():
        ev = t.event("template")
        queued["ev"] = ev
        queued["r"] = t.post(nginx.url, ev, timeout=30)

    def restart():
        b.stop()
        th = threading.Thread(target=late)
        th.start()
        b.start_service()
        th.join(60)

    before = len(t.spool_lines(nginx.spool))
    sent, acked, other = stream(nginx.url, during=restart)
    check_stored_once(nginx.spool, before, sent, acked, "restart",
                      [queued["ev"]["token"]])
    print("restart: other answers %r" % other)
    expect(len(acked) >= len(sent) * 0.9, "too few acknowledged")
    servers.json_answer(queued["r"], 200, {"status": "success"})
    tokens = [l["payload"]["token"] for _, l in t.spool_lines(nginx.spool)]
    eq(tokens.count(queued["ev"]["token"]), 1)


def check_workers(nginx):
    """ExecStart's -w N: N workers under the service's process, each as
    the unit's user; one that dies is replaced and logged; requests go
    on; SIGTERM stops them all with the service (exit status 0), and
    they stop too when the service's process is killed outright."""
    b = nginx.backend
    argv = b.units["smshook.service"]["Service"]["ExecStart"].split()
    n = int(argv[argv.index("-w") + 1])
    expect(n > 1, "the example runs several workers")
    parent = b.proc.pid
    kids = t.wait_children(parent, n, what="start")
    for k in kids:
        eq(os.stat("/proc/%d" % k).st_uid, servers.worker_ids()[0],
           "worker uid")
    os.kill(kids[0], 9)
    t.wait_children(parent, n, gone=[kids[0]], what="after SIGKILL")
    expect("worker %d ended (signal 9)" % kids[0] in b.log(),
           "the replaced worker is logged")
    before = t.spool_bytes(nginx.spool)
    for _ in range(2 * n):
        servers.json_answer(t.post(nginx.url, t.event("delivered")), 200,
                            {"status": "success"})
    eq(len(t.spool_lines(nginx.spool)) - sum(
        v.count(b"\n") for v in before.values()), 2 * n, "lines stored")
    kids = t.children(parent)
    b.stop()
    eq(servers.wait_gone(kids), [], "workers left after SIGTERM")
    b.start_service()
    kids = t.wait_children(b.proc.pid, n, what="restart")
    # the service's process killed outright: its workers follow it
    b.proc.kill()
    b.proc.wait()
    eq(servers.wait_gone(kids), [], "workers left after SIGKILL of parent")
    b.start_service()
    t.wait_children(b.proc.pid, n, what="second restart")
    servers.json_answer(t.post(nginx.url, t.event("delivered")), 200,
                        {"status": "success"})


def check_workers_give_up(nginx):
    """Workers that keep dying: after more than 10 in a minute the
    service's process stops the rest and exits 1 (systemd's
    Restart=on-failure takes over), leaving no worker and no zombie."""
    b = nginx.backend
    parent = b.proc.pid
    argv = b.units["smshook.service"]["Service"]["ExecStart"].split()
    n = int(argv[argv.index("-w") + 1])
    killed = 0
    kids = t.wait_children(parent, n, what="start")
    while b.proc.poll() is None and killed <= 10:
        for k in kids:
            os.kill(k, 9)
            killed += 1
        if killed <= 10:
            kids = t.wait_children(parent, n, gone=kids, what="respawn")
    eq(b.proc.wait(timeout=15), 1, "exit status after too many losses")
    expect("workers lost too often" in b.log(), "the reason is logged")
    eq(t.children(parent), [], "workers left")
    b.start_service()
    t.wait_children(b.proc.pid, n, what="restart")


def run(r, backend):
    nginx = servers.Nginx(backend)
    name = backend
    try:
        if backend == "systemd":
            r.check("systemd: units verify, hardening", check_units, nginx)
        nginx.start()
        base = "http://127.0.0.1:%d" % nginx.port
        r.check(name + ": basic exchange, spool exact",
                servers.check_basic, nginx.url, nginx.spool)
        planted = servers.plant_secrets(nginx.docroot, nginx.conf,
                                        nginx.spool)
        r.check(name + ": config and spool not fetchable",
                servers.check_unreachable, base, planted)
        r.check(name + ": smshookctl sign | POST", servers.check_ctl_sign,
                nginx.url, nginx.conf, nginx.spool)
        r.check(name + ": body limits", servers.check_body_limits,
                nginx.url, nginx.spool)
        r.check(name + ": body above client_max_body_size",
                check_too_large_for_nginx, nginx)
        # nginx reads a chunked body whole, client_max_body_size applying
        # (the example's JSON 413 above), and passes CONTENT_LENGTH
        r.check(name + ": chunked body", servers.check_chunked, nginx.url,
                nginx.spool, (2 * 1048576, 413,
                              {"error": "Request body too large"}))
        r.check(name + ": worker user and file modes",
                check_worker_identity, nginx)
        target = contract.ServerTarget(nginx)
        for c in contract.SERVER_CHECKS:
            r.check("%s: %s" % (name, c.__name__), c, target)
        r.check(name + ": server_name beside a default server",
                check_debian_default_site, nginx)
        r.check(name + ": ACME challenges served", check_acme_challenge,
                nginx)
        r.check(name + ": 4 concurrent clients", check_concurrent, nginx)
        if backend == "spawn":
            r.check("spawn: workers killed are replaced",
                    check_spawn_workers, nginx)
            r.check("spawn: workers down, JSON 503, back up",
                    check_backend_down, nginx)
            r.check("spawn: X-Forwarded-For twice", check_forwarded_twice)
        else:
            r.check("systemd: -w workers, one replaced, all stopped",
                    check_workers, nginx)
            r.check("systemd: workers lost too often: exit 1",
                    check_workers_give_up, nginx)
            r.check("systemd: service restart behind the socket",
                    check_restart_keeps_requests, nginx)
    except Exception as e:  # noqa: BLE001 - a server that did not start
        r.check(name + ": server", lambda: (_ for _ in ()).throw(e))
    finally:
        nginx.cleanup()


def main():
    r = t.Runner("test_nginx")
    start = time.time()
    for backend in ("spawn", "systemd"):
        run(r, backend)
    print("test_nginx: %.1f s" % (time.time() - start))
    sys.exit(r.finish())


if __name__ == "__main__":
    main()
