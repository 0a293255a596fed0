// The Lox scanner (see scanner.hpp). Keywords are recognised by a switch on the first
// letters, as in clox: no table, no hashing.
#include "scanner.hpp"

#include <cstring>
#include <limits>

namespace lox {

namespace {
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

Scanner::Scanner(std::string_view source)
    : start_(source.data()), current_(source.data()), end_(source.data() + source.size()) {}

bool Scanner::match(char expected) {
  if (at_end() || *current_ != expected) return false;
  ++current_;
  return true;
}

Token Scanner::make(Tok type) const {
  std::size_t n = static_cast<std::size_t>(current_ - start_);
  if (n > std::numeric_limits<std::uint32_t>::max()) return error("Token too long.");
  return Token{type, start_, static_cast<std::uint32_t>(n), line_};
}

Token Scanner::error(const char* message) const {
  return Token{Tok::kError, message, static_cast<std::uint32_t>(std::strlen(message)), line_};
}

void Scanner::skip_whitespace() {
  for (;;) {
    switch (peek()) {
      case ' ':
      case '\r':
      case '\t':
        advance();
        break;
      case '\n':
        ++line_;
        advance();
        break;
      case '/':
        if (peek_next() != '/') return;
        while (peek() != '\n' && !at_end()) advance();
        break;
      default:
        return;
    }
  }
}

Token Scanner::string() {
  while (peek() != '"' && !at_end()) {
    if (peek() == '\n') ++line_;
    advance();
  }
  if (at_end()) return error("Unterminated string.");
  advance();  // the closing quote
  return make(Tok::kString);
}

Token Scanner::number() {
  while (is_digit(peek())) advance();
  if (peek() == '.' && is_digit(peek_next())) {
    advance();
    while (is_digit(peek())) advance();
  }
  return make(Tok::kNumber);
}

Tok Scanner::identifier_type() const {
  auto rest = [this](std::size_t from, const char* tail, Tok type) {
    std::size_t n = std::strlen(tail);
    if (static_cast<std::size_t>(current_ - start_) == from + n &&
        std::memcmp(start_ + from, tail, n) == 0)
      return type;
    return Tok::kIdentifier;
  };
  std::size_t len = static_cast<std::size_t>(current_ - start_);
  switch (start_[0]) {
    case 'a':
      return rest(1, "nd", Tok::kAnd);
    case 'c':
      return rest(1, "lass", Tok::kClass);
    case 'e':
      return rest(1, "lse", Tok::kElse);
    case 'f':
      if (len > 1) {
        switch (start_[1]) {
          case 'a':
            return rest(2, "lse", Tok::kFalse);
          case 'o':
            return rest(2, "r", Tok::kFor);
          case 'u':
            return rest(2, "n", Tok::kFun);
        }
      }
      break;
    case 'i':
      return rest(1, "f", Tok::kIf);
    case 'n':
      return rest(1, "il", Tok::kNil);
    case 'o':
      return rest(1, "r", Tok::kOr);
    case 'p':
      return rest(1, "rint", Tok::kPrint);
    case 'r':
      return rest(1, "eturn", Tok::kReturn);
    case 's':
      return rest(1, "uper", Tok::kSuper);
    case 't':
      if (len > 1) {
        switch (start_[1]) {
          case 'h':
            return rest(2, "is", Tok::kThis);
          case 'r':
            return rest(2, "ue", Tok::kTrue);
        }
      }
      break;
    case 'v':
      return rest(1, "ar", Tok::kVar);
    case 'w':
      return rest(1, "hile", Tok::kWhile);
  }
  return Tok::kIdentifier;
}

Token Scanner::identifier() {
  while (is_alpha(peek()) || is_digit(peek())) advance();
  return make(identifier_type());
}

Token Scanner::next() {
  skip_whitespace();
  start_ = current_;
  if (at_end()) return make(Tok::kEof);

  char c = advance();
  if (is_alpha(c)) return identifier();
  if (is_digit(c)) return number();

  switch (c) {
    case '(':
      return make(Tok::kLeftParen);
    case ')':
      return make(Tok::kRightParen);
    case '{':
      return make(Tok::kLeftBrace);
    case '}':
      return make(Tok::kRightBrace);
    case ';':
      return make(Tok::kSemicolon);
    case ',':
      return make(Tok::kComma);
    case '.':
      return make(Tok::kDot);
    case '-':
      return make(Tok::kMinus);
    case '+':
      return make(Tok::kPlus);
    case '/':
      return make(Tok::kSlash);
    case '*':
      return make(Tok::kStar);
    case '!':
      return make(match('=') ? Tok::kBangEqual : Tok::kBang);
    case '=':
      return make(match('=') ? Tok::kEqualEqual : Tok::kEqual);
    case '<':
      return make(match('=') ? Tok::kLessEqual : Tok::kLess);
    case '>':
      return make(match('=') ? Tok::kGreaterEqual : Tok::kGreater);
    case '"':
      return string();
  }
  return error("Unexpected character.");
}

}  // namespace lox
