#!/bin/sh
# Every man page must be mandoc -T lint clean (style warnings included).
# LINT_MAN_HOST_PAGES=optional (a package build in a clean chroot, which
# lacks the system pages ours name): a named page missing from the host
# is not a fault of ours. Otherwise, as in make test, it is.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
pass=0
fail=0

# mandoc checks every .Xr against its manpath and complains about pages
# it cannot find there (our own, before "make install") or finds without
# a mandoc.db (most hosts have none). So lint against a private manpath
# holding our pages and the system pages they name, with its own index.
MP=$(mktemp -d)
trap 'rm -rf "$MP"' EXIT
for m in "$TOP"/man/*.[0-9]; do
	[ -f "$m" ] || continue
	mkdir -p "$MP/man${m##*.}" && cp "$m" "$MP/man${m##*.}/"
done
grep -oh 'Xr [^ ]* [0-9]' "$TOP"/man/*.[0-9] | sed 's/^Xr //' |
    sort -u | while read -r n s; do
	[ -e "$MP/man$s/$n.$s" ] && continue
	for f in /usr/share/man/man$s/$n.$s /usr/share/man/man$s/$n.$s.gz; do
		[ -e "$f" ] && mkdir -p "$MP/man$s" && cp "$f" "$MP/man$s/" &&
		    break
	done
done
makewhatis "$MP" >/dev/null 2>&1
MANPATH=$MP
export MANPATH

for m in "$TOP"/man/*.[0-9]; do
	[ -f "$m" ] || continue
	out=$(mandoc -T lint -W style "$m" 2>&1)
	rc=$?
	if [ "${LINT_MAN_HOST_PAGES:-}" = optional ]; then
		out=$(printf '%s\n' "$out" |
		    grep -v 'referenced manual not found' || true)
		[ -n "$out" ] || rc=0
	fi
	if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
		pass=$((pass + 1))
	else
		echo "$out"
		fail=$((fail + 1))
	fi
done
echo "man: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
