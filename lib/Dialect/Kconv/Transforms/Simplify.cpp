//===- Simplify.cpp - kconv-simplify: folding, algebra and CSE ----------===//
//
// The folders (KconvFold.cpp) and canonicalization patterns (KconvCanonicalize.cpp) of the kconv
// ops, applied greedily to one reduction's body, then CSE; repeated while CSE merges something,
// since a merge can enable a pattern (Scalprod(x - y, x - y) with two equal subtractions becomes
// SqNorm2 and then SqDist only once the subtractions are one value).
//
//===----------------------------------------------------------------------===//
#include "kconv/Dialect/Kconv/Transforms/Passes.h"

#include "kconv/Dialect/Kconv/IR/KconvOps.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Rewrite/FrozenRewritePatternSet.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/DenseMap.h"

#include <tuple>

namespace mlir::kconv {
#define GEN_PASS_DEF_KCONVSIMPLIFY
#include "kconv/Dialect/Kconv/Transforms/Passes.h.inc"
} // namespace mlir::kconv

using namespace mlir;
using namespace mlir::kconv;

namespace {

/// Rounds of (patterns, CSE). Each round after the first needs a CSE merge that the patterns could
/// not do; formulas nest a few levels deep, so this is never reached in practice.
constexpr int kMaxRounds = 8;

/// CSE modulo commutativity: replaces `op(b, a)` by an equivalent `op(a, b)` that dominates it.
/// (Upstream CSE compares operands in order; commutative ops only get their constants moved to
/// the right.) Returns whether something changed.
bool eliminateCommutedDuplicates(Operation *root, RewriterBase &rewriter, DominanceInfo &domInfo) {
  // What makes two binary ops equal up to the order of their operands.
  using Key = std::tuple<OperationName, Value, Value, DictionaryAttr, Type>;
  // The first kept op of each key. A hash lookup, not a scan of an operand's users: an operand
  // shared by n ops (a chain x + y + y + ...) would make the scan O(n^2).
  DenseMap<Key, Operation *> seen;
  bool changed = false;
  // Post-order walk: erasing the visited op is allowed. A replacement is always an earlier op that
  // was visited and kept, so chains (a, b), (b, a), (b, a) all end on the first.
  root->walk([&](Operation *op) {
    if (!op->hasTrait<OpTrait::IsCommutative>() || op->getNumOperands() != 2 ||
        op->getNumResults() != 1 || op->getNumRegions() != 0 || !isMemoryEffectFree(op))
      return;
    Value lhs = op->getOperand(0), rhs = op->getOperand(1);
    if (lhs == rhs)
      return;
    DictionaryAttr attrs = op->getAttrDictionary();
    Type type = op->getResult(0).getType();
    auto existing = seen.find(Key(op->getName(), rhs, lhs, attrs, type));
    if (existing != seen.end() && domInfo.properlyDominates(existing->second, op)) {
      rewriter.replaceOp(op, existing->second->getResults());
      changed = true;
      return;
    }
    seen.try_emplace(Key(op->getName(), lhs, rhs, attrs, type), op);
  });
  return changed;
}

struct KconvSimplifyPass : kconv::impl::KconvSimplifyBase<KconvSimplifyPass> {
  using Base::Base;

  LogicalResult initialize(MLIRContext *context) override {
    RewritePatternSet set(context);
    for (RegisteredOperationName name : context->getRegisteredOperations())
      if (name.getDialectNamespace() == KconvDialect::getDialectNamespace())
        name.getCanonicalizationPatterns(set, context);
    patterns = FrozenRewritePatternSet(std::move(set));
    return success();
  }

  void runOnOperation() override {
    ReductionOp reduction = getOperation();
    // The body is a single block whose arguments are the reduction's signature: no region
    // simplification (it could drop unused arguments of blocks).
    GreedyRewriteConfig config;
    config.setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
    IRRewriter rewriter(&getContext());
    bool changed = false;
    for (int round = 0; round < kMaxRounds; ++round) {
      bool patternsChanged = false;
      // Not converging within the driver's iteration limit leaves a valid, less simplified
      // formula: like upstream canonicalize, this is not an error.
      (void)applyPatternsGreedily(reduction.getOperation(), patterns, config, &patternsChanged);
      DominanceInfo domInfo(reduction);
      bool cseChanged = false;
      eliminateCommonSubExpressions(rewriter, domInfo, reduction, &cseChanged);
      cseChanged |= eliminateCommutedDuplicates(reduction, rewriter, domInfo);
      changed |= patternsChanged || cseChanged;
      if (!cseChanged)
        break;
    }
    if (!changed)
      markAllAnalysesPreserved();
  }

  FrozenRewritePatternSet patterns;
};

} // namespace
