// Tests heap sizing (gc/src/policy.cpp, docs/tuning.md): the square-root trigger and its
// knob, the old growth rule at heap_tuning 0, the adaptive eden, quiet-phase polling,
// reduce_memory, and the new knobs' validation.
#include <chrono>
#include <cmath>
#include <string>

#include "test_support.hpp"

using marrow::GcKind;
using marrow::GcReason;
using marrow::internal::HeapPolicy;
using marrow::internal::MajorCost;
using mt::Node;
using namespace std::chrono_literals;

namespace {

/// The square-root rule, the adaptive eden and quiet-phase watching are opt-in (the
/// default heap_tuning is 0, see docs/tuning.md): these tests turn them on.
constexpr double kRuleOn = 0.75;

constexpr std::size_t kMiB = std::size_t{1} << 20;

/// One major collection's readings: the old generation grew `growth` bytes in `mutator`,
/// and the collection marked `marked` bytes in `duration`.
MajorCost cost(std::size_t growth, std::chrono::nanoseconds mutator, std::size_t marked,
               std::chrono::nanoseconds duration) {
  MajorCost c;
  c.old_growth = growth;
  c.mutator_time = mutator;
  c.marked = marked;
  c.duration = duration;
  return c;
}

/// The rule of docs/tuning.md, computed independently: live + tuning x sqrt(live x 256 MiB
/// x rate / speed).
std::size_t expected_trigger(double tuning, std::size_t live, double rate, double speed) {
  return live + std::size_t(tuning * std::sqrt(double(live) * double(256 * kMiB) * rate / speed));
}

std::string config_error(const marrow::Config& c) {
  try {
    marrow::internal::normalised(c);
  } catch (const marrow::ConfigError& e) {
    return e.what();
  }
  return "";
}

/// A list of `n` nodes reachable from `holder->next`.
void build_list(marrow::Runtime& rt, marrow::Local<Node> holder, std::size_t n) {
  for (std::size_t i = 0; i < n;) {
    marrow::HandleScope batch(rt);
    for (std::size_t end = std::min(n, i + 4096); i < end; ++i) {
      auto cell = rt.make<Node>(std::int64_t(i));
      cell->next = holder->next;
      holder->next = cell;
    }
  }
}

}  // namespace

TEST_CASE("heap sizing: the trigger follows the square-root rule, scaled by heap_tuning") {
  marrow::Config cfg;
  cfg.heap_tuning = 1.0;
  HeapPolicy policy(cfg);
  // 100 MiB/s into the old generation, marked at 1,000 MiB/s.
  policy.record_major_cost(cost(100 * kMiB, 1s, 100 * kMiB, 100ms));
  CHECK(policy.old_allocation_rate() == doctest::Approx(100.0 * kMiB));
  CHECK(policy.collection_speed() == doctest::Approx(1000.0 * kMiB));
  policy.after_major(256 * kMiB, 0);
  std::size_t at_one = policy.next_major_trigger();
  CHECK(at_one == expected_trigger(1.0, 256 * kMiB, 100.0 * kMiB, 1000.0 * kMiB));
  CHECK(at_one < 2 * 256 * kMiB);  // below the old rule's doubling here

  // Twice the tuning, twice the headroom; four times the live size, twice the headroom.
  cfg.heap_tuning = 2.0;
  policy.after_major(256 * kMiB, 0);
  CHECK(policy.next_major_trigger() - 256 * kMiB ==
        doctest::Approx(2.0 * double(at_one - 256 * kMiB)).epsilon(0.001));
  cfg.heap_tuning = 1.0;
  policy.after_major(1024 * kMiB, 0);
  CHECK(policy.next_major_trigger() - 1024 * kMiB ==
        doctest::Approx(2.0 * double(at_one - 256 * kMiB)).epsilon(0.001));

  // A faster-growing old generation gets more headroom (the smoothed rate rises).
  policy.record_major_cost(cost(500 * kMiB, 1s, 100 * kMiB, 100ms));
  CHECK(policy.old_allocation_rate() == doctest::Approx(300.0 * kMiB));  // half old, half new
  policy.after_major(256 * kMiB, 0);
  CHECK(policy.next_major_trigger() ==
        expected_trigger(1.0, 256 * kMiB, 300.0 * kMiB, 1000.0 * kMiB));
  CHECK(policy.next_major_trigger() > at_one);

  // A tiny heap still gets the minimum headroom, so majors do not come every few objects.
  policy.after_major(64 << 10, 0);
  CHECK(policy.next_major_trigger() >= (64 << 10) + 4 * kMiB);
}

TEST_CASE("heap sizing: heap_tuning 0, or no measurement yet, is the growth-factor rule") {
  marrow::Config cfg;
  cfg.heap_tuning = 0.0;
  cfg.growth_factor = 2.0;
  cfg.initial_old_trigger_bytes = 16 * kMiB;
  HeapPolicy policy(cfg);
  policy.record_major_cost(cost(100 * kMiB, 1s, 100 * kMiB, 100ms));
  CHECK(policy.headroom(64 * kMiB) == 0);
  policy.after_major(64 * kMiB, 0);  // a new peak: half growth_factor's growth
  CHECK(policy.next_major_trigger() == 96 * kMiB);
  policy.after_major(4 * kMiB, 0);
  CHECK(policy.next_major_trigger() == 20 * kMiB);
  policy.after_major(48 * kMiB, 0);  // below the peak: growth_factor x live
  CHECK(policy.next_major_trigger() == 96 * kMiB);

  marrow::Config measured_nothing;
  measured_nothing.heap_tuning = kRuleOn;
  HeapPolicy fresh(measured_nothing);  // the rule on, but no collection measured yet
  fresh.after_major(64 * kMiB, 0);
  CHECK(fresh.next_major_trigger() == 96 * kMiB);
  // Readings over too short an interval are ignored rather than trusted.
  fresh.record_major_cost(cost(100 * kMiB, 10us, 100 * kMiB, 10us));
  CHECK(fresh.old_allocation_rate() == 0);
  CHECK(fresh.collection_speed() == 0);
}

TEST_CASE("heap sizing: the heap limit still caps the trigger") {
  marrow::Config cfg;
  cfg.heap_tuning = kRuleOn;
  cfg.heap_tuning = 8.0;
  cfg.heap_limit_bytes = 64 * kMiB;
  HeapPolicy policy(cfg);
  policy.record_major_cost(cost(1000 * kMiB, 1s, 10 * kMiB, 100ms));  // huge headroom wanted
  policy.after_major(32 * kMiB, 4 * kMiB);
  CHECK(policy.next_major_trigger() == policy.old_generation_room(4 * kMiB));
}

TEST_CASE("heap sizing: eden doubles back while little survives, never past nursery_bytes") {
  marrow::Config cfg;
  cfg.heap_tuning = kRuleOn;
  cfg.nursery_bytes = 16 * kMiB;
  cfg.min_nursery_bytes = 2 * kMiB;
  HeapPolicy policy(cfg);
  CHECK(policy.next_eden_size(2 * kMiB, 2 * kMiB, 40 << 10) == 4 * kMiB);  // 2% survived
  CHECK(policy.next_eden_size(16 * kMiB, 16 * kMiB, 0) == 16 * kMiB);
  // A tenth or more survived: eden stays (shrinking it would promote more).
  CHECK(policy.next_eden_size(4 * kMiB, 4 * kMiB, kMiB / 2) == 4 * kMiB);
  CHECK(policy.next_eden_size(4 * kMiB, 4 * kMiB, 4 * kMiB) == 4 * kMiB);

  // A fixed eden (min = max) and the old rule (tuning 0) never resize.
  marrow::Config fixed = cfg;
  fixed.min_nursery_bytes = fixed.nursery_bytes;
  HeapPolicy fixed_policy(fixed);
  CHECK(fixed_policy.next_eden_size(8 * kMiB, 8 * kMiB, 0) == 8 * kMiB);
  marrow::Config old_rule = cfg;
  old_rule.heap_tuning = 0;
  HeapPolicy old_policy(old_rule);
  CHECK(old_policy.next_eden_size(8 * kMiB, 8 * kMiB, 0) == 8 * kMiB);
}

TEST_CASE("heap sizing: a quiet phase is seen only after the delay, and growth restarts it") {
  marrow::Config cfg;
  cfg.heap_tuning = kRuleOn;
  HeapPolicy policy(cfg);
  policy.after_major(100 * kMiB, 0);  // growth rule: trigger 200 MiB, room 100 MiB
  auto end = HeapPolicy::Clock::now();
  policy.major_ended(GcReason::kHeapGrowth, end, 10ms, 150 * kMiB, 100 * kMiB);
  CHECK_FALSE(policy.quiet_phase(end + 100ms, 101 * kMiB));  // too soon
  CHECK(policy.quiet_phase(end + 600ms, 101 * kMiB));
  // Growing by more than an eighth of the room restarts the wait.
  CHECK_FALSE(policy.quiet_phase(end + 700ms, 120 * kMiB));
  CHECK_FALSE(policy.quiet_phase(end + 1000ms, 121 * kMiB));
  CHECK(policy.quiet_phase(end + 1300ms, 121 * kMiB));
  // A shrinking collection that freed little doubles the wait.
  auto shrink_end = end + 2s;
  policy.major_ended(GcReason::kShrink, shrink_end, 10ms, 121 * kMiB, 120 * kMiB);
  CHECK_FALSE(policy.quiet_phase(shrink_end + 600ms, 120 * kMiB));
  CHECK(policy.quiet_phase(shrink_end + 1100ms, 120 * kMiB));
  // Small heaps, the old rule and stress mode do not watch at all.
  CHECK(policy.watch_for_quiet(64 * kMiB));
  CHECK_FALSE(policy.watch_for_quiet(8 * kMiB));
  cfg.heap_tuning = 0;
  CHECK_FALSE(policy.watch_for_quiet(64 * kMiB));
}

TEST_CASE("heap sizing: while pretenuring leaves eden empty, only the probe stays resident") {
  marrow::Config base;
  base.heap_tuning = kRuleOn;
  base.nursery_bytes = 8 * kMiB;  // survivor spaces 2 MiB each, probe 2 MiB
  marrow::Runtime rt(mt::config(base));
  marrow::HandleScope scope(rt);
  auto holder = rt.make<Node>(-1);
  build_list(rt, holder, mt::scaled(600'000, 3'000));  // ~29 MiB, all of it live
  auto& heap = rt.heap_for_internal_use();
  std::size_t nursery = heap.committed_bytes() - heap.provider_.committed_bytes();
  if (!mt::stress()) {  // stress collections never size the nursery
    CHECK(heap.pretenuring_.active());
    CHECK(nursery <= 2 * kMiB + 2 * 2 * kMiB);  // not the 12 MiB of the whole nursery
    CHECK(rt.stats().bytes_pretenured > 0);
  }
  std::size_t count = 0;
  for (Node* n = holder->next.get(); n != nullptr; n = n->next.get()) ++count;
  CHECK(count == mt::scaled(600'000, 3'000));
  MT_CHECK_SOUND(rt);
}

TEST_CASE("heap sizing: reduce_memory gives back pages, eden and survivor space") {
  marrow::Config base;
  base.heap_tuning = kRuleOn;
  base.min_nursery_bytes = 2 * kMiB;
  marrow::Runtime rt(mt::config(base));
  marrow::HandleScope scope(rt);
  auto keep = rt.make<Node>(1);
  std::size_t peak;
  {
    marrow::HandleScope inner(rt);
    auto holder = rt.make<Node>(-1);
    build_list(rt, holder, mt::scaled(1'000'000, 5'000));  // ~48 MiB
    peak = rt.stats().heap_bytes;
  }
  rt.reduce_memory();
  const marrow::HeapStats& s = rt.stats();
  CHECK(s.eden_bytes == 2 * kMiB);
  CHECK(s.heap_bytes <= 2 * kMiB + 2 * (64 << 10) + 2 * marrow::internal::kPageSize);
  if (!mt::stress()) CHECK(s.heap_bytes < peak / 8);
  CHECK(keep->id == 1);
  mt::check_usable(rt);  // and it grows again
}

TEST_CASE("heap sizing: the new knobs are checked and normalised") {
  marrow::Config c;
  c.heap_tuning = -1;
  CHECK(config_error(c).find("heap_tuning must be in [0, 100]") != std::string::npos);
  c.heap_tuning = std::nan("");
  CHECK(config_error(c).find("heap_tuning") != std::string::npos);
  c.heap_tuning = 101;
  CHECK(config_error(c).find("heap_tuning") != std::string::npos);
  c.heap_tuning = 100;
  CHECK(config_error(c).empty());

  marrow::Config m;
  m.min_nursery_bytes = std::size_t{1} << 40;
  CHECK(config_error(m).find("min_nursery_bytes") != std::string::npos);
  m.min_nursery_bytes = 1;
  CHECK(marrow::internal::normalised(m).min_nursery_bytes == 64 << 10);
  m.min_nursery_bytes = 64 * kMiB;  // above eden: lowered to it (a fixed eden)
  CHECK(marrow::internal::normalised(m).min_nursery_bytes == m.nursery_bytes);

  setenv("MARROW_HEAP_TUNING", "fast", 1);
  std::string message;
  try {
    marrow::Config::from_env();
  } catch (const marrow::ConfigError& e) {
    message = e.what();
  }
  CHECK(message.find("MARROW_HEAP_TUNING") != std::string::npos);
  setenv("MARROW_HEAP_TUNING", "3.5", 1);
  setenv("MARROW_MIN_NURSERY_BYTES", "4M", 1);
  marrow::Config from_env = marrow::Config::from_env();
  CHECK(from_env.heap_tuning == 3.5);
  CHECK(from_env.min_nursery_bytes == 4 * kMiB);
  unsetenv("MARROW_HEAP_TUNING");
  unsetenv("MARROW_MIN_NURSERY_BYTES");
}
