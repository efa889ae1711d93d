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
mkdir -p "$DEMO/sbin" "$DEMO/spool" "$DEMO/run" "$DEMO/htdocs" "$DEMO/db"
chmod 755 "$DEMO" "$DEMO/sbin" "$DEMO/htdocs"
cp "$TOP/$BUILD/smshook" "$DEMO/sbin/smshook"
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
