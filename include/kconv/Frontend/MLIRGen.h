//===- MLIRGen.h - a checked .kconv Module to kconv IR ----------*- C++ -*-===//
//
// Builds one kconv.reduction per ReductionDecl: no checking beyond what Sema did, except the IR
// verifier as a guard against a disagreement between Sema and the op verifiers.
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_FRONTEND_MLIRGEN_H
#define KCONV_FRONTEND_MLIRGEN_H

#include "kconv/Frontend/AST.h"
#include "kconv/Frontend/Diagnoser.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace kconv::frontend {

/// The module of a checked, error-free Module; null after an error.
mlir::OwningOpRef<mlir::ModuleOp> mlirGen(const Module &module, Diagnoser &diag);

} // namespace kconv::frontend

#endif // KCONV_FRONTEND_MLIRGEN_H
