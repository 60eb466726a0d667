//===- GpuBackend.cpp - placeholder until the CUDA backend lands ----------===//
//
// This build has no GPU backend: Device::Gpu is refused with "this build/artifact has no GPU
// path". The CUDA backend replaces this file (lib/Runtime/Cuda*.cpp defining createGpuBackend).
//
//===----------------------------------------------------------------------===//
#include "Backend.h"

namespace kconv {

std::unique_ptr<Backend> createGpuBackend(const ArtifactContents &, const std::string &) {
  return nullptr;
}

} // namespace kconv
