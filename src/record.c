/* record.c: cJSON builds the envelope; the payload goes in as raw text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "record.h"

size_t
record_line(const struct event *ev, const struct timespec *now,
    const char *remote_addr, int verified, char **buf, size_t *cap)
{
	char stamp[32];
	struct tm tm;
	cJSON *o;
	size_t need, len = 0;
	char *nb;

	gmtime_r(&now->tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp + 19, sizeof(stamp) - 19, ".%03dZ",
	    (int)(now->tv_nsec / 1000000) % 1000);
	if ((o = cJSON_CreateObject()) == NULL)
		return 0;
	if (cJSON_AddNumberToObject(o, "v", 1) == NULL ||
	    cJSON_AddStringToObject(o, "received_at", stamp) == NULL ||
	    cJSON_AddStringToObject(o, "remote_addr", remote_addr) == NULL ||
	    cJSON_AddStringToObject(o, "encoding",
	    ev->encoding == PAYLOAD_JSON ? "json" : "form") == NULL ||
	    cJSON_AddBoolToObject(o, "verified", verified) == NULL ||
	    cJSON_AddRawToObject(o, "payload", ev->payload) == NULL)
		goto out;
	/* envelope: ~120 bytes plus the escaped address; payload verbatim */
	need = ev->payload_len + 2 * strlen(remote_addr) + 256;
	if (need > *cap) {
		if ((nb = realloc(*buf, need)) == NULL)
			goto out;
		*buf = nb;
		*cap = need;
	}
	if (!cJSON_PrintPreallocated(o, *buf, (int)(*cap - 1), 0))
		goto out;
	len = strlen(*buf);
	(*buf)[len++] = '\n';
	(*buf)[len] = '\0';
 out:
	cJSON_Delete(o);
	return len;
}
