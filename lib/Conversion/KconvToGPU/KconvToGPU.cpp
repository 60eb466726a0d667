//===- KconvToGPU.cpp - convert-kconv-to-gpu ------------------------------===//
//
// Lowers every kconv.reduction to CUDA kernels (gpu.func in one gpu.module). The kernel:
//
//   thread t of block (bx, by, bz) owns output rows  bx·B·R + t + r·B,  r < R  (B threads, R rows)
//   of batch entry batchBase + bz (its variables' bases moved by their batch strides);
//   its reduced range is chunk by: [by·jChunk, min(nRed, (by+1)·jChunk))
//   for each tile of B reduced rows:
//     barrier; thread t loads reduced row (tile + t) of every reduced variable from the caller's
//     row-major arrays into one shared-memory record (float4 vectors, pre-scaled where the formula
//     allows folding a constant in); barrier
//     partial[r] = combine over j in tile of F(x_r, y_j, p)   (unrolled; one shared-memory load
//                  per j serves R rows), from the kind's identity
//     acc[r] = merge(acc[r], partial[r])   (Sum: block sums, float32 error ~1e-6 at 1e6 rows; the
//                  min/max kinds combine straight into acc)
//   out[row] = finalize(acc)   (plain variant)   or   atomicAdd(out[row], acc)  (split-j variant,
//                  kinds that merge by addition only)
// The kind's arithmetic is its Combiner's (kconv/Conversion/Combiner/Combiner.h).
//
// The kernel ABI (argument order, launch geometry) is in docs/architecture.md, "GPU kernel ABI".
//
//===----------------------------------------------------------------------===//
#include "kconv/ABI/KernelABI.h"
#include "kconv/Conversion/Combiner/Combiner.h"
#include "kconv/Conversion/KconvToGPU/Passes.h"
#include "kconv/Conversion/FormulaToArith/FormulaToArith.h"
#include "kconv/Dialect/Kconv/IR/KconvDialect.h"
#include "kconv/Dialect/Kconv/IR/KconvOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/ADT/DenseMap.h"


namespace mlir::kconv {
#define GEN_PASS_DEF_CONVERTKCONVTOGPU
#include "kconv/Conversion/KconvToGPU/Passes.h.inc"
} // namespace mlir::kconv

using namespace mlir;
using namespace mlir::kconv;

namespace {

//===----------------------------------------------------------------------===//
// Kernel construction
//===----------------------------------------------------------------------===//

/// The main kernels' shape, from the reduction's #kconv.gpu_plan.
struct KernelConfig {
  unsigned blockSize;     // threads per block = rows per shared-memory tile
  unsigned rowsPerThread; // R
  unsigned unroll;
};

/// Where each reduced variable lives in the shared-memory record of one reduced row.
struct TileLayout {
  SmallVector<int64_t> offset;  // per variable (reduced ones only), in floats
  SmallVector<double> scale;    // stored scaled by this (1 unless prescaled)
  /// Per variable: the `kconv.mul %var, %c` the record stores instead of the variable (its only
  /// use), or null.
  SmallVector<Operation *> prescaledUse;
  int64_t recordFloats = 0;     // padded: 1, 2 or a multiple of 4
  int64_t vecWidth = 1;         // floats per shared-memory vector access
};

class ReductionLowering {
public:
  ReductionLowering(ReductionOp red, const KernelConfig &cfg)
      : red(red), cfg(cfg),
        chunkMap(red.getYield().getValue().getDefiningOp<ChunkMapOp>()),
        combiner(chunkMap ? Combiner::get(red, int64_t(chunkMap.getChunk()))
                          : Combiner::get(red)) {
    vars = red.getVariableAttrs();
    outCat = red.getOutputCategory();
    redCat = outCat == VarCategory::Vi ? VarCategory::Vj : VarCategory::Vi;
    valueDim = red.getValueDim();
    indexDim = red.getIndexDim();
  }

  LogicalResult analyze();
  /// Builds one kernel: `rows` output rows per thread, the tile loop unrolled `unroll` times.
  gpu::GPUFuncOp build(OpBuilder &moduleBuilder, bool splitJ, unsigned rows, unsigned unroll,
                       unsigned slices = 1);
  /// Builds every variant: plain and split-j with the configured rows per thread, and when that
  /// is more than 1, plain and split-j with one row per thread (for problems too small to fill
  /// the GPU with R-row threads), and the "small" kernel (a block's threads split the reduced
  /// range of B/S rows S ways and add up in shared memory: no atomics, no zeroed output).
  void buildAll(OpBuilder &moduleBuilder);
  const TileLayout &tileLayout() const { return layout; }

private:
  /// Finds the reduced variables whose only use is a product with a constant (what
  /// kconv-fold-exp-scale leaves for the log2 e factor of a fast exp): the tile stores them
  /// scaled, so that the product costs nothing per pair.
  void findPrescaledVariables();

  ReductionOp red;
  KernelConfig cfg;
  /// A wide yield's chunk_map (else null): the kernel loops over output chunks, each with a
  /// combiner of the chunk's width.
  ChunkMapOp chunkMap;
  std::unique_ptr<Combiner> combiner;
  SmallVector<VariableAttr> vars;
  VarCategory outCat, redCat;
  int64_t valueDim, indexDim;
  unsigned unrollOne = 1; // unroll factor of the one-row-per-thread variants
  unsigned smallSlices = 1, smallUnroll = 1; // the small kernel (1: not built)
  TileLayout layout;
};

void ReductionLowering::findPrescaledVariables() {
  Block &body = red.getBody().front();
  layout.scale.assign(vars.size(), 1.0);
  layout.prescaledUse.assign(vars.size(), nullptr);
  for (auto [k, var] : llvm::enumerate(vars)) {
    Value arg = body.getArgument(k);
    if (var.getCategory() != redCat || !arg.hasOneUse())
      continue;
    auto mul = dyn_cast<MulOp>(*arg.getUsers().begin());
    if (!mul || mul.getType() != arg.getType())
      continue;
    auto factor = (mul.getLhs() == arg ? mul.getRhs() : mul.getLhs()).getDefiningOp<ConstantOp>();
    if (!factor || getFormulaDim(factor.getType()) != 1)
      continue;
    layout.scale[k] = factor.getValue().convertToDouble();
    layout.prescaledUse[k] = mul;
  }
}

LogicalResult ReductionLowering::analyze() {
  if (::kconv::abi::gpuKernelParamBytes(vars.size()) > ::kconv::abi::kGpuMaxParamBytes)
    return red.emitOpError("has ")
           << vars.size() << " variables; GPU kernels take at most "
           << (::kconv::abi::kGpuMaxParamBytes - ::kconv::abi::gpuKernelParamBytes(0)) /
                  (::kconv::abi::gpuKernelParamBytes(1) - ::kconv::abi::gpuKernelParamBytes(0))
           << " (their parameters, a pointer and the batch strides per variable, must fit in "
           << ::kconv::abi::kGpuMaxParamBytes << " bytes); compile for the CPU only (kconv-compile --no-gpu)";
  Block &body = red.getBody().front();
  for (Operation &op : body.without_terminator())
    if (op.getNumResults() != 1 || (op.getNumRegions() != 0 && !isa<ChunkSumOp, ChunkMapOp>(op)) ||
        !isa<KconvDialect>(op.getDialect()))
      return op.emitOpError("is not supported by the GPU lowering");
  if (!red.getElementType().isF32())
    return red.emitOpError("the GPU lowering supports f32 formulas only, got ")
           << red.getElementType();
  auto plan = red->getAttrOfType<GpuPlanAttr>(kGpuPlanAttrName);
  if (!plan)
    return red.emitOpError("has no ") << kGpuPlanAttrName
                                      << " attribute (run kconv-plan-gpu-kernels first)";
  cfg.blockSize = plan.getBlock();
  cfg.rowsPerThread = plan.getRows();
  cfg.unroll = plan.getUnroll();
  unrollOne = plan.getRowUnroll();
  smallSlices = plan.getSmallSlices();
  smallUnroll = plan.getSmallUnroll();
  findPrescaledVariables();
  // Shared-memory record of one reduced row: the reduced variables in argument order.
  int64_t floats = 0;
  layout.offset.assign(vars.size(), -1);
  for (auto [k, var] : llvm::enumerate(vars)) {
    if (var.getCategory() != redCat || isReadByChunksOnly(body.getArgument(k)))
      continue; // chunked variables are read from global memory, chunk by chunk
    layout.offset[k] = floats;
    floats += var.getDim();
  }
  layout.recordFloats = gpuTileRecordFloats(red);
  layout.vecWidth = std::min<int64_t>(layout.recordFloats, 4);
  return success();
}

void ReductionLowering::buildAll(OpBuilder &moduleBuilder) {
  // Split-j kernels add their partial results into the output with atomics.
  bool splitJ = combiner->mergesByAddition();
  build(moduleBuilder, /*splitJ=*/false, cfg.rowsPerThread, cfg.unroll);
  if (splitJ)
    build(moduleBuilder, /*splitJ=*/true, cfg.rowsPerThread, cfg.unroll);
  if (cfg.rowsPerThread > 1) {
    build(moduleBuilder, /*splitJ=*/false, 1, unrollOne);
    if (splitJ)
      build(moduleBuilder, /*splitJ=*/true, 1, unrollOne);
  }
  if (smallSlices > 1)
    build(moduleBuilder, /*splitJ=*/false, 1, smallUnroll, smallSlices);
}

gpu::GPUFuncOp ReductionLowering::build(OpBuilder &moduleBuilder, bool splitJ,
                                        unsigned rowsPerThread, unsigned unroll, unsigned slices) {
  MLIRContext *ctx = red.getContext();
  Location loc = red.getLoc();
  ImplicitLocOpBuilder b(loc, moduleBuilder);
  Type f32 = b.getF32Type(), i32 = b.getI32Type(), i64 = b.getI64Type(), idx = b.getIndexType();
  auto gptr = LLVM::LLVMPointerType::get(ctx, /*addressSpace=*/1);
  const int64_t B = cfg.blockSize, R = rowsPerThread, U = unroll, S = slices;
  const int64_t W = layout.recordFloats, V = layout.vecWidth;
  const int64_t lanes = B / S; // rows of a block per slice (all rows of the block: S = 1)
  assert((S == 1 || (R == 1 && !splitJ)) && "the small kernel has one row per thread, no split");

  // Signature (KernelABI.h): one pointer per variable, the values and the indices outputs, nOut,
  // nRed, jChunk, batchBase, the batch sizes and each variable's batch strides.
  constexpr int64_t batchRank = int64_t(::kconv::abi::kGpuBatchRank);
  SmallVector<Type> argTypes(vars.size() + 2, gptr);
  argTypes.append({i32, i32, i32, i32});
  argTypes.append(batchRank, i32);
  argTypes.append(batchRank * vars.size(), i64);
  auto vecType = VectorType::get({V}, f32);
  auto wgSpace = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  auto tileType = MemRefType::get({B * W / V}, vecType, MemRefLayoutAttrInterface(), wgSpace);
  ::kconv::abi::GpuVariant variant = S > 1          ? ::kconv::abi::GpuVariant::Small
                            : R != cfg.rowsPerThread ? ::kconv::abi::GpuVariant::OneRow
                                                     : ::kconv::abi::GpuVariant::Rows;
  std::string name = ::kconv::abi::gpuKernelName(red.getSymName().str(), variant, splitJ);
  const int64_t slots = int64_t(combiner->numSlots());
  SmallVector<Type> workgroup = {tileType};
  if (S > 1) // the slices' partial states, merged at the end (index slots as their f32 bits)
    workgroup.push_back(MemRefType::get({B * slots}, f32, MemRefLayoutAttrInterface(), wgSpace));
  auto func = gpu::GPUFuncOp::create(b, name, b.getFunctionType(argTypes, {}), workgroup);
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr({static_cast<int32_t>(B), 1, 1}));
  func->setAttr(kReductionAttrName, b.getStringAttr(red.getSymName()));
  func->setAttr(kVariantAttrName, b.getStringAttr(S > 1 ? "small" : splitJ ? "splitj" : "plain"));
  func->setAttr(kRowsPerBlockAttrName, b.getI64IntegerAttr(lanes * R));
  func->setAttr(kBlockSizeAttrName, b.getI64IntegerAttr(B));
  func->setAttr(kRowsPerThreadAttrName, b.getI64IntegerAttr(R));
  func->setAttr(kTileRowsAttrName, b.getI64IntegerAttr(B));
  func->setAttr(kSharedBytesAttrName, b.getI64IntegerAttr(B * W * 4 + (S > 1 ? B * slots * 4 : 0)));
  // Inputs are read-only and do not alias the output.
  for (unsigned k = 0; k < vars.size() + 2; ++k) {
    func.setArgAttr(k, LLVM::LLVMDialect::getNoAliasAttrName(), b.getUnitAttr());
    if (k < vars.size())
      func.setArgAttr(k, LLVM::LLVMDialect::getReadonlyAttrName(), b.getUnitAttr());
  }

  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  Value tile = func.getWorkgroupAttributions()[0];
  auto toIndex = [&](Value v) { return arith::IndexCastOp::create(b, idx, v).getResult(); };
  Value nOut = toIndex(entry.getArgument(vars.size() + 2));
  Value nRed = toIndex(entry.getArgument(vars.size() + 3));
  Value jChunk = toIndex(entry.getArgument(vars.size() + 4));

  // The batch entry of this block (BatchLayout.h): batchBase + blockIdx.z, decoded into the
  // batch dimensions' indices; each variable's base moves by its strides, the outputs by whole
  // problems from the launch's first entry.
  Value bz = gpu::BlockIdOp::create(b, gpu::Dimension::z);
  SmallVector<Value> varBase;
  {
    const unsigned sizesAt = unsigned(vars.size()) + 6;
    const unsigned stridesAt = sizesAt + unsigned(batchRank);
    // In 32 bits: the batch has fewer than 2^31 entries, and 64-bit division is slow on GPUs.
    Value rest = arith::AddIOp::create(b, entry.getArgument(vars.size() + 5),
                                       arith::IndexCastOp::create(b, i32, bz));
    SmallVector<Value> digits(batchRank);
    for (int64_t d = batchRank - 1; d > 0; --d) {
      Value size = entry.getArgument(sizesAt + unsigned(d));
      digits[d] = arith::RemUIOp::create(b, rest, size);
      rest = arith::DivUIOp::create(b, rest, size);
    }
    digits[0] = rest;
    for (Value &digit : digits)
      digit = arith::ExtUIOp::create(b, i64, digit);
    for (unsigned k = 0; k < vars.size(); ++k) {
      Value off = arith::ConstantIntOp::create(b, i64, 0);
      for (int64_t d = 0; d < batchRank; ++d) {
        Value stride = entry.getArgument(stridesAt + k * unsigned(batchRank) + unsigned(d));
        off = arith::AddIOp::create(b, off, arith::MulIOp::create(b, digits[d], stride));
      }
      varBase.push_back(LLVM::GEPOp::create(b, gptr, f32, entry.getArgument(k), ValueRange{off}));
    }
  }
  Value problem = arith::IndexCastOp::create(b, i64, arith::MulIOp::create(b, bz, nOut));
  auto outputBase = [&](unsigned arg, int64_t dim, Type element) -> Value {
    Value off = arith::MulIOp::create(b, problem, arith::ConstantIntOp::create(b, i64, dim));
    return LLVM::GEPOp::create(b, gptr, element, entry.getArgument(arg), ValueRange{off});
  };
  Value outPtr = outputBase(unsigned(vars.size()), std::max<int64_t>(valueDim, 1), f32);
  Value indicesPtr = outputBase(unsigned(vars.size()) + 1, std::max<int64_t>(indexDim, 1), i64);
  auto cIdx = [&](int64_t v) { return arith::ConstantIndexOp::create(b, v).getResult(); };
  auto cF32 = [&](double v) { return arith::ConstantOp::create(b, b.getF32FloatAttr(v)).getResult(); };

  // Global element address: base + (row·dim + c) floats, computed in 64 bits.
  auto gload = [&](Value base, Value row, int64_t dim, int64_t c) -> Value {
    Value r64 = arith::IndexCastOp::create(b, i64, row);
    Value off = arith::AddIOp::create(
        b, arith::MulIOp::create(b, r64, arith::ConstantIntOp::create(b, i64, dim)),
        arith::ConstantIntOp::create(b, i64, c));
    Value p = LLVM::GEPOp::create(b, gptr, f32, base, ValueRange{off});
    return LLVM::LoadOp::create(b, f32, p);
  };
  auto gaddr = [&](Value base, Value row, int64_t dim, int64_t c, Type element) -> Value {
    Value r64 = arith::IndexCastOp::create(b, i64, row);
    Value off = arith::AddIOp::create(
        b, arith::MulIOp::create(b, r64, arith::ConstantIntOp::create(b, i64, dim)),
        arith::ConstantIntOp::create(b, i64, c));
    return LLVM::GEPOp::create(b, gptr, element, base, ValueRange{off});
  };

  // A wide yield's output chunk being emitted: its first column (index) and width; component q
  // of a chunk's finalized values (laid out [K][width]) goes to column k·yieldDim + o + c.
  Value outColumn;
  int64_t outWidth = 0;
  auto chunkAddr = [&](Value base, Value row, int64_t dim, int64_t q, Type element) -> Value {
    int64_t k = q / outWidth, c = q % outWidth;
    Value column = arith::AddIOp::create(b, outColumn, cIdx(k * red.getYieldDim() + c));
    Value off = arith::AddIOp::create(
        b, arith::MulIOp::create(b, arith::IndexCastOp::create(b, i64, row),
                                 arith::ConstantIntOp::create(b, i64, dim)),
        arith::IndexCastOp::create(b, i64, column));
    return LLVM::GEPOp::create(b, gptr, element, base, ValueRange{off});
  };

  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value bx = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value by = gpu::BlockIdOp::create(b, gpu::Dimension::y);

  // Output rows of this thread, clamped for the loads (rows past the end compute garbage that is
  // never stored: they must still take part in the tile loads and barriers).
  // Thread t: lane t mod (B/S) of slice t div (B/S) (S = 1: lane t).
  Value lane = S > 1 ? arith::RemUIOp::create(b, tid, cIdx(lanes)).getResult() : tid;
  Value slice = S > 1 ? arith::DivUIOp::create(b, tid, cIdx(lanes)).getResult() : cIdx(0);
  Value rowBase = arith::AddIOp::create(b, arith::MulIOp::create(b, bx, cIdx(lanes * R)), lane);
  Value lastRow = arith::SubIOp::create(b, nOut, cIdx(1));
  SmallVector<Value> rows, valid;
  // Output-category variables (per row) and parameters, bound to their components for the
  // formula clones: rowLeaves[r].
  Block &body = red.getBody().front();
  auto pack = [&](unsigned k, ValueRange comps) {
    return packFormulaValue(b, loc, cast<VectorType>(body.getArgument(k).getType()), comps);
  };
  IRMapping paramLeaves;
  for (auto [k, var] : llvm::enumerate(vars)) {
    if (var.getCategory() != VarCategory::Pm || isReadByChunksOnly(body.getArgument(k)))
      continue;
    SmallVector<Value> comps;
    for (int64_t c = 0; c < var.getDim(); ++c)
      comps.push_back(gload(varBase[k], cIdx(0), var.getDim(), c));
    paramLeaves.map(body.getArgument(k), pack(k, comps));
  }
  SmallVector<IRMapping> rowLeaves(R, paramLeaves);
  SmallVector<Value> clampedRows;
  for (int64_t r = 0; r < R; ++r) {
    Value row = arith::AddIOp::create(b, rowBase, cIdx(r * B));
    rows.push_back(row);
    valid.push_back(arith::CmpIOp::create(b, arith::CmpIPredicate::slt, row, nOut));
    Value rowc = arith::MinSIOp::create(b, row, lastRow);
    clampedRows.push_back(rowc);
    for (auto [k, var] : llvm::enumerate(vars)) {
      if (var.getCategory() != outCat || isReadByChunksOnly(body.getArgument(k)))
        continue;
      SmallVector<Value> comps;
      for (int64_t c = 0; c < var.getDim(); ++c)
        comps.push_back(gload(varBase[k], rowc, var.getDim(), c));
      rowLeaves[r].map(body.getArgument(k), pack(k, comps));
    }
  }

  // The reduced range of this block (split-j: chunk `by`).
  Value jBegin = arith::MulIOp::create(b, by, jChunk);
  Value jLen = arith::MinSIOp::create(b, jChunk, arith::SubIOp::create(b, nRed, jBegin));
  jLen = arith::MaxSIOp::create(b, jLen, cIdx(0));
  Value nFull = arith::DivSIOp::create(b, jLen, cIdx(B));
  Value rem = arith::SubIOp::create(b, jLen, arith::MulIOp::create(b, nFull, cIdx(B)));

  // Loads reduced row `row` into the record of thread `tid` (scaled as the layout says).
  auto loadTileRow = [&](ImplicitLocOpBuilder &lb, Value row) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(lb.getInsertionBlock(), lb.getInsertionPoint());
    SmallVector<Value> record(W, Value());
    for (auto [k, var] : llvm::enumerate(vars)) {
      if (layout.offset[k] < 0)
        continue;
      for (int64_t c = 0; c < var.getDim(); ++c) {
        Value v = gload(varBase[k], row, var.getDim(), c);
        if (layout.scale[k] != 1.0)
          v = arith::MulFOp::create(b, v, cF32(layout.scale[k]));
        record[layout.offset[k] + c] = v;
      }
    }
    Value zero = cF32(0.0);
    for (int64_t q = 0; q < W / V; ++q) {
      SmallVector<Value> elems;
      for (int64_t e = 0; e < V; ++e)
        elems.push_back(record[q * V + e] ? record[q * V + e] : zero);
      Value vec = vector::FromElementsOp::create(b, vecType, elems);
      Value slot = arith::AddIOp::create(b, arith::MulIOp::create(b, tid, cIdx(W / V)), cIdx(q));
      memref::StoreOp::create(b, vec, tile, ValueRange{slot});
    }
  };

  // Components [offset, offset + width) of chunked variable k for output row `row` and reduced
  // row `reducedRow`, read from global memory (a reduced row's address is the same in every
  // thread of a warp: one broadcast load).
  auto readChunk = [&](OpBuilder &nb, unsigned k, Value offset, int64_t width, Value row,
                       Value reducedRow) -> Value {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
    const VariableAttr &var = vars[k];
    Value at = var.getCategory() == VarCategory::Pm ? cIdx(0)
               : var.getCategory() == outCat        ? row
                                                    : reducedRow;
    Value first = arith::AddIOp::create(
        b, arith::MulIOp::create(b, arith::IndexCastOp::create(b, i64, at),
                                 arith::ConstantIntOp::create(b, i64, var.getDim())),
        arith::IndexCastOp::create(b, i64, offset));
    SmallVector<Value> comps;
    for (int64_t c = 0; c < width; ++c) {
      Value off = arith::AddIOp::create(b, first, arith::ConstantIntOp::create(b, i64, c));
      Value p = LLVM::GEPOp::create(b, gptr, f32, varBase[k], ValueRange{off});
      comps.push_back(LLVM::LoadOp::create(b, f32, p));
    }
    return packFormulaValue(b, loc, getFormulaType(width, f32), comps);
  };

  // Reads records `js` of the tile starting at reduced row `tileStart` and evaluates the formula
  // for every row of this thread; returns, per record, the R·yieldDim per-pair values (row major).
  // The chunk_sums of all (row, record) pairs share one loop (fuseChunkSums).
  auto pairValuesOf = [&](ImplicitLocOpBuilder &lb, Value tileStart, ArrayRef<Value> js) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(lb.getInsertionBlock(), lb.getInsertionPoint());
    // Context u·R + r: row r, record js[u].
    SmallVector<IRMapping> mappings;
    SmallVector<Value> reducedRows;
    for (Value j : js) {
      SmallVector<Value> record;
      for (int64_t q = 0; q < W / V; ++q) {
        Value slot = arith::AddIOp::create(b, arith::MulIOp::create(b, j, cIdx(W / V)), cIdx(q));
        Value vec = memref::LoadOp::create(b, tile, ValueRange{slot});
        for (int64_t e = 0; e < V; ++e)
          record.push_back(vector::ExtractOp::create(b, vec, ArrayRef<int64_t>{e}));
      }
      // The reduced variables (or their prescaled products) bound to the record's components.
      IRMapping reducedLeaves;
      for (auto [k, var] : llvm::enumerate(vars)) {
        if (layout.offset[k] < 0)
          continue;
        SmallVector<Value> comps(record.begin() + layout.offset[k],
                                 record.begin() + layout.offset[k] + var.getDim());
        Value leaf = pack(k, comps);
        reducedLeaves.map(layout.prescaledUse[k] ? Value(layout.prescaledUse[k]->getResult(0))
                                                 : body.getArgument(k),
                          leaf);
      }
      reducedRows.push_back(arith::AddIOp::create(b, tileStart, j));
      for (int64_t r = 0; r < R; ++r) {
        IRMapping &mapping = mappings.emplace_back(rowLeaves[r]);
        for (auto [from, to] : reducedLeaves.getValueMap())
          mapping.map(from, to);
      }
    }
    auto contextRead = [&](OpBuilder &nb, size_t c, unsigned k, Value offset, int64_t width) {
      return readChunk(nb, k, offset, width, clampedRows[c % R], reducedRows[c / R]);
    };
    fuseChunkSums(b, body, mappings, /*lanes=*/0, contextRead);
    // The formula once per row (CSE merges what depends on the reduced row only; LICM hoists what
    // depends on the output rows and parameters only).
    SmallVector<SmallVector<Value>> values(js.size());
    for (auto [c, mapping] : llvm::enumerate(mappings)) {
      cloneFormula(b, body, mapping, /*lanes=*/0,
                   [&, c = c](OpBuilder &nb, unsigned k, Value offset, int64_t width) {
                     return contextRead(nb, c, k, offset, width);
                   });
      SmallVector<Value> f =
          chunkMap
              ? emitChunkMapTerm(b, chunkMap, mapping, /*lanes=*/0,
                                 [&, c = c](OpBuilder &nb, unsigned k, Value offset,
                                            int64_t width) {
                                   return contextRead(nb, c, k, offset, width);
                                 },
                                 outColumn, outWidth)
              : unpackFormulaValue(b, loc, mapping.lookup(red.getYield().getValue()),
                                   /*lanes=*/0);
      values[c / R].append(f.begin(), f.end());
    }
    return values;
  };
  auto pairValues = [&](ImplicitLocOpBuilder &lb, Value tileStart, Value j) {
    return pairValuesOf(lb, tileStart, {j}).front();
  };
  // A formula with chunk_sums evaluates the U pairs of a step together (one chunk loop).
  const bool fusePairs = !body.getOps<ChunkSumOp>().empty();

  // The loop nest and the writes, once (or once per output chunk of a wide yield).
  auto emitOutputChunk = [&]() {
  const int64_t slots = int64_t(combiner->numSlots());

  // The rows' states: acc[r·slots + k].
  CombinerBuilder cb(b, loc, f32, /*lanes=*/0);
  SmallVector<Value> accInit;
  for (int64_t r = 0; r < R; ++r)
    accInit.append(combiner->identity(cb));
  const int64_t pairDim = chunkMap ? outWidth : red.getYieldDim();
  /// Each row's state combined with the pair values of records js (reduced rows tileStart + j),
  /// values[u] those of js[u] (R rows of pairDim components each).
  auto combineAll = [&](ImplicitLocOpBuilder &lb, ValueRange states,
                        ArrayRef<SmallVector<Value>> values, Value tileStart, ArrayRef<Value> js) {
    CombinerBuilder lcb(lb, lb.getLoc(), f32, 0);
    SmallVector<Value> indices;
    for (Value j : js)
      indices.push_back(
          arith::IndexCastOp::create(lb, i32, arith::AddIOp::create(lb, tileStart, j)));
    SmallVector<SmallVector<SmallVector<Value>>> pairs(R);
    for (int64_t r = 0; r < R; ++r)
      for (const SmallVector<Value> &v : values)
        pairs[r].push_back(SmallVector<Value>(ArrayRef(v).slice(r * pairDim, pairDim)));
    return combiner->combineRows(lcb, states, pairs, indices);
  };
  auto mergeAll = [&](ImplicitLocOpBuilder &lb, ValueRange x, ValueRange y) {
    CombinerBuilder lcb(lb, lb.getLoc(), f32, 0);
    SmallVector<Value> next;
    for (int64_t r = 0; r < R; ++r) {
      SmallVector<Value> s =
          combiner->merge(lcb, x.slice(r * slots, slots), y.slice(r * slots, slots));
      next.append(s.begin(), s.end());
    }
    return next;
  };
  /// A tile's pairs combine into a partial state from the identity, merged into the running
  /// state after the tile (Sum's block sums), or straight into the running state.
  const bool direct = combiner->combinesExactly();
  auto tileStartState = [&](ImplicitLocOpBuilder &lb, ValueRange acc) {
    if (direct)
      return SmallVector<Value>(acc);
    CombinerBuilder lcb(lb, lb.getLoc(), f32, 0);
    SmallVector<Value> start;
    for (int64_t r = 0; r < R; ++r)
      start.append(combiner->partialIdentity(lcb, acc.slice(r * slots, slots)));
    return start;
  };
  auto afterTile = [&](ImplicitLocOpBuilder &lb, ValueRange acc, ValueRange partial) {
    return direct ? SmallVector<Value>(partial) : mergeAll(lb, acc, partial);
  };
  /// Over this slice's records of a full tile: j = k·S + slice, k < B/S, `U` bodies per step.
  auto tileSum = [&](ImplicitLocOpBuilder &lb, ValueRange acc, Value tileStart)
      -> SmallVector<Value> {
    auto loop = scf::ForOp::create(
        lb, cIdx(0), cIdx(lanes), cIdx(U), tileStartState(lb, acc),
        [&](OpBuilder &nb, Location nloc, Value kk, ValueRange partial) {
          ImplicitLocOpBuilder ib(nloc, nb);
          SmallVector<SmallVector<Value>> values;
          SmallVector<Value> js, stepJs;
          SmallVector<Value> p(partial);
          auto recordOf = [&](int64_t u) -> Value {
            Value k = u ? arith::AddIOp::create(ib, kk, cIdx(u)).getResult() : kk;
            return S > 1 ? arith::AddIOp::create(ib, arith::MulIOp::create(ib, k, cIdx(S)), slice)
                               .getResult()
                         : k;
          };
          SmallVector<SmallVector<Value>> stepValues;
          if (fusePairs) {
            for (int64_t u = 0; u < U; ++u)
              stepJs.push_back(recordOf(u));
            stepValues = pairValuesOf(ib, tileStart, stepJs);
          }
          for (int64_t u = 0; u < U; ++u) {
            Value j = fusePairs ? stepJs[u] : recordOf(u);
            values.push_back(fusePairs ? stepValues[u] : pairValues(ib, tileStart, j));
            js.push_back(j);
            if (values.size() >= combiner->preferredBatch(R)) {
              p = combineAll(ib, p, values, tileStart, js);
              values.clear();
              js.clear();
            }
          }
          if (!values.empty())
            p = combineAll(ib, p, values, tileStart, js);
          scf::YieldOp::create(ib, p);
        });
    return afterTile(lb, acc, loop.getResults());
  };
  /// Over this slice's records among the first `count` of the tile: j = slice, slice + S, ...
  auto partialTileSum = [&](ImplicitLocOpBuilder &lb, ValueRange acc, Value tileStart,
                            Value count) -> SmallVector<Value> {
    auto loop = scf::ForOp::create(
        lb, slice, count, cIdx(S), tileStartState(lb, acc),
        [&](OpBuilder &nb, Location nloc, Value j, ValueRange partial) {
          ImplicitLocOpBuilder ib(nloc, nb);
          scf::YieldOp::create(
              ib, combineAll(ib, partial, {pairValues(ib, tileStart, j)}, tileStart, {j}));
        });
    return afterTile(lb, acc, loop.getResults());
  };

  // Full tiles.
  auto fullLoop = scf::ForOp::create(
      b, cIdx(0), nFull, cIdx(1), accInit,
      [&](OpBuilder &nb, Location nloc, Value t, ValueRange acc) {
        ImplicitLocOpBuilder ib(nloc, nb);
        Value tileStart = arith::AddIOp::create(ib, jBegin, arith::MulIOp::create(ib, t, cIdx(B)));
        Value row = arith::AddIOp::create(ib, tileStart, tid);
        gpu::BarrierOp::create(ib);
        loadTileRow(ib, row);
        gpu::BarrierOp::create(ib);
        scf::YieldOp::create(ib, tileSum(ib, acc, tileStart));
      });
  SmallVector<Value> acc(fullLoop.getResults());

  // The last, partial tile (uniform branch: every thread of the block takes it or not).
  Value hasRem = arith::CmpIOp::create(b, arith::CmpIPredicate::sgt, rem, cIdx(0));
  SmallVector<Type> accTypes;
  for (int64_t r = 0; r < R; ++r)
    accTypes.append(combiner->stateTypes(cb));
  auto tailIf = scf::IfOp::create(b, accTypes, hasRem, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(tailIf.thenBlock());
    Value tileStart = arith::AddIOp::create(b, jBegin, arith::MulIOp::create(b, nFull, cIdx(B)));
    Value row = arith::AddIOp::create(b, tileStart, tid);
    gpu::BarrierOp::create(b);
    Value inRange = arith::CmpIOp::create(b, arith::CmpIPredicate::slt, tid, rem);
    scf::IfOp::create(b, inRange, [&](OpBuilder &nb, Location nloc) {
      ImplicitLocOpBuilder ib(nloc, nb);
      loadTileRow(ib, row);
      scf::YieldOp::create(ib);
    });
    gpu::BarrierOp::create(b);
    scf::YieldOp::create(b, partialTileSum(b, acc, tileStart, rem));
    b.setInsertionPointToStart(tailIf.elseBlock());
    scf::YieldOp::create(b, acc);
  }
  acc.assign(tailIf.getResults().begin(), tailIf.getResults().end());

  // The small kernel: the S slices' states of a row meet in shared memory; slice 0 merges them
  // in slice order (deterministic) and writes the row.
  Value writer = valid[0];
  if (S > 1) {
    Value states = func.getWorkgroupAttributions()[1];
    auto slotAt = [&](Value thread, int64_t k) {
      Value start = arith::MulIOp::create(b, thread, cIdx(slots));
      return arith::AddIOp::create(b, start, cIdx(k)).getResult();
    };
    for (int64_t k = 0; k < slots; ++k) {
      Value v = acc[k];
      if (v.getType() != f32)
        v = arith::BitcastOp::create(b, f32, v);
      memref::StoreOp::create(b, v, states, ValueRange{slotAt(tid, k)});
    }
    gpu::BarrierOp::create(b);
    Value first = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, slice, cIdx(0));
    writer = arith::AndIOp::create(b, valid[0], first);
    SmallVector<Value> merged;
    for (int64_t q = 0; q < S; ++q) {
      Value thread = arith::AddIOp::create(b, lane, cIdx(q * lanes));
      SmallVector<Value> part;
      for (auto [k, type] : llvm::enumerate(combiner->stateTypes(cb))) {
        Value v = memref::LoadOp::create(b, states, ValueRange{slotAt(thread, int64_t(k))});
        part.push_back(type != f32 ? arith::BitcastOp::create(b, type, v).getResult() : v);
      }
      merged = q ? combiner->merge(cb, merged, part) : part;
    }
    acc.assign(merged.begin(), merged.end());
  }

  // Write the rows.
  for (int64_t r = 0; r < R; ++r) {
    scf::IfOp::create(b, r == 0 ? writer : valid[r], [&](OpBuilder &nb, Location nloc) {
      ImplicitLocOpBuilder ib(nloc, nb);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(ib.getInsertionBlock(), ib.getInsertionPoint());
      CombinerBuilder wcb(b, nloc, f32, 0);
      SmallVector<Value> values, indices;
      ValueRange state = ValueRange(acc).slice(r * slots, slots);
      if (splitJ)
        values.append(state.begin(), state.end()); // partial sums, added atomically
      else
        combiner->finalize(wcb, state, values, indices);
      for (auto [c, v] : llvm::enumerate(values)) {
        Value p = chunkMap ? chunkAddr(outPtr, rows[r], valueDim, int64_t(c), f32)
                           : gaddr(outPtr, rows[r], valueDim, int64_t(c), f32);
        if (splitJ)
          LLVM::AtomicRMWOp::create(b, LLVM::AtomicBinOp::fadd, p, v,
                                    LLVM::AtomicOrdering::monotonic);
        else
          LLVM::StoreOp::create(b, v, p);
      }
      for (auto [c, v] : llvm::enumerate(indices)) {
        // Sequenced: the order of a call's arguments is the compiler's (the IR must not be).
        Value at = chunkMap ? chunkAddr(indicesPtr, rows[r], indexDim, int64_t(c), i64)
                            : gaddr(indicesPtr, rows[r], indexDim, int64_t(c), i64);
        Value wide = arith::ExtSIOp::create(b, i64, v);
        LLVM::StoreOp::create(b, wide, at);
      }
      scf::YieldOp::create(ib);
    });
  }
  };
  if (!chunkMap) {
    emitOutputChunk();
  } else {
    // Output chunks [o, o + C), then the narrower last one, each with its own states.
    const int64_t width = int64_t(chunkMap.getChunk()), dim = chunkMap.getChunkedDim();
    const int64_t fullEnd = dim / width * width;
    combiner = Combiner::get(red, width);
    outWidth = width;
    auto loop = scf::ForOp::create(b, cIdx(0), cIdx(fullEnd), cIdx(width));
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(loop.getBody()->getTerminator());
      outColumn = loop.getInductionVar();
      emitOutputChunk();
    }
    if (fullEnd < dim) {
      combiner = Combiner::get(red, dim - fullEnd);
      outColumn = cIdx(fullEnd);
      outWidth = dim - fullEnd;
      emitOutputChunk();
    }
    combiner = Combiner::get(red, width); // for the next variant
  }
  gpu::ReturnOp::create(b);
  return func;
}

struct ConvertKconvToGPUPass : public mlir::kconv::impl::ConvertKconvToGPUBase<ConvertKconvToGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<ReductionOp> reductions(module.getOps<ReductionOp>());
    if (reductions.empty())
      return;
    KernelConfig cfg{};
    OpBuilder builder(module.getContext());
    builder.setInsertionPointToEnd(module.getBody());
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), builder.getUnitAttr());
    auto gpuModule = gpu::GPUModuleOp::create(builder, module.getLoc(), moduleName);
    OpBuilder inner = OpBuilder::atBlockBegin(gpuModule.getBody());
    for (ReductionOp red : reductions) {
      ReductionLowering lowering(red, cfg);
      if (failed(lowering.analyze()))
        return signalPassFailure();
      inner.setInsertionPointToEnd(gpuModule.getBody());
      lowering.buildAll(inner);
      red.erase();
    }
  }
};

} // namespace

int64_t mlir::kconv::gpuTileRecordFloats(ReductionOp red) {
  Block &body = red.getBody().front();
  const VarCategory reduced = red.getOutputCategory() == VarCategory::Vi ? VarCategory::Vj
                                                                         : VarCategory::Vi;
  int64_t floats = 0;
  for (auto [k, var] : llvm::enumerate(red.getVariableAttrs()))
    if (var.getCategory() == reduced && !isReadByChunksOnly(body.getArgument(k)))
      floats += var.getDim();
  if (floats == 0)
    return 1; // no reduced variable (e.g. a count): a 1-float dummy record
  return floats <= 2 ? floats : (floats + 3) / 4 * 4;
}
