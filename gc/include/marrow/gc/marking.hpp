// Marking: the transitive closure of the roots over old, large and immortal objects,
// with an explicit bounded mark stack and an overflow rescan (docs/design.md, section 5,
// step 2). Mark bits live in headers; marking adds each object's size to its page's
// `live_bytes`. Relies on: no young objects exist (the major collection emptied the
// nursery first); invariant W for the rescan. Never allocates managed memory.
#pragma once
#include <chrono>
#include <cstddef>
#include <vector>

#include "marrow/gc/objects.hpp"
#include "marrow/internal/barrier.hpp"

namespace marrow::internal {

class Heap;

/// References a marker visits wait here, their headers prefetched, before they are
/// marked: the header's cache miss (most of marking's time on a heap larger than the
/// cache) overlaps with the work on the references in between. A FIFO of kDistance.
/// Sixteen made the mark phase of bench_full_gc_scaling 256 1.6x faster than none (8:
/// 1.5x, 64: no faster than 16 within the noise).
class PrefetchQueue {
 public:
  static constexpr unsigned kDistance = 16;
  /// Queues `p` (prefetching its header); returns the oldest reference, which makes way,
  /// or null while the queue fills.
  Object* push(Object* p) {
    __builtin_prefetch(header_of(p), 1, 3);
    if (count_ < kDistance) {
      refs_[(oldest_ + count_++) % kDistance] = p;
      return nullptr;
    }
    Object* q = refs_[oldest_];
    refs_[oldest_] = p;
    oldest_ = (oldest_ + 1) % kDistance;
    return q;
  }
  /// The oldest reference (the queue must not be empty).
  Object* pop() {
    Object* q = refs_[oldest_];
    oldest_ = (oldest_ + 1) % kDistance;
    --count_;
    return q;
  }
  bool empty() const { return count_ == 0; }
  void clear() { oldest_ = count_ = 0; }

 private:
  Object* refs_[kDistance] = {};
  unsigned oldest_ = 0;
  unsigned count_ = 0;
};

/// Invariant: an object is marked before it is pushed, so each object is pushed at most
/// once; when the stack is full the object stays marked but unscanned, and `overflowed`
/// makes mark_all rescan the heap for such objects.
class Marker final : public Tracer {
 public:
  /// Marks with `mark_bit` (the heap's mark_bit() for this marking).
  Marker(std::size_t stack_limit, HeaderWord mark_bit) : limit_(stack_limit), mark_bit_(mark_bit) {}
  HeaderWord mark_bit() const { return mark_bit_; }
  /// For a marker kept between markings (incremental marking's), with its stack empty.
  void set_mark_bit(HeaderWord mark_bit) { mark_bit_ = mark_bit; }

  /// Marks `p` and, if it has references, pushes it for scanning. Young objects are not
  /// the old generation's (during incremental marking old objects may point to them).
  void mark(Object* p) {
    if (is_young_address(p)) [[unlikely]]
      return;
    HeaderWord& h = *header_of(p);
    if (h & mark_bit_) return;
    Page* page = Page::of(p);
    if (page->kind == Space::kImmortal) return;  // always live, traced as roots
    h = with_mark(h, mark_bit_);
    page->live_bytes += header_size_bytes(h);
    if (type_info(header_type(h)).trace == nullptr) return;  // no references: never scanned
    if (stack_.size() >= limit_) {
      overflowed_ = true;
      return;
    }
    stack_.push_back(p);
  }
  /// Marks from every root of `heap` (handles, Globals, root sources, pins, the
  /// finalization queue, immortal objects), then transitively, rescanning after an
  /// overflow until a pass ends without one. Returns the number of rescans.
  std::size_t mark_all(Heap& heap);
  /// Rescans the heap while the overflow flag is set; returns the number of rescans.
  std::size_t rescan_overflow(Heap& heap);
  void set_overflowed() { overflowed_ = true; }
  /// Marks every root of `heap` (handles, Globals, root sources, pins, the finalization
  /// queue, immortal objects' references) without draining.
  void mark_roots(Heap& heap);
  /// Scans objects from the stack until `budget` bytes of them were scanned or the stack
  /// is empty; returns the bytes scanned (incremental marking's step).
  /// Stops early, too, once the clock passes `deadline` (looked at every few objects).
  std::size_t drain_some(std::size_t budget, std::chrono::steady_clock::time_point deadline =
                                                 std::chrono::steady_clock::time_point::max());
  /// Nothing left to scan: no object on the stack or waiting to be marked, no piece of
  /// an array.
  bool stack_empty() const { return stack_.empty() && ranges_.empty() && waiting_.empty(); }
  /// Drops the stack, the arrays' pieces and the overflow flag (a cycle abandoned).
  void reset() {
    stack_.clear();
    ranges_.clear();
    waiting_.clear();
    overflowed_ = false;
  }
  /// Marks the references still waiting in the prefetch queue (pushing what has
  /// references). drain_some does so before it returns; anyone else tracing through this
  /// marker without draining (mark_roots) leaves them for the next drain_some.
  void flush_waiting() {
    while (!waiting_.empty()) mark(waiting_.pop());
  }

  /// Slots per piece of a split array (Tracer::visit_range): 16 KiB of 8-byte slots.
  static constexpr std::size_t kRangePiece = 2048;

 protected:
  Object* visit_reference(Object* p, void*, const char*) override {
    if (is_young_address(p)) [[unlikely]]
      return p;
    if (Object* q = waiting_.push(p)) mark(q);
    return p;
  }
  /// Keeps a long run of slots inside the object being scanned, to be visited a piece at
  /// a time: the object is marked, so it stays (and, in old or large space, stays put)
  /// until marking ends; the marking barrier records what a store overwrites meanwhile.
  bool split_range(void* first, std::size_t count, std::size_t slot_size,
                   RangeVisitor visit) override {
    auto* b = static_cast<std::byte*>(first);
    if (b < scanning_begin_ || b >= scanning_end_ ||
        count > std::size_t(scanning_end_ - b) / slot_size)
      return false;
    ranges_.push_back({b, count, slot_size, visit});
    return true;
  }

 private:
  struct Range {
    std::byte* first;
    std::size_t count;
    std::size_t slot_size;
    RangeVisitor visit;
  };
  void drain();
  /// Traces one object from the stack; returns the bytes scanned (its size, less the
  /// runs of slots it left as pieces).
  std::size_t scan_object(Object* p);
  /// Visits the next piece of the last split array; returns its bytes.
  std::size_t scan_piece();
  std::size_t limit_;
  HeaderWord mark_bit_;
  bool overflowed_ = false;
  std::vector<Object*> stack_;
  std::vector<Range> ranges_;
  PrefetchQueue waiting_;
  std::byte* scanning_begin_ = nullptr;  ///< the object scan_object traces, [begin, end)
  std::byte* scanning_end_ = nullptr;
};

}  // namespace marrow::internal

namespace marrow::internal {

class WorkerPool;

/// Marking on every worker of `pool`: roots are scanned on the calling thread (root
/// sources stay single-threaded), then the workers drain per-worker mark stacks, sharing
/// chunks of work through a pool until all are idle and the pool is empty. A mark is a
/// relaxed atomic load and store of the header word (no read-modify-write), and live
/// bytes are added atomically once per run of objects on one page.
/// Overflowed objects (a worker's stack at its share of the limit) are rescanned
/// serially afterwards, as in the serial marker. Returns the number of rescans.
std::size_t mark_all_parallel(Heap& heap, WorkerPool& pool, std::size_t stack_limit);

}  // namespace marrow::internal
