// Tests gc/src/events.cpp: phase times and spans tile the pause, events carry per-space
// bytes, statistics count by reason, and listeners see every collection in order.
#include <vector>

#include "test_support.hpp"

using marrow::GcKind;
using marrow::GcPhase;
using marrow::Space;
using mt::Node;
using std::chrono::nanoseconds;

TEST_CASE("phase times add up to the pause and spans tile it in order") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  std::vector<marrow::GcEvent> events;
  rt.on_gc([&](const marrow::GcEvent& e) { events.push_back(e); });
  auto keep = rt.make<Node>(1);
  for (int i = 0; i < 1000; ++i) keep->next = rt.make<Node>(i);
  rt.collect(GcKind::kMinor);
  rt.collect(GcKind::kMajor);
  rt.collect(GcKind::kCompact);
  REQUIRE(events.size() >= 3);
  for (const auto& e : events) {
    CAPTURE(e.sequence);
    nanoseconds sum{0};
    for (auto p : e.phases) sum += p;
    CHECK(sum == e.pause);
    nanoseconds spans{0};
    nanoseconds at{0};
    REQUIRE(e.span_count <= marrow::GcEvent::kMaxSpans);
    for (std::size_t i = 0; i < e.span_count; ++i) {
      CHECK(e.spans[i].start >= at);  // in order, not overlapping
      at = e.spans[i].start + e.spans[i].duration;
      spans += e.spans[i].duration;
    }
    CHECK(spans == e.pause);
    CHECK(at <= e.pause);
  }
  const auto& last3 = events.end() - 3;
  CHECK(last3[0].kind == GcKind::kMinor);
  CHECK(last3[0].phase_time(GcPhase::kEvacuate).count() > 0);
  CHECK(last3[0].phase_time(GcPhase::kMark).count() == 0);
  CHECK(last3[1].kind == GcKind::kMajor);
  CHECK(last3[1].phase_time(GcPhase::kMark).count() > 0);
  CHECK(last3[1].phase_time(GcPhase::kSweep).count() > 0);
  CHECK(last3[1].phase_time(GcPhase::kCompact).count() == 0);
  CHECK(last3[2].kind == GcKind::kCompact);
  CHECK(last3[2].phase_time(GcPhase::kCompact).count() > 0);
}

TEST_CASE("events carry per-space bytes before and after; stats count by reason") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  std::vector<marrow::GcEvent> events;
  auto id = rt.on_gc([&](const marrow::GcEvent& e) { events.push_back(e); });
  std::size_t second = 0;
  auto id2 = rt.on_gc([&](const marrow::GcEvent&) { ++second; });
  auto keep = rt.make<Node>(1);
  for (int i = 0; i < 100; ++i) rt.make<Node>(i);  // garbage in eden
  events.clear();
  second = 0;
  rt.collect(GcKind::kMinor);
  REQUIRE(events.size() >= 1);
  const auto& e = events.back();
  CHECK(e.kind == GcKind::kMinor);
  CHECK(e.reason == marrow::GcReason::kRequested);
  CHECK(e.space_after[std::size_t(Space::kEden)] == 0);
  std::size_t young_after =
      e.space_after[std::size_t(Space::kSurvivor)] + e.space_after[std::size_t(Space::kOld)];
  CHECK(young_after >= 32);  // the kept node survived somewhere
  std::size_t sum_before = 0, sum_after = 0;
  for (std::size_t i = 0; i < marrow::kSpaceCount; ++i) {
    sum_before += e.space_before[i];
    sum_after += e.space_after[i];
  }
  CHECK(sum_before == e.live_before);
  CHECK(sum_after == e.live_after);
  CHECK(second == events.size());
  CHECK(rt.remove_gc_listener(id2));
  rt.collect(GcKind::kMinor);
  CHECK(second + 1 == events.size());  // removed: only the first listener heard it
  CHECK(rt.remove_gc_listener(id));
  CHECK_FALSE(rt.remove_gc_listener(id));

  const marrow::HeapStats& s = rt.stats();
  std::size_t by_reason = 0;
  for (auto n : s.collections_by_reason) by_reason += n;
  // Incremental marking's start and step pauses are events too (by reason and pause),
  // counted apart from collections.
  CHECK(by_reason == s.minor_collections + s.major_collections + s.marking_increments);
  CHECK(s.pauses.count() == s.minor_collections + s.major_collections + s.marking_increments);
  CHECK(s.increment_pauses.count() == s.marking_increments);
  CHECK(s.minor_pauses.count() == s.minor_collections);
  CHECK(s.pause_p50 <= s.pause_p90);
  CHECK(s.pause_p90 <= s.pause_p99);
  CHECK(s.pause_p99 <= s.max_pause);
  CHECK(s.spaces[std::size_t(Space::kEden)].capacity == rt.config().nursery_bytes);
  CHECK(s.spaces[std::size_t(Space::kEden)].live_after_gc == 0);
  CHECK(s.spaces[std::size_t(Space::kOld)].used == s.old_bytes);
  CHECK(s.allocation_rate > 0.0);
  CHECK(keep->id == 1);
}

TEST_CASE("a listener that collects does not change what the next listener sees") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  bool inside = false;
  std::vector<std::uint64_t> seen_by_second;
  rt.on_gc([&](const marrow::GcEvent& e) {
    if (inside || e.kind != GcKind::kMajor) return;
    inside = true;
    rt.collect(GcKind::kMinor);  // a nested collection, reported to both listeners too
    inside = false;
  });
  rt.on_gc([&](const marrow::GcEvent& e) { seen_by_second.push_back(e.sequence); });
  rt.collect(GcKind::kMajor);
  REQUIRE(seen_by_second.size() >= 2);
  // The nested minor collection is reported first (it ended first); then the major one
  // still arrives with its own sequence number, not the nested one's.
  std::uint64_t last = seen_by_second.back();
  CHECK(last < seen_by_second[seen_by_second.size() - 2]);
  CHECK(rt.stats().major_collections >= 1);
}
