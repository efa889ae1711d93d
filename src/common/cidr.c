/* cidr.c: address range parsing and matching, IPv4 folded into IPv6. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

static const uint8_t v4mapped[12] = { 0,0,0,0, 0,0,0,0, 0,0,0xff,0xff };

int
cidr_addr_parse(const char *text, uint8_t out[16])
{
	struct in_addr a4;

	if (inet_pton(AF_INET, text, &a4) == 1) {
		memcpy(out, v4mapped, 12);
		memcpy(out + 12, &a4, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, text, out) == 1)
		return 0;
	return -1;
}

/* Parse a decimal prefix length in [0, max]; -1 on any other text. */
static int
prefix_parse(const char *s, int max)
{
	int v = 0;

	if (*s == '\0' || strlen(s) > 3)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v <= max ? v : -1;
}

int
cidr_parse(const char *text, struct cidr *out)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	int is4, len, i;

	if (strlen(text) >= sizeof(buf))
		return -1;
	memcpy(buf, text, strlen(text) + 1);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (cidr_addr_parse(buf, out->addr) == -1)
		return -1;
	is4 = strchr(buf, ':') == NULL;
	if (slash == NULL)
		len = is4 ? 32 : 128;
	else if ((len = prefix_parse(slash, is4 ? 32 : 128)) == -1)
		return -1;
	out->prefix = is4 ? len + 96 : len;
	for (i = out->prefix; i < 128; i++)	/* host bits must be zero */
		if (out->addr[i / 8] & (0x80 >> (i % 8)))
			return -1;
	return 0;
}

/* 1 if the first prefix bits of a and b agree. */
static int
prefix_equal(const uint8_t *a, const uint8_t *b, int prefix)
{
	int whole = prefix / 8, rest = prefix % 8;
	uint8_t mask;

	if (memcmp(a, b, (size_t)whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

int
cidr_list_match(const struct cidr_list *l, const uint8_t addr[16])
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (prefix_equal(l->v[i].addr, addr, l->v[i].prefix))
			return 1;
	return 0;
}

int
cidr_list_add(struct cidr_list *l, const char *text, char *bad, size_t badlen)
{
	const char *p = text, *sep = ", \t";
	char item[INET6_ADDRSTRLEN + 8];
	struct cidr c, *nv;
	size_t n;

	while (*(p += strspn(p, sep)) != '\0') {
		n = strcspn(p, sep);
		if (n >= sizeof(item))
			n = sizeof(item) - 1;	/* too long: fails as bad */
		memcpy(item, p, n);
		item[n] = '\0';
		p += strcspn(p, sep);
		if (n >= sizeof(item) - 1 || cidr_parse(item, &c) == -1) {
			/* shortened to fit, like any message */
			snprintf(bad, badlen, "%s", item);
			return -1;
		}
		if ((nv = reallocarray(l->v, l->n + 1, sizeof(*nv))) == NULL) {
			snprintf(bad, badlen, "(out of memory)");
			return -1;
		}
		l->v = nv;
		l->v[l->n++] = c;
	}
	return 0;
}

void
cidr_list_free(struct cidr_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
