#!/usr/bin/env bash
# kconv_mpi under mpirun (ctest: mpi-tests):
#   mpi-tests.sh MAKE_TEST_ARTIFACT KCONV_MPI_TESTS MPIEXEC [COMPILED.kca]
# Runs kconv-mpi-tests (test/mpi/MpiTest.cpp) on 4, 3 and 1 ranks, with the compiler's artifact
# too when given. Exit 77 (skipped) without mpirun or a C compiler for the test kernels.
set -uo pipefail
make_artifact=$1 tests=$2 mpiexec=$3 compiled=${4:-}
if ! command -v "$mpiexec" >/dev/null 2>&1; then
  echo "skipped: no mpirun ('$mpiexec' not found)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$make_artifact" "$tmp/test.kca"
rc=$?
if [ $rc = 77 ]; then
  echo "skipped: no C compiler for the test kernels"
  exit 77
elif [ $rc != 0 ]; then
  echo "FAILED: kconv-make-test-artifact (exit $rc)"
  exit 1
fi
# CI runs as root; OpenMPI refuses that without both the flag and the variables.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Containers often forbid the cross-process reads (CMA, process_vm_readv) of OpenMPI's shared-memory
# transport ("Read -1, expected ..., errno = 1"): copy through shared memory instead (small data).
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
status=0
for np in 4 3 1; do
  echo "\$ mpirun -np $np kconv-mpi-tests test.kca $compiled"
  "$mpiexec" -np $np --oversubscribe --allow-run-as-root --bind-to none "$tests" "$tmp/test.kca" \
    $compiled ||
    status=1
done
exit $status
