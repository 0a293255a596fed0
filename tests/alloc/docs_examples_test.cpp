// The examples of docs/allocators.md, compiled and run: each function here is quoted in
// the document, so CI builds every example it shows. Keep the two in step.
#include <marrow/alloc/arena.hpp>
#include <marrow/alloc/concurrent_pool.hpp>
#include <marrow/alloc/fallback_allocator.hpp>
#include <marrow/alloc/fixed_arena.hpp>
#include <marrow/alloc/object_pool.hpp>
#include <marrow/alloc/pool.hpp>
#include <marrow/alloc/system_allocator.hpp>
#include <marrow/alloc/tracking_allocator.hpp>

#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <memory_resource>
#include <string>
#include <thread>
#include <vector>

namespace docs {

// [example: errors]
bool try_allocate(marrow::Allocator& alloc, std::size_t n) {
  marrow::AllocResult r = alloc.allocate(n, 64);
  if (!r) {
    std::fprintf(stderr, "cannot allocate %zu bytes: %s\n", n, marrow::to_string(r.error).data());
    return false;
  }
  std::memset(r.ptr, 0, n);
  alloc.deallocate(r.ptr, n, 64);
  return true;
}
// [end]

// [example: reallocate]
char* grow_buffer(marrow::Allocator& alloc, char* buf, std::size_t& capacity) {
  marrow::AllocResult r = alloc.reallocate(buf, capacity, capacity * 2, 1);
  if (!r) return nullptr;  // `buf` is still valid and still ours
  capacity *= 2;
  return static_cast<char*>(r.ptr);
}
// [end]

// [example: tracking]
std::string tracked_leak() {
  marrow::TrackingAllocator tracker(marrow::system_allocator(),
                                    marrow::TrackingMode::kRecordAllocations);
  void* kept = tracker.allocate(100, 8).ptr;
  void* freed = tracker.allocate(200, 8).ptr;
  tracker.deallocate(freed, 200, 8);
  std::string report = tracker.leak_report();  // lists the 100-byte block and its age
  tracker.deallocate(kept, 100, 8);
  return report;
}
// [end]

// [example: fallback]
std::size_t sum_with_stack_buffer(int n) {
  alignas(16) std::byte stack[512];
  marrow::FallbackAllocator alloc(stack);  // stack first, then malloc
  auto* numbers = static_cast<int*>(alloc.allocate(n * sizeof(int), alignof(int)).ptr);
  if (numbers == nullptr) return 0;
  std::size_t sum = 0;
  for (int i = 0; i < n; ++i) sum += numbers[i] = i;
  alloc.deallocate(numbers, n * sizeof(int), alignof(int));  // routed by address
  return sum;
}
// [end]

// [example: arena]
struct Token {
  int kind;
  int line;
};

std::size_t arena_basics() {
  marrow::Arena arena;  // 4 KiB first chunk from malloc, doubling up to 1 MiB
  Token* t = arena.create<Token>(Token{1, 10});
  marrow::ArenaCheckpoint cp = arena.checkpoint();
  for (int i = 0; i < 1000; ++i) (void)arena.allocate(64, 16);  // scratch work
  arena.rewind(cp);                                             // the scratch is gone; `t` is not
  {
    marrow::ArenaScope scope(arena);  // the same, as RAII
    (void)arena.allocate(4096, 64);
  }
  std::size_t used = arena.stats().used_bytes;   // just the Token (plus padding)
  arena.reset(marrow::ArenaReset::kKeepChunks);  // everything is gone, chunks kept
  return t != nullptr ? used : 0;
}
// [end]

// [example: pmr]
std::size_t pmr_in_arena() {
  marrow::Arena arena;
  marrow::ArenaResource resource(arena);
  std::pmr::vector<std::pmr::string> names(&resource);
  names.emplace_back("a name too long for the small-string buffer");
  names.emplace_back("another name too long for the small-string buffer");
  return names.size();
}  // the vector's destructor frees into the arena (a no-op); the arena frees it all
// [end]

// [example: fixed_arena]
std::size_t fixed_arena_threads() {
  alignas(64) static std::byte buffer[64 * 1024];
  marrow::FixedArena arena(buffer);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&arena] {
      while (arena.allocate(48, 16)) {
      }  // until kExhausted
    });
  }
  for (auto& t : threads) t.join();
  return arena.used();  // close to the whole buffer, no block shared
}
// [end]

// [example: pool]
bool pool_reuse() {
  marrow::Pool pool(48, 16);  // 48-byte blocks, 16-aligned
  void* a = pool.allocate_block().ptr;
  pool.deallocate_block(a);
  void* b = pool.allocate_block().ptr;  // the block just freed
  pool.deallocate_block(b);
  return a == b;
}
// [end]

// [example: object_pool]
struct Node {
  explicit Node(int v) : value(v) {}
  int value;
  std::vector<Node*> edges;  // owns heap memory: ~Node must run, and does
};

int object_pool_nodes() {
  marrow::ObjectPool<Node> nodes;
  marrow::PoolPtr<Node> root = nodes.make(1);
  Node* child = nodes.construct(2);  // manual lifetime
  root->edges.push_back(child);
  int sum = root->value + child->value;
  nodes.destroy(child);
  return sum;
}  // `root` destroys its Node and returns the block before `nodes` dies
// [end]

// [example: concurrent_pool]
std::size_t concurrent_pool_workers() {
  marrow::ConcurrentPool pool(64, 16);
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&pool] {
      marrow::ConcurrentPool::Cache cache(pool);  // one per thread
      for (int i = 0; i < 1000; ++i) {
        void* p = cache.allocate().ptr;
        cache.deallocate(p);
      }
    });  // the cache hands its blocks back here
  }
  for (auto& w : workers) w.join();
  return pool.stats().live_blocks;  // 0
}
// [end]

}  // namespace docs

TEST_CASE("docs: errors are values") {
  CHECK(docs::try_allocate(marrow::system_allocator(), 1000));
  CHECK_FALSE(docs::try_allocate(marrow::system_allocator(), SIZE_MAX));
}

TEST_CASE("docs: reallocate keeps the buffer on failure") {
  alignas(16) std::byte storage[64];
  marrow::FixedArena arena(storage);
  std::size_t capacity = 16;
  char* buf = static_cast<char*>(arena.allocate(capacity, 1).ptr);
  std::strcpy(buf, "hello");
  buf = docs::grow_buffer(arena, buf, capacity);
  REQUIRE(buf != nullptr);
  CHECK(capacity == 32);
  CHECK(std::strcmp(buf, "hello") == 0);
  CHECK(docs::grow_buffer(arena, buf, capacity) == buf);  // 64 bytes: exactly fits in place
  CHECK(docs::grow_buffer(arena, buf, capacity) == nullptr);
  CHECK(capacity == 64);
}

TEST_CASE("docs: tracking leak report") {
  std::string report = docs::tracked_leak();
  CHECK(report.find("1 live blocks, 100 bytes") != std::string::npos);
  CHECK(report.find("#1: 100 bytes") != std::string::npos);
}

TEST_CASE("docs: fallback allocator") {
  CHECK(docs::sum_with_stack_buffer(10) == 45);        // fits the stack buffer
  CHECK(docs::sum_with_stack_buffer(1000) == 499500);  // goes to malloc
}

TEST_CASE("docs: arena basics and pmr") {
  std::size_t used = docs::arena_basics();
  CHECK(used >= sizeof(docs::Token));
  CHECK(used < 64);
  CHECK(docs::pmr_in_arena() == 2);
}

TEST_CASE("docs: fixed arena, pools") {
  CHECK(docs::fixed_arena_threads() > 60 * 1024);
  CHECK(docs::pool_reuse());
  CHECK(docs::object_pool_nodes() == 3);
  CHECK(docs::concurrent_pool_workers() == 0);
}
