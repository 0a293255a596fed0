// Weak processing: after a collection knows what is alive (and, when objects move,
// where they go), Weak handles to dead objects are cleared and those to moved ones
// updated, then every root source's process_weak prunes the embedder's own weak tables.
// The same step, in the same order, for minor and major collections; it runs before
// dead finalizable objects are resurrected, so they read as dead here.
#pragma once
#include "marrow/gc/objects.hpp"
#include "marrow/heap/spaces.hpp"

namespace marrow::internal {

class Heap;
class Finalization;

/// A minor collection's outcome: old objects were not looked at and count as alive; a
/// young one is alive when it was copied (its header is a forwarding word).
class MinorOutcome final : public WeakProcessor {
 public:
  explicit MinorOutcome(const Nursery& n) : nursery_(n) {}
  bool is_alive(const Object* o) const override {
    return !nursery_.contains(o) || is_forwarded(*header_of(o));
  }
  Object* forwarded(Object* o) const override { return nursery_.contains(o) ? forwardee(o) : o; }

 private:
  const Nursery& nursery_;
};

/// A major collection's outcome: alive when marked (or, once compaction has planned,
/// forwarded), unless it was only kept for its finalizer.
class MajorOutcome final : public WeakProcessor {
 public:
  MajorOutcome(const Finalization& f, HeaderWord mark_bit)
      : finalization_(f), mark_bit_(mark_bit) {}
  bool is_alive(const Object* o) const override;
  Object* forwarded(Object* o) const override { return forwardee(o); }

 private:
  const Finalization& finalization_;
  HeaderWord mark_bit_;
};

/// Clears or updates every Weak handle, then runs every root source's process_weak.
void process_weak_references(Heap& heap, WeakProcessor& outcome);

}  // namespace marrow::internal
