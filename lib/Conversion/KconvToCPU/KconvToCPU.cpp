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
  Value splat(ImplicitLocOpBuilder &b, double value) {
    return createConstantLike(b, b.getLoc(), vecType, value);
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
  /// over the reduced variables' vectors; returns the new accumulators. `mask`: lanes to keep
  /// (the partial last vector), or null.
  SmallVector<Value> emitStep(ImplicitLocOpBuilder &b, Value j, Value mask, unsigned R,
                              ValueRange accumulators);
  /// A register block of R rows starting at row `i` over reduced rows [jb, blockEnd).
  void emitRowBlock(ImplicitLocOpBuilder &b, Value i, unsigned R, Value jb, Value fullEnd,
                    Value blockEnd);

  ReductionOp reduction;
  const Config &config;
  Type ptrType, elementType;
  VectorType vecType;
  unsigned elementBytes = 4;
  int64_t outputDim = 1;
  // Function arguments.
  Value argsPtr, outPtr, indicesPtr, begin, end, nReduced, reducedStride;
  SmallVector<Value> varPtrs; // args[k]
  /// The variables bound for the formula clones: parameters (per call), output-category variables
  /// (per register row, rowLeaves[r]).
  IRMapping paramLeaves;
  SmallVector<IRMapping> rowLeaves;
};

void ReductionLowering::bindRows(ImplicitLocOpBuilder &b, Value i, unsigned R) {
  rowLeaves.assign(R, paramLeaves);
  for (unsigned r = 0; r < R; ++r) {
    Value row = r ? arith::AddIOp::create(b, i, i64(b, r)).getResult() : i;
    for (auto [k, var] : llvm::enumerate(reduction.getVariableAttrs())) {
      if (var.getCategory() != reduction.getOutputCategory())
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
                                               unsigned R, ValueRange accumulators) {
  // The reduced variables' vectors, shared by the R rows.
  IRMapping reducedLeaves;
  for (auto [k, var] : llvm::enumerate(reduction.getVariableAttrs())) {
    if (var.getCategory() == reduction.getOutputCategory() ||
        var.getCategory() == VarCategory::Pm)
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
  Value zero = mask ? splat(b, 0.0) : Value();
  SmallVector<Value> result;
  for (unsigned r = 0; r < R; ++r) {
    IRMapping mapping = rowLeaves[r];
    for (auto [arg, leaf] : reducedLeaves.getValueMap())
      mapping.map(arg, leaf);
    for (Operation &op : body().without_terminator())
      b.clone(op, mapping);
    SmallVector<Value> value =
        unpackFormulaValue(b, b.getLoc(), mapping.lookup(reduction.getYield().getValue()),
                           config.lanes);
    for (int64_t c = 0; c < outputDim; ++c) {
      Value v = value[c];
      if (mask)
        v = arith::SelectOp::create(b, mask, v, zero);
      // contract: the formula's last product and this sum become one FMA.
      result.push_back(arith::AddFOp::create(b, accumulators[r * outputDim + c], v,
                                             arith::FastMathFlags::contract));
    }
  }
  return result;
}

void ReductionLowering::emitRowBlock(ImplicitLocOpBuilder &b, Value i, unsigned R, Value jb,
                                     Value fullEnd, Value blockEnd) {
  bindRows(b, i, R);
  SmallVector<Value> init(R * outputDim, splat(b, 0.0));

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

  // Block partial sums into the output rows.
  for (unsigned r = 0; r < R; ++r) {
    Value row = r ? arith::AddIOp::create(b, i, i64(b, r)).getResult() : i;
    Value rowStart = arith::MulIOp::create(b, row, i64(b, outputDim));
    for (int64_t c = 0; c < outputDim; ++c) {
      Value partial = vector::ReductionOp::create(b, vector::CombiningKind::ADD,
                                                  tail.getResult(r * outputDim + c),
                                                  arith::FastMathFlags::reassoc);
      Value index = c ? arith::AddIOp::create(b, rowStart, i64(b, c)).getResult() : rowStart;
      Value ptr = ptrAdd(b, outPtr, index, elementType);
      Value old = LLVM::LoadOp::create(b, elementType, ptr, elementBytes);
      LLVM::StoreOp::create(b, arith::AddFOp::create(b, old, partial), ptr, elementBytes);
    }
  }
}

LogicalResult ReductionLowering::run(OpBuilder &moduleBuilder) {
  MLIRContext *ctx = reduction.getContext();
  elementType = reduction.getElementType();
  if (!elementType.isF32())
    return reduction.emitOpError("the CPU backend supports f32 formulas only, got ")
           << elementType;
  if (reduction.getKind() != ReductionKind::Sum)
    return reduction.emitOpError("the CPU backend supports sum reductions only");
  for (Operation &op : body().without_terminator())
    if (op.getNumResults() != 1 || op.getNumRegions() != 0 || !isa<KconvDialect>(op.getDialect()))
      return op.emitOpError("is not supported by the CPU backend");
  outputDim = reduction.getValueDim();
  elementBytes = elementType.getIntOrFloatBitWidth() / 8;
  vecType = VectorType::get({config.lanes}, elementType);
  auto vars = reduction.getVariableAttrs();

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
    if (var.getCategory() != VarCategory::Pm)
      continue;
    SmallVector<Value> comps;
    for (int64_t c = 0; c < var.getDim(); ++c)
      comps.push_back(
          vector::BroadcastOp::create(b, vecType, loadScalar(b, varPtrs.back(), i64(b, c))));
    paramLeaves.map(body().getArgument(k), pack(b, k, comps));
  }

  // Zero the rows [begin, end): the empty sum, and the accumulators of the block sums.
  {
    Value lo = arith::MulIOp::create(b, begin, i64(b, outputDim));
    Value hi = arith::MulIOp::create(b, end, i64(b, outputDim));
    Value zero = arith::ConstantOp::create(b, b.getFloatAttr(elementType, 0.0));
    scf::ForOp::create(b, lo, hi, i64(b, 1), ValueRange{},
                       [&](OpBuilder &nested, Location loc, Value k, ValueRange) {
                         ImplicitLocOpBuilder nb(loc, nested);
                         LLVM::StoreOp::create(nb, zero, ptrAdd(nb, outPtr, k, elementType),
                                               elementBytes);
                         scf::YieldOp::create(nb);
                       });
  }

  // Register rows per block: keep R * outputDim accumulators within a third of the 32 registers.
  unsigned R = unsigned(std::max<int64_t>(1, std::min<int64_t>(config.rows, 12 / outputDim)));
  Value mainEnd = begin;
  if (R > 1) {
    Value count = arith::SubIOp::create(b, end, begin);
    Value blocks = arith::DivSIOp::create(b, count, i64(b, R));
    mainEnd = arith::AddIOp::create(b, begin, arith::MulIOp::create(b, blocks, i64(b, R)));
  }

  scf::ForOp::create(
      b, i64(b, 0), nReduced, i64(b, config.jblock), ValueRange{},
      [&](OpBuilder &nested, Location loc, Value jb, ValueRange) {
        ImplicitLocOpBuilder nb(loc, nested);
        Value blockEnd = arith::MinSIOp::create(
            nb, arith::AddIOp::create(nb, jb, i64(nb, config.jblock)), nReduced);
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
        scf::YieldOp::create(nb);
      });
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
    if (lanes < 1 || (lanes & (lanes - 1)) != 0) {
      module.emitError("convert-kconv-to-cpu: lanes must be a power of two, got ")
          << int64_t(lanes);
      return signalPassFailure();
    }
    if (rows < 1) {
      module.emitError("convert-kconv-to-cpu: rows must be positive, got ") << int64_t(rows);
      return signalPassFailure();
    }
    Config config{lanes, std::max<int64_t>(lanes, (jblock + lanes - 1) / lanes * lanes), rows,
                  flushDenormals};

    SmallVector<ReductionOp> reductions(module.getOps<ReductionOp>());
    for (ReductionOp reduction : reductions) {
      OpBuilder builder(reduction);
      ReductionLowering lowering(reduction, config);
      if (failed(lowering.run(builder)))
        return signalPassFailure();
      reduction.erase();
    }
  }
};

} // namespace
