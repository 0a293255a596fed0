// ConcurrentPool: a fixed-size pool that many threads allocate from and free to, built as
// a Pool behind one mutex plus explicit per-thread caches that move blocks in batches.
// Correctness first: no lock-free free list (ABA), no hidden thread_local state.
#pragma once

#include <array>
#include <cstddef>
#include <mutex>

#include <marrow/alloc/allocator.hpp>
#include <marrow/alloc/poison.hpp>
#include <marrow/alloc/pool.hpp>
#include <marrow/alloc/system_allocator.hpp>

namespace marrow {

/// A thread-safe fixed-size pool.
///
/// Design: the blocks live in an ordinary Pool (the central free list and chunk growth)
/// guarded by one mutex. Threads that allocate often each own a ConcurrentPool::Cache,
/// which keeps up to kCacheCapacity blocks privately and takes or returns kCacheBatch of
/// them per lock, so the mutex is taken once per kCacheBatch operations. Without a cache,
/// allocate_block() / deallocate_block() lock on every call -- still correct, just slower
/// under contention.
///
/// Why not a lock-free (Treiber) free list: popping reads the link of a block another
/// thread may have just taken and be writing (a data race on plain memory, and a read of
/// poisoned memory under ASan), and ABA needs tagged pointers or hazard pointers. Why not
/// implicit thread_local caches: per-instance thread_local state needs a registry to
/// flush caches when threads or pools die. Explicit caches state their lifetime.
///
/// - The upstream allocator is only called under the mutex, so it need not be
///   thread-safe itself.
/// - A block may be freed by any thread, through the pool or any cache of the pool.
/// - A Cache belongs to one thread at a time and must not outlive its pool.
/// - PoolOptions::max_blocks counts blocks sitting in caches as in use.
///
/// Example:
/// ```
/// marrow::ConcurrentPool pool(64, 16);
/// std::vector<std::thread> workers;
/// for (int t = 0; t < 4; ++t) {
///   workers.emplace_back([&pool] {
///     marrow::ConcurrentPool::Cache cache(pool);  // one per thread
///     void* p = cache.allocate().ptr;
///     cache.deallocate(p);
///   });  // the cache returns its blocks to the pool here
/// }
/// for (auto& w : workers) w.join();
/// ```
class ConcurrentPool final : public Allocator {
 public:
  /// Blocks a Cache holds at most. 64 blocks of a typical 16-128 bytes is at most 8 KiB
  /// parked per thread, enough that a thread alternating allocation and free never locks.
  static constexpr std::size_t kCacheCapacity = 64;
  /// Blocks moved per lock when a cache refills or overflows: half the capacity, so a
  /// cache is half full after either and cannot ping-pong between the two.
  static constexpr std::size_t kCacheBatch = kCacheCapacity / 2;

  ConcurrentPool(std::size_t block_size, std::size_t block_align = kDefaultAlignment,
                 PoolOptions options = {}, Allocator& upstream = system_allocator()) noexcept
      : pool_(block_size, block_align, options, upstream) {}

  ConcurrentPool(const ConcurrentPool&) = delete;
  ConcurrentPool& operator=(const ConcurrentPool&) = delete;

  /// One block, under the lock.
  AllocResult allocate_block() noexcept {
    std::lock_guard lock(mutex_);
    return pool_.allocate_block();
  }
  /// Returns a block, under the lock.
  void deallocate_block(void* p) noexcept {
    if (p == nullptr) return;
    std::lock_guard lock(mutex_);
    pool_.deallocate_block(p);
  }

  AllocResult allocate(std::size_t size, std::size_t align) noexcept override {
    std::lock_guard lock(mutex_);
    return pool_.allocate(size, align);
  }
  void deallocate(void* p, std::size_t, std::size_t) noexcept override { deallocate_block(p); }
  AllocError grow_in_place(void* p, std::size_t old_size, std::size_t new_size,
                           std::size_t align) noexcept override {
    return pool_.grow_in_place(p, old_size, new_size, align);  // reads constants only
  }
  AllocError shrink_in_place(void* p, std::size_t old_size, std::size_t new_size,
                             std::size_t align) noexcept override {
    return pool_.shrink_in_place(p, old_size, new_size, align);
  }

  std::size_t block_size() const noexcept { return pool_.block_size(); }
  std::size_t block_align() const noexcept { return pool_.block_align(); }

  /// The central pool's statistics, under the lock. live_blocks counts cached blocks.
  PoolStats stats() const noexcept {
    std::lock_guard lock(mutex_);
    return pool_.stats();
  }

  /// A per-thread front end: allocation and free without locking most of the time. Give
  /// each thread its own; it returns its blocks to the pool when destroyed or flushed.
  ///
  /// Example: `marrow::ConcurrentPool::Cache cache(pool); void* p = cache.allocate().ptr;`
  class Cache {
   public:
    explicit Cache(ConcurrentPool& pool) noexcept : pool_(&pool) {}
    ~Cache() { flush(); }

    Cache(const Cache&) = delete;
    Cache& operator=(const Cache&) = delete;

    /// A block from the cache; refills kCacheBatch blocks under one lock when empty.
    AllocResult allocate() noexcept {
      if (count_ != 0) [[likely]] {
        void* p = blocks_[--count_];
        internal::unpoison_memory(p, pool_->block_size());
        return AllocResult::success(p);
      }
      return allocate_slow();
    }

    /// Keeps the block; returns kCacheBatch blocks under one lock when full.
    void deallocate(void* p) noexcept {
      if (p == nullptr) return;
      if (count_ == kCacheCapacity) [[unlikely]]
        spill(kCacheBatch);
      internal::poison_memory(p, pool_->block_size());
      blocks_[count_++] = p;
    }

    /// Returns every cached block to the pool.
    void flush() noexcept { spill(count_); }

    /// Blocks currently parked in this cache.
    std::size_t cached() const noexcept { return count_; }

   private:
    [[gnu::noinline]] AllocResult allocate_slow() noexcept {
      std::lock_guard lock(pool_->mutex_);
      while (count_ < kCacheBatch) {
        AllocResult r = pool_->pool_.allocate_block();
        if (!r) {
          if (count_ == 0) return r;  // nothing at all: report why
          break;                      // a partial refill is still a refill
        }
        internal::poison_memory(r.ptr, pool_->block_size());
        blocks_[count_++] = r.ptr;
      }
      void* p = blocks_[--count_];
      internal::unpoison_memory(p, pool_->block_size());
      return AllocResult::success(p);
    }

    void spill(std::size_t n) noexcept {
      if (n == 0) return;
      std::lock_guard lock(pool_->mutex_);
      for (std::size_t i = 0; i < n; ++i) pool_->pool_.deallocate_block(blocks_[--count_]);
    }

    ConcurrentPool* pool_;
    std::size_t count_ = 0;
    std::array<void*, kCacheCapacity> blocks_;  // [0, count_) are free blocks, poisoned
  };

 private:
  mutable std::mutex mutex_;  // guards pool_ (its free list, chunks and upstream calls)
  Pool pool_;
};

}  // namespace marrow
