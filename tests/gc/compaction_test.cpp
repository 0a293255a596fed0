// Tests gc/src/compaction.cpp: pinned objects stay, others move, values survive, memory is
// returned.
#include <vector>

#include "test_support.hpp"

using marrow::GcKind;
using marrow::Value;
using mt::Node;
using Space = marrow::Space;

namespace {

/// n nodes in a Table, promoted to old space; node i has id i, value i*1.5 and `other`
/// pointing at node (i+1)%n.
marrow::Local<mt::Table> build(marrow::Runtime& rt, std::size_t n, std::size_t extra = 0) {
  auto table = rt.make_sized<mt::Table>(mt::table_extra(n), n);
  for (std::size_t i = 0; i < n; ++i) {
    marrow::HandleScope inner(rt);
    auto x = rt.make_sized<Node>(extra, static_cast<std::int64_t>(i));
    x->value = Value::number(static_cast<double>(i) * 1.5);
    table->at(i) = x;
  }
  for (std::size_t i = 0; i < n; ++i) table->at(i)->other = table->at((i + 1) % n);
  rt.collect(GcKind::kMajor);
  return table;
}

void check_survivors(mt::Table* table, std::size_t n, std::size_t step) {
  for (std::size_t i = 0; i < n; ++i) {
    Node* x = table->at(i).get();
    if (i % step != 0) {
      REQUIRE(x == nullptr);
      continue;
    }
    REQUIRE(x != nullptr);
    REQUIRE(x->id == static_cast<std::int64_t>(i));
    REQUIRE(x->value.get().as_number() == static_cast<double>(i) * 1.5);
    REQUIRE(x->other.get() != nullptr);
    REQUIRE(x->other->id == static_cast<std::int64_t>((i + 1) % n));
  }
}

}  // namespace

TEST_CASE("pinned objects do not move across compaction while others do") {
  marrow::Config cfg;
  cfg.page_reserve = 0;
  marrow::Runtime rt(mt::config(cfg));
  marrow::HandleScope scope(rt);
  const std::size_t n = mt::scaled(20000, 1500);
  auto table = build(rt, n, mt::stress() ? 1024 : 64);  // several pages either way
  std::vector<marrow::Local<Node>> pinned;
  std::vector<Node*> pinned_at;
  for (std::size_t i = n / 2; i < n; i += 200) {
    auto l = marrow::Local<Node>(rt.make<Node>(0));  // a handle slot, then point it at the node
    *l.slot() = table->at(i).get();
    pinned.push_back(l);
  }
  for (auto& l : pinned) pinned_at.push_back(rt.pin(l));  // old already: no collection
  // Free every other object to fragment old space (no allocation from here on).
  for (std::size_t i = 1; i < n; i += 2) table->at(i) = nullptr;
  for (std::size_t i = 0; i < n; i += 2) table->at(i)->other = nullptr;
  std::vector<Node*> before(n);
  for (std::size_t i = 0; i < n; i += 2) before[i] = table->at(i).get();
  const auto moved0 = rt.stats().bytes_moved;
  rt.collect(GcKind::kCompact);
  std::size_t moved = 0;
  for (std::size_t i = 0; i < n; i += 2) {
    REQUIRE(table->at(i)->id == static_cast<std::int64_t>(i));
    moved += table->at(i).get() != before[i];
  }
  for (std::size_t k = 0; k < pinned.size(); ++k) {
    CHECK(pinned[k].get() == pinned_at[k]);
    CHECK(table->at(n / 2 + k * 200).get() == pinned_at[k]);
  }
  CHECK(moved > 0);
  CHECK(rt.stats().bytes_moved > moved0);
  for (auto* p : pinned_at) rt.unpin(p);
  rt.collect(GcKind::kCompact);
  for (std::size_t i = 0; i < n; i += 2) REQUIRE(table->at(i)->id == static_cast<std::int64_t>(i));
  MT_CHECK_SOUND(rt);
}

TEST_CASE("compaction preserves values, references and trailing bytes") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  const std::size_t n = mt::scaled(6000, 600);
  auto table = build(rt, n, 24);
  for (std::size_t i = 0; i < n; ++i) {
    auto* tail = reinterpret_cast<unsigned char*>(table->at(i).get()) + sizeof(Node);
    for (int b = 0; b < 24; ++b)
      tail[b] = static_cast<unsigned char>(i + static_cast<std::size_t>(b));
  }
  for (std::size_t i = 0; i < n; ++i)
    if (i % 3 != 0) table->at(i) = nullptr;
  // The survivors point at dead ones through `other`: rewire to survivors only.
  for (std::size_t i = 0; i < n; i += 3)
    table->at(i)->other = table->at((i + 3) % n == 0 ? 0 : (i + 3) % n);
  for (int round = 0; round < 2; ++round) {
    rt.collect(GcKind::kCompact);
    for (std::size_t i = 0; i < n; ++i) {
      Node* x = table->at(i).get();
      if (i % 3 != 0) {
        REQUIRE(x == nullptr);
        continue;
      }
      REQUIRE(x->id == static_cast<std::int64_t>(i));
      REQUIRE(x->value.get().as_number() == static_cast<double>(i) * 1.5);
      std::size_t next = (i + 3) % n == 0 ? 0 : (i + 3) % n;
      if (next % 3 == 0) REQUIRE(x->other->id == static_cast<std::int64_t>(next));
      auto* tail = reinterpret_cast<unsigned char*>(x) + sizeof(Node);
      for (int b = 0; b < 24; ++b)
        REQUIRE(tail[b] == static_cast<unsigned char>(i + static_cast<std::size_t>(b)));
    }
  }
  MT_CHECK_SOUND(rt);
}

TEST_CASE("freeing half the objects and compacting lowers heap_bytes and returns pages") {
  marrow::Config cfg;
  cfg.page_reserve = 0;
  marrow::Runtime rt(mt::config(cfg));
  marrow::HandleScope scope(rt);
  // (Tables stay below one 256 KiB page: see the report on large multi-page objects.)
  const std::size_t n = mt::scaled(25000, 1500);
  const std::size_t extra = mt::stress() ? 1024 : 400;
  auto table = build(rt, n, extra);
  for (std::size_t i = 0; i < n; ++i) table->at(i)->other = nullptr;
  rt.collect(GcKind::kMajor);
  auto s1 = rt.stats();
  for (std::size_t i = 0; i < n; i += 2) table->at(i) = nullptr;  // every other one
  rt.collect(GcKind::kCompact);
  auto s2 = rt.stats();
  const std::size_t freed = (n / 2) * (extra + sizeof(Node));
  CHECK(s2.old_bytes + freed <= s1.old_bytes + 64);
  CHECK(s2.heap_bytes + freed / 2 < s1.heap_bytes);
  CHECK(s2.pages_returned > s1.pages_returned);
  for (std::size_t i = 1; i < n; i += 2) REQUIRE(table->at(i)->id == static_cast<std::int64_t>(i));
  MT_CHECK_SOUND(rt);
}

TEST_CASE("old-to-young references are kept across compaction") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  const std::size_t n = mt::scaled(3000, 300);
  auto table = build(rt, n);
  for (std::size_t i = 0; i < n; i += 2) table->at(i) = nullptr;
  {
    marrow::HandleScope inner(rt);
    for (std::size_t i = 1; i < n; i += 2)
      table->at(i)->other = rt.make<Node>(-static_cast<std::int64_t>(i));
  }
  rt.collect(GcKind::kCompact);
  rt.collect(GcKind::kMinor);
  for (std::size_t i = 1; i < n; i += 2) {
    REQUIRE(table->at(i)->id == static_cast<std::int64_t>(i));
    REQUIRE(table->at(i)->other->id == -static_cast<std::int64_t>(i));
  }
  MT_CHECK_SOUND(rt);
  (void)check_survivors;
}
