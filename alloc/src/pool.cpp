// Pool's out-of-line half: block-size rounding, carving blocks from the newest chunk,
// chunk growth, ownership tests, statistics and release. Must leave every block it has
// not handed out either on the free list or in the uncarved range [carve_, carve_end_).
#include <marrow/alloc/pool.hpp>

#include <algorithm>

namespace marrow {

struct Pool::Chunk {
  Chunk* next;        // next older chunk
  std::size_t bytes;  // whole chunk as obtained from upstream
  std::size_t blocks;
};

Pool::Pool(std::size_t block_size, std::size_t block_align, PoolOptions options,
           Allocator& upstream) noexcept
    : upstream_(&upstream), options_(options) {
  config_error_ = internal::validate_request(block_size, block_align);
  block_align_ = std::max(block_align, alignof(FreeBlock));
  block_size_ =
      config_error_ == AllocError::kNone
          ? internal::round_up_to_align(std::max(block_size, sizeof(FreeBlock)), block_align_)
          : 0;
  options_.initial_chunk_blocks = std::max<std::size_t>(options_.initial_chunk_blocks, 1);
  options_.max_chunk_blocks = std::max(options_.max_chunk_blocks, options_.initial_chunk_blocks);
  next_chunk_blocks_ = options_.initial_chunk_blocks;
}

Pool::~Pool() { release(); }

// Blocks start after the header, on a block_align_ boundary (chunks are allocated with
// that alignment).
std::size_t Pool::chunk_header_bytes() const noexcept {
  return internal::round_up_to_align(sizeof(Chunk), block_align_);
}

AllocResult Pool::allocate_block_slow() noexcept {
  if (config_error_ != AllocError::kNone) return AllocResult::failure(config_error_);
  if (carve_ == carve_end_) {
    std::size_t blocks = next_chunk_blocks_;
    if (options_.max_blocks != 0) {
      if (total_blocks_ >= options_.max_blocks) {
        return AllocResult::failure(AllocError::kExhausted);
      }
      blocks = std::min(blocks, options_.max_blocks - total_blocks_);
    }
    // Keep the chunk within kMaxAllocationSize: huge blocks get fewer per chunk.
    std::size_t header = chunk_header_bytes();
    std::size_t room = kMaxAllocationSize - header - block_align_;
    if (block_size_ > room) return AllocResult::failure(AllocError::kSizeOverflow);
    blocks = std::min(blocks, room / block_size_);
    std::size_t bytes = header + blocks * block_size_;
    AllocResult r = upstream_->allocate(bytes, std::max(block_align_, alignof(Chunk)));
    if (!r) return AllocResult::failure(r.error);

    auto* chunk = static_cast<Chunk*>(r.ptr);
    chunk->next = chunks_;
    chunk->bytes = bytes;
    chunk->blocks = blocks;
    chunks_ = chunk;
    reserved_bytes_ += bytes;
    total_blocks_ += blocks;
    carve_ = reinterpret_cast<std::uintptr_t>(chunk) + header;
    carve_end_ = carve_ + blocks * block_size_;
    internal::poison_memory(reinterpret_cast<void*>(carve_), carve_end_ - carve_);
    next_chunk_blocks_ = std::min(next_chunk_blocks_ * 2, options_.max_chunk_blocks);
  }
  void* p = reinterpret_cast<void*>(carve_);
  carve_ += block_size_;
  internal::unpoison_memory(p, block_size_);
  return AllocResult::success(p);
}

AllocError Pool::grow_in_place(void* p, std::size_t old_size, std::size_t new_size,
                               std::size_t align) noexcept {
  if (AllocError e = internal::validate_request(new_size, align); e != AllocError::kNone) {
    return e;
  }
  if (new_size < old_size) return AllocError::kUnsupported;
  return p != nullptr && new_size <= block_size_ && align <= block_align_ ? AllocError::kNone
                                                                          : AllocError::kNotInPlace;
}

AllocError Pool::shrink_in_place(void*, std::size_t old_size, std::size_t new_size,
                                 std::size_t) noexcept {
  return new_size <= old_size ? AllocError::kNone : AllocError::kUnsupported;
}

bool Pool::owns(const void* p) const noexcept {
  auto a = reinterpret_cast<std::uintptr_t>(p);
  std::size_t header = chunk_header_bytes();
  for (const Chunk* c = chunks_; c != nullptr; c = c->next) {
    auto first = reinterpret_cast<std::uintptr_t>(c) + header;
    if (a >= first && a < first + c->blocks * block_size_) {
      return (a - first) % block_size_ == 0;  // a block start, not an interior pointer
    }
  }
  return false;
}

PoolStats Pool::stats() const noexcept {
  PoolStats s;
  s.block_size = block_size_;
  s.reserved_bytes = reserved_bytes_;
  s.total_blocks = total_blocks_;
  for (const Chunk* c = chunks_; c != nullptr; c = c->next) ++s.chunk_count;
  for (FreeBlock* b = free_; b != nullptr;) {
    // The link word of a free block is ASan-poisoned: lift it just for the read.
    internal::unpoison_memory(b, sizeof(FreeBlock));
    FreeBlock* next = b->next;
    internal::poison_memory_keep_bytes(b, sizeof(FreeBlock));
    ++s.free_blocks;
    b = next;
  }
  if (block_size_ != 0) s.free_blocks += (carve_end_ - carve_) / block_size_;
  s.live_blocks = s.total_blocks - s.free_blocks;
  return s;
}

void Pool::release() noexcept {
  while (chunks_ != nullptr) {
    Chunk* c = chunks_;
    chunks_ = c->next;
    std::size_t bytes = c->bytes;
    upstream_->deallocate(internal::unpoisoned(c, bytes), bytes,
                          std::max(block_align_, alignof(Chunk)));
  }
  free_ = nullptr;
  carve_ = carve_end_ = 0;
  total_blocks_ = 0;
  reserved_bytes_ = 0;
  next_chunk_blocks_ = options_.initial_chunk_blocks;
}

}  // namespace marrow
