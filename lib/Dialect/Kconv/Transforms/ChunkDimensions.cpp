//===- ChunkDimensions.cpp - kconv-chunk-dimensions -----------------------===//
//
// A component sum over a wide elementwise sub-formula, e.g. SqDist(X, Y) with X, Y of dimension
// 1000, becomes a kconv.chunk_sum: the sub-formula cloned at the chunk's width into its body, the
// variables it reads as the chunked operands. The backends turn the chunk_sum into a loop that
// reads the variables chunk by chunk, so neither the code size nor the registers grow with D.
//
// Formulas can be tens of thousands of ops deep: the sub-formula is collected with a worklist,
// never a recursion on operands.
//
//===----------------------------------------------------------------------===//
#include "kconv/Dialect/Kconv/Transforms/Passes.h"

#include "kconv/ABI/Builtins.h"
#include "kconv/Dialect/Kconv/IR/KconvOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::kconv {
#define GEN_PASS_DEF_KCONVCHUNKDIMENSIONS
#include "kconv/Dialect/Kconv/Transforms/Passes.h.inc"
} // namespace mlir::kconv

using namespace mlir;
using namespace mlir::kconv;

namespace {

bool isComponentSum(Operation *op) {
  return isa<SumOp, SqNorm2Op, Norm2Op, SqDistOp, ScalprodOp>(op);
}

int64_t widestOperand(Operation *op) {
  int64_t dim = 1;
  for (Value v : op->getOperands())
    dim = std::max(dim, getFormulaDim(v.getType()));
  return dim;
}

/// The elementwise sub-formula under `sum` (its ops in block order) and the variables it reads at
/// the wide dimension, or failure when a wide value in it is neither a variable nor
/// width-polymorphic (a Concat, say).
LogicalResult collectSubFormula(Operation *sum, Block &body, SetVector<Operation *> &ops,
                                SetVector<Value> &variables) {
  SmallVector<Value> worklist(sum->getOperands());
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    if (getFormulaDim(v.getType()) == 1)
      continue; // enters the chunk as it is (broadcast)
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      if (arg.getOwner() != &body)
        return failure();
      variables.insert(v);
      continue;
    }
    Operation *def = v.getDefiningOp();
    if (!isWidthPolymorphic(def))
      return failure();
    if (ops.insert(def))
      worklist.append(def->operand_begin(), def->operand_end());
  }
  SmallVector<Operation *> ordered(ops.begin(), ops.end());
  llvm::sort(ordered, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  ops = SetVector<Operation *>(ordered.begin(), ordered.end());
  // Block arguments in argument order: the chunk_sum's operands read as the formula declares.
  SmallVector<Value> vars(variables.begin(), variables.end());
  llvm::sort(vars, [](Value a, Value b) {
    return cast<BlockArgument>(a).getArgNumber() < cast<BlockArgument>(b).getArgNumber();
  });
  variables = SetVector<Value>(vars.begin(), vars.end());
  return success();
}

struct KconvChunkDimensionsPass
    : public mlir::kconv::impl::KconvChunkDimensionsBase<KconvChunkDimensionsPass> {
  using Base::Base;

  /// A wide yield as a kconv.chunk_map, for a kind that reduces each component on its own.
  bool chunkYield(ReductionOp reduction) {
    Block &body = reduction.getBody().front();
    YieldOp yield = reduction.getYield();
    const int64_t dim = getFormulaDim(yield.getValue().getType());
    const auto &info = ::kconv::getReductionInfo(::kconv::BuiltinReduction(uint32_t(reduction.getKind())));
    if (dim <= maxDim || info.weight != ::kconv::ReductionWeight::None)
      return false;
    SetVector<Operation *> ops;
    SetVector<Value> variables;
    if (failed(collectSubFormula(yield, body, ops, variables)) || variables.empty())
      return false;
    const int64_t width = std::min<int64_t>(outputChunk, dim);
    Type element = reduction.getElementType();
    VectorType chunkType = getFormulaType(width, element);
    OpBuilder b(yield);
    Location loc = yield.getLoc();
    auto chunkMap = ChunkMapOp::create(b, loc, yield.getValue().getType(),
                                       variables.getArrayRef(), width);
    Block *chunkBody = b.createBlock(&chunkMap.getBody());
    IRMapping mapping;
    for (Value v : variables)
      mapping.map(v, chunkBody->addArgument(chunkType, v.getLoc()));
    for (Operation *op : ops) {
      Operation *clone = b.clone(*op, mapping);
      for (Value r : clone->getResults())
        if (getFormulaDim(r.getType()) == dim)
          r.setType(chunkType);
    }
    YieldOp::create(b, loc, mapping.lookup(yield.getValue()));
    yield.getValueMutable().assign(chunkMap.getResult());
    return true;
  }

  void runOnOperation() override {
    ReductionOp reduction = getOperation();
    if (chunk < 1 || maxDim < 1) {
      reduction.emitError("kconv-chunk-dimensions: chunk and max-dim must be positive");
      return signalPassFailure();
    }
    Block &body = reduction.getBody().front();
    SmallVector<Operation *> sums;
    for (Operation &op : body.without_terminator())
      if (isComponentSum(&op) && widestOperand(&op) > maxDim)
        sums.push_back(&op);
    bool changed = false;
    for (Operation *sum : sums) {
      SetVector<Operation *> ops;
      SetVector<Value> variables;
      if (failed(collectSubFormula(sum, body, ops, variables)) || variables.empty())
        continue;
      const int64_t dim = widestOperand(sum);
      const int64_t width = std::min<int64_t>(chunk, dim);
      Type element = cast<VectorType>(sum->getResult(0).getType()).getElementType();
      VectorType chunkType = getFormulaType(width, element);

      OpBuilder b(sum);
      Location loc = sum->getLoc();
      auto chunkSum = ChunkSumOp::create(b, loc, variables.getArrayRef(), width);
      Block *chunkBody = b.createBlock(&chunkSum.getBody());
      IRMapping mapping;
      for (Value v : variables)
        mapping.map(v, chunkBody->addArgument(chunkType, v.getLoc()));
      // The sub-formula at the chunk's width (what had dimension D has the chunk's).
      auto cloneAtWidth = [&](Operation *op) {
        Operation *clone = b.clone(*op, mapping);
        for (Value r : clone->getResults())
          if (getFormulaDim(r.getType()) == dim)
            r.setType(chunkType);
        return clone;
      };
      for (Operation *op : ops)
        cloneAtWidth(op);
      Value term;
      if (auto norm = dyn_cast<Norm2Op>(sum))
        term = SqNorm2Op::create(b, loc, mapping.lookup(norm.getOperand()));
      else
        term = cloneAtWidth(sum)->getResult(0);
      YieldOp::create(b, loc, term);
      b.setInsertionPoint(sum);
      Value result = chunkSum.getResult();
      if (isa<Norm2Op>(sum))
        result = SqrtOp::create(b, loc, result);
      sum->getResult(0).replaceAllUsesWith(result);
      changed = true;
    }
    changed |= chunkYield(reduction);
    if (!changed)
      return;
    // The unchunked sums and the sub-formulas only they used.
    SmallVector<Operation *> all;
    for (Operation &op : body.without_terminator())
      all.push_back(&op);
    for (Operation *op : llvm::reverse(all))
      if (op->use_empty() && isPure(op))
        op->erase();
  }
};

} // namespace
