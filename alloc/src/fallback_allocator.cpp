// FallbackAllocator's out-of-line half: resizing across the buffer / fallback boundary.
// Must never hand the fallback a buffer block or the buffer a fallback block.
#include <marrow/alloc/fallback_allocator.hpp>

#include <algorithm>
#include <cstring>

namespace marrow {

AllocResult FallbackAllocator::reallocate(void* p, std::size_t old_size, std::size_t new_size,
                                          std::size_t align) noexcept {
  if (AllocError e = internal::validate_request(new_size, align); e != AllocError::kNone) {
    return AllocResult::failure(e);
  }
  if (p == nullptr) return allocate(new_size, align);
  if (!primary_.owns(p)) return fallback_->reallocate(p, old_size, new_size, align);

  AllocError in_place = new_size >= old_size
                            ? primary_.grow_in_place(p, old_size, new_size, align)
                            : primary_.shrink_in_place(p, old_size, new_size, align);
  if (in_place == AllocError::kNone) return AllocResult::success(p);

  // Move: to the buffer if it still has room, else to the fallback.
  AllocResult moved = allocate(new_size, align);
  if (!moved) return moved;
  std::memcpy(moved.ptr, p, std::min(old_size, new_size));
  primary_.deallocate(p, old_size, align);
  return moved;
}

AllocError FallbackAllocator::grow_in_place(void* p, std::size_t old_size, std::size_t new_size,
                                            std::size_t align) noexcept {
  return primary_.owns(p) ? primary_.grow_in_place(p, old_size, new_size, align)
                          : fallback_->grow_in_place(p, old_size, new_size, align);
}

AllocError FallbackAllocator::shrink_in_place(void* p, std::size_t old_size, std::size_t new_size,
                                              std::size_t align) noexcept {
  return primary_.owns(p) ? primary_.shrink_in_place(p, old_size, new_size, align)
                          : fallback_->shrink_in_place(p, old_size, new_size, align);
}

}  // namespace marrow
