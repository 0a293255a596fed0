// Every documented usage rule holds or fails with a message naming it: the holes an outside
// tester found (pins and immortal objects in constructors, allocation in trace, callbacks
// that re-enter the runtime, walks that allocate, handles of closed scopes and other
// runtimes, finalizer semantics) and their neighbours.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "test_support.hpp"

using marrow::GcKind;
using mt::Node;

namespace {

bool contains(const std::string& text, const char* part) {
  return text.find(part) != std::string::npos;
}

template <class Fn>
std::string usage_error_of(Fn&& fn) {
  try {
    fn();
  } catch (const marrow::UsageError& e) {
    return e.what();
  }
  return "(no UsageError)";
}

marrow::Runtime* g_rt = nullptr;
std::string g_error;

/// Pins another object from its constructor (the tester's case: a young object, so the pin
/// would run a minor collection while `this` is not rooted yet).
struct PinningCtor : marrow::Object {
  std::int64_t value = 7;
  explicit PinningCtor(const marrow::Local<Node>& other) {
    g_error = usage_error_of([&] { g_rt->pin(other); });
  }
};

struct ImmortalCtor : marrow::Object {
  std::int64_t value = 7;
  ImmortalCtor() {
    g_error = usage_error_of([] { g_rt->make_immortal<Node>(1); });
  }
};

struct CollectingCtor : marrow::Object {
  CollectingCtor() {
    g_error = usage_error_of([] { g_rt->collect(GcKind::kMajor); });
  }
};

struct WalkingCtor : marrow::Object {
  WalkingCtor() {
    g_error = usage_error_of([] { g_rt->for_each_object([](const marrow::ObjectInfo&) {}); });
  }
};

/// Allocates from trace(): a rule only a check can report (a collection cannot be abandoned).
struct AllocatingTrace : marrow::Object {
  marrow::Member<Node> ref;
  void trace(marrow::Tracer& t) {
    g_rt->make<Node>(1);  // the fast path would have room: the buffer is closed during GCs
    t.visit(ref);
  }
};

}  // namespace

TEST_CASE("pin of an empty Local throws UsageError instead of crashing") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  std::string e = usage_error_of([&] { rt.pin(marrow::Local<Node>()); });
  CHECK(contains(e, "pin needs an object"));
  mt::check_usable(rt);
}

TEST_CASE("pin inside a managed constructor is refused and the new object stays intact") {
  marrow::Runtime rt(mt::config());
  g_rt = &rt;
  marrow::HandleScope scope(rt);
  auto other = rt.make<Node>(5);
  auto p = rt.make<PinningCtor>(other);
  CHECK(contains(g_error, "pin inside a managed constructor"));
  rt.collect(GcKind::kMinor);
  rt.collect(GcKind::kCompact);
  CHECK(p->value == 7);
  CHECK(other->id == 5);
  mt::check_usable(rt);
}

TEST_CASE("make_immortal, collect and for_each_object inside a constructor are refused") {
  marrow::Config cfg;
  cfg.heap_limit_bytes = 4 << 20;
  marrow::Runtime rt(mt::config(cfg));
  g_rt = &rt;
  marrow::HandleScope scope(rt);
  auto i = rt.make<ImmortalCtor>();
  CHECK(contains(g_error, "make_immortal inside a managed constructor"));
  CHECK(i->value == 7);
  rt.make<CollectingCtor>();
  CHECK(contains(g_error, "collect() inside a managed constructor"));
  rt.make<WalkingCtor>();
  CHECK(contains(g_error, "for_each_object inside a managed constructor"));
  mt::check_usable(rt);
}

TEST_CASE("allocating inside trace() fails a check even when the fast path has room") {
  CHECK(mt::dies_with_check(
      [] {
        marrow::Config cfg;
        cfg.stress_interval = 0;  // the inline fast path, not the stress slow path
        marrow::Runtime rt(cfg);
        g_rt = &rt;
        marrow::HandleScope scope(rt);
        [[maybe_unused]] auto holder = rt.make<AllocatingTrace>();
        rt.collect(GcKind::kMinor);  // traces holder: allocates mid-collection
      },
      "no allocation or collection during a collection"));
}

/// Slots per table: bigger tables in the stress run, so it reaches the limit in fewer
/// (verified) allocations.
std::size_t table_slots() { return mt::scaled(64, 1000); }

TEST_CASE("a near-limit callback that replaces itself runs to completion") {
  marrow::Config cfg;
  cfg.heap_limit_bytes = mt::scaled(4 << 20, 1 << 20);
  marrow::Runtime rt(mt::config(cfg));
  int first = 0, second = 0;
  std::function<std::size_t(std::size_t, std::size_t)> replacement =
      [&](std::size_t, std::size_t) -> std::size_t {
    ++second;
    return 0;
  };
  rt.set_near_heap_limit_callback([&](std::size_t limit, std::size_t) -> std::size_t {
    rt.set_near_heap_limit_callback(replacement);  // destroys the running function's original
    std::vector<int> touch_captures(64, first);    // uses this lambda's captures after it
    ++first;
    return limit + limit;
  });
  marrow::HandleScope scope(rt);
  auto head = rt.make<Node>(0);
  bool threw = false;
  try {
    for (int i = 0; i < 1 << 22; ++i) {
      marrow::HandleScope inner(rt);
      auto n = rt.make_sized<mt::Table>(mt::table_extra(table_slots()), table_slots());
      auto link = rt.make<Node>(i);
      link->value = marrow::Value::object(n.get());
      link->next = head->next;
      head->next = link;
    }
  } catch (const marrow::OutOfMemory&) {
    threw = true;
  }
  CHECK(threw);
  CHECK(first == 1);
  CHECK(second == 1);
  head->next = nullptr;
  mt::check_usable(rt);
}

TEST_CASE("the near-limit callback may not allocate or collect") {
  marrow::Config cfg;
  cfg.heap_limit_bytes = 2 << 20;
  marrow::Runtime rt(mt::config(cfg));
  std::string inside;
  rt.set_near_heap_limit_callback([&](std::size_t, std::size_t) -> std::size_t {
    inside = usage_error_of([&] { rt.make<Node>(1); });
    return 0;
  });
  marrow::HandleScope scope(rt);
  auto head = rt.make<Node>(0);
  CHECK_THROWS_AS(
      [&] {
        for (int i = 0;; ++i) {
          marrow::HandleScope inner(rt);
          auto link = rt.make<Node>(i);
          link->value = marrow::Value::object(
              rt.make_sized<mt::Table>(mt::table_extra(table_slots()), table_slots()).get());
          link->next = head->next;
          head->next = link;
        }
      }(),
      marrow::OutOfMemory);
  CHECK(contains(inside, "inside the near-heap-limit callback"));
  head->next = nullptr;
  mt::check_usable(rt);
}

namespace {
int g_walk_finalized = 0;
struct WalkFinalizable : marrow::Object {
  static constexpr const char* kTypeName = "WalkFinalizable";
  void finalize() { ++g_walk_finalized; }
};
}  // namespace

TEST_CASE("for_each_object reports only live objects and refuses a callback that allocates") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  auto kept = rt.make<Node>(1);
  g_walk_finalized = 0;
  {
    marrow::HandleScope inner(rt);
    for (int i = 0; i < 10; ++i) rt.make<WalkFinalizable>();  // dead at once
  }
  int finalizable_seen = 0, nodes = 0;
  rt.for_each_object([&](const marrow::ObjectInfo& o) {
    finalizable_seen += std::string(o.type_name) == "WalkFinalizable";
    nodes += std::string(o.type_name) == "mt::Node";
  });
  CHECK(g_walk_finalized == 10);  // their finalizers ran (by the walk's collection at latest)
  CHECK(finalizable_seen == 0);   // ...and the walk does not report them as live
  CHECK(nodes >= 1);

  std::size_t collections = rt.stats().minor_collections + rt.stats().major_collections;
  std::string e = "(not called)";
  int calls = 0;
  rt.for_each_object([&](const marrow::ObjectInfo&) {
    if (calls++ == 0) e = usage_error_of([&] { rt.make<Node>(2); });
  });
  CHECK(contains(e, "allocating inside a for_each_object callback"));
  std::string c = usage_error_of(
      [&] { rt.for_each_object([&](const marrow::ObjectInfo&) { rt.collect(GcKind::kMinor); }); });
  CHECK(contains(c, "collect() inside a for_each_object callback"));
  // Two walks ran (each may collect twice), and nothing else collected.
  std::size_t after = rt.stats().minor_collections + rt.stats().major_collections;
  CHECK(after - collections <= 4);
  CHECK(kept->id == 1);
  mt::check_usable(rt);
}

TEST_CASE("Global of another runtime's pointer and a null root source throw UsageError") {
  marrow::Runtime a(mt::config());
  marrow::Runtime b(mt::config());
  marrow::HandleScope sa(a);
  auto in_a = a.make<Node>(1);
  {
    marrow::HandleScope sb(b);
    std::string e = usage_error_of([&] { marrow::Global<Node> g(b, in_a.get()); });
    CHECK(contains(e, "does not belong to this runtime"));
    std::string l = usage_error_of([&] { b.local(in_a.get()); });
    CHECK(contains(l, "does not belong to this runtime"));
  }
  std::string r = usage_error_of([&] { a.add_root_source(nullptr); });
  CHECK(contains(r, "add_root_source needs a RootSource"));
  mt::check_usable(a);
  mt::check_usable(b);
}

#if MARROW_DCHECK_IS_ON
TEST_CASE("a Global reset after its Runtime is gone fails a check (debug and sanitizer builds)") {
  CHECK(mt::dies_with_check(
      [] {
        marrow::Global<Node> g;
        {
          marrow::Runtime rt;
          marrow::HandleScope scope(rt);
          g = marrow::Global<Node>(rt, rt.make<Node>(1));
        }
        g.reset();
      },
      "reset or destroyed after its Runtime"));
}
#endif

namespace {
struct FinalizeProbe : marrow::Object {
  static constexpr const char* kTypeName = "FinalizeProbe";
  marrow::Member<Node> ref;
  marrow::Member<marrow::Value> object_value;
  marrow::Member<marrow::Value> number_value;
  void trace(marrow::Tracer& t) {
    t.visit(ref);
    t.visit(object_value);
    t.visit(number_value);
  }
  void finalize();
};
struct ProbeLog {
  int runs = 0;
  bool ref_null = false, object_nil = false, number_kept = false;
};
ProbeLog g_probe;
marrow::Global<FinalizeProbe>* g_resurrect = nullptr;
void FinalizeProbe::finalize() {
  ++g_probe.runs;
  g_probe.ref_null = ref.get() == nullptr;
  g_probe.object_nil = object_value.get().is_nil();
  g_probe.number_kept = number_value.get().is_number() && number_value.get().as_number() == 2.5;
  if (g_resurrect != nullptr) *g_resurrect = marrow::Global<FinalizeProbe>(*g_rt, this);
}

void make_probe(marrow::Runtime& rt) {
  marrow::HandleScope scope(rt);
  auto p = rt.make<FinalizeProbe>();
  auto n = rt.make<Node>(3);
  p->ref = n;
  p->object_value = marrow::Value::object(n.get());
  p->number_value = marrow::Value::number(2.5);
}
}  // namespace

TEST_CASE("inside finalize references read null or nil and numbers keep their values") {
  marrow::Runtime rt(mt::config());
  g_rt = &rt;
  g_resurrect = nullptr;
  g_probe = {};
  make_probe(rt);
  rt.collect(GcKind::kMajor);
  CHECK(g_probe.runs == 1);
  CHECK(g_probe.ref_null);
  CHECK(g_probe.object_nil);
  CHECK(g_probe.number_kept);
}

TEST_CASE("finalizers run by ~Runtime see the same: references null") {
  g_probe = {};
  g_resurrect = nullptr;
  {
    marrow::Runtime rt(mt::config(marrow::Config{}));
    g_rt = &rt;
    make_probe(rt);
    marrow::HandleScope scope(rt);
    auto keep = rt.make<FinalizeProbe>();  // alive at destruction
    keep->ref = rt.make<Node>(4);
    keep->number_value = marrow::Value::number(2.5);
    marrow::Global<FinalizeProbe> root(rt, keep);
    root.reset();
  }
  CHECK(g_probe.runs >= 1);
  CHECK(g_probe.ref_null);
  CHECK(g_probe.number_kept);
}

TEST_CASE("a finalizer that makes a Global to its object resurrects it; finalize runs once") {
  marrow::Runtime rt(mt::config());
  g_rt = &rt;
  g_probe = {};
  marrow::Global<FinalizeProbe> resurrected;
  g_resurrect = &resurrected;
  make_probe(rt);
  rt.collect(GcKind::kMajor);
  g_resurrect = nullptr;
  REQUIRE(g_probe.runs == 1);
  REQUIRE(resurrected);
  rt.collect(GcKind::kCompact);
  rt.collect(GcKind::kMajor);
  CHECK(resurrected->number_value.get().as_number() == 2.5);
  CHECK(resurrected->ref.get() == nullptr);
  resurrected.reset();
  rt.collect(GcKind::kMajor);
  CHECK(g_probe.runs == 1);  // not again, although it died a second time
  MT_CHECK_SOUND(rt);
}

TEST_CASE("error messages name their own cause") {
  marrow::Runtime rt(mt::config());
  marrow::Runtime other(mt::config());
  marrow::HandleScope scope(rt);
  marrow::Local<Node> stale;
  {
    marrow::HandleScope inner(rt);
    stale = rt.make<Node>(1);
  }
  std::string closed = usage_error_of([&] { marrow::Global<Node> g(rt, stale); });
  CHECK(contains(closed, "HandleScope is closed"));

  auto mine = rt.make<Node>(2);
  std::string foreign;
  {
    marrow::HandleScope so(other);
    foreign = usage_error_of([&] { other.unpin(mine.get()); });
  }
  CHECK(contains(foreign, "does not belong to this runtime"));
  std::string not_pinned = usage_error_of([&] { rt.unpin(mine.get()); });
  CHECK(contains(not_pinned, "not pinned"));

  marrow::Config huge;
  huge.nursery_bytes = std::size_t{4} << 30;
  try {
    marrow::Runtime too_big(huge);
    FAIL("a 4 GiB nursery was accepted");
  } catch (const marrow::ConfigError& e) {
    CHECK(contains(e.what(), "nursery_bytes"));
  }
}

TEST_CASE("one runtime too many is an OutOfMemory that says so") {
  marrow::Config small;
  small.nursery_bytes = 64 << 10;
  std::vector<std::unique_ptr<marrow::Runtime>> runtimes;
  std::string message;
  try {
    for (int i = 0; i < 200; ++i) runtimes.push_back(std::make_unique<marrow::Runtime>(small));
  } catch (const marrow::OutOfMemory& e) {
    message = e.what();
  }
  CHECK(contains(message, "too many runtimes"));
  CHECK(runtimes.size() == marrow::internal::young_slot_count());  // every slot, no more
  runtimes.clear();
  marrow::Runtime again(small);  // slots are given back
  mt::check_usable(again);
}

TEST_CASE("rt.local turns a Member, a Global or a raw pointer into a Local") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  auto parent = rt.make<Node>(1);
  parent->next = rt.make<Node>(2);
  marrow::Local<Node> child = rt.local(parent->next.get());
  REQUIRE(child);
  CHECK(child->id == 2);
  marrow::Weak<Node> watch(rt, child);
  Node* pinned = rt.pin(rt.local(parent->next.get()));
  rt.collect(GcKind::kCompact);
  CHECK(parent->next.get() == pinned);  // pinned: did not move
  CHECK(watch.get() == pinned);
  rt.unpin(pinned);
  marrow::Global<Node> g(rt, parent);
  marrow::Local<Node> back = rt.local(g);
  CHECK(back.get() == parent.get());
  CHECK_FALSE(rt.local(static_cast<Node*>(nullptr)));
  MT_CHECK_SOUND(rt);
}
