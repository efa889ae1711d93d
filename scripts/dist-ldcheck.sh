#!/bin/sh
# Check what a static link with glibc left to run time. The linker warns
# "Using 'F' in statically linked applications requires at runtime the
# shared libraries from the glibc version used for linking" for each
# function that needs glibc's NSS or dlopen machinery; each warning must
# come from an archive member known to hold only code the programs never
# call, so that nothing they do needs a shared library from the host.
#   scripts/dist-ldcheck.sh LOG [FUNCTION@MEMBER ...]
# LOG is the linker's standard error; a warning about any other function
# or from any other object (our own code included) fails.
set -eu

log=${1:?usage: dist-ldcheck.sh LOG [FUNCTION@MEMBER ...]}
shift
allowed=" $* "

found=$(awk '
	/: in function / {
		m = $0
		if (match(m, /\([^()]*\.o\)/))
			member = substr(m, RSTART + 1, RLENGTH - 2)
		else {
			sub(/: in function .*/, "", m)
			n = split(m, part, "/")
			member = part[n]
		}
		next
	}
	/in statically linked applications requires at runtime/ {
		if (match($0, /Using .[^ ]*. in/))
			print substr($0, RSTART + 7, RLENGTH - 11) "@" member
	}' "$log" | sort -u)

bad=0
for w in $found; do
	case $allowed in
	*" $w "*) ;;
	*)
		echo "dist: static link: $w needs glibc's shared libraries" \
		    "at run time (not in the allow-list of mk/dist.mk)" >&2
		bad=1 ;;
	esac
done
if [ "$bad" -ne 0 ]; then
	cat "$log" >&2
	exit 1
fi
