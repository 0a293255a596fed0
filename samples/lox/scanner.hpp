// The Lox scanner: turns source text into tokens on demand (the compiler pulls one
// token at a time; nothing is buffered). Tokens point into the source, which must
// outlive them. Never allocates.
#pragma once
#include <cstdint>
#include <string_view>

namespace lox {

enum class Tok : std::uint8_t {
  // Single-character tokens.
  kLeftParen,
  kRightParen,
  kLeftBrace,
  kRightBrace,
  kComma,
  kDot,
  kMinus,
  kPlus,
  kSemicolon,
  kSlash,
  kStar,
  // One or two character tokens.
  kBang,
  kBangEqual,
  kEqual,
  kEqualEqual,
  kGreater,
  kGreaterEqual,
  kLess,
  kLessEqual,
  // Literals.
  kIdentifier,
  kString,
  kNumber,
  // Keywords.
  kAnd,
  kClass,
  kElse,
  kFalse,
  kFor,
  kFun,
  kIf,
  kNil,
  kOr,
  kPrint,
  kReturn,
  kSuper,
  kThis,
  kTrue,
  kVar,
  kWhile,
  kError,
  kEof,
  kCount
};

struct Token {
  Tok type = Tok::kEof;
  const char* start = "";  // for kError: the message (a static string)
  std::uint32_t length = 0;
  int line = 1;
  std::string_view text() const { return {start, length}; }
};

class Scanner {
 public:
  /// Scans all of `source`. A NUL byte is an ordinary byte: inside a string literal or a
  /// comment it is part of it, elsewhere it is an "Unexpected character." (it does not
  /// end the program, as it would in a scanner that reads C strings).
  explicit Scanner(std::string_view source);
  Token next();

 private:
  bool at_end() const { return current_ == end_; }
  char advance() { return *current_++; }
  char peek() const { return at_end() ? '\0' : *current_; }
  char peek_next() const { return current_ + 1 >= end_ ? '\0' : current_[1]; }
  bool match(char expected);
  Token make(Tok type) const;
  Token error(const char* message) const;
  void skip_whitespace();
  Token string();
  Token number();
  Token identifier();
  Tok identifier_type() const;

  const char* start_;
  const char* current_;
  const char* end_;
  int line_ = 1;
};

}  // namespace lox
