//===- Backend.h - the seam between the runtime and its backends -*- C++ -*-===//
//
// Runtime.cpp validates a call (names, counts, shapes, pointers) and then hands a Call to the one
// backend chosen by Artifact::Impl::selectBackend (the only place that dispatches on Device).
// A backend never sees an invalid call, nOut = 0 or an empty batch. It passes nReduced = 0 to the kernels like
// any other size: they write the kind's empty result (docs/reductions.md).
//
//  - CpuBackend.cpp: the artifact's ELF shared object, loaded from memory, on the thread pool.
//  - GpuBackend.cpp: the artifact's PTX/cubin through the CUDA driver API (CudaDriver.h, dlopen),
//    null when the artifact has no GPU code.
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_LIB_RUNTIME_BACKEND_H
#define KCONV_LIB_RUNTIME_BACKEND_H

#include "kconv/ABI/BatchLayout.h"
#include "kconv/Runtime/Runtime.h"

#include <memory>
#include <string>
#include <vector>

namespace kconv {

/// A validated call of one reduction.
struct Call {
  bool deviceMemory = false;      // the arrays are CUDA device memory (RunOptions::memory)
  void *stream = nullptr;         // RunOptions::stream
  const ReductionInfo *reduction = nullptr;
  size_t reductionIndex = 0;      // position in ArtifactContents::reductions
  std::vector<const float *> args; // argument order, the caller's arrays (host pointers)
  float *values = nullptr;         // [nOut x valueDim]; null when the kind has no values
  int64_t *indices = nullptr;      // [nOut x indexDim]; null when the kind has no indices
  int64_t nI = 0, nJ = 0;
  int64_t nOut = 0, nReduced = 0; // nOut > 0, nReduced >= 0
  /// The batch (BatchLayout.h): args[k] is entry 0 of variable k; the call computes entries
  /// [batchBegin, batchEnd) of batch.count(), values and indices pointing at batchBegin's outputs.
  abi::BatchLayout batch;
  int64_t batchBegin = 0, batchEnd = 1; // batchEnd > batchBegin
  int threads = 1;                // resolved (>= 1)
  std::vector<int> devices;       // RunOptions::devices (GPU ordinals, -1: all visible)
};

/// One member's share of a fused call's outputs (Artifact::runMany): columns
/// [valueOffset, valueOffset + valueDim) of each fused values row go to `values` [rows x valueDim],
/// indices likewise. The pointers are the caller's (null where the kind lacks the output).
struct OutputSegment {
  float *values = nullptr;
  int64_t *indices = nullptr;
  int64_t valueOffset = 0, valueDim = 0;
  int64_t indexOffset = 0, indexDim = 0;
};

class Backend {
public:
  virtual ~Backend() = default;
  /// Empty if reduction `index` can run on this backend, else why not.
  virtual std::string unavailableReason(size_t index) const = 0;
  /// The error code for that reason: Unsupported (no code for it), DeviceError (no driver/GPU).
  virtual ErrorCode unavailableCode(size_t) const { return ErrorCode::Unsupported; }
  virtual void run(const Call &call) = 0;
  /// Runs a fused reduction's call (its values and indices null) and writes each segment's
  /// columns to its arrays. This default runs into host scratch arrays and copies the columns on
  /// the host (host memory); the GPU backend copies device memory on the call's stream.
  virtual void runFused(const Call &call, const std::vector<OutputSegment> &segments);
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
