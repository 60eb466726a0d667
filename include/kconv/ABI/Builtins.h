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

/// The reduction kinds the dialect has (each is an mlir::kconv::ReductionKind case).
enum class BuiltinReduction {
#define KCONV_REDUCTION(Kind, KeOps) Kind,
#include "kconv/ABI/Builtins.def"
};

struct BuiltinReductionInfo {
  BuiltinReduction kind;
  std::string_view keops;
};

inline constexpr BuiltinReductionInfo kReductions[] = {
#define KCONV_REDUCTION(Kind, KeOps) {BuiltinReduction::Kind, KeOps},
#include "kconv/ABI/Builtins.def"
};

inline constexpr std::string_view kUnsupportedKeOpsReductions[] = {
#define KCONV_UNSUPPORTED_REDUCTION(KeOps) KeOps,
#include "kconv/ABI/Builtins.def"
};

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
