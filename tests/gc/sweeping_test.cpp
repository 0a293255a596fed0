// Tests gc/src/sweeping.cpp: dead old objects become free memory (old_bytes and live_bytes
// fall) and dead large objects are freed whole; live large objects never move; the
// allocator's share of a lazy sweep takes the pages with the most free space first and
// a few pages per call at most; a sealed page marking finds wholly live is skipped, and
// its objects that die are still freed.
#include <algorithm>
#include <vector>

#include "test_support.hpp"

using marrow::GcKind;
using marrow::GcReason;
using mt::Node;
using Space = marrow::Space;

namespace {
/// A list of `n` nodes behind a head, ids first (the head), first + 1, ..., allocated
/// young one by one (each promoted by the collections allocation brings).
marrow::Global<Node> make_list(marrow::Runtime& rt, std::size_t n, std::int64_t first) {
  marrow::HandleScope scope(rt);
  auto head = rt.make<Node>(first);
  for (std::size_t i = 0; i < n; ++i) {
    marrow::HandleScope inner(rt);
    auto x = rt.make<Node>(first + 1 + static_cast<std::int64_t>(i));
    x->next = head->next;
    head->next = x;
  }
  return marrow::Global<Node>(rt, head);
}
}  // namespace

TEST_CASE("unreachable old objects are freed: old_bytes and live_bytes fall") {
  marrow::Runtime rt(mt::config());
  const std::size_t n = mt::scaled(20000, 1500);
  marrow::Global<Node> list = make_list(rt, n, -1);
  rt.collect(GcKind::kMajor);
  auto s1 = rt.stats();
  CHECK(s1.old_bytes >= n * (sizeof(Node) + 8));
  CHECK(s1.live_bytes >= s1.old_bytes);
  list.reset();
  rt.collect(GcKind::kMajor);
  auto s2 = rt.stats();
  CHECK(s2.old_bytes + n * (sizeof(Node) + 8) <= s1.old_bytes);
  CHECK(s2.live_bytes + n * (sizeof(Node) + 8) <= s1.live_bytes);
  CHECK(s2.bytes_freed >= s1.bytes_freed + n * (sizeof(Node) + 8));
  MT_CHECK_SOUND(rt);
}

TEST_CASE("large objects are freed by a major collection and never move") {
  marrow::Runtime rt(mt::config());
  const std::size_t big = rt.config().large_object_bytes * 2;
  marrow::HandleScope scope(rt);
  auto kept = rt.make_sized<Node>(big, 1);
  REQUIRE(mt::space_of(rt, kept.get()) == Space::kLarge);
  kept->next = rt.make<Node>(2);
  Node* address = kept.get();
  marrow::Weak<Node> watch;
  {
    marrow::HandleScope inner(rt);
    for (int i = 0; i < 8; ++i) {
      auto dead = rt.make_sized<Node>(big, 10 + i);
      CHECK(mt::space_of(rt, dead.get()) == Space::kLarge);
      if (i == 0) watch = marrow::Weak<Node>(rt, dead);
    }
  }
  auto s1 = rt.stats();
  CHECK(s1.large_bytes >= 9 * big);
  rt.collect(GcKind::kMajor);
  auto s2 = rt.stats();
  CHECK(s2.large_bytes < 2 * big + 4096);
  CHECK(s2.large_bytes >= big);
  CHECK(watch.get() == nullptr);
  rt.collect(GcKind::kCompact);
  CHECK(kept.get() == address);
  CHECK(kept->id == 1);
  CHECK(kept->next->id == 2);
  MT_CHECK_SOUND(rt);
}

namespace {
namespace mi = marrow::internal;

std::size_t free_on(mi::Page* page) {
  std::size_t area = std::size_t(page->top - page->area_start());
  return area - std::min(area, page->live_bytes);
}

std::vector<mi::Page*> unswept_pages(mi::Heap& heap) {
  std::vector<mi::Page*> pages;
  for (mi::Page* p : heap.old_.pages())
    if (p->unswept) pages.push_back(p);
  return pages;
}
}  // namespace

TEST_CASE("lazy sweeping: the allocator sweeps the freest pages first, a few per call") {
  marrow::Config base;
  base.incremental_marking = true;
  base.verify_heap = true;
  marrow::Runtime rt(mt::config(base));
  mi::Heap& heap = rt.heap_for_internal_use();
  if (rt.config().heap_limit_bytes != 0) return;  // (a heap limit sweeps eagerly)
  // A live list and a dead one, each several pages of old space, promoted in turn so
  // that the dead one's pages hold nothing live.
  const std::size_t n = mt::scaled(60000, 3000);
  marrow::Global<Node> live = make_list(rt, n, 0);
  rt.collect(GcKind::kMajor);
  marrow::Global<Node> dead = make_list(rt, n, 1000000);
  rt.collect(GcKind::kMajor);
  dead.reset();
  // One incremental cycle, whose remark leaves the old pages unswept.
  heap.collect(GcKind::kMarkStart, GcReason::kHeapGrowth);
  REQUIRE(heap.marking_.active());
  for (int i = 0; i < 1000000 && !heap.marking_.done(); ++i)
    heap.collect(GcKind::kMarkStep, GcReason::kAllocation);
  heap.collect(GcKind::kMajor, GcReason::kHeapGrowth);
  REQUIRE_FALSE(heap.marking_.active());
  REQUIRE(heap.lazy_sweep_.pending());
  std::vector<mi::Page*> before = unswept_pages(heap);
  REQUIRE(before.size() == heap.lazy_sweep_.pages_left());
  bool some_empty =
      std::any_of(before.begin(), before.end(), [](mi::Page* p) { return p->live_bytes == 0; });
  if (!mt::stress()) REQUIRE(some_empty);  // the dead list's pages

  // No page has a page's worth of free space: nothing is swept for it.
  CHECK_FALSE(heap.lazy_sweep_.sweep_for_size(heap, mi::kPageSize));
  CHECK(heap.lazy_sweep_.pages_left() == before.size());

  // Each call sweeps between one and eight pages, none with less free space than a page
  // left unswept.
  for (int call = 0; call < 4 && heap.lazy_sweep_.pending(); ++call) {
    CAPTURE(call);
    std::vector<mi::Page*> pending = unswept_pages(heap);
    std::size_t most_free = 0;
    for (mi::Page* p : pending) most_free = std::max(most_free, free_on(p));
    if (most_free < 64) break;
    CHECK(heap.lazy_sweep_.sweep_for_size(heap, 64));
    std::vector<mi::Page*> after = unswept_pages(heap);
    std::size_t swept = pending.size() - after.size();
    CHECK(swept >= 1);
    CHECK(swept <= 8);
    std::size_t least_swept = ~std::size_t{0};
    for (mi::Page* p : pending)
      if (!p->unswept) least_swept = std::min(least_swept, free_on(p));
    for (mi::Page* p : after) CHECK(free_on(p) <= least_swept);
    if (call == 0 && some_empty) CHECK(least_swept == most_free);  // an empty page first
  }
  // The list is whole whatever was swept, and the heap sound once the sweep is done.
  std::size_t count = 0;
  for (Node* x = live->next.get(); x != nullptr; x = x->next.get()) ++count;
  CHECK(count == n);
  heap.finish_sweeping();
  CHECK_FALSE(heap.lazy_sweep_.pending());
  MT_CHECK_SOUND(rt);
}

TEST_CASE(
    "a page marking finds wholly live is sealed and not swept; its objects that die "
    "are freed by the next sweep") {
  marrow::Config base;
  base.incremental_marking = true;
  base.verify_heap = true;
  marrow::Config config = mt::config(base);
  config.gc_threads = 1;  // exact live bytes: what lets a sweep trust a page to be all live
  marrow::Runtime rt(config);
  mi::Heap& heap = rt.heap_for_internal_use();
  if (rt.config().heap_limit_bytes != 0) return;  // (a heap limit sweeps eagerly)
  const std::size_t n = mt::scaled(60000, 3000);
  marrow::Global<Node> list = make_list(rt, n, -1);
  auto cycle = [&] {
    heap.collect(GcKind::kMarkStart, GcReason::kHeapGrowth);
    REQUIRE(heap.marking_.active());
    for (int i = 0; i < 1000000 && !heap.marking_.done(); ++i)
      heap.collect(GcKind::kMarkStep, GcReason::kAllocation);
    heap.collect(GcKind::kMajor, GcReason::kHeapGrowth);
    REQUIRE_FALSE(heap.marking_.active());
    REQUIRE(heap.marking_exact());
  };
  auto sealed_pages = [&] {
    std::size_t sealed = 0;
    for (mi::Page* p : heap.old_.pages()) sealed += p->sealed;
    return sealed;
  };
  // The list fills pages whose only free space is an end too short for a node: the
  // first sweep seals them, and the next cycle leaves them out of the lazy sweep.
  rt.collect(GcKind::kMajor);
  std::size_t sealed = sealed_pages();
  if (!mt::stress()) CHECK(sealed * mi::kPageSize >= n * (sizeof(Node) + 8) / 2);
  cycle();
  REQUIRE(heap.lazy_sweep_.pending());
  std::size_t pages = heap.old_.pages().size();
  CHECK(heap.lazy_sweep_.pages_left() + sealed <= pages);
  for (mi::Page* p : heap.old_.pages())
    if (p->sealed) CHECK_FALSE(p->unswept);
  heap.finish_sweeping();
  MT_CHECK_SOUND(rt);

  // One node in 50 dies (too few for a compaction): each sealed page holds dead objects
  // now, and the next sweep must free them. Had it skipped the pages, the dead nodes
  // would stay in the heap, and carry the mark bit the marking after next sets.
  constexpr std::size_t kEvery = 50;
  std::size_t killed = 0;
  std::size_t i = 0;
  for (Node* x = list->next.get(); x != nullptr && x->next != nullptr; x = x->next.get()) {
    if (++i % kEvery == 0) {
      x->next = x->next->next.get();
      ++killed;
    }
  }
  auto before = rt.stats();
  cycle();
  REQUIRE(heap.lazy_sweep_.pending());
  CHECK(heap.lazy_sweep_.pages_left() >= sealed);
  for (mi::Page* p : heap.old_.pages()) CHECK_FALSE((p->sealed && !p->unswept));
  heap.finish_sweeping();
  auto after = rt.stats();
  const std::size_t node = sizeof(Node) + 8;
  CHECK(after.bytes_freed >= before.bytes_freed + killed * node);
  CHECK(after.live_bytes + killed * node <= before.live_bytes);
  MT_CHECK_SOUND(rt);
  // Two more markings (one of each mark bit): nothing dead was left behind with either
  // (the verifier reports an object carrying the last marking's bit outside marking).
  cycle();
  heap.finish_sweeping();
  MT_CHECK_SOUND(rt);
  rt.collect(GcKind::kMajor);
  std::size_t count = 0;
  for (Node* x = list->next.get(); x != nullptr; x = x->next.get()) ++count;
  CHECK(count == n - killed);
  MT_CHECK_SOUND(rt);
}
