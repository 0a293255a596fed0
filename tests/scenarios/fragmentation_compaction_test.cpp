// Fill ~64 MiB with objects, drop every other one, compact: committed memory and RSS
// fall, pages go back to the OS, every survivor is intact.
#include <unistd.h>
#include <fstream>

#include "test_support.hpp"

namespace {

struct Payload : marrow::Object {
  static constexpr const char* kTypeName = "Payload";
  std::uint64_t id;
  marrow::Member<marrow::Value> value;
  explicit Payload(std::uint64_t i) : id(i) {}
  void trace(marrow::Tracer& t) { t.visit(value); }
  unsigned char* tail() { return reinterpret_cast<unsigned char*>(this) + sizeof(Payload); }
};

std::size_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  std::size_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

constexpr std::size_t kSlotsPerTable = 16384;  // 128 KiB tables: each within one page run

}  // namespace

TEST_CASE("fragmentation is removed by compaction and memory is returned") {
  marrow::Config cfg;
  cfg.page_reserve = 0;
  marrow::Runtime rt(mt::config(cfg));
  const std::size_t total = mt::scaled(std::size_t{64} << 20, std::size_t{2} << 20);
  const std::size_t extra = mt::stress() ? 1000 : 232;  // 256-byte objects normally
  const std::size_t object_bytes = sizeof(Payload) + 8 + extra;
  const std::size_t count = total / object_bytes;
  const std::size_t tables = (count + kSlotsPerTable - 1) / kSlotsPerTable;

  marrow::HandleScope scope(rt);
  auto dir = rt.make_sized<mt::Table>(0, 0);
  std::vector<marrow::Local<mt::Table>> parts;
  for (std::size_t t = 0; t < tables; ++t)
    parts.push_back(rt.make_sized<mt::Table>(mt::table_extra(kSlotsPerTable), kSlotsPerTable));
  (void)dir;
  // Table slots are Member<Node>; store Payloads through an Object-typed view.
  auto slot = [&](std::size_t i) -> marrow::Member<marrow::Object>& {
    return reinterpret_cast<marrow::Member<marrow::Object>&>(
        parts[i / kSlotsPerTable]->at(i % kSlotsPerTable));
  };
  for (std::size_t i = 0; i < count; ++i) {
    marrow::HandleScope inner(rt);
    auto p = rt.make_sized<Payload>(extra, static_cast<std::uint64_t>(i));
    p->value = marrow::Value::number(static_cast<double>(i) + 0.25);
    for (std::size_t b = 0; b < extra; b += 29)
      p->tail()[b] = static_cast<unsigned char>(i * 7 + b);
    slot(i) = p;
  }
  rt.collect(marrow::GcKind::kMajor);
  auto s1 = rt.stats();
  const std::size_t rss1 = rss_bytes();
  CHECK(s1.old_bytes >= count * object_bytes);

  for (std::size_t i = 0; i < count; i += 2) slot(i) = nullptr;
  rt.collect(marrow::GcKind::kCompact);
  auto s2 = rt.stats();
  const std::size_t rss2 = rss_bytes();
  const std::size_t dropped = (count / 2) * object_bytes;
  MESSAGE("heap " << s1.heap_bytes << " -> " << s2.heap_bytes << ", rss " << rss1 << " -> " << rss2
                  << ", pages returned " << s1.pages_returned << " -> " << s2.pages_returned);
  CHECK(s2.heap_bytes + dropped * 3 / 4 < s1.heap_bytes);
  CHECK(s2.pages_returned > s1.pages_returned);
  CHECK(s2.compactions == s1.compactions + 1);
  if (!mt::stress()) CHECK(rss2 + dropped / 2 < rss1);

  for (std::size_t i = 1; i < count; i += 2) {
    auto* p = static_cast<Payload*>(slot(i).get());
    REQUIRE(p != nullptr);
    REQUIRE(p->id == i);
    REQUIRE(p->value.get().as_number() == static_cast<double>(i) + 0.25);
    for (std::size_t b = 0; b < extra; b += 29)
      REQUIRE(p->tail()[b] == static_cast<unsigned char>(i * 7 + b));
  }
  for (std::size_t i = 0; i < count; i += 2) REQUIRE(slot(i).get() == nullptr);
  MT_CHECK_SOUND(rt);
}
