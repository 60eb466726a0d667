#!/usr/bin/env bash
# The main job: examples/gaussian.kconv through the compiler. Assumes scripts/setup.sh has built build/.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== kconv IR of examples/gaussian.kconv"
build/bin/kconv-opt examples/gaussian.kconv
echo "== after --kconv-simplify"
build/bin/kconv-opt --kconv-simplify examples/gaussian.kconv
