//===- Passes.td - kconv conversion passes -----------------*- tablegen -*-===//
#ifndef KCONV_CONVERSION_PASSES_TD
#define KCONV_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

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

    With `fast-math` and `flush-denormals` (defaults, x86), the kernel runs with MXCSR's FTZ and
    DAZ bits set (saved on entry, restored on exit): results that would be denormal are 0.

    With `fast-math` (default), `kconv.exp` becomes an inlined Cody-Waite + degree-6 polynomial on
    vectors (no libm call) and `kconv.log` the math dialect's polynomial approximation; without it
    they stay `math.exp` / `math.log` (accurate libm calls once lowered to LLVM).

    The kconv.reduction ops are erased: the result holds only func, scf, arith, vector, math and
    llvm ops.
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
    Option<"lanes", "lanes", "int64_t", /*default=*/"16",
           "Vector width in f32 lanes (16 for AVX-512, 8 for AVX2)">,
    Option<"jblock", "jblock", "int64_t", /*default=*/"1024",
           "Reduced rows per block (cache block and block-sum unit); rounded up to a multiple of lanes">,
    Option<"rows", "rows", "int64_t", /*default=*/"4",
           "Output rows per register block">,
    Option<"fastMath", "fast-math", "bool", /*default=*/"true",
           "Inline polynomial exp/log and fast-math flags; false: math.exp/math.log (libm)">,
    Option<"avx512", "avx512", "bool", /*default=*/"true",
           "The target has AVX-512F: with 16 lanes, the fast exp scales by 2^n with vscalefps "
           "(llvm.x86.avx512.mask.scalef.ps.512)">,
    Option<"flushDenormals", "flush-denormals", "bool", /*default=*/"true",
           "x86: set MXCSR's flush-to-zero and denormals-are-zero bits for the duration of the "
           "call (saved and restored); fast math only. Denormal results and operands otherwise "
           "cost microcode assists (25x slower when most exp results underflow)">,
  ];
}

#endif // KCONV_CONVERSION_PASSES_TD
