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
  marker_.set_mark_bit(heap.next_mark_bit());
  heap.marking_exact_ = true;  // serial
  recorded_.clear();
  allocated_.clear();
  cycle_scanned_ = 0;
  set_active(true);
  heap.enter_phase(GcPhase::kRoots);
  marker_.mark_roots(heap);
}

void IncrementalMarking::mark_allocated() {
  // Black allocation: marked, never scanned. What a constructor stores into such an
  // object is recorded by the construction barrier, later stores by the marking barrier,
  // and young referents are scanned when promoted.
  for (auto [begin, end] : allocated_) {
    for (std::byte* p = begin; p < end;) {
      HeaderWord& h = *reinterpret_cast<HeaderWord*>(p);
      std::size_t size = header_size_bytes(h);
      if (!is_free_type(header_type(h)) && !(h & marker_.mark_bit())) {
        h = with_mark(h, marker_.mark_bit());
        Page::of(p)->live_bytes += size;
      }
      p += size;
    }
  }
  allocated_.clear();
}

std::size_t IncrementalMarking::take_pending(std::size_t max_bytes) {
  // Each recorded object is one push; what it costs to scan counts when it is scanned.
  std::size_t taken = 0;
  while (!recorded_.empty() && taken < max_bytes) {
    marker_.mark(recorded_.back());
    recorded_.pop_back();
    taken += kMinObjectSize;
  }
  return taken;
}

std::size_t IncrementalMarking::step(Heap& heap, std::size_t budget,
                                     std::chrono::steady_clock::time_point deadline) {
  MARROW_DCHECK(active_, "a marking step needs a cycle");
  heap.enter_phase(GcPhase::kMark);
  // Before any object is marked: one the marker reaches is then already counted live.
  mark_allocated();
  // Drain, then take a chunk of what was recorded since, and drain again: the mark stack
  // stays short. Taking counts towards the budget like scanning (a leaf object is marked,
  // never scanned).
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
  mark_allocated();
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
      if (h & kMarkBits) *reinterpret_cast<HeaderWord*>(p) = h & ~kMarkBits;
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
