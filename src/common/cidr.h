/* cidr.h: IPv4/IPv6 address ranges for allow_from and trusted_proxies. */
#ifndef SMSHOOK_CIDR_H
#define SMSHOOK_CIDR_H

#include <stddef.h>
#include <stdint.h>

struct cidr {
	uint8_t	addr[16];	/* IPv4 stored as IPv4-mapped IPv6 */
	int	prefix;		/* 0..128, in IPv6 bits */
};

struct cidr_list {
	struct cidr	*v;
	size_t		 n;
};

/* Parse "addr" or "addr/len" (IPv4 or IPv6); host bits must be zero. */
int	cidr_parse(const char *text, struct cidr *out);
/* Parse an address (IPv4, IPv6, or IPv4-mapped IPv6) into 16 bytes. */
int	cidr_addr_parse(const char *text, uint8_t out[16]);
/* Append every comma/space separated range of text; -1 names the bad one. */
int	cidr_list_add(struct cidr_list *, const char *text, char *bad,
	    size_t badlen);
/* 1 if addr lies in any range of the list, else 0. */
int	cidr_list_match(const struct cidr_list *, const uint8_t addr[16]);
/* Free the ranges and leave the list empty, to reuse. */
void	cidr_list_free(struct cidr_list *);

#endif
