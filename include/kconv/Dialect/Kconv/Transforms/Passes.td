//===- Passes.td - kconv dialect passes --------------------*- tablegen -*-===//
#ifndef KCONV_DIALECT_KCONV_TRANSFORMS_PASSES_TD
#define KCONV_DIALECT_KCONV_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def KconvSimplify : Pass<"kconv-simplify", "::mlir::kconv::ReductionOp"> {
  let summary = "Simplify a reduction's formula: constant folding, algebra, CSE";
  let description = [{
    Applies the kconv dialect's folders and canonicalization patterns greedily to the body of each
    `kconv.reduction`, then eliminates common sub-formulas (CSE, also across the operand order of
    commutative ops), and repeats while CSE finds something new.

    The reduction's signature never changes: its `vars` and block arguments stay as they are, even
    where the formula no longer uses a variable (the runtime binds variables by position). Every
    rewrite keeps result types exactly; under KeOps broadcasting (a dimension-1 operand against a
    dimension-D one) an identity that drops or creates an op is applied only where the dimensions
    allow it, e.g. `x * 0` folds to `0` for a dimension-1 `x` only.

    ```mlir
    // before                                         // after
    %d = kconv.sub %x, %y : vector<3xf32>, ...        %0 = kconv.sqdist %x, %y : ...
    %s = kconv.square %d : vector<3xf32>               %1 = kconv.neg %0 : vector<1xf32>
    %n = kconv.sum %s : vector<3xf32>                  %2 = kconv.exp %1 : vector<1xf32>
    %m = kconv.mul %n, %c1 : ...                      kconv.yield %2 : vector<1xf32>
    %e = kconv.exp (neg %m) ...
    ```

    See docs/passes.md for the list of patterns.
  }];
}

#endif // KCONV_DIALECT_KCONV_TRANSFORMS_PASSES_TD
