// Policy: when to collect and how big to let the heap get. The major trigger and its
// growth, the compaction choice, how many empty pages to keep mapped, and the heap
// limit's arithmetic (docs/design.md, sections 6-8). Decides only: the collections that
// carry a decision out live in their own files. One formula per question.
#pragma once
#include <cstddef>

#include "marrow/config.hpp"
#include "marrow/heap/page.hpp"
#include "marrow/stats.hpp"

namespace marrow::internal {

/// What a major collection found in old space, for the compaction choice.
struct OldSpaceCensus {
  std::size_t live_bytes = 0;       ///< marked bytes in old space
  std::size_t occupied_pages = 0;   ///< pages holding at least one live object
  std::size_t occupied_area = 0;    ///< object area of those pages
  std::size_t free_list_bytes = 0;  ///< free-listed bytes before this collection's sweep
};

class HeapPolicy {
 public:
  explicit HeapPolicy(const Config& config) : config_(config) {}

  /// The bytes the heap limit leaves the old generation once the nursery is committed
  /// (unbounded without a limit). The headroom formula: every sizing decision under a
  /// limit goes through it.
  std::size_t old_generation_room(std::size_t nursery_committed) const;

  /// The first major trigger: initial_old_trigger_bytes, or half the room under a limit.
  void start(std::size_t nursery_committed);
  /// The old generation (old space + large objects), plus `extra`, reached the trigger.
  bool old_generation_full(std::size_t old_generation_bytes, std::size_t extra) const {
    return old_generation_bytes + extra >= next_major_trigger_;
  }
  /// Whether this major collection compacts: on request, or when old space is
  /// fragmented and the holes the last sweep left went mostly unused.
  bool should_compact(bool requested, const OldSpaceCensus& census) const;
  /// After a major collection that kept `live` bytes in old and large space: the next
  /// trigger (growth_factor x live, at least live + initial_old_trigger_bytes, capped by
  /// the limit's room).
  void after_major(std::size_t live, std::size_t nursery_committed);
  /// Empty pages to keep mapped after a major collection started for `reason`, with
  /// `free_list_bytes` already reusable in old space.
  std::size_t pages_to_keep(GcReason reason, std::size_t free_list_bytes) const;
  /// What the sweep left: free-listed bytes, of which `page_tails` at the ends of pages.
  void record_sweep(bool compacted, std::size_t free_list_bytes, std::size_t page_tails);
  /// Fraction of old space's free bytes that are holes between objects.
  double fragmentation(std::size_t free_list_bytes, std::size_t old_live) const;

  /// New old-space pages (in bytes) a minor collection may need for promoting
  /// `young_bytes` when `reusable` bytes of old space (the LAB's rest, free-list holes)
  /// take promoted objects first: page-end waste (an object never straddles pages) is
  /// allowed for with an eighth more.
  static std::size_t promotion_need(std::size_t young_bytes, std::size_t reusable) {
    std::size_t bytes = young_bytes + young_bytes / 8;
    return bytes <= reusable ? 0 : align_up(bytes - reusable, kPageSize);
  }
  /// Under a heap limit, the most eden bytes the mutator may allocate before the next
  /// minor collection so that promoting them and `survivor_bytes` of survivors keeps
  /// `committed + extra` within the limit: the limit holds through collections, not only
  /// between them. Without a limit, `eden_capacity`.
  std::size_t eden_budget(std::size_t committed, std::size_t extra, std::size_t survivor_bytes,
                          std::size_t eden_capacity, std::size_t reusable) const;
  /// The smallest eden budget worth running with: below it, minor collections would come
  /// every few allocations, so the heap counts as full (a compaction, then OutOfMemory).
  static constexpr std::size_t kMinEdenBudget = std::size_t{32} << 10;

  std::size_t next_major_trigger() const { return next_major_trigger_; }
  std::size_t live_after_major() const { return live_after_major_; }

 private:
  const Config& config_;
  std::size_t next_major_trigger_ = 0;
  std::size_t live_after_major_ = 0;
  std::size_t free_after_last_sweep_ = 0;  ///< old-space free-list bytes after the last major
  std::size_t free_page_tails_ = 0;        ///< of those, bytes at the ends of pages (not holes)
};

}  // namespace marrow::internal
