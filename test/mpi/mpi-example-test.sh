#!/usr/bin/env bash
# The MPI example end to end (ctest: mpi-example):
#   mpi-example-test.sh EXAMPLE MAKE_TEST_ARTIFACT MPIEXEC [COMPILED.kca]
# Runs kconv-mpi-gaussian with `mpirun -np 4 --oversubscribe` on the CPU in ring and replicated
# mode, for axis 1 (gaussian_conv, gaussian_vec: output dim 3) and axis 0 (transposed) of the
# runtime tests' artifact (and of COMPILED.kca, test/mpi/mpi-formulas.kconv compiled, if given),
# and compares the gathered output with the single-process blocked run bit for bit (cmp): ring
# with `--single --blocks 4`, replicated with `--single --blocks 1`. Every run also checks its
# error against the float64 reference (the example exits 3 above its tolerance).
# Exit 77 (skipped) without mpirun or a C compiler for the test kernels.
set -uo pipefail
example=$1 make_artifact=$2 mpiexec=$3 compiled=${4:-}
source "$(dirname "$0")/mpi-setup.sh"
mpirun() { "$mpiexec" --oversubscribe --allow-run-as-root --bind-to none "$@"; }

status=0
run() { # run NAME COMMAND...: prints the command and its output, records a failure
  echo "\$ ${*:2}"
  if ! "${@:2}" >"$tmp/$1.log" 2>&1; then
    cat "$tmp/$1.log"
    echo "FAILED: $1"
    status=1
    return 1
  fi
  cat "$tmp/$1.log"
}
same() { # same A B: bit for bit
  if cmp "$1" "$2"; then
    echo "identical: $(basename "$1") $(basename "$2")"
  else
    echo "FAILED: $(basename "$1") and $(basename "$2") differ"
    status=1
  fi
}

check() { # check ARTIFACT REDUCTION N M RANKS
  local art=$1 red=$2 n=$3 m=$4 np=$5 tag="$(basename "$1" .kca)-$2-$3x$4-np$5"
  local common=("$art" --reduction "$red" --n "$n" --m "$m" --seed 3)
  run "$tag-single$np" "$example" "${common[@]}" --single --blocks "$np" -o "$tmp/$tag-single$np.npy" &&
  run "$tag-single1" "$example" "${common[@]}" --single --blocks 1 -o "$tmp/$tag-single1.npy" &&
  run "$tag-ring" mpirun -np "$np" "$example" "${common[@]}" --mode ring -o "$tmp/$tag-ring.npy" &&
  run "$tag-replicated" mpirun -np "$np" "$example" "${common[@]}" --mode replicated \
      -o "$tmp/$tag-replicated.npy" || return
  same "$tmp/$tag-ring.npy" "$tmp/$tag-single$np.npy"
  same "$tmp/$tag-replicated.npy" "$tmp/$tag-single1.npy"
}

check "$tmp/test.kca" gaussian_conv 1000 1500 4   # axis 1
check "$tmp/test.kca" transposed 1000 1500 4      # axis 0: 1500 output rows (j), 1000 reduced (i)
check "$tmp/test.kca" gaussian_vec 999 1501 4     # output dimension 3
check "$tmp/test.kca" gaussian_conv 1000 1500 3   # another rank count
if [ -n "$compiled" ]; then
  if [ -f "$compiled" ]; then
    # The compiler's vectorized, register-blocked CPU code.
    check "$compiled" gaussian_conv 1000 1500 4
    check "$compiled" transposed 1000 1500 4
    check "$compiled" gaussian_vec 999 1501 4
  else
    echo "FAILED: no compiled artifact $compiled"
    status=1
  fi
fi

[ $status = 0 ] && echo "mpi-example: all runs identical to the single-process blocked runs"
exit $status
