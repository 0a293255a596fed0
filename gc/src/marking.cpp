// Marking from the roots, the mark stack's drain and the overflow rescan
// (docs/design.md, section 5, step 2). Relies on: no young objects (the major collection
// emptied the nursery); invariant W for the rescan walk. Never allocates managed memory.
#include "marrow/gc/marking.hpp"

#include <atomic>
#include <mutex>
#include <thread>

#include "marrow/gc/heap.hpp"
#include "marrow/gc/workers.hpp"

namespace marrow::internal {

void Marker::drain() {
  while (!stack_.empty()) {
    Object* p = stack_.back();
    stack_.pop_back();
    trace_object(p, *this);
  }
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

std::size_t Marker::mark_all(Heap& heap) {
  mark_roots(heap, *this);
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
        if (!is_free_type(header_type(h)) && (h & kMarkBit)) {
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

/// Objects moved to the shared pool at a time: large enough that the pool's lock is rare,
/// small enough that an idle worker gets work soon after a busy one finds a wide graph.
constexpr std::size_t kShareChunk = 256;

/// Work shared between the workers of one marking, and the termination count.
/// Termination: a worker goes idle only with an empty stack; the pool gains chunks only
/// from active workers; an idle worker looks at the pool before it counts the idle, so
/// the worker that shared a chunk last takes it back if no one else did. All workers
/// idle with the pool empty means no work exists anywhere.
struct SharedMarking {
  explicit SharedMarking(unsigned n) : workers(n) {}
  void give(std::vector<Object*>&& chunk) {
    std::lock_guard lock(mutex);
    chunks.push_back(std::move(chunk));
    chunk_count.fetch_add(1, std::memory_order_release);
  }
  bool take(std::vector<Object*>& into) {
    if (chunk_count.load(std::memory_order_acquire) == 0) return false;
    std::lock_guard lock(mutex);
    if (chunks.empty()) return false;
    into.insert(into.end(), chunks.back().begin(), chunks.back().end());
    chunks.pop_back();
    chunk_count.fetch_sub(1, std::memory_order_release);
    return true;
  }

  const unsigned workers;
  std::mutex mutex;
  std::vector<std::vector<Object*>> chunks;
  std::atomic<std::size_t> chunk_count{0};
  std::atomic<unsigned> idle{0};
  std::atomic<bool> overflowed{false};
};

/// One worker's marker. Headers are read and marked atomically (other workers mark the
/// same objects); everything else a trace function reads is not written during marking.
class ParallelMarker final : public Tracer {
 public:
  ParallelMarker(SharedMarking& shared, std::size_t stack_limit)
      : shared_(shared), limit_(std::max<std::size_t>(stack_limit, 1)) {}

  void mark(Object* p) {
    std::atomic_ref<HeaderWord> header(*header_of(p));
    HeaderWord h = header.load(std::memory_order_relaxed);
    if (h & kMarkBit) return;
    Page* page = Page::of(p);
    if (page->kind == Space::kImmortal) return;  // always live, traced as roots
    // A plain (relaxed) store, not a fetch-or: during marking only markers write headers,
    // and only this bit, so two racing markers store the same word. The rare loser of such
    // a race scans the object a second time (harmless) and counts it twice in its page's
    // live bytes, an estimate the sweep replaces with exact figures.
    header.store(h | kMarkBit, std::memory_order_relaxed);
    count_live(page, header_size_bytes(h));
    if (type_info(header_type(h)).trace == nullptr) return;
    if (stack_.size() >= limit_) {
      shared_.overflowed.store(true, std::memory_order_relaxed);
      return;
    }
    stack_.push_back(p);
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
    for (;;) {
      while (!stack_.empty()) {
        Object* p = stack_.back();
        stack_.pop_back();
        HeaderWord h = std::atomic_ref<HeaderWord>(*header_of(p)).load(std::memory_order_relaxed);
        trace_object(p, header_type(h), *this);
        if (stack_.size() >= 2 * kShareChunk &&
            shared_.chunk_count.load(std::memory_order_relaxed) < shared_.workers)
          share(kShareChunk);
        else if (stack_.size() >= 2 && shared_.idle.load(std::memory_order_relaxed) != 0 &&
                 shared_.chunk_count.load(std::memory_order_relaxed) == 0)
          share(stack_.size() / 2);  // a deep, narrow graph (a tree): feed the idle
      }
      if (shared_.take(stack_)) continue;
      flush_live();
      shared_.idle.fetch_add(1, std::memory_order_acq_rel);
      for (;;) {
        if (shared_.chunk_count.load(std::memory_order_acquire) != 0) {
          shared_.idle.fetch_sub(1, std::memory_order_acq_rel);
          if (shared_.take(stack_)) break;
          shared_.idle.fetch_add(1, std::memory_order_acq_rel);
        }
        if (shared_.idle.load(std::memory_order_acquire) == shared_.workers) return;
        std::this_thread::yield();
      }
    }
  }

 protected:
  Object* visit_reference(Object* p, void*, const char*) override {
    mark(p);
    return p;
  }

 private:
  /// Gives the `n` oldest entries (the roots of the largest unscanned subgraphs) away.
  void share(std::size_t n) {
    std::vector<Object*> chunk(stack_.begin(), stack_.begin() + std::ptrdiff_t(n));
    stack_.erase(stack_.begin(), stack_.begin() + std::ptrdiff_t(n));
    shared_.give(std::move(chunk));
  }

  void count_live(Page* page, std::size_t bytes) {
    if (page != live_page_) {
      flush_live();
      live_page_ = page;
    }
    live_pending_ += bytes;
  }

  SharedMarking& shared_;
  std::size_t limit_;
  std::vector<Object*> stack_;
  Page* live_page_ = nullptr;
  std::size_t live_pending_ = 0;
};

}  // namespace

std::size_t mark_all_parallel(Heap& heap, WorkerPool& pool, std::size_t stack_limit) {
  SharedMarking shared(pool.threads());
  std::vector<ParallelMarker> markers;
  markers.reserve(pool.threads());
  for (unsigned w = 0; w < pool.threads(); ++w)
    markers.emplace_back(shared, stack_limit / pool.threads());
  mark_roots(heap, markers[0]);  // root sources stay on the collecting thread
  markers[0].flush_live();
  heap.enter_phase(GcPhase::kMark);
  pool.run([&](unsigned worker) { markers[worker].work(); });
  heap.record_workers(GcPhase::kMark, pool);
  if (!shared.overflowed.load()) return 0;
  Marker serial(stack_limit);
  serial.set_overflowed();
  return serial.rescan_overflow(heap);
}

}  // namespace marrow::internal
