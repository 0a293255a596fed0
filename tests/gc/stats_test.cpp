// Statistics and events: the pause histogram against exact percentiles, per-phase times,
// per-space figures, counters by reason, listeners, the text/JSON forms and the GC trace.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "test_support.hpp"

using marrow::GcKind;
using marrow::GcPhase;
using marrow::PauseHistogram;
using marrow::Space;
using mt::Node;
using std::chrono::nanoseconds;

namespace {

std::uint64_t exact_percentile(std::vector<std::uint64_t> sorted, double q) {
  std::sort(sorted.begin(), sorted.end());
  auto rank = static_cast<std::size_t>(std::ceil(q * double(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("histogram buckets cover every value exactly once, in order") {
  std::uint64_t expected_lower = 0;
  for (unsigned b = 0; b < PauseHistogram::kBuckets; ++b) {
    CAPTURE(b);
    REQUIRE(PauseHistogram::bucket_lower(b) == expected_lower);
    REQUIRE(PauseHistogram::bucket_upper(b) >= PauseHistogram::bucket_lower(b));
    CHECK(PauseHistogram::bucket_of(PauseHistogram::bucket_lower(b)) == b);
    CHECK(PauseHistogram::bucket_of(PauseHistogram::bucket_upper(b)) == b);
    if (PauseHistogram::bucket_upper(b) == ~std::uint64_t{0}) break;
    expected_lower = PauseHistogram::bucket_upper(b) + 1;
  }
  // Relative bucket width is at most 1/8 above the exact range.
  for (std::uint64_t v : {9ull, 100ull, 12345ull, 1000000007ull, 1ull << 50}) {
    unsigned b = PauseHistogram::bucket_of(v);
    double width = double(PauseHistogram::bucket_upper(b) - PauseHistogram::bucket_lower(b) + 1);
    CHECK(width / double(PauseHistogram::bucket_lower(b)) <= 0.125 + 1e-12);
  }
}

TEST_CASE("histogram percentiles agree with sorted raw samples to within one bucket") {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 20; ++round) {
    PauseHistogram h;
    std::vector<std::uint64_t> raw;
    std::size_t n = 1 + rng() % 2000;
    std::lognormal_distribution<double> pause(std::log(200000.0), 1.5);  // ~200 us median
    for (std::size_t i = 0; i < n; ++i) {
      auto v = static_cast<std::uint64_t>(pause(rng));
      raw.push_back(v);
      h.record(nanoseconds(v));
    }
    CHECK(h.count() == n);
    CHECK(std::uint64_t(h.max().count()) == *std::max_element(raw.begin(), raw.end()));
    CHECK(std::uint64_t(h.min().count()) == *std::min_element(raw.begin(), raw.end()));
    for (double q : {0.0, 0.5, 0.9, 0.99, 1.0}) {
      CAPTURE(q);
      std::uint64_t exact = exact_percentile(raw, q);
      auto got = std::uint64_t(h.percentile(q).count());
      unsigned b = PauseHistogram::bucket_of(exact);
      CHECK(got >= PauseHistogram::bucket_lower(b));
      CHECK(got <= PauseHistogram::bucket_upper(b));
    }
  }
  PauseHistogram empty;
  CHECK(empty.percentile(0.5).count() == 0);
}

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
  CHECK(by_reason == s.minor_collections + s.major_collections);
  CHECK(s.pauses.count() == s.minor_collections + s.major_collections);
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
  // Everything promoted is live and packed: the free end of the last page is no hole.
  CHECK(rt.stats().fragmentation == 0.0);
  // A third of the nodes die: below the compaction threshold, so the major sweeps.
  for (std::size_t i = 0; i < n; i += 3) table->at(i) = nullptr;
  rt.collect(GcKind::kMajor);
  double holes = rt.stats().fragmentation;
  if (!mt::stress()) CHECK(holes > 0.25);
  rt.collect(GcKind::kCompact);
  // Only the tail of the last page (the allocation buffer) stays free.
  CHECK(rt.stats().fragmentation < holes);
}

TEST_CASE("table and JSON forms name every space and the percentiles") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  rt.make<Node>(1);
  rt.collect(GcKind::kMajor);
  std::string table = marrow::format_table(rt.stats());
  std::string json = marrow::to_json(rt.stats());
  for (const char* space : {"eden", "survivor", "old", "large", "immortal"}) {
    CAPTURE(space);
    CHECK(table.find(space) != std::string::npos);
    CHECK(json.find(std::string("\"") + space + "\":{\"capacity\":") != std::string::npos);
  }
  CHECK(table.find("p99") != std::string::npos);
  CHECK(json.find("\"p99_ns\":") != std::string::npos);
  CHECK(json.front() == '{');
  CHECK(json.back() == '}');
  CHECK(count_of(json, "{") == count_of(json, "}"));
}

TEST_CASE("the GC trace has one complete event per collection and nested phases") {
  // Per process: ctest runs this suite and its stress twin at the same time.
  std::string path = "marrow_stats_test_trace." + std::to_string(getpid()) + ".json";
  {
    marrow::Runtime rt(mt::config());
    marrow::HandleScope scope(rt);
    rt.start_gc_trace(path);
    auto keep = rt.make<Node>(1);
    for (int i = 0; i < 3000; ++i) keep->next = rt.make<Node>(i);
    rt.collect(GcKind::kMinor);
    rt.collect(GcKind::kMajor);
    rt.collect(GcKind::kCompact);
    std::size_t collections = rt.stats().minor_collections + rt.stats().major_collections;
    rt.stop_gc_trace();
    std::string trace = read_all(path);
    CHECK(trace.starts_with("{\"displayTimeUnit\""));
    CHECK(trace.find("]}") != std::string::npos);
    CHECK(count_of(trace, "\"cat\":\"gc\",") == collections);
    CHECK(count_of(trace, "\"cat\":\"gc.phase\"") >= collections);
    CHECK(count_of(trace, "\"name\":\"compact\",\"cat\":\"gc.phase\"") >= 1);
    rt.collect(GcKind::kMinor);  // after stop: not written, and no crash
    CHECK(read_all(path) == trace);
  }
  std::remove(path.c_str());
}

TEST_CASE("a GC trace path that cannot be created is an error naming it; the runtime goes on") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  std::string bad = "/nonexistent-dir/for/sure/trace.json";
  try {
    rt.start_gc_trace(bad);
    FAIL("start_gc_trace should have thrown");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find(bad) != std::string::npos);
  }
  auto n = rt.make<Node>(7);
  rt.collect(GcKind::kMajor);
  CHECK(n->id == 7);
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
