// Policy: the major trigger, the compaction choice, page retention and the heap limit
// (docs/design.md, sections 6-8), plus carrying out the limit: the one place that turns
// "over the limit" into a compacting collection, the near-limit callback and OutOfMemory.
#include "marrow/gc/policy.hpp"

#include <algorithm>
#include <cmath>
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

// ---- Sizing by measured cost --------------------------------------------------------------
// MemBalancer (Kirisame et al., OOPSLA 2022): a heap of live size L that grows at g bytes per
// second and is collected at s bytes per second spends L/s per collection, g/H collections
// per second with headroom H, so a share g*L/(s*H) of its time; memory is L + H. Spending a
// given total time over heaps (or over a program's phases) with the least memory gives
// H proportional to sqrt(L * g / s). The factor of proportionality is the one knob.

namespace {
/// The reference size inside the square root: with heap_tuning 1 a heap growing as fast as
/// it is marked (g = s) gets the headroom sqrt(L * 256 MiB): 256 MiB for 256 MiB live.
/// With it, heap_tuning values between 0.25 and 8 span the useful part of the trade-off
/// curves of tools/bench_gc.py --sweep (docs/tuning.md).
constexpr double kHeadroomReference = double(std::size_t{256} << 20);
/// Below a few MiB of headroom, a major collection's fixed costs (waking the workers,
/// walking every page, the promote-all scavenge) dominate whatever the rates say.
constexpr std::size_t kMinHeadroom = std::size_t{4} << 20;
/// Weight of the past in the smoothed rates: one collection's reading counts half, so a
/// phase change shows within two or three collections and one odd reading is halved.
constexpr double kSmoothing = 0.5;
/// Readings over less mutator time than this say more about the clock than the program.
constexpr std::chrono::nanoseconds kMinInterval = std::chrono::milliseconds(1);

double seconds(std::chrono::nanoseconds t) { return double(t.count()) / 1e9; }
double smooth(double average, double reading) {
  return average == 0 ? reading : kSmoothing * average + (1 - kSmoothing) * reading;
}
}  // namespace

std::size_t HeapPolicy::marking_runway() const {
  // Below a rate of 2 the formula would ask for more than the room: half-way decides.
  double rate = std::max(config_.marking_rate, 2.0);
  return std::size_t(1.5 * double(live_after_major_) / (rate - 1)) + kMinHeadroom;
}

void HeapPolicy::record_major_cost(const MajorCost& c) {
  if (c.mutator_time >= kMinInterval)
    old_rate_ = smooth(old_rate_, double(c.old_growth) / seconds(c.mutator_time));
  if (c.duration >= kMinInterval && c.marked != 0)
    speed_ = smooth(speed_, double(c.marked) / seconds(c.duration));
}

std::size_t HeapPolicy::headroom(std::size_t live) const {
  if (config_.heap_tuning <= 0 || old_rate_ <= 0 || speed_ <= 0) return 0;
  double h =
      config_.heap_tuning * std::sqrt(double(live) * kHeadroomReference * old_rate_ / speed_);
  // The old rule's ceiling: never more than growth_factor allows at its largest.
  double ceiling =
      double(live) * (kMaxGrowthFactor - 1) + double(config_.initial_old_trigger_bytes);
  return std::max(kMinHeadroom, std::size_t(std::min(h, ceiling)));
}

void HeapPolicy::after_major(std::size_t live, std::size_t nursery_committed) {
  live_after_major_ = live;
  std::size_t trigger;
  if (std::size_t h = headroom(live); h != 0) {
    trigger = live + h;
  } else {
    // Peak memory is what a heap that grows costs: a trigger at or below the highest one
    // so far costs none (the heap was that large before), one above it raises the peak.
    // So growth_factor applies up to that high water, and beyond it half the growth:
    // binary-trees 21 peaks at about 260 instead of 420 MiB (its stretch tree sets the peak) at
    // the same number of major collections in its steady phase.
    double f = config_.growth_factor;
    std::size_t floor = live + config_.initial_old_trigger_bytes;
    std::size_t grown = std::max(std::size_t(double(live) * f), floor);
    std::size_t new_peak = std::max(std::size_t(double(live) * (1 + (f - 1) / 2)), floor);
    trigger = std::max(new_peak, std::min(grown, trigger_high_water_));
  }
  if (config_.heap_limit_bytes != 0)
    trigger = std::min(trigger, std::max(old_generation_room(nursery_committed), live + kPageSize));
  next_major_trigger_ = trigger;
  trigger_high_water_ = std::max(trigger_high_water_, trigger);
}

void HeapPolicy::minor_ended(std::chrono::nanoseconds pause, std::size_t copied) {
  paused_since_major_ += pause;
  minor_seen_ = true;
  // A collection that copied little measures its fixed costs, not its speed.
  constexpr std::size_t kMeasurable = std::size_t{256} << 10;
  if (copied < kMeasurable || pause.count() <= 0) return;
  double speed = double(copied) / std::chrono::duration<double>(pause).count();
  copy_speed_ = copy_speed_ == 0 ? speed : 0.5 * copy_speed_ + 0.5 * speed;
}

void HeapPolicy::remark_ended(std::chrono::nanoseconds pause) {
  remark_last_ = pause;
  remark_smoothed_ = remark_smoothed_.count() == 0 ? pause : (remark_smoothed_ + pause) / 2;
}

std::chrono::nanoseconds HeapPolicy::remark_time() const {
  if (remark_last_.count() == 0)
    return std::chrono::nanoseconds(std::int64_t(config_.pause_target_ms * 1e6));
  return std::max(remark_last_, remark_smoothed_);
}

std::size_t HeapPolicy::eden_for_pause(double survival) const {
  if (!config_.incremental_marking) return ~std::size_t{0};
  double speed = copy_speed_;
  if (speed == 0) {
    if (minor_seen_) return ~std::size_t{0};  // minors so far copied too little to measure
    speed = kAssumedCopySpeed;                // survival: the floor below, half of eden
  }
  // The copy takes most of a minor pause; a fifth of the goal is left for the roots, the
  // remembered set and the clock's noise. The survival rate is the recent average, and a
  // phase change (a program starts building long-lived data) can make a whole eden
  // survive: counting at least half of it as surviving keeps that worst case within
  // twice the goal.
  constexpr double kCopyShare = 0.8;
  constexpr double kLeastSurvival = 0.5;
  double copyable = speed * config_.pause_target_ms * 1e-3 * kCopyShare;
  double eden = copyable / std::max(survival, kLeastSurvival);
  return std::max(config_.min_nursery_bytes, std::size_t(std::min(eden, 1e15)));
}

std::size_t HeapPolicy::next_eden_size(std::size_t eden, std::size_t young_before,
                                       std::size_t copied) const {
  std::size_t smallest = config_.min_nursery_bytes;
  std::size_t largest = config_.nursery_bytes;
  if (config_.heap_tuning <= 0 || smallest >= largest || young_before == 0) return eden;
  // Eden is halved only by quiet phases and reduce_memory (and its pages beyond the probe
  // are released while pretenuring windows leave it empty): shrinking it because much of
  // it survived feeds back, since a smaller eden gives objects less time to die, which
  // opens pretenuring windows for data that then dies old. It grows back by doubling
  // while less than a tenth of it survives, the young-dying case a larger eden serves.
  constexpr double kLowSurvival = 0.10;
  double survival = double(copied) / double(young_before);
  if (survival < kLowSurvival) return std::min(eden * 2, largest);
  return eden;
}

bool HeapPolicy::quiet_phase(Clock::time_point now, std::size_t old_generation_bytes) {
  std::size_t room = next_major_trigger_ - std::min(next_major_trigger_, live_after_major_);
  if (old_generation_bytes > quiet_base_ + room / 8) {
    // Growing: a major collection will come from the trigger. Start watching again.
    quiet_since_ = now;
    quiet_base_ = old_generation_bytes;
    return false;
  }
  return now - quiet_since_ >= quiet_delay_ && now - last_major_end_ >= quiet_delay_;
}

void HeapPolicy::major_ended(GcReason reason, Clock::time_point end,
                             std::chrono::nanoseconds duration, std::size_t old_before,
                             std::size_t old_after) {
  last_major_end_ = end;
  paused_since_major_ = std::chrono::nanoseconds(0);
  quiet_since_ = end;
  quiet_base_ = old_after;
  if (reason == GcReason::kShrink) {
    forget_peak();
    // Freed little: what is there is live, so look again later (doubling the wait).
    bool freed_little = old_before - std::min(old_before, old_after) < old_before / 4;
    quiet_delay_ = freed_little ? std::min(2 * quiet_delay_, kMaxQuietDelay) : kQuietDelay;
  } else if (reason == GcReason::kHeapGrowth || reason == GcReason::kIdle) {
    quiet_delay_ = kQuietDelay;
  }
  // A shrinking collection takes at most a fifth of the quiet phase it ends. (A tenth
  // delayed the 1 GiB spike of bench/spike.cpp past two seconds on a loaded machine.)
  quiet_delay_ = std::max(quiet_delay_, 4 * duration);
}

std::size_t HeapPolicy::pages_to_keep(GcReason reason, std::size_t free_list_bytes) const {
  // After a collection the growth trigger started (or idle time, just before it would),
  // empty pages stay mapped for what the old generation may grow into before the next one
  // (beyond its free lists): it would map and fault in as many again. Other collections
  // (rt.collect, the heap limit, pins, stress) and heaps with a limit keep only page_reserve; the
  // rest goes back to the OS now.
  std::size_t keep = config_.page_reserve;
  if ((reason == GcReason::kHeapGrowth || reason == GcReason::kIdle) &&
      config_.heap_limit_bytes == 0) {
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
  // promotion_need(y, reusable, w) <= room  <=>  y * 9/8 + claimed_unused(w) <= reusable + room
  // (room rounded down to pages).
  std::size_t room = align_down(limit - committed - extra, kPageSize);
  std::size_t reserve = claimed_unused(config_.gc_threads);
  if (reusable + room <= reserve) return 0;
  std::size_t young = ((reusable + room - reserve) / 9) * 8;
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
                                   reusable_old_bytes(), config_.gc_threads);
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
