//===- KconvOps.td - kconv operations ----------------------*- tablegen -*-===//
#ifndef KCONV_OPS_TD
#define KCONV_OPS_TD

include "kconv/Dialect/Kconv/IR/KconvDialect.td"
include "kconv/Dialect/Kconv/IR/KconvAttrs.td"
include "mlir/IR/OpAsmInterface.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// A formula value: the D components of a KeOps variable or sub-formula, for one (i, j) pair.
// Fixed-length only: a scalable `vector<[D]xT>` has no KeOps meaning.
def Kconv_FormulaValue : FixedVectorOfRankAndType<[1], [F16, F32, F64]>;

//===----------------------------------------------------------------------===//
// The reduction
//===----------------------------------------------------------------------===//

def Kconv_ReductionOp : Kconv_Op<"reduction", [
    IsolatedFromAbove, Symbol, SingleBlock,
    DeclareOpInterfaceMethods<OpAsmOpInterface, ["getAsmBlockArgumentNames"]>]> {
  let summary = "a named pairwise reduction out = reduce F(vars) over one axis";
  let description = [{
    One block argument per entry of `vars`, in order, typed `vector<dim x T>`. The body computes the
    per-pair value and ends with `kconv.yield`; its dimension is the output dimension. `axis = 1`
    reduces over j (one output row per i), `axis = 0` over i (one output row per j).

    ```mlir
    kconv.reduction @gaussian_conv sum axis = 1
        vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 1>] {
    ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>, %B: vector<1xf32>):
      %0 = kconv.sqdist %X, %Y : vector<3xf32>, vector<3xf32>
      %1 = kconv.neg %0 : vector<1xf32>
      %2 = kconv.exp %1 : vector<1xf32>
      %3 = kconv.mul %2, %B : vector<1xf32>, vector<1xf32>
      kconv.yield %3 : vector<1xf32>
    }
    ```

    `fuses = [@a, @b, ...]` (set by kconv-fuse-reductions) marks a reduction that computes the
    listed reductions of the module at once: its yield is the concatenation of theirs, in that
    order, and its variables are the union of theirs. The runtime's run-many call runs it and
    gives each member its columns of the outputs.

    `log2_exponent` (set by kconv-fold-exp-scale on LogSumExp and SumSoftMaxWeight) says that the
    yield's f is already multiplied by log2 e: the kind's running maximum and its exponentials are
    in powers of 2 (a native 2^x, no multiply per pair), and the outputs are as without it.
  }];
  let arguments = (ins
    SymbolNameAttr:$sym_name,
    Kconv_ReductionKindAttr:$kind,
    OptionalAttr<I64Attr>:$k,
    I64Attr:$axis,
    TypedArrayAttrBase<Kconv_VariableAttr, "reduction variables">:$variables,
    OptionalAttr<FlatSymbolRefArrayAttr>:$fuses,
    UnitAttr:$log2_exponent
  );
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $sym_name `` $kind (`k` `=` $k^)? `axis` `=` $axis `vars` $variables attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// The terminator of the body.
    YieldOp getYield();
    /// The variables, typed.
    SmallVector<VariableAttr> getVariableAttrs();
    /// Dimension of the per-pair value (the yield).
    int64_t getYieldDim();
    /// The reduced formula's dimension F: the yield's, or dim(g) for a weighted kind.
    int64_t getReducedFormulaDim();
    /// Dimensions of one row of the float output and of the int64 index output (0: none).
    int64_t getValueDim();
    int64_t getIndexDim();
    /// K of the k-min kinds, else 1.
    int64_t getKOrOne() { return getK() ? int64_t(*getK()) : 1; }
    /// Element type of the formula (f32 unless stated otherwise).
    Type getElementType();
    /// Category whose rows index the output (Vi for axis = 1, Vj for axis = 0).
    VarCategory getOutputCategory() {
      return getAxis() == 1 ? VarCategory::Vi : VarCategory::Vj;
    }
  }];
}

def Kconv_YieldOp : Kconv_Op<"yield", [
    Pure, Terminator, ParentOneOf<["ReductionOp", "ChunkSumOp", "ChunkMapOp"]>]> {
  let summary = "the per-pair value of the enclosing reduction (or a chunk's term)";
  let arguments = (ins Kconv_FormulaValue:$value);
  let assemblyFormat = "$value attr-dict `:` type($value)";
}

//===----------------------------------------------------------------------===//
// Formula ops
//===----------------------------------------------------------------------===//

def Kconv_ConstantOp : Kconv_Op<"constant", [Pure, ConstantLike]> {
  let summary = "a scalar constant (KeOps IntCst or a real literal)";
  let arguments = (ins F64Attr:$value);
  let results = (outs Kconv_FormulaValue:$result);
  let assemblyFormat = "$value attr-dict `:` type($result)";
  let hasFolder = 1;
  let hasVerifier = 1;
}

// Elementwise binary op with KeOps broadcasting: dims equal, or one of them 1.
class Kconv_BroadcastBinaryOp<string mnemonic, string keops, list<Trait> traits = []>
    : Kconv_Op<mnemonic, !listconcat(traits, [Pure, InferTypeOpAdaptor])> {
  let summary = "elementwise " # keops # " with KeOps broadcasting";
  let arguments = (ins Kconv_FormulaValue:$lhs, Kconv_FormulaValue:$rhs);
  let results = (outs Kconv_FormulaValue:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs)";
  // Constant folding and identities (x + 0, x * 1, ...): KconvFold.cpp.
  let hasFolder = 1;
}

// Canonicalization patterns of the formula ops: KconvCanonicalize.cpp.
def Kconv_AddOp : Kconv_BroadcastBinaryOp<"add", "x + y", [Commutative]> {
  let hasCanonicalizer = 1;
}
def Kconv_SubOp : Kconv_BroadcastBinaryOp<"sub", "x - y"> {
  let hasCanonicalizer = 1;
}
def Kconv_MulOp : Kconv_BroadcastBinaryOp<"mul", "x * y", [Commutative]> {
  let hasCanonicalizer = 1;
}
def Kconv_DivOp : Kconv_BroadcastBinaryOp<"div", "x / y"> {
  let hasCanonicalizer = 1;
}

class Kconv_UnaryOp<string mnemonic, string keops, list<Trait> traits = []>
    : Kconv_Op<mnemonic, !listconcat(traits, [Pure, SameOperandsAndResultType])> {
  let summary = "elementwise " # keops;
  let arguments = (ins Kconv_FormulaValue:$operand);
  let results = (outs Kconv_FormulaValue:$result);
  let assemblyFormat = "$operand attr-dict `:` type($result)";
  let hasFolder = 1;
}

// Neg and Inv are involutions (--x = x, Inv(Inv(x)) = x), Abs is idempotent: the trait folders
// apply these.
def Kconv_NegOp : Kconv_UnaryOp<"neg", "-x", [Involution]> {
  let hasCanonicalizer = 1;
}
def Kconv_ExpOp : Kconv_UnaryOp<"exp", "Exp(x)">;
// Not in KeOps' language: kconv-fold-exp-scale rewrites Exp(x) as Exp2(x·log2 e) with the factor
// pushed towards the variables, so that a target with a native 2^x (ex2.approx) pays no multiply.
def Kconv_Exp2Op : Kconv_UnaryOp<"exp2", "2^x">;
def Kconv_LogOp : Kconv_UnaryOp<"log", "Log(x)">;
def Kconv_SqrtOp : Kconv_UnaryOp<"sqrt", "Sqrt(x)"> {
  let hasCanonicalizer = 1;
}
// KeOps' definition: Rsqrt(0) = 0 (keopscore formulas/maths/Rsqrt.py), not +inf.
def Kconv_RsqrtOp : Kconv_UnaryOp<"rsqrt", "Rsqrt(x) = x == 0 ? 0 : 1/sqrt(x)">;
def Kconv_SquareOp : Kconv_UnaryOp<"square", "Square(x) = x**2">;
def Kconv_InvOp : Kconv_UnaryOp<"inv", "Inv(x) = 1/x", [Involution]>;
def Kconv_AbsOp : Kconv_UnaryOp<"abs", "Abs(x)", [Idempotent]>;

def Kconv_PowOp : Kconv_Op<"pow", [Pure, SameOperandsAndResultType]> {
  let summary = "elementwise Pow(x, n) for an integer n";
  let arguments = (ins Kconv_FormulaValue:$operand, I64Attr:$exponent);
  let results = (outs Kconv_FormulaValue:$result);
  let assemblyFormat = "$operand `,` $exponent attr-dict `:` type($result)";
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

// Ops whose result has dimension 1.
class Kconv_ToScalarUnaryOp<string mnemonic, string keops>
    : Kconv_Op<mnemonic, [Pure, InferTypeOpAdaptor]> {
  let summary = keops # " (dimension-1 result)";
  let arguments = (ins Kconv_FormulaValue:$operand);
  let results = (outs Kconv_FormulaValue:$result);
  let assemblyFormat = "$operand attr-dict `:` type($operand)";
  let hasFolder = 1;
}

def Kconv_SumOp : Kconv_ToScalarUnaryOp<"sum", "Sum(x): sum of the components"> {
  let hasCanonicalizer = 1;
}
def Kconv_SqNorm2Op : Kconv_ToScalarUnaryOp<"sqnorm2", "SqNorm2(x) = |x|^2"> {
  let hasCanonicalizer = 1;
}
def Kconv_Norm2Op : Kconv_ToScalarUnaryOp<"norm2", "Norm2(x) = |x|">;

def Kconv_SqDistOp : Kconv_Op<"sqdist", [Pure, InferTypeOpAdaptor]> {
  let summary = "SqDist(x, y) = |x - y|^2, with KeOps broadcasting (dimension-1 result)";
  let arguments = (ins Kconv_FormulaValue:$lhs, Kconv_FormulaValue:$rhs);
  let results = (outs Kconv_FormulaValue:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs)";
  let hasFolder = 1;
}

def Kconv_ScalprodOp : Kconv_Op<"scalprod", [Pure, Commutative, InferTypeOpAdaptor]> {
  let summary = "(x | y): scalar product of two values of equal dimension (dimension-1 result)";
  let arguments = (ins Kconv_FormulaValue:$lhs, Kconv_FormulaValue:$rhs);
  let results = (outs Kconv_FormulaValue:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs)";
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Kconv_ElemOp : Kconv_Op<"elem", [Pure, InferTypeOpAdaptor]> {
  let summary = "Elem(x, k): component k of x (dimension-1 result)";
  let arguments = (ins Kconv_FormulaValue:$operand, I64Attr:$index);
  let results = (outs Kconv_FormulaValue:$result);
  let assemblyFormat = "$operand `,` $index attr-dict `:` type($operand)";
  let hasFolder = 1;
}

def Kconv_ConcatOp : Kconv_Op<"concat", [Pure, InferTypeOpAdaptor]> {
  let summary = "Concat(x, y): the components of x followed by those of y";
  let arguments = (ins Kconv_FormulaValue:$lhs, Kconv_FormulaValue:$rhs);
  let results = (outs Kconv_FormulaValue:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs)";
}

//===----------------------------------------------------------------------===//
// Wide formulas
//===----------------------------------------------------------------------===//

def Kconv_ChunkSumOp : Kconv_Op<"chunk_sum", [
    Pure, SingleBlock, InferTypeOpAdaptor,
    DeclareOpInterfaceMethods<OpAsmOpInterface, ["getAsmBlockArgumentNames"]>]> {
  let summary = "the sum over the chunks of wide variables of a dimension-1 sub-formula";
  let description = [{
    What kconv-chunk-dimensions makes of a component sum (`Sum`, `SqNorm2`, `SqDist`,
    `Scalprod`) over a wide elementwise sub-formula, so that no backend unrolls thousands of
    components. The operands are variables (block arguments of the reduction) of one dimension D;
    the body sees `chunk` consecutive components of each (block arguments `vector<chunk x T>`)
    and yields that chunk's dimension-1 term. The result is the sum of the terms over the chunks
    [0, chunk), [chunk, 2 chunk), ..., the last one narrower when chunk does not divide D (the
    body is then evaluated at that width: its ops are elementwise, component sums and
    constants, and every value it takes from above has dimension 1).

    ```mlir
    %d = kconv.chunk_sum(%X, %Y) chunk 32 : vector<1000xf32>, vector<1000xf32> -> vector<1xf32> {
    ^bb0(%X_chunk: vector<32xf32>, %Y_chunk: vector<32xf32>):
      %0 = kconv.sqdist %X_chunk, %Y_chunk : vector<32xf32>, vector<32xf32>
      kconv.yield %0 : vector<1xf32>
    }
    ```
  }];
  let arguments = (ins Variadic<Kconv_FormulaValue>:$chunked, I64Attr:$chunk);
  let results = (outs Kconv_FormulaValue:$result);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `(` $chunked `)` `chunk` $chunk attr-dict `:` type($chunked) `->` type($result) $body
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// D: the dimension of the chunked operands.
    int64_t getChunkedDim();
    /// The term of one chunk (the body's yield).
    Value getTerm();
  }];
}

def Kconv_ChunkMapOp : Kconv_Op<"chunk_map", [
    Pure, SingleBlock,
    DeclareOpInterfaceMethods<OpAsmOpInterface, ["getAsmBlockArgumentNames"]>]> {
  let summary = "a wide per-pair value (the yield), computed chunk by chunk of its components";
  let description = [{
    What kconv-chunk-dimensions makes of a yield wider than `max-dim`: the elementwise
    sub-formula of wide variables (the operands) and dimension-1 values that computes it, at the
    chunk's width. Components [o, o + chunk) of the result are the body's yield on components
    [o, o + chunk) of the operands (the last chunk narrower, as for kconv.chunk_sum). Only a
    reduction's yield takes it, and only for kinds that reduce each component on its own: the
    backends loop over output chunks around their whole loop nest, the state of one chunk at a
    time in registers.

    ```mlir
    %v = kconv.chunk_map(%B) chunk 8 : vector<4096xf32> -> vector<4096xf32> {
    ^bb0(%B_chunk: vector<8xf32>):
      %0 = kconv.mul %k, %B_chunk : vector<1xf32>, vector<8xf32>
      kconv.yield %0 : vector<8xf32>
    }
    kconv.yield %v : vector<4096xf32>
    ```
  }];
  let arguments = (ins Variadic<Kconv_FormulaValue>:$chunked, I64Attr:$chunk);
  let results = (outs Kconv_FormulaValue:$result);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `(` $chunked `)` `chunk` $chunk attr-dict `:` type($chunked) `->` type($result) $body
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    int64_t getChunkedDim();
    /// The chunk's components (the body's yield).
    Value getTerm();
  }];
}

#endif // KCONV_OPS_TD
