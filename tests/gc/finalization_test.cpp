// Tests gc/src/finalization.cpp: finalizers run once, after the collection, only for dead
// objects, old or young, and at runtime destruction for the rest.
#include <map>
#include <vector>

#include "test_support.hpp"

using marrow::GcKind;
using mt::Node;

namespace {

std::map<std::int64_t, int> g_finalized;

struct Finalizable : marrow::Object {
  std::int64_t id;
  marrow::Member<Node> ref;
  explicit Finalizable(std::int64_t i) : id(i) {}
  void trace(marrow::Tracer& t) { t.visit(ref); }
  void finalize() { g_finalized[id]++; }
};

}  // namespace

TEST_CASE("finalizers run exactly once, after the collection, only for dead objects") {
  g_finalized.clear();
  {
    marrow::Runtime rt(mt::config());
    std::vector<marrow::Global<Finalizable>> keep;
    std::size_t finalized_during_event = 999;
    {
      marrow::HandleScope scope(rt);
      for (int i = 0; i < 20; ++i) {
        auto f = rt.make<Finalizable>(i);
        f->ref = rt.make<Node>(i);
        if (i % 2 == 0) keep.emplace_back(rt, f);
      }
    }
    auto id =
        rt.on_gc([&](const marrow::GcEvent&) { finalized_during_event = g_finalized.size(); });
    std::size_t before = g_finalized.size();
    rt.collect(GcKind::kMajor);
    rt.remove_gc_listener(id);
    CHECK(finalized_during_event == before);  // not yet run when the collection reports
    for (int i = 0; i < 20; ++i) {
      CAPTURE(i);
      CHECK(g_finalized[i] == (i % 2 == 0 ? 0 : 1));
    }
    rt.collect(GcKind::kMajor);
    rt.collect(GcKind::kCompact);
    for (int i = 0; i < 20; ++i) CHECK(g_finalized[i] == (i % 2 == 0 ? 0 : 1));
    for (auto& k : keep) CHECK(k->ref->id == k->id);
    // Drop two of the survivors: finalized by the next major collection.
    keep.pop_back();
    keep.pop_back();
    rt.collect(GcKind::kMajor);
    CHECK(g_finalized[18] == 1);
    CHECK(g_finalized[16] == 1);
    CHECK(g_finalized[0] == 0);
  }
  // Runtime destruction finalizes everything still alive, once.
  for (int i = 0; i < 20; ++i) {
    CAPTURE(i);
    CHECK(g_finalized[i] == 1);
  }
}

TEST_CASE("young finalizable objects that die young are finalized once") {
  g_finalized.clear();
  {
    marrow::Runtime rt(mt::config());
    {
      marrow::HandleScope scope(rt);
      for (int i = 0; i < 10; ++i) rt.make<Finalizable>(100 + i);
    }
    rt.collect(GcKind::kMinor);
    rt.collect(GcKind::kMajor);
    for (int i = 0; i < 10; ++i) CHECK(g_finalized[100 + i] == 1);
  }
  for (int i = 0; i < 10; ++i) CHECK(g_finalized[100 + i] == 1);
}
