// Major collection: empty the nursery into old space, mark from the roots with an
// explicit bounded mark stack, process weak references and finalizers, then either sweep
// old pages into free lists or slide live objects together (Lisp-2 style compaction).
// Must never allocate managed memory or throw.
#include <algorithm>
#include <chrono>
#include <cstring>

#include "marrow/gc/heap.hpp"

namespace marrow::internal {

namespace {

void trace_object_as(Object* o, std::uint32_t type, Tracer& t) {
  if (auto trace = type_info(type).trace) trace(o, t);
}

bool is_marked(const Object* o) {
  HeaderWord h = *header_of(o);
  return (h & kMarkBit) != 0 || Page::of(o)->kind == SpaceKind::kImmortal;
}

}  // namespace

/// Marks reachable objects. Invariant: an object is marked before it is pushed, so each
/// object is pushed at most once; when the stack is full the object stays marked but
/// unscanned, and `overflowed` makes the collector rescan the heap for such objects.
class MarkingTracer final : public Tracer {
 public:
  explicit MarkingTracer(std::size_t limit) : limit_(limit) {}
  Object* visit_reference(Object* p, void*, const char*) override {
    mark(p);
    return p;
  }
  void mark(Object* p) {
    HeaderWord& h = *header_of(p);
    if (h & kMarkBit) return;
    Page* page = Page::of(p);
    if (page->kind == SpaceKind::kImmortal) return;  // immortal: always live, traced as roots
    h |= kMarkBit;
    page->live_bytes += header_size_bytes(h);
    if (type_info(header_type(h)).trace == nullptr) return;  // no references: never scanned
    if (stack_.size() >= limit_) {
      overflowed = true;
      return;
    }
    stack_.push_back(p);
  }
  void drain() {
    while (!stack_.empty()) {
      Object* p = stack_.back();
      stack_.pop_back();
      trace_object_as(p, header_type(*header_of(p)), *this);
    }
  }
  bool overflowed = false;

 private:
  std::size_t limit_;
  std::vector<Object*> stack_;
};

/// Rewrites references to objects whose header is a forwarding word.
class UpdateTracer final : public Tracer {
 public:
  Object* visit_reference(Object* p, void*, const char*) override { return forward(p); }
  static Object* forward(Object* p) {
    HeaderWord h = *header_of(p);
    return is_forwarded(h) ? static_cast<Object*>(object_of(forwardee_header(h))) : p;
  }
};

namespace {

struct NullingTracer final : Tracer {
  Object* visit_reference(Object*, void*, const char*) override { return nullptr; }
};

class MarkWeak final : public WeakProcessor {
 public:
  bool is_alive(const Object* o) const override {
    return is_forwarded(*header_of(o)) || is_marked(o);
  }
  Object* forwarded(Object* o) const override { return UpdateTracer::forward(o); }
};

}  // namespace

void Heap::collect_major(GcReason reason, bool force_compact) {
  begin_collection();

  // 1. Empty the nursery: afterwards nothing is young, so the remembered set is empty.
  std::size_t promoted = evacuate_nursery(true);
  for (Page* p : remembered_pages_) p->clear_remembered();
  remembered_pages_.clear();
  for (Object* o : remembered_objects_) *header_of(o) &= ~kRememberedBit;
  remembered_objects_.clear();
  for (Page* p : old_.pages()) p->live_bytes = 0;
  for (Page* p : large_.runs()) p->live_bytes = 0;

  // 2. Mark.
  enter_phase(GcPhase::kRoots);
  MarkingTracer marker(mark_stack_limit_);
  trace_roots(marker);
  for (auto& [object, count] : pins_) marker.mark(object);
  for (Object* o : pending_finalizers_) marker.mark(o);
  for (Page* page : immortal_.pages()) {
    OldSpace::walk_page(page, [&](std::byte* p, HeaderWord h) {
      if (!is_free_type(header_type(h)))
        trace_object_as(static_cast<Object*>(object_of(p)), header_type(h), marker);
    });
  }
  enter_phase(GcPhase::kMark);
  marker.drain();
  while (marker.overflowed) {
    // Rescan: every marked object's children get another chance to be pushed.
    ++mark_stack_overflows_;
    marker.overflowed = false;
    auto rescan = [&](Page* page) {
      OldSpace::walk_page(page, [&](std::byte* p, HeaderWord h) {
        if (!is_free_type(header_type(h)) && (h & kMarkBit)) {
          trace_object_as(static_cast<Object*>(object_of(p)), header_type(h), marker);
          marker.drain();
        }
      });
    };
    for (Page* page : old_.pages()) rescan(page);
    for (Page* run : large_.runs()) rescan(run);
  }

  // 3. Weak references and finalizers (before anything moves or is freed).
  enter_phase(GcPhase::kWeak);
  weaks_.for_each([&](Object*& slot) {
    if (slot != nullptr && !is_marked(slot)) slot = nullptr;
  });
  {
    std::vector<Object*> old;
    old.swap(finalizable_old_);
    NullingTracer nulls;
    for (Object* o : old) {
      if (is_marked(o)) {
        finalizable_old_.push_back(o);
        continue;
      }
      HeaderWord& h = *header_of(o);
      h |= kMarkBit | kFinalizedBit;
      Page::of(o)->live_bytes += header_size_bytes(h);
      trace_object_as(o, header_type(h), nulls);
      pending_finalizers_.push_back(o);
    }
  }

  // 4. Sweep or compact old space; free dead large objects.
  // Fragmentation counts only pages that keep live objects: wholly dead pages go back
  // to the provider in the sweep anyway, and compacting to free them would be wasted work.
  std::size_t occupied_area = 0;
  std::size_t occupied_pages = 0;
  std::size_t old_live = 0;
  for (Page* p : old_.pages()) {
    old_live += p->live_bytes;
    if (p->live_bytes != 0) {
      ++occupied_pages;
      occupied_area += kPageSize - Page::header_bytes(kPageSize);
    }
  }
  double fragmentation = occupied_area == 0 ? 0.0 : 1.0 - double(old_live) / double(occupied_area);
  // Holes the mutator refills are not worth moving objects for: compaction is chosen
  // only when most of the free-listed bytes the last sweep made are still unused (the
  // allocation sizes do not fit them), so a steady workload whose dead objects leave
  // holes of the sizes it allocates (caches, queues) keeps sweeping.
  // After a compaction (or before any sweep) there is no such evidence: sweep first.
  bool holes_unused = free_after_last_sweep_ != 0 &&
                      double(old_.free_list_bytes()) >= 0.5 * double(free_after_last_sweep_);
  bool compact = force_compact || (occupied_pages >= 8 && holes_unused &&
                                   fragmentation > config_.compaction_threshold);
  std::size_t old_before = old_.allocated_bytes();
  free_page_tails_ = 0;
  provider_.set_reserve(~std::size_t{0});  // trimmed below, once the next trigger is known
  if (compact) {
    enter_phase(GcPhase::kCompact);
    compact_old_space();
    enter_phase(GcPhase::kSweep);
  } else {
    MarkWeak w;
    process_root_source_weaks(w);
    enter_phase(GcPhase::kSweep);
    old_.reset_free_lists();
    std::vector<Page*> pages = old_.pages();
    for (Page* page : pages) sweep_page(page);
  }
  sweep_large_objects();
  free_after_last_sweep_ = compact ? 0 : old_.free_list_bytes();
  stats_.bytes_freed += old_before > old_live ? old_before - old_live : 0;
  old_.set_allocated_bytes(old_live);
  old_live_after_major_ = old_live + large_.object_bytes();

  // 5. Size the next trigger from what survived.
  std::size_t live = old_live_after_major_;
  std::size_t trigger = std::max<std::size_t>(std::size_t(double(live) * config_.growth_factor),
                                              live + config_.initial_old_trigger_bytes);
  if (config_.heap_limit_bytes != 0) {
    std::size_t room =
        config_.heap_limit_bytes - std::min(config_.heap_limit_bytes, nursery_.committed_bytes());
    trigger = std::min(trigger, std::max(room, live + kPageSize));
  }
  next_major_trigger_ = trigger;

  // After a collection the growth trigger started, empty pages stay mapped for what the old
  // generation may grow into before the next one (beyond its free lists): it would map and
  // fault in as many again. Other collections (rt.collect, the heap limit, pins, stress)
  // and heaps with a limit keep only page_reserve; the rest goes back to the OS now.
  std::size_t keep = config_.page_reserve;
  if (reason == GcReason::kHeapGrowth && config_.heap_limit_bytes == 0) {
    std::size_t room = trigger - std::min(trigger, live + old_.free_list_bytes());
    keep = std::max(keep, room / kPageSize);
  }
  provider_.set_reserve(keep);
  provider_.trim(keep);

  // Free space at the end of a page is room to bump into, not a hole between objects.
  std::size_t holes = old_.free_list_bytes() - std::min(old_.free_list_bytes(), free_page_tails_);
  stats_.fragmentation = holes == 0 ? 0.0 : double(holes) / double(holes + old_live);
  GcKind kind = compact ? GcKind::kCompact : GcKind::kMajor;
  if (compact && !force_compact) reason = GcReason::kFragmentation;
  end_collection(kind, reason, promoted);
}

void Heap::sweep_page(Page* page) {
  if (page->live_bytes == 0 && page->pinned_count == 0) {
    // Marking found nothing here: no mark bits to clear, nothing to keep, no walk.
    old_.release_page(page);
    return;
  }
  std::byte* free_start = nullptr;
  std::size_t live = 0;
  std::byte* p = page->area_start();
  std::byte* end = page->top;
  while (p < end) {
    auto* hp = reinterpret_cast<HeaderWord*>(p);
    HeaderWord h = *hp;
    std::size_t size = header_size_bytes(h);
    if (!is_free_type(header_type(h)) && (h & kMarkBit)) {
      *hp = h & ~kMarkBit;
      if (free_start != nullptr) {
        old_.add_free(free_start, std::size_t(p - free_start));
        free_start = nullptr;
      }
      live += size;
    } else {
#if defined(MARROW_DEBUG)
      if (size > kMinObjectSize) std::memset(p + kMinObjectSize, 0xDB, size - kMinObjectSize);
#endif
      if (free_start == nullptr) free_start = p;
    }
    p += size;
  }
  if (live == 0 && page->pinned_count == 0) {
    old_.release_page(page);
    return;
  }
  if (free_start != nullptr) {
    old_.add_free(free_start, std::size_t(end - free_start));
    free_page_tails_ += std::size_t(end - free_start);
  }
}

void Heap::sweep_large_objects() {
  std::vector<Page*> runs = large_.runs();
  for (Page* run : runs) {
    auto* hp = reinterpret_cast<HeaderWord*>(run->area_start());
    if (*hp & kMarkBit) {
      *hp &= ~kMarkBit;
      run->clear_remembered();
    } else {
      stats_.bytes_freed += header_size_bytes(*hp);
      large_.free(run);
    }
  }
}

/// Sliding compaction over the old pages that hold no pinned object, in address order.
/// Phase A computes each live object's new address (a cursor running through the same
/// pages), saving the original header in `saved` and writing a forwarding word in its
/// place. Phase B rewrites every reference. Phase C moves the objects (each destination is
/// at or before its source in page order, so a forward walk never overwrites an object it
/// has not moved yet) and restores their headers. Pinned pages are swept instead.
void Heap::compact_old_space() {
  std::vector<Page*> candidates;
  std::vector<Page*> pinned;
  for (Page* p : old_.pages()) (p->pinned_count == 0 ? candidates : pinned).push_back(p);
  std::sort(candidates.begin(), candidates.end());
  old_.reset_free_lists();

  // Phase A: forwarding addresses.
  std::vector<HeaderWord> saved;
  std::vector<std::pair<std::byte*, std::size_t>> gaps;
  std::size_t cursor_page = 0;
  std::byte* cursor = candidates.empty() ? nullptr : candidates[0]->area_start();
  for (Page* page : candidates) {
    std::byte* p = page->area_start();
    while (p < page->top) {
      auto* hp = reinterpret_cast<HeaderWord*>(p);
      HeaderWord h = *hp;
      std::size_t size = header_size_bytes(h);
      if (!is_free_type(header_type(h)) && (h & kMarkBit)) {
        if (std::size_t(candidates[cursor_page]->area_end() - cursor) < size) {
          gaps.emplace_back(cursor, std::size_t(candidates[cursor_page]->area_end() - cursor));
          cursor = candidates[++cursor_page]->area_start();
        }
        saved.push_back(h & ~kMarkBit);
        *hp = reinterpret_cast<HeaderWord>(cursor) | kForwardedBit;
        if (cursor != p) stats_.bytes_moved += size;
        cursor += size;
      }
      p += size;
    }
  }

  // Weak processing sees final addresses; dead objects are neither marked nor forwarded.
  enter_phase(GcPhase::kWeak);
  MarkWeak w;
  process_root_source_weaks(w);
  enter_phase(GcPhase::kCompact);

  // Phase B: update references everywhere.
  UpdateTracer update;
  trace_roots(update);
  auto update_slot = [](Object*& slot) {
    if (slot != nullptr) slot = UpdateTracer::forward(slot);
  };
  weaks_.for_each(update_slot);
  for (Object*& o : finalizable_old_) update_slot(o);
  for (Object*& o : pending_finalizers_) update_slot(o);
  std::size_t i = 0;
  for (Page* page : candidates) {
    std::byte* p = page->area_start();
    while (p < page->top) {
      HeaderWord h = *reinterpret_cast<HeaderWord*>(p);
      std::size_t size;
      if (is_forwarded(h)) {
        HeaderWord original = saved[i++];
        size = header_size_bytes(original);
        trace_object_as(static_cast<Object*>(object_of(p)), header_type(original), update);
      } else {
        size = header_size_bytes(h);
      }
      p += size;
    }
  }
  auto update_marked = [&](Page* page) {
    OldSpace::walk_page(page, [&](std::byte* p, HeaderWord h) {
      if (!is_free_type(header_type(h)) && (h & kMarkBit))
        trace_object_as(static_cast<Object*>(object_of(p)), header_type(h), update);
    });
  };
  for (Page* page : pinned) update_marked(page);
  for (Page* run : large_.runs()) update_marked(run);
  for (Page* page : immortal_.pages()) {
    OldSpace::walk_page(page, [&](std::byte* p, HeaderWord h) {
      if (!is_free_type(header_type(h)))
        trace_object_as(static_cast<Object*>(object_of(p)), header_type(h), update);
    });
  }

  // Phase C: move.
  i = 0;
  for (Page* page : candidates) {
    std::byte* p = page->area_start();
    std::byte* end = page->top;
    while (p < end) {
      HeaderWord h = *reinterpret_cast<HeaderWord*>(p);
      std::size_t size;
      if (is_forwarded(h)) {
        HeaderWord original = saved[i++];
        size = header_size_bytes(original);
        auto* dst = reinterpret_cast<std::byte*>(forwardee_header(h));
        if (dst != p) std::memmove(dst, p, size);
        *reinterpret_cast<HeaderWord*>(dst) = original;
      } else {
        size = header_size_bytes(h);
      }
      p += size;
    }
  }

  // Free space: the gaps, the rest of the cursor's page (the new LAB), empty pages.
  for (auto [p, n] : gaps) {
    old_.add_free(p, n);
    free_page_tails_ += n;  // a gap is the skipped end of a page
  }
  for (std::size_t k = cursor_page + 1; k < candidates.size(); ++k)
    old_.release_page(candidates[k]);
  if (!candidates.empty()) {
    Page* last = candidates[cursor_page];
    if (cursor == last->area_start()) {
      old_.release_page(last);
    } else {
      old_.set_lab(cursor, last->area_end());
    }
  }
  for (Page* page : pinned) sweep_page(page);
}

}  // namespace marrow::internal
