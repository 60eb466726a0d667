//===- KconvAttrs.td - kconv attributes and enums ----------*- tablegen -*-===//
#ifndef KCONV_ATTRS_TD
#define KCONV_ATTRS_TD

include "kconv/Dialect/Kconv/IR/KconvDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

// What a reduction computes over its reduced axis: one case per row of Builtins.def's
// KCONV_REDUCTION table (same names and mnemonics; BuiltinsTest checks it). The lowerings reach a
// kind's arithmetic through its Combiner (lib/Conversion/Combiner).
def Kconv_ReductionKind : I32EnumAttr<"ReductionKind", "reduction over the reduced axis", [
    I32EnumAttrCase<"Sum", 0, "sum">,
    I32EnumAttrCase<"Min", 1, "min">,
    I32EnumAttrCase<"Max", 2, "max">,
    I32EnumAttrCase<"ArgMin", 3, "argmin">,
    I32EnumAttrCase<"ArgMax", 4, "argmax">,
    I32EnumAttrCase<"MinArgMin", 5, "min_argmin">,
    I32EnumAttrCase<"MaxArgMax", 6, "max_argmax">,
    I32EnumAttrCase<"KMin", 7, "kmin">,
    I32EnumAttrCase<"ArgKMin", 8, "argkmin">,
    I32EnumAttrCase<"KMinArgKMin", 9, "kmin_argkmin">,
    I32EnumAttrCase<"LogSumExp", 10, "logsumexp">,
    I32EnumAttrCase<"MaxSumShiftExp", 11, "max_sumshiftexp">,
    I32EnumAttrCase<"SumSoftMaxWeight", 12, "sumsoftmaxweight">
  ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::kconv";
}
def Kconv_ReductionKindAttr : EnumAttr<Kconv_Dialect, Kconv_ReductionKind, "reduction_kind"> {
  let assemblyFormat = "$value";
}

// KeOps variable categories: Vi (indexed by i), Vj (indexed by j), Pm (a parameter).
def Kconv_VarCategory : I32EnumAttr<"VarCategory", "variable category", [
    I32EnumAttrCase<"Vi", 0, "i">,
    I32EnumAttrCase<"Vj", 1, "j">,
    I32EnumAttrCase<"Pm", 2, "p">
  ]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::kconv";
}

def Kconv_VariableAttr : AttrDef<Kconv_Dialect, "Variable"> {
  let mnemonic = "var";
  let summary = "one variable of a reduction: name, category and dimension";
  let description = [{
    `#kconv.var<"X", i, 3>`: variable X, indexed by i, of dimension 3. The position of the variable
    in the reduction's `vars` list is its argument index; its element type is that of the matching
    block argument of the reduction's body.
  }];
  let parameters = (ins
    StringRefParameter<"variable name">:$name,
    EnumParameter<Kconv_VarCategory>:$category,
    "int64_t":$dim
  );
  let assemblyFormat = "`<` $name `,` $category `,` $dim `>`";
}

// How a reduction's GPU kernels are built: set by kconv-plan-gpu-kernels (the cost model), read by
// convert-kconv-to-gpu, as the discardable attribute `kconv.gpu_plan` of the kconv.reduction.
def Kconv_GpuPlanAttr : AttrDef<Kconv_Dialect, "GpuPlan"> {
  let mnemonic = "gpu_plan";
  let summary = "the GPU kernels' tiling of one reduction";
  let description = [{
    `#kconv.gpu_plan<block = 256, rows = 4, unroll = 16, row_unroll = 16, small_slices = 8,
    small_unroll = 16, pair_cost = 9>`: threads per block (= rows of the shared-memory tile),
    output rows per thread of the main kernels and the tile loop's unroll factor, the unroll
    factor of the one-row-per-thread variants, the small kernel's slices of the reduced range (1:
    no small kernel) and its unroll, and the cost model's estimate of one pair (scalar
    instructions) that chose them.
  }];
  let parameters = (ins "unsigned":$block, "unsigned":$rows, "unsigned":$unroll,
                        "unsigned":$row_unroll, "unsigned":$small_slices,
                        "unsigned":$small_unroll, "int64_t":$pair_cost);
  let assemblyFormat = "`<` struct(params) `>`";
}

// How a reduction's CPU kernel is built: set by kconv-plan-cpu-kernels, read by
// convert-kconv-to-cpu, as the discardable attribute `kconv.cpu_plan` of the kconv.reduction.
def Kconv_CpuPlanAttr : AttrDef<Kconv_Dialect, "CpuPlan"> {
  let mnemonic = "cpu_plan";
  let summary = "the CPU kernel's tiling of one reduction";
  let description = [{
    `#kconv.cpu_plan<lanes = 16, rows = 4, jblock = 1024>`: f32 lanes per vector (a reduced row
    per lane), output rows per register block, and reduced rows per cache block (the block-sum
    unit; a multiple of lanes), as the kernel uses them.
  }];
  let parameters = (ins "int64_t":$lanes, "int64_t":$rows, "int64_t":$jblock);
  let assemblyFormat = "`<` struct(params) `>`";
}

#endif // KCONV_ATTRS_TD
