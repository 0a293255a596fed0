// Sweeping: after marking, old pages are walked and their dead runs become free-list
// chunks (coalesced), wholly dead pages go back to the page provider, sealed pages
// marking found wholly live are skipped, and unmarked large objects are freed. Live
// objects keep their mark bit (docs/design.md, section 5, "Sweep").
// Relies on: marking is complete; invariant W on every page. Never allocates.
#pragma once
#include <chrono>
#include <cstddef>
#include <vector>

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

/// Lazy sweeping (after the remark of an incremental cycle): the pause only lists the
/// pages as unswept (not sealed pages marking found wholly live) (those marking found empty are
/// released by the first sweep to reach them); their holes reach the free lists as the allocator
/// asks for memory (OldSpace's sweep hook), as sweep steps between allocations (GcKind::kSweepStep)
/// get to them, or when something needs the whole heap swept (the next marking, a major collection,
/// a heap walk). The allocator never hands out memory of an unswept page.
class LazySweeping {
 public:
  /// Instead of Sweeper::sweep_old_space, in the major's pause. Returns the live bytes
  /// marking counted (exact: incremental marking is serial).
  std::size_t start(Heap& heap);
  bool pending() const { return !unswept_.empty(); }
  std::size_t pages_left() const { return unswept_.size(); }
  /// Sweeps pages until one yields a hole of at least `size` bytes (or none is left);
  /// returns whether it swept any. Never releases pages (the caller may be allocating).
  bool sweep_for_size(Heap& heap, std::size_t size);
  /// Sweeps at most `max_pages` pages, stopping early once the clock passes `deadline`;
  /// returns the pages swept.
  std::size_t sweep_some(Heap& heap, std::size_t max_pages,
                         std::chrono::steady_clock::time_point deadline);
  /// Sweeps every page left.
  void finish(Heap& heap);
  /// Old-space bytes of unswept pages that marking did not find live (holes to come).
  std::size_t unswept_free_bytes() const { return unswept_free_; }

 private:
  /// Sweeps the last listed page; returns the largest hole it found. A page with nothing
  /// live is released when `may_release` (not while the allocator asks for memory).
  std::size_t sweep_one(Heap& heap, bool may_release);
  std::vector<Page*> unswept_;
  std::size_t unswept_free_ = 0;
};

}  // namespace marrow::internal
