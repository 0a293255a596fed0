// Parallelism: how many threads each parallel phase of a collection runs on. The pool has
// Config::gc_threads threads; whether using them pays depends on the machine. Two vCPUs of a
// shared VM can give less than one core's worth of memory-bound work together, and then the
// parallel scavenger and marker (an atomic per copied or marked object, work sharing) are
// slower than the serial ones. With gc_threads left to the collector (0, the default), each
// phase's speed is measured alone and with the whole pool, and the phase runs the faster way.
// An explicit gc_threads is obeyed in every phase.
#pragma once
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace marrow::internal {

/// The phases that can run on the pool.
enum class ParallelPhase : std::uint8_t { kScavenge, kMark, kSweep };
inline constexpr std::size_t kParallelPhaseCount = 3;

/// Picks the thread count of each parallel phase from measured speed (bytes of work per
/// second): after a warm-up that runs each phase both ways a few times, the faster way, with
/// the other one tried again every kProbeInterval runs of the phase (a machine's load
/// changes). Speeds are decayed sums of bytes over decayed sums of time, so large runs weigh
/// more than small ones, whose fixed costs (waking the workers) say little.
///
///   Parallelism p(2, /*adaptive=*/true);
///   unsigned n = p.threads_for(ParallelPhase::kMark);  // 1 or 2
///   ... mark on n threads, taking t for b bytes ...
///   p.record(ParallelPhase::kMark, n, b, t);
class Parallelism {
 public:
  /// Runs of each kind both ways before the choice follows speed.
  static constexpr unsigned kWarmup = 2;
  /// After the warm-up, one run in this many goes the slower way, to re-measure it.
  static constexpr unsigned kProbeInterval = 128;
  /// A run's weight halves after about this many newer runs of the same way.
  static constexpr double kDecay = 0.8;

  Parallelism(unsigned pool_threads, bool adaptive) : pool_(pool_threads), adaptive_(adaptive) {}

  /// Threads for the next run of `phase`: the pool's size or 1.
  unsigned threads_for(ParallelPhase phase);
  /// What a run of `phase` on `threads` threads did: `bytes` of work in `time`.
  void record(ParallelPhase phase, unsigned threads, std::size_t bytes,
              std::chrono::nanoseconds time);

  bool adaptive() const { return adaptive_ && pool_ > 1; }
  /// Measured speed of `phase` alone (threads 1) or on the pool, in bytes per second; 0
  /// before its first run.
  double speed(ParallelPhase phase, unsigned threads) const;

 private:
  struct Speed {
    double bytes = 0;
    double seconds = 0;
    unsigned runs = 0;
    double rate() const { return seconds > 0 ? bytes / seconds : 0; }
  };
  struct Choice {
    Speed solo;
    Speed pool;
    unsigned since_probe = 0;
  };

  unsigned pool_;
  bool adaptive_;
  std::array<Choice, kParallelPhaseCount> choices_{};
};

}  // namespace marrow::internal
