//===- FormulaParser.h - .kconv formula files to kconv IR -------*- C++ -*-===//
//
// The formula-file frontend: a `.kconv` file (KeOps syntax, one statement per line) becomes a
// module of `kconv.reduction` ops. The language is described in docs/formula-language.md.
// Stages: Lexer.h (tokens), Parser.h (statements), Sema.h (checked Module, AST.h), MLIRGen.h.
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_FRONTEND_FORMULAPARSER_H
#define KCONV_FRONTEND_FORMULAPARSER_H

#include "kconv/Frontend/AST.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Support/LogicalResult.h"

namespace llvm {
class SourceMgr;
class raw_ostream;
} // namespace llvm

namespace mlir {
class MLIRContext;
} // namespace mlir

namespace kconv {

struct FrontendOptions {
  /// The element type of every formula (f32; the backends support only f32 today).
  frontend::ElementType elementType = frontend::ElementType::F32;
};

/// Parses the .kconv file held by sourceMgr's main buffer into a module of kconv.reduction ops.
/// Diagnostics go through the context's diagnostic engine at FileLineColLoc locations of the
/// file (install a SourceMgrDiagnosticHandler to print them as `file:line:col: error: ...` with
/// the source line and a caret). Returns null on any error.
///
/// Loads the kconv dialect into the context. Never crashes on malformed input: nesting depth,
/// formula depth, dimensions and literals are all bounded, and at most a fixed number of errors is
/// reported before giving up.
mlir::OwningOpRef<mlir::ModuleOp> parseFormulaFile(llvm::SourceMgr &sourceMgr,
                                                   mlir::MLIRContext *context,
                                                   const FrontendOptions &options = {});

/// Lexes, parses and checks the file like parseFormulaFile, then prints its checked AST
/// (frontend::dump) to `os` instead of building IR. Fails (after the diagnostics) on any error.
mlir::LogicalResult printFormulaAST(llvm::SourceMgr &sourceMgr, mlir::MLIRContext *context,
                                    llvm::raw_ostream &os, const FrontendOptions &options = {});

} // namespace kconv

#endif // KCONV_FRONTEND_FORMULAPARSER_H
