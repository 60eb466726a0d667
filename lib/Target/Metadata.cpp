//===- Metadata.cpp - formula serialization for the artifact metadata ----===//
#include "kconv/Dialect/Kconv/IR/KconvOps.h"
#include "kconv/Target/CPU.h"

using namespace mlir;
using mlir::kconv::ConstantOp;
using mlir::kconv::ElemOp;
using mlir::kconv::PowOp;
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
  info.outputDim = reduction.getOutputDim();

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
    ::kconv::FormulaOp f;
    f.name = op.getName().stripDialect().str();
    f.dim = getFormulaDim(op.getResult(0).getType());
    for (Value operand : op.getOperands()) {
      auto it = ids.find(operand);
      if (it == ids.end())
        return op.emitOpError("cannot be serialized: operand defined outside the formula");
      f.operands.push_back(it->second);
    }
    if (auto pow = dyn_cast<PowOp>(op))
      f.integer = pow.getExponent();
    else if (auto elem = dyn_cast<ElemOp>(op))
      f.integer = elem.getIndex();
    else if (auto constant = dyn_cast<ConstantOp>(op))
      f.real = constant.getValue().convertToDouble();
    ids[op.getResult(0)] = int64_t(ids.size());
    info.formula.push_back(std::move(f));
  }
  info.yield = ids.lookup(reduction.getYield().getValue());
  return info;
}
} // namespace kconv
