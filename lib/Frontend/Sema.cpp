//===- Sema.cpp - names, functions, dimensions, types ---------------------===//
#include "kconv/Frontend/Sema.h"

#include "llvm/ADT/STLExtras.h"

#include <cfloat>
#include <cmath>

using namespace mlir;
using llvm::StringRef;
using llvm::Twine;

namespace kconv::frontend {
namespace {

/// The closest candidate (ties: the first) within edit distance min(2, (length + 2) / 3) of
/// `name`, and shorter than `name`, or empty: 'Exq' -> 'Exp', 'Vk' -> 'Vi', 'Sum_Reductoin' ->
/// 'Sum_Reduction', but 'Foo' or 'Z' -> nothing.
template <typename Range> StringRef closest(StringRef name, const Range &candidates) {
  unsigned limit =
      std::min<size_t>({2, (name.size() + 2) / 3, name.size() - std::min<size_t>(name.size(), 1)});
  StringRef best;
  unsigned bestDistance = limit + 1;
  for (StringRef candidate : candidates) {
    unsigned distance = name.edit_distance(candidate, /*AllowReplacements=*/true, limit + 1);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/// Table entries (std::string_view) as StringRefs, to compare with the StringRefs of tokens.
template <typename Range> std::vector<StringRef> names(const Range &range) {
  return std::vector<StringRef>(std::begin(range), std::end(range));
}

const BuiltinReductionInfo *lookupReduction(StringRef name) {
  return lookupReductionByKeOpsName(std::string_view(name.data(), name.size()));
}

/// The KeOps names of the reductions and their aliases.
std::vector<StringRef> reductionHeads() {
  std::vector<StringRef> heads;
  for (const BuiltinReductionInfo &reduction : kReductions)
    heads.push_back(reduction.keops);
  for (const ReductionAlias &alias : kReductionAliases)
    heads.push_back(alias.keops);
  return heads;
}

/// The call a message shows for `head`: "KMin_Reduction(formula, K, axis=1)".
std::string callForm(const BuiltinReductionInfo &info, StringRef head) {
  std::string s = (head + "(formula, ").str();
  if (info.takesK)
    s += "K, ";
  if (info.weight == ReductionWeight::Required)
    s += "weight, ";
  return s + "axis=1)";
}

bool isVariableHead(StringRef name) { return name == "Vi" || name == "Vj" || name == "Pm"; }

/// Names a formula file cannot define: the functions, the variable heads, the reductions.
bool isReservedName(StringRef name) {
  return lookupBuiltinByKeOpsName(name) || isVariableHead(name) || lookupReduction(name);
}

} // namespace

void Sema::run(Module &m) {
  module = &m;
  // Definitions first, so that a formula may use a variable declared further down.
  for (Statement &statement : m.statements) {
    if (diag.giveUp(statement.name))
      return;
    define(statement);
  }
  for (ReductionDecl &reduction : m.reductions) {
    if (diag.giveUp(reduction.name))
      return;
    UsedVars used;
    if (!checkFormula(*reduction.formula, used) ||
        (reduction.weight && !checkFormula(*reduction.weight, used)) ||
        !checkReductionDims(reduction))
      continue;
    orderVariables(reduction, used);
  }
  if (diag.errors == 0 && numReductionStatements == 0) {
    Token start;
    diag.error(start) << "no reduction defined: a formula file needs at least one "
                         "'NAME = Sum_Reduction(formula, axis=1)'";
  }
}

//===-- statements ------------------------------------------------------===//

void Sema::define(Statement &statement) {
  StringRef name = statement.name.text;
  if (statement.rhs && statement.rhs->kind == Expr::Kind::Call &&
      statement.rhs->tok.text.ends_with("_Reduction"))
    ++numReductionStatements;
  if (isReservedName(name)) {
    diag.error(statement.name) << "redefinition of " << quote(name)
                               << ", a built-in name of the formula language";
    return;
  }
  auto [it, inserted] = symbols.try_emplace(name, Symbol{nullptr, statement.name});
  if (!inserted) {
    Diagnostic &diagnostic = diag.error(statement.name) << "redefinition of " << quote(name);
    diagnostic.attachNote(diag.loc(it->second.definition))
        << "previous definition of " << quote(name) << " is here";
    return;
  }
  if (!statement.rhs)
    return; // syntax error already reported; the name stays defined, with an error
  Symbol &symbol = it->second;
  Expr &rhs = *statement.rhs;
  if (rhs.kind != Expr::Kind::Call) {
    diag.error(rhs.tok) << "expected a variable (Vi(dim), Vj(dim), Pm(dim)) or a reduction "
                           "(Sum_Reduction(formula, axis=1)) after '"
                        << name << " ='";
    return;
  }
  StringRef head = rhs.tok.text;
  if (isVariableHead(head)) {
    symbol.var = declareVariable(statement);
    return;
  }
  if (const BuiltinReductionInfo *reduction = lookupReduction(head)) {
    declareReduction(statement, *reduction);
    return;
  }
  if (llvm::is_contained(names(kUnsupportedKeOpsReductions), head)) {
    diag.error(rhs.tok) << "reduction " << quote(head) << " is not supported yet";
    return;
  }
  if (head.ends_with("_Reduction")) {
    Diagnostic &diagnostic = diag.error(rhs.tok) << "unknown reduction " << quote(head);
    if (StringRef suggestion = closest(head, reductionHeads()); !suggestion.empty())
      diagnostic << "; did you mean '" << suggestion << "'?";
    return;
  }
  if (lookupBuiltinByKeOpsName(head)) {
    diag.error(rhs.tok) << "a statement defines a variable or a reduction, not a named formula: "
                           "write "
                        << head << "(...) inside Sum_Reduction(formula, axis=1)";
    return;
  }
  std::vector<StringRef> heads = reductionHeads();
  heads.insert(heads.begin(), {"Vi", "Vj", "Pm"});
  Diagnostic &diagnostic = diag.error(rhs.tok) << "unknown function " << quote(head);
  if (StringRef suggestion = closest(head, heads); !suggestion.empty())
    diagnostic << "; did you mean '" << suggestion << "'?";
  else
    diagnostic << "; a statement is NAME = Vi(dim), Vj(dim), Pm(dim) or "
                  "Sum_Reduction(formula, axis=1)";
}

/// The value of an integer-literal argument; an error (and nullopt) otherwise.
std::optional<int64_t> Sema::integerArgument(const Expr &arg, const Twine &what) {
  if (arg.kind != Expr::Kind::Number || !arg.isIntegerLiteral) {
    diag.error(arg.tok) << what << " must be an integer literal";
    return std::nullopt;
  }
  if (!arg.integer) {
    diag.error(arg.tok) << "integer " << quote(arg.text) << " is out of range";
    return std::nullopt;
  }
  return arg.integer;
}

bool Sema::rejectKeywords(const Expr &call) {
  for (const std::optional<Token> &keyword : call.keywords) {
    if (keyword) {
      diag.error(*keyword) << "unexpected keyword argument " << quote(keyword->text) << " in "
                           << quote(call.tok.text);
      return true;
    }
  }
  return false;
}

bool Sema::checkArity(const Expr &call, size_t expected, StringRef form) {
  if (call.operands.size() == expected)
    return true;
  diag.error(call.tok) << "wrong number of arguments for " << quote(call.tok.text) << ": expected "
                       << expected << " (" << form << "), got " << call.operands.size();
  return false;
}

const VarDecl *Sema::declareVariable(Statement &statement) {
  Expr &rhs = *statement.rhs;
  StringRef head = rhs.tok.text;
  if (rejectKeywords(rhs))
    return nullptr;
  size_t numArgs = rhs.operands.size();
  if (numArgs != 1 && numArgs != 2) {
    diag.error(rhs.tok) << "wrong number of arguments for '" << head << "': expected 1 (" << head
                        << "(dim)) or 2 (" << head << "(index, dim)), got " << numArgs;
    return nullptr;
  }
  auto decl = std::make_unique<VarDecl>();
  decl->name = statement.name;
  decl->head = rhs.tok;
  decl->category = head == "Vi"   ? VarCategory::Vi
                   : head == "Vj" ? VarCategory::Vj
                                  : VarCategory::Pm;
  decl->order = static_cast<unsigned>(module->vars.size());
  const Expr &dimArg = *rhs.operands.back();
  if (numArgs == 2) {
    const Expr &indexArg = *rhs.operands.front();
    std::optional<int64_t> index =
        integerArgument(indexArg, "the index in " + head + "(index, dim)");
    if (!index)
      return nullptr;
    if (*index < 0) {
      diag.error(indexArg.tok) << "index of variable " << quote(statement.name.text)
                               << " must be non-negative, got " << *index;
      return nullptr;
    }
    decl->index = index;
  }
  std::optional<int64_t> dim =
      integerArgument(dimArg, numArgs == 2 ? "the dimension in " + head + "(index, dim)"
                                           : "the dimension in " + head + "(dim)");
  if (!dim)
    return nullptr;
  if (*dim < 1 || *dim > kMaxFormulaDim) {
    diag.error(dimArg.tok) << "dimension of variable " << quote(statement.name.text)
                           << " must be between 1 and " << kMaxFormulaDim << ", got " << *dim;
    return nullptr;
  }
  decl->dim = *dim;
  module->vars.push_back(std::move(decl));
  return module->vars.back().get();
}

/// "sum" for Sum_Reduction (its messages predate the other kinds), "reduce" otherwise.
static StringRef verb(const BuiltinReductionInfo &info) {
  return info.kind == BuiltinReduction::Sum ? "sum" : "reduce";
}

std::optional<int64_t> Sema::axisArgument(const Expr &arg, bool keyword,
                                          const BuiltinReductionInfo &info, StringRef head) {
  if (arg.kind == Expr::Kind::Number && arg.integer && (*arg.integer == 0 || *arg.integer == 1))
    // KeOps' positional argument is the category of the output (0: i, 1: j), i.e. 1 - axis, as
    // in pykeops' Genred: reduction + "_Reduction(" + formula + "," + str((axis + 1) % 2) + ")".
    return keyword ? *arg.integer : 1 - *arg.integer;
  Diagnostic &diagnostic = diag.error(arg.tok);
  if (arg.kind == Expr::Kind::Number)
    diagnostic << "bad axis value " << quote(arg.text) << ": ";
  else
    diagnostic << "bad axis value: ";
  StringRef v = verb(info);
  if (keyword)
    diagnostic << "axis must be 0 (" << v << " over i, one output row per j) or 1 (" << v
               << " over j, one output row per i)";
  else
    diagnostic << "the KeOps positional form " << head << "(formula, "
               << (info.takesK ? "K, " : "") << "t) takes t = 0 (" << v
               << " over j, same as axis=1) or t = 1 (" << v << " over i, same as axis=0)";
  return std::nullopt;
}

void Sema::declareReduction(Statement &statement, const BuiltinReductionInfo &info) {
  Expr &rhs = *statement.rhs;
  StringRef head = rhs.tok.text;
  std::vector<Expr *> positional;
  Expr *axisArg = nullptr, *kArg = nullptr;
  std::vector<StringRef> keywords = {"axis"};
  if (info.takesK)
    keywords.push_back("K");
  for (auto [arg, keyword] : llvm::zip(rhs.operands, rhs.keywords)) {
    if (!keyword) {
      positional.push_back(arg.get());
      continue;
    }
    Expr **slot = keyword->text == "axis"                 ? &axisArg
                  : info.takesK && keyword->text == "K" ? &kArg
                                                          : nullptr;
    if (!slot) {
      Diagnostic &diagnostic = diag.error(*keyword)
                               << "unknown keyword argument " << quote(keyword->text) << " in "
                               << quote(head);
      StringRef suggestion = closest(keyword->text, keywords);
      for (StringRef candidate : keywords) // 'k' is too short for an edit-distance suggestion
        if (candidate.equals_insensitive(keyword->text))
          suggestion = candidate;
      if (!suggestion.empty())
        diagnostic << "; did you mean '" << suggestion << "'?";
      else if (keyword->text.equals_insensitive("K"))
        diagnostic << "; " << quote(head) << " takes no K";
      return;
    }
    if (*slot) {
      diag.error(*keyword) << keyword->text << " given twice in " << quote(head);
      return;
    }
    *slot = arg.get();
  }
  const bool keywordAxis = axisArg != nullptr;
  // After the formula, positionally: K (unless K=), t (unless axis=), then the weight.
  const size_t fixed = size_t(info.takesK && !kArg) + size_t(!keywordAxis);
  const size_t maxWeights = info.weight == ReductionWeight::None ? 0 : 1;
  if (positional.empty() || positional.size() - 1 > fixed + maxWeights) {
    size_t base = 2 + size_t(info.takesK);
    Diagnostic &diagnostic = diag.error(rhs.tok) << "wrong number of arguments for " << quote(head)
                                                 << ": expected ";
    std::string form = info.takesK ? "formula, K, " : "formula, ";
    switch (info.weight) {
    case ReductionWeight::None:
      diagnostic << base << " (" << form << "axis=0 or 1)";
      break;
    case ReductionWeight::Optional:
      diagnostic << base << " or " << base + 1 << " (" << form << "[weight, ]axis=0 or 1)";
      break;
    case ReductionWeight::Required:
      diagnostic << base + 1 << " (" << form << "weight, axis=0 or 1)";
      break;
    }
    diagnostic << ", got " << rhs.operands.size();
    return;
  }
  size_t next = 1;
  auto take = [&]() -> Expr * { return next < positional.size() ? positional[next++] : nullptr; };
  if (info.takesK && !kArg)
    kArg = take();
  if (!keywordAxis)
    axisArg = take();
  Expr *weight = maxWeights ? take() : nullptr;
  if (info.takesK && !kArg) {
    diag.error(rhs.tok) << "missing K: write " << callForm(info, head)
                        << " with an integer literal K from 1 to " << kMaxReductionK;
    return;
  }
  if (!axisArg) {
    StringRef v = verb(info);
    diag.error(rhs.tok) << "missing axis: write " << callForm(info, head) << " to " << v
                        << " over j (one output row per i) or axis=0 to " << v
                        << " over i (one output row per j)";
    return;
  }
  if (info.weight == ReductionWeight::Required && !weight) {
    diag.error(rhs.tok) << "missing weight: " << quote(head)
                        << " computes Sum_j exp(f) * g / Sum_j exp(f); write "
                        << callForm(info, head);
    return;
  }
  std::optional<int64_t> axis = axisArgument(*axisArg, keywordAxis, info, head);
  if (!axis)
    return;
  int64_t k = 0;
  if (info.takesK) {
    if (kArg->kind != Expr::Kind::Number || !kArg->isIntegerLiteral) {
      diag.error(kArg->tok) << "K of " << quote(head) << " must be an integer literal";
      return;
    }
    if (!kArg->integer || *kArg->integer < 1 || *kArg->integer > kMaxReductionK) {
      diag.error(kArg->tok) << "K of " << quote(head) << " must be between 1 and "
                            << kMaxReductionK << ", got " << kArg->text;
      return;
    }
    k = *kArg->integer;
  }

  ReductionDecl reduction;
  reduction.name = statement.name;
  reduction.head = rhs.tok;
  reduction.kind = info.kind;
  reduction.elementType = options.elementType;
  reduction.formula = positional[0];
  reduction.weight = weight;
  reduction.k = k;
  reduction.axis = *axis;
  module->reductions.push_back(std::move(reduction));
  reductionNames.insert(statement.name.text);
}

/// The weighted kinds reduce Concat(f, g): f has one component, and so must fit with g.
bool Sema::checkReductionDims(const ReductionDecl &reduction) {
  const BuiltinReductionInfo &info = getReductionInfo(reduction.kind);
  if (info.weight == ReductionWeight::None)
    return true;
  StringRef head = reduction.head.text;
  if (reduction.formula->dim != 1) {
    diag.error(reduction.formula->tok)
        << "the formula of " << quote(head) << " must have dimension 1, got "
        << reduction.formula->dim << " (the weight gives the output its dimension: "
        << head << "(formula, weight, axis=1))";
    return false;
  }
  if (reduction.weight && reduction.weight->dim + 1 > kMaxFormulaDim) {
    diag.error(reduction.weight->tok)
        << "the weight of " << quote(head) << " has dimension " << reduction.weight->dim
        << ": with the formula's component it exceeds the limit " << kMaxFormulaDim;
    return false;
  }
  return true;
}

//===-- formulas --------------------------------------------------------===//

bool Sema::checkConstant(Expr &e, double value, const Token &tok) {
  double max = options.elementType == ElementType::F16   ? 65504.0
               : options.elementType == ElementType::F32 ? static_cast<double>(FLT_MAX)
                                                         : DBL_MAX;
  if (!std::isfinite(value) || std::fabs(value) > max) {
    diag.error(tok) << "number " << quote(e.text) << " is out of range for "
                    << abi::toString(options.elementType);
    return false;
  }
  e.builtin = &getBuiltinInfo(BuiltinOp::Constant);
  e.value = value;
  e.dim = 1;
  return true;
}

bool Sema::checkFormula(Expr &e, UsedVars &used) {
  switch (e.kind) {
  case Expr::Kind::Number:
    return checkConstant(e, e.value, e.tok);
  case Expr::Kind::Name:
    return checkName(e, used);
  case Expr::Kind::Neg:
    if (!checkFormula(*e.operands[0], used))
      return false;
    e.builtin = &getBuiltinInfo(BuiltinOp::Neg);
    e.dim = e.operands[0]->dim;
    return true;
  case Expr::Kind::Binary:
    return checkBinary(e, used);
  case Expr::Kind::Power:
    return checkPower(e, used);
  case Expr::Kind::Scalprod:
    return checkOperands(e, used) && checkScalprod(e, "scalar product '(x | y)'");
  case Expr::Kind::Call:
    return checkCall(e, used);
  }
  return false;
}

bool Sema::checkOperands(Expr &e, UsedVars &used) {
  for (auto &operand : e.operands)
    if (!checkFormula(*operand, used))
      return false;
  return true;
}

bool Sema::checkName(Expr &e, UsedVars &used) {
  StringRef name = e.tok.text;
  auto it = symbols.find(name);
  if (it == symbols.end()) {
    if (lookupBuiltinByKeOpsName(name)) {
      diag.error(e.tok) << quote(name) << " is a function: call it as " << name << "(...)";
      return false;
    }
    Diagnostic &diagnostic = diag.error(e.tok) << "undefined variable " << quote(name);
    std::vector<StringRef> names;
    for (auto &var : module->vars)
      names.push_back(var->name.text);
    if (StringRef suggestion = closest(name, names); !suggestion.empty())
      diagnostic << "; did you mean '" << suggestion << "'?";
    return false;
  }
  if (reductionNames.contains(name)) {
    diag.error(e.tok) << quote(name)
                      << " is a reduction; a formula can only use variables (Vi, Vj, Pm)";
    return false;
  }
  const VarDecl *var = it->second.var;
  if (!var)
    return false; // its definition had an error, reported there
  used.insert(var);
  e.var = var;
  e.dim = var->dim;
  return true;
}

bool Sema::checkBinary(Expr &e, UsedVars &used) {
  if (!checkOperands(e, used))
    return false;
  BuiltinOp op = e.tok.is(Tok::Plus)    ? BuiltinOp::Add
                 : e.tok.is(Tok::Minus) ? BuiltinOp::Sub
                 : e.tok.is(Tok::Star)  ? BuiltinOp::Mul
                                        : BuiltinOp::Div;
  e.builtin = &getBuiltinInfo(op);
  return checkBroadcast(e, ("'" + e.tok.text + "'").str(), /*resultDim=*/0);
}

/// KeOps broadcasting of the two operands of `e`: equal dims, or one of them 1.
bool Sema::checkBroadcast(Expr &e, StringRef what, int64_t resultDim) {
  int64_t lhs = e.operands[0]->dim, rhs = e.operands[1]->dim;
  if (lhs != rhs && lhs != 1 && rhs != 1) {
    diag.error(e.tok) << "dimension mismatch in " << what << ": left operand has dimension " << lhs
                      << ", right operand has dimension " << rhs
                      << " (they must be equal, or one of them 1)";
    return false;
  }
  e.dim = resultDim ? resultDim : std::max(lhs, rhs);
  return true;
}

/// (x | y) of equal dims is Scalprod. With one operand `a` of dimension 1 it is KeOps'
/// a * Sum(x) (keopscore formulas/maths/Scalprod.py): a Mul over an implicit Sum node.
bool Sema::checkScalprod(Expr &e, StringRef what) {
  int64_t lhs = e.operands[0]->dim, rhs = e.operands[1]->dim;
  e.dim = 1;
  if (lhs == rhs) {
    e.builtin = &getBuiltinInfo(BuiltinOp::Scalprod);
    return true;
  }
  if (lhs != 1 && rhs != 1) {
    diag.error(e.tok) << "dimension mismatch in " << what << ": left operand has dimension " << lhs
                      << ", right operand has dimension " << rhs
                      << " (they must be equal, or one of them 1)";
    return false;
  }
  std::unique_ptr<Expr> &vector = e.operands[lhs == 1 ? 1 : 0];
  auto sum = std::make_unique<Expr>(Expr::Kind::Call, e.tok);
  sum->builtin = &getBuiltinInfo(BuiltinOp::Sum);
  sum->dim = 1;
  sum->implicit = true;
  sum->depth = vector->depth + 1;
  sum->operands.push_back(std::move(vector));
  vector = std::move(sum);
  e.builtin = &getBuiltinInfo(BuiltinOp::Mul);
  return true;
}

/// x**n: n = 2 -> Square, other integer n -> Pow(x, n), 0.5 -> Sqrt, -0.5 -> Rsqrt.
bool Sema::checkPower(Expr &e, UsedVars &used) {
  Expr &exponent = *e.operands[1];
  if (exponent.kind != Expr::Kind::Number) {
    diag.error(exponent.tok) << "the exponent of '**' must be a number (an integer, 0.5 or -0.5); "
                                "for a computed exponent use Exp(y * Log(x))";
    return false;
  }
  if (exponent.isIntegerLiteral && !exponent.integer) {
    diag.error(exponent.tok) << "integer " << quote(exponent.text) << " is out of range";
    return false;
  }
  std::optional<int64_t> n = exponent.integer;
  // Python/pykeops compare the exponent by value: 2.0 is 2.
  if (!n && !exponent.isIntegerLiteral && std::trunc(exponent.value) == exponent.value &&
      std::fabs(exponent.value) < 1e18)
    n = static_cast<int64_t>(exponent.value);
  if (n) {
    e.builtin = &getBuiltinInfo(*n == 2 ? BuiltinOp::Square : BuiltinOp::Pow);
    e.intAttr = *n;
  } else if (exponent.value == 0.5) {
    e.builtin = &getBuiltinInfo(BuiltinOp::Sqrt);
  } else if (exponent.value == -0.5) {
    e.builtin = &getBuiltinInfo(BuiltinOp::Rsqrt);
  } else {
    diag.error(exponent.tok) << "unsupported exponent " << quote(exponent.text)
                             << " in '**': it must be an integer, 0.5 or -0.5";
    return false;
  }
  if (!checkFormula(*e.operands[0], used))
    return false;
  e.dim = e.operands[0]->dim;
  return true;
}

bool Sema::checkCall(Expr &e, UsedVars &used) {
  StringRef name = e.tok.text;
  const BuiltinInfo *builtin = lookupBuiltinByKeOpsName(name);
  if (!builtin) {
    if (isVariableHead(name)) {
      diag.error(e.tok) << "inline variables are not supported: declare 'NAME = " << name
                        << "(...)' on its own line and use NAME in the formula";
    } else if (name.ends_with("_Reduction")) {
      const BuiltinReductionInfo *reduction = lookupReduction(name);
      diag.error(e.tok) << quote(name)
                        << " cannot be used inside a formula; a reduction is a statement 'NAME = "
                        << (reduction ? callForm(*reduction, name) : "Sum_Reduction(formula, axis=1)")
                        << "'";
    } else if (symbols.count(name)) {
      diag.error(e.tok) << quote(name) << " is not a function";
    } else if (llvm::is_contained(names(kUnsupportedKeOpsFunctions), name)) {
      diag.error(e.tok) << "unknown function " << quote(name)
                        << ": a KeOps function that kconv does not support";
    } else {
      std::vector<StringRef> names;
      for (const BuiltinInfo &candidate : kBuiltinOps)
        if (!candidate.keops.empty())
          names.push_back(candidate.keops);
      Diagnostic &diagnostic = diag.error(e.tok) << "unknown function " << quote(name);
      if (StringRef suggestion = closest(name, names); !suggestion.empty())
        diagnostic << "; did you mean '" << suggestion << "'?";
    }
    return false;
  }
  if (rejectKeywords(e))
    return false;

  // Formula operands first, then the literal argument, if any: Pow(x, n), Elem(x, k), IntCst(n).
  const BuiltinInfo &info = *builtin;
  static const char *const formulaForms[] = {"", "x", "x, y"};
  const char *form = info.intArg == IntArg::PowExponent ? "x, n"
                     : info.intArg == IntArg::ElemIndex ? "x, k"
                     : info.intArg == IntArg::Value     ? "n"
                                                        : formulaForms[info.operands];
  if (!checkArity(e, info.operands + (info.intArg == IntArg::None ? 0 : 1), form))
    return false;
  std::optional<int64_t> n;
  if (info.intArg != IntArg::None) {
    const char *what = info.intArg == IntArg::PowExponent ? "the exponent n of Pow(x, n)"
                       : info.intArg == IntArg::ElemIndex ? "the index k of Elem(x, k)"
                                                          : "the argument of IntCst(n)";
    n = integerArgument(*e.operands[info.operands], what);
    if (!n)
      return false;
  }
  for (unsigned k = 0; k < info.operands; ++k)
    if (!checkFormula(*e.operands[k], used))
      return false;
  if (info.intArg == IntArg::Value) {
    e.text = e.operands[0]->text;
    return checkConstant(e, static_cast<double>(*n), e.operands[0]->tok);
  }
  e.builtin = &info;
  if (n)
    e.intAttr = *n;
  if (info.intArg == IntArg::ElemIndex) {
    int64_t dim = e.operands[0]->dim;
    if (*n < 0 || *n >= dim) {
      diag.error(e.operands[1]->tok)
          << "index " << *n << " of " << quote(name) << " is out of range for an "
          << "operand of dimension " << dim << " (valid: 0 to " << dim - 1 << ")";
      return false;
    }
  }
  std::string what = quote(name);
  switch (info.dim) {
  case DimRule::Same:
    e.dim = e.operands[0]->dim;
    return true;
  case DimRule::Scalar:
    e.dim = 1;
    return true;
  case DimRule::Broadcast:
    return checkBroadcast(e, what, /*resultDim=*/0);
  case DimRule::BroadcastToScalar:
    return checkBroadcast(e, what, /*resultDim=*/1);
  case DimRule::Scalprod:
    return checkScalprod(e, what);
  case DimRule::Concat:
    e.dim = 0;
    for (unsigned k = 0; k < info.operands; ++k)
      e.dim += e.operands[k]->dim;
    if (e.dim > kMaxFormulaDim) {
      diag.error(e.tok) << "the result of " << what << " has dimension " << e.dim
                        << ", more than the limit " << kMaxFormulaDim;
      return false;
    }
    return true;
  }
  return false;
}

//===-- argument order --------------------------------------------------===//

/// The reduction's arguments are the variables it uses: in declaration order when none has an
/// explicit index, by index when all have one (then the indices must be exactly 0..N-1).
void Sema::orderVariables(ReductionDecl &reduction, const UsedVars &used) {
  std::vector<const VarDecl *> ordered(used.begin(), used.end());
  const VarDecl *indexed = nullptr, *plain = nullptr;
  for (const VarDecl *var : ordered) {
    if (var->index && !indexed)
      indexed = var;
    if (!var->index && !plain)
      plain = var;
  }
  if (indexed && plain) {
    diag.error(reduction.name) << "reduction " << quote(reduction.name.text)
                               << " mixes variables with an explicit index ('"
                               << indexed->spelling() << "') and without ('" << plain->spelling()
                               << "'): give all of its variables an index, or none";
    return;
  }
  if (indexed) {
    llvm::stable_sort(ordered,
                      [](const VarDecl *a, const VarDecl *b) { return *a->index < *b->index; });
    for (size_t k = 0; k < ordered.size(); ++k) {
      if (static_cast<uint64_t>(*ordered[k]->index) == k)
        continue;
      if (k > 0 && *ordered[k]->index == *ordered[k - 1]->index) {
        Diagnostic &diagnostic = diag.error(reduction.name)
                                 << "variables " << quote(ordered[k - 1]->name.text) << " and "
                                 << quote(ordered[k]->name.text) << " of reduction "
                                 << quote(reduction.name.text) << " both have index "
                                 << *ordered[k]->index;
        diagnostic.attachNote(diag.loc(ordered[k - 1]->head))
            << quote(ordered[k - 1]->name.text) << " is declared here";
        diagnostic.attachNote(diag.loc(ordered[k]->head))
            << quote(ordered[k]->name.text) << " is declared here";
      } else {
        diag.error(reduction.name)
            << "reduction " << quote(reduction.name.text) << " uses no variable with index " << k
            << ": the " << ordered.size() << " variables it uses must have the indices 0 to "
            << ordered.size() - 1 << ", with no gap";
      }
      return;
    }
  } else {
    llvm::stable_sort(ordered,
                      [](const VarDecl *a, const VarDecl *b) { return a->order < b->order; });
  }
  reduction.vars = std::move(ordered);
}

} // namespace kconv::frontend
