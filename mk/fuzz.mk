# mk/fuzz.mk: libFuzzer harnesses (tests/fuzz/fuzz_*.c) built with clang,
# AddressSanitizer and UBSan straight from the src/*.c files they need.
#   make fuzz            build, then run each harness FUZZ_SECONDS (60)
#   make fuzz-ci         the same, 60 s each (what CI runs)
#   make fuzz-build      build only
# New inputs go to $(FUZZ_BUILD)/corpus/<harness>; tests/fuzz/corpus/<harness>
# holds the committed seeds (read, never written). A crash, leak or
# sanitizer report fails the target and leaves the input in
# $(FUZZ_BUILD)/artifacts/.

FUZZ_CC      ?= clang
FUZZ_BUILD   ?= $(BUILD)-fuzz
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   ?=
FUZZ_CFLAGS   = -std=c11 -D_GNU_SOURCE $(LFS_CFLAGS) -g -O1 \
                -fno-omit-frame-pointer \
                -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all -Wall -Wextra \
                -Isrc/common -Isrc/smshook -Isrc/smshookctl \
                -DSYSCONFDIR='"$(SYSCONFDIR)"' \
                $(shell $(PKG_CONFIG) --cflags libcjson zlib)
FUZZ_LIBS     = $(shell $(PKG_CONFIG) --libs libcjson zlib sqlite3) -lm

# Each harness and the sources it is built from (src/*/NAME.c).
FUZZ_payload_SRC  = smshook/payload smshook/form common/json common/line common/day \
                    common/event common/utf8
FUZZ_conf_SRC     = common/conf common/cidr common/log common/day \
                    common/fsutil
FUZZ_cidr_SRC     = common/cidr
FUZZ_ctl_rows_SRC = smshookctl/rows smshookctl/schema smshookctl/reader \
                    common/json \
                    common/line common/day common/event common/utf8 \
                    common/fsutil common/log
FUZZ_json_diff_SRC = common/json common/line common/day common/utf8
FUZZ_json_diff_SEEDS = ctl_rows
FUZZ_import_sqlite_SRC = smshookctl/rows smshookctl/schema \
                    smshookctl/db_sqlite smshookctl/db common/json \
                    common/line common/day common/event common/utf8 \
                    common/fsutil common/log
FUZZ_import_sqlite_SEEDS = ctl_rows
FUZZ_import_sqlite_CFLAGS = -DNO_PG
FUZZ_roundtrip_SRC = smshook/payload smshook/form smshookctl/rows \
                    smshookctl/schema smshookctl/db_sqlite smshookctl/db \
                    common/json common/line common/day common/event \
                    common/utf8 common/fsutil common/log
FUZZ_roundtrip_SEEDS = payload
FUZZ_roundtrip_CFLAGS = -DNO_PG

FUZZ_NAMES = payload conf cidr ctl_rows json_diff import_sqlite roundtrip
FUZZ_BINS  = $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)

.PHONY: fuzz fuzz-ci fuzz-build $(FUZZ_NAMES:%=fuzz-run-%)

fuzz-build: $(FUZZ_BINS)

$(FUZZ_BINS): $(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/*.h \
    src/*/*.h src/*/*.c \
    mk/fuzz.mk
	@mkdir -p $(FUZZ_BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_$*_CFLAGS) -o $@ $< \
	    $(patsubst %,src/%.c,$(FUZZ_$*_SRC)) $(FUZZ_LIBS)

# One harness: fresh corpus dir first (written), committed seeds second.
$(FUZZ_NAMES:%=fuzz-run-%): fuzz-run-%: $(FUZZ_BUILD)/fuzz_%
	@mkdir -p $(FUZZ_BUILD)/corpus/$* $(FUZZ_BUILD)/artifacts
	@echo "== fuzz_$*: $(FUZZ_SECONDS) s"
	$(FUZZ_BUILD)/fuzz_$* -max_total_time=$(FUZZ_SECONDS) \
	    -print_final_stats=1 -detect_leaks=1 -max_len=65536 \
	    -artifact_prefix=$(FUZZ_BUILD)/artifacts/fuzz_$*- $(FUZZ_FLAGS) \
	    $(FUZZ_BUILD)/corpus/$* tests/fuzz/corpus/$(or $(FUZZ_$*_SEEDS),$*) \
	    2>$(FUZZ_BUILD)/fuzz_$*.log || \
	    { tail -n 60 $(FUZZ_BUILD)/fuzz_$*.log; exit 1; }
	@grep -E '^(#[0-9]+.*DONE|stat::|Done [0-9]+ runs)' \
	    $(FUZZ_BUILD)/fuzz_$*.log || true

fuzz: $(FUZZ_NAMES:%=fuzz-run-%)

fuzz-ci:
	$(MAKE) FUZZ_SECONDS=60 fuzz
