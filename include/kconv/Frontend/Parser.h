//===- Parser.h - .kconv tokens to statements -------------------*- C++ -*-===//
//
// One statement per line, `NAME = expression`. A syntax error skips the rest of its line and
// parsing resumes on the next one. Recursion is bounded (kMaxNesting, kMaxFormulaDepth) so that
// no input overflows the stack of this or any later stage.
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_FRONTEND_PARSER_H
#define KCONV_FRONTEND_PARSER_H

#include "kconv/Frontend/AST.h"
#include "kconv/Frontend/Diagnoser.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/Twine.h"

namespace kconv::frontend {

constexpr unsigned kMaxNesting = 256;       // parentheses, calls, unary minus, '**' exponents
constexpr unsigned kMaxFormulaDepth = 1024; // expression tree depth, operator chains included

class Parser {
public:
  Parser(llvm::ArrayRef<Token> tokens, Diagnoser &diag) : toks(tokens), diag(diag) {}

  /// file := { [ statement ] NEWLINE } EOF   (comments are dropped by the lexer)
  std::vector<Statement> parseFile();

private:
  const Token &cur() const { return toks[pos]; }
  const Token &peek() const { return toks[std::min(pos + 1, toks.size() - 1)]; }
  void advance() {
    if (!cur().is(Tok::Eof))
      ++pos;
  }

  mlir::Diagnostic &errorExpected(const llvm::Twine &expected);
  void expectedClosing(const llvm::Twine &expected, const Token &lparen);
  std::optional<Statement> parseStatement();
  bool enter();
  void leave() { --nesting; }
  std::unique_ptr<Expr> makeNode(Expr::Kind kind, const Token &tok,
                                 std::vector<std::unique_ptr<Expr>> operands);
  template <typename... Operands>
  std::unique_ptr<Expr> make(Expr::Kind kind, const Token &tok, Operands &&...operands) {
    std::vector<std::unique_ptr<Expr>> list;
    (list.push_back(std::forward<Operands>(operands)), ...);
    return makeNode(kind, tok, std::move(list));
  }
  std::unique_ptr<Expr> parseExpr();
  std::unique_ptr<Expr> parseTerm();
  std::unique_ptr<Expr> parseUnary();
  std::unique_ptr<Expr> parsePower();
  std::unique_ptr<Expr> parsePrimary();
  std::unique_ptr<Expr> parseNumber(const Token &tok);
  std::unique_ptr<Expr> parseCall(const Token &name);

  llvm::ArrayRef<Token> toks;
  size_t pos = 0;
  unsigned nesting = 0;
  Diagnoser &diag;
};

} // namespace kconv::frontend

#endif // KCONV_FRONTEND_PARSER_H
