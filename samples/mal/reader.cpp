// The reader: mal text to mal values. Each form read is pushed on the interpreter's
// value stack (a root) at once, and a collection is built from the stack when its
// closing bracket arrives, so no partly built value is ever out of the collector's sight.
#include <cstdlib>
#include <string>

#include "interp.hpp"

namespace mal {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ','; }

/// Characters that end a plain token (symbol, number, keyword).
bool is_delimiter(char c) {
  return is_space(c) || c == '[' || c == ']' || c == '{' || c == '}' || c == '(' || c == ')' ||
         c == '\'' || c == '"' || c == '`' || c == ';';
}

bool is_integer(std::string_view t) {
  std::size_t i = (t.size() > 1 && t[0] == '-') ? 1 : 0;
  if (i == t.size()) return false;
  for (; i < t.size(); ++i)
    if (t[i] < '0' || t[i] > '9') return false;
  return true;
}

class Reader {
 public:
  Reader(Interp& in, std::string_view text) : in_(in), text_(text) {}

  /// Skips blanks and comments; false at the end of the text.
  bool at_form() {
    for (;;) {
      while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
      if (pos_ < text_.size() && text_[pos_] == ';') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
        continue;
      }
      return pos_ < text_.size();
    }
  }

  /// Reads one form and pushes it.
  void read_form() {
    Interp::check_stack();  // nesting depth is bounded by the native stack, not a count
    marrow::HandleScope scope(in_.runtime());
    if (!at_form()) in_.error("unexpected EOF while reading a form");
    char c = text_[pos_];
    switch (c) {
      case '(':
        ++pos_;
        return read_seq(Tag::kList, ')');
      case '[':
        ++pos_;
        return read_seq(Tag::kVector, ']');
      case '{':
        ++pos_;
        return read_map();
      case ')':
      case ']':
      case '}':
        in_.error(std::string("unbalanced input: unexpected '") + c + "'");
      case '\'':
        ++pos_;
        return read_wrapped("quote");
      case '`':
        ++pos_;
        return read_wrapped("quasiquote");
      case '@':
        ++pos_;
        return read_wrapped("deref");
      case '~':
        ++pos_;
        if (pos_ < text_.size() && text_[pos_] == '@') {
          ++pos_;
          return read_wrapped("splice-unquote");
        }
        return read_wrapped("unquote");
      case '^': {  // ^meta form => (with-meta form meta)
        ++pos_;
        Value* base = in_.sp();
        in_.push(Value::object(in_.names().with_meta));
        read_form();  // the metadata, at base[1]
        read_form();  // the form, at base[2]
        std::swap(base[1], base[2]);
        Local<Seq> s = in_.new_seq(Tag::kList, base, 3);
        in_.pop_to(base);
        in_.push(Value::object(s.get()));
        return;
      }
      case '"':
        return read_string();
      default:
        return read_atom();
    }
  }

 private:
  void read_seq(Tag tag, char close) {
    Value* base = in_.sp();
    for (;;) {
      if (!at_form()) in_.error(std::string("unbalanced input: expected '") + close + "', got EOF");
      if (text_[pos_] == close) {
        ++pos_;
        break;
      }
      read_form();
    }
    std::size_t n = in_.sp() - base;
    Local<Seq> s = in_.new_seq(tag, base, static_cast<std::uint32_t>(n));
    in_.pop_to(base);
    in_.push(Value::object(s.get()));
  }

  void read_map() {
    Value* base = in_.sp();
    for (;;) {
      if (!at_form()) in_.error("unbalanced input: expected '}', got EOF");
      if (text_[pos_] == '}') {
        ++pos_;
        break;
      }
      read_form();
    }
    std::size_t n = in_.sp() - base;
    if (n % 2 != 0) in_.error("a map literal needs an even number of forms");
    Value none = Value::nil();
    Local<Map> m = map_assoc(in_, &none, base, static_cast<std::uint32_t>(n / 2));
    in_.pop_to(base);
    in_.push(Value::object(m.get()));
  }

  /// 'x => (quote x), and the other reader macros of one form.
  void read_wrapped(const char* symbol) {
    Value* base = in_.sp();
    Local<Name> name = in_.intern(Tag::kSymbol, symbol);
    in_.push(Value::object(name.get()));
    read_form();
    Local<Seq> s = in_.new_seq(Tag::kList, base, 2);
    in_.pop_to(base);
    in_.push(Value::object(s.get()));
  }

  void read_string() {
    std::string out;
    ++pos_;  // the opening quote
    for (;;) {
      if (pos_ >= text_.size()) in_.error("unbalanced string: expected '\"', got EOF");
      char c = text_[pos_++];
      if (c == '"') break;
      if (c == '\\') {
        if (pos_ >= text_.size()) in_.error("unbalanced string: expected '\"', got EOF");
        char e = text_[pos_++];
        out.push_back(e == 'n' ? '\n' : e);  // \\ and \" stand for themselves
      } else {
        out.push_back(c);
      }
    }
    Local<Str> s = in_.new_string(out);
    in_.push(Value::object(s.get()));
  }

  void read_atom() {
    std::size_t start = pos_;
    while (pos_ < text_.size() && !is_delimiter(text_[pos_])) ++pos_;
    std::string_view token = text_.substr(start, pos_ - start);
    if (is_integer(token)) {
      in_.push(Value::number(std::strtod(std::string(token).c_str(), nullptr)));
    } else if (token == "nil") {
      in_.push(Value::nil());
    } else if (token == "true") {
      in_.push(Value::boolean(true));
    } else if (token == "false") {
      in_.push(Value::boolean(false));
    } else if (token[0] == ':') {
      in_.push(Value::object(in_.intern(Tag::kKeyword, token.substr(1)).get()));
    } else {
      in_.push(Value::object(in_.intern(Tag::kSymbol, token).get()));
    }
  }

  Interp& in_;
  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

bool Interp::read(std::string_view text) {
  Reader reader(*this, text);
  if (!reader.at_form()) return false;
  reader.read_form();
  return true;
}

}  // namespace mal
