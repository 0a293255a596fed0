// The mal interpreter: one marrow Runtime, the value stack, the weak symbol table, the
// REPL environment, and the evaluator's entry points. The interpreter is the Runtime's
// one RootSource: everything C++ holds outside Locals is reached from trace_roots.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <marrow/marrow.hpp>

#include "types.hpp"

namespace mal {

/// Thrown for every mal exception (`throw`, errors of the core functions, reader errors).
/// The thrown value is not in the C++ exception object, which the collector cannot see:
/// it waits in Interp's rooted `exception_` slot until a try* (or the REPL) takes it.
struct MalThrow {};
/// Thrown by Interp::check_stack; catchers treat it as the mal exception
/// "Stack overflow: recursion too deep" (Interp::stack_overflow_value()).
struct StackOverflow {};

/// The weak table of interned symbols and keywords: open addressing on (kind, text), off
/// the managed heap, not traced. Interp::process_weak prunes dead names and follows moved
/// ones; the position of a name depends on its text's hash (kept in the slot too), never
/// on its address, so moves never rehash.
class InternTable {
 public:
  Name* find(Tag kind, std::string_view text, std::uint32_t hash) const;
  /// Adds a name known to be absent. Grows (off-heap) when half full.
  void insert(Name* name);
  void process_weak(marrow::WeakProcessor& w);
  std::size_t size() const { return live_; }

 private:
  struct Slot {
    Name* name;  // nullptr: empty; tombstone(): a pruned name
    std::uint32_t hash;
  };
  static Name* tombstone() { return reinterpret_cast<Name*>(std::uintptr_t{1}); }
  void grow();
  std::vector<Slot> slots_ = std::vector<Slot>(256, Slot{nullptr, 0});
  std::size_t live_ = 0;
  std::size_t used_ = 0;  // live + tombstones
};

/// The steps of the mal process guide, as `--step=N` selects them (A is 10).
inline constexpr int kStepA = 10;

class Interp final : public marrow::RootSource {
 public:
  Interp(const marrow::Config& config, int step);
  ~Interp() override;
  Interp(const Interp&) = delete;
  Interp& operator=(const Interp&) = delete;

  marrow::Runtime& runtime() { return rt_; }
  int step() const { return step_; }

  // ---- Roots ---------------------------------------------------------------------------
  void trace_roots(marrow::Tracer& t) override;
  void process_weak(marrow::WeakProcessor& w) override;
  const char* root_name() const override { return "mal interpreter"; }

  // ---- The value stack -----------------------------------------------------------------
  // Values (which may be numbers, so no Local can hold them) that C++ code keeps across
  // an allocation live here: evaluated arguments, elements the reader has read, the
  // operands of a core function. It is a fixed array (never reallocated), so a `Value*`
  // into it stays valid; the collector updates the slots in place. Whoever catches a mal
  // exception resets `sp_` to what it was when its `try` began.
  Value* sp() const { return sp_; }
  void push(Value v) {
    if (sp_ == stack_end_) [[unlikely]]
      value_stack_overflow();
    *sp_++ = v;
  }
  void pop_to(Value* p) { sp_ = p; }

  // ---- Allocation ----------------------------------------------------------------------
  // Each returns a Local in the caller's innermost HandleScope and may collect: raw
  // pointers and Values held outside roots are stale afterwards.
  Local<Str> new_string(std::string_view s);
  Local<Name> intern(Tag kind, std::string_view text);
  /// A list or vector of `n` values copied from `from`, which must be rooted (the value
  /// stack): it is read after the allocation.
  Local<Seq> new_seq(Tag tag, const Value* from, std::uint32_t n);
  /// A list or vector of `n` nils, for the caller to fill before anything else allocates
  /// a reference it must reach.
  Local<Seq> new_seq_nil(Tag tag, std::uint32_t n);
  Local<Env> new_env(std::uint32_t capacity);
  Local<Fn> new_fn();
  Local<Builtin> new_builtin(BuiltinFn fn, const char* name);

  /// An existing object in a new Local of the current scope.
  template <class T>
  Local<T> handle(T* object) {
    // marrow makes Locals only in make, make_sized and EscapableHandleScope::escape; there
    // is no `Local<T>(scope, T*)`. Escaping from a throwaway scope is the public way.
    marrow::EscapableHandleScope scope(rt_);
    marrow::Object* raw = object;
    return scope.escape(Local<T>::from_slot(&raw));
  }
  /// Points a Local at another object (the evaluator's loop reuses its frame's Locals).
  template <class T, class U>
  static void reseat(Local<T>& local, U* object) {
    *local.slot() = static_cast<T*>(object);
  }

  // ---- Evaluation ----------------------------------------------------------------------
  /// Evaluates `ast` in `env`. `env` may be raw: eval roots it before it allocates. The
  /// result is raw: store it in a root (push) or a Member before the next allocation.
  Value eval(Value ast, Env* env);
  /// Calls the function in `args[-1]` with `argc` arguments `args[0..argc)`, all on the
  /// value stack.
  Value apply(Value* args, std::uint32_t argc);
  Env* repl_env() const { return repl_env_; }
  /// Binds `name` in `env` (replacing a binding in that frame) and returns `value` (its
  /// current address: binding may grow a table and so collect). Roots its operands.
  Value define(Env* env, Name* name, Value value);

  // ---- Reader and printer --------------------------------------------------------------
  /// Reads the first form of `text` and pushes it; false (nothing pushed) when `text`
  /// holds no form (blank, or only comments). Throws MalThrow on malformed input.
  bool read(std::string_view text);
  /// Appends the printed form of `v`; `readably` escapes strings. Allocates no managed
  /// memory (so `v` needs no rooting).
  void print(std::string& out, Value v, bool readably);
  std::string pr_str(Value v, bool readably) {
    std::string s;
    print(s, v, readably);
    return s;
  }

  /// How `readline` reads a line (set by the front end: libedit on a terminal). False at
  /// the end of input.
  bool (*read_line)(const char* prompt, std::string& line) = nullptr;

  // ---- Errors --------------------------------------------------------------------------
  [[noreturn]] void throw_value(Value v);
  /// Throws a mal string exception.
  [[noreturn]] void error(std::string_view message);
  /// The pending exception's value, cleared from its root (store it before allocating).
  Value take_exception() {
    Value v = exception_;
    exception_ = Value::nil();
    return v;
  }
  /// The string "Out of memory", allocated at startup: a heap-limit error must not need
  /// a fresh allocation to be reported.
  Value out_of_memory_value() const { return Value::object(oom_string_); }
  /// After an out-of-memory reached the REPL: lets the next line exceed the heap limit by
  /// a little (see lend_headroom), so that a program whose data still fills the heap can
  /// run the line that drops it; `disarm` when that line is done.
  void arm_heap_loan() { loan_armed_ = true; }
  void disarm_heap_loan() { loan_armed_ = false; }
  Value stack_overflow_value() const { return Value::object(overflow_string_); }

  /// Fails with a mal error when the native stack is nearly used up (deep recursion in
  /// eval, the reader, the printer or equality). One compare.
  static void check_stack() {
    if (reinterpret_cast<char*>(__builtin_frame_address(0)) < stack_limit_) [[unlikely]]
      stack_overflow();
  }
  /// Sets the lowest stack address check_stack lets eval reach (the caller leaves a
  /// margin below it for reporting the error). Called on the interpreter's thread.
  static void set_stack_limit(char* lowest_usable) { stack_limit_ = lowest_usable; }

  // ---- Well-known names (rooted, so comparing with them is comparing pointers) --------
  struct Names {
    Name* amp;
    Name* catch_;
    Name* unquote;
    Name* splice_unquote;
    Name* quote;
    Name* cons;
    Name* concat;
    Name* vec;
    Name* deref;
    Name* with_meta;
    Name* quasiquote;
    Name* debug_eval;
    Name* argv;
  };
  const Names& names() const { return names_; }
  /// Set once DEBUG-EVAL has ever been bound: until then eval skips looking it up.
  bool debug_eval_seen() const { return debug_eval_seen_; }

  /// Reads and evaluates one form in the REPL environment (startup code).
  void run_prelude(std::string_view form);

 private:
  [[noreturn, gnu::noinline]] void value_stack_overflow();
  [[noreturn, gnu::noinline]] static void stack_overflow();
  Name* intern_special(std::string_view text, Special s);
  void define_builtins();
  void grow_table(Env* env);
  /// A new environment for calling the closure args[-1] with args[0..argc).
  Local<Env> bind(Value* args, std::uint32_t argc);
  Value lookup(Name* name, Env* env);
  void debug_print(Value ast, Env* env);
  Value eval_collection(Local<MalObj> form, Local<Env> env);
  // The special forms that need more than a few locals, out of eval's frame. Those with a
  // body in tail position return it and re-point `env`.
  [[gnu::noinline]] Value eval_let(Local<MalObj> ast, Local<Env>& env);
  [[gnu::noinline]] Value eval_fn(Local<MalObj> ast, Local<Env> env);
  [[gnu::noinline]] Value eval_defmacro(Local<MalObj> ast, Local<Env> env);
  [[gnu::noinline]] Value eval_try(Local<MalObj> ast, Local<Env>& env, bool& tail);
  [[gnu::noinline]] Value expand_macro(Local<MalObj> ast, Value* base);
  [[gnu::noinline]] Value macroexpand(Value form, Local<Env> env);
  Value quasiquote(Value ast);
  Value qq_list(Value* seq);

  marrow::Runtime rt_;
  int step_;
  // The value stack: calloc'd, so untouched pages cost nothing and read as nil.
  Value* stack_base_;
  Value* stack_end_;
  Value* sp_;
  InternTable names_table_;
  Names names_{};
  Env* repl_env_ = nullptr;
  Value exception_;
  Str* oom_string_ = nullptr;
  Str* overflow_string_ = nullptr;
  std::vector<Name*> special_names_;  // rooted: their Name::special must not be lost
  bool debug_eval_seen_ = false;
  // The heap-limit loan: marrow has no call to change the limit, only the near-limit
  // callback, which may raise it (for good). While armed, the next time the limit is hit
  // it is raised by kLoanBytes (or the shortfall, if more), at most kMaxLoanBytes in
  // all: a bounded reserve for recovering, not a way around the limit.
  static constexpr std::size_t kLoanBytes = std::size_t{1} << 20;
  static constexpr std::size_t kMaxLoanBytes = std::size_t{4} << 20;
  std::size_t lend_headroom(std::size_t limit, std::size_t needed);
  bool loan_armed_ = false;
  std::size_t loaned_ = 0;
  static inline char* stack_limit_ = nullptr;
};

// ---- Values (values.cpp) ----------------------------------------------------------------

/// mal `=`: numbers by value, strings by content, lists and vectors element-wise (and
/// equal to each other), maps by their pairs, everything else by identity.
bool equal(Value a, Value b);
/// A hash consistent with `equal` (of contents, never of addresses).
std::uint32_t hash_value(Value v);
/// The value bound to `key`, or nullptr.
Member<Value>* map_get(Map* m, Value key);
/// A new map: `*map` (a rooted slot; nil for an empty map) with the `npairs` pairs in
/// `kv` (rooted) added; later pairs win.
Local<Map> map_assoc(Interp& in, const Value* map, const Value* kv, std::uint32_t npairs);
/// A new map without the `nkeys` keys in `keys` (rooted).
Local<Map> map_dissoc(Interp& in, const Value* map, const Value* keys, std::uint32_t nkeys);

/// The core functions available at `step`, as (name, function) pairs.
struct CoreEntry {
  const char* name;
  BuiltinFn fn;
  int step;
};
extern const CoreEntry kCore[];
extern const std::size_t kCoreCount;

}  // namespace mal
