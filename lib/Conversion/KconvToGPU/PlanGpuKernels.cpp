//===- PlanGpuKernels.cpp - kconv-plan-gpu-kernels: the GPU cost model ----===//
//
// Chooses how convert-kconv-to-gpu tiles one reduction (threads per block, rows per thread,
// unroll factors, the small kernel) from the formula's per-pair cost and the registers a row
// needs, and records the choice as a #kconv.gpu_plan attribute on the reduction: the conversion
// builds exactly what the plan says, and lit can check the plan on its own.
//
//===----------------------------------------------------------------------===//
#include "kconv/Conversion/Combiner/Combiner.h"
#include "kconv/Conversion/KconvToGPU/Passes.h"
#include "kconv/Dialect/Kconv/IR/KconvDialect.h"
#include "kconv/Dialect/Kconv/IR/KconvOps.h"

#include "llvm/Support/MathExtras.h"

namespace mlir::kconv {
#define GEN_PASS_DEF_KCONVPLANGPUKERNELS
#include "kconv/Conversion/KconvToGPU/Passes.h.inc"
} // namespace mlir::kconv

using namespace mlir;
using namespace mlir::kconv;

namespace {

/// The per-pair code of a formula in scalar instructions (accurate transcendentals are inline
/// sequences of ~10-40). A chunk_sum is a loop: its body counts once.
int64_t estimatePairCost(Block &block, bool fastMath) {
  int64_t cost = 0;
  for (Operation &op : block.without_terminator()) {
    if (isa<ChunkSumOp, ChunkMapOp>(op)) {
      cost += estimatePairCost(op.getRegion(0).front(), fastMath);
      continue;
    }
    int64_t width = 1;
    for (Value v : op.getOperands())
      width = std::max(width, getFormulaDim(v.getType()));
    for (Value v : op.getResults())
      width = std::max(width, getFormulaDim(v.getType()));
    int64_t weight = 1;
    if (isa<ExpOp, Exp2Op, LogOp>(op))
      weight = fastMath ? 2 : 24;
    else if (isa<SqrtOp, RsqrtOp, InvOp, DivOp, Norm2Op>(op))
      weight = fastMath ? 2 : 10;
    else if (auto pow = dyn_cast<PowOp>(op))
      weight = 2 + 2 * llvm::Log2_64_Ceil(std::abs(static_cast<int64_t>(pow.getExponent())) + 1);
    cost += width * weight;
  }
  return cost;
}

/// The static shared memory a kernel may use without opting in.
constexpr int64_t kSharedLimit = 48 * 1024;
/// With chunk_sums, the R·U pairs of a step share one chunk loop whose R·U sums and chunks of the
/// rows' and records' variables are all live: at most this many pairs per step (64 with chunks of
/// 2: the most pairs per load without spills).
constexpr unsigned kChunkContexts = 64;

struct KconvPlanGpuKernelsPass
    : mlir::kconv::impl::KconvPlanGpuKernelsBase<KconvPlanGpuKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    ReductionOp red = getOperation();
    if (failed(plan(red)))
      signalPassFailure();
  }

  LogicalResult plan(ReductionOp red) {
    Block &body = red.getBody().front();
    unsigned block = blockSize, rows = rowsPerThread, unrollMain = unroll;
    if (block % 32 || block == 0 || block > 1024)
      return red.emitOpError("block-size must be a multiple of 32 in [32, 1024], got ") << block;
    auto chunkMap = red.getYield().getValue().getDefiningOp<ChunkMapOp>();
    std::unique_ptr<Combiner> combiner =
        chunkMap ? Combiner::get(red, int64_t(chunkMap.getChunk())) : Combiner::get(red);
    // Cheap formulas get R = 4 rows per thread (one shared-memory load serves 4 pairs) and 16
    // pairs unrolled; expensive ones fewer, so that the loop body (U·R formula copies) stays near
    // 1-2K instructions and the registers (R copies of the output-category values, partials and
    // accumulators) fit. Per row: the state, and a tile partial unless the kind combines exactly.
    int64_t rowRegs = int64_t(combiner->numSlots()) * (combiner->combinesExactly() ? 1 : 2);
    for (auto [k, var] : llvm::enumerate(red.getVariableAttrs()))
      if (var.getCategory() == red.getOutputCategory() && !isReadByChunksOnly(body.getArgument(k)))
        rowRegs += var.getDim();
    const int64_t cost = estimatePairCost(body, fastMath);
    if (rows == 0) {
      rows = (cost <= 64 && rowRegs <= 16) ? 4 : (cost <= 256 && rowRegs <= 32) ? 2 : 1;
      // A kind that combines batches keeps every row's batch live until its test: 2 rows (H200,
      // LogSumExp at 10^6: 354 ms with 2 rows and batches of 8, 386 ms with 4 rows and 4).
      if (rows > 2 && combiner->preferredBatch(rows) > 1)
        rows = 2;
    }
    const bool chunked = !body.getOps<ChunkSumOp>().empty();
    auto autoUnroll = [&](unsigned r) {
      unsigned u = 16;
      while (u > 1 && (u * r * cost > 1024 || (chunked && u * r > kChunkContexts)))
        u /= 2;
      return u;
    };
    if (unrollMain == 0)
      unrollMain = autoUnroll(rows);
    if (block % unrollMain)
      return red.emitOpError("unroll must divide block-size");
    if (rows > 8)
      return red.emitOpError("rows-per-thread must be in [1, 8]");
    // Wide records: fewer rows per tile (and threads per block, a multiple of 32) until the tile
    // fits in 48 KiB of static shared memory.
    const int64_t recordBytes = gpuTileRecordFloats(red) * 4;
    if (recordBytes * block > kSharedLimit) {
      int64_t fitting = kSharedLimit / recordBytes / 32 * 32;
      if (fitting < 32)
        return red.emitOpError("the reduced variables need ")
               << recordBytes / 4 << " floats per row: even a 32-row shared-memory tile ("
               << 32 * recordBytes
               << " bytes) exceeds 48 KiB; wide variables are read chunk by chunk only by "
                  "component sums and elementwise outputs of them (kconv-chunk-dimensions), not "
                  "through Elem or Concat (kconv-compile --no-gpu builds the CPU code alone)";
      block = unsigned(fitting);
    }
    const unsigned rowUnroll = std::min(autoUnroll(1), block);
    // The small kernel: S = 8 slices of the reduced range (32 rows per block of 256 threads),
    // when its merge buffer (B states of 4-byte slots) fits beside the tile.
    unsigned smallSlices = 1, smallUnroll = 1;
    const int64_t sharedBytes = recordBytes * block;
    if (block % 8 == 0 && block / 8 >= 32 &&
        sharedBytes + int64_t(block) * int64_t(combiner->numSlots()) * 4 <= kSharedLimit) {
      smallSlices = 8;
      while (smallUnroll < rowUnroll && block / smallSlices % (smallUnroll * 2) == 0)
        smallUnroll *= 2;
    }
    red->setAttr(kGpuPlanAttrName,
                 GpuPlanAttr::get(red.getContext(), block, rows, unrollMain, rowUnroll,
                                  smallSlices, smallUnroll, cost));
    return success();
  }
};

} // namespace
