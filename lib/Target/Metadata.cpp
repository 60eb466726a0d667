//===- Metadata.cpp - formula serialization for the artifact metadata ----===//
//
// Each formula op is one `op` line named by its Builtins.def mnemonic, with its integer or
// constant attribute (the row's IntArg) as int= or real=: what the reference evaluator reads.
//
//===----------------------------------------------------------------------===//
#include "kconv/ABI/Builtins.h"
#include "kconv/Dialect/Kconv/IR/KconvOps.h"
#include "kconv/Target/CPU.h"

using namespace mlir;
using mlir::kconv::ReductionOp;
using mlir::kconv::getFormulaDim;

namespace kconv {
FailureOr<ReductionInfo> serializeReduction(ReductionOp reduction) {
  ::kconv::ReductionInfo info;
  info.name = reduction.getSymName().str();
  info.kind = mlir::kconv::stringifyReductionKind(reduction.getKind()).str();
  info.axis = int(reduction.getAxis());
  Type elementType = reduction.getElementType();
  if (elementType.isF32())
    info.dtype = "f32";
  else if (elementType.isF64())
    info.dtype = "f64";
  else if (elementType.isF16())
    info.dtype = "f16";
  else
    return reduction.emitOpError("unsupported element type ") << elementType;
  info.k = reduction.getKOrOne();
  info.valueDim = reduction.getValueDim();
  info.indexDim = reduction.getIndexDim();
  if (ArrayAttr fuses = reduction.getFusesAttr())
    for (auto member : fuses.getAsRange<FlatSymbolRefAttr>())
      info.fuses.push_back(member.getValue().str());

  Block &body = reduction.getBody().front();
  DenseMap<Value, int64_t> ids;
  for (auto [arg, var] : llvm::zip(body.getArguments(), reduction.getVariableAttrs())) {
    ::kconv::VariableInfo v;
    v.name = var.getName().str();
    switch (var.getCategory()) {
    case mlir::kconv::VarCategory::Vi:
      v.category = ::kconv::VarCategory::Vi;
      break;
    case mlir::kconv::VarCategory::Vj:
      v.category = ::kconv::VarCategory::Vj;
      break;
    case mlir::kconv::VarCategory::Pm:
      v.category = ::kconv::VarCategory::Pm;
      break;
    }
    v.dim = var.getDim();
    ids[arg] = int64_t(ids.size());
    info.variables.push_back(std::move(v));
  }
  for (Operation &op : body.without_terminator()) {
    if (op.getNumResults() != 1)
      return op.emitOpError("cannot be serialized: expected one result");
    const ::kconv::BuiltinInfo *builtin =
        ::kconv::lookupBuiltinByMnemonic(op.getName().stripDialect());
    if (!builtin)
      return op.emitOpError("cannot be serialized: not a formula op of Builtins.def");
    ::kconv::FormulaOp f;
    f.name = std::string(builtin->mnemonic);
    f.dim = getFormulaDim(op.getResult(0).getType());
    for (Value operand : op.getOperands()) {
      auto it = ids.find(operand);
      if (it == ids.end())
        return op.emitOpError("cannot be serialized: operand defined outside the formula");
      f.operands.push_back(it->second);
    }
    StringRef attrName(::kconv::getIntArgAttrName(builtin->intArg));
    switch (builtin->intArg) {
    case ::kconv::IntArg::None:
      break;
    case ::kconv::IntArg::PowExponent:
    case ::kconv::IntArg::ElemIndex:
      if (auto attr = op.getAttrOfType<IntegerAttr>(attrName))
        f.integer = attr.getInt();
      else
        return op.emitOpError("cannot be serialized: no integer attribute '") << attrName << "'";
      break;
    case ::kconv::IntArg::Value:
      if (auto attr = op.getAttrOfType<FloatAttr>(attrName))
        f.real = attr.getValueAsDouble();
      else
        return op.emitOpError("cannot be serialized: no float attribute '") << attrName << "'";
      break;
    }
    ids[op.getResult(0)] = int64_t(ids.size());
    info.formula.push_back(std::move(f));
  }
  info.yield = ids.lookup(reduction.getYield().getValue());
  return info;
}
} // namespace kconv
