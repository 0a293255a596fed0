// What an embedder can read about collections: counters, per-space sizes, a pause
// histogram, per-phase times and the events listeners receive.
#pragma once
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "marrow/space.hpp"

namespace marrow {

enum class GcKind : std::uint8_t {
  kMinor,    ///< nursery only: evacuate survivors, promote the old enough
  kMajor,    ///< whole heap: mark, sweep (compacts if fragmentation is past the threshold)
  kCompact,  ///< whole heap: mark, then slide old-space objects together
  /// Incremental marking (Config::incremental_marking): the pause that starts a cycle
  /// (the nursery emptied, the roots marked). Not counted as a collection in HeapStats.
  /// `rt.collect(GcKind::kMarkStart)` starts one (whether or not the mode is on; nothing
  /// when a cycle runs).
  kMarkStart,
  /// Incremental marking: one step of a cycle (a slice of marking between allocations).
  /// The cycle ends in a kMajor or kCompact event with `incremental` set (the remark),
  /// which `rt.collect(GcKind::kMajor)` does not give: it abandons the cycle and marks
  /// afresh. `rt.collect(GcKind::kMarkStep)` takes a step (nothing when no cycle runs).
  kMarkStep,
  /// Lazy sweeping: a slice of the sweep that followed a remark, between allocations.
  /// `rt.collect(GcKind::kSweepStep)` takes one (nothing when nothing is left to sweep).
  kSweepStep,
};
inline constexpr std::size_t kGcKindCount = 6;

enum class GcReason : std::uint8_t {
  kAllocation,     ///< eden was full
  kRequested,      ///< rt.collect()
  kHeapGrowth,     ///< the old generation reached its growth trigger
  kHeapLimit,      ///< an allocation could not be met within heap_limit_bytes
  kStress,         ///< stress mode
  kPin,            ///< a young object was pinned and had to be promoted
  kFragmentation,  ///< old space too fragmented (compaction chosen automatically)
  kShrink,         ///< the old generation grew little for a while: find what died, give pages back
  kIdle,           ///< rt.idle(): work done in the embedder's spare time
};
inline constexpr std::size_t kGcReasonCount = 9;

/// The phases a collection's pause is split into. A collection is a sequence of phases;
/// each moment of the pause is charged to exactly one, so the phase times add up to it.
enum class GcPhase : std::uint8_t {
  kVerify,    ///< heap verification (Config::verify_heap only)
  kRoots,     ///< scanning roots: handles, globals, root sources, remembered set, pins
  kEvacuate,  ///< copying reachable young objects (minor, and the first step of a major)
  kMark,      ///< marking the old generation transitively
  kWeak,      ///< weak handles, root sources' weak tables, finalizable objects
  kSweep,     ///< rebuilding free lists, freeing large objects, returning pages
  kCompact,   ///< sliding old-space objects together and fixing references
};
inline constexpr std::size_t kGcPhaseCount = 7;

const char* to_string(GcKind kind) noexcept;
const char* to_string(GcReason reason) noexcept;
const char* to_string(GcPhase phase) noexcept;

/// A log-bucketed histogram of durations: 8 buckets per power of two (at most 12.5%
/// relative error), fixed storage, so recording never allocates.
///
/// ```cpp
/// marrow::PauseHistogram h;
/// h.record(std::chrono::microseconds(250));
/// auto p99 = h.percentile(0.99);  // within one bucket of the exact 99th percentile
/// ```
class PauseHistogram {
 public:
  static constexpr unsigned kSubBuckets = 8;  ///< per power of two
  static constexpr unsigned kBuckets = 64 * kSubBuckets;

  void record(std::chrono::nanoseconds duration) noexcept;
  std::uint64_t count() const noexcept { return count_; }
  std::chrono::nanoseconds min() const noexcept { return std::chrono::nanoseconds(min_); }
  std::chrono::nanoseconds max() const noexcept { return std::chrono::nanoseconds(max_); }
  /// The nearest-rank percentile (q in [0, 1]): the middle of the bucket that holds the
  /// ceil(q * count)-th smallest sample, clamped to [min, max]. 0 when empty.
  std::chrono::nanoseconds percentile(double q) const noexcept;

  /// The bucket a duration falls in and that bucket's bounds [lower, upper] in ns.
  static unsigned bucket_of(std::uint64_t ns) noexcept;
  static std::uint64_t bucket_lower(unsigned bucket) noexcept;
  static std::uint64_t bucket_upper(unsigned bucket) noexcept;

 private:
  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t min_ = ~std::uint64_t{0};
  std::uint64_t max_ = 0;
};

/// One space: what it can hold without growing, what is in use now, and what was in use
/// right after the last collection (for old and large space, which only major collections
/// free: the last major collection's live size plus what minor collections promoted since).
///
/// ```cpp
/// const marrow::SpaceStats& old = rt.stats().spaces[std::size_t(marrow::Space::kOld)];
/// std::printf("old: %zu of %zu bytes used, %zu live\n", old.used, old.capacity,
///             old.live_after_gc);
/// ```
struct SpaceStats {
  std::size_t capacity = 0;  ///< bytes committed for the space
  std::size_t used = 0;      ///< bytes of objects (and free-list holes for old) in use now
  std::size_t live_after_gc = 0;
};

/// Counters since the runtime was created. Byte counts are std::size_t, pauses are
/// nanoseconds. Read with `rt.stats()` (refreshed on each call); print with
/// `marrow::format_table(stats)` or `marrow::to_json(stats)`.
///
/// ```cpp
/// const marrow::HeapStats& s = rt.stats();
/// std::printf("%zu minor, p99 pause %lld ns\n", s.minor_collections,
///             static_cast<long long>(s.pause_p99.count()));
/// std::fputs(marrow::format_table(s).c_str(), stderr);
/// ```
struct HeapStats {
  std::size_t minor_collections = 0;
  std::size_t major_collections = 0;  ///< includes compacting ones
  std::size_t compactions = 0;
  /// Incremental marking: cycles finished (each one's remark is also a major collection)
  /// and the incremental pauses taken (kMarkStart, kMarkStep and kSweepStep events).
  std::size_t marking_cycles = 0;
  std::size_t marking_increments = 0;
  std::array<std::size_t, kGcReasonCount> collections_by_reason{};  ///< index: GcReason
  std::size_t bytes_allocated = 0;   ///< all managed allocations, ever
  std::size_t bytes_promoted = 0;    ///< copied from the nursery into old space
  std::size_t bytes_survived = 0;    ///< copied between survivor spaces
  std::size_t bytes_pretenured = 0;  ///< allocated straight into old space (pretenuring)
  std::size_t bytes_freed = 0;       ///< old and large objects reclaimed by major collections
  std::size_t bytes_moved = 0;       ///< moved by compaction
  std::size_t heap_bytes = 0;        ///< committed now: nursery + old + large + immortal
  std::size_t peak_heap_bytes = 0;
  std::size_t live_bytes = 0;   ///< old + large + immortal bytes live after the last
                                ///< major collection, plus what was promoted since
  std::size_t old_bytes = 0;    ///< old-space bytes in use now (objects)
  std::size_t large_bytes = 0;  ///< large-object bytes now
  std::size_t immortal_bytes = 0;
  std::size_t pages_returned = 0;                ///< pages unmapped (given back to the OS)
  std::array<SpaceStats, kSpaceCount> spaces{};  ///< index: Space
  /// After the last major collection: free-listed holes / (holes + live bytes) in old
  /// space (0 = dense; the unused tail of the allocation page is not a hole).
  double fragmentation = 0.0;
  /// Bytes allocated per second of the runtime's life so far.
  double allocation_rate = 0.0;
  /// Heap sizing (docs/tuning.md): the old-generation size that starts the next major
  /// collection; the smoothed rate at which the old generation grew (bytes per second of
  /// mutator time) and at which major collections marked (bytes per second of pause), 0
  /// until measured; and eden's current size (the adaptive nursery).
  std::size_t next_major_trigger = 0;
  double old_allocation_rate = 0.0;
  double collection_speed = 0.0;
  std::size_t eden_bytes = 0;
  std::chrono::nanoseconds uptime{0};
  std::chrono::nanoseconds max_pause{0};
  std::chrono::nanoseconds total_pause{0};
  std::chrono::nanoseconds last_pause{0};
  std::chrono::nanoseconds pause_p50{0};  ///< from `pauses` (all kinds)
  std::chrono::nanoseconds pause_p90{0};
  std::chrono::nanoseconds pause_p99{0};
  std::array<std::chrono::nanoseconds, kGcPhaseCount> phase_total{};  ///< index: GcPhase
  PauseHistogram pauses;                                              ///< every collection
  PauseHistogram minor_pauses;                                        ///< minor collections only
  PauseHistogram major_pauses;      ///< major and compacting collections
  PauseHistogram increment_pauses;  ///< kMarkStart, kMarkStep and kSweepStep pauses
};

/// One contiguous stretch of a collection spent in one phase; a GcEvent's spans tile its
/// pause in order.
///
/// ```cpp
/// for (std::size_t i = 0; i < e.span_count; ++i)
///   std::printf("%s at +%lld ns for %lld ns\n", marrow::to_string(e.spans[i].phase),
///               static_cast<long long>(e.spans[i].start.count()),
///               static_cast<long long>(e.spans[i].duration.count()));
/// ```
struct PhaseSpan {
  GcPhase phase = GcPhase::kRoots;
  std::chrono::nanoseconds start{0};  ///< from the start of the collection
  std::chrono::nanoseconds duration{0};
};

/// One collection, as reported to `rt.on_gc` listeners after it finished.
///
/// ```cpp
/// rt.on_gc([](const marrow::GcEvent& e) {
///   std::printf("#%llu %s mark %lld ns\n", static_cast<unsigned long long>(e.sequence),
///               marrow::to_string(e.kind),
///               static_cast<long long>(e.phase_time(marrow::GcPhase::kMark).count()));
/// });
/// ```
struct GcEvent {
  static constexpr std::size_t kMaxSpans = 24;

  std::uint64_t sequence = 0;  ///< 1 for the first collection of the runtime
  GcKind kind = GcKind::kMinor;
  GcReason reason = GcReason::kAllocation;
  std::chrono::steady_clock::time_point start{};
  std::chrono::nanoseconds pause{0};
  std::size_t bytes_before = 0;  ///< heap_bytes (committed) before
  std::size_t bytes_after = 0;   ///< heap_bytes after
  std::size_t live_before = 0;   ///< bytes in use before (sum of space_before)
  std::size_t live_after = 0;    ///< bytes in use after
  std::size_t promoted_bytes = 0;
  /// Bytes the allocations after this collection go straight to old space for (an open
  /// pretenuring window, Config::pretenure_survival); 0 when they go to eden.
  std::size_t pretenure_window = 0;
  std::array<std::size_t, kSpaceCount> space_before{};  ///< bytes in use per space
  std::array<std::size_t, kSpaceCount> space_after{};
  std::array<std::chrono::nanoseconds, kGcPhaseCount> phases{};  ///< total per phase
  std::array<PhaseSpan, kMaxSpans> spans{};  ///< in order; later ones merge into the last
  std::size_t span_count = 0;
  /// Threads that worked in this collection's parallel phases (Config::gc_threads; 1 when
  /// every phase ran on the collecting thread).
  unsigned gc_threads = 1;
  /// A kMajor or kCompact that finished an incremental marking cycle (its pause is the
  /// remark); kMarkStep: bytes of objects the step scanned.
  bool incremental = false;
  std::size_t marked_bytes = 0;
  /// Per phase that ran on several workers, the busiest and the idlest worker's time in
  /// it (zero for phases that ran on one thread): their gap is the imbalance.
  std::array<std::chrono::nanoseconds, kGcPhaseCount> worker_busiest{};
  std::array<std::chrono::nanoseconds, kGcPhaseCount> worker_idlest{};
  /// One span per worker per parallel part of a phase (the trace timeline draws a track
  /// per worker from them); the first kMaxWorkerSpans only.
  struct WorkerSpan {
    GcPhase phase = GcPhase::kMark;
    unsigned worker = 0;
    std::chrono::nanoseconds start{0};  ///< from the start of the collection
    std::chrono::nanoseconds duration{0};
  };
  static constexpr std::size_t kMaxWorkerSpans = 32;
  std::array<WorkerSpan, kMaxWorkerSpans> worker_spans{};
  std::size_t worker_span_count = 0;

  std::chrono::nanoseconds phase_time(GcPhase p) const {
    return phases[static_cast<std::size_t>(p)];
  }
};

/// The statistics as an aligned text table (one row per space, then totals and pauses).
std::string format_table(const HeapStats& stats);
/// The statistics as one JSON object (sizes in bytes, times in nanoseconds).
std::string to_json(const HeapStats& stats);
/// One collection as the GC log prints it (MARROW_TRACE_GC=1); detail 2 adds spaces.
std::string format_event(const GcEvent& event, int detail = 1);

}  // namespace marrow
