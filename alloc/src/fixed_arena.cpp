// FixedArena's out-of-line half: LIFO reclaim and in-place resizing by compare-and-swap,
// and quiescent rewind. Must never move the bump offset past a block another thread owns.
#include <marrow/alloc/fixed_arena.hpp>

namespace marrow {

void FixedArena::deallocate(void* p, std::size_t size, std::size_t) noexcept {
  if (p == nullptr) return;
  if (size == 0) size = 1;
  MARROW_DCHECK(owns(p), "FixedArena::deallocate takes a block of this arena");
  internal::poison_memory(p, size);
  // Give the bytes back only if this block is still the newest: if another thread has
  // allocated since, the CAS fails and the block stays poisoned until rewind/reset.
  std::size_t begin = reinterpret_cast<std::uintptr_t>(p) - base_;
  std::size_t expected = begin + size;
  offset_.compare_exchange_strong(expected, begin, std::memory_order_release,
                                  std::memory_order_relaxed);
}

AllocError FixedArena::grow_in_place(void* p, std::size_t old_size, std::size_t new_size,
                                     std::size_t align) noexcept {
  if (AllocError e = internal::validate_request(new_size, align); e != AllocError::kNone) {
    return e;
  }
  if (new_size < old_size) return AllocError::kUnsupported;
  if (old_size == 0) old_size = 1;
  if (new_size == 0) new_size = 1;
  if (new_size == old_size) return AllocError::kNone;
  if (p == nullptr || !owns(p)) return AllocError::kNotInPlace;
  std::size_t begin = reinterpret_cast<std::uintptr_t>(p) - base_;
  if (new_size > capacity_ - begin) return AllocError::kNotInPlace;
  std::size_t expected = begin + old_size;
  if (!offset_.compare_exchange_strong(expected, begin + new_size, std::memory_order_acq_rel,
                                       std::memory_order_relaxed)) {
    return AllocError::kNotInPlace;  // not the newest block (any more)
  }
  internal::unpoison_memory(static_cast<std::byte*>(p) + old_size, new_size - old_size);
  return AllocError::kNone;
}

AllocError FixedArena::shrink_in_place(void* p, std::size_t old_size, std::size_t new_size,
                                       std::size_t) noexcept {
  if (new_size > old_size) return AllocError::kUnsupported;
  if (old_size == 0) old_size = 1;
  if (new_size == 0) new_size = 1;
  if (p == nullptr || new_size == old_size) return AllocError::kNone;
  internal::poison_memory(static_cast<std::byte*>(p) + new_size, old_size - new_size);
  std::size_t begin = reinterpret_cast<std::uintptr_t>(p) - base_;
  std::size_t expected = begin + old_size;
  offset_.compare_exchange_strong(expected, begin + new_size, std::memory_order_release,
                                  std::memory_order_relaxed);
  return AllocError::kNone;
}

void FixedArena::rewind(std::size_t offset) noexcept {
  std::size_t used = offset_.load(std::memory_order_acquire);
  MARROW_CHECK(offset <= used, "FixedArena::rewind goes backwards, to a checkpoint");
  internal::poison_memory(static_cast<std::byte*>(data()) + offset, used - offset);
  offset_.store(offset, std::memory_order_release);
}

}  // namespace marrow
