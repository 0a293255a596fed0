// Work sharing between the workers of one parallel phase (marking, scavenging): each
// worker keeps a private stack of objects to scan and gives chunks of it to a shared pool
// when others may run dry; a worker with nothing to do takes a chunk or, once every worker
// is idle and the pool is empty, ends. Never allocates managed memory.
#pragma once
#include <atomic>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

#include "marrow/object.hpp"

namespace marrow::internal {

/// A worker's stack of objects to scan: pushed at the top, popped at the top (depth
/// first: marking, whose stack is bounded) or at the bottom (breadth first: scavenging,
/// where many independent chains are scanned in turn, so that their cache misses overlap
/// as in a Cheney scan), shared from the bottom at a cost proportional to what is shared.
class WorkStack {
 public:
  bool empty() const { return items_.size() == bottom_; }
  std::size_t size() const { return items_.size() - bottom_; }
  void push(Object* p) { items_.push_back(p); }
  Object* pop() {
    Object* p = items_.back();
    items_.pop_back();
    if (items_.size() == bottom_) clear();
    return p;
  }
  Object* pop_oldest() {
    Object* p = items_[bottom_++];
    if (items_.size() == bottom_)
      clear();
    else
      compact();
    return p;
  }
  void clear() {
    items_.clear();
    bottom_ = 0;
  }
  /// Moves the `n` (<= size()) oldest entries into `into` (replacing its contents).
  void take_bottom(std::size_t n, std::vector<Object*>& into) {
    auto from = items_.begin() + std::ptrdiff_t(bottom_);
    into.assign(from, from + std::ptrdiff_t(n));
    bottom_ += n;
    compact();
  }
  void append(const std::vector<Object*>& objects) {
    items_.insert(items_.end(), objects.begin(), objects.end());
  }

 private:
  void compact() {  // amortised: drops the prefix taken from the bottom
    if (bottom_ >= 4096 && bottom_ >= items_.size() / 2) {
      items_.erase(items_.begin(), items_.begin() + std::ptrdiff_t(bottom_));
      bottom_ = 0;
    }
  }

  std::vector<Object*> items_;
  std::size_t bottom_ = 0;  ///< items_[0, bottom_) were shared away
};

/// Termination: a worker counts itself active when it joins the phase (enter()) and
/// inactive only with an empty stack; the pool gains chunks only from active workers; a
/// worker looks at the pool before it goes inactive, so the worker that shared a chunk
/// last takes it back if no one else did. No active worker with the pool empty means no
/// work exists anywhere: the workers that joined end, and one that joins later (the pool
/// does not wait for sleepers, see WorkerPool::run) finds nothing and ends too, because
/// any other work of the phase is claimed by workers while they are active.
class WorkSharing {
 public:
  /// Objects moved to the pool at a time: large enough that the pool's lock is rare,
  /// small enough that an idle worker gets work soon after a busy one finds a wide graph.
  static constexpr std::size_t kChunk = 256;

  explicit WorkSharing(unsigned workers) : workers_(workers) {}

  /// Called by each worker when it joins the phase, before it claims any work.
  void enter() { active_.fetch_add(1, std::memory_order_acq_rel); }

  /// Called by a worker after scanning an object: gives part of `stack` away when the
  /// pool runs low, or half of it when a worker is idle (a deep, narrow graph: a tree).
  void maybe_share(WorkStack& stack) {
    if (stack.size() >= 2 * kChunk && chunk_count_.load(std::memory_order_relaxed) < workers_)
      share(stack, kChunk);
    else if (stack.size() >= 2 && idle_.load(std::memory_order_relaxed) != 0 &&
             chunk_count_.load(std::memory_order_relaxed) == 0)
      share(stack, stack.size() / 2);
  }

  /// Called by a worker whose stack is empty: true once a chunk was moved onto `stack`;
  /// false when no worker is active and no work is left (the phase is over).
  bool refill(WorkStack& stack) {
    if (take(stack)) return true;
    idle_.fetch_add(1, std::memory_order_relaxed);
    active_.fetch_sub(1, std::memory_order_acq_rel);
    for (;;) {
      if (chunk_count_.load(std::memory_order_acquire) != 0) {
        active_.fetch_add(1, std::memory_order_acq_rel);
        if (take(stack)) {
          idle_.fetch_sub(1, std::memory_order_relaxed);
          return true;
        }
        active_.fetch_sub(1, std::memory_order_acq_rel);
      }
      if (active_.load(std::memory_order_acquire) == 0) {
        idle_.fetch_sub(1, std::memory_order_relaxed);
        return false;
      }
      std::this_thread::yield();
    }
  }

 private:
  /// Gives the `n` oldest entries (the roots of the largest unscanned subgraphs) away.
  void share(WorkStack& stack, std::size_t n) {
    std::vector<Object*> chunk;
    stack.take_bottom(n, chunk);
    std::lock_guard lock(mutex_);
    chunks_.push_back(std::move(chunk));
    chunk_count_.fetch_add(1, std::memory_order_release);
  }
  bool take(WorkStack& into) {
    if (chunk_count_.load(std::memory_order_acquire) == 0) return false;
    std::lock_guard lock(mutex_);
    if (chunks_.empty()) return false;
    into.append(chunks_.back());
    chunks_.pop_back();
    chunk_count_.fetch_sub(1, std::memory_order_release);
    return true;
  }

  const unsigned workers_;
  std::mutex mutex_;
  std::vector<std::vector<Object*>> chunks_;
  std::atomic<std::size_t> chunk_count_{0};
  std::atomic<unsigned> active_{0};  ///< workers in the phase with work (termination)
  std::atomic<unsigned> idle_{0};    ///< workers waiting for work (whom to feed)
};

}  // namespace marrow::internal
