//===- kconv-translate.cpp - kconv module → PTX / cubin / GPU metadata ----===//
//
// mlir-translate for kconv: the GPU target (kconv/Target/GPU.h) on a module of kconv.reduction ops.
//   --kconv-to-ptx        the PTX of all kernels (what the artifact embeds)
//   --kconv-to-cubin      the cubin (ptxas must be found; binary output, use -o)
//   --kconv-gpu-metadata  the `attr gpu.*` lines of each reduction, and ptxas' resource report
//   --kconv-to-gpu-artifact  an artifact with GPU code only (metadata, PTX, cubin): for GPU tests
//                         until kconv-compile writes the GPU sections itself
// Options: --gpu-arch, --gpu-fast-math, --gpu-block-size, --gpu-rows-per-thread, --gpu-unroll,
// --gpu-chunk.
//
//===----------------------------------------------------------------------===//
#include "kconv/Dialect/Kconv/IR/KconvOps.h"
#include "kconv/Runtime/Artifact.h"
#include "kconv/Target/CPU.h"
#include "kconv/Target/GPU.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

static llvm::cl::opt<std::string> gpuArch("gpu-arch", llvm::cl::desc("CUDA SM architecture"),
                                          llvm::cl::init("sm_90"));
static llvm::cl::opt<bool> fastMath("gpu-fast-math", llvm::cl::desc("Approximate exp/log/..."),
                                    llvm::cl::init(true));
static llvm::cl::opt<unsigned> blockSize("gpu-block-size", llvm::cl::init(256));
static llvm::cl::opt<unsigned> rowsPerThread("gpu-rows-per-thread",
                                             llvm::cl::desc("0: automatic"), llvm::cl::init(0));
static llvm::cl::opt<unsigned> unroll("gpu-unroll", llvm::cl::desc("0: automatic"),
                                      llvm::cl::init(0));
static llvm::cl::opt<unsigned> chunk("gpu-chunk",
                                     llvm::cl::desc("components per chunk of a wide component sum"),
                                     llvm::cl::init(2));

static ::kconv::GpuTargetOptions targetOptions(bool cubin) {
  ::kconv::GpuTargetOptions options;
  options.gpuArch = gpuArch;
  options.fastMath = fastMath;
  options.blockSize = blockSize;
  options.rowsPerThread = rowsPerThread;
  options.unroll = unroll;
  options.chunk = chunk;
  options.cubin = cubin;
  return options;
}

int main(int argc, char **argv) {
  TranslateFromMLIRRegistration toPtx(
      "kconv-to-ptx", "kconv reductions → PTX",
      [](ModuleOp module, raw_ostream &os) -> LogicalResult {
        auto result = ::kconv::compileToGpu(module, targetOptions(/*cubin=*/false));
        if (failed(result))
          return failure();
        os << result->ptx;
        return success();
      },
      ::kconv::registerGpuTargetDialects);
  TranslateFromMLIRRegistration toCubin(
      "kconv-to-cubin", "kconv reductions → cubin (runs ptxas)",
      [](ModuleOp module, raw_ostream &os) -> LogicalResult {
        auto result = ::kconv::compileToGpu(module, targetOptions(/*cubin=*/true));
        if (failed(result))
          return failure();
        if (result->cubin.empty())
          return emitError(module.getLoc(), "no cubin: ") << result->ptxasError;
        os << result->cubin;
        return success();
      },
      ::kconv::registerGpuTargetDialects);
  TranslateFromMLIRRegistration metadata(
      "kconv-gpu-metadata", "the gpu.* metadata attributes of each reduction",
      [](ModuleOp module, raw_ostream &os) -> LogicalResult {
        auto result = ::kconv::compileToGpu(module, targetOptions(/*cubin=*/true));
        if (failed(result))
          return failure();
        for (const ::kconv::GpuKernelInfo &kernel : result->kernels) {
          os << "reduction " << kernel.reduction << "\n";
          for (auto &[key, value] : result->attributesFor(kernel.reduction))
            os << "attr " << key << " " << value << "\n";
          if (kernel.spillBytes >= 0)
            os << "# spill stores " << kernel.spillBytes << " bytes\n";
        }
        os << "# ptx " << result->ptx.size() << " bytes, cubin " << result->cubin.size()
           << " bytes" << (result->cubin.empty() ? " (" + result->ptxasError + ")" : "") << "\n";
        return success();
      },
      ::kconv::registerGpuTargetDialects);
  TranslateFromMLIRRegistration artifact(
      "kconv-to-gpu-artifact", "an artifact with the GPU code only (metadata, PTX, cubin)",
      [](ModuleOp module, raw_ostream &os) -> LogicalResult {
        ::kconv::ArtifactContents contents;
        contents.compilerVersion = "kconv 0.1.0 (kconv-translate, GPU only)";
        if (auto loc = dyn_cast<FileLineColLoc>(module.getLoc()))
          contents.sourceName = loc.getFilename().str();
        for (auto reduction : module.getOps<mlir::kconv::ReductionOp>()) {
          auto info = ::kconv::serializeReduction(reduction);
          if (failed(info))
            return failure();
          contents.reductions.push_back(std::move(*info));
        }
        auto result = ::kconv::compileToGpu(module, targetOptions(/*cubin=*/true));
        if (failed(result))
          return failure();
        for (::kconv::ReductionInfo &info : contents.reductions)
          for (auto &[key, value] : result->attributesFor(info.name))
            info.attributes[key] = value;
        contents.ptx = result->ptx;
        contents.cubin = result->cubin;
        os << ::kconv::serializeArtifact(contents);
        return success();
      },
      ::kconv::registerGpuTargetDialects);
  return failed(mlirTranslateMain(argc, argv, "kconv GPU translation driver"));
}
