# mk/bench.mk: benchmarks against the baseline and the peers.
# Not part of "make test" or CI. See BENCHMARKS.md.
#   make bench           the default run (~10 min): throughput vs concurrency,
#                        the headline ratios (median of 3), latency at half
#                        the peak rate, fsync, CGI, memory (200,000 requests),
#                        replay store, import of 1,000,000 lines
#   make bench-long      the same with the 1,000,000-request memory run
#   make bench-build     the C helpers only
#   make bench-calls     system calls and context switches per request of
#                        hello-world and smshook workers (perf, root)
#   make bench-logic     the receiver's own code per stored event, without
#                        system calls (bench/logic_cpu)
# Results: bench/results/*.csv, bench/results/throughput.png,
# bench/results/summary.txt. BENCH_FLAGS passes options to bench/run.py.

BENCH_BUILD  = $(BUILD)/bench
BENCH_FLAGS ?=
BENCH_BINS   = $(BENCH_BUILD)/hello_fcgi $(BENCH_BUILD)/hello_cgi \
               $(BENCH_BUILD)/fsync_loop $(BENCH_BUILD)/cgi_loop \
               $(BENCH_BUILD)/guard_calls $(BENCH_BUILD)/logic_cpu

.PHONY: bench bench-long bench-build bench-calls bench-logic

bench-build: $(BENCH_BINS)

$(BENCH_BUILD):
	mkdir -p $@

$(BENCH_BUILD)/hello_fcgi: bench/hello_fcgi.c | $(BENCH_BUILD)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) \
	    $(shell $(PKG_CONFIG) --cflags fcgi) -o $@ $< \
	    $(shell $(PKG_CONFIG) --libs fcgi)

$(BENCH_BUILD)/logic_cpu: bench/logic_cpu.c bench/benchutil.h $(LIBRECV) \
    $(LIBCOMMON) | $(BENCH_BUILD)
	$(CC) $(ALL_CFLAGS) $(RECV_CFLAGS) $(INC) -o $@ $< $(LIBRECV) \
	    $(LIBCOMMON) $(RECV_LIBS)

$(BENCH_BUILD)/%: bench/%.c bench/benchutil.h | $(BENCH_BUILD)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -o $@ $<

bench: all bench-build
	python3 bench/run.py --build $(BUILD) $(BENCH_FLAGS)

bench-long: all bench-build
	python3 bench/run.py --build $(BUILD) --mem-requests 1000000 \
	    $(BENCH_FLAGS)

bench-logic: all bench-build
	python3 bench/gen_bodies.py 2000 $(BENCH_BUILD)/bodies.jsonl \
	    bench-logic-key
	$(BENCH_BUILD)/logic_cpu $(BENCH_BUILD)/bodies.jsonl bench-logic-key

bench-calls: all bench-build
	python3 bench/calls.py --build $(BUILD) hello hello-close smshook \
	    smshook-noreplay

# The importer against a baseline revision, same spool, same run:
#   make bench-import-ab BASE=<git revision> [AB_FLAGS='--lines N']
# The receiver against one, in the same headline rounds:
#   make bench-ab BASE=<git revision> [BENCH_FLAGS='--rounds N']
BASE    ?= HEAD
AB_FLAGS ?=
.PHONY: bench-import-ab bench-ab
# BASE's sources, fresh, in $(BUILD)/ab-base
AB_CHECKOUT = rm -rf $(BUILD)/ab-base && mkdir -p $(BUILD)/ab-base && \
	git archive $(BASE) | tar -x -C $(BUILD)/ab-base

bench-ab: all bench-build
	$(AB_CHECKOUT)
	$(MAKE) -C $(BUILD)/ab-base BUILD=build build/smshook
	python3 bench/run.py --build $(BUILD) --out $(BUILD)/ab-results \
	    --only headline --base $(BUILD)/ab-base/build/smshook $(BENCH_FLAGS)

bench-import-ab: all
	$(AB_CHECKOUT)
	$(MAKE) -C $(BUILD)/ab-base BUILD=build build/smshookctl
	python3 bench/import_ab.py $(BUILD)/ab-base/build/smshookctl \
	    $(BUILD)/smshookctl $(AB_FLAGS)
