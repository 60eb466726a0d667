//===- Backend.h - the seam between the runtime and its backends -*- C++ -*-===//
//
// Runtime.cpp validates a call (names, counts, shapes, pointers) and then hands a Call to the one
// backend chosen by Artifact::Impl::selectBackend (the only place that dispatches on Device).
// A backend never sees an invalid call, nOut = 0 or nReduced = 0 (the runtime handles those).
//
//  - CpuBackend.cpp: the artifact's ELF shared object, loaded from memory, on the thread pool.
//  - GpuBackend.cpp: placeholder returning "no GPU path"; the CUDA backend (lib/Runtime/Cuda*.cpp)
//    replaces it by defining createGpuBackend.
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_LIB_RUNTIME_BACKEND_H
#define KCONV_LIB_RUNTIME_BACKEND_H

#include "kconv/Runtime/Runtime.h"

#include <memory>
#include <string>
#include <vector>

namespace kconv {

/// A validated call of one reduction.
struct Call {
  const ReductionInfo *reduction = nullptr;
  size_t reductionIndex = 0;      // position in ArtifactContents::reductions
  std::vector<const float *> args; // argument order, the caller's arrays (host pointers)
  float *out = nullptr;
  int64_t nI = 0, nJ = 0;
  int64_t nOut = 0, nReduced = 0; // both > 0
  int threads = 1;                // resolved (>= 1)
};

class Backend {
public:
  virtual ~Backend() = default;
  /// Empty if reduction `index` can run on this backend, else why not.
  virtual std::string unavailableReason(size_t index) const = 0;
  virtual void run(const Call &call) = 0;
};

/// Loads the CPU code of `contents` (may have none: every reduction is then unavailable).
/// Throws Error(InvalidArtifact) if the shared object cannot be loaded or lacks a symbol.
std::unique_ptr<Backend> createCpuBackend(const ArtifactContents &contents,
                                          const std::string &sourceName);
/// Null when this build or artifact has no GPU path.
std::unique_ptr<Backend> createGpuBackend(const ArtifactContents &contents,
                                          const std::string &sourceName);

} // namespace kconv

#endif // KCONV_LIB_RUNTIME_BACKEND_H
