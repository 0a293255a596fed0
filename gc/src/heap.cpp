// The Heap aggregate: building and tearing down one runtime's collector, the collection
// entry point every caller shares, and address queries over all spaces.
#include "marrow/gc/heap.hpp"

#include <fmt/format.h>

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
      policy_(config_),
      workers_(config_.gc_threads),
      parallelism_(workers_.threads(), config.gc_threads == 0),
      work_stacks_(workers_.threads()) {
  switch (nursery_.init(config_.nursery_bytes, config_.survivor_bytes)) {
    case Nursery::InitResult::kOk:
      break;
    case Nursery::InitResult::kTooLarge:  // normalised() rejects these first
      throw ConfigError(fmt::format(
          "marrow: Config: eden ({} bytes) and two survivor spaces ({} bytes each) must fit "
          "in {} bytes",
          config_.nursery_bytes, config_.survivor_bytes, kYoungSlotBytes));
    case Nursery::InitResult::kNoSlot:
      throw OutOfMemory(fmt::format(
          "marrow: too many runtimes: at most {} can exist at once in this process (each "
          "reserves a {} MiB slot of address space for its nursery)",
          young_slot_count(), kYoungSlotBytes >> 20));
    case Nursery::InitResult::kNoMemory:
      throw OutOfMemory(fmt::format("marrow: the OS refused {} bytes for the nursery",
                                    config_.nursery_bytes + 2 * config_.survivor_bytes));
  }
  mutator_.top = nursery_.eden_start();
  mutator_.large_object_bytes = config_.large_object_bytes;
  eden_limit_ = nursery_.eden_end();
  stress_countdown_ = config_.stress_interval;
  policy_.start(nursery_.span());
  pretenuring_.report_allocations_to(&marking_);
  old_.set_sweep_hook(&Heap::sweep_hook, this);
  stress_marking_countdown_ = config_.stress_incremental;
  set_limit();
  limit_eden_for_pause();  // the first eden, before anything is measured
  if (!config_.gc_trace_path.empty()) start_gc_trace(config_.gc_trace_path);
}

// Members are destroyed in reverse order: the finalizers (Finalization's destructor) run
// while every space is still mapped.
Heap::~Heap() = default;

void Heap::collect(GcKind kind, GcReason reason) {
  const GcEvent& e = events_.current();  // the collection just finished, below
  if (kind == GcKind::kMinor) {
    const HeapStats& s = events_.stats();
    std::size_t copied_before = s.bytes_promoted + s.bytes_survived;
    collect_minor(reason, false);
    std::size_t copied = s.bytes_promoted + s.bytes_survived - copied_before;
    if (reason == GcReason::kAllocation) {
      std::size_t young_before =
          e.space_before[std::size_t(Space::kEden)] + e.space_before[std::size_t(Space::kSurvivor)];
      std::size_t eden = policy_.next_eden_size(nursery_.eden_capacity(), young_before, copied);
      if (eden != nursery_.eden_capacity()) resize_eden(eden);
    }
    policy_.minor_ended(e.pause, copied);
  } else if (kind == GcKind::kMarkStart || kind == GcKind::kMarkStep ||
             kind == GcKind::kSweepStep) {
    collect_increment(kind, reason);
  } else {
    std::size_t before = old_generation_bytes();
    collect_major(reason, kind == GcKind::kCompact);
    policy_.major_ended(reason, e.start + e.pause, e.pause, before, old_generation_bytes());
    if (e.incremental) policy_.remark_ended(e.pause);
    // A quiet phase allocates little: the smallest eden serves it.
    if (reason == GcReason::kShrink) resize_eden(config_.min_nursery_bytes);
  }
  // While a pretenuring window is open eden is empty, and the probe that ends it uses only
  // its first quarter: the rest need not stay resident (it is touched again only when a
  // phase without windows comes).
  if (pretenuring_.active()) nursery_.release_eden_beyond(probe_bytes());
  limit_eden_for_pause();
  run_finalizers();
}

void Heap::reduce_memory() {
  check_may_collect("reduce_memory()");
  collect(GcKind::kMajor, GcReason::kRequested);
  // Compacting frees the pages that holes keep; past a fifth of old space it is worth a
  // second pass over the heap.
  constexpr double kCompactAbove = 0.2;
  if (policy_.fragmentation(old_.free_list_bytes(), old_.allocated_bytes()) > kCompactAbove)
    collect(GcKind::kCompact, GcReason::kRequested);
  policy_.forget_peak();
  provider_.trim(0);
  nursery_.trim_survivors(Nursery::ReleaseSurvivors::kAll);
  resize_eden(config_.min_nursery_bytes);
}

void Heap::check_may_collect(const char* what) const {
  mutator_.check_thread();
  MARROW_CHECK(!in_gc_,
               "no allocation or collection during a collection (trace, process_weak and "
               "trace_roots must not allocate, collect, pin or walk the heap)");
  const char* where = nullptr;
  if (finalization_.running())
    where = "inside a finalizer: finalizers must not allocate managed memory or collect";
  else if (mutator_.constructing)
    where =
        "inside a managed constructor: constructors must not allocate managed memory or "
        "collect (the object under construction is not rooted yet)";
  else if (walking_)
    where = "inside a for_each_object callback: the heap walk must not allocate or collect";
  else if (in_limit_callback_)
    where =
        "inside the near-heap-limit callback: it must return a new limit without allocating "
        "or collecting";
  if (where != nullptr) throw UsageError(fmt::format("marrow: {} {}", what, where));
}

void Heap::collect_requested(GcKind kind) {
  check_may_collect("collect()");
  // The incremental kinds do what is due: a start when no cycle runs, a step when one
  // does, a sweep step when a sweep is pending; otherwise nothing (no event).
  if (kind == GcKind::kMarkStart && marking_.active()) return;
  if (kind == GcKind::kMarkStep && !marking_.active()) return;
  if (kind == GcKind::kSweepStep && !lazy_sweep_.pending()) return;
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

void Heap::collect_for_inspection(const char* what) {
  check_may_collect(what);
  auto finalizable = [&] { return finalization_.young().size() + finalization_.old().size(); };
  std::size_t before = finalizable();
  collect(GcKind::kMajor, GcReason::kRequested);
  if (finalizable() < before) collect(GcKind::kMajor, GcReason::kRequested);
}

bool Heap::owns(const void* object) const {
  if (nursery_.contains(object)) return true;
  Page* page = page_containing(object);
  return page != nullptr && page->owner == this && page->contains(object);
}

void Heap::for_each_object(const std::function<void(Object*, HeaderWord)>& fn) {
  auto walk = [&](std::byte* start, std::byte* end) {
    walk_headers(start, end, [&](std::byte* p, HeaderWord h) {
      if (!is_free_type(header_type(h))) fn(static_cast<Object*>(object_of(p)), h);
    });
  };
  finish_sweeping();  // dead objects of unswept pages may point at freed memory
  RefuseAllocation refuse(*this, walking_);
  walk(nursery_.eden_start(), pretenuring_.eden_top());
  walk(nursery_.from_space().start, nursery_.from_space().top);
  for (Page* page : old_.pages()) walk(page->area_start(), page->top);
  for (Page* run : large_.runs()) walk(run->area_start(), run->top);
  for (Page* page : immortal_.pages()) walk(page->area_start(), page->top);
}

}  // namespace marrow::internal
