//===- FormulaParser.h - .kconv formula files to kconv IR -------*- C++ -*-===//
//
// The formula-file frontend: a `.kconv` file (KeOps syntax, one statement per line) becomes a
// module of `kconv.reduction` ops. The language is described in docs/formula-language.md.
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_FRONTEND_FORMULAPARSER_H
#define KCONV_FRONTEND_FORMULAPARSER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace llvm {
class SourceMgr;
} // namespace llvm

namespace mlir {
class MLIRContext;
} // namespace mlir

namespace kconv {

/// Parses the .kconv file held by sourceMgr's main buffer into a module of kconv.reduction ops.
/// Diagnostics go through the context's diagnostic engine at FileLineColLoc locations of the
/// file (install a SourceMgrDiagnosticHandler to print them as `file:line:col: error: ...` with
/// the source line and a caret). Returns null on any error.
///
/// Loads the kconv dialect into the context. Never crashes on malformed input: nesting depth,
/// formula depth, dimensions and literals are all bounded, and at most a fixed number of errors is
/// reported before giving up.
mlir::OwningOpRef<mlir::ModuleOp> parseFormulaFile(llvm::SourceMgr &sourceMgr,
                                                   mlir::MLIRContext *context);

} // namespace kconv

#endif // KCONV_FRONTEND_FORMULAPARSER_H
