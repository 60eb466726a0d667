#!/usr/bin/env bash
# The main job: compile examples/gaussian.kconv and run it on random N = 20000 inputs, printing the
# time, pairs/s and the relative error against the float64 reference. Assumes scripts/setup.sh has
# built build/.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/example
echo "== kconv-compile examples/gaussian.kconv -o build/example/gaussian.kca"
build/bin/kconv-compile examples/gaussian.kconv -o build/example/gaussian.kca
echo "== kconv-run (CPU), N = M = 20000"
build/bin/kconv-run build/example/gaussian.kca gaussian_conv --random 20000 --device cpu --bench --check
