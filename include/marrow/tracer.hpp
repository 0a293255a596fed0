// How managed types and embedders show references to the collector: the Tracer, the
// slot traits that teach it a slot encoding, root sources and weak processing.
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "marrow/object.hpp"

namespace marrow {

/// Teaches the Tracer a slot type: specialise with
/// `static bool is_reference(const S&)`, `static Object* get(const S&)` and
/// `static void replace(S&, Object*)` (which must not run a write barrier).
/// marrow specialises it for `Member<T>`, `Member<Value>` and `Value`; an embedder with
/// its own tagged words does the same for its slot type.
///
/// Rule for slots inside managed objects: when a slot holds a reference, the 8-byte word
/// at the slot's address must *be* the object's address (true for Member and Value).
/// The remembered set reads remembered slots as plain words.
template <class Slot>
struct SlotTraits;

/// Visits references. Managed types call `visit` on each reference slot in `trace`;
/// root sources call it on their raw root slots. Every slot must be visited on every
/// call: the collector may move the referent and rewrite the slot.
///
/// Threads: with Config::gc_threads > 1, collections mark and copy on several threads, so
/// the `trace` functions of *different* objects may run at the same time. A `trace` must
/// therefore only read its own object (its slots, and its plain fields to know which
/// slots exist) and write nothing shared: no caches, counters or statics. Reading other
/// objects is allowed only when `wants_edge_names()` is true (heap snapshots, which trace
/// on one thread). RootSource::trace_roots, process_weak, finalizers and listeners always
/// run on the collecting thread, one at a time.
///
/// ```cpp
/// void Node::trace(marrow::Tracer& t) {
///   t.visit(left, "left");     // Member<Node>
///   t.visit(tag);              // Member<Value>; the edge name is optional
/// }
/// ```
class Tracer {
 public:
  /// A slot of any type with SlotTraits (Member<T>, Member<Value>, Value, ...).
  template <class Slot>
  void visit(Slot& slot, const char* edge_name = nullptr) {
    using Traits = SlotTraits<std::remove_cv_t<Slot>>;
    if (!Traits::is_reference(slot)) return;
    Object* p = Traits::get(slot);
    if (reinterpret_cast<std::uintptr_t>(p) - filter_base_ >= filter_span_) return;
    Object* q = visit_reference(p, &slot, edge_name);
    if (q != p) Traits::replace(slot, q);
  }

  /// `count` slots of one type at consecutive addresses: the same as visiting each, for
  /// arrays. A long run of slots inside the object being traced (an array that is part of
  /// the object, as make_sized gives) may be visited later in the same collection, a
  /// piece at a time: an incremental marking step then scans part of a huge array instead
  /// of all of it in one pause. So such a run must stay slots of this type, readable, for
  /// as long as the object lives: a fixed-capacity array (its unused slots null) is; a
  /// region the object later reuses for other data is not (visit its slots one by one).
  /// Slots outside the object (a buffer it owns elsewhere) are always visited at once.
  ///
  /// ```cpp
  /// void Array::trace(marrow::Tracer& t) { t.visit_range(slots(), capacity); }
  /// ```
  template <class Slot>
  void visit_range(Slot* first, std::size_t count, const char* edge_name = nullptr) {
    if (count >= kSplitSlots && edge_name == nullptr &&
        split_range(first, count, sizeof(Slot), &visit_slots<Slot>))
      return;
    for (std::size_t i = 0; i < count; ++i) visit(first[i], edge_name);
  }

  /// True only for tracers that record edge names (heap snapshots). A trace function
  /// whose names cost something to compute (a field name read from another object) asks
  /// first; collections never need them.
  bool wants_edge_names() const noexcept { return wants_edge_names_; }

  /// A raw root slot `T*` (T derived from Object); null is fine.
  template <class T>
  requires std::is_base_of_v<Object, T>
  void visit(T*& slot, const char* edge_name = nullptr) {
    Object* p = slot;
    if (reinterpret_cast<std::uintptr_t>(p) - filter_base_ >= filter_span_) return;
    Object* q = visit_reference(p, &slot, edge_name);
    if (q != p) slot = static_cast<T*>(q);
  }

 protected:
  /// Only references into [base, base + span) reach visit_reference (a minor collection
  /// filters to its nursery with this, inline, before any virtual call).
  Tracer(std::uintptr_t filter_base, std::uintptr_t filter_span)
      : filter_base_(filter_base), filter_span_(filter_span) {}
  /// All non-null references.
  Tracer() : filter_base_(1), filter_span_(~std::uintptr_t{0} - 1) {}
  virtual ~Tracer() = default;

  /// Called for each reference that passes the filter; returns the (possibly new) address.
  virtual Object* visit_reference(Object* object, void* slot, const char* edge_name) = 0;

  /// Visits `count` slots at `first` of the type `visit` was instantiated for.
  using RangeVisitor = void (*)(Tracer& tracer, void* first, std::size_t count);
  /// visit_range's run of at least kSplitSlots slots of `slot_size` bytes: a tracer that
  /// can visit it later, in pieces, keeps it (with `visit`) and returns true; the
  /// default visits it now.
  virtual bool split_range(void* first, std::size_t count, std::size_t slot_size,
                           RangeVisitor visit) {
    (void)first, (void)count, (void)slot_size, (void)visit;
    return false;
  }
  /// Runs shorter than this are visited at once by every tracer.
  static constexpr std::size_t kSplitSlots = 1024;
  template <class Slot>
  static void visit_slots(Tracer& tracer, void* first, std::size_t count) {
    Slot* slots = static_cast<Slot*>(first);
    for (std::size_t i = 0; i < count; ++i) tracer.visit(slots[i]);
  }

  bool wants_edge_names_ = false;

 private:
  std::uintptr_t filter_base_;
  std::uintptr_t filter_span_;
};

/// Answers questions about one collection's outcome during weak processing.
class WeakProcessor {
 public:
  /// Whether `object` survived this collection (objects the collection did not look at,
  /// e.g. old objects during a minor collection, count as alive).
  virtual bool is_alive(const Object* object) const = 0;
  /// The object's address after this collection (itself if it did not move).
  virtual Object* forwarded(Object* object) const = 0;
  /// nullptr if the object died, its new address otherwise.
  template <class T>
  T* update(T* object) const {
    if (object == nullptr || !is_alive(object)) return nullptr;
    return static_cast<T*>(forwarded(object));
  }

 protected:
  ~WeakProcessor() = default;
};

/// An embedder's own roots (a VM's value stack, frames, compiler state). Registered with
/// `rt.add_root_source(&src)`; must outlive its registration.
///
/// ```cpp
/// struct Stack : marrow::RootSource {
///   std::vector<marrow::Value> values;
///   void trace_roots(marrow::Tracer& t) override { for (auto& v : values) t.visit(v); }
/// };
/// ```
/// `trace_roots` is called during every collection and must visit every root slot (the
/// collector rewrites moved ones); it runs on the collecting thread only, never in
/// parallel with itself or another source, even when marking is parallel. `process_weak` is called
/// after marking, before memory is reused: prune weak tables there with `w.update(ptr)`. Neither
/// may allocate.
struct RootSource {
  virtual ~RootSource() = default;
  virtual void trace_roots(Tracer& tracer) = 0;
  virtual void process_weak(WeakProcessor&) {}
  /// How heap snapshots label this source's roots (a synthetic root node per source).
  virtual const char* root_name() const { return "RootSource"; }
};

/// Raw `T*` slots are the embedder's own business; SlotTraits for Object pointers.
template <class T>
requires std::is_base_of_v<Object, T>
struct SlotTraits<T*> {
  static bool is_reference(T* const& p) { return p != nullptr; }
  static Object* get(T* const& p) { return p; }
  static void replace(T*& p, Object* q) { p = static_cast<T*>(q); }
};

}  // namespace marrow
