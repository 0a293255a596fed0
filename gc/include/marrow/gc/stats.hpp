// What an embedder can read about collections: counters, sizes, pauses, events.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace marrow {

enum class GcKind : std::uint8_t {
  kMinor,    ///< nursery only: evacuate survivors, promote the old enough
  kMajor,    ///< whole heap: mark, sweep (compacts if fragmentation is past the threshold)
  kCompact,  ///< whole heap: mark, then slide old-space objects together
};

enum class GcReason : std::uint8_t {
  kAllocation,     ///< eden was full
  kRequested,      ///< rt.collect()
  kHeapGrowth,     ///< the old generation reached its growth trigger
  kHeapLimit,      ///< an allocation could not be met within heap_limit_bytes
  kStress,         ///< stress mode
  kPin,            ///< a young object was pinned and had to be promoted
  kFragmentation,  ///< old space too fragmented (compaction chosen automatically)
};

const char* to_string(GcKind kind) noexcept;
const char* to_string(GcReason reason) noexcept;

/// Counters since the runtime was created. Byte counts are std::size_t, pauses are
/// nanoseconds. Read with `rt.stats()` (refreshed on each call).
struct HeapStats {
  std::size_t minor_collections = 0;
  std::size_t major_collections = 0;  ///< includes compacting ones
  std::size_t compactions = 0;
  std::size_t bytes_allocated = 0;  ///< all managed allocations, ever
  std::size_t bytes_promoted = 0;   ///< copied from the nursery into old space
  std::size_t bytes_survived = 0;   ///< copied between survivor spaces
  std::size_t bytes_freed = 0;      ///< old and large objects reclaimed by major collections
  std::size_t bytes_moved = 0;      ///< moved by compaction
  std::size_t heap_bytes = 0;       ///< committed now: nursery + old + large + immortal
  std::size_t peak_heap_bytes = 0;
  std::size_t live_bytes = 0;   ///< old + large + immortal bytes live after the last
                                ///< major collection, plus what was promoted since
  std::size_t old_bytes = 0;    ///< old-space bytes in use now (objects)
  std::size_t large_bytes = 0;  ///< large-object bytes now
  std::size_t immortal_bytes = 0;
  std::size_t pages_returned = 0;  ///< pages unmapped (given back to the OS)
  std::chrono::nanoseconds max_pause{0};
  std::chrono::nanoseconds total_pause{0};
  std::chrono::nanoseconds last_pause{0};
};

/// One collection, as reported to `rt.on_gc` listeners after it finished.
struct GcEvent {
  std::uint64_t sequence = 0;  ///< 1 for the first collection of the runtime
  GcKind kind = GcKind::kMinor;
  GcReason reason = GcReason::kAllocation;
  std::chrono::nanoseconds pause{0};
  std::size_t bytes_before = 0;  ///< heap_bytes before
  std::size_t bytes_after = 0;   ///< heap_bytes after
  std::size_t live_before = 0;   ///< bytes in use before (nursery used + old + large)
  std::size_t live_after = 0;    ///< bytes in use after
  std::size_t promoted_bytes = 0;
};

}  // namespace marrow
