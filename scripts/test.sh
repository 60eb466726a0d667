#!/usr/bin/env bash
# Runs every test of kconv: lit (dialect, frontend, passes, lowering, PTX, execution), unit tests
# (ctest, which also runs the Python tests with pytest and builds the embed example), then the
# ASan + UBSan build's tests (scripts/sanitize.sh, build-asan/) and every fuzzer for 60 s
# (scripts/fuzz.sh, build-fuzz/). Assumes scripts/setup.sh has built build/.
# KCONV_QUICK=1 skips the sanitizer and fuzzer stages (a developer's quick run; CI runs them all).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
log=$(mktemp -d)
status=0

echo "== lit"
/usr/lib/llvm-22/bin/lit -sv build/test 2>&1 | tee "$log/lit" | grep -vE "^(PASS|UNSUPPORTED): " || true
[ "${PIPESTATUS[0]}" = 0 ] || status=1
grep -E "^(UNSUPPORTED): " "$log/lit" | sed 's/^/skipped (no CUDA toolkit): /' || true

if [ -f build/CTestTestfile.cmake ] && ctest --test-dir build -N 2>/dev/null | grep -q "Total Tests: [1-9]"; then
  echo "== ctest"
  ctest --test-dir build --output-on-failure 2>&1 | tee "$log/ctest" | tail -n 5
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
fi

if [ "${KCONV_QUICK:-0}" = 1 ]; then
  echo "== sanitizers and fuzzers skipped (KCONV_QUICK=1)"
else
  echo "== sanitizers (ASan + UBSan, build-asan/)"
  bash scripts/sanitize.sh 2>&1 | tee "$log/sanitize" | grep -vE "^(PASS|UNSUPPORTED): " | tail -n 40
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
  echo "== fuzzers (60 s each, build-fuzz/)"
  bash scripts/fuzz.sh 60 2>&1 | tee "$log/fuzz" | tail -n 40
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
fi

# One closing line over all runners.
passed=0; failed=0
n() { grep -oE "$1" "$2" 2>/dev/null | grep -oE '[0-9]+' | head -n 1; }
passed=$((passed + $(n 'Passed *: *[0-9]+' "$log/lit" || echo 0) + 0))
failed=$((failed + $(n 'Failed *: *[0-9]+' "$log/lit" || echo 0) + 0))
if [ -f "$log/ctest" ]; then
  total=$(n 'out of [0-9]+' "$log/ctest"); bad=$(n '[0-9]+ tests failed' "$log/ctest")
  passed=$((passed + ${total:-0} - ${bad:-0})); failed=$((failed + ${bad:-0}))
fi
# The sanitizer and fuzzer stages end with `<stage>: N passed, M failed`; a stage that failed
# without that line (its build failed) counts as one failure.
for stage in sanitize fuzz; do
  [ -f "$log/$stage" ] || continue
  line=$(grep -E "^$stage: [0-9]+ passed, [0-9]+ failed" "$log/$stage" | tail -n 1)
  if [ -n "$line" ]; then
    passed=$((passed + $(n '[0-9]+ passed' <(echo "$line"))))
    failed=$((failed + $(n '[0-9]+ failed' <(echo "$line"))))
  else
    failed=$((failed + 1))
  fi
done
rm -rf "$log"
[ "$failed" = 0 ] || status=1
echo "kconv: $passed passed, $failed failed"
exit $status
