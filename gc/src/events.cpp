// Events and statistics: the pause clock and phase spans of each collection, folding it
// into HeapStats, and reporting it to the GC log, the trace timeline and listeners; the
// refreshed statistics the runtime hands out. Reporting never runs inside a collection.
#include "marrow/gc/events.hpp"

#include <algorithm>
#include <cstdio>

#include "gc_trace.hpp"
#include "marrow/gc/heap.hpp"

namespace marrow::internal {

GcEvents::GcEvents() = default;
GcEvents::~GcEvents() = default;

void GcEvents::begin(std::size_t committed, const SpaceUsage& usage, GcPhase first) {
  GcEvent& e = event_;
  e = GcEvent{};
  e.start = std::chrono::steady_clock::now();
  phase_start_ = e.start;
  e.bytes_before = committed;
  for (std::size_t i = 0; i < kSpaceCount; ++i) {
    e.space_before[i] = usage[i].used;
    e.live_before += usage[i].used;
  }
  phase_ = first;
}

void GcEvents::enter_phase(GcPhase phase) {
  auto now = std::chrono::steady_clock::now();
  auto spent = std::chrono::duration_cast<std::chrono::nanoseconds>(now - phase_start_);
  GcEvent& e = event_;
  if (spent.count() > 0) {
    e.phases[std::size_t(phase_)] += spent;
    PhaseSpan* last = e.span_count == 0 ? nullptr : &e.spans[e.span_count - 1];
    if (last != nullptr && (last->phase == phase_ || e.span_count == GcEvent::kMaxSpans)) {
      last->duration += spent;  // the same phase again, or out of room: extend the last span
    } else {
      e.spans[e.span_count++] = {
          phase_, std::chrono::duration_cast<std::chrono::nanoseconds>(phase_start_ - e.start),
          spent};
    }
  }
  phase_ = phase;
  phase_start_ = now;
}

void GcEvents::record_workers(GcPhase phase, const std::vector<std::chrono::nanoseconds>& busy,
                              const std::vector<std::chrono::steady_clock::time_point>& started) {
  if (busy.size() < 2) return;
  for (std::size_t w = 0; w < busy.size() && event_.worker_span_count < GcEvent::kMaxWorkerSpans;
       ++w) {
    auto from = std::chrono::duration_cast<std::chrono::nanoseconds>(started[w] - event_.start);
    event_.worker_spans[event_.worker_span_count++] = {phase, unsigned(w), from, busy[w]};
  }
  event_.gc_threads = std::max(event_.gc_threads, unsigned(busy.size()));
  auto [idlest, busiest] = std::minmax_element(busy.begin(), busy.end());
  event_.worker_busiest[std::size_t(phase)] += *busiest;
  event_.worker_idlest[std::size_t(phase)] += *idlest;
}

void GcEvents::finish(GcKind kind, GcReason reason, std::size_t promoted, std::size_t committed,
                      const SpaceUsage& usage) {
  enter_phase(GcPhase::kVerify);  // closes the last phase; nothing is charged after this
  GcEvent& e = event_;
  e.sequence = ++sequence_;
  e.kind = kind;
  e.reason = reason;
  e.pause = std::chrono::duration_cast<std::chrono::nanoseconds>(phase_start_ - e.start);
  e.bytes_after = committed;
  e.promoted_bytes = promoted;
  for (std::size_t i = 0; i < kSpaceCount; ++i) {
    e.space_after[i] = usage[i].used;
    e.live_after += usage[i].used;
  }

  HeapStats& s = stats_;
  bool increment =
      kind == GcKind::kMarkStart || kind == GcKind::kMarkStep || kind == GcKind::kSweepStep;
  if (kind == GcKind::kMinor)
    ++s.minor_collections;
  else if (increment)
    ++s.marking_increments;
  else
    ++s.major_collections;
  if (kind == GcKind::kCompact) ++s.compactions;
  if (e.incremental) ++s.marking_cycles;
  ++s.collections_by_reason[std::size_t(reason)];
  s.total_pause += e.pause;
  s.last_pause = e.pause;
  s.max_pause = std::max(s.max_pause, e.pause);
  s.pauses.record(e.pause);
  (kind == GcKind::kMinor ? s.minor_pauses
   : increment            ? s.increment_pauses
                          : s.major_pauses)
      .record(e.pause);
  for (std::size_t p = 0; p < kGcPhaseCount; ++p) s.phase_total[p] += e.phases[p];
  s.peak_heap_bytes = std::max({s.peak_heap_bytes, e.bytes_before, e.bytes_after});
  // What each space holds right after the collection. A minor collection frees nothing in
  // old and large space, so there this is the last major's live size plus what minor
  // collections promoted since.
  for (std::size_t i = 0; i < kSpaceCount; ++i) s.spaces[i].live_after_gc = usage[i].used;
}

void GcEvents::publish(int trace_gc, std::size_t pretenure_window, const HeapStats* fresh) {
  GcEvent& e = event_;
  e.pretenure_window = pretenure_window;
  if (trace_gc > 0) std::fprintf(stderr, "%s\n", format_event(e, trace_gc).c_str());
  if (trace_writer_ && fresh != nullptr) trace_writer_->record(e, *fresh);
  if (!listeners_.empty()) {
    // Copies: a listener may register or remove listeners, or even collect, which would
    // overwrite event_ before the next listener ran.
    const GcEvent event = e;
    auto copy = listeners_;
    for (auto& [id, fn] : copy) fn(event);
  }
}

std::uint64_t GcEvents::add_listener(std::function<void(const GcEvent&)> listener) {
  std::uint64_t id = next_listener_id_++;
  listeners_.emplace_back(id, std::move(listener));
  return id;
}

bool GcEvents::remove_listener(std::uint64_t id) {
  auto it = std::find_if(listeners_.begin(), listeners_.end(),
                         [&](const auto& entry) { return entry.first == id; });
  if (it == listeners_.end()) return false;
  listeners_.erase(it);
  return true;
}

void GcEvents::start_trace(const std::string& path) {
  // A trace in progress is finished by its destructor, once the new file is open.
  trace_writer_ = std::make_unique<GcTraceWriter>(path, created_);
}

void GcEvents::stop_trace() { trace_writer_.reset(); }

// ---- The heap's side: bracketing collections, statistics ---------------------------------

void Heap::begin_collection(bool verify) {
  verify = verify && config_.verify_heap;
  pretenuring_.stop();  // collections see old space walkable and eden as eden
  events_.begin(committed_bytes(), space_usage(), verify ? GcPhase::kVerify : GcPhase::kRoots);
  if (verify) {
    verify_heap();
    enter_phase(GcPhase::kRoots);
  }
  in_gc_ = true;
  set_limit();  // closed: trace functions and root sources that allocate reach the check
}

void Heap::end_collection(GcKind kind, GcReason reason, std::size_t promoted) {
  in_gc_ = false;
  if (config_.verify_heap && kind != GcKind::kMarkStep && kind != GcKind::kSweepStep) {
    enter_phase(GcPhase::kVerify);
    verify_heap();
  }
  events_.finish(kind, reason, promoted, committed_bytes(), space_usage());
  pretenuring_.resume();
  set_limit();
  std::size_t window = pretenuring_.active() ? pretenuring_.left() : 0;
  events_.publish(config_.trace_gc, window, events_.tracing() ? &stats() : nullptr);
}

const HeapStats& Heap::stats() {
  pretenuring_.sync();
  HeapStats& s = events_.stats();
  s.heap_bytes = committed_bytes();
  s.peak_heap_bytes = std::max(s.peak_heap_bytes, s.heap_bytes);
  s.old_bytes = old_.allocated_bytes();
  s.large_bytes = large_.object_bytes();
  s.live_bytes = s.old_bytes + s.large_bytes + s.immortal_bytes;
  s.pages_returned = provider_.pages_returned_to_os();
  s.bytes_allocated = other_allocated_ + eden_allocated_before_ + s.bytes_pretenured +
                      std::size_t(pretenuring_.eden_top() - nursery_.eden_start());
  SpaceUsage usage = space_usage();
  for (std::size_t i = 0; i < kSpaceCount; ++i) {
    s.spaces[i].capacity = usage[i].capacity;
    s.spaces[i].used = usage[i].used;
  }
  s.uptime = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                                  events_.created());
  s.allocation_rate =
      s.uptime.count() > 0 ? double(s.bytes_allocated) / (double(s.uptime.count()) / 1e9) : 0.0;
  s.next_major_trigger = policy_.next_major_trigger();
  s.old_allocation_rate = policy_.old_allocation_rate();
  s.collection_speed = policy_.collection_speed();
  s.eden_bytes = nursery_.eden_capacity();
  s.pause_p50 = s.pauses.percentile(0.50);
  s.pause_p90 = s.pauses.percentile(0.90);
  s.pause_p99 = s.pauses.percentile(0.99);
  return s;
}

SpaceUsage Heap::space_usage() const {
  SpaceUsage u{};
  auto& eden = u[std::size_t(Space::kEden)];
  eden.capacity = nursery_.eden_capacity();
  eden.used = std::size_t(pretenuring_.eden_top() - nursery_.eden_start());
  auto& survivor = u[std::size_t(Space::kSurvivor)];
  survivor.capacity = 2 * nursery_.survivor_capacity();
  survivor.used = nursery_.from_space().used();
  auto& old = u[std::size_t(Space::kOld)];
  old.capacity = old_.pages().size() * kPageSize;
  old.used = old_.allocated_bytes();
  auto& large = u[std::size_t(Space::kLarge)];
  large.capacity = large_.run_bytes();
  large.used = large_.object_bytes();
  auto& immortal = u[std::size_t(Space::kImmortal)];
  immortal.capacity = immortal_.pages().size() * kPageSize;
  immortal.used = events_.stats().immortal_bytes;
  return u;
}

void Heap::start_gc_trace(const std::string& path) {
  mutator_.check_thread();
  events_.start_trace(path);
}

void Heap::stop_gc_trace() {
  mutator_.check_thread();
  events_.stop_trace();
}

}  // namespace marrow::internal
