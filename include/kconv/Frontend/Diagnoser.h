//===- Diagnoser.h - the frontend's error collector -------------*- C++ -*-===//
//
// Collects the errors of all stages and emits them in file order (Sema sees declarations before
// formulas), through the context's diagnostic engine, at FileLineColLoc locations of the file.
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_FRONTEND_DIAGNOSER_H
#define KCONV_FRONTEND_DIAGNOSER_H

#include "kconv/Frontend/Lexer.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"

#include <deque>

namespace kconv::frontend {

constexpr unsigned kMaxErrors = 20; // then stop

class Diagnoser {
public:
  Diagnoser(mlir::MLIRContext *context, llvm::StringRef filename);
  ~Diagnoser() { flush(); }

  mlir::Location loc(const Token &tok) const;

  /// A new error at `tok`; stream the message into it, attach notes to it.
  mlir::Diagnostic &error(const Token &tok);

  /// True (after saying so, once) when enough errors have been reported.
  bool giveUp(const Token &where);

  /// Emits the collected errors, sorted by position.
  void flush();

  mlir::MLIRContext *context;
  mlir::StringAttr filename;
  unsigned errors = 0;
  bool gaveUp = false;

private:
  struct Pending {
    unsigned line, col;
    mlir::Diagnostic diagnostic;
  };
  std::deque<Pending> pending;
};

} // namespace kconv::frontend

#endif // KCONV_FRONTEND_DIAGNOSER_H
