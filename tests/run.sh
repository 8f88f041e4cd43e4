#!/usr/bin/env bash
# The whole test suite, from a clean clone: installs what is missing, builds
# with warnings as errors under AddressSanitizer and UndefinedBehaviorSanitizer
# (gcc), builds the libFuzzer targets (clang) and the gateway under
# ThreadSanitizer (gcc), and runs every test through ctest.
#
#   CG_FUZZ_SECONDS=N   how long each fuzzer runs (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."

./deploy/install-deps.sh --test

jobs=$(nproc)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

cmake -S . -B build/test -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=Debug \
	-DCMAKE_C_COMPILER=gcc -DCG_WERROR=ON -DCG_SANITIZE=ON >/dev/null
cmake --build build/test -j"$jobs"

cmake -S . -B build/fuzz -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_C_COMPILER=clang -DCG_WERROR=ON -DCG_FUZZ=ON \
	-DCG_FUZZ_SECONDS="${CG_FUZZ_SECONDS:-20}" >/dev/null
cmake --build build/fuzz -j"$jobs"

# The gateway is the one multi-threaded program: its scenarios
# (tests/integration/gateway/test_*.py) run again under ThreadSanitizer.
cmake -S . -B build/tsan -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_C_COMPILER=gcc -DCG_WERROR=ON -DCG_TSAN=ON >/dev/null
cmake --build build/tsan -j"$jobs" --target cellgate

ctest --test-dir build/test --output-on-failure -j"$jobs"
ctest --test-dir build/fuzz --output-on-failure -j"$jobs"
ctest --test-dir build/tsan --output-on-failure
