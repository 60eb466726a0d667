#!/usr/bin/env bash
# Compiles (on a host with the compiler: LLVM/MLIR 22, optionally ptxas) every formula file the GPU
# run needs into ARTIFACT_DIR (default build/artifacts, which git ignores):
#   gaussian.kca       the seed benchmark (bench/gpu/formulas/gaussian.kconv)
#   ops.kca            one reduction per formula op (bench/gpu/formulas/ops.kconv), fast math
#   ops_accurate.kca   the same without fast math
#   gaussian_r2.kca, gaussian_r8.kca  the seed kernel with 2 / 8 rows per thread (tuning runs)
#   reductions.kca     every reduction kind (bench/gpu/formulas/reductions.kconv)
#   knn64.kca          ArgKMin K = 10 in dimension 64
#   wide.kca           variables of 100 to 65536 components (bench/gpu/formulas/wide.kconv)
#   wide_output.kca    a 65536-component output (bench/gpu/formulas/wide_output.kconv)
#   fused.kca          a value and a gradient reduction and their fused reduction (fused.kconv)
# plus report.txt: registers/spills per kernel and the SASS of the seed kernel's hot loop.
# Uses kconv-compile when it embeds GPU code, else kconv-opt + kconv-translate (GPU-only artifacts).
# Ship the source tree and ARTIFACT_DIR to the GPU host, then run scripts/gpu-check.sh there.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/artifacts}
bin=${KCONV_BIN:-build/bin}
arch=${KCONV_GPU_ARCH:-sm_90}
mkdir -p "$out"
for tool in kconv-opt kconv-translate; do
  [ -x "$bin/$tool" ] || { echo "build-gpu-artifacts: $bin/$tool not built (ninja -C build)"; exit 1; }
done
use_compile=0
if [ -x "$bin/kconv-compile" ] && "$bin/kconv-compile" --help 2>&1 | grep -q -- '--gpu-arch'; then
  use_compile=1
fi

compile() { # SOURCE OUTPUT [fast|accurate] [ROWS_PER_THREAD]
  local src=$1 dst=$2 mode=${3:-fast} rows=${4:-0}
  if [ "$use_compile" = 1 ]; then
    local flags=(--gpu-arch="$arch" --gpu-rows-per-thread="$rows")
    [ "$mode" = accurate ] && flags+=(--no-fast-math)
    "$bin/kconv-compile" "$src" -o "$dst" --cpu="${KCONV_CPU:-x86-64-v3}" "${flags[@]}"
  else
    local fm=true
    [ "$mode" = accurate ] && fm=false
    "$bin/kconv-opt" --kconv-simplify "$src" |
      "$bin/kconv-translate" --kconv-to-gpu-artifact --gpu-arch="$arch" --gpu-fast-math=$fm \
        --gpu-rows-per-thread="$rows" -o "$dst"
  fi
  echo "built $dst"
}

formulas=bench/gpu/formulas
compile $formulas/gaussian.kconv "$out/gaussian.kca"
compile $formulas/ops.kconv "$out/ops.kca"
compile $formulas/ops.kconv "$out/ops_accurate.kca" accurate
compile $formulas/gaussian.kconv "$out/gaussian_r2.kca" fast 2
compile $formulas/gaussian.kconv "$out/gaussian_r8.kca" fast 8
compile $formulas/reductions.kconv "$out/reductions.kca"
compile $formulas/knn64.kconv "$out/knn64.kca"
compile $formulas/wide.kconv "$out/wide.kca"
compile $formulas/wide_output.kconv "$out/wide_output.kca"
compile $formulas/fused.kconv "$out/fused.kca"

# Report: what ptxas says of each kernel, and the seed kernel's hot loop in SASS.
{
  echo "# GPU artifacts for $arch ($(date -u +%Y-%m-%dT%H:%MZ)), $( [ "$use_compile" = 1 ] && echo kconv-compile || echo kconv-translate)"
  for f in gaussian ops; do
    echo "## $f.kconv"
    "$bin/kconv-opt" --kconv-simplify $formulas/$f.kconv |
      "$bin/kconv-translate" --kconv-gpu-metadata --gpu-arch="$arch" | grep -E '^(reduction|attr gpu\.(registers|rows_per_thread)|#)' || true
  done
  cuobjdump=$(command -v cuobjdump || true)
  if [ -z "$cuobjdump" ] && python3 -c 'import nvidia' 2>/dev/null; then
    cuobjdump=$(ls "$(python3 -c 'import nvidia; print(list(nvidia.__path__)[0])')"/cu*/bin/cuobjdump 2>/dev/null | head -n 1 || true)
  fi
  [ -z "$cuobjdump" ] && [ -x /usr/local/cuda/bin/cuobjdump ] && cuobjdump=/usr/local/cuda/bin/cuobjdump
  if [ -n "$cuobjdump" ]; then
    tmp=$(mktemp -d)
    if "$bin/kconv-opt" --kconv-simplify $formulas/gaussian.kconv |
        "$bin/kconv-translate" --kconv-to-cubin --gpu-arch="$arch" -o "$tmp/g.cubin" 2>/dev/null; then
      echo "## SASS hot loop of kconv_gpu_gaussian_conv"
      PATH="$(dirname "$cuobjdump"):$PATH" "$cuobjdump" -sass -fun kconv_gpu_gaussian_conv "$tmp/g.cubin" |
        python3 scripts/sass-inner-loop.py - || true
    fi
    rm -rf "$tmp"
  fi
} > "$out/report.txt" 2>&1
cat "$out/report.txt" | grep -E 'hot loop|opcodes' || true
echo "artifacts in $out"
