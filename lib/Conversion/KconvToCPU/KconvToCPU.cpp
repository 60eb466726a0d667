//===- KconvToCPU.cpp - kconv.reduction to a vectorized CPU kernel --------===//
//
// convert-kconv-to-cpu: each `kconv.reduction @NAME` becomes the C-ABI function
//
//   void kconv_cpu_NAME(const float *const *args, float *values, int64_t *indices,
//                       int64_t begin, int64_t end, int64_t nReduced, int64_t reducedStride);
//
// of docs/architecture.md ("CPU kernel ABI"), written with func + scf + arith + vector ops and llvm
// pointer arithmetic / loads / stores around clones of the formula (kconv ops on variables bound to
// their components; convert-kconv-formula-to-arith lowers them). The loop nest:
//
//   out[begin*D .. end*D) = 0
//   for jb in [0, nReduced) step JB:                        // cache block, block-sum unit
//     for i in [begin, end) step R (then the < R remainder rows one by one):
//       per-row values (output-category variables, what depends on them only)
//       acc[R][D] = 0 (vector<L x f32>)
//       for j in [jb, fullEnd) step L:                      // full vectors
//         load the reduced variables' vectors once, evaluate what depends on them only once,
//         then the pair values of the R rows; acc += F
//       if fullEnd < blockEnd: the same once more, masked  // the last, partial vector
//       out[i+r][c] += reduce_add(acc[r][c])
//
// Formula values of dimension D are D vectors of L lanes; lane l holds the value for reduced row
// j + l. The formula is cloned whole into the inner loop, once per register row: loop-invariant
// code motion then computes parameter and output-row values outside it, and CSE shares the
// reduced-only values among the R rows (kconv-cpu-pipeline runs both).
//
//===----------------------------------------------------------------------===//
#include "kconv/ABI/KernelABI.h"
#include "kconv/Conversion/Combiner/Combiner.h"
#include "kconv/Conversion/Passes.h"
#include "kconv/Conversion/FormulaToArith/FormulaToArith.h"
#include "kconv/Dialect/Kconv/IR/KconvOps.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::kconv {
#define GEN_PASS_DEF_CONVERTKCONVTOCPU
#include "kconv/Conversion/Passes.h.inc"
} // namespace mlir::kconv

using namespace mlir;
using namespace mlir::kconv;

namespace {

struct Config {
  int64_t lanes;
  int64_t jblock;
  int64_t rows;
  bool flushDenormals; // FTZ + DAZ in MXCSR during the call
};

//===----------------------------------------------------------------------===//
// One reduction
//===----------------------------------------------------------------------===//

class ReductionLowering {
public:
  ReductionLowering(ReductionOp reduction, const Config &config)
      : reduction(reduction), config(config) {}

  LogicalResult run(OpBuilder &moduleBuilder);

private:
  Value i64(ImplicitLocOpBuilder &b, int64_t v) {
    return arith::ConstantOp::create(b, b.getI64IntegerAttr(v));
  }
  Value ptrAdd(ImplicitLocOpBuilder &b, Value base, Value index, Type elementType) {
    return LLVM::GEPOp::create(b, ptrType, elementType, base, ValueRange{index},
                               LLVM::GEPNoWrapFlags::inbounds);
  }
  Value loadScalar(ImplicitLocOpBuilder &b, Value base, Value index) {
    return LLVM::LoadOp::create(b, elementType, ptrAdd(b, base, index, elementType),
                                elementBytes);
  }
  /// Variable k bound to its components.
  Value pack(ImplicitLocOpBuilder &b, unsigned k, ValueRange components) {
    return packFormulaValue(b, b.getLoc(), cast<VectorType>(body().getArgument(k).getType()),
                            components);
  }
  Block &body() { return reduction.getBody().front(); }

  /// Binds the output-category variables of rows i..i+R-1 (each component broadcast to all lanes).
  void bindRows(ImplicitLocOpBuilder &b, Value i, unsigned R);
  /// One vector step of the inner loop at reduced row `j` for R rows: the formula cloned per row
  /// over the reduced variables' vectors, combined into the rows' states (R x numSlots, row
  /// major); returns the new states. `mask`: lanes to keep (the partial last vector), or null.
  SmallVector<Value> emitStep(ImplicitLocOpBuilder &b, Value j, Value mask, unsigned R,
                              ValueRange states);
  /// Components [offset, offset + width) of variable k, packed: a reduced variable's vectors at
  /// reduced row j, an output-category variable's of `row` or a parameter's broadcast.
  Value readChunk(OpBuilder &nb, unsigned k, Value offset, int64_t width, Value j, Value row);
  /// A register block of R rows starting at row `i` over reduced rows [jb, blockEnd).
  void emitRowBlock(ImplicitLocOpBuilder &b, Value i, unsigned R, Value jb, Value fullEnd,
                    Value blockEnd);
  /// Stores output row `row`'s finalized vector state (both outputs) or, for a combiner that
  /// merges by addition, adds the block's partial state (its lanes summed) to it.
  void emitRowOutput(ImplicitLocOpBuilder &b, Value row, ValueRange state);

  ReductionOp reduction;
  const Config &config;
  std::unique_ptr<Combiner> combiner;
  Type ptrType, elementType;
  VectorType vecType;
  unsigned elementBytes = 4;
  int64_t valueDim = 1, indexDim = 0;
  // Function arguments.
  Value argsPtr, outPtr, indicesPtr, begin, end, nReduced, reducedStride;
  SmallVector<Value> varPtrs; // args[k]
  /// The variables bound for the formula clones: parameters (per call), output-category variables
  /// (per register row, rowLeaves[r]).
  IRMapping paramLeaves;
  SmallVector<IRMapping> rowLeaves;
  SmallVector<Value> rowIndices; // the register rows' indices (i + r)
  /// A wide yield's chunk_map (else null), and the output chunk being emitted: its first column
  /// (i64) and width.
  ChunkMapOp chunkMap;
  Value outColumn;
  int64_t outWidth = 0;
  /// The output column of component q of a chunk's finalized values (laid out [K][width]).
  Value outputColumn(ImplicitLocOpBuilder &b, int64_t q) {
    int64_t k = q / outWidth, c = q % outWidth;
    return arith::AddIOp::create(b, outColumn, i64(b, k * reduction.getYieldDim() + c));
  }
};

Value ReductionLowering::readChunk(OpBuilder &nb, unsigned k, Value offset, int64_t width,
                                   Value j, Value row) {
  ImplicitLocOpBuilder b(reduction.getLoc(), nb);
  VariableAttr var = reduction.getVariableAttrs()[k];
  Value first = arith::IndexCastOp::create(b, b.getI64Type(), offset);
  SmallVector<Value> comps;
  for (int64_t c = 0; c < width; ++c) {
    Value component = c ? arith::AddIOp::create(b, first, i64(b, c)).getResult() : first;
    if (var.getCategory() == VarCategory::Pm) {
      comps.push_back(vector::BroadcastOp::create(b, vecType, loadScalar(b, varPtrs[k], component)));
    } else if (var.getCategory() == reduction.getOutputCategory()) {
      Value index = arith::AddIOp::create(b, arith::MulIOp::create(b, row, i64(b, var.getDim())),
                                          component);
      comps.push_back(vector::BroadcastOp::create(b, vecType, loadScalar(b, varPtrs[k], index)));
    } else {
      // Packed reduced inputs: component c of reduced row j at c * reducedStride + j.
      Value index = arith::AddIOp::create(b, arith::MulIOp::create(b, reducedStride, component), j);
      comps.push_back(LLVM::LoadOp::create(b, vecType, ptrAdd(b, varPtrs[k], index, elementType),
                                           elementBytes));
    }
  }
  return packFormulaValue(b, b.getLoc(), getFormulaType(width, elementType), comps);
}

void ReductionLowering::bindRows(ImplicitLocOpBuilder &b, Value i, unsigned R) {
  rowLeaves.assign(R, paramLeaves);
  rowIndices.clear();
  for (unsigned r = 0; r < R; ++r) {
    Value row = r ? arith::AddIOp::create(b, i, i64(b, r)).getResult() : i;
    rowIndices.push_back(row);
    for (auto [k, var] : llvm::enumerate(reduction.getVariableAttrs())) {
      if (var.getCategory() != reduction.getOutputCategory() || isReadByChunksOnly(body().getArgument(k)))
        continue;
      Value rowStart = arith::MulIOp::create(b, row, i64(b, var.getDim()));
      SmallVector<Value> comps;
      for (int64_t c = 0; c < var.getDim(); ++c) {
        Value index = c ? arith::AddIOp::create(b, rowStart, i64(b, c)).getResult() : rowStart;
        comps.push_back(vector::BroadcastOp::create(b, vecType, loadScalar(b, varPtrs[k], index)));
      }
      rowLeaves[r].map(body().getArgument(k), pack(b, k, comps));
    }
  }
}

SmallVector<Value> ReductionLowering::emitStep(ImplicitLocOpBuilder &b, Value j, Value mask,
                                               unsigned R, ValueRange states) {
  // The reduced variables' vectors, shared by the R rows.
  IRMapping reducedLeaves;
  for (auto [k, var] : llvm::enumerate(reduction.getVariableAttrs())) {
    if (var.getCategory() == reduction.getOutputCategory() ||
        var.getCategory() == VarCategory::Pm || isReadByChunksOnly(body().getArgument(k)))
      continue;
    SmallVector<Value> comps;
    for (int64_t c = 0; c < var.getDim(); ++c) {
      Value index = j;
      if (c) {
        Value offset = arith::MulIOp::create(b, reducedStride, i64(b, c));
        index = arith::AddIOp::create(b, offset, j);
      }
      Value ptr = ptrAdd(b, varPtrs[k], index, elementType);
      comps.push_back(LLVM::LoadOp::create(b, vecType, ptr, elementBytes));
    }
    reducedLeaves.map(body().getArgument(k), pack(b, k, comps));
  }

  // The formula once per row; what depends on the reduced variables only is the same in every
  // copy (CSE merges it), what depends on the row only is loop-invariant (LICM hoists it).
  CombinerBuilder cb(b, b.getLoc(), elementType, config.lanes);
  // Lane l holds reduced row j + l.
  auto indexVector = cast<VectorType>(cb.getIndexType());
  SmallVector<int32_t> iota(config.lanes);
  for (int64_t l = 0; l < config.lanes; ++l)
    iota[l] = int32_t(l);
  Value lanesIota = arith::ConstantOp::create(b, DenseElementsAttr::get(indexVector, ArrayRef(iota)));
  Value index = arith::AddIOp::create(
      b, vector::BroadcastOp::create(b, indexVector, arith::TruncIOp::create(b, b.getI32Type(), j)),
      lanesIota);
  const size_t slots = combiner->numSlots();
  SmallVector<Value> result;
  SmallVector<IRMapping> mappings;
  for (unsigned r = 0; r < R; ++r) {
    IRMapping &mapping = mappings.emplace_back(rowLeaves[r]);
    for (auto [arg, leaf] : reducedLeaves.getValueMap())
      mapping.map(arg, leaf);
  }
  // The rows' chunk_sums in one loop: each chunk of a reduced variable is loaded once for R rows.
  auto rowRead = [&](OpBuilder &nb, size_t r, unsigned k, Value offset, int64_t width) {
    return readChunk(nb, k, offset, width, j, rowIndices[r]);
  };
  fuseChunkSums(b, body(), mappings, config.lanes, rowRead);
  for (unsigned r = 0; r < R; ++r) {
    IRMapping &mapping = mappings[r];
    cloneFormula(b, body(), mapping, config.lanes,
                 [&](OpBuilder &nb, unsigned k, Value offset, int64_t width) {
                   return rowRead(nb, r, k, offset, width);
                 });
    SmallVector<Value> pair =
        chunkMap ? emitChunkMapTerm(b, chunkMap, mapping, config.lanes,
                                    [&](OpBuilder &nb, unsigned k, Value offset, int64_t width) {
                                      return rowRead(nb, r, k, offset, width);
                                    },
                                    arith::IndexCastOp::create(b, b.getIndexType(), outColumn),
                                    outWidth)
                 : unpackFormulaValue(b, b.getLoc(),
                                      mapping.lookup(reduction.getYield().getValue()),
                                      config.lanes);
    ValueRange state = states.slice(r * slots, slots);
    SmallVector<Value> next = mask ? combiner->combineMasked(cb, state, pair, index, mask)
                                   : combiner->combine(cb, state, pair, index);
    result.append(next.begin(), next.end());
  }
  return result;
}

void ReductionLowering::emitRowOutput(ImplicitLocOpBuilder &b, Value row, ValueRange state) {
  SmallVector<Value> values, indices;
  if (combiner->mergesByAddition()) {
    // The block's partial sums, added to the row.
    for (Value slot : state)
      values.push_back(vector::ReductionOp::create(b, vector::CombiningKind::ADD, slot,
                                                   arith::FastMathFlags::reassoc));
  } else {
    // Finalized on the vector state (lane 0 holds the row's result), then lane 0 stored.
    CombinerBuilder cb(b, b.getLoc(), elementType, config.lanes);
    SmallVector<Value> laneValues, laneIndices;
    combiner->finalize(cb, combiner->reduceLanes(cb, state), laneValues, laneIndices);
    for (Value v : laneValues)
      values.push_back(vector::ExtractOp::create(b, v, ArrayRef<int64_t>{0}));
    for (Value v : laneIndices)
      indices.push_back(vector::ExtractOp::create(b, v, ArrayRef<int64_t>{0}));
  }
  Value valueStart = arith::MulIOp::create(b, row, i64(b, valueDim));
  for (auto [c, v] : llvm::enumerate(values)) {
    Value index = chunkMap ? arith::AddIOp::create(b, valueStart, outputColumn(b, int64_t(c)))
                  : c      ? arith::AddIOp::create(b, valueStart, i64(b, c)).getResult()
                           : valueStart;
    Value ptr = ptrAdd(b, outPtr, index, elementType);
    if (combiner->mergesByAddition())
      v = arith::AddFOp::create(b, LLVM::LoadOp::create(b, elementType, ptr, elementBytes), v);
    LLVM::StoreOp::create(b, v, ptr, elementBytes);
  }
  if (indices.empty())
    return;
  Value indexStart = arith::MulIOp::create(b, row, i64(b, indexDim));
  for (auto [c, v] : llvm::enumerate(indices)) {
    Value index = chunkMap ? arith::AddIOp::create(b, indexStart, outputColumn(b, int64_t(c)))
                  : c      ? arith::AddIOp::create(b, indexStart, i64(b, c)).getResult()
                           : indexStart;
    Value ptr = ptrAdd(b, indicesPtr, index, b.getI64Type());
    LLVM::StoreOp::create(b, arith::ExtSIOp::create(b, b.getI64Type(), v), ptr, 8);
  }
}

void ReductionLowering::emitRowBlock(ImplicitLocOpBuilder &b, Value i, unsigned R, Value jb,
                                     Value fullEnd, Value blockEnd) {
  bindRows(b, i, R);
  CombinerBuilder cb(b, b.getLoc(), elementType, config.lanes);
  SmallVector<Value> init;
  for (unsigned r = 0; r < R; ++r)
    init.append(combiner->identity(cb));

  // Full vectors.
  auto loop = scf::ForOp::create(
      b, jb, fullEnd, i64(b, config.lanes), init,
      [&](OpBuilder &nested, Location loc, Value j, ValueRange accumulators) {
        ImplicitLocOpBuilder nb(loc, nested);
        scf::YieldOp::create(nb, emitStep(nb, j, Value(), R, accumulators));
      });

  // The last, partial vector: lanes j + l >= nReduced are masked out (their loads read the
  // zero padding of the packed inputs).
  Value hasTail = arith::CmpIOp::create(b, arith::CmpIPredicate::slt, fullEnd, blockEnd);
  auto tail = scf::IfOp::create(b, loop.getResultTypes(), hasTail, /*addThenBlock=*/true,
                                /*addElseBlock=*/true);
  {
    ImplicitLocOpBuilder tb = ImplicitLocOpBuilder::atBlockEnd(b.getLoc(), tail.thenBlock());
    auto intVec = VectorType::get({config.lanes}, tb.getI32Type());
    SmallVector<int32_t> iota(config.lanes);
    for (int64_t l = 0; l < config.lanes; ++l)
      iota[l] = int32_t(l);
    Value lanesIota = arith::ConstantOp::create(tb, DenseElementsAttr::get(intVec, ArrayRef(iota)));
    Value remaining = arith::TruncIOp::create(tb, tb.getI32Type(),
                                              arith::SubIOp::create(tb, blockEnd, fullEnd));
    Value mask = arith::CmpIOp::create(tb, arith::CmpIPredicate::slt, lanesIota,
                                       vector::BroadcastOp::create(tb, intVec, remaining));
    scf::YieldOp::create(tb, emitStep(tb, fullEnd, mask, R, loop.getResults()));
    ImplicitLocOpBuilder eb = ImplicitLocOpBuilder::atBlockEnd(b.getLoc(), tail.elseBlock());
    scf::YieldOp::create(eb, loop.getResults());
  }

  // The rows' states, their lanes merged, into the output rows.
  const size_t slots = combiner->numSlots();
  for (unsigned r = 0; r < R; ++r) {
    Value row = r ? arith::AddIOp::create(b, i, i64(b, r)).getResult() : i;
    emitRowOutput(b, row, ValueRange(tail.getResults()).slice(r * slots, slots));
  }
}

LogicalResult ReductionLowering::run(OpBuilder &moduleBuilder) {
  MLIRContext *ctx = reduction.getContext();
  elementType = reduction.getElementType();
  if (!elementType.isF32())
    return reduction.emitOpError("the CPU backend supports f32 formulas only, got ")
           << elementType;
  for (Operation &op : body().without_terminator())
    if (op.getNumResults() != 1 || (op.getNumRegions() != 0 && !isa<ChunkSumOp, ChunkMapOp>(op)) ||
        !isa<KconvDialect>(op.getDialect()))
      return op.emitOpError("is not supported by the CPU backend");
  chunkMap = reduction.getYield().getValue().getDefiningOp<ChunkMapOp>();
  combiner = chunkMap ? Combiner::get(reduction, int64_t(chunkMap.getChunk()))
                      : Combiner::get(reduction);
  valueDim = reduction.getValueDim();
  indexDim = reduction.getIndexDim();
  elementBytes = elementType.getIntOrFloatBitWidth() / 8;
  vecType = VectorType::get({config.lanes}, elementType);
  auto vars = reduction.getVariableAttrs();
  const int64_t jblock = config.jblock;

  // The function.
  Location loc = reduction.getLoc();
  ptrType = LLVM::LLVMPointerType::get(ctx);
  Type i64Type = IntegerType::get(ctx, 64);
  auto funcType = FunctionType::get(
      ctx, {ptrType, ptrType, ptrType, i64Type, i64Type, i64Type, i64Type}, {});
  auto func = func::FuncOp::create(
      moduleBuilder, loc, ::kconv::abi::cpuKernelName(reduction.getSymName().str()), funcType);
  Block *entry = func.addEntryBlock();
  ImplicitLocOpBuilder b = ImplicitLocOpBuilder::atBlockBegin(loc, entry);
  argsPtr = entry->getArgument(0);
  outPtr = entry->getArgument(1);
  indicesPtr = entry->getArgument(2);
  begin = entry->getArgument(3);
  end = entry->getArgument(4);
  nReduced = entry->getArgument(5);
  reducedStride = entry->getArgument(6);

  // Fast math: flush denormals (FTZ) and read them as zero (DAZ) during the call. Underflowing
  // exps (far-apart points) would otherwise cost a microcode assist each.
  Value savedMxcsr, mxcsrSlot;
  if (config.flushDenormals) {
    mxcsrSlot = LLVM::AllocaOp::create(b, ptrType, b.getI32Type(), i64(b, 1), 4);
    LLVM::CallIntrinsicOp::create(b, TypeRange{}, b.getStringAttr("llvm.x86.sse.stmxcsr"),
                                  ValueRange{mxcsrSlot}, LLVM::FastmathFlagsAttr());
    savedMxcsr = LLVM::LoadOp::create(b, b.getI32Type(), mxcsrSlot, 4);
    Value flushed = arith::OrIOp::create(
        b, savedMxcsr, arith::ConstantOp::create(b, b.getI32IntegerAttr(0x8040)));
    LLVM::StoreOp::create(b, flushed, mxcsrSlot, 4);
    LLVM::CallIntrinsicOp::create(b, TypeRange{}, b.getStringAttr("llvm.x86.sse.ldmxcsr"),
                                  ValueRange{mxcsrSlot}, LLVM::FastmathFlagsAttr());
  }

  // args[k] and the parameters (each component broadcast to all lanes).
  for (auto [k, var] : llvm::enumerate(vars)) {
    Value slot = ptrAdd(b, argsPtr, i64(b, k), ptrType);
    varPtrs.push_back(LLVM::LoadOp::create(b, ptrType, slot, 8));
    if (var.getCategory() != VarCategory::Pm || isReadByChunksOnly(body().getArgument(k)))
      continue;
    SmallVector<Value> comps;
    for (int64_t c = 0; c < var.getDim(); ++c)
      comps.push_back(
          vector::BroadcastOp::create(b, vecType, loadScalar(b, varPtrs.back(), i64(b, c))));
    paramLeaves.map(body().getArgument(k), pack(b, k, comps));
  }

  // Sum: zero the rows [begin, end) (the empty sum, and the accumulators of the block sums).
  // The other kinds write each row once, after the whole reduced range.
  if (combiner->mergesByAddition()) {
    Value lo = arith::MulIOp::create(b, begin, i64(b, valueDim));
    Value hi = arith::MulIOp::create(b, end, i64(b, valueDim));
    Value zero = arith::ConstantOp::create(b, b.getFloatAttr(elementType, 0.0));
    scf::ForOp::create(b, lo, hi, i64(b, 1), ValueRange{},
                       [&](OpBuilder &nested, Location loc, Value k, ValueRange) {
                         ImplicitLocOpBuilder nb(loc, nested);
                         LLVM::StoreOp::create(nb, zero, ptrAdd(nb, outPtr, k, elementType),
                                               elementBytes);
                         scf::YieldOp::create(nb);
                       });
  }

  // The loop nest, once (or once per output chunk of a wide yield: chunk_map).
  auto emitLoopNest = [&](ImplicitLocOpBuilder &b) {
    const unsigned R = unsigned(config.rows);
    Value mainEnd = begin;
    if (R > 1) {
      Value count = arith::SubIOp::create(b, end, begin);
      Value blocks = arith::DivSIOp::create(b, count, i64(b, R));
      mainEnd = arith::AddIOp::create(b, begin, arith::MulIOp::create(b, blocks, i64(b, R)));
    }

    // The row blocks over reduced rows [jb, blockEnd).
    auto emitBlock = [&](ImplicitLocOpBuilder &nb, Value jb, Value blockEnd) {
      Value count = arith::SubIOp::create(nb, blockEnd, jb);
      Value full = arith::MulIOp::create(
          nb, arith::DivSIOp::create(nb, count, i64(nb, config.lanes)), i64(nb, config.lanes));
      Value fullEnd = arith::AddIOp::create(nb, jb, full);
      auto rowLoop = [&](Value lo, Value hi, unsigned rows) {
        scf::ForOp::create(nb, lo, hi, i64(nb, rows), ValueRange{},
                           [&](OpBuilder &inner, Location loc, Value i, ValueRange) {
                             ImplicitLocOpBuilder ib(loc, inner);
                             emitRowBlock(ib, i, rows, jb, fullEnd, blockEnd);
                             scf::YieldOp::create(ib);
                           });
      };
      if (R > 1)
        rowLoop(begin, mainEnd, R);
      rowLoop(mainEnd, end, 1);
    };
    if (combiner->mergesByAddition()) {
      // j-blocks: the block sums (float32 error) and the cache block.
      scf::ForOp::create(
          b, i64(b, 0), nReduced, i64(b, jblock), ValueRange{},
          [&](OpBuilder &nested, Location loc, Value jb, ValueRange) {
            ImplicitLocOpBuilder nb(loc, nested);
            Value blockEnd = arith::MinSIOp::create(
                nb, arith::AddIOp::create(nb, jb, i64(nb, jblock)), nReduced);
            emitBlock(nb, jb, blockEnd);
            scf::YieldOp::create(nb);
          });
    } else {
      // One block: the rows' states stay in registers over the whole reduced range.
      emitBlock(b, i64(b, 0), nReduced);
    }
  };
  if (!chunkMap) {
    emitLoopNest(b);
  } else {
    // Output chunks [o, o + C), then the narrower last one, each with its own states.
    const int64_t width = int64_t(chunkMap.getChunk()), dim = chunkMap.getChunkedDim();
    const int64_t fullEnd = dim / width * width;
    outWidth = width;
    scf::ForOp::create(b, i64(b, 0), i64(b, fullEnd), i64(b, width), ValueRange{},
                       [&](OpBuilder &nested, Location loc, Value column, ValueRange) {
                         ImplicitLocOpBuilder nb(loc, nested);
                         outColumn = column;
                         emitLoopNest(nb);
                         scf::YieldOp::create(nb);
                       });
    if (fullEnd < dim) {
      combiner = Combiner::get(reduction, dim - fullEnd);
      outColumn = i64(b, fullEnd);
      outWidth = dim - fullEnd;
      emitLoopNest(b);
    }
  }
  if (config.flushDenormals) {
    LLVM::StoreOp::create(b, savedMxcsr, mxcsrSlot, 4);
    LLVM::CallIntrinsicOp::create(b, TypeRange{}, b.getStringAttr("llvm.x86.sse.ldmxcsr"),
                                  ValueRange{mxcsrSlot}, LLVM::FastmathFlagsAttr());
  }
  func::ReturnOp::create(b);
  return success();
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct ConvertKconvToCPUPass
    : public mlir::kconv::impl::ConvertKconvToCPUBase<ConvertKconvToCPUPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<ReductionOp> reductions(module.getOps<ReductionOp>());
    for (ReductionOp reduction : reductions) {
      auto plan = reduction->getAttrOfType<CpuPlanAttr>(kCpuPlanAttrName);
      if (!plan) {
        reduction.emitOpError("has no ") << kCpuPlanAttrName
                                         << " attribute (run kconv-plan-cpu-kernels first)";
        return signalPassFailure();
      }
      Config config{plan.getLanes(), plan.getJblock(), plan.getRows(), flushDenormals};
      OpBuilder builder(reduction);
      ReductionLowering lowering(reduction, config);
      if (failed(lowering.run(builder)))
        return signalPassFailure();
      reduction.erase();
    }
  }
};

} // namespace
