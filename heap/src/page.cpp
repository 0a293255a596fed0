// Page provider and the young region: the only code in marrow that talks to mmap.
// It must never touch object contents; it maps, zeroes, caches and unmaps memory.
#include "marrow/heap/page.hpp"

#include <sys/mman.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <new>

#include "marrow/internal/check.hpp"

namespace marrow::internal {

// ---- Page table ------------------------------------------------------------------------
// 47-bit user addresses, 256 KiB granules: 2^29 granules, split 2^14 x 2^15.
namespace {
constexpr unsigned kGranuleShift = 18;
constexpr unsigned kLeafBits = 15;
constexpr std::size_t kRootEntries = std::size_t{1} << (47 - kGranuleShift - kLeafBits);
std::atomic<std::atomic<Page*>*> g_page_table[kRootEntries];
std::mutex g_page_table_mutex;

void set_granules(Page* run, std::size_t bytes, Page* value) noexcept {
  auto first = reinterpret_cast<std::uintptr_t>(run) >> kGranuleShift;
  for (std::uintptr_t g = first; g < first + bytes / kPageSize; ++g) {
    std::size_t root = g >> kLeafBits;
    if (root >= kRootEntries) return;
    std::atomic<Page*>* leaf = g_page_table[root].load(std::memory_order_acquire);
    if (leaf == nullptr) {
      std::lock_guard<std::mutex> lock(g_page_table_mutex);
      leaf = g_page_table[root].load(std::memory_order_acquire);
      if (leaf == nullptr) {
        leaf = new (std::nothrow) std::atomic<Page*>[std::size_t{1} << kLeafBits]();
        MARROW_CHECK(leaf != nullptr, "memory for the page table");
        g_page_table[root].store(leaf, std::memory_order_release);
      }
    }
    leaf[g & ((std::size_t{1} << kLeafBits) - 1)].store(value, std::memory_order_release);
  }
}
}  // namespace

Page* page_containing(const void* address) noexcept {
  std::uintptr_t g = reinterpret_cast<std::uintptr_t>(address) >> kGranuleShift;
  std::size_t root = g >> kLeafBits;
  if (root >= kRootEntries) return nullptr;
  std::atomic<Page*>* leaf = g_page_table[root].load(std::memory_order_acquire);
  if (leaf == nullptr) return nullptr;
  Page* page = leaf[g & ((std::size_t{1} << kLeafBits) - 1)].load(std::memory_order_acquire);
  return (page != nullptr && page->magic == kPageMagic) ? page : nullptr;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older kernels answer EINVAL and fault lazily
#endif

// Measured with a 64 MiB loop: promotion into fresh pages ran at page-fault speed.
void populate(void* p, std::size_t n) noexcept { madvise(p, n, MADV_POPULATE_WRITE); }

PageProvider::~PageProvider() { trim(0); }

Page* PageProvider::map_run(std::size_t run_bytes) noexcept {
  // Map one page more than needed and cut the misaligned ends off.
  std::size_t span = run_bytes + kPageSize;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  auto start = reinterpret_cast<std::uintptr_t>(raw);
  std::uintptr_t aligned = (start + kPageSize - 1) & ~(kPageSize - 1);
  if (aligned > start) munmap(raw, aligned - start);
  std::uintptr_t tail = aligned + run_bytes;
  std::uintptr_t end = start + span;
  if (end > tail) munmap(reinterpret_cast<void*>(tail), end - tail);
  return reinterpret_cast<Page*>(aligned);
}

void PageProvider::unmap_run(Page* page) noexcept {
  std::size_t bytes = page->run_bytes;
  committed_bytes_ -= page->charged_bytes;
  set_granules(page, bytes, nullptr);
  munmap(page, bytes);
  pages_returned_ += bytes / kPageSize;
}

void PageProvider::init(Page* page, void* owner, Space kind, std::size_t run_bytes) noexcept {
  page->magic = kPageMagic;
  page->owner = owner;
  page->run_bytes = run_bytes;
  page->area_offset = static_cast<std::uint32_t>(Page::header_bytes(run_bytes));
  page->top = page->area_start();
  page->live_bytes = 0;
  page->pinned_count = 0;
  page->kind = kind;
  page->in_remembered_list = false;
  page->unswept = false;
  page->sealed = false;
  page->sealed_object_bytes = 0;
  page->charged_bytes = run_bytes;
  set_granules(page, run_bytes, page);
}

Page* PageProvider::allocate_page(void* owner, Space kind) noexcept {
  Page* page;
  if (!cache_.empty()) {
    page = cache_.back();
    cache_.pop_back();
    // Cached pages were in use: clear descriptor and bitmap (objects are overwritten anyway).
    std::memset(page, 0, Page::header_bytes(kPageSize));
  } else {
    page = map_run(kPageSize);
    if (page == nullptr) return nullptr;
    committed_bytes_ += kPageSize;
    populate(page, kPageSize);  // it is about to be filled
  }
  init(page, owner, kind, kPageSize);
  return page;
}

std::size_t PageProvider::run_bytes_for(std::size_t area_bytes) noexcept {
  // Solve run >= header_bytes(run) + area; header_bytes grows by 1/64 of the run.
  std::size_t run = align_up(area_bytes + area_bytes / 64 + sizeof(Page) + 64, kPageSize);
  if (run < area_bytes) return 0;  // overflow
  while (Page::header_bytes(run) + area_bytes > run) run += kPageSize;
  return run;
}

std::size_t PageProvider::run_charge(std::size_t area_bytes) noexcept {
  std::size_t run = run_bytes_for(area_bytes);
  return run == 0 ? 0 : std::min(run, align_up(Page::header_bytes(run) + area_bytes, kOsPageSize));
}

Page* PageProvider::allocate_run(void* owner, Space kind, std::size_t area_bytes) noexcept {
  std::size_t run = run_bytes_for(area_bytes);
  if (run == 0) return nullptr;
  // A fresh mapping, never a cached page: only what the object uses is ever touched, so
  // that is all the run commits (and is charged). Freed runs are unmapped, not cached.
  Page* page = map_run(run);
  if (page == nullptr) return nullptr;
  init(page, owner, kind, run);
  page->charged_bytes = run_charge(area_bytes);
  committed_bytes_ += page->charged_bytes;
  return page;
}

void PageProvider::free(Page* page) noexcept {
  page->magic = 0;
  if (page->kind != Space::kLarge && cache_.size() < reserve_pages_) {
    cache_.push_back(page);
    return;
  }
  unmap_run(page);
}

void PageProvider::trim(std::size_t keep) noexcept {
  while (cache_.size() > keep) {
    unmap_run(cache_.back());
    cache_.pop_back();
  }
}

// ---- Young region --------------------------------------------------------------------

// Span 0: nothing is young before the reservation. The base starts in kernel space as a
// second guard, so a span published before the base would still match no user address.
YoungRegion g_young = {~std::uintptr_t{0} - kMaxYoungRegionBytes, 0, {0}};

namespace {
std::mutex g_young_mutex;
bool g_young_used[kMaxYoungSlots];

/// Reserves the largest power-of-two number of slots, at most kMaxYoungSlots, that the OS
/// grants, and publishes it in g_young. Caller holds g_young_mutex.
bool reserve_young_region() noexcept {
  for (std::size_t slots = kMaxYoungSlots; slots != 0; slots /= 2) {
    // Address space only: PROT_NONE + MAP_NORESERVE commits nothing until commit_young.
    void* p = mmap(nullptr, slots * kYoungSlotBytes, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) continue;
    g_young.base = reinterpret_cast<std::uintptr_t>(p);
    g_young.span = slots * kYoungSlotBytes;
    return true;
  }
  return false;
}
}  // namespace

std::byte* acquire_young_slot() noexcept {
  std::lock_guard<std::mutex> lock(g_young_mutex);
  if (g_young.span == 0 && !reserve_young_region()) return nullptr;
  for (std::size_t i = 0; i < young_slot_count(); ++i) {
    if (!g_young_used[i]) {
      g_young_used[i] = true;
      return reinterpret_cast<std::byte*>(g_young.base) + i * kYoungSlotBytes;
    }
  }
  return nullptr;
}

void release_young_slot(std::byte* slot) noexcept {
  std::lock_guard<std::mutex> lock(g_young_mutex);
  std::size_t i = (reinterpret_cast<std::uintptr_t>(slot) - g_young.base) / kYoungSlotBytes;
  MARROW_CHECK(i < young_slot_count() && g_young_used[i], "a young slot is released once");
  g_young_used[i] = false;
}

bool commit_young(std::byte* p, std::size_t n) noexcept {
  return mmap(p, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
         MAP_FAILED;
}

void prefer_huge_pages(std::byte* p, std::size_t n) noexcept {
  // Advice only (the system may have transparent huge pages off): failure changes nothing.
  madvise(p, n, MADV_HUGEPAGE);
}

void decommit_young(std::byte* p, std::size_t n) noexcept {
  // Replace with a fresh reservation: gives the memory back and keeps the range reserved.
  mmap(p, n, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
}

void release_young(std::byte* p, std::size_t n) noexcept {
  if (n != 0) madvise(p, n, MADV_DONTNEED);
}

}  // namespace marrow::internal
