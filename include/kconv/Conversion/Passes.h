//===- Passes.h - kconv conversion passes -----------------------*- C++ -*-===//
#ifndef KCONV_CONVERSION_PASSES_H
#define KCONV_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::kconv {

#define GEN_PASS_DECL
#include "kconv/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kconv/Conversion/Passes.h.inc"

/// The kconv.reduction attribute kconv-plan-cpu-kernels sets (a #kconv.cpu_plan).
constexpr llvm::StringLiteral kCpuPlanAttrName = "kconv.cpu_plan";

} // namespace mlir::kconv

#endif // KCONV_CONVERSION_PASSES_H
