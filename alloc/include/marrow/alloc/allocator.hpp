// The off-heap allocator interface: allocate / deallocate / reallocate / resize in place,
// with explicit size and alignment, failing with an error value. Every allocator in alloc/
// implements it; none of them may crash or invoke UB on a bad request.
// The library's error model: a request that cannot be met returns an AllocError and
// changes nothing; a broken precondition that only a caller's bug can cause (a block
// returned to the wrong arena, a rewind past the current position) fails a MARROW_CHECK
// naming the rule. Nothing throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <new>
#include <string_view>

#include <marrow/internal/check.hpp>

namespace marrow {

// ==== Errors ====================================================================================

/// Why an allocator refused a request. Every refusal leaves the allocator and any block
/// passed in unchanged.
///
/// Example:
/// ```
/// marrow::AllocResult r = alloc.allocate(n, 16);
/// if (!r) std::fprintf(stderr, "allocation failed: %s\n", marrow::to_string(r.error).data());
/// ```
enum class AllocError : std::uint8_t {
  kNone = 0,      // success
  kOutOfMemory,   // the upstream source (the OS, malloc, a parent allocator) refused
  kExhausted,     // a fixed-capacity allocator (buffer, block limit) has no room left
  kBadAlignment,  // alignment is zero, not a power of two, or above kMaxAlignment
  kSizeOverflow,  // size (plus alignment slack) exceeds kMaxAllocationSize
  kUnsupported,   // a valid request this allocator cannot serve (a pool asked for more
                  // than its block size)
  kNotInPlace,    // grow/shrink_in_place: the block cannot be resized without moving
};

/// A stable, human-readable name for an AllocError, e.g. "out of memory".
///
/// Example: `std::puts(marrow::to_string(marrow::AllocError::kExhausted).data());`
constexpr std::string_view to_string(AllocError e) noexcept {
  switch (e) {
    case AllocError::kNone:
      return "no error";
    case AllocError::kOutOfMemory:
      return "out of memory";
    case AllocError::kExhausted:
      return "capacity exhausted";
    case AllocError::kBadAlignment:
      return "bad alignment";
    case AllocError::kSizeOverflow:
      return "size overflow";
    case AllocError::kUnsupported:
      return "unsupported request";
    case AllocError::kNotInPlace:
      return "cannot resize in place";
  }
  return "unknown allocation error";
}

/// The outcome of an allocation: a block, or the reason there is none. Exactly one of
/// `ptr != nullptr` and `error != AllocError::kNone` holds. Returned in two registers.
///
/// Example:
/// ```
/// if (marrow::AllocResult r = alloc.allocate(64, 8)) use(r.ptr);
/// else report(r.error);
/// ```
struct [[nodiscard]] AllocResult {
  void* ptr = nullptr;
  AllocError error = AllocError::kNone;

  static constexpr AllocResult success(void* p) noexcept { return {p, AllocError::kNone}; }
  static constexpr AllocResult failure(AllocError e) noexcept { return {nullptr, e}; }

  constexpr bool ok() const noexcept { return ptr != nullptr; }
  constexpr explicit operator bool() const noexcept { return ok(); }
};

// ==== Request limits ============================================================================

/// The alignment malloc guarantees; the natural default for untyped requests.
inline constexpr std::size_t kDefaultAlignment = alignof(std::max_align_t);

/// The largest alignment any allocator accepts. 1 GiB is the largest page an OS hands out
/// (x86-64 huge pages); a bigger alignment is a caller bug, and capping it keeps
/// `size + align` far from overflow.
inline constexpr std::size_t kMaxAlignment = std::size_t{1} << 30;

/// The largest size any allocator accepts. Objects bigger than PTRDIFF_MAX break pointer
/// subtraction, so no allocator may produce one.
inline constexpr std::size_t kMaxAllocationSize = static_cast<std::size_t>(PTRDIFF_MAX);

namespace internal {

/// True for the alignments every allocator must accept: powers of two up to kMaxAlignment.
/// Written with plain arithmetic (no popcount, which is a libcall without -mpopcnt)
/// because inline fast paths use it: `align - 1` wraps for 0, so one compare rejects 0
/// and oversized values.
constexpr bool is_valid_alignment(std::size_t align) noexcept {
  return align - 1 < kMaxAlignment && (align & (align - 1)) == 0;
}

/// The checks every allocator applies to (size, align) before anything else. Passing them
/// guarantees that `size + align` and round_up_to_align(size, align) cannot overflow.
constexpr AllocError validate_request(std::size_t size, std::size_t align) noexcept {
  if (!is_valid_alignment(align)) return AllocError::kBadAlignment;
  if (size > kMaxAllocationSize - align) return AllocError::kSizeOverflow;
  return AllocError::kNone;
}

/// `value` rounded up to a multiple of the power of two `align`.
constexpr std::uintptr_t round_up_to_align(std::uintptr_t value, std::size_t align) noexcept {
  return (value + align - 1) & ~static_cast<std::uintptr_t>(align - 1);
}

inline bool is_aligned(const void* p, std::size_t align) noexcept {
  return (reinterpret_cast<std::uintptr_t>(p) & (align - 1)) == 0;
}

}  // namespace internal
}  // namespace marrow

namespace marrow {

// ==== The interface =============================================================================

/// An off-heap allocator: memory that is not garbage collected and is returned explicitly.
///
/// Contract shared by every implementation:
/// - Sizes and alignments are explicit on every call; deallocate / reallocate / resize
///   receive the size and alignment the block was allocated (or last resized) with.
/// - Alignment must be a power of two up to kMaxAlignment, else kBadAlignment; a size
///   above kMaxAllocationSize - align is kSizeOverflow. Checked before anything else.
/// - **Zero-size requests** succeed with a unique, non-null, suitably aligned pointer to a
///   minimal block (as C++ `operator new(0)` does); it must not be dereferenced and is
///   returned with `deallocate(p, 0, align)`. Two live zero-size blocks never compare equal.
/// - Failure is an AllocResult carrying an AllocError; nothing throws, a refused request
///   never aborts, and a failed reallocate leaves the old block valid and untouched.
/// - `deallocate(nullptr, ...)` is a no-op.
/// - Thread safety is per implementation, stated on each class.
///
/// Concrete allocators are `final`, so calls through the concrete type are devirtualised
/// and their inline fast paths inline; calls through `Allocator&` cost one indirect call.
///
/// Example:
/// ```
/// marrow::Allocator& a = marrow::system_allocator();
/// marrow::AllocResult r = a.allocate(100, 64);
/// if (!r) return r.error;
/// r = a.reallocate(r.ptr, 100, 200, 64);  // contents of the first 100 bytes survive
/// ```
class Allocator {
 public:
  virtual ~Allocator() = default;

  /// A block of at least `size` bytes aligned to `align`.
  virtual AllocResult allocate(std::size_t size, std::size_t align) noexcept = 0;

  /// Returns a block; `size` and `align` are those it was allocated or resized with.
  virtual void deallocate(void* p, std::size_t size, std::size_t align) noexcept = 0;

  /// Resizes a block, moving it if needed (the first min(old, new) bytes survive). A null
  /// `p` allocates. `new_size == 0` yields a zero-size block; it never frees. On failure
  /// the old block is untouched and still owned by the caller. The default tries
  /// grow/shrink_in_place, then allocate + copy + deallocate.
  virtual AllocResult reallocate(void* p, std::size_t old_size, std::size_t new_size,
                                 std::size_t align) noexcept;

  /// Extends a block to `new_size` (>= old_size) without moving it: kNone on success,
  /// kNotInPlace when the bytes after it are not free. The default cannot.
  virtual AllocError grow_in_place(void* p, std::size_t old_size, std::size_t new_size,
                                   std::size_t align) noexcept;

  /// Shrinks a block to `new_size` (<= old_size) without moving it. The default cannot.
  virtual AllocError shrink_in_place(void* p, std::size_t old_size, std::size_t new_size,
                                     std::size_t align) noexcept;

 protected:
  Allocator() = default;
  Allocator(const Allocator&) = default;
  Allocator& operator=(const Allocator&) = default;
};

// ==== std::pmr adapter ==========================================================================

/// A `std::pmr::memory_resource` over any marrow allocator type `A`, so std::pmr
/// containers can allocate from it. Failures become `std::bad_alloc` (the pmr contract);
/// the adapter holds a reference, so the allocator must outlive every container using it.
/// Calls go to `A` directly: with a `final` `A` its inline fast path is used.
///
/// Example:
/// ```
/// marrow::Arena arena;
/// marrow::ResourceAdapter<marrow::Arena> resource(arena);
/// std::pmr::vector<int> v(&resource);
/// v.push_back(1);
/// ```
template <typename A>
class ResourceAdapter final : public std::pmr::memory_resource {
 public:
  explicit ResourceAdapter(A& allocator) noexcept : allocator_(&allocator) {}

  A& allocator() const noexcept { return *allocator_; }

 private:
  void* do_allocate(std::size_t bytes, std::size_t align) override {
    AllocResult r = allocator_->allocate(bytes, align);
    if (!r) [[unlikely]]
      throw std::bad_alloc();
    return r.ptr;
  }
  void do_deallocate(void* p, std::size_t bytes, std::size_t align) override {
    allocator_->deallocate(p, bytes, align);
  }
  // Two adapters are interchangeable when they draw from the same allocator: memory from
  // one may be returned through the other.
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    auto* o = dynamic_cast<const ResourceAdapter*>(&other);
    return o != nullptr && o->allocator_ == allocator_;
  }

  A* allocator_;
};

}  // namespace marrow
