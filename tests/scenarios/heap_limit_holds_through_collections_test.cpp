// A heap limit is a limit: committed memory never exceeds it, not during the promotion of
// a minor collection nor after OutOfMemory, and large objects are charged what they use,
// not a whole page run each.
#include <algorithm>
#include <vector>

#include "test_support.hpp"

namespace {

/// Records the largest committed size any collection saw, before or after.
struct PeakWatch {
  std::size_t peak = 0;
  void attach(marrow::Runtime& rt) {
    rt.on_gc([this](const marrow::GcEvent& e) {
      peak = std::max({peak, e.bytes_before, e.bytes_after});
    });
  }
};

/// Builds a list of Tables (each `slots` Member slots) until OutOfMemory; returns its length.
std::size_t fill_until_oom(marrow::Runtime& rt, marrow::Local<mt::Node> head, std::size_t slots) {
  std::size_t n = 0;
  try {
    for (;; ++n) {
      marrow::HandleScope inner(rt);
      auto link = rt.make<mt::Node>(static_cast<std::int64_t>(n));
      link->value =
          marrow::Value::object(rt.make_sized<mt::Table>(mt::table_extra(slots), slots).get());
      link->next = head->next;
      head->next = link;
    }
  } catch (const marrow::OutOfMemory&) {
  }
  return n;
}

}  // namespace

TEST_CASE("an 8 MiB limit holds through promotion, at OutOfMemory and after it") {
  marrow::Config cfg;
  cfg.heap_limit_bytes = mt::scaled(8 << 20, 2 << 20);
  marrow::Runtime rt(mt::config(cfg));
  PeakWatch watch;
  watch.attach(rt);
  marrow::HandleScope scope(rt);
  auto head = rt.make<mt::Node>(-1);
  // Small survivors, so every minor collection promotes a nursery-full of live data.
  std::size_t n = fill_until_oom(rt, head, mt::scaled(8, 200));
  CAPTURE(n);
  CHECK(n > 0);
  CHECK(watch.peak <= cfg.heap_limit_bytes);
  CHECK(rt.stats().peak_heap_bytes <= cfg.heap_limit_bytes);
  CHECK(rt.stats().heap_bytes <= cfg.heap_limit_bytes);  // after OutOfMemory too
  // Not absurdly early: the list got at least a quarter of the limit.
  std::size_t per_link =
      2 * 8 + sizeof(mt::Node) + sizeof(mt::Table) + mt::table_extra(mt::scaled(8, 200));
  CHECK(n * per_link > cfg.heap_limit_bytes / 4);
  MT_CHECK_SOUND(rt);
  // Dropping the data lets allocation continue, within the limit.
  head->next = nullptr;
  std::size_t again = fill_until_oom(rt, head, mt::scaled(8, 200));
  CHECK(again > n / 2);
  CHECK(rt.stats().peak_heap_bytes <= cfg.heap_limit_bytes);
}

TEST_CASE("large objects are charged what they use against the limit") {
  marrow::Config cfg;
  cfg.heap_limit_bytes = mt::scaled(64 << 20, 8 << 20);
  cfg.nursery_bytes = 1 << 20;  // the limit is for the large objects, not for eden
  marrow::Runtime rt(mt::config(cfg));
  marrow::HandleScope scope(rt);
  auto head = rt.make<mt::Node>(-1);
  constexpr std::size_t kSlots = 9 * 1024 / 8;  // 9 KiB: a large object, one page run each
  std::size_t n = fill_until_oom(rt, head, kSlots);
  CAPTURE(n);
  // Each is charged its 9 KiB plus the run's descriptor, rounded to 4 KiB: 16 KiB. A whole
  // 256 KiB run each would hold 250 at 64 MiB (31 at 8 MiB).
  CHECK(n >= cfg.heap_limit_bytes / (std::size_t{24} << 10));
  CHECK(rt.stats().heap_bytes <= cfg.heap_limit_bytes);
  MT_CHECK_SOUND(rt);
  head->next = nullptr;
  rt.collect(marrow::GcKind::kMajor);
  CHECK(rt.stats().large_bytes == 0);
}
