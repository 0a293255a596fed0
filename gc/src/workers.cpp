// The GC worker pool: threads parked between parallel phases, woken per phase, joined at
// the end. Never allocates managed memory.
#include "marrow/gc/workers.hpp"

#include <sched.h>

#include <algorithm>

namespace marrow::internal {

unsigned default_gc_threads() noexcept {
  unsigned cores = 0;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) cores = unsigned(CPU_COUNT(&set));
  if (cores == 0) cores = std::thread::hardware_concurrency();
  return std::clamp(cores, 1u, 8u);
}

WorkerPool::WorkerPool(unsigned threads)
    : threads_(std::max(threads, 1u)), busy_(threads_), started_(threads_) {
  workers_.reserve(threads_ - 1);
  for (unsigned w = 1; w < threads_; ++w) workers_.emplace_back([this, w] { loop(w); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void WorkerPool::run(const std::function<void(unsigned)>& task) {
  auto start = std::chrono::steady_clock::now();
  if (threads_ > 1) {
    std::lock_guard lock(mutex_);
    std::fill(busy_.begin(), busy_.end(), std::chrono::nanoseconds{0});
    std::fill(started_.begin(), started_.end(), start);
    task_ = &task;
    open_ = true;
    ++generation_;
  }
  wake_.notify_all();
  started_[0] = start;
  task(0);
  busy_[0] = std::chrono::steady_clock::now() - start;
  if (threads_ == 1) return;
  std::unique_lock lock(mutex_);
  open_ = false;  // a worker still asleep skips this run
  done_.wait(lock, [&] { return running_ == 0; });
  task_ = nullptr;
}

void WorkerPool::loop(unsigned worker) {
  std::uint64_t seen = 0;
  for (;;) {
    const std::function<void(unsigned)>* task;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      if (!open_) continue;
      ++running_;
      task = task_;
    }
    auto start = std::chrono::steady_clock::now();
    (*task)(worker);
    auto spent = std::chrono::steady_clock::now() - start;
    {
      std::lock_guard lock(mutex_);
      busy_[worker] = spent;
      started_[worker] = start;
      if (--running_ == 0) done_.notify_one();
    }
  }
}

}  // namespace marrow::internal
