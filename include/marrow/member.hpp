// Member<T> and Member<Value>: reference slots inside managed objects, with the
// generational write barrier on every store.
#pragma once
#include <concepts>
#include <cstddef>
#include <cstdint>

#include "marrow/internal/barrier.hpp"
#include "marrow/tracer.hpp"
#include "marrow/value.hpp"

namespace marrow {

/// A reference from one managed object to another. Only for fields of managed objects
/// (the barrier finds the slot's page from its address); on the stack use Local<T>.
/// Starts as nullptr. Every store runs the write barrier (marrow/internal/barrier.hpp).
///
/// ```cpp
/// struct Node : marrow::Object {
///   marrow::Member<Node> next;
///   void trace(marrow::Tracer& t) { t.visit(next); }
/// };
/// a->next = b;          // b: Local<Node>, Global<Node>, Node* or nullptr
/// Node* n = a->next.get();
/// ```
template <class T>
class Member {
 public:
  Member() = default;
  Member(std::nullptr_t) {}
  // Constructors run the construction barrier: a Member being constructed is in an object
  // allocated since any marking cycle began, so there is no old value to record; the new
  // one is recorded only in an old object (allocated black during a cycle: never
  // scanned), and only when it is an old object not yet marked.
  Member(T* p) { init(p); }
  Member(const Member& other) { init(other.ptr_); }
  template <class Handle>
  requires requires(const Handle& h) {
    { h.get() } -> std::convertible_to<T*>;
  }
  Member(const Handle& h) { init(h.get()); }

  Member& operator=(const Member& other) {
    store(other.ptr_);
    return *this;
  }
  Member& operator=(T* p) {
    store(p);
    return *this;
  }
  Member& operator=(std::nullptr_t) {
    internal::marking_barrier(this, reinterpret_cast<std::uintptr_t>(static_cast<Object*>(ptr_)),
                              0);
    ptr_ = nullptr;
    return *this;
  }
  /// From Local<U>, Global<U> (U derived from T).
  template <class Handle>
  requires requires(const Handle& h) {
    { h.get() } -> std::convertible_to<T*>;
  }
  Member& operator=(const Handle& h) {
    store(h.get());
    return *this;
  }

  T* get() const { return ptr_; }
  T* operator->() const { return ptr_; }
  T& operator*() const { return *ptr_; }
  explicit operator bool() const { return ptr_ != nullptr; }
  friend bool operator==(const Member& a, const Member& b) { return a.ptr_ == b.ptr_; }
  friend bool operator==(const Member& a, const T* b) { return a.ptr_ == b; }
  friend bool operator==(const Member& a, std::nullptr_t) { return a.ptr_ == nullptr; }

  /// Stores without the barrier: only for the collector and for tests of the verifier.
  void store_without_barrier_for_testing(T* p) { ptr_ = p; }

 private:
  friend struct SlotTraits<Member<T>>;
  void init(T* p) {
    ptr_ = p;
    auto bits = reinterpret_cast<std::uintptr_t>(static_cast<Object*>(p));
    internal::construction_barrier(this, bits, bits);
  }
  void store(T* p) {
    auto bits = reinterpret_cast<std::uintptr_t>(static_cast<Object*>(p));
    internal::marking_barrier(this, reinterpret_cast<std::uintptr_t>(static_cast<Object*>(ptr_)),
                              bits);
    ptr_ = p;
    internal::write_barrier(this, bits);
  }
  T* ptr_ = nullptr;
};

/// A tagged slot inside a managed object; starts as nil.
///
/// ```cpp
/// struct Cell : marrow::Object {
///   marrow::Member<marrow::Value> value;
///   void trace(marrow::Tracer& t) { t.visit(value); }
/// };
/// cell->value = marrow::Value::number(1.5);
/// ```
template <>
class Member<Value> {
 public:
  Member() = default;
  Member(Value v) { init(v); }  // the construction barrier: see Member<T>'s constructors
  Member(const Member& other) { init(other.value_); }
  Member& operator=(const Member& other) {
    store(other.value_);
    return *this;
  }
  Member& operator=(Value v) {
    store(v);
    return *this;
  }
  Value get() const { return value_; }
  operator Value() const { return value_; }
  void store_without_barrier_for_testing(Value v) { value_ = v; }

 private:
  friend struct SlotTraits<Member<Value>>;
  void init(Value v) {
    value_ = v;
    internal::construction_barrier(this, v.raw_bits(), v.is_object() ? v.raw_bits() : 0);
  }
  void store(Value v) {
    if (internal::marking_active()) [[unlikely]]
      internal::marking_barrier_slow(this, value_.is_object() ? value_.raw_bits() : 0,
                                     v.is_object() ? v.raw_bits() : 0);
    value_ = v;
    internal::write_barrier(this, v.raw_bits());
  }
  Value value_;
};

template <class T>
struct SlotTraits<Member<T>> {
  static bool is_reference(const Member<T>& m) { return m.ptr_ != nullptr; }
  static Object* get(const Member<T>& m) { return m.ptr_; }
  static void replace(Member<T>& m, Object* p) { m.ptr_ = static_cast<T*>(p); }
};

template <>
struct SlotTraits<Member<Value>> {
  static bool is_reference(const Member<Value>& m) { return m.value_.is_object(); }
  static Object* get(const Member<Value>& m) { return m.value_.as_object(); }
  static void replace(Member<Value>& m, Object* p) { m.value_ = Value::object(p); }
};

static_assert(sizeof(Member<Value>) == 8 && sizeof(Member<Object>) == 8);

}  // namespace marrow
