// Memory poisoning: makes stale pointers into freed, rewound or evacuated memory fail fast.
// Shared by the off-heap allocators and the collector. Must never allocate, and must cost
// nothing in release builds without sanitizers (every function folds to an empty inline).
#pragma once

#include <cstddef>
#include <cstring>

#if defined(MARROW_ASAN)
#include <sanitizer/asan_interface.h>
#endif

namespace marrow::internal {

/// The byte written over poisoned memory in debug builds (MARROW_DEBUG). 0xDB ("dead
/// block") is odd, so a pointer built from it is misaligned for any type wider than a byte,
/// and 0xDBDB... is far outside user address space: reading it as a pointer faults at once.
///
/// Example: `if (bytes[0] == std::byte{kPoisonByte}) { /* likely a stale read */ }`
inline constexpr unsigned char kPoisonByte = 0xDB;

/// What poison_memory() does in this build; chosen at compile time from the build macros.
///
/// Example: `if constexpr (kPoisonMode == PoisonMode::kAsan) { ... }` in a test that checks
/// `__asan_address_is_poisoned`.
enum class PoisonMode {
  kNone,     // release build: poisoning is compiled out
  kPattern,  // MARROW_DEBUG: memory is overwritten with kPoisonByte
  kAsan,     // MARROW_ASAN: ASan shadow memory marks the region unaddressable
};

#if defined(MARROW_ASAN)
inline constexpr PoisonMode kPoisonMode = PoisonMode::kAsan;
#elif defined(MARROW_DEBUG)
inline constexpr PoisonMode kPoisonMode = PoisonMode::kPattern;
#else
inline constexpr PoisonMode kPoisonMode = PoisonMode::kNone;
#endif

/// Marks `size` bytes at `p` as dead: any later access is a bug.
///
/// - MARROW_ASAN: the region becomes unaddressable in ASan's shadow memory (a read or write
///   reports use-after-poison). Debug+ASan builds also fill it with kPoisonByte first, so a
///   stale read through an uninstrumented path (memcpy in a library) sees the pattern.
/// - MARROW_DEBUG only: the region is filled with kPoisonByte.
/// - otherwise: nothing.
///
/// ASan tracks 8-byte granules: a region that starts or ends mid-granule is poisoned only
/// in the part ASan can express (a granule stays addressable up to the last live byte in
/// it). Allocators that hand out neighbouring blocks in LIFO order, like the arena, get
/// exact results; others round blocks to 8 bytes when they need exactness.
///
/// The caller must unpoison_memory() a region before handing it to anyone who may touch
/// it, including the upstream allocator it came from.
///
/// Example:
/// ```
/// std::free(marrow::internal::unpoisoned(block, size));  // give back clean memory
/// marrow::internal::poison_memory(block, size);          // after a rewind
/// ```
inline void poison_memory(void* p, std::size_t size) noexcept {
  if (p == nullptr || size == 0) return;
#if defined(MARROW_DEBUG) && defined(MARROW_ASAN)
  // Parts of the region may be poisoned already (alignment padding, a block freed twice
  // into a pattern check); the fill must not trip ASan, so lift the poison for it.
  ASAN_UNPOISON_MEMORY_REGION(p, size);
#endif
#if defined(MARROW_DEBUG)
  std::memset(p, kPoisonByte, size);
#endif
#if defined(MARROW_ASAN)
  ASAN_POISON_MEMORY_REGION(p, size);
#endif
}

/// Like poison_memory() but leaves the bytes as they are: ASan poisoning only, never the
/// fill pattern. For bookkeeping an allocator keeps inside dead memory (a free-list link
/// in a freed block), which the pattern would destroy. A no-op without ASan.
///
/// Example:
/// ```
/// unpoison_memory(block, sizeof(Link));
/// block->next = free_list;                 // the link survives...
/// poison_memory_keep_bytes(block, sizeof(Link));  // ...and is unaddressable to others
/// ```
inline void poison_memory_keep_bytes(void* p, std::size_t size) noexcept {
  if (p == nullptr || size == 0) return;
#if defined(MARROW_ASAN)
  ASAN_POISON_MEMORY_REGION(p, size);
#else
  (void)p;
  (void)size;
#endif
}

/// Makes `size` bytes at `p` addressable again (ASan builds); a no-op otherwise. It does not
/// clear the debug pattern: fresh blocks from a debug arena still read 0xDB until written,
/// which is the point (uninitialised reads show up as an obvious value).
///
/// Example: `marrow::internal::unpoison_memory(block, size); return block;`
inline void unpoison_memory(void* p, std::size_t size) noexcept {
  if (p == nullptr || size == 0) return;
#if defined(MARROW_ASAN)
  ASAN_UNPOISON_MEMORY_REGION(p, size);
#else
  (void)p;
  (void)size;
#endif
}

/// unpoison_memory() returning its argument, for use in an expression.
///
/// Example: `upstream.deallocate(unpoisoned(chunk, bytes), bytes, align);`
inline void* unpoisoned(void* p, std::size_t size) noexcept {
  unpoison_memory(p, size);
  return p;
}

/// True when ASan considers the byte at `p` poisoned; always false in builds without ASan.
/// For tests and heap verification, not for control flow.
///
/// Example: `CHECK(marrow::internal::is_poisoned(stale) == (kPoisonMode == PoisonMode::kAsan));`
inline bool is_poisoned(const void* p) noexcept {
#if defined(MARROW_ASAN)
  return __asan_address_is_poisoned(p) != 0;
#else
  (void)p;
  return false;
#endif
}

}  // namespace marrow::internal
