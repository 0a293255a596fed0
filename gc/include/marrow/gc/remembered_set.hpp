// The remembered set: which old-space, large-object and immortal slots hold references
// into the nursery (invariant R, docs/design.md). Slots are bits in their page's bitmap
// (written by the barrier's slow path) plus whole remembered objects (promoted objects
// found pointing young). Minor collections process it; a major collection clears it.
#pragma once
#include <cstdint>
#include <vector>

#include "marrow/heap/page.hpp"
#include "marrow/heap/spaces.hpp"
#include "marrow/object.hpp"

namespace marrow::internal {

class RememberedSet {
 public:
  // ---- Slot bitmap: one bit per word of a page run, after its Page descriptor --------
  static void mark_slot(Page* page, const void* slot) {
    std::size_t word = word_index(page, slot);
    page->remembered_bits()[word / 64] |= std::uint64_t{1} << (word % 64);
  }
  static bool is_slot_remembered(Page* page, const void* slot) {
    std::size_t word = word_index(page, slot);
    return (page->remembered_bits()[word / 64] >> (word % 64)) & 1;
  }

  /// Records a slot of `page` (the barrier slow path): sets its bit, lists the page once.
  void remember_slot(Page* page, const void* slot) {
    mark_slot(page, slot);
    if (!page->in_remembered_list) list_page(page);
  }
  /// Records a whole old object (header bit kRememberedBit de-duplicates).
  void remember_object(Object* object);

  /// Minor collection, roots step: every remembered slot whose referent is young is
  /// passed to `evacuate(Object*) -> Object*` and rewritten with the result (invariant S:
  /// a slot is a plain word). Slots left pointing into `nursery` stay remembered; the
  /// others are cleared, and pages with no bit left leave the list.
  template <class Evacuate>
  void process_slots(const Nursery& nursery, Evacuate&& evacuate) {
    std::vector<Page*> pages = take_pages();
    for (Page* page : pages)
      if (process_page(page, nursery, evacuate)) list_page(page);
  }
  /// The same in parallel: take_pages() once, then workers call process_page on distinct
  /// pages and the pages it returned true for are given back with keep_pages.
  std::vector<Page*> take_pages() {
    std::vector<Page*> pages;
    pages.swap(pages_);
    for (Page* page : pages) page->in_remembered_list = false;
    return pages;
  }
  /// One page's remembered slots: true when some stay remembered.
  template <class Evacuate>
  static bool process_page(Page* page, const Nursery& nursery, Evacuate&& evacuate);
  void keep_pages(const std::vector<Page*>& pages) {
    for (Page* page : pages) list_page(page);
  }
  /// Minor collection: hands out the remembered objects (their bits cleared) for
  /// retracing; the collector remembers again those still pointing young.
  std::vector<Object*> take_objects();
  /// Major collection, after the promote-all scavenge: nothing is young, so nothing is
  /// remembered.
  void clear();

  std::size_t page_count() const { return pages_.size(); }
  std::size_t object_count() const { return objects_.size(); }

 private:
  static std::size_t word_index(Page* page, const void* slot) {
    return (reinterpret_cast<std::uintptr_t>(slot) - reinterpret_cast<std::uintptr_t>(page)) /
           kWordSize;
  }
  static void clear_page(Page* page);
  void list_page(Page* page) {
    page->in_remembered_list = true;
    pages_.push_back(page);
  }

  /// Invariant: a page with any bit set is on `pages_` exactly once (in_remembered_list).
  std::vector<Page*> pages_;
  std::vector<Object*> objects_;
};

template <class Evacuate>
bool RememberedSet::process_page(Page* page, const Nursery& nursery, Evacuate&& evacuate) {
  std::uint64_t* bits = page->remembered_bits();
  bool any = false;
  for (std::size_t w = 0, n = page->remembered_words(); w < n; ++w) {
    std::uint64_t word = bits[w];
    while (word != 0) {
      unsigned b = unsigned(__builtin_ctzll(word));
      word &= word - 1;
      auto* slot = reinterpret_cast<std::uintptr_t*>(page->base() + (w * 64 + b) * kWordSize);
      std::uintptr_t v = *slot;
      bool keep = false;
      if (nursery.contains(reinterpret_cast<void*>(v))) {
        Object* q = evacuate(reinterpret_cast<Object*>(v));
        *slot = reinterpret_cast<std::uintptr_t>(q);
        keep = nursery.contains(q);
      }
      if (keep)
        any = true;
      else
        bits[w] &= ~(std::uint64_t{1} << b);
    }
  }
  return any;
}

}  // namespace marrow::internal
