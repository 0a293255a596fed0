// Incremental marking's cycle: start, steps and the remark's marking (docs/design.md,
// section 5a). The pacing (when a step runs and how much it scans) is the heap's
// (gc/src/allocation.cpp) and HeapPolicy's. Never allocates managed memory.
#include "marrow/gc/incremental_marking.hpp"

#include <algorithm>
#include <chrono>

#include "marrow/gc/heap.hpp"

namespace marrow::internal {

namespace {
/// Bytes of recorded or allocated objects marked between drains of the mark stack.
constexpr std::size_t kPendingChunk = std::size_t{64} << 10;
}  // namespace

IncrementalMarking::~IncrementalMarking() { set_active(false); }

void IncrementalMarking::set_active(bool on) {
  if (on == active_) return;
  active_ = on;
  if (on)
    g_young.marking.fetch_add(1, std::memory_order_relaxed);
  else
    g_young.marking.fetch_sub(1, std::memory_order_relaxed);
}

void IncrementalMarking::start(Heap& heap) {
  MARROW_DCHECK(
      heap.mutator_.top == heap.nursery_.eden_start() && heap.nursery_.from_space().used() == 0,
      "a marking cycle starts with an empty nursery");
  for (Page* p : heap.old_.pages()) p->live_bytes = 0;
  for (Page* p : heap.large_.runs()) p->live_bytes = 0;
  marker_.reset();
  recorded_.clear();
  allocated_.clear();
  cycle_scanned_ = 0;
  set_active(true);
  heap.enter_phase(GcPhase::kRoots);
  marker_.mark_roots(heap);
}

std::size_t IncrementalMarking::take_pending(std::size_t max_bytes) {
  // Recorded objects first (each is one push), then allocated ranges from the back, a
  // range's objects marked front to back so a partly taken range keeps its tail.
  std::size_t taken = 0;
  while (!recorded_.empty() && taken < max_bytes) {
    marker_.mark(recorded_.back());
    recorded_.pop_back();
    taken += kMinObjectSize;
  }
  while (!allocated_.empty() && taken < max_bytes) {
    auto& [begin, end] = allocated_.back();
    while (begin < end && taken < max_bytes) {
      HeaderWord h = *reinterpret_cast<HeaderWord*>(begin);
      if (!is_free_type(header_type(h))) marker_.mark(static_cast<Object*>(object_of(begin)));
      begin += header_size_bytes(h);
      taken += header_size_bytes(h);
    }
    if (begin >= end) allocated_.pop_back();
  }
  return taken;
}

std::size_t IncrementalMarking::step(Heap& heap, std::size_t budget,
                                     std::chrono::steady_clock::time_point deadline) {
  MARROW_DCHECK(active_, "a marking step needs a cycle");
  heap.enter_phase(GcPhase::kMark);
  // Drain, then take a chunk of what was recorded or allocated since, and drain again:
  // the mark stack stays short and a large pretenured range is spread over steps. Taking
  // counts towards the budget like scanning (a leaf object is marked, never scanned).
  std::size_t scanned = 0;
  for (;;) {
    scanned += marker_.drain_some(budget - std::min(budget, scanned), deadline);
    if (!marker_.stack_empty() || scanned >= budget) break;  // the budget or the clock
    if (pending_empty() || std::chrono::steady_clock::now() >= deadline) break;
    scanned += take_pending(std::min(kPendingChunk, budget - scanned));
  }
  cycle_scanned_ += scanned;
  return scanned;
}

std::size_t IncrementalMarking::finish(Heap& heap) {
  MARROW_DCHECK(active_, "the remark needs a cycle");
  heap.enter_phase(GcPhase::kRoots);
  marker_.mark_roots(heap);
  heap.enter_phase(GcPhase::kMark);
  do {
    take_pending(kPendingChunk);
    cycle_scanned_ += marker_.drain_some(~std::size_t{0});
  } while (!pending_empty());
  std::size_t rescans = marker_.rescan_overflow(heap);
  set_active(false);
  return rescans;
}

void IncrementalMarking::abandon(Heap& heap) {
  MARROW_DCHECK(active_, "only a running cycle is abandoned");
  auto clear = [](Page* page) {
    OldSpace::walk_page(page, [](std::byte* p, HeaderWord h) {
      if (h & kMarkBit) *reinterpret_cast<HeaderWord*>(p) = h & ~kMarkBit;
    });
  };
  for (Page* page : heap.old_.pages()) clear(page);
  for (Page* run : heap.large_.runs()) clear(run);
  marker_.reset();
  recorded_.clear();
  allocated_.clear();
  set_active(false);
}

}  // namespace marrow::internal
