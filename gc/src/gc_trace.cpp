// GcTraceWriter: Chrome trace-event JSON ("JSON object format", traceEvents array).
#include "gc_trace.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace marrow::internal {

GcTraceWriter::GcTraceWriter(const std::string& path, std::chrono::steady_clock::time_point origin)
    : file_(std::fopen(path.c_str(), "w")), path_(path), origin_(origin), pid_(int(getpid())) {
  if (file_ == nullptr)
    throw std::runtime_error(fmt::format("marrow: cannot create the GC trace file '{}': {}", path,
                                         std::strerror(errno)));
  std::fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n", file_);
  emit(fmt::format(R"j({{"name":"process_name","ph":"M","pid":{},"args":{{"name":"marrow"}}}})j",
                   pid_));
  emit(fmt::format(R"j({{"name":"thread_name","ph":"M","pid":{},"tid":1,"args":{{"name":"gc"}}}})j",
                   pid_));
}

GcTraceWriter::~GcTraceWriter() {
  std::fputs("\n]}\n", file_);
  if (std::fclose(file_) != 0)
    std::fprintf(stderr, "marrow: writing the GC trace file '%s' failed: %s\n", path_.c_str(),
                 std::strerror(errno));
}

void GcTraceWriter::emit(const std::string& json) {
  if (!first_) std::fputs(",\n", file_);
  first_ = false;
  std::fputs(json.c_str(), file_);
}

double GcTraceWriter::micros(std::chrono::steady_clock::time_point t) const {
  return double(std::chrono::duration_cast<std::chrono::nanoseconds>(t - origin_).count()) / 1e3;
}

void GcTraceWriter::record(const GcEvent& e, const HeapStats& s) {
  double start = micros(e.start);
  emit(fmt::format(
      R"j({{"name":"heap","ph":"C","pid":{},"ts":{:.3f},"args":{{"committed":{},"used":{}}}}})j",
      pid_, start, e.bytes_before, e.live_before));
  emit(fmt::format(
      R"j({{"name":"{} ({})","cat":"gc","ph":"X","pid":{},"tid":1,"ts":{:.3f},"dur":{:.3f},)j"
      R"j("args":{{"sequence":{},"kind":"{}","reason":"{}","committed_before":{},)j"
      R"j("committed_after":{},"used_before":{},"used_after":{},"promoted":{}}}}})j",
      to_string(e.kind), to_string(e.reason), pid_, start, double(e.pause.count()) / 1e3,
      e.sequence, to_string(e.kind), to_string(e.reason), e.bytes_before, e.bytes_after,
      e.live_before, e.live_after, e.promoted_bytes));
  for (std::size_t i = 0; i < e.span_count; ++i) {
    const PhaseSpan& p = e.spans[i];
    emit(fmt::format(
        R"j({{"name":"{}","cat":"gc.phase","ph":"X","pid":{},"tid":1,"ts":{:.3f},"dur":{:.3f},)j"
        R"j("args":{{"sequence":{}}}}})j",
        to_string(p.phase), pid_, start + double(p.start.count()) / 1e3,
        double(p.duration.count()) / 1e3, e.sequence));
  }
  for (std::size_t i = 0; i < e.worker_span_count; ++i) {
    const GcEvent::WorkerSpan& w = e.worker_spans[i];
    for (; named_workers_ <= w.worker; ++named_workers_)  // a track per worker, named once
      emit(fmt::format(
          R"j({{"name":"thread_name","ph":"M","pid":{},"tid":{},"args":{{"name":"gc worker {}"}}}})j",
          pid_, 2 + named_workers_, named_workers_));
    emit(fmt::format(
        R"j({{"name":"{} (worker {})","cat":"gc.worker","ph":"X","pid":{},"tid":{},"ts":{:.3f},)j"
        R"j("dur":{:.3f},"args":{{"sequence":{}}}}})j",
        to_string(w.phase), w.worker, pid_, 2 + w.worker, start + double(w.start.count()) / 1e3,
        double(w.duration.count()) / 1e3, e.sequence));
  }
  double end = start + double(e.pause.count()) / 1e3;
  emit(fmt::format(
      R"j({{"name":"heap","ph":"C","pid":{},"ts":{:.3f},"args":{{"committed":{},"used":{}}}}})j",
      pid_, end, e.bytes_after, e.live_after));
  emit(fmt::format(
      R"j({{"name":"pauses","ph":"C","pid":{},"ts":{:.3f},"args":{{"total_ms":{:.3f}}}}})j", pid_,
      end, double(s.total_pause.count()) / 1e6));
  std::fflush(file_);
}

}  // namespace marrow::internal
