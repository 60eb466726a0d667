//===- kconv-opt.cpp - the kconv optimizer driver -------------------------===//
//
// mlir-opt with the kconv dialect, its passes and the upstream dialects it lowers to.
//
//===----------------------------------------------------------------------===//
#include "kconv/Conversion/KconvToGPU/Passes.h"
#include "kconv/Dialect/Kconv/IR/KconvDialect.h"
#include "kconv/Target/GPU.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::kconv::registerKconvToGPUPasses();
  kconv::registerKconvGPUPipeline();
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  registry.insert<mlir::kconv::KconvDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "kconv optimizer driver\n", registry));
}
