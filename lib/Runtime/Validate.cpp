//===- Validate.cpp - check an artifact without running any of its code ---===//
//
// An artifact is native code; its metadata tells the runtime how to call it. Everything the
// runtime relies on is checked here, at load time, before the CPU object is mapped:
//  - every metadata value is bounded (KernelABI.h: dimensions as the language allows, block, tile,
//    rows per thread > 0 and within the hardware's limits), names are identifiers and unique;
//  - entry points have the ABI's names (attr cpu.symbol is kconv_cpu_NAME, gpu.kernel* the
//    kconv_gpu_NAME... names), so metadata cannot point the runtime at another function;
//  - the CPU object (read as ELF bytes, never executed) defines each kernel as a function and
//    exports its ABI descriptor, which must agree with the metadata (variables, categories,
//    dimensions, output dimensions, element type, lanes, kind, k, axis);
//  - the kind is known, k fits it and value_dim / index_dim are what the kind gives the yield;
//  - each GPU kernel named by the metadata is a PTX .entry with the ABI's parameter count.
//
//===----------------------------------------------------------------------===//
#include "Elf.h"
#include "kconv/ABI/Builtins.h"
#include "kconv/ABI/KernelABI.h"
#include "kconv/Runtime/Runtime.h"

#include <algorithm>
#include <charconv>
#include <set>

namespace kconv {
namespace {

/// Most ops in one serialized formula (the frontend's depth and dimension limits keep real
/// formulas far below).
constexpr size_t kMaxFormulaOps = size_t(1) << 20;

class Checker {
public:
  Checker(const ArtifactContents &contents, std::string_view sourceName)
      : contents(contents), source(sourceName) {}

  void run() {
    std::set<std::string_view> names;
    for (const ReductionInfo &r : contents.reductions)
      if (!names.insert(r.name).second)
        fail("two reductions named '" + r.name + "'");
    for (const ReductionInfo &r : contents.reductions)
      checkMetadata(r);
    for (const ReductionInfo &r : contents.reductions)
      if (!r.fuses.empty())
        checkFused(r);
    checkCpuObject();
    checkPtx();
  }

private:
  [[noreturn]] void fail(const std::string &what) const {
    throw Error(ErrorCode::InvalidArtifact, std::string(source) + ": " + what);
  }
  [[noreturn]] void fail(const ReductionInfo &r, const std::string &what) const {
    fail("reduction '" + r.name + "': " + what);
  }

  static bool isIdentifier(std::string_view name) {
    if (name.empty() || name.size() > 256 || (name[0] >= '0' && name[0] <= '9'))
      return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_';
    });
  }

  const std::string *attribute(const ReductionInfo &r, const char *key) const {
    auto it = r.attributes.find(key);
    return it == r.attributes.end() ? nullptr : &it->second;
  }

  /// The integer attribute `key` (absent: `fallback`), which must lie in [min, max].
  int64_t integer(const ReductionInfo &r, const char *key, int64_t fallback, int64_t min,
                  int64_t max) const {
    const std::string *text = attribute(r, key);
    if (!text)
      return fallback;
    int64_t value = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc() || end != text->data() + text->size() || value < min || value > max)
      fail(r, "attribute " + std::string(key) + " must be an integer from " +
                  std::to_string(min) + " to " + std::to_string(max) + ", got '" + *text + "'");
    return value;
  }

  void checkDim(const ReductionInfo &r, int64_t dim, const std::string &what) const {
    if (dim < 1 || dim > abi::kMaxDim)
      fail(r, what + " has dimension " + std::to_string(dim) + " (the language allows 1 to " +
                  std::to_string(abi::kMaxDim) + ")");
  }

  /// A known kind, its k, and value_dim / index_dim as the kind gives them from the yield's
  /// dimension (Builtins.def; docs/reductions.md).
  void checkKind(const ReductionInfo &r) const {
    const BuiltinReductionInfo *kind = lookupReductionByMnemonic(r.kind);
    if (!kind) {
      std::string known;
      for (const BuiltinReductionInfo &row : kReductions)
        known += (known.empty() ? "" : ", ") + std::string(row.mnemonic);
      fail(r, "unknown reduction kind '" + r.kind.substr(0, 64) + "' (known: " + known + ")");
    }
    const std::string name(kind->keops);
    if (kind->takesK && (r.k < 1 || r.k > kMaxReductionK))
      fail(r, name + " needs k from 1 to " + std::to_string(kMaxReductionK) + ", got " +
                  std::to_string(r.k));
    if (!kind->takesK && r.k != 1)
      fail(r, name + " takes no K: k must be 1, got " + std::to_string(r.k));
    const size_t nVars = r.variables.size();
    if (r.yield < 0 || size_t(r.yield) >= nVars + r.formula.size())
      fail(r, "yield of an undefined value " + std::to_string(r.yield));
    const int64_t yieldDim = size_t(r.yield) < nVars ? r.variables[size_t(r.yield)].dim
                                                     : r.formula[size_t(r.yield) - nVars].dim;
    if (reducedFormulaDim(*kind, yieldDim) < 1)
      fail(r, name + " reduces Concat(f, g): its yield needs at least 2 components, got " +
                  std::to_string(yieldDim));
    const ReductionOutputDims dims = reductionOutputDims(*kind, yieldDim, r.k);
    if (dims.values != r.valueDim || dims.indices != r.indexDim)
      fail(r, "value_dim " + std::to_string(r.valueDim) + " and index_dim " +
                  std::to_string(r.indexDim) + " do not fit " + name + " of a yield of dimension " +
                  std::to_string(yieldDim) + " (k = " + std::to_string(r.k) + "): expected " +
                  std::to_string(dims.values) + " and " + std::to_string(dims.indices));
  }

  /// A fused reduction computes its members exactly: same kind (one that concatenates), axis and
  /// dtype, its variables the union of theirs, its outputs their outputs side by side.
  void checkFused(const ReductionInfo &r) const {
    if (r.fuses.size() < 2)
      fail(r, "fuses " + std::to_string(r.fuses.size()) + " reduction (at least 2)");
    const BuiltinReductionInfo *kind = lookupReductionByMnemonic(r.kind);
    if (!concatenatesFormulas(*kind))
      fail(r, "kind " + r.kind + " cannot fuse reductions (its outputs are not per component)");
    std::set<std::string_view> members, variables;
    int64_t valueDim = 0, indexDim = 0;
    for (const std::string &name : r.fuses) {
      auto member = std::find_if(contents.reductions.begin(), contents.reductions.end(),
                                 [&](const ReductionInfo &m) { return m.name == name; });
      if (member == contents.reductions.end() || !member->fuses.empty())
        fail(r, "fuses '" + name.substr(0, 64) + "', which is not an unfused reduction of the "
                "artifact");
      if (!members.insert(name).second)
        fail(r, "fuses '" + name + "' twice");
      if (member->kind != r.kind || member->axis != r.axis || member->dtype != r.dtype)
        fail(r, "fuses '" + name + "' of another kind, axis or dtype");
      for (const VariableInfo &v : member->variables) {
        auto same = std::find_if(r.variables.begin(), r.variables.end(), [&](const VariableInfo &u) {
          return u.name == v.name && u.category == v.category && u.dim == v.dim;
        });
        if (same == r.variables.end())
          fail(r, "lacks variable '" + v.name + "' of the reduction '" + name + "' it fuses");
        variables.insert(v.name);
      }
      valueDim += member->valueDim;
      indexDim += member->indexDim;
    }
    if (variables.size() != r.variables.size())
      fail(r, "has variables that none of the reductions it fuses has");
    if (valueDim != r.valueDim || indexDim != r.indexDim)
      fail(r, "value_dim " + std::to_string(r.valueDim) + " and index_dim " +
                  std::to_string(r.indexDim) + " are not the sums of its members' (" +
                  std::to_string(valueDim) + " and " + std::to_string(indexDim) + ")");
  }

  void checkMetadata(const ReductionInfo &r) const {
    if (!isIdentifier(r.name))
      fail("reduction name '" + r.name.substr(0, 64) + "' is not an identifier");
    if (!abi::parseElementType(r.dtype))
      fail(r, "unknown dtype '" + r.dtype + "' (expected f16, f32 or f64)");
    if (r.variables.size() > size_t(abi::kMaxVariables))
      fail(r, std::to_string(r.variables.size()) + " variables (at most " +
                  std::to_string(abi::kMaxVariables) + ")");
    std::set<std::string_view> names;
    for (const VariableInfo &v : r.variables) {
      if (!isIdentifier(v.name))
        fail(r, "variable name '" + v.name.substr(0, 64) + "' is not an identifier");
      if (!names.insert(v.name).second)
        fail(r, "two variables named '" + v.name + "'");
      checkDim(r, v.dim, "variable '" + v.name + "'");
    }
    if (r.formula.size() > kMaxFormulaOps)
      fail(r, "its formula has " + std::to_string(r.formula.size()) + " ops (at most " +
                  std::to_string(kMaxFormulaOps) + ")");
    for (size_t k = 0; k < r.formula.size(); ++k)
      checkDim(r, r.formula[k].dim, "op " + std::to_string(k) + " (" + r.formula[k].name + ")");
    checkKind(r);

    // CPU entry point and parameters.
    if (const std::string *symbol = attribute(r, abi::key::kCpuSymbol))
      if (!symbol->empty() && *symbol != abi::cpuKernelName(r.name))
        fail(r, "attr cpu.symbol must be the ABI's name " + abi::cpuKernelName(r.name) +
                    ", got '" + symbol->substr(0, 64) + "'");
    integer(r, abi::key::kCpuLanes, 1, 1, abi::kMaxCpuLanes);
    integer(r, abi::key::kCpuJBlock, 1, 1, abi::kMaxCpuJBlock);
    integer(r, abi::key::kCpuFastMath, 0, 0, 1);

    // GPU kernels and launch parameters.
    for (abi::GpuVariant variant :
         {abi::GpuVariant::Rows, abi::GpuVariant::OneRow, abi::GpuVariant::Small})
      for (bool splitj : {false, true}) {
        const char *key = abi::gpuKernelKey(variant, splitj);
        if (!key)
          continue;
        const std::string *name = attribute(r, key);
        std::string expected = abi::gpuKernelName(r.name, variant, splitj);
        if (name && *name != expected)
          fail(r, "attr " + std::string(key) + " must be the ABI's name " + expected + ", got '" +
                      name->substr(0, 64) + "'");
        // The runtime zeroes the values and lets split-j kernels add into them.
        if (name && splitj && r.kind != "sum")
          fail(r, "attr " + std::string(key) + ": a " + r.kind +
                      " reduction has no split-j kernel (only sum partial results merge by "
                      "atomic adds)");
      }
    int64_t block = integer(r, abi::key::kGpuBlock, 256, 1, abi::kMaxGpuBlock);
    integer(r, abi::key::kGpuRowsPerThread, 1, 1, abi::kMaxGpuRowsPerThread);
    integer(r, abi::key::kGpuTile, block, 1, abi::kMaxGpuTile);
    integer(r, abi::key::kGpuSharedBytes, 0, 0, abi::kMaxGpuSharedBytes);
    if (attribute(r, abi::key::kGpuKernelSmall) || attribute(r, abi::key::kGpuSmallRows)) {
      if (!attribute(r, abi::key::kGpuSmallRows))
        fail(r, "attr gpu.kernel_small needs attr gpu.small_rows");
      int64_t smallRows = integer(r, abi::key::kGpuSmallRows, 0, 1, block);
      if (block % smallRows != 0)
        fail(r, "attr gpu.small_rows (" + std::to_string(smallRows) +
                    ") must divide gpu.block (" + std::to_string(block) + ")");
    }
  }

  /// The descriptor the metadata implies for `r`'s CPU kernel.
  static abi::CpuAbiDescriptor expectedDescriptor(const ReductionInfo &r, int64_t lanes) {
    abi::CpuAbiDescriptor d;
    d.kind = r.kind;
    d.axis = r.axis;
    d.dtype = r.dtype;
    d.k = r.k;
    d.valueDim = r.valueDim;
    d.indexDim = r.indexDim;
    d.lanes = lanes;
    for (const VariableInfo &v : r.variables)
      d.variables.push_back({toString(v.category)[0], v.dim});
    return d;
  }

  void compare(const ReductionInfo &r, const abi::CpuAbiDescriptor &code,
               const abi::CpuAbiDescriptor &meta) const {
    auto mismatch = [&](const std::string &what, const std::string &inMetadata,
                        const std::string &inCode) {
      fail(r, "the metadata does not match the CPU code's ABI descriptor (" +
                  abi::cpuAbiSymbolName(r.name) + "): " + what + " is " + inMetadata +
                  " in the metadata but " + inCode + " in the code");
    };
    if (code.version != meta.version)
      mismatch("the ABI version", std::to_string(meta.version), std::to_string(code.version));
    if (code.kind != meta.kind)
      mismatch("the kind", meta.kind, code.kind);
    if (code.axis != meta.axis)
      mismatch("the axis", std::to_string(meta.axis), std::to_string(code.axis));
    if (code.dtype != meta.dtype)
      mismatch("the dtype", meta.dtype, code.dtype);
    if (code.k != meta.k)
      mismatch("k", std::to_string(meta.k), std::to_string(code.k));
    if (code.valueDim != meta.valueDim)
      mismatch("value_dim", std::to_string(meta.valueDim), std::to_string(code.valueDim));
    if (code.indexDim != meta.indexDim)
      mismatch("index_dim", std::to_string(meta.indexDim), std::to_string(code.indexDim));
    if (code.lanes != meta.lanes)
      mismatch("cpu.lanes", std::to_string(meta.lanes), std::to_string(code.lanes));
    if (code.variables.size() != meta.variables.size())
      mismatch("the variable count", std::to_string(meta.variables.size()),
               std::to_string(code.variables.size()));
    for (size_t k = 0; k < code.variables.size(); ++k)
      if (code.variables[k] != meta.variables[k])
        mismatch("variable " + std::to_string(k) + " (" + r.variables[k].name + ")",
                 std::string(1, meta.variables[k].first) + " " +
                     std::to_string(meta.variables[k].second),
                 std::string(1, code.variables[k].first) + " " +
                     std::to_string(code.variables[k].second));
  }

  void checkCpuObject() const {
    if (contents.cpuSharedObject.empty())
      return;
    std::string why;
    std::optional<elf::Object> object = elf::Object::parse(contents.cpuSharedObject, why);
    if (!object)
      fail("its CPU code is not a usable shared object: " + why);
    // Code for another architecture is refused at run time by the cpu.target rule (listing it
    // still works); its symbols are checked all the same.
    for (const ReductionInfo &r : contents.reductions) {
      const std::string *symbol = attribute(r, abi::key::kCpuSymbol);
      if (!symbol || symbol->empty())
        continue;
      const elf::Symbol *kernel = object->findDefined(*symbol);
      if (!kernel || !object->isFunctionInCode(*kernel))
        fail("its CPU code has no function '" + *symbol + "' (attr cpu.symbol)");
      std::string descriptorName = abi::cpuAbiSymbolName(r.name);
      const elf::Symbol *descriptor = object->findDefined(descriptorName);
      if (!descriptor)
        fail(r, "its CPU code exports no ABI descriptor '" + descriptorName +
                    "' (compiled by an older kconv? recompile it)");
      std::optional<std::string_view> text = object->cString(*descriptor);
      std::optional<abi::CpuAbiDescriptor> parsed;
      if (text)
        parsed = abi::CpuAbiDescriptor::parse(*text);
      if (!parsed)
        fail(r, "its CPU code's ABI descriptor '" + descriptorName + "' is malformed");
      compare(r, *parsed, expectedDescriptor(r, integer(r, abi::key::kCpuLanes, 1, 1,
                                                       abi::kMaxCpuLanes)));
    }
  }

  /// The number of `.param` declarations of PTX kernel `name`, or -1 if there is no such .entry.
  int64_t ptxParamCount(const std::string &name) const {
    const std::string &ptx = contents.ptx;
    for (size_t at = ptx.find(".entry"); at != std::string::npos;
         at = ptx.find(".entry", at + 6)) {
      size_t p = at + 6;
      while (p < ptx.size() && (ptx[p] == ' ' || ptx[p] == '\t'))
        ++p;
      if (ptx.compare(p, name.size(), name) != 0)
        continue;
      p += name.size();
      while (p < ptx.size() && (ptx[p] == ' ' || ptx[p] == '\t' || ptx[p] == '\n'))
        ++p;
      if (p >= ptx.size() || ptx[p] != '(')
        continue; // a longer name with this one as prefix
      size_t close = ptx.find(')', p);
      if (close == std::string::npos)
        return -1;
      int64_t count = 0;
      for (size_t q = ptx.find(".param", p); q < close; q = ptx.find(".param", q + 6))
        ++count;
      return count;
    }
    return -1;
  }

  void checkPtx() const {
    if (contents.ptx.empty())
      return;
    for (const ReductionInfo &r : contents.reductions)
      for (abi::GpuVariant variant :
           {abi::GpuVariant::Rows, abi::GpuVariant::OneRow, abi::GpuVariant::Small})
        for (bool splitj : {false, true}) {
          const char *key = abi::gpuKernelKey(variant, splitj);
          const std::string *name = key ? attribute(r, key) : nullptr;
          if (!name)
            continue;
          int64_t params = ptxParamCount(*name);
          int64_t expected = int64_t(abi::gpuKernelParamCount(r.variables.size()));
          if (params < 0)
            fail(r, "its PTX has no kernel '" + *name + "' (attr " + key + ")");
          if (params != expected)
            fail(r, "the PTX kernel " + *name + " takes " + std::to_string(params) +
                        " parameters, but the metadata's " + std::to_string(r.variables.size()) +
                        " variables make " + std::to_string(expected) +
                        " (one pointer per variable, values, indices, nOut, nReduced, jChunk, "
                        "batchBase, the batch sizes and strides: KernelABI.h)");
        }
  }

  const ArtifactContents &contents;
  std::string_view source;
};

} // namespace

void validateArtifact(const ArtifactContents &contents, std::string_view sourceName) {
  Checker(contents, sourceName).run();
}

} // namespace kconv
