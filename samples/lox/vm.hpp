// The Lox virtual machine: value stack, call frames, globals, the weak string table, and
// the dispatch loop. The VM is the marrow RootSource through which the collector finds
// every managed reference held in C++ memory.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <marrow/alloc/arena.hpp>
#include <marrow/marrow.hpp>

#include "object.hpp"

namespace lox {

class Compiler;

enum class InterpretResult { kOk, kCompileError, kRuntimeError };

/// The interned strings: a weak, open-addressing hash set of raw ObjString pointers held
/// off the managed heap. It is not traced (a string only in this table is garbage);
/// after every collection `process_weak` turns dead entries into tombstones and rewrites
/// moved ones. Positions depend on the string's hash, not its address, so moving a
/// string never requires rehashing.
class InternTable {
 public:
  ObjString* find(const char* chars, std::size_t length, std::uint32_t hash) const;
  /// Finds the string equal to a + b without building it.
  ObjString* find_concat(const ObjString* a, const ObjString* b, std::uint32_t hash) const;
  /// Adds a string known to be absent.
  void insert(ObjString* s);
  void process_weak(marrow::WeakProcessor& w);
  std::size_t size() const { return live_; }

 private:
  struct Slot {
    ObjString* string;  // nullptr: empty; kTombstone: deleted
    std::uint32_t hash;
  };
  static ObjString* tombstone() { return reinterpret_cast<ObjString*>(std::uintptr_t{8}); }
  void rehash(std::size_t capacity);
  std::vector<Slot> slots_;
  std::size_t live_ = 0;
  std::size_t used_ = 0;  // live + tombstones (what bounds probe lengths)
};

struct CallFrame {
  ObjClosure* closure;     // root slot (traced, rewritten when the closure moves)
  const std::uint8_t* ip;  // into off-heap code: stable
  Value* slots;            // into the VM stack: stable
};

class Vm final : public marrow::RootSource {
 public:
  static constexpr int kFramesMax = 64;  // clox's limit: "Stack overflow." beyond it
  // Value slots: 64 frames of up to 256 locals plus their temporaries. The compiler
  // computes each function's maximum stack use and calls check it, so no push can run
  // past the end.
  static constexpr std::size_t kStackSlots = std::size_t{kFramesMax} * 512;

  explicit Vm(const marrow::Config& config);
  ~Vm() override;
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;

  /// Compiles and runs one program (one REPL line). Globals persist between calls.
  InterpretResult interpret(std::string_view source);

  marrow::Runtime& runtime() { return rt_; }

  // ---- For the compiler --------------------------------------------------------------
  /// Allocates a T (may collect: every raw managed pointer not in a root dies here). The
  /// result is a raw pointer, valid until the next allocation; store it in a root first.
  template <class T, class... Args>
  T* make(Args&&... args) {
    marrow::HandleScope scope(rt_);
    return rt_.make<T>(std::forward<Args>(args)...).get();
  }
  template <class T, class... Args>
  T* make_sized(std::size_t extra, Args&&... args) {
    marrow::HandleScope scope(rt_);
    return rt_.make_sized<T>(extra, std::forward<Args>(args)...).get();
  }
  /// The interned string with these characters (may allocate).
  ObjString* intern(std::string_view chars);
  /// The global-variable slot for a name, created on first use (undefined until defined).
  /// Returns -1 when there are too many globals.
  int global_slot(ObjString* name);
  /// Copies finished bytecode into the code arena, where it never moves.
  template <class Vector>
  const typename Vector::value_type* freeze(const Vector& v) {
    using T = typename Vector::value_type;
    void* p = code_arena_.allocate(std::max<std::size_t>(v.size(), 1) * sizeof(T), alignof(T)).ptr;
    if (p == nullptr) throw std::bad_alloc();
    if (!v.empty()) std::memcpy(p, v.data(), v.size() * sizeof(T));
    return static_cast<const T*>(p);
  }
  ObjString* init_string() const { return init_string_; }
  /// A new field cache for a property access being compiled. Cache 0 is never filled:
  /// past 65535 accesses in a program, the rest share it and always take the slow path.
  std::uint16_t new_field_cache() {
    if (field_caches_.size() > 0xffff) return 0;
    field_caches_.emplace_back();
    return static_cast<std::uint16_t>(field_caches_.size() - 1);
  }

  // ---- marrow::RootSource ------------------------------------------------------------
  void trace_roots(marrow::Tracer& t) override;
  void process_weak(marrow::WeakProcessor& w) override;
  const char* root_name() const override { return "Lox VM"; }

  /// Prints a value as clox does (numbers with %g).
  static void print_value(std::FILE* out, Value v);

 private:
  friend class Compiler;
  InterpretResult run();      // execute() with out-of-memory turned into a Lox error
  InterpretResult execute();  // the dispatch loop
  void reset_stack();
  void runtime_error(const char* format, ...) __attribute__((format(printf, 2, 3)));
  void define_native(const char* name, NativeFn fn, int arity);

  // Slow paths of the dispatch loop. They work on stack_top_ and frames_ (the loop
  // stores its cached ip and stack pointer first) and report errors themselves.
  bool call_value(Value callee, int argc);
  bool call_closure(ObjClosure* closure, int argc);
  bool invoke(ObjString* name, int argc);
  bool invoke_from_class(ObjClass* klass, ObjString* name, int argc);
  bool bind_method(ObjClass* klass, ObjString* name);
  ObjUpvalue* capture_upvalue(Value* local);
  void close_upvalues(Value* last);
  void put_method(Value* klass, ObjString* key, Value* value);
  void add_field(Value* instance, ObjString* key, Value* value);
  std::uint32_t add_layout_field(Value* instance);
  void grow_slots(Value* instance, std::uint32_t index);
  ObjString* concatenate();

  marrow::Runtime rt_;
  std::unique_ptr<Value[]> stack_;
  Value* stack_top_;
  Value* stack_end_;
  CallFrame frames_[kFramesMax];
  int frame_count_ = 0;
  ObjUpvalue* open_upvalues_ = nullptr;

  // Globals are resolved to slots at compile time; a slot holds kUndefinedBits until its
  // `var` runs (Lox globals are late bound: reading one before that is a runtime error).
  std::vector<Value> globals_;
  std::vector<ObjString*> global_names_;  // roots: error messages need them
  std::unordered_map<std::string, int> global_index_;

  ObjString* init_string_ = nullptr;
  InternTable strings_;
  Compiler* compiler_ = nullptr;  // while a compilation runs
  // Temporary roots for slow paths that allocate while holding a value that is on no
  // stack (e.g. a key taken from a constant table).
  ObjString* scratch_key_ = nullptr;
  marrow::Arena code_arena_;
  // Indexed by the c operand of property instructions; [0] is the shared, unfilled one.
  // Only the compiler adds caches, so the dispatch loop may keep a pointer to them.
  std::vector<FieldCache> field_caches_ = std::vector<FieldCache>(1);
};

}  // namespace lox
