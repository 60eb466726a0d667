//===- CPUCodegen.cpp - LLVM IR, machine code and shared objects ----------===//
#include "kconv/Target/CPU.h"
#include "kconv/ABI/KernelABI.h"

#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <mutex>

using namespace llvm;

namespace {

Error makeError(const Twine &message) {
  return createStringError(inconvertibleErrorCode(), message);
}

void initializeNativeTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    InitializeNativeTarget();
    InitializeNativeTargetAsmPrinter();
    InitializeNativeTargetAsmParser();
  });
}

/// Features the generated code may use and the runtime checks on its host (docs/runtime.md).
constexpr const char *kKeyFeatures[] = {"sse4.2",   "avx",      "avx2",     "fma",
                                        "f16c",     "bmi",      "bmi2",     "avx512f",
                                        "avx512dq", "avx512bw", "avx512vl", "avx512cd"};

} // namespace

std::string kconv::CPUTarget::describe() const {
  return triple + " " + cpu + (keyFeatures.empty() ? "" : " " + keyFeatures);
}

Expected<kconv::CPUTarget> kconv::resolveCPUTarget(StringRef cpu) {
  initializeNativeTarget();
  CPUTarget target;
  target.triple = sys::getProcessTriple();
  Triple triple(target.triple);
  std::string error;
  const Target *llvmTarget = TargetRegistry::lookupTarget(triple, error);
  if (!llvmTarget)
    return makeError("no LLVM target for " + target.triple + ": " + error);

  if (cpu.empty() || cpu == "native") {
    target.cpu = sys::getHostCPUName().str();
    SmallVector<std::string> features;
    for (const auto &feature : sys::getHostCPUFeatures())
      features.push_back((feature.second ? "+" : "-") + feature.first().str());
    llvm::sort(features);
    target.features = join(features, ",");
  } else {
    target.cpu = cpu.str();
  }
  // Validate the name on a generic subtarget first (an unknown CPU would print a warning).
  std::unique_ptr<MCSubtargetInfo> generic(llvmTarget->createMCSubtargetInfo(triple, "", ""));
  std::unique_ptr<MCSubtargetInfo> subtarget;
  if (generic && generic->isCPUStringValid(target.cpu))
    subtarget.reset(llvmTarget->createMCSubtargetInfo(triple, target.cpu, target.features));
  if (!subtarget)
    return makeError("unknown CPU '" + target.cpu + "' for " + target.triple +
                     " (use --cpu=native or an LLVM CPU name such as skylake-avx512, "
                     "x86-64-v3, znver4)");
  SmallVector<std::string> key;
  for (const char *feature : kKeyFeatures)
    if (subtarget->checkFeatures(std::string("+") + feature))
      key.push_back(std::string("+") + feature);
  target.keyFeatures = join(key, ",");
  target.avx512 = subtarget->checkFeatures("+avx512f");
  target.lanes = target.avx512 ? 16 : 8;
  return target;
}

Expected<std::unique_ptr<TargetMachine>> kconv::createTargetMachine(const CPUTarget &target) {
  initializeNativeTarget();
  Triple triple(target.triple);
  std::string error;
  const Target *llvmTarget = TargetRegistry::lookupTarget(triple, error);
  if (!llvmTarget)
    return makeError("no LLVM target for " + target.triple + ": " + error);
  TargetOptions options;
  std::unique_ptr<TargetMachine> machine(
      llvmTarget->createTargetMachine(triple, target.cpu, target.features, options, Reloc::PIC_,
                                      std::nullopt, CodeGenOptLevel::Aggressive));
  if (!machine)
    return makeError("cannot create a target machine for " + target.describe());
  return machine;
}

Expected<std::unique_ptr<Module>> kconv::translateToLLVMIR(mlir::ModuleOp module,
                                                           LLVMContext &context,
                                                           TargetMachine &machine,
                                                           const CPUTarget &target,
                                                           bool fastMath) {
  std::unique_ptr<Module> llvmModule = mlir::translateModuleToLLVMIR(module, context, "kconv");
  if (!llvmModule)
    return makeError("translation of the lowered module to LLVM IR failed");
  llvmModule->setTargetTriple(Triple(target.triple));
  llvmModule->setDataLayout(machine.createDataLayout());
  for (Function &function : *llvmModule) {
    if (function.isDeclaration())
      continue;
    function.addFnAttr("target-cpu", target.cpu);
    if (!target.features.empty())
      function.addFnAttr("target-features", target.features);
    if (target.avx512) {
      // The kernels are written with 512-bit vectors: don't let the backend split them.
      function.addFnAttr("prefer-vector-width", "512");
      function.addFnAttr("min-legal-vector-width", "512");
    }
    function.addFnAttr(Attribute::NoUnwind);
    function.addFnAttr("frame-pointer", "none");
    if (fastMath) {
      // The kernels set FTZ/DAZ themselves (convert-kconv-to-cpu, flush-denormals).
      function.addFnAttr("denormal-fp-math", "preserve-sign,preserve-sign");
      function.addFnAttr("no-signed-zeros-fp-math", "true");
      function.addFnAttr("approx-func-fp-math", "true");
      function.addFnAttr("no-trapping-math", "true");
    }
  }
  if (verifyModule(*llvmModule, &errs()))
    return makeError("the generated LLVM IR does not verify");

  LoopAnalysisManager lam;
  FunctionAnalysisManager fam;
  CGSCCAnalysisManager cgam;
  ModuleAnalysisManager mam;
  PipelineTuningOptions tuning;
  tuning.LoopUnrolling = true;
  tuning.LoopVectorization = false; // the kernels are vectorized already
  tuning.SLPVectorization = false;
  PassBuilder builder(&machine, tuning);
  builder.registerModuleAnalyses(mam);
  builder.registerCGSCCAnalyses(cgam);
  builder.registerFunctionAnalyses(fam);
  builder.registerLoopAnalyses(lam);
  builder.crossRegisterProxies(lam, fam, cgam, mam);
  ModulePassManager passes = builder.buildPerModuleDefaultPipeline(OptimizationLevel::O3);
  passes.run(*llvmModule, mam);
  return llvmModule;
}

Error kconv::addCpuAbiDescriptors(Module &module, ArrayRef<ReductionInfo> reductions) {
  for (const ReductionInfo &r : reductions) {
    auto symbol = r.attributes.find(abi::key::kCpuSymbol);
    if (symbol == r.attributes.end())
      continue;
    if (!module.getFunction(symbol->second))
      return makeError("no CPU kernel " + symbol->second + " in the LLVM module");
    abi::CpuAbiDescriptor d;
    d.kind = r.kind;
    d.axis = r.axis;
    d.dtype = r.dtype;
    d.k = r.k;
    d.valueDim = r.valueDim;
    d.indexDim = r.indexDim;
    auto lanes = r.attributes.find(abi::key::kCpuLanes);
    d.lanes = lanes == r.attributes.end() ? 1 : std::stoll(lanes->second);
    for (const VariableInfo &v : r.variables)
      d.variables.push_back({toString(v.category)[0], v.dim});
    std::string name = abi::cpuAbiSymbolName(r.name);
    if (module.getNamedValue(name))
      return makeError("the LLVM module already defines " + name);
    // An exported, read-only, NUL-terminated string: the runtime reads it from the ELF file.
    Constant *text = ConstantDataArray::getString(module.getContext(), d.format(), true);
    auto *global = new GlobalVariable(module, text->getType(), /*isConstant=*/true,
                                      GlobalValue::ExternalLinkage, text, name);
    global->setVisibility(GlobalValue::DefaultVisibility);
    global->setAlignment(Align(1));
  }
  return Error::success();
}

Expected<std::string> kconv::emitMachineCode(Module &module, TargetMachine &machine,
                                             CodeGenFileType type) {
  SmallString<0> buffer;
  raw_svector_ostream stream(buffer);
  legacy::PassManager passes;
  if (machine.addPassesToEmitFile(passes, stream, nullptr, type))
    return makeError("the target machine cannot emit this file type");
  passes.run(module);
  return std::string(buffer.str());
}

Expected<std::string> kconv::linkSharedObject(StringRef object) {
  ErrorOr<std::string> cc = sys::findProgramByName("cc");
  if (!cc)
    return makeError("no C compiler driver 'cc' in PATH: kconv-compile links the CPU code into a "
                     "shared object with 'cc -shared'");
  SmallString<128> objectPath, sharedPath, logPath;
  int fd;
  if (std::error_code ec = sys::fs::createTemporaryFile("kconv", "o", fd, objectPath))
    return makeError("cannot create a temporary file: " + ec.message());
  FileRemover removeObject(objectPath);
  {
    raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << object;
    os.close();
    if (os.has_error())
      return makeError("cannot write " + objectPath);
  }
  if (std::error_code ec = sys::fs::createTemporaryFile("kconv", "so", sharedPath))
    return makeError("cannot create a temporary file: " + ec.message());
  FileRemover removeShared(sharedPath);
  if (std::error_code ec = sys::fs::createTemporaryFile("kconv-cc", "log", logPath))
    return makeError("cannot create a temporary file: " + ec.message());
  FileRemover removeLog(logPath);

  SmallVector<StringRef> args = {"cc", "-shared", "-o", sharedPath, objectPath, "-lm"};
  std::optional<StringRef> redirects[] = {StringRef(""), StringRef(logPath), StringRef(logPath)};
  std::string message;
  int rc = sys::ExecuteAndWait(*cc, args, std::nullopt, redirects, 0, 0, &message);
  if (rc != 0) {
    std::string log;
    if (auto buffer = MemoryBuffer::getFile(logPath))
      log = (*buffer)->getBuffer().trim().str();
    return makeError("'cc -shared' failed" +
                     (rc < 0 ? ": " + message : " with exit code " + std::to_string(rc)) +
                     (log.empty() ? "" : ":\n" + log));
  }
  auto buffer = MemoryBuffer::getFile(sharedPath, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buffer)
    return makeError("cannot read the shared object " + sharedPath + ": " +
                     buffer.getError().message());
  return (*buffer)->getBuffer().str();
}
