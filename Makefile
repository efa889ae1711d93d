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
# Large files on a 32-bit host too (day files past 2 GiB); nothing on a
# 64-bit one, where open and pread stay the symbols the test shims take
LFS_CFLAGS := $(shell getconf LFS_CFLAGS 2>/dev/null)
ALL_CFLAGS  = -std=c11 -D_GNU_SOURCE $(LFS_CFLAGS) $(WARN) \
              $(CPPFLAGS) $(CFLAGS) $(SAN) \
              -DVERSION='"$(VERSION)"' -DSYSCONFDIR='"$(SYSCONFDIR)"' \
              $(shell $(PKG_CONFIG) --cflags libcjson libcrypto)
# libfcgi has no version call: "smshook -V" shows pkg-config's and, when
# there is one, the Debian package's, fixed at build time. Asked once,
# when first needed: after "make deps" has installed the package.
FCGI_VERSION_TEXT = $(eval FCGI_VERSION_TEXT := $(shell \
    v=$$($(PKG_CONFIG) --modversion fcgi 2>/dev/null); \
    d=$$(dpkg-query -W -f='$${Version}' libfcgi-dev 2>/dev/null); \
    echo "$${v:-unknown}$${d:+, Debian $$d}"))$(FCGI_VERSION_TEXT)
RECV_CFLAGS = $(shell $(PKG_CONFIG) --cflags fcgi) \
              -DFCGI_VERSION_TEXT='"$(FCGI_VERSION_TEXT)"'
RECV_LIBS   = $(shell $(PKG_CONFIG) --libs fcgi libcjson libcrypto) -lm
CTL_CFLAGS  = $(shell $(PKG_CONFIG) --cflags sqlite3 libpq zlib)
CTL_LIBS    = $(shell $(PKG_CONFIG) --libs libcjson libcrypto sqlite3 libpq zlib) -lm
TEST_LIBS   = $(shell $(PKG_CONFIG) --libs cmocka)

# Three folders, three link units: src/common (both programs),
# src/smshook (the receiver), src/smshookctl (the cron tool). Each program
# links its own objects and libcommon.a, so it carries only what it uses.
COMMON_SRC  = $(basename $(notdir $(wildcard src/common/*.c)))
RECV_SRC    = $(basename $(notdir $(wildcard src/smshook/*.c)))
CTL_SRC     = $(basename $(notdir $(wildcard src/smshookctl/*.c)))
UNIT_TESTS  = $(basename $(notdir $(wildcard tests/unit/test_*.c)))
INC         = -Isrc/common -Isrc/smshook -Isrc/smshookctl

COMMON_OBJ  = $(COMMON_SRC:%=$(OBJ)/common/%.o)
RECV_OBJ    = $(RECV_SRC:%=$(OBJ)/smshook/%.o)
CTL_OBJ     = $(CTL_SRC:%=$(OBJ)/smshookctl/%.o)
LIBCOMMON   = $(BUILD)/libcommon.a
LIBRECV     = $(BUILD)/librecv.a
LIBCTL      = $(BUILD)/libctl.a
UNIT_BIN    = $(UNIT_TESTS:%=$(BUILD)/tests/%)
TEST_SHIMS  = $(BUILD)/tests/syncgate.so $(BUILD)/tests/forkfail.so \
	      $(BUILD)/tests/gzcorrupt.so $(BUILD)/tests/dayfault.so \
	      $(BUILD)/tests/acceptfail.so $(BUILD)/tests/flockgate.so
OBJ         = $(BUILD)/obj

.PHONY: FORCE all all-run-deps deps run test unit e2e lint-man check check-asan check-valgrind \
        install uninstall clean

all: $(BUILD)/smshook $(BUILD)/smshookctl

$(OBJ)/common/%.o: src/common/%.c src/common/*.h $(BUILD)/.flags | $(OBJ)/common
	$(CC) $(ALL_CFLAGS) -Isrc/common -c -o $@ $<

$(OBJ)/smshook/%.o: src/smshook/%.c src/smshook/*.h src/common/*.h \
    $(BUILD)/.flags | $(OBJ)/smshook
	$(CC) $(ALL_CFLAGS) $(RECV_CFLAGS) -Isrc/common -Isrc/smshook -c -o $@ $<

$(OBJ)/smshookctl/%.o: src/smshookctl/%.c src/smshookctl/*.h \
    src/common/*.h $(BUILD)/.flags | $(OBJ)/smshookctl
	$(CC) $(ALL_CFLAGS) $(CTL_CFLAGS) -Isrc/common -Isrc/smshookctl -c -o $@ $<

# Rebuild when a setting compiled in changes (make install SYSCONFDIR=…),
# the compiler (CC=clang in a build directory gcc filled), or what
# pkg-config or the libfcgi package say (-V shows its version).
FLAGS_NOW = $(CC) $(SYSCONFDIR) $(VERSION) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) \
    $(SAN) $(PKG_CONFIG) $(FCGI_VERSION_TEXT) \
    $(shell $(PKG_CONFIG) --cflags fcgi libcjson libcrypto sqlite3 libpq zlib)
$(BUILD)/.flags: FORCE | $(BUILD)
	@printf '%s\n' "$(FLAGS_NOW)" | cmp -s - $@ || \
	    printf '%s\n' "$(FLAGS_NOW)" > $@
FORCE:

$(BUILD) $(BUILD)/tests $(OBJ)/common $(OBJ)/smshook $(OBJ)/smshookctl:
	mkdir -p $@

$(LIBCOMMON): $(COMMON_OBJ)
	rm -f $@
	ar rcs $@ $(COMMON_OBJ)

# Everything of a program but its main(), for the unit tests.
$(LIBRECV): $(filter-out $(OBJ)/smshook/main.o,$(RECV_OBJ))
	rm -f $@
	ar rcs $@ $^

$(LIBCTL): $(filter-out $(OBJ)/smshookctl/main.o,$(CTL_OBJ))
	rm -f $@
	ar rcs $@ $^

$(BUILD)/smshook: $(RECV_OBJ) $(LIBCOMMON)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(RECV_OBJ) $(LIBCOMMON) $(RECV_LIBS)

$(BUILD)/smshookctl: $(CTL_OBJ) $(LIBCOMMON)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(CTL_OBJ) $(LIBCOMMON) $(CTL_LIBS)

# A unit test links the module it tests from either program.
$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(LIBRECV) \
    $(LIBCTL) $(LIBCOMMON) | $(BUILD)/tests
	$(CC) $(ALL_CFLAGS) $(RECV_CFLAGS) $(CTL_CFLAGS) $(INC) \
	    $(shell $(PKG_CONFIG) --cflags cmocka) -o $@ $< \
	    $(LIBRECV) $(LIBCTL) $(LIBCOMMON) \
	    $(RECV_LIBS) $(CTL_LIBS) $(TEST_LIBS)

# LD_PRELOAD shims the Python tests load into the receiver. Built without
# $(SAN): the tests that use them skip themselves under AddressSanitizer.
$(BUILD)/tests/%.so: tests/lib/%.c tests/lib/fifogate.h $(BUILD)/.flags | $(BUILD)/tests
	$(CC) -std=c11 -D_GNU_SOURCE $(LFS_CFLAGS) $(WARN) $(CPPFLAGS) \
	    $(CFLAGS) -shared -fPIC $(LDFLAGS) -o $@ $< -ldl

# Install whatever Debian packages are missing (needs root or sudo).
deps:
	@sh scripts/deps.sh

# Quick start: build, then serve on 127.0.0.1:8080 through lighttpd.
run: all-run-deps
	@sh scripts/run-demo.sh $(BUILD)

# make run installs only what it needs (make test, everything).
all-run-deps:
	@sh scripts/deps.sh run
	@$(MAKE) --no-print-directory all

test: deps all $(UNIT_BIN) $(TEST_SHIMS)
	@sh tests/run.sh $(BUILD)

unit: all $(UNIT_BIN)
	@sh tests/run.sh $(BUILD) unit

lint-man:
	@sh tests/lint-man.sh

# The whole suite again under AddressSanitizer + UBSan, then the unit
# tests under valgrind (the programs themselves run under valgrind in
# make test: test_valgrind_worker, test_valgrind_ctl).
check: check-asan check-valgrind

# faketime and libfiu are LD_PRELOAD libraries: let them load before ASan.
check-asan:
	ASAN_OPTIONS=verify_asan_link_order=0 $(MAKE) BUILD=build-asan CFLAGS='-O1 -g -fno-omit-frame-pointer' \
	    SAN='-fsanitize=address,undefined -fno-sanitize-recover=all' test

check-valgrind: all $(UNIT_BIN) $(TEST_SHIMS)
	@SMSHOOK_VALGRIND=1 sh tests/run.sh $(BUILD) unit

# The configuration folder is made only if missing: install -d would set
# an existing one's mode back to 0755 (it is 0750, see conf-examples).
install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(MANDIR)/man1
	[ -d $(DESTDIR)$(SYSCONFDIR)/smshook ] || \
	    install -d -m 0750 $(DESTDIR)$(SYSCONFDIR)/smshook
	install -m 0755 $(BUILD)/smshook $(DESTDIR)$(SBINDIR)/smshook
	install -m 0755 $(BUILD)/smshookctl $(DESTDIR)$(BINDIR)/smshookctl
	install -m 0644 man/smshookctl.1 $(DESTDIR)$(MANDIR)/man1/smshookctl.1
	install -m 0644 man/smshook.8 $(DESTDIR)$(MANDIR)/man8/smshook.8
	install -m 0644 man/smshook.conf.5 $(DESTDIR)$(MANDIR)/man5/smshook.conf.5
	install -m 0640 conf-examples/smshook.conf \
	    $(DESTDIR)$(SYSCONFDIR)/smshook/smshook.conf.example

# The configuration folder goes only if nothing is left in it (your
# smshook.conf keeps it, quietly).
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/smshook $(DESTDIR)$(MANDIR)/man8/smshook.8 \
	    $(DESTDIR)$(BINDIR)/smshookctl $(DESTDIR)$(MANDIR)/man1/smshookctl.1 \
	    $(DESTDIR)$(MANDIR)/man5/smshook.conf.5 \
	    $(DESTDIR)$(SYSCONFDIR)/smshook/smshook.conf.example
	rmdir $(DESTDIR)$(SYSCONFDIR)/smshook 2>/dev/null || :

# The build folders: the default ones, and BUILD (with its fuzz folder)
# wherever it points, if a build made it (its .flags is there) and it
# does not hold this tree.
clean:
	rm -rf build build-*
	@b=$$(cd "$(BUILD)" 2>/dev/null && pwd -P) && [ -f "$$b/.flags" ] || \
	    exit 0; \
	case "$$(pwd -P)/" in "$$b"/*) echo "clean: $(BUILD) holds the" \
	    "source tree: left alone" >&2; exit 0 ;; esac; \
	echo "rm -rf $$b $$b-fuzz"; rm -rf "$$b" "$$b-fuzz"

# Fragments for fuzzing, benchmarks and other optional targets.
-include mk/*.mk
