#!/bin/sh
# Every man page must be mandoc -T lint clean (style warnings included).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
pass=0
fail=0
for m in "$TOP"/man/*.[0-9]; do
	[ -f "$m" ] || continue
	if out=$(mandoc -T lint -W style "$m" 2>&1) && [ -z "$out" ]; then
		pass=$((pass + 1))
	else
		echo "$out"
		fail=$((fail + 1))
	fi
done
echo "man: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
