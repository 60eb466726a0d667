//===- Parser.cpp - .kconv tokens to statements ---------------------------===//
#include "kconv/Frontend/Parser.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/Support/Error.h"

using namespace mlir;
using llvm::Twine;

namespace kconv::frontend {

/// file := { [ statement ] NEWLINE } EOF   (comments are dropped by the lexer)
std::vector<Statement> Parser::parseFile() {
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

/// Reports that `expected` was expected at the current token (or what is wrong with the token).
Diagnostic &Parser::errorExpected(const Twine &expected) {
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
void Parser::expectedClosing(const Twine &expected, const Token &lparen) {
  bool lexical = cur().is(Tok::BadChar) || cur().is(Tok::BadNumber) || cur().is(Tok::Pipe);
  Diagnostic &diagnostic = errorExpected(expected);
  if (!lexical)
    diagnostic.attachNote(diag.loc(lparen)) << "to match this '('";
}

/// statement := NAME '=' expr
std::optional<Statement> Parser::parseStatement() {
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
bool Parser::enter() {
  if (nesting >= kMaxNesting) {
    diag.error(cur()) << "expression nested too deeply: more than " << kMaxNesting
                      << " levels of parentheses, calls, unary minus or '**'";
    return false;
  }
  ++nesting;
  return true;
}

/// A new node over `operands`; null (after an error) when the tree gets too deep.
std::unique_ptr<Expr> Parser::makeNode(Expr::Kind kind, const Token &tok,
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

/// expr := term { ('+' | '-') term }
std::unique_ptr<Expr> Parser::parseExpr() {
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
std::unique_ptr<Expr> Parser::parseTerm() {
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
std::unique_ptr<Expr> Parser::parseUnary() {
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
std::unique_ptr<Expr> Parser::parsePower() {
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
std::unique_ptr<Expr> Parser::parsePrimary() {
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

std::unique_ptr<Expr> Parser::parseNumber(const Token &tok) {
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
std::unique_ptr<Expr> Parser::parseCall(const Token &name) {
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

} // namespace kconv::frontend
