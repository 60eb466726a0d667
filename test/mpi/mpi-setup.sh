# Sourced by the MPI test scripts, with $make_artifact and $mpiexec set: skips (exit 77) without
# mpirun or a C compiler, writes the runtime tests' artifact to $tmp/test.kca (removed on exit),
# and sets up OpenMPI for CI (root, containers).
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
