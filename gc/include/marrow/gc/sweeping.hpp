// Sweeping: after marking, old pages are walked and their dead runs become free-list
// chunks (coalesced), mark bits are cleared, wholly dead pages go back to the page
// provider, and unmarked large objects are freed (docs/design.md, section 5, "Sweep").
// Relies on: marking is complete; invariant W on every page. Never allocates.
#pragma once
#include <cstddef>

#include "marrow/heap/page.hpp"

namespace marrow::internal {

class Heap;

class Sweeper {
 public:
  explicit Sweeper(Heap& heap) : heap_(heap) {}
  /// Rebuilds old space's free lists from every page.
  void sweep_old_space();
  /// One page: dead runs to the free lists, or the whole page released.
  void sweep_page(Page* page);
  void sweep_large_objects();
  /// Free bytes this sweep found at the ends of pages (room to bump, not holes).
  std::size_t page_tails() const { return page_tails_; }
  /// Live bytes the sweep found on the pages it swept, exact (marking's per-page counts
  /// may count an object twice when parallel markers race on it).
  std::size_t live_bytes() const { return live_bytes_; }

 private:
  Heap& heap_;
  std::size_t page_tails_ = 0;
  std::size_t live_bytes_ = 0;
};

}  // namespace marrow::internal
