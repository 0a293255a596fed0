// Parallel minor collections keep exactly what the serial collector keeps: young lists
// hung from an old table's slots (the remembered set), from handles and from each other,
// collected with 1, 2 and 4 GC threads, leave the same bytes copied and an intact graph,
// through to-space overflow (promotion before the tenure age) and aging to old space.
#include <vector>

#include "test_support.hpp"

namespace {

struct Outcome {
  std::size_t copied;  ///< bytes survived + promoted over all minor collections
  std::size_t old_bytes;
  unsigned threads_seen;
  bool busy_recorded;
};

/// Young lists of `length` nodes with garbage between them, hung from every slot of an old
/// table, cross-linked (list w points at list w - 1), with `rounds` minor collections.
Outcome run(unsigned threads, std::size_t survivor_bytes, int rounds) {
  marrow::Config cfg = mt::config();
  cfg.gc_threads = threads;
  cfg.nursery_bytes = std::size_t{4} << 20;
  cfg.survivor_bytes = survivor_bytes;
  marrow::Runtime rt(cfg);
  Outcome o{};
  rt.on_gc([&](const marrow::GcEvent& e) {
    if (e.kind != marrow::GcKind::kMinor) return;
    o.threads_seen = std::max(o.threads_seen, e.gc_threads);
    o.busy_recorded |= e.worker_busiest[std::size_t(marrow::GcPhase::kEvacuate)].count() > 0;
  });
  const std::size_t width = mt::scaled(256, 16);
  const std::size_t length = mt::scaled(200, 10);
  marrow::HandleScope scope(rt);
  marrow::Global<mt::Table> table(rt, rt.make_sized<mt::Table>(mt::table_extra(width), width));
  rt.collect(marrow::GcKind::kMajor);  // the table is old: its slots are remembered
  REQUIRE(mt::space_of(rt, table.get()) == marrow::Space::kOld);
  mt::hang_lists(rt, table, length);
  marrow::Local<mt::Node> held = rt.local(table->at(0).get());  // a handle root, too
  const marrow::HeapStats before = rt.stats();
  for (int r = 0; r < rounds; ++r) rt.collect(marrow::GcKind::kMinor);
  const marrow::HeapStats& after = rt.stats();
  o.copied = (after.bytes_survived - before.bytes_survived) +
             (after.bytes_promoted - before.bytes_promoted);
  o.old_bytes = after.old_bytes;
  CHECK(held.get() == table->at(0).get());
  CHECK(mt::lists_intact(table.get(), length));
  MT_CHECK_SOUND(rt);
  return o;
}

}  // namespace

TEST_CASE("1, 2 and 4 GC threads copy the same young objects") {
  // Roomy survivor spaces, then survivor spaces too small for the survivors (promotion
  // early), each over enough rounds that everything ages into old space.
  for (std::size_t survivor : {std::size_t{2} << 20, std::size_t{64} << 10}) {
    CAPTURE(survivor);
    const int rounds = 20;
    Outcome serial = run(1, survivor, rounds);
    CHECK(serial.threads_seen == 1);
    CHECK(serial.copied > 0);
    for (unsigned t : {2u, 4u}) {
      CAPTURE(t);
      Outcome parallel = run(t, survivor, rounds);
      // With room, every survivor ages the same way; with too little, which ones are
      // promoted early depends on how the workers' to-space buffers filled (their unused
      // ends), so only the end state must agree.
      if (survivor > (std::size_t{1} << 20)) CHECK(parallel.copied == serial.copied);
      CHECK(parallel.old_bytes == serial.old_bytes);
      CHECK(parallel.threads_seen == t);
      CHECK(parallel.busy_recorded);
    }
  }
}
