/*
 * hello_fcgi.c: the transport's limit. A FastCGI responder that reads the
 * whole body, throws it away and answers 200 {"status":"ok"}: what any
 * receiver behind the same web server can at best reach.
 *
 * As is, it closes each connection as libfcgi does by default (shutdown,
 * then waiting up to 2 s for the web server to close first). With
 * HELLO_CLOSE_AT_ONCE set in its environment it closes a connection whose
 * request it read to the end at once, as smshook does.
 *
 * With HELLO_SYNC_FILE set to a path, each request also appends a fixed
 * 560-byte line to that file as smshook's `fsync = yes` does: the write
 * under an exclusive flock, fdatasync after the unlock, and a 503 if
 * either fails. That is the most any durable receiver behind the same web
 * server can reach on the same disk.
 */
#include <sys/file.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#define ANSWER	"Status: 200 OK\r\nContent-Type: application/json\r\n" \
		"Content-Length: 15\r\n\r\n{\"status\":\"ok\"}"
#define FAILED	"Status: 503 Service Unavailable\r\n" \
		"Content-Type: application/json\r\nRetry-After: 60\r\n" \
		"Content-Length: 2\r\n\r\n{}"
#define LINE_LEN	560

/* Append line to fd under its flock, then sync: 0, or -1 on a failure. */
static int
append_sync(int fd, const char *line)
{
	ssize_t n;

	if (flock(fd, LOCK_EX) == -1)
		return -1;
	n = write(fd, line, LINE_LEN);
	flock(fd, LOCK_UN);
	return n == LINE_LEN && fdatasync(fd) == 0 ? 0 : -1;
}

int
main(void)
{
	FCGX_Request fr;
	char buf[8192], line[LINE_LEN];
	const char *answer, *sync_path = getenv("HELLO_SYNC_FILE");
	int at_once = getenv("HELLO_CLOSE_AT_ONCE") != NULL, fd = -1;

	memset(line, 'x', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	if (sync_path != NULL && (fd = open(sync_path,
	    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) == -1)
		return 1;
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&fr) >= 0) {
		while (FCGX_GetStr(buf, sizeof(buf), fr.in) > 0)
			;
		answer = fd != -1 && append_sync(fd, line) == -1 ? FAILED :
		    ANSWER;
		FCGX_PutStr(answer, (int)strlen(answer), fr.out);
		if (at_once && !fr.keepConnection && FCGX_HasSeenEOF(fr.in))
			FCGX_Detach(&fr);
		FCGX_Finish_r(&fr);
	}
	return 0;
}
