//===- Internal.h - kconv_mpi internals shared by its sources ----*- C++ -*-===//
#ifndef KCONV_LIB_MPI_INTERNAL_H
#define KCONV_LIB_MPI_INTERNAL_H

#include "kconv/Mpi/KconvMpi.h"

namespace kconv::mpi {

/// Checks a call of `r` with nOut output rows and nReduced reduced rows as Artifact::run would
/// (input count, stated shapes, null pointers, dimensions, threads, the backend), writing nothing.
/// Throws kconv::Error.
void checkCall(const Artifact &artifact, const ReductionInfo &r, const std::vector<Input> &inputs,
               const float *out, int64_t nOut, int64_t nReduced, const RunOptions &options);

} // namespace kconv::mpi

#endif // KCONV_LIB_MPI_INTERNAL_H
