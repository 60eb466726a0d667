//===- KernelABI.h - the kernel ABI shared by compiler and runtime -*- C++ -*-===//
//
// Everything the compiler, the GPU emulator and the runtime must agree on to call a kconv kernel,
// in one MLIR-free, LLVM-free C++17 header (docs/architecture.md, "CPU kernel ABI" and "GPU
// kernel ABI"):
//   - kernel symbol names: kconv_cpu_NAME, kconv_gpu_NAME[_r1|_small][_splitj], and the CPU
//     object's ABI descriptor symbol kconv_cpu_NAME_abi;
//   - the GPU kernel variants;
//   - every metadata attribute key (attr cpu.* / gpu.* lines);
//   - the bounds a metadata value must respect (the runtime refuses others);
//   - the rounding rules (CPU reduced stride and j-block, GPU j-chunk);
//   - element types and their sizes;
//   - the CPU ABI descriptor: a NUL-terminated string constant the CPU object exports, which the
//     runtime reads from the ELF file (without running it) and compares with the metadata.
//
// Spell the namespace kconv::abi outside namespace kconv: <cxxabi.h> (included by gtest and
// parts of LLVM) declares a global namespace alias ::abi.
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_ABI_KERNELABI_H
#define KCONV_ABI_KERNELABI_H

#include "kconv/ABI/BatchLayout.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kconv::abi {

//===----------------------------------------------------------------------===//
// Symbol names
//===----------------------------------------------------------------------===//

/// Prefix of every CPU kernel: `kconv_cpu_NAME` for reduction NAME.
constexpr std::string_view kCpuKernelPrefix = "kconv_cpu_";
/// Prefix of every GPU kernel: `kconv_gpu_NAME...`.
constexpr std::string_view kGpuKernelPrefix = "kconv_gpu_";
/// Suffix of the CPU ABI descriptor's symbol: `kconv_cpu_NAME_abi`.
constexpr std::string_view kCpuAbiSuffix = "_abi";

/// The CPU entry point of reduction `reduction` (the only value `attr cpu.symbol` may have).
inline std::string cpuKernelName(std::string_view reduction) {
  return std::string(kCpuKernelPrefix) + std::string(reduction);
}

/// The symbol of the CPU ABI descriptor string of reduction `reduction`.
inline std::string cpuAbiSymbolName(std::string_view reduction) {
  return cpuKernelName(reduction) + std::string(kCpuAbiSuffix);
}

/// The GPU kernel families of one reduction (all take the same parameters).
enum class GpuVariant {
  Rows,   ///< kconv_gpu_NAME: gpu.rows_per_thread output rows per thread
  OneRow, ///< kconv_gpu_NAME_r1: one output row per thread (present when R > 1)
  Small,  ///< kconv_gpu_NAME_small: a block's slices share the reduced range (no split-j form)
};

/// `kconv_gpu_NAME[_r1|_small][_splitj]`. `splitj` with Small is not a kernel that exists; the
/// name is still built (callers check the combination with gpuVariantHasSplitj).
inline std::string gpuKernelName(std::string_view reduction, GpuVariant variant, bool splitj) {
  std::string name = std::string(kGpuKernelPrefix) + std::string(reduction);
  if (variant == GpuVariant::OneRow)
    name += "_r1";
  else if (variant == GpuVariant::Small)
    name += "_small";
  if (splitj)
    name += "_splitj";
  return name;
}

/// Whether a split-j (blockIdx.y over the reduced range, atomic adds) form of `variant` exists.
constexpr bool gpuVariantHasSplitj(GpuVariant variant) { return variant != GpuVariant::Small; }

/// The `kconv.variant` attribute value of a GPU kernel ("plain", "splitj", "small").
inline const char *gpuVariantAttrValue(GpuVariant variant, bool splitj) {
  return variant == GpuVariant::Small ? "small" : splitj ? "splitj" : "plain";
}

/// The (variant, splitj) whose name gpuKernelName(reduction, ...) is `kernel`; false if none.
inline bool parseGpuKernelName(std::string_view reduction, std::string_view kernel,
                               GpuVariant &variant, bool &splitj) {
  for (GpuVariant v : {GpuVariant::Rows, GpuVariant::OneRow, GpuVariant::Small})
    for (bool s : {false, true})
      if ((!s || gpuVariantHasSplitj(v)) && gpuKernelName(reduction, v, s) == kernel) {
        variant = v;
        splitj = s;
        return true;
      }
  return false;
}

/// GPU kernel parameters after the V variable pointers: values, indices (pointers), nOut,
/// nReduced, jChunk, batchBase (int32); then the batch (BatchLayout.h): kGpuBatchRank int32 sizes
/// and, per variable, kGpuBatchRank int64 strides (elements). Block (x, y, z) computes rows
/// x, reduced chunk y of batch entry batchBase + z; the outputs it writes are those of entry z
/// (the caller offsets the output pointers to the launch's first entry).
constexpr size_t kGpuTrailingParams = 6;
/// Parameter count of every GPU kernel of a reduction with `numVariables` variables.
constexpr size_t gpuKernelParamCount(size_t numVariables) {
  return numVariables + kGpuTrailingParams + kGpuBatchRank * (1 + numVariables);
}
/// Bytes of those parameters (pointers and strides 8, the int32 4).
constexpr size_t gpuKernelParamBytes(size_t numVariables) {
  return 8 * numVariables + 16 + 4 * 4 + 4 * kGpuBatchRank + 8 * kGpuBatchRank * numVariables;
}
/// The kernel parameter space every CUDA GPU and PTX version offers (4 KiB).
constexpr size_t kGpuMaxParamBytes = 4096;
/// blockIdx.z's limit: the batch entries of one launch.
constexpr int64_t kGpuMaxBatchPerLaunch = 65535;

//===----------------------------------------------------------------------===//
// Metadata attribute keys (`attr KEY VALUE` lines of a reduction)
//===----------------------------------------------------------------------===//

namespace key {
// CPU
constexpr const char *kCpuSymbol = "cpu.symbol";       ///< the CPU kernel: cpuKernelName(NAME)
constexpr const char *kCpuLanes = "cpu.lanes";         ///< floats per vector; reduced stride unit
constexpr const char *kCpuJBlock = "cpu.jblock";       ///< reduced rows per block sum
constexpr const char *kCpuFastMath = "cpu.fast_math";  ///< 1: polynomial exp/log, FTZ/DAZ
constexpr const char *kCpuTarget = "cpu.target";       ///< "TRIPLE CPU +feature,..."
// GPU
constexpr const char *kGpuKernel = "gpu.kernel";                  ///< Rows, plain
constexpr const char *kGpuKernelSplitj = "gpu.kernel_splitj";     ///< Rows, split-j
constexpr const char *kGpuKernelR1 = "gpu.kernel_r1";             ///< OneRow, plain
constexpr const char *kGpuKernelR1Splitj = "gpu.kernel_r1_splitj"; ///< OneRow, split-j
constexpr const char *kGpuKernelSmall = "gpu.kernel_small";       ///< Small
constexpr const char *kGpuSmallRows = "gpu.small_rows";   ///< output rows per block of Small
constexpr const char *kGpuBlock = "gpu.block";            ///< threads per block (blockDim.x)
constexpr const char *kGpuRowsPerThread = "gpu.rows_per_thread"; ///< R of the Rows kernels
constexpr const char *kGpuTile = "gpu.tile";              ///< reduced rows per shared-memory tile
constexpr const char *kGpuSharedBytes = "gpu.shared_bytes"; ///< static shared memory per block
constexpr const char *kGpuArch = "gpu.arch";              ///< "sm_90": the cubin's architecture
constexpr const char *kGpuFastMath = "gpu.fast_math";     ///< 1: approximate PTX math
constexpr const char *kGpuRegisters = "gpu.registers";    ///< from ptxas -v (informational)
} // namespace key

/// The metadata key naming the kernel of (variant, splitj); null for Small + splitj.
inline const char *gpuKernelKey(GpuVariant variant, bool splitj) {
  switch (variant) {
  case GpuVariant::Rows:
    return splitj ? key::kGpuKernelSplitj : key::kGpuKernel;
  case GpuVariant::OneRow:
    return splitj ? key::kGpuKernelR1Splitj : key::kGpuKernelR1;
  case GpuVariant::Small:
    return splitj ? nullptr : key::kGpuKernelSmall;
  }
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Bounds (the runtime refuses metadata outside them)
//===----------------------------------------------------------------------===//

/// Largest dimension of a variable, an op's value or the output: the formula language's limit
/// (lib/Frontend, docs/formula-language.md "Limits").
constexpr int64_t kMaxDim = 65536;
/// Most variables of one reduction (GPU kernels pass one pointer per variable).
constexpr int64_t kMaxVariables = 4096;
/// CPU vector width in floats (AVX-512: 16; room for wider targets).
constexpr int64_t kMaxCpuLanes = 64;
/// CPU j-block: reduced rows per block sum.
constexpr int64_t kMaxCpuJBlock = int64_t(1) << 24;
/// CUDA's limit on threads per block (blockDim.x).
constexpr int64_t kMaxGpuBlock = 1024;
/// Output rows per GPU thread.
constexpr int64_t kMaxGpuRowsPerThread = 64;
/// Reduced rows per GPU tile (the tile is staged in shared memory).
constexpr int64_t kMaxGpuTile = 65536;
/// Static shared memory per block: 227 KiB on sm_90, the largest of current GPUs.
constexpr int64_t kMaxGpuSharedBytes = 227 * 1024;
/// The GPU kernels take rows < 2^31 (int32 nOut / nReduced / jChunk).
constexpr int64_t kMaxGpuRows = (int64_t(1) << 31) - 1;

//===----------------------------------------------------------------------===//
// Rounding rules
//===----------------------------------------------------------------------===//

/// ceil(n / m) * m for n >= 0, m >= 1; false when the result does not fit in int64.
inline bool roundUp(int64_t n, int64_t m, int64_t &result) {
  int64_t sum;
  if (__builtin_add_overflow(n, m - 1, &sum))
    return false;
  result = sum / m * m;
  return true;
}

/// The CPU kernel's reducedStride: roundUp(nReduced, cpu.lanes).
inline bool cpuReducedStride(int64_t nReduced, int64_t lanes, int64_t &stride) {
  return roundUp(nReduced, lanes, stride);
}

/// The CPU j-block the compiler records (`cpu.jblock`): the requested block rounded up to a
/// multiple of the lanes, at least one vector.
constexpr int64_t cpuJBlock(int64_t requested, int64_t lanes) {
  int64_t rounded = (requested + lanes - 1) / lanes * lanes;
  return rounded > lanes ? rounded : lanes;
}

/// The j-block of one CPU kernel: cpuJBlock, made smaller (whole vectors) when a block of the
/// reduced variables (`reducedFloats` per row) would not stay in a 256 KiB share of the cache:
/// every register block of output rows reads the whole block (wide variables).
constexpr int64_t cpuJBlockFor(int64_t requested, int64_t lanes, int64_t reducedFloats) {
  int64_t block = cpuJBlock(requested, lanes);
  int64_t fitting = (int64_t(256) * 1024 / 4 / (reducedFloats > 1 ? reducedFloats : 1)) / lanes * lanes;
  fitting = fitting > lanes ? fitting : lanes;
  return block < fitting ? block : fitting;
}

/// The GPU jChunk of a split into `chunks` parts of `tiles` tiles of `tile` rows: whole tiles,
/// ceil(tiles / chunks) of them (the last chunk may be shorter).
constexpr int64_t gpuJChunk(int64_t tiles, int64_t chunks, int64_t tile) {
  return (tiles + chunks - 1) / chunks * tile;
}

//===----------------------------------------------------------------------===//
// Element types
//===----------------------------------------------------------------------===//

enum class ElementType { F16, F32, F64 };

/// "f16", "f32", "f64" (the metadata's `dtype` values); nullopt for anything else.
inline std::optional<ElementType> parseElementType(std::string_view text) {
  if (text == "f16")
    return ElementType::F16;
  if (text == "f32")
    return ElementType::F32;
  if (text == "f64")
    return ElementType::F64;
  return std::nullopt;
}

inline const char *toString(ElementType type) {
  switch (type) {
  case ElementType::F16:
    return "f16";
  case ElementType::F32:
    return "f32";
  case ElementType::F64:
    return "f64";
  }
  return "?";
}

/// Bytes per element.
constexpr size_t elementSize(ElementType type) {
  return type == ElementType::F16 ? 2 : type == ElementType::F64 ? 8 : 4;
}

//===----------------------------------------------------------------------===//
// The CPU ABI descriptor
//===----------------------------------------------------------------------===//

/// Version of the CPU kernel ABI (argument layout of docs/architecture.md) and of the descriptor.
constexpr int kCpuAbiVersion = 2; // 2: the indices argument, k, value_dim, index_dim
/// First word of every descriptor string.
constexpr std::string_view kCpuAbiMagic = "kconv-cpu-abi";

/// What a CPU kernel was compiled for, as far as calling it safely goes. The CPU object exports it
/// as the string `cpuAbiSymbolName(NAME)` (a NUL-terminated char array) in the form
///   kconv-cpu-abi 2 kind=sum k=1 axis=1 dtype=f32 value_dim=1 index_dim=0 lanes=16 vars=i3,j3,j1
/// (vars: category i/j/p and dimension of each variable, in argument order). Variable names are
/// not part of the ABI.
struct CpuAbiDescriptor {
  int version = kCpuAbiVersion;
  std::string kind = "sum";
  int64_t k = 1;
  int axis = 1;
  std::string dtype = "f32";
  int64_t valueDim = 1;
  int64_t indexDim = 0;
  int64_t lanes = 1;
  std::vector<std::pair<char, int64_t>> variables; // category ('i', 'j', 'p'), dimension

  std::string format() const {
    std::string s = std::string(kCpuAbiMagic) + " " + std::to_string(version) + " kind=" + kind +
                    " k=" + std::to_string(k) + " axis=" + std::to_string(axis) +
                    " dtype=" + dtype + " value_dim=" + std::to_string(valueDim) +
                    " index_dim=" + std::to_string(indexDim) +
                    " lanes=" + std::to_string(lanes) + " vars=";
    for (size_t k = 0; k < variables.size(); ++k)
      s += (k ? "," : "") + std::string(1, variables[k].first) +
           std::to_string(variables[k].second);
    return s;
  }

  /// Parses format()'s output; nullopt when `text` is not such a string.
  static std::optional<CpuAbiDescriptor> parse(std::string_view text) {
    CpuAbiDescriptor d;
    std::vector<std::string_view> words;
    for (size_t i = 0; i < text.size();) {
      size_t end = text.find(' ', i);
      if (end == std::string_view::npos)
        end = text.size();
      if (end > i)
        words.push_back(text.substr(i, end - i));
      i = end + 1;
    }
    if (words.size() != 10 || words[0] != kCpuAbiMagic)
      return std::nullopt;
    auto integer = [](std::string_view w, int64_t &value) {
      if (w.empty() || w.size() > 18)
        return false;
      value = 0;
      for (char c : w) {
        if (c < '0' || c > '9')
          return false;
        value = value * 10 + (c - '0');
      }
      return true;
    };
    auto field = [&](std::string_view w, std::string_view name, std::string_view &value) {
      if (w.substr(0, name.size()) != name || w.size() <= name.size() || w[name.size()] != '=')
        return false;
      value = w.substr(name.size() + 1);
      return true;
    };
    int64_t number = 0;
    std::string_view value;
    if (!integer(words[1], number))
      return std::nullopt;
    d.version = int(number);
    if (!field(words[2], "kind", value))
      return std::nullopt;
    d.kind = std::string(value);
    if (!field(words[3], "k", value) || !integer(value, d.k))
      return std::nullopt;
    if (!field(words[4], "axis", value) || !integer(value, number) || number > 1)
      return std::nullopt;
    d.axis = int(number);
    if (!field(words[5], "dtype", value))
      return std::nullopt;
    d.dtype = std::string(value);
    if (!field(words[6], "value_dim", value) || !integer(value, d.valueDim))
      return std::nullopt;
    if (!field(words[7], "index_dim", value) || !integer(value, d.indexDim))
      return std::nullopt;
    if (!field(words[8], "lanes", value) || !integer(value, d.lanes))
      return std::nullopt;
    if (words[9].substr(0, 5) != "vars=")
      return std::nullopt;
    std::string_view vars = words[9].substr(5);
    for (size_t i = 0; i < vars.size();) {
      size_t end = vars.find(',', i);
      if (end == std::string_view::npos)
        end = vars.size();
      std::string_view item = vars.substr(i, end - i);
      int64_t dim = 0;
      if (item.size() < 2 || (item[0] != 'i' && item[0] != 'j' && item[0] != 'p') ||
          !integer(item.substr(1), dim))
        return std::nullopt;
      d.variables.push_back({item[0], dim});
      i = end + 1;
    }
    return d;
  }
};

} // namespace kconv::abi

#endif // KCONV_ABI_KERNELABI_H
