// Tests gc/src/pretenuring.cpp: after a minor collection finds most of the nursery alive,
// allocation goes straight to old space for a window, then the nursery is tried again.
#include <vector>

#include "test_support.hpp"

using marrow::GcKind;
using marrow::Value;
using mt::Node;
using Space = marrow::Space;

namespace {

marrow::Config small_nursery(double pretenure_survival) {
  marrow::Config cfg;
  cfg.nursery_bytes = 256 << 10;
  cfg.pretenure_survival = pretenure_survival;
  return mt::config(cfg);
}

/// Prepends `n` nodes with ids first, first+1, ... to the list at `head` (all stay alive).
void grow_list(marrow::Runtime& rt, marrow::Local<Node> head, std::int64_t first, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    marrow::HandleScope inner(rt);
    auto x = rt.make<Node>(first + i);
    x->next = head->next;
    head->next = x;
  }
}

/// The ids of the list after `head`, which must be first+n-1 down to first.
bool list_intact(Node* head, std::int64_t first, std::int64_t n) {
  std::int64_t expect = first + n - 1;
  for (Node* p = head->next.get(); p != nullptr; p = p->next.get(), --expect)
    if (p->id != expect) return false;
  return expect == first - 1;
}

/// A runtime with a small nursery and pretenuring on, and a list of `n` nodes (about
/// 3 MiB; a dozen nurseries, every one of them all alive) at `head`.
struct GrownList {
  marrow::Runtime rt{small_nursery(0.5)};
  marrow::HandleScope scope{rt};
  marrow::Local<Node> head = rt.make<Node>(-1);
  const std::int64_t n = static_cast<std::int64_t>(mt::scaled(80000, 800));
  GrownList() { grow_list(rt, head, 0, n); }
};

}  // namespace

TEST_CASE_FIXTURE(GrownList,
                  "a nursery that stays alive sends the next allocations straight to old space") {
  const marrow::HeapStats& s = rt.stats();
  CHECK(s.bytes_pretenured > 0);
  if (!mt::stress()) {
    // Most of the list never went through the nursery's copying.
    CHECK(s.bytes_pretenured > s.bytes_promoted);
    std::size_t young =
        s.spaces[std::size_t(Space::kEden)].used + s.spaces[std::size_t(Space::kSurvivor)].used;
    CHECK(s.bytes_pretenured + s.bytes_promoted + young >= std::size_t(n) * (sizeof(Node) + 8));
  }
  CHECK(s.bytes_allocated >= std::size_t(n) * (sizeof(Node) + 8));
  CHECK(list_intact(head.get(), 0, n));
  MT_CHECK_SOUND(rt);
  rt.collect(GcKind::kMajor);
  CHECK(list_intact(head.get(), 0, n));
  rt.collect(GcKind::kCompact);
  CHECK(list_intact(head.get(), 0, n));
  MT_CHECK_SOUND(rt);
}

TEST_CASE("collection events and the GC log say when a pretenuring window opens") {
  marrow::Runtime rt(small_nursery(0.5));
  std::size_t windows = 0;
  std::string line;
  rt.on_gc([&](const marrow::GcEvent& e) {
    if (e.pretenure_window == 0) return;
    ++windows;
    line = marrow::format_event(e);
  });
  marrow::HandleScope scope(rt);
  auto head = rt.make<Node>(-1);
  grow_list(rt, head, 0, static_cast<std::int64_t>(mt::scaled(80000, 800)));
  CHECK(windows > 0);
  CHECK(line.find("then pretenuring") != std::string::npos);
}

TEST_CASE("pretenure_survival 0 keeps every allocation in the nursery") {
  marrow::Runtime rt(small_nursery(0));
  marrow::HandleScope scope(rt);
  auto head = rt.make<Node>(-1);
  const std::int64_t n = static_cast<std::int64_t>(mt::scaled(80000, 800));
  grow_list(rt, head, 0, n);
  CHECK(rt.stats().bytes_pretenured == 0);
  CHECK(rt.stats().bytes_promoted > 0);
  CHECK(list_intact(head.get(), 0, n));
}

TEST_CASE("short-lived objects open no pretenuring window") {
  marrow::Runtime rt(small_nursery(0.5));
  marrow::HandleScope scope(rt);
  const int n = static_cast<int>(mt::scaled(200000, 3000));
  for (int i = 0; i < n; ++i) {
    marrow::HandleScope inner(rt);
    rt.make<Node>(i);
  }
  // The stress run opens windows of its own (every other stress collection).
  if (!mt::stress()) {
    CHECK(rt.stats().minor_collections > 10);
    CHECK(rt.stats().bytes_pretenured == 0);
  }
  MT_CHECK_SOUND(rt);
}

TEST_CASE_FIXTURE(
    GrownList,
    "after a long-lived phase, garbage closes the window and allocation returns to eden") {
  REQUIRE(rt.stats().bytes_pretenured > 0);
  // Garbage only: windows shrink and close; a fresh object is young again.
  bool young_again = false;
  for (int round = 0; round < 200 && !young_again; ++round) {
    for (int i = 0; i < int(mt::scaled(5000, 200)); ++i) {
      marrow::HandleScope inner(rt);
      rt.make<Node>(i);
    }
    auto probe = rt.make<Node>(0);
    young_again = rt.heap_for_internal_use().is_young(probe.get());
  }
  CHECK(young_again);
  CHECK(list_intact(head.get(), 0, n));
  MT_CHECK_SOUND(rt);
}

TEST_CASE_FIXTURE(GrownList, "a pretenured object that points at young objects is remembered") {
  // Find a window: the next allocation goes to old space (in the stress run, every other).
  marrow::Global<Node> old_holder;
  for (int i = 0; i < 100000 && !old_holder; ++i) {
    marrow::HandleScope inner(rt);
    auto x = rt.make<Node>(1000000 + i);
    if (!rt.heap_for_internal_use().is_young(x.get())) old_holder = marrow::Global<Node>(rt, x);
  }
  REQUIRE(old_holder);
  // Young objects from before the window are still in the survivor space; link to them.
  std::vector<marrow::Global<Node>> young;
  for (Node* p = head->next.get(); p != nullptr && young.size() < 8; p = p->next.get())
    if (rt.heap_for_internal_use().is_young(p)) young.emplace_back(rt, p);
  if (!mt::stress()) REQUIRE_FALSE(young.empty());
  if (!young.empty()) {
    old_holder->other = young.front().get();
    old_holder->value = Value::object(young.back().get());
    MT_CHECK_SOUND(rt);
    std::int64_t first_id = young.front()->id, last_id = young.back()->id;
    rt.collect(GcKind::kMinor);
    rt.collect(GcKind::kMinor);
    CHECK(old_holder->other->id == first_id);
    CHECK(old_holder->value.get().as<Node>()->id == last_id);
  }
  CHECK(list_intact(head.get(), 0, n));
  MT_CHECK_SOUND(rt);
}

TEST_CASE("the heap limit holds while pretenuring, and the runtime recovers") {
  marrow::Config cfg;
  cfg.nursery_bytes = 256 << 10;
  cfg.heap_limit_bytes = mt::scaled(8 << 20, 1 << 20);  // stress: verified per allocation
  marrow::Runtime rt(mt::config(cfg));
  bool threw = false;
  {
    marrow::HandleScope scope(rt);
    auto head = rt.make<Node>(-1);
    try {
      // Nodes carrying 1 KiB tables (few allocations, so the stress run stays quick),
      // until the limit is reached.
      for (int i = 0; i < 1 << 20; ++i) {
        marrow::HandleScope inner(rt);
        auto x = rt.make<Node>(i);
        x->value = Value::object(rt.make_sized<mt::Table>(128 * 8, std::size_t{128}).get());
        x->next = head->next;
        head->next = x;
      }
    } catch (const marrow::OutOfMemory& e) {
      threw = true;
      CHECK(std::string(e.what()).find("heap limit") != std::string::npos);
    }
  }
  CHECK(threw);
  rt.collect(GcKind::kCompact);  // the list is garbage now
  marrow::HandleScope scope(rt);
  auto head = rt.make<Node>(-1);
  grow_list(rt, head, 0, 1000);
  CHECK(list_intact(head.get(), 0, 1000));
  MT_CHECK_SOUND(rt);
}
