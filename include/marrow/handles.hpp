// Handles: how C++ code holds managed objects across allocations and collections.
// Local<T> (scoped), Global<T> (strong, RAII), Weak<T> (does not keep alive).
#pragma once
#include <concepts>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "marrow/internal/barrier.hpp"
#include "marrow/internal/mutator.hpp"
#include "marrow/internal/slot_table.hpp"
#include "marrow/object.hpp"

namespace marrow {

class Runtime;

namespace internal {

/// One slot of a SlotTable (the Global or the Weak table), released on destruction or
/// reset. Movable, not copyable: the RAII core shared by Global<T> and Weak<T>.
class OwnedSlot {
 public:
  OwnedSlot() = default;
  OwnedSlot(SlotTable& table, Object* value) : table_(&table), slot_(table.acquire(value)) {}
  OwnedSlot(OwnedSlot&& other) noexcept
      : table_(std::exchange(other.table_, nullptr)), slot_(std::exchange(other.slot_, nullptr)) {}
  OwnedSlot& operator=(OwnedSlot&& other) noexcept {
    if (this != &other) {
      reset();
      table_ = std::exchange(other.table_, nullptr);
      slot_ = std::exchange(other.slot_, nullptr);
    }
    return *this;
  }
  ~OwnedSlot() { reset(); }

  void reset() noexcept {
    if (slot_ != nullptr) table_->release(slot_);
    table_ = nullptr;
    slot_ = nullptr;
  }
  Object* get() const { return slot_ == nullptr ? nullptr : *slot_; }

 private:
  SlotTable* table_ = nullptr;
  Object** slot_ = nullptr;
};

}  // namespace internal

/// A handle to a managed object, valid while the HandleScope that created it is open.
/// The collector updates it when the object moves; `get()` gives a raw pointer that is
/// valid only until the next allocation or collection.
///
/// ```cpp
/// marrow::HandleScope scope(rt);
/// marrow::Local<Node> n = rt.make<Node>(1);
/// n->item = 2;                       // through the handle: always current
/// marrow::Local<marrow::Object> o = n;  // upcast
/// ```
template <class T>
class Local {
 public:
  Local() = default;
  Local(std::nullptr_t) {}
  template <class U>
  requires std::is_convertible_v<U*, T*> Local(const Local<U>& other) : slot_(other.slot_) {}

  T* get() const { return slot_ == nullptr ? nullptr : static_cast<T*>(*slot_); }
  T* operator->() const { return get(); }
  T& operator*() const { return *get(); }
  explicit operator bool() const { return get() != nullptr; }
  template <class U>
  friend bool operator==(const Local& a, const Local<U>& b) {
    return static_cast<const Object*>(a.get()) == static_cast<const Object*>(b.get());
  }
  /// Unchecked downcast (the embedder knows the dynamic type).
  template <class U>
  Local<U> cast() const {
    return Local<U>::from_slot(slot_);
  }

  /// The handle slot itself (for runtime internals and checks).
  Object** slot() const { return slot_; }
  static Local from_slot(Object** slot) {
    Local l;
    l.slot_ = slot;
    return l;
  }

 private:
  template <class U>
  friend class Local;
  Object** slot_ = nullptr;
};

/// Opens a region in which Locals can be created; they are all released when it closes.
/// Scopes nest like stack frames and must be destroyed in reverse order of creation, on
/// the runtime's thread. Allocating with no open scope throws UsageError.
///
/// ```cpp
/// {
///   marrow::HandleScope scope(rt);
///   auto a = rt.make<Node>(1);   // lives until `scope` closes
/// }
/// ```
class HandleScope {
 public:
  explicit HandleScope(Runtime& rt);
  ~HandleScope();
  HandleScope(const HandleScope&) = delete;
  HandleScope& operator=(const HandleScope&) = delete;
  Runtime& runtime() const { return rt_; }

 protected:
  [[gnu::cold]] void open_first_block();
  Runtime& rt_;
  internal::HandleArea& area_;
  Object** saved_next_;
  Object** saved_limit_;
  std::size_t saved_block_;
  int saved_depth_;
};

/// A HandleScope that can hand one Local to its enclosing scope (which must be open).
///
/// ```cpp
/// marrow::Local<Node> make_pair(marrow::Runtime& rt) {
///   marrow::EscapableHandleScope scope(rt);
///   auto n = rt.make<Node>(1);
///   return scope.escape(n);     // valid in the caller's scope
/// }
/// ```
class EscapableHandleScope {
 public:
  explicit EscapableHandleScope(Runtime& rt);
  EscapableHandleScope(const EscapableHandleScope&) = delete;
  EscapableHandleScope& operator=(const EscapableHandleScope&) = delete;
  /// Moves `local` into the slot reserved in the outer scope. Only once per scope.
  template <class T>
  Local<T> escape(Local<T> local) {
    return Local<T>::from_slot(escape_slot(local.get()));
  }

 private:
  static Object** reserve(Runtime& rt);
  [[noreturn, gnu::cold]] static void throw_no_enclosing_scope();
  Object** escape_slot(Object* value);
  Object** reserved_;  // declared before scope_: reserved in the *outer* scope
  HandleScope scope_;
  bool escaped_ = false;
};

/// A strong root that outlives handle scopes (RAII, movable, not copyable).
///
/// ```cpp
/// marrow::Global<Node> keep(rt, local);  // survives the scope of `local`
/// keep->item;                             // keep.get() is current after any GC
/// keep.reset();                           // releases the root
/// ```
template <class T>
class Global {
 public:
  Global() = default;
  template <class U>
  requires std::is_convertible_v<U*, T*> Global(Runtime& rt, const Local<U>& local);
  Global(Runtime& rt, T* object);

  void reset() { slot_.reset(); }
  T* get() const { return static_cast<T*>(slot_.get()); }
  T* operator->() const { return get(); }
  T& operator*() const { return *get(); }
  explicit operator bool() const { return get() != nullptr; }

 private:
  internal::OwnedSlot slot_;  // movable, not copyable: so is Global
};

/// Watches an object without keeping it alive: `get()` is nullptr once it was collected,
/// and follows it when it moves.
///
/// ```cpp
/// marrow::Weak<Node> watch(rt, local);
/// rt.collect(marrow::GcKind::kMajor);
/// if (Node* n = watch.get()) { /* still alive */ }
/// ```
template <class T>
class Weak {
 public:
  Weak() = default;
  template <class U>
  requires std::is_convertible_v<U*, T*> Weak(Runtime& rt, const Local<U>& local);

  void reset() { slot_.reset(); }
  /// While the collector marks incrementally, the object handed out is kept alive for
  /// the rest of the cycle (it may be stored anywhere from here).
  T* get() const {
    Object* p = slot_.get();
    if (p != nullptr && internal::marking_active()) [[unlikely]]
      internal::weak_read_barrier_slow(p);
    return static_cast<T*>(p);
  }

 private:
  internal::OwnedSlot slot_;  // movable, not copyable: so is Weak
};

}  // namespace marrow
