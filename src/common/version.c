/* version.c: see version.h. */
#include <sys/auxv.h>

#include <gnu/libc-version.h>
#include <stdio.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include "version.h"

#ifndef VERSION
#define VERSION "unknown"
#endif

#define STR2(x)	#x
#define STR(x)	STR2(x)

void
version_line(const char *name, const char *running, const char *compiled)
{
	if (running != NULL)
		printf("  %-8s %s (compiled with %s)\n", name, running,
		    compiled);
	else
		printf("  %-8s %s (at build time; no run-time version call)\n",
		    name, compiled);
}

void
version_print(const char *prog)
{
	printf("%s %s\n", prog, VERSION);
	/* a static executable has no program interpreter */
	printf("  linked   %s\n", getauxval(AT_BASE) == 0 ? "statically" :
	    "dynamically");
	version_line("glibc", gnu_get_libc_version(),
	    STR(__GLIBC__) "." STR(__GLIBC_MINOR__));
	version_line("OpenSSL", OpenSSL_version(OPENSSL_VERSION_STRING),
	    OPENSSL_VERSION_STR);
	version_line("cJSON", cJSON_Version(), STR(CJSON_VERSION_MAJOR) "."
	    STR(CJSON_VERSION_MINOR) "." STR(CJSON_VERSION_PATCH));
}
