// Events and statistics: the pause clock and per-phase accounting of the collection in
// progress, the cumulative HeapStats, and where each finished collection is reported
// (the GC log, the trace-event timeline, listeners). Reporting happens after the
// collection has finished; listeners may collect again.
#pragma once
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "marrow/stats.hpp"

namespace marrow::internal {

class GcTraceWriter;  // gc/src/gc_trace.hpp

using SpaceUsage = std::array<SpaceStats, kSpaceCount>;

class GcEvents {
 public:
  GcEvents();
  ~GcEvents();

  HeapStats& stats() { return stats_; }
  const HeapStats& stats() const { return stats_; }
  const GcEvent& current() const { return event_; }
  GcEvent& current() { return event_; }
  std::chrono::steady_clock::time_point created() const { return created_; }

  /// Starts the pause clock for a collection of a heap with `committed` bytes and
  /// `usage` per space; `first` is the phase charged first (kVerify or kRoots).
  void begin(std::size_t committed, const SpaceUsage& usage, GcPhase first);
  /// Charges the time since the last switch to the phase that ran, then switches.
  void enter_phase(GcPhase phase);
  /// Adds the workers' busy times of a parallel part of `phase` (busiest, idlest).
  void record_workers(GcPhase phase, const std::vector<std::chrono::nanoseconds>& busy,
                      const std::vector<std::chrono::steady_clock::time_point>& started);
  /// Stops the clock and folds the event into the statistics.
  void finish(GcKind kind, GcReason reason, std::size_t promoted, std::size_t committed,
              const SpaceUsage& usage);
  /// Reports the finished event: log line (trace_gc > 0), timeline (with `fresh_stats`,
  /// given when tracing), listeners.
  void publish(int trace_gc, std::size_t pretenure_window, const HeapStats* fresh_stats);

  std::uint64_t add_listener(std::function<void(const GcEvent&)> listener);
  bool remove_listener(std::uint64_t id);
  /// Throws std::runtime_error naming the path when it cannot be opened.
  void start_trace(const std::string& path);
  void stop_trace();
  bool tracing() const { return trace_writer_ != nullptr; }

 private:
  HeapStats stats_;
  std::chrono::steady_clock::time_point created_ = std::chrono::steady_clock::now();
  GcEvent event_;  ///< the collection in progress, or the last one
  GcPhase phase_ = GcPhase::kRoots;
  std::chrono::steady_clock::time_point phase_start_;
  std::unique_ptr<GcTraceWriter> trace_writer_;
  std::uint64_t sequence_ = 0;
  std::vector<std::pair<std::uint64_t, std::function<void(const GcEvent&)>>> listeners_;
  std::uint64_t next_listener_id_ = 1;
};

}  // namespace marrow::internal
