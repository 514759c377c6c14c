# facegate — build, test, run. `make run` and `make test` are the two commands a
# new user needs; both first call scripts/setup (idempotent: installs missing
# Debian packages, fetches and verifies the default models).

CC      ?= cc
BUILD   ?= build
PREFIX  ?= /usr/local
VERSION := 0.1.0

PKGS    := libprotobuf-c libsodium libturbojpeg libjpeg libpng libopenjp2 cairo jansson sqlite3 libpq libmicrohttpd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# The usual variables are honoured: CFLAGS (default -O2 -g), CPPFLAGS and
# LDFLAGS (e.g. a distribution's hardening flags) are added to every compile
# and link. Warnings are errors by default (WERROR=1: developers and CI);
# a release or distribution build sets WERROR=0, so that a newer compiler's
# new warning does not stop it.
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WERROR  ?= 1
WARN    := -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror)
ALL_CFLAGS := -std=c17 -D_GNU_SOURCE $(WARN) -fPIC -fvisibility=hidden -pthread \
              -Iinclude -Isrc -I$(BUILD)/gen $(PKG_CFLAGS) $(CPPFLAGS) $(CFLAGS)
LDLIBS  := $(PKG_LIBS) -lcsv -lXNNPACK -lpthreadpool -lcpuinfo -ldnnl -lgomp -lm -pthread

ONNX_PROTO ?= /usr/include/onnx/onnx.proto
GEN_C   := $(BUILD)/gen/onnx.pb-c.c
GEN_H   := $(BUILD)/gen/onnx.pb-c.h

LIB_SRC := $(wildcard src/common/*.c src/nn/*.c src/image/*.c src/face/*.c src/match/*.c src/calib/*.c src/eval/*.c \
                      src/store/*.c src/secure/*.c src/border/*.c src/server/*.c)
CLI_SRC := $(wildcard src/cli/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/onnx.pb-c.o
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
# The security suite (tests/security/): attacks on a real `facegate serve`.
SEC_SRC := $(wildcard tests/security/test_*.c)
SEC_BIN := $(SEC_SRC:tests/security/%.c=$(BUILD)/tests/security/%)

.PHONY: all setup test unit check-asan unit-asan check-faults faults-asan check-tsan unit-tsan fuzz fuzz-run bench bench-models bench-dlib bench-peak run run-check demo install clean distclean
.DEFAULT_GOAL := all

all: $(BUILD)/facegate $(BUILD)/libfacegate.a $(BUILD)/libfacegate.so $(BUILD)/facegate.pc

setup:
	@scripts/setup

$(GEN_C) $(GEN_H): $(ONNX_PROTO)
	@mkdir -p $(BUILD)/gen
	cp $(ONNX_PROTO) $(BUILD)/gen/onnx.proto
	cd $(BUILD)/gen && protoc-c --c_out=. onnx.proto

# Objects are rebuilt when the compiler flags change, not only their sources.
FLAGS_STAMP := $(BUILD)/cflags.stamp
$(FLAGS_STAMP): FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(ALL_CFLAGS)' | cmp -s - $@ || echo '$(CC) $(ALL_CFLAGS)' > $@
.PHONY: FORCE
FORCE:

$(BUILD)/obj/gen/onnx.pb-c.o: $(GEN_C) $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-unused-parameter -c $< -o $@

$(BUILD)/obj/%.o: %.c $(GEN_H) $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)

$(BUILD)/libfacegate.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libfacegate.so: $(LIB_OBJ)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libfacegate.so.0 -o $@ $^ $(LDLIBS)

$(BUILD)/obj/src/cli/main.o: ALL_CFLAGS += -DFG_VERSION='"$(VERSION)"'

$(BUILD)/facegate: $(CLI_OBJ) $(BUILD)/libfacegate.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libfacegate.a $(LDLIBS)

# The command line linked against the shared library instead of the archive:
# it must need nothing the public headers do not export (tests/check_exports.sh).
$(BUILD)/tests/facegate-shared: $(CLI_OBJ) $(BUILD)/libfacegate.so
	@mkdir -p $(dir $@)
	ln -sf libfacegate.so $(BUILD)/libfacegate.so.0
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) -L$(BUILD) -l:libfacegate.so -Wl,-rpath,'$$ORIGIN/..' $(LDLIBS)

$(BUILD)/facegate.pc: facegate.pc.in
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' $< > $@

# ---- tests -------------------------------------------------------------------
$(BUILD)/tests/%: tests/%.c tests/testutil.h tests/teststore.h tests/onnx_build.h tests/facefixture.h $(BUILD)/libfacegate.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Itests -o $@ $< $(BUILD)/libfacegate.a $(LDLIBS) $(shell pkg-config --libs cmocka)

$(BUILD)/tests/security/%: tests/security/%.c tests/security/sec.h tests/testutil.h tests/teststore.h $(BUILD)/libfacegate.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Itests -o $@ $< $(BUILD)/libfacegate.a $(LDLIBS) $(shell pkg-config --libs cmocka libcurl)

# The HTTP service: docs/openapi.json is built into the library (.incbin in
# src/server/openapi.c), and test_server uses libcurl as its HTTP client.
$(BUILD)/obj/src/server/openapi.o: docs/openapi.json
$(BUILD)/obj/src/nn/quant_builtin.o: $(wildcard data/quant/*.json)
$(BUILD)/tests/test_server $(BUILD)/tests/test_report_groups: LDLIBS += $(shell pkg-config --libs libcurl)

# Allocation-failure injection (tests/faultalloc.h): the library's and the
# test's calls to these functions go to the test's __wrap_* versions.
FAULT_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup \
              -Wl,--wrap=aligned_alloc,--wrap=posix_memalign \
              -Wl,--wrap=json_loadb,--wrap=json_loads,--wrap=json_load_file
$(BUILD)/tests/test_faults: tests/faultalloc.h
$(BUILD)/tests/test_faults: LDLIBS += $(FAULT_WRAP) $(shell pkg-config --libs libcurl)

# The unit tests, then the officer console in headless Chromium against a real
# `facegate serve` (tests/browser/run.sh, also `make browser-test`), then what
# `make run` does, on a fresh data directory (tests/run_service_check.sh); the
# gallery command line is checked by tests/cli_gallery.sh. All of that on
# SQLite; then the tests that use a store once more on PostgreSQL, in a
# throw-away cluster that tests/pg/with-postgres starts and removes (each test
# gets a new database: tests/teststore.h, tests/pg/testdb), and the failover
# test (tests/failover/run, its own primary and standby). The closing line
# counts both runs (tests/run.sh --total).
STORE_TESTS := $(addprefix $(BUILD)/tests/,test_store test_backup test_secure test_manifest test_encounter \
                 test_records test_report_groups test_border_e2e test_border_crash test_server \
                 test_cluster test_reenrol test_watchlist_import) $(SEC_BIN)
unit: all $(TEST_BIN) $(SEC_BIN) $(BUILD)/tests/facegate-shared $(BUILD)/tests/make_facefixture
	@tally=$(BUILD)/tests/tally; rm -f $$tally; \
	export BUILD=$(BUILD) FACEGATE_BIN=$(BUILD)/facegate FACEGATE_LFW="$(FACEGATE_LFW)" TESTS_TALLY=$$tally; \
	BROWSER_OUT=$(BUILD)/browser TESTS_LABEL=sqlite tests/run.sh $(TEST_BIN) $(SEC_BIN) tests/browser/run.sh \
	  tests/cli_gallery.sh tests/cli_json.sh tests/cli_harsh_light.sh tests/install_check.sh tests/check_exports.sh \
	  tests/run_service_check.sh; \
	BROWSER_OUT=$(BUILD)/browser-postgresql TESTS_LABEL=postgresql tests/pg/with-postgres -- \
	  tests/run.sh $(STORE_TESTS) tests/browser/run.sh tests/run_service_check.sh tests/failover/run; \
	tests/run.sh --total $$tally sqlite postgresql

test: setup
	@$(MAKE) --no-print-directory unit

# ASan + UBSan build of the library and unit tests, in its own build dir.
SAN_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_MAKE = $(MAKE) --no-print-directory BUILD=build-asan CC=clang CFLAGS="$(SAN_CFLAGS)" \
           LDFLAGS="$(LDFLAGS) -fsanitize=address,undefined"
check-asan: setup
	@$(SAN_MAKE) unit-asan

# The tests that use a store run a second time on PostgreSQL (tests/pg/with-postgres).
unit-asan: all $(TEST_BIN) $(SEC_BIN)
	@tally=$(BUILD)/tests/tally; rm -f $$tally; \
	export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 BUILD=$(BUILD) TESTS_TALLY=$$tally; \
	TESTS_LABEL=sqlite tests/run.sh $(TEST_BIN) $(SEC_BIN); \
	TESTS_LABEL=postgresql tests/pg/with-postgres -- tests/run.sh $(STORE_TESTS); \
	tests/run.sh --total $$tally sqlite postgresql

# Allocation-failure injection (tests/test_faults.c, docs/fault-tests.md) in the
# sanitizer build: every allocation on each path fails in turn (FAULTS=sites:
# each allocating call site once; make test runs a quick slice of the sites),
# on SQLite, then the paths that use a store on PostgreSQL.
FAULTS ?= full
check-faults: setup
	@$(SAN_MAKE) FAULTS=$(FAULTS) faults-asan

faults-asan: $(BUILD)/tests/test_faults
	@tally=$(BUILD)/tests/tally-faults; rm -f $$tally; \
	export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 FG_FAULTS=$(FAULTS) TESTS_TALLY=$$tally; \
	TESTS_LABEL=sqlite tests/run.sh $(BUILD)/tests/test_faults; \
	TESTS_LABEL=postgresql tests/pg/with-postgres -- tests/run.sh $(BUILD)/tests/test_faults; \
	tests/run.sh --total $$tally sqlite postgresql

# ThreadSanitizer build of the server and search tests, in its own build dir
# (the server's worker threads and the search's shard threads; SQLite).
TSAN_TESTS := $(addprefix $(BUILD)/tests/,test_server test_search)
check-tsan: setup
	@$(MAKE) --no-print-directory BUILD=build-tsan CC=clang \
	  CFLAGS="-O1 -g -fsanitize=thread -fno-omit-frame-pointer" LDFLAGS="$(LDFLAGS) -fsanitize=thread" unit-tsan

unit-tsan: $(TSAN_TESTS)
	@export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" BUILD=$(BUILD); \
	tests/run.sh $(TSAN_TESTS)

# ---- fuzzing (libFuzzer, clang) -------------------------------------------
FUZZ_TARGETS := $(patsubst fuzz/fuzz_%.c,$(BUILD)-fuzz/fuzz_%,$(wildcard fuzz/fuzz_*.c))
fuzz: setup
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang \
	  CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" fuzz-bins

fuzz-bins: $(BUILD)/libfacegate.a
	@mkdir -p $(BUILD)
	for f in fuzz/fuzz_*.c; do \
	  n=$$(basename $$f .c); \
	  $(CC) $(ALL_CFLAGS) $(LDFLAGS) -fsanitize=fuzzer,address,undefined -o $(BUILD)/$$n $$f $(BUILD)/libfacegate.a $(LDLIBS) || exit 1; \
	done

# Run each fuzz target for FUZZ_SECONDS (default 60) on its seed corpus.
FUZZ_SECONDS ?= 60
fuzz-run: fuzz
	scripts/fuzz-run $(FUZZ_SECONDS)

# ---- benchmarks, demo, install -------------------------------------------------
bench: bench-models

bench-models: setup all
	scripts/bench-models

# The second recognition model (dlib's ResNet) against ONNX Runtime and face-api.js.
bench-dlib: setup all
	scripts/bench-dlib

# The core's peak fp32 multiply-add rate, and int8 against fp32 convolutions in
# this XNNPACK: the compute floor of the pipeline (docs/pipeline.md).
bench-peak: setup
	@mkdir -p $(BUILD)/bench
	$(CC) $(CPPFLAGS) -O3 -march=native $(WARN) $(LDFLAGS) -o $(BUILD)/bench/peak_fma bench/peak/peak_fma.c
	$(CC) $(CPPFLAGS) -O2 $(WARN) $(LDFLAGS) -o $(BUILD)/bench/conv_int8_vs_fp32 bench/peak/conv_int8_vs_fp32.c \
	  -lXNNPACK -lpthreadpool -lcpuinfo -lm -pthread
	$(BUILD)/bench/peak_fma
	$(BUILD)/bench/conv_int8_vs_fp32

# `make run`: facegate serve on var/data with a demo flight, the console URL and
# demo tokens printed, in the foreground until Ctrl-C (scripts/run-service).
# `make run-check`: the same, started and checked on a fresh data directory and
# a free port, twice (the second run reuses the flight), then stopped.
# `make demo`: the four models on real photos (scripts/demo).
demo: setup all
	scripts/demo

# make run prints what a person needs (the URL, the tokens, how to stop it):
# the build's compiler lines go to $(BUILD)/build.log, shown only if it fails.
run: setup
	@mkdir -p $(BUILD); echo "make run: building facegate ($(BUILD)/build.log)"; \
	$(MAKE) --no-print-directory all >$(BUILD)/build.log 2>&1 || { cat $(BUILD)/build.log; exit 1; }
	@scripts/run-service

run-check: setup $(BUILD)/facegate
	scripts/run-service --check

# make install [PREFIX=/usr/local] [DESTDIR=]: the command, the library, its
# headers and pkg-config file, and what the command needs at run time under
# PREFIX/share/facegate: the default models (fetched and checked by
# scripts/setup), the calibration and the officer console; the systemd unit,
# its user (sysusers.d) and the service's settings file in SYSCONFDIR (kept
# when present; SYSCONFDIR=/etc for a system install, docs/deployment.md). The command finds
# them from where it is installed, not from the working directory
# (src/cli/paths.c); tests/install_check.sh runs an installed copy elsewhere.
SHAREDIR = $(PREFIX)/share/facegate
SYSCONFDIR ?= $(PREFIX)/etc
MODELS_SRC ?= var/models
MODEL_FILES := fr_detect.onnx fr_landmark.onnx fr_feature.onnx fr_liveness.onnx \
               face_recognition_model-weights_manifest.json face_recognition_model.bin
install: all
	@for m in $(MODEL_FILES); do [ -f $(MODELS_SRC)/$$m ] || \
	  { echo "make install: $(MODELS_SRC)/$$m is missing: run scripts/setup first" >&2; exit 1; }; done
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/facegate $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -d $(DESTDIR)$(SHAREDIR)/models $(DESTDIR)$(SHAREDIR)/calibration $(DESTDIR)$(SHAREDIR)/descriptors \
	  $(DESTDIR)$(SHAREDIR)/web
	install -m 755 $(BUILD)/facegate $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(BUILD)/libfacegate.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libfacegate.so $(DESTDIR)$(PREFIX)/lib/libfacegate.so.0
	ln -sf libfacegate.so.0 $(DESTDIR)$(PREFIX)/lib/libfacegate.so
	install -m 644 include/facegate/*.h $(DESTDIR)$(PREFIX)/include/facegate/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' facegate.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/facegate.pc
	install -m 644 $(addprefix $(MODELS_SRC)/,$(MODEL_FILES)) $(DESTDIR)$(SHAREDIR)/models/
	install -m 644 data/calibration/*.json $(DESTDIR)$(SHAREDIR)/calibration/
	install -m 644 data/models/*.json $(DESTDIR)$(SHAREDIR)/descriptors/
	install -m 644 web/* $(DESTDIR)$(SHAREDIR)/web/
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/lib/sysusers.d $(DESTDIR)$(SYSCONFDIR)/facegate
	sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' deploy/systemd/facegate.service.in \
	  > $(DESTDIR)$(PREFIX)/lib/systemd/system/facegate.service
	install -m 644 deploy/systemd/facegate.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/facegate.conf
	[ -e $(DESTDIR)$(SYSCONFDIR)/facegate/facegate.conf ] || \
	  install -m 644 deploy/systemd/facegate.conf $(DESTDIR)$(SYSCONFDIR)/facegate/facegate.conf

clean:
	rm -rf build build-asan build-tsan build-fuzz build-deb

distclean: clean
	rm -rf var

# ---- a Debian package (debian/, debhelper) ----------------------------------------
# The command, its models, calibration and console, the systemd unit with its
# user and settings file: build-deb/out/facegate_VERSION_ARCH.deb, built with
# the distribution's hardening flags, checked by lintian (no error or warning
# may remain). Needs the models (scripts/setup); installs debhelper and lintian.
.PHONY: deb
deb: setup
	@scripts/setup packages debhelper lintian >/dev/null
	dpkg-checkbuilddeps
	debian/rules clean
	debian/rules binary
	lintian --fail-on error,warning build-deb/out/facegate_$(VERSION)_*.deb
	@echo "make deb: $$(ls build-deb/out/facegate_$(VERSION)_*.deb) (lintian: no error or warning)"

# ---- evaluation and the pipeline benchmark (docs/evaluation.md) ---------------
# LFW is read from FACEGATE_LFW; without it these targets say so and succeed.
FACEGATE_LFW ?= ../shared/data/lfw
.PHONY: eval eval-robustness calibrate bench-pipeline

# LFW verification: 10-fold accuracy, TAR@FAR=1e-3, FNMR@FMR=5e-4, EER, DET curve.
eval: setup all
	@if [ ! -f "$(FACEGATE_LFW)/pairs.txt" ] || [ ! -d "$(FACEGATE_LFW)/lfw-deepfunneled" ]; then \
	  echo "make eval: skipped: LFW not found at $(FACEGATE_LFW) (set FACEGATE_LFW=/path/to/lfw)"; \
	else \
	  mkdir -p $(BUILD)/eval && \
	  $(BUILD)/facegate eval lfw "$(FACEGATE_LFW)" --plot $(BUILD)/eval/det.png \
	    --json-out $(BUILD)/eval/lfw.json && \
	  echo "wrote $(BUILD)/eval/lfw.json and $(BUILD)/eval/det.png"; \
	fi

# Per capture condition derived from LFW's development subset: FTA, accuracy,
# TAR@FAR=1e-3, actual FMR at the calibrated threshold, rank-1 (docs/pipeline.md).
eval-robustness: setup all
	@if [ ! -f "$(FACEGATE_LFW)/pairs.txt" ] || [ ! -d "$(FACEGATE_LFW)/lfw-deepfunneled" ]; then \
	  echo "make eval-robustness: skipped: LFW not found at $(FACEGATE_LFW) (set FACEGATE_LFW=/path/to/lfw)"; \
	else \
	  mkdir -p $(BUILD)/eval && \
	  $(BUILD)/facegate eval robustness "$(FACEGATE_LFW)" --json-out $(BUILD)/eval/robustness.json && \
	  echo "wrote $(BUILD)/eval/robustness.json"; \
	fi

# Regenerate data/calibration/fr_feature.json from all LFW impostor pairs; with
# MODEL=NAME, the calibration files that model's descriptor names (docs/models.md).
calibrate: setup all
	FACEGATE_LFW="$(FACEGATE_LFW)" FACEGATE_BIN=$(BUILD)/facegate MODEL="$(MODEL)" scripts/calibrate

# Reduced-precision inference against fp32 in one run (LFW protocol, flights,
# each model on the development images; docs/engine.md): build/eval/precision.json.
.PHONY: eval-precision
eval-precision: setup all
	FACEGATE_LFW="$(FACEGATE_LFW)" FACEGATE_BIN=$(BUILD)/facegate scripts/eval-precision $(PRECISIONS)

.PHONY: eval-decode
eval-decode: setup all $(BUILD)/bench/pipeline_bench
	FACEGATE_LFW="$(FACEGATE_LFW)" PIPELINE_BENCH_BIN=$(BUILD)/bench/pipeline_bench scripts/eval-decode

$(BUILD)/bench/pipeline_bench: bench/pipeline_bench.c $(BUILD)/libfacegate.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libfacegate.a $(LDLIBS)

# Face pipeline per stage, facegate vs ONNX Runtime, 1 and 2 threads.
bench-pipeline: setup all $(BUILD)/bench/pipeline_bench
	FACEGATE_LFW="$(FACEGATE_LFW)" PIPELINE_BENCH_BIN=$(BUILD)/bench/pipeline_bench scripts/bench-pipeline

# ---- 1:N search benchmark (docs/matching.md) -----------------------------------
# facegate's exact search (fp32/fp16/int8) vs FAISS IndexFlatIP and hnswlib on the
# same vectors; table with ratios, build/bench/search.json.
.PHONY: bench-search
$(BUILD)/bench/bench_search: bench/search/bench_search.c $(BUILD)/libfacegate.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libfacegate.a $(LDLIBS)

bench-search: setup $(BUILD)/bench/bench_search
	scripts/bench-search

# ---- watchlists of a million (docs/matching.md, "IVF index") -------------------
# facegate's IVF-indexed watchlist gallery vs the exact scan, FAISS IndexIVFFlat
# and IndexIVFPQ and hnswlib on the same vectors; build/bench/watchlist.json.
.PHONY: bench-watchlist
$(BUILD)/bench/bench_watchlist: bench/watchlist/bench_watchlist.c $(BUILD)/libfacegate.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libfacegate.a $(LDLIBS)

bench-watchlist: setup all $(BUILD)/bench/bench_watchlist
	FACEGATE_LFW="$(FACEGATE_LFW)" FACEGATE_BIN=$(BUILD)/facegate WATCHLIST_BENCH_BIN=$(BUILD)/bench/bench_watchlist \
	  scripts/bench-watchlist

# Bulk watchlist loading against one transaction per entry, SQLite and PostgreSQL,
# durable commits, same run (docs/encounters.md, "Bulk loading"): build/bench/watchlist-import.json.
.PHONY: bench-watchlist-import
bench-watchlist-import: setup $(BUILD)/facegate
	FACEGATE_BIN=$(BUILD)/facegate scripts/bench-watchlist-import

# ---- one gate encounter end to end (docs/encounters.md) -------------------------
# 1920x1080 JPEG, 420-traveller flight, 1,000,000-entry watchlist (BENCH_WATCHLIST), durable write;
# breakdown and the face pipeline alone on the same bytes; build/bench/encounter.json.
.PHONY: bench-encounter
BENCH_WATCHLIST ?= 1000000
$(BUILD)/bench/bench_encounter: bench/encounter/bench_encounter.c $(BUILD)/libfacegate.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libfacegate.a $(LDLIBS) -lturbojpeg

bench-encounter: setup $(BUILD)/bench/bench_encounter
	@if [ ! -d "$(FACEGATE_LFW)/lfw-deepfunneled" ]; then \
	  echo "make bench-encounter: skipped: LFW not found at $(FACEGATE_LFW) (set FACEGATE_LFW)"; \
	else \
	  $(BUILD)/bench/bench_encounter --lfw "$(FACEGATE_LFW)" --watchlist $(BENCH_WATCHLIST) \
	    --out $(BUILD)/bench/encounter.json; \
	fi

# ---- officer console browser test (docs/console.md) ----------------------------
# Headless Chromium (Debian chromium) driven by npm playwright-core against a real
# `facegate serve` on a free loopback port with a fresh data directory; prints the
# sign-in screen's cold first-render time; screenshots in $(BUILD)/browser/.
.PHONY: browser-test
browser-test: setup $(BUILD)/facegate $(BUILD)/tests/make_facefixture
	BUILD=$(BUILD) FACEGATE_BIN=$(BUILD)/facegate BROWSER_OUT=$(BUILD)/browser FACEGATE_LFW="$(FACEGATE_LFW)" \
	  tests/browser/run.sh

# ---- the service under load (docs/service-bench.md) ---------------------------
# wrk -t2 -c50 posting LFW gate captures to POST /v1/encounters against a staged
# 420-traveller flight, and the same captures through the library in one
# process (bench_service_lib, 2 threads) as the reference; ratio, p50/p99,
# errors, stored encounters = 2xx answers; build/bench/service.json.
.PHONY: bench-service
$(BUILD)/bench/bench_service_lib: bench/service/bench_service_lib.c $(BUILD)/libfacegate.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libfacegate.a $(LDLIBS)

bench-service: setup $(BUILD)/facegate $(BUILD)/bench/bench_service_lib
	@scripts/setup packages wrk >/dev/null
	FACEGATE_LFW="$(FACEGATE_LFW)" FACEGATE_BIN=$(BUILD)/facegate \
	  BENCH_LIB_BIN=$(BUILD)/bench/bench_service_lib OUT=$(BUILD)/bench/service.json bench/service/run

# ---- the store: SQLite vs PostgreSQL vs PostgreSQL with a synchronous standby --
# Encounter transactions per second (synthetic templates, the real encounter
# code and durable commits), round trips per encounter, and a full encounter's
# latency on each backend, in one run; build/bench/store.json (docs/deployment.md).
.PHONY: bench-store
$(BUILD)/bench/bench_store: bench/store/bench_store.c $(BUILD)/libfacegate.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libfacegate.a $(LDLIBS)

bench-store: setup all $(BUILD)/bench/bench_store
	BENCH_STORE_BIN=$(BUILD)/bench/bench_store scripts/bench-store

# ---- failover: a primary, a synchronous standby, two servers under load ------------
# The standby lost (503, counted, logged), then the primary killed and the standby
# promoted: every acknowledged capture present exactly once, no 500, the outage
# measured; build/failover.json (tests/failover/run). Also run by `make test`.
.PHONY: test-failover
test-failover: setup all
	@tests/failover/run

# ---- two servers on one PostgreSQL database, under wrk ----------------------------
# Errors, lost and duplicated encounters (all must be 0) and throughput against
# one server on SQLite in the same run; build/bench/cluster.json (bench/cluster/run).
.PHONY: bench-cluster
bench-cluster: setup all
	@scripts/setup packages wrk
	bench/cluster/run
