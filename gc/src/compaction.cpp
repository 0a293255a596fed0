// Sliding compaction over the old pages that hold no pinned object, in address order.
// Phase A computes each live object's new address (a cursor running through the same
// pages), saving the original header and writing a forwarding word in its place. Phase B
// rewrites every reference. Phase C moves the objects (each destination is at or before
// its source in page order, so a forward walk never overwrites an object it has not
// moved yet) and restores their headers. Never allocates managed memory.
#include "marrow/gc/compaction.hpp"

#include <algorithm>
#include <cstring>

#include "marrow/gc/heap.hpp"
#include "marrow/gc/objects.hpp"
#include "marrow/gc/sweeping.hpp"

namespace marrow::internal {

namespace {

/// Rewrites references to objects whose header is a forwarding word.
class UpdateTracer final : public Tracer {
 public:
  Object* visit_reference(Object* p, void*, const char*) override { return forwardee(p); }
};

}  // namespace

Compactor::Compactor(Heap& heap) : heap_(heap) {
  for (Page* p : heap.old_.pages()) (p->pinned_count == 0 ? candidates_ : pinned_).push_back(p);
  std::sort(candidates_.begin(), candidates_.end());
}

void Compactor::plan() {
  heap_.old_.reset_free_lists();
  HeapStats& stats = heap_.events_.stats();
  cursor_ = candidates_.empty() ? nullptr : candidates_[0]->area_start();
  for (Page* page : candidates_) {
    walk_headers(page->area_start(), page->top, [&](std::byte* p, HeaderWord h) {
      if (is_free_type(header_type(h)) || !(h & heap_.mark_bit())) return;
      std::size_t size = header_size_bytes(h);
      Page* target = candidates_[cursor_page_];
      if (std::size_t(target->area_end() - cursor_) < size) {
        gaps_.emplace_back(cursor_, std::size_t(target->area_end() - cursor_));
        cursor_ = candidates_[++cursor_page_]->area_start();
      }
      saved_.push_back(h & ~kMarkBits);
      live_bytes_ += size;
      *reinterpret_cast<HeaderWord*>(p) = reinterpret_cast<HeaderWord>(cursor_) | kForwardedBit;
      if (cursor_ != p) stats.bytes_moved += size;
      cursor_ += size;
    });
  }
}

void Compactor::update_references() {
  UpdateTracer update;
  heap_.roots_.trace(heap_.mutator_.handles, update);
  for (Object*& o : heap_.finalization_.old()) o = forwardee(o);
  for (Object*& o : heap_.finalization_.queue()) o = forwardee(o);
  // Moving objects, read at their old address; the saved header says what they are.
  for_each_planned([&](std::byte* p, HeaderWord original) {
    trace_object(static_cast<Object*>(object_of(p)), header_type(original), update);
  });
  auto update_page = [&](Page* page, bool marked_only) {
    OldSpace::walk_page(page, [&](std::byte* p, HeaderWord h) {
      if (!is_free_type(header_type(h)) && (!marked_only || (h & heap_.mark_bit())))
        trace_object(static_cast<Object*>(object_of(p)), header_type(h), update);
    });
  };
  for (Page* page : pinned_) update_page(page, true);
  for (Page* run : heap_.large_.runs()) update_page(run, true);
  for (Page* page : heap_.immortal_.pages()) update_page(page, false);
}

std::size_t Compactor::move() {
  for_each_planned([](std::byte* p, HeaderWord original) {
    HeaderWord forwarding = *reinterpret_cast<HeaderWord*>(p);
    auto* dst = reinterpret_cast<std::byte*>(forwardee_header(forwarding));
    if (dst != p) std::memmove(dst, p, header_size_bytes(original));
    *reinterpret_cast<HeaderWord*>(dst) = original;
  });
  for (Page* page : candidates_) page->sealed = false;  // rewritten, with its free space

  // Free space: the gaps, the rest of the cursor's page (the new LAB), empty pages.
  OldSpace& old = heap_.old_;
  std::size_t tails = 0;
  for (auto [p, n] : gaps_) {
    old.add_free(p, n);
    tails += n;  // a gap is the skipped end of a page
  }
  for (std::size_t k = cursor_page_ + 1; k < candidates_.size(); ++k)
    old.release_page(candidates_[k]);
  if (!candidates_.empty()) {
    Page* last = candidates_[cursor_page_];
    if (cursor_ == last->area_start())
      old.release_page(last);
    else
      old.set_lab(cursor_, last->area_end());
  }
  Sweeper sweeper(heap_);
  for (Page* page : pinned_) sweeper.sweep_page(page);
  live_bytes_ += sweeper.live_bytes();
  return tails + sweeper.page_tails();
}

}  // namespace marrow::internal
