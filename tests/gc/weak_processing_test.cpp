// Tests gc/src/weak_processing.cpp: root sources' process_weak sees each object's liveness
// and its new address, in sweeping and in compacting collections.
#include <vector>

#include "test_support.hpp"

using marrow::GcKind;
using mt::Node;

namespace {

/// An interning-table-like root source: `weak` entries are pruned in process_weak.
struct WeakTable : marrow::RootSource {
  Node* strong = nullptr;
  std::vector<Node*> weak;
  std::vector<bool> alive_seen;
  int calls = 0;
  void trace_roots(marrow::Tracer& t) override { t.visit(strong); }
  void process_weak(marrow::WeakProcessor& w) override {
    ++calls;
    alive_seen.clear();
    for (Node*& p : weak) {
      if (p == nullptr) {
        alive_seen.push_back(false);
        continue;
      }
      alive_seen.push_back(w.is_alive(p));
      Node* updated = w.update(p);
      if (updated != nullptr) CHECK(w.forwarded(p) == updated);
      p = updated;
    }
  }
};

}  // namespace

TEST_CASE("RootSource::process_weak sees liveness and forwarding") {
  marrow::Runtime rt(mt::config());
  WeakTable table;
  rt.add_root_source(&table);
  marrow::Global<Node> keep;
  {
    marrow::HandleScope scope(rt);
    auto a = rt.make<Node>(1);  // kept by a Global
    auto b = rt.make<Node>(2);  // only in the weak table: dies
    auto c = rt.make<Node>(3);  // kept by the strong root slot
    keep = marrow::Global<Node>(rt, a);
    table.strong = c.get();
    table.weak = {a.get(), b.get(), c.get()};
  }
  for (auto kind : {GcKind::kMajor, GcKind::kCompact}) {
    CAPTURE(static_cast<int>(kind));
    int calls = table.calls;
    rt.collect(kind);
    CHECK(table.calls > calls);
    CHECK(table.weak[0] == keep.get());
    CHECK(table.weak[1] == nullptr);
    CHECK(table.weak[2] == table.strong);
    REQUIRE(table.weak[0] != nullptr);
    CHECK(table.weak[0]->id == 1);
    CHECK(table.weak[2]->id == 3);
  }
  // Drop a: the next major collection reports it dead.
  keep.reset();
  rt.collect(GcKind::kMajor);
  CHECK(table.weak[0] == nullptr);
  CHECK(table.weak[2]->id == 3);
  rt.remove_root_source(&table);
  MT_CHECK_SOUND(rt);
}
