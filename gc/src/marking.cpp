// Marking from the roots, the mark stack's drain and the overflow rescan
// (docs/design.md, section 5, step 2). Relies on: no young objects (the major collection
// emptied the nursery); invariant W for the rescan walk. Never allocates managed memory.
#include "marrow/gc/marking.hpp"

#include "marrow/gc/heap.hpp"

namespace marrow::internal {

void Marker::drain() {
  while (!stack_.empty()) {
    Object* p = stack_.back();
    stack_.pop_back();
    trace_object(p, *this);
  }
}

std::size_t Marker::mark_all(Heap& heap) {
  heap.roots_.trace(heap.mutator_.handles, *this);
  for (const auto& [object, count] : heap.roots_.pins()) mark(object);
  for (Object* o : heap.finalization_.queue()) mark(o);
  for (Page* page : heap.immortal_.pages()) {
    OldSpace::walk_page(page, [&](std::byte* p, HeaderWord h) {
      if (!is_free_type(header_type(h)))
        trace_object(static_cast<Object*>(object_of(p)), header_type(h), *this);
    });
  }
  heap.enter_phase(GcPhase::kMark);
  drain();
  std::size_t rescans = 0;
  while (overflowed_) {
    // Rescan: every marked object's children get another chance to be pushed.
    ++rescans;
    overflowed_ = false;
    auto rescan = [&](Page* page) {
      OldSpace::walk_page(page, [&](std::byte* p, HeaderWord h) {
        if (!is_free_type(header_type(h)) && (h & kMarkBit)) {
          trace_object(static_cast<Object*>(object_of(p)), header_type(h), *this);
          drain();
        }
      });
    };
    for (Page* page : heap.old_.pages()) rescan(page);
    for (Page* run : heap.large_.runs()) rescan(run);
  }
  return rescans;
}

}  // namespace marrow::internal
