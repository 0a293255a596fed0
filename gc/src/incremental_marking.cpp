// Incremental marking's cycle: start, steps and the remark's marking (docs/design.md,
// section 5a). The pacing (when a step runs and how much it scans) is the heap's
// (gc/src/allocation.cpp) and HeapPolicy's. Never allocates managed memory.
#include "marrow/gc/incremental_marking.hpp"

#include "marrow/gc/heap.hpp"

namespace marrow::internal {

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

void IncrementalMarking::take_pending() {
  for (auto [begin, end] : allocated_) {
    for (std::byte* p = begin; p < end;) {
      HeaderWord h = *reinterpret_cast<HeaderWord*>(p);
      if (!is_free_type(header_type(h))) marker_.mark(static_cast<Object*>(object_of(p)));
      p += header_size_bytes(h);
    }
  }
  allocated_.clear();
  // Marking may record more (it never does: marking runs no barrier), but the loop keeps
  // the rule simple: the vector is empty when this returns.
  std::vector<Object*> recorded;
  recorded.swap(recorded_);
  for (Object* o : recorded) marker_.mark(o);
  recorded.clear();
  if (recorded_.empty()) recorded_.swap(recorded);  // keep the capacity
}

std::size_t IncrementalMarking::step(Heap& heap, std::size_t budget,
                                     std::chrono::steady_clock::time_point deadline) {
  MARROW_DCHECK(active_, "a marking step needs a cycle");
  heap.enter_phase(GcPhase::kMark);
  take_pending();
  std::size_t scanned = marker_.drain_some(budget, deadline);
  cycle_scanned_ += scanned;
  return scanned;
}

std::size_t IncrementalMarking::finish(Heap& heap) {
  MARROW_DCHECK(active_, "the remark needs a cycle");
  heap.enter_phase(GcPhase::kRoots);
  marker_.mark_roots(heap);
  heap.enter_phase(GcPhase::kMark);
  take_pending();
  cycle_scanned_ += marker_.drain_some(~std::size_t{0});
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
