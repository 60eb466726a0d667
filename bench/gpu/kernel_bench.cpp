//===- kernel_bench.cpp - GPU kernel times of a kconv artifact (CUDA events) -===//
//
//   kconv-gpu-kernel-bench ARTIFACT [REDUCTION] [--sizes 100,1000,...] [--repeats R]
//                          [--plans auto,0:1,1:4] [--check-rows 64] [--batch B]
//
// For each size N (nI = nJ = N) and plan, runs the reduction on device arrays (random normal
// inputs, Memory::CudaDevice, one stream) and reports:
//   - GPU time per call from CUDA events around R back-to-back calls (the split-j memset included):
//     what the kernels cost, without the host's share;
//   - host time per call (wall time of queuing R calls; they run asynchronously);
//   - pairs/s and the relative error of sampled rows' values against the float64 reference
//     evaluator ("-" where it does not know the kind); for a kind with indices (argmin, kmin, ...)
//     also whether every sampled index is a reduced row ("idx ok", else "idx BAD").
// A plan is the runtime's choice ("auto") or a forced KCONV_GPU_PLAN "VARIANT:CHUNKS" (variant 0:
// R rows per thread, 1: one row). --batch B: every input carries a batch dimension of B problems
// (one call for all, docs/runtime.md "Batch dimensions"); the table adds the time per problem,
// from the events and from calls each followed by a stream synchronization (what a caller who
// waits for the result sees), the host time of run() in those calls (until the launch is
// queued), the driver's floor (a one-word memset and its synchronization; one pointer query),
// and checks problems 0 and B - 1.
// Needs a CUDA driver and GPU (exit 77 otherwise); uses the
// runtime's dlopen driver table, so it builds without CUDA.
//
//===----------------------------------------------------------------------===//
#include "CudaDriver.h"
#include "kconv/Runtime/Runtime.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace kconv;
using namespace kconv::cuda;

namespace {

void check(CUresult rc, const char *what) {
  if (rc != CUDA_SUCCESS) {
    std::fprintf(stderr, "kernel-bench: %s: %s\n", what, resultString(rc).c_str());
    std::exit(1);
  }
}

using Clock = std::chrono::steady_clock;

/// Microseconds from `start` to now.
double microsecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

std::vector<std::string> split(const std::string &text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos)
      comma = text.size();
    if (comma > start)
      parts.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return parts;
}

} // namespace

int main(int argc, char **argv) {
  std::string artifactPath, reductionName;
  std::vector<int64_t> sizes = {100, 1000, 2000, 10000, 100000, 1000000};
  std::vector<std::string> plans = {"auto"};
  int repeats = 0; // 0: automatic (about 0.3 s of GPU time, at least 3)
  int checkRows = 64;
  int64_t batch = 0; // 0: no batch dimension
  for (int k = 1; k < argc; ++k) {
    std::string arg = argv[k];
    auto next = [&]() -> std::string {
      if (k + 1 >= argc) {
        std::fprintf(stderr, "kernel-bench: %s expects a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++k];
    };
    if (arg == "--sizes") {
      sizes.clear();
      for (const std::string &s : split(next()))
        sizes.push_back(std::atoll(s.c_str()));
    } else if (arg == "--plans") {
      plans = split(next());
    } else if (arg == "--repeats") {
      repeats = std::atoi(next().c_str());
    } else if (arg == "--check-rows") {
      checkRows = std::atoi(next().c_str());
    } else if (arg == "--batch") {
      batch = std::atoll(next().c_str());
    } else if (arg == "--help" || arg == "-h") {
      std::printf("usage: kconv-gpu-kernel-bench ARTIFACT [REDUCTION] [--sizes N,...] "
                  "[--repeats R] [--plans auto,0:1,1:4] [--check-rows R] [--batch B]\n");
      return 0;
    } else if (artifactPath.empty()) {
      artifactPath = arg;
    } else {
      reductionName = arg;
    }
  }
  if (artifactPath.empty()) {
    std::fprintf(stderr, "kernel-bench: missing ARTIFACT\n");
    return 2;
  }
  const Driver &d = driver();
  if (!d.available) {
    std::printf("SKIPPED: %s\n", d.error.c_str());
    return 77;
  }
  try {
    auto art = Artifact::load(artifactPath);
    if (reductionName.empty())
      reductionName = art->reductions().front().name;
    const ReductionInfo &r = art->reduction(reductionName);
    std::string why = art->gpuUnavailableReason(reductionName);
    if (!why.empty()) {
      std::printf("SKIPPED: %s\n", why.c_str());
      return 77;
    }
    CUdevice device;
    CUcontext context;
    check(d.cuDeviceGet(&device, 0), "cuDeviceGet");
    check(d.cuDevicePrimaryCtxRetain(&context, device), "cuDevicePrimaryCtxRetain");
    check(d.cuCtxPushCurrent(context), "cuCtxPushCurrent");
    char name[256] = {0};
    d.cuDeviceGetName(name, 255, device);
    int sms = 0;
    d.cuDeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device);
    CUstream stream;
    check(d.cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
    CUevent start, stop;
    check(d.cuEventCreate(&start, CU_EVENT_DEFAULT), "cuEventCreate");
    check(d.cuEventCreate(&stop, CU_EVENT_DEFAULT), "cuEventCreate");
    std::printf("# %s: %s on %s (%d SMs)\n", artifactPath.c_str(), reductionName.c_str(), name,
                sms);
    const int64_t B = std::max<int64_t>(batch, 1);
    if (batch) {
      // The driver's floor for a call that waits: a one-word memset, then its synchronization.
      CUdeviceptr word = 0;
      check(d.cuMemAlloc(&word, 4), "cuMemAlloc");
      auto f0 = Clock::now();
      for (int k = 0; k < 1000; ++k) {
        check(d.cuMemsetD32Async(word, 0, 1, stream), "cuMemsetD32Async");
        check(d.cuStreamSynchronize(stream), "cuStreamSynchronize");
      }
      double floorUs = microsecondsSince(f0) / 1000;
      unsigned memoryType = 0;
      int attribute = CU_POINTER_ATTRIBUTE_MEMORY_TYPE;
      void *data = &memoryType;
      auto p0 = Clock::now();
      for (int k = 0; k < 1000; ++k)
        check(d.cuPointerGetAttributes(1, &attribute, &data, word), "cuPointerGetAttributes");
      double attributeUs = microsecondsSince(p0) / 1000;
      d.cuMemFree(word);
      std::printf("# driver floor: memset + synchronize %.1f us, cuPointerGetAttributes %.2f us\n",
                  floorUs, attributeUs);
      std::printf("| N | B | plan | GPU ms/call | GPU us/problem | synced us/problem | pairs/s "
                  "| host us/call | run() us | rel. error |\n");
      std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
    } else {
      std::printf("| N | plan | GPU ms/call | pairs/s | host us/call | rel. error |\n");
      std::printf("|---|---|---|---|---|---|\n");
    }

    for (int64_t n : sizes) {
      // Host inputs, random normal; device copies.
      std::mt19937_64 rng{uint64_t(n)};
      std::normal_distribution<float> normal(0.0f, 1.0f);
      std::vector<std::vector<float>> host(r.variables.size());
      std::vector<CUdeviceptr> dev(r.variables.size());
      std::vector<Input> inputs;
      std::vector<const float *> hostPointers;
      for (size_t k = 0; k < r.variables.size(); ++k) {
        const VariableInfo &v = r.variables[k];
        int64_t rows = v.category == VarCategory::Pm ? 1 : n;
        host[k].resize(size_t(B * rows * v.dim));
        for (float &x : host[k])
          x = normal(rng);
        check(d.cuMemAlloc(&dev[k], host[k].size() * sizeof(float)), "cuMemAlloc");
        check(d.cuMemcpyHtoDAsync(dev[k], host[k].data(), host[k].size() * sizeof(float), stream),
              "cuMemcpyHtoDAsync");
        inputs.push_back(Input(reinterpret_cast<const float *>(dev[k])));
        if (batch)
          inputs.back().batch = {B};
        hostPointers.push_back(host[k].data());
      }
      // The kind's outputs (docs/reductions.md): float values and/or int64 indices.
      size_t outCount = size_t(B * n * r.valueDim), indexCount = size_t(B * n * r.indexDim);
      CUdeviceptr out = 0, indices = 0;
      if (outCount)
        check(d.cuMemAlloc(&out, outCount * sizeof(float)), "cuMemAlloc");
      if (indexCount)
        check(d.cuMemAlloc(&indices, indexCount * sizeof(int64_t)), "cuMemAlloc");
      check(d.cuStreamSynchronize(stream), "cuStreamSynchronize");

      for (const std::string &plan : plans) {
        if (plan == "auto")
          unsetenv("KCONV_GPU_PLAN");
        else
          setenv("KCONV_GPU_PLAN", plan.c_str(), 1);
        auto planned = Artifact::load(artifactPath); // the plan override is read at load
        RunOptions options;
        options.memory = Memory::CudaDevice;
        options.stream = stream;
        Outputs outputs{reinterpret_cast<float *>(out), reinterpret_cast<int64_t *>(indices)};
        // Warm-up (module load, JIT) and poison the outputs (NaN, a negative index < -1).
        if (outCount)
          check(d.cuMemsetD32Async(out, 0x7fc00000u, outCount, stream), "cuMemsetD32Async");
        if (indexCount)
          check(d.cuMemsetD32Async(indices, 0xfefefefeu, indexCount * 2, stream),
                "cuMemsetD32Async");
        planned->run(reductionName, inputs, outputs, n, n, options);
        check(d.cuStreamSynchronize(stream), "warm-up");
        int reps = repeats;
        if (reps <= 0) {
          check(d.cuEventRecord(start, stream), "cuEventRecord");
          planned->run(reductionName, inputs, outputs, n, n, options);
          check(d.cuEventRecord(stop, stream), "cuEventRecord");
          check(d.cuEventSynchronize(stop), "cuEventSynchronize");
          float ms = 0;
          d.cuEventElapsedTime(&ms, start, stop);
          reps = int(std::clamp(300.0 / std::max(ms, 1e-3f), 3.0, 2000.0));
        }
        auto t0 = Clock::now();
        check(d.cuEventRecord(start, stream), "cuEventRecord");
        for (int k = 0; k < reps; ++k)
          planned->run(reductionName, inputs, outputs, n, n, options);
        check(d.cuEventRecord(stop, stream), "cuEventRecord");
        double hostUs = microsecondsSince(t0) / reps;
        check(d.cuEventSynchronize(stop), "the kernels failed");
        float totalMs = 0;
        check(d.cuEventElapsedTime(&totalMs, start, stop), "cuEventElapsedTime");
        double ms = double(totalMs) / reps;
        // Calls that each wait for their result, and the host's share of them (run() until it
        // returns, the launch queued).
        double syncedUs = 0, enqueueUs = 0;
        if (batch) {
          auto s0 = Clock::now();
          for (int k = 0; k < reps; ++k) {
            auto e0 = Clock::now();
            planned->run(reductionName, inputs, outputs, n, n, options);
            enqueueUs += microsecondsSince(e0);
            check(d.cuStreamSynchronize(stream), "cuStreamSynchronize");
          }
          syncedUs = microsecondsSince(s0) / reps;
          enqueueUs /= reps;
        }

        // Check sampled rows against the float64 reference.
        std::vector<float> result(outCount);
        std::vector<int64_t> resultIndices(indexCount);
        if (outCount)
          check(d.cuMemcpyDtoHAsync(result.data(), out, outCount * sizeof(float), stream),
                "cuMemcpyDtoHAsync");
        if (indexCount)
          check(d.cuMemcpyDtoHAsync(resultIndices.data(), indices,
                                    indexCount * sizeof(int64_t), stream),
                "cuMemcpyDtoHAsync");
        check(d.cuStreamSynchronize(stream), "cuStreamSynchronize");
        std::vector<int64_t> rows;
        std::mt19937_64 pick(7);
        std::uniform_int_distribution<int64_t> any(0, n - 1);
        for (int k = 0; k < std::min<int64_t>(checkRows, n); ++k)
          rows.push_back(n <= checkRows ? k : any(pick));
        std::string checked = "-";
        double worst = 0;
        bool finite = true, known = true, inRange = true;
        for (int64_t e : {int64_t(0), B - 1}) {
          std::vector<const float *> entryPointers;
          for (size_t k = 0; k < r.variables.size(); ++k)
            entryPointers.push_back(hostPointers[k] + e * int64_t(host[k].size()) / B);
          const float *entryResult = result.data() + e * n * r.valueDim;
          const int64_t *entryIndices = resultIndices.data() + e * n * r.indexDim;
          if (outCount && known) {
            try {
              std::vector<double> ref = referenceRun(r, entryPointers, n, n, rows).values;
              double diff = 0, norm = 0;
              for (size_t k = 0; k < rows.size(); ++k)
                for (int64_t c = 0; c < r.valueDim; ++c) {
                  double want = ref[k * size_t(r.valueDim) + size_t(c)];
                  double got = entryResult[size_t(rows[k] * r.valueDim + c)];
                  finite = finite && std::isfinite(got);
                  diff += (got - want) * (got - want);
                  norm += want * want;
                }
              worst = std::max(worst, std::sqrt(diff / std::max(norm, 1e-300)));
            } catch (const Error &e) {
              if (e.code() != ErrorCode::Unsupported)
                throw;
              known = false;
            }
          }
          // Random finite inputs and n reduced rows: every entry selects a row.
          for (int64_t row : rows)
            for (int64_t c = 0; c < r.indexDim; ++c) {
              int64_t at = entryIndices[size_t(row * r.indexDim + c)];
              inRange = inRange && at >= 0 && at < n;
            }
        }
        if (outCount && known) {
          char text[32];
          std::snprintf(text, sizeof(text), "%.1e", finite ? worst : NAN);
          checked = text;
        }
        if (indexCount)
          checked += inRange ? ", idx ok" : ", idx BAD";
        if (batch) {
          std::printf("| %lld | %lld | %s | %.4f | %.3f | %.3f | %.3e | %.1f | %.1f | %s |\n",
                      (long long)n, (long long)B, plan.c_str(), ms, ms * 1e3 / double(B),
                      syncedUs / double(B), double(B) * double(n) * double(n) / (ms * 1e-3),
                      hostUs, enqueueUs, checked.c_str());
          std::fflush(stdout);
          continue;
        }
        std::printf("| %lld | %s | %.4f | %.3e | %.1f | %s |\n", (long long)n, plan.c_str(), ms,
                    double(n) * double(n) / (ms * 1e-3), hostUs, checked.c_str());
        std::fflush(stdout);
      }
      for (CUdeviceptr p : dev)
        d.cuMemFree(p);
      if (out)
        d.cuMemFree(out);
      if (indices)
        d.cuMemFree(indices);
    }
    CUcontext popped;
    d.cuCtxPopCurrent(&popped);
  } catch (const Error &e) {
    std::fprintf(stderr, "kernel-bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
