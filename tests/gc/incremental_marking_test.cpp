// Tests gc/src/incremental_marking.cpp, gc/src/marking_barrier.cpp, the pacing in
// gc/src/allocation.cpp and the remark in gc/src/major.cpp: the marking barrier (the
// overwritten and the stored value of a Member store, Weak::get), the remark's second look
// at the roots, objects created during a cycle (promoted, large, pretenured), the pace of
// steps, abandoning a cycle, mark stack overflow, the barrier's on/off state across
// runtimes, the statistics, events and log of a cycle, the Config ranges, and a randomized
// graph under incremental stress checked against a shadow model.
//
// Cycles are driven by hand through the internal Heap: kMarkStart opens one, kMarkStep
// takes one step (marking_rate x 256 KiB of objects: with a rate of 0.001 about 262 bytes,
// a handful of nodes, so a cycle stays open across mutator actions), and a kMajor with
// reason kHeapGrowth is the remark. In the stress runs (MARROW_STRESS_INTERVAL=1, and
// MARROW_STRESS_INCREMENTAL) every allocation collects and a stress major finishes a
// running cycle, so where a test allocates during a cycle it asserts what must hold
// either way.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <unistd.h>

#include "test_support.hpp"

using marrow::GcKind;
using marrow::GcReason;
using marrow::Value;
using mt::Node;
using Space = marrow::Space;

namespace {

namespace mi = marrow::internal;

/// Whether the heap's current (or last) marking marked `object` (an old or large one).
bool marked(const void* object) {
  auto* heap = static_cast<mi::Heap*>(mi::Page::of(object)->owner);
  return (*mi::header_of(object) & heap->mark_bit()) != 0;
}

/// Incremental marking on, with tiny steps (rate 0.001: about 262 bytes a step), and the
/// heap verified around every collection: the remark then checks the marking invariant
/// (no marked object points to an unmarked one) before it sweeps, and aborts if broken.
marrow::Config incremental_config(double rate = 0.001) {
  marrow::Config base;
  base.incremental_marking = true;
  base.marking_rate = rate;
  base.verify_heap = true;
  return mt::config(base);
}

void start_cycle(mi::Heap& heap) {
  heap.collect(GcKind::kMarkStart, GcReason::kHeapGrowth);
  REQUIRE(heap.marking_.active());
}

void step(mi::Heap& heap) { heap.collect(GcKind::kMarkStep, GcReason::kAllocation); }

/// Steps until `pred` holds; false when the cycle ended or did not get there.
template <class Pred>
bool step_until(mi::Heap& heap, Pred pred, int max_steps = 200000) {
  for (int i = 0; i < max_steps; ++i) {
    if (pred()) return true;
    if (!heap.marking_.active()) return false;
    step(heap);
  }
  return pred();
}

bool step_until_done(mi::Heap& heap) {
  return step_until(heap, [&] { return heap.marking_.done(); });
}

/// The cycle's end: a major collection for heap growth finishes it (the remark).
void remark(mi::Heap& heap) {
  REQUIRE(heap.marking_.active());
  heap.collect(GcKind::kMajor, GcReason::kHeapGrowth);
  CHECK(!heap.marking_.active());
}

/// A list of `length` nodes with ids first, first + 1, ...; returns its head.
marrow::Local<Node> make_list(marrow::Runtime& rt, std::int64_t first, std::size_t length) {
  marrow::EscapableHandleScope scope(rt);
  auto head = rt.make<Node>(first);
  auto tail = head;
  for (std::size_t i = 1; i < length; ++i) {
    auto n = rt.make<Node>(first + static_cast<std::int64_t>(i));
    tail->next = n;
    tail = n;
  }
  return scope.escape(head);
}

bool list_intact(const Node* n, std::int64_t first, std::size_t length) {
  for (std::size_t i = 0; i < length; ++i, n = n->next.get())
    if (n == nullptr || n->id != first + static_cast<std::int64_t>(i)) return false;
  return n == nullptr;
}

// ---- The move scenario: C's only reference moves behind the marker -------------------
//
// roots (a Global table) = [R1, A, R2]; R1 -> D1, R2 -> D2; A -> B1 -> ... -> Bk (next);
// Bk holds C (through `next`, through `value`, or through a slot deep in a multi-page large
// table hanging off Bk's `value`); C -> E. All old. The marker is stepped until one of
// R1, R2 was scanned (its D is marked) while C is not yet marked; then C is stored into
// that R's `other` and Bk's reference to it is overwritten.

constexpr std::int64_t kC = 7, kE = 8, kChainFirst = 1000;

enum class Holder { kNext, kValue, kDeepLargeSlot };

/// Slots of the large table: past the first 256 KiB page, so the slot the test overwrites
/// lies where no Page descriptor is (the barrier must find the run through the page table).
constexpr std::size_t kDeepSlots = 40000;
constexpr std::size_t kDeepIndex = kDeepSlots - 3;

struct MoveScene {
  marrow::Global<mt::Table> roots;
  std::size_t chain = 0;

  MoveScene(marrow::Runtime& rt, Holder holder, std::size_t chain_length) : chain(chain_length) {
    marrow::HandleScope scope(rt);
    auto table = rt.make_sized<mt::Table>(mt::table_extra(3), std::size_t{3});
    roots = marrow::Global<mt::Table>(rt, table);
    auto r1 = rt.make<Node>(1);
    roots->at(0) = r1;
    r1->next = rt.make<Node>(11);
    auto a = make_list(rt, kChainFirst, chain);
    roots->at(1) = a;
    auto r2 = rt.make<Node>(2);
    roots->at(2) = r2;
    r2->next = rt.make<Node>(22);
    auto c = rt.make<Node>(kC);
    c->next = rt.make<Node>(kE);
    c->value = Value::number(2.5);
    if (holder == Holder::kNext) {
      bk()->next = c;
    } else if (holder == Holder::kValue) {
      bk()->value = Value::object(c.get());
    } else {
      auto large = rt.make_sized<mt::Table>(mt::table_extra(kDeepSlots), kDeepSlots);
      CHECK(mt::space_of(rt, large.get()) == Space::kLarge);
      CHECK(mi::Page::of(&large->at(kDeepIndex)) != mi::Page::of(large.get()));
      large->at(kDeepIndex) = c;
      bk()->value = Value::object(large.get());
    }
    rt.collect(GcKind::kMajor);  // everything old
    CHECK(mt::space_of(rt, roots.get()) == Space::kOld);
    CHECK(mt::space_of(rt, c.get()) == Space::kOld);
    CHECK(mt::space_of(rt, bk()) == Space::kOld);
  }

  Node* r(int i) const { return roots->at(i == 1 ? 0 : 2).get(); }
  Node* bk() const {
    Node* n = roots->at(1).get();
    for (std::size_t i = 1; i < chain; ++i) n = n->next.get();
    return n;
  }
  mt::Table* large() const { return bk()->value.get().as<mt::Table>(); }
  Node* c(Holder holder) const {
    switch (holder) {
      case Holder::kNext:
        return bk()->next.get();
      case Holder::kValue: {
        Value v = bk()->value.get();
        return v.is_object() ? v.as<Node>() : nullptr;
      }
      case Holder::kDeepLargeSlot:
        return large()->at(kDeepIndex).get();
    }
    return nullptr;
  }
};

/// Runs the scenario; the stores that move C take the barrier as asked. Returns after the
/// remark and a full major, having checked the result.
void run_move(Holder holder, bool deletion_barrier, bool insertion_barrier) {
  marrow::Runtime rt(incremental_config());
  mi::Heap& heap = rt.heap_for_internal_use();
  const std::size_t chain = mt::scaled(300, 120);
  MoveScene scene(rt, holder, chain);
  REQUIRE(list_intact(scene.roots->at(1).get(), kChainFirst, chain) == (holder != Holder::kNext));

  start_cycle(heap);
  Node* c = scene.c(holder);
  REQUIRE(c != nullptr);
  REQUIRE(c->id == kC);
  Node* d1 = scene.r(1)->next.get();
  Node* d2 = scene.r(2)->next.get();
  // One of R1, R2 scanned (its only child marked), C not reached yet.
  REQUIRE(step_until(heap, [&] { return marked(d1) || marked(d2) || marked(c); }));
  REQUIRE(heap.marking_.active());
  REQUIRE_MESSAGE(!marked(c), "the marker reached C before either receiver: chain too short");
  Node* receiver = marked(d1) ? scene.r(1) : scene.r(2);
  REQUIRE(marked(receiver));

  // The move: C into the scanned receiver, then the only other reference to it cleared.
  if (insertion_barrier)
    receiver->other = c;
  else
    receiver->other.store_without_barrier_for_testing(c);
  switch (holder) {
    case Holder::kNext:
      if (deletion_barrier)
        scene.bk()->next = nullptr;
      else
        scene.bk()->next.store_without_barrier_for_testing(nullptr);
      break;
    case Holder::kValue:
      if (deletion_barrier)
        scene.bk()->value = Value::number(-1.0);
      else
        scene.bk()->value.store_without_barrier_for_testing(Value::number(-1.0));
      break;
    case Holder::kDeepLargeSlot:
      if (deletion_barrier)
        scene.large()->at(kDeepIndex) = nullptr;
      else
        scene.large()->at(kDeepIndex).store_without_barrier_for_testing(nullptr);
      break;
  }
  REQUIRE(step_until_done(heap));
  REQUIRE(heap.marking_.active());
  if (deletion_barrier || insertion_barrier) {
    // The barrier recorded C: it is marked (and scanned: E too) before the remark.
    CHECK(marked(c));
    CHECK(marked(c->next.get()));
  } else {
    // The premise of the other variants: with no barrier the marker misses C, which the
    // remark would then sweep while the receiver still points to it.
    CHECK(!marked(c));
    CHECK(!marked(c->next.get()));
    // Repair before the remark: a barriered store of the same value records C.
    receiver->other = c;
    CHECK(!heap.marking_.done());
  }
  const int which = receiver == scene.r(1) ? 1 : 2;
  remark(heap);
  for (int round = 0; round < 2; ++round) {
    CAPTURE(round);
    Node* got = scene.r(which)->other.get();
    REQUIRE(got != nullptr);
    CHECK(got->id == kC);
    CHECK(got->value.get().is_number());
    CHECK(got->value.get().as_number() == 2.5);
    REQUIRE(got->next.get() != nullptr);
    CHECK(got->next->id == kE);
    CHECK(scene.c(holder) == nullptr);
    CHECK(scene.r(1)->next->id == 11);
    CHECK(scene.r(2)->next->id == 22);
    MT_CHECK_SOUND(rt);
    rt.collect(GcKind::kMajor);  // a full marking agrees
  }
}

}  // namespace

TEST_CASE("incremental marking: an object moved behind the marker survives (Member<T> slot)") {
  SUBCASE("both barriers") { run_move(Holder::kNext, true, true); }
  SUBCASE("only the overwritten value recorded (deletion barrier)") {
    run_move(Holder::kNext, true, false);
  }
  SUBCASE("only the stored value recorded (insertion barrier)") {
    run_move(Holder::kNext, false, true);
  }
  SUBCASE("no barrier: the marker misses it (the premise)") {
    run_move(Holder::kNext, false, false);
  }
}

TEST_CASE("incremental marking: an object moved behind the marker survives (Member<Value> slot)") {
  SUBCASE("only the overwritten value recorded (deletion barrier)") {
    run_move(Holder::kValue, true, false);
  }
  SUBCASE("no barrier: the marker misses it (the premise)") {
    run_move(Holder::kValue, false, false);
  }
}

TEST_CASE(
    "incremental marking: the deletion barrier finds a slot deep inside a multi-page large "
    "object") {
  SUBCASE("deletion barrier") { run_move(Holder::kDeepLargeSlot, true, false); }
  SUBCASE("no barrier: the marker misses it (the premise)") {
    run_move(Holder::kDeepLargeSlot, false, false);
  }
}

TEST_CASE("incremental marking: an object read through a Weak during a cycle survives it") {
  marrow::Runtime rt(incremental_config());
  mi::Heap& heap = rt.heap_for_internal_use();
  marrow::Global<Node> root;
  marrow::Weak<Node> read, unread;
  {
    marrow::HandleScope scope(rt);
    root = marrow::Global<Node>(rt, rt.make<Node>(1));
    auto w = rt.make<Node>(20);
    w->next = rt.make<Node>(21);
    w->value = Value::number(4.5);
    auto x = rt.make<Node>(30);
    x->next = rt.make<Node>(31);
    read = marrow::Weak<Node>(rt, w);
    unread = marrow::Weak<Node>(rt, x);
    rt.collect(GcKind::kMajor);  // all old; w and x are kept by this scope only
    CHECK(mt::space_of(rt, w.get()) == Space::kOld);
    CHECK(mt::space_of(rt, x.get()) == Space::kOld);
  }
  // w and x are unreachable now, and still in the heap: the cycle starts without them.
  start_cycle(heap);
  REQUIRE(step_until_done(heap));  // the root is scanned, the marker has nothing left
  REQUIRE(heap.marking_.active());

  auto check_after = [&] {
    CHECK(!heap.marking_.active());
    Node* w = read.get();
    REQUIRE(w != nullptr);
    CHECK(w == root->next.get());
    CHECK(w->id == 20);
    REQUIRE(w->next.get() != nullptr);
    CHECK(w->next->id == 21);
    CHECK(w->value.get().as_number() == 4.5);
    // Not read during the cycle, unreachable when it started: the remark itself clears it.
    CHECK(unread.get() == nullptr);
    MT_CHECK_SOUND(rt);
    rt.collect(GcKind::kMajor);
    REQUIRE(read.get() != nullptr);
    CHECK(read.get()->id == 20);
    CHECK(read.get()->next->id == 21);
    CHECK(root->next.get() == read.get());
    MT_CHECK_SOUND(rt);
  };

  SUBCASE("stored into a scanned object through a Member") {
    Node* w = read.get();
    REQUIRE(w != nullptr);
    CHECK(!marked(w));
    CHECK(!heap.marking_.done());  // Weak::get recorded it
    root->next = w;
    remark(heap);
    check_after();
  }
  SUBCASE("stored without the barrier: Weak::get's record alone keeps it") {
    Node* w = read.get();
    REQUIRE(w != nullptr);
    CHECK(!heap.marking_.done());
    REQUIRE(step_until_done(heap));
    CHECK(marked(w));
    CHECK(marked(w->next.get()));
    root->next.store_without_barrier_for_testing(w);
    remark(heap);
    check_after();
  }
  SUBCASE("kept in a Local across the remark, stored after the cycle") {
    marrow::HandleScope scope(rt);
    auto local = rt.local(read.get());
    REQUIRE(local);
    remark(heap);
    root->next = local;
    check_after();
  }
}

TEST_CASE("incremental marking: a long array is marked a piece at a time, across steps") {
  // Rate 1/16: a step's budget is 16 KiB. The 800,000-byte table (100,000 slots, through
  // visit_range) would be scanned by one step without its pieces.
  marrow::Runtime rt(incremental_config(1.0 / 16));
  mi::Heap& heap = rt.heap_for_internal_use();
  marrow::HandleScope scope(rt);
  constexpr std::size_t kSlots = 100000;
  const std::size_t nodes = mt::scaled(20000, 400);
  const std::size_t stride = kSlots / nodes;
  auto table = rt.make_sized<mt::Table>(mt::table_extra(kSlots), kSlots);
  for (std::size_t j = 0; j < nodes; ++j) {
    marrow::HandleScope inner(rt);
    auto n = rt.make<Node>(static_cast<std::int64_t>(j));
    table->at(j * stride) = n;
  }
  rt.collect(GcKind::kMajor);  // everything old
  start_cycle(heap);
  std::size_t steps = 0, most = 0;
  auto id = rt.on_gc([&](const marrow::GcEvent& e) {
    if (e.kind != GcKind::kMarkStep) return;
    ++steps;
    most = std::max(most, e.marked_bytes);
  });
  REQUIRE(step_until_done(heap));
  rt.remove_gc_listener(id);
  CHECK(steps >= 20);
  CHECK(most < 200000);  // a quarter of the table (budget and piece: 32 KiB)
  remark(heap);
  std::size_t wrong = 0;
  for (std::size_t j = 0; j < nodes; ++j) {
    Node* n = table->at(j * stride).get();
    wrong += n == nullptr || n->id != static_cast<std::int64_t>(j) ? 1 : 0;
  }
  CHECK(wrong == 0);
  MT_CHECK_SOUND(rt);
}

namespace {
/// Roots in a std::vector: visit_range over slots outside any object is visited at once,
/// never kept for later (the vector reallocates between steps).
struct VectorRoots : marrow::RootSource {
  std::vector<Value> values;
  void trace_roots(marrow::Tracer& t) override { t.visit_range(values.data(), values.size()); }
};
}  // namespace

TEST_CASE("incremental marking: visit_range over root slots is visited at once") {
  marrow::Runtime rt(incremental_config());
  mi::Heap& heap = rt.heap_for_internal_use();
  VectorRoots roots;
  rt.add_root_source(&roots);
  const std::size_t n = mt::scaled(3000, 1100);  // past Tracer's split length (1024)
  {
    marrow::HandleScope scope(rt);
    for (std::size_t i = 0; i < n; ++i) {
      marrow::HandleScope inner(rt);
      roots.values.push_back(Value::object(rt.make<Node>(static_cast<std::int64_t>(i)).get()));
    }
  }
  rt.collect(GcKind::kMajor);
  start_cycle(heap);
  step(heap);
  roots.values.shrink_to_fit();
  roots.values.reserve(roots.values.size() * 4);  // the old buffer is freed
  REQUIRE(step_until_done(heap));
  remark(heap);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < n; ++i)
    wrong += roots.values[i].as<Node>()->id != static_cast<std::int64_t>(i) ? 1 : 0;
  CHECK(wrong == 0);
  MT_CHECK_SOUND(rt);
  rt.remove_root_source(&roots);
}

TEST_CASE("incremental marking: the remark marks the roots again") {
  // U -> T (old; U reachable from the root table at the start). During the cycle T is put
  // into a root and U's reference cleared without any barrier: only the remark's second
  // look at the roots can find T.
  struct Source : marrow::RootSource {
    Node* strong = nullptr;
    void trace_roots(marrow::Tracer& t) override { t.visit(strong); }
  } source;
  marrow::Runtime rt(incremental_config());
  mi::Heap& heap = rt.heap_for_internal_use();
  rt.add_root_source(&source);
  const std::size_t chain = mt::scaled(300, 120);
  marrow::Global<Node> root;
  {
    marrow::HandleScope scope(rt);
    auto t = rt.make<Node>(kC);
    t->next = rt.make<Node>(kE);
    root = marrow::Global<Node>(rt, make_list(rt, kChainFirst, chain));
    Node* u = root.get();  // no allocation from here on
    for (std::size_t i = 1; i < chain; ++i) u = u->next.get();
    u->next = t;
    rt.collect(GcKind::kMajor);
  }
  auto u_of = [&] {
    Node* u = root.get();
    for (std::size_t i = 1; i < chain; ++i) u = u->next.get();
    return u;
  };
  start_cycle(heap);
  step(heap);
  REQUIRE(heap.marking_.active());
  Node* t = u_of()->next.get();
  REQUIRE(t->id == kC);
  REQUIRE(!marked(t));
  marrow::Global<Node> global;
  SUBCASE("into a Global") { global = marrow::Global<Node>(rt, t); }
  SUBCASE("into a RootSource") { source.strong = t; }
  u_of()->next.store_without_barrier_for_testing(nullptr);
  REQUIRE(step_until_done(heap));
  CHECK(!marked(t));  // nothing recorded it: only the remark can find it
  remark(heap);
  Node* kept = global ? global.get() : source.strong;
  REQUIRE(kept != nullptr);
  CHECK(kept->id == kC);
  REQUIRE(kept->next.get() != nullptr);
  CHECK(kept->next->id == kE);
  CHECK(list_intact(root.get(), kChainFirst, chain));
  MT_CHECK_SOUND(rt);
  rt.collect(GcKind::kMajor);
  kept = global ? global.get() : source.strong;
  CHECK(kept->id == kC);
  CHECK(kept->next->id == kE);
  MT_CHECK_SOUND(rt);
  rt.remove_root_source(&source);
}

TEST_CASE("incremental marking: objects created during a cycle survive the remark") {
  marrow::Runtime rt(incremental_config());
  mi::Heap& heap = rt.heap_for_internal_use();
  const std::size_t length = mt::scaled(200, 40);
  const std::size_t slots = rt.config().large_object_bytes / sizeof(marrow::Member<Node>) + 8;
  constexpr std::size_t kEvery = 97;  // the large table's slots that hold a node
  // roots = [young list (later), an old chain, -, the holder of the large table (later)];
  // holder -> M. The chain keeps the cycle busy: a cycle with nothing left to mark would
  // end in the remark at the next allocation.
  const std::size_t chain = mt::scaled(400, 200);
  marrow::Global<mt::Table> roots;
  {
    marrow::HandleScope scope(rt);
    roots = marrow::Global<mt::Table>(rt, rt.make_sized<mt::Table>(mt::table_extra(4), 4));
    roots->at(1) = make_list(rt, 1, chain);
    roots->at(3) = rt.make<Node>(-2);
    roots->at(3)->next = rt.make<Node>(-3);
    rt.collect(GcKind::kMajor);
  }
  auto large_of = [&] {
    Value v = roots->at(3)->value.get();
    return v.is_object() ? v.as<mt::Table>() : nullptr;
  };
  const std::size_t cycles = rt.stats().marking_cycles;
  start_cycle(heap);
  // The root table and the holder scanned (black), the chain not yet.
  Node* m = roots->at(3)->next.get();
  REQUIRE(step_until(heap, [&] { return marked(m); }));
  REQUIRE_MESSAGE(!heap.marking_.done(), "the chain was marked before the holder");
  {
    marrow::HandleScope scope(rt);
    // Young objects, stored into the scanned table (a young value is no barrier record);
    // two minor collections promote them while the cycle runs.
    roots->at(0) = make_list(rt, 100, length);
    // A large object allocated during the cycle, stored without any barrier into the
    // scanned holder: only the rule that old-space allocation during a cycle is marked
    // keeps it.
    auto large = rt.make_sized<mt::Table>(mt::table_extra(slots), slots);
    CHECK(mt::space_of(rt, large.get()) == Space::kLarge);
    roots->at(3)->value.store_without_barrier_for_testing(Value::object(large.get()));
    for (std::size_t i = 0; i < slots; i += kEvery)
      large->at(i) = rt.make<Node>(5000 + std::int64_t(i));
  }
  rt.collect(GcKind::kMinor);
  rt.collect(GcKind::kMinor);
  CHECK(mt::space_of(rt, roots->at(0).get()) == Space::kOld);
  CHECK(mt::space_of(rt, large_of()->at(0).get()) == Space::kOld);
  // Normally the cycle is still open here (the stress run's collections may end it).
  CHECK((heap.marking_.active() || mt::stress()));
  if (heap.marking_.active()) {
    step(heap);
    if (!mt::stress()) CHECK(marked(large_of()));  // black: marked by the next step, unscanned
    if (heap.marking_.active()) {
      // Promoted objects are marked by the steps after they appeared (a chunk of them per
      // step), at the latest when the steps are done.
      REQUIRE(step_until_done(heap));
      CHECK(marked(roots->at(0).get()));
      CHECK(marked(large_of()));
      Node* n = roots->at(0).get();
      for (std::size_t i = 0; i < length; ++i, n = n->next.get()) REQUIRE(marked(n));
      CHECK(marked(large_of()->at(kEvery).get()));
    }
  }
  if (heap.marking_.active())
    remark(heap);
  else
    CHECK(mt::stress());  // only a stress collection ends the cycle early
  CHECK(rt.stats().marking_cycles > cycles);
  for (int round = 0; round < 2; ++round) {
    CAPTURE(round);
    CHECK(list_intact(roots->at(0).get(), 100, length));
    CHECK(list_intact(roots->at(1).get(), 1, chain));
    CHECK(roots->at(3)->next->id == -3);
    mt::Table* large = large_of();
    REQUIRE(large != nullptr);
    CHECK(large->count == slots);
    for (std::size_t i = 0; i < slots; ++i) {
      Node* n = large->at(i).get();
      if (i % kEvery == 0) {
        REQUIRE(n != nullptr);
        CHECK(n->id == 5000 + std::int64_t(i));
      } else {
        REQUIRE(n == nullptr);
      }
    }
    MT_CHECK_SOUND(rt);
    rt.collect(GcKind::kMajor);
  }
}

namespace {

/// Steps taken while `bytes` of short-lived nodes are allocated during a cycle that has
/// plenty to mark (a chain of `chain` old nodes), with the given eden size.
struct PacingResult {
  std::size_t steps = 0;
  bool still_active = false;
  std::size_t cycles = 0;
};

PacingResult allocate_during_cycle(std::size_t nursery_bytes, std::size_t bytes) {
  marrow::Config base;
  base.incremental_marking = true;
  base.marking_rate = 0.001;
  base.nursery_bytes = nursery_bytes;
  base.min_nursery_bytes = nursery_bytes;
  base.pretenure_survival = 0;  // garbage only: no windows anyway
  marrow::Runtime rt(mt::config(base));
  mi::Heap& heap = rt.heap_for_internal_use();
  const std::size_t chain = mt::scaled(20000, 300);
  marrow::Global<Node> keep;
  {
    marrow::HandleScope scope(rt);
    keep = marrow::Global<Node>(rt, make_list(rt, 1, chain));
    rt.collect(GcKind::kMajor);
  }
  PacingResult result;
  rt.on_gc([&](const marrow::GcEvent& e) {
    if (e.kind == GcKind::kMarkStep) ++result.steps;
  });
  const std::size_t cycles = rt.stats().marking_cycles;
  start_cycle(heap);
  {
    marrow::HandleScope scope(rt);
    const std::size_t per_node = sizeof(Node) + 8;
    for (std::size_t i = 0; i < bytes / per_node; ++i) {
      marrow::HandleScope inner(rt);
      rt.make<Node>(-1);
    }
  }
  result.still_active = heap.marking_.active();
  result.cycles = rt.stats().marking_cycles - cycles;
  CHECK(list_intact(keep.get(), 1, chain));
  return result;
}

}  // namespace

TEST_CASE("incremental marking: eden allocation paces the steps of a cycle") {
  // kMarkingStepBytes is 256 KiB: a step every 256 KiB of eden.
  const std::size_t bytes = mt::scaled(std::size_t{4} << 20, std::size_t{64} << 10);
  SUBCASE("an eden of 4 MiB") {
    PacingResult r = allocate_during_cycle(std::size_t{4} << 20, bytes);
    INFO("steps " << r.steps << ", cycles " << r.cycles);
    if (!mt::stress()) {
      CHECK(r.still_active);  // 20000 nodes at 262 bytes a step: far from done
      CHECK(r.steps >= 12);
    } else {
      CHECK((r.cycles >= 1 || r.steps >= 12));  // stress majors end cycles early
    }
  }
  SUBCASE("an eden smaller than a step (128 KiB)") {
    PacingResult r = allocate_during_cycle(std::size_t{128} << 10, bytes);
    INFO("steps " << r.steps << ", cycles " << r.cycles);
    if (!mt::stress()) {
      CHECK(r.still_active);
      CHECK(r.steps >= 12);  // 4 MiB of allocation: 16 steps' worth
    } else {
      CHECK((r.cycles >= 1 || r.steps >= 12));
    }
  }
}

TEST_CASE("incremental marking: a pace too slow for the trigger is raised to finish in steps") {
  // At rate 0.001 a step scans about 262 bytes: the kept chain (hundreds of KiB) and what
  // the loop below promotes would take thousands of steps, far more than the allocation
  // pays for before old space reaches the trigger. The catch-up pace (the work left over
  // the headroom left) must finish the marking in a step, not leave it to the remark.
  marrow::Config base;
  base.incremental_marking = true;
  base.marking_rate = 0.001;
  // The budget is what is tested, not the step's deadline (half the pause goal): under a
  // sanitizer a step that scans the rest can take longer than the default 2.5 ms.
  base.pause_target_ms = 1000;
  base.nursery_bytes = std::size_t{1} << 20;
  base.min_nursery_bytes = base.nursery_bytes;
  base.pretenure_survival = 0;
  marrow::Runtime rt(mt::config(base));
  mi::Heap& heap = rt.heap_for_internal_use();
  const std::size_t chain = mt::scaled(20000, 300);
  marrow::Global<Node> keep;
  marrow::Global<Node> grown;  // every node the loop allocates survives: old space grows
  {
    marrow::HandleScope scope(rt);
    keep = marrow::Global<Node>(rt, make_list(rt, 1, chain));
    rt.collect(GcKind::kMajor);
  }
  std::size_t steps = 0, steps_that_finished = 0;
  rt.on_gc([&](const marrow::GcEvent& e) {
    if (e.kind != GcKind::kMarkStep) return;
    ++steps;
    if (heap.marking_.done()) ++steps_that_finished;
  });
  const std::size_t cycles = rt.stats().marking_cycles;
  start_cycle(heap);
  const std::size_t trigger = heap.policy_.next_major_trigger();
  const std::size_t nodes = mt::scaled(std::size_t{2} << 20, std::size_t{2} << 10);
  std::size_t made = 0;
  for (; made < nodes && heap.marking_.active(); ++made) {
    marrow::HandleScope inner(rt);
    auto n = rt.make<Node>(std::int64_t(made));
    n->next = grown.get();
    grown = marrow::Global<Node>(rt, n);
  }
  INFO("steps " << steps << ", steps that finished " << steps_that_finished << ", trigger "
                << trigger << ", nodes " << made);
  if (!mt::stress()) {
    CHECK(!heap.marking_.active());
    CHECK(rt.stats().marking_cycles - cycles == 1);
    CHECK(steps_that_finished == 1);  // a step finished the marking, before the trigger
  } else {
    CHECK(rt.stats().marking_cycles - cycles >= 1);  // stress majors end cycles early
  }
  CHECK(list_intact(keep.get(), 1, chain));
  std::size_t count = 0;
  for (const Node* n = grown.get(); n != nullptr; n = n->next.get(), ++count)
    if (n->id != std::int64_t(made - 1 - count)) break;
  CHECK(count == made);
}

namespace {

/// Tiny steps and a small nursery that opens pretenuring windows when most of it survives.
marrow::Config pretenuring_config() {
  marrow::Config base;
  base.incremental_marking = true;
  base.marking_rate = 0.001;
  base.nursery_bytes = std::size_t{512} << 10;
  base.min_nursery_bytes = std::size_t{512} << 10;
  base.pretenure_survival = 0.5;
  return base;
}

}  // namespace

TEST_CASE("incremental marking: objects pretenured during a cycle are marked") {
  marrow::Runtime rt(mt::config(pretenuring_config()));
  mi::Heap& heap = rt.heap_for_internal_use();
  const std::size_t chain = mt::scaled(20000, 300);
  marrow::Global<mt::Table> roots;  // [chain, holder, kept list]
  {
    marrow::HandleScope scope(rt);
    roots = marrow::Global<mt::Table>(rt, rt.make_sized<mt::Table>(mt::table_extra(3), 3));
    roots->at(0) = make_list(rt, 1, chain);
    roots->at(1) = rt.make<Node>(-2);
    roots->at(1)->next = rt.make<Node>(-3);
    rt.collect(GcKind::kMajor);
  }
  start_cycle(heap);
  Node* m = roots->at(1)->next.get();
  REQUIRE(step_until(heap, [&] { return marked(m); }));
  REQUIRE_MESSAGE(!heap.marking_.done(), "the chain was marked before the holder");
  // Keep everything allocated (a list hung from the root table): the minor collections
  // find the nursery alive and open a pretenuring window.
  std::size_t kept = 0;
  std::int64_t pretenured_id = -1;
  const std::size_t limit = mt::scaled(std::size_t{8} << 20, std::size_t{16} << 10);
  for (std::size_t bytes = 0; bytes < limit && pretenured_id < 0; bytes += sizeof(Node) + 8) {
    marrow::HandleScope scope(rt);
    auto n = rt.make<Node>(100000 + std::int64_t(kept));
    n->next = roots->at(2);
    roots->at(2) = n;
    ++kept;
    if (!heap.is_young(n.get()) && mt::space_of(rt, n.get()) == Space::kOld &&
        heap.marking_.active()) {
      // Born old during the cycle: stored into the scanned holder without any barrier,
      // only the allocation rule keeps it.
      pretenured_id = n->id;
      auto p = rt.make<Node>(-7);  // the object under test, in the same window
      if (!heap.is_young(p.get()) && heap.marking_.active()) {
        p->value = Value::number(3.25);
        roots->at(1)->other.store_without_barrier_for_testing(p.get());
      } else {
        pretenured_id = -1;
      }
    }
  }
  INFO("kept " << kept << ", pretenured " << rt.stats().bytes_pretenured);
  if (!mt::stress()) REQUIRE(pretenured_id >= 0);
  if (pretenured_id >= 0) {
    CHECK(rt.stats().bytes_pretenured > 0);
    if (heap.marking_.active()) {
      if (step_until_done(heap)) CHECK(marked(roots->at(1)->other.get()));
      heap.collect(GcKind::kMajor, GcReason::kHeapGrowth);
    }
    for (int round = 0; round < 2; ++round) {
      CAPTURE(round);
      Node* p = roots->at(1)->other.get();
      REQUIRE(p != nullptr);
      CHECK(p->id == -7);
      CHECK(p->value.get().as_number() == 3.25);
      MT_CHECK_SOUND(rt);
      rt.collect(GcKind::kMajor);
    }
  }
  CHECK(list_intact(roots->at(0).get(), 1, chain));
  std::size_t count = 0;
  for (Node* n = roots->at(2).get(); n != nullptr; n = n->next.get()) {
    REQUIRE(n->id == 100000 + std::int64_t(kept - 1 - count));
    ++count;
  }
  CHECK(count == kept);
  MT_CHECK_SOUND(rt);
}

namespace {

/// An interning table: it hands out what it holds without a Weak, and forgets what died.
struct WeakCache : marrow::RootSource {
  Node* by_member = nullptr;
  Node* by_value = nullptr;
  void trace_roots(marrow::Tracer&) override {}
  void process_weak(marrow::WeakProcessor& w) override {
    by_member = w.update(by_member);
    by_value = w.update(by_value);
  }
};

/// Holds what its constructor was given: the construction barrier's case.
struct Pair : marrow::Object {
  static constexpr const char* kTypeName = "Pair";
  marrow::Member<Node> held;
  marrow::Member<Value> value;
  Pair(Node* a, Node* b) : held(a), value(Value::object(b)) {}
  void trace(marrow::Tracer& t) {
    t.visit(held, "held");
    t.visit(value, "value");
  }
};

}  // namespace

TEST_CASE(
    "incremental marking: what a constructor stores into an object allocated old during a "
    "cycle is kept, though the object is never scanned") {
  marrow::Config base = pretenuring_config();
  base.verify_heap = true;  // the remark checks that no marked object points at an unmarked one
  marrow::Runtime rt(mt::config(base));
  mi::Heap& heap = rt.heap_for_internal_use();
  WeakCache cache;
  rt.add_root_source(&cache);
  const std::size_t chain = mt::scaled(20000, 300);
  marrow::Global<mt::Table> roots;  // [chain, kept list]
  {
    marrow::HandleScope scope(rt);
    roots = marrow::Global<mt::Table>(rt, rt.make_sized<mt::Table>(mt::table_extra(2), 2));
    roots->at(0) = make_list(rt, 1, chain);
    auto a = rt.make<Node>(20);
    a->next = rt.make<Node>(21);
    auto b = rt.make<Node>(30);
    b->next = rt.make<Node>(31);
    cache.by_member = a.get();
    cache.by_value = b.get();
    rt.collect(GcKind::kMajor);  // all old; a and b are kept by this scope only
    CHECK(mt::space_of(rt, cache.by_member) == Space::kOld);
  }
  // a and b are unreachable now: the cycle starts without them, and only the cache knows
  // them (the stop-the-world collections below keep them while the cache is not pruned).
  REQUIRE(cache.by_member != nullptr);
  start_cycle(heap);
  marrow::Global<Pair> pair;
  std::size_t kept = 0;
  const std::size_t limit = mt::scaled(std::size_t{8} << 20, std::size_t{16} << 10);
  for (std::size_t bytes = 0; bytes < limit && !pair; bytes += sizeof(Node) + 8) {
    marrow::HandleScope scope(rt);
    auto n = rt.make<Node>(100000 + std::int64_t(kept));
    n->next = roots->at(1);
    roots->at(1) = n;  // everything kept: minor collections open a pretenuring window
    ++kept;
    if (heap.is_young(n.get()) || !heap.marking_.active() || cache.by_member == nullptr) continue;
    // A window is open during the cycle: the pair is allocated old (black: it will not be
    // scanned) and is handed the cache's objects by its constructor. Nothing else refers
    // to them.
    auto p = rt.make<Pair>(cache.by_member, cache.by_value);
    if (heap.is_young(p.get()) || !heap.marking_.active()) continue;
    CHECK(!heap.marking_.done());  // the construction barrier recorded a and b
    pair = marrow::Global<Pair>(rt, p);
  }
  INFO("kept " << kept << ", pretenured " << rt.stats().bytes_pretenured);
  if (!mt::stress()) REQUIRE(pair);
  if (pair) {
    if (heap.marking_.active()) {
      step(heap);
      if (!mt::stress()) CHECK(marked(pair.get()));  // black: marked, never scanned
      if (heap.marking_.active()) remark(heap);
    }
    for (int round = 0; round < 2; ++round) {
      CAPTURE(round);
      REQUIRE(cache.by_member != nullptr);
      REQUIRE(cache.by_value != nullptr);
      CHECK(pair->held.get() == cache.by_member);
      CHECK(pair->value.get().as<Node>() == cache.by_value);
      CHECK(cache.by_member->id == 20);
      CHECK(cache.by_member->next->id == 21);
      CHECK(cache.by_value->id == 30);
      CHECK(cache.by_value->next->id == 31);
      MT_CHECK_SOUND(rt);
      rt.collect(GcKind::kMajor);
    }
  }
  CHECK(list_intact(roots->at(0).get(), 1, chain));
  rt.remove_root_source(&cache);
}

TEST_CASE("incremental marking: a requested full collection abandons the cycle") {
  marrow::Runtime rt(incremental_config());
  mi::Heap& heap = rt.heap_for_internal_use();
  struct Seen {
    GcKind kind;
    bool incremental;
  };
  std::vector<Seen> events;
  rt.on_gc([&](const marrow::GcEvent& e) { events.push_back({e.kind, e.incremental}); });
  marrow::Global<Node> keep, drop;
  marrow::Weak<Node> dropped;
  {
    marrow::HandleScope scope(rt);
    keep = marrow::Global<Node>(rt, make_list(rt, 1, 50));
    auto d = make_list(rt, 200, 10);
    drop = marrow::Global<Node>(rt, d);
    dropped = marrow::Weak<Node>(rt, d);
    rt.collect(GcKind::kMajor);
  }
  const std::size_t cycles = rt.stats().marking_cycles;
  start_cycle(heap);
  step(heap);
  REQUIRE(heap.marking_.active());
  CHECK(marked(drop.get()));  // a root at the start: in the snapshot
  drop.reset();               // unreachable from here on

  SUBCASE("kMajor") {
    rt.collect(GcKind::kMajor);
    CHECK(!heap.marking_.active());
    CHECK(!mi::marking_active());
    CHECK(dropped.get() == nullptr);
    CHECK(rt.stats().marking_cycles == cycles);
    REQUIRE(!events.empty());
    CHECK(events.back().kind == GcKind::kMajor);
    CHECK(!events.back().incremental);
  }
  SUBCASE("kCompact") {
    rt.collect(GcKind::kCompact);
    CHECK(!heap.marking_.active());
    CHECK(dropped.get() == nullptr);
    CHECK(rt.stats().marking_cycles == cycles);
    REQUIRE(!events.empty());
    CHECK(events.back().kind == GcKind::kCompact);
    CHECK(!events.back().incremental);
  }
  SUBCASE("for contrast, the remark keeps what the snapshot held") {
    remark(heap);
    CHECK(rt.stats().marking_cycles == cycles + 1);
    REQUIRE(!events.empty());
    CHECK(events.back().incremental);
    // Floating garbage: the remark keeps it (intact), the next full collection frees it.
    REQUIRE(dropped.get() != nullptr);
    CHECK(list_intact(dropped.get(), 200, 10));
    rt.collect(GcKind::kMajor);
    CHECK(dropped.get() == nullptr);
  }
  CHECK(list_intact(keep.get(), 1, 50));
  MT_CHECK_SOUND(rt);
  // A cycle after the abandoned one runs normally.
  const std::size_t before = rt.stats().marking_cycles;
  start_cycle(heap);
  REQUIRE(step_until_done(heap));
  remark(heap);
  CHECK(rt.stats().marking_cycles == before + 1);
  CHECK(list_intact(keep.get(), 1, 50));
  MT_CHECK_SOUND(rt);
}

TEST_CASE("incremental marking: statistics and events of a cycle") {
  marrow::Runtime rt(incremental_config());
  mi::Heap& heap = rt.heap_for_internal_use();
  std::vector<marrow::GcEvent> events;
  rt.on_gc([&](const marrow::GcEvent& e) { events.push_back(e); });
  marrow::Global<Node> keep;
  const std::size_t length = mt::scaled(200, 100);
  {
    marrow::HandleScope scope(rt);
    keep = marrow::Global<Node>(rt, make_list(rt, 1, length));
    rt.collect(GcKind::kMajor);
  }
  const marrow::HeapStats before = rt.stats();
  events.clear();
  // Through the public entry points: rt.collect(kMarkStart) and rt.collect(kMarkStep).
  rt.collect(GcKind::kMarkStart);
  REQUIRE(heap.marking_.active());
  std::size_t steps = 0;
  while (!heap.marking_.done() && steps < 100000) {
    rt.collect(GcKind::kMarkStep);
    ++steps;
  }
  REQUIRE(heap.marking_.done());
  CHECK(steps >= 2);  // 200 nodes do not fit one step of 262 bytes
  remark(heap);
  const marrow::HeapStats& after = rt.stats();
  CHECK(after.marking_cycles == before.marking_cycles + 1);
  CHECK(after.marking_increments == before.marking_increments + 1 + steps);
  CHECK(after.increment_pauses.count() == before.increment_pauses.count() + 1 + steps);
  CHECK(after.major_collections == before.major_collections + 1);
  CHECK(after.major_pauses.count() == before.major_pauses.count() + 1);
  CHECK(after.minor_collections == before.minor_collections);

  REQUIRE(events.size() == steps + 2);
  CHECK(events.front().kind == GcKind::kMarkStart);
  CHECK(!events.front().incremental);
  std::size_t marked_total = 0;
  for (std::size_t i = 1; i <= steps; ++i) {
    CAPTURE(i);
    CHECK(events[i].kind == GcKind::kMarkStep);
    CHECK(events[i].marked_bytes > 0);
    CHECK(events[i].sequence == events[i - 1].sequence + 1);
    marked_total += events[i].marked_bytes;
  }
  // Every node was scanned by some step (none was left for the remark).
  CHECK(marked_total >= length * sizeof(Node));
  const marrow::GcEvent& last = events.back();
  CHECK(last.kind == GcKind::kMajor);
  CHECK(last.incremental);
  CHECK(last.reason == GcReason::kHeapGrowth);
  CHECK(std::string(marrow::to_string(GcKind::kMarkStart)) == "mark-start");
  CHECK(std::string(marrow::to_string(GcKind::kMarkStep)) == "mark-step");
  std::string step_line = marrow::format_event(events[1]);
  CHECK(step_line.find("mark-step") != std::string::npos);
  CHECK(step_line.find("marked ") != std::string::npos);
  CHECK(marrow::format_event(last).find("remark of an incremental cycle") != std::string::npos);

  // A requested major is no cycle's end.
  rt.collect(GcKind::kMajor);
  CHECK(!events.back().incremental);
  CHECK(rt.stats().marking_cycles == before.marking_cycles + 1);
  CHECK(list_intact(keep.get(), 1, length));
  MT_CHECK_SOUND(rt);
}

namespace {

/// Sends stderr into a temporary file while it lives; `text()` reads what was written.
class StderrCapture {
 public:
  StderrCapture() : file_(std::tmpfile()) {
    std::fflush(stderr);
    saved_ = dup(2);
    if (file_ != nullptr && saved_ >= 0) dup2(fileno(file_), 2);
  }
  ~StderrCapture() {
    restore();
    if (file_ != nullptr) std::fclose(file_);
  }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;
  bool ok() const { return file_ != nullptr && saved_ >= 0; }
  std::string text() {
    restore();
    std::string out;
    if (file_ == nullptr) return out;
    std::rewind(file_);
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, file_)) > 0;) out.append(buf, n);
    return out;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    dup2(saved_, 2);
    close(saved_);
    saved_ = -1;
  }
  FILE* file_;
  int saved_ = -1;
};

}  // namespace

TEST_CASE("incremental marking: the GC log (trace_gc=1) shows the cycle's pauses") {
  marrow::Config base;
  base.incremental_marking = true;
  base.marking_rate = 0.001;
  base.trace_gc = 1;
  StderrCapture capture;
  REQUIRE(capture.ok());
  {
    marrow::Runtime rt(mt::config(base));
    mi::Heap& heap = rt.heap_for_internal_use();
    marrow::Global<Node> keep;
    {
      marrow::HandleScope scope(rt);
      keep = marrow::Global<Node>(rt, make_list(rt, 1, 100));
      rt.collect(GcKind::kMajor);
    }
    start_cycle(heap);
    step(heap);
    CHECK(step_until_done(heap));
    remark(heap);
    CHECK(list_intact(keep.get(), 1, 100));
  }
  std::string log = capture.text();
  INFO("log: " << log);
  CHECK(log.find("mark-start") != std::string::npos);
  CHECK(log.find("mark-step") != std::string::npos);
  CHECK(log.find(", marked ") != std::string::npos);
  CHECK(log.find("major (heap-growth)") != std::string::npos);
  CHECK(log.find("remark of an incremental cycle") != std::string::npos);
}

TEST_CASE("incremental marking: Config ranges of marking_rate and pause_target_ms") {
  auto refused = [](marrow::Config c) {
    try {
      marrow::Runtime rt(c);
    } catch (const marrow::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  marrow::Config c;
  c.incremental_marking = true;
  for (double rate : {0.0, -1.0, 1000.5, 1e9, std::nan("")}) {
    CAPTURE(rate);
    c.marking_rate = rate;
    CHECK(refused(c).find("marking_rate") != std::string::npos);
  }
  c.marking_rate = 2.0;
  for (double ms : {0.0, -5.0, 10000.5, std::nan("")}) {
    CAPTURE(ms);
    c.pause_target_ms = ms;
    CHECK(refused(c).find("pause_target_ms") != std::string::npos);
  }
  // The ends of the ranges are accepted and kept.
  c.marking_rate = 1000;
  c.pause_target_ms = 10000;
  {
    marrow::Runtime rt(c);
    CHECK(rt.config().marking_rate == 1000);
    CHECK(rt.config().pause_target_ms == 10000);
    CHECK(rt.config().incremental_marking);
  }
  c.marking_rate = 1e-6;
  c.pause_target_ms = 0.001;
  CHECK(refused(c).empty());
}

TEST_CASE("incremental marking: a mark stack overflow during steps is made good by the remark") {
  marrow::Runtime rt(incremental_config(0.01));
  mi::Heap& heap = rt.heap_for_internal_use();
  const std::size_t width = mt::scaled(200, 40), fan = 6;
  marrow::Global<mt::Table> root;
  {
    marrow::HandleScope scope(rt);
    root = marrow::Global<mt::Table>(rt, rt.make_sized<mt::Table>(mt::table_extra(width), width));
    for (std::size_t i = 0; i < width; ++i) {
      marrow::HandleScope inner(rt);
      auto child = rt.make<Node>(static_cast<std::int64_t>(i));
      auto leaves = rt.make_sized<mt::Table>(mt::table_extra(fan), fan);
      child->value = Value::object(leaves.get());
      for (std::size_t j = 0; j < fan; ++j)
        leaves->at(j) = rt.make<Node>(std::int64_t(i * 100 + j));
      root->at(i) = child;
    }
    rt.collect(GcKind::kMajor);
  }
  heap.set_mark_stack_limit_for_testing(4);
  const std::size_t overflows = heap.mark_stack_overflows();
  start_cycle(heap);
  REQUIRE(step_until_done(heap));
  // Move a leaf of the last child (not scanned: dropped by the overflow, or later) to the
  // first slot of the root table's first child.
  Node* last = root->at(width - 1).get();
  auto* leaves = last->value.get().as<mt::Table>();
  Node* leaf = leaves->at(0).get();
  root->at(0)->other = leaf;
  leaves->at(0) = nullptr;
  remark(heap);
  CHECK(heap.mark_stack_overflows() > overflows);
  heap.set_mark_stack_limit_for_testing(std::size_t{1} << 22);
  for (int round = 0; round < 2; ++round) {
    CAPTURE(round);
    for (std::size_t i = 0; i < width; ++i) {
      Node* child = root->at(i).get();
      REQUIRE(child != nullptr);
      REQUIRE(child->id == static_cast<std::int64_t>(i));
      auto* ls = child->value.get().as<mt::Table>();
      for (std::size_t j = 0; j < fan; ++j) {
        if (i == width - 1 && j == 0) {
          CHECK(ls->at(j).get() == nullptr);
          continue;
        }
        REQUIRE(ls->at(j).get() != nullptr);
        CHECK(ls->at(j)->id == std::int64_t(i * 100 + j));
      }
    }
    REQUIRE(root->at(0)->other.get() != nullptr);
    CHECK(root->at(0)->other->id == std::int64_t((width - 1) * 100));
    MT_CHECK_SOUND(rt);
    rt.collect(GcKind::kMajor);
  }
}

TEST_CASE("incremental marking: the barrier is off once no runtime marks, and per runtime") {
  CHECK(!mi::marking_active());
  marrow::Runtime a(incremental_config());
  marrow::Runtime b(incremental_config());
  mi::Heap& ha = a.heap_for_internal_use();
  mi::Heap& hb = b.heap_for_internal_use();
  marrow::Global<Node> ra, rb;
  {
    marrow::HandleScope sa(a);
    ra = marrow::Global<Node>(a, make_list(a, 1, 20));
    a.collect(GcKind::kMajor);
  }
  {
    marrow::HandleScope sb(b);
    rb = marrow::Global<Node>(b, make_list(b, 1, 20));
    b.collect(GcKind::kMajor);
  }
  start_cycle(ha);
  CHECK(mi::marking_active());
  CHECK(!hb.marking_.active());
  // Stores into b's old objects while a marks: nothing recorded in a, b unaffected.
  REQUIRE(step_until_done(ha));
  Node* n = rb->next.get();
  rb->next = n->next.get();  // b: drop node 2
  rb->other = n;             // and keep it elsewhere
  CHECK(ha.marking_.done());
  {
    // A runtime destroyed in the middle of its cycle turns the barrier off with it.
    marrow::Runtime c(incremental_config());
    mi::Heap& hc = c.heap_for_internal_use();
    marrow::Global<Node> rc;
    {
      marrow::HandleScope sc(c);
      rc = marrow::Global<Node>(c, make_list(c, 1, 20));
      c.collect(GcKind::kMajor);
    }
    start_cycle(hc);
    step(hc);
    CHECK(hc.marking_.active());
  }
  CHECK(mi::marking_active());  // a still marks
  remark(ha);
  CHECK(!mi::marking_active());
  CHECK(list_intact(ra.get(), 1, 20));
  b.collect(GcKind::kMajor);
  CHECK(rb->other->id == 2);
  CHECK(rb->next->id == 3);
  MT_CHECK_SOUND(a);
  MT_CHECK_SOUND(b);
}

// ---- Randomized: a graph mutated under incremental stress, against a shadow model ------

namespace {

struct Shadow {
  std::int64_t next = -1, other = -1;
  enum Kind { kNil, kNum, kRef } kind = kNil;
  double num = 0;
  std::int64_t ref = -1;
  bool dead = false;  ///< a Weak to it was found cleared: it must never be reached again
};

class Model {
 public:
  static constexpr std::size_t kRoots = 16;

  explicit Model(marrow::Runtime& rt) : rt_(rt), heap_(rt.heap_for_internal_use()), rng_(20240611) {
    marrow::HandleScope scope(rt_);
    roots_ =
        marrow::Global<mt::Table>(rt_, rt_.make_sized<mt::Table>(mt::table_extra(kRoots), kRoots));
    root_ids_.assign(kRoots, -1);
  }

  /// Walks the heap from the roots and compares it with the model; fills `seen_` (id ->
  /// object) for the reachable nodes. Returns the first difference, or "".
  std::string walk() {
    seen_.clear();
    order_.clear();
    std::vector<std::pair<Node*, std::int64_t>> work;
    auto edge = [&](Node* n, std::int64_t expected, const char* what) -> std::string {
      if ((n == nullptr) != (expected < 0))
        return fmt_diff(what, expected, n == nullptr ? -1 : n->id);
      if (n != nullptr) work.emplace_back(n, expected);
      return {};
    };
    for (std::size_t i = 0; i < kRoots; ++i)
      if (auto d = edge(roots_->at(i).get(), root_ids_[i], "root"); !d.empty()) return d;
    while (!work.empty()) {
      auto [n, id] = work.back();
      work.pop_back();
      auto [it, fresh] = seen_.emplace(id, n);
      if (!fresh) {
        if (it->second != n) return "two objects reached for id " + std::to_string(id);
        continue;
      }
      order_.push_back(id);
      if (n->id != id) return fmt_diff("id", id, n->id);
      const Shadow& s = model_[std::size_t(id)];
      if (s.dead) return "node " + std::to_string(id) + " reachable after its Weak was cleared";
      if (auto d = edge(n->next.get(), s.next, "next"); !d.empty()) return d;
      if (auto d = edge(n->other.get(), s.other, "other"); !d.empty()) return d;
      Value v = n->value.get();
      switch (s.kind) {
        case Shadow::kNil:
          if (!v.is_nil()) return "value of " + std::to_string(id) + " is not nil";
          break;
        case Shadow::kNum:
          if (!v.is_number() || v.as_number() != s.num)
            return "value of " + std::to_string(id) + " is not the number";
          break;
        case Shadow::kRef:
          if (!v.is_object()) return "value of " + std::to_string(id) + " is not an object";
          if (auto d = edge(v.as<Node>(), s.ref, "value"); !d.empty()) return d;
          break;
      }
    }
    return {};
  }

  /// One random operation, then a walk. Returns the walk's verdict.
  std::string op() {
    marrow::HandleScope scope(rt_);
    unsigned r = unsigned(rng_() % 100);
    if (r < 34) {
      allocate();
    } else if (r < 56) {
      if (Node* a = pick()) {
        std::int64_t target = pick_id(5);
        Node* t = target < 0 ? nullptr : seen_[target];
        if (rng_() % 2) {
          a->next = t;
          model_[std::size_t(a->id)].next = target;
        } else {
          a->other = t;
          model_[std::size_t(a->id)].other = target;
        }
      }
    } else if (r < 66) {
      if (Node* a = pick()) {
        Shadow& s = model_[std::size_t(a->id)];
        unsigned k = unsigned(rng_() % 3);
        if (k == 0) {
          a->value = Value::nil();
          s.kind = Shadow::kNil;
        } else if (k == 1) {
          double d = double(rng_() % 1000) / 8.0;
          a->value = Value::number(d);
          s.kind = Shadow::kNum;
          s.num = d;
        } else if (std::int64_t target = pick_id(0); target >= 0) {
          a->value = Value::object(seen_[target]);
          s.kind = Shadow::kRef;
          s.ref = target;
        }
      }
    } else if (r < 76) {
      std::size_t slot = rng_() % kRoots;
      std::int64_t target = pick_id(4);
      roots_->at(slot) = target < 0 ? nullptr : seen_[target];
      root_ids_[slot] = target;
    } else if (r < 84) {
      read_weak();
    } else if (r < 88) {
      if (Node* a = pick()) {
        auto local = rt_.local(a);
        add_weak(marrow::Weak<Node>(rt_, local), a->id);
      }
    } else if (r < 93) {
      rt_.collect(GcKind::kMinor);
    } else if (r < 95) {
      if (!heap_.marking_.active()) {
        heap_.collect(GcKind::kMarkStart, GcReason::kHeapGrowth);
      } else if (rng_() % 4 == 0) {
        // The remark now, sweeping or compacting (the stress cycles' own remarks come
        // when their marking is done).
        heap_.collect(rng_() % 2 ? GcKind::kMajor : GcKind::kCompact, GcReason::kHeapGrowth);
        ++remarks_;
      }
    } else if (r < 96) {
      rt_.collect(rng_() % 2 ? GcKind::kMajor : GcKind::kCompact);  // abandons a cycle
      if (auto d = walk(); !d.empty()) return d;
      // After a full collection the Weaks say exactly what is reachable.
      for (auto& [weak, id] : weaks_) {
        bool alive = weak.get() != nullptr;
        if (alive != (seen_.count(id) != 0))
          return "after a full collection the Weak of " + std::to_string(id) + " says " +
                 (alive ? "alive" : "dead");
        if (!alive) model_[std::size_t(id)].dead = true;
      }
    } else {
      for (int i = 0; i < 4; ++i) rt_.make<Node>(-1);  // garbage: paces the stress cycles
    }
    return walk();
  }

  std::size_t nodes() const { return model_.size(); }
  std::size_t reachable() const { return seen_.size(); }
  std::size_t remarks() const { return remarks_; }
  std::size_t resurrections() const { return resurrections_; }

 private:
  static std::string fmt_diff(const char* what, std::int64_t expected, std::int64_t got) {
    return std::string(what) + ": expected " + std::to_string(expected) + ", found " +
           std::to_string(got);
  }

  /// A reachable node (from the last walk), or nullptr.
  Node* pick() {
    if (order_.empty()) return nullptr;
    return seen_[order_[rng_() % order_.size()]];
  }
  /// A reachable node's id, or -1 (one time in `null_one_in`, or when none).
  std::int64_t pick_id(unsigned null_one_in) {
    if (order_.empty() || (null_one_in != 0 && rng_() % null_one_in == 0)) return -1;
    return order_[rng_() % order_.size()];
  }

  void allocate() {
    std::int64_t id = std::int64_t(model_.size());
    model_.emplace_back();
    auto n = rt_.make<Node>(id);
    if (rng_() % 4 == 0) add_weak(marrow::Weak<Node>(rt_, n), id);
    // The allocation may have collected: look again before using raw pointers.
    if (std::string d = walk(); !d.empty()) {
      failure_ = d;
      return;
    }
    Shadow& s = model_[std::size_t(id)];
    if (std::int64_t t = pick_id(2); t >= 0) {
      n->next = seen_[t];
      s.next = t;
    }
    if (std::int64_t t = pick_id(3); t >= 0) {
      n->value = Value::object(seen_[t]);
      s.kind = Shadow::kRef;
      s.ref = t;
    }
    unsigned where = unsigned(rng_() % 3);
    Node* parent = where == 0 ? nullptr : pick();
    if (parent == nullptr) {
      std::size_t slot = rng_() % kRoots;
      roots_->at(slot) = n;
      root_ids_[slot] = id;
    } else if (where == 1) {
      parent->next = n;
      model_[std::size_t(parent->id)].next = id;
    } else {
      parent->other = n;
      model_[std::size_t(parent->id)].other = id;
    }
  }

  void add_weak(marrow::Weak<Node> weak, std::int64_t id) {
    if (weaks_.size() < 48) {
      weaks_.emplace_back(std::move(weak), id);
    } else {
      auto& w = weaks_[rng_() % weaks_.size()];
      w = {std::move(weak), id};
    }
  }

  /// Reads a random Weak: a cleared one must be of an unreachable node (which then stays
  /// unreachable); a live one is stored into a root, reviving what it references.
  void read_weak() {
    if (weaks_.empty()) return;
    auto& [weak, id] = weaks_[rng_() % weaks_.size()];
    Node* p = weak.get();
    if (p == nullptr) {
      if (seen_.count(id) != 0)
        failure_ = "the Weak of reachable " + std::to_string(id) + " is cleared";
      model_[std::size_t(id)].dead = true;
      return;
    }
    if (p->id != id) {
      failure_ = fmt_diff("Weak", id, p->id);
      return;
    }
    if (seen_.count(id) == 0) ++resurrections_;
    std::size_t slot = rng_() % kRoots;
    roots_->at(slot) = p;
    root_ids_[slot] = id;
  }

 public:
  std::string failure_;

 private:
  marrow::Runtime& rt_;
  mi::Heap& heap_;
  std::mt19937_64 rng_;
  marrow::Global<mt::Table> roots_;
  std::vector<std::int64_t> root_ids_;
  std::vector<Shadow> model_;
  std::vector<std::pair<marrow::Weak<Node>, std::int64_t>> weaks_;
  std::unordered_map<std::int64_t, Node*> seen_;
  std::vector<std::int64_t> order_;
  std::size_t remarks_ = 0;
  std::size_t resurrections_ = 0;
};

}  // namespace

TEST_CASE("incremental marking: randomized mutations under incremental stress match a model") {
  marrow::Config base;
  base.incremental_marking = true;
  base.stress_incremental = 5;  // a cycle every 5 allocations, a step at every allocation
  base.verify_heap = true;      // and the marking invariant checked at every remark
  marrow::Runtime rt(mt::config(base));
  REQUIRE(rt.config().stress_incremental != 0);  // 5, or MARROW_STRESS_INCREMENTAL's
  const std::size_t ops = mt::scaled(8000, 2000);
  Model model(rt);
  std::size_t active_ops = 0;
  for (std::size_t i = 0; i < ops; ++i) {
    CAPTURE(i);
    std::string d = model.op();
    if (d.empty()) d = model.failure_;
    REQUIRE_MESSAGE(d.empty(), d);
    if (rt.heap_for_internal_use().marking_.active()) ++active_ops;
    if (i % 256 == 255) MT_CHECK_SOUND(rt);
  }
  const marrow::HeapStats& s = rt.stats();
  INFO("nodes " << model.nodes() << ", reachable " << model.reachable() << ", cycles "
                << s.marking_cycles << ", increments " << s.marking_increments << ", resurrections "
                << model.resurrections());
  CHECK(s.marking_cycles > 10);
  CHECK(s.marking_increments > s.marking_cycles);
  CHECK(active_ops > ops / 10);  // the mutations did run while cycles were open
  CHECK(model.reachable() > 0);
  MT_CHECK_SOUND(rt);
  rt.collect(GcKind::kMajor);
  MT_CHECK_SOUND(rt);
}
