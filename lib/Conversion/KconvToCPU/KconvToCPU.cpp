//===- KconvToCPU.cpp - kconv.reduction to a vectorized CPU kernel --------===//
//
// convert-kconv-to-cpu: each `kconv.reduction @NAME` becomes the C-ABI function
//
//   void kconv_cpu_NAME(const float *const *args, float *out, int64_t begin, int64_t end,
//                       int64_t nReduced, int64_t reducedStride);
//
// of docs/architecture.md ("CPU kernel ABI"), written with func + scf + arith + vector + math ops
// and llvm pointer arithmetic / loads / stores. The loop nest:
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
// j + l. Values are computed at the outermost level where they are invariant: parameters and
// constants once per call, output-row values once per row and block, reduced-only values once per
// vector and shared by the R rows.
//
//===----------------------------------------------------------------------===//
#include "kconv/Conversion/Passes.h"
#include "kconv/Dialect/Kconv/IR/KconvOps.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::kconv {
#define GEN_PASS_DEF_CONVERTKCONVTOCPU
#include "kconv/Conversion/Passes.h.inc"
} // namespace mlir::kconv

using namespace mlir;
using namespace mlir::kconv;

namespace {

/// The D components of a formula value, each a `vector<lanes x f32>`.
using Comps = SmallVector<Value, 4>;

/// What a formula value depends on: nothing (parameters, constants), the output row, the reduced
/// row, or both.
enum Dep : unsigned { DepNone = 0, DepOut = 1, DepRed = 2, DepPair = 3 };

struct Config {
  int64_t lanes;
  int64_t jblock;
  int64_t rows;
  bool fastMath;
  bool avx512; // vscalefps for the 2^n of exp (16 lanes only)
  bool flushDenormals; // FTZ + DAZ in MXCSR during the call
};

/// Sign facts about formula values, for the clamps of the fast exp.
bool isNonNegative(Value v);
bool isNonPositive(Value v) {
  Operation *op = v.getDefiningOp();
  if (!op)
    return false;
  if (auto c = dyn_cast<ConstantOp>(op))
    return c.getValue().convertToDouble() <= 0;
  if (auto n = dyn_cast<NegOp>(op))
    return isNonNegative(n.getOperand());
  if (isa<MulOp, DivOp>(op))
    return (isNonNegative(op->getOperand(0)) && isNonPositive(op->getOperand(1))) ||
           (isNonPositive(op->getOperand(0)) && isNonNegative(op->getOperand(1)));
  if (isa<AddOp>(op))
    return isNonPositive(op->getOperand(0)) && isNonPositive(op->getOperand(1));
  if (isa<SubOp>(op))
    return isNonPositive(op->getOperand(0)) && isNonNegative(op->getOperand(1));
  return false;
}
bool isNonNegative(Value v) {
  Operation *op = v.getDefiningOp();
  if (!op)
    return false;
  if (isa<SqDistOp, SqNorm2Op, Norm2Op, SquareOp, AbsOp, SqrtOp, ExpOp>(op))
    return true;
  if (auto c = dyn_cast<ConstantOp>(op))
    return c.getValue().convertToDouble() >= 0;
  if (auto n = dyn_cast<NegOp>(op))
    return isNonPositive(n.getOperand());
  if (auto p = dyn_cast<PowOp>(op))
    return p.getExponent() % 2 == 0 || isNonNegative(p.getOperand());
  if (isa<MulOp, DivOp>(op))
    return (isNonNegative(op->getOperand(0)) && isNonNegative(op->getOperand(1))) ||
           (isNonPositive(op->getOperand(0)) && isNonPositive(op->getOperand(1)));
  if (isa<AddOp>(op))
    return isNonNegative(op->getOperand(0)) && isNonNegative(op->getOperand(1));
  if (isa<SubOp>(op))
    return isNonNegative(op->getOperand(0)) && isNonPositive(op->getOperand(1));
  if (isa<RsqrtOp, InvOp>(op))
    return isNonNegative(op->getOperand(0));
  return false;
}

//===----------------------------------------------------------------------===//
// Vector arithmetic on formula components
//===----------------------------------------------------------------------===//

class VectorMath {
public:
  VectorMath(ImplicitLocOpBuilder &b, const Config &config)
      : b(b), config(config), vecType(VectorType::get({config.lanes}, b.getF32Type())),
        intVecType(VectorType::get({config.lanes}, b.getI32Type())) {
    using FMF = arith::FastMathFlags;
    // No nnan/ninf: infinities and NaNs of padded lanes are removed by a select, and exp(-inf)
    // must stay 0. No reassoc: it would undo the Cody-Waite reduction.
    formulaFlags = config.fastMath ? FMF::contract | FMF::afn | FMF::arcp | FMF::nsz
                                   : FMF::contract;
  }

  VectorType getType() const { return vecType; }

  Value splat(double value) {
    return arith::ConstantOp::create(b, DenseElementsAttr::get(vecType, float(value)));
  }
  Value splatInt(int32_t value) {
    return arith::ConstantOp::create(b, DenseElementsAttr::get(intVecType, value));
  }
  Value add(Value x, Value y) { return arith::AddFOp::create(b, x, y, formulaFlags); }
  Value sub(Value x, Value y) { return arith::SubFOp::create(b, x, y, formulaFlags); }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, x, y, formulaFlags); }
  Value div(Value x, Value y) { return arith::DivFOp::create(b, x, y, formulaFlags); }
  Value neg(Value x) { return arith::NegFOp::create(b, x, formulaFlags); }
  Value sqrt(Value x) { return math::SqrtOp::create(b, x, formulaFlags); }
  Value abs(Value x) { return math::AbsFOp::create(b, x, formulaFlags); }
  Value log(Value x) { return math::LogOp::create(b, x, formulaFlags); }

  /// x^n for an integer n by repeated squaring; a negative n gives 1 / x^|n|.
  Value powi(Value x, int64_t n) {
    if (n == 0)
      return splat(1.0);
    uint64_t m = n < 0 ? uint64_t(-(n + 1)) + 1 : uint64_t(n);
    Value result, square = x;
    while (true) {
      if (m & 1)
        result = result ? mul(result, square) : square;
      m >>= 1;
      if (!m)
        break;
      square = mul(square, square);
    }
    return n < 0 ? div(splat(1.0), result) : result;
  }

  Value exp(Value x, bool nonPositive) {
    if (!config.fastMath)
      return math::ExpOp::create(b, x);
    return fastExp(x, nonPositive);
  }

  /// exp(x) in f32 lanes without libm: x = n ln2 + r, |r| <= ln2/2 (Cody-Waite, two-part ln2),
  /// exp(r) by a degree-6 polynomial (relative minimax error 3e-9 on the reduced range), then
  /// exp(x) = 2^n exp(r). Max error 1.06 ulp over the normal range (checked against double exp for
  /// every f32 in [-87.3, 87.3]).
  ///  - AVX-512: 2^n by vscalefps, which underflows to 0 and overflows to +inf exactly; x is
  ///    clamped to [-104, 89] only so that the reduction stays exact (and exp(-inf) = 0).
  ///  - otherwise: 2^n built in the exponent bits; x clamped to [-88, 88.72]: x < -87.68 gives 0
  ///    (n = -127: zero scale), x > 88.38 gives +inf (n = 128: the +inf bits).
  /// `nonPositive`: x is known <= 0 (e.g. -|x - y|^2): the upper clamp is dropped.
  Value fastExp(Value x, bool nonPositive) {
    using FMF = arith::FastMathFlags;
    bool scalef = config.avx512 && config.lanes == 16;
    // nnan lets the clamps be single vminps / vmaxps.
    if (!nonPositive)
      x = arith::MinNumFOp::create(b, x, splat(scalef ? 89.0 : 88.72283935546875),
                                   FMF::nnan | FMF::nsz);
    x = arith::MaxNumFOp::create(b, x, splat(scalef ? -104.0 : -88.0), FMF::nnan | FMF::nsz);
    // t = x log2(e) + 1.5 2^23: the rounded n sits in the low mantissa bits of t.
    Value magic = splat(12582912.0);
    Value t = math::FmaOp::create(b, x, splat(1.44269502162933349609375), magic);
    Value n = arith::SubFOp::create(b, t, magic);
    Value r = math::FmaOp::create(b, n, splat(-0.693359375), x);
    r = math::FmaOp::create(b, n, splat(2.12194440e-4), r);
    static const double coefficients[] = {
        0.0013814540579915047, 0.00836874544620514, 0.04166838899254799,
        0.1666652113199234,    0.4999999403953552,  1.0,
        1.0};
    Value p = splat(coefficients[0]);
    for (double c : ArrayRef(coefficients).drop_front())
      p = math::FmaOp::create(b, p, r, splat(c));
    if (scalef) {
      // vscalefps: p * 2^floor(n), all lanes, current rounding mode.
      Value allLanes = arith::ConstantOp::create(b, b.getI16IntegerAttr(-1));
      Value currentRounding = arith::ConstantOp::create(b, b.getI32IntegerAttr(4));
      return LLVM::CallIntrinsicOp::create(b, vecType,
                                           b.getStringAttr("llvm.x86.avx512.mask.scalef.ps.512"),
                                           ValueRange{p, n, p, allLanes, currentRounding})
          .getResult(0);
    }
    // 2^n: (bits(t) << 23) = n << 23 (mod 2^32) since the magic's low 9 bits are zero.
    Value bits = arith::BitcastOp::create(b, intVecType, t);
    Value scaleBits = arith::AddIOp::create(
        b, arith::ShLIOp::create(b, bits, splatInt(23)), splatInt(0x3F800000));
    Value scale = arith::BitcastOp::create(b, vecType, scaleBits);
    return arith::MulFOp::create(b, p, scale);
  }

  /// Sum of the components (a chain the backend contracts into FMAs where products feed it).
  Value sumOf(ArrayRef<Value> values) {
    Value result = values.front();
    for (Value v : values.drop_front())
      result = add(result, v);
    return result;
  }

  /// One formula op on vector components. Operands are in op order.
  FailureOr<Comps> emit(Operation *op, ArrayRef<Comps> operands) {
    auto elementwise = [&](auto fn) -> Comps {
      const Comps &x = operands[0], &y = operands[1];
      size_t dim = std::max(x.size(), y.size());
      Comps result;
      for (size_t c = 0; c < dim; ++c)
        result.push_back(fn(x[x.size() == 1 ? 0 : c], y[y.size() == 1 ? 0 : c]));
      return result;
    };
    auto unary = [&](auto fn) -> Comps {
      Comps result;
      for (Value x : operands[0])
        result.push_back(fn(x));
      return result;
    };
    return TypeSwitch<Operation *, FailureOr<Comps>>(op)
        .Case([&](ConstantOp c) -> Comps { return {splat(c.getValue().convertToDouble())}; })
        .Case([&](AddOp) { return elementwise([&](Value x, Value y) { return add(x, y); }); })
        .Case([&](SubOp) { return elementwise([&](Value x, Value y) { return sub(x, y); }); })
        .Case([&](MulOp) { return elementwise([&](Value x, Value y) { return mul(x, y); }); })
        .Case([&](DivOp) { return elementwise([&](Value x, Value y) { return div(x, y); }); })
        .Case([&](NegOp) { return unary([&](Value x) { return neg(x); }); })
        .Case([&](ExpOp e) {
          bool nonPositive = isNonPositive(e.getOperand());
          return unary([&](Value x) { return exp(x, nonPositive); });
        })
        .Case([&](LogOp) { return unary([&](Value x) { return log(x); }); })
        .Case([&](SqrtOp) { return unary([&](Value x) { return sqrt(x); }); })
        .Case([&](RsqrtOp) { return unary([&](Value x) { return div(splat(1.0), sqrt(x)); }); })
        .Case([&](SquareOp) { return unary([&](Value x) { return mul(x, x); }); })
        .Case([&](InvOp) { return unary([&](Value x) { return div(splat(1.0), x); }); })
        .Case([&](AbsOp) { return unary([&](Value x) { return abs(x); }); })
        .Case([&](PowOp p) {
          int64_t n = p.getExponent();
          return unary([&](Value x) { return powi(x, n); });
        })
        .Case([&](SqDistOp) -> Comps {
          Comps squares;
          for (Value d : elementwise([&](Value x, Value y) { return sub(x, y); }))
            squares.push_back(mul(d, d));
          return {sumOf(squares)};
        })
        .Case([&](SqNorm2Op) -> Comps {
          return {sumOf(unary([&](Value x) { return mul(x, x); }))};
        })
        .Case([&](Norm2Op) -> Comps {
          return {sqrt(sumOf(unary([&](Value x) { return mul(x, x); })))};
        })
        .Case([&](ScalprodOp) -> Comps {
          return {sumOf(elementwise([&](Value x, Value y) { return mul(x, y); }))};
        })
        .Case([&](SumOp) -> Comps { return {sumOf(operands[0])}; })
        .Case([&](ElemOp e) -> Comps { return {operands[0][e.getIndex()]}; })
        .Case([&](ConcatOp) -> Comps {
          Comps result(operands[0]);
          result.append(operands[1].begin(), operands[1].end());
          return result;
        })
        .Default([&](Operation *) -> FailureOr<Comps> {
          return op->emitOpError("is not supported by the CPU backend");
        });
  }

private:
  ImplicitLocOpBuilder &b;
  const Config &config;
  VectorType vecType, intVecType;
  arith::FastMathFlags formulaFlags;
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
    return LLVM::LoadOp::create(b, b.getF32Type(), ptrAdd(b, base, index, b.getF32Type()), 4);
  }

  /// The components of formula value `v` for register row `r` of the current scope.
  const Comps &lookup(Value v, unsigned r) {
    switch (deps.lookup(v)) {
    case DepNone:
      return invariant[v];
    case DepOut:
      return rowValues[r][v];
    case DepRed:
      return reducedValues[v];
    default:
      return pairValues[r][v];
    }
  }

  /// Evaluates the ops of class `dep` for register row `r` into `into`.
  LogicalResult evaluate(VectorMath &math, Dep dep, unsigned r, DenseMap<Value, Comps> &into) {
    for (Operation &op : reduction.getBody().front().without_terminator()) {
      Value result = op.getResult(0);
      if (deps.lookup(result) != dep)
        continue;
      SmallVector<Comps> operands;
      for (Value operand : op.getOperands())
        operands.push_back(lookup(operand, r));
      FailureOr<Comps> comps = math.emit(&op, operands);
      if (failed(comps))
        return failure();
      into[result] = std::move(*comps);
    }
    return success();
  }

  /// Loads the output-category variables of rows i..i+R-1 and evaluates the per-row values.
  LogicalResult emitRowValues(ImplicitLocOpBuilder &b, VectorMath &math, Value i, unsigned R);
  /// One vector step of the inner loop at reduced row `j` for R rows: returns the new
  /// accumulators. `mask`: lanes to keep (the partial last vector), or null.
  FailureOr<SmallVector<Value>> emitStep(ImplicitLocOpBuilder &b, VectorMath &math, Value j,
                                         Value mask, unsigned R, ValueRange accumulators);
  /// A register block of R rows starting at row `i` over reduced rows [jb, blockEnd).
  LogicalResult emitRowBlock(ImplicitLocOpBuilder &b, Value i, unsigned R, Value jb,
                             Value fullEnd, Value blockEnd);

  ReductionOp reduction;
  const Config &config;
  Type ptrType;
  int64_t outputDim = 1;
  // Function arguments.
  Value argsPtr, outPtr, begin, end, nReduced, reducedStride;
  SmallVector<Value> varPtrs; // args[k]
  DenseMap<Value, unsigned> deps;
  DenseMap<Value, Comps> invariant, reducedValues;
  SmallVector<DenseMap<Value, Comps>> rowValues, pairValues;
};

LogicalResult ReductionLowering::emitRowValues(ImplicitLocOpBuilder &b, VectorMath &math, Value i,
                                               unsigned R) {
  Block &body = reduction.getBody().front();
  auto vars = reduction.getVariableAttrs();
  rowValues.assign(R, DenseMap<Value, Comps>());
  for (unsigned r = 0; r < R; ++r) {
    Value row = r ? arith::AddIOp::create(b, i, i64(b, r)).getResult() : i;
    for (auto [k, var] : llvm::enumerate(vars)) {
      if (var.getCategory() != reduction.getOutputCategory())
        continue;
      Value rowStart = arith::MulIOp::create(b, row, i64(b, var.getDim()));
      Comps comps;
      for (int64_t c = 0; c < var.getDim(); ++c) {
        Value index = c ? arith::AddIOp::create(b, rowStart, i64(b, c)).getResult() : rowStart;
        comps.push_back(
            vector::BroadcastOp::create(b, math.getType(), loadScalar(b, varPtrs[k], index)));
      }
      rowValues[r][body.getArgument(k)] = std::move(comps);
    }
    if (failed(evaluate(math, DepOut, r, rowValues[r])))
      return failure();
  }
  return success();
}

FailureOr<SmallVector<Value>> ReductionLowering::emitStep(ImplicitLocOpBuilder &b, VectorMath &math,
                                                          Value j, Value mask, unsigned R,
                                                          ValueRange accumulators) {
  Block &body = reduction.getBody().front();
  reducedValues.clear();
  for (auto [k, var] : llvm::enumerate(reduction.getVariableAttrs())) {
    if (var.getCategory() == reduction.getOutputCategory() ||
        var.getCategory() == VarCategory::Pm)
      continue;
    Comps comps;
    for (int64_t c = 0; c < var.getDim(); ++c) {
      Value index = j;
      if (c) {
        Value offset = arith::MulIOp::create(b, reducedStride, i64(b, c));
        index = arith::AddIOp::create(b, offset, j);
      }
      Value ptr = ptrAdd(b, varPtrs[k], index, b.getF32Type());
      comps.push_back(LLVM::LoadOp::create(b, math.getType(), ptr, 4));
    }
    reducedValues[body.getArgument(k)] = std::move(comps);
  }
  if (failed(evaluate(math, DepRed, 0, reducedValues)))
    return failure();

  Value yielded = reduction.getYield().getValue();
  Value zero = mask ? math.splat(0.0) : Value();
  SmallVector<Value> result;
  pairValues.assign(R, DenseMap<Value, Comps>());
  for (unsigned r = 0; r < R; ++r) {
    if (failed(evaluate(math, DepPair, r, pairValues[r])))
      return failure();
    const Comps &value = lookup(yielded, r);
    for (int64_t c = 0; c < outputDim; ++c) {
      Value v = value[c];
      if (mask)
        v = arith::SelectOp::create(b, mask, v, zero);
      result.push_back(math.add(accumulators[r * outputDim + c], v));
    }
  }
  return result;
}

LogicalResult ReductionLowering::emitRowBlock(ImplicitLocOpBuilder &b, Value i, unsigned R,
                                              Value jb, Value fullEnd, Value blockEnd) {
  VectorMath math(b, config);
  if (failed(emitRowValues(b, math, i, R)))
    return failure();
  SmallVector<Value> init(R * outputDim, math.splat(0.0));

  // Full vectors.
  LogicalResult status = success();
  auto loop = scf::ForOp::create(
      b, jb, fullEnd, i64(b, config.lanes), init,
      [&](OpBuilder &nested, Location loc, Value j, ValueRange accumulators) {
        ImplicitLocOpBuilder nb(loc, nested);
        VectorMath nmath(nb, config);
        FailureOr<SmallVector<Value>> next = emitStep(nb, nmath, j, Value(), R, accumulators);
        if (failed(next)) {
          status = failure();
          scf::YieldOp::create(nb, accumulators);
          return;
        }
        scf::YieldOp::create(nb, *next);
      });
  if (failed(status))
    return failure();

  // The last, partial vector: lanes j + l >= nReduced are masked out (their loads read the
  // zero padding of the packed inputs).
  Value hasTail = arith::CmpIOp::create(b, arith::CmpIPredicate::slt, fullEnd, blockEnd);
  auto tail = scf::IfOp::create(b, loop.getResultTypes(), hasTail, /*addThenBlock=*/true,
                                /*addElseBlock=*/true);
  {
    ImplicitLocOpBuilder tb = ImplicitLocOpBuilder::atBlockEnd(b.getLoc(), tail.thenBlock());
    VectorMath tmath(tb, config);
    auto intVec = VectorType::get({config.lanes}, tb.getI32Type());
    SmallVector<int32_t> iota(config.lanes);
    for (int64_t l = 0; l < config.lanes; ++l)
      iota[l] = int32_t(l);
    Value lanesIota = arith::ConstantOp::create(tb, DenseElementsAttr::get(intVec, ArrayRef(iota)));
    Value remaining = arith::TruncIOp::create(tb, tb.getI32Type(),
                                              arith::SubIOp::create(tb, blockEnd, fullEnd));
    Value mask = arith::CmpIOp::create(tb, arith::CmpIPredicate::slt, lanesIota,
                                       vector::BroadcastOp::create(tb, intVec, remaining));
    FailureOr<SmallVector<Value>> next =
        emitStep(tb, tmath, fullEnd, mask, R, loop.getResults());
    if (failed(next))
      return failure();
    scf::YieldOp::create(tb, *next);
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
      Value ptr = ptrAdd(b, outPtr, index, b.getF32Type());
      Value old = LLVM::LoadOp::create(b, b.getF32Type(), ptr, 4);
      LLVM::StoreOp::create(b, arith::AddFOp::create(b, old, partial), ptr, 4);
    }
  }
  return success();
}

LogicalResult ReductionLowering::run(OpBuilder &moduleBuilder) {
  MLIRContext *ctx = reduction.getContext();
  if (!reduction.getElementType().isF32())
    return reduction.emitOpError("the CPU backend supports f32 formulas only, got ")
           << reduction.getElementType();
  if (reduction.getKind() != ReductionKind::Sum)
    return reduction.emitOpError("the CPU backend supports sum reductions only");
  Block &body = reduction.getBody().front();
  for (Operation &op : body.without_terminator())
    if (op.getNumResults() != 1 || op.getNumRegions() != 0 || !isa<KconvDialect>(op.getDialect()))
      return op.emitOpError("is not supported by the CPU backend");
  outputDim = reduction.getOutputDim();

  // Dependence classes.
  auto vars = reduction.getVariableAttrs();
  for (auto [arg, var] : llvm::zip(body.getArguments(), vars)) {
    if (var.getCategory() == VarCategory::Pm)
      deps[arg] = DepNone;
    else
      deps[arg] = var.getCategory() == reduction.getOutputCategory() ? DepOut : DepRed;
  }
  for (Operation &op : body.without_terminator()) {
    unsigned dep = DepNone;
    for (Value operand : op.getOperands())
      dep |= deps.lookup(operand);
    deps[op.getResult(0)] = dep;
  }

  // The function.
  Location loc = reduction.getLoc();
  ptrType = LLVM::LLVMPointerType::get(ctx);
  Type i64Type = IntegerType::get(ctx, 64);
  auto funcType = FunctionType::get(ctx, {ptrType, ptrType, i64Type, i64Type, i64Type, i64Type}, {});
  auto func = func::FuncOp::create(moduleBuilder, loc, getCPUKernelName(reduction.getSymName()),
                                   funcType);
  Block *entry = func.addEntryBlock();
  ImplicitLocOpBuilder b = ImplicitLocOpBuilder::atBlockBegin(loc, entry);
  argsPtr = entry->getArgument(0);
  outPtr = entry->getArgument(1);
  begin = entry->getArgument(2);
  end = entry->getArgument(3);
  nReduced = entry->getArgument(4);
  reducedStride = entry->getArgument(5);

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

  // args[k], the parameters and what depends on nothing else.
  VectorMath math(b, config);
  for (auto [k, var] : llvm::enumerate(vars)) {
    Value slot = ptrAdd(b, argsPtr, i64(b, k), ptrType);
    varPtrs.push_back(LLVM::LoadOp::create(b, ptrType, slot, 8));
    if (var.getCategory() != VarCategory::Pm)
      continue;
    Comps comps;
    for (int64_t c = 0; c < var.getDim(); ++c)
      comps.push_back(
          vector::BroadcastOp::create(b, math.getType(), loadScalar(b, varPtrs.back(), i64(b, c))));
    invariant[body.getArgument(k)] = std::move(comps);
  }
  if (failed(evaluate(math, DepNone, 0, invariant)))
    return failure();

  // Zero the rows [begin, end): the empty sum, and the accumulators of the block sums.
  {
    Value lo = arith::MulIOp::create(b, begin, i64(b, outputDim));
    Value hi = arith::MulIOp::create(b, end, i64(b, outputDim));
    Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0.0f));
    scf::ForOp::create(b, lo, hi, i64(b, 1), ValueRange{},
                       [&](OpBuilder &nested, Location loc, Value k, ValueRange) {
                         ImplicitLocOpBuilder nb(loc, nested);
                         LLVM::StoreOp::create(nb, zero, ptrAdd(nb, outPtr, k, nb.getF32Type()), 4);
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

  LogicalResult status = success();
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
                               if (failed(emitRowBlock(ib, i, rows, jb, fullEnd, blockEnd)))
                                 status = failure();
                               scf::YieldOp::create(ib);
                             });
        };
        if (R > 1)
          rowLoop(begin, mainEnd, R);
        rowLoop(mainEnd, end, 1);
        scf::YieldOp::create(nb);
      });
  if (failed(status))
    return failure();
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
                  fastMath, avx512, fastMath && flushDenormals};

    SmallVector<ReductionOp> reductions(module.getOps<ReductionOp>());
    for (ReductionOp reduction : reductions) {
      OpBuilder builder(reduction);
      ReductionLowering lowering(reduction, config);
      if (failed(lowering.run(builder)))
        return signalPassFailure();
      reduction.erase();
    }

    // Fast math: math.log becomes the math dialect's vector polynomial (no libm call per lane).
    if (fastMath) {
      SmallVector<Operation *> logs;
      module.walk([&](math::LogOp op) { logs.push_back(op); });
      if (!logs.empty()) {
        RewritePatternSet patterns(&getContext());
        populateMathPolynomialApproximationPatterns(
            patterns, [](StringRef name) { return name == "log" || name == "math.log"; });
        GreedyRewriteConfig greedy;
        greedy.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
        if (failed(applyOpPatternsGreedily(logs, std::move(patterns), greedy)))
          return signalPassFailure();
      }
    }
  }
};

} // namespace
