#!/bin/sh
# Fetch Debian's own cJSON source package, with Debian's patches applied,
# for the static build of "make dist" (Debian ships no libcjson.a).
#   scripts/dist-cjson.sh DIR
# leaves the unpacked tree in DIR/cjson (cJSON.c, cJSON.h, debian/) and
# its version in DIR/cjson.version. The version is that of the installed
# libcjson-dev, so the static and the dynamic builds share one cJSON;
# CJSON_VERSION overrides it.
#
# The machine's APT configuration is read, never changed: deb-src lines
# for the mirrors it already uses (same URIs, suites, components and
# keyrings) go to a private sources list, and the package lists, caches
# and hooks of this run live in DIR/apt. Signatures are checked as for
# any apt-get source.
set -eu

DIR=${1:?usage: dist-cjson.sh DIR}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
APTDIR=$DIR/apt
VERSION=${CJSON_VERSION:-$(dpkg-query -W -f='${Version}' libcjson-dev \
    2>/dev/null || true)}
[ -n "$VERSION" ] || {
	echo "dist-cjson: libcjson-dev is not installed (make deps)" >&2
	exit 1
}

# deb-src lines from the machine's deb entries, one-line and deb822 form.
src_lines() {
	if [ -f /etc/apt/sources.list ]; then
		sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' \
		    /etc/apt/sources.list
	fi
	for f in /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] && sed -n \
		    's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '
		function flush(   n, u, s, i, j, opt) {
			if (types ~ /(^| )deb( |$)/ && enabled != "no" &&
			    uris != "" && suites != "") {
				opt = keys == "" ? "" : "[signed-by=" keys "] "
				n = split(uris, u, " ")
				split(suites, s, " ")
				for (i = 1; i <= n; i++)
					for (j = 1; j in s; j++)
						print "deb-src " opt u[i] " " \
						    s[j] " " comps
			}
			types = uris = suites = comps = keys = enabled = ""
		}
		/^[[:space:]]*$/ { flush(); next }
		/^#/ { next }
		/^[[:space:]]/ { next }		# continuation (inline key)
		{
			k = tolower($1); sub(/:$/, "", k)
			v = $0; sub(/^[^:]*:[[:space:]]*/, "", v)
			if (k == "types") types = v
			else if (k == "uris") uris = v
			else if (k == "suites") suites = v
			else if (k == "components") comps = v
			else if (k == "enabled") enabled = tolower(v)
			else if (k == "signed-by" && v !~ /^-----/ && v != "")
				keys = v
		}
		END { flush() }' "$f"
	done
}

rm -rf "$APTDIR" "$DIR/cjson" "$DIR/cjson.version"
mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache" "$APTDIR/parts" \
    "$APTDIR/src"
src_lines | sort -u >"$APTDIR/sources.list"
[ -s "$APTDIR/sources.list" ] || {
	echo "dist-cjson: no deb lines in /etc/apt to derive deb-src from" >&2
	exit 1
}

# Read after /etc/apt/apt.conf.d (whose proxy and validity settings still
# apply): private paths, and no Post-Invoke hooks of this machine run.
cat >"$APTDIR/apt.conf" <<EOF
Dir::Etc::SourceList "$APTDIR/sources.list";
Dir::Etc::SourceParts "$APTDIR/parts";
Dir::State::Lists "$APTDIR/lists";
Dir::Cache "$APTDIR/cache";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
#clear APT::Update::Pre-Invoke;
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
#clear DPkg::Pre-Invoke;
#clear DPkg::Post-Invoke;
EOF
printf 'Dir::Etc::main "%s";\n' "$APTDIR/apt.conf" >"$APTDIR/apt-first.conf"
export APT_CONFIG="$APTDIR/apt-first.conf"

# As root, apt downloads as _apt: let it write where the files go.
if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
	chown _apt "$APTDIR/src"
fi

echo "dist-cjson: cjson $VERSION from $(sed -e 's/^deb-src //' \
    -e 's/^\[[^]]*\] //' "$APTDIR/sources.list" | cut -d' ' -f1 | sort -u |
    tr '\n' ' ')" >&2
apt-get -q -q update
(cd "$APTDIR/src" && apt-get -q -q source "cjson=$VERSION") || {
	echo "dist-cjson: apt-get source cjson=$VERSION failed: is the" \
	    "network up, and does a mirror above still carry it?" >&2
	exit 1
}
tree=$(find "$APTDIR/src" -mindepth 1 -maxdepth 1 -type d -name 'cjson-*')
if [ -z "$tree" ] || [ ! -f "$tree/cJSON.c" ] || [ ! -f "$tree/cJSON.h" ]
then
	echo "dist-cjson: no cJSON.c in the unpacked source" >&2
	exit 1
fi
mv "$tree" "$DIR/cjson"
printf '%s\n' "$VERSION" >"$DIR/cjson.version"
rm -rf "$APTDIR"
