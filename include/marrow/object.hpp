// The object model the collector sees: the `Object` base every managed type derives
// from, and the type table (name, trace, finalizer, flags) filled from C++ types.
#pragma once
#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "marrow/internal/header.hpp"

namespace marrow {

class Tracer;

/// Base of every managed type. Empty: the one-word header lives just before the object.
///
/// A managed type derives from `Object`, is created by `rt.make<T>(...)`, is moved with
/// memcpy (no self-pointers; no owning C++ members unless `finalize()` releases them),
/// and describes its references with `void trace(marrow::Tracer&)`:
/// ```cpp
/// struct Pair : marrow::Object {
///   marrow::Member<Pair> next;
///   marrow::Member<marrow::Value> value;
///   void trace(marrow::Tracer& t) { t.visit(next, "next"); t.visit(value, "value"); }
/// };
/// ```
/// Optional members the runtime picks up:
/// - `void finalize()`: runs once after the object died; must not allocate or touch other
///   managed objects.
/// - `static constexpr const char* kTypeName`: the name shown in stats, the heap walk and
///   heap snapshots (default: the C++ type name).
/// - `void snapshot_name(std::string& out) const`: a label for this one object in heap
///   snapshots (`rt.write_heap_snapshot`), appended to `out` (which arrives empty; the
///   snapshot reuses it, so labelling allocates no more than the string's growth). An
///   empty result means "use the type name". It may read the objects this one references
///   (nothing moves while a snapshot is written) but must not allocate managed memory.
///   Labels longer than 1 KiB are cut.
/// - `static constexpr marrow::SnapshotNodeType kSnapshotNodeType`: how DevTools classifies
///   the type's objects (default `kObject`: grouped by name in the Summary view).
/// ```cpp
/// struct Symbol : marrow::Object {
///   static constexpr const char* kTypeName = "Symbol";
///   static constexpr auto kSnapshotNodeType = marrow::SnapshotNodeType::kString;
///   std::uint32_t length;
///   const char* chars() const;  // trailing storage
///   void snapshot_name(std::string& out) const { out.append(chars(), length); }
/// };
/// ```
class Object {
 public:
  // Managed objects are created with rt.make<T>(...), never with `new`: the collector
  // must own their memory. (This line is what the compiler shows when `new` is used.)
  static void* operator new(std::size_t) = delete;
  static void* operator new[](std::size_t) = delete;
  static void operator delete(void*) = delete;
  static void operator delete[](void*) = delete;
  static void* operator new(std::size_t, void* where) noexcept { return where; }

 protected:
  Object() = default;
};

/// The node type a heap snapshot gives a managed type's objects: one of the node types
/// of the Chrome DevTools format, which decides how DevTools' Summary view groups them.
enum class SnapshotNodeType : std::uint8_t {
  kObject,   ///< grouped by node name (the label, else the type name); the default
  kString,   ///< grouped under "(string)"; name the node with its text
  kArray,    ///< grouped under "(array)"
  kCode,     ///< grouped under "(compiled code)": compiled functions, bytecode
  kClosure,  ///< grouped under "Function"
  kNative,   ///< grouped by node name, shown as native (non-heap) memory
  kHidden,   ///< grouped under "(system)": VM internals
};

/// What the collector knows about one managed type.
struct TypeInfo {
  const char* name;
  /// Visits every reference of the object; null when the type holds no references.
  void (*trace)(Object*, Tracer&);
  /// Releases native resources; null when the type has no finalizer.
  void (*finalize)(Object*);
  std::size_t fixed_size;  ///< sizeof(T)
  /// Appends the object's heap-snapshot label; null when the type has no `snapshot_name`.
  void (*snapshot_name)(const Object*, std::string&);
  SnapshotNodeType snapshot_type;
};

namespace internal {

/// Registers a type and returns its index (>= kFirstUserType). Thread-safe.
std::uint32_t register_type(const TypeInfo* info) noexcept;
/// The type table entry for an index; valid for indices returned by register_type.
inline const TypeInfo& type_info(std::uint32_t index) noexcept;
/// The type table: index -> TypeInfo (entries 0 and 1 are the free-chunk and filler
/// types). Read inline by the collectors on every object they scan.
inline constexpr std::uint32_t kMaxTypes = 1u << 16;
extern std::atomic<const TypeInfo*> g_type_table[kMaxTypes];

inline const TypeInfo& type_info(std::uint32_t index) noexcept {
  return *g_type_table[index].load(std::memory_order_acquire);
}

/// Number of type indices handed out so far (including the reserved ones).
std::uint32_t type_count() noexcept;

template <class T>
concept HasTrace = requires(T& object, Tracer& tracer) {
  object.trace(tracer);
};
template <class T>
concept HasFinalize = requires(T& object) {
  object.finalize();
};
template <class T>
concept HasTypeName = requires {
  T::kTypeName;
};
template <class T>
concept HasSnapshotName = requires(const T& object, std::string& out) {
  object.snapshot_name(out);
};
template <class T>
concept HasSnapshotNodeType = requires {
  { T::kSnapshotNodeType } -> std::convertible_to<SnapshotNodeType>;
};

/// The unqualified-as-written type name, taken from the compiler's signature string.
template <class T>
constexpr std::string_view raw_type_name() {
  std::string_view s = __PRETTY_FUNCTION__;  // "... [with T = ns::Name; ...]"
  auto start = s.find("T = ") + 4;
  auto end = s.find_first_of(";]", start);
  return s.substr(start, end - start);
}

template <class T>
struct TypeNameStorage {
  static constexpr std::string_view view = raw_type_name<T>();
  static constexpr auto chars = [] {
    struct Buffer {
      char data[view.size() + 1] = {};
    } b;
    for (std::size_t i = 0; i < view.size(); ++i) b.data[i] = view[i];
    return b;
  }();
};

template <class T>
void trace_thunk(Object* o, Tracer& t) {
  static_cast<T*>(o)->trace(t);
}
template <class T>
void finalize_thunk(Object* o) {
  static_cast<T*>(o)->finalize();
}
template <class T>
void snapshot_name_thunk(const Object* o, std::string& out) {
  static_cast<const T*>(o)->snapshot_name(out);
}

template <class T>
const TypeInfo* make_type_info() {
  static const TypeInfo info = [] {
    TypeInfo i{};
    if constexpr (HasTypeName<T>) {
      i.name = T::kTypeName;
    } else {
      i.name = TypeNameStorage<T>::chars.data;
    }
    if constexpr (HasTrace<T>) i.trace = &trace_thunk<T>;
    if constexpr (HasFinalize<T>) i.finalize = &finalize_thunk<T>;
    i.fixed_size = sizeof(T);
    if constexpr (HasSnapshotName<T>) i.snapshot_name = &snapshot_name_thunk<T>;
    if constexpr (HasSnapshotNodeType<T>) {
      i.snapshot_type = T::kSnapshotNodeType;
    } else {
      i.snapshot_type = SnapshotNodeType::kObject;
    }
    return i;
  }();
  return &info;
}

/// The type index of T, registered on first use.
template <class T>
std::uint32_t type_index_of() noexcept {
  static const std::uint32_t index = register_type(make_type_info<T>());
  return index;
}

/// Compile-time rules for managed types, each with the sentence the compiler prints.
template <class T>
constexpr void check_managed_type() {
  static_assert(std::is_base_of_v<Object, T>,
                "marrow: managed types must derive from marrow::Object");
  static_assert(!std::is_abstract_v<T>, "marrow: cannot allocate an abstract type");
  static_assert(std::is_trivially_destructible_v<T>,
                "marrow: managed objects are moved with memcpy and never destroyed, so their "
                "type must be trivially destructible; hold native resources through raw "
                "pointers and release them in `void finalize()`");
  static_assert(alignof(T) <= kObjectAlignment,
                "marrow: managed objects are 8-byte aligned; over-aligned types cannot be "
                "managed");
}

}  // namespace internal
}  // namespace marrow
