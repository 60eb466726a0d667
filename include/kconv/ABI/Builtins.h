//===- Builtins.h - the formula op table (Builtins.def) as C++ --*- C++ -*-===//
//
// MLIR-free: included by the frontend, the metadata writer and the runtime's reference evaluator.
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_ABI_BUILTINS_H
#define KCONV_ABI_BUILTINS_H

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kconv {

/// The largest dimension of a variable or of any sub-formula (docs/formula-language.md, Limits).
inline constexpr int64_t kMaxFormulaDim = 65536;

enum class BuiltinOp {
#define KCONV_OP(Id, KeOps, Mnemonic, Operands, IntArg, Dim) Id,
#include "kconv/ABI/Builtins.def"
};

/// The integer (or constant) argument of an op besides its formula operands.
enum class IntArg { None, PowExponent, ElemIndex, Value };

/// How an op's result dimension follows from its operands' (Builtins.def says what each means).
enum class DimRule { Same, Broadcast, BroadcastToScalar, Scalar, Scalprod, Concat };

struct BuiltinInfo {
  BuiltinOp op;
  std::string_view keops;    // "" for operator-only ops
  std::string_view mnemonic; // kconv.<mnemonic>, the metadata op name
  unsigned operands;         // formula operands
  IntArg intArg;
  DimRule dim;
};

inline constexpr BuiltinInfo kBuiltinOps[] = {
#define KCONV_OP(Id, KeOps, Mnemonic, Operands, IntArg_, Dim)                                      \
  {BuiltinOp::Id, KeOps, Mnemonic, Operands, IntArg::IntArg_, DimRule::Dim},
#include "kconv/ABI/Builtins.def"
};

inline constexpr std::string_view kUnsupportedKeOpsFunctions[] = {
#define KCONV_UNSUPPORTED_FUNCTION(KeOps) KeOps,
#include "kconv/ABI/Builtins.def"
};

/// The reduction kinds (each is an mlir::kconv::ReductionKind case of the same name).
enum class BuiltinReduction {
#define KCONV_REDUCTION(Kind, KeOps, Mnemonic, K, Weight, Values, Indices) Kind,
#include "kconv/ABI/Builtins.def"
};

/// Whether a reduction takes a weight formula g (Builtins.def, "Weight").
enum class ReductionWeight { None, Optional, Required };
/// How the dimension of an output follows from the reduced formula's F (Builtins.def).
enum class ReductionDims { None, Formula, KFormula, OnePlus };

/// The largest K of KMin_Reduction, ArgKMin_Reduction and KMin_ArgKMin_Reduction (each kernel
/// thread keeps 2*K*F values in registers).
inline constexpr int64_t kMaxReductionK = 64;

struct BuiltinReductionInfo {
  BuiltinReduction kind;
  std::string_view keops;
  std::string_view mnemonic; // the dialect's and the metadata's spelling
  bool takesK;
  ReductionWeight weight;
  ReductionDims values, indices;
};

inline constexpr BuiltinReductionInfo kReductions[] = {
#define KCONV_REDUCTION(Kind, KeOps, Mnemonic, K, Weight, Values, Indices)                        \
  {BuiltinReduction::Kind, KeOps,          Mnemonic,                                               \
   K##_ == Yes_,           ReductionWeight::Weight, ReductionDims::Values, ReductionDims::Indices},
#define Yes_ 1
#define No_ 0
#include "kconv/ABI/Builtins.def"
#undef Yes_
#undef No_
};

/// Other KeOps names of reductions (Builtins.def, KCONV_REDUCTION_ALIAS).
struct ReductionAlias {
  std::string_view keops;
  BuiltinReduction kind;
};
inline constexpr ReductionAlias kReductionAliases[] = {
#define KCONV_REDUCTION_ALIAS(KeOps, Kind) {KeOps, BuiltinReduction::Kind},
#include "kconv/ABI/Builtins.def"
};

inline constexpr std::string_view kUnsupportedKeOpsReductions[] = {
#define KCONV_UNSUPPORTED_REDUCTION(KeOps) KeOps,
#include "kconv/ABI/Builtins.def"
};

inline const BuiltinReductionInfo &getReductionInfo(BuiltinReduction kind) {
  return kReductions[size_t(kind)];
}

/// The reduction a formula file calls by `name` (a KeOps name or an alias), or null.
inline const BuiltinReductionInfo *lookupReductionByKeOpsName(std::string_view name) {
  for (const BuiltinReductionInfo &info : kReductions)
    if (info.keops == name)
      return &info;
  for (const ReductionAlias &alias : kReductionAliases)
    if (alias.keops == name)
      return &getReductionInfo(alias.kind);
  return nullptr;
}

/// The reduction of metadata `kind` / dialect spelling `mnemonic`, or null.
inline const BuiltinReductionInfo *lookupReductionByMnemonic(std::string_view mnemonic) {
  for (const BuiltinReductionInfo &info : kReductions)
    if (info.mnemonic == mnemonic)
      return &info;
  return nullptr;
}

/// The dimensions of a reduction's two outputs: `values` (float, the formula's element type) and
/// `indices` (int64). 0: the reduction has no such output.
struct ReductionOutputDims {
  int64_t values = 0, indices = 0;
};

/// The reduced formula's dimension F from the dimension of the reduction's per-pair value (the
/// yield): the yield itself, or for a kind with a weight the yield minus f's one component.
/// Returns -1 when `yieldDim` cannot be such a kind's yield (a weighted kind needs >= 2).
inline int64_t reducedFormulaDim(const BuiltinReductionInfo &info, int64_t yieldDim) {
  if (info.weight == ReductionWeight::None)
    return yieldDim >= 1 ? yieldDim : -1;
  return yieldDim >= 2 ? yieldDim - 1 : -1;
}

/// The output dimensions of `info` for a yield of `yieldDim` components and K = `k` (ignored
/// unless the kind takes K). Dimensions over 2^62 cannot happen with the language's limits
/// (F <= 65536, K <= kMaxReductionK).
inline ReductionOutputDims reductionOutputDims(const BuiltinReductionInfo &info, int64_t yieldDim,
                                               int64_t k) {
  int64_t f = reducedFormulaDim(info, yieldDim);
  auto dims = [&](ReductionDims rule) -> int64_t {
    switch (rule) {
    case ReductionDims::None:
      return 0;
    case ReductionDims::Formula:
      return f;
    case ReductionDims::KFormula:
      return k * f;
    case ReductionDims::OnePlus:
      return 1 + f;
    }
    return 0;
  };
  return {dims(info.values), dims(info.indices)};
}

/// Whether reductions of this kind can share one kernel whose formula is the concatenation of
/// theirs: each output component depends on its own formula component only and the outputs have
/// the plain [F] layout (no K, no weight), so each member's outputs are a block of columns.
inline bool concatenatesFormulas(const BuiltinReductionInfo &info) {
  return !info.takesK && info.weight == ReductionWeight::None;
}

inline const BuiltinInfo &getBuiltinInfo(BuiltinOp op) { return kBuiltinOps[size_t(op)]; }

/// The row of the op a formula calls by `name` (not the operator-only ones), or null.
inline const BuiltinInfo *lookupBuiltinByKeOpsName(std::string_view name) {
  for (const BuiltinInfo &info : kBuiltinOps)
    if (!info.keops.empty() && info.keops == name)
      return &info;
  return nullptr;
}

/// The row of the op with this mnemonic (kconv.<mnemonic>, metadata `op` lines), or null.
inline const BuiltinInfo *lookupBuiltinByMnemonic(std::string_view mnemonic) {
  for (const BuiltinInfo &info : kBuiltinOps)
    if (info.mnemonic == mnemonic)
      return &info;
  return nullptr;
}

/// The attribute that holds an op's integer/constant argument in the kconv dialect.
inline constexpr std::string_view getIntArgAttrName(IntArg arg) {
  return arg == IntArg::PowExponent ? "exponent"
         : arg == IntArg::ElemIndex ? "index"
         : arg == IntArg::Value     ? "value"
                                    : "";
}

} // namespace kconv

#endif // KCONV_ABI_BUILTINS_H
