// TrackingAllocator: a decorator that counts what passes through it to another allocator
// (current, peak, live count, totals) and can record every live block for a leak report.
// Must never change what the upstream allocator returns; it only observes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <marrow/alloc/allocator.hpp>
#include <marrow/alloc/system_allocator.hpp>

namespace marrow {

/// Whether a TrackingAllocator keeps a record of each live block (needed for the leak
/// report and for catching foreign pointers) or only counters.
///
/// Example: `marrow::TrackingAllocator t(upstream, marrow::TrackingMode::kRecordAllocations);`
enum class TrackingMode {
  kCounters,           // counters only: a mutex and a few additions per call
  kRecordAllocations,  // plus a hash-map entry per live block (allocates from the C++ heap)
};

/// Counters kept by a TrackingAllocator. Byte counts are the sizes callers asked for, not
/// what the upstream allocator spent (padding, headers).
///
/// Example: `CHECK(tracker.stats().live_allocations == 0);`
struct TrackingStats {
  std::size_t current_bytes = 0;          // bytes in live blocks
  std::size_t peak_bytes = 0;             // high-water mark of current_bytes
  std::size_t live_allocations = 0;       // blocks allocated and not yet freed
  std::size_t total_allocations = 0;      // successful allocate() calls, ever
  std::size_t total_deallocations = 0;    // deallocate() calls of non-null blocks
  std::size_t total_bytes_allocated = 0;  // bytes ever requested (growths included)
  std::size_t reallocations = 0;          // successful reallocate/grow/shrink calls
  std::size_t failed_requests = 0;        // requests the upstream refused
  std::size_t bad_deallocations = 0;      // kRecordAllocations only: frees of unknown blocks
                                          // (not forwarded) or with a wrong size (forwarded
                                          // with the recorded size)
};

/// One live block, as recorded in TrackingMode::kRecordAllocations.
///
/// Example: `for (const auto& r : tracker.live_blocks()) std::printf("%zu\n", r.size);`
struct AllocationRecord {
  const void* ptr = nullptr;
  std::size_t size = 0;
  std::size_t align = 0;
  std::uint64_t serial = 0;  // 1 for the first allocation through this tracker, then 2...
  std::chrono::steady_clock::time_point when{};  // when it was first allocated
};

/// Forwards every call to an upstream allocator and counts it; optionally records each
/// live block so that leak_report() can list what was never freed, with sizes and ages
/// (in time and in allocations since).
///
/// Thread-safe (a mutex around the counters and records), provided the upstream is.
/// The upstream must outlive the tracker.
///
/// Example:
/// ```
/// marrow::TrackingAllocator tracker(marrow::system_allocator(),
///                                   marrow::TrackingMode::kRecordAllocations);
/// marrow::Arena arena({}, tracker);  // see how much the arena takes from malloc
/// ...
/// std::printf("peak %zu bytes\n", tracker.stats().peak_bytes);
/// if (tracker.stats().live_allocations != 0) tracker.write_leak_report(stderr);
/// ```
class TrackingAllocator final : public Allocator {
 public:
  explicit TrackingAllocator(Allocator& upstream = system_allocator(),
                             TrackingMode mode = TrackingMode::kCounters) noexcept
      : upstream_(&upstream), mode_(mode) {}

  TrackingAllocator(const TrackingAllocator&) = delete;
  TrackingAllocator& operator=(const TrackingAllocator&) = delete;

  AllocResult allocate(std::size_t size, std::size_t align) noexcept override;
  void deallocate(void* p, std::size_t size, std::size_t align) noexcept override;
  AllocResult reallocate(void* p, std::size_t old_size, std::size_t new_size,
                         std::size_t align) noexcept override;
  AllocError grow_in_place(void* p, std::size_t old_size, std::size_t new_size,
                           std::size_t align) noexcept override;
  AllocError shrink_in_place(void* p, std::size_t old_size, std::size_t new_size,
                             std::size_t align) noexcept override;

  TrackingStats stats() const;
  TrackingMode mode() const noexcept { return mode_; }
  Allocator& upstream() const noexcept { return *upstream_; }

  /// The live blocks, oldest first; empty in TrackingMode::kCounters.
  std::vector<AllocationRecord> live_blocks() const;

  /// A human-readable report: the counters, then one line per live block (oldest first,
  /// at most `max_blocks` lines) with its size, alignment, address and age. In
  /// kCounters mode only the counters.
  std::string leak_report(std::size_t max_blocks = 50) const;
  /// leak_report() written to `out` (stderr, a file).
  void write_leak_report(std::FILE* out, std::size_t max_blocks = 50) const;

 private:
  struct Record {
    std::size_t size;
    std::size_t align;
    std::uint64_t serial;
    std::chrono::steady_clock::time_point when;
  };

  // Called with mutex_ held.
  void note_allocation(void* p, std::size_t size, std::size_t align);
  void note_resize(void* old_p, void* new_p, std::size_t old_size, std::size_t new_size);

  Allocator* upstream_;
  TrackingMode mode_;
  mutable std::mutex mutex_;  // guards stats_, records_ and serial_
  TrackingStats stats_;
  std::uint64_t serial_ = 0;
  std::unordered_map<const void*, Record> records_;
};

}  // namespace marrow
