// Tests gc/src/parallelism.cpp: with gc_threads left to the collector, each parallel phase
// runs the way it measured faster, after a warm-up both ways, and re-measures the slower
// way once per probe interval; an explicit gc_threads is obeyed. Then a runtime: its
// collections still work and report the threads they used.
#include <chrono>
#include <vector>

#include "marrow/gc/parallelism.hpp"
#include "test_support.hpp"

using marrow::internal::Parallelism;
using marrow::internal::ParallelPhase;
using namespace std::chrono_literals;

namespace {

/// Runs `phase` `runs` times as `p` decides, taking `solo` or `pool` per MiB of work, and
/// returns the thread counts it chose.
std::vector<unsigned> drive(Parallelism& p, ParallelPhase phase, unsigned runs,
                            std::chrono::nanoseconds solo, std::chrono::nanoseconds pool) {
  std::vector<unsigned> chosen;
  for (unsigned i = 0; i < runs; ++i) {
    unsigned n = p.threads_for(phase);
    chosen.push_back(n);
    p.record(phase, n, std::size_t{1} << 20, n > 1 ? pool : solo);
  }
  return chosen;
}

std::size_t count(const std::vector<unsigned>& v, unsigned n) {
  std::size_t c = 0;
  for (unsigned x : v) c += x == n;
  return c;
}

}  // namespace

TEST_CASE("parallelism: a phase slower on the pool runs alone after the warm-up") {
  Parallelism p(2, true);
  REQUIRE(p.adaptive());
  auto chosen = drive(p, ParallelPhase::kScavenge, 2 * Parallelism::kWarmup, 1ms, 2ms);
  CHECK(count(chosen, 2) == Parallelism::kWarmup);  // the warm-up measures both ways
  CHECK(count(chosen, 1) == Parallelism::kWarmup);
  CHECK(p.speed(ParallelPhase::kScavenge, 1) > p.speed(ParallelPhase::kScavenge, 2));

  chosen = drive(p, ParallelPhase::kScavenge, 3 * Parallelism::kProbeInterval, 1ms, 2ms);
  // One run per interval goes the slower way to re-measure it; the rest run alone.
  CHECK(count(chosen, 2) == 3);
  CHECK(chosen[Parallelism::kProbeInterval - 1] == 2);
  CHECK(chosen[0] == 1);
}

TEST_CASE("parallelism: a phase faster on the pool uses the pool") {
  Parallelism p(4, true);
  auto chosen = drive(p, ParallelPhase::kMark, 2 * Parallelism::kWarmup, 3ms, 1ms);
  chosen = drive(p, ParallelPhase::kMark, Parallelism::kProbeInterval, 3ms, 1ms);
  CHECK(count(chosen, 4) == Parallelism::kProbeInterval - 1);
  CHECK(count(chosen, 1) == 1);
  // The phases are measured apart: sweeping has not run yet, so its warm-up starts.
  CHECK(p.threads_for(ParallelPhase::kSweep) == 4);
  CHECK(p.speed(ParallelPhase::kSweep, 4) == 0);
}

TEST_CASE("parallelism: the choice follows the machine when its speeds change") {
  Parallelism p(2, true);
  drive(p, ParallelPhase::kScavenge, 2 * Parallelism::kWarmup, 1ms, 2ms);
  drive(p, ParallelPhase::kScavenge, 8, 1ms, 2ms);
  REQUIRE(p.threads_for(ParallelPhase::kScavenge) == 1);
  // The pool becomes 4x faster (the other core freed up): the next probes find it and,
  // once the decayed sums have moved, the pool is used.
  auto chosen = drive(p, ParallelPhase::kScavenge, 4 * Parallelism::kProbeInterval, 1ms, 250us);
  std::vector<unsigned> last(chosen.end() - Parallelism::kProbeInterval, chosen.end());
  CHECK(count(last, 2) >= Parallelism::kProbeInterval - 1);
  CHECK(count(chosen, 1) > Parallelism::kProbeInterval);  // it took probes to find out
}

TEST_CASE("parallelism: an explicit thread count, or a pool of one, is obeyed") {
  Parallelism fixed(4, false);
  CHECK_FALSE(fixed.adaptive());
  auto chosen = drive(fixed, ParallelPhase::kMark, 50, 1ms, 10ms);  // the pool is slower
  CHECK(count(chosen, 4) == chosen.size());
  Parallelism one(1, true);
  CHECK_FALSE(one.adaptive());
  chosen = drive(one, ParallelPhase::kSweep, 10, 1ms, 1ms);
  CHECK(count(chosen, 1) == chosen.size());
}

TEST_CASE("parallelism: a runtime with gc_threads left to it collects and reports its threads") {
  marrow::Config cfg = mt::config();
  cfg.gc_threads = 0;  // left to the collector, whatever MARROW_GC_THREADS says
  marrow::Runtime rt(cfg);
  unsigned pool = rt.heap_for_internal_use().config().gc_threads;
  const std::size_t per_round = mt::scaled(2000, 20);  // stress mode collects at each one
  std::vector<unsigned> seen;
  auto id = rt.on_gc([&](const marrow::GcEvent& e) { seen.push_back(e.gc_threads); });
  marrow::Global<mt::Node> keep;
  {
    marrow::HandleScope scope(rt);
    auto head = rt.make<mt::Node>(0);
    keep = marrow::Global<mt::Node>(rt, head);
    for (int round = 0; round < 12; ++round) {
      for (std::size_t i = 0; i < per_round; ++i) {
        marrow::HandleScope inner(rt);
        auto x = rt.make<mt::Node>(static_cast<std::int64_t>(i));
        x->next = head->next;
        head->next = x;
      }
      rt.collect(round % 3 == 0 ? marrow::GcKind::kMajor : marrow::GcKind::kMinor);
    }
  }
  rt.remove_gc_listener(id);
  std::size_t n = 0;
  for (const mt::Node* x = keep->next.get(); x != nullptr; x = x->next.get()) ++n;
  CHECK(n == 12 * per_round);
  REQUIRE_FALSE(seen.empty());
  for (unsigned t : seen) CHECK((t == 1 || t == pool));
}
