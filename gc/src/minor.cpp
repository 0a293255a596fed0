// Minor collection: Cheney-style evacuation of eden and the from-space into the to-space
// or, once old enough (or when asked to promote everything), into old space
// (docs/design.md, section 4). Cost is proportional to survivors.
// Relies on: invariant R (every old-to-young reference is remembered); invariant S
// (remembered slots are plain words); a young object is reachable only through roots,
// remembered slots or objects, or other young objects. Never allocates managed memory or
// throws.
#include <cstring>

#include "marrow/gc/heap.hpp"
#include "marrow/gc/objects.hpp"
#include "marrow/gc/weak_processing.hpp"

namespace marrow::internal {

/// After evacuation the header of the old copy is a forwarding word (bit 0 set).
class MinorCollector final : public Tracer {
 public:
  MinorCollector(Heap& heap, bool promote_all)
      : Tracer(heap.nursery_.base(), heap.nursery_.span()),
        heap_(heap),
        nursery_(heap.nursery_),
        to_(heap.nursery_.to_space()),
        promote_all_(promote_all),
        tenure_age_(heap.config_.tenure_age) {
    to_.top = to_.start;
  }

  /// Roots, transitive evacuation, weak processing, then resurrection of dead
  /// finalizable young objects.
  void run() {
    heap_.enter_phase(GcPhase::kRoots);
    heap_.roots_.trace(heap_.mutator_.handles, *this);
    for (Object*& p : heap_.finalization_.queue()) visit(p);
    heap_.remembered_.process_slots(nursery_, [&](Object* p) { return evacuate(p); });
    std::vector<Object*> remembered = heap_.remembered_.take_objects();
    for (Object* o : remembered) retrace_remembered(o);
    heap_.enter_phase(GcPhase::kEvacuate);
    drain();

    heap_.enter_phase(GcPhase::kWeak);
    MinorOutcome outcome(nursery_);
    process_weak_references(heap_, outcome);
    // Remembered objects stay remembered while they still point into the nursery.
    for (Object* o : pending_remember_) {
      NurseryProbe probe(nursery_);
      trace_object(o, probe);
      if (probe.found) heap_.remembered_.remember_object(o);
    }
    finalize_dead_young(outcome);
  }

  std::size_t promoted_bytes() const { return promoted_; }
  std::size_t survived_bytes() const { return survived_; }

 protected:
  Object* visit_reference(Object* p, void*, const char*) override { return evacuate(p); }

 private:
  Object* evacuate(Object* p) {
    HeaderWord* hp = header_of(p);
    HeaderWord h = *hp;
    if (is_forwarded(h)) {
      Object* q = forwardee(p);
      if (nursery_.contains(q)) found_young_ = true;
      return q;
    }
    if (to_.contains(p)) {  // already a copy
      found_young_ = true;
      return p;
    }
    std::size_t size = header_size_bytes(h);
    unsigned age = header_age(h) + 1;
    std::byte* dst;
    if (!promote_all_ && age <= tenure_age_ && std::size_t(to_.end - to_.top) >= size) {
      dst = to_.top;
      to_.top += size;
      h = with_age(h, age);
      survived_ += size;
      found_young_ = true;
    } else {
      dst = heap_.old_.allocate(size);
      MARROW_CHECK(dst != nullptr, "the OS refused a page while promoting survivors");
      h = with_age(h, 0);
      promoted_ += size;
      promoted_list_.push_back(reinterpret_cast<HeaderWord*>(dst));
    }
    std::memcpy(dst, hp, size);
    *reinterpret_cast<HeaderWord*>(dst) = h;
    *hp = reinterpret_cast<HeaderWord>(dst) | kForwardedBit;
    return static_cast<Object*>(object_of(dst));
  }

  /// Traces a promoted (or remembered) object; true when it still points young.
  bool trace_for_young(Object* o) {
    found_young_ = false;
    trace_object(o, *this);
    return found_young_;
  }

  void retrace_remembered(Object* o) {
    // Re-remembered after the drain decides: objects whose referents get promoted drop out.
    if (trace_for_young(o)) pending_remember_.push_back(o);
  }

  void drain() {
    for (;;) {
      bool progress = false;
      while (scan_ < to_.top) {
        auto* o = static_cast<Object*>(object_of(scan_));
        scan_ += header_size_bytes(*reinterpret_cast<HeaderWord*>(scan_));
        trace_object(o, *this);
        progress = true;
      }
      while (!promoted_list_.empty()) {
        auto* o = static_cast<Object*>(object_of(promoted_list_.back()));
        promoted_list_.pop_back();
        // Promotion copies slots without the barrier: keep invariant R by remembering.
        if (trace_for_young(o)) heap_.remembered_.remember_object(o);
        progress = true;
      }
      if (!progress) return;
    }
  }

  /// Survivors follow their copy; the dead are evacuated too, resurrected (their
  /// references nulled, so nothing else needs keeping or scanning) and queued.
  void finalize_dead_young(const MinorOutcome& outcome) {
    Finalization& f = heap_.finalization_;
    std::vector<Object*> young;
    young.swap(f.young());
    for (Object* o : young) {
      if (!outcome.is_alive(o)) {
        f.resurrect(evacuate(o));
        continue;
      }
      Object* q = forwardee(o);
      (nursery_.contains(q) ? f.young() : f.old()).push_back(q);
    }
    promoted_list_.clear();  // resurrected objects need no scanning: their slots are null
  }

  struct NurseryProbe final : Tracer {
    explicit NurseryProbe(const Nursery& n) : Tracer(n.base(), n.span()) {}
    Object* visit_reference(Object* p, void*, const char*) override {
      found = true;
      return p;
    }
    bool found = false;
  };

  Heap& heap_;
  Nursery& nursery_;
  BumpRegion& to_;
  std::byte* scan_ = to_.start;
  bool promote_all_;
  unsigned tenure_age_;
  bool found_young_ = false;
  std::vector<HeaderWord*> promoted_list_;
  std::vector<Object*> pending_remember_;
  std::size_t promoted_ = 0;
  std::size_t survived_ = 0;
};

std::size_t Heap::evacuate_nursery(bool promote_all) {
  finalization_.begin_cycle();
  MinorCollector collector(*this, promote_all);
  collector.run();
  std::size_t promoted = collector.promoted_bytes();
  events_.stats().bytes_promoted += promoted;
  events_.stats().bytes_survived += collector.survived_bytes();
#if defined(MARROW_DEBUG)
  std::memset(nursery_.from_space().start, 0xDB, nursery_.from_space().used());
#endif
  nursery_.from_space().top = nursery_.from_space().start;
  nursery_.flip();
  reset_eden();
  return promoted;
}

void Heap::collect_minor(GcReason reason, bool promote_all) {
  begin_collection();
  const GcEvent& e = events_.current();
  std::size_t young_before =
      e.space_before[std::size_t(Space::kEden)] + e.space_before[std::size_t(Space::kSurvivor)];
  HeapStats& s = events_.stats();
  std::size_t copied_before = s.bytes_promoted + s.bytes_survived;
  std::size_t promoted = evacuate_nursery(promote_all);
  if (reason == GcReason::kAllocation)
    pretenuring_.adapt(config_.pretenure_survival,
                       s.bytes_promoted + s.bytes_survived - copied_before, young_before);
  end_collection(GcKind::kMinor, reason, promoted);
}

}  // namespace marrow::internal
