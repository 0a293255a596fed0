// Tests gc/src/sweeping.cpp: dead old objects become free memory (old_bytes and live_bytes
// fall) and dead large objects are freed whole; live large objects never move.
#include "test_support.hpp"

using marrow::GcKind;
using mt::Node;
using Space = marrow::Space;

TEST_CASE("unreachable old objects are freed: old_bytes and live_bytes fall") {
  marrow::Runtime rt(mt::config());
  const std::size_t n = mt::scaled(20000, 1500);
  marrow::Global<Node> list;
  {
    marrow::HandleScope scope(rt);
    auto head = rt.make<Node>(-1);
    for (std::size_t i = 0; i < n; ++i) {
      marrow::HandleScope inner(rt);
      auto x = rt.make<Node>(static_cast<std::int64_t>(i));
      x->next = head->next;
      head->next = x;
    }
    list = marrow::Global<Node>(rt, head);
  }
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
