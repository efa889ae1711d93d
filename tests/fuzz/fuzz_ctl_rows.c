/*
 * fuzz_ctl_rows.c: libFuzzer harness for smshookctl's spool reading. The
 * first input byte picks the path: even, the rest is one line for
 * rows_parse and every column of every row is formatted; odd, the
 * rest is written as a day file and read back with the reader (reader.c),
 * each complete line normalised the same way (bit 1 set: as a .jsonl.gz,
 * which the reader refuses unless it is whole gzip members to its last
 * byte). Lines returned from a plain file must be
 * its complete lines; position plus partial must be the file's size.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rows.h"
#include "reader.h"

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char dir[] = "/tmp/smshook-fuzz-rows-XXXXXX";
static struct day_file file, gzfile;

/* Remove the temporary day files and directory when libFuzzer exits. */
static void
cleanup(void)
{
	unlink(file.path);
	unlink(gzfile.path);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(file.day, sizeof(file.day), "2026-01-01");
	snprintf(file.path, sizeof(file.path), "%s/2026-01-01.jsonl", dir);
	file.gz = 0;
	gzfile = file;
	snprintf(gzfile.path, sizeof(gzfile.path), "%s/2026-01-01.jsonl.gz",
	    dir);
	gzfile.gz = 1;
	atexit(cleanup);
	return 0;
}

/* Parse one line and format every column of every row. */
static void
normalise(const char *line, size_t len)
{
	struct rows l;
	const char *why = NULL, *v;
	char buf[64];
	size_t r;
	int c;

	memset(&l, 0, sizeof(l));
	if (rows_parse(&l, line, len, &why) == 0) {
		if (l.nrows == 0 || l.rows == NULL || l.payload == NULL)
			abort();
		for (r = 0; r < l.nrows; r++)
			for (c = 0; c < NCOLS; c++)
				if ((v = row_text(&l, &l.rows[r], c, buf,
				    sizeof(buf))) != NULL && strlen(v) > len +
				    sizeof(buf))
					abort();
	} else if (why == NULL)
		abort();
	rows_free(&l);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reader *rd;
	const char *line;
	size_t len, total = 0;
	off_t off;
	char *copy;
	int fd, rc;

	if (size == 0)
		return 0;
	if (!(data[0] & 1)) {
		if ((copy = malloc(size)) == NULL)
			return 0;
		memcpy(copy, data + 1, size - 1);
		normalise(copy, size - 1);
		free(copy);
		return 0;
	}
	if (data[0] & 2) {
		if ((fd = open(gzfile.path, O_WRONLY | O_CREAT | O_TRUNC,
		    0600)) == -1 ||
		    write(fd, data + 1, size - 1) != (ssize_t)(size - 1))
			abort();
		close(fd);
		if ((rd = reader_open(&gzfile, 0)) == NULL)
			return 0;	/* e.g. a gzip header it rejects */
		while (reader_next(rd, &line, &len, &off) == 1) {
			if (off < 0 || (off_t)total != off)
				abort();
			total += len + 1;
			normalise(line, len);
		}
		reader_close(rd);
		return 0;
	}
	if ((fd = open(file.path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, data + 1, size - 1) != (ssize_t)(size - 1))
		abort();
	close(fd);
	if ((rd = reader_open(&file, 0)) == NULL)
		abort();
	while ((rc = reader_next(rd, &line, &len, &off)) == 1) {
		if (off < 0 || (size_t)off + len >= size ||
		    data[1 + off + len] != '\n' ||
		    memcmp(line, data + 1 + off, len) != 0)
			abort();
		total += len + 1;
		normalise(line, len);
	}
	if (rc == -1 || (size_t)reader_pos(rd) != total ||
	    (size_t)(reader_pos(rd) + reader_partial(rd)) !=
	    size - 1)
		abort();
	reader_close(rd);
	return 0;
}
