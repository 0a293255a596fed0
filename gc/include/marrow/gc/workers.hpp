// The GC worker pool: `Config::gc_threads - 1` threads per runtime that run one parallel
// phase at a time together with the collecting thread, and park on a condition variable
// between phases (no spinning while the mutator runs). One runtime's pool never touches
// another runtime. Started with the Heap, joined by its destructor.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace marrow::internal {

class WorkerPool {
 public:
  /// `threads` counts the collecting thread: 1 starts none.
  explicit WorkerPool(unsigned threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  unsigned threads() const { return threads_; }
  /// Runs task(0) on the calling thread and task(w) on each other worker w that wakes
  /// before task(0) returns (a parked thread may take long to be scheduled on a busy
  /// machine: the phase does not wait for it); returns when every task started has
  /// finished. So a task must be complete with any subset of the workers, worker 0
  /// included: workers claim their work dynamically. Records each worker's busy time
  /// (zero for one that did not join).
  void run(const std::function<void(unsigned)>& task);
  /// Busy time of each worker in the last run().
  const std::vector<std::chrono::nanoseconds>& busy() const { return busy_; }
  /// When each worker started on the last run().
  const std::vector<std::chrono::steady_clock::time_point>& started() const { return started_; }

 private:
  void loop(unsigned worker);

  unsigned threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(unsigned)>* task_ = nullptr;
  std::uint64_t generation_ = 0;  ///< bumped per run(): a worker runs each generation once
  unsigned running_ = 0;          ///< workers (besides the caller) in the current run
  bool open_ = false;             ///< workers may still join the current run
  bool stop_ = false;
  std::vector<std::chrono::nanoseconds> busy_;
  std::vector<std::chrono::steady_clock::time_point> started_;
};

/// The default for Config::gc_threads: the cores this process may run on, at most 8.
unsigned default_gc_threads() noexcept;

}  // namespace marrow::internal
