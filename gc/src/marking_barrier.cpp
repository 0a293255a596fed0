// The marking barrier's slow half (the inline half is in include/marrow/internal/barrier.hpp):
// while a runtime marks incrementally, the values a store into one of its old objects
// overwrites and stores, and what Weak::get hands out, are recorded for its marker
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

void weak_read_barrier_slow(const void* object) noexcept {
  if (Heap* heap = marking_heap_of(object))
    heap->marking_.record(static_cast<Object*>(const_cast<void*>(object)));
}

}  // namespace marrow::internal
