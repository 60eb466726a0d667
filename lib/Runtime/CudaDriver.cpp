//===- CudaDriver.cpp - open libcuda.so.1 at run time ----------------------===//
#include "CudaDriver.h"

#include <cstdlib>
#include <dlfcn.h>
#include <mutex>
#include <type_traits>

namespace kconv::cuda {
namespace {

std::string describe(const Driver &d, CUresult result) {
  const char *name = nullptr, *text = nullptr;
  if (d.cuGetErrorName)
    d.cuGetErrorName(result, &name);
  if (d.cuGetErrorString)
    d.cuGetErrorString(result, &text);
  std::string s = name ? name : "CUDA error " + std::to_string(result);
  if (text)
    s += std::string(" (") + text + ")";
  return s;
}

Driver load() {
  Driver d;
  const char *path = std::getenv("KCONV_LIBCUDA");
  if (!path || !*path)
    path = "libcuda.so.1";
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    d.error = std::string("no CUDA driver: cannot load ") + path + " (" +
              (why ? why : "unknown error") + ")";
    return d;
  }
  bool missing = false;
  // Each entry point by its exported name (cuda.h maps some API names to versioned symbols).
  auto bind = [&](auto &fn, const char *name, const char *fallback = nullptr) {
    void *symbol = dlsym(handle, name);
    if (!symbol && fallback)
      symbol = dlsym(handle, fallback);
    if (!symbol && !missing) {
      missing = true;
      d.error = std::string("the CUDA driver ") + path + " lacks " + name +
                " (driver too old for this runtime?)";
    }
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(symbol);
  };
  bind(d.cuInit, "cuInit");
  bind(d.cuDriverGetVersion, "cuDriverGetVersion");
  bind(d.cuGetErrorName, "cuGetErrorName");
  bind(d.cuGetErrorString, "cuGetErrorString");
  bind(d.cuDeviceGetCount, "cuDeviceGetCount");
  bind(d.cuDeviceGet, "cuDeviceGet");
  bind(d.cuDeviceGetName, "cuDeviceGetName");
  bind(d.cuDeviceGetAttribute, "cuDeviceGetAttribute");
  bind(d.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  bind(d.cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease");
  bind(d.cuCtxGetCurrent, "cuCtxGetCurrent");
  bind(d.cuCtxGetDevice, "cuCtxGetDevice");
  bind(d.cuCtxPushCurrent, "cuCtxPushCurrent_v2");
  bind(d.cuCtxPopCurrent, "cuCtxPopCurrent_v2");
  bind(d.cuCtxSynchronize, "cuCtxSynchronize");
  bind(d.cuModuleLoadDataEx, "cuModuleLoadDataEx");
  bind(d.cuModuleUnload, "cuModuleUnload");
  bind(d.cuModuleGetFunction, "cuModuleGetFunction");
  bind(d.cuFuncGetAttribute, "cuFuncGetAttribute");
  bind(d.cuOccupancyMaxActiveBlocksPerMultiprocessor, "cuOccupancyMaxActiveBlocksPerMultiprocessor");
  bind(d.cuLaunchKernel, "cuLaunchKernel");
  bind(d.cuMemAlloc, "cuMemAlloc_v2");
  bind(d.cuMemFree, "cuMemFree_v2");
  bind(d.cuMemGetInfo, "cuMemGetInfo_v2");
  bind(d.cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2");
  bind(d.cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2");
  bind(d.cuMemAllocAsync, "cuMemAllocAsync");
  bind(d.cuMemFreeAsync, "cuMemFreeAsync");
  bind(d.cuMemcpy2DAsync, "cuMemcpy2DAsync_v2");
  bind(d.cuMemsetD32Async, "cuMemsetD32Async");
  bind(d.cuPointerGetAttributes, "cuPointerGetAttributes");
  bind(d.cuStreamCreate, "cuStreamCreate");
  bind(d.cuStreamDestroy, "cuStreamDestroy_v2");
  bind(d.cuStreamSynchronize, "cuStreamSynchronize");
  bind(d.cuEventCreate, "cuEventCreate");
  bind(d.cuEventDestroy, "cuEventDestroy_v2");
  bind(d.cuEventRecord, "cuEventRecord");
  bind(d.cuEventSynchronize, "cuEventSynchronize");
  bind(d.cuEventElapsedTime, "cuEventElapsedTime_v2", "cuEventElapsedTime");
  if (missing)
    return d; // the handle stays open: harmless, and symbols may be cached by the caller
  CUresult rc = d.cuInit(0);
  if (rc != CUDA_SUCCESS) {
    d.error = "the CUDA driver failed to initialize: cuInit: " + describe(d, rc);
    if (rc == CUDA_ERROR_NO_DEVICE)
      d.error = "no CUDA GPU: cuInit: " + describe(d, rc);
    return d;
  }
  int count = 0;
  rc = d.cuDeviceGetCount(&count);
  if (rc != CUDA_SUCCESS || count <= 0) {
    d.error = "no CUDA GPU" +
              (rc != CUDA_SUCCESS ? ": cuDeviceGetCount: " + describe(d, rc) : std::string());
    return d;
  }
  d.available = true;
  return d;
}

Driver *instance = nullptr;
std::once_flag once;

} // namespace

const Driver &driver() {
  std::call_once(once, [] { instance = new Driver(load()); }); // never freed: used until exit
  return *instance;
}

std::string resultString(CUresult result) {
  static const Driver none;
  return describe(instance ? *instance : none, result);
}

} // namespace kconv::cuda
