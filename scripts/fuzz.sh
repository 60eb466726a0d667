#!/usr/bin/env bash
# Fuzzing: scripts/fuzz.sh [SECONDS]   (default 60 s per target)
# Builds the libFuzzer targets of test/fuzz into build-fuzz/ with clang-22 (kconv's code there is
# instrumented too: coverage, ASan, UBSan; LLVM/MLIR are Debian's uninstrumented libraries), then
# for each target listed in build-fuzz/fuzzers.txt:
#   1. replays its regression inputs (test/fuzz/regressions/<corpus>/, the crashes found so far);
#   2. fuzzes for SECONDS from a copy of its seed corpus (test/fuzz/corpus/<corpus>/: the
#      repository is not modified), one job, 10 s per input at most.
# Any crash, sanitizer report, leak, timeout or out-of-memory fails the target; its input is kept
# under build-fuzz/crashes/<target>/ and the job's log beside it. One line per target (executions,
# corpus growth, result), then `fuzz: N passed, M failed`; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
secs=${1:-60}
[[ "$secs" =~ ^[0-9]+$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS]"; exit 2; }
root=$PWD
# Cache hits for any checkout location (a CI clone elsewhere than the usual worktree).
export CCACHE_BASEDIR=$root
build="build-fuzz"
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

inst="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -gline-tables-only"
# -z undefs: see scripts/sanitize.sh (a sanitized shared library takes ASan from the executable).
if ! cmake -G Ninja -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DKCONV_ENABLE_COMPILER=ON \
    -DKCONV_ENABLE_FUZZERS=ON -DKCONV_ENABLE_MPI=OFF \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DCMAKE_C_FLAGS="$inst" -DCMAKE_CXX_FLAGS="$inst" -DCMAKE_EXE_LINKER_FLAGS="$inst" \
    -DCMAKE_SHARED_LINKER_FLAGS="$inst" -DCMAKE_SHARED_LINKER_FLAGS_RELEASE="-Wl,-z,undefs" \
    >"$log/configure" 2>&1; then
  tail -n 20 "$log/configure"
  echo "fuzz: 0 passed, 1 failed (configure of $build)"
  exit 1
fi
if ! ninja -C "$build" -j "$(nproc)" kconv-fuzzers >"$log/build" 2>&1; then
  grep -E "error|FAILED" "$log/build" | head -n 20
  echo "fuzz: 0 passed, 1 failed (build of $build)"
  exit 1
fi

export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-22/bin/llvm-symbolizer
# allow_user_poisoning=0: LLVM's BumpPtrAllocator (a header) poisons its slabs when compiled with
# ASan, in kconv's code, but not in the uninstrumented libMLIR.so, which then hands out objects from
# a poisoned slab without unpoisoning them: false use-after-poison reports in MLIR's uniquer.
export ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:allow_user_poisoning=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# What failed in a libFuzzer log, in a few words.
verdict() {
  if grep -q "ERROR: LeakSanitizer" "$1"; then echo "LEAK"
  elif grep -q "ERROR: libFuzzer: timeout" "$1"; then echo "TIMEOUT"
  elif grep -qE "ERROR: libFuzzer: (out-of-memory|malloc limit)" "$1"; then echo "OUT OF MEMORY"
  elif grep -q "runtime error:" "$1"; then echo "UNDEFINED BEHAVIOR"
  elif grep -qE "ERROR: (AddressSanitizer|libFuzzer)" "$1"; then echo "CRASH"
  else echo "FAILED"; fi
}

passed=0; failed=0
while read -r name exe corpus; do
  [ -n "$name" ] || continue
  crashes=$root/$build/crashes/$name
  mkdir -p "$crashes"
  work=$log/$name
  mkdir -p "$work/corpus"
  [ ! -d "$corpus" ] || cp -r "$corpus/." "$work/corpus/"
  seeds=$(ls "$work/corpus" | wc -l)
  flags=(-timeout=10 -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$crashes/")
  dict=$root/test/fuzz/${corpus##*/}.dict
  [ ! -f "$dict" ] || flags+=(-dict="$dict")

  # 1. The inputs that crashed before (each run once).
  regressions=$root/test/fuzz/regressions/${corpus##*/}
  if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
    if ! (cd "$work" && "$exe" "${flags[@]}" "$regressions"/*) >"$work/replay.log" 2>&1; then
      cp "$work/replay.log" "$crashes/replay.log"
      echo "fuzz: $name: regression input $(verdict "$work/replay.log") (log: $build/crashes/$name/replay.log)"
      failed=$((failed + 1))
      continue
    fi
  fi

  # 2. Fuzz. -jobs=1: one job, its output in fuzz-0.log of the working directory.
  start=$(date +%s)
  (cd "$work" && timeout $((secs + 300)) "$exe" "${flags[@]}" -max_total_time="$secs" -jobs=1 \
      corpus) >"$work/driver.log" 2>&1
  rc=$?
  joblog=$work/fuzz-0.log
  [ -f "$joblog" ] || joblog=$work/driver.log
  execs=$(grep -oE "stat::number_of_executed_units: [0-9]+" "$joblog" | grep -oE "[0-9]+$" | tail -n 1)
  [ -n "$execs" ] || execs=$(grep -oE "^#[0-9]+" "$joblog" | tr -d '#' | tail -n 1)
  grown=$(ls "$work/corpus" | wc -l)
  took=$(( $(date +%s) - start ))
  if [ "$rc" = 0 ] && ! grep -qE "ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:" "$joblog"; then
    echo "fuzz: $name: ${execs:-?} execs in $took s, corpus $seeds -> $grown inputs, ok"
    passed=$((passed + 1))
  else
    cp "$joblog" "$crashes/fuzz.log"
    inputs=$(grep -oE "Test unit written to [^ ]+" "$joblog" | sed 's/Test unit written to //' | tr '\n' ' ')
    echo "fuzz: $name: ${execs:-?} execs in $took s, $(verdict "$joblog") (rc $rc): ${inputs:-no input saved}(log: $build/crashes/$name/fuzz.log)"
    grep -m 1 -A 12 -E "ERROR: |runtime error:" "$joblog" | sed 's/^/    /'
    failed=$((failed + 1))
  fi
done <"$build/fuzzers.txt"

echo "fuzz: $passed passed, $failed failed"
[ "$failed" = 0 ]
