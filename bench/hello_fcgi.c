/*
 * hello_fcgi.c: the transport's limit. A FastCGI responder that reads the
 * whole body, throws it away and answers 200 {"status":"ok"}: what any
 * receiver behind the same web server can at best reach.
 */
#include <stdio.h>
#include <string.h>

#include <fcgiapp.h>

#define ANSWER	"Status: 200 OK\r\nContent-Type: application/json\r\n" \
		"Content-Length: 15\r\n\r\n{\"status\":\"ok\"}"

int
main(void)
{
	FCGX_Request fr;
	char buf[8192];

	if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&fr) >= 0) {
		while (FCGX_GetStr(buf, sizeof(buf), fr.in) > 0)
			;
		FCGX_PutStr(ANSWER, (int)strlen(ANSWER), fr.out);
		FCGX_Finish_r(&fr);
	}
	return 0;
}
