#!/bin/sh
# Build the Debian package in a clean copy of the tree (mk/deb.mk).
#   scripts/deb-build.sh OUTDIR VERSION [DEB_VERSION]
# The copy is OUTDIR/smshook-VERSION; dpkg-buildpackage leaves the .deb,
# .buildinfo and .changes in OUTDIR, and OUTDIR/last-changes names the
# .changes file of this build.
set -eu
out=$1
version=$2
want=${3:-}
top=$(cd "$(dirname "$0")/.." && pwd)

mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$out/smshook-$version
rm -rf "$src"
mkdir -p "$src"

# The files git knows: tracked ones (as in the work tree) and new ones that
# are not ignored; files deleted from the work tree are left out.
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git -C "$top" ls-files -z --cached --others --exclude-standard |
	    tr '\0' '\n' | sort -u | while IFS= read -r f; do
		if [ -e "$top/$f" ] || [ -L "$top/$f" ]; then
			printf '%s\n' "$f"
		fi
	done >"$out/files"
else
	# not a git checkout (an unpacked tarball): everything but builds
	(cd "$top" && find . \( -name 'build' -o -name 'build-*' -o \
	    -name '.git' \) -prune -o \( -type f -o -type l \) -print) \
	    >"$out/files"
fi
tar -C "$top" --no-recursion -T "$out/files" -cf - | tar -C "$src" -xf -
rm -f "$out/files"

# The version: the Makefile's VERSION must be the changelog's upstream
# version, unless another one is asked for.
have=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
if [ -n "$want" ] && [ "$want" != "$have" ]; then
	maint=$(sed -n 's/^Maintainer: //p' "$src/debian/control")
	{
		printf 'smshook (%s) unstable; urgency=medium\n\n' "$want"
		printf '  * Test build of %s (make deb DEB_VERSION=%s).\n\n' \
		    "$version" "$want"
		printf ' -- %s  %s\n\n' "$maint" "$(date -R)"
		cat "$src/debian/changelog"
	} >"$src/debian/changelog.new"
	mv "$src/debian/changelog.new" "$src/debian/changelog"
	have=$want
elif [ "${have%-*}" != "$version" ]; then
	echo "deb: debian/changelog's newest entry is $have, but the" \
	    "Makefile's VERSION is $version: add an entry for $version-1" >&2
	exit 1
fi

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
changes=$out/smshook_${have}_$arch.changes
rm -f "$out"/smshook_"$have"_* "$out"/smshook-dbgsym_"$have"_*
# Nothing of the calling make (its command line, in MAKEFLAGS) or of this
# shell's build settings reaches the package's build.
(cd "$src" && unset MAKEFLAGS MFLAGS MAKELEVEL BUILD DESTDIR PREFIX \
    SYSCONFDIR MANDIR SBINDIR BINDIR SAN && dpkg-buildpackage -us -uc -b)
printf '%s\n' "$changes" >"$out/last-changes"
echo "deb: $out/smshook_${have}_$arch.deb"
