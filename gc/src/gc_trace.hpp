// The GC timeline writer: collections and their phases as Chrome trace-event JSON (the
// format chrome://tracing and Perfetto open). Private to the collector.
#pragma once
#include <chrono>
#include <cstdio>
#include <string>

#include "marrow/stats.hpp"

namespace marrow::internal {

/// Streams one trace file. Each collection becomes a complete event ("ph":"X") on the
/// "gc" track with its phases nested inside, plus counter events ("ph":"C") for the heap's
/// committed and in-use bytes. The file is valid JSON once the writer is destroyed.
class GcTraceWriter {
 public:
  /// Throws std::runtime_error naming the path when it cannot be created.
  GcTraceWriter(const std::string& path, std::chrono::steady_clock::time_point origin);
  ~GcTraceWriter();
  GcTraceWriter(const GcTraceWriter&) = delete;
  GcTraceWriter& operator=(const GcTraceWriter&) = delete;

  void record(const GcEvent& event, const HeapStats& stats);

 private:
  void emit(const std::string& json);
  double micros(std::chrono::steady_clock::time_point t) const;

  std::FILE* file_;
  std::string path_;
  std::chrono::steady_clock::time_point origin_;
  bool first_ = true;
  unsigned named_workers_ = 0;  ///< worker tracks (tid 2 + worker) named so far
  int pid_;
};

}  // namespace marrow::internal
