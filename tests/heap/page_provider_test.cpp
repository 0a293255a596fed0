// Tests PageProvider and the page table (heap/src/page.cpp): alignment, zeroed pages and
// initialised descriptors, Page::of and page_containing, runs, and the reserve of pages.
#include <marrow/heap/page.hpp>

#include <doctest/doctest.h>

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

using marrow::Space;
using marrow::internal::align_up;
using marrow::internal::kOsPageSize;
using marrow::internal::kPageMagic;
using marrow::internal::kPageSize;
using marrow::internal::kWordSize;
using marrow::internal::Page;
using marrow::internal::page_containing;
using marrow::internal::PageProvider;

namespace {

int g_owner_tag;  // nothing in heap/ dereferences the owner: any non-null address will do
void* const kOwner = &g_owner_tag;

bool aligned(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % kPageSize == 0; }

/// True when [p, p + n) holds only zero bytes.
bool all_zero(const std::byte* p, std::size_t n) {
  return std::all_of(p, p + n, [](std::byte b) { return b == std::byte{0}; });
}

std::size_t area_bytes(Page* page) { return std::size_t(page->area_end() - page->area_start()); }

/// True when the OS page at `p` (page-aligned) is mapped: mincore fails with ENOMEM otherwise.
bool is_mapped(const void* p) {
  unsigned char resident = 0;
  return mincore(const_cast<void*>(p), 1, &resident) == 0;
}

}  // namespace

TEST_CASE("page provider: a page is aligned, zeroed and has an initialised descriptor") {
  PageProvider provider(0);
  Page* page = provider.allocate_page(kOwner, Space::kOld);
  REQUIRE(page != nullptr);
  CHECK(aligned(page));
  CHECK(page->magic == kPageMagic);
  CHECK(page->owner == kOwner);
  CHECK(page->kind == Space::kOld);
  CHECK(page->run_bytes == kPageSize);
  CHECK(page->area_offset == Page::header_bytes(kPageSize));
  CHECK(page->area_offset == 4160);  // the figure docs/design.md quotes
  CHECK(page->area_offset % 64 == 0);
  CHECK(page->area_offset >= sizeof(Page) + kPageSize / kWordSize / 8);  // room for the bitmap
  CHECK(page->area_start() == page->base() + page->area_offset);
  CHECK(page->area_end() == page->base() + kPageSize);
  CHECK(page->top == page->area_start());
  CHECK(page->live_bytes == 0);
  CHECK(page->pinned_count == 0);
  CHECK_FALSE(page->in_remembered_list);
  CHECK(page->remembered_words() == kPageSize / kWordSize / 64);
  CHECK(all_zero(reinterpret_cast<std::byte*>(page->remembered_bits()),
                 page->remembered_words() * sizeof(std::uint64_t)));
  CHECK(all_zero(page->area_start(), area_bytes(page)));
  CHECK(provider.committed_bytes() == kPageSize);
  provider.free(page);
  CHECK(provider.committed_bytes() == 0);
  CHECK(provider.pages_returned_to_os() == 1);
}

TEST_CASE("page provider: Page::of and page_containing find a page from inside it") {
  PageProvider provider(0);
  Page* a = provider.allocate_page(kOwner, Space::kOld);
  Page* b = provider.allocate_page(kOwner, Space::kImmortal);
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  CHECK(a != b);
  for (Page* page : {a, b}) {
    std::byte* base = page->base();
    for (std::byte* p : {base, page->area_start(), base + kPageSize / 2, base + kPageSize - 1}) {
      CHECK(Page::of(p) == page);
      CHECK(page_containing(p) == page);
    }
    CHECK(Page::of(base + kPageSize) != page);
    CHECK(page_containing(base + kPageSize) != page);
    CHECK(page_containing(base - 1) != page);
  }
  CHECK(b->kind == Space::kImmortal);
  // Addresses that are no managed page: the stack, malloc'd memory, null.
  int local = 0;
  auto block = std::make_unique<char[]>(64);
  CHECK(page_containing(&local) == nullptr);
  CHECK(page_containing(block.get()) == nullptr);
  CHECK(page_containing(nullptr) == nullptr);
  // A page given back is no managed page any more, cached or unmapped.
  std::byte* inside_a = a->area_start() + 100;
  provider.set_reserve(1);
  provider.free(a);  // cached
  CHECK(page_containing(inside_a) == nullptr);
  provider.trim(0);  // unmapped
  CHECK(page_containing(inside_a) == nullptr);
  std::byte* inside_b = b->area_start();
  provider.set_reserve(0);
  provider.free(b);
  CHECK(page_containing(inside_b) == nullptr);
}

TEST_CASE("page provider: a run of several pages, and page_containing deep inside it") {
  PageProvider provider(4);
  const std::size_t area = 3 * kPageSize;  // needs four pages with the descriptor and bitmap
  Page* run = provider.allocate_run(kOwner, Space::kLarge, area);
  REQUIRE(run != nullptr);
  CHECK(aligned(run));
  CHECK(run->run_bytes % kPageSize == 0);
  CHECK(run->run_bytes == 4 * kPageSize);
  CHECK(area_bytes(run) >= area);
  CHECK(run->area_offset == Page::header_bytes(run->run_bytes));
  CHECK(run->area_offset > Page::header_bytes(kPageSize));  // the bitmap covers the run
  CHECK(run->remembered_words() == run->run_bytes / kWordSize / 64);
  CHECK(run->kind == Space::kLarge);
  CHECK(run->magic == kPageMagic);
  CHECK(all_zero(run->area_start(), area_bytes(run)));
  // Charged what the object uses, to the OS page: the mapping's rest is never touched.
  CHECK(provider.committed_bytes() == PageProvider::run_charge(area));
  CHECK(PageProvider::run_charge(area) ==
        align_up(Page::header_bytes(run->run_bytes) + area, kOsPageSize));
  CHECK(PageProvider::run_charge(area) < run->run_bytes);
  std::byte* base = run->base();
  for (std::size_t offset : {std::size_t{0}, kPageSize - 1, kPageSize, kPageSize + 8,
                             2 * kPageSize + 12345, run->run_bytes - 1}) {
    CAPTURE(offset);
    CHECK(page_containing(base + offset) == run);
  }
  // Masking finds the run only in its first page: that is why page_containing exists.
  CHECK(Page::of(base + kPageSize + 8) != run);
  CHECK(page_containing(base + run->run_bytes) != run);
  // A run is never cached, whatever the reserve: it goes back to the OS whole.
  const std::size_t pages = run->run_bytes / kPageSize;
  std::byte* deep = base + 2 * kPageSize + 12345;
  provider.free(run);
  CHECK(provider.pages_returned_to_os() == pages);
  CHECK(provider.committed_bytes() == 0);
  CHECK(page_containing(deep) == nullptr);
  CHECK(page_containing(base) == nullptr);
}

TEST_CASE("page provider: run sizes at the one-page boundary, and impossible sizes") {
  PageProvider provider(0);
  const std::size_t one_page_area = kPageSize - Page::header_bytes(kPageSize);
  Page* fits = provider.allocate_run(kOwner, Space::kLarge, one_page_area);
  REQUIRE(fits != nullptr);
  CHECK(fits->run_bytes == kPageSize);
  CHECK(area_bytes(fits) == one_page_area);
  Page* over = provider.allocate_run(kOwner, Space::kLarge, one_page_area + kWordSize);
  REQUIRE(over != nullptr);
  CHECK(over->run_bytes == 2 * kPageSize);
  CHECK(area_bytes(over) >= one_page_area + kWordSize);
  const std::size_t charged =
      PageProvider::run_charge(one_page_area) + PageProvider::run_charge(one_page_area + kWordSize);
  CHECK(PageProvider::run_charge(one_page_area) == kPageSize);  // fills its page
  CHECK(charged < 3 * kPageSize);  // the second run's second page is barely touched
  CHECK(provider.committed_bytes() == charged);
  // A size whose run would overflow is refused, and nothing is counted.
  CHECK(provider.allocate_run(kOwner, Space::kLarge, SIZE_MAX - 100) == nullptr);
  CHECK(provider.committed_bytes() == charged);
  provider.free(fits);
  provider.free(over);
  CHECK(provider.committed_bytes() == 0);
  CHECK(provider.pages_returned_to_os() == 3);
}

TEST_CASE("page provider: freed pages are cached up to the reserve and reused") {
  PageProvider provider(2);
  std::vector<Page*> pages;
  for (int i = 0; i < 4; ++i) {
    Page* p = provider.allocate_page(kOwner, Space::kOld);
    REQUIRE(p != nullptr);
    pages.push_back(p);
  }
  CHECK(provider.committed_bytes() == 4 * kPageSize);
  // Dirty what a cached page must not keep: descriptor fields and remembered bits.
  for (Page* p : pages) {
    p->top = p->area_end();
    p->live_bytes = 1000;
    p->pinned_count = 3;
    p->in_remembered_list = true;
    p->remembered_bits()[0] = ~std::uint64_t{0};
    p->remembered_bits()[p->remembered_words() - 1] = 1;
  }
  for (Page* p : pages) provider.free(p);
  // Two kept (still committed), two unmapped.
  CHECK(provider.committed_bytes() == 2 * kPageSize);
  CHECK(provider.pages_returned_to_os() == 2);
  CHECK(is_mapped(pages[0]));
  CHECK(is_mapped(pages[1]));
  CHECK_FALSE(is_mapped(pages[2]));
  CHECK_FALSE(is_mapped(pages[3]));

  Page* again1 = provider.allocate_page(kOwner, Space::kImmortal);
  Page* again2 = provider.allocate_page(kOwner, Space::kOld);
  REQUIRE(again1 != nullptr);
  REQUIRE(again2 != nullptr);
  CHECK(again1 != again2);
  // The cached ones are the first two freed; reusing them maps nothing new.
  for (Page* p : {again1, again2}) {
    CHECK((p == pages[0] || p == pages[1]));
    CHECK(p->magic == kPageMagic);
    CHECK(page_containing(p->area_start()) == p);
    CHECK(p->top == p->area_start());
    CHECK(p->live_bytes == 0);
    CHECK(p->pinned_count == 0);
    CHECK_FALSE(p->in_remembered_list);
    CHECK(all_zero(reinterpret_cast<std::byte*>(p->remembered_bits()),
                   p->remembered_words() * sizeof(std::uint64_t)));
  }
  CHECK(again1->kind == Space::kImmortal);
  CHECK(again2->kind == Space::kOld);
  CHECK(provider.committed_bytes() == 2 * kPageSize);
  CHECK(provider.pages_returned_to_os() == 2);
  // The cache is empty now: the next page is a new mapping.
  Page* fresh = provider.allocate_page(kOwner, Space::kOld);
  REQUIRE(fresh != nullptr);
  CHECK(provider.committed_bytes() == 3 * kPageSize);
  CHECK(all_zero(fresh->area_start(), area_bytes(fresh)));

  // trim keeps at most `keep` cached pages and unmaps the rest.
  provider.free(again1);
  provider.free(again2);
  CHECK(provider.committed_bytes() == 3 * kPageSize);
  provider.trim(5);  // fewer cached than that: nothing happens
  CHECK(provider.committed_bytes() == 3 * kPageSize);
  CHECK(provider.pages_returned_to_os() == 2);
  provider.trim(1);
  CHECK(provider.committed_bytes() == 2 * kPageSize);
  CHECK(provider.pages_returned_to_os() == 3);

  // A lower reserve applies to the next free: the cache already holds one page.
  provider.set_reserve(1);
  provider.free(fresh);
  CHECK(provider.committed_bytes() == kPageSize);
  CHECK(provider.pages_returned_to_os() == 4);
  provider.set_reserve(0);
  Page* last = provider.allocate_page(kOwner, Space::kOld);  // takes the cached page
  REQUIRE(last != nullptr);
  CHECK(provider.committed_bytes() == kPageSize);
  provider.free(last);  // reserve 0: unmapped at once
  CHECK(provider.committed_bytes() == 0);
  CHECK(provider.pages_returned_to_os() == 5);
}

TEST_CASE("page provider: destruction gives cached pages back to the OS") {
  std::vector<Page*> seen;
  std::size_t committed_before_destruction = 0;
  bool mapped_before_destruction = false;
  {
    PageProvider provider(8);
    for (int i = 0; i < 3; ++i) {
      Page* p = provider.allocate_page(kOwner, Space::kOld);
      REQUIRE(p != nullptr);
      seen.push_back(p);
      provider.free(p);
      CHECK(page_containing(p) == nullptr);  // cached, so no managed page
    }
    committed_before_destruction = provider.committed_bytes();
    mapped_before_destruction = is_mapped(seen[0]);
  }
  CHECK(committed_before_destruction == kPageSize);  // one page, cached and reused twice
  CHECK(seen[0] == seen[1]);
  CHECK(seen[1] == seen[2]);
  CHECK(mapped_before_destruction);
  CHECK_FALSE(is_mapped(seen[0]));
}
