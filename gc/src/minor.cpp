// Minor collection: Cheney-style evacuation of eden and the from-space into the to-space
// or, once old enough (or when asked to promote everything), into old space
// (docs/design.md, section 4). Cost is proportional to survivors.
// Relies on: invariant R (every old-to-young reference is remembered); invariant S
// (remembered slots are plain words); a young object is reachable only through roots,
// remembered slots or objects, or other young objects. Never allocates managed memory or
// throws.
#include <atomic>
#include <cstring>
#include <mutex>

#include "marrow/gc/heap.hpp"
#include "marrow/gc/objects.hpp"
#include "marrow/gc/weak_processing.hpp"
#include "marrow/gc/work_sharing.hpp"
#include "marrow/gc/workers.hpp"

namespace marrow::internal {

namespace {

/// Finds whether an object still points into the nursery.
struct NurseryProbe final : Tracer {
  explicit NurseryProbe(const Nursery& n) : Tracer(n.base(), n.span()) {}
  Object* visit_reference(Object* p, void*, const char*) override {
    found = true;
    return p;
  }
  bool found = false;
};

/// Remembered objects stay remembered while they still point into the nursery.
void remember_if_young(Heap& heap, const std::vector<Object*>& objects) {
  for (Object* o : objects) {
    NurseryProbe probe(heap.nursery_);
    trace_object(o, probe);
    if (probe.found) heap.remembered_.remember_object(o);
  }
}

/// Survivors follow their copy; the dead are evacuated too, resurrected (their references
/// nulled, so nothing else needs keeping or scanning) and queued.
template <class Evacuate>
void finalize_dead_young(Heap& heap, const MinorOutcome& outcome, Evacuate&& evacuate) {
  Finalization& f = heap.finalization_;
  std::vector<Object*> young;
  young.swap(f.young());
  for (Object* o : young) {
    if (!outcome.is_alive(o)) {
      f.resurrect(evacuate(o));
      continue;
    }
    Object* q = forwardee(o);
    (heap.nursery_.contains(q) ? f.young() : f.old()).push_back(q);
  }
}

}  // namespace

/// After evacuation the header of the old copy is a forwarding word (bit 0 set).
class MinorCollector final : public Tracer {
 public:
  MinorCollector(Heap& heap, bool promote_all)
      : Tracer(heap.nursery_.base(), heap.nursery_.span()),
        heap_(heap),
        nursery_(heap.nursery_),
        to_(heap.nursery_.to_space()),
        promote_all_(promote_all),
        marking_(heap.marking_.active()),
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
    remember_if_young(heap_, pending_remember_);
    finalize_dead_young(heap_, outcome, [&](Object* p) { return evacuate(p); });
    promoted_list_.clear();  // resurrected objects need no scanning: their slots are null
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
      if (to_.top > populated_) populate_ahead();
      h = with_age(h, age);
      survived_ += size;
      found_young_ = true;
    } else {
      dst = heap_.old_.allocate(size);
      MARROW_CHECK(dst != nullptr, "the OS refused a page while promoting survivors");
      h = with_age(h, 0);
      promoted_ += size;
      promoted_list_.push_back(reinterpret_cast<HeaderWord*>(dst));
      if (marking_) heap_.marking_.promoted(static_cast<Object*>(object_of(dst)));
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

  /// To-space pages that were never touched (or were released) are faulted in ahead of the
  /// copies, kPopulateStep at a time, instead of one trap per page as copies reach them.
  void populate_ahead() {
    std::byte* end = std::min(to_.end, std::max(populated_ + kPopulateStep, to_.top));
    end = to_.start + align_up(std::size_t(end - to_.start), kOsPageSize);
    populate(populated_, std::size_t(end - populated_));
    populated_ = std::min(end, to_.end);
    nursery_.note_to_space_populated(populated_);
  }
  static constexpr std::size_t kPopulateStep = std::size_t{64} << 10;

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
      // Oldest first, like the to-space scan: breadth first, so the cache misses of
      // independent chains overlap (popping the newest walked a promoted structure depth
      // first, one miss at a time).
      while (promoted_scan_ < promoted_list_.size()) {
        auto* o = static_cast<Object*>(object_of(promoted_list_[promoted_scan_++]));
        // Promotion copies slots without the barrier: keep invariant R by remembering.
        if (trace_for_young(o)) heap_.remembered_.remember_object(o);
        progress = true;
      }
      promoted_list_.clear();
      promoted_scan_ = 0;
      if (!progress) return;
    }
  }

  Heap& heap_;
  Nursery& nursery_;
  BumpRegion& to_;
  std::byte* scan_ = to_.start;
  std::byte* populated_ = nursery_.to_space_populated();
  bool promote_all_;
  bool marking_;  ///< an incremental cycle runs: promoted objects are reported to it
  unsigned tenure_age_;
  bool found_young_ = false;
  std::vector<HeaderWord*> promoted_list_;  ///< promoted, not yet scanned from promoted_scan_
  std::size_t promoted_scan_ = 0;
  std::vector<Object*> pending_remember_;
  std::size_t promoted_ = 0;
  std::size_t survived_ = 0;
};

// ---- Parallel scavenging ---------------------------------------------------------------

namespace {

/// What the workers of one parallel minor collection share. Copying is claimed by a CAS
/// on the from-space header (the forwarding word); copies go to per-worker buffers in
/// to-space (chunks claimed by a CAS on `to_top`) and in old space (the rest of a LAB,
/// handed out under `old_mutex`). The remembered pages and objects are split by claiming
/// indices.
struct SharedScavenge {
  SharedScavenge(Heap& h, unsigned workers, bool promote_all_objects)
      : heap(h),
        nursery(h.nursery_),
        to(h.nursery_.to_space()),
        to_top(to.start),
        to_populated(h.nursery_.to_space_populated()),
        work(workers),
        promote_all(promote_all_objects),
        marking(h.marking_.active()),
        tenure_age(h.config_.tenure_age) {}

  Heap& heap;
  const Nursery& nursery;
  const BumpRegion& to;  ///< start and end only: `to_top` is the frontier
  std::atomic<std::byte*> to_top;
  std::byte* const to_populated;  ///< to-space known in memory when the collection began
  std::mutex old_mutex;
  WorkSharing work;
  const bool promote_all;
  const bool marking;  ///< an incremental cycle runs: promoted objects are reported to it
  const unsigned tenure_age;
  std::vector<Page*> pages;  ///< remembered pages, claimed through next_page
  std::atomic<std::size_t> next_page{0};
  std::vector<Object*> objects;  ///< remembered objects, claimed through next_object
  std::atomic<std::size_t> next_object{0};
};

/// One worker of a parallel minor collection. Every object it copies goes on its stack
/// and is scanned by it or, through the work pool, by another worker.
class alignas(64) ParallelScavenger final : public Tracer {  // no false sharing
 public:
  ParallelScavenger(SharedScavenge& shared, WorkStack& stack)
      : Tracer(shared.nursery.base(), shared.nursery.span()), s_(shared), stack_(stack) {}

  Object* evacuate(Object* p) {
    std::atomic_ref<HeaderWord> header(*header_of(p));
    HeaderWord h = header.load(std::memory_order_acquire);
    if (is_forwarded(h)) return forwarded_to(h);
    if (s_.to.contains(p)) {  // already a copy
      found_young_ = true;
      return p;
    }
    std::size_t size = header_size_bytes(h);
    unsigned age = header_age(h) + 1;
    std::byte* dst = nullptr;
    bool young = !s_.promote_all && age <= s_.tenure_age && (dst = to_allocate(size)) != nullptr;
    if (!young) dst = old_allocate(size);
    // The body first, then the header: only the header is ever written by another worker.
    std::memcpy(dst + kHeaderSize, p, size - kHeaderSize);
    *reinterpret_cast<HeaderWord*>(dst) = with_age(h, young ? age : 0);
    if (!header.compare_exchange_strong(h, reinterpret_cast<HeaderWord>(dst) | kForwardedBit,
                                        std::memory_order_acq_rel, std::memory_order_acquire)) {
      // Another worker copied it first: this copy was the last thing bumped, so undo it.
      (young ? to_lab_ : old_lab_).top -= size;
      return forwarded_to(h);
    }
    auto* copy = static_cast<Object*>(object_of(dst));
    if (young) {
      survived_ += size;
      found_young_ = true;
    } else {
      promoted_ += size;
      if (s_.marking) promoted_objects_.push_back(copy);
    }
    if (type_info(header_type(h)).trace != nullptr) stack_.push(copy);
    return copy;
  }

  /// Scans everything on the stack, oldest first, and what other workers share, until
  /// all are done.
  void drain() {
    do {
      while (!stack_.empty()) {
        Object* o = stack_.pop_oldest();
        if (s_.nursery.contains(o)) {
          trace_object(o, *this);
        } else if (trace_for_young(o)) {
          // Promotion copies slots without the barrier: keep invariant R by remembering.
          promoted_young_.push_back(o);
        }
        s_.work.maybe_share(stack_);
      }
    } while (s_.work.refill(stack_));
  }

  void process_remembered_pages() {
    auto evacuate_fn = [&](Object* p) { return evacuate(p); };
    for (std::size_t i;
         (i = s_.next_page.fetch_add(1, std::memory_order_relaxed)) < s_.pages.size();) {
      if (RememberedSet::process_page(s_.pages[i], s_.nursery, evacuate_fn))
        kept_pages_.push_back(s_.pages[i]);
    }
  }

  void retrace_remembered_objects() {
    // Re-remembered after the drain decides: objects whose referents get promoted drop out.
    for (std::size_t i;
         (i = s_.next_object.fetch_add(1, std::memory_order_relaxed)) < s_.objects.size();) {
      if (trace_for_young(s_.objects[i])) pending_remember_.push_back(s_.objects[i]);
    }
  }

  /// Gives the buffers' unused ends back (after the parallel phases: serial).
  void finish() {
    retire_to_lab();
    to_lab_ = {};
    s_.heap.old_.return_rest(old_lab_);
  }
  /// Forgets the stack (resurrected objects need no scanning: their slots are null).
  void drop_stack() { stack_.clear(); }

  std::size_t promoted_ = 0;
  std::size_t survived_ = 0;
  std::vector<Object*> promoted_young_;    ///< promoted objects that point young
  std::vector<Object*> promoted_objects_;  ///< everything promoted, while marking
  std::vector<Object*> pending_remember_;  ///< remembered objects that pointed young
  std::vector<Page*> kept_pages_;          ///< remembered pages with slots left

 protected:
  Object* visit_reference(Object* p, void*, const char*) override { return evacuate(p); }

 private:
  /// To-space chunks claimed at a time: small enough that the last chunks of the workers
  /// waste little, large enough that claims are rare.
  static constexpr std::size_t kToChunk = std::size_t{16} << 10;

  Object* forwarded_to(HeaderWord h) {
    auto* q = static_cast<Object*>(object_of(forwardee_header(h)));
    if (s_.nursery.contains(q)) found_young_ = true;
    return q;
  }

  bool trace_for_young(Object* o) {
    found_young_ = false;
    trace_object(o, *this);
    return found_young_;
  }

  /// Keeps to-space walkable: the unused end of the to-space buffer becomes a filler.
  void retire_to_lab() {
    if (to_lab_.top < to_lab_.end)
      OldSpace::format_filler(to_lab_.top, std::size_t(to_lab_.end - to_lab_.top));
  }

  /// Room for `size` bytes in to-space, or nullptr when to-space is full (promote).
  std::byte* to_allocate(std::size_t size) {
    if (std::size_t(to_lab_.end - to_lab_.top) < size) {
      std::byte* top = s_.to_top.load(std::memory_order_relaxed);
      std::size_t chunk;
      do {
        std::size_t left = std::size_t(s_.to.end - top);
        if (left < size) return nullptr;
        chunk = std::min(left, std::max(size, kToChunk));
      } while (!s_.to_top.compare_exchange_weak(top, top + chunk, std::memory_order_relaxed));
      retire_to_lab();
      to_lab_ = {top, top, top + chunk};
      // Fault a chunk beyond what earlier collections touched in at once (see
      // MinorCollector::populate_ahead); the frontier is recorded after the workers.
      if (top + chunk > s_.to_populated) {
        std::byte* from = std::max(top, s_.to_populated);
        std::byte* end =
            s_.to.start + align_up(std::size_t(top + chunk - s_.to.start), kOsPageSize);
        from = s_.to.start + align_down(std::size_t(from - s_.to.start), kOsPageSize);
        populate(from, std::size_t(std::min(end, s_.to.end) - from));
      }
    }
    std::byte* p = to_lab_.top;
    to_lab_.top += size;
    return p;
  }

  std::byte* old_allocate(std::size_t size) {
    if (std::size_t(old_lab_.end - old_lab_.top) < size) {
      std::lock_guard lock(s_.old_mutex);
      OldSpace& old = s_.heap.old_;
      old.return_rest(old_lab_);
      std::byte* p = old.allocate_with_rest(size, old_lab_, HeapPolicy::kPromotionChunk);
      MARROW_CHECK(p != nullptr, "the OS refused a page while promoting survivors");
      // Bumped privately from p on (counted when returned): the LAB's rest, or an exact hole.
      old.set_allocated_bytes(old.allocated_bytes() - size);
      old_lab_ = {p, p, old_lab_.start == nullptr ? p + size : old_lab_.end};
    }
    std::byte* p = old_lab_.top;
    old_lab_.top += size;
    return p;
  }

  SharedScavenge& s_;
  WorkStack& stack_;
  BumpRegion to_lab_;
  BumpRegion old_lab_;  ///< [start, top) is not yet counted as allocated in old space
  bool found_young_ = false;
};

/// The parallel minor collection: the same steps as MinorCollector::run, with the roots
/// scanned on the collecting thread (root sources stay single-threaded) and the remembered
/// set and the transitive copying spread over the pool. Remembered pages and remembered
/// objects are processed in two rounds because a slot may be in both.
void scavenge_parallel(Heap& heap, bool promote_all, std::size_t& promoted, std::size_t& survived) {
  WorkerPool& pool = heap.workers_;
  SharedScavenge shared(heap, pool.threads(), promote_all);
  std::vector<ParallelScavenger> workers;
  workers.reserve(pool.threads());
  for (unsigned w = 0; w < pool.threads(); ++w) workers.emplace_back(shared, heap.work_stacks_[w]);
  ParallelScavenger& leader = workers[0];

  heap.enter_phase(GcPhase::kRoots);
  heap.roots_.trace(heap.mutator_.handles, leader);
  for (Object*& p : heap.finalization_.queue()) leader.visit(p);
  shared.pages = heap.remembered_.take_pages();
  shared.objects = heap.remembered_.take_objects();
  heap.enter_phase(GcPhase::kEvacuate);
  pool.run([&](unsigned w) {
    shared.work.enter();
    workers[w].process_remembered_pages();
    workers[w].drain();
  });
  heap.record_workers(GcPhase::kEvacuate, pool);
  pool.run([&](unsigned w) {
    shared.work.enter();
    workers[w].retrace_remembered_objects();
    workers[w].drain();
  });
  heap.record_workers(GcPhase::kEvacuate, pool);

  heap.enter_phase(GcPhase::kWeak);
  MinorOutcome outcome(heap.nursery_);
  process_weak_references(heap, outcome);
  for (ParallelScavenger& w : workers) {
    heap.remembered_.keep_pages(w.kept_pages_);
    for (Object* o : w.promoted_young_) heap.remembered_.remember_object(o);
    remember_if_young(heap, w.pending_remember_);
  }
  finalize_dead_young(heap, outcome, [&](Object* p) { return leader.evacuate(p); });
  leader.drop_stack();
  for (ParallelScavenger& w : workers) {
    w.finish();
    for (Object* o : w.promoted_objects_) heap.marking_.promoted(o);
    promoted += w.promoted_;
    survived += w.survived_;
  }
  heap.nursery_.to_space().top = shared.to_top.load(std::memory_order_relaxed);
  heap.nursery_.note_to_space_populated(
      heap.nursery_.to_space().start +
      align_up(std::size_t(heap.nursery_.to_space().top - heap.nursery_.to_space().start),
               kOsPageSize));
}

}  // namespace

std::size_t Heap::evacuate_nursery(bool promote_all) {
  finalization_.begin_cycle();
  std::size_t promoted = 0;
  std::size_t survived = 0;
  unsigned threads = parallelism_.threads_for(ParallelPhase::kScavenge);
  auto started = std::chrono::steady_clock::now();
  if (threads > 1) {
    scavenge_parallel(*this, promote_all, promoted, survived);
  } else {
    MinorCollector collector(*this, promote_all);
    collector.run();
    promoted = collector.promoted_bytes();
    survived = collector.survived_bytes();
  }
  parallelism_.record(ParallelPhase::kScavenge, threads, promoted + survived,
                      std::chrono::steady_clock::now() - started);
  events_.stats().bytes_promoted += promoted;
  events_.stats().bytes_survived += survived;
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
