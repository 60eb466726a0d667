//===- GPU.h - kconv module → PTX / cubin -----------------------*- C++ -*-===//
//
// The GPU half of kconv-compile: runs `kconv-gpu-pipeline` on (a clone of) a module of
// kconv.reduction ops, returns the PTX, the cubin (when ptxas is found) and the `gpu.*` metadata
// attributes of every reduction.
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_TARGET_GPU_H
#define KCONV_TARGET_GPU_H

#include "kconv/Runtime/Artifact.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassOptions.h"
#include "mlir/Support/LLVM.h"

#include <map>
#include <optional>
#include <string>

namespace mlir {
class DialectRegistry;
class OpPassManager;
} // namespace mlir

namespace kconv {

/// Options of `kconv-gpu-pipeline` (also the knobs of the GPU target).
struct GpuPipelineOptions : public mlir::PassPipelineOptions<GpuPipelineOptions> {
  PassOptions::Option<std::string> gpuArch{*this, "gpu-arch",
                                           llvm::cl::desc("CUDA SM architecture (sm_XY)"),
                                           llvm::cl::init("sm_90")};
  PassOptions::Option<std::string> ptxFeatures{
      *this, "ptx-features", llvm::cl::desc("PTX ISA features for the NVPTX backend"),
      llvm::cl::init("+ptx80")};
  PassOptions::Option<bool> fastMath{
      *this, "fast-math", llvm::cl::desc("ex2.approx.ftz-based Exp and other approximations"),
      llvm::cl::init(true)};
  PassOptions::Option<unsigned> blockSize{*this, "block-size",
                                          llvm::cl::desc("Threads per block (= tile rows)"),
                                          llvm::cl::init(256)};
  PassOptions::Option<unsigned> rowsPerThread{*this, "rows-per-thread",
                                              llvm::cl::desc("Output rows per thread (0: auto)"),
                                              llvm::cl::init(0)};
  PassOptions::Option<unsigned> unroll{*this, "unroll",
                                       llvm::cl::desc("Unroll factor of the tile loop (0: auto)"),
                                       llvm::cl::init(0)};
  PassOptions::Option<unsigned> chunk{
      *this, "chunk",
      llvm::cl::desc("Components per chunk of a wide variable's component sum (kconv-chunk-dimensions)"),
      llvm::cl::init(2)};
  PassOptions::Option<unsigned> optLevel{*this, "opt-level",
                                         llvm::cl::desc("NVPTX backend optimization level"),
                                         llvm::cl::init(3)};
  PassOptions::Option<bool> toBinary{
      *this, "to-binary",
      llvm::cl::desc("End with gpu-module-to-binary (PTX); false stops at the NVVM/LLVM dialect"),
      llvm::cl::init(true)};
};

/// Adds the kernel stages to `pm`: (fast math) kconv-fold-exp-scale, convert-kconv-to-gpu,
/// convert-kconv-formula-to-arith (NVVM math), canonicalize, CSE, LICM. The result holds gpu.func
/// kernels in arith/scf/memref/llvm/nvvm ops (what kconv-gpu-emulate runs on the CPU).
void buildKconvGPUKernelPipeline(mlir::OpPassManager &pm, const GpuPipelineOptions &options);
/// Adds the lowering of those kernels to PTX (gpu.binary, format=isa) to `pm`.
void buildKconvGPUTargetPipeline(mlir::OpPassManager &pm, const GpuPipelineOptions &options);
/// Adds buildKconvGPUKernelPipeline, then buildKconvGPUTargetPipeline.
void buildKconvGPUPipeline(mlir::OpPassManager &pm, const GpuPipelineOptions &options);
/// Registers `kconv-gpu-pipeline` with the pass registry (kconv-opt).
void registerKconvGPUPipeline();
/// Registers what compileToGpu needs in a context: the kconv dialect, every upstream dialect and
/// extension (ConvertToLLVM interfaces, the NVVM target, LLVM IR translations).
void registerGpuTargetDialects(mlir::DialectRegistry &registry);

/// Per-reduction kernel description, as written to the artifact metadata (attr gpu.*).
struct GpuKernelInfo {
  std::string reduction;
  std::string kernel;       // kconv_gpu_NAME
  std::string splitjKernel; // kconv_gpu_NAME_splitj
  std::string r1Kernel;       // kconv_gpu_NAME_r1 (one row per thread), when rowsPerThread > 1
  std::string r1SplitjKernel; // kconv_gpu_NAME_r1_splitj
  std::string smallKernel;    // kconv_gpu_NAME_small (the reduced range split inside a block)
  int64_t smallRows = 0;      // its output rows per block
  int64_t blockSize = 0;
  int64_t rowsPerThread = 0;
  int64_t tileRows = 0;
  int64_t sharedBytes = 0;
  int registers = -1;       // from ptxas -v, -1 if unknown
  int spillBytes = -1;
};

struct GpuCompileResult {
  std::string ptx;
  std::string cubin;        // empty when ptxas was not found or failed (the driver JITs the PTX)
  std::string cubinArch;    // e.g. sm_90
  std::string ptxasLog;     // ptxas -v output (resource usage per kernel)
  std::string ptxasError;   // why there is no cubin, when there is none
  std::vector<GpuKernelInfo> kernels;
  /// The `gpu.*` metadata attributes of reduction NAME (attr lines of the artifact).
  std::map<std::string, std::string> attributesFor(const std::string &reduction) const;
  std::string arch;
  bool fastMath = true;
};

struct GpuTargetOptions {
  std::string gpuArch = "sm_90";
  std::string ptxFeatures = "+ptx80";
  bool fastMath = true;
  unsigned blockSize = 256;
  unsigned rowsPerThread = 0; // 0: automatic
  unsigned unroll = 0;        // 0: automatic
  unsigned chunk = 2;         // components per chunk of a wide component sum
  bool cubin = true;             // run ptxas when found
  std::string ptxasPath;         // empty: PATH, then /usr/local/cuda/bin
};

/// Compiles every kconv.reduction of `module` (left untouched: a clone is lowered) to PTX and, when
/// ptxas is found, to a cubin. Errors are emitted as diagnostics on the module's context.
mlir::FailureOr<GpuCompileResult> compileToGpu(mlir::ModuleOp module,
                                               const GpuTargetOptions &options);

/// ptxas on PATH or in /usr/local/cuda/bin (or $KCONV_CUDA_BIN), if any.
std::optional<std::string> findPtxas();
/// Assembles PTX into a cubin for `arch` with `ptxas -v`; returns the cubin bytes, or nullopt with
/// the reason in `log`. `log` receives ptxas' resource report either way.
std::optional<std::string> assemblePtx(const std::string &ptx, const std::string &arch,
                                       const std::string &ptxas, std::string &log);

} // namespace kconv

#endif // KCONV_TARGET_GPU_H
