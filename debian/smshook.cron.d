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
# metrics (counts only, mode 0644): written as smshook, who may read the
# spool and the database, then moved by root into the collector's
# directory, which only root and node_exporter's user may write. It does
# nothing until the configuration sets a key (or require_signature = no).
*/5 * * * *	root	if [ -x /usr/bin/smshookctl ] && [ -d /var/lib/prometheus/node-exporter ] && grep -Eqs '^[[:blank:]]*(app_key(_file)?[[:blank:]]*=|require_signature[[:blank:]]*=[[:blank:]]*no)' /etc/smshook/smshook.conf; then /usr/sbin/runuser -u smshook -- smshookctl -c /etc/smshook/smshook.conf stats --prometheus /var/lib/smshook/smshook.prom && cp /var/lib/smshook/smshook.prom /var/lib/prometheus/node-exporter/.smshook.tmp && mv /var/lib/prometheus/node-exporter/.smshook.tmp /var/lib/prometheus/node-exporter/smshook.prom; fi
