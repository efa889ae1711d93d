#!/bin/sh
# Install the Debian packages smshook builds, tests and demos with, if any
# is missing. Quiet and quick when everything is there already.
set -eu

PKGS="build-essential pkg-config libfcgi-dev libcjson-dev libssl-dev openssl
libcmocka-dev libsqlite3-dev sqlite3 libpq-dev zlib1g-dev lighttpd apache2
libapache2-mod-fcgid nginx-light spawn-fcgi postgresql mandoc curl python3
faketime fiu-utils valgrind clang libclang-rt-14-dev wrk php-cgi gnuplot-nox
tzdata dpkg-dev file apache2-suexec-pristine
debhelper lintian prometheus python3-yaml"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# Packages must not start their own services (ports 80, 5432): the tests
# start every server themselves, on private ports.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod 755 /usr/sbin/policy-rc.d
	trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
