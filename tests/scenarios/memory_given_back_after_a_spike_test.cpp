// A spike: a phase keeps a large structure alive, drops it, and a small steady workload
// follows. Without any rt.collect() call, the heap must notice the quiet phase, collect
// (GcReason::kShrink) and give the spike's pages back: committed bytes return near their
// level before the spike. bench/spike.cpp measures the same with 1 GiB and RSS.
#include <chrono>

#include "test_support.hpp"

using mt::Node;

namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

/// A small steady workload: a ring of 1,000 live nodes, each step replacing one with a new
/// node and allocating three short-lived ones.
struct Steady {
  marrow::Global<mt::Table> ring;
  std::size_t step = 0;
  explicit Steady(marrow::Runtime& rt) {
    marrow::HandleScope scope(rt);
    ring = marrow::Global<mt::Table>(rt, rt.make_sized<mt::Table>(mt::table_extra(1000), 1000));
  }
  void run(marrow::Runtime& rt, std::size_t steps) {
    marrow::HandleScope scope(rt);
    for (std::size_t i = 0; i < steps; ++i, ++step) {
      marrow::HandleScope inner(rt);
      auto n = rt.make<Node>(std::int64_t(step));
      for (int k = 0; k < 3; ++k) n->other = rt.make<Node>(-1);
      ring->at(step % 1000) = n;
    }
  }
};

}  // namespace

TEST_CASE("memory given back after a spike, without an explicit collect") {
  marrow::Config base;
  base.heap_tuning = 0.75;  // the sizing rule is opt-in (docs/tuning.md)
  marrow::Runtime rt(mt::config(base));
  Steady steady(rt);
  steady.run(rt, mt::scaled(200'000, 300));  // stress: a collection per allocation
  const std::size_t before = rt.stats().heap_bytes;

  const std::size_t spike_nodes = mt::scaled(2'000'000, 2'000);  // ~80 MB (40-byte nodes)
  {
    marrow::HandleScope scope(rt);
    auto holder = rt.make<Node>(-1);
    for (std::size_t i = 0; i < spike_nodes;) {
      marrow::HandleScope batch(rt);
      for (std::size_t end = std::min(spike_nodes, i + 4096); i < end; ++i) {
        auto cell = rt.make<Node>(std::int64_t(i));
        cell->next = holder->next;
        holder->next = cell;
      }
    }
    steady.run(rt, mt::scaled(1000, 10));
  }  // the spike is garbage from here on
  const std::size_t spike = rt.stats().heap_bytes;
  if (!mt::stress()) REQUIRE(spike > before + 48 * kMiB);

  // The steady workload until the heap shrinks back. The quiet phase needs about half a
  // second of mutator time; the deadline only bounds a failing run.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  const std::size_t near_before = before + before / 5 + 4 * kMiB;
  while (rt.stats().heap_bytes > near_before && std::chrono::steady_clock::now() < deadline)
    steady.run(rt, mt::scaled(20'000, 100));
  const marrow::HeapStats& s = rt.stats();
  if (!mt::stress()) {  // stress collections keep the heap small anyway
    CHECK(s.collections_by_reason[std::size_t(marrow::GcReason::kRequested)] == 0);
    CHECK_MESSAGE(s.heap_bytes <= near_before, "before the spike ", before, ", at it ", spike,
                  ", now ", s.heap_bytes);
  }
  // The steady workload's ring is intact.
  std::size_t alive = 0;
  for (std::size_t i = 0; i < 1000; ++i) alive += steady.ring->at(i).get() != nullptr;
  CHECK(alive == std::min<std::size_t>(1000, steady.step));
  MT_CHECK_SOUND(rt);
}
