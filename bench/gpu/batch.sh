#!/usr/bin/env bash
# On the GPU host, after scripts/gpu-check.sh's runtime build (build-gpu/): the seed's batch
# benchmark (issue 10; the Gaussian convolution, D = 3, every input with a batch dimension of B
# problems, one call for all of them, inputs on the GPU), B = 10 and 100, N = 100 ... 2e5, time
# per problem from CUDA events and from calls that each wait for their result; then unbatched
# calls of the same total pairs (B = 100 at N is N² · 100 pairs = one problem of N · 10 rows).
#   bench/gpu/batch.sh ARTIFACT_DIR [OUT_DIR]
set -uo pipefail
cd "$(dirname "$0")/../.."
art=${1:?usage: bench/gpu/batch.sh ARTIFACT_DIR [OUT_DIR]}
out=${2:-gpu-results}
mkdir -p "$out"
bench=build-gpu/bin/kconv-gpu-kernel-bench
{
  for b in 10 100; do
    "$bench" "$art/gaussian.kca" gaussian_conv --batch "$b" --check-rows 16 \
      --sizes 100,1000,2000,5000,10000,20000,50000,100000,200000
    echo
  done
  "$bench" "$art/gaussian.kca" gaussian_conv --check-rows 16 --sizes 200000,500000,1000000,2000000
} 2>&1 | tee "$out/batch-bench.md"
