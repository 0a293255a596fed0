// The Heap aggregate: building and tearing down one runtime's collector, the collection
// entry point every caller shares, and address queries over all spaces.
#include "marrow/gc/heap.hpp"

#include "marrow/errors.hpp"
#include "marrow/gc/objects.hpp"

namespace marrow::internal {

Heap::Heap(const Config& config, Mutator& mutator)
    : config_(normalised(config)),
      mutator_(mutator),
      provider_(config_.page_reserve),
      old_(provider_, this, Space::kOld),
      large_(provider_, this),
      immortal_(provider_, this, Space::kImmortal),
      pretenuring_(mutator, old_, nursery_, events_.stats()),
      policy_(config_) {
  if (!nursery_.init(config_.nursery_bytes, config_.survivor_bytes))
    throw OutOfMemory("marrow: cannot reserve the nursery (too many runtimes, or no memory)");
  mutator_.top = nursery_.eden_start();
  mutator_.large_object_bytes = config_.large_object_bytes;
  eden_limit_ = nursery_.eden_end();
  stress_countdown_ = config_.stress_interval;
  policy_.start(nursery_.committed_bytes());
  set_limit();
  if (!config_.gc_trace_path.empty()) start_gc_trace(config_.gc_trace_path);
}

// Members are destroyed in reverse order: the finalizers (Finalization's destructor) run
// while every space is still mapped.
Heap::~Heap() = default;

void Heap::collect(GcKind kind, GcReason reason) {
  if (kind == GcKind::kMinor)
    collect_minor(reason, false);
  else
    collect_major(reason, kind == GcKind::kCompact);
  run_finalizers();
}

void Heap::collect_requested(GcKind kind) {
  mutator_.check_thread();
  if (finalization_.running()) throw UsageError("marrow: finalizers must not start a collection");
  if (mutator_.constructing) throw UsageError("marrow: constructors must not start a collection");
  MARROW_CHECK(!in_gc_, "collect() was called during a collection");
  collect(kind, GcReason::kRequested);
}

Space Heap::space_of(const void* p) const {
  if (nursery_.contains(p)) {
    auto* b = static_cast<const std::byte*>(p);
    return b < nursery_.eden_end() ? Space::kEden : Space::kSurvivor;
  }
  for (Page* page : old_.pages())
    if (page->contains(p)) return Space::kOld;
  for (Page* run : large_.runs())
    if (run->contains(p)) return Space::kLarge;
  for (Page* page : immortal_.pages())
    if (page->contains(p)) return Space::kImmortal;
  return Space::kNone;
}

void Heap::for_each_object(const std::function<void(Object*, HeaderWord)>& fn) {
  auto walk = [&](std::byte* start, std::byte* end) {
    walk_headers(start, end, [&](std::byte* p, HeaderWord h) {
      if (!is_free_type(header_type(h))) fn(static_cast<Object*>(object_of(p)), h);
    });
  };
  pretenuring_.sync();
  walk(nursery_.eden_start(), pretenuring_.eden_top());
  walk(nursery_.from_space().start, nursery_.from_space().top);
  for (Page* page : old_.pages()) walk(page->area_start(), page->top);
  for (Page* run : large_.runs()) walk(run->area_start(), run->top);
  for (Page* page : immortal_.pages()) walk(page->area_start(), page->top);
}

}  // namespace marrow::internal
