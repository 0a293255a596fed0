// Sweeping old pages into free lists and freeing dead large objects. Relies on: marking
// is complete and exact; invariant W. Never allocates managed memory; fills dead memory
// with 0xDB in debug builds so stale pointers fail fast.
#include "marrow/gc/sweeping.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <utility>
#include <vector>

#include "marrow/gc/heap.hpp"
#include "marrow/gc/workers.hpp"

namespace marrow::internal {

namespace {

/// What sweeping one page decided, for a sweep that applies it later (in page order, on
/// one thread: the free lists and page list are not shared).
struct PageSweep {
  std::vector<std::pair<std::byte*, std::size_t>> frees;
  std::size_t tail = 0;
  std::size_t live = 0;
  bool release = false;
};

/// A page with less free than this after a sweep is sealed (Page::sealed): its holes are
/// left as fillers, which costs at most 0.1% of the page, and its next sweeps have
/// nothing to do while marking finds all of it live (a long-lived structure's pages,
/// whose only free space is the end too short for one more object).
constexpr std::size_t kSealBytes = 256;
constexpr unsigned kSealRuns = 4;

/// Whether marking found every object of `page` live (a sealed page, with as many live
/// bytes as its objects take), so that a sweep has nothing to do there: live objects
/// keep their mark bit, and the next marking sets the other one. Only an exact count
/// says so (Heap::marking_exact).
bool wholly_live(Page* page, bool exact) {
  return exact && page->sealed && page->live_bytes != 0 &&
         page->live_bytes == page->sealed_object_bytes;
}

/// Walks one page: reports each run of dead objects, free chunks and fillers as one free
/// chunk (coalescing), or the whole page as empty, or seals it. Live objects (`mark_bit`
/// set) are only read. A page marking counted wholly live (`exact`) is not walked.
template <class FreeFn, class ReleaseFn>
void sweep_page_with(Page* page, HeaderWord mark_bit, bool exact, FreeFn&& add_free_list,
                     ReleaseFn&& release, std::size_t& tails, std::size_t& live_total) {
  if (wholly_live(page, exact)) {
#if MARROW_DCHECK_IS_ON
    walk_headers(page->area_start(), page->top, [&](std::byte* p, HeaderWord h) {
      MARROW_DCHECK(is_free_type(header_type(h)) || (h & mark_bit),
                    "a page counted wholly live holds an unmarked object");
      (void)p;
    });
#endif
    live_total += page->live_bytes;
    return;
  }
  page->sealed = false;  // (before the page may be released or listed whole)
  if (page->live_bytes == 0 && page->pinned_count == 0) {
    // Marking found nothing here: nothing to keep, no walk.
    release();
    return;
  }
  // The first free runs wait here until they are too many or too large to seal the page.
  std::pair<std::byte*, std::size_t> held[kSealRuns];
  unsigned held_runs = 0;
  std::size_t held_bytes = 0;
  bool listing = false;
  auto add_free = [&](std::byte* p, std::size_t n) {
    if (!listing) {
      held_bytes += n;
      if (held_runs < kSealRuns && held_bytes < kSealBytes) {
        held[held_runs++] = {p, n};
        return;
      }
      listing = true;
      for (unsigned i = 0; i < held_runs; ++i) add_free_list(held[i].first, held[i].second);
    }
    add_free_list(p, n);
  };
  std::byte* free_start = nullptr;
  std::size_t live = 0;
  walk_headers(page->area_start(), page->top, [&](std::byte* p, HeaderWord h) {
    std::size_t size = header_size_bytes(h);
    if (!is_free_type(header_type(h)) && (h & mark_bit)) {
      if (free_start != nullptr) {
        add_free(free_start, std::size_t(p - free_start));
        free_start = nullptr;
      }
      live += size;
    } else {
#if defined(MARROW_DEBUG)
      if (size > kMinObjectSize) std::memset(p + kMinObjectSize, 0xDB, size - kMinObjectSize);
#endif
      if (free_start == nullptr) free_start = p;
    }
  });
  live_total += live;
  if (live == 0 && page->pinned_count == 0) {
    release();  // pinned pages keep even dead objects' page; a page of dead ones goes back
    return;
  }
  if (free_start != nullptr) add_free(free_start, std::size_t(page->top - free_start));
  if (!listing) {
    for (unsigned i = 0; i < held_runs; ++i) OldSpace::format_filler(held[i].first, held[i].second);
    page->sealed = true;
    page->sealed_object_bytes = static_cast<std::uint32_t>(live);  // an old page (kPageSize)
  } else if (free_start != nullptr) {
    tails += std::size_t(page->top - free_start);
  }
}

}  // namespace

void Sweeper::sweep_old_space() {
  heap_.old_.reset_free_lists();
  std::vector<Page*> pages = heap_.old_.pages();  // sweeping may release pages
  WorkerPool& pool = heap_.workers_;
  Parallelism& parallelism = heap_.parallelism_;
  unsigned threads = parallelism.threads_for(ParallelPhase::kSweep);
  auto started = std::chrono::steady_clock::now();
  HeaderWord mark_bit = heap_.mark_bit();
  bool exact = heap_.marking_exact();
  auto record = [&] {
    parallelism.record(ParallelPhase::kSweep, threads, pages.size() * kPageSize,
                       std::chrono::steady_clock::now() - started);
  };
  if (threads == 1 || pages.size() < 2 * pool.threads()) {
    for (Page* page : pages) sweep_page(page);
    if (threads == 1) record();  // a sweep too small to split says nothing of the pool
    return;
  }
  // Parallel: workers claim pages by an atomic index and record what to do; the results
  // are applied in page order, so the free lists come out as the serial sweep makes them.
  std::vector<PageSweep> results(pages.size());
  std::atomic<std::size_t> next{0};
  pool.run([&](unsigned) {
    for (std::size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < pages.size();) {
      PageSweep& r = results[i];
      sweep_page_with(
          pages[i], mark_bit, exact,
          [&](std::byte* p, std::size_t n) { r.frees.emplace_back(p, n); },
          [&] { r.release = true; }, r.tail, r.live);
    }
  });
  heap_.record_workers(GcPhase::kSweep, pool);
  OldSpace& old = heap_.old_;
  for (std::size_t i = 0; i < pages.size(); ++i) {
    if (results[i].release) {
      old.release_page(pages[i]);
      continue;
    }
    for (auto [p, n] : results[i].frees) old.add_free(p, n);
    page_tails_ += results[i].tail;
    live_bytes_ += results[i].live;
  }
  record();
}

void Sweeper::sweep_page(Page* page) {
  OldSpace& old = heap_.old_;
  sweep_page_with(
      page, heap_.mark_bit(), heap_.marking_exact(),
      [&](std::byte* p, std::size_t n) { old.add_free(p, n); }, [&] { old.release_page(page); },
      page_tails_, live_bytes_);
}

// ---- Lazy sweeping ------------------------------------------------------------------

namespace {
std::size_t free_on(Page* page) {
  std::size_t area = std::size_t(page->top - page->area_start());
  return area - std::min(area, page->live_bytes);
}
}  // namespace

std::size_t LazySweeping::start(Heap& heap) {
  finish(heap);  // (nothing is left from the last cycle: marking started swept)
  OldSpace& old = heap.old_;
  old.reset_free_lists();
  std::size_t live = 0;
  std::vector<Page*> pages = old.pages();  // releasing edits the list
  for (Page* page : pages) {
    live += page->live_bytes;
    // A page marking found wholly live has nothing to sweep (its objects keep their mark
    // bit): it is not listed.
    if (wholly_live(page, heap.marking_exact())) continue;
    // Pages marking found empty are listed too: giving them back costs a system call
    // each, which sweep steps pay rather than the pause.
    page->unswept = true;
    unswept_.push_back(page);
    // Free bytes to come, as the eager sweep would leave them: an empty page is released.
    if (page->live_bytes != 0 || page->pinned_count != 0) unswept_free_ += free_on(page);
  }
  // The most free space at the back, where every sweep takes from: the allocator's
  // sweeps reach the pages with holes first, and pages marking found nearly full (a
  // long-lived structure's) are left to sweep steps.
  std::stable_sort(unswept_.begin(), unswept_.end(),
                   [](Page* a, Page* b) { return free_on(a) < free_on(b); });
  return live;
}

std::size_t LazySweeping::sweep_one(Heap& heap, bool may_release) {
  Page* page = unswept_.back();
  unswept_.pop_back();
  page->unswept = false;
  OldSpace& old = heap.old_;
  if (page->live_bytes == 0 && page->pinned_count == 0) {
    if (may_release) {
      old.release_page(page);
      return 0;
    }
  } else {
    unswept_free_ -= std::min(unswept_free_, free_on(page));
  }
  std::size_t largest = 0;
  std::size_t tails = 0;
  std::size_t live = 0;
  // A page of dead objects stays (its holes are listed): releasing it is for the pause.
  sweep_page_with(
      page, heap.mark_bit(), false,
      [&](std::byte* p, std::size_t n) {
        old.add_free(p, n);
        largest = std::max(largest, n);
      },
      [&] {
        std::size_t n = std::size_t(page->top - page->area_start());
        old.add_free(page->area_start(), n);
        largest = std::max(largest, n);
      },
      tails, live);
  return largest;
}

bool LazySweeping::sweep_for_size(Heap& heap, std::size_t size) {
  // A page's free bytes bound its largest hole, and the pages are in order of free bytes:
  // once the next page has less than `size` free, none has a hole to fit. The allocator
  // then takes a fresh page rather than sweeping full pages in its caller's time (a
  // mutator's allocation or a minor collection's promotion), and a few pages at most
  // are swept per call whatever their holes' sizes.
  constexpr std::size_t kMaxPagesPerCall = 8;
  std::size_t swept = 0;
  while (!unswept_.empty() && swept < kMaxPagesPerCall && free_on(unswept_.back()) >= size) {
    ++swept;
    if (sweep_one(heap, false) >= size) break;
  }
  return swept != 0;
}

std::size_t LazySweeping::sweep_some(Heap& heap, std::size_t max_pages,
                                     std::chrono::steady_clock::time_point deadline) {
  std::size_t pages = 0;
  while (!unswept_.empty() && pages < max_pages) {
    sweep_one(heap, true);
    ++pages;
    if (std::chrono::steady_clock::now() >= deadline) break;  // a page is ~0.1 ms or more
  }
  return pages;
}

void LazySweeping::finish(Heap& heap) {
  while (!unswept_.empty()) sweep_one(heap, true);
  unswept_free_ = 0;
}

void Sweeper::sweep_large_objects() {
  heap_.large_.sweep([&](Page* run) {
    auto* hp = reinterpret_cast<HeaderWord*>(run->area_start());
    if (*hp & heap_.mark_bit()) return true;  // it keeps its mark bit (see header.hpp)
    heap_.events_.stats().bytes_freed += header_size_bytes(*hp);
    return false;
  });
}

}  // namespace marrow::internal
