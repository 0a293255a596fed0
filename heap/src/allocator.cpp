// The out-of-line parts of the allocator interface: the default reallocate (in place if
// possible, else move) and the check-failure reporter. Nothing here may allocate.
#include <marrow/heap/allocator.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace marrow {

namespace internal {

void alloc_check_failed(const char* expr, const char* rule, const char* file, int line) noexcept {
  // fprintf with a fixed format does not allocate in glibc; the heap may be the problem.
  std::fprintf(stderr, "marrow: check failed: %s (%s) at %s:%d\n", rule, expr, file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace internal

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
