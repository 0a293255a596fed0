// Sweeping old pages into free lists and freeing dead large objects. Relies on: marking
// is complete and exact; invariant W. Never allocates managed memory; fills dead memory
// with 0xDB in debug builds so stale pointers fail fast.
#include "marrow/gc/sweeping.hpp"

#include <cstring>

#include "marrow/gc/heap.hpp"

namespace marrow::internal {

void Sweeper::sweep_old_space() {
  heap_.old_.reset_free_lists();
  std::vector<Page*> pages = heap_.old_.pages();  // sweep_page may release pages
  for (Page* page : pages) sweep_page(page);
}

void Sweeper::sweep_page(Page* page) {
  OldSpace& old = heap_.old_;
  if (page->live_bytes == 0 && page->pinned_count == 0) {
    // Marking found nothing here: no mark bits to clear, nothing to keep, no walk.
    old.release_page(page);
    return;
  }
  std::byte* free_start = nullptr;
  std::size_t live = 0;
  walk_headers(page->area_start(), page->top, [&](std::byte* p, HeaderWord h) {
    std::size_t size = header_size_bytes(h);
    if (!is_free_type(header_type(h)) && (h & kMarkBit)) {
      *reinterpret_cast<HeaderWord*>(p) = h & ~kMarkBit;
      if (free_start != nullptr) {
        old.add_free(free_start, std::size_t(p - free_start));
        free_start = nullptr;
      }
      live += size;
    } else {
#if defined(MARROW_DEBUG)
      if (size > kMinObjectSize) std::memset(p + kMinObjectSize, 0xDB, size - kMinObjectSize);
#endif
      if (free_start == nullptr) free_start = p;
    }
  });
  if (live == 0 && page->pinned_count == 0) {
    old.release_page(page);
    return;
  }
  if (free_start != nullptr) {
    old.add_free(free_start, std::size_t(page->top - free_start));
    page_tails_ += std::size_t(page->top - free_start);
  }
}

void Sweeper::sweep_large_objects() {
  std::vector<Page*> runs = heap_.large_.runs();  // free() edits the list
  for (Page* run : runs) {
    auto* hp = reinterpret_cast<HeaderWord*>(run->area_start());
    if (*hp & kMarkBit) {
      *hp &= ~kMarkBit;
    } else {
      heap_.events_.stats().bytes_freed += header_size_bytes(*hp);
      heap_.large_.free(run);
    }
  }
}

}  // namespace marrow::internal
