// Tests gc/src/policy.cpp: HeapPolicy's formulas directly (trigger, growth, compaction choice,
// page retention, limit), and in a runtime: page retention after growth, fragmentation.
#include <algorithm>
#include <chrono>
#include <cstdint>

#include "test_support.hpp"

using marrow::GcKind;
using marrow::GcReason;
using marrow::internal::HeapPolicy;
using marrow::internal::kPageSize;
using marrow::internal::OldSpaceCensus;
using mt::Node;

namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

/// A census of `pages` occupied pages of which `live_fraction` is live.
OldSpaceCensus census(std::size_t pages, double live_fraction, std::size_t free_list_bytes) {
  OldSpaceCensus c;
  c.occupied_pages = pages;
  c.occupied_area = pages * kPageSize;
  c.live_bytes = std::size_t(live_fraction * double(c.occupied_area));
  c.free_list_bytes = free_list_bytes;
  return c;
}

}  // namespace

TEST_CASE("policy: the first trigger, and half the room a heap limit leaves") {
  marrow::Config cfg;
  cfg.initial_old_trigger_bytes = 16 * kMiB;
  HeapPolicy policy(cfg);
  CHECK(policy.old_generation_room(4 * kMiB) == SIZE_MAX);  // no limit: unbounded
  policy.start(4 * kMiB);
  CHECK(policy.next_major_trigger() == 16 * kMiB);
  CHECK_FALSE(policy.old_generation_full(16 * kMiB - 1, 0));
  CHECK(policy.old_generation_full(16 * kMiB - 1, 1));  // the extra counts (a large object)
  CHECK(policy.old_generation_full(16 * kMiB, 0));

  cfg.heap_limit_bytes = 20 * kMiB;
  CHECK(policy.old_generation_room(4 * kMiB) == 16 * kMiB);
  CHECK(policy.old_generation_room(32 * kMiB) == 0);  // a nursery above the limit leaves none
  policy.start(4 * kMiB);
  CHECK(policy.next_major_trigger() == 8 * kMiB);
  cfg.heap_limit_bytes = 64 * kMiB;  // room 60 MiB: half of it is more than the initial trigger
  policy.start(4 * kMiB);
  CHECK(policy.next_major_trigger() == 16 * kMiB);
}

TEST_CASE("policy: after a major, the trigger grows with what it kept, capped by the limit") {
  marrow::Config cfg;
  cfg.initial_old_trigger_bytes = 16 * kMiB;
  cfg.growth_factor = 2.0;
  HeapPolicy policy(cfg);
  policy.after_major(4 * kMiB, 0);  // small heap: the floor, live + initial trigger
  CHECK(policy.next_major_trigger() == 20 * kMiB);
  CHECK(policy.live_after_major() == 4 * kMiB);
  policy.after_major(64 * kMiB, 0);  // large heap, a new peak: half the growth
  CHECK(policy.next_major_trigger() == 96 * kMiB);
  CHECK(policy.live_after_major() == 64 * kMiB);
  policy.after_major(40 * kMiB, 0);  // below the peak: growth_factor x live
  CHECK(policy.next_major_trigger() == 80 * kMiB);
  policy.after_major(56 * kMiB, 0);  // growth_factor x live up to the peak, 96 MiB
  CHECK(policy.next_major_trigger() == 96 * kMiB);
  policy.after_major(8 * kMiB, 0);  // memory given back: the peak is forgotten
  policy.forget_peak();
  CHECK(policy.next_major_trigger() == 24 * kMiB);
  policy.after_major(40 * kMiB, 0);
  CHECK(policy.next_major_trigger() == 60 * kMiB);
  cfg.growth_factor = 3.0;
  policy.after_major(64 * kMiB, 0);  // a new peak at growth factor 3: 2 x live
  CHECK(policy.next_major_trigger() == 128 * kMiB);
  policy.after_major(32 * kMiB, 0);
  CHECK(policy.next_major_trigger() == 96 * kMiB);

  cfg.heap_limit_bytes = 100 * kMiB;
  policy.after_major(64 * kMiB, 4 * kMiB);  // capped at the room the limit leaves
  CHECK(policy.next_major_trigger() == 96 * kMiB);
  policy.after_major(98 * kMiB, 4 * kMiB);  // but at least live + one page
  CHECK(policy.next_major_trigger() == 98 * kMiB + kPageSize);
}

TEST_CASE("policy: incremental marking starts a marking runway short of the trigger") {
  marrow::Config cfg;
  cfg.initial_old_trigger_bytes = 16 * kMiB;
  cfg.growth_factor = 2.0;
  cfg.incremental_marking = true;
  cfg.marking_rate = 8;
  HeapPolicy policy(cfg);
  policy.after_major(64 * kMiB, 0);  // sets the peak at 96 MiB
  policy.after_major(40 * kMiB, 0);  // trigger 80 MiB: 40 MiB of room
  REQUIRE(policy.next_major_trigger() == 80 * kMiB);
  // At rate 8 a cycle marks the 40 live MiB and what is allocated meanwhile, 40/7 MiB of
  // allocation; with half again to spare and 4 MiB, about 12.6 MiB before the trigger.
  std::size_t runway = policy.marking_runway();
  CHECK(runway > 12 * kMiB);
  CHECK(runway < 13 * kMiB);
  CHECK_FALSE(policy.marking_should_start(80 * kMiB - runway - 1));
  CHECK(policy.marking_should_start(80 * kMiB - runway));
  CHECK_FALSE(policy.marking_should_start(60 * kMiB));  // not half-way any more
  // A slower pace needs more runway than half the room: the start stays half-way.
  cfg.marking_rate = 4;  // 1.5 x 40 / 3 + 4 = 24 MiB
  CHECK(policy.marking_runway() == 24 * kMiB);
  CHECK_FALSE(policy.marking_should_start(60 * kMiB - 1));
  CHECK(policy.marking_should_start(60 * kMiB));
  cfg.marking_rate = 0.5;  // below 2: as if 2, still half-way
  CHECK_FALSE(policy.marking_should_start(60 * kMiB - 1));
  CHECK(policy.marking_should_start(60 * kMiB));
}

TEST_CASE(
    "policy: compaction when asked, or when fragmented and the last sweep's holes sit unused") {
  marrow::Config cfg;
  cfg.compaction_threshold = 0.5;
  HeapPolicy policy(cfg);
  CHECK(policy.should_compact(true, OldSpaceCensus{}));  // asked: always
  // 60% of 8 pages not live, but no sweep has left evidence yet: sweep first.
  CHECK_FALSE(policy.should_compact(false, census(8, 0.4, 4 * kMiB)));
  policy.record_sweep(false, 4 * kMiB, 0);
  CHECK(policy.should_compact(false, census(8, 0.4, 2 * kMiB)));            // half still unused
  CHECK_FALSE(policy.should_compact(false, census(8, 0.4, 2 * kMiB - 8)));  // refilled
  CHECK_FALSE(policy.should_compact(false, census(7, 0.4, 4 * kMiB)));      // too few pages
  CHECK_FALSE(policy.should_compact(false, census(8, 0.5, 4 * kMiB)));      // not above threshold
  CHECK(policy.should_compact(false, census(8, 0.49, 4 * kMiB)));
  CHECK_FALSE(policy.should_compact(false, OldSpaceCensus{}));  // nothing occupied
  // After a compaction there is no evidence again: the next major sweeps.
  policy.record_sweep(true, 4 * kMiB, 0);
  CHECK_FALSE(policy.should_compact(false, census(8, 0.4, 4 * kMiB)));
  CHECK(policy.should_compact(true, census(8, 0.4, 4 * kMiB)));
}

TEST_CASE("policy: pages kept mapped: page_reserve, or the room to the next growth trigger") {
  marrow::Config cfg;
  cfg.initial_old_trigger_bytes = 16 * kMiB;
  cfg.growth_factor = 2.0;
  cfg.page_reserve = 8;
  HeapPolicy policy(cfg);
  policy.after_major(4 * kMiB, 0);  // trigger 20 MiB
  CHECK(policy.pages_to_keep(GcReason::kRequested, 0) == 8);
  CHECK(policy.pages_to_keep(GcReason::kHeapLimit, 0) == 8);
  // Growth-triggered: what the old generation may still grow into beyond its free lists.
  CHECK(policy.pages_to_keep(GcReason::kHeapGrowth, 2 * kMiB) == (20 - 4 - 2) * kMiB / kPageSize);
  CHECK(policy.pages_to_keep(GcReason::kHeapGrowth, 16 * kMiB) == 8);  // no room: the reserve
  CHECK(policy.pages_to_keep(GcReason::kHeapGrowth, 15 * kMiB + kMiB / 2) == 8);  // 2 < 8
  cfg.page_reserve = 0;
  CHECK(policy.pages_to_keep(GcReason::kHeapGrowth, 16 * kMiB) == 0);
  cfg.heap_limit_bytes = 256 * kMiB;  // with a limit, only the reserve
  CHECK(policy.pages_to_keep(GcReason::kHeapGrowth, 2 * kMiB) == 0);
}

TEST_CASE("policy: fragmentation counts holes between objects, not the ends of pages") {
  marrow::Config cfg;
  HeapPolicy policy(cfg);
  CHECK(policy.fragmentation(0, 1000) == 0.0);
  CHECK(policy.fragmentation(1000, 3000) == 0.25);  // no page tails recorded yet
  policy.record_sweep(false, 1000, 200);
  CHECK(policy.fragmentation(1000, 800) == 0.5);  // 800 of holes, 800 live
  CHECK(policy.fragmentation(200, 800) == 0.0);   // only the page tails are free
  CHECK(policy.fragmentation(100, 800) == 0.0);
}

TEST_CASE("policy: promotion need and the eden budget under a limit") {
  using marrow::internal::kPageSize;
  // Promotion needs new pages only beyond what old space can reuse, with an eighth more.
  CHECK(HeapPolicy::promotion_need(0, 0) == 0);
  CHECK(HeapPolicy::promotion_need(8000, 9000) == 0);
  CHECK(HeapPolicy::promotion_need(8000, 8000) == kPageSize);  // 9000 > 8000 reusable
  CHECK(HeapPolicy::promotion_need(kPageSize, 0) == 2 * kPageSize);
  // Parallel scavengers each hold a claim that may end unfinished: a chunk each is reserved.
  CHECK(HeapPolicy::promotion_need(8000, 9000 + 4 * HeapPolicy::kPromotionChunk, 4) == 0);
  CHECK(HeapPolicy::promotion_need(8000, 9000 + 4 * HeapPolicy::kPromotionChunk, 8) ==
        kPageSize);  // 8 claims
  marrow::Config cfg;
  HeapPolicy policy(cfg);
  constexpr std::size_t kEden = 4 * kMiB;
  CHECK(policy.eden_budget(SIZE_MAX / 2, 0, 0, kEden, 0) == kEden);  // no limit: all of eden
  cfg.heap_limit_bytes = 10 * kMiB;
  CHECK(policy.eden_budget(2 * kMiB, 0, 0, kEden, 0) == kEden);  // far below: all of eden
  CHECK(policy.eden_budget(11 * kMiB, 0, 0, kEden, 0) == 0);     // over: nothing
  // Close to the limit: what is left, less an eighth, less the survivors to be promoted.
  std::size_t b = policy.eden_budget(9 * kMiB, 0, 64 << 10, kEden, 0);
  CHECK(b < kMiB);
  CHECK(HeapPolicy::promotion_need(b + (64 << 10), 0) <= kMiB);
  CHECK(HeapPolicy::promotion_need(b + (64 << 10) + kPageSize, 0) > kMiB);  // and no more
  // Reusable old space adds to the room; extra new pages take from it.
  CHECK(policy.eden_budget(9 * kMiB, 0, 0, kEden, kMiB) > b);
  CHECK(policy.eden_budget(9 * kMiB, kMiB, 0, kEden, 0) == 0);
  // With parallel scavengers the budget leaves their claims room, and no more.
  cfg.gc_threads = 4;
  std::size_t b4 = policy.eden_budget(9 * kMiB, 0, 64 << 10, kEden, 0);
  CHECK(b4 < b);
  CHECK(HeapPolicy::promotion_need(b4 + (64 << 10), 0, 4) <= kMiB);
  CHECK(HeapPolicy::promotion_need(b4 + (64 << 10) + kPageSize, 0, 4) > kMiB);
}

TEST_CASE("a growth-triggered major keeps freed pages for regrowth; rt.collect returns them") {
  marrow::Config cfg;
  cfg.nursery_bytes = 256 << 10;
  cfg.page_reserve = 0;
  cfg.pretenure_survival = 0;
  cfg.initial_old_trigger_bytes = 4 << 20;
  marrow::Runtime rt(mt::config(cfg));
  marrow::HandleScope scope(rt);
  const auto growth = std::size_t(marrow::GcReason::kHeapGrowth);
  // Lists of 1 MiB, each promoted and then dropped, until a growth-triggered major
  // collection has freed some of them.
  auto head = rt.make<Node>(-1);
  // (Stress collections are never growth-triggered: there a few rounds only check soundness.)
  const std::size_t max_rounds = mt::scaled(200, 2);
  const int nodes = static_cast<int>(mt::scaled(25000, 300));
  std::size_t rounds = 0;
  while (rt.stats().collections_by_reason[growth] < 2 && rounds < max_rounds) {
    ++rounds;
    head->next = nullptr;
    for (int i = 0; i < nodes; ++i) {
      marrow::HandleScope inner(rt);
      auto x = rt.make<Node>(i);
      x->next = head->next;
      head->next = x;
    }
  }
  if (!mt::stress()) REQUIRE(rt.stats().collections_by_reason[growth] >= 2);
  head->next = nullptr;
  marrow::HeapStats before = rt.stats();
  rt.collect(GcKind::kMajor);  // requested: only page_reserve (0) pages stay mapped
  marrow::HeapStats after = rt.stats();
  // Mapped but in no space: the cached empty pages.
  auto cached = [](const marrow::HeapStats& s) {
    std::size_t in_spaces = 0;
    for (const auto& space : s.spaces) in_spaces += space.capacity;
    return s.heap_bytes - std::min(s.heap_bytes, in_spaces);
  };
  CHECK(cached(after) == 0);
  if (!mt::stress()) {
    CHECK(cached(before) > 0);  // kept by the growth-triggered collection despite reserve 0
    CHECK(after.pages_returned > before.pages_returned);
    CHECK(after.heap_bytes < before.heap_bytes);
  }
  MT_CHECK_SOUND(rt);
}

TEST_CASE("fragmentation is reported after a major collection and falls with compaction") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  std::size_t n = mt::scaled(40000, 4000);
  auto table = rt.make_sized<mt::Table>(mt::table_extra(n), n);
  {
    marrow::HandleScope inner(rt);  // the Locals of the nodes go away with it
    for (std::size_t i = 0; i < n; ++i) table->at(i) = rt.make<Node>(std::int64_t(i));
  }
  rt.collect(GcKind::kMajor);
  // Everything promoted is live and packed: the free end of the last page is no hole. Parallel
  // scavengers may leave the rest of a claim each (HeapPolicy::kPromotionChunk) as a hole.
  CHECK(rt.stats().fragmentation <= 0.02);
  // A third of the nodes die: below the compaction threshold, so the major sweeps.
  for (std::size_t i = 0; i < n; i += 3) table->at(i) = nullptr;
  rt.collect(GcKind::kMajor);
  double holes = rt.stats().fragmentation;
  if (!mt::stress()) CHECK(holes > 0.25);
  rt.collect(GcKind::kCompact);
  // Only the tail of the last page (the allocation buffer) stays free.
  CHECK(rt.stats().fragmentation < holes);
}

TEST_CASE("policy: with incremental marking eden is sized so a minor collection fits the goal") {
  using namespace std::chrono_literals;
  marrow::Config cfg;
  cfg.pause_target_ms = 5;
  HeapPolicy policy(cfg);
  // Stop-the-world mode: no limit from the pause goal.
  CHECK(policy.eden_for_pause(1.0) == ~std::size_t{0});
  cfg.incremental_marking = true;
  // Nothing measured yet: the assumed speed, half of eden surviving.
  double copyable = HeapPolicy::kAssumedCopySpeed * 0.005 * 0.8;
  CHECK(double(policy.eden_for_pause(0.0)) == doctest::Approx(copyable / 0.5));
  // A minor that copied too little to measure: no estimate, no limit.
  policy.minor_ended(100us, 1000);
  CHECK(policy.eden_for_pause(0.0) == ~std::size_t{0});
  // 8 MiB copied in 4 ms: 2 GiB/s; at full survival 8 MiB * 0.8 * 5/4 fits the goal.
  policy.minor_ended(4ms, 8 * kMiB);
  CHECK(double(policy.eden_for_pause(1.0)) == doctest::Approx(double(8 * kMiB) * 0.8 * 5 / 4));
  // Low survival counts as half: at most twice the goal if the whole eden survives.
  CHECK(double(policy.eden_for_pause(0.01)) ==
        doctest::Approx(double(8 * kMiB) * 0.8 * 5 / 4 / 0.5));
  // Never below min_nursery_bytes, however slow.
  for (int i = 0; i < 10; ++i) policy.minor_ended(4000ms, 8 * kMiB);  // smoothed: it takes a few
  CHECK(policy.eden_for_pause(1.0) == cfg.min_nursery_bytes);
}

TEST_CASE("policy: idle time's estimates (copy time, remark time, a major due soon)") {
  using namespace std::chrono_literals;
  marrow::Config cfg;
  cfg.initial_old_trigger_bytes = 16 * kMiB;
  cfg.growth_factor = 2.0;
  cfg.pause_target_ms = 5;
  HeapPolicy policy(cfg);
  // Before any minor collection: the assumed speed.
  CHECK(double(policy.copy_time(40 * 1000 * 1000).count()) ==
        doctest::Approx(40e6 / HeapPolicy::kAssumedCopySpeed * 1e9));
  policy.minor_ended(4ms, 8 * kMiB);  // 2 GiB/s
  CHECK(double(policy.copy_time(8 * kMiB).count()) == doctest::Approx(4e6));
  // The remark: the pause goal until one was measured, then the longer of the last one and
  // the smoothed ones.
  CHECK(policy.remark_time() == 5ms);
  policy.remark_ended(2ms);
  CHECK(policy.remark_time() == 2ms);
  policy.remark_ended(8ms);  // smoothed 5 ms, last 8 ms
  CHECK(policy.remark_time() == 8ms);
  policy.remark_ended(2ms);  // smoothed 3.5 ms, last 2 ms
  CHECK(policy.remark_time() == 3500us);
  // A major is due soon three quarters of the way from the live bytes to the trigger.
  policy.after_major(64 * kMiB, 0);  // trigger 96 MiB (a new peak)
  CHECK_FALSE(policy.major_due_soon(88 * kMiB - 1));
  CHECK(policy.major_due_soon(88 * kMiB));
  CHECK(policy.major_time() == 0ns);  // no marking speed measured yet
  marrow::internal::MajorCost cost;
  cost.marked = 64 * kMiB;
  cost.duration = 32ms;  // 2 GiB/s: the 64 MiB kept take 32 ms
  policy.record_major_cost(cost);
  CHECK(double(policy.major_time().count()) == doctest::Approx(32e6));
}
