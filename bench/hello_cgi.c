/*
 * hello_cgi.c: the CGI floor. Reads CONTENT_LENGTH bytes of body from
 * stdin and answers 200 {"status":"ok"}: the cost of fork + exec + a
 * dynamically linked C start, nothing else.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ANSWER	"Status: 200 OK\r\nContent-Type: application/json\r\n" \
		"Content-Length: 15\r\n\r\n{\"status\":\"ok\"}"

int
main(void)
{
	const char *cl = getenv("CONTENT_LENGTH");
	char buf[8192], *end;
	unsigned long left = 0;
	ssize_t n;

	if (cl != NULL) {
		errno = 0;
		left = strtoul(cl, &end, 10);
		if (errno != 0 || end == cl || *end != '\0')
			left = 0;
	}
	while (left > 0) {
		n = read(STDIN_FILENO, buf, left < sizeof(buf) ? left :
		    sizeof(buf));
		if (n <= 0)
			break;
		left -= (unsigned long)n;
	}
	return write(STDOUT_FILENO, ANSWER, strlen(ANSWER)) ==
	    (ssize_t)strlen(ANSWER) ? 0 : 1;
}
