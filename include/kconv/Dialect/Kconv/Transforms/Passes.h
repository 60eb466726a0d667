//===- Passes.h - kconv dialect passes --------------------------*- C++ -*-===//
#ifndef KCONV_DIALECT_KCONV_TRANSFORMS_PASSES_H
#define KCONV_DIALECT_KCONV_TRANSFORMS_PASSES_H

#include "kconv/Dialect/Kconv/IR/KconvOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::kconv {

#define GEN_PASS_DECL
#include "kconv/Dialect/Kconv/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kconv/Dialect/Kconv/Transforms/Passes.h.inc"

} // namespace mlir::kconv

#endif // KCONV_DIALECT_KCONV_TRANSFORMS_PASSES_H
