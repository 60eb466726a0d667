//===- KconvCanonicalize.cpp - canonicalization patterns of kconv -------===//
//
// Rewrites that build new ops (the folders in KconvFold.cpp only return existing values or
// constants). Every pattern keeps the result type of the op it replaces exactly: under KeOps
// broadcasting a rewrite that is an identity on dimension-1 values may change the dimension of a
// broadcast one, so each pattern states which dimensions it accepts.
//
//===----------------------------------------------------------------------===//
#include "kconv/Dialect/Kconv/IR/KconvOps.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::kconv;

/// Whether `value` is a `kconv.constant` equal to `constant`.
static bool isConstantValue(Value value, double constant) {
  FloatAttr attr;
  return matchPattern(value, m_Constant(&attr)) && attr.getValueAsDouble() == constant;
}

namespace {

//===----------------------------------------------------------------------===//
// Powers and roots
//===----------------------------------------------------------------------===//

/// Pow(x, 2) -> Square(x): Square is the normal form of the second power.
struct PowTwoToSquare : OpRewritePattern<PowOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PowOp op, PatternRewriter &rewriter) const override {
    if (op.getExponentAttr().getInt() != 2)
      return failure();
    rewriter.replaceOpWithNewOp<SquareOp>(op, op.getType(), op.getOperand());
    return success();
  }
};

/// x * x -> Square(x).
struct MulSelfToSquare : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op, PatternRewriter &rewriter) const override {
    if (op.getLhs() != op.getRhs())
      return failure();
    rewriter.replaceOpWithNewOp<SquareOp>(op, op.getType(), op.getLhs());
    return success();
  }
};

/// Sqrt(Square(x)) -> Abs(x).
struct SqrtOfSquareToAbs : OpRewritePattern<SqrtOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SqrtOp op, PatternRewriter &rewriter) const override {
    auto square = op.getOperand().getDefiningOp<SquareOp>();
    if (!square)
      return failure();
    rewriter.replaceOpWithNewOp<AbsOp>(op, op.getType(), square.getOperand());
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Norms and distances
//===----------------------------------------------------------------------===//

/// Whether SqNorm2(value) becomes SqDist (the pattern below): value is X - Y, same types.
static bool isSqDistOperand(Value value) {
  auto sub = value.getDefiningOp<SubOp>();
  return sub && sub.getLhs().getType() == sub.getRhs().getType();
}

/// Sqrt(SqNorm2(x)) -> Norm2(x), except for an x = X - Y that SqNorm2 -> SqDist rewrites: distances
/// stay Sqrt(SqDist(X, Y)) whatever order the driver visits the ops in.
struct SqrtOfSqNorm2ToNorm2 : OpRewritePattern<SqrtOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SqrtOp op, PatternRewriter &rewriter) const override {
    auto sqnorm = op.getOperand().getDefiningOp<SqNorm2Op>();
    if (!sqnorm || isSqDistOperand(sqnorm.getOperand()))
      return failure();
    rewriter.replaceOpWithNewOp<Norm2Op>(op, sqnorm.getOperand());
    return success();
  }
};

/// Sum(Square(x)) -> SqNorm2(x). With the next pattern, Sum(Square(X - Y)) -> SqDist(X, Y).
/// (A dimension-1 x never gets here: Sum of a dimension-1 value folds away first.)
struct SumOfSquareToSqNorm2 : OpRewritePattern<SumOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SumOp op, PatternRewriter &rewriter) const override {
    auto square = op.getOperand().getDefiningOp<SquareOp>();
    if (!square)
      return failure();
    rewriter.replaceOpWithNewOp<SqNorm2Op>(op, square.getOperand());
    return success();
  }
};

/// SqNorm2(X - Y) -> SqDist(X, Y), for X and Y of the same type. (A broadcast X - Y stays: SqDist
/// broadcasts too, but its lowering is written for equal dimensions first.)
struct SqNorm2OfSubToSqDist : OpRewritePattern<SqNorm2Op> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SqNorm2Op op, PatternRewriter &rewriter) const override {
    if (!isSqDistOperand(op.getOperand()))
      return failure();
    auto sub = op.getOperand().getDefiningOp<SubOp>();
    rewriter.replaceOpWithNewOp<SqDistOp>(op, sub.getLhs(), sub.getRhs());
    return success();
  }
};

/// Scalprod(x, x) -> SqNorm2(x).
struct ScalprodSelfToSqNorm2 : OpRewritePattern<ScalprodOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ScalprodOp op, PatternRewriter &rewriter) const override {
    if (op.getLhs() != op.getRhs())
      return failure();
    rewriter.replaceOpWithNewOp<SqNorm2Op>(op, op.getLhs());
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Signs
//===----------------------------------------------------------------------===//
// a - b, b - a, a + b and a + (-b) all have the broadcast type of a and b: these are exact.

/// -(a - b) -> b - a.
struct NegOfSub : OpRewritePattern<NegOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NegOp op, PatternRewriter &rewriter) const override {
    auto sub = op.getOperand().getDefiningOp<SubOp>();
    if (!sub)
      return failure();
    rewriter.replaceOpWithNewOp<SubOp>(op, sub.getRhs(), sub.getLhs());
    return success();
  }
};

/// a + (-b) -> a - b, (-a) + b -> b - a.
struct AddOfNegToSub : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AddOp op, PatternRewriter &rewriter) const override {
    if (auto neg = op.getRhs().getDefiningOp<NegOp>()) {
      rewriter.replaceOpWithNewOp<SubOp>(op, op.getLhs(), neg.getOperand());
      return success();
    }
    if (auto neg = op.getLhs().getDefiningOp<NegOp>()) {
      rewriter.replaceOpWithNewOp<SubOp>(op, op.getRhs(), neg.getOperand());
      return success();
    }
    return failure();
  }
};

/// a - (-b) -> a + b.
struct SubOfNegToAdd : OpRewritePattern<SubOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SubOp op, PatternRewriter &rewriter) const override {
    auto neg = op.getRhs().getDefiningOp<NegOp>();
    if (!neg)
      return failure();
    rewriter.replaceOpWithNewOp<AddOp>(op, op.getLhs(), neg.getOperand());
    return success();
  }
};

/// 0 - x -> -x. The constant has dimension 1, so 0 - x has x's type.
struct ZeroSubToNeg : OpRewritePattern<SubOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SubOp op, PatternRewriter &rewriter) const override {
    if (!isConstantValue(op.getLhs(), 0.0) || op.getRhs().getType() != op.getType())
      return failure();
    rewriter.replaceOpWithNewOp<NegOp>(op, op.getType(), op.getRhs());
    return success();
  }
};

/// x * -1 -> -x. The constant has dimension 1, so x * -1 has x's type.
struct MulMinusOneToNeg : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op, PatternRewriter &rewriter) const override {
    Value other;
    if (isConstantValue(op.getRhs(), -1.0))
      other = op.getLhs();
    else if (isConstantValue(op.getLhs(), -1.0))
      other = op.getRhs();
    if (!other || other.getType() != op.getType())
      return failure();
    rewriter.replaceOpWithNewOp<NegOp>(op, op.getType(), other);
    return success();
  }
};

/// 1 / x -> Inv(x). The constant has dimension 1, so 1 / x has x's type.
struct OneDivToInv : OpRewritePattern<DivOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DivOp op, PatternRewriter &rewriter) const override {
    if (!isConstantValue(op.getLhs(), 1.0) || op.getRhs().getType() != op.getType())
      return failure();
    rewriter.replaceOpWithNewOp<InvOp>(op, op.getType(), op.getRhs());
    return success();
  }
};

/// (v * s) * t -> v * (s * t), for v wide and s, t of dimension 1 (either order of each product):
/// the scalars are multiplied once, not each of v's components twice. The inner product must be
/// used only here (else it stays, and the rewrite would add a product).
struct MulScalarsFirst : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op, PatternRewriter &rewriter) const override {
    auto dim = [](Value v) { return getFormulaDim(v.getType()); };
    for (auto [inner, t] : {std::pair{op.getLhs(), op.getRhs()}, {op.getRhs(), op.getLhs()}}) {
      auto product = inner.getDefiningOp<MulOp>();
      if (!product || !product->hasOneUse() || dim(t) != 1 || dim(op.getResult()) == 1)
        continue;
      Value a = product.getLhs(), b = product.getRhs();
      if (dim(a) == 1 && dim(b) > 1)
        std::swap(a, b);
      if (dim(a) == 1 || dim(b) != 1)
        continue; // not (wide * scalar)
      Value scalars = MulOp::create(rewriter, op.getLoc(), b, t);
      rewriter.replaceOpWithNewOp<MulOp>(op, op.getType(), a, scalars);
      return success();
    }
    return failure();
  }
};

//===----------------------------------------------------------------------===//
// Exponentials
//===----------------------------------------------------------------------===//

/// Exp(a) * Exp(b) -> Exp(a + b), for a and b of the same type and Exps used only here: the
/// rewrite trades a multiplication for an addition and saves one Exp, which is the costly part of
/// a kernel (the GPU's SFU bound); an Exp that is also used elsewhere would be computed twice.
struct MulOfExps : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op, PatternRewriter &rewriter) const override {
    auto lhs = op.getLhs().getDefiningOp<ExpOp>();
    auto rhs = op.getRhs().getDefiningOp<ExpOp>();
    if (!lhs || !rhs || lhs == rhs || !lhs->hasOneUse() || !rhs->hasOneUse() ||
        lhs.getOperand().getType() != rhs.getOperand().getType())
      return failure();
    Value sum = AddOp::create(rewriter, op.getLoc(), lhs.getOperand(), rhs.getOperand());
    rewriter.replaceOpWithNewOp<ExpOp>(op, op.getType(), sum);
    return success();
  }
};

} // namespace

void AddOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<AddOfNegToSub>(context);
}
void SubOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<SubOfNegToAdd, ZeroSubToNeg>(context);
}
void MulOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<MulSelfToSquare, MulMinusOneToNeg, MulOfExps, MulScalarsFirst>(context);
}
void DivOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<OneDivToInv>(context);
}
void NegOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<NegOfSub>(context);
}
void SqrtOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<SqrtOfSquareToAbs, SqrtOfSqNorm2ToNorm2>(context);
}
void PowOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<PowTwoToSquare>(context);
}
void SumOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<SumOfSquareToSqNorm2>(context);
}
void SqNorm2Op::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<SqNorm2OfSubToSqDist>(context);
}
void ScalprodOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<ScalprodSelfToSqNorm2>(context);
}
