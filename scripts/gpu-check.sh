#!/usr/bin/env bash
# On the GPU host (CUDA driver, cmake, g++, ninja, python3 + torch + numpy + matplotlib; no MLIR):
#   scripts/gpu-check.sh ARTIFACT_DIR [--quick]
# 1. builds the runtime, kconv-run and the kernel benchmark without the compiler (build-gpu/);
# 2. runs the GPU tests (python/tests/test_gpu.py: every op vs the float64 reference on every
#    kernel variant, torch CUDA tensors, host arrays, error messages);
# 2b. runs the same GPU tests (less the torch ones) under compute-sanitizer memcheck (with leak
#    checks) and racecheck, where compute-sanitizer exists (the CUDA toolkit's);
# 3. times the kernels (bench/gpu/kernel_bench.cpp, CUDA events, several launch plans);
# 4. runs the benchmark (bench/gpu/bench.py: kconv vs PyTorch, N = 100 ... 1e7);
# and prints a short summary last. Logs and results go to $OUT (default ./gpu-results):
# build.log, gpu-tests.log, memcheck.log + memcheck-tests.log, racecheck.log + racecheck-tests.log,
# kernel-bench.md, bench.md, bench.json, bench.png, summary.md.
# ARTIFACT_DIR comes from scripts/build-gpu-artifacts.sh on a host with the compiler.
# --quick: fewer sizes and plans, no torch.compile, no N = 1e7.
set -uo pipefail
cd "$(dirname "$0")/.."
art=${1:?usage: scripts/gpu-check.sh ARTIFACT_DIR [--quick]}
art=$(cd "$art" && pwd)
quick=0
[ "${2:-}" = "--quick" ] && quick=1
out=${OUT:-$PWD/gpu-results}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
summary="$out/summary.md"
: > "$summary"
say() { echo "$@" | tee -a "$summary"; }

say "## kconv GPU check ($(date -u +%Y-%m-%dT%H:%MZ))"
gpu=$(nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>/dev/null | head -n 1)
say "- GPU: ${gpu:-nvidia-smi not available}; artifacts: $art"

# 1. Build (runtime only).
start=$(date +%s)
{
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  cmake -S . -B build-gpu "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DKCONV_ENABLE_COMPILER=OFF \
    -DKCONV_ENABLE_TESTS=OFF &&
  cmake --build build-gpu --parallel "$(nproc)" --target kconv_runtime kconv-run kconv-gpu-kernel-bench
} > "$out/build.log" 2>&1
build_rc=$?
say "- build (runtime, kconv-run, kernel bench; no MLIR): $([ $build_rc = 0 ] && echo ok || echo FAILED, see build.log) in $(( $(date +%s) - start )) s"
if [ $build_rc != 0 ]; then
  tail -n 30 "$out/build.log"
  exit 1
fi
export KCONV_LIBRARY=$PWD/build-gpu/lib/libkconv_runtime.so
export KCONV_RUN=$PWD/build-gpu/bin/kconv-run
export KCONV_GPU_ARTIFACTS=$art
py=python3

# 2. Tests.
start=$(date +%s)
(cd python && $py -m pytest -q -rs -p no:cacheprovider tests/test_gpu.py) > "$out/gpu-tests.log" 2>&1
tests_rc=$?
tests_line=$(grep -E '^[0-9]+ (passed|failed)|passed|failed|error' "$out/gpu-tests.log" | tail -n 1)
say "- GPU tests: ${tests_line:-no summary (see gpu-tests.log)} in $(( $(date +%s) - start )) s"
grep -E '^(FAILED|ERROR)' "$out/gpu-tests.log" | head -n 10 | tee -a "$summary"
grep -E '^SKIPPED' "$out/gpu-tests.log" | head -n 3 | tee -a "$summary"

# 2b. The GPU tests under compute-sanitizer: memcheck (out-of-bounds and misaligned accesses, leaked
# device allocations) and racecheck (shared-memory races: the small kernel's block reduction).
# A subset (every kernel variant and plan through a few ops, the host path, special values, empty
# sizes): the whole suite takes over 8 minutes under memcheck. The torch tests are left out:
# torch's own kernels would be checked too, slowly.
sanitized_tests="not torch and (op_exp or op_rsqrt or op_axis0 or gaussian_vec or special or host_path or empty or batch)"
sanitizer_rc=0
csan=$(command -v compute-sanitizer || true)
[ -n "$csan" ] || [ ! -x /usr/local/cuda/bin/compute-sanitizer ] || csan=/usr/local/cuda/bin/compute-sanitizer
if [ -n "$csan" ]; then
  for tool in memcheck racecheck; do
    start=$(date +%s)
    extra=()
    [ $tool = memcheck ] && extra=(--leak-check full)
    (cd python && "$csan" --tool $tool "${extra[@]}" --error-exitcode 3 --print-limit 20 \
        --log-file "$out/$tool.log" \
        $py -m pytest -q -p no:cacheprovider -k "$sanitized_tests" tests/test_gpu.py) > "$out/$tool-tests.log" 2>&1
    rc=$?
    errors=$(grep -oE "ERROR SUMMARY: [0-9]+ error" "$out/$tool.log" 2>/dev/null | grep -oE "[0-9]+" | tail -n 1)
    if [ $rc = 0 ]; then verdict="${errors:-0} errors"
    elif [ $rc = 3 ]; then verdict="${errors:-some} ERRORS (see $tool.log)"
    else verdict="tests failed under it, exit $rc (see $tool-tests.log)"; fi
    say "- compute-sanitizer $tool over the GPU tests: $verdict in $(( $(date +%s) - start )) s"
    [ $rc = 0 ] || sanitizer_rc=1
  done
else
  say "- compute-sanitizer not found (CUDA toolkit): memcheck/racecheck skipped"
fi

# 3. Kernel times (GPU time from CUDA events; host time to queue a call).
start=$(date +%s)
kb=build-gpu/bin/kconv-gpu-kernel-bench
if [ $quick = 1 ]; then
  $kb "$art/gaussian.kca" --sizes 1000,10000,100000,1000000 --plans auto > "$out/kernel-bench.md" 2>&1
else
  $kb "$art/gaussian.kca" --sizes 100,200,500,1000,2000,5000,10000,20000,50000,100000,200000,500000,1000000 \
    --plans auto > "$out/kernel-bench.md" 2>&1
  echo >> "$out/kernel-bench.md"
  $kb "$art/gaussian.kca" --sizes 1000,10000,100000,1000000 \
    --plans auto,0:1,0:2,0:4,0:8,1:1,1:4,1:16 >> "$out/kernel-bench.md" 2>&1
  for r in 2 8; do  # other register blockings of the seed kernel
    if [ -f "$art/gaussian_r$r.kca" ]; then
      echo >> "$out/kernel-bench.md"
      $kb "$art/gaussian_r$r.kca" --sizes 100000,1000000 --plans auto,0:1,0:2 >> "$out/kernel-bench.md" 2>&1
    fi
  done
fi
say "- kernel bench in $(( $(date +%s) - start )) s (kernel-bench.md)"

# 4. The benchmark.
start=$(date +%s)
flags=()
[ $quick = 1 ] && flags=(--quick --sizes 100,1000,2000,10000,100000,1000000)
$py bench/gpu/bench.py "$art/gaussian.kca" --out "$out" "${flags[@]}" > "$out/bench.log" 2>&1
bench_rc=$?
say "- benchmark: $([ $bench_rc = 0 ] && echo ok || echo "exit $bench_rc, see bench.log") in $(( $(date +%s) - start )) s"

# The short tables, last.
echo
echo "### kernel-only (CUDA events), runtime's plan"
grep -E '^\| [0-9]+ \| auto ' "$out/kernel-bench.md" | head -n 14 | tee -a "$summary"
echo
echo "### benchmark (ms per call from Python, synchronized)"
if [ -f "$out/bench.md" ]; then
  sed -n '3,$p' "$out/bench.md" | tee -a "$summary" | cut -c1-220
else
  tail -n 15 "$out/bench.log"
fi
[ $tests_rc = 0 ] && [ $sanitizer_rc = 0 ] && [ $bench_rc = 0 ]
