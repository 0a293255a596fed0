// Tests OldSpace (heap/src/spaces.cpp): exact small classes, splitting, the best-fit index, the
// LAB, free-list and allocation accounting, walkability (invariant W), giving pages back; and
// LargeObjectSpace's accounting and sweep.
#include <marrow/heap/spaces.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

using marrow::Space;
using marrow::internal::header_size_bytes;
using marrow::internal::header_type;
using marrow::internal::HeaderWord;
using marrow::internal::kFillerType;
using marrow::internal::kFirstUserType;
using marrow::internal::kFreeChunkType;
using marrow::internal::kPageMagic;
using marrow::internal::kPageSize;
using marrow::internal::kWordSize;
using marrow::internal::make_header;
using marrow::internal::OldSpace;
using marrow::internal::Page;
using marrow::internal::page_containing;
using marrow::internal::PageProvider;
using marrow::internal::walk_headers;

namespace {

int g_owner_tag;  // nothing in heap/ dereferences the owner: any non-null address will do
void* const kOwner = &g_owner_tag;

/// Allocates `size` bytes and writes an object header there, as the collector would.
std::byte* alloc(OldSpace& space, std::size_t size) {
  std::byte* p = space.allocate(size);
  REQUIRE(p != nullptr);
  *reinterpret_cast<HeaderWord*>(p) = make_header(size, kFirstUserType);
  return p;
}

HeaderWord header_at(const std::byte* p) { return *reinterpret_cast<const HeaderWord*>(p); }

std::size_t area_bytes(Page* page) { return std::size_t(page->area_end() - page->area_start()); }

/// The free-list chunks, as (address, size).
std::map<std::byte*, std::size_t> free_chunks(const OldSpace& space) {
  std::map<std::byte*, std::size_t> chunks;
  space.for_each_free_chunk([&](std::byte* p, std::size_t size) { chunks.emplace(p, size); });
  return chunks;
}

/// One entry of a page walk.
struct Entry {
  std::byte* at;
  std::size_t size;
  std::uint32_t type;
  bool operator==(const Entry&) const = default;
};

/// Walks `page` with guards of its own (a broken header ends the walk with a message in
/// `problem` instead of looping or running off the page), for comparing with walk_page.
std::vector<Entry> guarded_walk(Page* page, std::string& problem) {
  std::vector<Entry> entries;
  std::byte* p = page->area_start();
  while (p < page->top) {
    HeaderWord h = header_at(p);
    std::size_t size = header_size_bytes(h);
    std::uint32_t type = header_type(h);
    if (size == 0 || size % kWordSize != 0 || size > std::size_t(page->top - p)) {
      problem = "bad size " + std::to_string(size) + " at offset " +
                std::to_string(p - page->area_start());
      return entries;
    }
    if (type != kFreeChunkType && type != kFillerType && type != kFirstUserType) {
      problem = "bad type " + std::to_string(type);
      return entries;
    }
    if (type == kFreeChunkType && size < marrow::internal::kMinObjectSize) {
      problem = "free chunk below the minimum size";
      return entries;
    }
    entries.push_back({p, size, type});
    p += size;
  }
  if (p != page->top) problem = "the walk does not end at top";
  return entries;
}

/// Checks invariant W on every page of `space`, that walk_page visits exactly what the
/// guarded walk does, that the objects found are exactly `live`, and that every free-list
/// chunk is a formatted free chunk on a page.
void check_walkable(OldSpace& space, const std::map<std::byte*, std::size_t>& live) {
  std::map<std::byte*, std::size_t> objects;
  std::map<std::byte*, std::size_t> formatted_free;
  for (Page* page : space.pages()) {
    REQUIRE(page->magic == kPageMagic);
    REQUIRE(page->top == page->area_end());
    std::string problem;
    std::vector<Entry> expected = guarded_walk(page, problem);
    REQUIRE_MESSAGE(problem.empty(), problem);
    std::vector<Entry> visited;
    std::size_t bytes = 0;
    OldSpace::walk_page(page, [&](std::byte* p, HeaderWord h) {
      visited.push_back({p, header_size_bytes(h), header_type(h)});
      bytes += header_size_bytes(h);
    });
    REQUIRE(visited == expected);
    REQUIRE(bytes == area_bytes(page));  // every byte exactly once
    for (const Entry& e : visited) {
      if (e.type == kFirstUserType) objects.emplace(e.at, e.size);
      if (e.type == kFreeChunkType) formatted_free.emplace(e.at, e.size);
    }
  }
  REQUIRE(objects == live);
  std::size_t listed = 0;
  for (auto [p, size] : free_chunks(space)) {
    auto it = formatted_free.find(p);
    REQUIRE(it != formatted_free.end());
    REQUIRE(it->second == size);
    listed += size;
  }
  REQUIRE(listed == space.free_list_bytes());
}

/// What a sweep does with nothing live but `live`: free lists rebuilt from every run of
/// consecutive dead entries, coalesced. Returns the bytes put on free lists.
std::size_t sweep(OldSpace& space, const std::map<std::byte*, std::size_t>& live) {
  space.reset_free_lists();
  std::size_t listed = 0;
  for (Page* page : space.pages()) {
    std::byte* run = nullptr;
    auto flush = [&](std::byte* end) {
      if (run == nullptr) return;
      std::size_t size = std::size_t(end - run);
      space.add_free(run, size);
      if (size >= marrow::internal::kMinObjectSize) listed += size;
      run = nullptr;
    };
    OldSpace::walk_page(page, [&](std::byte* p, HeaderWord h) {
      if (live.count(p) != 0) {
        flush(p);
      } else if (run == nullptr) {
        run = p;
      }
      (void)h;
    });
    flush(page->area_end());
  }
  return listed;
}

}  // namespace

TEST_CASE("old space: a freed chunk of each small size 16..512 is reused for that size") {
  PageProvider provider(0);
  OldSpace space(provider, kOwner, Space::kOld);
  std::map<std::size_t, std::byte*> at;
  std::map<std::byte*, std::size_t> live;
  std::size_t total = 0;
  for (std::size_t n = 16; n <= OldSpace::kSmallClassLimit; n += kWordSize) {
    at[n] = alloc(space, n);
    live.emplace(at[n], n);
    total += n;
  }
  REQUIRE(space.pages().size() == 1);
  check_walkable(space, live);
  // Free them all (the LAB goes too, as before a sweep): every class holds one chunk.
  space.reset_free_lists();
  for (auto [n, p] : at) space.add_free(p, n);
  live.clear();
  CHECK(space.free_list_bytes() == total);
  CHECK(free_chunks(space).size() == at.size());
  check_walkable(space, live);
  // In an order that is neither ascending nor descending, each size gets its own chunk.
  std::vector<std::size_t> order;
  for (auto [n, p] : at) order.push_back(n);
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  for (std::size_t n : order) {
    CAPTURE(n);
    const std::size_t free_before = space.free_list_bytes();
    std::byte* p = alloc(space, n);
    CHECK(p == at[n]);
    CHECK(space.free_list_bytes() == free_before - n);
    live.emplace(p, n);
  }
  CHECK(space.free_list_bytes() == 0);
  CHECK(space.pages().size() == 1);
  check_walkable(space, live);
}

TEST_CASE("old space: with the exact class empty, the smallest larger hole is split") {
  PageProvider provider(0);
  OldSpace space(provider, kOwner, Space::kOld);
  std::byte* a = alloc(space, 56);
  std::byte* b = alloc(space, 120);
  std::byte* c = alloc(space, 200);
  std::byte* d = alloc(space, 16);
  std::map<std::byte*, std::size_t> live{{d, 16}};
  space.reset_free_lists();
  space.add_free(a, 56);
  space.add_free(b, 120);
  space.add_free(c, 200);
  REQUIRE(space.free_list_bytes() == 376);
  REQUIRE(space.lab_top() == space.lab_end());  // no LAB: the next allocation takes a hole

  // 48: no 48-byte hole; the 56-byte one would leave 8 bytes (unusable); 120 is the smallest
  // that leaves at least 16. Its rest becomes the LAB, formatted as one filler.
  std::byte* p = alloc(space, 48);
  live.emplace(p, 48);
  CHECK(p == b);
  CHECK(space.lab_top() == b + 48);
  CHECK(space.lab_end() == b + 120);
  CHECK(header_type(header_at(b + 48)) == kFillerType);
  CHECK(header_size_bytes(header_at(b + 48)) == 72);
  CHECK(space.free_list_bytes() == 56 + 200);
  check_walkable(space, live);

  // The next small objects bump into the rest of the hole until it is used up.
  std::byte* q = alloc(space, 32);
  std::byte* r = alloc(space, 40);
  live.emplace(q, 32);
  live.emplace(r, 40);
  CHECK(q == b + 48);
  CHECK(r == b + 80);
  CHECK(space.lab_top() == b + 120);
  CHECK(space.lab_end() == b + 120);
  check_walkable(space, live);

  // LAB used up, still no 48-byte hole and the 56 still too tight: the 200-byte hole.
  std::byte* s = alloc(space, 48);
  live.emplace(s, 48);
  CHECK(s == c);
  CHECK(space.lab_top() == c + 48);
  CHECK(space.lab_end() == c + 200);
  CHECK(space.free_list_bytes() == 56);

  // An object the LAB cannot hold and no small hole fits: the LAB's rest (152 bytes) goes
  // to its free list and a fresh page becomes the LAB.
  std::byte* t = alloc(space, 160);
  live.emplace(t, 160);
  CHECK(space.pages().size() == 2);
  CHECK(Page::of(t) != Page::of(a));
  auto chunks = free_chunks(space);
  CHECK(chunks.size() == 2);
  CHECK(chunks[a] == 56);  // never split for 48: its remainder would be unusable
  CHECK(chunks[c + 48] == 152);
  CHECK(space.free_list_bytes() == 56 + 152);
  check_walkable(space, live);
}

TEST_CASE("old space: above 512 bytes, the best-fitting chunk, preferring at least 4 KiB") {
  PageProvider provider(0);
  OldSpace space(provider, kOwner, Space::kOld);
  // Chunks of several sizes, each followed by a live separator so that none are adjacent.
  std::map<std::byte*, std::size_t> live;
  std::map<std::size_t, std::byte*> at;
  for (std::size_t n : {600, 1000, 2000, 5000, 9000, 4200}) {
    at[n] = alloc(space, n);
    std::byte* sep = alloc(space, 16);
    live.emplace(sep, 16);
  }
  space.reset_free_lists();
  for (std::size_t n : {600, 1000, 2000}) space.add_free(at[n], n);
  for (std::size_t n : {5000, 9000, 4200}) live.emplace(at[n], n);  // still live for now

  SUBCASE("below 4 KiB only: the smallest chunk that fits") {
    std::byte* p = alloc(space, 704);
    live.emplace(p, 704);
    CHECK(p == at[1000]);  // not 2000, not the too-small 600
    CHECK(space.lab_top() == at[1000] + 704);
    CHECK(space.lab_end() == at[1000] + 1000);
    CHECK(space.free_list_bytes() == 600 + 2000);
    // 1504 does not fit the LAB's 296: they go to a (small) list, and 2000 is the best fit.
    std::byte* q = alloc(space, 1504);
    live.emplace(q, 1504);
    CHECK(q == at[2000]);
    auto chunks = free_chunks(space);
    CHECK(chunks.size() == 2);
    CHECK(chunks[at[600]] == 600);
    CHECK(chunks[at[1000] + 704] == 296);
    CHECK(space.free_list_bytes() == 600 + 296);
    // Nothing left fits 2504 (the LAB's 496 go to a list too): a fresh page.
    const std::size_t pages = space.pages().size();
    std::byte* r = alloc(space, 2504);
    live.emplace(r, 2504);
    CHECK(free_chunks(space)[at[2000] + 1504] == 496);
    CHECK(space.pages().size() == pages + 1);
    CHECK(Page::of(r) == space.pages().back());
    check_walkable(space, live);
  }
  SUBCASE("with chunks of 4 KiB and more: the best fit among those, even for small sizes") {
    for (std::size_t n : {5000, 9000, 4200}) {
      space.add_free(at[n], n);
      live.erase(at[n]);
    }
    // 520 would fit 600 best, but a LAB refill prefers >= 4 KiB: 4200, not 5000 or 9000.
    std::byte* p = alloc(space, 520);
    live.emplace(p, 520);
    CHECK(p == at[4200]);
    CHECK(space.lab_end() == at[4200] + 4200);
    // A small size with no small hole refills the LAB the same way once the LAB is full.
    std::byte* q = alloc(space, 3680);  // exactly the rest of the 4200 chunk
    live.emplace(q, 3680);
    CHECK(q == at[4200] + 520);
    CHECK(space.lab_top() == space.lab_end());
    std::byte* r = alloc(space, 48);
    live.emplace(r, 48);
    CHECK(r == at[5000]);
    // 6000: the LAB's rest (4952) goes back to the big index, 9000 is the only fit.
    std::byte* s = alloc(space, 6000);
    live.emplace(s, 6000);
    CHECK(s == at[9000]);
    auto chunks = free_chunks(space);
    CHECK(chunks[at[5000] + 48] == 4952);
    CHECK(space.free_list_bytes() == 600 + 1000 + 2000 + 4952);
    check_walkable(space, live);
  }
}

TEST_CASE("old space: reset_free_lists forgets every chunk and the LAB") {
  PageProvider provider(0);
  OldSpace space(provider, kOwner, Space::kOld);
  std::byte* small = alloc(space, 64);
  std::byte* big = alloc(space, 8192);
  std::byte* keep = alloc(space, 32);
  REQUIRE(space.lab_top() != space.lab_end());
  space.reset_free_lists();
  space.add_free(small, 64);
  space.add_free(big, 8192);
  REQUIRE(space.free_list_bytes() == 8256);
  space.reset_free_lists();
  CHECK(space.free_list_bytes() == 0);
  CHECK(free_chunks(space).empty());
  CHECK(space.lab_top() == nullptr);
  CHECK(space.lab_end() == nullptr);
  // Neither the forgotten chunks nor the old LAB's rest are reused: a fresh page is.
  std::byte* p = alloc(space, 64);
  std::byte* q = alloc(space, 8192);
  CHECK(space.pages().size() == 2);
  CHECK(Page::of(p) == space.pages().back());
  CHECK(Page::of(q) == space.pages().back());
  // The forgotten chunks stay formatted: the first page is still walkable.
  check_walkable(space, {{keep, 32}, {p, 64}, {q, 8192}});
}

TEST_CASE("old space: set_lab makes a range the LAB, formatted; the old LAB's rest is freed") {
  PageProvider provider(0);
  OldSpace space(provider, kOwner, Space::kOld);
  std::byte* a = alloc(space, 64);
  std::byte* b = alloc(space, 64);
  alloc(space, 64);
  Page* page = Page::of(a);
  // As compaction leaves it: free lists gone, everything from b on is the LAB.
  space.reset_free_lists();
  space.set_lab(b, page->area_end());
  CHECK(space.lab_top() == b);
  CHECK(space.lab_end() == page->area_end());
  CHECK(header_type(header_at(b)) == kFillerType);
  CHECK(header_size_bytes(header_at(b)) == std::size_t(page->area_end() - b));
  CHECK(space.free_list_bytes() == 0);
  check_walkable(space, {{a, 64}});
  std::byte* c = alloc(space, 32);
  CHECK(c == b);
  // An empty range: the current LAB's rest goes to the free lists and no LAB is left.
  space.set_lab(c + 32, c + 32);
  CHECK(space.lab_top() == nullptr);
  CHECK(space.free_list_bytes() == std::size_t(page->area_end() - (c + 32)));
  CHECK(free_chunks(space).count(c + 32) == 1);
  check_walkable(space, {{a, 64}, {c, 32}});
}

TEST_CASE("old space: allocated_bytes and free_list_bytes account for every path") {
  PageProvider provider(0);
  OldSpace space(provider, kOwner, Space::kOld);
  CHECK(space.allocated_bytes() == 0);
  CHECK(space.committed_bytes() == 0);
  std::byte* a = alloc(space, 48);  // fresh page
  CHECK(space.allocated_bytes() == 48);
  CHECK(space.committed_bytes() == kPageSize);
  CHECK(provider.committed_bytes() == kPageSize);
  std::byte* b = alloc(space, 1024);  // bump
  std::byte* c = alloc(space, 48);
  std::byte* d = alloc(space, 16);
  CHECK(space.allocated_bytes() == 48 + 1024 + 48 + 16);
  CHECK(space.free_list_bytes() == 0);

  space.reset_free_lists();
  space.set_allocated_bytes(16);  // what a sweep leaves: the live bytes
  CHECK(space.allocated_bytes() == 16);
  space.add_free(a, 48);
  space.add_free(b, 1024);
  space.add_free(c, 40);
  space.add_free(c + 40, 8);  // below the minimum: a filler, on no list
  CHECK(space.free_list_bytes() == 48 + 1024 + 40);
  CHECK(header_type(header_at(c + 40)) == kFillerType);
  CHECK(header_size_bytes(header_at(c + 40)) == 8);
  space.add_free(d + 16, 0);  // nothing
  CHECK(space.free_list_bytes() == 48 + 1024 + 40);
  CHECK(space.allocated_bytes() == 16);  // freeing is the sweep's to account
  std::map<std::byte*, std::size_t> live{{d, 16}};
  check_walkable(space, live);

  live.emplace(alloc(space, 48), 48);  // exact class: -48 free, +48 allocated
  CHECK(space.free_list_bytes() == 1024 + 40);
  CHECK(space.allocated_bytes() == 64);
  live.emplace(alloc(space, 40), 40);  // exact class again
  CHECK(space.free_list_bytes() == 1024);
  CHECK(space.allocated_bytes() == 104);
  live.emplace(alloc(space, 24), 24);  // the 1024 chunk becomes the LAB: off the lists whole
  CHECK(space.free_list_bytes() == 0);
  CHECK(space.allocated_bytes() == 128);
  live.emplace(alloc(space, 600), 600);  // bump in that LAB
  CHECK(space.allocated_bytes() == 728);

  // A caller bumping the LAB itself (pretenuring) reports how far it got.
  std::byte* top = space.lab_top();
  std::byte* end = space.lab_end();
  REQUIRE(std::size_t(end - top) == 1024 - 24 - 600);
  *reinterpret_cast<HeaderWord*>(top) = make_header(64, kFirstUserType);
  space.advance_lab(top + 64);
  live.emplace(top, 64);
  CHECK(space.allocated_bytes() == 792);
  CHECK(space.lab_top() == top + 64);
  CHECK(header_type(header_at(top + 64)) == kFillerType);
  CHECK(header_size_bytes(header_at(top + 64)) == std::size_t(end - top) - 64);
  space.advance_lab(top + 64);  // no progress: no change
  CHECK(space.allocated_bytes() == 792);
  CHECK(space.committed_bytes() == kPageSize);
  check_walkable(space, live);
}

TEST_CASE("old space: a worker's claim is capped; the LAB keeps the rest, walkable") {
  PageProvider provider(0);
  OldSpace space(provider, kOwner, Space::kOld);
  std::byte* a = alloc(space, 64);
  std::byte* lab_end = space.lab_end();
  marrow::internal::BumpRegion rest;
  constexpr std::size_t kClaim = 16 << 10;
  std::byte* p = space.allocate_with_rest(48, rest, kClaim);
  REQUIRE(p == a + 64);
  *reinterpret_cast<HeaderWord*>(p) = make_header(48, kFirstUserType);
  // The worker gets the 16 KiB after its object; the space keeps the page's rest as its LAB.
  CHECK(rest.start == p + 48);
  CHECK(rest.top == rest.start);
  CHECK(rest.end == p + 48 + kClaim);
  CHECK(space.lab_top() == rest.end);
  CHECK(space.lab_end() == lab_end);
  CHECK(header_type(header_at(rest.end)) == kFillerType);
  CHECK(header_size_bytes(header_at(rest.end)) == std::size_t(lab_end - rest.end));
  // A second claim comes from what the LAB kept, right after the first.
  marrow::internal::BumpRegion second;
  std::byte* q = space.allocate_with_rest(32, second, kClaim);
  CHECK(q == rest.end);
  *reinterpret_cast<HeaderWord*>(q) = make_header(32, kFirstUserType);
  CHECK(second.end == q + 32 + kClaim);
  // The worker used 80 bytes of the first claim: returned, the rest becomes a free chunk.
  *reinterpret_cast<HeaderWord*>(rest.top) = make_header(80, kFirstUserType);
  rest.top += 80;
  std::byte* used = rest.start;
  std::size_t before = space.allocated_bytes();
  space.return_rest(rest);
  CHECK(space.allocated_bytes() == before + 80);
  CHECK(free_chunks(space).count(used + 80) == 1);
  // The second claim (unused) ends where the LAB starts: its rest goes back to the LAB.
  space.return_rest(second);
  CHECK(space.allocated_bytes() == before + 80);
  CHECK(free_chunks(space).count(q + 32) == 0);
  CHECK(space.lab_top() == q + 32);
  CHECK(header_type(header_at(q + 32)) == kFillerType);
  check_walkable(space, {{a, 64}, {p, 48}, {used, 80}, {q, 32}});
  // A cap larger than the LAB's rest gives the worker the whole rest.
  std::size_t left = std::size_t(space.lab_end() - space.lab_top());
  marrow::internal::BumpRegion all;
  std::byte* r = space.allocate_with_rest(16, all, kPageSize);
  CHECK(all.end == space.lab_end());
  CHECK(std::size_t(all.end - r) == left);
}

TEST_CASE("old space: every page stays walkable through a random mix of allocate and free") {
  PageProvider provider(2);
  OldSpace space(provider, kOwner, Space::kOld);
  std::mt19937_64 rng(2024);
  std::map<std::byte*, std::size_t> live;
  std::vector<std::byte*> order;  // live objects, for picking one at random
  std::size_t allocated = 0;
  auto random_size = [&]() -> std::size_t {
    std::uint64_t kind = rng() % 100;
    if (kind < 80) return 16 + 8 * (rng() % 63);     // small classes
    if (kind < 97) return 520 + 8 * (rng() % 1000);  // the best-fit index
    return 16384 + 8 * (rng() % 6000);               // up to ~64 KiB
  };
  const int steps = 3000;
  std::size_t sweeps = 0, frees = 0;
  for (int step = 0; step < steps; ++step) {
    CAPTURE(step);
    std::uint64_t op = rng() % 100;
    if (op < 60 || live.empty()) {
      std::size_t size = random_size();
      std::byte* p = alloc(space, size);
      allocated += size;
      // Inside one of the space's pages, overlapping no live object.
      Page* page = Page::of(p);
      REQUIRE(std::find(space.pages().begin(), space.pages().end(), page) != space.pages().end());
      REQUIRE(p >= page->area_start());
      REQUIRE(p + size <= page->area_end());
      auto next = live.lower_bound(p);
      if (next != live.end()) REQUIRE(p + size <= next->first);
      if (next != live.begin()) REQUIRE(std::prev(next)->first + std::prev(next)->second <= p);
      live.emplace(p, size);
      order.push_back(p);
    } else if (op < 95) {
      std::size_t i = rng() % order.size();
      std::byte* p = order[i];
      order[i] = order.back();
      order.pop_back();
      space.add_free(p, live[p]);
      live.erase(p);
      ++frees;
    } else {
      std::size_t listed = sweep(space, live);
      std::size_t in_use = 0;
      for (auto [p, size] : live) in_use += size;
      space.set_allocated_bytes(in_use);
      allocated = in_use;
      CHECK(space.free_list_bytes() == listed);
      ++sweeps;
    }
    REQUIRE(space.allocated_bytes() == allocated);
    check_walkable(space, live);
  }
  CHECK(sweeps > 10);
  CHECK(frees > 100);
  CHECK(space.pages().size() > 1);
}

TEST_CASE("old space: a released page goes back to the provider and can be mapped again") {
  int local = 0;  // a second owner, to tell the spaces' pages apart
  PageProvider provider(1);
  {
    OldSpace space(provider, kOwner, Space::kOld);
    std::byte* p = alloc(space, 64);
    Page* lab_page = Page::of(p);
    REQUIRE(space.pages().size() == 1);
    CHECK(lab_page->kind == Space::kOld);
    CHECK(lab_page->owner == kOwner);

    // A page added directly is one filler over its whole area.
    Page* second = space.add_page();
    REQUIRE(second != nullptr);
    CHECK(space.pages().size() == 2);
    CHECK(second->top == second->area_end());
    CHECK(header_type(header_at(second->area_start())) == kFillerType);
    CHECK(header_size_bytes(header_at(second->area_start())) == area_bytes(second));
    CHECK(provider.committed_bytes() == 2 * kPageSize);

    // Released: off the space, cached by the provider (reserve 1), no longer a heap page.
    space.release_page(second);
    CHECK(space.pages().size() == 1);
    CHECK(space.pages()[0] == lab_page);
    CHECK(provider.committed_bytes() == 2 * kPageSize);
    CHECK(provider.pages_returned_to_os() == 0);
    CHECK(page_containing(second->area_start()) == nullptr);

    // Mapped again: the same memory, initialised afresh.
    Page* again = space.add_page();
    CHECK(again == second);
    CHECK(again->magic == kPageMagic);
    CHECK(page_containing(again->area_start()) == again);
    CHECK(space.pages().size() == 2);
    check_walkable(space, {{p, 64}});

    // Releasing the LAB's page forgets the LAB: the next allocation cannot land there.
    space.release_page(again);  // cached again (add_page emptied the cache)
    CHECK(provider.pages_returned_to_os() == 0);
    space.release_page(lab_page);
    CHECK(provider.pages_returned_to_os() == 1);
    CHECK(provider.committed_bytes() == kPageSize);
    CHECK(space.lab_top() == nullptr);
    CHECK(space.pages().empty());
    std::byte* q = alloc(space, 64);
    REQUIRE(space.pages().size() == 1);
    CHECK(q == space.pages()[0]->area_start());
    check_walkable(space, {{q, 64}});

    // Another space takes the provider's pages with its own owner and kind.
    OldSpace immortal(provider, &local, Space::kImmortal);
    std::byte* r = alloc(immortal, 32);
    CHECK(Page::of(r)->owner == &local);
    CHECK(Page::of(r)->kind == Space::kImmortal);
    CHECK(provider.committed_bytes() == 2 * kPageSize);
  }
  // Both spaces gave their pages back on destruction: one kept (reserve 1), one unmapped.
  CHECK(provider.committed_bytes() == kPageSize);
  CHECK(provider.pages_returned_to_os() == 2);
}

TEST_CASE("large object space: sweep frees what it is told to in one pass, bytes follow") {
  using marrow::internal::LargeObjectSpace;
  PageProvider provider(0);
  LargeObjectSpace space(provider, kOwner);
  std::vector<std::byte*> objects;
  std::size_t object_bytes = 0, charged = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    std::size_t size = (16 + 8 * i) << 10;
    objects.push_back(space.allocate(size));
    REQUIRE(objects.back() != nullptr);
    object_bytes += size;
    charged += PageProvider::run_charge(size);
  }
  CHECK(space.runs().size() == 10);
  CHECK(space.object_bytes() == object_bytes);
  std::size_t run_bytes = 0;
  for (Page* run : space.runs()) run_bytes += run->run_bytes;
  CHECK(space.run_bytes() == run_bytes);
  CHECK(provider.committed_bytes() == charged);

  // Keep every third object; the others' runs go back to the provider.
  std::set<Page*> kept;
  std::size_t kept_object_bytes = 0, kept_run_bytes = 0, kept_charged = 0;
  for (std::size_t i = 0; i < objects.size(); i += 3) {
    Page* run = page_containing(objects[i]);
    kept.insert(run);
    std::size_t size = std::size_t(run->top - run->area_start());
    kept_object_bytes += size;
    kept_run_bytes += run->run_bytes;
    kept_charged += PageProvider::run_charge(size);
  }
  std::size_t asked = 0;
  space.sweep([&](Page* run) {
    ++asked;
    return kept.count(run) != 0;
  });
  CHECK(asked == 10);
  CHECK(space.runs().size() == kept.size());
  CHECK(std::set<Page*>(space.runs().begin(), space.runs().end()) == kept);
  CHECK(space.object_bytes() == kept_object_bytes);
  CHECK(space.run_bytes() == kept_run_bytes);
  CHECK(provider.committed_bytes() == kept_charged);

  space.sweep([](Page*) { return false; });
  CHECK(space.runs().empty());
  CHECK(space.object_bytes() == 0);
  CHECK(space.run_bytes() == 0);
  CHECK(provider.committed_bytes() == 0);
}
