// Tests gc/src/roots.cpp: a RootSource's raw T* and Value slots are strong roots, updated
// when their objects move, and no longer scanned once removed; pinned objects are roots.
#include <vector>

#include "test_support.hpp"

using marrow::GcKind;
using marrow::Value;
using mt::Node;

namespace {

struct Roots : marrow::RootSource {
  Node* raw = nullptr;
  Value value;
  std::vector<Value> values;
  int traced = 0;
  void trace_roots(marrow::Tracer& t) override {
    ++traced;
    t.visit(raw);
    t.visit(value);
    for (auto& v : values) t.visit(v);
  }
};

}  // namespace

TEST_CASE("a RootSource's raw T* and Value slots are roots and are updated when objects move") {
  marrow::Runtime rt(mt::config());
  Roots roots;
  rt.add_root_source(&roots);
  marrow::Weak<Node> watch;
  {
    marrow::HandleScope scope(rt);
    auto a = rt.make<Node>(1);
    auto b = rt.make<Node>(2);
    auto c = rt.make<Node>(3);
    b->next = rt.make<Node>(4);
    roots.raw = a.get();
    watch = marrow::Weak<Node>(rt, a);
    roots.value = Value::object(b.get());
    roots.values = {Value::number(1.5), Value::object(c.get()), Value::nil(), Value::boolean(true)};
  }
  // Only the raw slots keep these alive now; no allocation happened since they were stored.
  Node* raw_before = roots.raw;
  bool was_young = rt.heap_for_internal_use().is_young(raw_before);
  rt.collect(GcKind::kMinor);
  CHECK(roots.traced > 0);
  if (was_young) CHECK(roots.raw != raw_before);
  for (auto kind : {GcKind::kMinor, GcKind::kMinor, GcKind::kMajor, GcKind::kCompact}) {
    rt.collect(kind);
    REQUIRE(roots.raw != nullptr);
    CHECK(roots.raw->id == 1);
    CHECK(roots.value.as<Node>()->id == 2);
    CHECK(roots.value.as<Node>()->next->id == 4);
    CHECK(roots.values[0].as_number() == 1.5);
    CHECK(roots.values[1].as<Node>()->id == 3);
    CHECK(roots.values[2].is_nil());
    CHECK(roots.values[3].as_bool());
    CHECK(rt.heap_for_internal_use().owns(roots.raw));
  }
  CHECK(watch.get() == roots.raw);
  rt.remove_root_source(&roots);
  int traced = roots.traced;
  rt.collect(GcKind::kMajor);
  CHECK(roots.traced == traced);
  CHECK(watch.get() == nullptr);
  MT_CHECK_SOUND(rt);
}

TEST_CASE("a pinned object is a root that never moves; once unpinned it can die") {
  marrow::Runtime rt(mt::config());
  Node* pinned = nullptr;
  marrow::Weak<Node> watch;
  {
    marrow::HandleScope scope(rt);
    auto n = rt.make<Node>(42);
    n->next = rt.make<Node>(43);
    pinned = rt.pin(n);  // promotes it: a pinned object is never young
    CHECK_FALSE(rt.heap_for_internal_use().is_young(pinned));
    watch = marrow::Weak<Node>(rt, n);
  }
  // No handle, Global or field refers to it now: only the pin keeps it.
  for (auto kind :
       {GcKind::kMinor, GcKind::kMajor, GcKind::kCompact, GcKind::kMinor, GcKind::kCompact}) {
    CAPTURE(static_cast<int>(kind));
    rt.collect(kind);
    REQUIRE(watch.get() == pinned);
    CHECK(pinned->id == 42);
    REQUIRE(pinned->next.get() != nullptr);
    CHECK(pinned->next->id == 43);
  }
  MT_CHECK_SOUND(rt);
  rt.unpin(pinned);
  rt.collect(GcKind::kMajor);
  CHECK(watch.get() == nullptr);
  MT_CHECK_SOUND(rt);
}
