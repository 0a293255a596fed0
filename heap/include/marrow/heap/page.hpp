// Pages of the managed heap and the provider that maps them. A page (or a page run, for
// large objects) is kPageSize-aligned and starts with a Page descriptor followed by the
// remembered-slot bitmap; objects follow. Never hands out memory it cannot account for.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "marrow/internal/barrier.hpp"
#include "marrow/internal/header.hpp"
#include "marrow/space.hpp"

namespace marrow::internal {

/// 256 KiB: large enough that the per-page descriptor and bitmap (4.3 KiB) cost < 2%,
/// small enough that freeing one empty page gives memory back at a useful granularity.
inline constexpr std::size_t kPageSize = std::size_t{256} * 1024;
/// The OS page, the granularity at which untouched memory costs nothing.
inline constexpr std::size_t kOsPageSize = 4096;
inline constexpr std::uint64_t kPageMagic = 0x6d6172726f775047;  // "marrowPG"

/// Descriptor at the start of every page or large-object run.
///
/// Invariant (walkability): between `area_start()` and `top` every byte belongs to an
/// object, a free chunk or a filler, each with a valid header. Old-space pages keep
/// `top == area_end()`; the unused rest of the old space's bump buffer is one filler.
struct Page {
  std::uint64_t magic;
  void* owner;                ///< the internal::Heap this page belongs to
  std::size_t run_bytes;      ///< size of the mapping: kPageSize, or more for large objects
  std::size_t charged_bytes;  ///< what it counts as committed (a large run: what it uses)
  std::byte* top;             ///< end of the walkable area
  std::size_t live_bytes;     ///< bytes marked by the last major collection
  std::uint32_t pinned_count;
  Space kind;               ///< kOld, kLarge or kImmortal
  bool in_remembered_list;  ///< listed in the owner's remembered set (dedups the list)
  /// Marked but not yet swept (lazy sweeping, gc/src/sweeping.cpp): its unmarked objects
  /// are dead, its marked ones still carry the mark bit, none of its memory is on a free list.
  bool unswept;
  /// Swept with so little free that none of it went to a free list (it was left as
  /// fillers): until its next sweep nothing is allocated here, so its objects keep taking
  /// `sealed_object_bytes`. A marking that finds that many live bytes here has found
  /// every object live, and the sweep skips the page (gc/src/sweeping.cpp).
  bool sealed;
  std::uint32_t area_offset;          ///< offset of the first object from the page start
  std::uint32_t sealed_object_bytes;  ///< (a page's area fits in 32 bits)
  // Followed by the remembered-slot bitmap: one bit per word of the run. Its meaning and
  // upkeep are the remembered set's (gc/include/marrow/gc/remembered_set.hpp).

  std::byte* base() { return reinterpret_cast<std::byte*>(this); }
  std::byte* area_start() { return base() + area_offset; }
  std::byte* area_end() { return base() + run_bytes; }
  std::uint64_t* remembered_bits() { return reinterpret_cast<std::uint64_t*>(this + 1); }
  std::size_t remembered_words() const { return run_bytes / kWordSize / 64; }

  bool contains(const void* p) {
    auto* b = static_cast<const std::byte*>(p);
    return b >= area_start() && b < area_end();
  }
  static Page* of(const void* address) {
    return reinterpret_cast<Page*>(reinterpret_cast<std::uintptr_t>(address) & ~(kPageSize - 1));
  }
  /// Bytes of descriptor + bitmap for a run of `run_bytes`, rounded to a cache line.
  static constexpr std::size_t header_bytes(std::size_t run_bytes) {
    return align_up(sizeof(Page) + run_bytes / kWordSize / 8, 64);
  }
};

/// The page (or large-object run) containing `address`, or nullptr when it is not in any
/// managed page of this process. Lock-free: two loads in a two-level table indexed by
/// 256 KiB granule, filled when runs are mapped. Needed because a slot deep inside a
/// multi-page large object does not sit under a Page descriptor.
Page* page_containing(const void* address) noexcept;

/// Maps kPageSize-aligned pages and page runs from the OS and gives them back.
/// Keeps up to `reserve_pages` single empty pages mapped for reuse (counted as committed),
/// unmapping the rest, so memory really returns to the OS after a collection frees it.
class PageProvider {
 public:
  explicit PageProvider(std::size_t reserve_pages) : reserve_pages_(reserve_pages) {}
  ~PageProvider();
  PageProvider(const PageProvider&) = delete;
  PageProvider& operator=(const PageProvider&) = delete;

  /// An initialised page (run_bytes == kPageSize), or nullptr when the OS refuses. A fresh
  /// mapping is all zero; a page reused from the cache has a zeroed descriptor and bitmap
  /// but keeps old bytes in its object area (every caller formats what it uses).
  Page* allocate_page(void* owner, Space kind) noexcept;
  /// A run of at least `object_area_bytes` usable bytes for one large object, or nullptr.
  /// Always a fresh mapping, charged as committed only up to the end of the object (to
  /// the OS page): the rest of the mapping is never touched, so it costs no memory.
  Page* allocate_run(void* owner, Space kind, std::size_t object_area_bytes) noexcept;
  /// What allocate_run(object_area_bytes) will add to committed_bytes().
  static std::size_t run_charge(std::size_t object_area_bytes) noexcept;
  /// The mapping size of such a run (0 on overflow).
  static std::size_t run_bytes_for(std::size_t object_area_bytes) noexcept;
  void free(Page* page) noexcept;
  /// Unmaps cached pages beyond `keep`.
  void trim(std::size_t keep) noexcept;
  /// How many freed single pages to cache from now on (pages beyond it are unmapped).
  void set_reserve(std::size_t pages) noexcept { reserve_pages_ = pages; }

  std::size_t committed_bytes() const { return committed_bytes_; }
  std::size_t pages_returned_to_os() const { return pages_returned_; }

 private:
  Page* map_run(std::size_t run_bytes) noexcept;
  void unmap_run(Page* page) noexcept;
  void init(Page* page, void* owner, Space kind, std::size_t run_bytes) noexcept;

  std::size_t reserve_pages_;
  std::vector<Page*> cache_;
  std::size_t committed_bytes_ = 0;  ///< in-use runs plus cached pages
  std::size_t pages_returned_ = 0;
};

/// Slots in the reservation: 0 before the first acquire_young_slot, then 1..kMaxYoungSlots.
inline std::size_t young_slot_count() { return g_young.span / kYoungSlotBytes; }

/// Reserves a slot of the young region for one nursery (reserving the region on first
/// use); nullptr when all young_slot_count() slots are taken or nothing could be reserved.
std::byte* acquire_young_slot() noexcept;
void release_young_slot(std::byte* slot) noexcept;
/// Commits [p, p+n) of a young slot read-write (returns false on failure) / decommits it.
bool commit_young(std::byte* p, std::size_t n) noexcept;
void decommit_young(std::byte* p, std::size_t n) noexcept;
/// Asks for transparent huge pages on [p, p + n): first use of the range is then a few
/// 2 MiB faults instead of one per 4 KiB page.
void prefer_huge_pages(std::byte* p, std::size_t n) noexcept;
/// Faults [p, p + n) in now, in one system call instead of a trap per 4 KiB page (about
/// 0.9 against 10 us a page on the 2-core VM here). Advice only: on a kernel without
/// MADV_POPULATE_WRITE (before 5.14) the pages fault in lazily as before.
void populate(void* p, std::size_t n) noexcept;
/// Gives the pages of [p, p+n) (OS-page aligned, committed) back to the OS; the range stays
/// usable and reads as zero when touched again.
void release_young(std::byte* p, std::size_t n) noexcept;

}  // namespace marrow::internal
