#!/bin/sh
# Assemble the shared-hosting tarball of "make dist" (mk/dist.mk).
#   scripts/dist-bundle.sh DISTDIR NAME VERSION TARBALL
# DISTDIR holds bin/smshook, bin/smshookctl (static) and cjson/ (the
# source they were built with). The tarball's one folder, NAME, holds:
#   README                 the shared-hosting steps (dist/README)
#   bin/smshook            the receiver: becomes public_html/smshook.cgi
#   bin/smshookctl         the cron tool: becomes ~/bin/smshookctl
#   smshook/smshook.conf   commented configuration, mode 0600
#   htaccess               becomes public_html/.htaccess
#   crontab                the user crontab
#   man/                   smshook(8), smshook.conf(5), smshookctl(1)
#   VERSIONS               what is built in, and from which packages
#   LICENSE                smshook's
#   licenses/              the copyright files of everything built in
set -eu

DIST=${1:?usage: dist-bundle.sh DISTDIR NAME VERSION TARBALL}
NAME=${2:?}
VERSION=${3:?}
OUT=${4:?}
TOP=$(cd "$(dirname "$0")/.." && pwd)
CC=${CC:-cc}
STAGE=$DIST/$NAME

rm -rf "$STAGE"
mkdir -p "$STAGE/bin" "$STAGE/smshook" "$STAGE/man" "$STAGE/licenses"
chmod 0755 "$STAGE" "$STAGE/bin" "$STAGE/man" "$STAGE/licenses"
chmod 0700 "$STAGE/smshook"

install -m 0755 "$DIST/bin/smshook" "$STAGE/bin/smshook"
install -m 0755 "$DIST/bin/smshookctl" "$STAGE/bin/smshookctl"
install -m 0600 "$TOP/dist/smshook.conf" "$STAGE/smshook/smshook.conf"
sed "s/@VERSION@/$VERSION/g" "$TOP/dist/README" >"$STAGE/README"
chmod 0644 "$STAGE/README"
install -m 0644 "$TOP/dist/htaccess" "$STAGE/htaccess"
install -m 0644 "$TOP/dist/crontab" "$STAGE/crontab"
for m in smshook.8 smshook.conf.5 smshookctl.1; do
	install -m 0644 "$TOP/man/$m" "$STAGE/man/$m"
done

# The Debian package of each static library, with its copyright file.
pkgs=""
for lib in libc.a libcrypto.a libfcgi.a libsqlite3.a libz.a; do
	path=$($CC -print-file-name="$lib")
	pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | sed -n \
	    '1s/:.*//p')
	[ -n "$pkg" ] || { echo "dist: no package owns $path" >&2; exit 1; }
	pkg=${pkg%%:*}
	copyright=/usr/share/doc/$pkg/copyright
	[ -f "$copyright" ] || {
		echo "dist: $copyright is missing (the copyright notices" \
		    "of $pkg must go into the bundle)" >&2
		exit 1
	}
	install -m 0644 "$copyright" "$STAGE/licenses/$pkg.copyright"
	pkgs="$pkgs $pkg"
done
install -m 0644 "$DIST/cjson/debian/copyright" \
    "$STAGE/licenses/cjson.copyright"
if [ -f "$TOP/LICENSE" ]; then
	install -m 0644 "$TOP/LICENSE" "$STAGE/LICENSE"
fi

{
	"$STAGE/bin/smshook" -V
	echo
	"$STAGE/bin/smshookctl" -V
	echo
	echo "Built on $($CC -dumpmachine) with $($CC --version | sed 1q)"
	echo "from these Debian packages:"
	# shellcheck disable=SC2086
	dpkg-query -W -f='  ${Package} ${Version}\n' $pkgs
	echo "  cjson $(cat "$DIST/cjson.version") (source package, built here)"
} >"$STAGE/VERSIONS"
chmod 0644 "$STAGE/VERSIONS"

# Reproducible: fixed order, owner and time (the last commit's).
epoch=$(git -C "$TOP" log -1 --format=%ct 2>/dev/null || date +%s)
(cd "$DIST" && tar --sort=name --owner=0 --group=0 --numeric-owner \
    --mtime="@$epoch" -cf - "$NAME") | gzip -9n >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
