//===- kconv-gpu-emulate.cpp - run the GPU kernels' IR on the CPU ---------===//
//
// Checks the logic of the kernels convert-kconv-to-gpu generates, on a machine without a GPU:
// each gpu.func is turned into a CPU function of (kernel arguments, thread id, block ids, the
// block's shared tile, a barrier), its NVVM approximations replaced by the libm-exact functions,
// JIT-compiled, and launched like CUDA would: for each block, one OS thread per CUDA thread,
// gpu.barrier a pthread barrier. The outputs are compared with the runtime's float64 reference
// evaluator (independent of the generated code). Every variant (R rows per thread or one, plain
// or split-j) and several splits of the reduced range are run.
//
//   kconv-gpu-emulate FILE.mlir|FILE.kconv [--sizes N:M,...] [--tolerance T] [--fast-math=0|1]
//                     [--rows-per-thread R] [--block-size B]
//
// Prints one line per (reduction, kernel, size, split) and exits 1 if any is off. What it does not
// check: the NVPTX backend, ptxas, the real approximations' error, the runtime's launch code.
//
//===----------------------------------------------------------------------===//
#include "kconv/ABI/BatchLayout.h"
#include "kconv/ABI/KernelABI.h"
#include "kconv/Conversion/KconvToGPU/Passes.h"
#include "kconv/Dialect/Kconv/IR/KconvOps.h"
#include "kconv/Frontend/FormulaParser.h"
#include "kconv/Runtime/Runtime.h"
#include "kconv/Target/CPU.h"
#include "kconv/Target/GPU.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <pthread.h>
#include <random>
#include <thread>
#include <vector>

using namespace mlir;
namespace cl = llvm::cl;

namespace {

cl::OptionCategory category("kconv-gpu-emulate options");
cl::opt<std::string> inputFile(cl::Positional, cl::desc("<.mlir or .kconv file>"), cl::Required,
                               cl::cat(category));
cl::opt<std::string> sizesOpt("sizes", cl::desc("N:M pairs (nI:nJ), comma-separated"),
                              cl::init("1:1,37:300,700:1100,1100:513"), cl::cat(category));
cl::opt<double> tolerance("tolerance", cl::desc("bound on the relative error"), cl::init(1e-5),
                          cl::cat(category));
cl::opt<bool> fastMath("fast-math", cl::desc("emulate the fast-math kernels"), cl::init(true),
                       cl::cat(category));
cl::opt<unsigned> rowsPerThread("rows-per-thread", cl::desc("output rows per thread (0: automatic)"),
                                cl::init(0), cl::cat(category));
cl::opt<unsigned> blockSizeOpt("block-size", cl::desc("threads per block"), cl::init(128),
                               cl::cat(category));
cl::opt<unsigned> unrollOpt("unroll", cl::desc("pairs per unrolled tile step (0: automatic)"),
                            cl::init(0), cl::cat(category));
cl::opt<unsigned> chunkOpt("chunk",
                           cl::desc("components per chunk of a wide component sum (as "
                                    "kconv-translate --gpu-chunk)"),
                           cl::init(2), cl::cat(category));
cl::opt<std::string> batchOpt(
    "batch",
    cl::desc("AxC: run every size as a batch of A x C problems (Vi variables per problem, Vj "
             "ones broadcast along A, parameters along C), in two launches (batchBase 0 and "
             "half-way); each problem checked against its own reference"),
    cl::init("1x1"), cl::cat(category));

/// The kernel of one gpu.func as a CPU function; see the file comment.
struct EmulatedKernel {
  std::string name, reduction;
  ::kconv::abi::GpuVariant variant = ::kconv::abi::GpuVariant::Rows;
  bool splitj = false;
  int rows = 1, block = 0, rowsPerBlock = 0;
  /// Workgroup buffers (the tile, the small kernel's sums): floats each.
  std::vector<int64_t> sharedFloats, sharedElements;
};

/// Turns every gpu.func into `func.func @emu_NAME(kernel args..., tid, bx, by, bz, tile,
/// barrier)`.
LogicalResult prepareForCpu(ModuleOp module, std::vector<EmulatedKernel> &kernels) {
  MLIRContext *ctx = module.getContext();
  OpBuilder b(ctx);
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  b.setInsertionPointToEnd(module.getBody());
  auto barrierFn = func::FuncOp::create(b, module.getLoc(), "kconv_emu_barrier",
                                        b.getFunctionType({ptr}, {}));
  barrierFn.setPrivate();
  SmallVector<gpu::GPUModuleOp> gpuModules(module.getOps<gpu::GPUModuleOp>());
  for (gpu::GPUModuleOp gpuModule : gpuModules) {
    for (gpu::GPUFuncOp kernel : llvm::make_early_inc_range(gpuModule.getOps<gpu::GPUFuncOp>())) {
      SmallVector<Value> sharedArgs(kernel.getWorkgroupAttributions());
      SmallVector<Type> sharedTypes;
      EmulatedKernel info;
      for (Value shared : sharedArgs) {
        auto type = cast<MemRefType>(shared.getType());
        sharedTypes.push_back(MemRefType::get(type.getShape(), type.getElementType()));
        int64_t width = 1;
        if (auto vector = dyn_cast<VectorType>(type.getElementType()))
          width = vector.getNumElements();
        info.sharedElements.push_back(type.getShape()[0]);
        info.sharedFloats.push_back(type.getShape()[0] * width);
      }
      SmallVector<Type> args(kernel.getArgumentTypes());
      size_t numKernelArgs = args.size();
      Type idx = b.getIndexType();
      args.append({idx, idx, idx, idx});
      args.append(sharedTypes.begin(), sharedTypes.end());
      args.push_back(ptr);
      b.setInsertionPointToEnd(module.getBody());
      auto fn = func::FuncOp::create(b, kernel.getLoc(), ("emu_" + kernel.getName()).str(),
                                     b.getFunctionType(args, {}));
      Block *entry = fn.addEntryBlock();
      IRMapping map;
      Block &old = kernel.getBody().front();
      for (size_t k = 0; k < numKernelArgs; ++k)
        map.map(old.getArgument(k), entry->getArgument(k));
      Value tid = entry->getArgument(numKernelArgs), bx = entry->getArgument(numKernelArgs + 1),
            by = entry->getArgument(numKernelArgs + 2), bz = entry->getArgument(numKernelArgs + 3),
            barrier = entry->getArgument(numKernelArgs + 4 + sharedArgs.size());
      for (auto [k, shared] : llvm::enumerate(sharedArgs))
        map.map(shared, entry->getArgument(numKernelArgs + 4 + k));
      b.setInsertionPointToStart(entry);
      for (Operation &op : old.getOperations())
        b.clone(op, map);
      info.name = kernel.getName().str();
      info.reduction = kernel->getAttrOfType<StringAttr>(mlir::kconv::kReductionAttrName).str();
      // The kernel's name says its variant (KernelABI.h); the attribute must agree.
      if (!::kconv::abi::parseGpuKernelName(info.reduction, info.name, info.variant,
                                            info.splitj) ||
          kernel->getAttrOfType<StringAttr>(mlir::kconv::kVariantAttrName).getValue() !=
              ::kconv::abi::gpuVariantAttrValue(info.variant, info.splitj)) {
        kernel.emitError("kconv-gpu-emulate: kernel name '")
            << info.name << "' and its kconv.variant attribute do not follow the kernel ABI "
            << "for reduction '" << info.reduction << "' (kconv/ABI/KernelABI.h)";
        return failure();
      }
      info.rows = int(kernel->getAttrOfType<IntegerAttr>(mlir::kconv::kRowsPerThreadAttrName).getInt());
      info.block = int(kernel->getAttrOfType<IntegerAttr>(mlir::kconv::kBlockSizeAttrName).getInt());
      info.rowsPerBlock =
          int(kernel->getAttrOfType<IntegerAttr>(mlir::kconv::kRowsPerBlockAttrName).getInt());
      kernels.push_back(info);
      // GPU ops → arguments and calls; NVVM approximations → exact CPU equivalents.
      SmallVector<Operation *> toErase;
      fn.walk([&](Operation *op) {
        OpBuilder rb(op);
        Location loc = op->getLoc();
        if (auto id = dyn_cast<gpu::ThreadIdOp>(op)) {
          id.replaceAllUsesWith(tid);
        } else if (auto id = dyn_cast<gpu::BlockIdOp>(op)) {
          id.replaceAllUsesWith(id.getDimension() == gpu::Dimension::x   ? bx
                                : id.getDimension() == gpu::Dimension::y ? by
                                                                         : bz);
        } else if (isa<gpu::BarrierOp>(op)) {
          func::CallOp::create(rb, loc, barrierFn, ValueRange{barrier});
        } else if (isa<gpu::ReturnOp>(op)) {
          func::ReturnOp::create(rb, loc);
        } else if (auto rcp = dyn_cast<NVVM::RcpApproxFtzF32Op>(op)) {
          Value one = arith::ConstantOp::create(rb, loc, rb.getF32FloatAttr(1.0f));
          rcp.getResult().replaceAllUsesWith(
              arith::DivFOp::create(rb, loc, one, rcp.getOperand()).getResult());
        } else if (auto call = dyn_cast<LLVM::CallIntrinsicOp>(op)) {
          StringRef name = call.getIntrin();
          Value x = call.getArgs().empty() ? Value() : call.getArgs()[0];
          Value replacement;
          if (name == "llvm.nvvm.ex2.approx.ftz.f32")
            call.setIntrinAttr(rb.getStringAttr("llvm.exp2.f32"));
          else if (name == "llvm.nvvm.lg2.approx.ftz.f")
            call.setIntrinAttr(rb.getStringAttr("llvm.log2.f32"));
          else if (name == "llvm.nvvm.sqrt.approx.ftz.f")
            call.setIntrinAttr(rb.getStringAttr("llvm.sqrt.f32"));
          else if (name == "llvm.nvvm.rsqrt.approx.ftz.f") {
            Value one = arith::ConstantOp::create(rb, loc, rb.getF32FloatAttr(1.0f));
            Value root = LLVM::CallIntrinsicOp::create(rb, loc, rb.getF32Type(),
                                                       rb.getStringAttr("llvm.sqrt.f32"), x)
                             .getResult(0);
            replacement = arith::DivFOp::create(rb, loc, one, root);
          } else if (name == "llvm.nvvm.div.approx.ftz.f") {
            replacement = arith::DivFOp::create(rb, loc, x, call.getArgs()[1]);
          }
          if (replacement)
            call.getResult(0).replaceAllUsesWith(replacement);
          else
            return;
        } else {
          return;
        }
        toErase.push_back(op);
      });
      for (Operation *op : toErase)
        op->erase();
    }
    gpuModule.erase();
  }
  module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  bool leftover = false;
  module.walk([&](Operation *op) {
    if (op->getDialect() && (isa<gpu::GPUDialect>(op->getDialect()) ||
                             isa<NVVM::NVVMDialect>(op->getDialect()))) {
      op->emitError("kconv-gpu-emulate: cannot emulate this op");
      leftover = true;
    }
  });
  return failure(leftover);
}

struct BlockContext {
  pthread_barrier_t barrier;
};

} // namespace

extern "C" void kconv_emu_barrier(void *context) {
  pthread_barrier_wait(&static_cast<BlockContext *>(context)->barrier);
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, "kconv-gpu-emulate: GPU kernels on the CPU\n");
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();

  DialectRegistry registry;
  ::kconv::registerGpuTargetDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  llvm::SourceMgr sourceMgr;
  auto buffer = llvm::MemoryBuffer::getFileOrSTDIN(inputFile);
  if (!buffer) {
    llvm::errs() << "cannot read " << inputFile << "\n";
    return 1;
  }
  sourceMgr.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = StringRef(inputFile).ends_with(".kconv")
                                     ? ::kconv::parseFormulaFile(sourceMgr, &context)
                                     : parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;
  std::map<std::string, ::kconv::ReductionInfo> infos;
  for (auto reduction : module->getOps<mlir::kconv::ReductionOp>()) {
    auto info = ::kconv::serializeReduction(reduction);
    if (failed(info))
      return 1;
    infos[info->name] = *info;
  }

  PassManager pm(&context);
  ::kconv::GpuPipelineOptions options;
  options.fastMath = fastMath;
  options.chunk = chunkOpt;
  options.blockSize = blockSizeOpt;
  options.rowsPerThread = rowsPerThread;
  options.unroll = unrollOpt;
  ::kconv::buildKconvGPUKernelPipeline(pm, options);
  if (failed(pm.run(*module)))
    return 1;
  std::vector<EmulatedKernel> kernels;
  if (failed(prepareForCpu(*module, kernels)))
    return 1;
  PassManager lower(&context);
  lower.addPass(createSCFToControlFlowPass());
  lower.addPass(createConvertToLLVMPass());
  lower.addPass(createReconcileUnrealizedCastsPass());
  if (failed(lower.run(*module))) {
    module->print(llvm::errs());
    return 1;
  }
  registerBuiltinDialectTranslation(context);
  registerLLVMDialectTranslation(context);
  ExecutionEngineOptions engineOptions;
  // engineOptions.transformer is a function_ref: the std::function must outlive create().
  std::function<llvm::Error(llvm::Module *)> optimize = makeOptimizingTransformer(2, 0, nullptr);
  engineOptions.transformer = optimize;
  auto engine = ExecutionEngine::create(*module, engineOptions);
  if (!engine) {
    llvm::errs() << "JIT: " << llvm::toString(engine.takeError()) << "\n";
    return 1;
  }
  (*engine)->registerSymbols([](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap map;
    map[interner("kconv_emu_barrier")] = {llvm::orc::ExecutorAddr::fromPtr(&kconv_emu_barrier),
                                          llvm::JITSymbolFlags::Exported};
    return map;
  });

  std::vector<std::pair<int64_t, int64_t>> sizes;
  {
    std::string text = sizesOpt;
    size_t start = 0;
    while (start < text.size()) {
      size_t comma = text.find(',', start);
      std::string item = text.substr(start, comma == std::string::npos ? std::string::npos
                                                                       : comma - start);
      size_t colon = item.find(':');
      sizes.push_back({std::atoll(item.c_str()),
                       colon == std::string::npos ? std::atoll(item.c_str())
                                                  : std::atoll(item.c_str() + colon + 1)});
      if (comma == std::string::npos)
        break;
      start = comma + 1;
    }
  }

  int64_t batchA = 1, batchC = 1;
  {
    std::string text = batchOpt;
    size_t x = text.find('x');
    batchA = std::atoll(text.c_str());
    batchC = x == std::string::npos ? 1 : std::atoll(text.c_str() + x + 1);
    if (batchA < 1 || batchC < 1 || batchA * batchC > 4096) {
      llvm::errs() << "kconv-gpu-emulate: --batch=" << text
                   << ": expected AxC with A, C >= 1 and A x C <= 4096\n";
      return 1;
    }
  }

  int failures = 0, runs = 0;
  for (const EmulatedKernel &kernel : kernels) {
    const ::kconv::ReductionInfo &r = infos.at(kernel.reduction);
    if (::kconv::abi::parseElementType(r.dtype) != ::kconv::abi::ElementType::F32) {
      llvm::errs() << "kconv-gpu-emulate: reduction '" << r.name << "' has dtype " << r.dtype
                   << "; the emulator runs f32 kernels only\n";
      return 1;
    }
    auto packed = (*engine)->lookupPacked("emu_" + kernel.name);
    if (!packed) {
      llvm::errs() << "no symbol for " << kernel.name << ": " << llvm::toString(packed.takeError())
                   << "\n";
      return 1;
    }
    void (*invoke)(void **) = *packed;
    for (auto [nI, nJ] : sizes) {
      int64_t nOut = r.axis == 1 ? nI : nJ, nRed = r.axis == 1 ? nJ : nI;
      std::mt19937_64 rng(uint64_t(nI * 7919 + nJ));
      std::normal_distribution<float> normal(0.0f, 1.0f);
      // The batch (A, C): Vi variables have A x C arrays, Vj ones C (broadcast along A),
      // parameters A (broadcast along C); strides in elements (BatchLayout.h).
      const int64_t A = batchA, C = batchC, problems = A * C;
      std::vector<std::vector<float>> inputs(r.variables.size());
      std::vector<const float *> pointers;
      std::vector<std::vector<int64_t>> strides;
      for (size_t k = 0; k < r.variables.size(); ++k) {
        const ::kconv::VariableInfo &v = r.variables[k];
        int64_t rows = v.category == ::kconv::VarCategory::Vi   ? nI
                       : v.category == ::kconv::VarCategory::Vj ? nJ
                                                              : 1;
        int64_t block = rows * v.dim;
        std::vector<int64_t> st = v.category == ::kconv::VarCategory::Vi ? std::vector<int64_t>{C * block, block}
                                  : v.category == ::kconv::VarCategory::Vj ? std::vector<int64_t>{0, block}
                                                                         : std::vector<int64_t>{block, 0};
        int64_t copies = v.category == ::kconv::VarCategory::Vi   ? problems
                         : v.category == ::kconv::VarCategory::Vj ? C
                                                                : A;
        inputs[k].resize(size_t(std::max<int64_t>(copies * block, 1)));
        for (float &x : inputs[k])
          x = normal(rng);
        pointers.push_back(inputs[k].data());
        strides.push_back(st);
      }
      const ::kconv::abi::BatchLayout layout =
          ::kconv::abi::BatchLayout::collapse({A, C}, strides);
      int32_t batchSizes[::kconv::abi::kGpuBatchRank];
      std::vector<int64_t> batchStrides;
      layout.gpuParams(r.variables.size(), batchSizes, batchStrides);
      // Each problem's pointers and reference.
      std::vector<int64_t> allRows(static_cast<size_t>(nOut));
      for (int64_t k = 0; k < nOut; ++k)
        allRows[size_t(k)] = k;
      std::vector<std::vector<const float *>> entryPointers(static_cast<size_t>(problems));
      std::vector<::kconv::ReferenceOutputs> refs;
      for (int64_t e = 0; e < problems; ++e) {
        for (size_t k = 0; k < pointers.size(); ++k)
          entryPointers[size_t(e)].push_back(pointers[k] + layout.offset(k, e));
        refs.push_back(::kconv::referenceRun(r, entryPointers[size_t(e)], nI, nJ, allRows));
      }
      const int64_t tile = kernel.block, block = kernel.block;
      const int64_t tiles = (nRed + tile - 1) / tile;
      std::vector<int64_t> splits = {1};
      if (kernel.splitj) {
        for (int64_t c : {int64_t(2), int64_t(3), tiles})
          if (c <= tiles && std::find(splits.begin(), splits.end(), c) == splits.end())
            splits.push_back(c);
      }
      for (int64_t chunks : splits) {
        int64_t jChunk = kernel.splitj ? ::kconv::abi::gpuJChunk(std::max<int64_t>(tiles, 1), chunks, tile)
                                       : std::max<int64_t>(nRed, 1);
        int64_t gridY = kernel.splitj ? std::max<int64_t>(1, (nRed + jChunk - 1) / jChunk) : 1;
        int64_t rowsPerBlock = kernel.rowsPerBlock;
        int64_t gridX = (nOut + rowsPerBlock - 1) / rowsPerBlock;
        // Poisoned outputs (the split-j kernels add into zeros): every row must be written.
        std::vector<float> out(size_t(std::max<int64_t>(problems * nOut * r.valueDim, 1)),
                               kernel.splitj ? 0.0f : std::nanf(""));
        std::vector<int64_t> indices(size_t(std::max<int64_t>(problems * nOut * r.indexDim, 1)),
                                     -7);
        int32_t n32 = int32_t(nOut), m32 = int32_t(nRed), c32 = int32_t(jChunk);
        // Two launches: entries [0, half) with batchBase 0, [half, problems) with batchBase half
        // and the outputs moved to entry half (as the runtime splits blockIdx.z's range).
        const int64_t half = problems / 2;
        for (auto [first, count] : {std::pair<int64_t, int64_t>{0, half},
                                    std::pair<int64_t, int64_t>{half, problems - half}}) {
          if (count == 0)
            continue;
          int32_t base32 = int32_t(first);
          // One OS thread per CUDA thread, each running the blocks in the same order (the
          // kernel starts every tile with a barrier, so a block's shared buffers are never
          // overwritten early).
          std::vector<std::vector<float>> sharedStorage;
          std::vector<float *> sharedAligned;
          for (int64_t floats : kernel.sharedFloats) {
            sharedStorage.emplace_back(size_t(floats) + 16, std::nanf(""));
            sharedAligned.push_back(reinterpret_cast<float *>(
                (reinterpret_cast<uintptr_t>(sharedStorage.back().data()) + 15) & ~uintptr_t(15)));
          }
          BlockContext blockContext;
          pthread_barrier_init(&blockContext.barrier, nullptr, unsigned(block));
          std::vector<std::thread> threads;
          for (int64_t t = 0; t < block; ++t)
            threads.emplace_back([&, t] {
              std::vector<const void *> ptrs(pointers.begin(), pointers.end());
              void *outPtr = out.data() + first * nOut * r.valueDim;
              void *indicesPtr = indices.data() + first * nOut * r.indexDim;
              std::vector<int32_t> sizes(batchSizes, batchSizes + ::kconv::abi::kGpuBatchRank);
              std::vector<int64_t> stridesCopy(batchStrides);
              int64_t tid = t, bxv = 0, byv = 0, bzv = 0;
              // Each shared buffer is a rank-1 memref descriptor: allocated, aligned, offset,
              // size, stride.
              struct Descriptor {
                void *allocated, *aligned;
                int64_t offset, size, stride;
              };
              std::vector<Descriptor> descriptors;
              for (size_t k = 0; k < sharedAligned.size(); ++k)
                descriptors.push_back({sharedAligned[k], sharedAligned[k], 0,
                                       kernel.sharedElements[k], 1});
              void *barrierPtr = &blockContext;
              // Packed arguments: kernel args (KernelABI.h), tid, bx, by, bz, the shared
              // memrefs, barrier.
              std::vector<void *> args;
              for (auto &p : ptrs)
                args.push_back(&p);
              for (void *a : {(void *)&outPtr, (void *)&indicesPtr, (void *)&n32, (void *)&m32,
                              (void *)&c32, (void *)&base32})
                args.push_back(a);
              for (int32_t &size : sizes)
                args.push_back(&size);
              for (int64_t &stride : stridesCopy)
                args.push_back(&stride);
              for (void *a : {(void *)&tid, (void *)&bxv, (void *)&byv, (void *)&bzv})
                args.push_back(a);
              for (Descriptor &d : descriptors)
                for (void *a : {(void *)&d.allocated, (void *)&d.aligned, (void *)&d.offset,
                                (void *)&d.size, (void *)&d.stride})
                  args.push_back(a);
              args.push_back(&barrierPtr);
              for (bzv = 0; bzv < count; ++bzv)
                for (byv = 0; byv < gridY; ++byv)
                  for (bxv = 0; bxv < gridX; ++bxv)
                    invoke(args.data());
            });
          for (auto &thread : threads)
            thread.join();
          pthread_barrier_destroy(&blockContext.barrier);
        }
        // Every problem against its own reference.
        ::kconv::ValueCheck values;
        ::kconv::IndexCheck index;
        bool ok = true;
        for (int64_t e = 0; e < problems; ++e) {
          const size_t u = size_t(e);
          ::kconv::ValueCheck v;
          if (r.valueDim)
            v = ::kconv::checkValues(r, allRows, refs[u], out.data() + e * nOut * r.valueDim);
          ::kconv::IndexCheck x;
          if (r.indexDim)
            x = ::kconv::checkIndices(r, entryPointers[u], nI, nJ, allRows, refs[u],
                                      indices.data() + e * nOut * r.indexDim, tolerance);
          ok = ok && v.ok(tolerance) && x.ok();
          values.error = std::max(values.error, v.error);
          values.mismatched += v.mismatched;
          index.checked += x.checked;
          index.offValue += x.offValue;
          index.invalid += x.invalid;
        }
        ++runs;
        failures += !ok;
        std::printf("%s %s nI=%lld nJ=%lld grid=%lldx%lld chunk=%lld", ok ? "OK  " : "FAIL",
                    kernel.name.c_str(), (long long)nI, (long long)nJ, (long long)gridX,
                    (long long)gridY, (long long)jChunk);
        if (problems > 1)
          std::printf(" batch=%lldx%lld", (long long)A, (long long)C);
        std::printf(": relative error %.2e%s", values.error,
                    values.mismatched ? " (non-finite values off the reference's)" : "");
        if (r.indexDim)
          std::printf(", %lld indices, %lld selecting an off value, %lld invalid",
                      (long long)index.checked, (long long)index.offValue,
                      (long long)index.invalid);
        std::printf("\n");
      }
    }
  }
  std::printf("%d of %d emulated runs within %.1e of the float64 reference\n", runs - failures,
              runs, double(tolerance));
  return failures ? 1 : 0;
}
