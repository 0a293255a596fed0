// Pool: fixed-size blocks from chunks of an upstream allocator, recycled through an
// intrusive free list (the link lives in the dead block itself). Single-threaded; see
// concurrent_pool.hpp for many threads. The allocate/free fast paths stay inline.
#pragma once

#include <cstddef>
#include <cstdint>

#include <marrow/alloc/allocator.hpp>
#include <marrow/alloc/poison.hpp>
#include <marrow/alloc/system_allocator.hpp>

namespace marrow {

/// Chunk growth and capacity of a Pool.
///
/// Example: `marrow::Pool pool(48, 16, {.initial_chunk_blocks = 256, .max_blocks = 10'000});`
struct PoolOptions {
  /// Blocks in the first chunk. 64 is enough to amortise the upstream call for small pools
  /// without reserving much for a pool that stays nearly empty.
  std::size_t initial_chunk_blocks = 64;
  /// Chunks double in block count up to this. 4096 blocks keeps chunk sizes at a few
  /// hundred KiB for typical 16-128 byte blocks: few upstream calls, bounded tail waste.
  std::size_t max_chunk_blocks = 4096;
  /// Upper bound on blocks the pool ever carves (0: unbounded). Past it allocation fails
  /// with kExhausted: a budget for memory an embedder does not want to grow without bound.
  std::size_t max_blocks = 0;
};

/// What a Pool holds; see Pool::stats().
///
/// Example: `CHECK(pool.stats().live_blocks == 0);`
struct PoolStats {
  std::size_t block_size = 0;      // bytes per block after rounding
  std::size_t chunk_count = 0;     // chunks held from upstream
  std::size_t reserved_bytes = 0;  // bytes of those chunks
  std::size_t total_blocks = 0;    // blocks carved out of the chunks so far
  std::size_t free_blocks = 0;     // in the free list plus not yet carved from the newest chunk
  std::size_t live_blocks = 0;     // handed out and not returned
};

/// A fixed-size allocator: every block has the same size and alignment, so freeing is
/// pushing onto a free list and allocating is popping from it. Chunks come from the
/// upstream allocator (the system allocator by default), grow geometrically, and are only
/// returned by release() or the destructor.
///
/// - The block size is rounded up to a multiple of the alignment and to at least a
///   pointer (the free-list link lives in dead blocks); the alignment to at least a
///   pointer's.
/// - As an Allocator it serves any request that fits a block (size <= block_size(),
///   align <= block_align()), kUnsupported otherwise. A pool constructed with a bad
///   alignment or an overflowing size fails every request with that error.
/// - Freed blocks are poisoned (the link word excepted in pattern mode).
/// - Single-threaded. Blocks must go back to the pool they came from (checked in debug
///   builds).
///
/// Example:
/// ```
/// marrow::Pool pool(sizeof(Node), alignof(Node));
/// void* a = pool.allocate_block().ptr;
/// pool.deallocate_block(a);  // the next allocate_block() returns `a` again
/// ```
class Pool final : public Allocator {
 public:
  Pool(std::size_t block_size, std::size_t block_align = kDefaultAlignment,
       PoolOptions options = {}, Allocator& upstream = system_allocator()) noexcept;
  ~Pool() override;

  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  /// One block. Fast path: pop the free list, about 5 instructions (load head, test,
  /// load link, store head, return); carving from a chunk and growth are out of line.
  AllocResult allocate_block() noexcept {
    FreeBlock* b = free_;
    if (b != nullptr) [[likely]] {
      internal::unpoison_memory(b, block_size_);
      free_ = b->next;
      return AllocResult::success(b);
    }
    return allocate_block_slow();
  }

  /// Returns a block from allocate_block() (or allocate()). Pushes it on the free list:
  /// about 3 instructions without poisoning.
  void deallocate_block(void* p) noexcept {
    if (p == nullptr) return;
    MARROW_DCHECK(owns(p), "a block goes back to the pool it came from");
    internal::poison_memory(p, block_size_);
    internal::unpoison_memory(p, sizeof(FreeBlock));
    auto* b = static_cast<FreeBlock*>(p);
    b->next = free_;
    internal::poison_memory_keep_bytes(p, sizeof(FreeBlock));
    free_ = b;
  }

  AllocResult allocate(std::size_t size, std::size_t align) noexcept override {
    if (AllocError e = internal::validate_request(size, align); e != AllocError::kNone) {
      return AllocResult::failure(e);
    }
    if (size > block_size_ || align > block_align_) {
      return AllocResult::failure(config_error_ != AllocError::kNone ? config_error_
                                                                     : AllocError::kUnsupported);
    }
    return allocate_block();
  }
  void deallocate(void* p, std::size_t, std::size_t) noexcept override { deallocate_block(p); }

  /// Succeeds while the new size still fits the block.
  AllocError grow_in_place(void* p, std::size_t old_size, std::size_t new_size,
                           std::size_t align) noexcept override;
  /// Always succeeds for new_size <= old_size: the block keeps its size.
  AllocError shrink_in_place(void* p, std::size_t old_size, std::size_t new_size,
                             std::size_t align) noexcept override;

  std::size_t block_size() const noexcept { return block_size_; }
  std::size_t block_align() const noexcept { return block_align_; }

  /// True when `p` points into one of this pool's chunks. O(chunks).
  bool owns(const void* p) const noexcept;

  /// Walks the free list: O(free blocks). For tests, reports and debug checks.
  PoolStats stats() const noexcept;

  /// Returns every chunk to upstream; every block must be dead. The pool stays usable.
  void release() noexcept;

 private:
  struct FreeBlock {
    FreeBlock* next;
  };
  struct Chunk;

  [[gnu::noinline]] AllocResult allocate_block_slow() noexcept;
  std::size_t chunk_header_bytes() const noexcept;

  // The fast paths touch only free_ and block_size_ (when poisoning): first, together.
  FreeBlock* free_ = nullptr;
  std::size_t block_size_;
  std::size_t block_align_;
  std::uintptr_t carve_ = 0;      // next uncarved block in the newest chunk
  std::uintptr_t carve_end_ = 0;  // end of the newest chunk's blocks
  Chunk* chunks_ = nullptr;       // newest first
  Allocator* upstream_;
  PoolOptions options_;
  std::size_t next_chunk_blocks_;
  std::size_t total_blocks_ = 0;
  std::size_t reserved_bytes_ = 0;
  AllocError config_error_ = AllocError::kNone;  // a bad block size/alignment, reported by
                                                 // every allocation
};

}  // namespace marrow
