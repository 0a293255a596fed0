// Major collection: the whole heap, in the steps of docs/design.md, section 5. The
// steps' work lives in their own files (marking, finalization, weak processing,
// sweeping, compaction); the decisions between them are HeapPolicy's. Never allocates
// managed memory or throws.
#include "marrow/gc/compaction.hpp"
#include "marrow/gc/heap.hpp"
#include "marrow/gc/marking.hpp"
#include "marrow/gc/sweeping.hpp"
#include "marrow/gc/weak_processing.hpp"

namespace marrow::internal {

class MajorCollector {
 public:
  MajorCollector(Heap& heap, GcReason reason) : heap_(heap), reason_(reason) {}

  /// Returns the kind of collection it became (kMajor, or kCompact).
  GcKind run(bool force_compact) {
    Heap& h = heap_;
    auto started = HeapPolicy::Clock::now();
    // 0. What the last lazy sweep left: marking needs every dead object gone (one left
    //    unswept through two markings would carry the new marking's bit).
    h.enter_phase(GcPhase::kSweep);
    h.lazy_sweep_.finish(h);
    h.enter_phase(GcPhase::kRoots);
    // A cycle's own end (the remark) keeps what it marked, objects that died since it
    // started among them; every other major collection (requested, at the heap limit, to
    // shrink) must find all garbage: the cycle is abandoned, and a full marking follows.
    bool remark =
        h.marking_.active() && (reason_ == GcReason::kHeapGrowth || reason_ == GcReason::kStress ||
                                reason_ == GcReason::kIdle);
    if (h.marking_.active() && !remark) {
      h.enter_phase(GcPhase::kMark);
      h.marking_.abandon(h);
    }
    // 1. Empty the nursery: afterwards nothing is young, so nothing is remembered. When
    //    an incremental cycle runs, what this promotes is marked and scanned (it may hold
    //    the only references to old objects the cycle has not marked).
    promoted_ = h.evacuate_nursery(true);
    std::size_t old_generation = h.old_generation_bytes();  // what marking walks into
    h.remembered_.clear();
    // 2. Mark, or finish the cycle's marking (the remark).
    h.enter_phase(GcPhase::kRoots);
    if (remark) {
      h.mark_stack_overflows_ += h.marking_.finish(h);
      h.events_.current().incremental = true;
      h.schedule_marking();
    } else {
      mark();
    }
    if (h.config_.verify_heap) {
      h.enter_phase(GcPhase::kVerify);
      h.verify_marking();
      h.enter_phase(GcPhase::kMark);
    }
    // 3. Finalizers: dead finalizable objects are kept for theirs, their references nulled.
    h.enter_phase(GcPhase::kWeak);
    queue_dead_finalizable();
    // 4. Sweep, or compact: plan where objects go, then weak processing (it must see the
    //    new addresses), then move. Weak processing sees what the finalizers keep as dead.
    OldSpaceCensus census = take_census();
    bool compact = h.policy_.should_compact(force_compact, census);
    std::size_t old_before = h.old_.allocated_bytes();
    h.provider_.set_reserve(~std::size_t{0});  // trimmed below, once the next trigger is known
    MajorOutcome outcome(h.finalization_, h.mark_bit());
    std::size_t page_tails;
    std::size_t old_live;  // exact, from the sweep or the compaction
    if (compact) {
      h.enter_phase(GcPhase::kCompact);
      Compactor compactor(h);
      compactor.plan();
      h.enter_phase(GcPhase::kWeak);
      process_weak_references(h, outcome);
      h.enter_phase(GcPhase::kCompact);
      compactor.update_references();
      page_tails = compactor.move();
      old_live = compactor.live_bytes();
      h.enter_phase(GcPhase::kSweep);
    } else if (remark && h.config_.heap_limit_bytes == 0) {
      // The remark of an incremental cycle sweeps lazily (under a heap limit the exact
      // free-list figures the limit works from come from an eager sweep).
      process_weak_references(h, outcome);
      h.enter_phase(GcPhase::kSweep);
      old_live = h.lazy_sweep_.start(h);
      h.marking_pretenured_charged_ = h.events_.stats().bytes_pretenured;  // paces sweep steps
      page_tails = 0;
    } else {
      process_weak_references(h, outcome);
      h.enter_phase(GcPhase::kSweep);
      Sweeper sweeper(h);
      sweeper.sweep_old_space();
      page_tails = sweeper.page_tails();
      old_live = sweeper.live_bytes();
    }
    Sweeper(h).sweep_large_objects();
    // 5. Size the next trigger from what survived; keep pages for the growth it allows.
    h.events_.stats().bytes_freed += old_before > old_live ? old_before - old_live : 0;
    h.old_.set_allocated_bytes(old_live);
    std::size_t free_bytes = h.old_.free_list_bytes() + h.lazy_sweep_.unswept_free_bytes();
    h.policy_.record_sweep(compact, free_bytes, page_tails);
    std::size_t live = old_live + h.large_.object_bytes();
    MajorCost cost;
    cost.old_growth = old_generation - std::min(old_generation, h.policy_.live_after_major());
    cost.mutator_time = h.policy_.mutator_time_since_major(h.events_.current().start);
    cost.marked = live;
    cost.duration =
        std::chrono::duration_cast<std::chrono::nanoseconds>(HeapPolicy::Clock::now() - started);
    h.policy_.record_major_cost(cost);
    h.policy_.after_major(live, h.nursery_.span());
    std::size_t keep = h.policy_.pages_to_keep(reason_, free_bytes);
    h.provider_.set_reserve(keep);
    h.provider_.trim(keep);
    h.events_.stats().fragmentation = h.policy_.fragmentation(free_bytes, old_live);
    h.schedule_marking();  // sweep steps, when the sweep is lazy
    return compact ? GcKind::kCompact : GcKind::kMajor;
  }

  std::size_t promoted_bytes() const { return promoted_; }

 private:
  void mark() {
    for (Page* p : heap_.old_.pages()) p->live_bytes = 0;
    for (Page* p : heap_.large_.runs()) p->live_bytes = 0;
    HeaderWord mark_bit = heap_.next_mark_bit();
    Parallelism& parallelism = heap_.parallelism_;
    unsigned threads = parallelism.threads_for(ParallelPhase::kMark);
    heap_.marking_exact_ = threads == 1;
    auto started = std::chrono::steady_clock::now();
    if (threads > 1) {
      heap_.mark_stack_overflows_ +=
          mark_all_parallel(heap_, heap_.workers_, heap_.mark_stack_limit_);
    } else {
      Marker marker(heap_.mark_stack_limit_, mark_bit);
      heap_.mark_stack_overflows_ += marker.mark_all(heap_);
    }
    std::size_t marked = 0;
    for (Page* p : heap_.old_.pages()) marked += p->live_bytes;
    for (Page* p : heap_.large_.runs()) marked += p->live_bytes;
    parallelism.record(ParallelPhase::kMark, threads, marked,
                       std::chrono::steady_clock::now() - started);
  }

  void queue_dead_finalizable() {
    Finalization& f = heap_.finalization_;
    std::vector<Object*> old;
    old.swap(f.old());
    for (Object* o : old) {
      if (is_marked(o, heap_.mark_bit())) {
        f.old().push_back(o);
        continue;
      }
      HeaderWord& h = *header_of(o);
      h = with_mark(h, heap_.mark_bit());  // it survives this collection
      Page::of(o)->live_bytes += header_size_bytes(h);
      f.resurrect(o);
    }
    f.end_resurrection();
  }

  OldSpaceCensus take_census() const {
    OldSpaceCensus c;
    c.free_list_bytes = heap_.old_.free_list_bytes();
    for (Page* p : heap_.old_.pages()) {
      c.live_bytes += p->live_bytes;
      if (p->live_bytes != 0) {
        ++c.occupied_pages;
        c.occupied_area += kPageSize - Page::header_bytes(kPageSize);
      }
    }
    return c;
  }

  Heap& heap_;
  GcReason reason_;
  std::size_t promoted_ = 0;
};

void Heap::collect_major(GcReason reason, bool force_compact) {
  begin_collection();
  MajorCollector collector(*this, reason);
  GcKind kind = collector.run(force_compact);
  if (kind == GcKind::kCompact && !force_compact) reason = GcReason::kFragmentation;
  end_collection(kind, reason, collector.promoted_bytes());
}

}  // namespace marrow::internal
