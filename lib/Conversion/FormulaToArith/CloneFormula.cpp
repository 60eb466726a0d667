//===- CloneFormula.cpp - a reduction's formula into a backend's loop nest ===//
//
// The backends clone the formula once per (row, pair) of their loop nests; what they cannot clone
// as it is, a kconv.chunk_sum (kconv-chunk-dimensions), becomes a loop over the chunks here, the
// same for both.
//
//===----------------------------------------------------------------------===//
#include "kconv/Conversion/FormulaToArith/FormulaToArith.h"
#include "kconv/Dialect/Kconv/IR/KconvOps.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/ADT/MapVector.h"

using namespace mlir;
using namespace mlir::kconv;

/// The term of the chunk of `width` components at `offset` of a chunk_sum or chunk_map: its body
/// cloned with its arguments read by `readChunk` (ops of the chunk's width retyped when the last
/// chunk is narrower). Returns the term's components.
template <typename ChunkOp>
static SmallVector<Value> emitTerm(OpBuilder &b, ChunkOp chunkOp, IRMapping &mapping,
                                   int64_t lanes, ChunkReader readChunk, Value offset,
                                   int64_t width) {
  Block &chunkBody = chunkOp.getBody().front();
  const int64_t bodyWidth = int64_t(chunkOp.getChunk());
  for (auto [arg, operand] : llvm::zip(chunkBody.getArguments(), chunkOp.getChunked()))
    mapping.map(arg, readChunk(b, cast<BlockArgument>(operand).getArgNumber(), offset, width));
  for (Operation &op : chunkBody.without_terminator()) {
    Operation *clone = b.clone(op, mapping);
    if (width == bodyWidth)
      continue;
    for (Value r : clone->getResults())
      if (getFormulaDim(r.getType()) == bodyWidth)
        r.setType(getFormulaType(width, cast<VectorType>(r.getType()).getElementType()));
  }
  Value term = mapping.lookup(chunkOp.getTerm());
  if (width != bodyWidth && getFormulaDim(term.getType()) == bodyWidth)
    term.setType(getFormulaType(width, cast<VectorType>(term.getType()).getElementType()));
  return unpackFormulaValue(b, chunkOp.getLoc(), term, lanes);
}

static Value emitChunkTerm(OpBuilder &b, ChunkSumOp chunkSum, IRMapping &mapping, int64_t lanes,
                           ChunkReader readChunk, Value offset, int64_t width) {
  return emitTerm(b, chunkSum, mapping, lanes, readChunk, offset, width).front();
}

SmallVector<Value> mlir::kconv::emitChunkMapTerm(OpBuilder &b, ChunkMapOp chunkMap,
                                                 IRMapping &mapping, int64_t lanes,
                                                 ChunkReader readChunk, Value offset,
                                                 int64_t width) {
  return emitTerm(b, chunkMap, mapping, lanes, readChunk, offset, width);
}

/// `acc` (one sum per entry) plus the terms of the chunks [0, fullEnd) in steps of `width`
/// (`terms(offset)`: one per sum), in blocks of kSumBlock components whose partial sums start
/// from 0: a float32 sum of 32768 chunk terms in sequence loses ~3e-4 (D = 65536), the blocks
/// bring that to the error of a few hundred additions.
constexpr int64_t kSumBlock = 256;
static SmallVector<Value>
sumChunks(OpBuilder &b, Location loc, int64_t fullEnd, int64_t width, ValueRange acc,
          llvm::function_ref<SmallVector<Value>(OpBuilder &, Value)> terms) {
  auto index = [&](OpBuilder &ib, int64_t v) {
    return arith::ConstantIndexOp::create(ib, loc, v).getResult();
  };
  auto chunkLoop = [&](OpBuilder &lb, Value begin, Value end, ValueRange init) {
    auto loop = scf::ForOp::create(
        lb, loc, begin, end, index(lb, width), init,
        [&](OpBuilder &nb, Location nloc, Value offset, ValueRange sumsSoFar) {
          SmallVector<Value> next;
          for (auto [s, t] : llvm::zip(sumsSoFar, terms(nb, offset)))
            next.push_back(arith::AddFOp::create(nb, nloc, s, t));
          scf::YieldOp::create(nb, nloc, next);
        });
    return SmallVector<Value>(loop.getResults());
  };
  if (fullEnd <= kSumBlock)
    return chunkLoop(b, index(b, 0), index(b, fullEnd), acc);
  // Whole blocks, then the rest as one more block: every loop has a constant trip count (a
  // min() bound on the last block kept the backends from unrolling the chunk loop).
  const int64_t block = std::max<int64_t>(width, kSumBlock / width * width);
  const int64_t wholeEnd = fullEnd / block * block;
  auto addBlock = [&](OpBuilder &nb, Location nloc, Value begin, Value end, ValueRange sums) {
    SmallVector<Value> zeros;
    for (Value s : sums)
      zeros.push_back(createConstantLike(nb, nloc, s.getType(), 0.0));
    SmallVector<Value> next;
    for (auto [s, p] : llvm::zip(sums, chunkLoop(nb, begin, end, zeros)))
      next.push_back(arith::AddFOp::create(nb, nloc, s, p));
    return next;
  };
  auto outer = scf::ForOp::create(
      b, loc, index(b, 0), index(b, wholeEnd), index(b, block), acc,
      [&](OpBuilder &nb, Location nloc, Value blockStart, ValueRange sumsSoFar) {
        Value end = arith::AddIOp::create(nb, nloc, blockStart, index(nb, block));
        scf::YieldOp::create(nb, nloc, addBlock(nb, nloc, blockStart, end, sumsSoFar));
      });
  SmallVector<Value> sums(outer.getResults());
  if (wholeEnd < fullEnd)
    sums = addBlock(b, loc, index(b, wholeEnd), index(b, fullEnd), sums);
  return sums;
}

/// Whether the term of `chunkSum` takes only variables of `body` and constants from above.
static bool takesVariablesOnly(ChunkSumOp chunkSum, Block &body) {
  WalkResult walk = chunkSum.getBody().walk([&](Operation *op) {
    for (Value operand : op->getOperands()) {
      if (operand.getParentRegion() == &chunkSum.getBody())
        continue;
      if (auto arg = dyn_cast<BlockArgument>(operand); arg && arg.getOwner() == &body)
        continue;
      if (operand.getDefiningOp<ConstantOp>())
        continue;
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return !walk.wasInterrupted();
}

void mlir::kconv::fuseChunkSums(OpBuilder &b, Block &body, MutableArrayRef<IRMapping> mappings,
                                int64_t lanes, ContextChunkReader readChunk) {
  // The fusable chunk_sums, grouped by (dimension, chunk): one loop per group.
  llvm::MapVector<std::pair<int64_t, int64_t>, SmallVector<ChunkSumOp>> groups;
  for (Operation &op : body.without_terminator())
    if (auto chunkSum = dyn_cast<ChunkSumOp>(op); chunkSum && takesVariablesOnly(chunkSum, body))
      groups[{chunkSum.getChunkedDim(), int64_t(chunkSum.getChunk())}].push_back(chunkSum);
  for (auto &[shape, sums] : groups) {
    const auto [dim, width] = shape;
    Location loc = sums.front().getLoc();
    auto resultType = cast<VectorType>(sums.front().getType());
    Type component = getComponentType(resultType.getElementType(), lanes);
    // The constants the terms take, in every context (CSE merges the copies).
    for (ChunkSumOp chunkSum : sums)
      chunkSum.getBody().walk([&](Operation *op) {
        for (Value operand : op->getOperands())
          if (auto constant = operand.getDefiningOp<ConstantOp>();
              constant && constant->getBlock() == &body)
            for (IRMapping &mapping : mappings)
              if (!mapping.contains(operand))
                b.clone(*constant, mapping);
      });
    // Every (context, chunk_sum)'s term of the chunk at `offset`, `w` components wide.
    auto terms = [&](OpBuilder &nb, Value offset, int64_t w) {
      SmallVector<Value> result;
      for (auto [c, mapping] : llvm::enumerate(mappings))
        for (ChunkSumOp chunkSum : sums)
          result.push_back(emitChunkTerm(
              nb, chunkSum, mapping, lanes,
              [&, c = c](OpBuilder &rb, unsigned k, Value o, int64_t cw) {
                return readChunk(rb, c, k, o, cw);
              },
              offset, w));
      return result;
    };
    auto index = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v).getResult(); };
    const int64_t fullEnd = dim / width * width;
    SmallVector<Value> acc(mappings.size() * sums.size(),
                           createConstantLike(b, loc, component, 0.0));
    if (fullEnd > 0)
      acc = sumChunks(b, loc, fullEnd, width, acc,
                      [&](OpBuilder &nb, Value offset) { return terms(nb, offset, width); });
    if (fullEnd < dim)
      for (auto [s, t] : llvm::zip(acc, terms(b, index(fullEnd), dim - fullEnd)))
        s = arith::AddFOp::create(b, loc, s, t);
    for (auto [c, mapping] : llvm::enumerate(mappings))
      for (auto [q, chunkSum] : llvm::enumerate(sums))
        mapping.map(chunkSum.getResult(),
                    packFormulaValue(b, loc, resultType, acc[c * sums.size() + q]));
  }
}

void mlir::kconv::cloneFormula(OpBuilder &b, Block &body, IRMapping &mapping, int64_t lanes,
                               ChunkReader readChunk) {
  for (Operation &op : body.without_terminator()) {
    if (mapping.contains(op.getResult(0)) || isa<ChunkMapOp>(op))
      continue; // mapped already; a chunk_map is the backend's, per output chunk
    auto chunkSum = dyn_cast<ChunkSumOp>(op);
    if (!chunkSum) {
      b.clone(op, mapping);
      continue;
    }
    Location loc = chunkSum.getLoc();
    auto resultType = cast<VectorType>(chunkSum.getType());
    Type component = getComponentType(resultType.getElementType(), lanes);
    const int64_t dim = chunkSum.getChunkedDim(), width = int64_t(chunkSum.getChunk());
    const int64_t fullEnd = dim / width * width;
    auto index = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v).getResult(); };
    Value sum = createConstantLike(b, loc, component, 0.0);
    if (fullEnd > 0)
      sum = sumChunks(b, loc, fullEnd, width, ValueRange{sum}, [&](OpBuilder &nb, Value offset) {
              return SmallVector<Value>{
                  emitChunkTerm(nb, chunkSum, mapping, lanes, readChunk, offset, width)};
            }).front();
    if (fullEnd < dim) {
      Value term = emitChunkTerm(b, chunkSum, mapping, lanes, readChunk, index(fullEnd),
                                 dim - fullEnd);
      sum = arith::AddFOp::create(b, loc, sum, term);
    }
    mapping.map(chunkSum.getResult(), packFormulaValue(b, loc, resultType, sum));
  }
}
