//===- FormulaToArith.cpp - kconv formula ops to arith/math ---------------===//
//
// The patterns of populateKconvFormulaToArithPatterns, the 1:N type conversion that splits a
// vector<D x T> formula value into its D components, and the pass convert-kconv-formula-to-arith.
// Broadcasting follows KeOps: an operand of dimension 1 meets every component of the other.
//
//===----------------------------------------------------------------------===//
#include "kconv/Conversion/FormulaToArith/FormulaToArith.h"
#include "kconv/Conversion/Passes.h"
#include "kconv/Dialect/Kconv/IR/KconvOps.h"

#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::kconv {
#define GEN_PASS_DEF_CONVERTKCONVFORMULATOARITH
#include "kconv/Conversion/Passes.h.inc"
} // namespace mlir::kconv

using namespace mlir;
using namespace mlir::kconv;

//===----------------------------------------------------------------------===//
// Sign facts
//===----------------------------------------------------------------------===//

SignFacts::SignFacts(Operation *root) {
  // Operands are defined before their users in a walk in pre-order (SSA dominance), so one pass
  // sees every operand's facts first: no recursion over the formula's depth.
  root->walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (!isa<KconvDialect>(op->getDialect()) || op->getNumResults() != 1)
      return;
    auto operand = [&](unsigned k) { return facts.lookup(op->getOperand(k)); };
    auto both = [&](unsigned bits) { return operand(0) & operand(1) & bits; };
    unsigned result =
        TypeSwitch<Operation *, unsigned>(op)
            .Case([&](ConstantOp c) {
              double v = c.getValue().convertToDouble();
              return (v >= 0 ? kNonNegative : 0) | (v <= 0 ? kNonPositive : 0);
            })
            .Case<SqDistOp, SqNorm2Op, Norm2Op, SquareOp, AbsOp, SqrtOp, ExpOp, Exp2Op>(
                [&](Operation *) { return kNonNegative; })
            .Case([&](NegOp) {
              unsigned x = operand(0);
              return (x & kNonNegative ? kNonPositive : 0) | (x & kNonPositive ? kNonNegative : 0);
            })
            .Case([&](PowOp p) {
              return p.getExponent() % 2 == 0 ? kNonNegative : operand(0) & kNonNegative;
            })
            .Case<MulOp, DivOp>([&](Operation *) {
              unsigned x = operand(0), y = operand(1);
              unsigned same = (x & y & kNonNegative) || (x & y & kNonPositive) ? kNonNegative : 0;
              unsigned mixed = ((x & kNonNegative) && (y & kNonPositive)) ||
                                       ((x & kNonPositive) && (y & kNonNegative))
                                   ? kNonPositive
                                   : 0;
              return same | mixed;
            })
            .Case([&](AddOp) { return both(kNonNegative | kNonPositive); })
            .Case([&](SubOp) {
              unsigned x = operand(0), y = operand(1);
              return ((x & kNonNegative) && (y & kNonPositive) ? kNonNegative : 0) |
                     ((x & kNonPositive) && (y & kNonNegative) ? kNonPositive : 0);
            })
            .Case<RsqrtOp, InvOp>([&](Operation *) { return operand(0) & kNonNegative; })
            .Default([](Operation *) { return 0u; });
    if (result)
      facts[op->getResult(0)] = result;
  });
}

//===----------------------------------------------------------------------===//
// Types, pack / unpack
//===----------------------------------------------------------------------===//

Type mlir::kconv::getComponentType(Type elementType, int64_t lanes) {
  if (lanes == 0)
    return elementType;
  return VectorType::get({lanes}, elementType);
}

static bool isFormulaType(Type type) {
  auto vec = dyn_cast<VectorType>(type);
  return vec && vec.getRank() == 1 && !vec.isScalable() && isa<FloatType>(vec.getElementType());
}

FormulaTypeConverter::FormulaTypeConverter(int64_t lanes) : lanes(lanes) {
  addConversion([](Type type) { return type; });
  addConversion([lanes](VectorType type, SmallVectorImpl<Type> &results)
                    -> std::optional<LogicalResult> {
    if (!isFormulaType(type))
      return std::nullopt;
    results.append(type.getNumElements(), getComponentType(type.getElementType(), lanes));
    return success();
  });
  // A value the conversion has not produced (a variable bound by packFormulaValue): its components
  // are the pack's operands.
  addTargetMaterialization([](OpBuilder &, TypeRange types, ValueRange inputs,
                              Location) -> SmallVector<Value> {
    if (inputs.size() != 1)
      return {};
    auto pack = inputs[0].getDefiningOp<UnrealizedConversionCastOp>();
    if (!pack || pack.getOperands().getTypes() != types)
      return {};
    return SmallVector<Value>(pack.getOperands());
  });
  addSourceMaterialization([](OpBuilder &b, Type type, ValueRange inputs, Location loc) -> Value {
    return UnrealizedConversionCastOp::create(b, loc, type, inputs).getResult(0);
  });
}

Value mlir::kconv::packFormulaValue(OpBuilder &b, Location loc, VectorType formulaType,
                                    ValueRange components) {
  assert(int64_t(components.size()) == formulaType.getNumElements() && "one value per component");
  return UnrealizedConversionCastOp::create(b, loc, formulaType, components).getResult(0);
}

SmallVector<Value> mlir::kconv::unpackFormulaValue(OpBuilder &b, Location loc, Value v,
                                                   int64_t lanes) {
  auto type = cast<VectorType>(v.getType());
  SmallVector<Type> types(type.getNumElements(), getComponentType(type.getElementType(), lanes));
  return SmallVector<Value>(UnrealizedConversionCastOp::create(b, loc, types, v).getResults());
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

namespace {

using Components = SmallVector<Value, 4>;

/// Common state of the formula patterns: the hook, the sign facts and constant building.
template <typename Op> class FormulaPattern : public OpConversionPattern<Op> {
public:
  FormulaPattern(const FormulaTypeConverter &converter, const TargetMath &math,
                 const SignFacts &signs, MLIRContext *ctx)
      : OpConversionPattern<Op>(converter, ctx), math(math), signs(signs),
        lanes(converter.getLanes()) {}

  using OneToNOpAdaptor = typename OpConversionPattern<Op>::OneToNOpAdaptor;

  LogicalResult matchAndRewrite(Op op, OneToNOpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const final {
    Type element = cast<VectorType>(op->getResult(0).getType()).getElementType();
    Builder builder{rewriter, op.getLoc(), getComponentType(element, lanes), math};
    SmallVector<Components> operands;
    for (ValueRange range : adaptor.getOperands())
      operands.emplace_back(range.begin(), range.end());
    Components result = lower(op, operands, builder);
    if (int64_t(result.size()) != getFormulaDim(op->getResult(0).getType()))
      return rewriter.notifyMatchFailure(op, "component count mismatch");
    rewriter.replaceOpWithMultiple(op, {ValueRange(result)});
    return success();
  }

protected:
  /// Emits component arithmetic at the op being replaced.
  struct Builder {
    OpBuilder &b;
    Location loc;
    Type type; // of one component
    const TargetMath &math;

    Value constant(double value) const { return createConstantLike(b, loc, type, value); }
    arith::FastMathFlags flags() const { return math.arithFlags(); }
    Value add(Value x, Value y) const { return arith::AddFOp::create(b, loc, x, y, flags()); }
    Value sub(Value x, Value y) const { return arith::SubFOp::create(b, loc, x, y, flags()); }
    Value mul(Value x, Value y) const { return arith::MulFOp::create(b, loc, x, y, flags()); }
    Value neg(Value x) const { return arith::NegFOp::create(b, loc, x, flags()); }
    Value fma(Value x, Value y, Value z) const { return math.fma(b, loc, x, y, z); }

    /// Elementwise f over two component lists with KeOps broadcasting.
    template <typename F> Components zip(ArrayRef<Value> x, ArrayRef<Value> y, F f) const {
      size_t n = std::max(x.size(), y.size());
      Components r;
      for (size_t k = 0; k < n; ++k)
        r.push_back(f(x[x.size() == 1 ? 0 : k], y[y.size() == 1 ? 0 : k]));
      return r;
    }
    template <typename F> Components map(ArrayRef<Value> x, F f) const {
      Components r;
      for (Value v : x)
        r.push_back(f(v));
      return r;
    }
    /// Σ x_k, left to right.
    Value sum(ArrayRef<Value> x) const {
      Value s = x.front();
      for (Value v : x.drop_front())
        s = add(s, v);
      return s;
    }
    /// Σ x_k y_k as one multiply and a chain of FMAs (broadcasting a dimension-1 side).
    Value dot(ArrayRef<Value> x, ArrayRef<Value> y) const {
      size_t n = std::max(x.size(), y.size());
      auto at = [](ArrayRef<Value> v, size_t k) { return v[v.size() == 1 ? 0 : k]; };
      Value s = mul(at(x, 0), at(y, 0));
      for (size_t k = 1; k < n; ++k)
        s = fma(at(x, k), at(y, k), s);
      return s;
    }
  };

  virtual Components lower(Op op, ArrayRef<Components> operands, const Builder &b) const = 0;

  const TargetMath &math;
  const SignFacts &signs;
  int64_t lanes;
};

#define KCONV_FORMULA_PATTERN(NAME, OP)                                                            \
  struct NAME : FormulaPattern<OP> {                                                               \
    using FormulaPattern<OP>::FormulaPattern;                                                      \
    Components lower(OP op, ArrayRef<Components> x, const Builder &b) const override;             \
  };                                                                                               \
  Components NAME::lower(OP op, ArrayRef<Components> x, const Builder &b) const

KCONV_FORMULA_PATTERN(LowerConstant, ConstantOp) {
  return Components(getFormulaDim(op.getType()), b.constant(op.getValue().convertToDouble()));
}

// Elementwise binary ops.
KCONV_FORMULA_PATTERN(LowerAdd, AddOp) {
  return b.zip(x[0], x[1], [&](Value p, Value q) { return b.add(p, q); });
}
KCONV_FORMULA_PATTERN(LowerSub, SubOp) {
  return b.zip(x[0], x[1], [&](Value p, Value q) { return b.sub(p, q); });
}
KCONV_FORMULA_PATTERN(LowerMul, MulOp) {
  return b.zip(x[0], x[1], [&](Value p, Value q) { return b.mul(p, q); });
}
KCONV_FORMULA_PATTERN(LowerDiv, DivOp) {
  return b.zip(x[0], x[1], [&](Value p, Value q) { return math.div(b.b, b.loc, p, q); });
}

// Elementwise unary ops.
KCONV_FORMULA_PATTERN(LowerNeg, NegOp) {
  return b.map(x[0], [&](Value v) { return b.neg(v); });
}
KCONV_FORMULA_PATTERN(LowerExp, ExpOp) {
  bool nonPositive = signs.isNonPositive(op.getOperand());
  return b.map(x[0], [&](Value v) { return math.exp(b.b, b.loc, v, nonPositive); });
}
KCONV_FORMULA_PATTERN(LowerExp2, Exp2Op) {
  return b.map(x[0], [&](Value v) { return math.exp2(b.b, b.loc, v); });
}
KCONV_FORMULA_PATTERN(LowerLog, LogOp) {
  return b.map(x[0], [&](Value v) { return math.log(b.b, b.loc, v); });
}
KCONV_FORMULA_PATTERN(LowerSqrt, SqrtOp) {
  return b.map(x[0], [&](Value v) { return math.sqrt(b.b, b.loc, v); });
}
KCONV_FORMULA_PATTERN(LowerRsqrt, RsqrtOp) {
  return b.map(x[0], [&](Value v) { return math.rsqrt(b.b, b.loc, v); });
}
KCONV_FORMULA_PATTERN(LowerSquare, SquareOp) {
  return b.map(x[0], [&](Value v) { return b.mul(v, v); });
}
KCONV_FORMULA_PATTERN(LowerInv, InvOp) {
  return b.map(x[0], [&](Value v) { return math.reciprocal(b.b, b.loc, v); });
}
KCONV_FORMULA_PATTERN(LowerAbs, AbsOp) {
  return b.map(x[0], [&](Value v) { return math.abs(b.b, b.loc, v); });
}
/// x^n by repeated squaring; a negative n gives 1 / x^|n|, n = 0 gives 1.
KCONV_FORMULA_PATTERN(LowerPow, PowOp) {
  int64_t n = op.getExponent();
  uint64_t e = n < 0 ? uint64_t(0) - uint64_t(n) : uint64_t(n);
  return b.map(x[0], [&](Value base) {
    if (e == 0)
      return b.constant(1.0);
    Value acc, square = base;
    for (uint64_t m = e; m; m >>= 1) {
      if (m & 1)
        acc = acc ? b.mul(acc, square) : square;
      if (m > 1)
        square = b.mul(square, square);
    }
    return n < 0 ? math.reciprocal(b.b, b.loc, acc) : acc;
  });
}

// Reductions over the components (dimension-1 results).
KCONV_FORMULA_PATTERN(LowerSum, SumOp) { return {b.sum(x[0])}; }
KCONV_FORMULA_PATTERN(LowerSqNorm2, SqNorm2Op) { return {b.dot(x[0], x[0])}; }
KCONV_FORMULA_PATTERN(LowerNorm2, Norm2Op) {
  return {math.sqrt(b.b, b.loc, b.dot(x[0], x[0]))};
}
KCONV_FORMULA_PATTERN(LowerSqDist, SqDistOp) {
  Components d = b.zip(x[0], x[1], [&](Value p, Value q) { return b.sub(p, q); });
  return {b.dot(d, d)};
}
KCONV_FORMULA_PATTERN(LowerScalprod, ScalprodOp) { return {b.dot(x[0], x[1])}; }

// Component selection.
KCONV_FORMULA_PATTERN(LowerElem, ElemOp) { return {x[0][op.getIndex()]}; }
KCONV_FORMULA_PATTERN(LowerConcat, ConcatOp) {
  Components r(x[0]);
  r.append(x[1].begin(), x[1].end());
  return r;
}

#undef KCONV_FORMULA_PATTERN

} // namespace

void mlir::kconv::populateKconvFormulaToArithPatterns(const FormulaTypeConverter &converter,
                                                      const TargetMath &math,
                                                      const SignFacts &signs,
                                                      RewritePatternSet &patterns) {
  patterns.add<LowerConstant, LowerAdd, LowerSub, LowerMul, LowerDiv, LowerNeg, LowerExp,
               LowerExp2, LowerLog, LowerSqrt, LowerRsqrt, LowerSquare, LowerInv, LowerAbs,
               LowerPow, LowerSum, LowerSqNorm2, LowerNorm2, LowerSqDist, LowerScalprod,
               LowerElem, LowerConcat>(converter, math, signs, patterns.getContext());
}

LogicalResult mlir::kconv::lowerFormulaOps(Operation *root, int64_t lanes,
                                           const TargetMath &math) {
  MLIRContext *ctx = root->getContext();
  FormulaTypeConverter converter(lanes);
  SignFacts signs(root);
  RewritePatternSet patterns(ctx);
  populateKconvFormulaToArithPatterns(converter, math, signs, patterns);
  ConversionTarget target(*ctx);
  target.addIllegalDialect<KconvDialect>();
  // A reduction not yet lowered by a backend keeps its formula.
  target.addLegalOp<ReductionOp, YieldOp>();
  target.markOpRecursivelyLegal<ReductionOp>();
  target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
  if (failed(applyPartialConversion(root, target, std::move(patterns))))
    return failure();
  // The packs and unpacks now meet (unpack(pack(components)) = components): fold them away.
  SmallVector<UnrealizedConversionCastOp> casts;
  root->walk([&](UnrealizedConversionCastOp cast) { casts.push_back(cast); });
  reconcileUnrealizedCasts(casts);
  math.finalize(root);
  return success();
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

namespace {
struct ConvertKconvFormulaToArithPass
    : public mlir::kconv::impl::ConvertKconvFormulaToArithBase<ConvertKconvFormulaToArithPass> {
  using Base::Base;

  void runOnOperation() override {
    std::unique_ptr<TargetMath> math;
    if (target == "nvvm")
      math = createNVVMTargetMath(fastMath);
    else if (target == "cpu")
      math = createCPUTargetMath(fastMath, avx512);
    else if (target == "generic")
      math = std::make_unique<TargetMath>(fastMath);
    else {
      getOperation()->emitError("convert-kconv-formula-to-arith: unknown target '")
          << target << "' (expected generic, cpu or nvvm)";
      return signalPassFailure();
    }
    if (lanes < 0) {
      getOperation()->emitError("convert-kconv-formula-to-arith: lanes must be >= 0");
      return signalPassFailure();
    }
    if (failed(lowerFormulaOps(getOperation(), lanes, *math)))
      signalPassFailure();
  }
};
} // namespace
