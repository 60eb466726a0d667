#!/usr/bin/env bash
# Remakes the seeds of the artifact fuzzer (test/fuzz/corpus/artifact/) with the current compiler
# and artifact format: run it after a format change (the seeds must load, or the fuzzer only
# explores the parser's first refusal).
#   gaussian-cpu.kca  examples/gaussian.kconv, CPU code only (x86-64-v3)
#   gaussian-ptx.kca  the same with PTX (sm_90) and without its CPU code or cubin
#   small-ptx.kca     gaussian-ptx without CPU code, empty PTX kernels (make_artifact_seeds.cpp)
#   test-kernels.kca  the unit tests' artifact (test/unit/TestArtifacts.cpp)
# Usage: scripts/remake-artifact-corpus.sh [BUILD_DIR]   (default build/)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
corpus=$root/test/fuzz/corpus/artifact
cd "$root"
"$build/bin/kconv-compile" examples/gaussian.kconv -o "$corpus/gaussian-cpu.kca" --cpu=x86-64-v3 \
  --no-gpu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/bin/kconv-compile" examples/gaussian.kconv -o "$tmp/gaussian.kca" --cpu=x86-64-v3 \
  --gpu-arch=sm_90
"${CXX:-c++}" -std=c++17 -O1 -I include test/fuzz/make_artifact_seeds.cpp test/unit/TestArtifacts.cpp \
  "$build/lib/libKconvArtifact.a" -o "$tmp/make_artifact_seeds"
"$tmp/make_artifact_seeds" "$tmp/gaussian.kca" "$corpus"
for f in "$corpus"/*.kca; do
  "$build/bin/kconv-run" "$f" --list >/dev/null || { echo "$f does not load" >&2; exit 1; }
done
ls -l "$corpus"
