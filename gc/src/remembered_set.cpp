// The remembered set and the write barrier's slow path: recording old-to-young slots and
// objects, handing them to minor collections, clearing them for major ones. Keeps
// invariant R (docs/design.md). Never allocates managed memory.
#include "marrow/gc/remembered_set.hpp"

#include <cstring>

#include "marrow/gc/heap.hpp"
#include "marrow/internal/barrier.hpp"

namespace marrow::internal {

void remember_slot_slow(void* slot) noexcept {
  Page* page = page_containing(slot);
  MARROW_CHECK(page != nullptr,
               "Member<T> is only for fields of managed objects (a Member outside the managed "
               "heap received a young object)");
  static_cast<Heap*>(page->owner)->remembered_.remember_slot(page, slot);
}

void RememberedSet::remember_object(Object* object) {
  HeaderWord& h = *header_of(object);
  if (h & kRememberedBit) return;
  h |= kRememberedBit;
  objects_.push_back(object);
}

std::vector<Object*> RememberedSet::take_objects() {
  std::vector<Object*> objects;
  objects.swap(objects_);
  for (Object* o : objects) *header_of(o) &= ~kRememberedBit;
  return objects;
}

void RememberedSet::clear_page(Page* page) {
  std::memset(page->remembered_bits(), 0, page->remembered_words() * sizeof(std::uint64_t));
  page->in_remembered_list = false;
}

void RememberedSet::clear() {
  for (Page* p : pages_) clear_page(p);
  pages_.clear();
  for (Object* o : objects_) *header_of(o) &= ~kRememberedBit;
  objects_.clear();
}

}  // namespace marrow::internal
