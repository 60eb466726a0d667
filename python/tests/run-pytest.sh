#!/usr/bin/env bash
# ctest entry of the Python binding's tests: runs pytest with the given interpreter (or python3),
# exit 77 (reported as skipped by ctest) when no interpreter here has numpy and pytest.
set -u
cd "$(dirname "$0")/.."
for py in "${1:-}" python3 /usr/bin/python3; do
  if [ -n "$py" ] && "$py" -c "import numpy, pytest" >/dev/null 2>&1; then
    exec "$py" -m pytest -q -p no:cacheprovider tests
  fi
done
echo "SKIPPED: no python3 with numpy and pytest (pip install numpy pytest)"
exit 77
