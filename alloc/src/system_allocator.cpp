// SystemAllocator: validation in front of malloc / aligned_alloc / realloc / free. The only
// place in heap/ that calls the C allocator directly; must never hand libc a request it
// would misread (a non-multiple size for aligned_alloc, an overflowing size).
#include <marrow/alloc/system_allocator.hpp>

#include <cstdlib>
#include <new>

namespace marrow {

namespace {

// aligned_alloc is only needed above what malloc already guarantees.
bool needs_aligned_alloc(std::size_t align) noexcept { return align > kDefaultAlignment; }

}  // namespace

AllocResult SystemAllocator::allocate(std::size_t size, std::size_t align) noexcept {
  if (AllocError e = internal::validate_request(size, align); e != AllocError::kNone) {
    return AllocResult::failure(e);
  }
  if (size == 0) size = 1;  // unique non-null pointer; malloc(0) may return null
  void* p = needs_aligned_alloc(align)
                ? std::aligned_alloc(align, internal::round_up_to_align(size, align))
                : std::malloc(size);
  if (p == nullptr) return AllocResult::failure(AllocError::kOutOfMemory);
  return AllocResult::success(p);
}

void SystemAllocator::deallocate(void* p, std::size_t, std::size_t) noexcept { std::free(p); }

AllocResult SystemAllocator::reallocate(void* p, std::size_t old_size, std::size_t new_size,
                                        std::size_t align) noexcept {
  if (AllocError e = internal::validate_request(new_size, align); e != AllocError::kNone) {
    return AllocResult::failure(e);
  }
  if (p == nullptr) return allocate(new_size, align);
  // realloc may move the block to a malloc-aligned address: over-aligned blocks move by
  // hand (the base class's allocate + copy + free).
  if (needs_aligned_alloc(align)) return Allocator::reallocate(p, old_size, new_size, align);
  void* q = std::realloc(p, new_size == 0 ? 1 : new_size);
  if (q == nullptr) return AllocResult::failure(AllocError::kOutOfMemory);
  return AllocResult::success(q);
}

AllocError SystemAllocator::grow_in_place(void*, std::size_t old_size, std::size_t new_size,
                                          std::size_t align) noexcept {
  if (AllocError e = internal::validate_request(new_size, align); e != AllocError::kNone) {
    return e;
  }
  return new_size == old_size ? AllocError::kNone : AllocError::kNotInPlace;
}

AllocError SystemAllocator::shrink_in_place(void*, std::size_t old_size, std::size_t new_size,
                                            std::size_t) noexcept {
  return new_size <= old_size ? AllocError::kNone : AllocError::kUnsupported;
}

SystemAllocator& system_allocator() noexcept {
  // Constant-initialised (before any dynamic initialiser runs) and never destroyed (the
  // union's destructor does not run the member's), so static objects may allocate and
  // free through it in their constructors and destructors in any order.
  union NeverDestroyed {
    SystemAllocator value;
    constexpr NeverDestroyed() : value() {}
    ~NeverDestroyed() {}
  };
  static constinit NeverDestroyed instance;
  return instance.value;
}

}  // namespace marrow
