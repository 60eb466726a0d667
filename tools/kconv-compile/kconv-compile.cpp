//===- kconv-compile.cpp - formula file to kconv artifact -----------------===//
//
//   kconv-compile FILE.kconv|FILE.mlir -o OUT.kca [--cpu=native|NAME] [--no-fast-math]
//                 [--gpu-arch=sm_90] [--no-gpu] [--no-fuse] [--emit=artifact|ast|mlir|llvm|asm|metadata|ptx]
//
// A thin wrapper of kconv::compileArtifactFile (kconv/Driver/Compile.h), which parses the formula
// file (a .mlir module of kconv.reduction ops, or a .kconv formula file through the frontend),
// simplifies it, records each reduction's formula in the metadata, lowers it to CPU and GPU
// kernels and builds the artifact (docs/architecture.md). --emit prints an intermediate form
// instead (to -o, default stdout). Errors are reported with file:line:col and a non-zero exit
// status.
//
//===----------------------------------------------------------------------===//
#include "kconv/Driver/Compile.h"

#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

namespace cl = llvm::cl;

namespace {

using kconv::EmitKind;

cl::OptionCategory category("kconv-compile options");
cl::opt<std::string> inputFile(cl::Positional, cl::desc("<formula file: .kconv or .mlir>"),
                               cl::Required, cl::cat(category));
cl::opt<std::string> outputFile("o",
                                cl::desc("Output file (required for the artifact; '-' is stdout)"),
                                cl::value_desc("file"), cl::init(""), cl::cat(category));
cl::opt<std::string> cpuName("cpu",
                             cl::desc("Target CPU: 'native' (the host CPU and its features) or an "
                                      "LLVM CPU name (skylake-avx512, x86-64-v3, znver4, ...)"),
                             cl::init("native"), cl::cat(category));
cl::opt<bool> noFastMath("no-fast-math", cl::desc("Accurate exp/log (libm) and no fast-math flags"),
                         cl::init(false), cl::cat(category));
cl::opt<EmitKind>
    emit("emit", cl::desc("What to write"), cl::init(EmitKind::Artifact),
         cl::values(clEnumValN(EmitKind::Artifact, "artifact", "the artifact (.kca, default)"),
                    clEnumValN(EmitKind::Ast, "ast", "the checked AST of a .kconv file"),
                    clEnumValN(EmitKind::Mlir, "mlir", "the kconv IR after simplification"),
                    clEnumValN(EmitKind::Llvm, "llvm", "the optimized LLVM IR of the CPU kernels"),
                    clEnumValN(EmitKind::Asm, "asm", "the CPU assembly"),
                    clEnumValN(EmitKind::Metadata, "metadata", "the artifact's metadata text"),
                    clEnumValN(EmitKind::Ptx, "ptx", "the PTX of the GPU kernels")),
         cl::cat(category));

cl::opt<bool> noFuse("no-fuse",
                     cl::desc("No fused reductions (kconv-fuse-reductions: one kernel for the "
                              "reductions of a kind, axis and variables, for run-many calls)"),
                     cl::init(false), cl::cat(category));

cl::OptionCategory tuning("kconv-compile CPU tuning options");
cl::opt<int64_t> lanesOpt("lanes",
                          cl::desc("f32 lanes per vector (default: 16 with AVX-512, else 8)"),
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
  auto output = mlir::openOutputFile(path.empty() ? "-" : path, &error);
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
  if (emit == EmitKind::Artifact && outputFile.empty())
    return fail("no output file: use -o OUT.kca (or --emit=ast|mlir|llvm|asm|metadata|ptx to "
                "print)");

  kconv::CompileOptions options;
  options.emit = emit;
  options.cpu = cpuName;
  options.fastMath = !noFastMath;
  options.lanes = lanesOpt;
  options.jblock = jblockOpt;
  options.rows = rowsOpt;
  options.gpu = !noGpu;
  options.gpuArch = gpuArch;
  options.gpuRowsPerThread = gpuRows;
  options.fuse = !noFuse;
  kconv::CompileResult result = kconv::compileArtifactFile(inputFile, options);
  for (const kconv::CompileMessage &message : result.messages) {
    switch (message.kind) {
    case kconv::CompileMessage::Kind::Located:
      llvm::errs() << message.text;
      break;
    case kconv::CompileMessage::Kind::Error:
      fail(message.text);
      break;
    case kconv::CompileMessage::Kind::Note:
      llvm::WithColor::note(llvm::errs(), "kconv-compile") << message.text << "\n";
      break;
    }
  }
  if (!result.succeeded)
    return 1;
  return writeOutput(outputFile, result.output);
}
