//===- KconvToGPU.cpp - convert-kconv-to-gpu ------------------------------===//
//
// Lowers every kconv.reduction to CUDA kernels (gpu.func in one gpu.module). The kernel:
//
//   thread t of block (bx, by) owns output rows  bx·B·R + t + r·B,  r < R      (B threads, R rows)
//   its reduced range is chunk by: [by·jChunk, min(nRed, (by+1)·jChunk))
//   for each tile of B reduced rows:
//     barrier; thread t loads reduced row (tile + t) of every reduced variable from the caller's
//     row-major arrays into one shared-memory record (float4 vectors, pre-scaled where the formula
//     allows folding a constant in); barrier
//     partial[r] = Σ_{j in tile} F(x_r, y_j, p)   (unrolled; one shared-memory load per j serves R rows)
//     acc[r] += partial[r]                          (block sum: keeps float32 error ~1e-6 at 1e6 rows)
//   out[row] = acc       (plain variant)   or   atomicAdd(out[row], acc)  (split-j variant)
//
// The kernel ABI (argument order, launch geometry) is in docs/architecture.md, "GPU kernel ABI".
//
//===----------------------------------------------------------------------===//
#include "kconv/ABI/KernelABI.h"
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

struct KernelConfig {
  unsigned blockSize;     // threads per block = rows per shared-memory tile
  unsigned rowsPerThread; // R
  unsigned unroll;
  bool fastMath;
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
  ReductionLowering(ReductionOp red, const KernelConfig &cfg) : red(red), cfg(cfg) {
    vars = red.getVariableAttrs();
    outCat = red.getOutputCategory();
    redCat = outCat == VarCategory::Vi ? VarCategory::Vj : VarCategory::Vi;
    outDim = red.getValueDim();
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
  SmallVector<VariableAttr> vars;
  VarCategory outCat, redCat;
  int64_t outDim;
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
  if (red.getKind() != ReductionKind::Sum)
    return red.emitOpError("the GPU lowering supports sum reductions only, got ")
           << stringifyReductionKind(red.getKind());
  for (Operation &op : red.getBody().front().without_terminator())
    if (op.getNumResults() != 1 || op.getNumRegions() != 0 || !isa<KconvDialect>(op.getDialect()))
      return op.emitOpError("is not supported by the GPU lowering");
  if (!red.getElementType().isF32())
    return red.emitOpError("the GPU lowering supports f32 formulas only, got ")
           << red.getElementType();
  if (cfg.blockSize % 32 || cfg.blockSize == 0 || cfg.blockSize > 1024)
    return red.emitOpError("block-size must be a multiple of 32 in [32, 1024], got ")
           << cfg.blockSize;
  // Automatic register blocking and unrolling. The per-pair cost of the formula is estimated in
  // scalar instructions (accurate transcendentals are inline sequences of ~10-40). Cheap formulas
  // get R = 4 rows per thread (one shared-memory load serves 4 pairs) and 16 pairs unrolled;
  // expensive ones fewer, so that the loop body (U·R formula copies) stays near 1-2K instructions
  // and the registers (R copies of the output-category values, partials and accumulators) fit.
  int64_t rowRegs = 2 * red.getValueDim();
  for (VariableAttr var : vars)
    if (var.getCategory() == outCat)
      rowRegs += var.getDim();
  int64_t cost = 0;
  for (Operation &op : red.getBody().front().without_terminator()) {
    int64_t width = 1;
    for (Value v : op.getOperands())
      width = std::max(width, getFormulaDim(v.getType()));
    for (Value v : op.getResults())
      width = std::max(width, getFormulaDim(v.getType()));
    int64_t weight = 1;
    if (isa<ExpOp, Exp2Op, LogOp>(op))
      weight = cfg.fastMath ? 2 : 24;
    else if (isa<SqrtOp, RsqrtOp, InvOp, DivOp, Norm2Op>(op))
      weight = cfg.fastMath ? 2 : 10;
    else if (auto pow = dyn_cast<PowOp>(op))
      weight = 2 + 2 * llvm::Log2_64_Ceil(std::abs(static_cast<int64_t>(pow.getExponent())) + 1);
    cost += width * weight;
  }
  if (cfg.rowsPerThread == 0)
    cfg.rowsPerThread = (cost <= 64 && rowRegs <= 16) ? 4 : (cost <= 256 && rowRegs <= 32) ? 2 : 1;
  auto autoUnroll = [&](unsigned rows) {
    unsigned u = 16;
    while (u > 1 && u * rows * cost > 1024)
      u /= 2;
    return u;
  };
  if (cfg.unroll == 0)
    cfg.unroll = autoUnroll(cfg.rowsPerThread);
  unrollOne = std::min(autoUnroll(1), cfg.blockSize);
  if (cfg.blockSize % cfg.unroll)
    return red.emitOpError("unroll must divide block-size");
  if (cfg.rowsPerThread > 8)
    return red.emitOpError("rows-per-thread must be in [1, 8]");
  findPrescaledVariables();
  // Shared-memory record of one reduced row: the reduced variables in argument order.
  int64_t floats = 0;
  layout.offset.assign(vars.size(), -1);
  for (auto [k, var] : llvm::enumerate(vars)) {
    if (var.getCategory() != redCat)
      continue;
    layout.offset[k] = floats;
    floats += var.getDim();
  }
  if (floats == 0)
    floats = 1; // no reduced variable (e.g. a count): keep a 1-float dummy record
  layout.recordFloats = floats <= 2 ? floats : (floats + 3) / 4 * 4;
  layout.vecWidth = std::min<int64_t>(layout.recordFloats, 4);
  // Wide records: fewer rows per tile (and threads per block, a multiple of 32) until the tile
  // fits in 48 KiB of static shared memory.
  constexpr int64_t kSharedLimit = 48 * 1024;
  int64_t recordBytes = layout.recordFloats * 4;
  if (recordBytes * cfg.blockSize > kSharedLimit) {
    int64_t fitting = kSharedLimit / recordBytes / 32 * 32;
    if (fitting < 32)
      return red.emitOpError("the reduced variables need ")
             << layout.recordFloats << " floats per row: even a 32-row shared-memory tile ("
             << 32 * recordBytes
             << " bytes) exceeds 48 KiB; the GPU lowering does not split variables this wide "
                "over their dimension yet (kconv-compile --no-gpu builds the CPU code alone)";
    cfg.blockSize = unsigned(fitting);
    unrollOne = std::min(autoUnroll(1), cfg.blockSize);
  }
  int64_t sharedBytes = recordBytes * cfg.blockSize;
  // The small kernel: S = 8 slices of the reduced range (32 rows per block of 256 threads), when
  // its reduction buffer (B · outputDim floats) fits beside the tile.
  if (cfg.blockSize % 8 == 0 && cfg.blockSize / 8 >= 32 &&
      sharedBytes + int64_t(cfg.blockSize) * red.getValueDim() * 4 <= kSharedLimit) {
    smallSlices = 8;
    smallUnroll = 1;
    while (smallUnroll < unrollOne && cfg.blockSize / smallSlices % (smallUnroll * 2) == 0)
      smallUnroll *= 2;
  }
  return success();
}

void ReductionLowering::buildAll(OpBuilder &moduleBuilder) {
  build(moduleBuilder, /*splitJ=*/false, cfg.rowsPerThread, cfg.unroll);
  build(moduleBuilder, /*splitJ=*/true, cfg.rowsPerThread, cfg.unroll);
  if (cfg.rowsPerThread > 1) {
    build(moduleBuilder, /*splitJ=*/false, 1, unrollOne);
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
  // nRed, jChunk.
  SmallVector<Type> argTypes(vars.size() + 2, gptr);
  argTypes.append({i32, i32, i32});
  auto vecType = VectorType::get({V}, f32);
  auto wgSpace = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  auto tileType = MemRefType::get({B * W / V}, vecType, MemRefLayoutAttrInterface(), wgSpace);
  ::kconv::abi::GpuVariant variant = S > 1          ? ::kconv::abi::GpuVariant::Small
                            : R != cfg.rowsPerThread ? ::kconv::abi::GpuVariant::OneRow
                                                     : ::kconv::abi::GpuVariant::Rows;
  std::string name = ::kconv::abi::gpuKernelName(red.getSymName().str(), variant, splitJ);
  SmallVector<Type> workgroup = {tileType};
  if (S > 1) // the slices' partial sums, added up at the end
    workgroup.push_back(MemRefType::get({B * outDim}, f32, MemRefLayoutAttrInterface(), wgSpace));
  auto func = gpu::GPUFuncOp::create(b, name, b.getFunctionType(argTypes, {}), workgroup);
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr({static_cast<int32_t>(B), 1, 1}));
  func->setAttr(kReductionAttrName, b.getStringAttr(red.getSymName()));
  func->setAttr(kVariantAttrName, b.getStringAttr(S > 1 ? "small" : splitJ ? "splitj" : "plain"));
  func->setAttr(kRowsPerBlockAttrName, b.getI64IntegerAttr(lanes * R));
  func->setAttr(kBlockSizeAttrName, b.getI64IntegerAttr(B));
  func->setAttr(kRowsPerThreadAttrName, b.getI64IntegerAttr(R));
  func->setAttr(kTileRowsAttrName, b.getI64IntegerAttr(B));
  func->setAttr(kSharedBytesAttrName, b.getI64IntegerAttr(B * W * 4 + (S > 1 ? B * outDim * 4 : 0)));
  // Inputs are read-only and do not alias the output.
  for (unsigned k = 0; k < vars.size() + 2; ++k) {
    func.setArgAttr(k, LLVM::LLVMDialect::getNoAliasAttrName(), b.getUnitAttr());
    if (k < vars.size())
      func.setArgAttr(k, LLVM::LLVMDialect::getReadonlyAttrName(), b.getUnitAttr());
  }

  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  Value tile = func.getWorkgroupAttributions()[0];
  Value outPtr = entry.getArgument(vars.size());
  auto toIndex = [&](Value v) { return arith::IndexCastOp::create(b, idx, v).getResult(); };
  Value nOut = toIndex(entry.getArgument(vars.size() + 2));
  Value nRed = toIndex(entry.getArgument(vars.size() + 3));
  Value jChunk = toIndex(entry.getArgument(vars.size() + 4));
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
  auto gaddr = [&](Value base, Value row, int64_t dim, int64_t c) -> Value {
    Value r64 = arith::IndexCastOp::create(b, i64, row);
    Value off = arith::AddIOp::create(
        b, arith::MulIOp::create(b, r64, arith::ConstantIntOp::create(b, i64, dim)),
        arith::ConstantIntOp::create(b, i64, c));
    return LLVM::GEPOp::create(b, gptr, f32, base, ValueRange{off});
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
    if (var.getCategory() != VarCategory::Pm)
      continue;
    SmallVector<Value> comps;
    for (int64_t c = 0; c < var.getDim(); ++c)
      comps.push_back(gload(entry.getArgument(k), cIdx(0), var.getDim(), c));
    paramLeaves.map(body.getArgument(k), pack(k, comps));
  }
  SmallVector<IRMapping> rowLeaves(R, paramLeaves);
  for (int64_t r = 0; r < R; ++r) {
    Value row = arith::AddIOp::create(b, rowBase, cIdx(r * B));
    rows.push_back(row);
    valid.push_back(arith::CmpIOp::create(b, arith::CmpIPredicate::slt, row, nOut));
    Value rowc = arith::MinSIOp::create(b, row, lastRow);
    for (auto [k, var] : llvm::enumerate(vars)) {
      if (var.getCategory() != outCat)
        continue;
      SmallVector<Value> comps;
      for (int64_t c = 0; c < var.getDim(); ++c)
        comps.push_back(gload(entry.getArgument(k), rowc, var.getDim(), c));
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
        Value v = gload(entry.getArgument(k), row, var.getDim(), c);
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

  // Reads record `j` from the tile and evaluates the formula for every row of this thread;
  // returns the R·outDim values to add to the partial sums.
  auto pairValues = [&](ImplicitLocOpBuilder &lb, Value j) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(lb.getInsertionBlock(), lb.getInsertionPoint());
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
    // The formula once per row (CSE merges what depends on the reduced row only; LICM hoists what
    // depends on the output rows and parameters only).
    SmallVector<Value> values;
    for (int64_t r = 0; r < R; ++r) {
      IRMapping mapping = rowLeaves[r];
      for (auto [from, to] : reducedLeaves.getValueMap())
        mapping.map(from, to);
      for (Operation &op : body.without_terminator())
        if (!mapping.contains(op.getResult(0)))
          b.clone(op, mapping);
      SmallVector<Value> f =
          unpackFormulaValue(b, loc, mapping.lookup(red.getYield().getValue()), /*lanes=*/0);
      values.append(f.begin(), f.end());
    }
    return values;
  };

  // acc[r·outDim + c]
  SmallVector<Value> accInit(R * outDim, cF32(0.0));
  auto addAll = [&](ImplicitLocOpBuilder &lb, ValueRange x, ValueRange y) {
    SmallVector<Value> r;
    for (auto [p, q] : llvm::zip(x, y))
      r.push_back(arith::AddFOp::create(
          lb, p, q, arith::FastMathFlagsAttr::get(ctx, arith::FastMathFlags::contract)));
    return r;
  };
  /// Σ over this slice's records of a full tile: j = k·S + slice, k < B/S, `U` bodies per step.
  auto tileSum = [&](ImplicitLocOpBuilder &lb) -> SmallVector<Value> {
    auto loop = scf::ForOp::create(
        lb, cIdx(0), cIdx(lanes), cIdx(U), accInit,
        [&](OpBuilder &nb, Location nloc, Value kk, ValueRange partial) {
          ImplicitLocOpBuilder ib(nloc, nb);
          SmallVector<Value> p(partial.begin(), partial.end());
          for (int64_t u = 0; u < U; ++u) {
            Value k = u ? arith::AddIOp::create(ib, kk, cIdx(u)).getResult() : kk;
            Value j = S > 1 ? arith::AddIOp::create(ib, arith::MulIOp::create(ib, k, cIdx(S)), slice)
                                  .getResult()
                            : k;
            SmallVector<Value> v = pairValues(ib, j);
            p = addAll(ib, p, v);
          }
          scf::YieldOp::create(ib, p);
        });
    return SmallVector<Value>(loop.getResults());
  };
  /// Σ over this slice's records among the first `count` of the tile: j = slice, slice + S, ...
  auto partialTileSum = [&](ImplicitLocOpBuilder &lb, Value count) -> SmallVector<Value> {
    auto loop = scf::ForOp::create(
        lb, slice, count, cIdx(S), accInit,
        [&](OpBuilder &nb, Location nloc, Value j, ValueRange partial) {
          ImplicitLocOpBuilder ib(nloc, nb);
          SmallVector<Value> p(partial.begin(), partial.end());
          p = addAll(ib, p, pairValues(ib, j));
          scf::YieldOp::create(ib, p);
        });
    return SmallVector<Value>(loop.getResults());
  };

  // Full tiles.
  auto fullLoop = scf::ForOp::create(
      b, cIdx(0), nFull, cIdx(1), accInit,
      [&](OpBuilder &nb, Location nloc, Value t, ValueRange acc) {
        ImplicitLocOpBuilder ib(nloc, nb);
        Value row = arith::AddIOp::create(
            ib, arith::AddIOp::create(ib, jBegin, arith::MulIOp::create(ib, t, cIdx(B))), tid);
        gpu::BarrierOp::create(ib);
        loadTileRow(ib, row);
        gpu::BarrierOp::create(ib);
        SmallVector<Value> partial = tileSum(ib);
        scf::YieldOp::create(ib, addAll(ib, acc, partial));
      });
  SmallVector<Value> acc(fullLoop.getResults());

  // The last, partial tile (uniform branch: every thread of the block takes it or not).
  Value hasRem = arith::CmpIOp::create(b, arith::CmpIPredicate::sgt, rem, cIdx(0));
  SmallVector<Type> accTypes(R * outDim, f32);
  auto tailIf = scf::IfOp::create(b, accTypes, hasRem, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(tailIf.thenBlock());
    Value row = arith::AddIOp::create(
        b, arith::AddIOp::create(b, jBegin, arith::MulIOp::create(b, nFull, cIdx(B))), tid);
    gpu::BarrierOp::create(b);
    Value inRange = arith::CmpIOp::create(b, arith::CmpIPredicate::slt, tid, rem);
    scf::IfOp::create(b, inRange, [&](OpBuilder &nb, Location nloc) {
      ImplicitLocOpBuilder ib(nloc, nb);
      loadTileRow(ib, row);
      scf::YieldOp::create(ib);
    });
    gpu::BarrierOp::create(b);
    SmallVector<Value> partial = partialTileSum(b, rem);
    scf::YieldOp::create(b, addAll(b, acc, partial));
    b.setInsertionPointToStart(tailIf.elseBlock());
    scf::YieldOp::create(b, acc);
  }
  acc.assign(tailIf.getResults().begin(), tailIf.getResults().end());

  // The small kernel: the S slices' sums of a row meet in shared memory; slice 0 adds them up in
  // slice order (deterministic) and writes the row.
  Value writer = valid[0];
  if (S > 1) {
    Value sums = func.getWorkgroupAttributions()[1];
    for (int64_t c = 0; c < outDim; ++c) {
      Value at = arith::AddIOp::create(
          b, arith::MulIOp::create(b, tid, cIdx(outDim)), cIdx(c));
      memref::StoreOp::create(b, acc[c], sums, ValueRange{at});
    }
    gpu::BarrierOp::create(b);
    Value first = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, slice, cIdx(0));
    writer = arith::AndIOp::create(b, valid[0], first);
    for (int64_t c = 0; c < outDim; ++c) {
      Value total;
      for (int64_t q = 0; q < S; ++q) {
        Value at = arith::AddIOp::create(
            b, arith::MulIOp::create(b, arith::AddIOp::create(b, lane, cIdx(q * lanes)),
                                     cIdx(outDim)),
            cIdx(c));
        Value part = memref::LoadOp::create(b, sums, ValueRange{at});
        total = total ? arith::AddFOp::create(b, total, part).getResult() : part;
      }
      acc[c] = total;
    }
  }

  // Write the rows.
  for (int64_t r = 0; r < R; ++r) {
    scf::IfOp::create(b, r == 0 ? writer : valid[r], [&](OpBuilder &nb, Location nloc) {
      ImplicitLocOpBuilder ib(nloc, nb);
      for (int64_t c = 0; c < outDim; ++c) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(ib.getInsertionBlock(), ib.getInsertionPoint());
        Value p = gaddr(outPtr, rows[r], outDim, c);
        Value v = acc[r * outDim + c];
        if (splitJ)
          LLVM::AtomicRMWOp::create(b, LLVM::AtomicBinOp::fadd, p, v,
                                    LLVM::AtomicOrdering::monotonic);
        else
          LLVM::StoreOp::create(b, v, p);
      }
      scf::YieldOp::create(ib);
    });
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
    KernelConfig cfg{blockSize, rowsPerThread, unroll, fastMath};
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
