#!/bin/sh
# A throwaway PostgreSQL cluster for the tests.
#   scripts/pg-test.sh start DIR   initdb into DIR, start, print the URL
#   scripts/pg-test.sh standby DIR PRIMARY
#                                  a hot standby of the cluster started in
#                                  PRIMARY, in DIR, started; print its URL
#   scripts/pg-test.sh stop DIR    stop it and remove DIR
# It listens only on a unix socket inside DIR (no TCP). As root, the
# cluster runs as the "postgres" user. PGBIN overrides the binaries.
set -eu

PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$PGBIN/pg_ctl" ] || { echo "pg-test: no PostgreSQL server found (PGBIN)" >&2; exit 1; }
PORT=${PGPORT_TEST:-5432}	# only names the socket file .s.PGSQL.PORT

as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# make folder $1, for the cluster's owner
folder() {
	mkdir -p "$1"
	[ "$(id -u)" -ne 0 ] || chown postgres: "$1"
	chmod 0755 "$1"
}

case ${1:-} in
start|standby)
	dir=${2:?usage: pg-test.sh start DIR | standby DIR PRIMARY}
	folder "$dir"
	if [ "$1" = standby ]; then
		primary=${3:?usage: pg-test.sh standby DIR PRIMARY}
		# -c fast: at once, not after a spread checkpoint (minutes
		# on a primary that earlier tests filled)
		as_owner "$PGBIN/pg_basebackup" -h "$primary" -p "$PORT" \
		    -U postgres -D "$dir/data" -R -c fast \
		    >"$dir/initdb.log" 2>&1 ||
		    { cat "$dir/initdb.log" >&2; exit 1; }
	else
		as_owner "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust \
		    -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
		    { cat "$dir/initdb.log" >&2; exit 1; }
	fi
	as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
	    -t 60 -o "-c listen_addresses='' -c unix_socket_directories='$dir' \
	    -p $PORT -c fsync=off -c synchronous_commit=off \
	    -c full_page_writes=off" start >/dev/null ||
	    { cat "$dir/server.log" >&2; exit 1; }
	echo "postgresql://postgres@/postgres?host=$dir&port=$PORT"
	;;
stop)
	dir=${2:?usage: pg-test.sh stop DIR}
	if [ -d "$dir/data" ]; then
		as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop \
		    >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
	;;
*)
	echo "usage: pg-test.sh start|standby|stop DIR" >&2
	exit 2
	;;
esac
