// Spike: a small steady workload, then a phase that builds a large live structure (1 GiB
// by default) and drops it, then the steady workload again for a few seconds, with no
// rt.collect() call anywhere. Prints resident memory over time and how long after the
// drop RSS is back within 20% of its level before the spike (docs/tuning.md, "Giving
// memory back"). Usage: bench_spike [--spike-mib 1024] [--after-ms 3000].

#include <chrono>
#include <cstdio>
#include <string>

#include "common.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Cell : marrow::Object {
  static constexpr const char* kTypeName = "Cell";
  marrow::Member<Cell> next;
  marrow::Member<Cell> other;
  std::int64_t value;
  explicit Cell(std::int64_t v) : value(v) {}
  void trace(marrow::Tracer& t) {
    t.visit(next);
    t.visit(other);
  }
};

struct Ring : marrow::Object {
  static constexpr const char* kTypeName = "Ring";
  static constexpr std::size_t kSize = 4096;
  marrow::Member<Cell> slots[kSize];
  void trace(marrow::Tracer& t) {
    for (auto& s : slots) t.visit(s);
  }
};

double since_ms(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

/// The steady workload: replace ring entries, allocating short-lived cells.
void steady(marrow::Runtime& rt, marrow::Global<Ring>& ring, std::uint64_t& step, int steps) {
  marrow::HandleScope scope(rt);
  for (int i = 0; i < steps; ++i, ++step) {
    marrow::HandleScope inner(rt);
    auto c = rt.make<Cell>(std::int64_t(step));
    c->other = rt.make<Cell>(-1);
    ring->slots[step % Ring::kSize] = c;
  }
}

}  // namespace

int main(int argc, char** argv) {
  marrow::bench::Args args(argc, argv);
  const long long spike_mib = args.get_int("spike-mib", 1024);
  const long long after_ms = args.get_int("after-ms", 3000);
  marrow::Config base;
  base.heap_tuning = 0.75;  // the sizing rule that gives memory back is opt-in
  marrow::Runtime rt(marrow::Config::from_env(base));
  marrow::Global<Ring> ring;
  {
    marrow::HandleScope scope(rt);
    ring = marrow::Global<Ring>(rt, rt.make<Ring>());
  }
  std::uint64_t step = 0;
  auto start = Clock::now();
  while (since_ms(start) < 500) steady(rt, ring, step, 10000);
  const double before = marrow::bench::rss_mib();
  std::printf("%8.0f ms  %8.1f MiB  before the spike\n", since_ms(start), before);

  double peak = before;
  {
    marrow::HandleScope scope(rt);
    auto holder = rt.make<Cell>(-1);
    const std::size_t cells = std::size_t(spike_mib) * (1 << 20) / (sizeof(Cell) + 8);
    for (std::size_t i = 0; i < cells;) {
      marrow::HandleScope batch(rt);
      for (std::size_t end = std::min(cells, i + 4096); i < end; ++i) {
        auto c = rt.make<Cell>(std::int64_t(i));
        c->next = holder->next;
        holder->next = c;
      }
    }
    peak = marrow::bench::rss_mib();
  }
  auto dropped = Clock::now();
  std::printf("%8.0f ms  %8.1f MiB  spike built (%lld MiB) and dropped\n", since_ms(start), peak,
              spike_mib);

  double back_ms = -1;
  double next_print = 0;
  double last = peak;
  while (since_ms(dropped) < double(after_ms)) {
    steady(rt, ring, step, 2000);
    last = marrow::bench::rss_mib();
    double t = since_ms(dropped);
    if (back_ms < 0 && last <= 1.2 * before) back_ms = t;
    if (t >= next_print) {
      std::printf("%8.0f ms  %8.1f MiB\n", since_ms(start), last);
      next_print += 250;
    }
  }
  const marrow::HeapStats& s = rt.stats();
  std::printf(
      "back within 20%% of %.1f MiB: %s\n", before,
      back_ms < 0 ? "never" : (std::to_string(back_ms / 1000.0) + " s after the drop").c_str());
  std::printf(
      "RESULT {\"workload\": \"spike\", \"variant\": \"marrow\", \"rss_before_mib\": %.1f, "
      "\"rss_peak_mib\": %.1f, \"rss_end_mib\": %.1f, \"back_within_20pct_ms\": %.1f, "
      "\"shrink_collections\": %zu, \"requested_collections\": %zu}\n",
      before, peak, last, back_ms, s.collections_by_reason[std::size_t(marrow::GcReason::kShrink)],
      s.collections_by_reason[std::size_t(marrow::GcReason::kRequested)]);
  return back_ms < 0 ? 1 : 0;
}
