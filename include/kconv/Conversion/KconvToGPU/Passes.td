//===- Passes.td - kconv → GPU conversion pass --------------*- tablegen -*-===//
//
// Lives beside (not in) include/kconv/Conversion/Passes.td so that the GPU and CPU lowerings can
// be developed in parallel; it has its own tablegen target (KconvToGPUPassIncGen).
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_CONVERSION_KCONVTOGPU_PASSES_TD
#define KCONV_CONVERSION_KCONVTOGPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertKconvToGPU : Pass<"convert-kconv-to-gpu", "ModuleOp"> {
  let summary = "Lower kconv.reduction ops to CUDA kernels in a gpu.module";
  let description = [{
    Every `kconv.reduction @NAME` becomes kernels in one `gpu.module` (named by `module-name`):
    `kconv_gpu_NAME` (stores its rows) and `kconv_gpu_NAME_splitj` (adds its partial sums to a
    zeroed output with atomics; blockIdx.y takes a chunk of the reduced range), the same with one
    row per thread (`_r1`) when rows-per-thread > 1, and `kconv_gpu_NAME_small` (8 slices of a
    block share the reduced range, summed in shared memory) for small problems. One thread owns
    `rows-per-thread` output rows (strided by the block size); the reduced variables are staged
    through a shared-memory tile of `block-size` rows (one record of 4-float vectors per row),
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
    Option<"moduleName", "module-name", "std::string", /*default=*/"\"kconv_gpu\"",
           "Name of the gpu.module that receives all kernels">,
  ];
}

#endif // KCONV_CONVERSION_KCONVTOGPU_PASSES_TD
