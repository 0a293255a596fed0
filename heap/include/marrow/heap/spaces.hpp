// The spaces of the managed heap: the nursery (eden + two survivor semispaces), the old
// space (pages with segregated free lists and a bump buffer), the large-object space and
// the immortal space. Spaces hand out memory; they never trace or move objects.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "marrow/heap/page.hpp"
#include "marrow/internal/header.hpp"

namespace marrow::internal {

/// Walks [p, end) by headers (invariant W): fn(header_address, header_word) for every
/// object, free chunk and filler. The one page walk: spaces, sweeping, compaction and the
/// heap walk all use it.
template <class Fn>
void walk_headers(std::byte* p, std::byte* end, Fn&& fn) {
  while (p < end) {
    HeaderWord h = *reinterpret_cast<HeaderWord*>(p);
    std::size_t size = header_size_bytes(h);
    fn(p, h);
    p += size;
  }
}

/// A bump region [start, end) with its current top.
struct BumpRegion {
  std::byte* start = nullptr;
  std::byte* top = nullptr;
  std::byte* end = nullptr;
  std::size_t used() const { return std::size_t(top - start); }
  std::size_t capacity() const { return std::size_t(end - start); }
  bool contains(const void* p) const {
    auto* b = static_cast<const std::byte*>(p);
    return b >= start && b < end;
  }
};

/// Eden and two survivor semispaces, contiguous inside one slot of the young region:
/// [eden | survivor 0 | survivor 1]. `contains` (is this object young *here*) is one
/// range check. Eden's top and limit live in the runtime's Mutator for the inline fast path.
class Nursery {
 public:
  Nursery() = default;
  ~Nursery();
  enum class InitResult { kOk, kTooLarge, kNoSlot, kNoMemory };
  /// kTooLarge: eden and two survivors exceed a young slot (kYoungSlotBytes); kNoSlot:
  /// every slot of the young region is taken (young_slot_count() runtimes exist);
  /// kNoMemory: the OS refused to commit the nursery.
  InitResult init(std::size_t eden_bytes, std::size_t survivor_bytes) noexcept;

  std::byte* eden_start() const { return eden_.start; }
  std::byte* eden_end() const { return eden_.end; }
  BumpRegion& from_space() { return survivors_[from_]; }
  BumpRegion& to_space() { return survivors_[1 - from_]; }
  const BumpRegion& from_space() const { return survivors_[from_]; }
  const BumpRegion& to_space() const { return survivors_[1 - from_]; }
  void flip() { from_ = 1 - from_; }
  /// To-space from its start up to here is known to be in memory (a collection populated
  /// it, and it was not released since); copying beyond it should populate first.
  std::byte* to_space_populated() const {
    return to_space().start + survivor_populated_[1 - from_];
  }
  /// A collection populated to-space up to `end`.
  void note_to_space_populated(const std::byte* end) {
    std::size_t& p = survivor_populated_[1 - from_];
    p = std::max(p, std::size_t(end - to_space().start));
  }
  bool contains(const void* p) const {
    return static_cast<std::size_t>(static_cast<const std::byte*>(p) - base_) < span_;
  }
  std::uintptr_t base() const { return reinterpret_cast<std::uintptr_t>(base_); }
  std::size_t span() const { return span_; }
  /// What the nursery holds in memory: the eden and survivor pages touched and not
  /// released since, with eden in use up to `eden_used` now. At most span().
  std::size_t committed_bytes(std::size_t eden_used) const {
    return std::max(eden_touched_, align_up(eden_used, kOsPageSize)) + survivor_touched_[0] +
           survivor_touched_[1];
  }
  /// Eden was used up to `used` bytes from its start (called before it is emptied).
  void note_eden_use(std::size_t used) {
    eden_touched_ = std::max(eden_touched_, align_up(used, kOsPageSize));
  }
  /// Gives back eden's pages beyond its first `bytes` (rounded up to an OS page). Eden must
  /// not be in use beyond them; they read as zero when touched again.
  void release_eden_beyond(std::size_t bytes) noexcept;
  /// Eden's current size (adaptive: HeapPolicy::next_eden_size) and the most it may be.
  std::size_t eden_capacity() const { return eden_.capacity(); }
  std::size_t eden_max_capacity() const { return eden_max_; }
  std::size_t survivor_capacity() const { return survivors_[0].capacity(); }

  /// Sets eden's size: `bytes` rounded up to an OS page, within [kOsPageSize, the
  /// maximum]. Eden must be empty. The part cut off goes back to the OS (its pages read
  /// as zero when eden grows into them again); its addresses stay young, and hold nothing.
  void resize_eden(std::size_t bytes) noexcept;
  /// After the semispaces flipped: gives back to-space's pages beyond what the next
  /// collection is likely to copy into it (twice what from-space holds, at least 64 KiB),
  /// or all of them with ReleaseSurvivors::kAll (from-space must then be empty too).
  enum class ReleaseSurvivors { kBeyondNeed, kAll };
  void trim_survivors(ReleaseSurvivors what) noexcept;

 private:
  std::byte* base_ = nullptr;
  std::size_t span_ = 0;
  std::size_t eden_max_ = 0;
  BumpRegion eden_;
  BumpRegion survivors_[2];
  /// Per semispace, the bytes from its start that may hold pages (touched since the last
  /// release): what it costs in memory, whatever it holds now.
  std::size_t survivor_touched_[2] = {};
  std::size_t eden_touched_ = 0;            ///< the same for eden
  std::size_t survivor_populated_[2] = {};  ///< per semispace, see to_space_populated()
  int from_ = 0;
};

/// Old space: kPageSize pages filled by bump allocation in a linear allocation buffer
/// (LAB) and, after sweeping, by segregated free lists.
///
/// Free lists: exact classes for every size from 16 to 512 bytes (objects of a language
/// VM come in few sizes, so exact classes reuse holes without splitting), and one
/// best-fit index (size -> chunks) above the largest class. When the exact class is
/// empty, the smallest larger small hole is split (a bitmap of non-empty classes finds
/// it), so holes of sizes nobody allocates (two dead neighbours merged) are reused too.
class OldSpace {
 public:
  static constexpr std::size_t kSmallClassLimit = 512;
  static constexpr std::size_t kSmallClasses = kSmallClassLimit / kWordSize + 1;

  OldSpace(PageProvider& provider, void* owner, Space kind)
      : provider_(provider), owner_(owner), kind_(kind) {}
  ~OldSpace();
  OldSpace(const OldSpace&) = delete;
  OldSpace& operator=(const OldSpace&) = delete;

  /// Memory for an object of `size` bytes (a multiple of 8, >= 16, <= a page's area), or
  /// nullptr when no page can be mapped. The caller writes the header.
  std::byte* allocate(std::size_t size) noexcept {
    if (std::size_t(lab_.end - lab_.top) >= size) [[likely]] {
      std::byte* p = lab_.top;
      lab_.top += size;
      allocated_bytes_ += size;
      format_lab_rest();
      return p;
    }
    return allocate_slow(size);
  }
  /// Forgets every free list (before a sweep rebuilds them).
  void reset_free_lists() noexcept;
  /// Records [p, p+size) as free: formats it and puts it on a list (or as filler if tiny).
  void add_free(std::byte* p, std::size_t size) noexcept;
  /// Formats [p, p+size) as free memory that is on no list (a filler).
  static void format_filler(std::byte* p, std::size_t size) noexcept;

  Page* add_page() noexcept;
  void release_page(Page* page) noexcept;
  std::vector<Page*>& pages() { return pages_; }
  const std::vector<Page*>& pages() const { return pages_; }
  /// Sets the LAB explicitly (compaction leaves the rest of its last page as the LAB).
  void set_lab(std::byte* top, std::byte* end) noexcept;
  /// The LAB's free range, for a caller that bumps it directly (pretenured allocation):
  /// it allocates in [lab_top(), lab_end()) without writing fillers, then reports how far
  /// it got with advance_lab before anything walks the space or allocates here again.
  std::byte* lab_top() const { return lab_.top; }
  std::byte* lab_end() const { return lab_.end; }
  /// Accounts [lab_top(), top) as allocated and restores walkability (the rest of the LAB
  /// becomes one filler again). `top` is in [lab_top(), lab_end()].
  void advance_lab(std::byte* top) noexcept {
    if (top == lab_.top) return;
    allocated_bytes_ += std::size_t(top - lab_.top);
    lab_.top = top;
    format_lab_rest();
  }

  /// For a GC worker promoting in parallel (callers serialize these two calls): memory for
  /// an object of `size` bytes, as allocate(), and in `rest` up to `max_rest` bytes that
  /// follow it in the LAB it came from (empty when it came from an exact hole), which the
  /// worker then bumps privately; this space's LAB keeps what is beyond them, for the next
  /// claim. nullptr when no page can be mapped.
  std::byte* allocate_with_rest(std::size_t size, BumpRegion& rest, std::size_t max_rest) noexcept {
    std::byte* p = allocate(size);
    rest = {};
    if (p != nullptr && p + size == lab_.top) {
      std::byte* end =
          lab_.top + std::min(max_rest & ~(kWordSize - 1), std::size_t(lab_.end - lab_.top));
      rest = {lab_.top, lab_.top, end};
      lab_.top = end;
      format_lab_rest();  // the claim is the worker's
    }
    return p;
  }
  /// Takes a worker's rest back: [rest.start, rest.top) counts as allocated, and the tail
  /// goes back to the LAB when the LAB starts where it ends (the last claim), else to a free
  /// list (or becomes a filler); `rest` is emptied.
  void return_rest(BumpRegion& rest) noexcept {
    allocated_bytes_ += rest.used();
    if (rest.top < rest.end) {
      if (rest.end == lab_.top && lab_.top != nullptr) {
        lab_.top = rest.top;
        format_lab_rest();
      } else {
        add_free(rest.top, std::size_t(rest.end - rest.top));
      }
    }
    rest = {};
  }

  /// Lazy sweeping: called when no free memory fits `size`, before a fresh page is mapped;
  /// sweeps pages (adding their holes with add_free) and returns whether it swept any.
  using SweepHook = bool (*)(void* context, std::size_t size) noexcept;
  void set_sweep_hook(SweepHook hook, void* context) {
    sweep_hook_ = hook;
    sweep_context_ = context;
  }

  /// Bytes handed out since the counter was last reset (live estimate for sizing).
  std::size_t allocated_bytes() const { return allocated_bytes_; }
  void set_allocated_bytes(std::size_t n) { allocated_bytes_ = n; }
  std::size_t committed_bytes() const { return pages_.size() * kPageSize; }
  std::size_t free_list_bytes() const { return free_bytes_; }
  /// Calls fn(chunk, size) for every chunk on a free list (for the verifier).
  void for_each_free_chunk(const std::function<void(std::byte*, std::size_t)>& fn) const;

  /// Walks the objects and free chunks of a page: fn(header_address, header_word).
  template <class Fn>
  static void walk_page(Page* page, Fn&& fn) {
    walk_headers(page->area_start(), page->top, fn);
  }

 private:
  /// Walkability: the rest of the LAB is always one filler.
  void format_lab_rest() noexcept {
    if (lab_.top != lab_.end) format_filler(lab_.top, std::size_t(lab_.end - lab_.top));
  }
  std::byte* allocate_slow(std::size_t size) noexcept;
  void retire_lab() noexcept;
  /// Pops the head of small class `c` (non-empty), keeping the non-empty bitmap exact.
  std::byte* pop_small(std::size_t c) noexcept;
  /// The smallest non-empty small class >= c, or 0 when there is none.
  std::size_t first_small_at_least(std::size_t c) const noexcept;

  PageProvider& provider_;
  void* owner_;
  Space kind_;
  std::vector<Page*> pages_;
  BumpRegion lab_;
  Page* lab_page_ = nullptr;
  std::byte* small_lists_[kSmallClasses] = {};
  std::uint64_t small_nonempty_[2] = {};  ///< bit c % 64 of word c / 64: class c has holes
  std::multimap<std::size_t, std::byte*> big_chunks_;
  std::size_t free_bytes_ = 0;
  std::size_t allocated_bytes_ = 0;
  SweepHook sweep_hook_ = nullptr;
  void* sweep_context_ = nullptr;
};

/// Large objects: one page run each, never moved, freed individually.
class LargeObjectSpace {
 public:
  LargeObjectSpace(PageProvider& provider, void* owner) : provider_(provider), owner_(owner) {}
  ~LargeObjectSpace();
  LargeObjectSpace(const LargeObjectSpace&) = delete;
  LargeObjectSpace& operator=(const LargeObjectSpace&) = delete;

  /// Memory for one object of `size` bytes in its own run, or nullptr.
  std::byte* allocate(std::size_t size) noexcept;
  /// Frees every run whose object `keep(Page*)` returns false for, in one pass.
  template <class Keep>
  void sweep(Keep&& keep) noexcept {
    std::size_t kept = 0;
    for (Page* run : runs_) {
      if (keep(run)) {
        runs_[kept++] = run;
      } else {
        release(run);
      }
    }
    runs_.resize(kept);
  }
  const std::vector<Page*>& runs() const { return runs_; }
  std::size_t object_bytes() const { return object_bytes_; }
  /// The runs' bytes, headers and tails included (what the space holds of the provider).
  std::size_t run_bytes() const { return run_bytes_; }

 private:
  PageProvider& provider_;
  void* owner_;
  void release(Page* run) noexcept;

  std::vector<Page*> runs_;
  std::size_t object_bytes_ = 0;
  std::size_t run_bytes_ = 0;
};

}  // namespace marrow::internal
