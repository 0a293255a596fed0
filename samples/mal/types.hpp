// The mal value types. Every mal value that lives on the heap is a marrow managed object
// tagged with its mal type; numbers, nil, true and false are immediate marrow::Values.
// Nothing here allocates: constructors take sizes and plain data, never managed pointers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <marrow/marrow.hpp>

namespace mal {

using marrow::Local;
using marrow::Member;
using marrow::Value;

class Interp;

enum class Tag : std::uint8_t {
  kString,
  kSymbol,
  kKeyword,
  kList,
  kVector,
  kMap,
  kFn,       // a closure; also a macro when Fn::is_macro
  kBuiltin,  // a core function written in C++
  kAtom,
  kEnv,
  kEnvTable,  // an environment's hashed bindings (large environments only)
};

/// Base of every mal object: the tag that says which mal type it is. marrow keeps its own
/// type index in the header, but that is not public; one byte of our own is simpler.
/// alignas(8) makes every sizeof a multiple of 8, so trailing storage (which starts at
/// sizeof(T)) is 8-byte aligned: the remembered set tracks slots by aligned word, and a
/// misaligned Member is remembered as the wrong word.
struct alignas(8) MalObj : marrow::Object {
  explicit MalObj(Tag t) : tag(t) {}
  Tag tag;
};

inline bool is_tag(Value v, Tag t) { return v.is_object() && v.as<MalObj>()->tag == t; }
inline bool truthy(Value v) { return !v.is_nil() && !(v.is_bool() && !v.as_bool()); }

// ---- Strings, symbols and keywords ------------------------------------------------------

/// 32-bit FNV-1a, never 0 (0 means "not computed yet" in Str::hash).
inline std::uint32_t hash_text(std::string_view s) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h == 0 ? 1 : h;
}

/// A mal string: immutable bytes in trailing storage, NUL-terminated (made with one
/// extra byte, which make_sized zeroes). No references, so no `trace`: the
/// collector never scans it.
struct Str : MalObj {
  static constexpr const char* kTypeName = "MalString";
  static constexpr auto kSnapshotNodeType = marrow::SnapshotNodeType::kString;
  explicit Str(std::string_view s)
      : MalObj(Tag::kString), length(static_cast<std::uint32_t>(s.size())) {
    std::memcpy(chars(), s.data(), s.size());
  }
  char* chars() { return reinterpret_cast<char*>(this) + sizeof(Str); }
  const char* chars() const { return reinterpret_cast<const char*>(this) + sizeof(Str); }
  std::string_view view() const { return {chars(), length}; }
  /// Computed on first use (a plain field: no barrier needed for non-references).
  std::uint32_t get_hash() {
    if (hash == 0) hash = hash_text(view());
    return hash;
  }
  void snapshot_name(std::string& out) const { out.append(chars(), length); }

  std::uint32_t length;
  std::uint32_t hash = 0;
};

/// The special forms, recognised by identity: the interpreter interns their symbols at
/// startup and keeps them alive, and Name::special says which form a symbol names.
enum class Special : std::uint8_t {
  kNone,
  kDef,
  kLet,
  kIf,
  kFn,
  kDo,
  kQuote,
  kQuasiquote,
  kDefmacro,
  kTry,
  kMacroexpand,       // (macroexpand form): the process guide's older step 8
  kQuasiquoteExpand,  // (quasiquoteexpand form): its older step 7
};

/// A symbol or a keyword (tag kSymbol / kKeyword): interned, so two names are equal iff
/// they are the same object. The hash is of the text, never of the address (objects move).
/// NUL-terminated like Str, so a name can label a heap-snapshot edge.
struct Name : MalObj {
  static constexpr const char* kTypeName = "MalName";
  static constexpr auto kSnapshotNodeType = marrow::SnapshotNodeType::kString;
  Name(Tag t, std::string_view s, std::uint32_t h)
      : MalObj(t), length(static_cast<std::uint32_t>(s.size())), hash(h) {
    std::memcpy(chars(), s.data(), s.size());
  }
  char* chars() { return reinterpret_cast<char*>(this) + sizeof(Name); }
  const char* chars() const { return reinterpret_cast<const char*>(this) + sizeof(Name); }
  std::string_view view() const { return {chars(), length}; }
  void snapshot_name(std::string& out) const {
    if (tag == Tag::kKeyword) out.push_back(':');
    out.append(chars(), length);
  }

  Special special = Special::kNone;
  std::uint32_t length;
  std::uint32_t hash;
};

// ---- Collections ------------------------------------------------------------------------

/// A list or a vector (tag kList / kVector): `count` elements in trailing storage. Lists
/// are arrays, not cons cells: eval indexes forms (`(if c a b)`), `count` and `nth` are
/// O(1), an argument list is one allocation; `cons` and `rest` copy (as mal's C
/// implementation does). Immutable once built.
struct Seq : MalObj {
  static constexpr const char* kTypeName = "MalSeq";
  static constexpr auto kSnapshotNodeType = marrow::SnapshotNodeType::kArray;
  Seq(Tag t, std::uint32_t n) : MalObj(t), count(n) {}
  Member<Value>* items() {
    return reinterpret_cast<Member<Value>*>(reinterpret_cast<std::byte*>(this) + sizeof(Seq));
  }
  Value at(std::uint32_t i) { return items()[i].get(); }
  void trace(marrow::Tracer& t) {
    t.visit(meta, "meta");
    t.visit_range(items(), count);  // immutable, a fixed count: long ones marked in pieces
  }

  std::uint32_t count;
  Member<Value> meta;
};

inline bool is_seq(Value v) {
  return v.is_object() &&
         (v.as<MalObj>()->tag == Tag::kList || v.as<MalObj>()->tag == Tag::kVector);
}

/// One key/value pair of a hash map.
struct Entry {
  Member<Value> key;
  Member<Value> value;
};

/// A hash map: immutable, copied by assoc/dissoc. Up to kLinearSlots pairs it is a plain
/// array of `count` entries searched linearly (most maps in mal programs are small);
/// beyond that an open-addressing table of `capacity` (a power of two, at most half full)
/// slots, empty slots holding the key kNoKey.
struct Map : MalObj {
  static constexpr const char* kTypeName = "MalMap";
  static constexpr std::uint32_t kLinearSlots = 8;
  Map(std::uint32_t cap) : MalObj(Tag::kMap), capacity(cap) {}
  Entry* entries() {
    return reinterpret_cast<Entry*>(reinterpret_cast<std::byte*>(this) + sizeof(Map));
  }
  bool hashed() const { return capacity > kLinearSlots; }
  /// Slots to visit when iterating (entries used in the linear layout, all slots otherwise).
  std::uint32_t slot_count() const { return hashed() ? capacity : count; }
  void trace(marrow::Tracer& t) {
    t.visit(meta, "meta");
    Entry* e = entries();
    std::uint32_t n = slot_count();
    for (std::uint32_t i = 0; i < n; ++i) {
      t.visit(e[i].key);
      t.visit(e[i].value);
    }
  }

  std::uint32_t count = 0;
  std::uint32_t capacity;
  Member<Value> meta;
};

/// Marks an empty slot of a hashed Map: a word that is neither nil, a boolean, a number
/// nor a reference (marrow::Value's tracer ignores it; 0, 6 and 7 are nil/false/true).
inline Value no_key() { return Value::from_raw_bits(2); }

// ---- Functions and atoms ----------------------------------------------------------------

struct Env;

/// A closure `(fn* params body)`, or a macro when is_macro. The parameters stay in the
/// form's own list (no copy per closure); nfixed and variadic are computed once.
struct Fn : MalObj {
  static constexpr const char* kTypeName = "MalFn";
  static constexpr auto kSnapshotNodeType = marrow::SnapshotNodeType::kClosure;
  Fn() : MalObj(Tag::kFn) {}
  void trace(marrow::Tracer& t) {
    t.visit(params, "params");
    t.visit(body, "body");
    t.visit(env, "env");
    t.visit(meta, "meta");
  }

  bool is_macro = false;
  bool variadic = false;  // `(a b & rest)`: the rest symbol is params[nfixed + 1]
  std::uint32_t nfixed = 0;
  Member<Seq> params;
  Member<Value> body;
  Member<Env> env;
  Member<Value> meta;
};

/// A core function. Its arguments are `argc` values on the interpreter's value stack
/// (rooted: they follow moves), so a builtin may allocate and still read them.
using BuiltinFn = Value (*)(Interp& in, Value* args, std::uint32_t argc);

struct Builtin : MalObj {
  static constexpr const char* kTypeName = "MalBuiltin";
  static constexpr auto kSnapshotNodeType = marrow::SnapshotNodeType::kClosure;
  Builtin(BuiltinFn f, const char* n) : MalObj(Tag::kBuiltin), fn(f), name(n) {}
  void trace(marrow::Tracer& t) { t.visit(meta, "meta"); }
  void snapshot_name(std::string& out) const { out.append(name); }

  BuiltinFn fn;
  const char* name;  // a string literal
  Member<Value> meta;
};

struct Atom : MalObj {
  static constexpr const char* kTypeName = "MalAtom";
  Atom() : MalObj(Tag::kAtom) {}
  void trace(marrow::Tracer& t) { t.visit(value, "value"); }
  Member<Value> value;
};

// ---- Environments -----------------------------------------------------------------------

struct Binding {
  Member<Name> name;
  Member<Value> value;
};

/// The hashed bindings of a large environment (the REPL's, or a function body that
/// def!s more than it has slots for): open addressing on Name::hash, a power-of-two
/// capacity kept at most half full, empty slots with a null name.
struct EnvTable : MalObj {
  static constexpr const char* kTypeName = "MalEnvTable";
  static constexpr auto kSnapshotNodeType = marrow::SnapshotNodeType::kHidden;
  explicit EnvTable(std::uint32_t cap) : MalObj(Tag::kEnvTable), capacity(cap) {}
  Binding* slots() {
    return reinterpret_cast<Binding*>(reinterpret_cast<std::byte*>(this) + sizeof(EnvTable));
  }
  void trace(marrow::Tracer& t) {
    Binding* b = slots();
    const bool named = t.wants_edge_names();  // `fib in MalEnvTable` in heap snapshots
    for (std::uint32_t i = 0; i < capacity; ++i) {
      t.visit(b[i].name);
      t.visit(b[i].value, named && b[i].name ? b[i].name->chars() : nullptr);
    }
  }
  Binding* find(Name* n) {
    std::uint32_t mask = capacity - 1;
    for (std::uint32_t i = n->hash & mask;; i = (i + 1) & mask) {
      Binding& b = slots()[i];
      if (b.name.get() == n) return &b;
      if (b.name.get() == nullptr) return nullptr;
    }
  }

  std::uint32_t count = 0;
  std::uint32_t capacity;
};

/// An environment: a frame of bindings and its outer environment. A frame has `capacity`
/// inline slots sized for what made it (a call: its parameters; let*: its bindings), so a
/// call allocates one object; bindings beyond that go to an EnvTable. Lookup walks the
/// chain comparing interned names by identity.
struct Env : MalObj {
  static constexpr const char* kTypeName = "MalEnv";
  static constexpr auto kSnapshotNodeType = marrow::SnapshotNodeType::kHidden;
  explicit Env(std::uint32_t cap) : MalObj(Tag::kEnv), capacity(cap) {}
  Binding* slots() {
    return reinterpret_cast<Binding*>(reinterpret_cast<std::byte*>(this) + sizeof(Env));
  }
  void trace(marrow::Tracer& t) {
    t.visit(outer, "outer");
    t.visit(table, "table");
    Binding* b = slots();
    // Edge names from the bound symbols: heap snapshots then show `x in MalEnv`.
    const bool named = t.wants_edge_names();
    for (std::uint32_t i = 0; i < count; ++i) {
      t.visit(b[i].name);
      t.visit(b[i].value, named && b[i].name ? b[i].name->chars() : nullptr);
    }
  }
  /// This frame's binding of `n`, or nullptr.
  Binding* find_here(Name* n) {
    Binding* b = slots();
    for (std::uint32_t i = 0; i < count; ++i)
      if (b[i].name.get() == n) return &b[i];
    if (table) return table->find(n);
    return nullptr;
  }
  /// The innermost binding of `n` along the chain, or nullptr. Allocates nothing.
  Binding* find(Name* n) {
    for (Env* e = this; e != nullptr; e = e->outer.get())
      if (Binding* b = e->find_here(n)) return b;
    return nullptr;
  }

  std::uint32_t count = 0;
  std::uint32_t capacity;
  Member<Env> outer;
  Member<EnvTable> table;
};

// Trailing storage starts at sizeof(T): it must be 8-byte aligned (see MalObj).
static_assert(sizeof(Str) % 8 == 0 && sizeof(Name) % 8 == 0 && sizeof(Seq) % 8 == 0);
static_assert(sizeof(Map) % 8 == 0 && sizeof(Env) % 8 == 0 && sizeof(EnvTable) % 8 == 0);

}  // namespace mal
