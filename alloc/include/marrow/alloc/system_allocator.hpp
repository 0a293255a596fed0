// The system allocator: the C library's malloc / aligned_alloc / realloc / free behind the
// marrow Allocator interface. The default upstream of every other allocator in heap/.
// Must never throw or abort on a bad request: it validates before calling libc.
#pragma once

#include <marrow/alloc/allocator.hpp>

namespace marrow {

/// malloc and friends behind the Allocator interface. Stateless and thread-safe (as
/// thread-safe as the C library's malloc).
///
/// - Alignments up to kDefaultAlignment use malloc/realloc; larger ones use aligned_alloc
///   with the size rounded up to the alignment (C11 requires a multiple), and reallocate
///   moves the block (realloc does not preserve over-alignment).
/// - Zero-size requests allocate one byte, so the pointer is unique (see Allocator).
/// - grow_in_place always fails (libc cannot promise it); shrink_in_place always succeeds,
///   because free() does not need the size: the block keeps its tail until freed.
///
/// Example:
/// ```
/// marrow::SystemAllocator& sys = marrow::system_allocator();
/// marrow::AllocResult r = sys.allocate(256, 64);   // aligned_alloc(64, 256)
/// if (r) sys.deallocate(r.ptr, 256, 64);
/// ```
class SystemAllocator final : public Allocator {
 public:
  constexpr SystemAllocator() noexcept = default;

  AllocResult allocate(std::size_t size, std::size_t align) noexcept override;
  void deallocate(void* p, std::size_t size, std::size_t align) noexcept override;
  AllocResult reallocate(void* p, std::size_t old_size, std::size_t new_size,
                         std::size_t align) noexcept override;
  AllocError grow_in_place(void* p, std::size_t old_size, std::size_t new_size,
                           std::size_t align) noexcept override;
  AllocError shrink_in_place(void* p, std::size_t old_size, std::size_t new_size,
                             std::size_t align) noexcept override;
};

/// The process-wide SystemAllocator, the default upstream of arenas, pools and decorators.
/// Lives for the whole program (never destroyed), so it is safe from static destructors.
///
/// Example: `marrow::Arena arena(marrow::ArenaOptions{}, marrow::system_allocator());`
SystemAllocator& system_allocator() noexcept;

}  // namespace marrow
