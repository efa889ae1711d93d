#!/bin/sh
# spawn-fcgi.sh: start or stop smshook's FastCGI workers for nginx
# (nginx.conf) on a system without systemd; with systemd, use
# smshook.socket and smshook.service instead.
#
#   spawn-fcgi.sh start | stop        (as root)
#
# Placeholders (see README.md in this directory), substituted and nothing
# else changed by tests/e2e/test_nginx.py:
#   @SBINDIR@  directory holding the smshook binary (/usr/local/sbin)
#   @CONF@     smshook.conf (/etc/smshook/smshook.conf), root:@USER@ 0640
#   @SOCKET@   the socket nginx connects to (/run/smshook/smshook.sock)
#   @USER@     user the workers run as (smshook), owner of the spool
#   @WEBUSER@  nginx's user (www-data), which owns the socket
#   @LOGFILE@  where the workers' log (their stderr) is appended
#              (/var/log/smshook.log; rotate it with copytruncate)
#
# Four workers, each answering one request at a time: with fsync = yes
# each also waits for the disk, and two workers per core let their syncs
# share journal commits; raise -w for more. spawn-fcgi starts one
# smshook, whose -w 4 runs them and starts another in place of one that
# ends (spawn-fcgi watches nothing once started: without -w, workers
# killed by the OOM killer or a crash would leave nginx answering 503
# until someone ran this again). Its pid goes to smshook.pid beside the
# socket; a stop signal to it stops the workers too.
set -eu

SOCKET=@SOCKET@
PIDFILE=${SOCKET%.sock}.pid

case ${1:-} in
start)
	# workers started before would go on unseen on a removed socket,
	# out of reach of stop: stop them first
	if [ -f "$PIDFILE" ]; then
		for pid in $(cat "$PIDFILE"); do
			if kill -0 "$pid" 2>/dev/null; then
				echo "$0: workers already running ($PIDFILE):" \
				    "stop them first" >&2
				exit 1
			fi
		done
	fi
	install -d -m 0755 "$(dirname "$SOCKET")"
	rm -f "$SOCKET"
	# spawn-fcgi points the workers' stderr at /dev/null: a shell
	# (running as @USER@) sends it to the log instead
	touch @LOGFILE@
	chown @USER@ @LOGFILE@
	chmod 0640 @LOGFILE@
	spawn-fcgi -s "$SOCKET" -M 0660 -U @WEBUSER@ -G @WEBUSER@ \
	    -u @USER@ -F 1 -P "$PIDFILE" -- \
	    /bin/sh -c 'exec "$0" -w 4 -c "$1" 2>>"$2"' \
	    @SBINDIR@/smshook @CONF@ @LOGFILE@
	;;
stop)
	if [ -f "$PIDFILE" ]; then
		# SIGTERM, passed on to the workers: an idle one exits at
		# once, a busy one after its answer, so no line is ever torn
		kill $(cat "$PIDFILE") 2>/dev/null || true
		rm -f "$PIDFILE"
	fi
	rm -f "$SOCKET"
	;;
*)
	echo "usage: $0 start|stop" >&2
	exit 2
	;;
esac
