// Finalization: resurrecting dead finalizable objects for one more cycle, running the
// queue after a collection, and running every remaining finalizer when the runtime is
// destroyed. A finalizer runs at most once (header bit kFinalizedBit).
#include "marrow/gc/finalization.hpp"

#include <cstdio>
#include <exception>

#include "marrow/gc/heap.hpp"

namespace marrow::internal {

namespace {

/// Nulls every reference an object holds: a resurrected object keeps nothing alive.
struct NullingTracer final : Tracer {
  Object* visit_reference(Object*, void*, const char*) override { return nullptr; }
};

/// Runs one finalizer; what it throws is reported and ignored (the queue goes on).
void call_finalizer(Object* o) noexcept {
  const auto fin = type_info(header_type(*header_of(o))).finalize;
  if (fin == nullptr) return;
  try {
    fin(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "marrow: a finalizer threw (ignored): %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "marrow: a finalizer threw (ignored)\n");
  }
}

/// Inside finalize() every reference reads null, whoever runs it: the objects it pointed
/// to may be gone, or finalized first.
void null_references(Object* object) {
  NullingTracer nulls;
  if (auto trace = type_info(header_type(*header_of(object))).trace) trace(object, nulls);
}

}  // namespace

Finalization::~Finalization() {
  // Native resources of objects still alive are released: every finalizer runs once.
  running_ = true;
  for (auto* list : {&young_, &old_}) {
    for (Object* o : *list) null_references(o);
    queue_.insert(queue_.end(), list->begin(), list->end());
    list->clear();
  }
  for (Object* o : queue_) call_finalizer(o);
}

void Finalization::resurrect(Object* object) {
  null_references(object);
  *header_of(object) |= kFinalizedBit;
  queue_.push_back(object);
  resurrected_now_.push_back(object);
}

void Heap::run_finalizers() {
  std::vector<Object*>& queue = finalization_.queue();
  if (queue.empty()) return;
  std::vector<Object*> batch;
  batch.swap(queue);
  finalization_.set_running(true);
  set_limit();
  for (Object* o : batch) call_finalizer(o);
  finalization_.set_running(false);
  set_limit();
}

}  // namespace marrow::internal
