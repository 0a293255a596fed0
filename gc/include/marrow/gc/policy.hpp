// Policy: when to collect and how big to let the heap get. The major trigger and its
// growth, the compaction choice, how many empty pages to keep mapped, and the heap
// limit's arithmetic (docs/design.md, sections 6-8). Decides only: the collections that
// carry a decision out live in their own files. One formula per question.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>

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

/// What a major collection measured, for sizing the next trigger by cost.
struct MajorCost {
  std::size_t old_growth = 0;  ///< old-generation bytes added since the last major collection
  std::chrono::nanoseconds mutator_time{0};  ///< since the last major, collection pauses excluded
  std::size_t marked = 0;                    ///< bytes the collection found live
  std::chrono::nanoseconds duration{0};      ///< the collection's own time
};

class HeapPolicy {
 public:
  using Clock = std::chrono::steady_clock;

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
  /// Incremental marking starts when the old generation is a marking runway short of
  /// the next trigger (marking_runway), but not before it is half-way there from the last
  /// major's live bytes, so that it can finish (paced by allocation) before the trigger.
  bool marking_should_start(std::size_t old_generation_bytes) const {
    std::size_t live = std::min(live_after_major_, next_major_trigger_);
    std::size_t room = next_major_trigger_ - live;
    return old_generation_bytes + std::min(marking_runway(), room / 2) >= next_major_trigger_;
  }
  /// The allocation a cycle needs to mark at marking_rate: the last live bytes plus what
  /// is allocated meanwhile (marked too), L / (rate - 1), with half as much again to
  /// spare. Starting no earlier keeps the cycle short: what it allocates floats (stays
  /// live) until the next one.
  std::size_t marking_runway() const;
  /// Whether this major collection compacts: on request, or when old space is
  /// fragmented and the holes the last sweep left went mostly unused.
  bool should_compact(bool requested, const OldSpaceCensus& census) const;
  /// After a major collection that kept `live` bytes in old and large space: the next
  /// trigger, capped by the limit's room. With heap_tuning > 0 and costs measured
  /// (record_major_cost), live + the square-root headroom (docs/tuning.md); otherwise
  /// growth_factor x live, at least live + initial_old_trigger_bytes, as far as the
  /// highest trigger so far, and beyond it (a new peak) half the growth: 1.5 x live at 2.
  void after_major(std::size_t live, std::size_t nursery_committed);
  /// After a collection that gave memory back (a quiet phase's, reduce_memory): the heap
  /// grows from its size now as if that were its peak.
  void forget_peak() { trigger_high_water_ = next_major_trigger_; }
  /// Folds one major collection's measurements into the smoothed rates.
  void record_major_cost(const MajorCost& cost);
  /// The square-root rule's headroom for `live` bytes at the smoothed rates (0 while unmeasured).
  std::size_t headroom(std::size_t live) const;
  double old_allocation_rate() const { return old_rate_; }  ///< bytes per mutator second
  double collection_speed() const { return speed_; }        ///< bytes marked per second

  /// After a minor collection caused by a full eden that copied `copied` of the
  /// `young_before` bytes the nursery held: eden's next size (within [min_nursery_bytes,
  /// nursery_bytes]) for a current size of `eden`: doubled while little survives.
  std::size_t next_eden_size(std::size_t eden, std::size_t young_before, std::size_t copied) const;
  /// After each minor collection: its pause and the bytes it copied (survivors and
  /// promoted), which measure the nursery's copying speed.
  void minor_ended(std::chrono::nanoseconds pause, std::size_t copied);
  /// With incremental marking (the low-pause mode), the eden bytes whose minor collection
  /// should fit the pause goal, at `survival` (the nursery's recent survival rate) and the
  /// measured copying speed: at least min_nursery_bytes. Before the first minor collection
  /// (no speed, no survival known) it assumes kAssumedCopySpeed and half of eden surviving:
  /// a program that starts by building long-lived data does not pay for a full eden's copy.
  std::size_t eden_for_pause(double survival) const;
  /// The copying speed eden_for_pause assumes until a minor collection measured one, in
  /// bytes per second: about what a first scavenge into untouched memory reaches here,
  /// where its page faults dominate (0.15 GB/s on churn, 0.47 GB/s on binary-trees;
  /// 1.4 GB/s into memory already touched).
  static constexpr double kAssumedCopySpeed = 150e6;
  /// Idle time (rt.idle) estimates, from what collections measured. The pause of a
  /// minor collection that copies `bytes`, at the measured speed (kAssumedCopySpeed before one).
  std::chrono::nanoseconds copy_time(std::size_t bytes) const {
    double speed = copy_speed_ > 0 ? copy_speed_ : kAssumedCopySpeed;
    return std::chrono::nanoseconds(std::int64_t(double(bytes) / speed * 1e9));
  }
  /// The remark's pause: the longer of the last one and the smoothed ones (the pause goal
  /// before the first remark).
  std::chrono::nanoseconds remark_time() const;
  void remark_ended(std::chrono::nanoseconds pause);
  /// A stop-the-world major collection's pause for the last live bytes, at the measured
  /// marking speed; zero while unmeasured.
  std::chrono::nanoseconds major_time() const {
    if (speed_ <= 0) return std::chrono::nanoseconds(0);
    return std::chrono::nanoseconds(std::int64_t(double(live_after_major_) / speed_ * 1e9));
  }
  /// The old generation is three quarters of the way from the last live bytes to the
  /// trigger: a major collection in idle time spares the one the trigger would bring.
  bool major_due_soon(std::size_t old_generation_bytes) const {
    std::size_t live = std::min(live_after_major_, next_major_trigger_);
    return old_generation_bytes >= live + (next_major_trigger_ - live) / 4 * 3;
  }

  /// Mutator time since the last major collection ended, at `now` (pauses excluded).
  std::chrono::nanoseconds mutator_time_since_major(Clock::time_point now) const {
    auto wall = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_major_end_);
    return wall > paused_since_major_ ? wall - paused_since_major_ : std::chrono::nanoseconds(0);
  }

  /// Whether the heap is large enough to watch for a quiet phase (shrink_due). The slow
  /// path then polls every kShrinkPollBytes of eden.
  bool watch_for_quiet(std::size_t old_committed) const {
    return config_.heap_tuning > 0 && config_.stress_interval == 0 &&
           old_committed >= kShrinkMinBytes;
  }
  /// Polled from the slow path: whether a quiet phase has come, in which the old
  /// generation grew by less than an eighth of its headroom for quiet_delay (and as long
  /// since the last major collection). A major collection then finds what died (a dropped
  /// structure) and gives its pages back (GcReason::kShrink).
  bool quiet_phase(Clock::time_point now, std::size_t old_generation_bytes);
  static constexpr std::size_t kShrinkMinBytes = std::size_t{32} << 20;
  static constexpr std::size_t kShrinkPollBytes = std::size_t{256} << 10;
  /// Major collections since the start mark times: `reason`, its duration, and what it freed.
  void major_ended(GcReason reason, Clock::time_point end, std::chrono::nanoseconds duration,
                   std::size_t old_before, std::size_t old_after);
  /// Empty pages to keep mapped after a major collection started for `reason`, with
  /// `free_list_bytes` already reusable in old space.
  std::size_t pages_to_keep(GcReason reason, std::size_t free_list_bytes) const;
  /// What the sweep left: free-listed bytes, of which `page_tails` at the ends of pages.
  void record_sweep(bool compacted, std::size_t free_list_bytes, std::size_t page_tails);
  /// Fraction of old space's free bytes that are holes between objects.
  double fragmentation(std::size_t free_list_bytes, std::size_t old_live) const;

  /// What a parallel scavenger claims of old space's LAB at a time to promote into. Each
  /// worker bumps its claim privately, so at any moment up to this much per worker is
  /// claimed but unused; a small claim keeps that (and what a heap limit must reserve for
  /// it) far below a page per worker.
  static constexpr std::size_t kPromotionChunk = std::size_t{16} << 10;

  /// New old-space pages (in bytes) a minor collection may need for promoting
  /// `young_bytes` when `reusable` bytes of old space (the LAB's rest, free-list holes)
  /// take promoted objects first: page-end waste (an object never straddles pages) is
  /// allowed for with an eighth more, and with `workers` promoting in parallel, one
  /// unfinished kPromotionChunk per worker.
  static std::size_t promotion_need(std::size_t young_bytes, std::size_t reusable,
                                    unsigned workers = 1) {
    std::size_t bytes = young_bytes + young_bytes / 8 + claimed_unused(workers);
    return bytes <= reusable ? 0 : align_up(bytes - reusable, kPageSize);
  }
  /// The promotion memory `workers` parallel scavengers may hold claimed but unused.
  static constexpr std::size_t claimed_unused(unsigned workers) {
    return workers > 1 ? workers * kPromotionChunk : 0;
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
  /// The highest trigger since the start or the last collection that gave memory back.
  std::size_t trigger_high_water_ = 0;
  std::size_t live_after_major_ = 0;
  std::size_t free_after_last_sweep_ = 0;  ///< old-space free-list bytes after the last major
  std::size_t free_page_tails_ = 0;        ///< of those, bytes at the ends of pages (not holes)

  // Sizing by measured cost. Rates are exponentially smoothed over major collections.
  double old_rate_ = 0;      ///< old-generation growth, bytes per second of mutator time
  double speed_ = 0;         ///< bytes marked per second of major collection
  double copy_speed_ = 0;    ///< bytes a minor collection copies per second of its pause
  bool minor_seen_ = false;  ///< a minor collection has ended (its survival is known)
  std::chrono::nanoseconds remark_smoothed_{0};  ///< remark pauses, smoothed
  std::chrono::nanoseconds remark_last_{0};      ///< the last remark's pause
  Clock::time_point last_major_end_ = Clock::now();
  std::chrono::nanoseconds paused_since_major_{0};  ///< minor pauses since the last major
  Clock::time_point quiet_since_ = Clock::now();    ///< start of the current quiet stretch
  std::size_t quiet_base_ = 0;                      ///< the old generation's size when it started
  std::chrono::nanoseconds quiet_delay_ = kQuietDelay;
  /// Quiet phases are looked for this long after a major collection at the earliest; each
  /// shrinking collection that freed little doubles the wait (up to kMaxQuietDelay), so a
  /// big heap that really is live costs a bounded share of the time.
  static constexpr std::chrono::nanoseconds kQuietDelay = std::chrono::milliseconds(500);
  static constexpr std::chrono::nanoseconds kMaxQuietDelay = std::chrono::seconds(64);
};

}  // namespace marrow::internal
