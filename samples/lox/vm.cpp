// The Lox VM: runtime support (strings, tables, calls, upvalues), the roots it shows the
// collector, and the dispatch loop. Never recurses on Lox data or Lox calls.
//
// Moving-GC rule for this file: any allocation (make, make_sized, intern, concatenate,
// put_method, add_field, capture_upvalue, call_value of a class) may move every
// managed object. The dispatch loop keeps ip and the stack pointer in locals and caches
// `k`, the current function's constants (managed memory). So before a possible
// allocation it stores ip and sp back (SYNC: the collector traces the stack up to
// stack_top_), and afterwards it reloads `k` (RELOAD_K) and re-reads every managed
// pointer from the stack or a root.
#include "vm.hpp"

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "chunk.hpp"
#include "compiler.hpp"

namespace lox {

namespace {

// Value-stack slots a call needs beyond the callee's computed maximum: the VM pushes at
// most one temporary of its own (bind_method roots the method while allocating).
constexpr std::size_t kStackSlack = 2;

// Inline field slots of a new instance at most: a class whose instances get more fields
// keeps them out of line (one more load per access) rather than making huge instances.
constexpr std::uint32_t kMaxInlineFields = 64;

inline bool is_falsey(Value v) { return v.is_nil() || v == Value::boolean(false); }

inline bool values_equal(Value a, Value b) {
  if (a.is_number() && b.is_number()) return a.as_number() == b.as_number();
  return a == b;  // interned strings: identity is equality
}

bool clock_native(Vm&, int, Value*, Value* result) {
  *result = Value::number(static_cast<double>(std::clock()) / CLOCKS_PER_SEC);
  return true;
}

}  // namespace

// ==== InternTable =========================================================================

ObjString* InternTable::find(const char* chars, std::size_t length, std::uint32_t hash) const {
  if (slots_.empty()) return nullptr;
  std::size_t mask = slots_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.string == nullptr) return nullptr;
    if (s.hash == hash && s.string != tombstone() && s.string->length == length &&
        std::memcmp(s.string->chars(), chars, length) == 0)
      return s.string;
  }
}

ObjString* InternTable::find_concat(const ObjString* a, const ObjString* b,
                                    std::uint32_t hash) const {
  if (slots_.empty()) return nullptr;
  std::size_t mask = slots_.size() - 1;
  std::size_t length = std::size_t{a->length} + b->length;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.string == nullptr) return nullptr;
    if (s.hash == hash && s.string != tombstone() && s.string->length == length &&
        std::memcmp(s.string->chars(), a->chars(), a->length) == 0 &&
        std::memcmp(s.string->chars() + a->length, b->chars(), b->length) == 0)
      return s.string;
  }
}

void InternTable::insert(ObjString* s) {
  // At most 3/4 full, tombstones included, so probes always end at an empty slot.
  if ((used_ + 1) * 4 > slots_.size() * 3) {
    std::size_t capacity = slots_.empty() ? 256 : slots_.size();
    while ((live_ + 1) * 2 > capacity) capacity *= 2;  // after a rebuild: at most half full
    rehash(capacity);
  }
  std::size_t mask = slots_.size() - 1;
  std::size_t i = s->hash & mask;
  while (slots_[i].string != nullptr && slots_[i].string != tombstone()) i = (i + 1) & mask;
  if (slots_[i].string == nullptr) ++used_;
  slots_[i] = Slot{s, s->hash};
  ++live_;
}

void InternTable::rehash(std::size_t capacity) {
  std::vector<Slot> old(capacity, Slot{nullptr, 0});
  old.swap(slots_);
  used_ = live_ = 0;
  std::size_t mask = capacity - 1;
  for (const Slot& s : old) {
    if (s.string == nullptr || s.string == tombstone()) continue;
    std::size_t i = s.hash & mask;
    while (slots_[i].string != nullptr) i = (i + 1) & mask;
    slots_[i] = s;
    ++used_;
    ++live_;
  }
}

// Runs inside every collection, after marking: dead strings become tombstones, moved
// ones get their new address. Must not allocate managed memory or read the strings.
void InternTable::process_weak(marrow::WeakProcessor& w) {
  for (Slot& s : slots_) {
    if (s.string == nullptr || s.string == tombstone()) continue;
    ObjString* now = w.update(s.string);
    if (now == nullptr) {
      s.string = tombstone();
      --live_;
    } else {
      s.string = now;
    }
  }
}

// ==== The VM ==============================================================================

Vm::Vm(const marrow::Config& config) : rt_(config), stack_(new Value[kStackSlots]) {
  stack_top_ = stack_.get();
  stack_end_ = stack_top_ + kStackSlots;
  rt_.add_root_source(this);
  init_string_ = intern("init");
  define_native("clock", clock_native, 0);
}

Vm::~Vm() { rt_.remove_root_source(this); }

void Vm::trace_roots(marrow::Tracer& t) {
  for (Value* v = stack_.get(); v < stack_top_; ++v) t.visit(*v);
  for (int i = 0; i < frame_count_; ++i) t.visit(frames_[i].closure);
  t.visit(open_upvalues_);
  // Globals are named in heap snapshots: the edge from "Lox VM" to a value is its name.
  const bool named = t.wants_edge_names();
  for (std::size_t i = 0; i < globals_.size(); ++i)
    t.visit(globals_[i], named && i < global_names_.size() ? global_names_[i]->chars() : nullptr);
  for (ObjString*& name : global_names_) t.visit(name);
  t.visit(init_string_);
  t.visit(scratch_key_);
  if (compiler_ != nullptr) compiler_->trace_roots(t);
}

void Vm::process_weak(marrow::WeakProcessor& w) {
  strings_.process_weak(w);
  for (FieldCache& c : field_caches_)
    if (c.klass != nullptr) c.klass = w.update(c.klass);  // null once the class is dead
}

void Vm::reset_stack() {
  stack_top_ = stack_.get();
  frame_count_ = 0;
  open_upvalues_ = nullptr;
  scratch_key_ = nullptr;
}

ObjString* Vm::intern(std::string_view chars) {
  std::uint32_t hash = hash_bytes(chars.data(), chars.size());
  if (ObjString* s = strings_.find(chars.data(), chars.size(), hash)) return s;
  if (chars.size() > 0xffffffffu) throw marrow::OutOfMemory("Lox string too long");
  auto length = static_cast<std::uint32_t>(chars.size());
  ObjString* s = make_sized<ObjString>(chars.size() + 1, length, hash);  // tail zeroed: NUL
  std::memcpy(s->chars(), chars.data(), chars.size());  // `chars` is off-heap: still valid
  strings_.insert(s);
  return s;
}

// a + b for the two strings on top of the stack; replaces them with the result.
ObjString* Vm::concatenate() {
  auto* a = stack_top_[-2].as<ObjString>();
  auto* b = stack_top_[-1].as<ObjString>();
  std::size_t length = std::size_t{a->length} + b->length;
  if (length > 0xffffffffu) throw marrow::OutOfMemory("Lox string too long");
  std::uint32_t hash = hash_bytes(b->chars(), b->length, hash_bytes(a->chars(), a->length));
  ObjString* s = strings_.find_concat(a, b, hash);
  if (s == nullptr) {
    s = make_sized<ObjString>(length + 1, static_cast<std::uint32_t>(length), hash);
    a = stack_top_[-2].as<ObjString>();  // may have moved
    b = stack_top_[-1].as<ObjString>();
    std::memcpy(s->chars(), a->chars(), a->length);
    std::memcpy(s->chars() + a->length, b->chars(), b->length);
    strings_.insert(s);
  }
  --stack_top_;
  stack_top_[-1] = Value::object(s);
  return s;
}

int Vm::global_slot(ObjString* name) {
  auto [it, added] = global_index_.try_emplace(std::string(name->chars(), name->length),
                                               static_cast<int>(globals_.size()));
  if (added) {
    if (globals_.size() > 0xffff) {
      global_index_.erase(it);
      return -1;
    }
    globals_.push_back(undefined_value());
    global_names_.push_back(name);
  }
  return it->second;
}

void Vm::define_native(const char* name, NativeFn fn, int arity) {
  *stack_top_++ = Value::object(intern(name));
  *stack_top_++ = Value::object(make<ObjNative>(fn, arity));
  int slot = global_slot(stack_top_[-2].as<ObjString>());
  globals_[static_cast<std::size_t>(slot)] = stack_top_[-1];
  stack_top_ -= 2;
}

void Vm::runtime_error(const char* format, ...) {
  std::fflush(stdout);
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fputc('\n', stderr);
  for (int i = frame_count_ - 1; i >= 0; --i) {
    const CallFrame& frame = frames_[i];
    ObjFunction* fn = frame.closure->function.get();
    std::size_t at = frame.ip > fn->code ? static_cast<std::size_t>(frame.ip - fn->code - 1) : 0;
    std::fprintf(stderr, "[line %u] in ", fn->code_size > 0 ? fn->lines[at] : 0);
    if (fn->name.get() == nullptr) {
      std::fprintf(stderr, "script\n");
    } else {
      std::fprintf(stderr, "%s()\n", fn->name->chars());
    }
  }
  reset_stack();
}

void Vm::print_value(std::FILE* out, Value v) {
  if (v.is_number()) {
    double d = v.as_number();
    // %g prints integers below 10^6 exactly; skip the formatter for them.
    if (d == std::trunc(d) && std::fabs(d) < 1e6 && !(d == 0 && std::signbit(d))) {
      std::fprintf(out, "%ld", static_cast<long>(d));
    } else {
      std::fprintf(out, "%g", d);
    }
    return;
  }
  if (v.is_nil()) {
    std::fputs("nil", out);
    return;
  }
  if (v.is_bool()) {
    std::fputs(v.as_bool() ? "true" : "false", out);
    return;
  }
  auto* o = v.as<Obj>();
  auto print_function = [out](ObjFunction* fn) {
    if (fn->name.get() == nullptr) {
      std::fputs("<script>", out);
    } else {
      std::fprintf(out, "<fn %s>", fn->name->chars());
    }
  };
  switch (o->type) {
    case ObjType::kString: {
      auto* s = static_cast<ObjString*>(o);
      std::fwrite(s->chars(), 1, s->length, out);
      break;
    }
    case ObjType::kFunction:
      print_function(static_cast<ObjFunction*>(o));
      break;
    case ObjType::kNative:
      std::fputs("<native fn>", out);
      break;
    case ObjType::kClosure:
      print_function(static_cast<ObjClosure*>(o)->function.get());
      break;
    case ObjType::kClass:
      std::fputs(static_cast<ObjClass*>(o)->name->chars(), out);
      break;
    case ObjType::kInstance:
      std::fprintf(out, "%s instance", static_cast<ObjInstance*>(o)->klass->name->chars());
      break;
    case ObjType::kBoundMethod:
      print_function(static_cast<ObjBoundMethod*>(o)->method->function.get());
      break;
    case ObjType::kUpvalue:
      std::fputs("upvalue", out);
      break;
    case ObjType::kValueArray:
    case ObjType::kTable:
      std::fputs("<internal>", out);
      break;
  }
}

// ==== Calls ===============================================================================

bool Vm::call_closure(ObjClosure* closure, int argc) {
  ObjFunction* fn = closure->function.get();
  if (argc != fn->arity) {
    runtime_error("Expected %d arguments but got %d.", fn->arity, argc);
    return false;
  }
  Value* base = stack_top_ - argc - 1;
  if (frame_count_ == kFramesMax ||
      static_cast<std::size_t>(stack_end_ - base) < fn->max_stack + kStackSlack) {
    runtime_error("Stack overflow.");
    return false;
  }
  CallFrame* frame = &frames_[frame_count_++];
  frame->closure = closure;
  frame->ip = fn->code;
  frame->slots = base;
  return true;
}

bool Vm::call_value(Value callee, int argc) {
  if (callee.is_object()) {
    switch (callee.as<Obj>()->type) {
      case ObjType::kClosure:
        return call_closure(callee.as<ObjClosure>(), argc);
      case ObjType::kBoundMethod: {
        auto* bound = callee.as<ObjBoundMethod>();
        stack_top_[-argc - 1] = bound->receiver;
        return call_closure(bound->method.get(), argc);
      }
      case ObjType::kClass: {
        // Room for every field the class's instances have had so far: usually all the
        // fields this one will get, so it is a single allocation.
        std::uint32_t capacity = std::min(callee.as<ObjClass>()->field_count(), kMaxInlineFields);
        auto* instance = make_sized<ObjInstance>(capacity * sizeof(Member<Value>), capacity);
        auto* klass = stack_top_[-argc - 1].as<ObjClass>();  // re-read: it may have moved
        instance->klass = klass;
        Member<Value>* slots = instance->inline_slots();
        for (std::uint32_t i = 0; i < capacity; ++i) slots[i] = undefined_value();
        stack_top_[-argc - 1] = Value::object(instance);
        Value init = klass->initializer;
        if (!init.is_nil()) return call_closure(init.as<ObjClosure>(), argc);
        if (argc != 0) {
          runtime_error("Expected 0 arguments but got %d.", argc);
          return false;
        }
        return true;
      }
      case ObjType::kNative: {
        auto* native = callee.as<ObjNative>();
        Value result;
        if (!native->fn(*this, argc, stack_top_ - argc, &result)) return false;
        stack_top_ -= argc + 1;
        *stack_top_++ = result;
        return true;
      }
      default:
        break;
    }
  }
  runtime_error("Can only call functions and classes.");
  return false;
}

bool Vm::invoke_from_class(ObjClass* klass, ObjString* name, int argc) {
  Member<Value>* method = table_get(klass->methods.get(), name);
  if (method == nullptr) {
    runtime_error("Undefined property '%s'.", name->chars());
    return false;
  }
  return call_closure(method->get().as<ObjClosure>(), argc);
}

bool Vm::invoke(ObjString* name, int argc) {
  Value receiver = stack_top_[-argc - 1];
  if (!is_obj_type(receiver, ObjType::kInstance)) {
    runtime_error("Only instances have methods.");
    return false;
  }
  auto* instance = receiver.as<ObjInstance>();
  if (Member<Value>* field = instance->field(name)) {
    Value callee = *field;
    stack_top_[-argc - 1] = callee;
    return call_value(callee, argc);
  }
  return invoke_from_class(instance->klass.get(), name, argc);
}

// Replaces the receiver on top of the stack with klass's method `name` bound to it.
bool Vm::bind_method(ObjClass* klass, ObjString* name) {
  Member<Value>* method = table_get(klass->methods.get(), name);
  if (method == nullptr) {
    runtime_error("Undefined property '%s'.", name->chars());
    return false;
  }
  *stack_top_++ = *method;  // rooted while the bound method is allocated
  auto* bound = make<ObjBoundMethod>();
  Value closure = *--stack_top_;
  bound->receiver = stack_top_[-1];
  bound->method = closure.as<ObjClosure>();
  stack_top_[-1] = Value::object(bound);
  return true;
}

// ==== Upvalues ============================================================================

ObjUpvalue* Vm::capture_upvalue(Value* local) {
  ObjUpvalue* uv = open_upvalues_;
  while (uv != nullptr && uv->location > local) uv = uv->next.get();
  if (uv != nullptr && uv->location == local) return uv;

  ObjUpvalue* created = make<ObjUpvalue>(local);
  // The walk is redone: the allocation may have moved every upvalue in the list.
  ObjUpvalue* prev = nullptr;
  uv = open_upvalues_;
  while (uv != nullptr && uv->location > local) {
    prev = uv;
    uv = uv->next.get();
  }
  created->next = uv;
  if (prev == nullptr) {
    open_upvalues_ = created;
  } else {
    prev->next = created;
  }
  return created;
}

void Vm::close_upvalues(Value* last) {
  while (open_upvalues_ != nullptr && open_upvalues_->location >= last) {
    ObjUpvalue* uv = open_upvalues_;
    uv->closed = *uv->location;
    uv->location = nullptr;
    open_upvalues_ = uv->next.get();
    uv->next = nullptr;  // a closed upvalue must not keep the rest of the list alive
  }
}

// ==== Tables ==============================================================================

// klass[key] = *value in a class's method table. `klass` and `value` point at root
// slots (the VM stack), so they stay current across the allocation of a bigger table;
// `key` is parked in a root for the same reason.
void Vm::put_method(Value* klass, ObjString* key, Value* value) {
  TableStore* table = klass->as<ObjClass>()->methods.get();
  if (table != nullptr) {
    TableEntry* e = table->find(key);
    if (e->key.get() != nullptr) {
      e->value = *value;
      return;
    }
    if (table_has_room(table->count, table->capacity)) {
      e->key = key;
      e->value = *value;
      ++table->count;
      return;
    }
  }
  std::uint32_t capacity = table != nullptr ? table->capacity * 2 : 8;
  scratch_key_ = key;
  auto* fresh = make_sized<TableStore>(capacity * sizeof(TableEntry), capacity);
  key = scratch_key_;
  scratch_key_ = nullptr;
  table = klass->as<ObjClass>()->methods.get();  // re-read: it may have moved
  if (table != nullptr) {
    TableEntry* entries = table->entries();
    for (std::uint32_t i = 0; i < table->capacity; ++i) {
      if (entries[i].key.get() == nullptr) continue;
      TableEntry* e = fresh->find(entries[i].key.get());
      e->key = entries[i].key;
      e->value = entries[i].value;
    }
    fresh->count = table->count;
  }
  TableEntry* e = fresh->find(key);
  e->key = key;
  e->value = *value;
  ++fresh->count;
  klass->as<ObjClass>()->methods = fresh;
}

// instance[key] = *value when the class's layout lacks the key or the instance lacks
// room for its slot (either may allocate). `instance` and `value` point at root slots;
// `key` is parked in a root meanwhile.
void Vm::add_field(Value* instance_slot, ObjString* key, Value* value) {
  scratch_key_ = key;
  int found = instance_slot->as<ObjInstance>()->klass->field_index(key);
  std::uint32_t index =
      found >= 0 ? static_cast<std::uint32_t>(found) : add_layout_field(instance_slot);
  if (instance_slot->as<ObjInstance>()->slot(index) == nullptr) grow_slots(instance_slot, index);
  *instance_slot->as<ObjInstance>()->slot(index) = *value;
  scratch_key_ = nullptr;
}

// Appends scratch_key_ to the layout of the instance's class; returns its slot index.
std::uint32_t Vm::add_layout_field(Value* instance_slot) {
  ObjClass* klass = instance_slot->as<ObjInstance>()->klass.get();
  TableStore* layout = klass->fields.get();
  std::uint32_t index = klass->field_count();
  // Layouts are at most half full (not 3/4, as other tables): every field access probes
  // one, and there is one per class, so short probes are worth the space.
  if (layout == nullptr || (layout->count + 1) * 2 > layout->capacity) {
    std::uint32_t capacity = layout != nullptr ? layout->capacity * 2 : 8;
    auto* fresh = make_sized<TableStore>(capacity * sizeof(TableEntry), capacity);
    klass = instance_slot->as<ObjInstance>()->klass.get();  // re-read: it may have moved
    layout = klass->fields.get();
    if (layout != nullptr) {
      TableEntry* entries = layout->entries();
      for (std::uint32_t i = 0; i < layout->capacity; ++i) {
        if (entries[i].key.get() == nullptr) continue;
        TableEntry* e = fresh->find(entries[i].key.get());
        e->key = entries[i].key;
        e->value = entries[i].value;
      }
      fresh->count = layout->count;
    }
    klass->fields = fresh;
    layout = fresh;
  }
  ObjString* key = scratch_key_;
  TableEntry* e = layout->find(key);
  e->key = key;
  e->value = Value::number(index);
  ++layout->count;
  if (!klass->field_shadows_method && table_get(klass->methods.get(), key) != nullptr)
    klass->field_shadows_method = true;
  return index;
}

// Moves the instance's slots out of line, into a ValueArray with room for slot `index`
// and every field of its class's layout (plus as many again, so that an instance that
// keeps getting new fields does not copy them every time).
void Vm::grow_slots(Value* instance_slot, std::uint32_t index) {
  auto* instance = instance_slot->as<ObjInstance>();
  std::uint32_t old_count =
      instance->overflow.get() != nullptr ? instance->overflow->count : instance->inline_capacity;
  std::uint32_t count = std::max({index + 1, instance->klass->field_count(), old_count * 2});
  auto* fresh = make_sized<ValueArray>(std::size_t{count} * sizeof(Member<Value>), count);
  instance = instance_slot->as<ObjInstance>();  // re-read: it may have moved
  Member<Value>* to = fresh->values();
  ValueArray* old = instance->overflow.get();
  Member<Value>* from = old != nullptr ? old->values() : instance->inline_slots();
  for (std::uint32_t i = 0; i < old_count; ++i) {
    to[i] = from[i];
    if (old == nullptr) from[i] = undefined_value();  // the inline copy must not keep values alive
  }
  for (std::uint32_t i = old_count; i < count; ++i) to[i] = undefined_value();
  instance->overflow = fresh;
}

// ==== Running =============================================================================

InterpretResult Vm::interpret(std::string_view source) {
  ObjFunction* fn;
  {
    Compiler compiler(*this, source);
    compiler_ = &compiler;
    try {
      fn = compiler.compile();
    } catch (const std::bad_alloc&) {
      compiler_ = nullptr;
      std::fprintf(stderr, "Out of memory.\n");
      return InterpretResult::kRuntimeError;
    }
    compiler_ = nullptr;
  }
  if (fn == nullptr) return InterpretResult::kCompileError;
  try {
    *stack_top_++ = Value::object(fn);  // a root while the closure is allocated
    auto* closure = make_sized<ObjClosure>(0, 0u);
    closure->function = stack_top_[-1].as<ObjFunction>();
    stack_top_[-1] = Value::object(closure);
    if (!call_closure(closure, 0)) return InterpretResult::kRuntimeError;
  } catch (const std::bad_alloc&) {
    reset_stack();
    std::fprintf(stderr, "Out of memory.\n");
    return InterpretResult::kRuntimeError;
  }
  return run();
}

InterpretResult Vm::run() {
  try {
    return execute();
  } catch (const std::bad_alloc&) {
    // marrow::OutOfMemory. Every allocation site stored ip first, so the trace is right.
    runtime_error("Out of memory.");
  } catch (const std::length_error&) {
    // marrow::InvalidSize: a string longer than any heap can hold.
    runtime_error("Out of memory.");
  }
  return InterpretResult::kRuntimeError;
}

InterpretResult Vm::execute() {
  CallFrame* frame;
  const std::uint8_t* ip;
  Value* sp = stack_top_;
  Value* slots;
  Member<Value>* k;  // the current function's constants (managed: RELOAD_K after a GC)
  Value* globals = globals_.data();  // fixed while running: only the compiler adds slots
  FieldCache* field_caches = field_caches_.data();  // idem

#define LOAD_FRAME()                                   \
  do {                                                 \
    frame = &frames_[frame_count_ - 1];                \
    ip = frame->ip;                                    \
    slots = frame->slots;                              \
    k = frame->closure->function->constants->values(); \
  } while (0)
#define SYNC() (frame->ip = ip, stack_top_ = sp)
#define RELOAD_K() (k = frame->closure->function->constants->values())
#define READ_BYTE() (*ip++)
#define READ_SHORT() (ip += 2, static_cast<std::uint16_t>((ip[-2] << 8) | ip[-1]))
#define READ_CONSTANT() (k[READ_BYTE()].get())
#define READ_STRING() (READ_CONSTANT().as<ObjString>())
#define READ_CACHE() (&field_caches[READ_SHORT()])
#define RUNTIME_ERROR(...)                 \
  do {                                     \
    SYNC();                                \
    runtime_error(__VA_ARGS__);            \
    return InterpretResult::kRuntimeError; \
  } while (0)
#define FAIL()                             \
  do {                                     \
    return InterpretResult::kRuntimeError; \
  } while (0)
#define NUMBER_OPERANDS()                                      \
  if (!sp[-1].is_number() || !sp[-2].is_number()) [[unlikely]] \
    RUNTIME_ERROR("Operands must be numbers.");                \
  double b = sp[-1].as_number();                               \
  double a = sp[-2].as_number();                               \
  --sp

  static void* const kDispatch[] = {
#define LOX_OP_LABEL(name, operands) &&op_##name,
      LOX_OPCODES(LOX_OP_LABEL)
#undef LOX_OP_LABEL
  };
#ifdef NDEBUG
#define DISPATCH() goto* kDispatch[*ip++]
#else
  // Debug builds check the compiler's stack-depth bound before every instruction.
#define DISPATCH()                                                                 \
  do {                                                                             \
    if (sp > slots + frame->closure->function->max_stack + kStackSlack) {          \
      std::fprintf(stderr, "lox: the value stack outgrew the compiler's bound\n"); \
      std::abort();                                                                \
    }                                                                              \
    goto* kDispatch[*ip++];                                                        \
  } while (0)
#endif
// Pushes a frame for `closure` with argc arguments on the stack: no allocation, no helper.
#define CALL_CLOSURE(closure_expr, argc_expr)                                                   \
  do {                                                                                          \
    ObjClosure* callee_closure = (closure_expr);                                                \
    int call_argc = (argc_expr);                                                                \
    ObjFunction* fn = callee_closure->function.get();                                           \
    if (call_argc != fn->arity) [[unlikely]]                                                    \
      RUNTIME_ERROR("Expected %d arguments but got %d.", fn->arity, call_argc);                 \
    Value* base = sp - call_argc - 1;                                                           \
    if (frame_count_ == kFramesMax ||                                                           \
        static_cast<std::size_t>(stack_end_ - base) < fn->max_stack + kStackSlack) [[unlikely]] \
      RUNTIME_ERROR("Stack overflow.");                                                         \
    frame->ip = ip;                                                                             \
    frame = &frames_[frame_count_++];                                                           \
    frame->closure = callee_closure;                                                            \
    frame->slots = slots = base;                                                                \
    ip = fn->code;                                                                              \
    k = fn->constants->values();                                                                \
  } while (0)

  LOAD_FRAME();
  DISPATCH();

op_kConstant:
  *sp++ = READ_CONSTANT();
  DISPATCH();
op_kNil:
  *sp++ = Value::nil();
  DISPATCH();
op_kTrue:
  *sp++ = Value::boolean(true);
  DISPATCH();
op_kFalse:
  *sp++ = Value::boolean(false);
  DISPATCH();
op_kPop:
  --sp;
  DISPATCH();
op_kGetLocal:
  *sp++ = slots[READ_BYTE()];
  DISPATCH();
op_kSetLocal:
  slots[READ_BYTE()] = sp[-1];
  DISPATCH();
op_kGetGlobal : {
  std::uint16_t g = READ_SHORT();
  Value v = globals[g];
  if (v.raw_bits() == kUndefinedBits) [[unlikely]]
    RUNTIME_ERROR("Undefined variable '%s'.", global_names_[g]->chars());
  *sp++ = v;
  DISPATCH();
}
op_kDefineGlobal:
  globals[READ_SHORT()] = *--sp;
  DISPATCH();
op_kSetGlobal : {
  std::uint16_t g = READ_SHORT();
  if (globals[g].raw_bits() == kUndefinedBits) [[unlikely]]
    RUNTIME_ERROR("Undefined variable '%s'.", global_names_[g]->chars());
  globals[g] = sp[-1];
  DISPATCH();
}
op_kGetUpvalue:
  *sp++ = frame->closure->upvalues()[READ_BYTE()]->get();
  DISPATCH();
op_kSetUpvalue:
  frame->closure->upvalues()[READ_BYTE()]->set(sp[-1]);
  DISPATCH();
op_kGetProperty : {
  Value receiver = sp[-1];
  if (!is_obj_type(receiver, ObjType::kInstance)) [[unlikely]]
    RUNTIME_ERROR("Only instances have properties.");
  auto* instance = receiver.as<ObjInstance>();
  ObjString* name = READ_STRING();
  FieldCache* cache = READ_CACHE();
  if (Member<Value>* field = cached_field(instance, name, *cache)) {
    sp[-1] = *field;
    DISPATCH();
  }
  SYNC();
  if (!bind_method(instance->klass.get(), name)) FAIL();
  RELOAD_K();
  DISPATCH();
}
op_kGetThisProperty : {
  // Slot 0 of a method is always its instance: no type check.
  auto* instance = slots[0].as<ObjInstance>();
  ObjString* name = READ_STRING();
  FieldCache* cache = READ_CACHE();
  if (Member<Value>* field = cached_field(instance, name, *cache)) {
    *sp++ = *field;
    DISPATCH();
  }
  *sp++ = slots[0];
  SYNC();
  if (!bind_method(instance->klass.get(), name)) FAIL();
  RELOAD_K();
  DISPATCH();
}
op_kSetProperty : {
  Value target = sp[-2];
  if (!is_obj_type(target, ObjType::kInstance)) [[unlikely]]
    RUNTIME_ERROR("Only instances have fields.");
  auto* instance = target.as<ObjInstance>();
  ObjString* name = READ_STRING();
  FieldCache* cache = READ_CACHE();
  if (Member<Value>* slot = cached_slot(instance, name, *cache)) [[likely]] {
    *slot = sp[-1];
  } else {
    SYNC();
    add_field(sp - 2, name, sp - 1);
    RELOAD_K();
  }
  sp[-2] = sp[-1];
  --sp;
  DISPATCH();
}
op_kGetSuper : {
  ObjString* name = READ_STRING();
  auto* superclass = (*--sp).as<ObjClass>();
  SYNC();
  if (!bind_method(superclass, name)) FAIL();
  RELOAD_K();
  DISPATCH();
}
op_kEqual : {
  Value b = *--sp;
  sp[-1] = Value::boolean(values_equal(sp[-1], b));
  DISPATCH();
}
op_kGreater : {
  NUMBER_OPERANDS();
  sp[-1] = Value::boolean(a > b);
  DISPATCH();
}
op_kLess : {
  NUMBER_OPERANDS();
  sp[-1] = Value::boolean(a < b);
  DISPATCH();
}
op_kAdd : {
  Value b = sp[-1];
  Value a = sp[-2];
  if (a.is_number() && b.is_number()) [[likely]] {
    sp[-2] = Value::number(a.as_number() + b.as_number());
    --sp;
  } else if (is_obj_type(a, ObjType::kString) && is_obj_type(b, ObjType::kString)) {
    SYNC();
    concatenate();
    sp = stack_top_;
    RELOAD_K();
  } else {
    RUNTIME_ERROR("Operands must be two numbers or two strings.");
  }
  DISPATCH();
}
op_kSubtract : {
  NUMBER_OPERANDS();
  sp[-1] = Value::number(a - b);
  DISPATCH();
}
op_kMultiply : {
  NUMBER_OPERANDS();
  sp[-1] = Value::number(a * b);
  DISPATCH();
}
op_kDivide : {
  NUMBER_OPERANDS();
  sp[-1] = Value::number(a / b);
  DISPATCH();
}
op_kNot:
  sp[-1] = Value::boolean(is_falsey(sp[-1]));
  DISPATCH();
op_kNegate:
  if (!sp[-1].is_number()) [[unlikely]]
    RUNTIME_ERROR("Operand must be a number.");
  sp[-1] = Value::number(-sp[-1].as_number());
  DISPATCH();
op_kPrint:
  print_value(stdout, *--sp);
  std::fputc('\n', stdout);
  DISPATCH();
op_kJump : {
  std::uint16_t offset = READ_SHORT();
  ip += offset;
  DISPATCH();
}
op_kJumpIfFalse : {
  std::uint16_t offset = READ_SHORT();
  if (is_falsey(sp[-1])) ip += offset;
  DISPATCH();
}
op_kLoop : {
  std::uint16_t offset = READ_SHORT();
  ip -= offset;
  DISPATCH();
}
op_kJumpIfNotLess : {
  NUMBER_OPERANDS();
  --sp;
  std::uint16_t offset = READ_SHORT();
  if (!(a < b)) ip += offset;
  DISPATCH();
}
op_kJumpIfNotGreater : {
  NUMBER_OPERANDS();
  --sp;
  std::uint16_t offset = READ_SHORT();
  if (!(a > b)) ip += offset;
  DISPATCH();
}
op_kJumpIfNotEqual : {
  Value b = sp[-1];
  Value a = sp[-2];
  sp -= 2;
  std::uint16_t offset = READ_SHORT();
  if (!values_equal(a, b)) ip += offset;
  DISPATCH();
}
op_kCall : {
  int argc = READ_BYTE();
  Value callee = sp[-1 - argc];
  if (is_obj_type(callee, ObjType::kClosure)) [[likely]] {
    CALL_CLOSURE(callee.as<ObjClosure>(), argc);
    DISPATCH();
  }
  SYNC();
  if (!call_value(callee, argc)) FAIL();
  sp = stack_top_;
  LOAD_FRAME();
  DISPATCH();
}
op_kInvoke : {
  ObjString* name = READ_STRING();
  int argc = READ_BYTE();
  Value receiver = sp[-1 - argc];
  if (is_obj_type(receiver, ObjType::kInstance)) [[likely]] {
    // The common case inline: no field shadows the name, the class has the method.
    auto* instance = receiver.as<ObjInstance>();
    ObjClass* klass = instance->klass.get();
    if (!klass->field_shadows_method || instance->field(name) == nullptr) {
      if (Member<Value>* method = table_get(klass->methods.get(), name)) {
        CALL_CLOSURE(method->get().as<ObjClosure>(), argc);
        DISPATCH();
      }
    }
  }
  SYNC();
  if (!invoke(name, argc)) FAIL();
  sp = stack_top_;
  LOAD_FRAME();
  DISPATCH();
}
op_kSuperInvoke : {
  ObjString* name = READ_STRING();
  int argc = READ_BYTE();
  auto* superclass = (*--sp).as<ObjClass>();
  if (Member<Value>* method = table_get(superclass->methods.get(), name)) [[likely]] {
    CALL_CLOSURE(method->get().as<ObjClosure>(), argc);
    DISPATCH();
  }
  SYNC();
  if (!invoke_from_class(superclass, name, argc)) FAIL();
  sp = stack_top_;
  LOAD_FRAME();
  DISPATCH();
}
op_kClosure : {
  std::uint8_t index = READ_BYTE();
  std::uint32_t count = k[index].get().as<ObjFunction>()->upvalue_count;
  SYNC();
  auto* closure = make_sized<ObjClosure>(count * sizeof(Member<ObjUpvalue>), count);
  RELOAD_K();
  closure->function = k[index].get().as<ObjFunction>();
  *sp++ = Value::object(closure);
  for (std::uint32_t i = 0; i < count; ++i) {
    std::uint8_t is_local = READ_BYTE();
    std::uint8_t slot = READ_BYTE();
    if (is_local) {
      SYNC();
      ObjUpvalue* uv = capture_upvalue(slots + slot);
      sp[-1].as<ObjClosure>()->upvalues()[i] = uv;  // the closure may have moved
    } else {
      sp[-1].as<ObjClosure>()->upvalues()[i] = frame->closure->upvalues()[slot];
    }
  }
  RELOAD_K();
  DISPATCH();
}
op_kCloseUpvalue:
  close_upvalues(sp - 1);
  --sp;
  DISPATCH();
op_kReturn : {
  Value result = *--sp;
  if (open_upvalues_ != nullptr && open_upvalues_->location >= slots) close_upvalues(slots);
  --frame_count_;
  if (frame_count_ == 0) {
    stack_top_ = slots;  // pops the script's closure
    return InterpretResult::kOk;
  }
  sp = slots;
  *sp++ = result;
  LOAD_FRAME();
  DISPATCH();
}
op_kClass : {
  std::uint8_t index = READ_BYTE();
  SYNC();
  auto* klass = make<ObjClass>();
  RELOAD_K();
  klass->name = k[index].get().as<ObjString>();
  *sp++ = Value::object(klass);
  DISPATCH();
}
op_kInherit : {
  if (!is_obj_type(sp[-2], ObjType::kClass)) [[unlikely]]
    RUNTIME_ERROR("Superclass must be a class.");
  TableStore* methods = sp[-2].as<ObjClass>()->methods.get();
  if (methods != nullptr) {
    SYNC();
    std::uint32_t capacity = methods->capacity;
    auto* copy = make_sized<TableStore>(capacity * sizeof(TableEntry), capacity);
    RELOAD_K();
    methods = sp[-2].as<ObjClass>()->methods.get();  // re-read after the allocation
    // Same capacity, same hashes: every entry keeps its position.
    for (std::uint32_t i = 0; i < capacity; ++i) copy->entries()[i] = methods->entries()[i];
    copy->count = methods->count;
    sp[-1].as<ObjClass>()->methods = copy;
  }
  sp[-1].as<ObjClass>()->initializer = sp[-2].as<ObjClass>()->initializer;
  --sp;
  DISPATCH();
}
op_kMethod : {
  ObjString* name = READ_STRING();
  bool is_init = name == init_string_;
  SYNC();
  put_method(sp - 2, name, sp - 1);
  RELOAD_K();
  if (is_init) sp[-2].as<ObjClass>()->initializer = sp[-1];
  --sp;
  DISPATCH();
}

#undef LOAD_FRAME
#undef SYNC
#undef RELOAD_K
#undef READ_BYTE
#undef READ_SHORT
#undef READ_CONSTANT
#undef READ_STRING
#undef READ_CACHE
#undef RUNTIME_ERROR
#undef FAIL
#undef NUMBER_OPERANDS
#undef DISPATCH
#undef CALL_CLOSURE
}

}  // namespace lox
