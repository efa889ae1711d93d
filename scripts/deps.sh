#!/bin/sh
# Install the Debian packages smshook builds, tests and demos with, if any
# is missing. Quiet and quick when everything is there already.
#   deps.sh        everything make test needs
#   deps.sh run    what make run needs: the build, lighttpd, curl
# A server it installs (Apache, nginx, lighttpd, PostgreSQL, Prometheus)
# is neither started nor enabled: the tests start their own.
set -eu

RUN_PKGS="build-essential pkg-config libfcgi-dev libcjson-dev libssl-dev
openssl libsqlite3-dev libpq-dev zlib1g-dev lighttpd curl tzdata"
PKGS="$RUN_PKGS libcmocka-dev sqlite3 apache2 libapache2-mod-fcgid
nginx-light spawn-fcgi postgresql mandoc python3 faketime fiu-utils
valgrind clang libclang-rt-14-dev wrk php-cgi gnuplot-nox dpkg-dev file
apache2-suexec-pristine debhelper lintian prometheus python3-yaml"
[ "${1:-}" = run ] && PKGS=$RUN_PKGS

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null; then
		echo "deps: installing packages needs root: run" \
		    "\"su -c 'make deps'\" (or install:$missing)" >&2
		exit 1
	fi
	SUDO="sudo"
fi
# Packages must not start their own services (ports 80, 5432): the tests
# start every server themselves, on private ports. The file goes however
# this ends (an interrupt too: dash runs the EXIT trap only on exit).
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod 755 /usr/sbin/policy-rc.d
	trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
fi
# apt may be busy at a machine's first boot (unattended-upgrades)
tries=0
until $SUDO apt-get update -q; do
	tries=$((tries + 1))
	[ "$tries" -lt 30 ] || exit 1
	echo "deps: apt-get update failed (apt busy?): again in 10 s" >&2
	sleep 10
done
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q \
    -o DPkg::Lock::Timeout=600 --no-install-recommends $missing
# nor started at the next boot: those it installed only
units=""
for p in $missing; do
	case $p in
	apache2|lighttpd|postgresql|prometheus) units="$units $p" ;;
	nginx-light) units="$units nginx" ;;
	esac
done
if [ -n "$units" ] && command -v systemctl >/dev/null; then
	$SUDO systemctl disable --quiet $units 2>/dev/null || true
	echo "deps: installed, not enabled:$units" >&2
fi
