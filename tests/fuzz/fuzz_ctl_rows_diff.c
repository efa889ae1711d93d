/*
 * fuzz_ctl_rows_diff.c: differential harness for smshookctl's line parser.
 * ctl_rows.c reads common spool lines in one fast pass and sends the rest
 * through cJSON; whenever the fast pass accepts a line, the cJSON path must
 * accept it too and give the same envelope, rows and columns. Includes
 * ctl_rows.c to reach its two static parsers.
 */
#include "ctl_rows.c"
#include <stdint.h>
static int nfast, nslow;
static int
same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}
static void
check(const char *line, size_t len)
{
	struct ctl_line a, b;
	const char *why = NULL;
	char b1[64], b2[64];
	size_t i;
	int c, fr, sr;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	fr = parse_fast(&a, line, len);
	memset(&b, 0, sizeof(b));
	sr = parse_slow(&b, line, len, &why);
	if (fr) {
		nfast++;
		if (sr != 0) { fprintf(stderr, "fast accepted, slow rejected (%s): %.*s\n", why, (int)len, line); abort(); }
		if (a.nrows != b.nrows || !same(a.received_at, b.received_at) || !same(a.remote_addr, b.remote_addr) ||
		    !same(a.encoding, b.encoding) || a.verified != b.verified || a.payload_len != b.payload_len ||
		    !same(a.payload, b.payload) || !same(a.event_name, b.event_name)) {
			fprintf(stderr, "line fields differ: %.*s\n", (int)len, line); abort();
		}
		for (i = 0; i < a.nrows; i++)
			for (c = 0; c < NCOLS; c++)
				if (!same(ctl_row_text(&a, &a.rows[i], c, b1, sizeof b1), ctl_row_text(&b, &b.rows[i], c, b2, sizeof b2))) {
					fprintf(stderr, "row %zu col %s differ: %s vs %s: %.*s\n", i, ctl_col_names[c],
					    ctl_row_text(&a, &a.rows[i], c, b1, sizeof b1), ctl_row_text(&b, &b.rows[i], c, b2, sizeof b2), (int)len, line);
					abort();
				}
	} else
		nslow++;
	ctl_line_free(&a);
	ctl_line_free(&b);
}
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	char *c = malloc(n + 1);
	memcpy(c, d, n);
	check(c, n);
	free(c);
	return 0;
}
