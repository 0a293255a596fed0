// Parallelism: the thread count of each parallel phase, from the speeds measured both ways.
#include "marrow/gc/parallelism.hpp"

namespace marrow::internal {

unsigned Parallelism::threads_for(ParallelPhase phase) {
  if (!adaptive()) return pool_;
  Choice& c = choices_[std::size_t(phase)];
  if (c.solo.runs < kWarmup || c.pool.runs < kWarmup) return c.pool.runs <= c.solo.runs ? pool_ : 1;
  unsigned faster = c.pool.rate() >= c.solo.rate() ? pool_ : 1;
  if (++c.since_probe < kProbeInterval) return faster;
  c.since_probe = 0;
  return faster == 1 ? pool_ : 1;
}

void Parallelism::record(ParallelPhase phase, unsigned threads, std::size_t bytes,
                         std::chrono::nanoseconds time) {
  Choice& c = choices_[std::size_t(phase)];
  Speed& s = threads > 1 ? c.pool : c.solo;
  s.bytes = s.bytes * kDecay + double(bytes);
  s.seconds = s.seconds * kDecay + std::chrono::duration<double>(time).count();
  ++s.runs;
}

double Parallelism::speed(ParallelPhase phase, unsigned threads) const {
  const Choice& c = choices_[std::size_t(phase)];
  return (threads > 1 ? c.pool : c.solo).rate();
}

}  // namespace marrow::internal
