//===- AST.h - the .kconv syntax tree and its checked declarations -*- C++ -*-===//
//
// The parser builds Statements (NAME = expression) of Expr nodes; Sema annotates each Expr with
// what it means (a Builtins.def op or a variable, its dimension, its integer argument) and turns
// the statements into VarDecls and ReductionDecls (a Module); MLIRGen builds IR from that. dump()
// prints a checked Module (kconv-compile --emit=ast).
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_FRONTEND_AST_H
#define KCONV_FRONTEND_AST_H

#include "kconv/ABI/Builtins.h"
#include "kconv/ABI/KernelABI.h"
#include "kconv/Frontend/Lexer.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace kconv::frontend {

/// The element type of a file's formulas (f32 today; the dialect also has f16 and f64).
/// The formula's element type: the ABI's (metadata `dtype`, element sizes).
using ElementType = abi::ElementType;

enum class VarCategory { Vi, Vj, Pm };

struct VarDecl;

struct Expr {
  enum class Kind { Number, Name, Neg, Binary, Power, Scalprod, Call };
  Kind kind;
  /// Where diagnostics about this node point: the literal, the name, the operator ('-', '+', '**',
  /// '|'), or the function name of a call.
  Token tok;
  /// Neg: 1; Binary, Power (base, exponent), Scalprod: 2; Call: its arguments.
  std::vector<std::unique_ptr<Expr>> operands;
  /// Call: per argument, the `keyword` of `keyword=value`, or null.
  std::vector<std::optional<Token>> keywords;
  /// Number: its value; `integer` when the literal has no '.' or exponent and fits in int64.
  /// `text` is the literal as written (with a folded leading '-').
  bool isIntegerLiteral = false;
  std::optional<int64_t> integer;
  double value = 0;
  llvm::StringRef text;
  unsigned depth = 1;

  // Set by Sema: a variable, or one op of Builtins.def whose formula operands are the first
  // `builtin->operands` operands (the others are literal arguments: a '**' exponent, Pow's n,
  // Elem's k, IntCst's n).
  const BuiltinInfo *builtin = nullptr;
  const VarDecl *var = nullptr;
  int64_t dim = 0;
  int64_t intAttr = 0; // Pow exponent, Elem index
  /// Inserted by Sema (the Sum of KeOps' (a | x) = a * Sum(x) when dim(a) = 1).
  bool implicit = false;

  Expr(Kind kind, Token tok) : kind(kind), tok(tok) {}
};

struct Statement {
  Token name;
  std::unique_ptr<Expr> rhs; // null when the line had a syntax error after `NAME =`
};

struct VarDecl {
  Token name;
  Token head; // Vi, Vj or Pm
  VarCategory category = VarCategory::Vi;
  int64_t dim = 1;
  std::optional<int64_t> index; // Vi(index, dim)
  unsigned order = 0;           // declaration order
  /// As declared, e.g. "X = Vi(0, 3)".
  std::string spelling() const;
};

struct ReductionDecl {
  Token name;
  Token head; // Sum_Reduction, KMin_Reduction, ... (or an alias)
  BuiltinReduction kind = BuiltinReduction::Sum;
  ElementType elementType = ElementType::F32;
  Expr *formula = nullptr;
  /// The weight g of a kind that takes one (LogSumExp_Reduction(f, t, g)); null when absent.
  Expr *weight = nullptr;
  /// K of the kinds that take it (KMin_Reduction(f, K, t)), else 0.
  int64_t k = 0;
  int64_t axis = 1;
  std::vector<const VarDecl *> vars; // in argument order
};

/// A checked file: what MLIRGen turns into kconv.reduction ops.
struct Module {
  std::string filename;
  std::vector<Statement> statements; // owns the expressions
  std::vector<std::unique_ptr<VarDecl>> vars;
  std::vector<ReductionDecl> reductions;
};

/// Prints a checked module as an indented tree, one node per line with its location.
void dump(const Module &module, llvm::raw_ostream &os);

} // namespace kconv::frontend

#endif // KCONV_FRONTEND_AST_H
