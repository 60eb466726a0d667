#!/usr/bin/env bash
# CPU benchmark: Gaussian convolution out_i = sum_j exp(-|x_i - y_j|^2) b_j, D = 3, float32, N = M,
# random normal inputs. kconv (examples/gaussian.kconv compiled for this CPU, run through the
# runtime: kconv-run --bench / --check) against NumPy tensorized and a plain scalar C++ loop (-O3),
# in the same run. Prints a markdown table: median ms per call, pairs/s, speed-up over NumPy,
# relative error vs float64 on 256 sampled rows. The last column is the CPU time of one of the
# threads for its share of the rows (kconv-cpu-bench, the kernel ABI called directly): the wall time
# the call takes when no other process takes the cores (this machine's 2 cores are shared).
#
#   bench/cpu/run.sh [BUILD_DIR] [SIZES...]     (defaults: build, 100 1000 5000 10000 50000)
#   THREADS=2 (default) threads for kconv and the scalar loop; NumPy uses its BLAS's threads.
#   KCONV_ARTIFACT=FILE: use this compiled artifact (e.g. on a machine without the compiler).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${1:-$root/build}"
shift || true
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(100 1000 5000 10000 50000)
threads="${THREADS:-2}"
bin="$build/bin"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

if [ -n "${KCONV_ARTIFACT:-}" ]; then
  cp "$KCONV_ARTIFACT" "$tmp/gaussian.kca"
  compile_s="(precompiled)"
  target=$(grep -a -m1 '^attr cpu.target ' "$tmp/gaussian.kca" | sed 's/^attr cpu.target //')
else
  start=$(date +%s.%N)
  "$bin/kconv-compile" "$root/examples/gaussian.kconv" -o "$tmp/gaussian.kca"
  compile_s="$(python3 -c "import time; print(f'{time.time() - $start:.3f}')")s"
  target=$("$bin/kconv-compile" "$root/examples/gaussian.kconv" --emit=metadata | sed -n 's/^attr cpu.target //p')
fi

repeats() { # N -> repeats
  if [ "$1" -le 1000 ]; then echo 101; elif [ "$1" -le 10000 ]; then echo 11; else echo 3; fi
}
median_of() { sed -n 's/.*median \([0-9.]*\) ms.*/\1/p'; }

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores;" \
     "kconv target: $target; $threads threads; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "kconv-compile examples/gaussian.kconv: ${compile_s}"
echo
echo "| N | kconv ms | kconv pairs/s | kconv rel. error | NumPy ms | NumPy rel. error | speed-up vs NumPy | scalar C++ -O3 ms | kconv thread CPU ms |"
echo "|---|---|---|---|---|---|---|---|---|"
for n in "${sizes[@]}"; do
  r=$(repeats "$n")
  kms=$("$bin/kconv-run" "$tmp/gaussian.kca" --random "$n" --threads "$threads" --bench --repeats "$r" | median_of)
  kerr=$("$bin/kconv-run" "$tmp/gaussian.kca" --random "$n" --threads "$threads" --check \
         | sed -n 's/.*relative error \([0-9.e+-]*\) .*/\1/p')
  pairs=$(python3 -c "print(f'{$n * $n / ($kms * 1e-3):.2e}')")
  if [ "$n" -le 10000 ]; then
    np=$(python3 "$here/numpy_gauss.py" "$n" "$([ "$n" -le 1000 ] && echo 21 || echo 3)")
    nms=$(echo "$np" | sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p')
    nerr=$(echo "$np" | sed -n 's/.*rel_error=\([0-9.e+-]*\).*/\1/p')
    speedup=$(python3 -c "print(f'{$nms / $kms:.0f}x')")
  else
    nms="—"; nerr="—"; speedup="—" # 50000^2 float32 temporaries do not fit in memory
  fi
  if [ "$n" -le 10000 ]; then
    sms=$("$bin/kconv-bench-scalar" "$n" "$([ "$n" -le 1000 ] && echo 11 || echo 1)" "$threads" | median_of)
  else
    sms="—"
  fi
  cpu=$("$bin/kconv-cpu-bench" "$tmp/gaussian.kca" --random "$n,$n" --threads "$threads" --bench "$r" \
        | sed -n 's/^cpu-time.*median \([0-9.]*\) ms.*/\1/p')
  echo "| $n | $kms | $pairs | $kerr | $nms | $nerr | $speedup | $sms | $cpu |"
done
