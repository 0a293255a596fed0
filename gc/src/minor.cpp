// Minor collection: Cheney-style evacuation of eden and the from-space into the
// to-space or, once old enough (or when asked to promote everything), into old space.
// Cost is proportional to survivors. Must never allocate managed memory or throw.
#include <chrono>
#include <cstring>

#include "marrow/gc/heap.hpp"

namespace marrow::internal {

/// Invariants this phase relies on:
/// - every old-to-young reference is in a remembered slot (page bitmap) or a remembered
///   object (write barrier, plus promoted objects found holding young references);
/// - a young object is reachable only through roots, remembered old slots or other young
///   objects, so what is not reached from those is garbage;
/// - after evacuation the header of the old copy is a forwarding word (bit 0 set).
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

  void run() {
    // Roots.
    heap_.enter_phase(GcPhase::kRoots);
    heap_.trace_roots(*this);
    for (Object*& p : heap_.pending_finalizers_) visit(p);
    process_remembered_slots();
    process_remembered_objects();
    heap_.enter_phase(GcPhase::kEvacuate);
    drain();
    heap_.enter_phase(GcPhase::kWeak);
    process_weaks();
    heap_.enter_phase(GcPhase::kEvacuate);
    drain();  // objects resurrected for finalization are not scanned, but stay correct
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
      Object* q = static_cast<Object*>(object_of(forwardee_header(h)));
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

  static void trace_object(HeaderWord* header, Tracer& t) {
    if (auto trace = type_info(header_type(*header)).trace)
      trace(static_cast<Object*>(object_of(header)), t);
  }

  void drain() {
    for (;;) {
      bool progress = false;
      while (scan_ < to_.top) {
        auto* hp = reinterpret_cast<HeaderWord*>(scan_);
        scan_ += header_size_bytes(*hp);
        trace_object(hp, *this);
        progress = true;
      }
      while (!promoted_list_.empty()) {
        HeaderWord* hp = promoted_list_.back();
        promoted_list_.pop_back();
        found_young_ = false;
        trace_object(hp, *this);
        if (found_young_) heap_.remember_object(static_cast<Object*>(object_of(hp)));
        progress = true;
      }
      if (!progress) return;
    }
  }

  void process_remembered_slots() {
    std::vector<Page*> pages;
    pages.swap(heap_.remembered_pages_);
    for (Page* page : pages) {
      page->in_remembered_list = false;
      std::uint64_t* bits = page->remembered_bits();
      bool any = false;
      for (std::size_t w = 0, n = page->remembered_words(); w < n; ++w) {
        std::uint64_t word = bits[w];
        while (word != 0) {
          unsigned b = unsigned(__builtin_ctzll(word));
          word &= word - 1;
          auto* slot = reinterpret_cast<std::uintptr_t*>(page->base() + (w * 64 + b) * kWordSize);
          std::uintptr_t v = *slot;
          bool keep = false;
          if (nursery_.contains(reinterpret_cast<void*>(v))) {
            found_young_ = false;
            Object* q = evacuate(reinterpret_cast<Object*>(v));
            *slot = reinterpret_cast<std::uintptr_t>(q);
            keep = nursery_.contains(q);
          }
          if (!keep)
            bits[w] &= ~(std::uint64_t{1} << b);
          else
            any = true;
        }
      }
      if (any) heap_.remember_page(page);
    }
  }

  void process_remembered_objects() {
    std::vector<Object*> objects;
    objects.swap(heap_.remembered_objects_);
    for (Object* o : objects) {
      HeaderWord* hp = header_of(o);
      *hp &= ~kRememberedBit;
      found_young_ = false;
      trace_object(hp, *this);
      if (found_young_) pending_remember_.push_back(o);
    }
    // Re-added after the drain decides; objects whose referents are promoted drop out.
  }

  class Weak final : public WeakProcessor {
   public:
    explicit Weak(const Nursery& n) : nursery_(n) {}
    bool is_alive(const Object* o) const override {
      return !nursery_.contains(o) || is_forwarded(*header_of(o));
    }
    Object* forwarded(Object* o) const override {
      if (!nursery_.contains(o)) return o;
      HeaderWord h = *header_of(o);
      return is_forwarded(h) ? static_cast<Object*>(object_of(forwardee_header(h))) : o;
    }

   private:
    const Nursery& nursery_;
  };

  void process_weaks() {
    Weak w(nursery_);
    heap_.weaks_.for_each([&](Object*& slot) {
      if (slot != nullptr && nursery_.contains(slot)) slot = w.update(slot);
    });
    heap_.process_root_source_weaks(w);
    // Remembered objects: keep those that still point into the nursery.
    for (Object* o : pending_remember_) {
      found_young_ = false;
      NurseryProbe probe(nursery_);
      trace_object(header_of(o), probe);
      if (probe.found) heap_.remember_object(o);
    }
    // Finalizable young objects: survivors follow their copy; the dead are resurrected
    // without their references (a finalizer may not touch other managed objects) and queued.
    std::vector<Object*> young;
    young.swap(heap_.finalizable_young_);
    for (Object* o : young) {
      Object* q;
      if (w.is_alive(o)) {
        q = w.forwarded(o);
      } else {
        q = evacuate(o);
        NullingTracer nulls;
        trace_object(header_of(q), nulls);
        *header_of(q) |= kFinalizedBit;
        heap_.pending_finalizers_.push_back(q);
        continue;
      }
      (nursery_.contains(q) ? heap_.finalizable_young_ : heap_.finalizable_old_).push_back(q);
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

  struct NullingTracer final : Tracer {
    Object* visit_reference(Object*, void*, const char*) override { return nullptr; }
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
  std::size_t promoted;
  {
    MinorCollector collector(*this, promote_all);
    collector.run();
    promoted = collector.promoted_bytes();
    stats_.bytes_promoted += promoted;
    stats_.bytes_survived += collector.survived_bytes();
  }
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
  std::size_t young_before = event_.space_before[std::size_t(Space::kEden)] +
                             event_.space_before[std::size_t(Space::kSurvivor)];
  std::size_t copied_before = stats_.bytes_promoted + stats_.bytes_survived;
  std::size_t promoted = evacuate_nursery(promote_all);
  if (reason == GcReason::kAllocation)
    adapt_pretenuring(stats_.bytes_promoted + stats_.bytes_survived - copied_before, young_before);
  end_collection(GcKind::kMinor, reason, promoted);
}

}  // namespace marrow::internal
