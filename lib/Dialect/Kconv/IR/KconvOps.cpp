//===- KconvOps.cpp - kconv operations ----------------------------------===//
#include "kconv/Dialect/Kconv/IR/KconvOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "kconv/ABI/Builtins.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;
using namespace mlir::kconv;

FailureOr<int64_t> mlir::kconv::broadcastDims(int64_t lhs, int64_t rhs) {
  if (lhs == rhs || rhs == 1)
    return lhs;
  if (lhs == 1)
    return rhs;
  return failure();
}

/// Shared by the ops whose result type follows from their operands: emits the diagnostic at the
/// op's location when type inference fails (this is what the verifier reports).
static LogicalResult inferFailure(std::optional<Location> location, const Twine &message) {
  if (location)
    return emitError(*location) << message;
  return failure();
}

static Type elementTypeOf(Value value) { return cast<VectorType>(value.getType()).getElementType(); }

static LogicalResult inferBroadcast(std::optional<Location> location, StringRef opName, Value lhs,
                                    Value rhs, int64_t resultDim /* 0: the broadcast dim */,
                                    SmallVectorImpl<Type> &results) {
  if (elementTypeOf(lhs) != elementTypeOf(rhs))
    return inferFailure(location, "'kconv." + opName + "' operands have different element types");
  int64_t lhsDim = getFormulaDim(lhs.getType()), rhsDim = getFormulaDim(rhs.getType());
  FailureOr<int64_t> dim = broadcastDims(lhsDim, rhsDim);
  if (failed(dim))
    return inferFailure(location, "'kconv." + opName + "' operands have incompatible dimensions " +
                                      Twine(lhsDim) + " and " + Twine(rhsDim) +
                                      " (dimensions must be equal, or one of them 1)");
  results.push_back(getFormulaType(resultDim ? resultDim : *dim, elementTypeOf(lhs)));
  return success();
}

#define KCONV_BROADCAST_INFER(OP, NAME, RESULT_DIM)                                             \
  LogicalResult OP::inferReturnTypes(MLIRContext *, std::optional<Location> location,          \
                                     Adaptor adaptor, SmallVectorImpl<Type> &results) {         \
    return inferBroadcast(location, NAME, adaptor.getLhs(), adaptor.getRhs(), RESULT_DIM,        \
                          results);                                                             \
  }
KCONV_BROADCAST_INFER(AddOp, "add", 0)
KCONV_BROADCAST_INFER(SubOp, "sub", 0)
KCONV_BROADCAST_INFER(MulOp, "mul", 0)
KCONV_BROADCAST_INFER(DivOp, "div", 0)
KCONV_BROADCAST_INFER(SqDistOp, "sqdist", 1)
#undef KCONV_BROADCAST_INFER

#define KCONV_SCALAR_INFER(OP)                                                                  \
  LogicalResult OP::inferReturnTypes(MLIRContext *, std::optional<Location>, Adaptor adaptor,   \
                                     SmallVectorImpl<Type> &results) {                          \
    results.push_back(getFormulaType(1, elementTypeOf(adaptor.getOperand())));                  \
    return success();                                                                           \
  }
KCONV_SCALAR_INFER(SumOp)
KCONV_SCALAR_INFER(SqNorm2Op)
KCONV_SCALAR_INFER(Norm2Op)
#undef KCONV_SCALAR_INFER

LogicalResult ScalprodOp::inferReturnTypes(MLIRContext *, std::optional<Location> location,
                                           Adaptor adaptor, SmallVectorImpl<Type> &results) {
  if (elementTypeOf(adaptor.getLhs()) != elementTypeOf(adaptor.getRhs()))
    return inferFailure(location, "'kconv.scalprod' operands have different element types");
  int64_t lhsDim = getFormulaDim(adaptor.getLhs().getType());
  int64_t rhsDim = getFormulaDim(adaptor.getRhs().getType());
  if (lhsDim != rhsDim)
    return inferFailure(location, "'kconv.scalprod' operands must have the same dimension, got " +
                                      Twine(lhsDim) + " and " + Twine(rhsDim) +
                                      " (no broadcasting in a scalar product)");
  results.push_back(getFormulaType(1, elementTypeOf(adaptor.getLhs())));
  return success();
}

LogicalResult ElemOp::inferReturnTypes(MLIRContext *, std::optional<Location> location,
                                       Adaptor adaptor, SmallVectorImpl<Type> &results) {
  int64_t dim = getFormulaDim(adaptor.getOperand().getType());
  int64_t index = adaptor.getIndex();
  if (index < 0 || index >= dim)
    return inferFailure(location, "'kconv.elem' index " + Twine(index) +
                                      " is out of range for an operand of dimension " + Twine(dim));
  results.push_back(getFormulaType(1, elementTypeOf(adaptor.getOperand())));
  return success();
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *, std::optional<Location> location,
                                         Adaptor adaptor, SmallVectorImpl<Type> &results) {
  if (elementTypeOf(adaptor.getLhs()) != elementTypeOf(adaptor.getRhs()))
    return inferFailure(location, "'kconv.concat' operands have different element types");
  results.push_back(getFormulaType(getFormulaDim(adaptor.getLhs().getType()) +
                                       getFormulaDim(adaptor.getRhs().getType()),
                                   elementTypeOf(adaptor.getLhs())));
  return success();
}

//===----------------------------------------------------------------------===//
// ConstantOp
//===----------------------------------------------------------------------===//

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValueAttr(); }

LogicalResult ConstantOp::verify() {
  if (getFormulaDim(getType()) != 1)
    return emitOpError("result must have dimension 1, got ") << getFormulaDim(getType());
  return success();
}

//===----------------------------------------------------------------------===//
// ReductionOp
//===----------------------------------------------------------------------===//

YieldOp ReductionOp::getYield() { return cast<YieldOp>(getBody().front().getTerminator()); }

SmallVector<VariableAttr> ReductionOp::getVariableAttrs() {
  return llvm::to_vector(getVariables().getAsRange<VariableAttr>());
}

int64_t ReductionOp::getYieldDim() { return getFormulaDim(getYield().getValue().getType()); }

static const ::kconv::BuiltinReductionInfo &reductionInfo(ReductionKind kind) {
  return ::kconv::getReductionInfo(::kconv::BuiltinReduction(uint32_t(kind)));
}

int64_t ReductionOp::getReducedFormulaDim() {
  return ::kconv::reducedFormulaDim(reductionInfo(getKind()), getYieldDim());
}

int64_t ReductionOp::getValueDim() {
  return ::kconv::reductionOutputDims(reductionInfo(getKind()), getYieldDim(), getKOrOne()).values;
}

int64_t ReductionOp::getIndexDim() {
  return ::kconv::reductionOutputDims(reductionInfo(getKind()), getYieldDim(), getKOrOne())
      .indices;
}

Type ReductionOp::getElementType() {
  return cast<VectorType>(getYield().getValue().getType()).getElementType();
}

void ReductionOp::getAsmBlockArgumentNames(Region &region, OpAsmSetValueNameFn setNameFn) {
  auto variables = getVariables();
  for (auto [arg, attr] : llvm::zip(region.getArguments(), variables))
    if (auto var = dyn_cast<VariableAttr>(attr))
      setNameFn(arg, var.getName());
}

LogicalResult ReductionOp::verify() {
  int64_t axis = getAxisAttr().getInt(); // getAxis() is unsigned: -1 would print as 2^64 - 1
  if (axis != 0 && axis != 1)
    return emitOpError("axis must be 0 (reduce over i) or 1 (reduce over j), got ") << axis;
  const ::kconv::BuiltinReductionInfo &info = reductionInfo(getKind());
  if (info.takesK != getK().has_value())
    return emitOpError("kind '") << stringifyReductionKind(getKind())
                                 << (info.takesK ? "' needs k = K" : "' takes no k");
  if (getK() && (int64_t(*getK()) < 1 || int64_t(*getK()) > ::kconv::kMaxReductionK))
    return emitOpError("k must be in [1, ") << ::kconv::kMaxReductionK << "], got "
                                            << int64_t(*getK());
  llvm::StringSet<> names;
  for (Attribute attr : getVariables()) {
    auto var = cast<VariableAttr>(attr);
    if (var.getDim() < 1)
      return emitOpError("variable '") << var.getName() << "' must have a positive dimension, got "
                                       << var.getDim();
    if (!names.insert(var.getName()).second)
      return emitOpError("variable '") << var.getName() << "' is declared twice";
  }
  // Checked here rather than in verifyRegions: the generic "block with no terminator" check of the
  // body runs before verifyRegions and says less. The traits verified before this (SizedRegion<1>,
  // SingleBlock) guarantee one non-empty block.
  Operation &last = getBody().front().back();
  if (!isa<YieldOp>(last))
    return emitOpError("body must end with 'kconv.yield', found '") << last.getName() << "'";
  return success();
}

LogicalResult ReductionOp::verifyRegions() {
  Block &body = getBody().front();
  auto variables = getVariableAttrs();
  if (body.getNumArguments() != variables.size())
    return emitOpError("body has ") << body.getNumArguments() << " arguments but "
                                    << variables.size() << " variables are declared";
  Type elementType = getElementType();
  for (auto [index, arg, var] : llvm::enumerate(body.getArguments(), variables)) {
    VectorType expected = getFormulaType(var.getDim(), elementType);
    auto type = dyn_cast<VectorType>(arg.getType());
    if (!type || type.getRank() != 1 || type.isScalable() || type.getDimSize(0) != var.getDim())
      return emitOpError("variable '") << var.getName() << "' has dimension " << var.getDim()
                                       << " but block argument #" << index << " has type "
                                       << arg.getType() << " (expected " << expected << ")";
    if (type.getElementType() != elementType)
      return emitOpError("variable '") << var.getName() << "' has element type "
                                       << type.getElementType() << " but the formula yields "
                                       << elementType;
  }
  if (reductionInfo(getKind()).weight != ::kconv::ReductionWeight::None && getYieldDim() < 2)
    return emitOpError("kind '") << stringifyReductionKind(getKind())
                                 << "' reduces Concat(f, g): the yield needs at least 2 "
                                    "components, got "
                                 << getYieldDim();
  return success();
}

#define GET_OP_CLASSES
#include "kconv/Dialect/Kconv/IR/KconvOps.cpp.inc"
