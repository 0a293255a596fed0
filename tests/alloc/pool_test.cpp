// Tests for Pool: block rounding, LIFO recycling, chunk growth, the max_blocks budget,
// requests that do not fit a block, bad configurations, statistics, ownership, release,
// poisoning, and a randomized allocate/free run against a model.
#include <marrow/alloc/fixed_arena.hpp>
#include <marrow/alloc/pool.hpp>
#include <marrow/alloc/tracking_allocator.hpp>

#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <set>
#include <vector>

#include "alloc_model.hpp"

using marrow::AllocError;
using marrow::AllocResult;
using marrow::Pool;

TEST_CASE("pool: block size and alignment are rounded for the free-list link") {
  Pool tiny(1, 1);
  CHECK(tiny.block_size() == sizeof(void*));
  CHECK(tiny.block_align() == alignof(void*));
  Pool odd(20, 16);
  CHECK(odd.block_size() == 32);
  CHECK(odd.block_align() == 16);
  Pool zero(0, 8);
  CHECK(zero.block_size() == sizeof(void*));
  AllocResult r = zero.allocate_block();
  REQUIRE(r);
  zero.deallocate_block(r.ptr);
}

TEST_CASE("pool: freed blocks are reused LIFO and blocks never overlap") {
  Pool pool(48, 16);
  std::vector<void*> blocks;
  for (int i = 0; i < 200; ++i) {
    AllocResult r = pool.allocate_block();
    REQUIRE(r);
    CHECK(marrow::internal::is_aligned(r.ptr, 16));
    CHECK(pool.owns(r.ptr));
    std::memset(r.ptr, i, 48);
    blocks.push_back(r.ptr);
  }
  std::set<void*> distinct(blocks.begin(), blocks.end());
  CHECK(distinct.size() == 200);
  for (int i = 0; i < 200; ++i) REQUIRE(static_cast<unsigned char*>(blocks[i])[47] == i);
  pool.deallocate_block(blocks[10]);
  pool.deallocate_block(blocks[20]);
  CHECK(pool.allocate_block().ptr == blocks[20]);
  CHECK(pool.allocate_block().ptr == blocks[10]);
  for (void* p : blocks) pool.deallocate_block(p);
  CHECK(pool.stats().live_blocks == 0);
}

TEST_CASE("pool: chunks grow geometrically up to the cap") {
  marrow::TrackingAllocator upstream;
  Pool pool(32, 8, {.initial_chunk_blocks = 4, .max_chunk_blocks = 16}, upstream);
  std::vector<void*> blocks;
  for (int i = 0; i < 4 + 8 + 16 + 16; ++i) blocks.push_back(pool.allocate_block().ptr);
  marrow::PoolStats s = pool.stats();
  CHECK(s.chunk_count == 4);
  CHECK(s.total_blocks == 44);
  CHECK(s.live_blocks == 44);
  CHECK(s.free_blocks == 0);
  CHECK(upstream.stats().live_allocations == 4);
  CHECK(s.reserved_bytes == upstream.stats().current_bytes);
  blocks.push_back(pool.allocate_block().ptr);
  CHECK(pool.stats().chunk_count == 5);
  CHECK(pool.stats().free_blocks == 15);
  for (void* p : blocks) pool.deallocate_block(p);
  s = pool.stats();
  CHECK(s.free_blocks == s.total_blocks);
  pool.release();
  CHECK(upstream.stats().live_allocations == 0);
  CHECK(pool.stats().total_blocks == 0);
  REQUIRE(pool.allocate_block());  // usable after release
}

TEST_CASE("pool: max_blocks is a budget; past it allocation is kExhausted") {
  Pool pool(16, 8, {.initial_chunk_blocks = 3, .max_blocks = 5});
  std::vector<void*> blocks;
  for (int i = 0; i < 5; ++i) {
    AllocResult r = pool.allocate_block();
    REQUIRE(r);
    blocks.push_back(r.ptr);
  }
  AllocResult r = pool.allocate_block();
  CHECK(r.error == AllocError::kExhausted);
  CHECK(pool.stats().total_blocks == 5);
  pool.deallocate_block(blocks.back());
  CHECK(pool.allocate_block().ptr == blocks.back());  // a freed block is available again
}

TEST_CASE("pool: as an Allocator it serves what fits a block") {
  Pool pool(64, 16);
  AllocResult a = pool.allocate(64, 16);
  REQUIRE(a);
  AllocResult small = pool.allocate(0, 1);
  REQUIRE(small);
  CHECK(small.ptr != a.ptr);
  CHECK(pool.allocate(65, 8).error == AllocError::kUnsupported);
  CHECK(pool.allocate(8, 32).error == AllocError::kUnsupported);
  CHECK(pool.allocate(8, 3).error == AllocError::kBadAlignment);
  CHECK(pool.allocate(SIZE_MAX, 8).error == AllocError::kSizeOverflow);
  CHECK(pool.grow_in_place(a.ptr, 10, 64, 16) == AllocError::kNone);
  CHECK(pool.grow_in_place(a.ptr, 64, 65, 16) == AllocError::kNotInPlace);
  CHECK(pool.shrink_in_place(a.ptr, 64, 1, 16) == AllocError::kNone);
  AllocResult same = pool.reallocate(a.ptr, 10, 60, 16);
  CHECK(same.ptr == a.ptr);
  CHECK(pool.reallocate(a.ptr, 60, 100, 16).error == AllocError::kUnsupported);
  pool.deallocate(a.ptr, 60, 16);
  pool.deallocate(small.ptr, 0, 1);
  CHECK(pool.stats().live_blocks == 0);
}

TEST_CASE("pool: a bad configuration fails every allocation with its reason") {
  Pool bad_align(16, 24);
  CHECK(bad_align.allocate_block().error == AllocError::kBadAlignment);
  CHECK(bad_align.allocate(8, 8).error == AllocError::kBadAlignment);
  Pool too_big(SIZE_MAX - 8, 8);
  CHECK(too_big.allocate_block().error == AllocError::kSizeOverflow);
  CHECK(too_big.stats().chunk_count == 0);
}

TEST_CASE("pool: upstream failure is reported") {
  alignas(16) std::byte buffer[512];
  marrow::FixedArena upstream(buffer);
  Pool pool(64, 8, {.initial_chunk_blocks = 4}, upstream);
  for (int i = 0; i < 4; ++i) REQUIRE(pool.allocate_block());
  CHECK(pool.allocate_block().error == AllocError::kExhausted);  // 8 more blocks won't fit
}

TEST_CASE("pool: owns tells blocks from interior and foreign pointers") {
  Pool pool(32, 8);
  AllocResult a = pool.allocate_block();
  int local = 0;
  CHECK(pool.owns(a.ptr));
  CHECK_FALSE(pool.owns(static_cast<char*>(a.ptr) + 8));
  CHECK_FALSE(pool.owns(&local));
  pool.deallocate_block(a.ptr);
}

TEST_CASE("pool: freed blocks are poisoned") {
  Pool pool(64, 8);
  AllocResult a = pool.allocate_block();
  AllocResult b = pool.allocate_block();
  std::memset(a.ptr, 0, 64);
  pool.deallocate_block(a.ptr);
  using marrow::internal::PoisonMode;
  auto* bytes = static_cast<unsigned char*>(a.ptr);
  if constexpr (marrow::internal::kPoisonMode == PoisonMode::kAsan) {
    CHECK(marrow::internal::is_poisoned(bytes));  // the link word too
    CHECK(marrow::internal::is_poisoned(bytes + 63));
    CHECK_FALSE(marrow::internal::is_poisoned(b.ptr));
  } else if constexpr (marrow::internal::kPoisonMode == PoisonMode::kPattern) {
    for (int i = sizeof(void*); i < 64; ++i) REQUIRE(bytes[i] == marrow::internal::kPoisonByte);
  }
  CHECK(pool.stats().free_blocks > 0);  // walking the poisoned free list is fine
  AllocResult again = pool.allocate_block();
  CHECK(again.ptr == a.ptr);
  std::memset(again.ptr, 1, 64);  // addressable again
  pool.deallocate_block(again.ptr);
  pool.deallocate_block(b.ptr);
}

TEST_CASE("pool: random allocate/free against a model") {
  for (std::uint64_t seed : {31u, 32u, 33u}) {
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    marrow::TrackingAllocator upstream;
    marrow::test::BlockModel model;
    {
      Pool pool(40, 8, {.initial_chunk_blocks = 8, .max_chunk_blocks = 64}, upstream);
      for (int step = 0; step < 5000; ++step) {
        bool alloc = std::uniform_int_distribution<int>(0, 99)(rng) < (step % 1000 < 600 ? 70 : 30);
        if (alloc || model.empty()) {
          AllocResult r = pool.allocate_block();
          REQUIRE(r);
          model.add(r.ptr, 40, 8, static_cast<unsigned char>(rng()));
        } else {
          std::size_t i = std::uniform_int_distribution<std::size_t>(0, model.count() - 1)(rng);
          marrow::test::ModelBlock b = model.remove(model.at(i).ptr);
          pool.deallocate_block(b.ptr);
        }
        if (step % 100 == 0) {
          marrow::PoolStats s = pool.stats();
          REQUIRE(s.live_blocks == model.count());
          REQUIRE(s.free_blocks + s.live_blocks == s.total_blocks);
          REQUIRE(s.reserved_bytes == upstream.stats().current_bytes);
        }
      }
      model.check_all();
    }
    CHECK(upstream.stats().live_allocations == 0);  // the destructor released every chunk
  }
}
