// Local, HandleScope, EscapableHandleScope, Global and Weak.
#include "test_support.hpp"

using marrow::GcKind;
using mt::Node;

namespace {

marrow::Local<Node> make_escaped(marrow::Runtime& rt, std::int64_t id) {
  marrow::EscapableHandleScope scope(rt);
  auto garbage = rt.make<Node>(-1);
  auto n = rt.make<Node>(id);
  n->next = rt.make<Node>(id + 1);
  (void)garbage;
  return scope.escape(n);
}

}  // namespace

TEST_CASE("nested HandleScopes release their slots in bulk; outer handles stay valid") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope outer(rt);
  auto a = rt.make<Node>(1);
  marrow::Object** inner_slot = nullptr;
  {
    marrow::HandleScope inner(rt);
    auto b = rt.make<Node>(2);
    a->next = b;
    inner_slot = b.slot();
    CHECK(rt.owns_handle(inner_slot));
    {
      marrow::HandleScope innermost(rt);
      const int count = static_cast<int>(mt::scaled(3000, 1100));  // > one 1022-slot handle block
      for (int i = 0; i < count; ++i) rt.make<Node>(i);
      rt.collect(GcKind::kMinor);
      CHECK(b->id == 2);
    }
    CHECK(b->id == 2);
  }
  CHECK_FALSE(rt.owns_handle(inner_slot));
  CHECK(rt.owns_handle(a.slot()));
  rt.collect(GcKind::kMajor);
  CHECK(a->id == 1);
  CHECK(a->next->id == 2);
  MT_CHECK_SOUND(rt);
}

TEST_CASE("EscapableHandleScope hands one handle to the outer scope") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  auto n = make_escaped(rt, 10);
  rt.collect(GcKind::kMinor);
  rt.collect(GcKind::kCompact);
  REQUIRE(n);
  CHECK(n->id == 10);
  CHECK(n->next->id == 11);
  CHECK(rt.owns_handle(n.slot()));
}

TEST_CASE("escaping twice throws UsageError; an escapable scope needs an outer scope") {
  marrow::Runtime rt(mt::config());
  CHECK_THROWS_AS(marrow::EscapableHandleScope{rt}, marrow::UsageError);
  marrow::HandleScope scope(rt);
  marrow::Local<Node> first;
  {
    marrow::EscapableHandleScope esc(rt);
    auto n = rt.make<Node>(5);
    first = esc.escape(n);
    CHECK_THROWS_AS(esc.escape(n), marrow::UsageError);
  }
  rt.collect(GcKind::kMajor);
  CHECK(first->id == 5);
}

TEST_CASE("Local: default is empty, upcast, compare, cast and get") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  marrow::Local<Node> empty;
  CHECK_FALSE(empty);
  CHECK(empty.get() == nullptr);
  marrow::Local<Node> null_local = nullptr;
  CHECK_FALSE(null_local);
  auto a = rt.make<Node>(1);
  auto b = rt.make<Node>(2);
  marrow::Local<marrow::Object> up = a;
  CHECK(up);
  CHECK(up == a);
  CHECK(a == up);
  CHECK_FALSE(up == b);
  CHECK(up.get() == static_cast<marrow::Object*>(a.get()));
  marrow::Local<Node> down = up.cast<Node>();
  CHECK(down->id == 1);
  CHECK((*a).id == 1);
  Node* before = a.get();
  bool was_young = rt.heap_for_internal_use().is_young(before);
  rt.collect(GcKind::kMinor);
  if (was_young) CHECK(a.get() != before);  // moved out of the nursery, handle updated
  CHECK(up.get() == static_cast<marrow::Object*>(a.get()));
  CHECK(down->id == 1);
}

TEST_CASE("Global survives its scope, moves and resets") {
  marrow::Runtime rt(mt::config());
  marrow::Global<Node> g;
  CHECK_FALSE(g);
  marrow::Weak<Node> watch;
  {
    marrow::HandleScope scope(rt);
    auto n = rt.make<Node>(42);
    n->next = rt.make<Node>(43);
    g = marrow::Global<Node>(rt, n);
    watch = marrow::Weak<Node>(rt, n);
  }
  rt.collect(GcKind::kMinor);
  rt.collect(GcKind::kMajor);
  rt.collect(GcKind::kCompact);
  REQUIRE(g);
  CHECK(g->id == 42);
  CHECK(g->next->id == 43);
  CHECK(watch.get() == g.get());

  marrow::Global<Node> moved(std::move(g));
  CHECK_FALSE(g);
  CHECK(moved->id == 42);
  marrow::Global<Node> assigned;
  assigned = std::move(moved);
  CHECK_FALSE(moved);
  rt.collect(GcKind::kMajor);
  CHECK(assigned->id == 42);
  CHECK(watch.get() == assigned.get());

  assigned.reset();
  CHECK_FALSE(assigned);
  rt.collect(GcKind::kMajor);
  CHECK(watch.get() == nullptr);
  MT_CHECK_SOUND(rt);
}

TEST_CASE("Global from a raw pointer") {
  marrow::Runtime rt(mt::config());
  marrow::Global<Node> g;
  {
    marrow::HandleScope scope(rt);
    auto n = rt.make<Node>(9);
    g = marrow::Global<Node>(rt, n.get());
  }
  rt.collect(GcKind::kCompact);
  CHECK(g->id == 9);
}

TEST_CASE("Weak is cleared when a young object dies in a minor collection") {
  marrow::Runtime rt(mt::config());
  marrow::Weak<Node> dead, alive;
  marrow::Global<Node> keep;
  {
    marrow::HandleScope scope(rt);
    auto b = rt.make<Node>(2);
    auto a = mt::make_young<Node>(rt, 1);
    REQUIRE(rt.heap_for_internal_use().is_young(a.get()));
    dead = marrow::Weak<Node>(rt, a);
    alive = marrow::Weak<Node>(rt, b);
    keep = marrow::Global<Node>(rt, b);
    CHECK(dead.get() == a.get());
  }
  rt.collect(GcKind::kMinor);
  CHECK(dead.get() == nullptr);
  REQUIRE(alive.get() != nullptr);
  CHECK(alive.get() == keep.get());
  CHECK(alive.get()->id == 2);
}

TEST_CASE("Weak to an old object survives minors and is cleared by a major collection") {
  marrow::Runtime rt(mt::config());
  marrow::Weak<Node> watch;
  marrow::Global<Node> keep;
  {
    marrow::HandleScope scope(rt);
    auto a = rt.make<Node>(77);
    watch = marrow::Weak<Node>(rt, a);
    keep = marrow::Global<Node>(rt, a);
  }
  rt.collect(GcKind::kMajor);
  REQUIRE(watch.get() != nullptr);
  CHECK(mt::space_of(rt, watch.get()) == marrow::Space::kOld);
  keep.reset();
  rt.collect(GcKind::kMinor);  // a minor collection does not look at old objects
  REQUIRE(watch.get() != nullptr);
  CHECK(watch.get()->id == 77);
  rt.collect(GcKind::kMajor);
  CHECK(watch.get() == nullptr);
  watch.reset();
  CHECK(watch.get() == nullptr);
  MT_CHECK_SOUND(rt);
}

TEST_CASE("Weak follows a moved object") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  auto a = mt::make_young<Node>(rt, 5);
  marrow::Weak<Node> watch(rt, a);
  Node* before = a.get();
  REQUIRE(rt.heap_for_internal_use().is_young(before));
  rt.collect(GcKind::kMinor);
  CHECK(a.get() != before);
  CHECK(watch.get() == a.get());
  rt.collect(GcKind::kMinor);
  CHECK(watch.get() == a.get());
  rt.collect(GcKind::kCompact);
  CHECK(watch.get() == a.get());
  CHECK(watch.get()->id == 5);
  marrow::Weak<Node> moved(std::move(watch));
  CHECK(watch.get() == nullptr);
  CHECK(moved.get() == a.get());
}
