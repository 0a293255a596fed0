// FallbackAllocator: serve requests from a preallocated buffer first and from another
// allocator once the buffer is full. Must route every deallocation back to the allocator
// that produced the block, which it tells apart by address.
#pragma once

#include <cstddef>
#include <span>

#include <marrow/alloc/allocator.hpp>
#include <marrow/alloc/fixed_arena.hpp>
#include <marrow/alloc/system_allocator.hpp>

namespace marrow {

/// Bump-allocates from a caller-supplied buffer; when a request does not fit, asks the
/// fallback allocator (the system allocator by default). The usual use is a stack buffer
/// that makes the common small case allocation-free.
///
/// - Blocks are told apart by address: inside the buffer means "ours", anything else is
///   the fallback's. The buffer must outlive the FallbackAllocator.
/// - Buffer blocks are freed LIFO (the newest one returns its bytes), like FixedArena,
///   which does the buffer's bookkeeping; the rest come back with reset().
/// - reallocate keeps a block in the buffer while it fits (in place when it is the newest)
///   and moves it to the fallback when it outgrows the buffer.
/// - Thread safety: that of the fallback allocator; the buffer part is thread-safe.
///
/// Example:
/// ```
/// alignas(16) std::byte stack_buffer[1024];
/// marrow::FallbackAllocator alloc(stack_buffer);           // then malloc
/// marrow::AllocResult small = alloc.allocate(100, 8);     // in stack_buffer
/// marrow::AllocResult big = alloc.allocate(100'000, 8);   // from malloc
/// alloc.deallocate(big.ptr, 100'000, 8);                  // goes back to malloc
/// ```
class FallbackAllocator final : public Allocator {
 public:
  FallbackAllocator(std::span<std::byte> buffer, Allocator& fallback = system_allocator()) noexcept
      : primary_(buffer), fallback_(&fallback) {}

  FallbackAllocator(const FallbackAllocator&) = delete;
  FallbackAllocator& operator=(const FallbackAllocator&) = delete;

  /// Buffer first; the fallback on kExhausted only (a bad alignment or an overflowing
  /// size is reported as such, not retried).
  AllocResult allocate(std::size_t size, std::size_t align) noexcept override {
    AllocResult r = primary_.allocate(size, align);
    if (r.error == AllocError::kExhausted) [[unlikely]]
      return fallback_->allocate(size, align);
    return r;
  }

  void deallocate(void* p, std::size_t size, std::size_t align) noexcept override {
    if (primary_.owns(p)) {
      primary_.deallocate(p, size, align);
    } else {
      fallback_->deallocate(p, size, align);
    }
  }

  AllocResult reallocate(void* p, std::size_t old_size, std::size_t new_size,
                         std::size_t align) noexcept override;
  AllocError grow_in_place(void* p, std::size_t old_size, std::size_t new_size,
                           std::size_t align) noexcept override;
  AllocError shrink_in_place(void* p, std::size_t old_size, std::size_t new_size,
                             std::size_t align) noexcept override;

  /// True for blocks that live in the buffer (not in the fallback).
  bool in_buffer(const void* p) const noexcept { return primary_.owns(p); }
  /// Bytes of the buffer in use.
  std::size_t buffer_used() const noexcept { return primary_.used(); }
  /// Frees every block in the buffer at once (fallback blocks are unaffected).
  void reset() noexcept { primary_.reset(); }
  Allocator& fallback() const noexcept { return *fallback_; }

 private:
  FixedArena primary_;
  Allocator* fallback_;
};

}  // namespace marrow
