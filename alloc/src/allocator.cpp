// The out-of-line part of the allocator interface: the default reallocate (in place if
// possible, else allocate + copy + free). Must leave the old block intact on failure.
#include <marrow/alloc/allocator.hpp>

#include <algorithm>
#include <cstring>

namespace marrow {

AllocResult Allocator::reallocate(void* p, std::size_t old_size, std::size_t new_size,
                                  std::size_t align) noexcept {
  if (AllocError e = internal::validate_request(new_size, align); e != AllocError::kNone) {
    return AllocResult::failure(e);
  }
  if (p == nullptr) return allocate(new_size, align);
  if (new_size == old_size) return AllocResult::success(p);
  AllocError in_place = new_size > old_size ? grow_in_place(p, old_size, new_size, align)
                                            : shrink_in_place(p, old_size, new_size, align);
  if (in_place == AllocError::kNone) return AllocResult::success(p);

  AllocResult moved = allocate(new_size, align);
  if (!moved) return moved;  // the old block stays valid: realloc's contract
  std::memcpy(moved.ptr, p, std::min(old_size, new_size));
  deallocate(p, old_size, align);
  return moved;
}

AllocError Allocator::grow_in_place(void*, std::size_t, std::size_t, std::size_t) noexcept {
  return AllocError::kNotInPlace;
}

AllocError Allocator::shrink_in_place(void*, std::size_t, std::size_t, std::size_t) noexcept {
  return AllocError::kNotInPlace;
}

}  // namespace marrow
