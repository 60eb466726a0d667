//===- kconv-compile.cpp - formula file to kconv artifact -----------------===//
//
//   kconv-compile FILE.kconv|FILE.mlir -o OUT.kca [--cpu=native|NAME] [--no-fast-math]
//                 [--gpu-arch=sm_90] [--no-gpu] [--emit=artifact|mlir|llvm|asm|metadata|ptx]
//
// Parses the formula file (a .mlir module of kconv.reduction ops, or a .kconv formula file through
// the frontend), simplifies it, records each reduction's formula in the metadata, lowers it to a
// CPU kernel for the chosen CPU and writes the artifact (docs/architecture.md). --emit prints an
// intermediate form instead (to -o, default stdout). Errors are reported with file:line:col and a
// non-zero exit status.
//
//===----------------------------------------------------------------------===//
#include "kconv/Conversion/Passes.h"
#include "kconv/Dialect/Kconv/IR/KconvOps.h"
#include "kconv/Frontend/FormulaParser.h"
#include "kconv/Runtime/Artifact.h"
#include "kconv/Target/CPU.h"
#include "kconv/Target/GPU.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Triple.h"

using namespace mlir;
namespace cl = llvm::cl;

namespace {

enum class Emit { Artifact, Mlir, Llvm, Asm, Metadata, Ptx };

cl::OptionCategory category("kconv-compile options");
cl::opt<std::string> inputFile(cl::Positional, cl::desc("<formula file: .kconv or .mlir>"),
                               cl::Required, cl::cat(category));
cl::opt<std::string> outputFile("o", cl::desc("Output file (required for the artifact; '-' is stdout)"),
                                cl::value_desc("file"), cl::init(""), cl::cat(category));
cl::opt<std::string> cpuName("cpu",
                             cl::desc("Target CPU: 'native' (the host CPU and its features) or an "
                                      "LLVM CPU name (skylake-avx512, x86-64-v3, znver4, ...)"),
                             cl::init("native"), cl::cat(category));
cl::opt<bool> noFastMath("no-fast-math",
                         cl::desc("Accurate exp/log (libm) and no fast-math flags"),
                         cl::init(false), cl::cat(category));
cl::opt<Emit> emit(
    "emit", cl::desc("What to write"), cl::init(Emit::Artifact),
    cl::values(clEnumValN(Emit::Artifact, "artifact", "the artifact (.kca, default)"),
               clEnumValN(Emit::Mlir, "mlir", "the kconv IR after simplification"),
               clEnumValN(Emit::Llvm, "llvm", "the optimized LLVM IR of the CPU kernels"),
               clEnumValN(Emit::Asm, "asm", "the CPU assembly"),
               clEnumValN(Emit::Metadata, "metadata", "the artifact's metadata text"),
               clEnumValN(Emit::Ptx, "ptx", "the PTX of the GPU kernels")),
    cl::cat(category));

cl::OptionCategory tuning("kconv-compile CPU tuning options");
cl::opt<int64_t> lanesOpt("lanes", cl::desc("f32 lanes per vector (default: 16 with AVX-512, else 8)"),
                          cl::init(0), cl::cat(tuning));
cl::opt<int64_t> jblockOpt("jblock", cl::desc("reduced rows per block (block sum unit)"),
                           cl::init(1024), cl::cat(tuning));
cl::opt<int64_t> rowsOpt("rows", cl::desc("output rows per register block"), cl::init(4),
                         cl::cat(tuning));

cl::OptionCategory gpuCategory("kconv-compile GPU options");
cl::opt<std::string> gpuArch("gpu-arch",
                             cl::desc("CUDA architecture of the GPU code: the PTX target, and the "
                                      "cubin's when ptxas is found (default sm_90)"),
                             cl::init("sm_90"), cl::cat(gpuCategory));
cl::opt<bool> noGpu("no-gpu", cl::desc("No GPU code in the artifact"), cl::init(false),
                    cl::cat(gpuCategory));
cl::opt<unsigned> gpuRows("gpu-rows-per-thread",
                          cl::desc("Output rows per GPU thread (0: by the formula's size)"),
                          cl::init(0), cl::cat(gpuCategory));

int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "kconv-compile") << message << "\n";
  return 1;
}

int writeOutput(llvm::StringRef path, llvm::StringRef bytes) {
  std::string error;
  auto output = openOutputFile(path.empty() ? "-" : path, &error);
  if (!output)
    return fail("cannot write '" + path + "': " + error);
  output->os() << bytes;
  output->os().flush();
  if (output->os().has_error())
    return fail("cannot write '" + path + "'");
  output->keep();
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions({&category, &tuning, &gpuCategory});
  cl::ParseCommandLineOptions(
      argc, argv,
      "kconv-compile: compile a formula file (.kconv or .mlir) into a kconv artifact (.kca)\n");
  if (lanesOpt < 0 || lanesOpt > 64 || (lanesOpt & (lanesOpt - 1)) != 0)
    return fail("--lanes must be a power of two up to 64 (or 0: from the target), got " +
                llvm::Twine(int64_t(lanesOpt)));
  if (rowsOpt < 1 || rowsOpt > 16)
    return fail("--rows must be in [1, 16], got " + llvm::Twine(int64_t(rowsOpt)));
  if (jblockOpt < 1)
    return fail("--jblock must be positive, got " + llvm::Twine(int64_t(jblockOpt)));
  if (emit == Emit::Artifact && outputFile.empty())
    return fail("no output file: use -o OUT.kca (or --emit=mlir|llvm|asm|metadata|ptx to print)");

  DialectRegistry registry;
  ::kconv::registerCPUTargetDialects(registry);
  ::kconv::registerGpuTargetDialects(registry);
  MLIRContext context(registry, MLIRContext::Threading::DISABLED);
  context.loadDialect<mlir::kconv::KconvDialect>();

  auto input = llvm::MemoryBuffer::getFileOrSTDIN(inputFile);
  if (std::error_code ec = input.getError())
    return fail("cannot read '" + inputFile + "': " + ec.message());
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(*input), llvm::SMLoc());
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);

  OwningOpRef<ModuleOp> module;
  if (llvm::sys::path::extension(inputFile) == ".kconv")
    module = ::kconv::parseFormulaFile(sourceMgr, &context);
  else
    module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;
  auto reductions = llvm::to_vector(module->getOps<mlir::kconv::ReductionOp>());
  if (reductions.empty()) {
    emitError(module->getLoc()) << "no kconv.reduction in '" << inputFile << "'";
    return 1;
  }

  // Dialect-level simplification.
  {
    PassManager pm(&context);
    ::kconv::buildKconvSimplifyPipeline(pm);
    if (failed(pm.run(*module)))
      return 1;
  }
  if (emit == Emit::Mlir) {
    std::string text;
    llvm::raw_string_ostream os(text);
    module->print(os);
    return writeOutput(outputFile, text);
  }

  // The target.
  llvm::Expected<::kconv::CPUTarget> target = ::kconv::resolveCPUTarget(cpuName);
  if (!target)
    return fail(llvm::toString(target.takeError()));
  ::kconv::KconvCPUPipelineOptions options;
  options.lanes = lanesOpt > 0 ? int64_t(lanesOpt) : target->lanes;
  options.jblock = jblockOpt;
  options.rows = rowsOpt;
  options.fastMath = !noFastMath;
  options.avx512 = target->avx512;
  options.flushDenormals = llvm::Triple(target->triple).isX86();
  int64_t jblock = std::max<int64_t>(options.lanes, (options.jblock + options.lanes - 1) /
                                                        options.lanes * options.lanes);

  // Metadata: the formulas, before lowering.
  ::kconv::ArtifactContents contents;
  contents.compilerVersion = ::kconv::getCompilerVersion();
  contents.sourceName = inputFile;
  for (mlir::kconv::ReductionOp reduction : module->getOps<mlir::kconv::ReductionOp>()) {
    FailureOr<::kconv::ReductionInfo> info = ::kconv::serializeReduction(reduction);
    if (failed(info))
      return 1;
    info->attributes["cpu.symbol"] = mlir::kconv::getCPUKernelName(info->name);
    info->attributes["cpu.lanes"] = std::to_string(options.lanes);
    info->attributes["cpu.jblock"] = std::to_string(jblock);
    info->attributes["cpu.target"] = target->describe();
    info->attributes["cpu.fast_math"] = options.fastMath ? "1" : "0";
    contents.reductions.push_back(std::move(*info));
  }
  // GPU code, from the simplified kconv IR (compileToGpu lowers a clone): PTX, a cubin when ptxas
  // is found, and the gpu.* attributes of each reduction. For an artifact it runs after the CPU
  // code (on this IR, kept aside), so that errors common to both read as the CPU backend's.
  auto addGpuCode = [&](ModuleOp source) -> LogicalResult {
    ::kconv::GpuTargetOptions gpu;
    gpu.gpuArch = gpuArch;
    gpu.fastMath = !noFastMath;
    gpu.rowsPerThread = gpuRows;
    gpu.cubin = emit != Emit::Ptx;
    FailureOr<::kconv::GpuCompileResult> result = ::kconv::compileToGpu(source, gpu);
    if (failed(result))
      return failure();
    for (::kconv::ReductionInfo &info : contents.reductions)
      for (auto &[key, value] : result->attributesFor(info.name))
        info.attributes[key] = value;
    contents.ptx = std::move(result->ptx);
    contents.cubin = std::move(result->cubin);
    if (gpu.cubin && contents.cubin.empty())
      llvm::WithColor::note(llvm::errs(), "kconv-compile")
          << "no cubin (" << llvm::StringRef(result->ptxasError).split('\n').first
          << "): the GPU code is PTX only, compiled by the driver when loaded\n";
    return success();
  };
  OwningOpRef<ModuleOp> gpuSource;
  if (emit == Emit::Ptx || (emit == Emit::Metadata && !noGpu)) {
    if (failed(addGpuCode(*module)))
      return 1;
    if (emit == Emit::Ptx)
      return writeOutput(outputFile, contents.ptx);
  } else if (!noGpu && emit == Emit::Artifact) {
    gpuSource = cast<ModuleOp>(module->clone());
  }
  if (emit == Emit::Metadata)
    return writeOutput(outputFile, ::kconv::printMetadata(contents));

  // CPU code.
  {
    PassManager pm(&context);
    ::kconv::buildKconvCPULoweringPipeline(pm, options);
    if (failed(pm.run(*module)))
      return 1;
  }
  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> machine =
      ::kconv::createTargetMachine(*target);
  if (!machine)
    return fail(llvm::toString(machine.takeError()));
  llvm::LLVMContext llvmContext;
  llvm::Expected<std::unique_ptr<llvm::Module>> llvmModule = ::kconv::translateToLLVMIR(
      *module, llvmContext, **machine, *target, options.fastMath);
  if (!llvmModule)
    return fail(llvm::toString(llvmModule.takeError()));
  if (llvm::Error error = ::kconv::addCpuAbiDescriptors(**llvmModule, contents.reductions))
    return fail(llvm::toString(std::move(error)));
  if (emit == Emit::Llvm) {
    std::string text;
    llvm::raw_string_ostream os(text);
    (*llvmModule)->print(os, nullptr);
    return writeOutput(outputFile, text);
  }
  llvm::Expected<std::string> code = ::kconv::emitMachineCode(
      **llvmModule, **machine,
      emit == Emit::Asm ? llvm::CodeGenFileType::AssemblyFile : llvm::CodeGenFileType::ObjectFile);
  if (!code)
    return fail(llvm::toString(code.takeError()));
  if (emit == Emit::Asm)
    return writeOutput(outputFile, *code);

  llvm::Expected<std::string> shared = ::kconv::linkSharedObject(*code);
  if (!shared)
    return fail(llvm::toString(shared.takeError()));
  contents.cpuSharedObject = std::move(*shared);
  if (gpuSource && failed(addGpuCode(*gpuSource)))
    return 1;
  return writeOutput(outputFile, ::kconv::serializeArtifact(contents));
}
