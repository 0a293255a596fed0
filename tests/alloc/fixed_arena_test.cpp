// Tests for FixedArena: bumping through a caller's buffer, exhaustion as an error, LIFO
// reclaim, rewind, in-place resizing, and threads allocating at once without overlap.
#include <marrow/alloc/fixed_arena.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "alloc_model.hpp"

using marrow::AllocError;
using marrow::AllocResult;
using marrow::FixedArena;

TEST_CASE("fixed arena: allocations come from the buffer, aligned") {
  alignas(64) std::byte buffer[1024];
  FixedArena arena(buffer);
  CHECK(arena.capacity() == 1024);
  AllocResult a = arena.allocate(10, 1);
  AllocResult b = arena.allocate(8, 64);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a.ptr == buffer);
  CHECK(b.ptr == buffer + 64);
  CHECK(arena.owns(a.ptr));
  CHECK(arena.owns(buffer + 1023));
  CHECK_FALSE(arena.owns(buffer + 1024));
  CHECK_FALSE(arena.owns(nullptr));
  CHECK(arena.used() == 72);
  CHECK(arena.remaining() == 1024 - 72);
}

TEST_CASE("fixed arena: exhaustion is kExhausted and smaller requests still succeed") {
  alignas(512) std::byte buffer[256];  // so no 512-aligned address lies past its start
  FixedArena arena(buffer);
  REQUIRE(arena.allocate(200, 8));
  AllocResult r = arena.allocate(100, 8);
  CHECK(r.error == AllocError::kExhausted);
  CHECK(r.ptr == nullptr);
  CHECK(arena.used() == 200);  // a failed request consumes nothing
  REQUIRE(arena.allocate(56, 8));
  CHECK(arena.allocate(1, 1).error == AllocError::kExhausted);
  CHECK(arena.allocate(0, 1).error == AllocError::kExhausted);  // even zero needs a byte
  // Alignment padding alone can exhaust the buffer.
  arena.reset();
  REQUIRE(arena.allocate(1, 1));
  CHECK(arena.allocate(1, 512).error == AllocError::kExhausted);
}

TEST_CASE("fixed arena: bad requests and an empty buffer") {
  alignas(16) std::byte buffer[64];
  FixedArena arena(buffer);
  CHECK(arena.allocate(8, 0).error == AllocError::kBadAlignment);
  CHECK(arena.allocate(8, 5).error == AllocError::kBadAlignment);
  CHECK(arena.allocate(SIZE_MAX, 8).error == AllocError::kSizeOverflow);
  CHECK(arena.allocate(SIZE_MAX - 100, 1).error == AllocError::kSizeOverflow);
  CHECK(arena.used() == 0);
  FixedArena none(nullptr, 100);
  CHECK(none.capacity() == 0);
  CHECK(none.allocate(1, 1).error == AllocError::kExhausted);
}

TEST_CASE("fixed arena: zero-size blocks are unique") {
  alignas(16) std::byte buffer[64];
  FixedArena arena(buffer);
  AllocResult a = arena.allocate(0, 1);
  AllocResult b = arena.allocate(0, 1);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a.ptr != b.ptr);
}

TEST_CASE("fixed arena: LIFO deallocate, in-place resize, rewind") {
  alignas(16) std::byte buffer[512];
  FixedArena arena(buffer);
  AllocResult a = arena.allocate(64, 8);
  std::size_t cp = arena.checkpoint();
  AllocResult b = arena.allocate(64, 8);
  arena.deallocate(a.ptr, 64, 8);  // not the newest: stays used
  CHECK(arena.used() == 128);
  CHECK(arena.grow_in_place(b.ptr, 64, 128, 8) == AllocError::kNone);
  CHECK(arena.used() == 192);
  CHECK(arena.grow_in_place(b.ptr, 128, 1024, 8) == AllocError::kNotInPlace);
  CHECK(arena.grow_in_place(a.ptr, 64, 100, 8) == AllocError::kNotInPlace);
  CHECK(arena.shrink_in_place(b.ptr, 128, 32, 8) == AllocError::kNone);
  CHECK(arena.used() == 96);
  arena.deallocate(b.ptr, 32, 8);
  CHECK(arena.used() == 64);
  REQUIRE(arena.allocate(100, 8));
  arena.rewind(cp);
  CHECK(arena.used() == 64);
  AllocResult moved = arena.reallocate(a.ptr, 64, 300, 8);  // newest again: grows in place
  CHECK(moved.ptr == a.ptr);
  arena.reset();
  CHECK(arena.used() == 0);
}

TEST_CASE("fixed arena: random allocate/free/resize against a model") {
  alignas(64) static std::byte buffer[1 << 13];
  for (std::uint64_t seed : {11u, 12u, 13u}) {
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    FixedArena arena(buffer, sizeof buffer);
    marrow::test::BlockModel model;
    void* newest = nullptr;
    std::size_t newest_size = 0;
    std::size_t exhausted = 0;
    for (int step = 0; step < 3000; ++step) {
      int op = std::uniform_int_distribution<int>(0, 9)(rng);
      auto fill = static_cast<unsigned char>(rng());
      if (op < 7) {
        std::size_t size = std::uniform_int_distribution<std::size_t>(0, 200)(rng);
        std::size_t align = marrow::test::random_alignment(rng, 128);
        AllocResult r = arena.allocate(size, align);
        if (!r) {
          REQUIRE(r.error == AllocError::kExhausted);
          ++exhausted;
          continue;
        }
        model.add(r.ptr, size, align, fill);
        newest = r.ptr;
        newest_size = size;
      } else if (op < 9 && newest != nullptr) {
        model.remove(newest);
        arena.deallocate(newest, newest_size, 1);
        newest = nullptr;
      } else if (op == 9 && step % 7 == 0) {
        arena.reset();
        model.clear();
        newest = nullptr;
      }
      REQUIRE(arena.used() <= arena.capacity());
      REQUIRE(arena.used() >= model.bytes());
    }
    model.check_all();
    CHECK(exhausted > 0);  // the run did reach the end of the buffer
  }
}

TEST_CASE("fixed arena: threads allocate concurrently without overlap until exhaustion") {
  constexpr int kThreads = 8;
  constexpr std::size_t kBytes = 1 << 18;
  std::vector<std::byte> storage(kBytes + 64);
  void* base = storage.data();
  std::size_t space = storage.size();
  std::align(64, kBytes, base, space);
  FixedArena arena(base, kBytes);

  struct Block {
    unsigned char* p;
    std::size_t size;
    unsigned char tag;
  };
  std::vector<std::vector<Block>> per_thread(kThreads);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(100 + t);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      int failures = 0;
      while (failures < 50) {
        std::size_t size = std::uniform_int_distribution<std::size_t>(1, 96)(rng);
        std::size_t align = std::size_t{1} << std::uniform_int_distribution<int>(0, 5)(rng);
        AllocResult r = arena.allocate(size, align);
        if (!r) {
          if (r.error != AllocError::kExhausted) return;  // caught by the checks below
          ++failures;
          continue;
        }
        if (!marrow::internal::is_aligned(r.ptr, align)) return;
        auto tag = static_cast<unsigned char>(t * 16 + per_thread[t].size() % 16);
        std::memset(r.ptr, tag, size);
        per_thread[t].push_back({static_cast<unsigned char*>(r.ptr), size, tag});
      }
    });
  }
  go.store(true, std::memory_order_release);
  for (auto& th : threads) th.join();

  std::vector<Block> all;
  std::size_t total = 0;
  for (auto& v : per_thread) {
    for (Block& b : v) {
      all.push_back(b);
      total += b.size;
    }
  }
  std::sort(all.begin(), all.end(), [](const Block& a, const Block& b) { return a.p < b.p; });
  for (std::size_t i = 0; i + 1 < all.size(); ++i) REQUIRE(all[i].p + all[i].size <= all[i + 1].p);
  for (const Block& b : all) {
    for (std::size_t k = 0; k < b.size; ++k) REQUIRE(b.p[k] == b.tag);
  }
  CHECK(all.size() > kBytes / 128);  // most of the buffer was handed out
  CHECK(total <= arena.used());
  CHECK(arena.used() <= arena.capacity());
  CHECK(arena.remaining() < 96 + 32);  // every thread gave up only near the end
}
