// FixedArena: a bump allocator over a caller-supplied buffer whose bump pointer is atomic,
// so several threads may allocate from it at once. Never touches any other memory: when
// the buffer is full it fails with kExhausted instead of growing.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include <marrow/alloc/allocator.hpp>
#include <marrow/alloc/poison.hpp>

namespace marrow {

/// A thread-safe bump allocator over memory the caller owns (a stack array, a static
/// buffer, a mapped region). The caller's buffer must outlive the FixedArena.
///
/// - allocate() is lock-free: a compare-and-swap loop on the bump offset, so concurrent
///   callers get disjoint blocks and alignment is exact (no over-reservation).
/// - deallocate() reclaims the newest block when no other thread has allocated since
///   (a CAS back), and otherwise only poisons the block until reset().
/// - reset() and rewind() are not safe against concurrent allocate(): call them when the
///   threads using the arena are quiescent.
/// - When the buffer is full, allocate() returns kExhausted; the arena stays usable for
///   smaller requests.
/// - In ASan builds blocks start on 8-byte boundaries (ASan's granule), so no two blocks
///   share a shadow byte and threads never race on poisoning state.
///
/// Example:
/// ```
/// alignas(64) std::byte buffer[4096];
/// marrow::FixedArena arena(buffer);
/// // from any thread:
/// if (marrow::AllocResult r = arena.allocate(48, 16)) use(r.ptr);
/// ```
class FixedArena final : public Allocator {
 public:
  FixedArena(void* buffer, std::size_t size) noexcept
      : base_(reinterpret_cast<std::uintptr_t>(buffer)), capacity_(buffer ? size : 0) {
    internal::poison_memory(buffer, capacity_);
  }
  explicit FixedArena(std::span<std::byte> buffer) noexcept
      : FixedArena(buffer.data(), buffer.size()) {}

  /// Hands the buffer back to its owner clean, so it may be reused for anything.
  ~FixedArena() override { internal::unpoison_memory(data(), capacity_); }

  FixedArena(const FixedArena&) = delete;
  FixedArena& operator=(const FixedArena&) = delete;

  /// Lock-free; about 10 instructions when uncontended (load, round up, two compares,
  /// CAS), plus one retry per concurrent winner.
  AllocResult allocate(std::size_t size, std::size_t align) noexcept override {
    if (AllocError e = internal::validate_request(size, align); e != AllocError::kNone)
        [[unlikely]] {
      return AllocResult::failure(e);
    }
    if (size == 0) size = 1;  // unique address (Allocator contract)
    if constexpr (internal::kPoisonMode == internal::PoisonMode::kAsan) {
      align = align < kAsanGranule ? kAsanGranule : align;
    }
    std::size_t offset = offset_.load(std::memory_order_relaxed);
    std::uintptr_t p;
    do {
      p = internal::round_up_to_align(base_ + offset, align);
      // p - base_ may exceed the capacity (wraps only for addresses near 2^64, impossible
      // for a buffer the caller owns); compare sizes, never end pointers.
      if (p - base_ > capacity_ || size > capacity_ - (p - base_)) [[unlikely]] {
        return AllocResult::failure(AllocError::kExhausted);
      }
      // acq_rel, not relaxed: bytes given back by a LIFO deallocate on another thread
      // (which poisons them, then releases the offset) must be written by that thread
      // before this one can reuse them.
    } while (!offset_.compare_exchange_weak(offset, p - base_ + size, std::memory_order_acq_rel,
                                            std::memory_order_relaxed));
    internal::unpoison_memory(reinterpret_cast<void*>(p), size);
    return AllocResult::success(reinterpret_cast<void*>(p));
  }

  void deallocate(void* p, std::size_t size, std::size_t align) noexcept override;

  /// Extends the newest block when no other thread has allocated after it.
  AllocError grow_in_place(void* p, std::size_t old_size, std::size_t new_size,
                           std::size_t align) noexcept override;
  /// Always succeeds for new_size <= old_size; reclaims the tail of the newest block.
  AllocError shrink_in_place(void* p, std::size_t old_size, std::size_t new_size,
                             std::size_t align) noexcept override;

  /// True when `p` points into this arena's buffer.
  bool owns(const void* p) const noexcept {
    return reinterpret_cast<std::uintptr_t>(p) - base_ < capacity_;
  }

  /// Bytes handed out so far (padding included). A snapshot when other threads allocate.
  std::size_t used() const noexcept { return offset_.load(std::memory_order_relaxed); }
  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t remaining() const noexcept { return capacity_ - used(); }
  void* data() const noexcept { return reinterpret_cast<void*>(base_); }

  /// The current offset, for rewind(). Same thread rules as rewind.
  std::size_t checkpoint() const noexcept { return used(); }
  /// Frees everything allocated after `offset` (from checkpoint()). Quiescent only.
  void rewind(std::size_t offset) noexcept;
  /// Frees everything. Quiescent only.
  void reset() noexcept { rewind(0); }

 private:
  static constexpr std::size_t kAsanGranule = 8;

  std::uintptr_t base_;
  std::size_t capacity_;
  std::atomic<std::size_t> offset_{0};  // bytes of the buffer in use; only grows, except by
                                        // a LIFO deallocate/shrink or a rewind
};

}  // namespace marrow
