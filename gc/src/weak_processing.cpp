// Weak processing, one step for every collection: Weak handles first, then root sources'
// process_weak, both asking the collection's outcome (alive? where now?). Runs after
// liveness is known and, when compacting, new addresses are planned; before resurrection
// of dead finalizable objects is visible and before memory is reused. Never allocates.
#include "marrow/gc/weak_processing.hpp"

#include "marrow/gc/heap.hpp"
#include "marrow/gc/objects.hpp"

namespace marrow::internal {

bool MajorOutcome::is_alive(const Object* o) const {
  return (is_forwarded(*header_of(o)) || is_marked(o, mark_bit_)) &&
         !finalization_.resurrected_now(o);
}

void process_weak_references(Heap& heap, WeakProcessor& outcome) {
  heap.roots_.weaks().for_each([&](Object*& slot) { slot = outcome.update(slot); });
  heap.roots_.process_source_weaks(outcome);
}

}  // namespace marrow::internal
