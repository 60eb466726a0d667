//===- CPU.h - kconv CPU target: pipeline, codegen, shared object -*- C++ -*-===//
//
// From a module of kconv.reduction ops to the CPU part of an artifact:
//
//   kconv IR ──kconv-cpu-pipeline──▶ LLVM dialect ──▶ LLVM IR (O3, target attributes)
//            ──TargetMachine──▶ object / assembly ──cc -shared──▶ shared object bytes
//
// plus the formula serialization of each reduction (the artifact metadata).
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_TARGET_CPU_H
#define KCONV_TARGET_CPU_H

#include "kconv/Runtime/Artifact.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"
#include "llvm/Support/CodeGen.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace llvm {
class LLVMContext;
class Module;
class TargetMachine;
} // namespace llvm

namespace mlir::kconv {
class ReductionOp;
} // namespace mlir::kconv

namespace kconv {

/// The compiler's version, as written in the metadata ("kconv 0.1.0").
const char *getCompilerVersion();

/// Registers everything the CPU path needs in `registry`: the kconv dialect, the dialects the
/// lowering produces, and the LLVM IR translation interfaces.
void registerCPUTargetDialects(mlir::DialectRegistry &registry);

//===----------------------------------------------------------------------===//
// The MLIR pipeline
//===----------------------------------------------------------------------===//

struct KconvCPUPipelineOptions : public mlir::PassPipelineOptions<KconvCPUPipelineOptions> {
  Option<int64_t> lanes{*this, "lanes", llvm::cl::desc("f32 lanes per vector (16: AVX-512)"),
                        llvm::cl::init(16)};
  Option<int64_t> jblock{*this, "jblock", llvm::cl::desc("reduced rows per block"),
                         llvm::cl::init(1024)};
  Option<int64_t> rows{*this, "rows", llvm::cl::desc("output rows per register block"),
                       llvm::cl::init(4)};
  Option<bool> fastMath{*this, "fast-math", llvm::cl::desc("polynomial exp/log, fast-math flags"),
                        llvm::cl::init(true)};
  Option<bool> avx512{*this, "avx512", llvm::cl::desc("the target has AVX-512F (vscalefps)"),
                      llvm::cl::init(true)};
  Option<bool> flushDenormals{*this, "flush-denormals",
                              llvm::cl::desc("x86 fast math: FTZ + DAZ during the call"),
                              llvm::cl::init(true)};
};

/// The dialect-level part: kconv-simplify on each reduction.
void buildKconvSimplifyPipeline(mlir::OpPassManager &pm);
/// The plan pipeline, then the codegen pipeline.
void buildKconvCPULoweringPipeline(mlir::OpPassManager &pm, const KconvCPUPipelineOptions &options);
/// kconv-chunk-dimensions, then kconv-plan-cpu-kernels (a #kconv.cpu_plan on each reduction).
void buildKconvCPUPlanPipeline(mlir::OpPassManager &pm, const KconvCPUPipelineOptions &options);
/// convert-kconv-to-cpu (from the plans), then scf/vector/math/arith/cf/func to the LLVM dialect.
void buildKconvCPUCodegenPipeline(mlir::OpPassManager &pm, const KconvCPUPipelineOptions &options);
/// kconv-cpu-pipeline: the simplify pipeline, then the lowering pipeline.
void buildKconvCPUPipeline(mlir::OpPassManager &pm, const KconvCPUPipelineOptions &options);
/// Registers `kconv-cpu-pipeline` (for kconv-opt).
void registerKconvCPUPipeline();

//===----------------------------------------------------------------------===//
// The LLVM side
//===----------------------------------------------------------------------===//

/// A resolved CPU target.
struct CPUTarget {
  std::string triple;
  std::string cpu;         // LLVM CPU name, e.g. "sapphirerapids", "x86-64-v3"
  std::string features;    // LLVM feature string ("+avx512f,..."), empty for a named CPU
  std::string keyFeatures; // "+avx2,+fma,...": the features the code may use, for the runtime's check
  bool avx512 = false;
  int64_t lanes = 8;       // 16 with AVX-512, else 8
  /// The value of the `cpu.target` metadata attribute, in the form the runtime checks
  /// (docs/runtime.md): "TRIPLE CPU +feature,+feature,...".
  std::string describe() const;
};

/// Resolves `cpu` ("native": the host CPU and its features; or an LLVM CPU name such as
/// "skylake-avx512", "x86-64-v3", "znver4") for the host triple. Errors name an unknown CPU.
llvm::Expected<CPUTarget> resolveCPUTarget(llvm::StringRef cpu);

/// Creates the target machine (PIC, O3).
llvm::Expected<std::unique_ptr<llvm::TargetMachine>> createTargetMachine(const CPUTarget &target);

/// Translates a module in the LLVM dialect to LLVM IR, sets the triple, data layout and function
/// attributes (target-cpu/features, 512-bit vectors where AVX-512, fast-math attributes), and runs
/// the O3 pipeline.
llvm::Expected<std::unique_ptr<llvm::Module>>
translateToLLVMIR(mlir::ModuleOp module, llvm::LLVMContext &context, llvm::TargetMachine &machine,
                  const CPUTarget &target, bool fastMath);

/// Adds, for each reduction with CPU code (attr cpu.symbol), the exported string constant
/// `kconv_cpu_NAME_abi` holding its ABI descriptor (kconv/ABI/KernelABI.h: variables' categories
/// and dims, output dim, dtype, kind, axis, cpu.lanes), which the runtime compares with the
/// artifact's metadata before loading the code. Call it on the translated module, before
/// emitMachineCode.
llvm::Error addCpuAbiDescriptors(llvm::Module &module, llvm::ArrayRef<ReductionInfo> reductions);

/// Object code or assembly text of an LLVM module.
llvm::Expected<std::string> emitMachineCode(llvm::Module &module, llvm::TargetMachine &machine,
                                            llvm::CodeGenFileType type);

/// Links an object into a shared object with the system C compiler driver (`cc -shared`),
/// through temporary files that are removed afterwards; returns the shared object's bytes.
llvm::Expected<std::string> linkSharedObject(llvm::StringRef object);

//===----------------------------------------------------------------------===//
// Metadata
//===----------------------------------------------------------------------===//

/// The formula of one reduction as the artifact metadata records it (variables, ops with their
/// mnemonics, dims, int/real attributes, yield). Backend attributes are left to the caller.
mlir::FailureOr<ReductionInfo> serializeReduction(mlir::kconv::ReductionOp reduction);

} // namespace kconv

#endif // KCONV_TARGET_CPU_H
