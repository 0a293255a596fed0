// Tests gc/src/remembered_set.cpp and the inline barrier (internal/barrier.hpp): old-to-young
// stores through Member survive minors; the verifier catches stores that bypass the barrier.
#include <string>

#include "test_support.hpp"

using marrow::GcKind;
using marrow::Value;
using mt::Node;
using Space = marrow::Space;

namespace {

/// A node promoted to old space and held by a Global.
marrow::Global<Node> make_old(marrow::Runtime& rt, std::int64_t id) {
  marrow::HandleScope scope(rt);
  auto n = rt.make<Node>(id);
  marrow::Global<Node> g(rt, n);
  rt.collect(GcKind::kMajor);
  REQUIRE(mt::space_of(rt, g.get()) == Space::kOld);
  return g;
}

}  // namespace

TEST_CASE("an old object keeps a young one alive through a Member store") {
  marrow::Runtime rt(mt::config());
  auto holder = make_old(rt, 1);
  {
    marrow::HandleScope scope(rt);
    auto child = rt.make<Node>(3);
    auto young = mt::make_young<Node>(rt, 2);
    young->next = child;
    REQUIRE(rt.heap_for_internal_use().is_young(young.get()));
    holder->next = young;
  }
  marrow::Weak<Node> watch;
  for (int i = 0; i < 6; ++i) {
    rt.collect(GcKind::kMinor);
    REQUIRE(holder->next.get() != nullptr);
    CHECK(holder->next->id == 2);
    REQUIRE(holder->next->next.get() != nullptr);
    CHECK(holder->next->next->id == 3);
    MT_CHECK_SOUND(rt);
  }
  CHECK(mt::space_of(rt, holder->next.get()) == Space::kOld);
}

TEST_CASE("Member<Value> stores run the barrier too") {
  marrow::Runtime rt(mt::config());
  auto holder = make_old(rt, 1);
  {
    marrow::HandleScope scope(rt);
    auto young = rt.make<Node>(20);
    holder->value = Value::object(young.get());
  }
  for (int i = 0; i < 4; ++i) {
    rt.collect(GcKind::kMinor);
    REQUIRE(holder->value.get().is_object());
    CHECK(holder->value.get().as<Node>()->id == 20);
    MT_CHECK_SOUND(rt);
  }
  // Overwriting with a number drops the reference: the young object dies.
  marrow::Weak<Node> watch;
  {
    marrow::HandleScope scope(rt);
    auto young = rt.make<Node>(21);
    holder->value = Value::object(young.get());
    watch = marrow::Weak<Node>(rt, young);
  }
  holder->value = Value::number(1.0);
  rt.collect(GcKind::kMinor);
  CHECK(watch.get() == nullptr);
  CHECK(holder->value.get().as_number() == 1.0);
  MT_CHECK_SOUND(rt);
}

TEST_CASE("a pinned (promoted) holder remembers young references") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  auto holder = rt.make<Node>(1);
  Node* pinned = rt.pin(holder);
  CHECK(mt::space_of(rt, pinned) == Space::kOld);
  CHECK(holder.get() == pinned);
  {
    marrow::HandleScope inner(rt);
    holder->other = rt.make<Node>(5);
  }
  rt.collect(GcKind::kMinor);
  rt.collect(GcKind::kMinor);
  CHECK(holder.get() == pinned);
  CHECK(holder->other->id == 5);
  rt.unpin(pinned);
  MT_CHECK_SOUND(rt);
}

TEST_CASE("large and immortal holders remember young references") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  const std::size_t n = 4096;  // 32 KiB of slots: a large object
  auto table = rt.make_sized<mt::Table>(mt::table_extra(n), n);
  REQUIRE(mt::space_of(rt, table.get()) == Space::kLarge);
  Node* immortal = rt.make_immortal<Node>(99);
  CHECK(mt::space_of(rt, immortal) == Space::kImmortal);
  {
    marrow::HandleScope inner(rt);
    for (std::size_t i = 0; i < n; i += 512)
      table->at(i) = rt.make<Node>(static_cast<std::int64_t>(i));
    immortal->next = rt.make<Node>(100);
    immortal->value = Value::object(rt.make<Node>(101).get());
  }
  for (int round = 0; round < 3; ++round) {
    rt.collect(GcKind::kMinor);
    for (std::size_t i = 0; i < n; ++i) {
      if (i % 512 == 0) {
        REQUIRE(table->at(i).get() != nullptr);
        CHECK(table->at(i)->id == static_cast<std::int64_t>(i));
      } else {
        CHECK(table->at(i).get() == nullptr);
      }
    }
    CHECK(immortal->next->id == 100);
    CHECK(immortal->value.get().as<Node>()->id == 101);
  }
  rt.collect(GcKind::kCompact);
  CHECK(immortal->next->id == 100);
  CHECK(table->at(512)->id == 512);
  MT_CHECK_SOUND(rt);
}

TEST_CASE("the verifier catches a store that bypassed the barrier; a proper store repairs it") {
  marrow::Runtime rt(mt::config());
  auto holder = make_old(rt, 1);
  {
    marrow::HandleScope scope(rt);
    auto young = mt::make_young<Node>(rt, 2);
    REQUIRE(rt.heap_for_internal_use().is_young(young.get()));
    holder->next.store_without_barrier_for_testing(young.get());
    auto found = rt.find_heap_problems();
    REQUIRE_FALSE(found.empty());
    bool mentions = false;
    for (auto& p : found) mentions |= p.find("unremembered") != std::string::npos;
    CHECK(mentions);
    holder->next = young;  // the barrier remembers the slot now
    MT_CHECK_SOUND(rt);
  }
  {
    marrow::HandleScope scope(rt);
    auto young = mt::make_young<Node>(rt, 3);
    holder->value.store_without_barrier_for_testing(Value::object(young.get()));
    CHECK_FALSE(rt.find_heap_problems().empty());
    holder->value = Value::object(young.get());
    MT_CHECK_SOUND(rt);
  }
  rt.collect(GcKind::kMinor);
  CHECK(holder->next->id == 2);
  CHECK(holder->value.get().as<Node>()->id == 3);
  MT_CHECK_SOUND(rt);
}

TEST_CASE("many old objects each pointing at fresh young objects") {
  marrow::Runtime rt(mt::config());
  const std::size_t n = mt::scaled(3000, 300);
  marrow::HandleScope scope(rt);
  auto table = rt.make_sized<mt::Table>(mt::table_extra(n), n);
  for (std::size_t i = 0; i < n; ++i) table->at(i) = rt.make<Node>(static_cast<std::int64_t>(i));
  marrow::Global<mt::Table> keep(rt, table);
  rt.collect(GcKind::kMajor);  // everything old now
  for (int round = 0; round < 5; ++round) {
    for (std::size_t i = round % 2; i < n; i += 2) {
      marrow::HandleScope inner(rt);
      auto fresh =
          rt.make<Node>(static_cast<std::int64_t>(i * 10 + static_cast<std::size_t>(round)));
      table->at(i)->other = fresh;
    }
    rt.collect(GcKind::kMinor);
    for (std::size_t i = round % 2; i < n; i += 2) {
      REQUIRE(table->at(i)->other.get() != nullptr);
      REQUIRE(table->at(i)->other->id ==
              static_cast<std::int64_t>(i * 10 + static_cast<std::size_t>(round)));
      REQUIRE(table->at(i)->id == static_cast<std::int64_t>(i));
    }
  }
  MT_CHECK_SOUND(rt);
}

TEST_CASE("a slot deep inside a multi-page large object remembers a young reference") {
  // Regression: the barrier once looked for the page descriptor by masking the slot's
  // address, which lands inside the object for slots past its first 256 KiB.
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  const std::size_t n = 100000;  // 800 000 bytes of slots: a run of four pages
  auto table = rt.make_sized<mt::Table>(mt::table_extra(n), n);
  REQUIRE(mt::space_of(rt, table.get()) == Space::kLarge);
  {
    marrow::HandleScope inner(rt);
    table->at(0) = rt.make<Node>(1);
    table->at(n / 2) = rt.make<Node>(2);
    table->at(n - 1) = rt.make<Node>(3);
  }
  CHECK(rt.find_heap_problems().empty());
  rt.collect(GcKind::kMinor);
  CHECK(table->at(0)->id == 1);
  CHECK(table->at(n / 2)->id == 2);
  CHECK(table->at(n - 1)->id == 3);
  CHECK(mt::space_of(rt, table->at(n - 1).get()) != Space::kEden);
  rt.collect(GcKind::kCompact);
  CHECK(table->at(n - 1)->id == 3);
  CHECK(rt.find_heap_problems().empty());
}
