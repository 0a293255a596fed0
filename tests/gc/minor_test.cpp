// Tests gc/src/minor.cpp: ageing and promotion, survivor overflow, long-lived young
// structures, young cycles and garbage.
#include "test_support.hpp"

using marrow::GcKind;
using marrow::Value;
using mt::Node;
using Space = marrow::Space;

TEST_CASE("survivors age in the survivor space, then are promoted") {
  for (unsigned tenure : {1u, 2u, 3u}) {
    CAPTURE(tenure);
    marrow::Config cfg;
    cfg.tenure_age = tenure;
    marrow::Runtime rt(mt::config(cfg));
    marrow::HandleScope scope(rt);
    auto n = rt.make<Node>(1);
    CHECK(mt::space_of(rt, n.get()) == Space::kEden);
    for (unsigned i = 1; i <= tenure; ++i) {
      rt.collect(GcKind::kMinor);
      CHECK(mt::space_of(rt, n.get()) == Space::kSurvivor);
    }
    rt.collect(GcKind::kMinor);
    CHECK(mt::space_of(rt, n.get()) == Space::kOld);
    Node* old = n.get();
    rt.collect(GcKind::kMinor);
    CHECK(n.get() == old);  // old objects do not move in minor collections
    CHECK(n->id == 1);
  }
}

TEST_CASE("a long list kept by one Local survives hundreds of minor collections intact") {
  marrow::Config cfg;
  cfg.nursery_bytes = 256 << 10;
  marrow::Runtime rt(mt::config(cfg));
  marrow::HandleScope scope(rt);
  const std::int64_t n = static_cast<std::int64_t>(mt::scaled(20000, 400));
  const int collections = static_cast<int>(mt::scaled(300, 20));
  auto head = rt.make<Node>(-1);
  for (std::int64_t i = 0; i < n; ++i) {
    marrow::HandleScope inner(rt);
    auto x = rt.make<Node>(i);
    x->value = Value::number(static_cast<double>(i) * 0.5);
    x->next = head->next;
    head->next = x;
  }
  const auto before = rt.stats().minor_collections;
  for (int c = 0; c < collections; ++c) {
    {
      marrow::HandleScope garbage(rt);
      for (int g = 0; g < (mt::stress() ? 2 : 50); ++g) rt.make<Node>(-2);
    }
    rt.collect(GcKind::kMinor);
    if (c % 50 == 0 || c == collections - 1) {
      std::int64_t expect = n - 1, count = 0;
      for (Node* p = head->next.get(); p != nullptr; p = p->next.get(), --expect, ++count) {
        REQUIRE(p->id == expect);
        REQUIRE(p->value.get().as_number() == static_cast<double>(expect) * 0.5);
      }
      REQUIRE(count == n);
    }
  }
  CHECK(rt.stats().minor_collections >= before + static_cast<std::size_t>(collections));
  MT_CHECK_SOUND(rt);
}

TEST_CASE("bytes_promoted and bytes_survived grow") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  const std::size_t n = mt::scaled(2000, 200);
  auto table = rt.make_sized<mt::Table>(mt::table_extra(n), n);
  for (std::size_t i = 0; i < n; ++i) table->at(i) = rt.make<Node>(static_cast<std::int64_t>(i));
  auto s0 = rt.stats();
  rt.collect(GcKind::kMinor);
  rt.collect(GcKind::kMinor);
  rt.collect(GcKind::kMinor);
  auto s1 = rt.stats();
  if (!mt::stress()) CHECK(s1.bytes_survived > s0.bytes_survived);
  CHECK(s1.bytes_promoted >= s0.bytes_promoted + (mt::stress() ? 0 : n * (sizeof(Node) + 8)));
  for (std::size_t i = 0; i < n; ++i) {
    CHECK(mt::space_of(rt, table->at(i).get()) == Space::kOld);
    REQUIRE(table->at(i)->id == static_cast<std::int64_t>(i));
  }
}

TEST_CASE("survivor overflow promotes early without losing objects") {
  marrow::Config cfg;
  cfg.nursery_bytes = 1 << 20;
  cfg.survivor_bytes = 16 << 10;
  cfg.tenure_age = 5;
  marrow::Runtime rt(mt::config(cfg));
  marrow::HandleScope scope(rt);
  const std::size_t n = mt::scaled(8000, 500);  // 8000 * 48 B: far more than a survivor space
  auto table = rt.make_sized<mt::Table>(mt::table_extra(n), n);
  for (std::size_t i = 0; i < n; ++i) {
    auto x = rt.make<Node>(static_cast<std::int64_t>(i));
    x->value = Value::number(static_cast<double>(i));
    table->at(i) = x;
  }
  for (int c = 0; c < 3; ++c) {
    rt.collect(GcKind::kMinor);
    std::size_t old = 0;
    for (std::size_t i = 0; i < n; ++i) {
      REQUIRE(table->at(i)->id == static_cast<std::int64_t>(i));
      REQUIRE(table->at(i)->value.get().as_number() == static_cast<double>(i));
      old += mt::space_of(rt, table->at(i).get()) == Space::kOld;
    }
    if (!mt::stress() && c == 0) CHECK(old > 0);
  }
  MT_CHECK_SOUND(rt);
}

TEST_CASE("young cycles and young garbage referencing survivors") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  auto a = rt.make<Node>(1);
  auto b = rt.make<Node>(2);
  a->next = b;
  b->next = a;                        // cycle
  a->value = Value::object(a.get());  // self reference
  marrow::Weak<Node> garbage_watch;
  {
    marrow::HandleScope inner(rt);
    auto g = rt.make<Node>(3);
    g->next = a;  // garbage pointing into the live structure
    garbage_watch = marrow::Weak<Node>(rt, g);
  }
  rt.collect(GcKind::kMinor);
  CHECK(garbage_watch.get() == nullptr);
  CHECK(a->next.get() == b.get());
  CHECK(b->next.get() == a.get());
  CHECK(a->value.get().as_object() == a.get());
  rt.collect(GcKind::kMinor);
  CHECK(a->next->next.get() == a.get());
  MT_CHECK_SOUND(rt);
}
