// Parallel major collections keep exactly what the serial collector keeps: the same graph
// collected with 1, 2 and 4 GC threads leaves the same live bytes and an intact graph,
// through work sharing, mark-stack overflow and parallel sweeping; events say how many
// threads worked and how busy each was.
#include <vector>

#include "test_support.hpp"

namespace {

/// A wide and deep graph: `width` lists of `length` nodes hung off tables, with garbage in
/// between (so sweeping finds holes), and cross links between lists.
struct Graph {
  marrow::Global<mt::Table> root;
  std::size_t width, length;
};

Graph build(marrow::Runtime& rt, std::size_t width, std::size_t length) {
  marrow::HandleScope scope(rt);
  auto table = rt.make_sized<mt::Table>(mt::table_extra(width), width);
  mt::hang_lists(rt, table, length);
  return {marrow::Global<mt::Table>(rt, table), width, length};
}

bool intact(const Graph& g) { return mt::lists_intact(g.root.get(), g.length); }

struct Outcome {
  std::size_t old_bytes;
  unsigned threads_seen;
  std::size_t worker_spans;
  bool busy_recorded;
  std::size_t overflows;
};

Outcome run(unsigned threads, std::size_t stack_limit) {
  marrow::Config cfg = mt::config();
  cfg.gc_threads = threads;
  marrow::Runtime rt(cfg);
  if (stack_limit != 0) rt.heap_for_internal_use().set_mark_stack_limit_for_testing(stack_limit);
  Outcome o{};
  rt.on_gc([&](const marrow::GcEvent& e) {
    if (e.kind == marrow::GcKind::kMinor) return;
    o.threads_seen = std::max(o.threads_seen, e.gc_threads);
    o.worker_spans += e.worker_span_count;
    o.busy_recorded |= e.worker_busiest[std::size_t(marrow::GcPhase::kMark)].count() > 0;
  });
  Graph g = build(rt, mt::scaled(64, 8), mt::scaled(2000, 50));
  rt.collect(marrow::GcKind::kMajor);
  rt.collect(marrow::GcKind::kMajor);
  CHECK(intact(g));
  MT_CHECK_SOUND(rt);
  o.old_bytes = rt.stats().old_bytes;
  o.overflows = rt.heap_for_internal_use().mark_stack_overflows();
  return o;
}

}  // namespace

TEST_CASE("1, 2 and 4 GC threads keep the same objects") {
  Outcome serial = run(1, 0);
  CHECK(serial.threads_seen == 1);
  CHECK(serial.worker_spans == 0);
  for (unsigned t : {2u, 4u}) {
    CAPTURE(t);
    Outcome parallel = run(t, 0);
    CHECK(parallel.old_bytes == serial.old_bytes);
    CHECK(parallel.threads_seen == t);
    CHECK(parallel.worker_spans >= t);  // one per worker per parallel phase
    CHECK(parallel.busy_recorded);
  }
}

TEST_CASE("parallel marking survives mark-stack overflow") {
  Outcome serial = run(1, 0);
  Outcome tiny = run(2, 4);  // each worker's stack holds 2 entries: overflow, then rescans
  CHECK(tiny.overflows > 0);
  CHECK(tiny.old_bytes == serial.old_bytes);
}
