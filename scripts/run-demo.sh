#!/bin/sh
# make run: serve smshook through lighttpd on 127.0.0.1 with a demo
# config, using conf-examples/lighttpd.conf as it ships (placeholders
# substituted). Everything lives in $SMSHOOK_DEMO_DIR (/tmp/smshook-demo).
set -eu
BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
DEMO=${SMSHOOK_DEMO_DIR:-/tmp/smshook-demo}
PORT=${PORT:-8080}

if [ "$(id -u)" -eq 0 ]; then USER_=www-data; else USER_=$(id -un); fi
# The folder is at a path anyone may take first: use it only if it is
# ours and nobody else may write it (a link planted in it would lead
# what is written below, as root, elsewhere).
(umask 022; mkdir -p "$DEMO")
if [ -L "$DEMO" ] || [ "$(stat -c %u "$DEMO")" != "$(id -u)" ] ||
    [ -n "$(find "$DEMO" -maxdepth 0 -perm /022)" ]; then
	echo "make run: $DEMO is not $(id -un)'s alone (a link, another" \
	    "user's, or writable by others): remove it, or set" \
	    "SMSHOOK_DEMO_DIR to a folder of your own" >&2
	exit 1
fi
mkdir -p "$DEMO/sbin" "$DEMO/spool" "$DEMO/run" "$DEMO/htdocs" "$DEMO/db"
chmod 755 "$DEMO" "$DEMO/sbin" "$DEMO/htdocs"
# install: a new file (a running one is not written over), 0755 whatever
# the umask, for the web server's user
install -m 755 "$TOP/$BUILD/smshook" "$DEMO/sbin/smshook"
[ -s "$DEMO/app.key" ] || { umask 077; openssl rand -hex 24 >"$DEMO/app.key"; }
cat >"$DEMO/smshook.conf" <<CONF
# demo configuration written by make run
app_key_file = app.key
spool_dir = spool
timezone = UTC
log_level = debug
database = sqlite:$DEMO/db/smshook.db
CONF
chmod 640 "$DEMO/smshook.conf" "$DEMO/app.key"
chmod 750 "$DEMO/spool" "$DEMO/db"
if [ "$(id -u)" -eq 0 ]; then
	chown "$USER_:$USER_" "$DEMO/smshook.conf" "$DEMO/app.key" \
	    "$DEMO/spool" "$DEMO/run" "$DEMO/db"
fi
"$DEMO/sbin/smshook" -n -c "$DEMO/smshook.conf"

sed -e "s|@SBINDIR@|$DEMO/sbin|g" -e "s|@CONF@|$DEMO/smshook.conf|g" \
    -e "s|@ADDR@|127.0.0.1|g" \
    -e "s|@PORT@|$PORT|g" -e "s|@DOCROOT@|$DEMO/htdocs|g" \
    -e "s|@RUNDIR@|$DEMO/run|g" -e "s|@USER@|$USER_|g" \
    "$TOP/conf-examples/lighttpd.conf" >"$DEMO/lighttpd.conf"

URL="http://127.0.0.1:$PORT/smshook"
cat <<MSG

smshook is starting behind lighttpd at $URL (Ctrl-C stops it).
In another terminal:

  curl -i $URL
  $TOP/$BUILD/smshookctl -c $DEMO/smshook.conf sign --event delivered |
      curl -sS -H 'Content-Type: application/json' --data-binary @- $URL
  cat $DEMO/spool/*.jsonl

MSG
exec lighttpd -D -f "$DEMO/lighttpd.conf"
