// Tests for ObjectPool and PoolPtr: construction and destruction, RAII release, moves,
// constructor exceptions, and allocation failure as an empty handle.
#include <marrow/alloc/object_pool.hpp>

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

int g_live = 0;  // Counted instances, to see constructors and destructors run.

struct Counted {
  explicit Counted(int v) : value(v) {
    if (v < 0) throw std::invalid_argument("negative");
    ++g_live;
  }
  ~Counted() { --g_live; }
  int value;
  std::string name = "a heap-allocating member, freed only if ~Counted runs";
};

}  // namespace

TEST_CASE("object pool: construct and destroy run constructor and destructor") {
  g_live = 0;
  marrow::ObjectPool<Counted> pool;
  Counted* a = pool.construct(1);
  Counted* b = pool.construct(2);
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  CHECK(a->value == 1);
  CHECK(g_live == 2);
  CHECK(pool.live() == 2);
  pool.destroy(a);
  CHECK(g_live == 1);
  CHECK(pool.live() == 1);
  Counted* c = pool.construct(3);
  CHECK(c == a);  // the block is recycled
  pool.destroy(b);
  pool.destroy(c);
  pool.destroy(nullptr);
  CHECK(g_live == 0);
  CHECK(pool.live() == 0);
}

TEST_CASE("object pool: PoolPtr destroys on scope exit, moves, resets and releases") {
  g_live = 0;
  marrow::ObjectPool<Counted> pool;
  {
    marrow::PoolPtr<Counted> p = pool.make(7);
    REQUIRE(p);
    CHECK(p->value == 7);
    CHECK((*p).value == 7);
    marrow::PoolPtr<Counted> q = std::move(p);
    CHECK_FALSE(p);
    CHECK(q.get()->value == 7);
    CHECK(g_live == 1);
    marrow::PoolPtr<Counted> r = pool.make(8);
    r = std::move(q);  // r's old object is destroyed
    CHECK(g_live == 1);
    CHECK(r->value == 7);
    r.reset();
    CHECK(g_live == 0);
    CHECK_FALSE(r);
    marrow::PoolPtr<Counted> s = pool.make(9);
    Counted* raw = s.release();
    CHECK_FALSE(s);
    CHECK(g_live == 1);
    pool.destroy(raw);
    marrow::PoolPtr<Counted> t = pool.make(10);
  }
  CHECK(g_live == 0);
  CHECK(pool.live() == 0);
}

TEST_CASE("object pool: a throwing constructor recycles its block") {
  g_live = 0;
  marrow::ObjectPool<Counted> pool;
  CHECK_THROWS_AS(pool.construct(-1), std::invalid_argument);
  CHECK(pool.live() == 0);
  CHECK_THROWS_AS(pool.make(-1), std::invalid_argument);
  CHECK(pool.live() == 0);
  CHECK(g_live == 0);
}

TEST_CASE("object pool: exhaustion gives null and an empty PoolPtr") {
  g_live = 0;
  marrow::ObjectPool<Counted> pool({.initial_chunk_blocks = 2, .max_blocks = 2});
  marrow::PoolPtr<Counted> a = pool.make(1);
  marrow::PoolPtr<Counted> b = pool.make(2);
  CHECK(a);
  CHECK(b);
  CHECK(pool.construct(3) == nullptr);
  marrow::PoolPtr<Counted> c = pool.make(3);
  CHECK_FALSE(c);
  CHECK(g_live == 2);
  a.reset();
  CHECK(pool.make(4));
}

TEST_CASE("object pool: objects are aligned for their type") {
  struct alignas(64) Wide {
    char bytes[100];
  };
  marrow::ObjectPool<Wide> pool;
  std::vector<Wide*> objects;
  for (int i = 0; i < 20; ++i) {
    Wide* w = pool.construct();
    REQUIRE(w != nullptr);
    CHECK(marrow::internal::is_aligned(w, 64));
    objects.push_back(w);
  }
  CHECK(pool.pool().block_size() == 128);
  for (Wide* w : objects) pool.destroy(w);
}
