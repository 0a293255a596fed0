// The printer: mal values to text (pr-str, str, the REPL's output). It reads the heap
// and writes only to a std::string, so it allocates no managed memory and its argument
// needs no rooting.
#include <cmath>
#include <cstdio>

#include "interp.hpp"

namespace mal {

namespace {

void print_number(std::string& out, double d) {
  char buf[32];
  if (d == std::trunc(d) && std::fabs(d) < 9.2e18) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(d));
  } else {
    std::snprintf(buf, sizeof buf, "%.17g", d);
  }
  out += buf;
}

void print_string(std::string& out, std::string_view s, bool readably) {
  if (!readably) {
    out += s;
    return;
  }
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out.push_back(c);
    }
  }
  out.push_back('"');
}

}  // namespace

void Interp::print(std::string& out, Value v, bool readably) {
  if (v.is_nil()) {
    out += "nil";
    return;
  }
  if (v.is_bool()) {
    out += v.as_bool() ? "true" : "false";
    return;
  }
  if (v.is_number()) {
    print_number(out, v.as_number());
    return;
  }
  check_stack();  // collections nest arbitrarily deep
  MalObj* o = v.as<MalObj>();
  switch (o->tag) {
    case Tag::kString:
      print_string(out, static_cast<Str*>(o)->view(), readably);
      return;
    case Tag::kSymbol:
      out += static_cast<Name*>(o)->view();
      return;
    case Tag::kKeyword:
      out.push_back(':');
      out += static_cast<Name*>(o)->view();
      return;
    case Tag::kList:
    case Tag::kVector: {
      Seq* s = static_cast<Seq*>(o);
      out.push_back(o->tag == Tag::kList ? '(' : '[');
      for (std::uint32_t i = 0; i < s->count; ++i) {
        if (i > 0) out.push_back(' ');
        print(out, s->at(i), readably);
      }
      out.push_back(o->tag == Tag::kList ? ')' : ']');
      return;
    }
    case Tag::kMap: {
      Map* m = static_cast<Map*>(o);
      out.push_back('{');
      bool first = true;
      for (std::uint32_t i = 0; i < m->slot_count(); ++i) {
        Entry& e = m->entries()[i];
        if (e.key.get() == no_key()) continue;
        if (!first) out.push_back(' ');
        first = false;
        print(out, e.key.get(), readably);
        out.push_back(' ');
        print(out, e.value.get(), readably);
      }
      out.push_back('}');
      return;
    }
    case Tag::kFn:
      out += static_cast<Fn*>(o)->is_macro ? "#<macro>" : "#<function>";
      return;
    case Tag::kBuiltin:
      out += "#<builtin ";
      out += static_cast<Builtin*>(o)->name;
      out.push_back('>');
      return;
    case Tag::kAtom:
      out += "(atom ";
      print(out, static_cast<Atom*>(o)->value.get(), readably);
      out.push_back(')');
      return;
    case Tag::kEnv:
    case Tag::kEnvTable:
      out += "#<environment>";
      return;
  }
}

}  // namespace mal
