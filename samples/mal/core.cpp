// The core functions (mal's core.ns), each `Value f(Interp&, Value* args, argc)`. The
// arguments are value-stack slots, so they stay current across allocations: read them
// through `a[i]` again after anything that allocates, never through a saved pointer.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "interp.hpp"

namespace mal {

namespace {

using Args = Value*;
using Argc = std::uint32_t;

void arity(Interp& in, const char* name, Argc argc, Argc min, Argc max) {
  if (argc < min || argc > max) {
    std::string m =
        std::string(name) + ": wrong number of arguments (" + std::to_string(argc) + ")";
    in.error(m);
  }
}

double num(Interp& in, const char* name, Value v) {
  if (!v.is_number())
    in.error(std::string(name) + ": expected a number, got " + in.pr_str(v, true));
  return v.as_number();
}

Seq* seq_arg(Interp& in, const char* name, Value v) {
  if (!is_seq(v))
    in.error(std::string(name) + ": expected a list or vector, got " + in.pr_str(v, true));
  return v.as<Seq>();
}

Map* map_arg(Interp& in, const char* name, Value v) {
  if (!is_tag(v, Tag::kMap))
    in.error(std::string(name) + ": expected a map, got " + in.pr_str(v, true));
  return v.as<Map>();
}

Value string_value(Interp& in, std::string_view s) { return Value::object(in.new_string(s).get()); }

// ---- Arithmetic and comparison ------------------------------------------------------------

Value add(Interp& in, Args a, Argc n) {
  double r = 0;
  for (Argc i = 0; i < n; ++i) r += num(in, "+", a[i]);
  return Value::number(r);
}
Value mul(Interp& in, Args a, Argc n) {
  double r = 1;
  for (Argc i = 0; i < n; ++i) r *= num(in, "*", a[i]);
  return Value::number(r);
}
Value sub(Interp& in, Args a, Argc n) {
  arity(in, "-", n, 1, ~0u);
  double r = num(in, "-", a[0]);
  if (n == 1) return Value::number(-r);
  for (Argc i = 1; i < n; ++i) r -= num(in, "-", a[i]);
  return Value::number(r);
}
Value div(Interp& in, Args a, Argc n) {
  // mal numbers are integers: division truncates, as in the reference implementations.
  arity(in, "/", n, 2, ~0u);
  double r = num(in, "/", a[0]);
  for (Argc i = 1; i < n; ++i) {
    double d = num(in, "/", a[i]);
    if (d == 0) in.error("/: division by zero");
    r = std::trunc(r / d);
  }
  return Value::number(r);
}

template <class Cmp>
Value compare(Interp& in, const char* name, Args a, Argc n, Cmp cmp) {
  arity(in, name, n, 2, 2);
  return Value::boolean(cmp(num(in, name, a[0]), num(in, name, a[1])));
}
Value lt(Interp& in, Args a, Argc n) {
  return compare(in, "<", a, n, [](double x, double y) { return x < y; });
}
Value le(Interp& in, Args a, Argc n) {
  return compare(in, "<=", a, n, [](double x, double y) { return x <= y; });
}
Value gt(Interp& in, Args a, Argc n) {
  return compare(in, ">", a, n, [](double x, double y) { return x > y; });
}
Value ge(Interp& in, Args a, Argc n) {
  return compare(in, ">=", a, n, [](double x, double y) { return x >= y; });
}
Value eq(Interp& in, Args a, Argc n) {
  arity(in, "=", n, 2, 2);
  return Value::boolean(equal(a[0], a[1]));
}

// ---- Lists, vectors and sequences ---------------------------------------------------------

Value list(Interp& in, Args a, Argc n) { return Value::object(in.new_seq(Tag::kList, a, n).get()); }
Value vector(Interp& in, Args a, Argc n) {
  return Value::object(in.new_seq(Tag::kVector, a, n).get());
}
Value is_list(Interp& in, Args a, Argc n) {
  arity(in, "list?", n, 1, 1);
  return Value::boolean(is_tag(a[0], Tag::kList));
}
Value is_vector(Interp& in, Args a, Argc n) {
  arity(in, "vector?", n, 1, 1);
  return Value::boolean(is_tag(a[0], Tag::kVector));
}
Value is_sequential(Interp& in, Args a, Argc n) {
  arity(in, "sequential?", n, 1, 1);
  return Value::boolean(is_seq(a[0]));
}
Value is_empty(Interp& in, Args a, Argc n) {
  arity(in, "empty?", n, 1, 1);
  if (a[0].is_nil()) return Value::boolean(true);
  if (is_tag(a[0], Tag::kMap)) return Value::boolean(a[0].as<Map>()->count == 0);
  if (is_tag(a[0], Tag::kString)) return Value::boolean(a[0].as<Str>()->length == 0);
  return Value::boolean(seq_arg(in, "empty?", a[0])->count == 0);
}
Value count(Interp& in, Args a, Argc n) {
  arity(in, "count", n, 1, 1);
  if (a[0].is_nil()) return Value::number(0);
  if (is_tag(a[0], Tag::kMap)) return Value::number(a[0].as<Map>()->count);
  if (is_tag(a[0], Tag::kString)) return Value::number(a[0].as<Str>()->length);
  return Value::number(seq_arg(in, "count", a[0])->count);
}

Value cons(Interp& in, Args a, Argc n) {
  arity(in, "cons", n, 2, 2);
  std::uint32_t m = a[1].is_nil() ? 0 : seq_arg(in, "cons", a[1])->count;
  Local<Seq> r = in.new_seq_nil(Tag::kList, m + 1);
  r->items()[0] = a[0];
  for (std::uint32_t i = 0; i < m; ++i) r->items()[i + 1] = a[1].as<Seq>()->at(i);
  return Value::object(r.get());
}

Value concat(Interp& in, Args a, Argc n) {
  std::uint64_t total = 0;
  for (Argc i = 0; i < n; ++i)
    if (!a[i].is_nil()) total += seq_arg(in, "concat", a[i])->count;
  if (total > 0xffffffffu) throw marrow::OutOfMemory("concat: list too long");
  Local<Seq> r = in.new_seq_nil(Tag::kList, static_cast<std::uint32_t>(total));
  std::uint32_t k = 0;
  for (Argc i = 0; i < n; ++i) {
    if (a[i].is_nil()) continue;
    Seq* s = a[i].as<Seq>();
    for (std::uint32_t j = 0; j < s->count; ++j) r->items()[k++] = s->at(j);
  }
  return Value::object(r.get());
}

Value vec(Interp& in, Args a, Argc n) {
  arity(in, "vec", n, 1, 1);
  if (is_tag(a[0], Tag::kVector)) return a[0];
  if (a[0].is_nil()) return Value::object(in.new_seq_nil(Tag::kVector, 0).get());
  Seq* s = seq_arg(in, "vec", a[0]);
  Local<Seq> r = in.new_seq_nil(Tag::kVector, s->count);
  s = a[0].as<Seq>();
  for (std::uint32_t i = 0; i < s->count; ++i) r->items()[i] = s->at(i);
  return Value::object(r.get());
}

Value nth(Interp& in, Args a, Argc n) {
  arity(in, "nth", n, 2, 2);
  Seq* s = seq_arg(in, "nth", a[0]);
  double i = num(in, "nth", a[1]);
  if (i < 0 || i >= s->count || i != std::trunc(i)) in.error("nth: index out of range");
  return s->at(static_cast<std::uint32_t>(i));
}

Value first(Interp& in, Args a, Argc n) {
  arity(in, "first", n, 1, 1);
  if (a[0].is_nil()) return Value::nil();
  Seq* s = seq_arg(in, "first", a[0]);
  return s->count == 0 ? Value::nil() : s->at(0);
}

Value rest(Interp& in, Args a, Argc n) {
  arity(in, "rest", n, 1, 1);
  std::uint32_t m = a[0].is_nil() ? 0 : seq_arg(in, "rest", a[0])->count;
  Local<Seq> r = in.new_seq_nil(Tag::kList, m > 0 ? m - 1 : 0);
  for (std::uint32_t i = 1; i < m; ++i) r->items()[i - 1] = a[0].as<Seq>()->at(i);
  return Value::object(r.get());
}

Value apply_fn(Interp& in, Args a, Argc n) {
  // (apply f x y [z w]) calls f with x y z w: f and the arguments go on the stack.
  arity(in, "apply", n, 1, ~0u);
  Value* base = in.sp();
  for (Argc i = 0; i + 1 < n; ++i) in.push(a[i]);
  std::uint32_t spread = 0;
  if (n > 1) {
    Value last = a[n - 1];
    if (!last.is_nil()) {
      Seq* s = seq_arg(in, "apply", last);
      for (std::uint32_t i = 0; i < s->count; ++i) in.push(s->at(i));
      spread = s->count;
    }
  }
  Argc argc = (n > 1 ? n - 2 : 0) + spread;
  Value r = in.apply(base + 1, argc);
  in.pop_to(base);
  return r;
}

Value map_fn(Interp& in, Args a, Argc n) {
  arity(in, "map", n, 2, 2);
  std::uint32_t m = a[1].is_nil() ? 0 : seq_arg(in, "map", a[1])->count;
  Local<Seq> r = in.new_seq_nil(Tag::kList, m);
  for (std::uint32_t i = 0; i < m; ++i) {
    marrow::HandleScope scope(in.runtime());
    Value* base = in.sp();
    in.push(a[0]);
    in.push(a[1].as<Seq>()->at(i));
    Value v = in.apply(base + 1, 1);
    in.pop_to(base);
    r->items()[i] = v;
  }
  return Value::object(r.get());
}

Value conj(Interp& in, Args a, Argc n) {
  arity(in, "conj", n, 1, ~0u);
  Seq* s = seq_arg(in, "conj", a[0]);
  std::uint32_t m = s->count;
  Tag tag = s->tag;
  Local<Seq> r = in.new_seq_nil(tag, m + n - 1);
  s = a[0].as<Seq>();
  if (tag == Tag::kList) {  // each new element goes to the front
    for (Argc i = 1; i < n; ++i) r->items()[n - 1 - i] = a[i];
    for (std::uint32_t i = 0; i < m; ++i) r->items()[n - 1 + i] = s->at(i);
  } else {
    for (std::uint32_t i = 0; i < m; ++i) r->items()[i] = s->at(i);
    for (Argc i = 1; i < n; ++i) r->items()[m + i - 1] = a[i];
  }
  return Value::object(r.get());
}

Value seq_fn(Interp& in, Args a, Argc n) {
  arity(in, "seq", n, 1, 1);
  Value v = a[0];
  if (v.is_nil()) return v;
  if (is_tag(v, Tag::kString)) {
    std::uint32_t len = v.as<Str>()->length;
    if (len == 0) return Value::nil();
    Local<Seq> r = in.new_seq_nil(Tag::kList, len);
    for (std::uint32_t i = 0; i < len; ++i) {
      marrow::HandleScope scope(in.runtime());
      char c = a[0].as<Str>()->chars()[i];
      Local<Str> one = in.new_string(std::string_view(&c, 1));
      r->items()[i] = Value::object(one.get());
    }
    return Value::object(r.get());
  }
  Seq* s = seq_arg(in, "seq", v);
  if (s->count == 0) return Value::nil();
  if (s->tag == Tag::kList) return v;
  Local<Seq> r = in.new_seq_nil(Tag::kList, s->count);
  for (std::uint32_t i = 0; i < r->count; ++i) r->items()[i] = a[0].as<Seq>()->at(i);
  return Value::object(r.get());
}

// ---- Predicates ---------------------------------------------------------------------------

template <Tag T>
Value is_type(Interp& in, Args a, Argc n) {
  arity(in, "type predicate", n, 1, 1);
  return Value::boolean(is_tag(a[0], T));
}
Value is_nil(Interp& in, Args a, Argc n) {
  arity(in, "nil?", n, 1, 1);
  return Value::boolean(a[0].is_nil());
}
Value is_true(Interp& in, Args a, Argc n) {
  arity(in, "true?", n, 1, 1);
  return Value::boolean(a[0] == Value::boolean(true));
}
Value is_false(Interp& in, Args a, Argc n) {
  arity(in, "false?", n, 1, 1);
  return Value::boolean(a[0] == Value::boolean(false));
}
Value is_number(Interp& in, Args a, Argc n) {
  arity(in, "number?", n, 1, 1);
  return Value::boolean(a[0].is_number());
}
Value is_fn(Interp& in, Args a, Argc n) {
  arity(in, "fn?", n, 1, 1);
  return Value::boolean(is_tag(a[0], Tag::kBuiltin) ||
                        (is_tag(a[0], Tag::kFn) && !a[0].as<Fn>()->is_macro));
}
Value is_macro(Interp& in, Args a, Argc n) {
  arity(in, "macro?", n, 1, 1);
  return Value::boolean(is_tag(a[0], Tag::kFn) && a[0].as<Fn>()->is_macro);
}

// ---- Symbols and keywords -----------------------------------------------------------------

Value symbol(Interp& in, Args a, Argc n) {
  arity(in, "symbol", n, 1, 1);
  if (is_tag(a[0], Tag::kSymbol)) return a[0];
  if (!is_tag(a[0], Tag::kString)) in.error("symbol: expected a string");
  std::string text(a[0].as<Str>()->view());
  return Value::object(in.intern(Tag::kSymbol, text).get());
}

Value keyword(Interp& in, Args a, Argc n) {
  arity(in, "keyword", n, 1, 1);
  if (is_tag(a[0], Tag::kKeyword)) return a[0];
  if (!is_tag(a[0], Tag::kString)) in.error("keyword: expected a string");
  std::string text(a[0].as<Str>()->view());
  return Value::object(in.intern(Tag::kKeyword, text).get());
}

// ---- Strings and output -------------------------------------------------------------------

std::string join(Interp& in, Args a, Argc n, bool readably, const char* sep) {
  std::string out;
  for (Argc i = 0; i < n; ++i) {
    if (i > 0) out += sep;
    in.print(out, a[i], readably);
  }
  return out;
}

Value pr_str(Interp& in, Args a, Argc n) { return string_value(in, join(in, a, n, true, " ")); }
Value str(Interp& in, Args a, Argc n) { return string_value(in, join(in, a, n, false, "")); }
Value prn(Interp& in, Args a, Argc n) {
  std::string line = join(in, a, n, true, " ");
  line.push_back('\n');
  std::fputs(line.c_str(), stdout);
  return Value::nil();
}
Value println(Interp& in, Args a, Argc n) {
  std::string line = join(in, a, n, false, " ");
  line.push_back('\n');
  std::fputs(line.c_str(), stdout);
  return Value::nil();
}

Value read_string(Interp& in, Args a, Argc n) {
  arity(in, "read-string", n, 1, 1);
  if (!is_tag(a[0], Tag::kString)) in.error("read-string: expected a string");
  // The reader allocates, so it reads a copy of the text, not the (moving) string.
  std::string text(a[0].as<Str>()->view());
  Value* base = in.sp();
  if (!in.read(text)) return Value::nil();
  Value form = base[0];
  in.pop_to(base);
  return form;
}

Value slurp(Interp& in, Args a, Argc n) {
  arity(in, "slurp", n, 1, 1);
  if (!is_tag(a[0], Tag::kString)) in.error("slurp: expected a file name");
  std::string path(a[0].as<Str>()->view());
  std::ifstream file(path, std::ios::binary);
  if (!file) in.error("slurp: cannot open '" + path + "'");
  std::ostringstream text;
  text << file.rdbuf();
  return string_value(in, text.str());
}

Value readline_fn(Interp& in, Args a, Argc n) {
  arity(in, "readline", n, 1, 1);
  if (!is_tag(a[0], Tag::kString)) in.error("readline: expected a prompt string");
  std::string prompt(a[0].as<Str>()->view());
  std::string line;
  if (in.read_line == nullptr || !in.read_line(prompt.c_str(), line)) return Value::nil();
  return string_value(in, line);
}

Value time_ms(Interp&, Args, Argc) {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return Value::number(
      static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()));
}

Value throw_fn(Interp& in, Args a, Argc n) {
  arity(in, "throw", n, 1, 1);
  in.throw_value(a[0]);
}

Value eval_fn(Interp& in, Args a, Argc n) {
  arity(in, "eval", n, 1, 1);
  return in.eval(a[0], in.repl_env());
}

// ---- Atoms --------------------------------------------------------------------------------

Atom* atom_arg(Interp& in, const char* name, Value v) {
  if (!is_tag(v, Tag::kAtom)) in.error(std::string(name) + ": expected an atom");
  return v.as<Atom>();
}

Value atom(Interp& in, Args a, Argc n) {
  arity(in, "atom", n, 1, 1);
  Local<Atom> at = in.runtime().make<Atom>();
  at->value = a[0];
  return Value::object(at.get());
}
Value deref(Interp& in, Args a, Argc n) {
  arity(in, "deref", n, 1, 1);
  return atom_arg(in, "deref", a[0])->value.get();
}
Value reset(Interp& in, Args a, Argc n) {
  arity(in, "reset!", n, 2, 2);
  atom_arg(in, "reset!", a[0])->value = a[1];
  return a[1];
}
Value swap(Interp& in, Args a, Argc n) {
  // (swap! atom f x y) sets atom to (f @atom x y).
  arity(in, "swap!", n, 2, ~0u);
  Value* base = in.sp();
  in.push(a[1]);
  in.push(atom_arg(in, "swap!", a[0])->value.get());
  for (Argc i = 2; i < n; ++i) in.push(a[i]);
  Value v = in.apply(base + 1, n - 1);
  in.pop_to(base);
  a[0].as<Atom>()->value = v;
  return v;
}

// ---- Hash maps ----------------------------------------------------------------------------

Value hash_map(Interp& in, Args a, Argc n) {
  if (n % 2 != 0) in.error("hash-map: needs an even number of arguments");
  Value none = Value::nil();
  return Value::object(map_assoc(in, &none, a, n / 2).get());
}
Value assoc(Interp& in, Args a, Argc n) {
  arity(in, "assoc", n, 1, ~0u);
  if (!a[0].is_nil()) map_arg(in, "assoc", a[0]);
  if ((n - 1) % 2 != 0) in.error("assoc: needs key/value pairs");
  return Value::object(map_assoc(in, &a[0], a + 1, (n - 1) / 2).get());
}
Value dissoc(Interp& in, Args a, Argc n) {
  arity(in, "dissoc", n, 1, ~0u);
  if (a[0].is_nil()) return a[0];
  map_arg(in, "dissoc", a[0]);
  return Value::object(map_dissoc(in, &a[0], a + 1, n - 1).get());
}
Value get(Interp& in, Args a, Argc n) {
  arity(in, "get", n, 2, 2);
  if (a[0].is_nil()) return Value::nil();
  Member<Value>* v = map_get(map_arg(in, "get", a[0]), a[1]);
  return v == nullptr ? Value::nil() : v->get();
}
Value contains(Interp& in, Args a, Argc n) {
  arity(in, "contains?", n, 2, 2);
  if (a[0].is_nil()) return Value::boolean(false);
  return Value::boolean(map_get(map_arg(in, "contains?", a[0]), a[1]) != nullptr);
}
Value keys_or_vals(Interp& in, Args a, Argc n, bool keys) {
  arity(in, keys ? "keys" : "vals", n, 1, 1);
  Map* m = map_arg(in, keys ? "keys" : "vals", a[0]);
  Local<Seq> r = in.new_seq_nil(Tag::kList, m->count);
  m = a[0].as<Map>();
  std::uint32_t k = 0;
  for (std::uint32_t i = 0; i < m->slot_count(); ++i) {
    Entry& e = m->entries()[i];
    if (e.key.get() == no_key()) continue;
    r->items()[k++] = keys ? e.key.get() : e.value.get();
  }
  return Value::object(r.get());
}
Value keys(Interp& in, Args a, Argc n) { return keys_or_vals(in, a, n, true); }
Value vals(Interp& in, Args a, Argc n) { return keys_or_vals(in, a, n, false); }

// ---- Metadata -----------------------------------------------------------------------------

Value meta(Interp& in, Args a, Argc n) {
  arity(in, "meta", n, 1, 1);
  if (!a[0].is_object()) return Value::nil();
  MalObj* o = a[0].as<MalObj>();
  switch (o->tag) {
    case Tag::kList:
    case Tag::kVector:
      return static_cast<Seq*>(o)->meta.get();
    case Tag::kMap:
      return static_cast<Map*>(o)->meta.get();
    case Tag::kFn:
      return static_cast<Fn*>(o)->meta.get();
    case Tag::kBuiltin:
      return static_cast<Builtin*>(o)->meta.get();
    default:
      return Value::nil();
  }
}

Value with_meta(Interp& in, Args a, Argc n) {
  // A shallow copy with the new metadata: the original keeps its own.
  arity(in, "with-meta", n, 2, 2);
  if (!a[0].is_object()) in.error("with-meta: expected a collection or a function");
  switch (a[0].as<MalObj>()->tag) {
    case Tag::kList:
    case Tag::kVector: {
      Local<Seq> r = in.new_seq_nil(a[0].as<Seq>()->tag, a[0].as<Seq>()->count);
      Seq* s = a[0].as<Seq>();
      for (std::uint32_t i = 0; i < s->count; ++i) r->items()[i] = s->at(i);
      r->meta = a[1];
      return Value::object(r.get());
    }
    case Tag::kMap: {
      Local<Map> r = map_assoc(in, &a[0], nullptr, 0);
      r->meta = a[1];
      return Value::object(r.get());
    }
    case Tag::kFn: {
      Local<Fn> r = in.new_fn();
      Fn* f = a[0].as<Fn>();
      r->is_macro = f->is_macro;
      r->variadic = f->variadic;
      r->nfixed = f->nfixed;
      r->params = f->params;
      r->body = f->body;
      r->env = f->env;
      r->meta = a[1];
      return Value::object(r.get());
    }
    case Tag::kBuiltin: {
      Local<Builtin> r = in.new_builtin(a[0].as<Builtin>()->fn, a[0].as<Builtin>()->name);
      r->meta = a[1];
      return Value::object(r.get());
    }
    default:
      in.error("with-meta: expected a collection or a function");
  }
}

}  // namespace

// The step of the process guide where each function first appears (--step=N defines
// only those up to N).
const CoreEntry kCore[] = {
    {"+", add, 2},
    {"-", sub, 2},
    {"*", mul, 2},
    {"/", div, 2},
    {"=", eq, 4},
    {"<", lt, 4},
    {"<=", le, 4},
    {">", gt, 4},
    {">=", ge, 4},
    {"list", list, 4},
    {"list?", is_list, 4},
    {"empty?", is_empty, 4},
    {"count", count, 4},
    {"pr-str", pr_str, 4},
    {"str", str, 4},
    {"prn", prn, 4},
    {"println", println, 4},
    {"read-string", read_string, 6},
    {"slurp", slurp, 6},
    {"eval", eval_fn, 6},
    {"atom", atom, 6},
    {"atom?", is_type<Tag::kAtom>, 6},
    {"deref", deref, 6},
    {"reset!", reset, 6},
    {"swap!", swap, 6},
    {"cons", cons, 7},
    {"concat", concat, 7},
    {"vec", vec, 7},
    {"nth", nth, 8},
    {"first", first, 8},
    {"rest", rest, 8},
    {"throw", throw_fn, 9},
    {"apply", apply_fn, 9},
    {"map", map_fn, 9},
    {"nil?", is_nil, 9},
    {"true?", is_true, 9},
    {"false?", is_false, 9},
    {"symbol?", is_type<Tag::kSymbol>, 9},
    {"symbol", symbol, 9},
    {"keyword", keyword, 9},
    {"keyword?", is_type<Tag::kKeyword>, 9},
    {"vector", vector, 9},
    {"vector?", is_vector, 9},
    {"sequential?", is_sequential, 9},
    {"hash-map", hash_map, 9},
    {"map?", is_type<Tag::kMap>, 9},
    {"assoc", assoc, 9},
    {"dissoc", dissoc, 9},
    {"get", get, 9},
    {"contains?", contains, 9},
    {"keys", keys, 9},
    {"vals", vals, 9},
    {"readline", readline_fn, kStepA},
    {"time-ms", time_ms, kStepA},
    {"meta", meta, kStepA},
    {"with-meta", with_meta, kStepA},
    {"fn?", is_fn, kStepA},
    {"string?", is_type<Tag::kString>, kStepA},
    {"number?", is_number, kStepA},
    {"seq", seq_fn, kStepA},
    {"conj", conj, kStepA},
    {"macro?", is_macro, 8},
};
const std::size_t kCoreCount = sizeof(kCore) / sizeof(kCore[0]);

}  // namespace mal
