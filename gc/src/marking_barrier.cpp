// The marking barrier's slow half (the inline half is in include/marrow/internal/barrier.hpp):
// while a runtime marks incrementally, the values a store into one of its old objects
// overwrites and stores (and what a constructor stores into one), and what Weak::get
// hands out, are recorded for its marker
// (gc/src/incremental_marking.cpp). Runs on the runtime's thread (the one storing into
// its objects); never allocates managed memory.
#include "marrow/gc/heap.hpp"
#include "marrow/internal/barrier.hpp"

namespace marrow::internal {

namespace {

/// The runtime marking the old, large or immortal object at `address`, or nullptr.
Heap* marking_heap_of(const void* address) noexcept {
  if (is_young_address(address)) return nullptr;
  Page* page = page_containing(address);
  if (page == nullptr) return nullptr;
  auto* heap = static_cast<Heap*>(page->owner);
  return heap->marking_.active() ? heap : nullptr;
}

}  // namespace

void marking_barrier_slow(void* slot, std::uintptr_t old_value, std::uintptr_t new_value) noexcept {
  // Young objects are not part of the snapshot (the nursery is emptied when a cycle starts
  // and scanned whole at the remark); a Member outside the heap is no edge of it.
  Heap* heap = marking_heap_of(slot);
  if (heap == nullptr) return;
  if (old_value != 0) heap->marking_.record(reinterpret_cast<Object*>(old_value));
  if (new_value != 0) heap->marking_.record(reinterpret_cast<Object*>(new_value));
}

void construction_barrier_slow(void* slot, std::uintptr_t object) noexcept {
  if (object == 0) return;
  auto* o = reinterpret_cast<Object*>(object);
  // An object starts in its page (or its run's first page), so its page is a mask away:
  // cheaper than the page table, which the slot (maybe deep in a large object) needs.
  auto* heap = static_cast<Heap*>(Page::of(o)->owner);
  if (heap == nullptr || !heap->marking_.active()) return;
  if (*header_of(o) & heap->mark_bit()) return;
  // Mostly a pretenured object's constructor storing an object pretenured just before it
  // (a tree built bottom up): unmarked only because its stretch of the LAB has not been
  // handed to the marker yet, which will mark it.
  if (heap->pretenuring_.lent(reinterpret_cast<const std::byte*>(o))) return;
  if (marking_heap_of(slot) == heap) heap->marking_.record(o);
}

void weak_read_barrier_slow(const void* object) noexcept {
  if (Heap* heap = marking_heap_of(object))
    heap->marking_.record(static_cast<Object*>(const_cast<void*>(object)));
}

}  // namespace marrow::internal
