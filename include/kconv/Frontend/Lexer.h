//===- Lexer.h - .kconv tokens ----------------------------------*- C++ -*-===//
//
// Bytes -> tokens with line/column; comments and blanks are dropped, newlines are tokens (one
// statement per line). Bad bytes and malformed numbers become error tokens that the parser
// reports where they stand.
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_FRONTEND_LEXER_H
#define KCONV_FRONTEND_LEXER_H

#include "llvm/ADT/StringRef.h"

#include <string>
#include <vector>

namespace kconv::frontend {

constexpr size_t kMaxNumberLength = 256; // characters in a number literal
constexpr size_t kMaxQuotedLength = 64;  // longest name quoted in full in a message

// clang-format off
enum class Tok {
  Eof, Newline, Ident, Integer, Real,
  LParen, RParen, Comma, Equal, Plus, Minus, Star, Slash, StarStar, Pipe,
  BadChar, BadNumber,
};
// clang-format on

struct Token {
  Tok kind = Tok::Eof;
  llvm::StringRef text;
  unsigned line = 1, col = 1;
  const char *problem = nullptr; // BadNumber: what is wrong with it
  bool is(Tok k) const { return kind == k; }
};

/// `text` in single quotes, shortened when very long (fuzzed input has megabyte identifiers).
std::string quote(llvm::StringRef text);

/// How a message names a token: "identifier 'X'", "end of line", "byte 0x80", ...
std::string describe(const Token &tok);

class Lexer {
public:
  explicit Lexer(llvm::StringRef buffer) : buf(buffer) {}

  /// All tokens of the buffer, ending with Eof.
  std::vector<Token> lexAll();

private:
  Token make(Tok kind, size_t begin, size_t end);
  Token next();
  Token lexNumber(size_t begin);

  llvm::StringRef buf;
  size_t pos = 0;
  unsigned line = 1;
  size_t lineStart = 0;
};

} // namespace kconv::frontend

#endif // KCONV_FRONTEND_LEXER_H
