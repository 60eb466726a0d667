#!/usr/bin/env bash
# kconv_mpi under mpirun (ctest: mpi-tests):
#   mpi-tests.sh MAKE_TEST_ARTIFACT KCONV_MPI_TESTS MPIEXEC [COMPILED.kca]
# Runs kconv-mpi-tests (test/mpi/MpiTest.cpp) on 4, 3 and 1 ranks, with the compiler's artifact
# too when given. Exit 77 (skipped) without mpirun or a C compiler for the test kernels.
set -uo pipefail
make_artifact=$1 tests=$2 mpiexec=$3 compiled=${4:-}
source "$(dirname "$0")/mpi-setup.sh"
status=0
for np in 4 3 1; do
  echo "\$ mpirun -np $np kconv-mpi-tests test.kca $compiled"
  "$mpiexec" -np $np --oversubscribe --allow-run-as-root --bind-to none "$tests" "$tmp/test.kca" \
    $compiled ||
    status=1
done
exit $status
