// The reader: mal text to mal values, without recursion. Each form read is pushed on the
// interpreter's value stack (a root) at once, and a collection is built from the stack
// when its closing bracket arrives, so no partly built value is out of the collector's
// sight, and nesting depth costs no native stack.
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

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

  /// Reads one form and pushes it. Iterative: nesting costs an entry in `open_`, not a
  /// native stack frame, so no input can overflow the C++ stack here.
  void read_form() {
    for (;;) {
      marrow::HandleScope scope(in_.runtime());  // the Locals of one token
      if (!at_form()) {
        if (open_.empty()) in_.error("unexpected EOF while reading a form");
        if (open_.back().close != 0)
          in_.error(std::string("unbalanced input: expected '") + open_.back().close +
                    "', got EOF");
        in_.error("unbalanced input: unexpected EOF after a reader macro");
      }
      char c = text_[pos_++];
      switch (c) {
        case '(':
          open(Tag::kList, ')');
          continue;
        case '[':
          open(Tag::kVector, ']');
          continue;
        case '{':
          open(Tag::kMap, '}');
          continue;
        case ')':
        case ']':
        case '}':
          if (open_.empty() || open_.back().close != c)
            in_.error(std::string("unbalanced input: unexpected '") + c + "'");
          close();
          break;
        case '\'':
          wrap("quote");
          continue;
        case '`':
          wrap("quasiquote");
          continue;
        case '@':
          wrap("deref");
          continue;
        case '~':
          if (pos_ < text_.size() && text_[pos_] == '@') {
            ++pos_;
            wrap("splice-unquote");
          } else {
            wrap("unquote");
          }
          continue;
        case '^':  // ^meta form => (with-meta form meta): two forms follow
          open_.push_back(Open{in_.sp(), 0, Tag::kList, 2});
          in_.push(Value::object(in_.names().with_meta));
          continue;
        case '"':
          --pos_;
          read_string();
          break;
        default:
          --pos_;
          read_atom();
          break;
      }
      // A form is complete: it completes the reader macros waiting for it, if any.
      while (!open_.empty() && open_.back().close == 0 &&
             in_.sp() - open_.back().base == 1 + open_.back().forms) {
        Open o = open_.back();
        open_.pop_back();
        if (o.forms == 2) std::swap(o.base[1], o.base[2]);  // ^meta form
        Local<Seq> s = in_.new_seq(Tag::kList, o.base, 1 + o.forms);
        in_.pop_to(o.base);
        in_.push(Value::object(s.get()));
      }
      if (open_.empty()) return;
    }
  }

 private:
  /// An unfinished form: a collection waiting for `close`, or (close == 0) a reader
  /// macro waiting for `forms` more forms. Its elements so far are on the value stack
  /// from `base` (which is stable: the value stack never moves).
  struct Open {
    Value* base;
    char close;
    Tag tag;
    int forms;
  };
  // A bound on nesting that keeps `open_` at 64 MiB; deeper input is a mal error.
  static constexpr std::size_t kMaxNesting = std::size_t{4} << 20;

  void open(Tag tag, char close) {
    if (open_.size() >= kMaxNesting) in_.error("input nested too deeply");
    open_.push_back(Open{in_.sp(), close, tag, 0});
  }

  void wrap(const char* symbol) {
    if (open_.size() >= kMaxNesting) in_.error("input nested too deeply");
    open_.push_back(Open{in_.sp(), 0, Tag::kList, 1});
    in_.push(Value::object(in_.intern(Tag::kSymbol, symbol).get()));
  }

  void close() {
    Open o = open_.back();
    open_.pop_back();
    std::size_t n = in_.sp() - o.base;
    Value result;
    if (o.tag == Tag::kMap) {
      if (n % 2 != 0) in_.error("a map literal needs an even number of forms");
      Value none = Value::nil();
      result =
          Value::object(map_assoc(in_, &none, o.base, static_cast<std::uint32_t>(n / 2)).get());
    } else {
      result = Value::object(in_.new_seq(o.tag, o.base, static_cast<std::uint32_t>(n)).get());
    }
    in_.pop_to(o.base);
    in_.push(result);
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
  std::vector<Open> open_;
};

}  // namespace

bool Interp::read(std::string_view text) {
  Reader reader(*this, text);
  if (!reader.at_form()) return false;
  reader.read_form();
  return true;
}

}  // namespace mal
