//===- GPU.cpp - kconv module → PTX / cubin -------------------------------===//
#include "kconv/Target/GPU.h"
#include "kconv/ABI/KernelABI.h"
#include "kconv/Conversion/KconvToGPU/Passes.h"
#include "kconv/Conversion/Passes.h"

#include "kconv/Dialect/Kconv/IR/KconvDialect.h"
#include "kconv/Dialect/Kconv/IR/KconvOps.h"
#include "kconv/Dialect/Kconv/Transforms/Passes.h"

#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <regex>
#include <sstream>

using namespace mlir;

namespace kconv {

void buildKconvGPUKernelPipeline(OpPassManager &pm, const GpuPipelineOptions &options) {
  // Wide component sums become loops over chunks (before the exp scale is folded: a chunked
  // sub-formula takes the scale as one multiply of the sum, not one per component).
  // Chunks of 2 by default: the R·U pairs of a step (up to 64) share each iteration's loads, and
  // their sums and chunks stay in registers (H200, D = 1000: 2.2x faster than chunks of 8).
  mlir::kconv::KconvChunkDimensionsOptions chunking;
  chunking.chunk = options.chunk;
  pm.addNestedPass<mlir::kconv::ReductionOp>(mlir::kconv::createKconvChunkDimensions(chunking));
  // The fast exp is ex2: its log2 e factor goes into the variables (free for output rows and
  // parameters, stored prescaled in the tile for a reduced variable).
  if (options.fastMath)
    pm.addNestedPass<mlir::kconv::ReductionOp>(mlir::kconv::createKconvFoldExpScale());
  mlir::kconv::KconvPlanGpuKernelsOptions plan;
  plan.fastMath = options.fastMath;
  plan.blockSize = options.blockSize;
  plan.rowsPerThread = options.rowsPerThread;
  plan.unroll = options.unroll;
  pm.addNestedPass<mlir::kconv::ReductionOp>(mlir::kconv::createKconvPlanGpuKernels(plan));
  pm.addPass(mlir::kconv::createConvertKconvToGPU());
  mlir::kconv::ConvertKconvFormulaToArithOptions formula;
  formula.target = "nvvm";
  formula.fastMath = options.fastMath;
  pm.addNestedPass<gpu::GPUModuleOp>(mlir::kconv::createConvertKconvFormulaToArith(formula));
  pm.addNestedPass<gpu::GPUModuleOp>(createCanonicalizerPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createCSEPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createLoopInvariantCodeMotionPass());
}

void buildKconvGPUPipeline(OpPassManager &pm, const GpuPipelineOptions &options) {
  buildKconvGPUKernelPipeline(pm, options);
  buildKconvGPUTargetPipeline(pm, options);
}

void buildKconvGPUTargetPipeline(OpPassManager &pm, const GpuPipelineOptions &options) {

  GpuNVVMAttachTargetOptions target;
  target.chip = options.gpuArch;
  target.features = options.ptxFeatures;
  target.optLevel = options.optLevel;
  pm.addPass(createGpuNVVMAttachTarget(target));

  pm.addNestedPass<gpu::GPUModuleOp>(createSCFToControlFlowPass());
  ConvertGpuOpsToNVVMOpsOptions nvvm;
  nvvm.indexBitwidth = 32; // rows < 2^31; global addresses are computed in 64 bits explicitly
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps(nvvm));
  pm.addNestedPass<gpu::GPUModuleOp>(createCanonicalizerPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createCSEPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  if (options.toBinary) {
    GpuModuleToBinaryPassOptions binary;
    binary.compilationTarget = "isa"; // PTX; ptxas runs separately (assemblePtx)
    pm.addPass(createGpuModuleToBinaryPass(binary));
  }
}

void registerKconvGPUPipeline() {
  PassPipelineRegistration<GpuPipelineOptions>(
      "kconv-gpu-pipeline",
      "kconv → gpu + nvvm → PTX: convert-kconv-to-gpu, nvvm-attach-target, convert-gpu-to-nvvm, "
      "gpu-module-to-binary (format=isa)",
      buildKconvGPUPipeline);
}

void registerGpuTargetDialects(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  registry.insert<mlir::kconv::KconvDialect>();
}

std::optional<std::string> findPtxas() {
  if (auto path = llvm::sys::findProgramByName("ptxas"))
    return *path;
  SmallVector<StringRef, 2> dirs;
  std::string env;
  if (const char *bin = std::getenv("KCONV_CUDA_BIN"))
    dirs.push_back(env = bin);
  dirs.push_back("/usr/local/cuda/bin");
  if (auto path = llvm::sys::findProgramByName("ptxas", dirs))
    return *path;
  return std::nullopt;
}

std::optional<std::string> assemblePtx(const std::string &ptx, const std::string &arch,
                                       const std::string &ptxas, std::string &log) {
  SmallString<128> ptxFile, cubinFile, logFile;
  if (llvm::sys::fs::createTemporaryFile("kconv", "ptx", ptxFile) ||
      llvm::sys::fs::createTemporaryFile("kconv", "cubin", cubinFile) ||
      llvm::sys::fs::createTemporaryFile("kconv", "log", logFile)) {
    log = "cannot create temporary files for ptxas";
    return std::nullopt;
  }
  llvm::scope_exit cleanup([&] {
    llvm::sys::fs::remove(ptxFile);
    llvm::sys::fs::remove(cubinFile);
    llvm::sys::fs::remove(logFile);
  });
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(ptxFile, ec);
    if (ec) {
      log = "cannot write " + std::string(ptxFile) + ": " + ec.message();
      return std::nullopt;
    }
    os << ptx;
  }
  std::string archFlag = "-arch=" + arch;
  SmallVector<StringRef> args = {ptxas, archFlag, "-O3", "-v", ptxFile, "-o", cubinFile};
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(logFile), StringRef(logFile)};
  std::string errMsg;
  int rc = llvm::sys::ExecuteAndWait(ptxas, args, std::nullopt, redirects, /*SecondsToWait=*/120,
                                     /*MemoryLimit=*/0, &errMsg);
  if (auto buf = llvm::MemoryBuffer::getFile(logFile))
    log = (*buf)->getBuffer().str();
  if (rc != 0) {
    log = ptxas + " failed (" + (errMsg.empty() ? "exit code " + std::to_string(rc) : errMsg) +
          "):\n" + log;
    return std::nullopt;
  }
  auto cubin = llvm::MemoryBuffer::getFile(cubinFile, /*IsText=*/false);
  if (!cubin) {
    log = "ptxas wrote no cubin";
    return std::nullopt;
  }
  return (*cubin)->getBuffer().str();
}

std::map<std::string, std::string>
GpuCompileResult::attributesFor(const std::string &reduction) const {
  std::map<std::string, std::string> attrs;
  for (const GpuKernelInfo &k : kernels) {
    if (k.reduction != reduction)
      continue;
    // Split-j kernels exist only for kinds that merge by addition (docs/reductions.md).
    attrs[abi::key::kGpuKernel] = k.kernel;
    if (!k.splitjKernel.empty())
      attrs[abi::key::kGpuKernelSplitj] = k.splitjKernel;
    if (!k.r1Kernel.empty())
      attrs[abi::key::kGpuKernelR1] = k.r1Kernel;
    if (!k.r1SplitjKernel.empty())
      attrs[abi::key::kGpuKernelR1Splitj] = k.r1SplitjKernel;
    attrs[abi::key::kGpuBlock] = std::to_string(k.blockSize);
    attrs[abi::key::kGpuRowsPerThread] = std::to_string(k.rowsPerThread);
    attrs[abi::key::kGpuTile] = std::to_string(k.tileRows);
    attrs[abi::key::kGpuSharedBytes] = std::to_string(k.sharedBytes);
    attrs[abi::key::kGpuArch] = arch;
    attrs[abi::key::kGpuFastMath] = fastMath ? "1" : "0";
    if (!k.smallKernel.empty()) {
      attrs[abi::key::kGpuKernelSmall] = k.smallKernel;
      attrs[abi::key::kGpuSmallRows] = std::to_string(k.smallRows);
    }
    if (k.registers >= 0)
      attrs[abi::key::kGpuRegisters] = std::to_string(k.registers);
  }
  return attrs;
}

/// Parses `ptxas -v` output: "Compiling entry function 'NAME'" ... "Used N registers".
static void readResourceUsage(const std::string &log, std::vector<GpuKernelInfo> &kernels) {
  std::istringstream lines(log);
  std::string line, current;
  std::regex entry("entry function '([A-Za-z0-9_]+)'"), regs("Used ([0-9]+) registers"),
      spill("([0-9]+) bytes spill stores");
  std::map<std::string, std::pair<int, int>> usage;
  while (std::getline(lines, line)) {
    std::smatch m;
    if (std::regex_search(line, m, entry))
      current = m[1];
    else if (!current.empty() && std::regex_search(line, m, spill))
      usage[current].second = std::stoi(m[1]);
    if (!current.empty() && std::regex_search(line, m, regs))
      usage[current].first = std::stoi(m[1]);
  }
  for (GpuKernelInfo &k : kernels) {
    auto it = usage.find(k.kernel);
    if (it != usage.end()) {
      k.registers = it->second.first;
      k.spillBytes = it->second.second;
    }
  }
}

FailureOr<GpuCompileResult> compileToGpu(ModuleOp module, const GpuTargetOptions &options) {
  OwningOpRef<ModuleOp> clone(cast<ModuleOp>(module->clone()));
  MLIRContext *ctx = module.getContext();
  GpuPipelineOptions pipeline;
  pipeline.gpuArch = options.gpuArch;
  pipeline.ptxFeatures = options.ptxFeatures;
  pipeline.fastMath = options.fastMath;
  pipeline.blockSize = options.blockSize;
  pipeline.rowsPerThread = options.rowsPerThread;
  pipeline.unroll = options.unroll;
  pipeline.chunk = options.chunk;

  GpuCompileResult result;
  result.arch = options.gpuArch;
  result.fastMath = options.fastMath;

  // Step 1: the kernels (their attributes are read here); step 2: the lowering to PTX.
  PassManager convertPm(ctx);
  buildKconvGPUKernelPipeline(convertPm, pipeline);
  if (failed(convertPm.run(*clone)))
    return failure();
  std::map<std::string, GpuKernelInfo> byReduction;
  clone->walk([&](gpu::GPUFuncOp func) {
    auto red = func->getAttrOfType<StringAttr>(mlir::kconv::kReductionAttrName);
    auto variant = func->getAttrOfType<StringAttr>(mlir::kconv::kVariantAttrName);
    if (!red || !variant)
      return;
    GpuKernelInfo &info = byReduction[red.str()];
    info.reduction = red.str();
    auto get = [&](StringRef name) {
      auto attr = func->getAttrOfType<IntegerAttr>(name);
      return attr ? attr.getInt() : int64_t(0);
    };
    // The first plain kernel of a reduction is the main one; a later one with one row per
    // thread is the small-problem variant.
    if (variant.getValue() == "small") {
      info.smallKernel = func.getName().str();
      info.smallRows = get(mlir::kconv::kRowsPerBlockAttrName);
      return;
    }
    bool splitj = variant.getValue() == "splitj";
    bool main = info.kernel.empty() || get(mlir::kconv::kRowsPerThreadAttrName) == info.rowsPerThread;
    if (!splitj && info.kernel.empty()) {
      info.kernel = func.getName().str();
      info.blockSize = get(mlir::kconv::kBlockSizeAttrName);
      info.rowsPerThread = get(mlir::kconv::kRowsPerThreadAttrName);
      info.tileRows = get(mlir::kconv::kTileRowsAttrName);
      info.sharedBytes = get(mlir::kconv::kSharedBytesAttrName);
    } else if (!splitj) {
      info.r1Kernel = func.getName().str();
    } else if (main) {
      info.splitjKernel = func.getName().str();
    } else {
      info.r1SplitjKernel = func.getName().str();
    }
  });
  for (auto &[name, info] : byReduction)
    result.kernels.push_back(info);
  if (result.kernels.empty())
    return result; // nothing to compile

  // Step 2: to PTX.
  PassManager pm(ctx);
  buildKconvGPUTargetPipeline(pm, pipeline);
  if (failed(pm.run(*clone)))
    return failure();

  std::string ptx;
  clone->walk([&](gpu::BinaryOp binary) {
    for (Attribute attr : binary.getObjects())
      if (auto object = dyn_cast<gpu::ObjectAttr>(attr))
        ptx += object.getObject().str();
  });
  if (ptx.empty()) {
    emitError(module.getLoc(), "kconv GPU target: the pipeline produced no PTX");
    return failure();
  }
  // gpu-module-to-binary appends a NUL terminator to the PTX string; drop it.
  while (!ptx.empty() && ptx.back() == '\0')
    ptx.pop_back();
  result.ptx = std::move(ptx);

  if (options.cubin) {
    std::optional<std::string> ptxas =
        options.ptxasPath.empty() ? findPtxas() : std::optional<std::string>(options.ptxasPath);
    if (!ptxas) {
      result.ptxasError = "ptxas not found (PATH, $KCONV_CUDA_BIN, /usr/local/cuda/bin): PTX only";
    } else if (auto cubin = assemblePtx(result.ptx, options.gpuArch, *ptxas, result.ptxasLog)) {
      result.cubin = std::move(*cubin);
      result.cubinArch = options.gpuArch;
      readResourceUsage(result.ptxasLog, result.kernels);
    } else {
      result.ptxasError = result.ptxasLog;
    }
  }
  return result;
}

} // namespace kconv
