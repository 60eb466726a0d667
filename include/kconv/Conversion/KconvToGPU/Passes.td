//===- Passes.td - kconv → GPU conversion pass --------------*- tablegen -*-===//
//
// Lives beside (not in) include/kconv/Conversion/Passes.td so that the GPU and CPU lowerings can
// be developed in parallel; it has its own tablegen target (KconvToGPUPassIncGen).
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_CONVERSION_KCONVTOGPU_PASSES_TD
#define KCONV_CONVERSION_KCONVTOGPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def KconvPlanGpuKernels : Pass<"kconv-plan-gpu-kernels", "::mlir::kconv::ReductionOp"> {
  let summary = "Choose each reduction's GPU tiling (the cost model) as a #kconv.gpu_plan";
  let description = [{
    Attaches `kconv.gpu_plan = #kconv.gpu_plan<...>` to the reduction: the plan that
    `convert-kconv-to-gpu` builds the kernels from. From the formula's per-pair cost (scalar
    instructions, transcendentals weighted by `fast-math`) and the registers a row needs (the
    kind's state, a tile partial unless it combines exactly, the output-category variables):
    rows per thread R = 4, 2 or 1 (unless `rows-per-thread` says), and the tile loop's unroll U
    (up to 16, halved while U·R·cost > 1024 or, with chunk sums, U·R > 64 pairs per step). The
    block (`block-size`, 256) shrinks, in multiples of 32, until the tile of the reduced
    variables' records fits in 48 KiB; the small kernel (8 slices of the block share the reduced
    range) is planned when its merge buffer fits beside the tile. Runs after
    kconv-chunk-dimensions and kconv-fold-exp-scale (the cost is that of the formula lowered).

    ```mlir
    kconv.reduction @gaussian_conv sum axis = 1 vars [...] attributes {kconv.gpu_plan =
        #kconv.gpu_plan<block = 256, rows = 4, unroll = 16, row_unroll = 16, small_slices = 8,
                        small_unroll = 16, pair_cost = 9>} {...}
    ```
  }];
  let options = [
    Option<"fastMath", "fast-math", "bool", /*default=*/"true",
           "The cost model weighs approximate (true) or accurate (false) transcendentals">,
    Option<"blockSize", "block-size", "unsigned", /*default=*/"256",
           "Threads per block = rows of the shared-memory tile (a multiple of 32)">,
    Option<"rowsPerThread", "rows-per-thread", "unsigned", /*default=*/"0",
           "Output rows per thread (register blocking: each shared-memory load serves all); "
           "0: 4, 2 or 1 by the registers the formula needs">,
    Option<"unroll", "unroll", "unsigned", /*default=*/"0",
           "Unroll factor of the loop over a full tile (a power of two dividing block-size); "
           "0: up to 16, fewer for large formulas">,
  ];
}

def ConvertKconvToGPU : Pass<"convert-kconv-to-gpu", "ModuleOp"> {
  let summary = "Lower kconv.reduction ops to CUDA kernels in a gpu.module";
  let description = [{
    Every `kconv.reduction @NAME` becomes kernels in one `gpu.module` (named by `module-name`):
    `kconv_gpu_NAME` (stores its rows) and `kconv_gpu_NAME_splitj` (adds its partial sums to a
    zeroed output with atomics; blockIdx.y takes a chunk of the reduced range), the same with one
    row per thread (`_r1`) when rows-per-thread > 1, and `kconv_gpu_NAME_small` (8 slices of a
    block share the reduced range, summed in shared memory) for small problems. One thread owns
    R output rows (strided by the block size); the reduced variables are staged
    through a shared-memory tile of one row per thread (one record of 4-float vectors per row),
    loaded cooperatively from the caller's row-major layout; the formula is fused into the loop
    over the tile, summed per tile into a register partial and added to the accumulator at tile
    end ("block sum"). The kernel ABI is documented in docs/architecture.md ("GPU kernel ABI").

    The formula is cloned into the pair loop (once per row of a thread and unrolled pair) as kconv
    ops on the variables' components; `convert-kconv-formula-to-arith` (target nvvm) lowers it. A
    reduced variable whose only use is a product with a constant (what `kconv-fold-exp-scale`
    leaves for a fast exp's log2 e) is stored prescaled in the tile. `fast-math` only weighs the
    cost model (the math itself is the formula conversion's).
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
  let options = [
    Option<"moduleName", "module-name", "std::string", /*default=*/"\"kconv_gpu\"",
           "Name of the gpu.module that receives all kernels">,
  ];
}

#endif // KCONV_CONVERSION_KCONVTOGPU_PASSES_TD
