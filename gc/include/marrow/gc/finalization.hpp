// Finalization: which objects have a finalizer still to run, which are queued, and
// running the queue. A dead finalizable object is resurrected once: kept (its references
// nulled, so nothing it pointed to needs keeping), flagged finalized, queued; its
// finalizer runs after the collection, outside it; the next collection that finds it dead
// frees it. Weak processing runs before resurrection, so Weak handles and root sources'
// weak tables see a resurrected object as dead (docs/design.md, "Weak processing").
#pragma once
#include <algorithm>
#include <vector>

#include "marrow/object.hpp"
#include "marrow/tracer.hpp"

namespace marrow::internal {

class Finalization {
 public:
  ~Finalization();

  void add(Object* object, bool young) { (young ? young_ : old_).push_back(object); }

  /// Objects waiting for their finalizer: roots of every collection until it has run.
  std::vector<Object*>& queue() { return queue_; }
  std::vector<Object*>& young() { return young_; }
  std::vector<Object*>& old() { return old_; }

  /// Queues `object` (already kept alive by the caller), nulls its references and flags
  /// it finalized.
  void resurrect(Object* object);
  /// Objects resurrected by the collection in progress, sorted (for weak processing).
  bool resurrected_now(const Object* object) const {
    return !resurrected_now_.empty() &&
           std::binary_search(resurrected_now_.begin(), resurrected_now_.end(), object);
  }
  void begin_cycle() { resurrected_now_.clear(); }
  void end_resurrection() { std::sort(resurrected_now_.begin(), resurrected_now_.end()); }

  /// A finalizer is running: allocation and collection are refused (Heap::run_finalizers
  /// in gc/src/finalization.cpp sets it).
  bool running() const { return running_; }
  void set_running(bool running) { running_ = running; }

 private:
  std::vector<Object*> young_;  ///< finalizable objects in the nursery
  std::vector<Object*> old_;    ///< finalizable objects elsewhere
  std::vector<Object*> queue_;  ///< found dead, finalizer not run yet
  std::vector<Object*> resurrected_now_;
  bool running_ = false;
};

}  // namespace marrow::internal
