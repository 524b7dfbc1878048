#!/usr/bin/env bash
# The sanitizer and fuzzing pass of .ci/run (also on demand):
#   1. AddressSanitizer + UndefinedBehaviorSanitizer: the whole project built with clang into
#      build-asan (-O1, no jemalloc, coverage hooks for libFuzzer) and the whole ctest suite run
#      against it, the real lapor-node processes of the integration tests included;
#   2. the libFuzzer targets of fuzz/ (same tree), each for FUZZ_SECONDS from its seed corpus
#      (deploy/fuzz.sh);
#   3. ThreadSanitizer: the in-process tests of the store and the case service (core_tests:
#      group commit, checkpointer, concurrent submissions and actions) built into build-tsan.
# A report from any sanitizer fails the run (-fno-sanitize-recover, halt_on_error).
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh
JOBS=${JOBS:-2}
# clang: its sanitizers and libFuzzer are the reference ones, and gcc 12 reports false "maybe
# uninitialized" warnings inside libstdc++'s <regex> once -fsanitize is on.
COMMON=(-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1"
        -DLAPOR_WERROR=ON -DLAPOR_JEMALLOC=OFF)

cmake -S . -B build-asan "${COMMON[@]}" -DLAPOR_SANITIZE=address,undefined,fuzzer-no-link \
  -DLAPOR_FUZZ=ON >/dev/null
cmake --build build-asan -j "$JOBS" --target all fuzz_all
# Leaks are not checked: the node ends with _Exit once everything is durable (skipping static
# destructors on purpose), and cpprestsdk keeps process-lifetime singletons.
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:detect_stack_use_after_return=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
(cd build-asan && ctest --output-on-failure -j "$JOBS" --timeout 900)

bash deploy/fuzz.sh build-asan

cmake -S . -B build-tsan "${COMMON[@]}" -DLAPOR_SANITIZE=thread >/dev/null
cmake --build build-tsan -j "$JOBS" --target core_tests
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
./build-tsan/tests/core_tests --gtest_brief=1
