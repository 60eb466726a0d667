//===- CpuBackend.cpp - run the artifact's CPU code on the thread pool ----===//
//
// The artifact's CPU section is an ELF shared object exporting one kernel per reduction with the
// ABI of docs/architecture.md ("CPU kernel ABI"); validateArtifact has checked its symbols and ABI
// descriptors against the metadata without mapping it. It is mapped at the first CPU call, from
// memory (memfd_create + dlopen of /proc/self/fd/N; fallback: a private temporary file, unlinked
// right after dlopen), and each kernel must resolve inside that object. A call packs
// the reduced-category variables into zero-padded SoA once, then splits the output rows into
// chunks that the thread pool's threads pass to the kernel as disjoint [begin, end) ranges.
//
//===----------------------------------------------------------------------===//
#include "Backend.h"
#include "ThreadPool.h"
#include "kconv/ABI/KernelABI.h"
#include "kconv/Runtime/Checked.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <map>
#include <mutex>
#include <sstream>
#include <sys/mman.h>
#include <unistd.h>

namespace kconv {
namespace {

using KernelFn = void (*)(const float *const *args, float *values, int64_t *indices,
                          int64_t begin, int64_t end, int64_t nReduced, int64_t reducedStride);

//===----------------------------------------------------------------------===//
// Host CPU features
//===----------------------------------------------------------------------===//

#if defined(__x86_64__)
constexpr const char *kHostArch = "x86_64";
#elif defined(__aarch64__)
constexpr const char *kHostArch = "aarch64";
#else
constexpr const char *kHostArch = "unknown";
#endif

std::string normalizeArch(std::string arch) {
  if (arch == "x86-64" || arch == "amd64" || arch == "x86_64h")
    return "x86_64";
  if (arch == "arm64")
    return "aarch64";
  return arch;
}

/// Features (LLVM spelling) this runtime can check; others listed in cpu.target are not checked.
/// Returns -1 for an unknown feature, else 0/1.
int hostHasFeature(const std::string &name) {
#if defined(__x86_64__)
#define KCONV_FEATURE(llvmName, gccName)                                                         \
  if (name == llvmName)                                                                          \
    return __builtin_cpu_supports(gccName) ? 1 : 0;
  __builtin_cpu_init();
  KCONV_FEATURE("sse3", "sse3")
  KCONV_FEATURE("ssse3", "ssse3")
  KCONV_FEATURE("sse4.1", "sse4.1")
  KCONV_FEATURE("sse4.2", "sse4.2")
  KCONV_FEATURE("popcnt", "popcnt")
  KCONV_FEATURE("avx", "avx")
  KCONV_FEATURE("avx2", "avx2")
  KCONV_FEATURE("fma", "fma")
  KCONV_FEATURE("bmi", "bmi")
  KCONV_FEATURE("bmi2", "bmi2")
  KCONV_FEATURE("avx512f", "avx512f")
  KCONV_FEATURE("avx512bw", "avx512bw")
  KCONV_FEATURE("avx512cd", "avx512cd")
  KCONV_FEATURE("avx512dq", "avx512dq")
  KCONV_FEATURE("avx512vl", "avx512vl")
  KCONV_FEATURE("avx512vnni", "avx512vnni")
  KCONV_FEATURE("avx512bf16", "avx512bf16")
  KCONV_FEATURE("avx512vbmi", "avx512vbmi")
  KCONV_FEATURE("avx512ifma", "avx512ifma")
  KCONV_FEATURE("avx512vpopcntdq", "avx512vpopcntdq")
  KCONV_FEATURE("avx512vbmi2", "avx512vbmi2")
  KCONV_FEATURE("avx512bitalg", "avx512bitalg")
  KCONV_FEATURE("avx512fp16", "avx512fp16")
  KCONV_FEATURE("avx512vp2intersect", "avx512vp2intersect")
  KCONV_FEATURE("avxvnni", "avxvnni")
  KCONV_FEATURE("f16c", "f16c")
#undef KCONV_FEATURE
#else
  (void)name;
#endif
  return -1;
}

/// Features implied by the x86-64 micro-architecture levels (LLVM CPU names x86-64-v2..v4).
std::vector<std::string> levelFeatures(const std::string &cpu) {
  std::vector<std::string> v2 = {"sse3", "ssse3", "sse4.1", "sse4.2", "popcnt"};
  std::vector<std::string> v3 = {"avx", "avx2", "bmi", "bmi2", "fma"};
  std::vector<std::string> v4 = {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"};
  std::vector<std::string> out;
  if (cpu == "x86-64-v2" || cpu == "x86-64-v3" || cpu == "x86-64-v4")
    out = v2;
  if (cpu == "x86-64-v3" || cpu == "x86-64-v4")
    out.insert(out.end(), v3.begin(), v3.end());
  if (cpu == "x86-64-v4")
    out.insert(out.end(), v4.begin(), v4.end());
  return out;
}

//===----------------------------------------------------------------------===//
// Loading a shared object from memory
//===----------------------------------------------------------------------===//

bool writeAll(int fd, const std::string &bytes) {
  const char *p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    left -= size_t(n);
  }
  return true;
}

/// glibc's dlopen returns an already loaded object with the same name instead of opening the
/// file: a "/proc/self/fd/N" of an earlier artifact (whose descriptor number is reused) or a reused
/// temporary name must not alias it.
bool nameIsLoaded(const std::string &path) {
  void *existing = ::dlopen(path.c_str(), RTLD_LAZY | RTLD_NOLOAD);
  if (!existing)
    return false;
  ::dlclose(existing);
  return true;
}

/// A loaded shared object; `fd` (the memfd, -1 for the temporary file) stays open while it is
/// loaded so that its /proc/self/fd name is not reused.
struct LoadedCode {
  void *handle = nullptr;
  int fd = -1;
};

LoadedCode dlopenFromMemory(const std::string &bytes, const std::string &sourceName) {
  std::string problems;
  const char *noMemfd = std::getenv("KCONV_NO_MEMFD");
  if (!noMemfd || !*noMemfd || std::string(noMemfd) == "0") {
    int fd = ::memfd_create("kconv-cpu-code", MFD_CLOEXEC);
    if (fd >= 0 && writeAll(fd, bytes)) {
      std::string path = "/proc/self/fd/" + std::to_string(fd);
      for (int tries = 0; fd >= 0 && nameIsLoaded(path) && tries < 64; ++tries) {
        int other = ::fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);
        ::close(fd);
        fd = other;
        path = "/proc/self/fd/" + std::to_string(fd);
      }
      if (fd >= 0 && !nameIsLoaded(path)) {
        void *handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (handle)
          return {handle, fd};
        const char *err = ::dlerror();
        problems = std::string("dlopen of memfd: ") + (err ? err : "unknown error") + "; ";
      } else {
        problems = "no unused /proc/self/fd name; ";
      }
    } else {
      problems = std::string(fd < 0 ? "memfd_create: " : "write to memfd: ") +
                 std::strerror(errno) + "; ";
    }
    if (fd >= 0)
      ::close(fd);
  }
  // Fallback: a private temporary file, removed as soon as it is mapped.
  const char *tmpdir = std::getenv("TMPDIR");
  std::string pattern = std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/kconv-cpu-XXXXXX.so";
  std::string path;
  int fd = -1;
  for (int tries = 0; tries < 16; ++tries) {
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    fd = ::mkstemps(name.data(), 3);
    if (fd < 0)
      throw Error(ErrorCode::InvalidArtifact,
                  sourceName + ": cannot load its CPU code: " + problems + "mkstemps(" +
                      pattern + "): " + std::strerror(errno));
    path = name.data();
    if (!nameIsLoaded(path))
      break;
    ::close(fd);
    ::unlink(path.c_str());
    fd = -1;
  }
  if (fd < 0)
    throw Error(ErrorCode::InvalidArtifact,
                sourceName + ": cannot load its CPU code: no unused temporary file name");
  bool written = writeAll(fd, bytes);
  int writeErrno = errno;
  ::close(fd);
  void *handle = nullptr;
  std::string err;
  if (written) {
    handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char *e = ::dlerror();
      err = std::string("dlopen: ") + (e ? e : "unknown error");
    }
  } else {
    err = "write " + path + ": " + std::strerror(writeErrno);
  }
  ::unlink(path.c_str());
  if (!handle)
    throw Error(ErrorCode::InvalidArtifact,
                sourceName + ": cannot load its CPU code: " + problems + err);
  return {handle, -1};
}

//===----------------------------------------------------------------------===//
// Packing buffer: one per thread, reused across calls
//===----------------------------------------------------------------------===//

struct PackBuffer {
  float *data = nullptr;
  size_t capacity = 0; // floats
  ~PackBuffer() { std::free(data); }
  float *get(size_t floats) {
    if (floats > capacity) {
      std::free(data);
      data = nullptr;
      capacity = 0;
      // Whole 64-byte lines.
      size_t bytes = checkedBytes(checkedAdd(int64_t(floats), 15, "packed floats") / 16 * 16,
                                  sizeof(float), "packing buffer bytes");
      data = static_cast<float *>(std::aligned_alloc(64, bytes));
      if (!data)
        throw Error(ErrorCode::Internal,
                    "out of memory packing " + std::to_string(bytes) + " bytes of inputs");
      capacity = bytes / sizeof(float);
    }
    return data;
  }
  /// Large buffers are not kept between calls.
  void trim() {
    if (capacity * sizeof(float) > (size_t(64) << 20)) {
      std::free(data);
      data = nullptr;
      capacity = 0;
    }
  }
};

struct CpuEntry {
  KernelFn fn = nullptr;
  int64_t lanes = 1;
  std::string symbol;
  std::string unavailable; // empty: usable
};

class CpuBackend final : public Backend {
public:
  CpuBackend(const ArtifactContents &contents, const std::string &sourceName)
      : code_(contents.cpuSharedObject), sourceName_(sourceName) {
    entries_.resize(contents.reductions.size());
    for (size_t k = 0; k < contents.reductions.size(); ++k) {
      const ReductionInfo &r = contents.reductions[k];
      CpuEntry &e = entries_[k];
      auto symbol = r.attributes.find(abi::key::kCpuSymbol);
      if (contents.cpuSharedObject.empty()) {
        e.unavailable = "the artifact has no CPU code";
        continue;
      }
      if (symbol == r.attributes.end() || symbol->second.empty()) {
        e.unavailable = "reduction '" + r.name + "' has no CPU code (no attr cpu.symbol)";
        continue;
      }
      e.symbol = symbol->second; // validateArtifact: the ABI's name, defined in the object
      auto lanes = r.attributes.find(abi::key::kCpuLanes);
      e.lanes = lanes == r.attributes.end() ? 1 : std::atoll(lanes->second.c_str()); // validated
      auto target = r.attributes.find(abi::key::kCpuTarget);
      if (target != r.attributes.end()) {
        std::vector<std::string> missing = missingCpuFeatures(target->second);
        if (!missing.empty()) {
          std::string list;
          for (const std::string &m : missing)
            list += (list.empty() ? "" : ", ") + m;
          e.unavailable = "the CPU code of reduction '" + r.name + "' was compiled for '" +
                          target->second + "', but this CPU lacks: " + list;
          continue;
        }
      }
      if (r.dtype != "f32") {
        e.unavailable = "reduction '" + r.name + "' has dtype " + r.dtype +
                        "; the CPU runtime runs f32 only";
        continue;
      }
    }
  }

  ~CpuBackend() override {
    if (loaded_.handle)
      ::dlclose(loaded_.handle);
    if (loaded_.fd >= 0)
      ::close(loaded_.fd);
  }

  std::string unavailableReason(size_t index) const override { return entries_[index].unavailable; }

  void run(const Call &call) override {
    mapCode();
    const CpuEntry &e = entries_[call.reductionIndex];
    const ReductionInfo &r = *call.reduction;
    const VarCategory reduced = r.reducedCategory();
    const int64_t nReduced = call.nReduced;
    int64_t stride = 0;
    if (!abi::cpuReducedStride(nReduced, e.lanes, stride))
      throw Error(ErrorCode::InvalidArgument,
                  "reduction '" + r.name + "': size too large: nReduced = " +
                      std::to_string(nReduced) + " rounded up to " + std::to_string(e.lanes) +
                      " lanes does not fit in 64 bits");

    // Pack the reduced-category variables of every entry: [dim x stride], zero padding. Each
    // block starts 64-byte aligned (16 floats); component c at + c * stride. Entries that share
    // an array (broadcast along a batch dimension) share its packed block.
    auto blockFloats = [&](int64_t dim) {
      int64_t floats = checkedMul(dim, stride, "packed floats (dim x reduced stride)");
      return checkedAdd(floats, 15, "packed floats") / 16 * 16;
    };
    const int64_t entries = call.batchEnd - call.batchBegin;
    const size_t numVars = r.variables.size();
    // argv[e * numVars + k]: variable k of entry batchBegin + e (its packed block when reduced).
    std::vector<const float *> argv(size_t(entries) * numVars);
    std::map<std::pair<const float *, int64_t>, int64_t> packedAt; // (source, dim) -> offset
    int64_t packedFloats = 0;
    for (int64_t q = 0; q < entries; ++q)
      for (size_t k = 0; k < numVars; ++k) {
        const VariableInfo &v = r.variables[k];
        const float *src = call.args[k] ? call.args[k] + call.batch.offset(k, call.batchBegin + q)
                                        : nullptr;
        argv[size_t(q) * numVars + k] = src;
        if (v.category == reduced && packedAt.try_emplace({src, v.dim}, packedFloats).second)
          packedFloats = checkedAdd(packedFloats, blockFloats(v.dim), "packed floats");
      }
    thread_local PackBuffer buffer;
    float *packed = buffer.get(size_t(std::max<int64_t>(packedFloats, 1)));
    for (const auto &[source, offset] : packedAt) {
      const auto &[src, dim] = source;
      for (int64_t c = 0; c < dim; ++c) {
        float *row = packed + offset + c * stride;
        for (int64_t j = 0; j < nReduced; ++j)
          row[j] = src[j * dim + c];
        std::fill(row + nReduced, row + stride, 0.0f);
      }
    }
    for (int64_t q = 0; q < entries; ++q)
      for (size_t k = 0; k < numVars; ++k)
        if (r.variables[k].category == reduced) {
          const float *&arg = argv[size_t(q) * numVars + k];
          arg = packed + packedAt.at({arg, r.variables[k].dim});
        }

    // Split each entry's output rows; the tasks of all entries share the pool (a batch of small
    // problems uses every thread). Small work is not worth waking threads for.
    const int64_t nOut = call.nOut;
    constexpr int64_t kMinPairsPerThread = int64_t(1) << 15;
    int64_t threads = std::min(call.threads, 1024);
    int64_t pairs = nReduced == 0 ? 0 : nOut > INT64_MAX / nReduced ? INT64_MAX : nOut * nReduced;
    pairs = pairs > INT64_MAX / entries ? INT64_MAX : pairs * entries;
    threads = std::max<int64_t>(1, std::min<int64_t>(threads, pairs / kMinPairsPerThread));
    // Tasks per entry: about 4 per thread overall, at least one.
    int64_t chunks = threads == 1 ? 1 : std::min<int64_t>(nOut, (threads * 4 + entries - 1) / entries);
    // Written so that no intermediate exceeds nOut (nOut may be close to INT64_MAX).
    int64_t chunkRows = (nOut - 1) / chunks + 1;
    if (chunks > 1 && chunkRows >= 16)
      chunkRows = (chunkRows - 1) / 8 * 8 + 8;
    chunks = (nOut - 1) / chunkRows + 1;

    const int64_t valueStride = nOut * r.valueDim, indexStride = nOut * r.indexDim;
    KernelFn fn = e.fn;
    // The kernel takes the whole arrays and writes rows [begin, end) of each output it has.
    std::function<void(int64_t)> body = [&](int64_t task) {
      const int64_t entry = task / chunks, chunk = task % chunks;
      int64_t begin = chunk * chunkRows;
      int64_t end = std::min(nOut, begin + chunkRows);
      fn(argv.data() + size_t(entry) * numVars,
         call.values ? call.values + entry * valueStride : nullptr,
         call.indices ? call.indices + entry * indexStride : nullptr, begin, end, nReduced, stride);
    };
    ThreadPool::global().parallelFor(entries * chunks, int(threads), body);
    buffer.trim();
  }

private:
  /// Maps the object (once; a failure is reported by every call) and resolves the kernels,
  /// each of which must lie inside the object itself: dlsym also searches the object's
  /// dependencies (libc, libm), whose functions are no kernels.
  void mapCode() {
    std::call_once(mapOnce_, [&] {
      try {
        loaded_ = dlopenFromMemory(code_, sourceName_);
        struct link_map *self = nullptr;
        if (::dlinfo(loaded_.handle, RTLD_DI_LINKMAP, &self) != 0 || !self)
          throw Error(ErrorCode::InvalidArtifact,
                      sourceName_ + ": cannot locate its CPU code after loading it");
        for (CpuEntry &e : entries_) {
          if (!e.unavailable.empty() || e.symbol.empty())
            continue;
          ::dlerror();
          void *sym = ::dlsym(loaded_.handle, e.symbol.c_str());
          Dl_info info;
          struct link_map *owner = nullptr;
          if (!sym || !::dladdr1(sym, &info, reinterpret_cast<void **>(&owner), RTLD_DL_LINKMAP) ||
              owner != self)
            throw Error(ErrorCode::InvalidArtifact,
                        sourceName_ + ": its CPU code has no symbol '" + e.symbol +
                            "' of its own (attr cpu.symbol)");
          e.fn = reinterpret_cast<KernelFn>(sym);
        }
      } catch (const Error &err) {
        mapError_ = err.what();
      }
    });
    if (!mapError_.empty())
      throw Error(ErrorCode::InvalidArtifact, mapError_);
  }

  const std::string &code_; // the artifact's ELF bytes (ArtifactContents outlives the backend)
  std::string sourceName_;
  std::once_flag mapOnce_;
  std::string mapError_;
  LoadedCode loaded_;
  std::vector<CpuEntry> entries_;
};

} // namespace

std::vector<std::string> missingCpuFeatures(std::string_view cpuTarget) {
  std::vector<std::string> required, missing;
  std::istringstream words{std::string(cpuTarget)};
  std::string word;
  bool first = true;
  while (words >> word) {
    bool isFirst = first;
    first = false;
    if (word[0] == '+' || word[0] == '-' || word.find(",+") != std::string::npos) {
      // An LLVM feature string: "+avx512f,+avx2,-amx-tile". Only '+' features are required.
      std::istringstream items(word);
      std::string item;
      while (std::getline(items, item, ','))
        if (item.size() > 1 && item[0] == '+')
          required.push_back(item.substr(1));
      continue;
    }
    if (word.rfind("x86-64", 0) == 0) {
      // An x86-64 level (CPU name): implies its features, and the architecture.
      if (isFirst && normalizeArch("x86_64") != kHostArch)
        missing.push_back("architecture x86_64");
      for (std::string &f : levelFeatures(word))
        required.push_back(f);
      continue;
    }
    if (isFirst) {
      // The architecture or target triple: "x86_64", "x86_64-unknown-linux-gnu", "aarch64-...".
      std::string arch = normalizeArch(word.substr(0, word.find('-')));
      if (arch != kHostArch)
        missing.push_back("architecture " + arch + " (this host is " + kHostArch + ")");
    }
    // Any other word is a CPU name (skylake-avx512, znver4, generic): informational.
  }
  for (const std::string &f : required)
    if (hostHasFeature(f) == 0 &&
        std::find(missing.begin(), missing.end(), f) == missing.end())
      missing.push_back(f);
  return missing;
}

std::unique_ptr<Backend> createCpuBackend(const ArtifactContents &contents,
                                          const std::string &sourceName) {
  return std::make_unique<CpuBackend>(contents, sourceName);
}

} // namespace kconv
