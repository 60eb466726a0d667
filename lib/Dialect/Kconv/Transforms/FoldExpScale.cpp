//===- FoldExpScale.cpp - kconv-fold-exp-scale -----------------------------===//
//
// Exp(x) = Exp2(log2(e) · x), with the constant pushed down the formula towards the variables, so
// that a target whose fast exponential is 2^x (ex2.approx) pays no multiply per pair:
// Exp(-SqDist(X, Y)) becomes Exp2(-SqDist(√log2e·X, √log2e·Y)), and the two scaled variables
// are computed once per output row (X) or stored scaled in the GPU's shared tile (Y).
//
// The rules are those the GPU lowering applied while it emitted scalar code (see docs/passes.md):
// a request "c · v" either goes into v's operands (absorbed) or stays a multiply at v's level. A
// reduced variable is staged once, so it can carry one scale only: one wanted at several scales is
// pinned (absorbs nothing) and the analysis repeats until no new variable is pinned.
//
// LogSumExp and SumSoftMaxWeight get the factor on their f (the yield's first component) even
// without an Exp: their kind computes exp(f), and `log2_exponent` tells it that f is in log2 units.
//
// Formulas can be tens of thousands of ops deep: every walk is over the body's ops in SSA order
// (or its reverse), never a recursion on operands.
//
//===----------------------------------------------------------------------===//
#include "kconv/Dialect/Kconv/Transforms/Passes.h"

#include "kconv/Dialect/Kconv/IR/KconvOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/CSE.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/ADT/bit.h"

#include <cmath>
#include <map>
#include <set>

namespace mlir::kconv {
#define GEN_PASS_DEF_KCONVFOLDEXPSCALE
#include "kconv/Dialect/Kconv/Transforms/Passes.h.inc"
} // namespace mlir::kconv

using namespace mlir;
using namespace mlir::kconv;

namespace {

constexpr double kLog2E = 1.4426950408889634;

std::optional<double> constantOf(Value v) {
  if (auto c = v.getDefiningOp<kconv::ConstantOp>())
    return c.getValue().convertToDouble();
  return std::nullopt;
}

/// How `c · op` is computed, and at which scale each operand is then wanted.
struct Step {
  enum Kind {
    Plain,      // c = 1: the op itself (an Exp: its Exp2 replacement)
    ScaleAfter, // the op itself, then one multiply by c (a negation for c = -1)
    Forward,    // the value of operand `forwarded` at scales[0] (Neg, Mul or Div by a constant)
    Fold,       // a constant: `folded`
    Rebuild,    // the op on its operands at `scales`, negated if `negate`
  } kind;
  SmallVector<double, 2> scales; // Plain, ScaleAfter, Rebuild: one per operand; Forward: one
  unsigned forwarded = 0;
  bool negate = false;
  double folded = 0.0;
};

class ExpScaleFolding {
public:
  explicit ExpScaleFolding(ReductionOp red)
      : red(red), body(red.getBody().front()), vars(red.getVariableAttrs()),
        reducedCat(red.getOutputCategory() == VarCategory::Vi ? VarCategory::Vj : VarCategory::Vi) {
  }

  /// Rewrites the body; returns whether there was an Exp (or a shift-exp f) to rewrite.
  bool run() {
    shiftExp = shiftExponent();
    if (!shiftExp && llvm::none_of(body, [](Operation &op) { return isa<ExpOp>(op); }))
      return false;
    plan();
    rewrite();
    if (shiftExp)
      red.setLog2Exponent(true);
    return true;
  }

private:
  /// LogSumExp and SumSoftMaxWeight take exp(f) of their yield's first component (yield =
  /// Concat(f, g)): the kind can take 2^f instead when f arrives multiplied by log2 e. Not
  /// Max_SumShiftExp, whose output is max f itself.
  ConcatOp shiftExponent() {
    if (red.getLog2Exponent() || (red.getKind() != ReductionKind::LogSumExp &&
                                  red.getKind() != ReductionKind::SumSoftMaxWeight))
      return {};
    auto cat = red.getYield().getValue().getDefiningOp<ConcatOp>();
    if (!cat || !cat->hasOneUse() || cast<VectorType>(cat.getLhs().getType()).getDimSize(0) != 1)
      return {};
    return cat;
  }

  /// Can `c · v` be computed with c pushed into the leaves (no multiply at v's level)?
  bool canAbsorb(Value v) const {
    if (auto arg = dyn_cast<BlockArgument>(v))
      return vars[arg.getArgNumber()].getCategory() != reducedCat ||
             !pinned.count(arg.getArgNumber());
    return absorbs.lookup(v);
  }

  /// Operands precede their users in the block: one forward walk decides every op.
  void computeAbsorbs() {
    absorbs.clear();
    for (Operation &op : body.without_terminator()) {
      if (op.getNumResults() != 1)
        continue;
      auto operand = [&](unsigned k) { return canAbsorb(op.getOperand(k)); };
      bool result = TypeSwitch<Operation *, bool>(&op)
                        .Case<kconv::ConstantOp>([](auto) { return true; })
                        .Case<NegOp, SqNorm2Op, SquareOp, SumOp, ElemOp, SqrtOp>(
                            [&](Operation *) { return operand(0); })
                        .Case<MulOp, ScalprodOp>([&](Operation *o) {
                          return constantOf(o->getOperand(0)) || constantOf(o->getOperand(1)) ||
                                 operand(0) || operand(1);
                        })
                        .Case<DivOp>([&](DivOp o) { return constantOf(o.getRhs()) || operand(0); })
                        .Case<AddOp, SubOp, SqDistOp, ConcatOp>(
                            [&](Operation *) { return operand(0) && operand(1); })
                        .Default([](Operation *) { return false; });
      absorbs[op.getResult(0)] = result;
    }
  }

  /// The scales at which the op's operands are wanted when the op itself is computed.
  static SmallVector<double, 2> plainScales(Operation *op) {
    SmallVector<double, 2> scales(op->getNumOperands(), 1.0);
    if (isa<ExpOp>(op))
      scales[0] = kLog2E; // Exp(x) = Exp2(log2(e) · x)
    return scales;
  }

  Step stepFor(Operation *op, double c) const {
    if (c == 1.0)
      return {Step::Plain, plainScales(op)};
    // A negation or a product with a constant passes the factor on for free in any case, even
    // into a pinned variable: the multiply lands there, on a value of the same dimension.
    bool passOn =
        isa<NegOp>(op) ||
        (isa<MulOp>(op) && (constantOf(op->getOperand(0)) || constantOf(op->getOperand(1)))) ||
        (isa<DivOp>(op) && constantOf(op->getOperand(1)));
    if (!passOn && !canAbsorb(op->getResult(0)))
      return {Step::ScaleAfter, plainScales(op)};
    auto forward = [](unsigned k, double s) {
      Step step{Step::Forward, {s}};
      step.forwarded = k;
      return step;
    };
    auto rebuild = [](SmallVector<double, 2> scales, bool negate = false) {
      Step step{Step::Rebuild, std::move(scales)};
      step.negate = negate;
      return step;
    };
    // c·|a − b|² = sign(c)·|√|c|·a − √|c|·b|², the same for SqNorm2 and Square.
    double root = std::sqrt(std::fabs(c));
    return TypeSwitch<Operation *, Step>(op)
        .Case<kconv::ConstantOp>([&](kconv::ConstantOp o) {
          Step step{Step::Fold, {}};
          step.folded = c * o.getValue().convertToDouble();
          return step;
        })
        .Case<NegOp>([&](NegOp) { return forward(0, -c); })
        .Case<MulOp, ScalprodOp>([&](Operation *o) {
          if (isa<MulOp>(o)) {
            if (auto k = constantOf(o->getOperand(1)))
              return forward(0, c * *k);
            if (auto k = constantOf(o->getOperand(0)))
              return forward(1, c * *k);
          }
          bool left = canAbsorb(o->getOperand(0));
          return rebuild({left ? c : 1.0, left ? 1.0 : c});
        })
        .Case<DivOp>([&](DivOp o) {
          if (auto k = constantOf(o.getRhs()))
            return forward(0, c / *k);
          return rebuild({c, 1.0});
        })
        .Case<AddOp, SubOp, ConcatOp>([&](Operation *) {
          return rebuild({c, c});
        })
        .Case<SqDistOp>([&](SqDistOp) {
          return rebuild({root, root}, c < 0);
        })
        .Case<SqNorm2Op, SquareOp>([&](Operation *) { return rebuild({root}, c < 0); })
        // c·√a = sign(c)·√(c²·a)
        .Case<SqrtOp>([&](SqrtOp) { return rebuild({c * c}, c < 0); })
        .Case<SumOp, ElemOp>([&](Operation *) { return rebuild({c}); })
        .Default([&](Operation *o) {
          return Step{Step::ScaleAfter, plainScales(o)};
        });
  }

  /// Which scales every value is wanted at, from the yield (scale 1) down: users follow their
  /// operands in the block, so a reverse walk sees every request on a value before the value.
  void computeDemands() {
    demands.clear();
    if (shiftExp) {
      demands[shiftExp.getLhs()].insert(kLog2E);
      demands[shiftExp.getRhs()].insert(1.0);
    } else {
      demands[red.getYield().getValue()].insert(1.0);
    }
    for (Operation &op : llvm::reverse(body.without_terminator())) {
      if (op.getNumResults() != 1)
        continue;
      auto it = demands.find(op.getResult(0));
      if (it == demands.end())
        continue; // dead
      // A copy: inserting below may rehash `demands`.
      std::set<double> scales = it->second;
      for (double c : scales) {
        Step step = stepFor(&op, c);
        if (step.kind == Step::Forward)
          demands[op.getOperand(step.forwarded)].insert(step.scales[0]);
        else if (step.kind != Step::Fold)
          for (auto [operand, s] : llvm::zip(op.getOperands(), step.scales))
            demands[operand].insert(s);
      }
    }
  }

  /// Pins reduced variables wanted at several scales until none is new.
  void plan() {
    for (;;) {
      computeAbsorbs();
      computeDemands();
      bool changed = false;
      for (BlockArgument arg : body.getArguments()) {
        unsigned k = arg.getArgNumber();
        auto it = demands.find(arg);
        if (vars[k].getCategory() == reducedCat && it != demands.end() && it->second.size() > 1 &&
            pinned.insert(k).second)
          changed = true;
      }
      if (!changed)
        return;
    }
  }

  Value constant(OpBuilder &b, Location loc, double value, Type elementType) {
    // Keyed by the bits: -0 and 0 are different constants.
    auto key = std::make_pair(llvm::bit_cast<uint64_t>(value), elementType.getAsOpaquePointer());
    auto it = constants.find(key);
    if (it != constants.end())
      return it->second;
    Value c =
        kconv::ConstantOp::create(b, loc, getFormulaType(1, elementType), b.getF64FloatAttr(value));
    constants[key] = c;
    return c;
  }

  /// `c · x` as one op at x's level.
  Value scaleAfter(OpBuilder &b, Location loc, Value x, double c) {
    if (c == -1.0)
      return NegOp::create(b, loc, x);
    Type elementType = cast<VectorType>(x.getType()).getElementType();
    return MulOp::create(b, loc, x, constant(b, loc, c, elementType));
  }

  /// The value of `c · v`; built already (its op precedes the current one), or a variable's
  /// scaled copy, made at the first request.
  Value get(OpBuilder &b, Value v, double c) {
    if (c == 1.0) {
      auto it = exp2Of.find(v);
      return it == exp2Of.end() ? v : it->second;
    }
    auto key = std::make_pair(v.getAsOpaquePointer(), c);
    auto it = scaled.find(key);
    if (it != scaled.end())
      return it->second;
    auto arg = cast<BlockArgument>(v); // an op's scaled values are built when it is visited
    Value result = scaleAfter(b, red.getLoc(), arg, c);
    scaled[key] = result;
    return result;
  }

  Value build(OpBuilder &b, Operation *op, double c) {
    Location loc = op->getLoc();
    Step step = stepFor(op, c);
    switch (step.kind) {
    case Step::Plain:
      llvm_unreachable("scale 1 is the op itself");
    case Step::ScaleAfter:
      return scaleAfter(b, loc, get(b, op->getResult(0), 1.0), c);
    case Step::Forward:
      return get(b, op->getOperand(step.forwarded), step.scales[0]);
    case Step::Fold:
      return constant(b, loc, step.folded,
                      cast<VectorType>(op->getResult(0).getType()).getElementType());
    case Step::Rebuild: {
      // A new op: the original may have other users at other scales.
      OperationState state(loc, op->getName());
      for (auto [operand, s] : llvm::zip(op->getOperands(), step.scales))
        state.addOperands(get(b, operand, s));
      state.addTypes(op->getResultTypes());
      state.addAttributes(op->getAttrs());
      Value result = b.create(state)->getResult(0);
      return step.negate ? NegOp::create(b, loc, result).getResult() : result;
    }
    }
    llvm_unreachable("unknown step");
  }

  void rewrite() {
    OpBuilder b(red.getContext());
    for (Operation &op : body.without_terminator()) {
      if (op.getNumResults() != 1)
        continue;
      Value v = op.getResult(0);
      auto it = demands.find(v);
      if (it == demands.end())
        continue;
      // After the op: a multiply at its level uses it.
      b.setInsertionPointAfter(&op);
      if (auto exp = dyn_cast<ExpOp>(op))
        exp2Of[v] = Exp2Op::create(b, exp.getLoc(), get(b, exp.getOperand(), kLog2E));
      for (double c : it->second)
        if (c != 1.0)
          scaled[{v.getAsOpaquePointer(), c}] = build(b, &op, c);
    }
    for (auto [exp, exp2] : exp2Of)
      exp.replaceAllUsesWith(exp2);
    if (shiftExp) {
      b.setInsertionPoint(shiftExp);
      shiftExp->setOperands({get(b, shiftExp.getLhs(), kLog2E), get(b, shiftExp.getRhs(), 1.0)});
    }
    // Users follow their operands: one reverse walk erases every chain that became dead.
    // (Not make_early_inc_range over reverse(): a reverse iterator holds the erased op.)
    for (Operation *op = body.getTerminator()->getPrevNode(); op;) {
      Operation *prev = op->getPrevNode();
      if (op->use_empty())
        op->erase();
      op = prev;
    }
    // Two requests can build equal ops (two scales of one value that end on the same constant).
    IRRewriter rewriter(red.getContext());
    DominanceInfo domInfo(red);
    eliminateCommonSubExpressions(rewriter, domInfo, red);
  }

  ReductionOp red;
  ConcatOp shiftExp; // the yield of a shift-exp kind whose f gets the log2 e factor
  Block &body;
  SmallVector<VariableAttr> vars;
  VarCategory reducedCat;
  std::set<unsigned> pinned;
  DenseMap<Value, bool> absorbs;
  DenseMap<Value, std::set<double>> demands;
  // Keyed like the demands, by (value, scale) with scale != 1.
  std::map<std::pair<const void *, double>, Value> scaled;
  DenseMap<Value, Value> exp2Of;
  std::map<std::pair<uint64_t, const void *>, Value> constants;
};

struct KconvFoldExpScalePass : kconv::impl::KconvFoldExpScaleBase<KconvFoldExpScalePass> {
  using Base::Base;

  void runOnOperation() override {
    if (!ExpScaleFolding(getOperation()).run())
      markAllAnalysesPreserved();
  }
};

} // namespace
