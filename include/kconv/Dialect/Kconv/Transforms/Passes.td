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

def KconvFoldExpScale : Pass<"kconv-fold-exp-scale", "::mlir::kconv::ReductionOp"> {
  let summary = "Rewrite Exp(x) as Exp2(log2(e)·x), the factor pushed towards the variables";
  let description = [{
    For a target whose fast exponential is 2^x (NVIDIA's ex2.approx), `Exp(x)` costs a multiply by
    log2(e) per pair unless the factor is folded into the formula. This pass replaces every
    `kconv.exp %x` by `kconv.exp2 %x'` with x' = log2(e)·x, and pushes the constant down the
    formula: through negations, products and quotients by constants, sums and differences (when
    both sides absorb it), `SqDist`/`SqNorm2`/`Square` (√|c| into the operands, the sign outside),
    `Sqrt` (c² inside), products and scalar products (into one side), `Sum`, `Elem` and `Concat`,
    down to constants (folded) and variables (`kconv.mul %var, %c`). Where it cannot go further it
    stays as a multiply at that level: `kconv.exp2(kconv.mul(%x, log2 e))`.

    A variable of the reduced category is staged once in shared memory by the GPU lowering, so it
    can carry one scale only: one wanted at two scales, or at a scale and unscaled, is pinned and
    absorbs nothing (repeated until no new variable is pinned). Output-category variables and
    parameters take any number of scales (they are scaled once per thread).

    Gaussian: `Exp(-SqDist(X, Y))` becomes
    ```mlir
    %c = kconv.constant 1.2011224087864498 : vector<1xf32>   // sqrt(log2 e)
    %x = kconv.mul %X, %c : vector<3xf32>, vector<1xf32>
    %y = kconv.mul %Y, %c : vector<3xf32>, vector<1xf32>
    %d = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
    %n = kconv.neg %d : vector<1xf32>
    %e = kconv.exp2 %n : vector<1xf32>
    ```

    The rewrite is an algebraic identity: the formula's value changes by rounding only. See
    docs/passes.md.
  }];
}

def KconvChunkDimensions : Pass<"kconv-chunk-dimensions", "::mlir::kconv::ReductionOp"> {
  let summary = "Turn the component sums of wide sub-formulas into kconv.chunk_sum loops";
  let description = [{
    Both backends evaluate a formula value of dimension D as D components, unrolled: fine for
    points in 3-D, not for D = 1000 or 65536 (compile time grows with D, the GPU's registers and
    shared tile run out). This pass finds every component sum (`Sum`, `SqNorm2`, `Norm2`,
    `SqDist`, `Scalprod`) whose operand is wider than `max-dim` and whose operand is an
    elementwise sub-formula of variables of that dimension and of dimension-1 values, and
    rewrites it as a `kconv.chunk_sum` over its variables: the backends then loop over chunks of
    `chunk` components, reading the variables chunk by chunk (keopscore's Chunkable_Op does the
    same on the GPU). `Norm2(x)` becomes `Sqrt` of the chunked `SqNorm2(x)`.

    ```mlir
    %0 = kconv.sqdist %X, %Y : vector<1000xf32>, vector<1000xf32>
    ```
    becomes
    ```mlir
    %0 = kconv.chunk_sum(%X, %Y) chunk 32 : vector<1000xf32>, vector<1000xf32> -> vector<1xf32> {
    ^bb0(%X_chunk: vector<32xf32>, %Y_chunk: vector<32xf32>):
      %1 = kconv.sqdist %X_chunk, %Y_chunk : vector<32xf32>, vector<32xf32>
      kconv.yield %1 : vector<1xf32>
    }
    ```
    A yield wider than `max-dim` (a wide output) whose value is such an elementwise sub-formula
    becomes a `kconv.chunk_map` of `output-chunk` components, for the kinds that reduce each
    component on its own (all but the weighted LogSumExp / Max_SumShiftExp / SumSoftMaxWeight):
    the backends then loop over output chunks around their loop nest. Other wide values (Elem or
    Concat of a wide value) stay as they are. The variables never change (the runtime binds by
    position).
  }];
  let options = [
    Option<"maxDim", "max-dim", "int64_t", /*default=*/"128",
           "Widest sub-formula kept unrolled (wider component sums are chunked)">,
    Option<"chunk", "chunk", "int64_t", /*default=*/"32",
           "Components per chunk of a component sum">,
    Option<"outputChunk", "output-chunk", "int64_t", /*default=*/"8",
           "Components per chunk of a wide yield (the rows' states of one chunk stay in registers)">,
  ];
}

def KconvFuseReductions : Pass<"kconv-fuse-reductions", "::mlir::ModuleOp"> {
  let summary = "Add one reduction that computes several reductions of a file at once";
  let description = [{
    Reductions of one file that reduce the same kind over the same axis, where every variable
    name means the same variable (category and dimension), read the same rows: one kernel can
    compute them all, and the sub-formulas they share (the Exp of a common distance) once. For
    each such group this pass adds a reduction `@fused__a__b` with the attribute
    `fuses = [@a, @b]`, whose variables are the union of the members' (in order of first use),
    whose body is the members' bodies one after the other, and whose yield is the Concat of their
    yields. kconv-simplify's CSE then merges what they share. The members stay as they are
    (each can still be called alone); the runtime's run-many call runs the fused reduction and
    gives each member its block of columns.

    Fused: kinds whose outputs are one column per formula component (`concatenatesFormulas` in
    Builtins.h: sum, min, max, argmin, argmax, min_argmin, max_argmax), groups of at most
    `max-members` reductions whose concatenated yield and whose reduced variables stay within
    `max-dim` components each (so the fused kernel's registers and shared tile stay within what
    the members need). Running the pass twice adds nothing.

    ```mlir
    kconv.reduction @value sum axis = 1 vars [X i 3, Y j 3, B j 1] { ... yield K*B }
    kconv.reduction @grad sum axis = 1 vars [X i 3, Y j 3, B j 1] { ... yield K*(X-Y)*B }
    ```
    gains
    ```mlir
    kconv.reduction @fused__value__grad sum axis = 1 vars [X, Y, B] attributes {fuses = [@value, @grad]} {
      ... both bodies ...
      %c = kconv.concat %kb, %kxyb : vector<1xf32>, vector<3xf32>
      kconv.yield %c : vector<4xf32>
    }
    ```
  }];
  let options = [
    Option<"maxMembers", "max-members", "int64_t", /*default=*/"8",
           "Most reductions in one fused reduction">,
    Option<"maxDim", "max-dim", "int64_t", /*default=*/"128",
           "Widest concatenated yield, and most reduced-variable components, of a fused reduction">,
  ];
}

#endif // KCONV_DIALECT_KCONV_TRANSFORMS_PASSES_TD
