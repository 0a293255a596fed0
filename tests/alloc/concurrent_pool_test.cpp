// Tests for ConcurrentPool: single-threaded behaviour, caches refilling and spilling in
// batches, many threads allocating and freeing (also across threads), and the budget.
#include <marrow/alloc/concurrent_pool.hpp>
#include <marrow/alloc/tracking_allocator.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

using marrow::AllocError;
using marrow::AllocResult;
using marrow::ConcurrentPool;

TEST_CASE("concurrent pool: the locked path behaves like a pool") {
  ConcurrentPool pool(40, 8);
  CHECK(pool.block_size() == 40);
  AllocResult a = pool.allocate_block();
  AllocResult b = pool.allocate(16, 8);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a.ptr != b.ptr);
  CHECK(pool.allocate(41, 8).error == AllocError::kUnsupported);
  CHECK(pool.allocate(8, 6).error == AllocError::kBadAlignment);
  CHECK(pool.grow_in_place(a.ptr, 8, 40, 8) == AllocError::kNone);
  CHECK(pool.shrink_in_place(a.ptr, 40, 8, 8) == AllocError::kNone);
  CHECK(pool.stats().live_blocks == 2);
  pool.deallocate_block(a.ptr);
  pool.deallocate(b.ptr, 16, 8);
  pool.deallocate_block(nullptr);
  CHECK(pool.stats().live_blocks == 0);
}

TEST_CASE("concurrent pool: a cache refills and spills in batches") {
  ConcurrentPool pool(32, 8);
  ConcurrentPool::Cache cache(pool);
  AllocResult a = cache.allocate();
  REQUIRE(a);
  CHECK(cache.cached() == ConcurrentPool::kCacheBatch - 1);
  CHECK(pool.stats().live_blocks == ConcurrentPool::kCacheBatch);  // cached count as in use
  std::vector<void*> blocks{a.ptr};
  for (std::size_t i = 0; i < 100; ++i) blocks.push_back(cache.allocate().ptr);
  std::set<void*> distinct(blocks.begin(), blocks.end());
  CHECK(distinct.size() == blocks.size());
  for (void* p : blocks) cache.deallocate(p);
  CHECK(cache.cached() <= ConcurrentPool::kCacheCapacity);
  CHECK(pool.stats().live_blocks == cache.cached());
  cache.flush();
  CHECK(cache.cached() == 0);
  CHECK(pool.stats().live_blocks == 0);
}

TEST_CASE("concurrent pool: a cache reports exhaustion, and partial refills work") {
  ConcurrentPool pool(16, 8, {.initial_chunk_blocks = 4, .max_blocks = 10});
  ConcurrentPool::Cache cache(pool);
  std::vector<void*> blocks;
  for (int i = 0; i < 10; ++i) {
    AllocResult r = cache.allocate();
    REQUIRE(r);
    blocks.push_back(r.ptr);
  }
  AllocResult r = cache.allocate();
  CHECK(r.error == AllocError::kExhausted);
  CHECK(pool.allocate_block().error == AllocError::kExhausted);
  for (void* p : blocks) cache.deallocate(p);
}

TEST_CASE("concurrent pool: many threads, with and without caches, never share a block") {
  marrow::TrackingAllocator upstream;
  {
    ConcurrentPool pool(64, 16, {}, upstream);
    constexpr int kThreads = 8;
    constexpr int kOps = 20000;
    std::atomic<int> errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937 rng(static_cast<unsigned>(t));
        bool cached = t % 2 == 0;
        ConcurrentPool::Cache cache(pool);
        std::vector<std::uint64_t*> mine;
        for (int i = 0; i < kOps; ++i) {
          if (mine.size() < 8 || (mine.size() < 500 && rng() % 2 == 0)) {
            AllocResult r = cached ? cache.allocate() : pool.allocate_block();
            if (!r || !marrow::internal::is_aligned(r.ptr, 16)) {
              ++errors;
              continue;
            }
            auto* words = static_cast<std::uint64_t*>(r.ptr);
            // Stamp all 8 words: another thread holding this block would overwrite them.
            for (int w = 0; w < 8; ++w) words[w] = (std::uint64_t(t) << 32) | std::uint32_t(i);
            mine.push_back(words);
          } else {
            std::size_t k = rng() % mine.size();
            std::uint64_t* words = mine[k];
            for (int w = 1; w < 8; ++w) {
              if (words[w] != words[0] || (words[0] >> 32) != std::uint64_t(t)) ++errors;
            }
            mine[k] = mine.back();
            mine.pop_back();
            if (cached) {
              cache.deallocate(words);
            } else {
              pool.deallocate_block(words);
            }
          }
        }
        for (std::uint64_t* p : mine) pool.deallocate_block(p);
      });
    }
    for (auto& th : threads) th.join();
    CHECK(errors.load() == 0);
    marrow::PoolStats s = pool.stats();
    CHECK(s.live_blocks == 0);
    CHECK(s.free_blocks == s.total_blocks);
    CHECK(s.total_blocks <= kThreads * (500 + ConcurrentPool::kCacheCapacity) + 4096);
  }
  CHECK(upstream.stats().live_allocations == 0);
}

TEST_CASE("concurrent pool: blocks allocated on one thread are freed on another") {
  ConcurrentPool pool(24, 8);
  constexpr int kItems = 20000;
  std::mutex m;
  std::vector<void*> queue;
  std::atomic<bool> done{false};
  std::atomic<int> consumed{0};
  std::thread producer([&] {
    ConcurrentPool::Cache cache(pool);
    for (int i = 0; i < kItems; ++i) {
      AllocResult r = cache.allocate();
      REQUIRE(r);
      *static_cast<int*>(r.ptr) = i;
      std::lock_guard lock(m);
      queue.push_back(r.ptr);
    }
    done = true;
  });
  std::thread consumer([&] {
    ConcurrentPool::Cache cache(pool);
    long long sum = 0;
    while (true) {
      std::vector<void*> batch;
      {
        std::lock_guard lock(m);
        batch.swap(queue);
      }
      for (void* p : batch) {
        sum += *static_cast<int*>(p);
        cache.deallocate(p);
        ++consumed;
      }
      if (batch.empty() && done) {
        std::lock_guard lock(m);
        if (queue.empty()) break;
      }
    }
    CHECK(sum == static_cast<long long>(kItems) * (kItems - 1) / 2);
  });
  producer.join();
  consumer.join();
  CHECK(consumed.load() == kItems);
  CHECK(pool.stats().live_blocks == 0);
}
