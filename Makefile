# smshook: SMSHook receiver (smshook) and its cron tool (smshookctl).
# Everything is found with pkg-config; nothing is vendored or downloaded.

VERSION     = 0.1.0
PREFIX     ?= /usr/local
SYSCONFDIR ?= $(PREFIX)/etc
MANDIR     ?= $(PREFIX)/share/man
SBINDIR    ?= $(PREFIX)/sbin
BINDIR     ?= $(PREFIX)/bin
DESTDIR    ?=
BUILD      ?= build

CC         ?= cc
PKG_CONFIG ?= pkg-config
WARN        = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
              -Wpointer-arith -Wformat=2 -Wno-format-nonliteral
CFLAGS     ?= -O2 -g
SAN        ?=
ALL_CFLAGS  = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SAN) \
              -DVERSION='"$(VERSION)"' -DSYSCONFDIR='"$(SYSCONFDIR)"' \
              $(shell $(PKG_CONFIG) --cflags fcgi libcjson libcrypto)
RECV_LIBS   = $(shell $(PKG_CONFIG) --libs fcgi libcjson libcrypto) -lm
CTL_CFLAGS  = $(shell $(PKG_CONFIG) --cflags sqlite3 libpq zlib)
CTL_LIBS    = $(shell $(PKG_CONFIG) --libs libcjson libcrypto sqlite3 libpq zlib) -lm
TEST_LIBS   = $(shell $(PKG_CONFIG) --libs cmocka)

COMMON_SRC  = log conf cidr utf8 json_scan form event payload verify spool \
              replay record request response server handler
RECV_SRC    = main fcgi_main cgi_main
CTL_SRC     = $(basename $(notdir $(wildcard src/ctl_*.c)))
UNIT_TESTS  = $(basename $(notdir $(wildcard tests/unit/test_*.c)))

COMMON_OBJ  = $(COMMON_SRC:%=$(BUILD)/%.o)
RECV_OBJ    = $(RECV_SRC:%=$(BUILD)/%.o)
CTL_OBJ     = $(CTL_SRC:%=$(BUILD)/%.o)
LIB         = $(BUILD)/libsmshook.a
UNIT_BIN    = $(UNIT_TESTS:%=$(BUILD)/tests/%)

.PHONY: FORCE all deps run test unit e2e lint-man check check-asan check-valgrind \
        install uninstall clean

all: $(BUILD)/smshook $(BUILD)/smshookctl

$(BUILD)/%.o: src/%.c src/*.h $(BUILD)/.flags
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/ctl_%.o: src/ctl_%.c src/*.h $(BUILD)/.flags
	$(CC) $(ALL_CFLAGS) $(CTL_CFLAGS) -c -o $@ $<

# Rebuild when a setting compiled in changes (make install SYSCONFDIR=…).
FLAGS_NOW = $(SYSCONFDIR) $(VERSION) $(CFLAGS) $(SAN)
$(BUILD)/.flags: FORCE | $(BUILD)
	@printf '%s\n' "$(FLAGS_NOW)" | cmp -s - $@ || \
	    printf '%s\n' "$(FLAGS_NOW)" > $@
FORCE:

$(BUILD) $(BUILD)/tests:
	mkdir -p $@

$(LIB): $(COMMON_OBJ)
	rm -f $@
	ar rcs $@ $(COMMON_OBJ)

$(BUILD)/smshook: $(RECV_OBJ) $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $(RECV_OBJ) $(LIB) $(RECV_LIBS)

$(BUILD)/smshookctl: $(CTL_OBJ) $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $(CTL_OBJ) $(LIB) $(CTL_LIBS)

# Unit tests link the shared library plus smshookctl's objects but main.
$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(LIB) \
    $(filter-out $(BUILD)/ctl_main.o,$(CTL_OBJ)) | $(BUILD)/tests
	$(CC) $(ALL_CFLAGS) $(CTL_CFLAGS) -Isrc \
	    $(shell $(PKG_CONFIG) --cflags cmocka) -o $@ $< \
	    $(filter-out $(BUILD)/ctl_main.o,$(CTL_OBJ)) $(LIB) \
	    $(RECV_LIBS) $(CTL_LIBS) $(TEST_LIBS)

# Install whatever Debian packages are missing (needs root or sudo).
deps:
	@sh scripts/deps.sh

# Quick start: build, then serve on 127.0.0.1:8080 through lighttpd.
run: deps all
	@sh scripts/run-demo.sh $(BUILD)

test: deps all $(UNIT_BIN)
	@sh tests/run.sh $(BUILD)

unit: all $(UNIT_BIN)
	@sh tests/run.sh $(BUILD) unit

lint-man:
	@sh tests/lint-man.sh

# The whole suite again under AddressSanitizer + UBSan, then valgrind.
check: check-asan check-valgrind

# faketime and libfiu are LD_PRELOAD libraries: let them load before ASan.
check-asan:
	ASAN_OPTIONS=verify_asan_link_order=0 $(MAKE) BUILD=build-asan CFLAGS='-O1 -g -fno-omit-frame-pointer' \
	    SAN='-fsanitize=address,undefined -fno-sanitize-recover=all' test

check-valgrind: all $(UNIT_BIN)
	@SMSHOOK_VALGRIND=1 sh tests/run.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(SYSCONFDIR)/smshook
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(BUILD)/smshook $(DESTDIR)$(SBINDIR)/smshook
	install -m 0755 $(BUILD)/smshookctl $(DESTDIR)$(BINDIR)/smshookctl
	install -m 0644 man/smshookctl.1 $(DESTDIR)$(MANDIR)/man1/smshookctl.1
	install -m 0644 man/smshook.8 $(DESTDIR)$(MANDIR)/man8/smshook.8
	install -m 0644 man/smshook.conf.5 $(DESTDIR)$(MANDIR)/man5/smshook.conf.5
	install -m 0640 conf-examples/smshook.conf \
	    $(DESTDIR)$(SYSCONFDIR)/smshook/smshook.conf.example

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/smshook $(DESTDIR)$(MANDIR)/man8/smshook.8 \
	    $(DESTDIR)$(BINDIR)/smshookctl $(DESTDIR)$(MANDIR)/man1/smshookctl.1 \
	    $(DESTDIR)$(MANDIR)/man5/smshook.conf.5 \
	    $(DESTDIR)$(SYSCONFDIR)/smshook/smshook.conf.example
	-rmdir $(DESTDIR)$(SYSCONFDIR)/smshook

clean:
	rm -rf build build-*

# Fragments for fuzzing, benchmarks and other optional targets.
-include mk/*.mk
