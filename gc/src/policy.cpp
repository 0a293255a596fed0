// Policy: the major trigger, the compaction choice, page retention and the heap limit
// (docs/design.md, sections 6-8), plus carrying out the limit: the one place that turns
// "over the limit" into a compacting collection, the near-limit callback and OutOfMemory.
#include "marrow/gc/policy.hpp"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "marrow/errors.hpp"
#include "marrow/gc/heap.hpp"

namespace marrow::internal {

std::size_t HeapPolicy::old_generation_room(std::size_t nursery_committed) const {
  std::size_t limit = config_.heap_limit_bytes;
  if (limit == 0) return std::numeric_limits<std::size_t>::max();
  return limit - std::min(limit, nursery_committed);
}

void HeapPolicy::start(std::size_t nursery_committed) {
  next_major_trigger_ = config_.initial_old_trigger_bytes;
  if (config_.heap_limit_bytes != 0)
    next_major_trigger_ = std::min(next_major_trigger_, old_generation_room(nursery_committed) / 2);
}

bool HeapPolicy::should_compact(bool requested, const OldSpaceCensus& c) const {
  if (requested) return true;
  // Fragmentation counts only pages that keep live objects: wholly dead pages go back
  // to the provider in the sweep anyway, and compacting to free them would be wasted work.
  double fragmentation =
      c.occupied_area == 0 ? 0.0 : 1.0 - double(c.live_bytes) / double(c.occupied_area);
  // Holes the mutator refills are not worth moving objects for: compaction is chosen
  // only when most of the free-listed bytes the last sweep made are still unused (the
  // allocation sizes do not fit them), so a steady workload whose dead objects leave
  // holes of the sizes it allocates (caches, queues) keeps sweeping.
  // After a compaction (or before any sweep) there is no such evidence: sweep first.
  bool holes_unused = free_after_last_sweep_ != 0 &&
                      double(c.free_list_bytes) >= 0.5 * double(free_after_last_sweep_);
  // At least 8 pages: below that, fragmentation costs at most a few pages.
  return c.occupied_pages >= 8 && holes_unused && fragmentation > config_.compaction_threshold;
}

void HeapPolicy::after_major(std::size_t live, std::size_t nursery_committed) {
  live_after_major_ = live;
  std::size_t trigger = std::max<std::size_t>(std::size_t(double(live) * config_.growth_factor),
                                              live + config_.initial_old_trigger_bytes);
  if (config_.heap_limit_bytes != 0)
    trigger = std::min(trigger, std::max(old_generation_room(nursery_committed), live + kPageSize));
  next_major_trigger_ = trigger;
}

std::size_t HeapPolicy::pages_to_keep(GcReason reason, std::size_t free_list_bytes) const {
  // After a collection the growth trigger started, empty pages stay mapped for what the old
  // generation may grow into before the next one (beyond its free lists): it would map and
  // fault in as many again. Other collections (rt.collect, the heap limit, pins, stress)
  // and heaps with a limit keep only page_reserve; the rest goes back to the OS now.
  std::size_t keep = config_.page_reserve;
  if (reason == GcReason::kHeapGrowth && config_.heap_limit_bytes == 0) {
    std::size_t used = live_after_major_ + free_list_bytes;
    std::size_t room = next_major_trigger_ - std::min(next_major_trigger_, used);
    keep = std::max(keep, room / kPageSize);
  }
  return keep;
}

void HeapPolicy::record_sweep(bool compacted, std::size_t free_list_bytes, std::size_t page_tails) {
  free_after_last_sweep_ = compacted ? 0 : free_list_bytes;
  free_page_tails_ = page_tails;
}

double HeapPolicy::fragmentation(std::size_t free_list_bytes, std::size_t old_live) const {
  // Free space at the end of a page is room to bump into, not a hole between objects.
  std::size_t holes = free_list_bytes - std::min(free_list_bytes, free_page_tails_);
  return holes == 0 ? 0.0 : double(holes) / double(holes + old_live);
}

std::size_t HeapPolicy::eden_budget(std::size_t committed, std::size_t extra,
                                    std::size_t survivor_bytes, std::size_t eden_capacity,
                                    std::size_t reusable) const {
  std::size_t limit = config_.heap_limit_bytes;
  if (limit == 0) return eden_capacity;
  if (committed + extra > limit) return 0;
  // promotion_need(y, reusable) <= room  <=>  y * 9/8 <= reusable + room rounded to pages.
  std::size_t room = align_down(limit - committed - extra, kPageSize);
  std::size_t young = ((reusable + room) / 9) * 8;
  std::size_t eden = young > survivor_bytes ? young - survivor_bytes : 0;
  return std::min(eden, eden_capacity);
}

std::size_t Heap::reusable_old_bytes() const {
  // Free-list holes count half: promoted objects may not fit the sizes they come in.
  return std::size_t(old_.lab_end() - old_.lab_top()) + old_.free_list_bytes() / 2;
}

std::size_t Heap::eden_budget(std::size_t extra) const {
  return policy_.eden_budget(committed_bytes(), extra, nursery_.from_space().used(),
                             nursery_.eden_capacity(), reusable_old_bytes());
}

std::size_t Heap::eden_wanted(std::size_t eden_needed) const {
  std::size_t eden_used = std::size_t(pretenuring_.eden_top() - nursery_.eden_start());
  return std::min(eden_used + std::max(eden_needed, HeapPolicy::kMinEdenBudget),
                  nursery_.eden_capacity());
}

bool Heap::heap_limit_holds(std::size_t extra, std::size_t eden_needed) const {
  return config_.heap_limit_bytes == 0 || eden_budget(extra) >= eden_wanted(eden_needed);
}

void Heap::enforce_heap_limit(std::size_t extra, std::size_t eden_needed) {
  if (config_.heap_limit_bytes == 0) return;
  if (!heap_limit_holds(extra, eden_needed)) {
    collect(GcKind::kCompact, GcReason::kHeapLimit);
    provider_.trim(0);
  }
  while (!heap_limit_holds(extra, eden_needed)) {
    // What the heap needs to go on: the new pages, and room to promote the eden it wants.
    std::size_t needed =
        committed_bytes() + extra +
        HeapPolicy::promotion_need(eden_wanted(eden_needed) + nursery_.from_space().used(),
                                   reusable_old_bytes());
    std::size_t raised = 0;
    if (near_limit_callback_) {
      // A copy: the callback may replace itself (set_near_heap_limit_callback from inside).
      auto callback = near_limit_callback_;
      RefuseAllocation refuse(*this, in_limit_callback_);
      raised = callback(config_.heap_limit_bytes, needed);
    }
    if (raised <= config_.heap_limit_bytes) {
      throw OutOfMemory(fmt::format(
          "marrow: out of memory: heap limit of {} bytes reached ({} committed, {} more needed "
          "after a full compacting collection)",
          config_.heap_limit_bytes, committed_bytes(), needed - committed_bytes()));
    }
    config_.heap_limit_bytes = raised;
  }
  clamp_eden_limit(extra);
}

void Heap::clamp_eden_limit(std::size_t extra) {
  if (config_.heap_limit_bytes == 0) return;
  std::byte* budget_end = nursery_.eden_start() + align_down(eden_budget(extra), kWordSize);
  if (eden_limit_ > budget_end) eden_limit_ = std::max(budget_end, mutator_.top);
  set_limit();
}

void Heap::set_near_heap_limit_callback(std::function<std::size_t(std::size_t, std::size_t)> cb) {
  near_limit_callback_ = std::move(cb);
}

}  // namespace marrow::internal
