/*
 * status.c: the provider's statusCode table (its API documentation,
 * api.md). A later English rewrite of the documentation calls 440
 * "invalid phone number" and 450 "carrier rejection"; the table, which
 * the Chinese documentation has kept since 2015, is followed here. 530
 * appears only in that rewrite.
 */
#include <stddef.h>

#include "status.h"

const struct status_def status_defs[] = {
	{ 410, "processing", "number on the global block list" },
	{ 420, "processing", "number on the account's block list" },
	{ 430, "processing", "recipient unsubscribed" },
	{ 440, "processing", "blocked by a keyword filter" },
	{ 450, "processing", "template variable substitution error" },
	{ 460, "processing", "content longer than 500 characters" },
	{ 500, "sending", "number does not exist" },
	{ 510, "sending", "number suspended" },
	{ 530, "sending", "phone busy" },
	{ 550, "sending", "template content reported in complaints" },
	{ 580, "sending", "phone switched off" },
	{ 590, "sending", "other reason" },
	{ 0, NULL, NULL }
};

const struct status_def *
status_by_code(long long code)
{
	const struct status_def *d;

	for (d = status_defs; d->code != 0; d++)
		if (d->code == code)
			return d;
	return NULL;
}
