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
  if (getLog2Exponent() && getKind() != ReductionKind::LogSumExp &&
      getKind() != ReductionKind::SumSoftMaxWeight)
    return emitOpError("log2_exponent applies to logsumexp and sumsoftmaxweight only, not '")
           << stringifyReductionKind(getKind()) << "'";
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

//===----------------------------------------------------------------------===//
// ChunkSumOp
//===----------------------------------------------------------------------===//

bool mlir::kconv::isWidthPolymorphic(Operation *op) {
  return isa<KconvDialect>(op->getDialect()) && op->getNumResults() == 1 &&
         op->getNumRegions() == 0 && !isa<ElemOp, ConcatOp>(op);
}

bool mlir::kconv::isReadByChunksOnly(Value variable) {
  return !variable.use_empty() && llvm::all_of(variable.getUsers(), [](Operation *user) {
    return isa<ChunkSumOp, ChunkMapOp>(user);
  });
}

LogicalResult ChunkSumOp::inferReturnTypes(MLIRContext *, std::optional<Location> location,
                                           Adaptor adaptor, SmallVectorImpl<Type> &results) {
  if (adaptor.getChunked().empty())
    return inferFailure(location, "'kconv.chunk_sum' needs at least one chunked operand");
  results.push_back(getFormulaType(1, elementTypeOf(adaptor.getChunked().front())));
  return success();
}

/// The checks shared by kconv.chunk_sum and kconv.chunk_map.
static LogicalResult verifyChunkOperands(Operation *op, ValueRange chunked, int64_t chunk,
                                         Region &body) {
  if (chunked.empty())
    return op->emitOpError("needs at least one chunked operand");
  int64_t dim = getFormulaDim(chunked.front().getType());
  for (Value v : chunked)
    if (v.getType() != chunked.front().getType())
      return op->emitOpError("chunked operands must have one type, got ")
             << chunked.front().getType() << " and " << v.getType();
  if (chunk < 1 || chunk > dim)
    return op->emitOpError("chunk must be in [1, ") << dim << "], got " << chunk;
  Operation &last = body.front().back();
  if (!isa<YieldOp>(last))
    return op->emitOpError("body must end with 'kconv.yield', found '") << last.getName() << "'";
  return success();
}

static LogicalResult verifyChunkBody(Operation *op, ValueRange chunked, int64_t chunk,
                                     Region &region, int64_t termDim) {
  Block &body = region.front();
  VectorType chunkType = getFormulaType(chunk, elementTypeOf(chunked.front()));
  if (body.getNumArguments() != chunked.size())
    return op->emitOpError("body has ") << body.getNumArguments() << " arguments for "
                                        << chunked.size() << " chunked operands";
  for (BlockArgument arg : body.getArguments())
    if (arg.getType() != chunkType)
      return op->emitOpError("body argument #") << arg.getArgNumber() << " has type "
                                                << arg.getType() << ", expected " << chunkType;
  Value term = cast<YieldOp>(body.getTerminator()).getValue();
  if (getFormulaDim(term.getType()) != termDim)
    return op->emitOpError("the term of a chunk must have dimension ")
           << termDim << ", got " << getFormulaDim(term.getType());
  for (Operation &inner : body.without_terminator()) {
    if (!isWidthPolymorphic(&inner))
      return inner.emitOpError("cannot be evaluated chunk by chunk (in a ")
             << op->getName() << ")";
    for (Value operand : inner.getOperands())
      if (operand.getParentRegion() != &region && getFormulaDim(operand.getType()) != 1)
        return inner.emitOpError("takes a value of dimension ")
               << getFormulaDim(operand.getType()) << " from outside the " << op->getName()
               << ": only dimension-1 values may enter a chunk";
  }
  return success();
}

/// Chunk arguments named after the variables they read: %X_chunk.
static void nameChunkArguments(Operation *op, ValueRange chunked, Region &region,
                               OpAsmSetValueNameFn setNameFn) {
  auto reduction = op->getParentOfType<ReductionOp>();
  if (!reduction)
    return;
  auto variables = reduction.getVariables();
  for (auto [arg, operand] : llvm::zip(region.getArguments(), chunked))
    if (auto var = dyn_cast<BlockArgument>(operand);
        var && var.getOwner() == &reduction.getBody().front())
      if (auto attr = dyn_cast<VariableAttr>(variables[var.getArgNumber()]))
        setNameFn(arg, (attr.getName() + "_chunk").str());
}

int64_t ChunkSumOp::getChunkedDim() { return getFormulaDim(getChunked().front().getType()); }

Value ChunkSumOp::getTerm() { return cast<YieldOp>(getBody().front().getTerminator()).getValue(); }

void ChunkSumOp::getAsmBlockArgumentNames(Region &region, OpAsmSetValueNameFn setNameFn) {
  nameChunkArguments(*this, getChunked(), region, setNameFn);
}

LogicalResult ChunkSumOp::verify() {
  return verifyChunkOperands(*this, getChunked(), int64_t(getChunk()), getBody());
}

LogicalResult ChunkSumOp::verifyRegions() {
  return verifyChunkBody(*this, getChunked(), int64_t(getChunk()), getBody(), 1);
}

int64_t ChunkMapOp::getChunkedDim() { return getFormulaDim(getChunked().front().getType()); }

Value ChunkMapOp::getTerm() { return cast<YieldOp>(getBody().front().getTerminator()).getValue(); }

void ChunkMapOp::getAsmBlockArgumentNames(Region &region, OpAsmSetValueNameFn setNameFn) {
  nameChunkArguments(*this, getChunked(), region, setNameFn);
}

LogicalResult ChunkMapOp::verify() {
  if (failed(verifyChunkOperands(*this, getChunked(), int64_t(getChunk()), getBody())))
    return failure();
  if (getType() != getChunked().front().getType())
    return emitOpError("result must have the chunked operands' type ")
           << getChunked().front().getType() << ", got " << getType();
  if (!getResult().hasOneUse() || !isa<YieldOp>(*getResult().getUsers().begin()) ||
      !isa<ReductionOp>((*getResult().getUsers().begin())->getParentOp()))
    return emitOpError("result must be the reduction's yield, and only that");
  return success();
}

LogicalResult ChunkMapOp::verifyRegions() {
  return verifyChunkBody(*this, getChunked(), int64_t(getChunk()), getBody(),
                         int64_t(getChunk()));
}

#define GET_OP_CLASSES
#include "kconv/Dialect/Kconv/IR/KconvOps.cpp.inc"
