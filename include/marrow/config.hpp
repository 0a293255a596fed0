// Runtime configuration: sizes, policies and debugging modes, with MARROW_* overrides.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace marrow {

/// How a Runtime sizes and runs its heap. Every field has a working default.
///
/// ```cpp
/// marrow::Config cfg;
/// cfg.nursery_bytes = 8 << 20;          // 8 MiB eden
/// cfg.heap_limit_bytes = 256 << 20;     // OutOfMemory beyond 256 MiB
/// cfg = marrow::Config::from_env(cfg);  // MARROW_* variables win
/// marrow::Runtime rt(cfg);
/// ```
/// See docs/tuning.md for what each knob trades. A Runtime normalises the values it is
/// given (each field says how; `rt.config()` shows the result) and throws ConfigError
/// for a value outside its range.
struct Config {
  /// Eden size. Minor pauses scale with survivors, not with this; larger means fewer
  /// collections and fewer objects promoted only because a collection came too soon.
  /// 16 MiB: binary-trees runs 27% faster than with 4 MiB (docs/performance.md).
  /// Range: raised to 64 KiB; above 512 MiB is a ConfigError. Under a heap limit it is
  /// halved until the nursery takes at most half of the limit.
  std::size_t nursery_bytes = std::size_t{16} << 20;
  /// The smallest eden the adaptive nursery shrinks to. Eden shrinks to it in a quiet
  /// phase and on rt.reduce_memory(), and doubles back (at most to nursery_bytes) after
  /// each minor collection that finds less than a tenth of the nursery alive. While
  /// pretenuring windows leave eden empty, its pages beyond the probe (a quarter) are given
  /// back to the OS. Setting it to nursery_bytes keeps eden fixed. Raised to 64 KiB,
  /// lowered to nursery_bytes; above 512 MiB is a ConfigError.
  std::size_t min_nursery_bytes = std::size_t{1} << 20;
  /// Each of the two survivor semispaces; 0 means nursery_bytes / 8. Raised to 4 KiB;
  /// eden plus two survivor spaces beyond 1 GiB (the nursery's slot) is a ConfigError.
  std::size_t survivor_bytes = 0;
  /// Objects that survived more than this many minor collections are promoted. At most 14
  /// (larger values are lowered to 14: the header counts ages to 15).
  unsigned tenure_age = 1;
  /// Objects above this size go to the large-object space (own pages, never moved).
  /// Clamped to [256 bytes, min(nursery_bytes / 4, 126 KiB)].
  std::size_t large_object_bytes = std::size_t{8} << 10;
  /// Bound on HeapStats::heap_bytes (everything committed); 0 = unlimited. It holds through
  /// collections: eden is given only as much room as its promotion can take under the
  /// limit. A non-zero value below 1 MiB is a ConfigError.
  std::size_t heap_limit_bytes = 0;
  /// The next major collection starts when the old generation reaches
  /// growth_factor x its live size after the last major collection, up to the highest
  /// trigger so far; a trigger above it (a new peak) grows by half as much (1.5 x live
  /// at 2). Clamped to [1.1, 100]; NaN or infinity is a ConfigError.
  double growth_factor = 2.0;
  /// Old-generation sizing from measured cost (docs/tuning.md): after each major
  /// collection the next trigger is live + heap_tuning x sqrt(live x R x g / s), where g
  /// is the rate at which the old generation grows (promotion, pretenuring, large objects)
  /// per second of mutator time, s the bytes the last major collections kept per second
  /// of their pause, and R a fixed 256 MiB; both rates are smoothed. Larger values trade
  /// memory for fewer major collections (twice the value, twice the headroom). 0 restores
  /// the fixed growth_factor rule, the default until the rule stops costing speed
  /// (docs/tuning.md has the measurements; 0.75 is the setting they were taken at). In
  /// [0, 100], else a ConfigError.
  double heap_tuning = 0;
  /// Old-generation size that triggers the first major collection.
  std::size_t initial_old_trigger_bytes = std::size_t{16} << 20;
  /// A major collection compacts when this fraction of old-space pages is free and the
  /// holes the previous sweep left went mostly unused (see docs/tuning.md). In [0, 1], else
  /// a ConfigError.
  double compaction_threshold = 0.5;
  /// Pretenuring: when a minor collection finds at least this fraction of the nursery
  /// alive, the allocations that follow go straight to old space (no copying) for a window
  /// of one eden's worth of bytes, doubling (up to 8 edens) while each minor collection
  /// after a window finds the same; then the nursery is tried again. 0 turns it off.
  /// Helps workloads that build big structures which outlive several edens (see
  /// docs/tuning.md); objects that die young are unaffected. In [0, 1], else a ConfigError.
  double pretenure_survival = 0.5;
  /// Threads that collect, the collecting thread included: minor collections' copying and
  /// major collections' marking and sweeping run on this many (a pool per runtime, parked
  /// between collections). 1 is the serial collector. 0 (the default) means a pool of the
  /// cores this process may use, at most 8, of which each phase uses all or only the
  /// collecting thread, whichever it measured faster (see docs/tuning.md); an explicit
  /// count is used in every phase. Values above 64 are a ConfigError. With more than one,
  /// trace functions of different objects may run at once on different threads (see
  /// Tracer).
  ///
  ///   marrow::Config c;
  ///   c.gc_threads = 4;  // always copy, mark and sweep on 4 threads
  unsigned gc_threads = 0;
  /// Empty pages kept mapped for reuse after a collection; the rest go back to the OS.
  std::size_t page_reserve = 8;
  /// Mark the old generation incrementally: a cycle starts when the old generation is
  /// close enough to its next major trigger for marking at marking_rate to finish before
  /// it (at the earliest half-way from the last live size), marks in short steps
  /// between allocations (GcKind::kMarkStep events) and ends in a major collection whose
  /// pause only catches up (the remark). Off: every major collection marks the whole heap
  /// in its pause.
  bool incremental_marking = false;
  /// Bytes of objects a marking step scans per byte allocated since the previous step
  /// (incremental marking's pace), at least: a step scans more when this pace would not
  /// finish the cycle before the old generation's trigger. Larger finishes cycles sooner
  /// with longer steps. In (0, 1000], else a ConfigError.
  double marking_rate = 8.0;
  /// The pause goal, in milliseconds: a marking step stops after half of it, whatever its
  /// byte budget (a cycle that falls behind catches up in more steps or in its remark);
  /// with incremental_marking, eden is kept to what a minor collection copies in it.
  /// In (0, 10000], else a ConfigError.
  double pause_target_ms = 5.0;
  /// Incremental stress mode: a marking cycle starts at every Nth allocation, and while
  /// one runs every allocation takes a small marking step (0 = off). Combines with
  /// stress_interval.
  std::uint64_t stress_incremental = 0;
  /// Stress mode: a collection every N allocations (0 = off); collections cycle through
  /// minor, major and compacting and move everything they can.
  std::uint64_t stress_interval = 0;
  /// Verify the whole heap before and after every collection (slow; for debugging).
  bool verify_heap = false;
  /// 0: silent; 1: one line per collection on stderr; 2: plus per-space detail. Larger
  /// values act as 2; negative ones are a ConfigError.
  int trace_gc = 0;
  /// When set, collections and their phases are written to this file as Chrome
  /// trace-event JSON from the start (see Runtime::start_gc_trace).
  std::string gc_trace_path;

  /// `base` with MARROW_NURSERY_BYTES, MARROW_MIN_NURSERY_BYTES, MARROW_SURVIVOR_BYTES,
  /// MARROW_TENURE_AGE, MARROW_LARGE_OBJECT_BYTES, MARROW_HEAP_LIMIT, MARROW_GROWTH_FACTOR,
  /// MARROW_HEAP_TUNING, MARROW_COMPACTION_THRESHOLD, MARROW_PRETENURE_SURVIVAL,
  /// MARROW_GC_THREADS, MARROW_PAGE_RESERVE, MARROW_INCREMENTAL_MARKING,
  /// MARROW_MARKING_RATE, MARROW_PAUSE_TARGET_MS, MARROW_STRESS_INTERVAL,
  /// MARROW_STRESS_INCREMENTAL, MARROW_VERIFY_HEAP, MARROW_TRACE_GC and MARROW_GC_TRACE (a path)
  /// applied. Sizes accept K, M and G suffixes. A malformed value throws ConfigError (a
  /// std::invalid_argument) naming the variable; ranges are checked by the Runtime.
  static Config from_env(Config base);
  static Config from_env();
};

/// Parses "64", "512K", "16M", "2G" (binary multiples). Throws std::invalid_argument.
std::size_t parse_size(const char* text);

}  // namespace marrow
