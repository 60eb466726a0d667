//===- FormulaParser.cpp - .kconv formula files to kconv IR ---------------===//
//
// Four stages, one class each:
//   Lexer   bytes -> tokens with line/column; bad bytes and malformed numbers become error tokens.
//   Parser  tokens -> AST, one statement per line. A syntax error skips the rest of its line and
//           parsing resumes on the next one. Recursion is bounded (kMaxNesting, kMaxFormulaDepth).
//   Checker names, functions, arities, literal arguments, dimensions, axis, argument order.
//   Emitter AST -> kconv.reduction ops; runs only when nothing above reported an error.
//
// The language is documented in docs/formula-language.md; keep the two in sync.
//
//===----------------------------------------------------------------------===//
#include "kconv/Frontend/FormulaParser.h"

#include "kconv/Dialect/Kconv/IR/KconvDialect.h"
#include "kconv/Dialect/Kconv/IR/KconvOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cfloat>
#include <cmath>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace mlir;
using llvm::ArrayRef;
using llvm::StringRef;
using llvm::Twine;
namespace kd = mlir::kconv;
using mlir::kconv::VarCategory;

namespace {

// Limits; docs/formula-language.md lists them.
constexpr unsigned kMaxNesting = 256;       // parentheses, calls, unary minus, '**' exponents
constexpr unsigned kMaxFormulaDepth = 1024; // expression tree depth, operator chains included
constexpr int64_t kMaxDim = 65536;          // any variable or sub-formula dimension
constexpr unsigned kMaxErrors = 20;         // then stop
constexpr size_t kMaxNumberLength = 256;    // characters in a number literal
constexpr size_t kMaxQuotedLength = 64;     // longest name quoted in full in a message

//===----------------------------------------------------------------------===//
// Tokens and lexer
//===----------------------------------------------------------------------===//

// clang-format off
enum class Tok {
  Eof, Newline, Ident, Integer, Real,
  LParen, RParen, Comma, Equal, Plus, Minus, Star, Slash, StarStar, Pipe,
  BadChar, BadNumber,
};
// clang-format on

struct Token {
  Tok kind = Tok::Eof;
  StringRef text;
  unsigned line = 1, col = 1;
  const char *problem = nullptr; // BadNumber: what is wrong with it
  bool is(Tok k) const { return kind == k; }
};

/// `text` in single quotes, shortened when very long (fuzzed input has megabyte identifiers).
std::string quote(StringRef text) {
  if (text.size() <= kMaxQuotedLength)
    return ("'" + text + "'").str();
  return ("'" + text.take_front(kMaxQuotedLength) + "...'").str();
}

std::string describe(const Token &tok) {
  switch (tok.kind) {
  case Tok::Eof:
    return "end of file";
  case Tok::Newline:
    return "end of line";
  case Tok::Ident:
    return "identifier " + quote(tok.text);
  case Tok::Integer:
  case Tok::Real:
  case Tok::BadNumber:
    return "number " + quote(tok.text);
  case Tok::BadChar: {
    unsigned char c = tok.text.empty() ? 0 : tok.text[0];
    if (c >= 0x20 && c < 0x7f)
      return "character " + quote(tok.text);
    std::string s;
    llvm::raw_string_ostream os(s);
    os << "byte " << llvm::format("0x%02X", c);
    return s;
  }
  default:
    return quote(tok.text);
  }
}

bool isIdentStart(char c) { return llvm::isAlpha(c) || c == '_'; }
bool isIdentChar(char c) { return llvm::isAlnum(c) || c == '_'; }

class Lexer {
public:
  explicit Lexer(StringRef buffer) : buf(buffer) {}

  /// All tokens of the buffer, ending with Eof.
  std::vector<Token> lexAll() {
    std::vector<Token> tokens;
    do
      tokens.push_back(next());
    while (!tokens.back().is(Tok::Eof));
    return tokens;
  }

private:
  Token make(Tok kind, size_t begin, size_t end) {
    Token tok;
    tok.kind = kind;
    tok.text = buf.slice(begin, end);
    tok.line = line;
    tok.col = static_cast<unsigned>(begin - lineStart + 1);
    pos = end;
    return tok;
  }

  Token next() {
    // Blanks and comments.
    while (pos < buf.size()) {
      char c = buf[pos];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
        ++pos;
      } else if (c == '#') {
        while (pos < buf.size() && buf[pos] != '\n')
          ++pos;
      } else {
        break;
      }
    }
    if (pos >= buf.size())
      return make(Tok::Eof, buf.size(), buf.size());

    size_t begin = pos;
    char c = buf[pos];
    if (c == '\n') {
      Token tok = make(Tok::Newline, begin, begin + 1);
      ++line;
      lineStart = pos;
      return tok;
    }
    if (isIdentStart(c)) {
      size_t end = begin + 1;
      while (end < buf.size() && isIdentChar(buf[end]))
        ++end;
      return make(Tok::Ident, begin, end);
    }
    if (llvm::isDigit(c) || (c == '.' && begin + 1 < buf.size() && llvm::isDigit(buf[begin + 1])))
      return lexNumber(begin);
    switch (c) {
    case '(':
      return make(Tok::LParen, begin, begin + 1);
    case ')':
      return make(Tok::RParen, begin, begin + 1);
    case ',':
      return make(Tok::Comma, begin, begin + 1);
    case '=':
      return make(Tok::Equal, begin, begin + 1);
    case '+':
      return make(Tok::Plus, begin, begin + 1);
    case '-':
      return make(Tok::Minus, begin, begin + 1);
    case '/':
      return make(Tok::Slash, begin, begin + 1);
    case '|':
      return make(Tok::Pipe, begin, begin + 1);
    case '*':
      if (begin + 1 < buf.size() && buf[begin + 1] == '*')
        return make(Tok::StarStar, begin, begin + 2);
      return make(Tok::Star, begin, begin + 1);
    default:
      return make(Tok::BadChar, begin, begin + 1);
    }
  }

  /// digits [ '.' digits* ] [ exponent ]  |  '.' digits [ exponent ];  exponent: (e|E) [+-] digits.
  Token lexNumber(size_t begin) {
    size_t end = begin;
    auto digits = [&] {
      while (end < buf.size() && llvm::isDigit(buf[end]))
        ++end;
    };
    bool isReal = false;
    digits();
    if (end < buf.size() && buf[end] == '.') {
      isReal = true;
      ++end;
      digits();
    }
    const char *problem = nullptr;
    if (end < buf.size() && (buf[end] == 'e' || buf[end] == 'E')) {
      isReal = true;
      ++end;
      if (end < buf.size() && (buf[end] == '+' || buf[end] == '-'))
        ++end;
      if (end < buf.size() && llvm::isDigit(buf[end]))
        digits();
      else
        problem = "the exponent has no digits";
    }
    // A number glued to a name or to another '.', e.g. `2X` or `1.2.3`, is one bad token.
    if (end < buf.size() && (isIdentChar(buf[end]) || buf[end] == '.')) {
      while (end < buf.size() && (isIdentChar(buf[end]) || buf[end] == '.'))
        ++end;
      problem = "a number must be followed by an operator, ',' or ')'";
    }
    if (!problem && end - begin > kMaxNumberLength)
      problem = "it is longer than 256 characters";
    Token tok = make(problem ? Tok::BadNumber : isReal ? Tok::Real : Tok::Integer, begin, end);
    tok.problem = problem;
    return tok;
  }

  StringRef buf;
  size_t pos = 0;
  unsigned line = 1;
  size_t lineStart = 0;
};

//===----------------------------------------------------------------------===//
// AST
//===----------------------------------------------------------------------===//

/// What a node means once checked: one kconv op (or a constant, or a variable).
// clang-format off
enum class Op {
  None, Constant, Variable,
  Neg, Add, Sub, Mul, Div,
  Exp, Log, Sqrt, Rsqrt, Square, Inv, Abs, Pow,
  SqDist, SqNorm2, Norm2, Scalprod, Sum, Elem, Concat,
};
// clang-format on

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
  StringRef text;
  unsigned depth = 1;

  // Set by the checker.
  Op op = Op::None;
  int64_t dim = 0;
  int64_t intAttr = 0;          // Pow exponent, Elem index
  const VarDecl *var = nullptr; // Variable

  Expr(Kind kind, Token tok) : kind(kind), tok(tok) {}
};

struct Statement {
  Token name;
  std::unique_ptr<Expr> rhs; // null when the line had a syntax error after `NAME =`
};

//===----------------------------------------------------------------------===//
// Diagnostics
//===----------------------------------------------------------------------===//

/// Collects the errors and emits them in file order (the checker sees declarations before
/// formulas), through the context's diagnostic engine.
class Diagnoser {
public:
  Diagnoser(MLIRContext *context, StringRef filename)
      : context(context), filename(StringAttr::get(context, filename)) {}
  ~Diagnoser() { flush(); }

  Location loc(const Token &tok) const { return FileLineColLoc::get(filename, tok.line, tok.col); }

  /// A new error at `tok`; stream the message into it, attach notes to it.
  Diagnostic &error(const Token &tok) {
    ++errors;
    pending.push_back({tok.line, tok.col, Diagnostic(loc(tok), DiagnosticSeverity::Error)});
    return pending.back().diagnostic;
  }

  /// True (after saying so, once) when enough errors have been reported.
  bool giveUp(const Token &where) {
    if (errors < kMaxErrors)
      return false;
    if (!gaveUp) {
      flush();
      mlir::emitError(loc(where)) << "too many errors (" << errors << "), stopping here";
    }
    gaveUp = true;
    return true;
  }

  /// Emits the collected errors, sorted by position.
  void flush() {
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

  MLIRContext *context;
  StringAttr filename;
  unsigned errors = 0;
  bool gaveUp = false;

private:
  struct Pending {
    unsigned line, col;
    Diagnostic diagnostic;
  };
  std::deque<Pending> pending;
};

//===----------------------------------------------------------------------===//
// Parser
//===----------------------------------------------------------------------===//

class Parser {
public:
  Parser(ArrayRef<Token> tokens, Diagnoser &diag) : toks(tokens), diag(diag) {}

  /// file := { [ statement ] NEWLINE } EOF   (comments are dropped by the lexer)
  std::vector<Statement> parseFile() {
    std::vector<Statement> statements;
    while (!cur().is(Tok::Eof)) {
      if (cur().is(Tok::Newline)) {
        advance();
        continue;
      }
      if (diag.giveUp(cur()))
        break;
      std::optional<Statement> statement = parseStatement();
      if (statement)
        statements.push_back(std::move(*statement));
      // After an error, resume on the next line.
      while (!cur().is(Tok::Newline) && !cur().is(Tok::Eof))
        advance();
    }
    return statements;
  }

private:
  const Token &cur() const { return toks[pos]; }
  const Token &peek() const { return toks[std::min(pos + 1, toks.size() - 1)]; }
  void advance() {
    if (!cur().is(Tok::Eof))
      ++pos;
  }

  /// Reports that `expected` was expected at the current token (or what is wrong with the token).
  Diagnostic &errorExpected(const Twine &expected) {
    const Token &tok = cur();
    if (tok.is(Tok::BadChar)) {
      if (static_cast<unsigned char>(tok.text[0]) >= 0x20 &&
          static_cast<unsigned char>(tok.text[0]) < 0x7f)
        return diag.error(tok) << "unexpected " << describe(tok);
      return diag.error(tok) << "unexpected " << describe(tok)
                             << " (only printable ASCII is allowed outside comments)";
    }
    if (tok.is(Tok::BadNumber))
      return diag.error(tok) << "invalid number " << quote(tok.text) << ": " << tok.problem;
    if (tok.is(Tok::Pipe))
      return diag.error(tok) << "'|' is only allowed directly inside parentheses, as in (X | Y)";
    return diag.error(tok) << "expected " << expected << ", got " << describe(tok);
  }

  /// errorExpected, with a note at the '(' that is still open (unless the token itself is bad).
  void expectedClosing(const Twine &expected, const Token &lparen) {
    bool lexical = cur().is(Tok::BadChar) || cur().is(Tok::BadNumber) || cur().is(Tok::Pipe);
    Diagnostic &diagnostic = errorExpected(expected);
    if (!lexical)
      diagnostic.attachNote(diag.loc(lparen)) << "to match this '('";
  }

  /// statement := NAME '=' expr
  std::optional<Statement> parseStatement() {
    if (!cur().is(Tok::Ident)) {
      errorExpected("a statement 'NAME = ...'");
      return std::nullopt;
    }
    Statement statement;
    statement.name = cur();
    advance();
    if (!cur().is(Tok::Equal)) {
      errorExpected("'=' after " + quote(statement.name.text));
      return std::nullopt;
    }
    advance();
    statement.rhs = parseExpr();
    if (statement.rhs && !cur().is(Tok::Newline) && !cur().is(Tok::Eof)) {
      if (cur().is(Tok::RParen))
        diag.error(cur()) << "unmatched ')'";
      else
        errorExpected("an operator or the end of the line");
      statement.rhs = nullptr;
    }
    return statement;
  }

  /// Bounds the parser's recursion: one level per parenthesis, call, unary minus or exponent.
  bool enter() {
    if (nesting >= kMaxNesting) {
      diag.error(cur()) << "expression nested too deeply: more than " << kMaxNesting
                        << " levels of parentheses, calls, unary minus or '**'";
      return false;
    }
    ++nesting;
    return true;
  }
  void leave() { --nesting; }

  /// A new node over `operands`; null (after an error) when the tree gets too deep.
  std::unique_ptr<Expr> makeNode(Expr::Kind kind, const Token &tok,
                                 std::vector<std::unique_ptr<Expr>> operands) {
    unsigned depth = 0;
    for (auto &operand : operands)
      depth = std::max(depth, operand->depth);
    if (depth + 1 > kMaxFormulaDepth) {
      diag.error(tok) << "formula too deep: its expression tree has more than " << kMaxFormulaDepth
                      << " levels (long chains of '+' or '*' count one level per operator)";
      return nullptr;
    }
    auto node = std::make_unique<Expr>(kind, tok);
    node->operands = std::move(operands);
    node->depth = depth + 1;
    return node;
  }

  template <typename... Operands>
  std::unique_ptr<Expr> make(Expr::Kind kind, const Token &tok, Operands &&...operands) {
    std::vector<std::unique_ptr<Expr>> list;
    (list.push_back(std::forward<Operands>(operands)), ...);
    return makeNode(kind, tok, std::move(list));
  }

  /// expr := term { ('+' | '-') term }
  std::unique_ptr<Expr> parseExpr() {
    std::unique_ptr<Expr> lhs = parseTerm();
    while (lhs && (cur().is(Tok::Plus) || cur().is(Tok::Minus))) {
      Token op = cur();
      advance();
      std::unique_ptr<Expr> rhs = parseTerm();
      if (!rhs)
        return nullptr;
      lhs = make(Expr::Kind::Binary, op, std::move(lhs), std::move(rhs));
    }
    return lhs;
  }

  /// term := unary { ('*' | '/') unary }
  std::unique_ptr<Expr> parseTerm() {
    std::unique_ptr<Expr> lhs = parseUnary();
    while (lhs && (cur().is(Tok::Star) || cur().is(Tok::Slash))) {
      Token op = cur();
      advance();
      std::unique_ptr<Expr> rhs = parseUnary();
      if (!rhs)
        return nullptr;
      lhs = make(Expr::Kind::Binary, op, std::move(lhs), std::move(rhs));
    }
    return lhs;
  }

  /// unary := '-' unary | power.  A minus applied to a number literal is folded into it.
  std::unique_ptr<Expr> parseUnary() {
    if (!cur().is(Tok::Minus))
      return parsePower();
    Token minus = cur();
    advance();
    if (!enter())
      return nullptr;
    std::unique_ptr<Expr> operand = parseUnary();
    leave();
    if (!operand)
      return nullptr;
    if (operand->kind == Expr::Kind::Number) {
      operand->value = -operand->value;
      if (operand->integer)
        operand->integer = -*operand->integer; // never INT64_MIN: literals are non-negative
      operand->text = StringRef(minus.text.data(),
                                operand->text.data() + operand->text.size() - minus.text.data());
      operand->tok = minus;
      return operand;
    }
    return make(Expr::Kind::Neg, minus, std::move(operand));
  }

  /// power := primary [ '**' unary ]   (right-associative, binds tighter than unary minus on its
  /// left, like Python: -x**2 is -(x**2) and x**-1 is x**(-1))
  std::unique_ptr<Expr> parsePower() {
    std::unique_ptr<Expr> base = parsePrimary();
    if (!base || !cur().is(Tok::StarStar))
      return base;
    Token op = cur();
    advance();
    if (!enter())
      return nullptr;
    std::unique_ptr<Expr> exponent = parseUnary();
    leave();
    if (!exponent)
      return nullptr;
    return make(Expr::Kind::Power, op, std::move(base), std::move(exponent));
  }

  /// primary := NUMBER | NAME | call | '(' expr [ '|' expr ] ')'
  std::unique_ptr<Expr> parsePrimary() {
    Token tok = cur();
    switch (tok.kind) {
    case Tok::Integer:
    case Tok::Real:
      advance();
      return parseNumber(tok);
    case Tok::Ident:
      advance();
      if (cur().is(Tok::LParen))
        return parseCall(tok);
      return make(Expr::Kind::Name, tok);
    case Tok::LParen: {
      advance();
      if (!enter())
        return nullptr;
      std::unique_ptr<Expr> inner = parseExpr();
      if (inner && cur().is(Tok::Pipe)) {
        Token pipe = cur();
        advance();
        std::unique_ptr<Expr> rhs = parseExpr();
        inner = rhs ? make(Expr::Kind::Scalprod, pipe, std::move(inner), std::move(rhs)) : nullptr;
      }
      leave();
      if (!inner)
        return nullptr;
      if (!cur().is(Tok::RParen)) {
        expectedClosing("')'", tok);
        return nullptr;
      }
      advance();
      return inner;
    }
    default:
      errorExpected("an expression");
      return nullptr;
    }
  }

  std::unique_ptr<Expr> parseNumber(const Token &tok) {
    auto node = make(Expr::Kind::Number, tok);
    node->text = tok.text;
    if (tok.is(Tok::Integer)) {
      node->isIntegerLiteral = true;
      int64_t value;
      if (!tok.text.getAsInteger(10, value))
        node->integer = value;
    }
    llvm::APFloat value(llvm::APFloat::IEEEdouble());
    auto status = value.convertFromString(tok.text, llvm::APFloat::rmNearestTiesToEven);
    if (!status) {
      llvm::consumeError(status.takeError());
      diag.error(tok) << "invalid number " << quote(tok.text);
      return nullptr;
    }
    node->value = value.convertToDouble();
    return node;
  }

  /// call := NAME '(' [ arg { ',' arg } ] ')' ;  arg := [ NAME '=' ] expr
  std::unique_ptr<Expr> parseCall(const Token &name) {
    Token lparen = cur();
    advance();
    if (!enter())
      return nullptr;
    std::vector<std::unique_ptr<Expr>> args;
    std::vector<std::optional<Token>> keywords;
    bool ok = true;
    if (cur().is(Tok::RParen)) {
      advance();
    } else {
      while (true) {
        std::optional<Token> keyword;
        if (cur().is(Tok::Ident) && peek().is(Tok::Equal)) {
          keyword = cur();
          advance();
          advance();
        }
        std::unique_ptr<Expr> arg = parseExpr();
        if (!arg) {
          ok = false;
          break;
        }
        args.push_back(std::move(arg));
        keywords.push_back(keyword);
        if (cur().is(Tok::Comma)) {
          advance();
          continue;
        }
        if (cur().is(Tok::RParen)) {
          advance();
          break;
        }
        expectedClosing("',' or ')' in the arguments of " + quote(name.text), lparen);
        ok = false;
        break;
      }
    }
    leave();
    if (!ok)
      return nullptr;
    std::unique_ptr<Expr> call = makeNode(Expr::Kind::Call, name, std::move(args));
    if (call)
      call->keywords = std::move(keywords);
    return call;
  }

  ArrayRef<Token> toks;
  size_t pos = 0;
  unsigned nesting = 0;
  Diagnoser &diag;
};

//===----------------------------------------------------------------------===//
// Checker
//===----------------------------------------------------------------------===//

enum class Signature { Formula, FormulaFormula, FormulaInteger, Integer };

struct Builtin {
  StringRef name;
  Op op;
  Signature signature;
};

const Builtin kBuiltins[] = {
    {"Exp", Op::Exp, Signature::Formula},
    {"Log", Op::Log, Signature::Formula},
    {"Sqrt", Op::Sqrt, Signature::Formula},
    {"Rsqrt", Op::Rsqrt, Signature::Formula},
    {"Square", Op::Square, Signature::Formula},
    {"Inv", Op::Inv, Signature::Formula},
    {"Abs", Op::Abs, Signature::Formula},
    {"SqNorm2", Op::SqNorm2, Signature::Formula},
    {"Norm2", Op::Norm2, Signature::Formula},
    {"Sum", Op::Sum, Signature::Formula},
    {"SqDist", Op::SqDist, Signature::FormulaFormula},
    {"Scalprod", Op::Scalprod, Signature::FormulaFormula},
    {"Concat", Op::Concat, Signature::FormulaFormula},
    {"Pow", Op::Pow, Signature::FormulaInteger},
    {"Elem", Op::Elem, Signature::FormulaInteger},
    {"IntCst", Op::Constant, Signature::Integer},
};

/// KeOps functions that kconv does not implement (yet): named as such rather than corrected to
/// the closest supported name.
const StringRef kUnsupportedKeOpsFunctions[] = {
    "Acos",
    "ArgMax",
    "ArgMin",
    "Asin",
    "Atan",
    "Atan2",
    "Clamp",
    "ClampInt",
    "Cos",
    "Diff",
    "Extract",
    "Grad",
    "GradFromPos",
    "IfElse",
    "MatVecMult",
    "Max",
    "Min",
    "Mod",
    "Normalize",
    "OneHot",
    "Powf",
    "ReLU",
    "Round",
    "Sign",
    "Sin",
    "SinXDivX",
    "Step",
    "TensorProd",
    "VecMatMult",
    "WeightedSqDist",
    "WeightedSqNorm",
    "XLogX",
};

const Builtin *lookupBuiltin(StringRef name) {
  for (const Builtin &builtin : kBuiltins)
    if (builtin.name == name)
      return &builtin;
  return nullptr;
}

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

struct VarDecl {
  Token name;
  Token head; // Vi, Vj or Pm
  VarCategory category = VarCategory::Vi;
  int64_t dim = 1;
  std::optional<int64_t> index; // Vi(index, dim)
  unsigned order = 0;           // declaration order
  std::string spelling() const {
    std::string s = (name.text + " = " + head.text + "(").str();
    if (index)
      s += std::to_string(*index) + ", ";
    return s + std::to_string(dim) + ")";
  }
};

struct ReductionDecl {
  Token name;
  Expr *formula = nullptr;
  int64_t axis = 1;
  std::vector<const VarDecl *> vars; // in argument order
};

/// A top-level name: a variable, a reduction, or a name whose definition had an error (uses of it
/// are then not reported again).
struct Symbol {
  const VarDecl *var = nullptr;
  Token definition;
};

bool isReservedName(StringRef name) {
  return name == "Vi" || name == "Vj" || name == "Pm" || name == "Sum_Reduction";
}

class Checker {
public:
  explicit Checker(Diagnoser &diag) : diag(diag) {}

  void run(std::vector<Statement> &statements) {
    // Definitions first, so that a formula may use a variable declared further down.
    for (Statement &statement : statements) {
      if (diag.giveUp(statement.name))
        return;
      define(statement);
    }
    for (ReductionDecl &reduction : reductions) {
      if (diag.giveUp(reduction.name))
        return;
      UsedVars used;
      if (!checkFormula(*reduction.formula, used))
        continue;
      orderVariables(reduction, used);
    }
  }

  std::vector<std::unique_ptr<VarDecl>> vars;
  std::vector<ReductionDecl> reductions;
  unsigned numReductionStatements = 0;

private:
  using UsedVars = llvm::SetVector<const VarDecl *>;

  //===-- statements ------------------------------------------------------===//

  void define(Statement &statement) {
    StringRef name = statement.name.text;
    if (statement.rhs && statement.rhs->kind == Expr::Kind::Call &&
        statement.rhs->tok.text.ends_with("_Reduction"))
      ++numReductionStatements;
    if (lookupBuiltin(name) || isReservedName(name)) {
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
    if (head == "Vi" || head == "Vj" || head == "Pm") {
      symbol.var = declareVariable(statement);
      return;
    }
    if (head == "Sum_Reduction") {
      declareReduction(statement);
      return;
    }
    if (head.ends_with("_Reduction")) {
      diag.error(rhs.tok) << "unsupported reduction " << quote(head)
                          << ": kconv supports only Sum_Reduction";
      return;
    }
    if (lookupBuiltin(head)) {
      diag.error(rhs.tok) << "a statement defines a variable or a reduction, not a named formula: "
                             "write "
                          << head << "(...) inside Sum_Reduction(formula, axis=1)";
      return;
    }
    static const StringRef heads[] = {"Vi", "Vj", "Pm", "Sum_Reduction"};
    Diagnostic &diagnostic = diag.error(rhs.tok) << "unknown function " << quote(head);
    if (StringRef suggestion = closest(head, heads); !suggestion.empty())
      diagnostic << "; did you mean '" << suggestion << "'?";
    else
      diagnostic << "; a statement is NAME = Vi(dim), Vj(dim), Pm(dim) or "
                    "Sum_Reduction(formula, axis=1)";
  }

  /// The value of an integer-literal argument; an error (and nullopt) otherwise.
  std::optional<int64_t> integerArgument(const Expr &arg, const Twine &what) {
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

  bool rejectKeywords(const Expr &call) {
    for (const std::optional<Token> &keyword : call.keywords) {
      if (keyword) {
        diag.error(*keyword) << "unexpected keyword argument " << quote(keyword->text) << " in "
                             << quote(call.tok.text);
        return true;
      }
    }
    return false;
  }

  bool checkArity(const Expr &call, size_t expected, StringRef form) {
    if (call.operands.size() == expected)
      return true;
    diag.error(call.tok) << "wrong number of arguments for " << quote(call.tok.text)
                         << ": expected " << expected << " (" << form << "), got "
                         << call.operands.size();
    return false;
  }

  const VarDecl *declareVariable(Statement &statement) {
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
    decl->order = static_cast<unsigned>(vars.size());
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
    if (*dim < 1 || *dim > kMaxDim) {
      diag.error(dimArg.tok) << "dimension of variable " << quote(statement.name.text)
                             << " must be between 1 and " << kMaxDim << ", got " << *dim;
      return nullptr;
    }
    decl->dim = *dim;
    vars.push_back(std::move(decl));
    return vars.back().get();
  }

  void declareReduction(Statement &statement) {
    Expr &rhs = *statement.rhs;
    std::vector<Expr *> positional;
    Expr *axisArg = nullptr;
    bool keywordAxis = false;
    for (auto [arg, keyword] : llvm::zip(rhs.operands, rhs.keywords)) {
      if (!keyword) {
        positional.push_back(arg.get());
        continue;
      }
      if (keyword->text != "axis") {
        Diagnostic &diagnostic = diag.error(*keyword)
                                 << "unknown keyword argument " << quote(keyword->text)
                                 << " in 'Sum_Reduction'";
        static const StringRef axis[] = {"axis"};
        if (!closest(keyword->text, axis).empty())
          diagnostic << "; did you mean 'axis'?";
        return;
      }
      if (axisArg) {
        diag.error(*keyword) << "axis given twice";
        return;
      }
      axisArg = arg.get();
      keywordAxis = true;
    }
    size_t got = rhs.operands.size();
    if (positional.empty() || got > 2) {
      diag.error(rhs.tok) << "wrong number of arguments for 'Sum_Reduction': expected 2 "
                             "(formula, axis=0 or 1), got "
                          << got;
      return;
    }
    if (positional.size() == 2)
      axisArg = positional[1]; // with a keyword axis too, `got` would be 3
    if (!axisArg) {
      diag.error(rhs.tok)
          << "missing axis: write Sum_Reduction(formula, axis=1) to sum over j "
             "(one output row per i) or axis=0 to sum over i (one output row per j)";
      return;
    }
    int64_t axis;
    if (axisArg->kind != Expr::Kind::Number || !axisArg->integer ||
        (*axisArg->integer != 0 && *axisArg->integer != 1)) {
      Diagnostic &diagnostic = diag.error(axisArg->tok);
      if (axisArg->kind == Expr::Kind::Number)
        diagnostic << "bad axis value " << quote(axisArg->text) << ": ";
      else
        diagnostic << "bad axis value: ";
      if (keywordAxis)
        diagnostic << "axis must be 0 (sum over i, one output row per j) or 1 (sum over j, one "
                      "output row per i)";
      else
        diagnostic
            << "the KeOps positional form Sum_Reduction(formula, t) takes t = 0 (sum over j, "
               "same as axis=1) or t = 1 (sum over i, same as axis=0)";
      return;
    }
    // KeOps' positional argument is the category of the output (0: i, 1: j), i.e. 1 - axis, as in
    // pykeops' Genred: reduction + "_Reduction(" + formula + "," + str((axis + 1) % 2) + ")".
    axis = keywordAxis ? *axisArg->integer : 1 - *axisArg->integer;

    ReductionDecl reduction;
    reduction.name = statement.name;
    reduction.formula = positional[0];
    reduction.axis = axis;
    reductions.push_back(std::move(reduction));
    reductionNames.insert(statement.name.text);
  }

  //===-- formulas --------------------------------------------------------===//

  VectorType formulaType(int64_t dim) {
    return kd::getFormulaType(dim, Float32Type::get(diag.context));
  }

  bool checkConstant(Expr &e, double value, const Token &tok) {
    if (!std::isfinite(value) || std::fabs(value) > static_cast<double>(FLT_MAX)) {
      diag.error(tok) << "number " << quote(e.text) << " is out of range for f32";
      return false;
    }
    e.op = Op::Constant;
    e.value = value;
    e.dim = 1;
    return true;
  }

  bool checkFormula(Expr &e, UsedVars &used) {
    switch (e.kind) {
    case Expr::Kind::Number:
      return checkConstant(e, e.value, e.tok);
    case Expr::Kind::Name:
      return checkName(e, used);
    case Expr::Kind::Neg:
      if (!checkFormula(*e.operands[0], used))
        return false;
      e.op = Op::Neg;
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

  bool checkOperands(Expr &e, UsedVars &used) {
    for (auto &operand : e.operands)
      if (!checkFormula(*operand, used))
        return false;
    return true;
  }

  bool checkName(Expr &e, UsedVars &used) {
    StringRef name = e.tok.text;
    auto it = symbols.find(name);
    if (it == symbols.end()) {
      if (lookupBuiltin(name)) {
        diag.error(e.tok) << quote(name) << " is a function: call it as " << name << "(...)";
        return false;
      }
      Diagnostic &diagnostic = diag.error(e.tok) << "undefined variable " << quote(name);
      std::vector<StringRef> names;
      for (auto &var : vars)
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
    e.op = Op::Variable;
    e.var = var;
    e.dim = var->dim;
    return true;
  }

  bool checkBinary(Expr &e, UsedVars &used) {
    if (!checkOperands(e, used))
      return false;
    switch (e.tok.kind) {
    case Tok::Plus:
      e.op = Op::Add;
      break;
    case Tok::Minus:
      e.op = Op::Sub;
      break;
    case Tok::Star:
      e.op = Op::Mul;
      break;
    default:
      e.op = Op::Div;
      break;
    }
    return checkBroadcast(e, ("'" + e.tok.text + "'").str(), /*resultDim=*/0);
  }

  /// KeOps broadcasting of the two operands of `e`: equal dims, or one of them 1.
  bool checkBroadcast(Expr &e, StringRef what, int64_t resultDim) {
    int64_t lhs = e.operands[0]->dim, rhs = e.operands[1]->dim;
    FailureOr<int64_t> dim = kd::broadcastDims(lhs, rhs);
    if (failed(dim)) {
      diag.error(e.tok) << "dimension mismatch in " << what << ": left operand has dimension "
                        << lhs << ", right operand has dimension " << rhs
                        << " (they must be equal, or one of them 1)";
      return false;
    }
    e.dim = resultDim ? resultDim : *dim;
    return true;
  }

  bool checkScalprod(Expr &e, StringRef what) {
    int64_t lhs = e.operands[0]->dim, rhs = e.operands[1]->dim;
    if (lhs != rhs) {
      diag.error(e.tok) << "dimension mismatch in " << what << ": left operand has dimension "
                        << lhs << ", right operand has dimension " << rhs
                        << " (they must be equal)";
      return false;
    }
    e.op = Op::Scalprod;
    e.dim = 1;
    return true;
  }

  /// x**n: n = 2 -> Square, other integer n -> Pow(x, n), 0.5 -> Sqrt, -0.5 -> Rsqrt.
  bool checkPower(Expr &e, UsedVars &used) {
    Expr &exponent = *e.operands[1];
    if (exponent.kind != Expr::Kind::Number) {
      diag.error(exponent.tok)
          << "the exponent of '**' must be a number (an integer, 0.5 or -0.5); "
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
      e.op = *n == 2 ? Op::Square : Op::Pow;
      e.intAttr = *n;
    } else if (exponent.value == 0.5) {
      e.op = Op::Sqrt;
    } else if (exponent.value == -0.5) {
      e.op = Op::Rsqrt;
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

  bool checkCall(Expr &e, UsedVars &used) {
    StringRef name = e.tok.text;
    const Builtin *builtin = lookupBuiltin(name);
    if (!builtin) {
      if (name == "Vi" || name == "Vj" || name == "Pm") {
        diag.error(e.tok) << "inline variables are not supported: declare 'NAME = " << name
                          << "(...)' on its own line and use NAME in the formula";
      } else if (name.ends_with("_Reduction")) {
        diag.error(e.tok) << quote(name)
                          << " cannot be used inside a formula; a reduction is a statement "
                             "'NAME = Sum_Reduction(formula, axis=1)'";
      } else if (symbols.count(name)) {
        diag.error(e.tok) << quote(name) << " is not a function";
      } else if (llvm::is_contained(kUnsupportedKeOpsFunctions, name)) {
        diag.error(e.tok) << "unknown function " << quote(name)
                          << ": a KeOps function that kconv does not support";
      } else {
        std::vector<StringRef> names;
        for (const Builtin &candidate : kBuiltins)
          names.push_back(candidate.name);
        Diagnostic &diagnostic = diag.error(e.tok) << "unknown function " << quote(name);
        if (StringRef suggestion = closest(name, names); !suggestion.empty())
          diagnostic << "; did you mean '" << suggestion << "'?";
      }
      return false;
    }
    if (rejectKeywords(e))
      return false;
    switch (builtin->signature) {
    case Signature::Formula:
      if (!checkArity(e, 1, "x") || !checkOperands(e, used))
        return false;
      e.op = builtin->op;
      e.dim =
          (e.op == Op::Sum || e.op == Op::SqNorm2 || e.op == Op::Norm2) ? 1 : e.operands[0]->dim;
      return true;
    case Signature::FormulaFormula:
      if (!checkArity(e, 2, "x, y") || !checkOperands(e, used))
        return false;
      if (builtin->op == Op::SqDist) {
        e.op = Op::SqDist;
        return checkBroadcast(e, "'SqDist'", /*resultDim=*/1);
      }
      if (builtin->op == Op::Scalprod)
        return checkScalprod(e, "'Scalprod'");
      e.op = Op::Concat;
      e.dim = e.operands[0]->dim + e.operands[1]->dim;
      if (e.dim > kMaxDim) {
        diag.error(e.tok) << "the result of 'Concat' has dimension " << e.dim
                          << ", more than the limit " << kMaxDim;
        return false;
      }
      return true;
    case Signature::FormulaInteger: {
      bool isPow = builtin->op == Op::Pow;
      if (!checkArity(e, 2, isPow ? "x, n" : "x, k"))
        return false;
      std::optional<int64_t> n = integerArgument(
          *e.operands[1], isPow ? "the exponent n of Pow(x, n)" : "the index k of Elem(x, k)");
      if (!n || !checkFormula(*e.operands[0], used))
        return false;
      e.op = builtin->op;
      e.intAttr = *n;
      int64_t dim = e.operands[0]->dim;
      if (isPow) {
        e.dim = dim;
        return true;
      }
      if (*n < 0 || *n >= dim) {
        diag.error(e.operands[1]->tok)
            << "index " << *n << " of 'Elem' is out of range for an "
            << "operand of dimension " << dim << " (valid: 0 to " << dim - 1 << ")";
        return false;
      }
      e.dim = 1;
      return true;
    }
    case Signature::Integer: {
      if (!checkArity(e, 1, "n"))
        return false;
      std::optional<int64_t> n = integerArgument(*e.operands[0], "the argument of IntCst(n)");
      if (!n)
        return false;
      e.text = e.operands[0]->text;
      return checkConstant(e, static_cast<double>(*n), e.operands[0]->tok);
    }
    }
    return false;
  }

  //===-- argument order --------------------------------------------------===//

  /// The reduction's arguments are the variables it uses: in declaration order when none has an
  /// explicit index, by index when all have one (then the indices must be exactly 0..N-1).
  void orderVariables(ReductionDecl &reduction, const UsedVars &used) {
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

  Diagnoser &diag;
  llvm::StringMap<Symbol> symbols;
  llvm::StringSet<> reductionNames;
};

//===----------------------------------------------------------------------===//
// Emitter
//===----------------------------------------------------------------------===//

class Emitter {
public:
  Emitter(Diagnoser &diag) : diag(diag), builder(diag.context) {}

  OwningOpRef<ModuleOp> emit(ArrayRef<ReductionDecl> reductions) {
    MLIRContext *context = diag.context;
    OwningOpRef<ModuleOp> module = ModuleOp::create(FileLineColLoc::get(diag.filename, 1, 1));
    builder.setInsertionPointToEnd(module->getBody());
    for (const ReductionDecl &reduction : reductions) {
      SmallVector<Attribute> variables;
      SmallVector<Type> types;
      SmallVector<Location> locs;
      for (const VarDecl *var : reduction.vars) {
        variables.push_back(
            kd::VariableAttr::get(context, var->name.text, var->category, var->dim));
        types.push_back(type(var->dim));
        locs.push_back(diag.loc(var->name));
      }
      OpBuilder::InsertionGuard guard(builder);
      auto op = kd::ReductionOp::create(
          builder, diag.loc(reduction.name), reduction.name.text, kd::ReductionKind::Sum,
          static_cast<uint64_t>(reduction.axis), builder.getArrayAttr(variables));
      Block *body = builder.createBlock(&op.getBody(), {}, types, locs);
      args.clear();
      for (auto [var, arg] : llvm::zip(reduction.vars, body->getArguments()))
        args[var] = arg;
      Value result = emitExpr(*reduction.formula);
      kd::YieldOp::create(builder, diag.loc(reduction.name), result);
    }
    // The checker mirrors the op verifiers; this only guards against a disagreement.
    if (failed(verify(*module)))
      return nullptr;
    return module;
  }

private:
  VectorType type(int64_t dim) { return kd::getFormulaType(dim, Float32Type::get(diag.context)); }

  Value emitExpr(const Expr &e) {
    Location loc = diag.loc(e.tok);
    VectorType resultType = type(e.dim);
    // Operands first, left to right (C++ leaves the order of call arguments unspecified).
    // Constants and variables have no value operands; `x**n`, Pow(x, n) and Elem(x, k) have one
    // (n and k become attributes).
    size_t numValues = e.operands.size();
    if (e.op == Op::Constant || e.op == Op::Variable)
      numValues = 0;
    else if (e.kind == Expr::Kind::Power || e.op == Op::Pow || e.op == Op::Elem)
      numValues = 1;
    SmallVector<Value, 2> values;
    for (size_t i = 0; i < numValues; ++i)
      values.push_back(emitExpr(*e.operands[i]));
    auto operand = [&](unsigned i) { return values[i]; };
    OpBuilder &b = builder;
    switch (e.op) {
    case Op::Constant:
      return kd::ConstantOp::create(b, loc, resultType, b.getF64FloatAttr(e.value));
    case Op::Variable:
      return args.lookup(e.var);
    case Op::Neg:
      return kd::NegOp::create(b, loc, resultType, operand(0));
    case Op::Add:
      return kd::AddOp::create(b, loc, resultType, operand(0), operand(1));
    case Op::Sub:
      return kd::SubOp::create(b, loc, resultType, operand(0), operand(1));
    case Op::Mul:
      return kd::MulOp::create(b, loc, resultType, operand(0), operand(1));
    case Op::Div:
      return kd::DivOp::create(b, loc, resultType, operand(0), operand(1));
    case Op::Exp:
      return kd::ExpOp::create(b, loc, resultType, operand(0));
    case Op::Log:
      return kd::LogOp::create(b, loc, resultType, operand(0));
    case Op::Sqrt:
      return kd::SqrtOp::create(b, loc, resultType, operand(0));
    case Op::Rsqrt:
      return kd::RsqrtOp::create(b, loc, resultType, operand(0));
    case Op::Square:
      return kd::SquareOp::create(b, loc, resultType, operand(0));
    case Op::Inv:
      return kd::InvOp::create(b, loc, resultType, operand(0));
    case Op::Abs:
      return kd::AbsOp::create(b, loc, resultType, operand(0));
    case Op::Pow:
      return kd::PowOp::create(b, loc, resultType, operand(0), b.getI64IntegerAttr(e.intAttr));
    case Op::SqDist:
      return kd::SqDistOp::create(b, loc, resultType, operand(0), operand(1));
    case Op::SqNorm2:
      return kd::SqNorm2Op::create(b, loc, resultType, operand(0));
    case Op::Norm2:
      return kd::Norm2Op::create(b, loc, resultType, operand(0));
    case Op::Scalprod:
      return kd::ScalprodOp::create(b, loc, resultType, operand(0), operand(1));
    case Op::Sum:
      return kd::SumOp::create(b, loc, resultType, operand(0));
    case Op::Elem:
      return kd::ElemOp::create(b, loc, resultType, operand(0), b.getI64IntegerAttr(e.intAttr));
    case Op::Concat:
      return kd::ConcatOp::create(b, loc, resultType, operand(0), operand(1));
    case Op::None:
      break;
    }
    // Unreachable for a checked formula; a constant keeps the IR well formed and the verifier
    // quiet, and the error makes parseFormulaFile fail.
    diag.error(e.tok) << "internal error: unchecked formula node";
    return kd::ConstantOp::create(b, loc, type(1), b.getF64FloatAttr(0));
  }

  Diagnoser &diag;
  OpBuilder builder;
  llvm::DenseMap<const VarDecl *, Value> args;
};

} // namespace

namespace kconv {
OwningOpRef<ModuleOp> parseFormulaFile(llvm::SourceMgr &sourceMgr, MLIRContext *context) {
  context->getOrLoadDialect<kd::KconvDialect>();
  if (sourceMgr.getNumBuffers() == 0) {
    mlir::emitError(UnknownLoc::get(context)) << "no input buffer";
    return nullptr;
  }
  const llvm::MemoryBuffer *buffer = sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
  Diagnoser diag(context, buffer->getBufferIdentifier());

  std::vector<Token> tokens = Lexer(buffer->getBuffer()).lexAll();
  std::vector<Statement> statements = Parser(tokens, diag).parseFile();
  if (diag.gaveUp)
    return nullptr;
  Checker checker(diag);
  checker.run(statements);
  if (diag.errors == 0 && checker.numReductionStatements == 0) {
    Token start;
    diag.error(start) << "no reduction defined: a formula file needs at least one "
                         "'NAME = Sum_Reduction(formula, axis=1)'";
  }
  if (diag.errors)
    return nullptr;
  OwningOpRef<ModuleOp> module = Emitter(diag).emit(checker.reductions);
  if (diag.errors)
    return nullptr;
  return module;
}
} // namespace kconv
