//===- Lexer.cpp - .kconv tokens ------------------------------------------===//
#include "kconv/Frontend/Lexer.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

using llvm::StringRef;

namespace kconv::frontend {
namespace {
bool isIdentStart(char c) { return llvm::isAlpha(c) || c == '_'; }
bool isIdentChar(char c) { return llvm::isAlnum(c) || c == '_'; }
} // namespace

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

std::vector<Token> Lexer::lexAll() {
  std::vector<Token> tokens;
  do
    tokens.push_back(next());
  while (!tokens.back().is(Tok::Eof));
  return tokens;
}

Token Lexer::make(Tok kind, size_t begin, size_t end) {
  Token tok;
  tok.kind = kind;
  tok.text = buf.slice(begin, end);
  tok.line = line;
  tok.col = static_cast<unsigned>(begin - lineStart + 1);
  pos = end;
  return tok;
}

Token Lexer::next() {
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
Token Lexer::lexNumber(size_t begin) {
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

} // namespace kconv::frontend
