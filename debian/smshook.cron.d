# /etc/cron.d/smshook: smshookctl(1) as the user smshook, who owns the
# spool /var/spool/smshook and /var/lib/smshook (a SQLite database).
# The first three lines do nothing until /etc/smshook/smshook.conf
# sets "database"; then import loads new events every 5 minutes,
# compress gzips the days that are over, and purge deletes days older
# than 90 days once they are imported. They are quiet on success: cron
# mails root when one fails.
SHELL=/bin/sh
PATH=/usr/bin:/bin
MAILTO=root

*/5 * * * *	smshook	if [ -x /usr/bin/smshookctl ] && grep -qs '^[[:blank:]]*database[[:blank:]]*=' /etc/smshook/smshook.conf; then smshookctl -c /etc/smshook/smshook.conf import; fi
17 1 * * *	smshook	if [ -x /usr/bin/smshookctl ] && grep -qs '^[[:blank:]]*database[[:blank:]]*=' /etc/smshook/smshook.conf; then smshookctl -c /etc/smshook/smshook.conf compress --after 1; fi
43 2 * * 0	smshook	if [ -x /usr/bin/smshookctl ] && grep -qs '^[[:blank:]]*database[[:blank:]]*=' /etc/smshook/smshook.conf; then smshookctl -c /etc/smshook/smshook.conf purge --keep-days 90; fi
# Once a key is set, every 10 minutes: whether the receiver can still
# store events (its spool writable, space left, the key readable); the
# whole report is mailed only when something is not.
*/10 * * * *	smshook	if [ -x /usr/bin/smshookctl ] && grep -Eqs '^[[:blank:]]*(app_key(_file)?[[:blank:]]*=|require_signature[[:blank:]]*=[[:blank:]]*no)' /etc/smshook/smshook.conf; then smshookctl -c /etc/smshook/smshook.conf check -q || smshookctl -c /etc/smshook/smshook.conf check; fi
# With node_exporter installed, its textfile collector gets smshook's
# metrics (counts only, mode 0644): made by smshookctl as smshook, who
# may read the spool and the database, and written to a new file in the
# collector's directory, then renamed into place, as the directory's
# owner (node_exporter's user): root opens no file in a directory another
# user may write, nor any file of smshook's. It does nothing until the
# configuration sets a key (or require_signature = no). The metrics are
# published whenever stats wrote them, also when it exits 1 (a damaged
# day named in the mail: the other series are whole), but not when it
# was killed (its output may be cut short). cron reads a
# '%' as the end of the command: each is written '\%'.
*/5 * * * *	root	d=/var/lib/prometheus/node-exporter; if [ -x /usr/bin/smshookctl ] && [ -d "$d" ] && grep -Eqs '^[[:blank:]]*(app_key(_file)?[[:blank:]]*=|require_signature[[:blank:]]*=[[:blank:]]*no)' /etc/smshook/smshook.conf; then m=$(/usr/sbin/runuser -u smshook -- smshookctl -c /etc/smshook/smshook.conf stats --prometheus -); [ $? -le 1 ] && [ -n "$m" ] && printf '\%s\n' "$m" | /usr/sbin/runuser -u "$(stat -c \%U "$d")" -- sh -c 'umask 022; t=$(mktemp "$1/.smshook.XXXXXX") || exit; if cat > "$t" && chmod 0644 "$t"; then mv "$t" "$1/smshook.prom"; else rm -f "$t"; false; fi' sh "$d"; fi
