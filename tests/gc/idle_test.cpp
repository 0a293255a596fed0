// Tests gc/src/idle.cpp (rt.idle): what idle time does and does not do. A deadline already
// past does nothing; a half-full eden is collected and a nearly empty one is not; a running
// marking cycle is finished (steps, the remark) and its sweep done, within generous
// deadlines, with the data intact; the work shows as GcReason::kIdle events; the return
// value says whether work remains. The estimates idle time goes by are tested in
// policy_test.cpp, the refusal inside a finalizer in runtime/misuse_test.cpp.
//
// In the stress runs every allocation collects, so eden never fills: where a test depends
// on eden's fill it asserts what must hold for the fill it finds.
#include <chrono>
#include <cstdint>
#include <vector>

#include "test_support.hpp"

using marrow::GcKind;
using marrow::GcReason;
using mt::Node;
using Clock = std::chrono::steady_clock;

namespace {

namespace mi = marrow::internal;

/// The events rt.idle produced, by kind.
struct IdleEvents {
  std::vector<marrow::GcEvent> all;
  std::size_t count(GcKind kind) const {
    std::size_t n = 0;
    for (const auto& e : all) n += e.kind == kind ? 1 : 0;
    return n;
  }
};

/// Listens for events with reason kIdle (and counts the others) while in scope.
struct IdleListener {
  marrow::Runtime& rt;
  IdleEvents idle;
  std::size_t other = 0;
  std::uint64_t id;
  explicit IdleListener(marrow::Runtime& r) : rt(r) {
    id = rt.on_gc([this](const marrow::GcEvent& e) {
      if (e.reason == GcReason::kIdle)
        idle.all.push_back(e);
      else
        ++other;
    });
  }
  ~IdleListener() { rt.remove_gc_listener(id); }
};

/// Eden's fill (while a pretenuring window is open the mutator allocates in old space and
/// eden is empty).
std::size_t eden_used(mi::Heap& heap) {
  if (heap.pretenuring_.active()) return 0;
  return std::size_t(heap.mutator_.top - heap.nursery_.eden_start());
}
std::size_t eden_room(mi::Heap& heap) {
  return std::size_t(heap.eden_limit_ - heap.nursery_.eden_start());
}

marrow::Config incremental_config() {
  marrow::Config base;
  base.incremental_marking = true;
  base.marking_rate = 0.001;  // allocation-paced steps mark almost nothing
  base.verify_heap = true;
  return mt::config(base);
}

}  // namespace

TEST_CASE("idle with a deadline already past does nothing") {
  marrow::Runtime rt(incremental_config());
  mi::Heap& heap = rt.heap_for_internal_use();
  marrow::HandleScope scope(rt);
  auto table = rt.make_sized<mt::Table>(mt::table_extra(8), std::size_t{8});
  mt::hang_lists(rt, table, mt::scaled(2000, 50));
  heap.collect(GcKind::kMarkStart, GcReason::kRequested);  // work idle time could do
  REQUIRE(heap.marking_.active());
  IdleListener listener(rt);
  CHECK(rt.idle(Clock::now() - std::chrono::milliseconds(1)));  // the cycle still runs
  CHECK(listener.idle.all.empty());
  CHECK(listener.other == 0);
  CHECK(heap.marking_.active());
  // Nor does a deadline too close to fit anything.
  CHECK(rt.idle(Clock::now() + std::chrono::microseconds(20)));
  CHECK(listener.idle.all.empty());
}

TEST_CASE("idle finishes a running marking cycle, then its sweep, and keeps what is live") {
  marrow::Runtime rt(incremental_config());
  mi::Heap& heap = rt.heap_for_internal_use();
  marrow::HandleScope scope(rt);
  constexpr std::size_t kLists = 16;
  std::size_t length = mt::scaled(4000, 40);
  auto table = rt.make_sized<mt::Table>(mt::table_extra(kLists), kLists);
  mt::hang_lists(rt, table, length);
  for (int i = 0; i < 2000; ++i) rt.make<Node>(-2);  // garbage, young
  heap.collect(GcKind::kMarkStart, GcReason::kRequested);
  REQUIRE(heap.marking_.active());
  IdleListener listener(rt);
  // Generous: nothing here takes more than a few milliseconds, even under sanitizers.
  bool more = rt.idle(Clock::now() + std::chrono::seconds(5));
  CHECK_FALSE(more);
  CHECK_FALSE(heap.marking_.active());
  CHECK_FALSE(heap.lazy_sweep_.pending());
  CHECK(listener.other == 0);  // nothing but idle work ran
  // The cycle's end is a remark (a major with `incremental` set), in idle time.
  bool remarked = false;
  for (const auto& e : listener.idle.all) remarked |= e.kind == GcKind::kMajor && e.incremental;
  CHECK(remarked);
  CHECK(listener.idle.count(GcKind::kMarkStep) >= 1);   // the start left the marking to do
  CHECK(listener.idle.count(GcKind::kMarkStart) == 0);  // not a second cycle
  CHECK(mt::lists_intact(table.get(), length));
  MT_CHECK_SOUND(rt);
  // Nothing left: another call does nothing and says so.
  listener.idle.all.clear();
  CHECK_FALSE(rt.idle(Clock::now() + std::chrono::seconds(1)));
  CHECK(listener.idle.all.empty());
}

TEST_CASE("idle collects eden when it is at least half full, not when it is nearly empty") {
  marrow::Runtime rt(mt::config());
  mi::Heap& heap = rt.heap_for_internal_use();
  marrow::HandleScope scope(rt);
  auto keep = rt.make<Node>(1);
  rt.collect(GcKind::kMinor);
  {
    IdleListener listener(rt);
    rt.make<Node>(2);  // a few bytes: not worth a collection
    bool minor_worth = eden_used(heap) >= eden_room(heap) / 2 && eden_used(heap) >= (64u << 10);
    rt.idle(Clock::now() + std::chrono::seconds(1));
    CHECK(listener.idle.count(GcKind::kMinor) == (minor_worth ? 1 : 0));
  }
  // Fill eden past half with garbage (a stress run collects at every allocation instead).
  std::size_t target = eden_room(heap) / 2 + 4096;
  for (std::size_t i = 0;
       i < mt::scaled((std::size_t{64} << 20) / sizeof(Node), 2000) && eden_used(heap) < target;
       ++i) {
    marrow::HandleScope inner(rt);
    rt.make<Node>(-1);
  }
  bool minor_worth = eden_used(heap) >= eden_room(heap) / 2 && eden_used(heap) >= (64u << 10);
  CHECK(minor_worth == !mt::stress());
  IdleListener listener(rt);
  auto before = rt.stats().minor_collections;
  rt.idle(Clock::now() + std::chrono::seconds(1));
  CHECK(listener.idle.count(GcKind::kMinor) == (minor_worth ? 1 : 0));
  CHECK(rt.stats().minor_collections == before + (minor_worth ? 1 : 0));
  if (minor_worth) CHECK(eden_used(heap) < target / 2);  // eden was emptied
  CHECK(rt.stats().collections_by_reason[std::size_t(GcReason::kIdle)] >= listener.idle.all.size());
  CHECK(keep->id == 1);
  MT_CHECK_SOUND(rt);
}

TEST_CASE("idle runs no major collection while the old generation is far from its trigger") {
  marrow::Runtime rt(mt::config());
  mi::Heap& heap = rt.heap_for_internal_use();
  marrow::HandleScope scope(rt);
  std::size_t length = mt::scaled(1000, 20);
  auto table = rt.make_sized<mt::Table>(mt::table_extra(4), std::size_t{4});
  mt::hang_lists(rt, table, length);
  rt.collect(GcKind::kMajor);  // the trigger is now far above what is live
  rt.collect(GcKind::kMinor);
  REQUIRE_FALSE(heap.policy_.major_due_soon(heap.old_generation_bytes()));
  IdleListener listener(rt);
  bool more = rt.idle(Clock::now() + std::chrono::seconds(1));
  CHECK(more == (heap.marking_.active() || heap.lazy_sweep_.pending()));
  // Only a remark may be a major here: in the incremental stress run a cycle may be open.
  for (const auto& e : listener.idle.all) {
    CHECK_FALSE((e.kind == GcKind::kMajor && !e.incremental));
    CHECK(e.kind != GcKind::kMarkStart);
  }
  CHECK(mt::lists_intact(table.get(), length));
}

TEST_CASE("marking that idle time did ahead spares the allocation-paced steps it covers") {
  marrow::Runtime rt(incremental_config());
  mi::Heap& heap = rt.heap_for_internal_use();
  marrow::HandleScope scope(rt);
  auto table = rt.make_sized<mt::Table>(mt::table_extra(8), std::size_t{8});
  std::size_t length = mt::scaled(4000, 40);
  mt::hang_lists(rt, table, length);
  // Allocation-paced marking steps while `bytes` of garbage are allocated in a cycle.
  auto paced_steps = [&](std::size_t credit) {
    heap.collect(GcKind::kMarkStart, GcReason::kRequested);
    REQUIRE(heap.marking_.active());
    heap.marking_credit_ = credit;
    std::size_t steps = 0;
    auto id = rt.on_gc([&](const marrow::GcEvent& e) {
      steps += e.kind == GcKind::kMarkStep && e.reason == GcReason::kAllocation ? 1 : 0;
    });
    for (std::size_t i = 0; i < mt::scaled(60000, 200) && heap.marking_.active(); ++i) {
      marrow::HandleScope inner(rt);
      rt.make<Node>(-1);
    }
    rt.remove_gc_listener(id);
    if (heap.marking_.active()) heap.collect(GcKind::kMajor, GcReason::kHeapGrowth);
    return steps;
  };
  std::size_t without = paced_steps(0);
  std::size_t with = paced_steps(std::size_t{1} << 40);  // far more than the cycle needs
  // 60,000 nodes are more than 2 MiB: several steps' worth, however eden is sized (a
  // stress run collects at every allocation instead and paces nothing).
  if (!mt::stress()) CHECK(without >= 2);
  CHECK(with == 0);
  CHECK(mt::lists_intact(table.get(), length));
  MT_CHECK_SOUND(rt);
}
