#!/usr/bin/env bash
# ASan + UBSan: builds kconv's compiler, runtime, tools and tests into build-asan/ with clang-22
# (-fsanitize=address,undefined -fno-sanitize-recover=all; LLVM/MLIR stay the uninstrumented
# shared libraries of Debian), then runs under the sanitizers
#   - the whole lit suite (frontend, dialect, conversion, target, execution: the compiler on every
#     test input, kconv-compile'd artifacts run by kconv-run);
#   - the runtime unit tests (ctest, GoogleTest: artifact loader, .npy, C API, reference, kconv-run).
# Not here (the plain build runs them): the pytest suite (a sanitized libkconv_runtime.so inside
# python3 needs the ASan runtime preloaded into an uninstrumented interpreter, and then reports
# numpy's and CPython's own allocations), the embed example (an install + a plain CMake build of
# a consumer: no kconv code runs that the unit tests do not run) and MPI (OpenMPI's own
# allocations; kconv_mpi's logic is covered by its plain-build tests).
# Any sanitizer report fails the test it happens in. LeakSanitizer is on.
# Ends with one line: `sanitize: N passed, M failed`; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
# Cache hits for any checkout location (a CI clone elsewhere than the usual worktree).
export CCACHE_BASEDIR=$PWD
build="build-asan"
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -gline-tables-only"
# LLVM's CMake links shared libraries with -z defs; a sanitized shared library (libkconv_runtime.so)
# leaves the ASan symbols to the executable that loads it: -z undefs (build-type flags come last).
if ! cmake -G Ninja -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DKCONV_ENABLE_COMPILER=ON \
    -DKCONV_ENABLE_MPI=OFF -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DCMAKE_C_FLAGS="$san" -DCMAKE_CXX_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" \
    -DCMAKE_SHARED_LINKER_FLAGS="$san" -DCMAKE_SHARED_LINKER_FLAGS_RELEASE="-Wl,-z,undefs" \
    >"$log/configure" 2>&1; then
  tail -n 20 "$log/configure"
  echo "sanitize: 0 passed, 1 failed (configure of $build)"
  exit 1
fi
if ! ninja -C "$build" -j "$(nproc)" >"$log/build" 2>&1; then
  grep -E "error|FAILED" "$log/build" | head -n 20
  echo "sanitize: 0 passed, 1 failed (build of $build)"
  exit 1
fi

# Reports name file:line (llvm-symbolizer). Leaks are checked at every process exit.
export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-22/bin/llvm-symbolizer
# allow_user_poisoning=0: LLVM's BumpPtrAllocator (a header) poisons its slabs when compiled with
# ASan, in kconv's code, but not in the uninstrumented libMLIR.so, which then hands out objects from
# a poisoned slab without unpoisoning them: false use-after-poison reports in MLIR's uniquer.
export ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:check_initialization_order=1:detect_stack_use_after_return=1:allow_user_poisoning=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
status=0

echo "== sanitize: lit ($build)"
/usr/lib/llvm-22/bin/lit -sv "$build/test" 2>&1 | tee "$log/lit" | grep -vE "^(PASS|UNSUPPORTED): " || true
[ "${PIPESTATUS[0]}" = 0 ] || status=1

echo "== sanitize: ctest ($build)"
ctest --test-dir "$build" --output-on-failure -E '^(python-binding|embed-example|mpi-.*)$' 2>&1 |
  tee "$log/ctest" | tail -n 5
[ "${PIPESTATUS[0]}" = 0 ] || status=1

n() { grep -oE "$1" "$2" 2>/dev/null | grep -oE '[0-9]+' | head -n 1; }
passed=$(( $(n 'Passed *: *[0-9]+' "$log/lit" || echo 0) + 0 ))
failed=$(( $(n 'Failed *: *[0-9]+' "$log/lit" || echo 0) + 0 ))
total=$(n 'out of [0-9]+' "$log/ctest"); bad=$(n '[0-9]+ tests failed' "$log/ctest")
passed=$((passed + ${total:-0} - ${bad:-0})); failed=$((failed + ${bad:-0}))
[ "$failed" = 0 ] || status=1
[ "$status" = 0 ] || [ "$failed" != 0 ] || failed=1  # a runner failed without a count
echo "sanitize: $passed passed, $failed failed"
exit $status
