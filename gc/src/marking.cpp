// Marking from the roots, the mark stack's drain and the overflow rescan
// (docs/design.md, section 5, step 2). Relies on: no young objects (the major collection
// emptied the nursery); invariant W for the rescan walk. Never allocates managed memory.
#include "marrow/gc/marking.hpp"

#include <algorithm>
#include <atomic>

#include "marrow/gc/heap.hpp"
#include "marrow/gc/work_sharing.hpp"
#include "marrow/gc/workers.hpp"

namespace marrow::internal {

std::size_t Marker::scan_object(Object* p) {
  HeaderWord h = *header_of(p);
  std::size_t size = header_size_bytes(h);
  scanning_begin_ = reinterpret_cast<std::byte*>(p);
  scanning_end_ = reinterpret_cast<std::byte*>(header_of(p)) + size;
  std::size_t ranges_before = ranges_.size();
  trace_object(p, header_type(h), *this);
  scanning_begin_ = scanning_end_ = nullptr;
  for (std::size_t i = ranges_before; i < ranges_.size(); ++i)
    size -= std::min(size, ranges_[i].count * ranges_[i].slot_size);
  return size;
}

std::size_t Marker::scan_piece() {
  Range& r = ranges_.back();
  std::size_t n = std::min(r.count, kRangePiece);
  std::byte* first = r.first;
  RangeVisitor visit = r.visit;
  std::size_t bytes = n * r.slot_size;
  r.first += bytes;
  r.count -= n;
  if (r.count == 0) ranges_.pop_back();
  visit(*this, first, n);  // pushes onto the stack only (no object is being scanned)
  return bytes;
}

void Marker::drain() { drain_some(~std::size_t{0}); }

std::size_t Marker::drain_some(std::size_t budget, std::chrono::steady_clock::time_point deadline) {
  // The clock is read every 256 objects or every 64 KiB scanned, whichever comes first:
  // a run of large objects must not carry a step far past its deadline.
  constexpr unsigned kClockEvery = 256;
  constexpr std::size_t kClockBytes = std::size_t{64} << 10;
  std::size_t scanned = 0;
  unsigned until_clock = kClockEvery;
  std::size_t clock_at = kClockBytes;
  const bool timed = deadline != std::chrono::steady_clock::time_point::max();
  while (scanned < budget) {
    if (!stack_.empty()) {
      Object* p = stack_.back();
      stack_.pop_back();
      scanned += scan_object(p);
    } else if (!ranges_.empty()) {
      scanned += scan_piece();
    } else if (!waiting_.empty()) {
      flush_waiting();
      continue;
    } else {
      break;
    }
    if (timed && (--until_clock == 0 || scanned >= clock_at)) {
      until_clock = kClockEvery;
      clock_at = scanned + kClockBytes;
      if (std::chrono::steady_clock::now() >= deadline) break;
    }
  }
  // What is marked but unscanned is on the stack, never in the prefetch queue, when a
  // step ends: the mutator may run before the next one, and the barrier and the marking
  // invariant know only the stack.
  flush_waiting();
  return scanned;
}

namespace {

/// Marks every root of `heap` through `marker` (whose mark() pushes what has references).
template <class M>
void mark_roots(Heap& heap, M& marker) {
  heap.roots_.trace(heap.mutator_.handles, marker);
  for (const auto& [object, count] : heap.roots_.pins()) marker.mark(object);
  for (Object* o : heap.finalization_.queue()) marker.mark(o);
  for (Page* page : heap.immortal_.pages()) {
    OldSpace::walk_page(page, [&](std::byte* p, HeaderWord h) {
      if (!is_free_type(header_type(h)))
        trace_object(static_cast<Object*>(object_of(p)), header_type(h), marker);
    });
  }
}

}  // namespace

void Marker::mark_roots(Heap& heap) { internal::mark_roots(heap, *this); }

std::size_t Marker::mark_all(Heap& heap) {
  mark_roots(heap);
  heap.enter_phase(GcPhase::kMark);
  drain();
  return rescan_overflow(heap);
}

std::size_t Marker::rescan_overflow(Heap& heap) {
  std::size_t rescans = 0;
  while (overflowed_) {
    // Rescan: every marked object's children get another chance to be pushed.
    ++rescans;
    overflowed_ = false;
    auto rescan = [&](Page* page) {
      OldSpace::walk_page(page, [&](std::byte* p, HeaderWord h) {
        if (!is_free_type(header_type(h)) && (h & mark_bit_)) {
          trace_object(static_cast<Object*>(object_of(p)), header_type(h), *this);
          drain();
        }
      });
    };
    for (Page* page : heap.old_.pages()) rescan(page);
    for (Page* run : heap.large_.runs()) rescan(run);
  }
  return rescans;
}

// ---- Parallel marking ------------------------------------------------------------------

namespace {

/// The markers' shared state: the work pool and the overflow flag.
struct SharedMarking {
  explicit SharedMarking(unsigned n) : work(n) {}
  WorkSharing work;
  std::atomic<bool> overflowed{false};
};

/// One worker's marker. Headers are read and marked atomically (other workers mark the
/// same objects); everything else a trace function reads is not written during marking.
class alignas(64) ParallelMarker final : public Tracer {  // no false sharing
 public:
  ParallelMarker(SharedMarking& shared, WorkStack& stack, std::size_t stack_limit,
                 HeaderWord mark_bit)
      : shared_(shared),
        stack_(stack),
        limit_(std::max<std::size_t>(stack_limit, 1)),
        mark_bit_(mark_bit) {}

  void mark(Object* p) {
    std::atomic_ref<HeaderWord> header(*header_of(p));
    HeaderWord h = header.load(std::memory_order_relaxed);
    if (h & mark_bit_) return;
    Page* page = Page::of(p);
    if (page->kind == Space::kImmortal) return;  // always live, traced as roots
    // A plain (relaxed) store, not a fetch-or: during marking only markers write headers,
    // and only their mark bits, so two racing markers store the same word. The rare loser of such
    // a race scans the object a second time (harmless) and counts it twice in its page's
    // live bytes, an estimate the sweep replaces with exact figures.
    header.store(with_mark(h, mark_bit_), std::memory_order_relaxed);
    count_live(page, header_size_bytes(h));
    if (type_info(header_type(h)).trace == nullptr) return;
    if (stack_.size() >= limit_) {
      shared_.overflowed.store(true, std::memory_order_relaxed);
      return;
    }
    stack_.push(p);
  }

  /// Flushes the live bytes counted for the last page (objects of one page tend to be
  /// marked together: one atomic add per run of them).
  void flush_live() {
    if (live_page_ != nullptr)
      std::atomic_ref<std::size_t>(live_page_->live_bytes)
          .fetch_add(live_pending_, std::memory_order_relaxed);
    live_page_ = nullptr;
    live_pending_ = 0;
  }

  void work() {
    do {
      for (;;) {
        if (stack_.empty()) {
          if (waiting_.empty()) break;
          flush_waiting();
          continue;
        }
        Object* p = stack_.pop();
        HeaderWord h = std::atomic_ref<HeaderWord>(*header_of(p)).load(std::memory_order_relaxed);
        trace_object(p, header_type(h), *this);
        shared_.work.maybe_share(stack_);
      }
      flush_live();
    } while (shared_.work.refill(stack_));
  }

  /// Marks what waits in the prefetch queue (the root scan leaves some there).
  void flush_waiting() {
    while (!waiting_.empty()) mark(waiting_.pop());
  }

 protected:
  Object* visit_reference(Object* p, void*, const char*) override {
    if (Object* q = waiting_.push(p)) mark(q);
    return p;
  }

 private:
  void count_live(Page* page, std::size_t bytes) {
    if (page != live_page_) {
      flush_live();
      live_page_ = page;
    }
    live_pending_ += bytes;
  }

  SharedMarking& shared_;
  WorkStack& stack_;
  std::size_t limit_;
  HeaderWord mark_bit_;
  PrefetchQueue waiting_;
  Page* live_page_ = nullptr;
  std::size_t live_pending_ = 0;
};

}  // namespace

std::size_t mark_all_parallel(Heap& heap, WorkerPool& pool, std::size_t stack_limit) {
  SharedMarking shared(pool.threads());
  std::vector<ParallelMarker> markers;
  markers.reserve(pool.threads());
  for (unsigned w = 0; w < pool.threads(); ++w)
    markers.emplace_back(shared, heap.work_stacks_[w], stack_limit / pool.threads(),
                         heap.mark_bit());
  mark_roots(heap, markers[0]);  // root sources stay on the collecting thread
  markers[0].flush_waiting();
  markers[0].flush_live();
  heap.enter_phase(GcPhase::kMark);
  pool.run([&](unsigned worker) {
    shared.work.enter();
    markers[worker].work();
  });
  heap.record_workers(GcPhase::kMark, pool);
  if (!shared.overflowed.load()) return 0;
  Marker serial(stack_limit, heap.mark_bit());
  serial.set_overflowed();
  return serial.rescan_overflow(heap);
}

}  // namespace marrow::internal
