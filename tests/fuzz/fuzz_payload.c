/*
 * fuzz_payload.c: libFuzzer harness for the body parser. The first input
 * byte picks the encoding (even: JSON, odd: form), the rest is the body,
 * NUL-terminated as handler.c hands it over. An accepted body must give
 * a token of 1..EVENT_TOKEN_MAX bytes, a decimal timestamp and a payload that
 * is one line of JSON holding an object.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "event.h"
#include "payload.h"
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum line_encoding enc;
	struct event ev;
	struct payload_error pe;
	cJSON *o;
	char *body;
	size_t len;

	if ((body = fuzz_body(data, size, &enc, &len)) == NULL)
		return 0;
	switch (payload_parse(&ev, body, len, enc, &pe)) {
	case 0:
		if (ev.token == NULL || *ev.token == '\0' ||
		    strlen(ev.token) > EVENT_TOKEN_MAX || ev.payload == NULL ||
		    strlen(ev.payload) != ev.payload_len ||
		    memchr(ev.payload, '\n', ev.payload_len) != NULL ||
		    strspn(ev.timestamp, "0123456789") != strlen(ev.timestamp) ||
		    ev.timestamp[0] == '\0')
			abort();
		if ((o = cJSON_ParseWithLength(ev.payload, ev.payload_len)) ==
		    NULL || !cJSON_IsObject(o))
			abort();
		cJSON_Delete(o);
		payload_free(&ev);
		break;
	case 1:
		if (ev.payload != NULL || ev.token != NULL)
			abort();
		break;
	case -1:
		if (pe.why == NULL || ev.payload != NULL || ev.token != NULL ||
		    (pe.field != NULL && pe.fault != PAYLOAD_FIELD) ||
		    pe.fault > PAYLOAD_NOMEM)
			abort();
		break;
	default:
		abort();
	}
	free(body);
	return 0;
}
