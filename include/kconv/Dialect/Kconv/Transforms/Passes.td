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

    Example: `Exp(-Sum((X - Y)**2) * 1) * B` written by hand,
    ```mlir
    %0 = kconv.sub %X, %Y : vector<3xf32>, vector<3xf32>
    %1 = kconv.pow %0, 2 : vector<3xf32>
    %2 = kconv.sum %1 : vector<3xf32>
    %3 = kconv.neg %2 : vector<1xf32>
    %4 = kconv.mul %3, %one : vector<1xf32>, vector<1xf32>
    %5 = kconv.exp %4 : vector<1xf32>
    %6 = kconv.mul %5, %B : vector<1xf32>, vector<1xf32>
    ```
    becomes the Gaussian kernel's canonical form:
    ```mlir
    %0 = kconv.sqdist %X, %Y : vector<3xf32>, vector<3xf32>
    %1 = kconv.neg %0 : vector<1xf32>
    %2 = kconv.exp %1 : vector<1xf32>
    %3 = kconv.mul %2, %B : vector<1xf32>, vector<1xf32>
    ```

    See docs/passes.md for the list of patterns.
  }];
}

#endif // KCONV_DIALECT_KCONV_TRANSFORMS_PASSES_TD
