//===- PlanCpuKernels.cpp - kconv-plan-cpu-kernels ------------------------===//
//
// Chooses the CPU kernel's vector lanes, register rows and reduced-row block of one reduction
// and records them as a #kconv.cpu_plan attribute: convert-kconv-to-cpu builds what it says, and
// kconv-compile writes the metadata's cpu.lanes / cpu.jblock from it (one place decides).
//
//===----------------------------------------------------------------------===//
#include "kconv/ABI/KernelABI.h"
#include "kconv/Conversion/Combiner/Combiner.h"
#include "kconv/Conversion/Passes.h"
#include "kconv/Dialect/Kconv/IR/KconvDialect.h"
#include "kconv/Dialect/Kconv/IR/KconvOps.h"

namespace mlir::kconv {
#define GEN_PASS_DEF_KCONVPLANCPUKERNELS
#include "kconv/Conversion/Passes.h.inc"
} // namespace mlir::kconv

using namespace mlir;
using namespace mlir::kconv;

namespace {

struct KconvPlanCpuKernelsPass
    : mlir::kconv::impl::KconvPlanCpuKernelsBase<KconvPlanCpuKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    ReductionOp reduction = getOperation();
    if (reduction->hasAttr(kCpuPlanAttrName))
      return; // planned already (kconv-compile plans before writing the metadata)
    if (lanes < 1 || lanes > ::kconv::abi::kMaxCpuLanes || (lanes & (lanes - 1)) != 0) {
      reduction.emitOpError("kconv-plan-cpu-kernels: lanes must be a power of two up to ")
          << ::kconv::abi::kMaxCpuLanes << ", got " << int64_t(lanes);
      return signalPassFailure();
    }
    if (rows < 1 || jblock < 1) {
      reduction.emitOpError("kconv-plan-cpu-kernels: rows and jblock must be positive, got ")
          << int64_t(rows) << " and " << int64_t(jblock);
      return signalPassFailure();
    }
    auto chunkMap = reduction.getYield().getValue().getDefiningOp<ChunkMapOp>();
    std::unique_ptr<Combiner> combiner = chunkMap
                                             ? Combiner::get(reduction, int64_t(chunkMap.getChunk()))
                                             : Combiner::get(reduction);
    // Register rows per block: keep R states within a third of the 32 registers.
    const int64_t registerRows =
        std::max<int64_t>(1, std::min<int64_t>(rows, 12 / int64_t(combiner->numSlots())));
    // The reduced variables' floats per row decide how many rows a cache block holds.
    int64_t reducedFloats = 0;
    for (VariableAttr var : reduction.getVariableAttrs())
      if (var.getCategory() != reduction.getOutputCategory() && var.getCategory() != VarCategory::Pm)
        reducedFloats += var.getDim();
    const int64_t rounded = std::max<int64_t>(lanes, (jblock + lanes - 1) / lanes * lanes);
    const int64_t block = ::kconv::abi::cpuJBlockFor(rounded, lanes, reducedFloats);
    reduction->setAttr(kCpuPlanAttrName,
                       CpuPlanAttr::get(reduction.getContext(), lanes, registerRows, block));
  }
};

} // namespace
