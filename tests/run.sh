#!/bin/sh
# Run the test suites and print one closing "N passed, N failed, N
# skipped" line.
#   tests/run.sh BUILD [unit|e2e|man ...]     (default: all)
# SMSHOOK_VALGRIND=1 runs the unit tests under valgrind.
# A suite's "SKIP ..." line is a failure (a tool or root missing would
# otherwise pass unseen), but for the parts that cannot run under
# AddressSanitizer, or SMSHOOK_ALLOW_SKIP=1 (a run by hand, not root);
# so is a unit test cmocka skipped, but under AddressSanitizer or
# valgrind (whose malloc comes before the failing one a test preloads).
# A suite that reports no test at all, or runs longer than
# SMSHOOK_SUITE_TIMEOUT seconds (default 1200), fails.
set -u
BUILD=${1:-build}
shift || true
SUITES=${*:-unit man e2e ctl reliability}
TOP=$(cd "$(dirname "$0")/.." && pwd)
export TOP BUILD
pass=0
fail=0
skip=0
failed=""

# Where the suites cannot run, say why at once rather than fail many
# checks: LD_PRELOAD (the shims) and sh -c lines split a path at white
# space; as root, the tests run the programs as www-data, who must reach
# the build and $TMPDIR (a clone in root's 0700 home cannot be reached).
case $TOP in
*[[:space:]]*)
	echo "tests: the tree's path has white space in it ($TOP):" \
	    "clone it elsewhere" >&2
	exit 2 ;;
esac
case $BUILD in /*) bin=$BUILD ;; *) bin=$TOP/$BUILD ;; esac
if [ "$(id -u)" -eq 0 ] && id www-data >/dev/null 2>&1; then
	for d in "$bin" "${TMPDIR:-/tmp}"; do
		[ -d "$d" ] || continue
		runuser -u www-data -- test -x "$d" && continue
		echo "tests: www-data cannot enter $d, and the tests run the" \
		    "programs as www-data: clone the tree (or point TMPDIR)" \
		    "under a folder others may enter, such as /srv or /tmp" >&2
		exit 2
	done
fi

# Add the counts a suite printed ("N passed, N failed" or cmocka's).
tally() {	# name rc logfile
	p=$(sed -n 's/^.*\[  PASSED  \] \([0-9]*\) test.*/\1/p; s/^\([a-z0-9_-]*: \)\{0,1\}\([0-9]*\) passed, [0-9]* failed.*/\2/p' "$3" | tail -n 1)
	f=$(sed -n 's/^.*\[  FAILED  \] \([0-9]*\) test.*/\1/p; s/^\([a-z0-9_-]*: \)\{0,1\}[0-9]* passed, \([0-9]*\) failed.*/\2/p' "$3" | tail -n 1)
	p=${p:-0}
	f=${f:-0}
	if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1		# crashed or failed without saying how many
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && ! grep -q '^SKIP ' "$3"; then
		f=1		# said nothing of any test: none ran
	fi
	s=$(grep -c '^SKIP ' "$3")
	u=$(grep -c '^\[  SKIPPED \] ' "$3")
	s=$((s + u))
	if [ -z "${SMSHOOK_ALLOW_SKIP:-}" ]; then
		f=$((f + $(grep '^SKIP ' "$3" | grep -vc 'AddressSanitizer')))
		if [ -z "${SMSHOOK_VALGRIND:-}${ASAN_OPTIONS:-}" ]; then
			f=$((f + u))
		fi
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	skip=$((skip + s))
	[ "$f" -eq 0 ] || failed="$failed $1"
}

run() {		# name command...
	name=$1
	shift
	log=$(mktemp)
	echo "== $name"
	t0=$(date +%s)
	timeout -k 10 "${SMSHOOK_SUITE_TIMEOUT:-1200}" "$@" >"$log" 2>&1
	rc=$?
	[ "$rc" -ne 124 ] || echo "$name: timed out" >>"$log"
	cat "$log"
	echo "-- $name: $(($(date +%s) - t0)) s"
	tally "$name" "$rc" "$log"
	rm -f "$log"
}

for suite in $SUITES; do
	case $suite in
	unit)
		for t in "$BUILD"/tests/test_*; do
			[ -x "$t" ] || continue
			if [ -n "${SMSHOOK_VALGRIND:-}" ]; then
				run "$(basename "$t")" valgrind -q --error-exitcode=99 \
				    --leak-check=full --errors-for-leak-kinds=definite \
				    --trace-children=no "$t"
			else
				run "$(basename "$t")" "$t"
			fi
		done ;;
	man)
		run man-lint sh "$TOP/tests/lint-man.sh" ;;
	e2e|ctl|reliability)
		for t in "$TOP"/tests/$suite/test_*.py; do
			[ -f "$t" ] || continue
			run "$(basename "$t" .py)" python3 "$t"
		done ;;
	*)
		echo "unknown suite $suite" >&2
		exit 2 ;;
	esac
done

[ -z "$failed" ] || echo "failed suites:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
