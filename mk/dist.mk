# mk/dist.mk: "make dist", the bundle for shared hosting.
#   make dist          $(BUILD)/smshook-$(VERSION)-linux-x86_64.tar.gz
#   make dist-bins     only the two static programs, $(DIST_BUILD)/bin/
#   make bench-dist    CGI time per request: this bundle's smshook, the
#                      dynamic build and a hello-world CGI (BENCHMARKS.md;
#                      BENCH_DIST_FLAGS passes options to bench/cgi_dist.py)
#
# smshook and smshookctl are linked fully statically: glibc, libcrypto,
# libfcgi, cJSON, SQLite and zlib, all from Debian's packages, so they
# run on any x86_64 Linux. Debian ships no libcjson.a: cJSON.c is built
# here from Debian's own source package with Debian's patches, fetched by
# scripts/dist-cjson.sh through a private APT configuration (the network
# and the mirrors this machine's APT already uses; nothing of the
# machine's APT state is changed). Debian's libpq needs Kerberos and LDAP,
# which have no static libraries, and it resolves host and user names
# through NSS: the bundle's smshookctl is built with -DNO_PG, and
# "postgresql://" databases are refused with a clear message. It is also
# built with -DNO_NSS: "smshookctl check --user" looks users up in
# /etc/passwd only.
#
# Every source file of the three folders is built, as in the Makefile
# (COMMON_SRC, RECV_SRC, CTL_SRC), but db_pg. The static links are
# checked by scripts/dist-ldcheck.sh: each function glibc can provide
# only with its shared libraries (NSS, dlopen) must come from one of the
# library members listed in DIST_LD_ALLOW_*, whose code the programs never
# call; anything else fails the build.

DIST_ARCH     = linux-x86_64
DIST_NAME     = smshook-$(VERSION)-$(DIST_ARCH)
DIST_BUILD    = $(BUILD)/dist
DIST_TARBALL  = $(BUILD)/$(DIST_NAME).tar.gz
DIST_OBJ      = $(DIST_BUILD)/obj
DIST_OPT     ?= -O2
DIST_CFLAGS   = -std=c11 -D_GNU_SOURCE $(LFS_CFLAGS) $(WARN) \
                $(DIST_OPT) \
                -fstack-protector-strong -D_FORTIFY_SOURCE=2 \
                -ffunction-sections -fdata-sections \
                -DVERSION='"$(VERSION)"' -DSYSCONFDIR='"$(SYSCONFDIR)"' \
                -DNO_PG -DNO_NSS -I$(DIST_BUILD)/include \
                $(shell $(PKG_CONFIG) --cflags libcrypto fcgi sqlite3 zlib)
DIST_LDFLAGS  = -static -s -Wl,--gc-sections
DIST_CJSON_CFLAGS = -std=c89 -O2 -fstack-protector-strong \
                -D_FORTIFY_SOURCE=2 -ffunction-sections -fdata-sections \
                -DENABLE_LOCALES

DIST_CTL_SRC  = $(filter-out db_pg,$(CTL_SRC))
DIST_COMMON_OBJ = $(COMMON_SRC:%=$(DIST_OBJ)/common/%.o)
DIST_RECV_OBJ = $(RECV_SRC:%=$(DIST_OBJ)/smshook/%.o)
DIST_CTL_OBJ  = $(DIST_CTL_SRC:%=$(DIST_OBJ)/smshookctl/%.o)
DIST_LIBCJSON = $(DIST_BUILD)/lib/libcjson.a
DIST_CJSON_H  = $(DIST_BUILD)/include/cjson/cJSON.h
DIST_BINS     = $(DIST_BUILD)/bin/smshook $(DIST_BUILD)/bin/smshookctl

# OpenSSL's module loader (dlopen; no module is loaded: the programs
# read no openssl.cnf and use the built-in default provider) and its
# socket BIOs' address lookups (getaddrinfo, gethostbyname), and
# libfcgi's TCP listener (gethostbyname; smshook only accepts on fd 0):
# linked in beside functions the programs use, never called.
DIST_LD_ALLOW_smshook = dlopen@libcrypto-lib-dso_dlfcn.o \
                getaddrinfo@libcrypto-lib-bio_addr.o \
                gethostbyname@libfcgi_la-os_unix.o
DIST_LD_ALLOW_smshookctl = dlopen@libcrypto-lib-dso_dlfcn.o \
                getaddrinfo@libcrypto-lib-bio_addr.o \
                gethostbyname@libcrypto-lib-bio_sock.o

.PHONY: dist dist-bins dist-check-arch bench-dist

dist: $(DIST_TARBALL)
	@echo "dist: $(DIST_TARBALL)"

dist-bins: $(DIST_BINS)

dist-check-arch:
	@case "$$($(CC) -dumpmachine)" in \
	x86_64-*linux-gnu) ;; \
	*) echo "dist: builds $(DIST_ARCH) only, not" \
	    "$$($(CC) -dumpmachine)" >&2; exit 1 ;; \
	esac

$(DIST_BUILD) $(DIST_BUILD)/bin $(DIST_BUILD)/lib $(DIST_OBJ)/common \
    $(DIST_OBJ)/smshook $(DIST_OBJ)/smshookctl:
	mkdir -p $@

# ... and the packages whose static libraries the programs take in: a
# security update of one relinks the bundle (asked once, when needed)
DIST_PKGS_NOW = $(eval DIST_PKGS_NOW := $(shell dpkg-query -W \
    -f='$${Package}=$${Version} ' libc6-dev libssl-dev libfcgi-dev \
    libsqlite3-dev zlib1g-dev 2>/dev/null))$(DIST_PKGS_NOW)
DIST_FLAGS_NOW = $(CC) $(VERSION) $(SYSCONFDIR) $(DIST_OPT) \
                 $(FCGI_VERSION_TEXT) $(DIST_PKGS_NOW)
$(DIST_BUILD)/.flags: FORCE | $(DIST_BUILD)
	@printf '%s\n' "$(DIST_FLAGS_NOW)" | cmp -s - $@ || \
	    printf '%s\n' "$(DIST_FLAGS_NOW)" > $@

# ---------------------------------------------------------------- cJSON

# Fetched again only when the installed libcjson-dev's version changes.
$(DIST_BUILD)/cjson.version: FORCE | $(DIST_BUILD)
	@want=$$(dpkg-query -W -f='$${Version}' libcjson-dev 2>/dev/null); \
	if [ -z "$$want" ] || [ ! -f $(DIST_BUILD)/cjson/cJSON.c ] || \
	    [ "$$(cat $@ 2>/dev/null)" != "$$want" ]; then \
		sh scripts/dist-cjson.sh $(DIST_BUILD); \
	fi

$(DIST_CJSON_H): $(DIST_BUILD)/cjson.version
	mkdir -p $(@D)
	cp $(DIST_BUILD)/cjson/cJSON.h $@

$(DIST_LIBCJSON): $(DIST_BUILD)/cjson.version | $(DIST_BUILD)/lib
	$(CC) $(DIST_CJSON_CFLAGS) -c -o $(DIST_BUILD)/lib/cJSON.o \
	    $(DIST_BUILD)/cjson/cJSON.c
	rm -f $@
	ar rcs $@ $(DIST_BUILD)/lib/cJSON.o

# ---------------------------------------------------------------- objects

DIST_DEPS = $(DIST_BUILD)/.flags $(DIST_CJSON_H)

$(DIST_OBJ)/common/%.o: src/common/%.c src/common/*.h $(DIST_DEPS) \
    | dist-check-arch $(DIST_OBJ)/common
	$(CC) $(DIST_CFLAGS) -Isrc/common -c -o $@ $<

$(DIST_OBJ)/smshook/%.o: src/smshook/%.c src/smshook/*.h src/common/*.h \
    $(DIST_DEPS) | dist-check-arch $(DIST_OBJ)/smshook
	$(CC) $(DIST_CFLAGS) -DFCGI_VERSION_TEXT='"$(FCGI_VERSION_TEXT)"' \
	    -Isrc/common -Isrc/smshook \
	    -c -o $@ $<

$(DIST_OBJ)/smshookctl/%.o: src/smshookctl/%.c src/smshookctl/*.h \
    src/common/*.h $(DIST_DEPS) | dist-check-arch $(DIST_OBJ)/smshookctl
	$(CC) $(DIST_CFLAGS) -Isrc/common -Isrc/smshookctl -c -o $@ $<

# ---------------------------------------------------------------- programs

$(DIST_BUILD)/bin/smshook: $(DIST_RECV_OBJ) $(DIST_COMMON_OBJ) \
    $(DIST_LIBCJSON) scripts/dist-ldcheck.sh $(DIST_BUILD)/.flags \
    | $(DIST_BUILD)/bin
	$(CC) $(DIST_LDFLAGS) -o $@.tmp $(DIST_RECV_OBJ) $(DIST_COMMON_OBJ) \
	    $(DIST_LIBCJSON) $(shell $(PKG_CONFIG) --static --libs fcgi \
	    libcrypto) -lm 2>$@.ld || { cat $@.ld >&2; exit 1; }
	sh scripts/dist-ldcheck.sh $@.ld $(DIST_LD_ALLOW_smshook)
	mv $@.tmp $@

$(DIST_BUILD)/bin/smshookctl: $(DIST_CTL_OBJ) $(DIST_COMMON_OBJ) \
    $(DIST_LIBCJSON) scripts/dist-ldcheck.sh $(DIST_BUILD)/.flags \
    | $(DIST_BUILD)/bin
	$(CC) $(DIST_LDFLAGS) -o $@.tmp $(DIST_CTL_OBJ) $(DIST_COMMON_OBJ) \
	    $(DIST_LIBCJSON) $(shell $(PKG_CONFIG) --static --libs libcrypto \
	    sqlite3 zlib) -lm 2>$@.ld || { cat $@.ld >&2; exit 1; }
	sh scripts/dist-ldcheck.sh $@.ld $(DIST_LD_ALLOW_smshookctl)
	mv $@.tmp $@

# ---------------------------------------------------------------- bundle

DIST_FILES = dist/README dist/smshook.conf dist/htaccess dist/crontab \
             man/smshook.8 man/smshook.conf.5 man/smshookctl.1 \
             $(wildcard LICENSE)

$(DIST_TARBALL): $(DIST_BINS) $(DIST_FILES) scripts/dist-bundle.sh \
    $(DIST_BUILD)/cjson.version
	CC="$(CC)" sh scripts/dist-bundle.sh $(DIST_BUILD) $(DIST_NAME) \
	    $(VERSION) $@

# ---------------------------------------------------------------- bench

bench-dist: $(BUILD)/smshook bench-build $(DIST_BINS)
	python3 bench/cgi_dist.py --build $(BUILD) \
	    --static $(DIST_BUILD)/bin/smshook $(BENCH_DIST_FLAGS)
