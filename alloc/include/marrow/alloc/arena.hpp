// Arena: bump allocation in growing chunks drawn from an upstream allocator, with
// checkpoint/rewind, bulk reset and a std::pmr adapter. Single-threaded. The allocation
// fast path must stay inline and branch-light; everything else goes out of line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

#include <marrow/alloc/allocator.hpp>
#include <marrow/alloc/poison.hpp>
#include <marrow/alloc/system_allocator.hpp>

namespace marrow {

/// What Arena::reset does with the chunks it holds.
///
/// Example: `arena.reset(marrow::ArenaReset::kKeepChunks);  // next frame reuses the memory`
enum class ArenaReset {
  kKeepChunks,     // keep every chunk for reuse: no upstream calls on the next round
  kReleaseChunks,  // give every chunk back to the upstream allocator
};

/// Chunk sizing for an Arena.
///
/// Example: `marrow::Arena arena({.initial_chunk_bytes = 64 * 1024});`
struct ArenaOptions {
  /// Size of the first chunk, header included. One page: a small arena costs one page.
  std::size_t initial_chunk_bytes = 4096;
  /// Chunks double in size up to this cap. 1 MiB keeps the memory wasted at the end of a
  /// chunk (at most one request) and the unused tail of the newest chunk small next to
  /// the total, while growth to it takes only 8 upstream calls.
  std::size_t max_chunk_bytes = std::size_t{1} << 20;
};

/// A snapshot of an Arena's memory use; see Arena::stats().
///
/// Example: `std::printf("%zu of %zu bytes used\n", s.used_bytes, s.reserved_bytes);`
struct ArenaStats {
  std::size_t used_bytes = 0;            // handed out since the last reset (alignment padding
                                         // included, the unused ends of full chunks not)
  std::size_t reserved_bytes = 0;        // held from upstream: chunks in use and kept free
  std::size_t chunk_count = 0;           // chunks in use (the newest one included)
  std::size_t free_chunk_count = 0;      // chunks kept by reset/rewind, waiting for reuse
  std::size_t peak_reserved_bytes = 0;   // high-water mark of reserved_bytes
  std::size_t upstream_allocations = 0;  // chunks ever obtained from upstream
};

/// A position in an Arena to come back to with Arena::rewind. Opaque.
///
/// Example: `marrow::ArenaCheckpoint cp = arena.checkpoint(); ...; arena.rewind(cp);`
struct ArenaCheckpoint {
  const void* chunk = nullptr;  // the chunk that was current, null for an empty arena
  std::uintptr_t cur = 0;       // the bump pointer in it
};

/// A bump allocator: each allocation advances a pointer through the current chunk; when
/// the chunk is full a bigger one comes from the upstream allocator (the system allocator
/// by default). Individual blocks are not freed (except the newest one, LIFO); memory comes
/// back in bulk with rewind() or reset(), or when the arena is destroyed.
///
/// - Any power-of-two alignment up to kMaxAlignment; zero-size requests get a unique
///   one-byte block (the Allocator contract).
/// - Requests bigger than max_chunk_bytes get a chunk of their own.
/// - Single-threaded: one thread at a time, no internal locking (see FixedArena for a
///   thread-safe arena over a fixed buffer).
/// - Freed, rewound and reset memory is poisoned (see poison.hpp).
/// - Never runs destructors: objects placed in it must not own anything outside it.
///
/// Example:
/// ```
/// marrow::Arena arena;
/// auto* p = static_cast<double*>(arena.allocate(10 * sizeof(double), alignof(double)).ptr);
/// marrow::ArenaCheckpoint cp = arena.checkpoint();
/// Point* q = arena.create<Point>(1, 2);       // constructed in the arena
/// arena.rewind(cp);                           // q is gone, p is still valid
/// arena.reset(marrow::ArenaReset::kKeepChunks);  // everything is gone, memory is kept
/// ```
class Arena final : public Allocator {
 public:
  explicit Arena(ArenaOptions options = {}, Allocator& upstream = system_allocator()) noexcept;
  explicit Arena(Allocator& upstream) noexcept : Arena(ArenaOptions{}, upstream) {}
  ~Arena() override;

  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  /// The fast path. With a constant alignment (the usual case, after inlining) it is 9
  /// instructions on x86-64 (measured in bench_alloc): load cur, add + and to round up,
  /// lea for the end, two compare-and-branch pairs, store cur. A variable alignment adds
  /// about 4 for the validity test. Everything else -- a new chunk, bad arguments, a zero
  /// size -- is allocate_slow().
  AllocResult allocate(std::size_t size, std::size_t align) noexcept override {
    std::uintptr_t p = internal::round_up_to_align(cur_, align);
    std::uintptr_t end = p + size;
    // `p < end` rejects a zero size (uniqueness needs a byte) and a wrapped sum.
    if (internal::is_valid_alignment(align) && p < end && end <= limit_) [[likely]] {
      cur_ = end;
      internal::unpoison_memory(reinterpret_cast<void*>(p), size);
      return AllocResult::success(reinterpret_cast<void*>(p));
    }
    return allocate_slow(size, align);
  }

  /// Reclaims the block if it is the newest one (LIFO); otherwise only poisons it, and its
  /// memory returns with the next rewind or reset.
  void deallocate(void* p, std::size_t size, std::size_t align) noexcept override;

  /// Succeeds when `p` is the newest block and its chunk has room.
  AllocError grow_in_place(void* p, std::size_t old_size, std::size_t new_size,
                           std::size_t align) noexcept override;

  /// Always succeeds for new_size <= old_size; the tail is reclaimed only if `p` is the
  /// newest block.
  AllocError shrink_in_place(void* p, std::size_t old_size, std::size_t new_size,
                             std::size_t align) noexcept override;

  /// Constructs a T in the arena; nullptr when the arena cannot get memory (exceptions
  /// from T's constructor propagate, and its block is reclaimed).
  template <typename T, typename... Args>
  T* create(Args&&... args) {
    static_assert(std::is_trivially_destructible_v<T>,
                  "Arena never runs destructors, so a T that owns resources would leak "
                  "them: allocate() raw memory and destroy the object yourself");
    AllocResult r = allocate(sizeof(T), alignof(T));
    if (!r) return nullptr;
    if constexpr (std::is_nothrow_constructible_v<T, Args...>) {
      return ::new (r.ptr) T(std::forward<Args>(args)...);
    } else {
      try {
        return ::new (r.ptr) T(std::forward<Args>(args)...);
      } catch (...) {
        deallocate(r.ptr, sizeof(T), alignof(T));
        throw;
      }
    }
  }

  /// The current position; rewind() to it frees everything allocated after it.
  ArenaCheckpoint checkpoint() const noexcept { return {used_, cur_}; }

  /// Frees every block allocated since `cp` was taken; chunks emptied by it are kept for
  /// reuse. `cp` must come from this arena since its last reset, and not from beyond an
  /// earlier rewind (checked as far as cheaply possible: a violation aborts with a
  /// message).
  void rewind(ArenaCheckpoint cp) noexcept;

  /// Frees every block at once. O(chunks).
  void reset(ArenaReset mode) noexcept;

  /// Counts computed on demand by walking the chunk lists (O(chunks)): the fast path keeps
  /// no statistics.
  ArenaStats stats() const noexcept;

  Allocator& upstream() const noexcept { return *upstream_; }

 private:
  struct Chunk;

  [[gnu::noinline]] AllocResult allocate_slow(std::size_t size, std::size_t align) noexcept;
  Chunk* take_free_chunk(std::size_t min_bytes) noexcept;
  void retire_current() noexcept;
  void release_list(Chunk* list) noexcept;

  // The fast path reads only these two words: they come first. Invariant: either both are
  // 0 (no current chunk) or cur_ <= limit_ are the bump pointer and the end of used_'s
  // chunk.
  std::uintptr_t cur_ = 0;
  std::uintptr_t limit_ = 0;
  Chunk* used_ = nullptr;  // chunks in use, newest (current) first
  Chunk* free_ = nullptr;  // chunks kept by reset/rewind, unused
  Allocator* upstream_;
  ArenaOptions options_;
  std::size_t next_chunk_bytes_;  // size of the next new chunk; doubles up to the cap
  std::size_t reserved_bytes_ = 0;
  std::size_t peak_reserved_bytes_ = 0;
  std::size_t upstream_allocations_ = 0;
};

/// A std::pmr::memory_resource drawing from an Arena (deallocate is LIFO-or-nothing, like
/// Arena::deallocate).
///
/// Example:
/// ```
/// marrow::Arena arena;
/// marrow::ArenaResource resource(arena);
/// std::pmr::vector<std::pmr::string> names(&resource);
/// ```
using ArenaResource = ResourceAdapter<Arena>;

/// Takes a checkpoint on construction and rewinds to it on destruction: scratch memory for
/// one scope. Scopes on one arena must nest.
///
/// Example:
/// ```
/// {
///   marrow::ArenaScope scratch(arena);
///   char* tmp = static_cast<char*>(arena.allocate(4096, 1).ptr);
/// }  // tmp is freed here
/// ```
class ArenaScope {
 public:
  explicit ArenaScope(Arena& arena) noexcept : arena_(arena), checkpoint_(arena.checkpoint()) {}
  ~ArenaScope() { arena_.rewind(checkpoint_); }

  ArenaScope(const ArenaScope&) = delete;
  ArenaScope& operator=(const ArenaScope&) = delete;

 private:
  Arena& arena_;
  ArenaCheckpoint checkpoint_;
};

}  // namespace marrow
