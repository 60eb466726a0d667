//===- Sema.h - names, functions, dimensions, types -------------*- C++ -*-===//
//
// Checks parsed statements and resolves them into a Module: each statement becomes a variable or
// a reduction (its kind from Builtins.def's reductions), each formula node a Builtins.def op or a
// variable with its dimension; literal arguments, the axis and the reductions' argument order are
// checked. Errors are located at the offending token; MLIRGen runs only on an error-free Module.
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_FRONTEND_SEMA_H
#define KCONV_FRONTEND_SEMA_H

#include "kconv/Frontend/AST.h"
#include "kconv/Frontend/Diagnoser.h"

#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/Twine.h"

namespace kconv::frontend {

struct SemaOptions {
  ElementType elementType = ElementType::F32;
};

class Sema {
public:
  Sema(Diagnoser &diag, const SemaOptions &options) : diag(diag), options(options) {}

  /// Checks module.statements and fills module.vars and module.reductions (complete only when
  /// no error was reported).
  void run(Module &module);

private:
  using UsedVars = llvm::SetVector<const VarDecl *>;

  /// A top-level name: a variable, a reduction, or a name whose definition had an error (uses of
  /// it are then not reported again).
  struct Symbol {
    const VarDecl *var = nullptr;
    Token definition;
  };

  // Statements.
  void define(Statement &statement);
  std::optional<int64_t> integerArgument(const Expr &arg, const llvm::Twine &what);
  bool rejectKeywords(const Expr &call);
  bool checkArity(const Expr &call, size_t expected, llvm::StringRef form);
  const VarDecl *declareVariable(Statement &statement);
  void declareReduction(Statement &statement, const BuiltinReductionInfo &info);
  std::optional<int64_t> axisArgument(const Expr &arg, bool keyword,
                                      const BuiltinReductionInfo &info, llvm::StringRef head);
  bool checkReductionDims(const ReductionDecl &reduction);

  // Formulas.
  bool checkConstant(Expr &e, double value, const Token &tok);
  bool checkFormula(Expr &e, UsedVars &used);
  bool checkOperands(Expr &e, UsedVars &used);
  bool checkName(Expr &e, UsedVars &used);
  bool checkBinary(Expr &e, UsedVars &used);
  bool checkBroadcast(Expr &e, llvm::StringRef what, int64_t resultDim);
  bool checkScalprod(Expr &e, llvm::StringRef what);
  bool checkPower(Expr &e, UsedVars &used);
  bool checkCall(Expr &e, UsedVars &used);

  // Argument order.
  void orderVariables(ReductionDecl &reduction, const UsedVars &used);

  Diagnoser &diag;
  SemaOptions options;
  Module *module = nullptr;
  unsigned numReductionStatements = 0;
  llvm::StringMap<Symbol> symbols;
  llvm::StringSet<> reductionNames;
};

} // namespace kconv::frontend

#endif // KCONV_FRONTEND_SEMA_H
