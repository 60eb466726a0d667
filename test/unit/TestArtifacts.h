//===- TestArtifacts.h - artifacts for runtime tests, made without the compiler -===//
//
// A small C file implementing the CPU kernel ABI (docs/architecture.md) for a few reductions,
// compiled with the system C compiler at test time and wrapped into an artifact with
// kconv::serializeArtifact, with metadata and serialized formulas that match the C code, and the
// ABI descriptor string of each kernel (kconv_cpu_NAME_abi, kconv/ABI/KernelABI.h). The
// kernels also check the runtime's side of the ABI (reduced stride, zero padding) and write NaN
// when it is broken.
//
// Reductions:
//   gaussian_conv  X i 3, Y j 3, B j 1 -> i 1: sum_j exp(-|x_i - y_j|^2) b_j          (lanes 16)
//   gaussian_vec   X i 3, Y j 3, V j 3 -> i 3: sum_j exp(-|x_i - y_j|^2) v_j          (lanes 8)
//   transposed     X i 3, A i 1, Y j 3, S p 1 -> j 1 (axis 0):
//                  sum_i exp(-s |x_i - y_j|^2) a_i                                   (lanes 4)
//   no_cpu         like gaussian_conv, without CPU code (no attr cpu.symbol)
// The index-kind artifact (the same C code): kinds with indices (docs/reductions.md; ties to
// the smallest index, NaN skipped, +inf / -1 where nothing was found):
//   nearest        X i 3, Y j 3 -> i 3 + 3 indices: min_argmin_j (x_i - y_j) per component (lanes 4)
//   argmin_t       X i 1, Y j 1 -> j 1 index (axis 0): argmin_i (x_i - y_j)^2         (lanes 8)
//   knn            X i 2, Y j 2 -> i 6 + 6 indices: kmin_argkmin, K = 3, of |x_i - y_j| per
//                  component, [K][F] rows                                             (lanes 4)
//   argknn         X i 1, Y j 1 -> i 2 indices: argkmin, K = 2, of (x_i - y_j)^2      (lanes 4)
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_TEST_UNIT_TESTARTIFACTS_H
#define KCONV_TEST_UNIT_TESTARTIFACTS_H

#include "kconv/Runtime/Artifact.h"

#include <string>

namespace kconv::test {

/// The C source of the test kernels.
const std::string &testKernelSource();

/// The artifact's contents without CPU code (metadata and formulas only).
ArtifactContents testArtifactContents();

/// Compiles C source into a shared object with $CC or cc (-O2 -shared -fPIC). Returns the ELF
/// bytes, or an empty string with `why` set when no C compiler works here.
std::string compileSharedObject(const std::string &source, std::string &why);

/// The whole test artifact (serialized), with CPU code; empty with `why` set if it can't be made.
/// Compiled once per process.
const std::string &testArtifactBytes(std::string &why);

/// The index-kind reductions' artifact (nearest, argmin_t, knn, argknn), without / with CPU code.
ArtifactContents testIndexArtifactContents();
const std::string &testIndexArtifactBytes(std::string &why);

/// A fresh temporary directory (removed by the caller if it cares).
std::string makeTempDir();

} // namespace kconv::test

#endif // KCONV_TEST_UNIT_TESTARTIFACTS_H
