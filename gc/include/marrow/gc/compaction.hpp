// Sliding (Lisp-2) compaction of old space: plan new addresses, rewrite every reference,
// move (docs/design.md, section 6). Pages holding a pinned object are swept instead.
// Relies on: marking is complete and exact; no young objects; invariant W on every
// candidate page; a pinned object's page is never a candidate. Never allocates managed
// memory (the saved headers are native memory for the collection's duration).
#pragma once
#include <cstddef>
#include <utility>
#include <vector>

#include "marrow/heap/page.hpp"
#include "marrow/internal/header.hpp"

namespace marrow::internal {

class Heap;

class Compactor {
 public:
  explicit Compactor(Heap& heap);
  /// Phase A: each live object's new address, written as a forwarding word in its header
  /// (the original saved aside). Afterwards weak processing can ask where objects go.
  void plan();
  /// Phase B: rewrites every reference except Weak slots (weak processing updated those):
  /// roots, the finalizable lists and queue, moving objects, pinned pages, large and
  /// immortal objects.
  void update_references();
  /// Phase C: moves objects and restores their headers; frees gaps and emptied pages and
  /// leaves the rest of the last page as the LAB; sweeps pinned pages. Returns the bytes
  /// at the ends of pages now free (not holes).
  std::size_t move();
  /// Live bytes in old space after move(): the moved objects and the pinned pages' live.
  std::size_t live_bytes() const { return live_bytes_; }

 private:
  /// Walks the candidate pages after plan(): fn(header_address, original_header) for each
  /// moving object, in address order. Its header is a forwarding word, so sizes come
  /// from the saved originals. fn may move the object (phase C moves only backwards, so
  /// the walk never reads a header it has overwritten).
  template <class Fn>
  void for_each_planned(Fn&& fn) {
    std::size_t i = 0;
    for (Page* page : candidates_) {
      std::byte* p = page->area_start();
      std::byte* end = page->top;
      while (p < end) {
        HeaderWord h = *reinterpret_cast<HeaderWord*>(p);
        if (is_forwarded(h)) {
          h = saved_[i++];
          fn(p, h);
        }
        p += header_size_bytes(h);
      }
    }
  }

  Heap& heap_;
  std::vector<Page*> candidates_;
  std::vector<Page*> pinned_;
  std::vector<HeaderWord> saved_;
  std::vector<std::pair<std::byte*, std::size_t>> gaps_;
  std::size_t cursor_page_ = 0;
  std::byte* cursor_ = nullptr;
  std::size_t live_bytes_ = 0;
};

}  // namespace marrow::internal
