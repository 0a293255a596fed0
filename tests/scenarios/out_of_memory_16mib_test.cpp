// A 16 MiB heap limit: allocation fails with marrow::OutOfMemory, the heap stays
// consistent, dropping data lets allocation continue; the near-limit callback can raise
// the limit.
#include <new>
#include <type_traits>

#include "test_support.hpp"

static_assert(std::is_base_of_v<std::bad_alloc, marrow::OutOfMemory>);

namespace {

constexpr std::size_t kLimit = std::size_t{16} << 20;

struct Chunk : marrow::Object {
  static constexpr const char* kTypeName = "Chunk";
  marrow::Member<Chunk> next;
  std::uint64_t id;
  explicit Chunk(std::uint64_t i) : id(i) {}
  void trace(marrow::Tracer& t) { t.visit(next); }
};

/// Chunk size: small objects normally; large ones in stress mode (no copying, few allocations).
std::size_t chunk_extra() {
  return mt::stress() ? (std::size_t{200} << 10) : 1000;
}  // 200 KiB: one 256 KiB run each

/// Appends chunks to the list at holder->next until `limit_bytes` of chunks exist or the heap
/// refuses; returns the number added.
std::size_t fill(marrow::Runtime& rt, marrow::Local<Chunk> holder, std::size_t max_bytes) {
  std::size_t added = 0;
  for (std::size_t bytes = 0; bytes < max_bytes; bytes += chunk_extra()) {
    marrow::HandleScope inner(rt);
    auto c = rt.make_sized<Chunk>(chunk_extra(), added);
    c->next = holder->next;
    holder->next = c;
    ++added;
  }
  return added;
}

}  // namespace

TEST_CASE("allocation beyond a 16 MiB limit throws OutOfMemory; the runtime recovers") {
  marrow::Config cfg;
  cfg.heap_limit_bytes = kLimit;
  marrow::Runtime rt(mt::config(cfg));
  std::size_t added = 0;
  bool caught = false;
  {
    marrow::HandleScope scope(rt);
    auto holder = rt.make<Chunk>(~0ull);
    try {
      fill(rt, holder, std::size_t{64} << 20);
    } catch (const marrow::OutOfMemory& e) {
      caught = true;
      CHECK(std::string(e.what()).find("out of memory") != std::string::npos);
    }
    REQUIRE(caught);
    for (Chunk* c = holder->next.get(); c != nullptr; c = c->next.get()) ++added;
    CAPTURE(added);
    CAPTURE(chunk_extra());
    CHECK(added * chunk_extra() > kLimit / 4);  // the limit was not hit absurdly early
    CHECK(rt.stats().heap_bytes <= kLimit);     // the limit holds after OutOfMemory too
    CHECK(rt.stats().peak_heap_bytes <= kLimit);
    MT_CHECK_SOUND(rt);
    // The list is intact: ids descend.
    std::uint64_t expect = added - 1;
    for (Chunk* c = holder->next.get(); c != nullptr; c = c->next.get(), --expect)
      REQUIRE(c->id == expect);
  }
  // The list is dropped with the scope: allocation works again.
  {
    marrow::HandleScope scope(rt);
    auto holder = rt.make<Chunk>(~0ull);
    std::size_t again = fill(rt, holder, kLimit / 4);
    CHECK(again > 0);
    rt.collect(marrow::GcKind::kMajor);
    MT_CHECK_SOUND(rt);
  }
  // Caught as std::bad_alloc too.
  {
    marrow::HandleScope scope(rt);
    auto holder = rt.make<Chunk>(~0ull);
    bool bad_alloc = false;
    try {
      fill(rt, holder, std::size_t{64} << 20);
    } catch (const std::bad_alloc&) {
      bad_alloc = true;
    }
    CHECK(bad_alloc);
  }
  CHECK(mt::problems(rt).empty());
}

TEST_CASE("a single impossible request under the limit throws OutOfMemory, not a crash") {
  marrow::Config cfg;
  cfg.heap_limit_bytes = kLimit;
  marrow::Runtime rt(mt::config(cfg));
  marrow::HandleScope scope(rt);
  auto keep = rt.make<Chunk>(1);
  CHECK_THROWS_AS(rt.make_sized<Chunk>(std::size_t{32} << 20, 2), marrow::OutOfMemory);
  CHECK(keep->id == 1);
  auto after = rt.make_sized<Chunk>(1000, 3);
  CHECK(after->id == 3);
  MT_CHECK_SOUND(rt);
}

TEST_CASE("the near-limit callback can raise the limit and let allocation continue") {
  marrow::Config cfg;
  cfg.heap_limit_bytes = kLimit;
  marrow::Runtime rt(mt::config(cfg));
  int calls = 0;
  std::size_t seen_limit = 0, seen_needed = 0;
  rt.set_near_heap_limit_callback([&](std::size_t limit, std::size_t needed) -> std::size_t {
    ++calls;
    seen_limit = limit;
    seen_needed = needed;
    return calls == 1 ? std::size_t{48} << 20 : 0;  // raise once, then give up
  });
  marrow::HandleScope scope(rt);
  auto holder = rt.make<Chunk>(~0ull);
  std::size_t added = fill(rt, holder, std::size_t{24} << 20);  // beyond 16 MiB: needs the raise
  CHECK(calls == 1);
  CHECK(seen_limit == kLimit);
  CHECK(seen_needed > kLimit);
  CHECK(added * chunk_extra() >= std::size_t{24} << 20);
  CHECK(rt.stats().heap_bytes > kLimit);
  bool caught = false;
  try {
    fill(rt, holder, std::size_t{200} << 20);
  } catch (const marrow::OutOfMemory&) {
    caught = true;
  }
  CHECK(caught);
  CHECK(calls == 2);
  MT_CHECK_SOUND(rt);
}
