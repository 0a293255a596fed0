// Idle time: rt.idle(deadline) gives the collector the embedder's spare time (the rest of
// a frame, a wait for input), so that work due soon is done there instead of inside the
// embedder's own time (docs/tuning.md, "Idle time"). It decides from the estimates the
// policy keeps (copying speed, the last remarks, the marking speed) what fits, and runs
// each piece as a collection with GcReason::kIdle. Never allocates managed memory.
#include <algorithm>

#include "marrow/gc/heap.hpp"

namespace marrow::internal {

namespace {
/// Below this much time left, a piece of work would cost more in fixed costs (an event,
/// the clock) than it does.
constexpr std::chrono::microseconds kLeastIdle{100};
/// The eden bytes below which a minor collection in idle time spares nothing worth it.
constexpr std::size_t kLeastEden = std::size_t{64} << 10;
}  // namespace

bool Heap::idle(std::chrono::steady_clock::time_point deadline) {
  check_may_collect("idle()");
  using Clock = std::chrono::steady_clock;
  idle_deadline_ = deadline;
  auto left = [&] { return deadline - Clock::now(); };
  auto fits = [&](std::chrono::nanoseconds cost) { return cost + kLeastIdle <= left(); };
  // Each turn does one piece of work or stops; every piece makes progress (a minor
  // collection empties eden, a step runs until the deadline or marking is done, a sweep
  // step until the deadline or the sweep is), so the loop ends.
  while (left() > kLeastIdle) {
    pretenuring_.sync();
    std::size_t eden_used =
        pretenuring_.active() ? 0 : std::size_t(mutator_.top - nursery_.eden_start());
    std::size_t eden_room = std::size_t(eden_limit_ - nursery_.eden_start());
    // The copy a minor collection (or a remark, or a cycle's start) makes of the nursery:
    // eden at the recent survival rate, counted at least half surviving as eden's sizing
    // does (HeapPolicy::eden_for_pause), and the survivors.
    double survival = std::max(pretenuring_.survival(), 0.5);
    auto copy_time = [&](std::size_t eden) {
      return policy_.copy_time(std::size_t(double(eden) * survival) + nursery_.from_space().used());
    };
    auto nursery_copy = copy_time(eden_used);
    // Worth it at half of eden, or sooner when eden grows so fast that by the next call
    // (growing as much as since the last) its copy would no longer fit this much time.
    std::size_t grown = eden_used - std::min(eden_used, idle_eden_seen_);
    bool minor_worth = eden_used >= kLeastEden &&
                       (eden_used >= eden_room / 2 || !fits(copy_time(eden_used + grown)));

    if (marking_.done() && fits(policy_.remark_time())) {
      collect(GcKind::kMajor, GcReason::kIdle);  // the remark
      continue;
    }
    if (minor_worth && fits(nursery_copy)) {  // when the remark does not fit, it shortens it
      collect(GcKind::kMinor, GcReason::kIdle);
      continue;
    }
    if (marking_.done()) break;  // the remark does not fit
    if (marking_.active()) {
      collect(GcKind::kMarkStep, GcReason::kIdle);  // to the deadline, or to the end
      continue;
    }
    if (lazy_sweep_.pending()) {
      collect(GcKind::kSweepStep, GcReason::kIdle);
      continue;
    }
    if (marking_should_start()) {
      if (!fits(nursery_copy)) break;
      collect(GcKind::kMarkStart, GcReason::kIdle);
      continue;
    }
    if (!config_.incremental_marking && policy_.major_due_soon(old_generation_bytes())) {
      auto cost = policy_.major_time();
      if (cost.count() > 0 && fits(cost + nursery_copy)) collect(GcKind::kMajor, GcReason::kIdle);
    }
    break;
  }
  idle_eden_seen_ = pretenuring_.active() ? 0 : std::size_t(mutator_.top - nursery_.eden_start());
  return marking_.active() || lazy_sweep_.pending();
}

}  // namespace marrow::internal
