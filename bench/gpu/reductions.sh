#!/usr/bin/env bash
# On the GPU host, after scripts/gpu-check.sh's runtime build (build-gpu/): every reduction kind
# checked on the GPU against the float64 reference (kconv-run --check --device gpu), then kernel
# times (CUDA events) of the issue-9 benchmarks next to the seed Gaussian:
#   k-NN ArgKMin K = 10, D = 3 (N = 1e4, 1e5, 1e6) and D = 64 (1e4, 1e5);
#   LogSumExp of -G |x - y|^2, without and with the dual potential (+ v_j: Sinkhorn's inner
#   step), D = 3; ArgMin, D = 3.
#   bench/gpu/reductions.sh ARTIFACT_DIR [OUT_DIR]
set -uo pipefail
cd "$(dirname "$0")/../.."
art=${1:?usage: bench/gpu/reductions.sh ARTIFACT_DIR [OUT_DIR]}
out=${2:-gpu-results}
mkdir -p "$out"
run=build-gpu/bin/kconv-run
bench=build-gpu/bin/kconv-gpu-kernel-bench
tmp=$(mktemp -d)
python3 test/Execution/Inputs/check_reductions.py "$run" "$art/reductions.kca" "$tmp" gpu \
  > "$out/kinds-gpu.txt" 2>&1
echo "kinds on the GPU: $(tail -n 1 "$out/kinds-gpu.txt")"
grep FAILED "$out/kinds-gpu.txt" | head -n 5
{
  "$bench" "$art/gaussian.kca" gaussian_conv --sizes 10000,100000,1000000 --repeats 5
  "$bench" "$art/reductions.kca" knn --sizes 10000,100000,1000000 --repeats 3
  "$bench" "$art/knn64.kca" knn64 --sizes 10000,100000 --repeats 3
  "$bench" "$art/reductions.kca" sinkhorn --sizes 10000,100000,1000000 --repeats 3
  "$bench" "$art/reductions.kca" sinkhorn_dual --sizes 10000,100000,1000000 --repeats 3
  "$bench" "$art/reductions.kca" nearest --sizes 10000,1000000 --repeats 3
} 2>&1 | tee "$out/reductions-bench.md"
rm -rf "$tmp"
