//===- Diagnoser.cpp - the frontend's error collector ---------------------===//
#include "kconv/Frontend/Diagnoser.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;

namespace kconv::frontend {

Diagnoser::Diagnoser(MLIRContext *context, llvm::StringRef filename)
    : context(context), filename(StringAttr::get(context, filename)) {}

Location Diagnoser::loc(const Token &tok) const {
  return FileLineColLoc::get(filename, tok.line, tok.col);
}

Diagnostic &Diagnoser::error(const Token &tok) {
  ++errors;
  pending.push_back({tok.line, tok.col, Diagnostic(loc(tok), DiagnosticSeverity::Error)});
  return pending.back().diagnostic;
}

bool Diagnoser::giveUp(const Token &where) {
  if (errors < kMaxErrors)
    return false;
  if (!gaveUp) {
    flush();
    mlir::emitError(loc(where)) << "too many errors (" << errors << "), stopping here";
  }
  gaveUp = true;
  return true;
}

void Diagnoser::flush() {
  std::vector<Pending *> order;
  for (Pending &p : pending)
    order.push_back(&p);
  llvm::stable_sort(order, [](const Pending *a, const Pending *b) {
    return std::make_pair(a->line, a->col) < std::make_pair(b->line, b->col);
  });
  for (Pending *p : order)
    context->getDiagEngine().emit(std::move(p->diagnostic));
  pending.clear();
}

} // namespace kconv::frontend
