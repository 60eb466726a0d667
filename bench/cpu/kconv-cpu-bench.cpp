//===- kconv-cpu-bench.cpp - run, check and time an artifact's CPU kernel --===//
//
//   kconv-cpu-bench ART.kca [NAME] --random N,M [--check] [--tol=X] [--bench=REPEATS]
//                   [--threads=T] [--seed=S] [--dist=normal|positive] [--rows=K]
//
// A direct driver of the CPU kernel ABI (docs/architecture.md), independent of the runtime: it
// loads the artifact, dlopens its shared object, packs random inputs (the reduced variables into
// zero-padded structure-of-arrays, as the ABI says), runs the kernel on T threads over disjoint
// row ranges, and
//   --check   compares K sampled output rows with the runtime's float64 reference evaluator
//             (values: relative error ||out - ref|| / ||ref|| over those rows, non-finite
//             reference values matched exactly; indices by the value they select; exit 1 above
//             --tol),
//   --bench   prints the median wall time per call over REPEATS calls (after a warm-up),
//   --sweep   measures the error in ulps of an elementwise function over a range of inputs.
// The kernel is called directly; the runtime library is linked only for the artifact reader and
// the reference evaluator (no MLIR, no LLVM).
//
//===----------------------------------------------------------------------===//
#include "kconv/Runtime/Artifact.h"
#include "kconv/Runtime/Error.h"
#include "kconv/Runtime/Runtime.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <immintrin.h>
#include <mutex>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <dlfcn.h>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using Kernel = void (*)(const float *const *, float *, int64_t *, int64_t, int64_t, int64_t, int64_t);

[[noreturn]] void die(const std::string &message) {
  std::fprintf(stderr, "kconv-cpu-bench: error: %s\n", message.c_str());
  std::exit(2);
}

/// A fixed set of workers: calls cost no thread creation. Idle workers spin for about a
/// millisecond (back-to-back timed calls), then sleep on a condition variable (so that they take
/// no CPU during --check's reference evaluation or between tests).
class Pool {
public:
  explicit Pool(int threads) : count(threads) {
    for (int t = 1; t < threads; ++t)
      workers.emplace_back([this, t] { work(t); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stop = true;
      generation.fetch_add(1);
    }
    wake.notify_all();
    for (auto &w : workers)
      w.join();
  }
  /// Runs task(t) for t in [0, count), t = 0 on the calling thread.
  void run(const std::function<void(int)> &f) {
    task = &f;
    pending.store(count - 1);
    {
      std::lock_guard<std::mutex> lock(mutex);
      generation.fetch_add(1, std::memory_order_release);
    }
    wake.notify_all();
    f(0);
    while (pending.load(std::memory_order_acquire) != 0)
      _mm_pause();
  }

private:
  void work(int t) {
    uint64_t seen = 0;
    while (true) {
      for (int spins = 0; generation.load(std::memory_order_acquire) == seen && spins < 8000;
           ++spins)
        _mm_pause();
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return generation.load() != seen; });
        seen = generation.load();
        if (stop)
          return;
      }
      (*task)(t);
      pending.fetch_sub(1, std::memory_order_release);
    }
  }
  int count;
  std::vector<std::thread> workers;
  std::mutex mutex;
  std::condition_variable wake;
  std::atomic<uint64_t> generation{0};
  std::atomic<int> pending{0};
  bool stop = false;
  const std::function<void(int)> *task = nullptr;
};

} // namespace

int main(int argc, char **argv) {
  std::string artifactPath, name, dist = "normal";
  int64_t nI = -1, nJ = -1;
  bool check = false;
  double tol = 1e-5;
  int repeats = 0, threads = 2, sampleRows = 256;
  unsigned seed = 1234;
  // --sweep=LO,HI,COUNT[,geometric]: accuracy of elementwise functions. The first output-category
  // variable takes COUNT values from LO to HI (evenly or geometrically spaced), every other
  // variable is 1, nReduced = 1; prints the largest error of an output element in ulps of the
  // float64 reference (exit 1 above --max-ulp).
  double sweepLo = 0, sweepHi = 0, maxUlp = -1;
  int64_t sweepCount = 0;
  bool sweepGeometric = false;
  for (int a = 1; a < argc; ++a) {
    std::string s = argv[a];
    auto value = [&](const char *prefix) -> const char * {
      size_t n = std::strlen(prefix);
      if (s.compare(0, n, prefix) == 0 && s.size() > n && s[n] == '=')
        return argv[a] + n + 1;
      if (s == prefix && a + 1 < argc)
        return argv[++a];
      return nullptr;
    };
    if (const char *v = value("--random")) {
      if (std::sscanf(v, "%ld,%ld", &nI, &nJ) != 2 || nI < 0 || nJ < 0)
        die("--random expects N,M");
    } else if (s == "--check") check = true;
    else if (const char *v = value("--tol")) tol = std::atof(v);
    else if (const char *v = value("--bench")) repeats = std::atoi(v);
    else if (const char *v = value("--threads")) threads = std::max(1, std::atoi(v));
    else if (const char *v = value("--seed")) seed = unsigned(std::atoi(v));
    else if (const char *v = value("--dist")) dist = v;
    else if (const char *v = value("--rows")) sampleRows = std::atoi(v);
    else if (const char *v = value("--max-ulp")) maxUlp = std::atof(v);
    else if (const char *v = value("--sweep")) {
      char mode[32] = "";
      if (std::sscanf(v, "%lf,%lf,%ld,%31s", &sweepLo, &sweepHi, &sweepCount, mode) < 3 ||
          sweepCount < 2)
        die("--sweep expects LO,HI,COUNT[,geometric]");
      sweepGeometric = std::string(mode) == "geometric";
    }
    else if (s == "--help" || s == "-h") {
      std::puts("usage: kconv-cpu-bench ART.kca [NAME] --random N,M [--check] [--tol=X] "
                "[--bench=REPEATS] [--threads=T] [--seed=S] [--dist=normal|positive] [--rows=K]\n"
                "       kconv-cpu-bench ART.kca [NAME] --sweep=LO,HI,COUNT[,geometric] [--max-ulp=U]");
      return 0;
    } else if (!s.empty() && s[0] == '-') die("unknown option " + s);
    else if (artifactPath.empty()) artifactPath = s;
    else name = s;
  }
  bool sweep = sweepCount > 0;
  if (artifactPath.empty() || (nI < 0 && !sweep))
    die("usage: kconv-cpu-bench ART.kca [NAME] --random N,M [--check] [--bench=R]");

  std::ifstream file(artifactPath, std::ios::binary);
  if (!file)
    die("cannot read " + artifactPath);
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  kconv::ArtifactContents contents;
  try {
    contents = kconv::parseArtifact(bytes, artifactPath);
  } catch (const kconv::Error &e) {
    die(e.what());
  }
  const kconv::ReductionInfo *red = nullptr;
  for (const auto &r : contents.reductions)
    if (name.empty() || r.name == name) {
      red = &r;
      break;
    }
  if (!red)
    die("no reduction '" + name + "' in " + artifactPath);
  if (contents.cpuSharedObject.empty())
    die("the artifact has no CPU code");

  // dlopen the shared object from a temporary file.
  char soPath[] = "/tmp/kconv-bench-XXXXXX";
  int fd = mkstemp(soPath);
  if (fd < 0 || write(fd, contents.cpuSharedObject.data(), contents.cpuSharedObject.size()) !=
                    ssize_t(contents.cpuSharedObject.size()))
    die("cannot write the shared object");
  close(fd);
  void *handle = dlopen(soPath, RTLD_NOW | RTLD_LOCAL);
  unlink(soPath);
  if (!handle)
    die(std::string("dlopen: ") + dlerror());
  auto kernel = reinterpret_cast<Kernel>(dlsym(handle, red->attributes.at("cpu.symbol").c_str()));
  if (!kernel)
    die("no symbol " + red->attributes.at("cpu.symbol"));
  int64_t lanes = std::stoll(red->attributes.at("cpu.lanes"));

  // Inputs.
  bool axis1 = red->axis == 1;
  if (sweep) {
    nI = axis1 ? sweepCount : 1;
    nJ = axis1 ? 1 : sweepCount;
  }
  bool swept = false;
  int64_t nOut = axis1 ? nI : nJ, nRed = axis1 ? nJ : nI;
  int64_t stride = std::max<int64_t>(lanes, (nRed + lanes - 1) / lanes * lanes);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_real_distribution<float> positive(0.5f, 2.f);
  // --dist=normal (default), positive (uniform in [0.5, 2]) or scale:S (normal times S).
  float scale = dist.rfind("scale:", 0) == 0 ? std::stof(dist.substr(6)) : 1.f;
  auto draw = [&] { return dist == "positive" ? positive(rng) : scale * normal(rng); };
  std::vector<std::vector<float>> rowMajor, packed;
  std::vector<const float *> args;
  for (const auto &var : red->variables) {
    int64_t rows = var.category == kconv::VarCategory::Pm ? 1
                   : var.category == kconv::VarCategory::Vi ? nI : nJ;
    std::vector<float> data(rows * var.dim);
    for (float &x : data)
      x = sweep ? 1.f : draw();
    if (sweep && !swept && var.category == red->outputCategory()) {
      swept = true;
      for (int64_t k = 0; k < rows * var.dim; ++k) {
        double f = double(k) / double(rows * var.dim - 1);
        data[k] = float(sweepGeometric ? sweepLo * std::pow(sweepHi / sweepLo, f)
                                       : sweepLo + (sweepHi - sweepLo) * f);
      }
    }
    bool reduced = var.category == red->reducedCategory();
    std::vector<float> soa;
    if (reduced) {
      soa.assign(var.dim * stride, 0.f);
      for (int64_t j = 0; j < rows; ++j)
        for (int64_t c = 0; c < var.dim; ++c)
          soa[c * stride + j] = data[j * var.dim + c];
    }
    rowMajor.push_back(std::move(data));
    packed.push_back(std::move(soa));
  }
  for (size_t k = 0; k < red->variables.size(); ++k)
    args.push_back(packed[k].empty() ? rowMajor[k].data() : packed[k].data());
  std::vector<float> out(std::max<int64_t>(1, nOut * red->valueDim), -12345.f);
  std::vector<int64_t> indices(std::max<int64_t>(1, nOut * red->indexDim), -12345);
  std::vector<const float *> inputs; // row-major, for the reference
  for (const auto &data : rowMajor)
    inputs.push_back(data.data());

  Pool pool(threads);
  auto call = [&] {
    pool.run([&](int t) {
      int64_t lo = nOut * t / threads, hi = nOut * (t + 1) / threads;
      if (lo < hi)
        kernel(args.data(), out.data(), indices.data(), lo, hi, nRed, stride);
    });
  };
  call();

  int status = 0;
  if (sweep) {
    double worst = 0, worstAt = 0;
    int64_t flushed = 0; // denormal references computed as 0 (fast math flushes denormals)
    // nReduced = 1: each output row is the formula's value at its one pair.
    const std::vector<double> ref = kconv::referenceRun(*red, inputs, nI, nJ).values;
    std::vector<const float *> vals(red->variables.size());
    for (int64_t o = 0; o < nOut; ++o) {
      for (size_t k = 0; k < red->variables.size(); ++k) {
        const auto &var = red->variables[k];
        int64_t row = var.category == red->outputCategory() ? o : 0;
        vals[k] = rowMajor[k].data() + row * var.dim;
      }
      for (int64_t c = 0; c < red->valueDim; ++c) {
        double got = out[o * red->valueDim + c], want = ref[size_t(o * red->valueDim + c)];
        if (std::fabs(want) > 3.4028234663852886e38) // overflows float: the f32 answer is inf
          want = std::copysign(INFINITY, want);
        double ulps;
        if (got == 0 && want != 0 && std::fabs(want) < 1.1754943508222875e-38) {
          ++flushed;
          continue;
        }
        if (std::isnan(want) || std::isnan(got))
          ulps = std::isnan(want) == std::isnan(got) ? 0 : INFINITY;
        else if (std::isinf(want) || std::isinf(got))
          ulps = got == want ? 0 : INFINITY;
        else
          ulps = std::fabs(got - want) /
                 std::ldexp(1.0, std::max(std::ilogb(std::fabs(want)), -126) - 23); // denormals: 2^-149
        if (ulps > worst) {
          worst = ulps;
          worstAt = vals[0][0];
        }
      }
    }
    bool ok = maxUlp < 0 || worst <= maxUlp;
    std::printf("sweep %s over %ld values in [%g, %g]: max error %.3f ulp (at input %.9g), "
                "%ld denormal results flushed to 0%s\n",
                red->name.c_str(), long(sweepCount), sweepLo, sweepHi, worst, worstAt,
                long(flushed), maxUlp < 0 ? "" : ok ? ": OK" : ": FAILED");
    return ok ? 0 : 1;
  }
  if (check) {
    std::vector<int64_t> rows;
    if (nOut <= sampleRows)
      for (int64_t i = 0; i < nOut; ++i)
        rows.push_back(i);
    else
      for (int k = 0; k < sampleRows; ++k)
        rows.push_back(int64_t((k * 2654435761ull) % uint64_t(nOut)));
    kconv::ReferenceOutputs ref = kconv::referenceRun(*red, inputs, nI, nJ, rows);
    bool ok = true;
    if (red->valueDim > 0) {
      kconv::ValueCheck values = kconv::checkValues(*red, rows, ref, out.data());
      ok = values.ok(tol);
      std::printf("check %s N=%ld M=%ld: rel error %.3g over %zu rows (tol %.3g)%s: %s\n",
                  red->name.c_str(), nI, nJ, values.error, rows.size(), tol,
                  values.mismatched ? ", non-finite reference values not matched" : "",
                  ok ? "OK" : "FAILED");
    }
    if (red->indexDim > 0) {
      kconv::IndexCheck check =
          kconv::checkIndices(*red, inputs, nI, nJ, rows, ref, indices.data(), tol);
      std::printf("check %s N=%ld M=%ld: %ld of %ld indices select a value off the reference's, "
                  "%ld invalid (tol %.3g): %s\n",
                  red->name.c_str(), nI, nJ, long(check.offValue), long(check.checked),
                  long(check.invalid), tol, check.ok() ? "OK" : "FAILED");
      ok = ok && check.ok();
    }
    if (!ok)
      status = 1;
  }
  if (repeats > 0) {
    std::vector<double> ms, cpu;
    auto threadCpu = [] {
      timespec ts;
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
      return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
    };
    for (int r = 0; r < repeats; ++r) {
      double c0 = threadCpu();
      auto t0 = std::chrono::steady_clock::now();
      call();
      auto t1 = std::chrono::steady_clock::now();
      cpu.push_back(threadCpu() - c0);
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    std::sort(cpu.begin(), cpu.end());
    // CPU time of the calling thread's share (steal time of a busy VM host excluded).
    std::printf("cpu-time %s N=%ld M=%ld: median %.4f ms on thread 0 (%.3g pairs/s per thread)\n",
                red->name.c_str(), nI, nJ, cpu[cpu.size() / 2],
                double(nI) * nJ / threads / (cpu[cpu.size() / 2] * 1e-3));
    double median = ms[ms.size() / 2];
    std::printf("bench %s N=%ld M=%ld threads=%d: median %.4f ms (min %.4f), %.3g pairs/s\n",
                red->name.c_str(), nI, nJ, threads, median, ms.front(),
                double(nI) * nJ / (median * 1e-3));
  }
  return status;
}
