/*
 * ctl_todo.c: weak placeholders for subcommands still being written; a
 * command's own file overrides its placeholder. Removed once all land.
 */
#include <stdio.h>

#include "ctl.h"

#define TODO(fn) \
	__attribute__((weak)) int fn(struct ctl *c, int argc, char *argv[]) \
	{ (void)c; (void)argc; \
	  fprintf(stderr, "smshookctl: %s: not implemented yet\n", argv[0]); \
	  return CTL_FAIL; }

TODO(cmd_check)
TODO(cmd_sign)
TODO(cmd_verify)
TODO(cmd_stats)
TODO(cmd_import)
TODO(cmd_export)
TODO(cmd_compress)
TODO(cmd_purge)

__attribute__((weak)) int
ctl_lock(struct ctl *c)
{
	(void)c;
	return -1;
}
