// Tests gc/src/policy.cpp: the growth trigger and page retention after it, and the
// fragmentation figure behind the compaction choice.
#include <algorithm>

#include "test_support.hpp"

using marrow::GcKind;
using mt::Node;

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
