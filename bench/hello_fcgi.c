/*
 * hello_fcgi.c: the transport's limit. A FastCGI responder that reads the
 * whole body, throws it away and answers 200 {"status":"ok"}: what any
 * receiver behind the same web server can at best reach.
 *
 * As is, it closes each connection as libfcgi does by default (shutdown,
 * then waiting up to 2 s for the web server to close first). With
 * HELLO_CLOSE_AT_ONCE set in its environment it closes a connection whose
 * request it read to the end at once, as smshook does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

#define ANSWER	"Status: 200 OK\r\nContent-Type: application/json\r\n" \
		"Content-Length: 15\r\n\r\n{\"status\":\"ok\"}"

int
main(void)
{
	FCGX_Request fr;
	char buf[8192];
	int at_once = getenv("HELLO_CLOSE_AT_ONCE") != NULL;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&fr) >= 0) {
		while (FCGX_GetStr(buf, sizeof(buf), fr.in) > 0)
			;
		FCGX_PutStr(ANSWER, (int)strlen(ANSWER), fr.out);
		if (at_once && !fr.keepConnection && FCGX_HasSeenEOF(fr.in))
			FCGX_Detach(&fr);
		FCGX_Finish_r(&fr);
	}
	return 0;
}
