//===- kconv-opt.cpp - the kconv optimizer driver -------------------------===//
//
// mlir-opt with the kconv dialect, its passes and the upstream dialects it lowers to. An input file
// ending in `.kconv` is a formula file: the frontend turns it into kconv IR first (diagnostics at
// file:line:col of the formula file), then the passes run on that IR as on any .mlir input.
//
//===----------------------------------------------------------------------===//
#include "kconv/Conversion/KconvToGPU/Passes.h"
#include "kconv/Conversion/Passes.h"
#include "kconv/Dialect/Kconv/IR/KconvDialect.h"
#include "kconv/Dialect/Kconv/Transforms/Passes.h"
#include "kconv/Frontend/FormulaParser.h"
#include "kconv/Target/CPU.h"
#include "kconv/Target/GPU.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

/// The kconv IR of a .kconv file, printed with locations (so that later diagnostics still point
/// into the formula file), or null after printing the frontend's errors.
static std::unique_ptr<llvm::MemoryBuffer> formulaFileToIR(std::unique_ptr<llvm::MemoryBuffer> file,
                                                           mlir::DialectRegistry &registry) {
  mlir::MLIRContext context(registry);
  llvm::SourceMgr sourceMgr;
  std::string name = file->getBufferIdentifier().str();
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  mlir::OwningOpRef<mlir::ModuleOp> module = kconv::parseFormulaFile(sourceMgr, &context);
  if (!module)
    return nullptr;
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os, mlir::OpPrintingFlags().enableDebugInfo());
  // Not named after the .kconv file: diagnostics must show its lines, not lines of this IR.
  return llvm::MemoryBuffer::getMemBufferCopy(text, "<kconv IR of " + name + ">");
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  mlir::registerAllPasses();
  mlir::kconv::registerKconvPasses();
  mlir::kconv::registerKconvConversionPasses();
  kconv::registerKconvCPUPipeline();
  mlir::kconv::registerKconvToGPUPasses();
  kconv::registerKconvGPUPipeline();
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  registry.insert<mlir::kconv::KconvDialect>();

  auto [inputFilename, outputFilename] =
      mlir::registerAndParseCLIOptions(argc, argv, "kconv optimizer driver\n", registry);
  mlir::MlirOptMainConfig config = mlir::MlirOptMainConfig::createFromCLOptions();

  std::string errorMessage;
  std::unique_ptr<llvm::MemoryBuffer> input = mlir::openInputFile(inputFilename, &errorMessage);
  if (!input) {
    llvm::errs() << errorMessage << "\n";
    return 1;
  }
  if (llvm::StringRef(inputFilename).ends_with(".kconv")) {
    input = formulaFileToIR(std::move(input), registry);
    if (!input)
      return 1;
  }
  std::unique_ptr<llvm::ToolOutputFile> output =
      mlir::openOutputFile(outputFilename, &errorMessage);
  if (!output) {
    llvm::errs() << errorMessage << "\n";
    return 1;
  }
  if (mlir::failed(mlir::MlirOptMain(output->os(), std::move(input), registry, config)))
    return 1;
  output->keep();
  return 0;
}
