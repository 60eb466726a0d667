//===- AST.cpp - the .kconv syntax tree: helpers and dump -----------------===//
//
// The dump (kconv-compile --emit=ast) is one line per node, indented by depth:
//   Module gaussian.kconv
//     Var 'X' Vi dim=3 @gaussian.kconv:1:1
//     Reduction 'f' Sum_Reduction axis=1 f32 args=[X, Y] @...   (KMin_Reduction k=3 ...)
//       mul dim=1 '*' @...
//         var 'X' dim=3 @...
// A formula node shows its kconv op, its dimension, its integer argument and the token it
// comes from; nodes Sema inserted are marked `implicit`. A weighted kind's weight g follows the
// formula under a `weight` line (`weight absent: 1` without g).
//
//===----------------------------------------------------------------------===//
#include "kconv/Frontend/AST.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

namespace kconv::frontend {

std::string VarDecl::spelling() const {
  std::string s = (name.text + " = " + head.text + "(").str();
  if (index)
    s += std::to_string(*index) + ", ";
  return s + std::to_string(dim) + ")";
}

namespace {

class Dumper {
public:
  Dumper(llvm::raw_ostream &os, llvm::StringRef filename) : os(os), filename(filename) {}

  void dump(const Module &module) {
    os << "Module " << module.filename << "\n";
    for (const auto &var : module.vars) {
      indent(1) << "Var " << quote(var->name.text) << " " << var->head.text;
      if (var->index)
        os << " index=" << *var->index;
      os << " dim=" << var->dim;
      loc(var->name);
    }
    for (const ReductionDecl &reduction : module.reductions) {
      // The kind by its KeOps name (an alias prints as the kind it names).
      const BuiltinReductionInfo &info = getReductionInfo(reduction.kind);
      indent(1) << "Reduction " << quote(reduction.name.text) << " " << info.keops;
      if (info.takesK)
        os << " k=" << reduction.k;
      os << " axis=" << reduction.axis << " " << abi::toString(reduction.elementType)
         << " args=[";
      llvm::interleave(
          reduction.vars, os, [&](const VarDecl *var) { os << var->name.text; }, ", ");
      os << "]";
      loc(reduction.name);
      tree(*reduction.formula, 2);
      if (info.weight == ReductionWeight::None)
        continue;
      indent(2) << "weight";
      if (!reduction.weight) {
        os << " absent: 1";
        loc(reduction.head);
        continue;
      }
      loc(reduction.weight->tok);
      tree(*reduction.weight, 3);
    }
  }

private:
  /// Depth-first with an explicit stack: the tree may be kMaxFormulaDepth levels deep.
  void tree(const Expr &root, unsigned rootDepth) {
    std::vector<std::pair<const Expr *, unsigned>> stack = {{&root, rootDepth}};
    while (!stack.empty()) {
      auto [e, depth] = stack.back();
      stack.pop_back();
      node(*e, depth);
      if (e->var || !e->builtin)
        continue;
      for (unsigned k = e->builtin->operands; k-- > 0;)
        stack.push_back({e->operands[k].get(), depth + 1});
    }
  }

  llvm::raw_ostream &indent(unsigned depth) {
    for (unsigned k = 0; k < depth; ++k)
      os << "  ";
    return os;
  }

  void loc(const Token &tok) {
    os << " @" << filename << ":" << tok.line << ":" << tok.col << "\n";
  }

  void node(const Expr &e, unsigned depth) {
    indent(depth);
    if (e.var) {
      os << "var " << quote(e.var->name.text) << " dim=" << e.dim;
      loc(e.tok);
      return;
    }
    if (!e.builtin) {
      os << "unchecked " << quote(e.tok.text);
      loc(e.tok);
      return;
    }
    os << e.builtin->mnemonic;
    switch (e.builtin->intArg) {
    case IntArg::None:
      break;
    case IntArg::PowExponent:
      os << " exponent=" << e.intAttr;
      break;
    case IntArg::ElemIndex:
      os << " index=" << e.intAttr;
      break;
    case IntArg::Value:
      os << " value=" << e.text; // as written: exact and stable
      break;
    }
    os << " dim=" << e.dim;
    if (e.implicit)
      os << " implicit";
    else
      os << " " << quote(e.tok.text);
    loc(e.tok);
  }

  llvm::raw_ostream &os;
  llvm::StringRef filename;
};

} // namespace

void dump(const Module &module, llvm::raw_ostream &os) { Dumper(os, module.filename).dump(module); }

} // namespace kconv::frontend
