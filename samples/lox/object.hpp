// The Lox object model on marrow: every Lox heap object is a marrow managed object.
// Objects are moved with memcpy at any allocation, so nothing here may point into
// itself, and every reference slot is a Member (barriered, traced).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include <marrow/marrow.hpp>

namespace lox {

using marrow::Member;
using marrow::Value;

// The Lox type of an object. Kept in the object itself (one byte, padded with the
// first field) so that a type test is one load from the object, not a type-table walk.
enum class ObjType : std::uint8_t {
  kString,
  kFunction,
  kNative,
  kClosure,
  kUpvalue,
  kClass,
  kInstance,
  kBoundMethod,
  kValueArray,  // a function's constants (internal, never a Lox value)
  kTable,       // storage of a field or method table (internal)
};

struct Obj : marrow::Object {
  explicit Obj(ObjType t) : type(t) {}
  ObjType type;
};

inline bool is_obj_type(Value v, ObjType t) { return v.is_object() && v.as<Obj>()->type == t; }

// Trailing-storage helpers: make_sized puts the extra bytes right after sizeof(T).
template <class Elem, class T>
inline Elem* trailing(T* self) {
  static_assert(sizeof(T) % alignof(Elem) == 0, "trailing elements would be misaligned");
  return reinterpret_cast<Elem*>(reinterpret_cast<std::byte*>(self) + sizeof(T));
}

/// An interned, immutable string: `length` chars plus a NUL after them, in trailing
/// storage. Holds no references, so the collector never scans it. Interning makes
/// equal strings the same object: string equality is pointer equality.
struct ObjString : Obj {
  static constexpr const char* kTypeName = "LoxString";
  // Heap snapshots show a string as DevTools shows a JS string: its text, under "(string)".
  static constexpr auto kSnapshotNodeType = marrow::SnapshotNodeType::kString;
  ObjString(std::uint32_t len, std::uint32_t h) : Obj(ObjType::kString), hash(h), length(len) {}
  char* chars() { return trailing<char>(this); }
  const char* chars() const {
    return reinterpret_cast<const char*>(reinterpret_cast<const std::byte*>(this) +
                                         sizeof(ObjString));
  }
  void snapshot_name(std::string& out) const { out.append(chars(), length); }
  std::uint32_t hash;
  std::uint32_t length;
};

/// A function's constants. Constants may be young strings and functions while the
/// function itself is old, so they live in Member slots (barriered), not off-heap.
/// The slots are zeroed by make_sized, which reads as nil.
struct ValueArray : Obj {
  static constexpr const char* kTypeName = "LoxValueArray";
  explicit ValueArray(std::uint32_t n) : Obj(ObjType::kValueArray), count(n) {}
  Member<Value>* values() { return trailing<Member<Value>>(this); }
  /// A fixed count: a long array is marked a piece at a time.
  void trace(marrow::Tracer& t) { t.visit_range(values(), count); }
  std::uint32_t count;
};

/// A compiled function. Its bytecode and line table are off-heap, in the VM's code arena
/// (immutable once compiled, freed with the VM): a frame's `ip` is a raw pointer into
/// them and must stay valid while this object moves.
struct ObjFunction : Obj {
  static constexpr const char* kTypeName = "LoxFunction";
  ObjFunction() : Obj(ObjType::kFunction) {}
  void trace(marrow::Tracer& t) {
    t.visit(name, "name");
    t.visit(constants, "constants");
  }
  // Heap-snapshot labels take clox's printed forms (<fn name>, <script>, <native fn>; and
  // <class Name>). DevTools' Summary groups names shaped <word ...> by their first word,
  // so it shows one row per kind ("<fn>", "<class>") with each object's full name below.
  void snapshot_name(std::string& out) const {
    if (name.get() == nullptr) {
      out += "<script>";
    } else {
      out += "<fn ";
      out.append(name->chars(), name->length);
      out += '>';
    }
  }
  std::uint8_t arity = 0;
  std::uint16_t upvalue_count = 0;
  std::uint32_t max_stack = 0;  // value-stack slots a frame of this function can use
  std::uint32_t code_size = 0;
  const std::uint8_t* code = nullptr;    // off-heap (VM code arena)
  const std::uint32_t* lines = nullptr;  // off-heap: source line of each code byte
  Member<ObjString> name;                // null for the top-level script
  Member<ValueArray> constants;
};

class Vm;
using NativeFn = bool (*)(Vm& vm, int argc, Value* args, Value* result);

struct ObjNative : Obj {
  static constexpr const char* kTypeName = "LoxNative";
  ObjNative(NativeFn f, int a) : Obj(ObjType::kNative), fn(f), arity(a) {}
  void snapshot_name(std::string& out) const { out += "<native fn>"; }
  NativeFn fn;
  int arity;
};

/// A captured variable. Open: `location` points at the variable's slot in the VM value
/// stack (off-heap, never moves). Closed: `location` is null and the value is in
/// `closed`. (clox points `location` at its own `closed` field instead; that would be a
/// self-pointer, which a moving collector breaks.)
struct ObjUpvalue : Obj {
  static constexpr const char* kTypeName = "LoxUpvalue";
  explicit ObjUpvalue(Value* slot) : Obj(ObjType::kUpvalue), location(slot) {}
  void trace(marrow::Tracer& t) {
    t.visit(closed, "value");
    t.visit(next, "next");
  }
  Value get() const { return location != nullptr ? *location : closed.get(); }
  void set(Value v) {
    if (location != nullptr) {
      *location = v;
    } else {
      closed = v;
    }
  }
  Value* location;
  Member<Value> closed;
  Member<ObjUpvalue> next;  // the VM's list of open upvalues, sorted by stack slot
};

struct ObjClosure : Obj {
  static constexpr const char* kTypeName = "LoxClosure";
  explicit ObjClosure(std::uint32_t n) : Obj(ObjType::kClosure), upvalue_count(n) {}
  Member<ObjUpvalue>* upvalues() { return trailing<Member<ObjUpvalue>>(this); }
  void trace(marrow::Tracer& t) {
    t.visit(function, "function");
    Member<ObjUpvalue>* u = upvalues();
    for (std::uint32_t i = 0; i < upvalue_count; ++i) t.visit(u[i]);
  }
  std::uint32_t upvalue_count;
  Member<ObjFunction> function;
};

struct TableEntry {
  Member<ObjString> key;  // null: empty (Lox cannot delete fields or methods: no tombstones)
  Member<Value> value;
};

/// Visits a table's keys and values. For heap snapshots each value's edge is named by its
/// key (a field or method name; Lox strings end in a NUL), so DevTools shows
/// `registry.head.callback` rather than element indices.
inline void trace_entries(marrow::Tracer& t, TableEntry* e, std::uint32_t capacity) {
  const bool named = t.wants_edge_names();
  for (std::uint32_t i = 0; i < capacity; ++i) {
    t.visit(e[i].key);
    ObjString* key = named ? e[i].key.get() : nullptr;
    t.visit(e[i].value, key != nullptr ? key->chars() : nullptr);
  }
}

/// The entry for `key` in an open-addressing table (linear probing, power-of-two
/// capacity, never full), or the empty entry where it would go.
inline TableEntry* table_find(TableEntry* entries, std::uint32_t capacity, const ObjString* key) {
  std::uint32_t mask = capacity - 1;
  for (std::uint32_t i = key->hash & mask;; i = (i + 1) & mask) {
    ObjString* k = entries[i].key.get();
    if (k == key || k == nullptr) return &entries[i];
  }
}

/// Whether a table of `capacity` may take one more entry: at most 3/4 full.
inline bool table_has_room(std::uint32_t count, std::uint32_t capacity) {
  return (count + 1) * 4 <= capacity * 3;
}

/// Storage of a method table, or of an instance's fields once they outgrew the
/// instance. The owner holds it in a Member and replaces it to grow.
struct alignas(8) TableStore : Obj {
  static constexpr const char* kTypeName = "LoxTable";
  explicit TableStore(std::uint32_t cap) : Obj(ObjType::kTable), capacity(cap) {}
  TableEntry* entries() { return trailing<TableEntry>(this); }
  void trace(marrow::Tracer& t) { trace_entries(t, entries(), capacity); }
  TableEntry* find(const ObjString* key) { return table_find(entries(), capacity, key); }
  std::uint32_t capacity;
  std::uint32_t count = 0;
};

/// The word in a slot that holds no value: an undefined global, or a field an instance
/// has not been given. Neither nil, a bool, a number nor a reference, so the tracer
/// ignores it and no Lox value equals it.
inline constexpr std::uint64_t kUndefinedBits = 2;
inline Value undefined_value() { return Value::from_raw_bits(kUndefinedBits); }

struct ObjClass : Obj {
  static constexpr const char* kTypeName = "LoxClass";
  ObjClass() : Obj(ObjType::kClass) {}
  void trace(marrow::Tracer& t) {
    t.visit(name, "name");
    t.visit(methods, "methods");
    t.visit(initializer, "init");
    t.visit(fields, "fields");
  }
  void snapshot_name(std::string& out) const {
    if (name.get() == nullptr) return;  // not named yet: the type name stands in
    out += "<class ";
    out.append(name->chars(), name->length);
    out += '>';
  }
  /// The slot index of field `key` in this class's instances, or -1.
  int field_index(const ObjString* key) {
    TableStore* layout = fields.get();
    if (layout == nullptr) return -1;
    TableEntry* e = layout->find(key);
    return e->key.get() == nullptr ? -1 : static_cast<int>(e->value.get().as_number());
  }
  std::uint32_t field_count() const { return fields.get() != nullptr ? fields->count : 0; }
  // Whether some instance has a field named like one of the methods. Until then an
  // invocation can skip the field lookup that Lox semantics puts before the method
  // lookup. Sound because a class's methods are all in place before any instance
  // exists (OP_METHOD runs right after OP_CLASS, with no Lox code in between).
  bool field_shadows_method = false;
  Member<ObjString> name;
  Member<TableStore> methods;  // null until the first method
  Member<Value> initializer;   // the `init` closure, or nil (cached: every call looks)
  // The field layout all instances share: field name -> slot index (a number) for every
  // name any instance of the class has been given, numbered in order of first
  // appearance. Lox names fields with identifiers, so the union is bounded by the
  // program text. Null until the first field.
  Member<TableStore> fields;
};

/// An instance holds one value slot per field of its class's layout (ObjClass::fields),
/// inline in trailing storage sized by the layout when the instance was made: one
/// allocation per instance, 8 bytes per field, and a field read touches the class's
/// layout (hot in cache: one per class) and one slot. A slot of a field this instance
/// has not been given holds kUndefinedBits. Fields beyond the inline slots (the layout
/// grew after the instance was made) move all slots to an out-of-line ValueArray,
/// `overflow`, and the inline slots are cleared.
struct ObjInstance : Obj {
  static constexpr const char* kTypeName = "LoxInstance";
  explicit ObjInstance(std::uint32_t capacity)
      : Obj(ObjType::kInstance), inline_capacity(capacity) {}
  Member<Value>* inline_slots() { return trailing<Member<Value>>(this); }
  void trace(marrow::Tracer& t);
  // Heap snapshots name an instance by its class, so DevTools' Summary groups instances
  // the way a Lox programmer thinks of them ("Tree", "Listener").
  void snapshot_name(std::string& out) const;
  /// The storage of slot `index`, or nullptr when this instance has no room for it yet.
  Member<Value>* slot(std::uint32_t index) {
    if (ValueArray* out = overflow.get()) [[unlikely]]
      return index < out->count ? &out->values()[index] : nullptr;
    return index < inline_capacity ? &inline_slots()[index] : nullptr;
  }
  /// The field's value slot, or nullptr when this instance has no such field.
  Member<Value>* field(const ObjString* key) {
    int index = klass->field_index(key);
    if (index < 0) return nullptr;
    Member<Value>* s = slot(static_cast<std::uint32_t>(index));
    return s != nullptr && s->get().raw_bits() != kUndefinedBits ? s : nullptr;
  }
  std::uint32_t inline_capacity;
  Member<ObjClass> klass;
  Member<ValueArray> overflow;  // null while the fields fit inline
};

/// An inline cache of one property access (GetProperty, GetThisProperty, SetProperty):
/// the class of the instance it last saw and the slot of the field in that class's
/// layout. Sound because a class's layout only grows, so a name's slot never changes.
/// `klass` is a weak reference: the VM's process_weak rewrites it when the class moves
/// and clears it when the class dies (so a new class at the same address cannot hit).
struct FieldCache {
  ObjClass* klass = nullptr;
  std::uint32_t index = 0;
};

/// The slot of field `key` in `instance` (holding a value or not: for a store), or
/// nullptr when the class's layout lacks the key or the instance lacks room for it.
/// `cache`, this access's inline cache, answers without a lookup when it saw the
/// instance's class last time.
inline Member<Value>* cached_slot(ObjInstance* instance, const ObjString* key, FieldCache& cache) {
  ObjClass* klass = instance->klass.get();
  if (klass != cache.klass) [[unlikely]] {
    int found = klass->field_index(key);
    if (found < 0) return nullptr;
    cache.klass = klass;
    cache.index = static_cast<std::uint32_t>(found);
  }
  return instance->slot(cache.index);
}

/// The field `key` of `instance` through `cache`, or nullptr when it has no such field.
inline Member<Value>* cached_field(ObjInstance* instance, const ObjString* key, FieldCache& cache) {
  Member<Value>* s = cached_slot(instance, key, cache);
  return s != nullptr && s->get().raw_bits() != kUndefinedBits ? s : nullptr;
}

// Heap snapshots name each field's edge by its field name, found in the class's layout
// (collections never ask for names, so they never read the class here). Out-of-line
// slots are named from here too: a snapshot then also shows them as the ValueArray's
// elements, but the path instance.field exists, as it does for inline ones.
inline void ObjInstance::trace(marrow::Tracer& t) {
  t.visit(klass, "class");
  t.visit(overflow, "fields");
  Member<Value>* s = inline_slots();
  TableStore* layout =
      t.wants_edge_names() && klass.get() != nullptr ? klass->fields.get() : nullptr;
  if (layout == nullptr) {
    for (std::uint32_t i = 0; i < inline_capacity; ++i) t.visit(s[i]);
    return;
  }
  // Every slot has exactly one name: a slot index is below the layout's size.
  ValueArray* out = overflow.get();
  TableEntry* e = layout->entries();
  for (std::uint32_t i = 0; i < layout->capacity; ++i) {
    ObjString* key = e[i].key.get();
    if (key == nullptr) continue;
    auto index = static_cast<std::uint32_t>(e[i].value.get().as_number());
    if (index < inline_capacity) t.visit(s[index], key->chars());
    if (out != nullptr && index < out->count) t.visit(out->values()[index], key->chars());
  }
}

inline void ObjInstance::snapshot_name(std::string& out) const {
  const ObjClass* k = klass.get();
  if (k != nullptr && k->name.get() != nullptr) out.append(k->name->chars(), k->name->length);
}

struct ObjBoundMethod : Obj {
  static constexpr const char* kTypeName = "LoxBoundMethod";
  ObjBoundMethod() : Obj(ObjType::kBoundMethod) {}
  void trace(marrow::Tracer& t) {
    t.visit(receiver, "this");
    t.visit(method, "method");
  }
  Member<Value> receiver;
  Member<ObjClosure> method;
};

/// Looks `key` up in an optional table; nullptr when absent.
inline Member<Value>* table_get(TableStore* store, const ObjString* key) {
  static_assert(sizeof(ObjInstance) % 8 == 0 && sizeof(TableEntry) == 16);
  if (store == nullptr) return nullptr;
  TableEntry* e = store->find(key);
  return e->key.get() == nullptr ? nullptr : &e->value;
}

/// FNV-1a, 32 bits. `h` continues a previous hash (concatenation hashes both halves
/// without building the result first).
inline std::uint32_t hash_bytes(const char* s, std::size_t n, std::uint32_t h = 2166136261u) {
  for (std::size_t i = 0; i < n; ++i) {
    h ^= static_cast<std::uint8_t>(s[i]);
    h *= 16777619u;
  }
  return h;
}

}  // namespace lox
