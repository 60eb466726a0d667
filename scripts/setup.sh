#!/usr/bin/env bash
# Installs what kconv needs on a fresh Debian 12 machine (apt + pip), then configures and builds it
# into build/. Idempotent: installs only what is missing, and rebuilds incrementally.
set -euo pipefail
cd "$(dirname "$0")/.."

# clang-22 and libclang-rt-22-dev: the ASan + UBSan and libFuzzer builds (scripts/sanitize.sh, fuzz.sh).
apt_packages=(cmake ninja-build ccache g++ libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools
              libgtest-dev libbenchmark-dev openmpi-bin libopenmpi-dev libsodium-dev
              clang-22 libclang-rt-22-dev)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

python3 -c "import numpy, pytest" 2>/dev/null || python3 -m pip install -q numpy pytest
# pykeops (KeOps) for the differential tests, python/tests/test_pykeops_differential.py (skipped
# without it). Optional: where it cannot be installed, only those tests are skipped.
python3 -c "import pykeops" >/dev/null 2>&1 ||
  python3 -m pip install -q --retries 1 --timeout 30 pykeops==2.3 ||
  echo "setup: pykeops not installed (the KeOps differential tests will be skipped)"
# Where the CUDA toolkit's ptxas exists but not cuobjdump (e.g. /usr/local/cuda with the compiler
# only), the lit SASS checks get cuobjdump + nvdisasm from their PyPI wheels. Best effort.
if [ -x /usr/local/cuda/bin/ptxas ] && ! command -v cuobjdump >/dev/null &&
   [ ! -x /usr/local/cuda/bin/cuobjdump ] &&
   ! python3 -c "import nvidia, os, glob, sys; sys.exit(not glob.glob(os.path.join(list(nvidia.__path__)[0], 'cu*', 'bin', 'cuobjdump')))" 2>/dev/null; then
  python3 -m pip install -q nvidia-cuda-cuobjdump nvidia-cuda-nvdisasm || echo "setup: no cuobjdump (SASS lit tests will be skipped)"
fi

# Compile commands relative to the checkout: ccache hits wherever the tree is cloned.
export CCACHE_BASEDIR=$PWD
cmake -G Ninja -S . -B build -DCMAKE_BUILD_TYPE=Release -DKCONV_ENABLE_COMPILER=ON >/dev/null
ninja -C build
