// The interpreter's state and its contract with the collector: the root source (value
// stack, REPL environment, well-known names, pending exception), the weak symbol table,
// allocation helpers and startup. Nothing here evaluates mal code except run_prelude.
#include "interp.hpp"

#include <cstdlib>
#include <new>

namespace mal {

namespace {

// 8 Mi slots (64 MiB of address space, committed only as touched): deep enough for any
// recursion the native stack allows and for a list literal of millions of elements.
constexpr std::size_t kValueStackSlots = std::size_t{8} << 20;

}  // namespace

// ---- The weak intern table ------------------------------------------------------------

Name* InternTable::find(Tag kind, std::string_view text, std::uint32_t hash) const {
  std::size_t mask = slots_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.name == nullptr) return nullptr;
    if (s.name != tombstone() && s.hash == hash && s.name->tag == kind && s.name->view() == text)
      return s.name;
  }
}

void InternTable::insert(Name* name) {
  if ((used_ + 1) * 2 > slots_.size()) grow();
  std::size_t mask = slots_.size() - 1;
  std::size_t i = name->hash & mask;
  while (slots_[i].name != nullptr && slots_[i].name != tombstone()) i = (i + 1) & mask;
  if (slots_[i].name == nullptr) ++used_;
  slots_[i] = Slot{name, name->hash};
  ++live_;
}

void InternTable::grow() {
  // Rehash from the hashes kept in the slots: growing never reads a name.
  std::vector<Slot> old = std::move(slots_);
  std::size_t size = old.size();
  if (live_ * 4 >= size) size *= 2;  // otherwise mostly tombstones: same size, cleaned
  slots_.assign(size, Slot{nullptr, 0});
  used_ = live_;
  std::size_t mask = size - 1;
  for (const Slot& s : old) {
    if (s.name == nullptr || s.name == tombstone()) continue;
    std::size_t i = s.hash & mask;
    while (slots_[i].name != nullptr) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

void InternTable::process_weak(marrow::WeakProcessor& w) {
  // Runs inside every collection: must not allocate or read a name's contents (a dead
  // name's memory may already be reused).
  for (Slot& s : slots_) {
    if (s.name == nullptr || s.name == tombstone()) continue;
    if (Name* now = w.update(s.name)) {
      s.name = now;
    } else {
      s.name = tombstone();
      --live_;
    }
  }
}

// ---- Construction and roots -----------------------------------------------------------

Interp::Interp(const marrow::Config& config, int step) : rt_(config), step_(step) {
  stack_base_ = static_cast<Value*>(std::calloc(kValueStackSlots, sizeof(Value)));
  if (stack_base_ == nullptr) throw std::bad_alloc();
  sp_ = stack_base_;
  stack_end_ = stack_base_ + kValueStackSlots;
  rt_.add_root_source(this);
  rt_.set_near_heap_limit_callback(
      [this](std::size_t limit, std::size_t needed) { return lend_headroom(limit, needed); });

  marrow::HandleScope scope(rt_);
  // Every raw pointer below is stored into a root (names_, repl_env_, oom_string_) before
  // the next allocation.
  oom_string_ = new_string("Out of memory").get();
  overflow_string_ = new_string("Stack overflow: recursion too deep").get();
  names_.amp = intern(Tag::kSymbol, "&").get();
  names_.catch_ = intern(Tag::kSymbol, "catch*").get();
  names_.unquote = intern(Tag::kSymbol, "unquote").get();
  names_.splice_unquote = intern(Tag::kSymbol, "splice-unquote").get();
  names_.cons = intern(Tag::kSymbol, "cons").get();
  names_.concat = intern(Tag::kSymbol, "concat").get();
  names_.vec = intern(Tag::kSymbol, "vec").get();
  names_.deref = intern(Tag::kSymbol, "deref").get();
  names_.with_meta = intern(Tag::kSymbol, "with-meta").get();
  names_.debug_eval = intern(Tag::kSymbol, "DEBUG-EVAL").get();
  names_.argv = intern(Tag::kSymbol, "*ARGV*").get();
  names_.quote = intern_special("quote", Special::kQuote);
  names_.quasiquote = intern_special("quasiquote", Special::kQuasiquote);
  // The other special forms are reached only through Name::special: rooting them in the
  // symbol table's strong set keeps the flag (a re-interned name would lose it).
  special_names_.push_back(intern_special("def!", Special::kDef));
  special_names_.push_back(intern_special("let*", Special::kLet));
  special_names_.push_back(intern_special("if", Special::kIf));
  special_names_.push_back(intern_special("fn*", Special::kFn));
  special_names_.push_back(intern_special("do", Special::kDo));
  special_names_.push_back(intern_special("defmacro!", Special::kDefmacro));
  special_names_.push_back(intern_special("try*", Special::kTry));
  special_names_.push_back(intern_special("macroexpand", Special::kMacroexpand));
  special_names_.push_back(intern_special("quasiquoteexpand", Special::kQuasiquoteExpand));

  repl_env_ = new_env(0).get();
  define_builtins();
}

Interp::~Interp() {
  rt_.remove_root_source(this);
  std::free(stack_base_);
}

std::size_t Interp::lend_headroom(std::size_t limit, std::size_t needed) {
  // `needed` is the heap size the allocation requires (committed bytes plus its own),
  // not the shortfall.
  std::size_t shortfall = needed > limit ? needed - limit : 0;
  std::size_t extra = shortfall > kLoanBytes ? shortfall : kLoanBytes;
  if (!loan_armed_ || loaned_ + extra > kMaxLoanBytes) return 0;  // 0: out of memory
  loan_armed_ = false;
  loaned_ += extra;
  return limit + extra;
}

Name* Interp::intern_special(std::string_view text, Special s) {
  Name* n = intern(Tag::kSymbol, text).get();
  n->special = s;
  return n;
}

void Interp::trace_roots(marrow::Tracer& t) {
  for (Value* v = stack_base_; v < sp_; ++v) t.visit(*v);
  const bool named = t.wants_edge_names();
  t.visit(repl_env_, named ? "repl-env" : nullptr);
  t.visit(exception_, named ? "pending exception" : nullptr);
  t.visit(oom_string_);
  t.visit(overflow_string_);
  Name** n = reinterpret_cast<Name**>(&names_);
  for (std::size_t i = 0; i < sizeof(names_) / sizeof(Name*); ++i) t.visit(n[i]);
  for (Name*& s : special_names_) t.visit(s);
}

void Interp::process_weak(marrow::WeakProcessor& w) { names_table_.process_weak(w); }

// ---- Allocation -------------------------------------------------------------------------

Local<Str> Interp::new_string(std::string_view s) {
  if (s.size() > 0xfffffff0u) throw marrow::OutOfMemory("mal string too long");
  return rt_.make_sized<Str>(s.size() + 1, s);
}

Local<Name> Interp::intern(Tag kind, std::string_view text) {
  std::uint32_t hash = hash_text(text);
  if (kind == Tag::kKeyword) hash = hash * 31 + 7;  // :a and a hash apart
  if (Name* n = names_table_.find(kind, text, hash)) return handle(n);
  if (text.size() > 0xfffffff0u) throw marrow::OutOfMemory("mal symbol too long");
  Local<Name> n = rt_.make_sized<Name>(text.size() + 1, kind, text, hash);
  names_table_.insert(n.get());
  return n;
}

Local<Seq> Interp::new_seq(Tag tag, const Value* from, std::uint32_t n) {
  Local<Seq> s = rt_.make_sized<Seq>(std::size_t{n} * sizeof(Member<Value>), tag, n);
  Member<Value>* items = s->items();
  for (std::uint32_t i = 0; i < n; ++i) items[i] = from[i];
  return s;
}

Local<Seq> Interp::new_seq_nil(Tag tag, std::uint32_t n) {
  return rt_.make_sized<Seq>(std::size_t{n} * sizeof(Member<Value>), tag, n);
}

Local<Env> Interp::new_env(std::uint32_t capacity) {
  return rt_.make_sized<Env>(std::size_t{capacity} * sizeof(Binding), capacity);
}

Local<Fn> Interp::new_fn() { return rt_.make<Fn>(); }

Local<Builtin> Interp::new_builtin(BuiltinFn fn, const char* name) {
  return rt_.make<Builtin>(fn, name);
}

// ---- Errors -----------------------------------------------------------------------------

void Interp::throw_value(Value v) {
  exception_ = v;
  throw MalThrow{};
}

void Interp::error(std::string_view message) {
  Value v = Value::object(new_string(message).get());
  throw_value(v);
}

void Interp::value_stack_overflow() { error("stack overflow (value stack)"); }

void Interp::stack_overflow() {
  // Static, like check_stack: the catcher turns it into the preallocated mal string, so
  // reporting it allocates nothing this close to the end of the stack.
  throw StackOverflow{};
}

// ---- Startup ----------------------------------------------------------------------------

void Interp::define_builtins() {
  for (std::size_t i = 0; i < kCoreCount; ++i) {
    const CoreEntry& c = kCore[i];
    if (c.step > step_) continue;
    marrow::HandleScope scope(rt_);
    Local<Builtin> b = new_builtin(c.fn, c.name);
    Local<Name> n = intern(Tag::kSymbol, c.name);
    define(repl_env_, n.get(), Value::object(b.get()));
  }
}

void Interp::run_prelude(std::string_view form) {
  marrow::HandleScope scope(rt_);
  Value* base = sp_;
  if (read(form)) eval(base[0], repl_env_);
  pop_to(base);
}

}  // namespace mal
