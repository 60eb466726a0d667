//===- Passes.td - kconv conversion passes -----------------*- tablegen -*-===//
#ifndef KCONV_CONVERSION_PASSES_TD
#define KCONV_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def KconvPlanCpuKernels : Pass<"kconv-plan-cpu-kernels", "::mlir::kconv::ReductionOp"> {
  let summary = "Choose each reduction's CPU tiling as a #kconv.cpu_plan";
  let description = [{
    Attaches `kconv.cpu_plan = #kconv.cpu_plan<lanes = L, rows = R, jblock = J>` to the
    reduction, the plan `convert-kconv-to-cpu` builds the kernel from: L = `lanes`; R = `rows`,
    fewer when the kind's state is large (R states within 12 vector registers); J = `jblock`
    rounded up to a multiple of L, smaller when a block of the reduced variables would not stay
    within 256 KiB of cache (`cpuJBlockFor` in KernelABI.h). A reduction that already has a plan
    keeps it (kconv-compile plans before it writes the metadata, which records L and J). Runs
    after kconv-chunk-dimensions (a wide yield's state is that of one output chunk).

    ```mlir
    kconv.reduction @gaussian_conv sum axis = 1 vars [...]
        attributes {kconv.cpu_plan = #kconv.cpu_plan<lanes = 16, rows = 4, jblock = 1024>} {...}
    ```
  }];
  let options = [
    Option<"lanes", "lanes", "int64_t", /*default=*/"16",
           "Vector width in f32 lanes (16 for AVX-512, 8 for AVX2; a power of two)">,
    Option<"jblock", "jblock", "int64_t", /*default=*/"1024",
           "Reduced rows per block (cache block and block-sum unit); rounded up to a multiple of lanes">,
    Option<"rows", "rows", "int64_t", /*default=*/"4",
           "Output rows per register block">,
  ];
}

def ConvertKconvToCPU : Pass<"convert-kconv-to-cpu", "ModuleOp"> {
  let summary = "Lower each kconv.reduction to a vectorized, tiled CPU kernel (the CPU kernel ABI)";
  let description = [{
    Each `kconv.reduction @NAME` becomes

    ```mlir
    func.func @kconv_cpu_NAME(%args: !llvm.ptr, %out: !llvm.ptr, %begin: i64, %end: i64,
                              %nReduced: i64, %reducedStride: i64)
    ```

    with the C ABI of docs/architecture.md ("CPU kernel ABI"). The loop nest: zero the output rows
    [begin, end); for each block of `jblock` reduced rows (the block-sum unit), for each block of
    `rows` output rows (register blocking), accumulate `lanes`-wide vectors of the fused formula over
    the block's reduced rows (full vector loads from the packed SoA inputs, the last partial vector
    masked with a select), reduce the accumulators horizontally and add the block partial to the
    output rows. Values that do not depend on the reduced variables are computed outside the inner
    loop (per output row, or once per call for parameters and constants); values that depend only
    on the reduced variables are computed once per vector and shared by the `rows` output rows.

    With `flush-denormals` (default, x86), the kernel runs with MXCSR's FTZ and DAZ bits set
    (saved on entry, restored on exit): results that would be denormal are 0.

    The formula is cloned into the inner loop on variables bound to their components
    (`unrealized_conversion_cast`s); `convert-kconv-formula-to-arith` lowers it, and
    loop-invariant code motion + CSE (run before it by kconv-cpu-pipeline) hoist what depends on
    parameters and output rows only and share what depends on the reduced rows only.

    The kconv.reduction ops are erased.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
  let options = [
    Option<"flushDenormals", "flush-denormals", "bool", /*default=*/"true",
           "x86: set MXCSR's flush-to-zero and denormals-are-zero bits for the duration of the "
           "call (saved and restored); kconv-cpu-pipeline sets it with fast math only. Denormal results and operands otherwise "
           "cost microcode assists (25x slower when most exp results underflow)">,
  ];
}

def ConvertKconvFormulaToArith : Pass<"convert-kconv-formula-to-arith"> {
  let summary = "Lower the kconv formula ops inside kernels to arith/math on components";
  let description = [{
    The one formula lowering of both backends (populateKconvFormulaToArithPatterns). A formula
    value `vector<D x T>` becomes D components: scalars `T` (`lanes=0`, the GPU: one pair per
    thread) or `vector<lanes x T>` (the CPU: one reduced row per lane). Variables enter as
    `unrealized_conversion_cast`s of their components (the backends' packFormulaValue) and results
    leave the same way; the casts are folded away at the end. Target math (`target`): `nvvm`
    (ex2/lg2/rsqrt/rcp/div.approx.ftz in fast math; inline accurate exp/log otherwise), `cpu`
    (inline polynomial exp, AVX-512 vscalefps with 16 lanes; math.log expanded to a polynomial in
    fast math; libm otherwise) or `generic` (the math dialect). Formula ops still inside a
    `kconv.reduction` are left alone.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::vector::VectorDialect",
  ];
  let options = [
    Option<"lanes", "lanes", "int64_t", /*default=*/"0",
           "Lanes of one component: 0 for scalars, L for vector<L x T>">,
    Option<"target", "target", "std::string", /*default=*/"\"generic\"",
           "Target math: generic, cpu or nvvm">,
    Option<"fastMath", "fast-math", "bool", /*default=*/"true",
           "Approximate exp/log/sqrt/division where the target has them">,
    Option<"avx512", "avx512", "bool", /*default=*/"true",
           "cpu: the fast exp uses vscalefps for 16-lane f32 components">,
  ];
}

#endif // KCONV_CONVERSION_PASSES_TD
