//===- GpuBackend.cpp - run an artifact's GPU kernels (CUDA driver API) ----===//
//
// Implements the GPU kernel ABI of docs/architecture.md through the CUDA driver API opened with
// dlopen (CudaDriver.h): no link-time CUDA dependency, a clear error where no driver or GPU is.
//
//  - Per device (the device of the call's pointers, else the current context's, else
//    $KCONV_GPU_DEVICE or 0): its primary context, retained once; the artifact's module loaded
//    once per process (the cubin when it was built for this device's architecture, else the PTX,
//    JIT-compiled by the driver), its kernels' handles and occupancies read once.
//  - A call picks a kernel variant (R rows per thread, or one row per thread for small problems)
//    and a split of the reduced range over blockIdx.y (plain kernel when not split; split-j
//    kernel adding into a zeroed output otherwise) from nOut, nReduced and the SM count. Only
//    kinds whose partial results merge by atomic adds (sum) have split-j kernels; the others
//    never split the reduced range.
//  - Device memory (RunOptions::memory = CudaDevice): every pointer is checked with one
//    cuPointerGetAttributes, then memset (split-j only) and launch are queued on the caller's
//    stream; nothing is allocated, nothing waits.
//  - Host memory: inputs are copied to device buffers kept per device and reused across calls
//    (grown when too small), the result is copied back, the stream synchronized.
//
//===----------------------------------------------------------------------===//
#include "Backend.h"
#include "CudaDriver.h"
#include "kconv/ABI/KernelABI.h"
#include "kconv/Runtime/Checked.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <limits>
#include <mutex>
#include <thread>

namespace kconv {
namespace {

using namespace cuda;

[[noreturn]] void deviceError(const std::string &what) { throw Error(ErrorCode::DeviceError, what); }

void check(CUresult rc, const char *what, const std::string &context = "") {
  if (rc != CUDA_SUCCESS)
    deviceError(std::string("GPU: ") + what + (context.empty() ? "" : " (" + context + ")") +
                ": " + resultString(rc));
}

std::string mib(size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f MiB", double(bytes) / (1024.0 * 1024.0));
  return text;
}

/// Kernel names and launch parameters of one reduction, from its `gpu.*` metadata attributes.
struct KernelSpec {
  std::string plain, splitj, plainR1, splitjR1, small;
  int block = 256, rows = 1, tile = 256, smallRows = 0;
  std::string arch;
  // Split-j kernels are optional: only sum reductions have them (docs/reductions.md).
  bool valid() const { return !plain.empty(); }
};

struct Kernel {
  CUfunction function = nullptr;
  int rows = 1;        // output rows per thread
  int rowsPerBlock = 0;
  int blocksPerSM = 1; // occupancy
  bool splitj = false;
  const std::string *name = nullptr;
};

/// The kernel families of a reduction: [0] R rows per thread, [1] one row (may be absent), [2]
/// the small kernel (the reduced range split among a block's threads; no split-j form).
struct Variant {
  Kernel plain, splitj; // splitj.function null: no split-j form (kinds other than sum)
  bool present = false;
  bool small = false;
  bool hasSplitj() const { return splitj.function != nullptr; }
};

struct DeviceState {
  int ordinal = 0;
  CUdevice device = 0;
  CUcontext context = nullptr;
  int sms = 1, ccMajor = 0, ccMinor = 0;
  std::string name;

  std::once_flag loadOnce;
  std::string loadError; // non-empty: the module could not be loaded (reported on every call)
  CUmodule module = nullptr;
  std::string loadedFrom;
  std::vector<std::array<Variant, 3>> variants; // per reduction

  // The host-memory path: one call at a time per device (its buffers are shared).
  std::mutex hostMutex;
  CUstream stream = nullptr;
  std::vector<std::pair<CUdeviceptr, size_t>> buffers; // per argument, then values, indices
};

/// Makes `context` current on this thread for the scope, restoring the caller's afterwards.
class ScopedContext {
public:
  explicit ScopedContext(CUcontext context) {
    const Driver &d = driver();
    CUcontext current = nullptr;
    d.cuCtxGetCurrent(&current);
    if (current != context) {
      check(d.cuCtxPushCurrent(context), "cuCtxPushCurrent");
      pushed = true;
    }
  }
  ~ScopedContext() {
    if (pushed) {
      CUcontext popped = nullptr;
      driver().cuCtxPopCurrent(&popped);
    }
  }
  ScopedContext(const ScopedContext &) = delete;
  ScopedContext &operator=(const ScopedContext &) = delete;

private:
  bool pushed = false;
};

struct Plan {
  const Kernel *kernel = nullptr;
  unsigned gridX = 1, gridY = 1;
  int64_t chunk = 0; // reduced rows per blockIdx.y
};

class GpuBackend final : public Backend {
public:
  GpuBackend(const ArtifactContents &contents, std::string sourceName)
      : contents(contents), sourceName(std::move(sourceName)) {
    for (const ReductionInfo &r : contents.reductions) {
      KernelSpec spec;
      auto get = [&](const char *key) {
        auto it = r.attributes.find(key);
        return it == r.attributes.end() ? std::string() : it->second;
      };
      auto getInt = [&](const char *key, int fallback) {
        std::string text = get(key);
        return text.empty() ? fallback : std::atoi(text.c_str());
      };
      // validateArtifact has bounded every value and checked the names against the ABI.
      spec.plain = get(abi::key::kGpuKernel);
      spec.splitj = get(abi::key::kGpuKernelSplitj);
      spec.plainR1 = get(abi::key::kGpuKernelR1);
      spec.splitjR1 = get(abi::key::kGpuKernelR1Splitj);
      spec.small = get(abi::key::kGpuKernelSmall);
      spec.smallRows = getInt(abi::key::kGpuSmallRows, 0);
      spec.block = getInt(abi::key::kGpuBlock, 256);
      spec.rows = getInt(abi::key::kGpuRowsPerThread, 1);
      spec.tile = getInt(abi::key::kGpuTile, spec.block);
      spec.arch = get(abi::key::kGpuArch);
      specs.push_back(std::move(spec));
    }
    if (const char *plan = std::getenv("KCONV_GPU_PLAN"))
      forcedPlan = plan;
    if (const char *verbose = std::getenv("KCONV_GPU_VERBOSE"))
      this->verbose = *verbose && *verbose != '0';
  }

  ~GpuBackend() override {
    if (!initialized)
      return;
    const Driver &d = driver();
    for (auto &state : devices) {
      if (!state || !state->context)
        continue;
      CUcontext current = nullptr;
      if (d.cuCtxPushCurrent(state->context) != CUDA_SUCCESS)
        continue; // the driver is shutting down: nothing to release
      for (auto &[pointer, bytes] : state->buffers)
        if (pointer)
          d.cuMemFree(pointer);
      if (state->stream)
        d.cuStreamDestroy(state->stream);
      if (state->module)
        d.cuModuleUnload(state->module);
      d.cuCtxPopCurrent(&current);
      d.cuDevicePrimaryCtxRelease(state->device);
    }
  }

  std::string unavailableReason(size_t index) const override {
    if (!specs[index].valid())
      return "the artifact has no GPU kernel for it (no gpu.kernel metadata)";
    const Driver &d = driver();
    if (!d.available)
      return d.error;
    return "";
  }

  ErrorCode unavailableCode(size_t index) const override {
    return specs[index].valid() ? ErrorCode::DeviceError : ErrorCode::Unsupported;
  }

  void run(const Call &call) override;
  void runFused(const Call &call, const std::vector<OutputSegment> &segments) override;

private:
  void initDevices();
  DeviceState &deviceFor(const Call &call, int forcedOrdinal = -1);
  std::vector<int> requestedDevices(const Call &call);
  void runHost(DeviceState &state, const Call &call);
  void runMulti(const Call &call, const std::vector<int> &ordinals);
  void load(DeviceState &state);
  Plan plan(const DeviceState &state, size_t index, int64_t nOut, int64_t nReduced,
            int64_t problems) const;
  /// Launches `plan` for the call's entries: args are entry 0's device arrays, values and
  /// indices batchBegin's outputs.
  void launch(const DeviceState &state, const Call &call, const Plan &plan,
              const std::vector<CUdeviceptr> &args, CUdeviceptr values, CUdeviceptr indices,
              CUstream stream) const;
  CUdeviceptr buffer(DeviceState &state, size_t slot, size_t bytes, const std::string &what);

  const ArtifactContents &contents;
  std::string sourceName;
  std::vector<KernelSpec> specs;
  std::string forcedPlan;
  bool verbose = false; // $KCONV_GPU_VERBOSE: print every launch's plan to stderr

  std::once_flag initOnce;
  bool initialized = false;
  std::vector<std::unique_ptr<DeviceState>> devices; // by ordinal; contexts retained lazily
  std::mutex devicesMutex;
};

void GpuBackend::initDevices() {
  std::call_once(initOnce, [&] {
    const Driver &d = driver();
    if (!d.available)
      return;
    int count = 0;
    d.cuDeviceGetCount(&count);
    devices.resize(size_t(std::max(count, 0)));
    initialized = true;
  });
  if (!initialized)
    deviceError(sourceName + ": " + driver().error);
}

DeviceState &GpuBackend::deviceFor(const Call &call, int forcedOrdinal) {
  initDevices();
  const Driver &d = driver();
  int ordinal = forcedOrdinal;
  if (call.deviceMemory) {
    // Every array must be device (or unified) memory of one device.
    const ReductionInfo &r = *call.reduction;
    const size_t numArgs = call.args.size();
    auto describe = [&](size_t k) {
      if (k >= numArgs)
        return std::string(k == numArgs ? "values" : "indices");
      return "input " + std::to_string(k) + " (" + r.variables[k].name + ")";
    };
    for (size_t k = 0; k < numArgs + 2; ++k) {
      const void *pointer = k < numArgs    ? static_cast<const void *>(call.args[k])
                            : k == numArgs ? static_cast<const void *>(call.values)
                                           : static_cast<const void *>(call.indices);
      if (!pointer)
        continue; // an empty array (0 rows) or an output the kind lacks
      unsigned memoryType = 0;
      int deviceOrdinal = -1;
      int attributes[2] = {CU_POINTER_ATTRIBUTE_MEMORY_TYPE, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL};
      void *data[2] = {&memoryType, &deviceOrdinal};
      CUresult rc = d.cuPointerGetAttributes(2, attributes, data,
                                             reinterpret_cast<CUdeviceptr>(pointer));
      if (rc != CUDA_SUCCESS || (memoryType != CU_MEMORYTYPE_DEVICE &&
                                 memoryType != CU_MEMORYTYPE_UNIFIED)) {
        throw Error(ErrorCode::InvalidArgument,
                    "reduction '" + r.name + "': " + describe(k) +
                        " is not CUDA device memory" +
                        (memoryType == CU_MEMORYTYPE_HOST ? " (it is page-locked host memory)"
                                                          : " (a host pointer?)") +
                        ", but the call says memory = device");
      }
      if (ordinal < 0)
        ordinal = deviceOrdinal;
      else if (deviceOrdinal != ordinal)
        throw Error(ErrorCode::InvalidArgument,
                    "reduction '" + r.name + "': " + describe(k) + " is on GPU " +
                        std::to_string(deviceOrdinal) + " but other arrays are on GPU " +
                        std::to_string(ordinal));
    }
  }
  if (ordinal < 0 && forcedOrdinal < 0) {
    CUcontext current = nullptr;
    CUdevice device = 0;
    if (d.cuCtxGetCurrent(&current) == CUDA_SUCCESS && current &&
        d.cuCtxGetDevice(&device) == CUDA_SUCCESS)
      ordinal = device;
    else if (const char *env = std::getenv("KCONV_GPU_DEVICE"))
      ordinal = std::atoi(env);
    else
      ordinal = 0;
  }
  if (forcedOrdinal >= 0 && ordinal != forcedOrdinal)
    ordinal = forcedOrdinal;
  if (ordinal < 0 || size_t(ordinal) >= devices.size())
    deviceError(sourceName + ": GPU " + std::to_string(ordinal) + " does not exist (" +
                std::to_string(devices.size()) + " GPU(s))");
  DeviceState *state;
  {
    std::lock_guard<std::mutex> lock(devicesMutex);
    std::unique_ptr<DeviceState> &slot = devices[size_t(ordinal)];
    if (!slot) {
      auto fresh = std::make_unique<DeviceState>();
      fresh->ordinal = ordinal;
      check(d.cuDeviceGet(&fresh->device, ordinal), "cuDeviceGet");
      check(d.cuDevicePrimaryCtxRetain(&fresh->context, fresh->device),
            "cuDevicePrimaryCtxRetain");
      d.cuDeviceGetAttribute(&fresh->sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, fresh->device);
      d.cuDeviceGetAttribute(&fresh->ccMajor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                             fresh->device);
      d.cuDeviceGetAttribute(&fresh->ccMinor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                             fresh->device);
      char name[256] = {0};
      d.cuDeviceGetName(name, sizeof(name) - 1, fresh->device);
      fresh->name = name;
      slot = std::move(fresh);
    }
    state = slot.get();
  }
  std::call_once(state->loadOnce, [&] { load(*state); });
  if (!state->loadError.empty())
    deviceError(sourceName + ": " + state->loadError);
  return *state;
}

void GpuBackend::load(DeviceState &state) {
  const Driver &d = driver();
  try {
    ScopedContext scope(state.context);
    std::string arch;
    for (const KernelSpec &spec : specs)
      if (!spec.arch.empty())
        arch = spec.arch;
    // A cubin for sm_XY runs on compute capability X.Y' with Y' >= Y.
    int archMajor = 0, archMinor = 0;
    bool cubinFits = false;
    if (!contents.cubin.empty() && arch.size() >= 5 && arch.rfind("sm_", 0) == 0) {
      int number = std::atoi(arch.c_str() + 3);
      archMajor = number / 10;
      archMinor = number % 10;
      cubinFits = archMajor == state.ccMajor && archMinor <= state.ccMinor;
    }
    std::string cubinError;
    if (cubinFits) {
      CUresult rc = d.cuModuleLoadDataEx(&state.module, contents.cubin.data(), 0, nullptr, nullptr);
      if (rc == CUDA_SUCCESS)
        state.loadedFrom = "cubin " + arch;
      else
        cubinError = "the cubin (" + arch + ") did not load: " + resultString(rc) + "; ";
    }
    if (!state.module) {
      if (contents.ptx.empty())
        throw Error(ErrorCode::DeviceError,
                    cubinError + "the artifact has no PTX" +
                        (contents.cubin.empty() ? "" : " and its cubin is for " + arch) +
                        ", GPU " + std::to_string(state.ordinal) + " (" + state.name +
                        ") is sm_" + std::to_string(state.ccMajor) + std::to_string(state.ccMinor));
      std::vector<char> log(8192, '\0');
      int options[2] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
      void *values[2] = {log.data(), reinterpret_cast<void *>(uintptr_t(log.size() - 1))};
      CUresult rc = d.cuModuleLoadDataEx(&state.module, contents.ptx.c_str(), 2, options, values);
      if (rc != CUDA_SUCCESS)
        throw Error(ErrorCode::DeviceError,
                    cubinError + "the driver could not compile the PTX for GPU " +
                        std::to_string(state.ordinal) + " (" + state.name + ", sm_" +
                        std::to_string(state.ccMajor) + std::to_string(state.ccMinor) +
                        "): " + resultString(rc) + (log[0] ? std::string(": ") + log.data() : ""));
      state.loadedFrom = "PTX (JIT for sm_" + std::to_string(state.ccMajor) +
                         std::to_string(state.ccMinor) + ")";
    }
    check(d.cuStreamCreate(&state.stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
    state.variants.resize(specs.size());
    for (size_t k = 0; k < specs.size(); ++k) {
      const KernelSpec &spec = specs[k];
      if (!spec.valid())
        continue;
      auto get = [&](const std::string &name, int rows, bool splitj, Kernel &kernel) {
        check(d.cuModuleGetFunction(&kernel.function, state.module, name.c_str()),
              "cuModuleGetFunction", "kernel " + name + " of the artifact");
        kernel.rows = rows;
        kernel.rowsPerBlock = spec.block * rows;
        kernel.splitj = splitj;
        kernel.name = &name;
        if (d.cuOccupancyMaxActiveBlocksPerMultiprocessor(&kernel.blocksPerSM, kernel.function,
                                                          spec.block, 0) != CUDA_SUCCESS ||
            kernel.blocksPerSM < 1)
          kernel.blocksPerSM = 1;
      };
      std::array<Variant, 3> &v = state.variants[k];
      get(spec.plain, spec.rows, false, v[0].plain);
      if (!spec.splitj.empty())
        get(spec.splitj, spec.rows, true, v[0].splitj);
      v[0].present = true;
      if (!spec.plainR1.empty()) {
        get(spec.plainR1, 1, false, v[1].plain);
        if (!spec.splitjR1.empty())
          get(spec.splitjR1, 1, true, v[1].splitj);
        v[1].present = true;
      }
      if (!spec.small.empty() && spec.smallRows > 0 && spec.block % spec.smallRows == 0) {
        get(spec.small, 1, false, v[2].plain);
        v[2].plain.rowsPerBlock = spec.smallRows;
        v[2].present = v[2].small = true;
      }
    }
  } catch (const Error &e) {
    state.loadError = e.what();
  }
}

/// Chooses the variant and the split of the reduced range. Model: blocks are spread evenly over
/// the SMs, an SM's time is the pairs of the blocks it gets (ceil(blocks / SMs) of them) at a
/// rate that drops when it holds too few warps; a split costs a memset and atomics.
Plan GpuBackend::plan(const DeviceState &state, size_t index, int64_t nOut, int64_t nReduced,
                      int64_t problems) const {
  const KernelSpec &spec = specs[index];
  const std::array<Variant, 3> &variants = state.variants[index];
  const int64_t tile = spec.tile, block = spec.block;
  const int64_t tiles = (nReduced + tile - 1) / tile; // 0 for nReduced = 0: one empty chunk
  Plan best;
  double bestCost = std::numeric_limits<double>::infinity();
  auto consider = [&](const Variant &v, int64_t chunks) {
    int64_t rowsPerBlock = v.plain.rowsPerBlock;
    int64_t gridX = (nOut + rowsPerBlock - 1) / rowsPerBlock;
    int64_t chunkTiles = (tiles + chunks - 1) / chunks;
    int64_t realChunks = chunkTiles == 0 ? 1 : (tiles + chunkTiles - 1) / chunkTiles;
    if (realChunks > 1 && !v.hasSplitj())
      return; // no split-j form (the small kernel splits the reduced range inside its block)
    if (gridX > std::numeric_limits<int32_t>::max() || realChunks > 65535)
      return;
    const Kernel &k = realChunks > 1 ? v.splitj : v.plain;
    double blocks = double(gridX) * double(realChunks) * double(problems);
    double perSM = std::ceil(blocks / state.sms);
    double warps = std::min<double>(perSM, k.blocksPerSM) * double(block) / 32.0;
    // Too few blocks to fill the SMs: H200, the Gaussian at N = 10^4, 24 warps per SM ran at
    // ~0.8 of the rate of 40. A kernel whose registers allow fewer warps is compared with its
    // own full occupancy (k-NN's 2-row kernel, 24 warps: 319.6 ms at 10^6, the one-row 344).
    double fullWarps = double(k.blocksPerSM) * double(block) / 32.0;
    double efficiency = std::min(1.0, warps / std::min(32.0, fullWarps));
    // Instructions per pair: ~8 + 1.5/R (the shared-memory load is shared by R rows).
    double perPair = 8.0 + 1.5 / double(k.rows);
    double tileWork = double(rowsPerBlock) * double(tile) * perPair;
    // Per tile and block, its load (a global read, two barriers): ~16k instruction slots, fitted
    // on the H200 (the small kernel's 32 rows x 8192 pairs per tile pay it 8 times as often per
    // pair as the one-row kernel's 256). A block also loads its rows and writes (or adds) its
    // outputs: about a quarter tile's work.
    double cost = perSM * (double(chunkTiles) * (tileWork + 16e3) + 0.25 * tileWork) / efficiency;
    // The small kernel's final sum over its slices: a barrier and a few loads per row.
    if (v.small)
      cost += perSM * double(block) * 16.0;
    // A split adds a memset launch and atomics: about 3 µs of an SM's time at ~16 pairs/clock.
    if (realChunks > 1)
      cost += 3e-6 * 1.5e9 * 16.0 * 8.5;
    if (cost < bestCost) {
      bestCost = cost;
      best.kernel = &k;
      best.gridX = unsigned(gridX);
      best.gridY = unsigned(realChunks);
      best.chunk = realChunks > 1 ? abi::gpuJChunk(tiles, chunks, tile) : nReduced;
    }
  };
  // KCONV_GPU_PLAN=VARIANT:CHUNKS (VARIANT 0: R rows per thread, 1: one row, 2: the small
  // kernel, no chunks) forces a plan.
  if (!forcedPlan.empty()) {
    int v = std::atoi(forcedPlan.c_str());
    size_t colon = forcedPlan.find(':');
    int64_t chunks = colon == std::string::npos ? 1 : std::atoll(forcedPlan.c_str() + colon + 1);
    if (v >= 0 && v < 3 && variants[size_t(v)].present && chunks >= 1) {
      consider(variants[size_t(v)], std::max<int64_t>(1, std::min<int64_t>(chunks, tiles)));
      if (best.kernel)
        return best;
    }
  }
  for (const Variant &v : variants) {
    if (!v.present)
      continue;
    if (!v.hasSplitj()) {
      consider(v, 1);
      continue;
    }
    int64_t rowsPerBlock = v.plain.rowsPerBlock;
    int64_t gridX = (nOut + rowsPerBlock - 1) / rowsPerBlock;
    int64_t slots = int64_t(state.sms) * v.plain.blocksPerSM;
    // Splits beyond ~4 waves of blocks (of all the batch's problems) gain nothing.
    const int64_t blocks = gridX * problems;
    int64_t maxChunks = std::max<int64_t>(
        1, std::min<int64_t>(tiles, std::max<int64_t>(1, (4 * slots + blocks - 1) / blocks)));
    for (int64_t c = 1; c <= maxChunks; ++c)
      consider(v, c);
  }
  if (!best.kernel)
    throw Error(ErrorCode::Internal, "GPU: no launch plan for nOut = " + std::to_string(nOut) +
                                         ", nReduced = " + std::to_string(nReduced));
  return best;
}

void GpuBackend::launch(const DeviceState &state, const Call &call, const Plan &p,
                        const std::vector<CUdeviceptr> &args, CUdeviceptr values,
                        CUdeviceptr indices, CUstream stream) const {
  const Driver &d = driver();
  const size_t index = call.reductionIndex;
  const ReductionInfo &r = contents.reductions[index];
  const int64_t nOut = call.nOut, problems = call.batchEnd - call.batchBegin;
  // Split-j kernels (sum only) add their partial sums into zeroed values.
  if (p.kernel->splitj)
    check(d.cuMemsetD32Async(values, 0, size_t(problems * nOut * r.valueDim), stream),
          "cuMemsetD32Async", "zeroing values for the split-j kernel");
  // The ABI (KernelABI.h): one device pointer per variable, values, indices, nOut, nReduced,
  // jChunk, batchBase (int32), the batch sizes (int32) and strides (int64). A kernel decodes
  // the last kGpuBatchRank batch dimensions; the leading ones, and entries beyond blockIdx.z's
  // limit, are launches of their own.
  abi::BatchLayout outer, split; // outer: no dimensions unless the rank is above the kernels'
  const bool hasOuter = call.batch.shape.size() > abi::kGpuBatchRank;
  if (hasOuter)
    split = call.batch.splitOuter(outer);
  const abi::BatchLayout &inner = hasOuter ? split : call.batch;
  const int64_t innerCount = inner.count();
  const size_t numVars = args.size();
  // Reused across calls: a launch allocates nothing once they have grown.
  thread_local std::vector<int64_t> strides;
  thread_local std::vector<CUdeviceptr> bases;
  thread_local std::vector<void *> slots;
  int32_t sizes[abi::kGpuBatchRank];
  inner.gpuParams(numVars, sizes, strides);
  bases.assign(args.begin(), args.end());
  CUdeviceptr entryValues = 0, entryIndices = 0;
  int32_t n32 = int32_t(nOut), m32 = int32_t(call.nReduced), chunk32 = int32_t(p.chunk);
  int32_t batchBase = 0;
  slots.assign(abi::gpuKernelParamCount(numVars), nullptr);
  for (size_t k = 0; k < numVars; ++k)
    slots[k] = &bases[k];
  void *trailing[abi::kGpuTrailingParams] = {&entryValues, &entryIndices, &n32, &m32, &chunk32,
                                             &batchBase};
  std::copy(trailing, trailing + abi::kGpuTrailingParams, slots.begin() + long(numVars));
  for (size_t d = 0; d < abi::kGpuBatchRank; ++d)
    slots[numVars + abi::kGpuTrailingParams + d] = &sizes[d];
  for (size_t k = 0; k < strides.size(); ++k)
    slots[numVars + abi::kGpuTrailingParams + abi::kGpuBatchRank + k] = &strides[k];
  for (int64_t e = call.batchBegin; e < call.batchEnd;) {
    const int64_t o = e / innerCount, z = e % innerCount;
    const int64_t count =
        std::min({innerCount - z, call.batchEnd - e, abi::kGpuMaxBatchPerLaunch});
    for (size_t k = 0; k < numVars; ++k)
      bases[k] = args[k] ? args[k] + CUdeviceptr(outer.offset(k, o)) * sizeof(float) : 0;
    const CUdeviceptr done = CUdeviceptr(e - call.batchBegin) * CUdeviceptr(nOut);
    entryValues = values ? values + done * CUdeviceptr(r.valueDim) * sizeof(float) : 0;
    entryIndices = indices ? indices + done * CUdeviceptr(r.indexDim) * sizeof(int64_t) : 0;
    batchBase = int32_t(z);
    if (verbose)
      std::fprintf(stderr,
                   "kconv gpu: %s on GPU %d (%s, %d SMs, %s): grid %ux%ux%lld, block %d, %d "
                   "row(s) per thread, chunk %lld, nOut %lld, nReduced %lld, batch entries "
                   "%lld..%lld of %lld, %d block(s)/SM\n",
                   p.kernel->name->c_str(), state.ordinal, state.name.c_str(), state.sms,
                   state.loadedFrom.c_str(), p.gridX, p.gridY, (long long)count,
                   specs[index].block, p.kernel->rows, (long long)p.chunk, (long long)nOut,
                   (long long)call.nReduced, (long long)e, (long long)(e + count - 1),
                   (long long)call.batch.count(), p.kernel->blocksPerSM);
    check(d.cuLaunchKernel(p.kernel->function, p.gridX, p.gridY, unsigned(count),
                           unsigned(specs[index].block), 1, 1, 0, stream, slots.data(), nullptr),
          "cuLaunchKernel", *p.kernel->name + ", grid " + std::to_string(p.gridX) + "x" +
                                std::to_string(p.gridY) + "x" + std::to_string(count));
    e += count;
  }
}

CUdeviceptr GpuBackend::buffer(DeviceState &state, size_t slot, size_t bytes,
                               const std::string &what) {
  const Driver &d = driver();
  if (state.buffers.size() <= slot)
    state.buffers.resize(slot + 1, {0, 0});
  auto &[pointer, size] = state.buffers[slot];
  if (size >= bytes && pointer)
    return pointer;
  if (pointer) {
    d.cuMemFree(pointer);
    pointer = 0;
    size = 0;
  }
  size_t want = std::max<size_t>(bytes + bytes / 4, 256); // room to grow
  CUresult rc = d.cuMemAlloc(&pointer, want);
  if (rc == CUDA_ERROR_OUT_OF_MEMORY && want > bytes)
    rc = d.cuMemAlloc(&pointer, want = bytes);
  if (rc != CUDA_SUCCESS) {
    pointer = 0;
    size_t freeBytes = 0, totalBytes = 0;
    d.cuMemGetInfo(&freeBytes, &totalBytes);
    deviceError(sourceName + ": GPU " + std::to_string(state.ordinal) + ": " +
                (rc == CUDA_ERROR_OUT_OF_MEMORY ? "out of device memory" : "cuMemAlloc failed") +
                " allocating " + mib(bytes) + " for " + what + " (" + mib(freeBytes) +
                " free of " + mib(totalBytes) + "): " + resultString(rc));
  }
  size = want;
  return pointer;
}

/// The devices of a call: RunOptions::devices, else $KCONV_GPU_DEVICES ("0,1" or "all"), else
/// empty (the single-device rule of deviceFor). -1 stands for every visible GPU.
std::vector<int> GpuBackend::requestedDevices(const Call &call) {
  std::vector<int> list = call.devices;
  if (list.empty()) {
    if (const char *env = std::getenv("KCONV_GPU_DEVICES"); env && *env) {
      std::string text = env;
      if (text == "all")
        list.push_back(-1);
      else
        for (size_t pos = 0; pos <= text.size();) {
          size_t comma = text.find(',', pos);
          if (comma == std::string::npos)
            comma = text.size();
          std::string item = text.substr(pos, comma - pos);
          char *end = nullptr;
          long value = std::strtol(item.c_str(), &end, 10);
          if (item.empty() || *end)
            throw Error(ErrorCode::InvalidArgument,
                        "KCONV_GPU_DEVICES='" + text + "': expected 'all' or ordinals like 0,1");
          list.push_back(int(value));
          pos = comma + 1;
        }
    }
  }
  if (list.empty())
    return list;
  initDevices();
  std::vector<int> ordinals;
  for (int ordinal : list) {
    if (ordinal == -1) {
      for (size_t k = 0; k < devices.size(); ++k)
        ordinals.push_back(int(k));
      continue;
    }
    if (ordinal < 0 || size_t(ordinal) >= devices.size())
      throw Error(ErrorCode::InvalidArgument,
                  sourceName + ": GPU " + std::to_string(ordinal) + " does not exist (" +
                      std::to_string(devices.size()) + " GPU(s) visible)");
    ordinals.push_back(ordinal);
  }
  std::sort(ordinals.begin(), ordinals.end());
  ordinals.erase(std::unique(ordinals.begin(), ordinals.end()), ordinals.end());
  if (ordinals.empty())
    deviceError(sourceName + ": no GPU visible");
  return ordinals;
}

void GpuBackend::run(const Call &call) {
  const ReductionInfo &r = *call.reduction;
  if (call.nOut > std::numeric_limits<int32_t>::max() ||
      call.nReduced > std::numeric_limits<int32_t>::max())
    throw Error(ErrorCode::Unsupported,
                "reduction '" + r.name + "': the GPU kernels take fewer than 2^31 rows, got nI = " +
                    std::to_string(call.nI) + ", nJ = " + std::to_string(call.nJ));
  if (call.batch.count() > std::numeric_limits<int32_t>::max())
    throw Error(ErrorCode::Unsupported,
                "reduction '" + r.name + "': the GPU kernels take fewer than 2^31 batch entries, "
                "got " + std::to_string(call.batch.count()));
  std::vector<int> ordinals = requestedDevices(call);
  if (call.deviceMemory && !call.devices.empty() && ordinals.size() > 1)
    throw Error(ErrorCode::InvalidArgument,
                "reduction '" + r.name + "': several GPUs (devices) need host-memory arrays; "
                "device-memory arrays live on one GPU (drop devices, or pass host arrays)");
  if (call.deviceMemory || ordinals.empty()) {
    // Device memory runs where its pointers are ($KCONV_GPU_DEVICES does not apply).
    DeviceState &state = deviceFor(call);
    runHost(state, call);
    return;
  }
  if (ordinals.size() == 1 || (call.nOut < 2 && call.batchEnd - call.batchBegin < 2)) {
    runHost(deviceFor(call, ordinals[0]), call);
    return;
  }
  runMulti(call, ordinals);
}

/// Several GPUs, host memory: the batch entries, or for one problem its output rows, cut into
/// contiguous slices (sizes differing by at most one), slice k on GPU ordinals[k] with all of
/// the reduced rows; one host thread per GPU, each the single-GPU host path on its slice (its own
/// buffers, stream and plan).
void GpuBackend::runMulti(const Call &call, const std::vector<int> &ordinals) {
  const ReductionInfo &r = *call.reduction;
  const int64_t problems = call.batchEnd - call.batchBegin;
  const bool byEntry = problems > 1;
  const int64_t parts =
      std::min<int64_t>(int64_t(ordinals.size()), byEntry ? problems : call.nOut);
  std::vector<DeviceState *> states;
  for (int64_t k = 0; k < parts; ++k)
    states.push_back(&deviceFor(call, ordinals[size_t(k)])); // errors before any work
  const VarCategory outCategory = r.outputCategory();
  std::vector<Call> slices(static_cast<size_t>(parts), call);
  const int64_t total = byEntry ? problems : call.nOut;
  const int64_t base = total / parts, extra = total % parts;
  int64_t begin = 0;
  for (int64_t k = 0; k < parts; ++k) {
    const int64_t rows = base + (k < extra ? 1 : 0);
    Call &slice = slices[size_t(k)];
    slice.devices.clear();
    slice.stream = nullptr; // each GPU its own stream
    if (byEntry) {
      // Entries [begin, begin + rows): every input whole, the outputs from entry begin on.
      slice.batchBegin = call.batchBegin + begin;
      slice.batchEnd = slice.batchBegin + rows;
      if (call.values)
        slice.values = call.values + begin * call.nOut * r.valueDim;
      if (call.indices)
        slice.indices = call.indices + begin * call.nOut * r.indexDim;
      begin += rows;
      continue;
    }
    slice.nOut = rows;
    (r.axis == 1 ? slice.nI : slice.nJ) = rows;
    for (size_t a = 0; a < call.args.size(); ++a)
      if (r.variables[a].category == outCategory && call.args[a])
        slice.args[a] = call.args[a] + begin * r.variables[a].dim;
    if (call.values)
      slice.values = call.values + begin * r.valueDim;
    if (call.indices)
      slice.indices = call.indices + begin * r.indexDim;
    begin += rows;
  }
  std::vector<std::string> errors(static_cast<size_t>(parts));
  std::vector<ErrorCode> codes(static_cast<size_t>(parts), ErrorCode::DeviceError);
  auto work = [&](size_t k) {
    try {
      runHost(*states[k], slices[k]);
    } catch (const Error &e) {
      errors[k] = e.what();
      codes[k] = e.code();
    } catch (const std::exception &e) {
      errors[k] = e.what();
    }
  };
  std::vector<std::thread> threads;
  for (size_t k = 1; k < size_t(parts); ++k)
    threads.emplace_back(work, k);
  work(0);
  for (std::thread &t : threads)
    t.join();
  for (size_t k = 0; k < size_t(parts); ++k)
    if (!errors[k].empty())
      throw Error(codes[k], "GPU " + std::to_string(ordinals[k]) + " (" +
                                (byEntry ? "batch entries" : "rows") + " of slice " +
                                std::to_string(k) + "): " + errors[k]);
}

/// Device memory: the fused kernel writes a scratch array allocated on the call's stream, whose
/// column blocks are copied (cuMemcpy2DAsync) to the members' arrays on the same stream; nothing
/// waits. Host memory takes the default path (host scratch, copied on the host).
void GpuBackend::runFused(const Call &call, const std::vector<OutputSegment> &segments) {
  if (!call.deviceMemory) {
    Backend::runFused(call, segments);
    return;
  }
  const ReductionInfo &r = *call.reduction;
  DeviceState &state = deviceFor(call);
  for (const OutputSegment &segment : segments) {
    // The members' arrays must be device memory of the same GPU (deviceFor checks pointers).
    Call outputs = call;
    outputs.args.clear();
    outputs.values = segment.values;
    outputs.indices = segment.indices;
    if (&deviceFor(outputs) != &state)
      throw Error(ErrorCode::InvalidArgument,
                  "reduction '" + r.name + "': the outputs are on another GPU than the inputs");
  }
  const Driver &d = driver();
  ScopedContext scope(state.context);
  CUstream stream = static_cast<CUstream>(call.stream);
  const int64_t rows = (call.batchEnd - call.batchBegin) * call.nOut; // checked by prepare
  const size_t valueBytes = size_t(rows * r.valueDim) * sizeof(float);
  const size_t indexBytes = size_t(rows * r.indexDim) * sizeof(int64_t);
  CUdeviceptr scratch = 0;
  check(d.cuMemAllocAsync(&scratch, valueBytes + indexBytes, stream), "cuMemAllocAsync",
        "the fused outputs");
  struct Release {
    const Driver &d;
    CUdeviceptr pointer;
    CUstream stream;
    ~Release() { d.cuMemFreeAsync(pointer, stream); }
  } release{d, scratch, stream};
  Call fused = call;
  fused.values = r.valueDim ? reinterpret_cast<float *>(scratch) : nullptr;
  fused.indices = r.indexDim ? reinterpret_cast<int64_t *>(scratch + valueBytes) : nullptr;
  runHost(state, fused);
  auto copy = [&](CUdeviceptr source, int64_t sourceDim, int64_t offset, void *target,
                  int64_t dim, size_t elementSize) {
    CudaMemcpy2D m;
    m.srcMemoryType = m.dstMemoryType = CU_MEMORYTYPE_UNIFIED;
    m.srcDevice = source;
    m.srcXInBytes = size_t(offset) * elementSize;
    m.srcPitch = size_t(sourceDim) * elementSize;
    m.dstDevice = reinterpret_cast<CUdeviceptr>(target);
    m.dstPitch = m.WidthInBytes = size_t(dim) * elementSize;
    m.Height = size_t(rows);
    check(d.cuMemcpy2DAsync(&m, stream), "cuMemcpy2DAsync", "the fused outputs' columns");
  };
  for (const OutputSegment &segment : segments) {
    if (segment.valueDim)
      copy(scratch, r.valueDim, segment.valueOffset, segment.values, segment.valueDim,
           sizeof(float));
    if (segment.indexDim)
      copy(scratch + valueBytes, r.indexDim, segment.indexOffset, segment.indices,
           segment.indexDim, sizeof(int64_t));
  }
}

void GpuBackend::runHost(DeviceState &state, const Call &call) {
  const size_t index = call.reductionIndex;
  const ReductionInfo &r = *call.reduction;
  const Driver &d = driver();
  ScopedContext scope(state.context);
  const int64_t problems = call.batchEnd - call.batchBegin;
  const int64_t outRows = checkedMul(problems, call.nOut, "batch entries x nOut");
  const size_t valueCount = size_t(checkedMul(outRows, r.valueDim, "nOut x value_dim"));
  const size_t indexCount = size_t(checkedMul(outRows, r.indexDim, "nOut x index_dim"));

  if (call.deviceMemory) {
    CUstream stream = static_cast<CUstream>(call.stream);
    std::vector<CUdeviceptr> args(call.args.size());
    for (size_t k = 0; k < args.size(); ++k)
      args[k] = reinterpret_cast<CUdeviceptr>(call.args[k]);
    Plan p = plan(state, index, call.nOut, call.nReduced, problems);
    launch(state, call, p, args, reinterpret_cast<CUdeviceptr>(call.values),
           reinterpret_cast<CUdeviceptr>(call.indices), stream);
    return;
  }

  // Host memory: copy in, run, copy out, wait.
  std::lock_guard<std::mutex> lock(state.hostMutex);
  CUstream stream = call.stream ? static_cast<CUstream>(call.stream) : state.stream;
  std::vector<CUdeviceptr> args(call.args.size());
  for (size_t k = 0; k < args.size(); ++k) {
    const VariableInfo &v = r.variables[k];
    int64_t rows = v.category == VarCategory::Vi ? call.nI
                   : v.category == VarCategory::Vj ? call.nJ
                                                   : 1;
    // The whole batch of the array: entry 0 at its start, the last entry (every stride >= 0)
    // farthest; Artifact::run checked the extent.
    const int64_t extent = rows * v.dim + call.batch.offset(k, call.batch.count() - 1);
    size_t bytes = checkedBytes(extent, sizeof(float), "bytes");
    args[k] = buffer(state, k, bytes, "input " + v.name);
    if (bytes)
      check(d.cuMemcpyHtoDAsync(args[k], call.args[k], bytes, stream), "cuMemcpyHtoDAsync",
            "input " + v.name);
  }
  // An output the kind lacks stays a null device pointer.
  const size_t valueBytes = valueCount * sizeof(float), indexBytes = indexCount * sizeof(int64_t);
  CUdeviceptr values = valueBytes ? buffer(state, args.size(), valueBytes, "values") : 0;
  CUdeviceptr indices = indexBytes ? buffer(state, args.size() + 1, indexBytes, "indices") : 0;
  Plan p = plan(state, index, call.nOut, call.nReduced, problems);
  launch(state, call, p, args, values, indices, stream);
  if (valueBytes)
    check(d.cuMemcpyDtoHAsync(call.values, values, valueBytes, stream), "cuMemcpyDtoHAsync",
          "values");
  if (indexBytes)
    check(d.cuMemcpyDtoHAsync(call.indices, indices, indexBytes, stream), "cuMemcpyDtoHAsync",
          "indices");
  check(d.cuStreamSynchronize(stream), "the kernel or a copy failed: cuStreamSynchronize",
        *p.kernel->name);
}

} // namespace

std::unique_ptr<Backend> createGpuBackend(const ArtifactContents &contents,
                                          const std::string &sourceName) {
  if (contents.ptx.empty() && contents.cubin.empty())
    return nullptr; // no GPU code: "this build/artifact has no GPU path"
  return std::make_unique<GpuBackend>(contents, sourceName);
}

} // namespace kconv
