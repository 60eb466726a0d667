//===- CPUPipeline.cpp - kconv-cpu-pipeline -------------------------------===//
#include "kconv/Conversion/Passes.h"
#include "kconv/Dialect/Kconv/IR/KconvDialect.h"
#include "kconv/Dialect/Kconv/Transforms/Passes.h"
#include "kconv/Target/CPU.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"

namespace kconv {

const char *getCompilerVersion() { return "kconv " KCONV_VERSION; }

void registerCPUTargetDialects(mlir::DialectRegistry &registry) {
  registry.insert<mlir::kconv::KconvDialect, mlir::arith::ArithDialect,
                  mlir::cf::ControlFlowDialect, mlir::func::FuncDialect, mlir::LLVM::LLVMDialect,
                  mlir::math::MathDialect, mlir::scf::SCFDialect, mlir::vector::VectorDialect>();
  mlir::registerBuiltinDialectTranslation(registry);
  mlir::registerLLVMDialectTranslation(registry);
}

void buildKconvSimplifyPipeline(mlir::OpPassManager &pm) {
  pm.addNestedPass<mlir::kconv::ReductionOp>(mlir::kconv::createKconvSimplify());
}

void buildKconvCPUPipeline(mlir::OpPassManager &pm, const KconvCPUPipelineOptions &options) {
  buildKconvSimplifyPipeline(pm);
  buildKconvCPULoweringPipeline(pm, options);
}

void buildKconvCPULoweringPipeline(mlir::OpPassManager &pm,
                                   const KconvCPUPipelineOptions &options) {
  buildKconvCPUPlanPipeline(pm, options);
  buildKconvCPUCodegenPipeline(pm, options);
}

void buildKconvCPUPlanPipeline(mlir::OpPassManager &pm, const KconvCPUPipelineOptions &options) {
  // Wide component sums become loops over chunks: the code does not grow with the dimension.
  pm.addNestedPass<mlir::kconv::ReductionOp>(mlir::kconv::createKconvChunkDimensions());
  mlir::kconv::KconvPlanCpuKernelsOptions plan;
  plan.lanes = options.lanes;
  plan.jblock = options.jblock;
  plan.rows = options.rows;
  pm.addNestedPass<mlir::kconv::ReductionOp>(mlir::kconv::createKconvPlanCpuKernels(plan));
}

void buildKconvCPUCodegenPipeline(mlir::OpPassManager &pm,
                                  const KconvCPUPipelineOptions &options) {
  mlir::kconv::ConvertKconvToCPUOptions cpu;
  cpu.flushDenormals = options.fastMath && options.flushDenormals;
  pm.addPass(mlir::kconv::createConvertKconvToCPU(cpu));
  // Hoist what depends on parameters / output rows only out of the inner loop, share what depends
  // on the reduced rows only among the register rows; then lower the formula.
  pm.addPass(mlir::createCSEPass());
  pm.addPass(mlir::createLoopInvariantCodeMotionPass());
  pm.addPass(mlir::createCSEPass());
  mlir::kconv::ConvertKconvFormulaToArithOptions formula;
  formula.lanes = options.lanes;
  formula.target = "cpu";
  formula.fastMath = options.fastMath;
  formula.avx512 = options.avx512;
  pm.addPass(mlir::kconv::createConvertKconvFormulaToArith(formula));
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::createCSEPass());
  pm.addPass(mlir::createSCFToControlFlowPass());
  mlir::ConvertVectorToLLVMPassOptions vector;
  vector.reassociateFPReductions = true;
  pm.addPass(mlir::createConvertVectorToLLVMPass(vector));
  pm.addPass(mlir::createConvertMathToLLVMPass());
  pm.addPass(mlir::createArithToLLVMConversionPass());
  pm.addPass(mlir::createConvertControlFlowToLLVMPass());
  pm.addPass(mlir::createConvertFuncToLLVMPass());
  pm.addPass(mlir::createReconcileUnrealizedCastsPass());
}

void registerKconvCPUPipeline() {
  mlir::PassPipelineRegistration<KconvCPUPipelineOptions>(
      "kconv-cpu-pipeline",
      "kconv.reduction ops to CPU kernels in the LLVM dialect (kconv-simplify where registered, "
      "convert-kconv-to-cpu, then scf/vector/math/arith/cf/func to LLVM)",
      buildKconvCPUPipeline);
}

} // namespace kconv
