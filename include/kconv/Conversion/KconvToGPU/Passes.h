//===- Passes.h - kconv → GPU conversion ------------------------*- C++ -*-===//
#ifndef KCONV_CONVERSION_KCONVTOGPU_PASSES_H
#define KCONV_CONVERSION_KCONVTOGPU_PASSES_H

#include "kconv/Dialect/Kconv/IR/KconvOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class ModuleOp;
namespace kconv {

#define GEN_PASS_DECL_CONVERTKCONVTOGPU
#define GEN_PASS_DECL_KCONVPLANGPUKERNELS
#define GEN_PASS_REGISTRATION
#include "kconv/Conversion/KconvToGPU/Passes.h.inc"

/// Attribute names the conversion puts on every generated gpu.func (read back by the GPU target to
/// fill the artifact's `gpu.*` metadata).
constexpr llvm::StringLiteral kReductionAttrName = "kconv.reduction";
constexpr llvm::StringLiteral kVariantAttrName = "kconv.variant"; // "plain" | "splitj" | "small"
constexpr llvm::StringLiteral kRowsPerBlockAttrName = "kconv.rows_per_block";
constexpr llvm::StringLiteral kBlockSizeAttrName = "kconv.block_size";
constexpr llvm::StringLiteral kRowsPerThreadAttrName = "kconv.rows_per_thread";
constexpr llvm::StringLiteral kTileRowsAttrName = "kconv.tile_rows";
constexpr llvm::StringLiteral kSharedBytesAttrName = "kconv.shared_bytes";
/// The kconv.reduction attribute kconv-plan-gpu-kernels sets (a #kconv.gpu_plan).
constexpr llvm::StringLiteral kGpuPlanAttrName = "kconv.gpu_plan";

/// Floats of one reduced row's shared-memory record: the reduced variables not read chunk by
/// chunk, padded to 1, 2 or a multiple of 4 (at least 1: a dummy record when there are none).
int64_t gpuTileRecordFloats(ReductionOp reduction);

} // namespace kconv
} // namespace mlir

#endif // KCONV_CONVERSION_KCONVTOGPU_PASSES_H
