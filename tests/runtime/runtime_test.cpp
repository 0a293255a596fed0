// Runtime: make / make_sized, GC listeners, statistics and the heap walk.
#include <algorithm>
#include <map>
#include <string>

#include "test_support.hpp"

using marrow::GcKind;
using mt::Node;

namespace {

struct Blob : marrow::Object {
  static constexpr const char* kTypeName = "Blob";
  std::uint32_t length;
  std::uint32_t tag;
  Blob(std::uint32_t n, std::uint32_t t) : length(n), tag(t) {}
  std::byte* bytes() { return reinterpret_cast<std::byte*>(this) + sizeof(Blob); }
};

struct Plain : marrow::Object {
  int x = 0;
};

bool all_zero(const std::byte* p, std::size_t n) {
  return std::all_of(p, p + n, [](std::byte b) { return b == std::byte{0}; });
}

}  // namespace

TEST_CASE("make_sized: trailing bytes are zeroed even in reused memory") {
  marrow::Runtime rt(mt::config());
  const std::size_t rounds = mt::scaled(4, 1);
  const std::size_t per_round = mt::scaled(2000, 300);
  const std::size_t extras[] = {1, 7, 8, 100, 1000, 20000 /* large object */};
  for (std::size_t r = 0; r < rounds; ++r) {
    {
      // Dirty the nursery with garbage full of 0xAB.
      marrow::HandleScope scope(rt);
      for (std::size_t i = 0; i < per_round; ++i) {
        auto b = rt.make_sized<Blob>(200, 200u, 0u);
        std::memset(b->bytes(), 0xAB, 200);
      }
    }
    rt.collect(r % 2 ? GcKind::kMajor : GcKind::kMinor);
    marrow::HandleScope scope(rt);
    for (std::size_t i = 0; i < per_round / 4; ++i) {
      std::size_t extra = extras[i % std::size(extras)];
      auto b = rt.make_sized<Blob>(extra, static_cast<std::uint32_t>(extra), 1u);
      REQUIRE(all_zero(b->bytes(), extra));
      CHECK(b->length == extra);
      CHECK(b->tag == 1);
    }
  }
}

TEST_CASE("make_sized: the tail starts right after the fixed part and moves with the object") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  auto a = rt.make_sized<Blob>(64, 64u, 11u);
  auto b = rt.make_sized<Blob>(64, 64u, 22u);
  auto* tail = reinterpret_cast<unsigned char*>(a.get()) + sizeof(Blob);
  CHECK(static_cast<void*>(tail) == static_cast<void*>(a->bytes()));
  for (int i = 0; i < 64; ++i) tail[i] = static_cast<unsigned char>(i * 3 + 1);
  // Filling the whole tail must not clobber the neighbour.
  CHECK(b->tag == 22);
  CHECK(b->length == 64);
  CHECK(all_zero(b->bytes(), 64));
  MT_CHECK_SOUND(rt);
  bool found = false;
  rt.for_each_object([&](const marrow::ObjectInfo& info) {
    if (info.address == a.get()) {
      found = true;
      CHECK(info.size >= sizeof(Blob) + 64 + 8);
      CHECK(std::string(info.type_name) == "Blob");
    }
  });
  CHECK(found);
  for (auto kind : {GcKind::kMinor, GcKind::kMinor, GcKind::kMajor, GcKind::kCompact}) {
    rt.collect(kind);
    auto* t = reinterpret_cast<unsigned char*>(a.get()) + sizeof(Blob);
    for (int i = 0; i < 64; ++i) REQUIRE(t[i] == static_cast<unsigned char>(i * 3 + 1));
    CHECK(a->tag == 11);
    CHECK(b->tag == 22);
  }
}

TEST_CASE("make_sized with zero extra behaves like make") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  auto n = rt.make_sized<Node>(0, 5);
  rt.collect(GcKind::kMinor);
  CHECK(n->id == 5);
  CHECK(n->next.get() == nullptr);
  CHECK(n->value.get().is_nil());
}

TEST_CASE("on_gc: several listeners, event fields, removal") {
  marrow::Runtime rt(mt::config());
  std::vector<marrow::GcEvent> first, second;
  auto id1 = rt.on_gc([&](const marrow::GcEvent& e) { first.push_back(e); });
  auto id2 = rt.on_gc([&](const marrow::GcEvent& e) { second.push_back(e); });
  CHECK(id1 != id2);
  {
    marrow::HandleScope scope(rt);
    for (std::size_t i = 0; i < mt::scaled(5000, 500); ++i)
      rt.make<Node>(static_cast<std::int64_t>(i));
  }
  for (auto kind : {GcKind::kMinor, GcKind::kMajor, GcKind::kCompact}) {
    first.clear();
    second.clear();
    rt.collect(kind);
    REQUIRE(first.size() == 1);
    REQUIRE(second.size() == 1);
    const marrow::GcEvent& e = first[0];
    CHECK(e.kind == kind);
    CHECK(e.reason == marrow::GcReason::kRequested);
    CHECK(e.pause.count() >= 0);
    CHECK(e.pause <= rt.stats().max_pause);
    CHECK(e.pause == rt.stats().last_pause);
    CHECK(e.bytes_before > 0);
    CHECK(e.bytes_after > 0);
    CHECK(e.live_after <= e.live_before);
    CHECK(e.sequence == second[0].sequence);
    CHECK(e.sequence > 0);
  }
  // Garbage is gone after a collection: the in-use figure falls.
  {
    marrow::HandleScope scope(rt);
    for (std::size_t i = 0; i < mt::scaled(5000, 500); ++i) rt.make<Node>(1);
  }
  first.clear();
  rt.collect(GcKind::kMajor);
  // One event, a full major (an incremental cycle that was running is abandoned).
  REQUIRE(first.size() == 1);
  CHECK(first[0].kind == GcKind::kMajor);
  CHECK(first[0].incremental == false);
  if (!mt::stress()) CHECK(first[0].live_after < first[0].live_before);
  std::uint64_t last_seq = first.empty() ? 0 : first.back().sequence;
  CHECK(rt.remove_gc_listener(id1));
  CHECK_FALSE(rt.remove_gc_listener(id1));
  CHECK_FALSE(rt.remove_gc_listener(987654));
  first.clear();
  second.clear();
  rt.collect(GcKind::kMinor);
  CHECK(first.empty());
  REQUIRE(second.size() == 1);
  CHECK(second[0].sequence > last_seq);
  CHECK(rt.remove_gc_listener(id2));
  second.clear();
  rt.collect(GcKind::kMinor);
  CHECK(second.empty());
}

TEST_CASE("stats counters increase") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  marrow::HeapStats s0 = rt.stats();
  const std::size_t n = mt::scaled(10000, 800);
  auto head = rt.make<Node>(0);
  for (std::size_t i = 0; i < n; ++i) {
    marrow::HandleScope inner(rt);
    auto x = rt.make<Node>(static_cast<std::int64_t>(i));
    x->next = head->next;
    head->next = x;
  }
  marrow::HeapStats s1 = rt.stats();
  CHECK(s1.bytes_allocated >= s0.bytes_allocated + n * (sizeof(Node) + 8));
  rt.collect(GcKind::kMinor);
  marrow::HeapStats s2 = rt.stats();
  CHECK(s2.minor_collections == s1.minor_collections + 1);
  rt.collect(GcKind::kMinor);
  rt.collect(GcKind::kMajor);
  marrow::HeapStats s3 = rt.stats();
  CHECK(s3.major_collections == s2.major_collections + 1);
  // Every node reached old space, by promotion or (stress run) pretenured allocation.
  CHECK(s3.bytes_promoted + s3.bytes_pretenured >= n * (sizeof(Node) + 8));
  CHECK(s3.old_bytes >= n * (sizeof(Node) + 8));
  CHECK(s3.live_bytes >= s3.old_bytes);
  rt.collect(GcKind::kCompact);
  marrow::HeapStats s4 = rt.stats();
  CHECK(s4.compactions == s3.compactions + 1);
  CHECK(s4.major_collections == s3.major_collections + 1);
  CHECK(s4.total_pause >= s4.max_pause);
  CHECK(s4.max_pause >= s4.last_pause);
  CHECK(s4.total_pause > s1.total_pause);
  CHECK(s4.peak_heap_bytes >= s4.heap_bytes);
  CHECK(s4.heap_bytes > 0);
  std::size_t count = 0;
  for (Node* p = head->next.get(); p != nullptr; p = p->next.get()) ++count;
  CHECK(count == n);
}

TEST_CASE("for_each_object reports exactly the live objects with their type names") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  std::vector<marrow::Local<Node>> keep;
  for (int i = 0; i < 10; ++i) keep.push_back(rt.make<Node>(i));
  auto plain = rt.make<Plain>();
  auto blob = rt.make_sized<Blob>(30000, 30000u, 0u);  // large
  {
    marrow::HandleScope garbage(rt);
    for (int i = 0; i < 500; ++i) rt.make<Node>(-1);
    for (int i = 0; i < 5; ++i) rt.make_sized<Blob>(30000, 30000u, 0u);
  }
  std::map<std::string, int> counts;
  std::map<std::string, int> spaces;
  rt.for_each_object([&](const marrow::ObjectInfo& info) {
    counts[info.type_name]++;
    spaces[info.space]++;
    CHECK(info.size >= 16);
    CHECK(info.size % 8 == 0);
  });
  CHECK(counts["mt::Node"] == 10);
  CHECK(counts["Blob"] == 1);
  int plain_count = 0;
  for (auto& [name, c] : counts)
    if (name.find("Plain") != std::string::npos) plain_count += c;
  CHECK(plain_count == 1);
  CHECK(spaces["large"] == 1);
  for (auto& [space, c] : spaces) {
    CAPTURE(space);
    CHECK((space == "eden" || space == "survivor" || space == "old" || space == "large" ||
           space == "immortal"));
  }
  for (int i = 0; i < 10; ++i) CHECK(keep[static_cast<std::size_t>(i)]->id == i);
  (void)plain;
  (void)blob;
}
