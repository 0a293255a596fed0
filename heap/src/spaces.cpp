// Nursery, old space (bump buffer + segregated free lists) and large-object space.
// These hand out and take back memory; they never read object contents except headers.
#include "marrow/heap/spaces.hpp"

#include <algorithm>
#include <cstring>

#include "marrow/internal/check.hpp"

namespace marrow::internal {

// ---- Nursery -------------------------------------------------------------------------

Nursery::~Nursery() {
  if (base_ != nullptr) {
    decommit_young(base_, span_);
    release_young_slot(base_);
  }
}

Nursery::InitResult Nursery::init(std::size_t eden_bytes, std::size_t survivor_bytes) noexcept {
  if (eden_bytes > kYoungSlotBytes || survivor_bytes > kYoungSlotBytes)
    return InitResult::kTooLarge;
  eden_bytes = align_up(eden_bytes, 4096);
  survivor_bytes = align_up(survivor_bytes, 4096);
  if (eden_bytes + 2 * survivor_bytes > kYoungSlotBytes) return InitResult::kTooLarge;
  std::size_t span = eden_bytes + 2 * survivor_bytes;
  std::byte* base = acquire_young_slot();
  if (base == nullptr) return InitResult::kNoSlot;
  if (!commit_young(base, span)) {
    release_young_slot(base);
    return InitResult::kNoMemory;
  }
  // Eden is filled front to back by the mutator and reused at every cycle: huge pages make
  // its first pass cheap (a 4 KiB fault costs about 10 us on the 2-core VM here). Not the
  // survivor spaces: a collection's first copy into one would zero whole 2 MiB pages in
  // the pause, for survivors that often need far less (churn: +3 ms maximum pause).
  prefer_huge_pages(base, eden_bytes);
  base_ = base;  // only now: a nursery that failed to start contains nothing
  span_ = span;
  eden_ = {base_, base_, base_ + eden_bytes};
  survivors_[0] = {eden_.end, eden_.end, eden_.end + survivor_bytes};
  survivors_[1] = {survivors_[0].end, survivors_[0].end, survivors_[0].end + survivor_bytes};
  eden_max_ = eden_bytes;
  return InitResult::kOk;
}

void Nursery::resize_eden(std::size_t bytes) noexcept {
  MARROW_DCHECK(eden_.top == eden_.start, "eden is resized only when empty");
  bytes = std::clamp(align_up(bytes, kOsPageSize), kOsPageSize, eden_max_);
  release_eden_beyond(bytes);
  eden_.end = eden_.start + bytes;
}

void Nursery::release_eden_beyond(std::size_t bytes) noexcept {
  bytes = align_up(bytes, kOsPageSize);
  if (eden_touched_ <= bytes) return;  // nothing resident there: no syscall
  release_young(eden_.start + bytes, eden_touched_ - bytes);
  eden_touched_ = bytes;
}

void Nursery::trim_survivors(ReleaseSurvivors what) noexcept {
  // From-space has just been filled (it was the to-space of the collection that flipped).
  std::size_t used = align_up(from_space().used(), kOsPageSize);
  std::size_t& from_touched = survivor_touched_[from_];
  from_touched = std::max(from_touched, used);
  std::size_t keep = 0;
  if (what == ReleaseSurvivors::kBeyondNeed) {
    // Survivors vary from one collection to the next; releasing what twice the last
    // amount does not reach keeps this syscall rare while bounding what is kept.
    constexpr std::size_t kMinKeep = std::size_t{64} << 10;
    keep = std::min(std::max(2 * used, kMinKeep), to_space().capacity());
  } else {
    MARROW_DCHECK(used == 0, "survivor spaces are released only when both are empty");
    from_touched = 0;
    survivor_populated_[from_] = 0;
    release_young(from_space().start, from_space().capacity());
  }
  std::size_t& to_touched = survivor_touched_[1 - from_];
  if (to_touched > keep) {
    release_young(to_space().start + keep, to_touched - keep);
    to_touched = keep;
  }
  std::size_t& to_populated = survivor_populated_[1 - from_];
  to_populated = std::min(to_populated, keep);
}

// ---- Old space -----------------------------------------------------------------------

OldSpace::~OldSpace() {
  for (Page* p : pages_) provider_.free(p);
}

void OldSpace::format_filler(std::byte* p, std::size_t size) noexcept {
  *reinterpret_cast<HeaderWord*>(p) = make_header(size, kFillerType);
}

void OldSpace::add_free(std::byte* p, std::size_t size) noexcept {
  if (size == 0) return;
  if (size < kMinObjectSize) {
    format_filler(p, size);
    return;
  }
  *reinterpret_cast<HeaderWord*>(p) = make_header(size, kFreeChunkType);
  free_bytes_ += size;
  if (size <= kSmallClassLimit) {
    std::size_t c = size / kWordSize;
    std::byte*& head = small_lists_[c];
    *reinterpret_cast<std::byte**>(p + kHeaderSize) = head;
    head = p;
    small_nonempty_[c / 64] |= std::uint64_t{1} << (c % 64);
  } else {
    *reinterpret_cast<std::byte**>(p + kHeaderSize) = nullptr;
    big_chunks_.emplace(size, p);
  }
}

void OldSpace::reset_free_lists() noexcept {
  for (auto& head : small_lists_) head = nullptr;
  small_nonempty_[0] = small_nonempty_[1] = 0;
  big_chunks_.clear();
  free_bytes_ = 0;
  lab_ = {};
  lab_page_ = nullptr;
}

void OldSpace::retire_lab() noexcept {
  // The rest of the LAB is already a filler; give it to a free list when it is usable.
  if (lab_page_ != nullptr && lab_.top < lab_.end)
    add_free(lab_.top, std::size_t(lab_.end - lab_.top));
  lab_ = {};
  lab_page_ = nullptr;
}

void OldSpace::set_lab(std::byte* top, std::byte* end) noexcept {
  retire_lab();
  if (top >= end) return;
  lab_ = {top, top, end};
  lab_page_ = Page::of(top);
  format_filler(top, std::size_t(end - top));
}

Page* OldSpace::add_page() noexcept {
  Page* page = provider_.allocate_page(owner_, kind_);
  if (page == nullptr) return nullptr;
  pages_.push_back(page);
  page->top = page->area_end();
  format_filler(page->area_start(), std::size_t(page->area_end() - page->area_start()));
  return page;
}

void OldSpace::release_page(Page* page) noexcept {
  for (std::size_t i = 0; i < pages_.size(); ++i) {
    if (pages_[i] == page) {
      pages_[i] = pages_.back();
      pages_.pop_back();
      break;
    }
  }
  if (lab_page_ == page) lab_ = {}, lab_page_ = nullptr;
  provider_.free(page);
}

std::byte* OldSpace::pop_small(std::size_t c) noexcept {
  std::byte*& head = small_lists_[c];
  std::byte* p = head;
  head = *reinterpret_cast<std::byte**>(p + kHeaderSize);
  if (head == nullptr) small_nonempty_[c / 64] &= ~(std::uint64_t{1} << (c % 64));
  free_bytes_ -= c * kWordSize;
  return p;
}

std::size_t OldSpace::first_small_at_least(std::size_t c) const noexcept {
  for (std::size_t w = c / 64; w < 2; ++w) {
    std::uint64_t bits = small_nonempty_[w];
    if (w == c / 64) bits &= ~std::uint64_t{0} << (c % 64);
    if (bits != 0) return w * 64 + std::size_t(__builtin_ctzll(bits));
  }
  return 0;
}

std::byte* OldSpace::allocate_slow(std::size_t size) noexcept {
  MARROW_DCHECK(size % kWordSize == 0 && size >= kMinObjectSize, "old-space sizes are words");
  if (size <= kSmallClassLimit) {
    std::size_t c = size / kWordSize;
    // 1. An exact-size hole: no split, no fragmentation.
    if (small_lists_[c] != nullptr) {
      allocated_bytes_ += size;
      return pop_small(c);
    }
    // 2. The smallest larger small hole that leaves a usable remainder (>= 16 bytes). It
    //    becomes the LAB, so the next small objects bump into the rest of it.
    if (std::size_t larger = first_small_at_least(c + kMinObjectSize / kWordSize)) {
      std::byte* p = pop_small(larger);
      retire_lab();
      lab_ = {p, p, p + larger * kWordSize};
      lab_page_ = Page::of(p);
      return allocate(size);
    }
  }
  // 3. A new LAB: best fit among big chunks of at least max(size, 4 KiB), else any big chunk
  //    that fits, else a fresh page. 4 KiB keeps LAB refills rare for small objects.
  retire_lab();
  constexpr std::size_t kMinLab = 4096;
  auto it = big_chunks_.lower_bound(size > kMinLab ? size : kMinLab);
  if (it == big_chunks_.end()) it = big_chunks_.lower_bound(size);
  if (it != big_chunks_.end()) {
    std::byte* p = it->second;
    std::size_t chunk = it->first;
    big_chunks_.erase(it);
    free_bytes_ -= chunk;
    lab_ = {p, p, p + chunk};
    lab_page_ = Page::of(p);
  } else {
    // Unswept pages first: their holes are free memory the sweep has not listed yet.
    if (sweep_hook_ != nullptr && sweep_hook_(sweep_context_, size)) return allocate_slow(size);
    Page* page = add_page();
    if (page == nullptr) return nullptr;
    MARROW_CHECK(size <= std::size_t(page->area_end() - page->area_start()),
                 "objects in old-space pages fit in a page (bigger ones are large objects)");
    lab_ = {page->area_start(), page->area_start(), page->area_end()};
    lab_page_ = page;
  }
  return allocate(size);
}

void OldSpace::for_each_free_chunk(const std::function<void(std::byte*, std::size_t)>& fn) const {
  for (std::size_t c = 0; c < kSmallClasses; ++c) {
    for (std::byte* p = small_lists_[c]; p != nullptr;
         p = *reinterpret_cast<std::byte* const*>(p + kHeaderSize)) {
      fn(p, c * kWordSize);
    }
  }
  for (auto& [size, p] : big_chunks_) fn(p, size);
}

// ---- Large-object space --------------------------------------------------------------

LargeObjectSpace::~LargeObjectSpace() {
  for (Page* r : runs_) provider_.free(r);
}

std::byte* LargeObjectSpace::allocate(std::size_t size) noexcept {
  Page* run = provider_.allocate_run(owner_, Space::kLarge, size);
  if (run == nullptr) return nullptr;
  runs_.push_back(run);
  run->top = run->area_start() + size;
  object_bytes_ += size;
  run_bytes_ += run->run_bytes;
  return run->area_start();
}

void LargeObjectSpace::release(Page* run) noexcept {
  object_bytes_ -= std::size_t(run->top - run->area_start());
  run_bytes_ -= run->run_bytes;
  provider_.free(run);
}

}  // namespace marrow::internal
