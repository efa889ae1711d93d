/* response.c: every answer is JSON; error texts escaped by json_quote. */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "response.h"

static const struct {
	int		 code;
	const char	*reason;
} reasons[] = {
	{ 200, "OK" }, { 400, "Bad Request" }, { 401, "Unauthorized" },
	{ 403, "Forbidden" }, { 405, "Method Not Allowed" },
	{ 413, "Payload Too Large" }, { 415, "Unsupported Media Type" },
	{ 500, "Internal Server Error" }, { 503, "Service Unavailable" },
};

/* The reason phrase of HTTP status code, "Error" for one not listed. */
static const char *
reason(int code)
{
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == code)
			return reasons[i].reason;
	return "Error";
}

int
response_status(struct response *rs, enum answer a)
{
	static const char *const bodies[] = {
		[ANSWER_OK] = "{\"status\":\"ok\"}",
		[ANSWER_SUCCESS] = "{\"status\":\"success\"}",
		[ANSWER_DUPLICATE] = "{\"status\":\"duplicate\"}",
	};

	rs->status = 200;
	rs->answer = a;
	rs->body = bodies[a];
	rs->body_len = strlen(rs->body);
	return 200;
}

int
response_error(struct response *rs, int status, const char *msg,
    const char *field)
{
	char text[256], quoted[6 * sizeof(text) + 2];
	size_t n;

	rs->status = status;
	rs->reason = msg;
	if (field != NULL)
		snprintf(text, sizeof(text), "%s (%s)", msg, field);
	else
		snprintf(text, sizeof(text), "%s", msg);
	n = json_quote(text, strlen(text), quoted);
	if (n + sizeof("{\"error\":}") > sizeof(rs->buf))
		snprintf(rs->buf, sizeof(rs->buf), "{\"error\":\"error\"}");
	else
		snprintf(rs->buf, sizeof(rs->buf), "{\"error\":%.*s}", (int)n,
		    quoted);
	rs->body = rs->buf;
	rs->body_len = strlen(rs->buf);
	return status;
}

int
response_head(const struct response *rs, char *out, size_t outlen)
{
	int n;

	n = snprintf(out, outlen, "Status: %d %s\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: %lu\r\n"
	    "Cache-Control: no-store\r\n"
	    "%s%s"
	    "\r\n", rs->status, reason(rs->status),
	    (unsigned long)rs->body_len,
	    rs->header != NULL ? rs->header : "",
	    rs->header != NULL ? "\r\n" : "");
	return n < 0 || (size_t)n >= outlen ? -1 : n;
}
