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
# With node_exporter installed, its textfile collector gets smshook's
# metrics (counts only, mode 0644): made by smshookctl as smshook, who
# may read the spool and the database, on its standard output, which root
# writes to a new file in the collector's directory (which only root and
# node_exporter's user may write) and renames into place; root opens no
# file of smshook's. It does nothing until the configuration sets a key
# (or require_signature = no).
*/5 * * * *	root	if [ -x /usr/bin/smshookctl ] && [ -d /var/lib/prometheus/node-exporter ] && grep -Eqs '^[[:blank:]]*(app_key(_file)?[[:blank:]]*=|require_signature[[:blank:]]*=[[:blank:]]*no)' /etc/smshook/smshook.conf && t=$(mktemp /var/lib/prometheus/node-exporter/.smshook.XXXXXX); then if /usr/sbin/runuser -u smshook -- smshookctl -c /etc/smshook/smshook.conf stats --prometheus - > "$t" && chmod 0644 "$t"; then mv "$t" /var/lib/prometheus/node-exporter/smshook.prom; else rm -f "$t"; false; fi; fi
