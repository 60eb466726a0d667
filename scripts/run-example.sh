#!/usr/bin/env bash
# The main job: compile examples/gaussian.kconv and run it on random N = 20000 inputs, on the GPU
# when one is usable, else on the CPU, printing the time, pairs/s and the relative error against
# the float64 reference. Assumes scripts/setup.sh has built build/.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/example
art=build/example/gaussian.kca
echo "== kconv-compile examples/gaussian.kconv -o $art"
build/bin/kconv-compile examples/gaussian.kconv -o "$art"
gpu=$(build/bin/kconv-run "$art" --list | sed -n 's/.*gpu: //p' | head -n 1)
if [[ $gpu == yes* ]]; then
  device=gpu
  echo "== GPU present: running on the GPU"
else
  device=cpu
  echo "== no usable GPU ${gpu#no }: running on the CPU"
fi
echo "== kconv-run --device $device, N = M = 20000"
build/bin/kconv-run "$art" gaussian_conv --random 20000 --device "$device" --bench --check
