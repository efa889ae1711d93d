/*
 * fuzz_cidr.c: libFuzzer harness for the address range parser. The input
 * is a list as allow_from takes it; every range accepted must match its
 * own address, and the list is matched against the address the input's
 * first 16 bytes make and against the input parsed as one address.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cidr_list l = { NULL, 0 };
	struct cidr one;
	uint8_t addr[16] = { 0 };
	char *text, bad[64];
	size_t i;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	bad[0] = '\0';
	if (cidr_list_add(&l, text, bad, sizeof(bad)) == -1 &&
	    memchr(bad, '\0', sizeof(bad)) == NULL)
		abort();
	for (i = 0; i < l.n; i++) {
		if (l.v[i].prefix < 0 || l.v[i].prefix > 128)
			abort();
		if (!cidr_list_match(&l, l.v[i].addr))
			abort();
	}
	memcpy(addr, data, size < 16 ? size : 16);
	(void)cidr_list_match(&l, addr);
	if (cidr_addr_parse(text, addr) == 0)
		(void)cidr_list_match(&l, addr);
	if (cidr_parse(text, &one) == 0 && (one.prefix < 0 || one.prefix > 128))
		abort();
	cidr_list_free(&l);
	free(text);
	return 0;
}
