"""make install / make uninstall into a DESTDIR, with the variables a
distribution package passes (PREFIX, SYSCONFDIR, MANDIR)."""
import os
import shutil
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import smshooktest as t  # noqa: E402
from smshooktest import eq, expect  # noqa: E402

VARS = ["PREFIX=/usr", "SYSCONFDIR=/etc", "MANDIR=/usr/share/man"]

# installed path -> (source in the tree or None for a built binary, mode)
EXPECTED = {
    "usr/sbin/smshook": (None, 0o755),
    "usr/bin/smshookctl": (None, 0o755),
    "usr/share/man/man8/smshook.8": ("man/smshook.8", 0o644),
    "usr/share/man/man5/smshook.conf.5": ("man/smshook.conf.5", 0o644),
    "usr/share/man/man1/smshookctl.1": ("man/smshookctl.1", 0o644),
    "etc/smshook/smshook.conf.example": ("conf-examples/smshook.conf",
                                         0o640),
}


def make(*args):
    """make in the top dir; the build goes to its own BUILD dir so that
    SYSCONFDIR is compiled in and nobody else's build/ is touched."""
    p = subprocess.run(["make", "-C", t.TOP, "-j2"] + list(args),
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise AssertionError("make %s failed:\n%s\n%s"
                             % (" ".join(args), p.stdout[-2000:],
                                p.stderr[-2000:]))
    return p


def files_under(root):
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            out[os.path.relpath(p, root)] = p
    return out


def check_install(dest, build):
    make("install", "DESTDIR=" + dest, "BUILD=" + build, *VARS)
    got = files_under(dest)
    eq(sorted(got), sorted(EXPECTED), "installed files")
    for rel, (src, mode) in EXPECTED.items():
        st = os.stat(got[rel])
        expect(stat.S_ISREG(st.st_mode), rel + " is not a file")
        eq(oct(st.st_mode & 0o7777), oct(mode), "mode of " + rel)
        if src is not None:
            with open(os.path.join(t.TOP, src), "rb") as a, \
                    open(got[rel], "rb") as b:
                eq(a.read(), b.read(), rel + " differs from " + src)
    # the example is "readable by others"-safe even once a key is added
    expect(not os.stat(got["etc/smshook/smshook.conf.example"]).st_mode
           & stat.S_IROTH, "example config readable by others")
    # the folder is made 0750; installed again (an upgrade), a folder
    # the operator set up keeps its mode, and a config in it stays
    etc = os.path.join(dest, "etc/smshook")
    eq(oct(os.stat(etc).st_mode & 0o7777), oct(0o750), "mode of etc/smshook")
    os.chmod(etc, 0o710)
    conf = os.path.join(etc, "smshook.conf")
    with open(conf, "w") as f:
        f.write("spool_dir = /x\n")
    make("install", "DESTDIR=" + dest, "BUILD=" + build, *VARS)
    eq(oct(os.stat(etc).st_mode & 0o7777), oct(0o710),
       "mode of etc/smshook after installing again")
    with open(conf) as f:
        eq(f.read(), "spool_dir = /x\n", "the config after installing again")
    os.unlink(conf)


def check_binaries(dest):
    sbin = os.path.join(dest, "usr/sbin/smshook")
    p = subprocess.run([sbin, "-V"], capture_output=True, text=True)
    eq(p.returncode, 0)
    expect(p.stdout.startswith("smshook "), p.stdout)
    # SYSCONFDIR=/etc is compiled in: the default config path
    env = {k: v for k, v in os.environ.items() if k != "SMSHOOK_CONFIG"}
    p = subprocess.run([sbin, "-n"], capture_output=True, text=True,
                       env=env)
    expect("/etc/smshook/smshook.conf" in p.stderr + p.stdout and
           "/usr/local" not in p.stderr + p.stdout,
           "default config path: %r" % (p.stderr + p.stdout))
    ctl = os.path.join(dest, "usr/bin/smshookctl")
    p = subprocess.run([ctl, "-V"], capture_output=True, text=True)
    eq(p.returncode, 0, "smshookctl -V: " + p.stderr)


def check_man_render(dest):
    for rel, (src, _) in EXPECTED.items():
        if "/man/" not in rel:
            continue
        p = subprocess.run(["mandoc", "-T", "utf8",
                            os.path.join(dest, rel)],
                           capture_output=True, text=True)
        eq(p.returncode, 0, "mandoc %s: %s" % (rel, p.stderr))
        expect(len(p.stdout) > 500, rel + " renders empty")


def check_uninstall(dest, build):
    # the operator's smshook.conf keeps its folder, quietly
    mine = os.path.join(dest, "etc/smshook/smshook.conf")
    with open(mine, "w") as f:
        f.write("spool_dir = /x\n")
    p = make("uninstall", "DESTDIR=" + dest, "BUILD=" + build, *VARS)
    eq(sorted(files_under(dest)), ["etc/smshook/smshook.conf"])
    expect("rmdir" not in p.stderr and "Error" not in p.stderr, p.stderr)
    os.unlink(mine)
    make("uninstall", "DESTDIR=" + dest, "BUILD=" + build, *VARS)
    eq(sorted(files_under(dest)), [], "files left by uninstall")
    expect(not os.path.exists(os.path.join(dest, "etc/smshook")),
           "etc/smshook not removed")


def check_default_layout(dest, build):
    """PREFIX alone moves everything, SYSCONFDIR and MANDIR included."""
    make("install", "DESTDIR=" + dest, "BUILD=" + build,
         "PREFIX=/opt/smshook")
    got = sorted(files_under(dest))
    eq(got, sorted([
        "opt/smshook/sbin/smshook", "opt/smshook/bin/smshookctl",
        "opt/smshook/share/man/man8/smshook.8",
        "opt/smshook/share/man/man5/smshook.conf.5",
        "opt/smshook/share/man/man1/smshookctl.1",
        "opt/smshook/etc/smshook/smshook.conf.example"]))
    make("uninstall", "DESTDIR=" + dest, "BUILD=" + build,
         "PREFIX=/opt/smshook")
    eq(sorted(files_under(dest)), [])


def main():
    r = t.Runner("test_install")
    tmp = t.tmpdir("smshook-install-")
    build = os.path.join(tmp, "build")
    dest = os.path.join(tmp, "dest")
    dest2 = os.path.join(tmp, "dest2")
    try:
        r.check("make install: files, modes, contents", check_install,
                dest, build)
        r.check("installed binaries run, SYSCONFDIR compiled in",
                check_binaries, dest)
        r.check("installed man pages render", check_man_render, dest)
        r.check("make uninstall removes them", check_uninstall, dest, build)
        r.check("PREFIX alone: default layout", check_default_layout,
                dest2, build)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(r.finish())


if __name__ == "__main__":
    main()
