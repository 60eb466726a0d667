//===- Compile.cpp - the compiler as a library: source -> artifact --------===//
//
// One Compilation per call: its own MLIRContext, a SourceMgr holding the source, and a
// diagnostic handler that formats MLIR diagnostics (file:line:col, source line, caret) into the
// result's messages. The stages run in order and stop at the one `emit` asks for:
//   parse (frontend or .mlir) -> fuse -> simplify -> metadata [-> GPU code] -> CPU lowering -> LLVM IR
//   -> machine code -> shared object -> artifact.
//
//===----------------------------------------------------------------------===//
#include "kconv/Driver/Compile.h"
#include "kconv/ABI/KernelABI.h"

#include "kconv/Conversion/Passes.h"
#include "kconv/Dialect/Kconv/IR/KconvOps.h"
#include "kconv/Dialect/Kconv/Transforms/Passes.h"
#include "kconv/Runtime/Artifact.h"
#include "kconv/Target/CPU.h"
#include "kconv/Target/GPU.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Triple.h"

using namespace mlir;

namespace kconv {
namespace {

class Compilation {
public:
  explicit Compilation(const CompileOptions &options)
      : options(options), context(makeRegistry(), MLIRContext::Threading::DISABLED),
        diagnosticStream(diagnosticText), handler(sourceMgr, &context, diagnosticStream) {
    context.loadDialect<mlir::kconv::KconvDialect>();
  }

  CompileResult run(std::unique_ptr<llvm::MemoryBuffer> buffer) {
    std::string name = buffer->getBufferIdentifier().str();
    sourceMgr.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
    result.succeeded = succeeded(compile(name));
    flushDiagnostics();
    return std::move(result);
  }

  /// A failed run that never got to the source (e.g. an unreadable file).
  static CompileResult failed(const llvm::Twine &message) {
    CompileResult result;
    result.messages.push_back({CompileMessage::Kind::Error, message.str()});
    return result;
  }

private:
  static DialectRegistry makeRegistry() {
    DialectRegistry registry;
    registerCPUTargetDialects(registry);
    registerGpuTargetDialects(registry);
    return registry;
  }

  /// Moves the diagnostics formatted so far into the messages (keeps their order with the rest).
  void flushDiagnostics() {
    diagnosticStream.flush();
    if (!diagnosticText.empty())
      result.messages.push_back({CompileMessage::Kind::Located, std::move(diagnosticText)});
    diagnosticText.clear();
  }
  LogicalResult error(const llvm::Twine &message) {
    flushDiagnostics();
    result.messages.push_back({CompileMessage::Kind::Error, message.str()});
    return failure();
  }
  void note(const llvm::Twine &message) {
    flushDiagnostics();
    result.messages.push_back({CompileMessage::Kind::Note, message.str()});
  }
  LogicalResult emit(std::string text) {
    result.output = std::move(text);
    return success();
  }

  LogicalResult checkOptions() {
    if (options.lanes < 0 || options.lanes > 64 || (options.lanes & (options.lanes - 1)) != 0)
      return error("--lanes must be a power of two up to 64 (or 0: from the target), got " +
                   llvm::Twine(options.lanes));
    if (options.rows < 1 || options.rows > 16)
      return error("--rows must be in [1, 16], got " + llvm::Twine(options.rows));
    if (options.jblock < 1)
      return error("--jblock must be positive, got " + llvm::Twine(options.jblock));
    return success();
  }

  OwningOpRef<ModuleOp> parse(llvm::StringRef name) {
    if (llvm::sys::path::extension(name) == ".kconv")
      return parseFormulaFile(sourceMgr, &context, options.frontend);
    return parseSourceFile<ModuleOp>(sourceMgr, &context);
  }

  /// The GPU code of the simplified IR in `source` (compileToGpu lowers a clone): PTX, a cubin
  /// when ptxas is found, and the gpu.* attributes of each reduction.
  LogicalResult addGpuCode(ModuleOp source, ArtifactContents &contents) {
    GpuTargetOptions gpu;
    gpu.gpuArch = options.gpuArch;
    gpu.fastMath = options.fastMath;
    gpu.rowsPerThread = options.gpuRowsPerThread;
    gpu.cubin = options.emit != EmitKind::Ptx;
    FailureOr<GpuCompileResult> compiled = compileToGpu(source, gpu);
    if (mlir::failed(compiled))
      return failure();
    for (ReductionInfo &info : contents.reductions)
      for (auto &[key, value] : compiled->attributesFor(info.name))
        info.attributes[key] = value;
    contents.ptx = std::move(compiled->ptx);
    contents.cubin = std::move(compiled->cubin);
    if (gpu.cubin && contents.cubin.empty())
      note("no cubin (" + llvm::StringRef(compiled->ptxasError).split('\n').first +
           "): the GPU code is PTX only, compiled by the driver when loaded");
    return success();
  }

  LogicalResult compile(llvm::StringRef name) {
    if (mlir::failed(checkOptions()))
      return failure();
    if (options.emit == EmitKind::Ast) {
      if (llvm::sys::path::extension(name) != ".kconv")
        return error("--emit=ast needs a .kconv formula file, got '" + name + "'");
      std::string text;
      llvm::raw_string_ostream os(text);
      if (mlir::failed(printFormulaAST(sourceMgr, &context, os, options.frontend)))
        return failure();
      return emit(std::move(text));
    }

    OwningOpRef<ModuleOp> module = parse(name);
    if (!module)
      return failure();
    if (module->getOps<mlir::kconv::ReductionOp>().empty()) {
      emitError(module->getLoc()) << "no kconv.reduction in '" << name << "'";
      return failure();
    }

    // Dialect-level fusion and simplification.
    {
      PassManager pm(&context);
      if (options.fuse)
        pm.addPass(mlir::kconv::createKconvFuseReductions());
      buildKconvSimplifyPipeline(pm);
      if (mlir::failed(pm.run(*module)))
        return failure();
    }
    if (options.emit == EmitKind::Mlir) {
      std::string text;
      llvm::raw_string_ostream os(text);
      module->print(os);
      return emit(std::move(text));
    }

    // The target.
    llvm::Expected<CPUTarget> target = resolveCPUTarget(options.cpu);
    if (!target)
      return error(llvm::toString(target.takeError()));
    KconvCPUPipelineOptions cpu;
    cpu.lanes = options.lanes > 0 ? options.lanes : target->lanes;
    cpu.jblock = options.jblock;
    cpu.rows = options.rows;
    cpu.fastMath = options.fastMath;
    cpu.avx512 = target->avx512;
    cpu.flushDenormals = llvm::Triple(target->triple).isX86();

    // Metadata: the formulas, before lowering.
    ArtifactContents contents;
    contents.compilerVersion = getCompilerVersion();
    contents.sourceName = name.str();
    for (mlir::kconv::ReductionOp reduction : module->getOps<mlir::kconv::ReductionOp>()) {
      FailureOr<ReductionInfo> info = serializeReduction(reduction);
      if (mlir::failed(info))
        return failure();
      info->attributes[abi::key::kCpuSymbol] = abi::cpuKernelName(info->name);
      info->attributes[abi::key::kCpuTarget] = target->describe();
      info->attributes[abi::key::kCpuFastMath] = cpu.fastMath ? "1" : "0";
      contents.reductions.push_back(std::move(*info));
    }
    // For an artifact the GPU code is compiled after the CPU code (from this IR, kept aside), so
    // that errors common to both read as the CPU backend's.
    OwningOpRef<ModuleOp> gpuSource;
    if (options.emit == EmitKind::Ptx || (options.emit == EmitKind::Metadata && options.gpu)) {
      if (mlir::failed(addGpuCode(*module, contents)))
        return failure();
      if (options.emit == EmitKind::Ptx)
        return emit(std::move(contents.ptx));
    } else if (options.gpu && options.emit == EmitKind::Artifact) {
      gpuSource = cast<ModuleOp>(module->clone());
    }
    // The CPU plans (after chunking): the metadata records their lanes and j-block.
    {
      PassManager pm(&context);
      buildKconvCPUPlanPipeline(pm, cpu);
      if (mlir::failed(pm.run(*module)))
        return failure();
    }
    for (auto [reduction, info] :
         llvm::zip(module->getOps<mlir::kconv::ReductionOp>(), contents.reductions)) {
      auto plan = reduction->getAttrOfType<mlir::kconv::CpuPlanAttr>(mlir::kconv::kCpuPlanAttrName);
      info.attributes[abi::key::kCpuLanes] = std::to_string(plan.getLanes());
      info.attributes[abi::key::kCpuJBlock] = std::to_string(plan.getJblock());
    }
    if (options.emit == EmitKind::Metadata)
      return emit(printMetadata(contents));

    // CPU code.
    {
      PassManager pm(&context);
      buildKconvCPUCodegenPipeline(pm, cpu);
      if (mlir::failed(pm.run(*module)))
        return failure();
    }
    llvm::Expected<std::unique_ptr<llvm::TargetMachine>> machine = createTargetMachine(*target);
    if (!machine)
      return error(llvm::toString(machine.takeError()));
    llvm::LLVMContext llvmContext;
    llvm::Expected<std::unique_ptr<llvm::Module>> llvmModule =
        translateToLLVMIR(*module, llvmContext, **machine, *target, cpu.fastMath);
    if (!llvmModule)
      return error(llvm::toString(llvmModule.takeError()));
    // The ABI descriptors the runtime checks the metadata against.
    if (llvm::Error abiError = addCpuAbiDescriptors(**llvmModule, contents.reductions))
      return error(llvm::toString(std::move(abiError)));
    if (options.emit == EmitKind::Llvm) {
      std::string text;
      llvm::raw_string_ostream os(text);
      (*llvmModule)->print(os, nullptr);
      return emit(std::move(text));
    }
    llvm::Expected<std::string> code =
        emitMachineCode(**llvmModule, **machine,
                        options.emit == EmitKind::Asm ? llvm::CodeGenFileType::AssemblyFile
                                                      : llvm::CodeGenFileType::ObjectFile);
    if (!code)
      return error(llvm::toString(code.takeError()));
    if (options.emit == EmitKind::Asm)
      return emit(std::move(*code));

    llvm::Expected<std::string> shared = linkSharedObject(*code);
    if (!shared)
      return error(llvm::toString(shared.takeError()));
    contents.cpuSharedObject = std::move(*shared);
    if (gpuSource && mlir::failed(addGpuCode(*gpuSource, contents)))
      return failure();
    return emit(serializeArtifact(contents));
  }

  const CompileOptions &options;
  MLIRContext context;
  llvm::SourceMgr sourceMgr;
  std::string diagnosticText;
  llvm::raw_string_ostream diagnosticStream;
  SourceMgrDiagnosticHandler handler;
  CompileResult result;
};

} // namespace

CompileResult compileArtifact(llvm::StringRef source, llvm::StringRef name,
                              const CompileOptions &options) {
  return Compilation(options).run(llvm::MemoryBuffer::getMemBufferCopy(source, name));
}

CompileResult compileArtifactFile(llvm::StringRef path, const CompileOptions &options) {
  auto input = llvm::MemoryBuffer::getFileOrSTDIN(path);
  if (std::error_code ec = input.getError())
    return Compilation::failed("cannot read '" + path + "': " + ec.message());
  return Compilation(options).run(std::move(*input));
}

} // namespace kconv
