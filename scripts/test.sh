#!/usr/bin/env bash
# Runs every test of kconv: lit (dialect, frontend, passes, lowering, PTX, execution), unit tests
# (ctest, which also runs the Python tests with pytest and builds the embed example). Assumes scripts/setup.sh has built build/.
set -uo pipefail
cd "$(dirname "$0")/.."
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

# One closing line over all runners.
passed=0; failed=0
n() { grep -oE "$1" "$2" 2>/dev/null | grep -oE '[0-9]+' | head -n 1; }
passed=$((passed + $(n 'Passed *: *[0-9]+' "$log/lit" || echo 0) + 0))
failed=$((failed + $(n 'Failed *: *[0-9]+' "$log/lit" || echo 0) + 0))
if [ -f "$log/ctest" ]; then
  total=$(n 'out of [0-9]+' "$log/ctest"); bad=$(n '[0-9]+ tests failed' "$log/ctest")
  passed=$((passed + ${total:-0} - ${bad:-0})); failed=$((failed + ${bad:-0}))
fi
rm -rf "$log"
[ "$failed" = 0 ] || status=1
echo "kconv: $passed passed, $failed failed"
exit $status
