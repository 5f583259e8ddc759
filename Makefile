# gongzhi — the commands a newcomer runs. See README.md.
#
#   make run     install missing Debian packages, build, start a 4-validator devnet
#   make test    the whole suite: lint, unit tests (also under ASan+UBSan), simulation, end-to-end
#   make build   release build into build/
#   make sim SEEDS=N    N simulation seeds, also with failing stores (make sim-bugs: injected bugs must be found)
#   make fuzz    each libFuzzer target for FUZZ_SECONDS (make fuzz-short: a few seconds each)
#   make bench   throughput and latency benchmark
#   make lint    cppcheck and the tree's own checks (tools/lint_tree.py); fails on any finding

SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
SEEDS ?= 100
FUZZ_SECONDS ?= 30
JOBS ?= 2

DEB_PACKAGES := build-essential cmake pkg-config curl libuv1-dev libsecp256k1-dev librocksdb-dev \
                libmsgpack-dev libcriterion-dev libssl-dev libhttp-parser-dev libjansson-dev \
                clang libclang-rt-14-dev jq iproute2 procps faketime cppcheck python3


.PHONY: all deps build build-asan test unit unit-asan sim sim-bugs e2e run fuzz fuzz-build fuzz-seeds fuzz-short bench clean lint

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "deps: missing Debian packages:$$missing"; \
	    echo "deps: run as root: apt-get install$$missing"; exit 1; \
	  fi; \
	fi

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

build-asan: deps
	@[ -f $(ASAN_BUILD)/CMakeCache.txt ] || cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DGZ_SANITIZE=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j$(JOBS)

unit: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

unit-asan: build-asan
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j$(JOBS)

sim: build
	./$(BUILD)/gz_sim --seeds $(SEEDS)
	./$(BUILD)/gz_sim --seeds $(SEEDS) --store-faults

# Each injected bug must be found (docs/consensus.md, "The simulator"): the
# runs are expected to fail, and passing runs fail this target.
SIM_BUGS := double:5 admit-sig:5 chain-dup:10 lock:30 old-powers:5
sim-bugs: build
	@for b in $(SIM_BUGS); do bug=$${b%%:*}; n=$${b##*:}; \
	  out=$$(./$(BUILD)/gz_sim --seeds $$n --inject-bug $$bug 2>&1); rc=$$?; \
	  echo "$$bug: $$(tail -1 <<<"$$out")"; \
	  if [ $$rc -ne 1 ]; then echo "sim-bugs: --inject-bug $$bug over $$n seeds was not caught (exit $$rc)"; exit 1; fi; \
	done

e2e: build
	@set -e; for t in tests/e2e/test_*.sh; do echo "== $$t"; bash $$t $(BUILD)/gongzhi; done

test: build build-asan
	@BUILD=$(BUILD) bash tests/run_all.sh

run: build
	./$(BUILD)/gongzhi devnet

# libFuzzer targets: one per tests/fuzz/fuzz_<name>.c, with its corpus in
# tests/fuzz/corpus/<name>/ (tx/ and rpc/ for the first two) and its own
# -max_len (docs/fuzzing.md). New inputs go to a scratch directory; crashes
# to $(FUZZ_BUILD)/crashes/, to be fixed and then kept in the corpus.
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_CORPUS_tx_decode := tx
FUZZ_CORPUS_rpc_request := rpc
# Inputs a peer or client can send, cut where mutations stop paying off:
# gossip carries blocks (up to 8 MiB on the wire; 256 KiB holds a block of a
# few hundred txs), a tx is at most 16 KiB, a commit of 100 validators ~9.6 KiB.
FUZZ_MAX_LEN_tx_decode := 20000
FUZZ_MAX_LEN_rpc_request := 20000
FUZZ_MAX_LEN_gossip := 262144
FUZZ_MAX_LEN_block := 262144
FUZZ_MAX_LEN_wal := 65536
FUZZ_MAX_LEN_verify := 65536
FUZZ_MAX_LEN_genesis := 65536
FUZZ_MAX_LEN_core_decode := 16384
FUZZ_MAX_LEN_p2p_wire := 16384
FUZZ_MAX_LEN_config := 4096
FUZZ_PLAN := $(foreach t,$(FUZZ_TARGETS),$(t):$(or $(FUZZ_CORPUS_$(t)),$(t)):$(or $(FUZZ_MAX_LEN_$(t)),4096))
# A single input slower than this is a hang.
FUZZ_TIMEOUT ?= 20
FUZZ_SHORT_SECONDS ?= 8

fuzz-build: deps
	@[ -f $(FUZZ_BUILD)/CMakeCache.txt ] || CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug \
	  -DGZ_FUZZ=ON -DGZ_TESTS=OFF -DCMAKE_C_FLAGS='-fsanitize=fuzzer-no-link,address,undefined' >/dev/null
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))

fuzz: fuzz-build
	@set -e; mkdir -p $(FUZZ_BUILD)/crashes; for t in $(FUZZ_PLAN); do name=$${t%%:*}; rest=$${t#*:}; \
	  corpus=tests/fuzz/corpus/$${rest%%:*}; max=$${rest##*:}; work=$$(mktemp -d); \
	  echo "== fuzz_$$name for $(FUZZ_SECONDS)s (max_len $$max, corpus $$corpus)"; \
	  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ./$(FUZZ_BUILD)/fuzz_$$name -max_total_time=$(FUZZ_SECONDS) -max_len=$$max -timeout=$(FUZZ_TIMEOUT) \
	    -detect_leaks=1 -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/crashes/$$name- \
	    $$work $$corpus >/dev/null 2>$$work.log || { tail -40 $$work.log; \
	    echo "fuzz_$$name failed: the input is in $(FUZZ_BUILD)/crashes/; fix it, then add it to $$corpus/"; exit 1; }; \
	  runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$work.log); \
	  eps=$$(sed -n 's/^stat::average_exec_per_sec: *//p' $$work.log); \
	  echo "fuzz_$$name: $$runs runs, $$eps exec/s, $$(grep -o 'cov: [0-9]*' $$work.log | tail -1)"; \
	  rm -rf $$work $$work.log; done

# Rewrites the generated seeds (every target that has a seed writer; the
# crash inputs kept next to them stay).
fuzz-seeds: fuzz-build
	@set -e; for t in $(FUZZ_PLAN); do name=$${t%%:*}; rest=$${t#*:}; \
	  GZ_FUZZ_WRITE_SEEDS=tests/fuzz/corpus/$${rest%%:*} ./$(FUZZ_BUILD)/fuzz_$$name -runs=0 >/dev/null 2>&1; done

bench: deps
	@[ -f build-release/CMakeCache.txt ] || cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DGZ_TESTS=OFF >/dev/null
	cmake --build build-release -j$(JOBS)
	./build-release/gongzhi bench

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) build-release

# The fuzz targets briefly, from the committed corpus (past crashes included).
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SHORT_SECONDS)

# Static checks over every C folder. cppcheck learns Criterion's macros from
# tests/lint/criterion.cfg; a suppression is inline, next to its reason. The
# tree's own rules (function length, internal headers) are tools/lint_tree.py,
# which first proves on the fixtures in tests/lint/ that it catches what it
# should. Every step runs, so one run lists all findings.
LINT_DIRS := core storage ledger consensus rpc p2p verify node cli tools tests
CPPCHECK_FLAGS := -q -I. --std=c11 --library=posix --library=tests/lint/criterion.cfg \
                  --enable=warning,style,performance,portability --error-exitcode=1 --inline-suppr \
                  -i tests/lint -j$(JOBS) --template='{file}:{line}: {severity}: {message} [{id}]'

lint: deps
	@rc=0; \
	echo "== cppcheck"; cppcheck $(CPPCHECK_FLAGS) $(LINT_DIRS) || rc=1; \
	echo "== lint_tree self-test"; python3 tools/lint_tree.py --self-test tests/lint || rc=1; \
	echo "== lint_tree"; python3 tools/lint_tree.py || rc=1; \
	exit $$rc
