// The allocation slow path: what happens when the mutator's buffer is exhausted, an
// object is large or immortal, or stress mode wants a collection. It decides nothing
// itself: the triggers are HeapPolicy's (policy.cpp), the windows Pretenuring's
// (pretenuring.cpp). Throws only what the embedder can cause; allocates nothing then.
#include <cstring>

#include <fmt/format.h>

#include "marrow/errors.hpp"
#include "marrow/gc/heap.hpp"

namespace marrow::internal {

// ---- The mutator's out-of-line entry points ----------------------------------------------

std::byte* allocate_slow(Heap& heap, std::size_t size) { return heap.allocate_slow(size); }
std::byte* allocate_immortal(Heap& heap, std::size_t size) { return heap.allocate_immortal(size); }

void register_finalizable(Heap& heap, Object* object) {
  heap.finalization_.add(object, heap.is_young(object));
}

void Mutator::throw_wrong_thread() {
  throw UsageError(
      "marrow: a Runtime is used by one thread at a time: this thread is not the runtime's "
      "owner (call rt.attach_current_thread() to hand it over)");
}

void Mutator::throw_allocation_in_constructor() {
  throw UsageError("marrow: constructors of managed objects must not allocate managed memory");
}

void Heap::throw_invalid_size(std::size_t size) {
  throw InvalidSize(
      fmt::format("marrow: object size {} exceeds the maximum of {} bytes", size, kMaxObjectSize));
}

// ---- The allocation buffer ---------------------------------------------------------------

void Heap::set_limit() {
  // Closed (every allocation takes the slow path, which checks): in stress mode, and
  // wherever allocating is refused, so the inline fast path cannot slip past the check.
  bool closed = config_.stress_interval != 0 || config_.stress_incremental != 0 ||
                finalization_.running() || in_gc_ || walking_ || in_limit_callback_;
  MARROW_DCHECK(eden_limit_ >= mutator_.top || pretenuring_.active(),
                "eden's limit is never below its top (the fast path compares limit - top)");
  if (closed)
    mutator_.limit = mutator_.top;
  else if (pretenuring_.active())
    mutator_.limit = old_.lab_end();
  else {
    std::byte* limit = eden_limit_;
    if (eden_poll_ != nullptr && eden_poll_ < limit) limit = eden_poll_;
    if (marking_poll_ != nullptr && marking_poll_ < limit)
      limit = std::max(marking_poll_, mutator_.top);
    mutator_.limit = limit;
  }
}

void Heap::reset_eden() {
  MARROW_DCHECK(!pretenuring_.active(), "collections stop pretenuring before they empty eden");
#if defined(MARROW_DEBUG)
  std::memset(nursery_.eden_start(), 0xDB, std::size_t(mutator_.top - nursery_.eden_start()));
#endif
  eden_allocated_before_ += std::size_t(mutator_.top - nursery_.eden_start());
  nursery_.note_eden_use(std::size_t(mutator_.top - nursery_.eden_start()));
  mutator_.top = nursery_.eden_start();
  // Survivor amounts swing between collections, and releasing pages costs faults when
  // they are touched again; but the scavengers populate to-space ahead of their copies
  // (0.9 us a page here, against 10-14 us a fault), which makes the trim cheap enough to
  // run always (churn: 77 -> 62 MiB peak RSS at the same wall; binary-trees 21 unchanged).
  nursery_.trim_survivors(Nursery::ReleaseSurvivors::kBeyondNeed);
  eden_limit_ = nursery_.eden_end();
  eden_poll_ = policy_.watch_for_quiet(provider_.committed_bytes())
                   ? nursery_.eden_start() + HeapPolicy::kShrinkPollBytes
                   : nullptr;
  schedule_marking();
  clamp_eden_limit();
  set_limit();
}

void Heap::limit_eden_for_pause() {
  if (pretenuring_.active()) return;
  std::size_t bytes = policy_.eden_for_pause(pretenuring_.survival());
  if (bytes >= nursery_.eden_capacity()) return;
  std::byte* end = nursery_.eden_start() + align_down(bytes, kWordSize);
  if (eden_limit_ > end) {
    eden_limit_ = std::max(end, mutator_.top);
    set_limit();
  }
}

void Heap::resize_eden(std::size_t bytes) {
  MARROW_DCHECK(pretenuring_.eden_top() == nursery_.eden_start(), "eden is resized empty");
  nursery_.resize_eden(bytes);
  events_.stats().eden_bytes = nursery_.eden_capacity();
  eden_limit_ = nursery_.eden_end();
  clamp_eden_limit();
  set_limit();
}

bool Heap::poll_for_quiet() {
  if (policy_.quiet_phase(HeapPolicy::Clock::now(), old_generation_bytes())) {
    collect(GcKind::kMajor, GcReason::kShrink);
    return true;
  }
  eden_poll_ = mutator_.top + HeapPolicy::kShrinkPollBytes;
  set_limit();
  return false;
}

// ---- Incremental marking's pace ----------------------------------------------------------

void Heap::schedule_marking() {
  if (!marking_.active())
    marking_poll_ = lazy_sweep_.pending()
                        ? std::min(mutator_.top + kMarkingStepBytes, nursery_.eden_end())
                        : nullptr;
  else if (marking_.done())
    marking_poll_ = mutator_.top;  // the remark is due
  else
    marking_poll_ = std::min(mutator_.top + kMarkingStepBytes, nursery_.eden_end());
}

void Heap::poll_marking() {
  if (!marking_.active()) {
    if (lazy_sweep_.pending()) {
      collect(GcKind::kSweepStep, GcReason::kAllocation);
      return;
    }
    marking_poll_ = nullptr;
    set_limit();
  } else if (marking_.done()) {
    // The remark empties the nursery: right after a minor collection (or while
    // pretenuring leaves eden empty) that copies only the survivors, not a full eden.
    if (pretenuring_.active() ||
        std::size_t(mutator_.top - nursery_.eden_start()) < kMarkingStepBytes) {
      collect(GcKind::kMajor, GcReason::kHeapGrowth);
    } else {
      marking_poll_ = nullptr;  // the next minor collection is followed by the remark
      set_limit();
    }
  } else if (std::size_t due = marking_step_budget(); marking_credit_ >= due) {
    // Idle time marked ahead: this step's share is done already.
    marking_credit_ -= due;
    marking_old_debt_ = 0;
    schedule_marking();
    set_limit();
  } else {
    collect(GcKind::kMarkStep, GcReason::kAllocation);
  }
}

void Heap::marking_charge(std::size_t bytes) {
  if (!marking_.active() && !lazy_sweep_.pending()) return;
  marking_old_debt_ += bytes;
  if (marking_old_debt_ >= kMarkingStepBytes) poll_marking();
}

void Heap::stress_marking() {
  if (marking_.active()) {
    collect(marking_.done() ? GcKind::kMajor : GcKind::kMarkStep, GcReason::kStress);
  } else if (lazy_sweep_.pending()) {
    collect(GcKind::kSweepStep, GcReason::kStress);
  } else if (stress_marking_countdown_ <= 1) {
    stress_marking_countdown_ = config_.stress_incremental;
    collect(GcKind::kMarkStart, GcReason::kStress);
  } else {
    --stress_marking_countdown_;
  }
}

void Heap::collect_increment(GcKind kind, GcReason reason) {
  begin_collection(kind == GcKind::kMarkStart);
  // A step's share of the pause goal: half of it, the rest for the mutator's share of
  // the cycle's work (its barrier) and the clock's noise.
  // In idle time, the embedder's deadline (the budget is then the clock's alone).
  bool idle = reason == GcReason::kIdle;
  auto deadline =
      idle ? idle_deadline_
           : events_.current().start +
                 std::chrono::microseconds(std::int64_t(config_.pause_target_ms * 1000.0 / 2));
  // What the mutator allocated since the last step (a step every kMarkingStepBytes of
  // eden, or of old space).
  std::size_t allocated = std::max(kMarkingStepBytes, marking_old_debt_);
  std::size_t promoted = 0;
  std::size_t owed = 0;
  if (kind == GcKind::kSweepStep) {
    enter_phase(GcPhase::kSweep);
    // Sweeping is a walk of headers, cheaper than marking: kSweepPagesPerStep pages for a
    // step's allocation, and at least a 32nd of what is left, so that old space is swept
    // within a few dozen steps, long before the next cycle needs it swept.
    // Once the next cycle is due (it waits for the sweep: marking_should_start), everything
    // left, within the step's deadline.
    std::size_t pages = idle || policy_.marking_should_start(old_generation_bytes())
                            ? lazy_sweep_.pages_left()
                            : std::max(kSweepPagesPerStep * allocated / kMarkingStepBytes,
                                       lazy_sweep_.pages_left() / 32);
    lazy_sweep_.sweep_some(*this, pages, deadline);
  } else if (kind == GcKind::kMarkStart && !marking_.active()) {
    enter_phase(GcPhase::kSweep);
    lazy_sweep_.finish(*this);  // marking starts from a swept heap (no mark bits left)
    enter_phase(GcPhase::kEvacuate);
    promoted = evacuate_nursery(true);  // the snapshot holds no young objects
    remembered_.clear();
    marking_.start(*this);
    marking_work_ = old_generation_bytes();
    marking_pretenured_charged_ = events_.stats().bytes_pretenured;
    marking_credit_ = 0;
  } else if (marking_.active()) {
    // The stress mode's steps are tiny, the others scan marking_rate bytes per byte.
    std::size_t budget = reason == GcReason::kStress ? kMinObjectSize * 4
                         : idle                      ? ~std::size_t{0}
                                                     : marking_step_budget();
    if (reason == GcReason::kAllocation) {  // what idle time marked ahead counts
      std::size_t credit = std::min(budget, marking_credit_);
      budget -= credit;
      marking_credit_ -= credit;
    }
    std::size_t scanned = marking_.step(*this, budget, deadline);
    if (idle) marking_credit_ += scanned;
    events_.current().marked_bytes = scanned;
    // What the step could not do in time is owed by the next ones (a bounded debt: the
    // remark takes what is left when the trigger comes first).
    if (scanned < budget && !marking_.done() && !idle)
      owed = std::min(std::size_t(double(budget - scanned) / config_.marking_rate),
                      4 * kMarkingStepBytes);
  }
  marking_old_debt_ = owed;
  schedule_marking();
  end_collection(kind, reason, promoted);
}

// ---- The slow path -------------------------------------------------------------------------

std::byte* Heap::allocate_slow(std::size_t size) {
  check_may_collect("allocating");
  check_size(size);
  if (size > config_.large_object_bytes) return allocate_large(size);

  if (config_.stress_interval != 0 && --stress_countdown_ == 0) collect_for_stress();
  if (config_.stress_incremental != 0) stress_marking();
  for (;;) {
    // A collection may have opened a pretenuring window; when one closes, eden is empty.
    if (pretenuring_.active()) {
      if (std::byte* p = allocate_pretenured(size)) return p;
      continue;  // the window is over (or a collection closed it): eden from here
    }
    if (std::size_t(eden_limit_ - mutator_.top) >= size) {
      if (marking_poll_ != nullptr && marking_poll_ < mutator_.top + size &&
          config_.stress_incremental == 0) {
        poll_marking();  // a step (and the next poll point), or the remark
        continue;
      }
      if (eden_poll_ == nullptr || std::size_t(eden_poll_ - mutator_.top) >= size) break;
      poll_for_quiet();  // moves the poll point on, or collects
      continue;
    }
    // The remark waits for this minor collection when marking was done before it: the
    // objects it promotes are then left to the remark (a nursery's worth at most), or a
    // workload that promotes at every minor collection would never see marking done.
    bool remark_due = marking_.active() && marking_.done();
    collect(GcKind::kMinor, GcReason::kAllocation);
    if (remark_due || marking_.done()) {
      collect(GcKind::kMajor, GcReason::kHeapGrowth);  // the remark, with eden empty
    } else if (marking_should_start()) {
      collect(GcKind::kMarkStart, GcReason::kHeapGrowth);
    } else if ((marking_.active() || lazy_sweep_.pending()) &&
               std::size_t(eden_limit_ - nursery_.eden_start()) < 2 * kMarkingStepBytes) {
      poll_marking();  // an eden smaller than a step never reaches its poll point
    }
    if (policy_.old_generation_full(old_generation_bytes(), 0))
      collect(GcKind::kMajor, GcReason::kHeapGrowth);
    enforce_heap_limit(0, size);  // leaves eden room for `size`, or throws
  }
  std::byte* p = mutator_.top;
  mutator_.top += size;
  set_limit();
  return p;
}

void Heap::collect_for_stress() {
  stress_countdown_ = config_.stress_interval;
  static constexpr GcKind kCycle[] = {GcKind::kMinor, GcKind::kMajor, GcKind::kCompact};
  // Every other stress collection opens a pretenuring window that lasts until the next
  // one, so stress runs allocate straight into old space as well as into eden.
  bool window = stress_cycle_ % 2 != 0 && config_.pretenure_survival > 0;
  pretenuring_.set_stress_window(window ? nursery_.eden_capacity() : 0);
  collect(kCycle[stress_cycle_++ % 3], GcReason::kStress);
  enforce_heap_limit(0, kMinObjectSize);
}

std::byte* Heap::allocate_pretenured(std::size_t size) {
  pretenuring_.sync();
  if (marking_.active() || lazy_sweep_.pending()) {
    // Steps of marking, or of sweeping, per kMarkingStepBytes pretenured: eden's poll
    // points pace them otherwise, and a window leaves eden empty.
    std::size_t pretenured = events_.stats().bytes_pretenured;
    marking_charge(pretenured - std::min(pretenured, marking_pretenured_charged_));
    marking_pretenured_charged_ = pretenured;
    if (!pretenuring_.active()) return nullptr;  // the step's pause ended the window
  }
  if (pretenuring_.left() == 0) {
    // The window is over. The next minor collection decides whether another opens; it
    // comes after a quarter of eden, which is enough to tell and copies less if the
    // answer is yes again.
    eden_limit_ = nursery_.eden_start() + align_up(probe_bytes(), kWordSize);
    pretenuring_.stop();
    limit_eden_for_pause();
    clamp_eden_limit();
    set_limit();
    return nullptr;
  }
  if (marking_should_start()) collect(GcKind::kMarkStart, GcReason::kHeapGrowth);
  if (policy_.old_generation_full(old_generation_bytes(), 0))
    collect(GcKind::kMajor, GcReason::kHeapGrowth);
  enforce_heap_limit(size);
  if (!pretenuring_.active()) return nullptr;  // a collection closed the window
  std::byte* p = old_.allocate(size);
  if (p == nullptr) throw OutOfMemory("marrow: out of memory: the OS refused a page for old space");
  if (marking_.active()) marking_.allocated(p, p + size);
  pretenuring_.charge(size);
  pretenuring_.relend();
  set_limit();
  return p;
}

std::byte* Heap::allocate_large(std::size_t size) {
  marking_charge(size);  // before: a step must not meet the new object without its header
  if (marking_should_start()) collect(GcKind::kMarkStart, GcReason::kHeapGrowth);
  if (policy_.old_generation_full(old_generation_bytes(), size))
    collect(GcKind::kMajor, GcReason::kHeapGrowth);
  enforce_heap_limit(PageProvider::run_charge(size));
  std::byte* p = large_.allocate(size);
  if (p == nullptr) {
    collect(GcKind::kCompact, GcReason::kHeapLimit);
    p = large_.allocate(size);
    if (p == nullptr)
      throw OutOfMemory(
          fmt::format("marrow: out of memory: the OS refused {} bytes for a large object", size));
  }
  other_allocated_ += size;
  if (marking_.active()) marking_.allocated(p, p + size);  // scanned once its header is written
  return p;
}

std::byte* Heap::allocate_immortal(std::size_t size) {
  check_may_collect("make_immortal");
  check_size(size);
  if (size > kPageSize - Page::header_bytes(kPageSize))
    throw InvalidSize(
        fmt::format("marrow: immortal objects are limited to one page ({} bytes requested)", size));
  enforce_heap_limit(size);
  std::byte* p = immortal_.allocate(size);
  if (p == nullptr) throw OutOfMemory("marrow: out of memory: no page for an immortal object");
  other_allocated_ += size;
  events_.stats().immortal_bytes += size;
  return p;
}

}  // namespace marrow::internal
