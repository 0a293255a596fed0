// The one-word object header every managed object starts with, and how it is encoded.
// Everything the collector learns about an object without calling user code is here.
#pragma once
#include <cstddef>
#include <cstdint>

namespace marrow::internal {

/// Layout of a managed object in memory: [header word][the C++ object (sizeof(T))][extra].
/// The header sits *before* the object, so an `Object*` points 8 bytes past the header and
/// constructors can never clobber it.
///
/// Header word, bit 0 first:
///   bit 0       forwarded: the rest of the word is the address of the new copy's header
///   bit 1       marked by a major collection of even parity (kMarkBitEven)
///   bit 2       pinned: the object must not move (its page is excluded from compaction)
///   bit 3       finalized: its finalizer has been queued (runs at most once)
///   bit 4       remembered: the object is in the object-granularity remembered set
///   bit 5       marked by a major collection of odd parity (kMarkBitOdd)
///   bits 8-11   age in minor collections survived
///   bits 16-31  type index into the type table (0 and 1 are the heap's free chunk / filler)
///   bits 32-63  total size in 8-byte words, header included
using HeaderWord = std::uint64_t;

inline constexpr std::size_t kWordSize = 8;
inline constexpr std::size_t kHeaderSize = 8;
inline constexpr std::size_t kObjectAlignment = 8;
/// Smallest object: header plus one word. A dead object can always become a free chunk
/// (header + next link) because of this.
inline constexpr std::size_t kMinObjectSize = 16;
/// Config::large_object_bytes is never below this, so allocations of small types skip
/// the large-object compare at compile time.
inline constexpr std::size_t kMinLargeObjectBytes = 256;
/// Largest size a header can describe (32-bit word count).
inline constexpr std::size_t kMaxObjectSize = (std::size_t{1} << 32) * kWordSize - kWordSize;

inline constexpr HeaderWord kForwardedBit = 1u << 0;
/// The two mark bits alternate between major markings (the heap's mark_bit() says which
/// one the current or last marking sets): marking an object sets its cycle's bit and
/// clears the other, so live objects never need their bit cleared afterwards, and a page
/// marking found wholly live is not swept at all (docs/design.md, section 5, "Sweep").
inline constexpr HeaderWord kMarkBitEven = 1u << 1;
inline constexpr HeaderWord kMarkBitOdd = 1u << 5;
inline constexpr HeaderWord kMarkBits = kMarkBitEven | kMarkBitOdd;
inline constexpr HeaderWord kPinnedBit = 1u << 2;
inline constexpr HeaderWord kFinalizedBit = 1u << 3;
inline constexpr HeaderWord kRememberedBit = 1u << 4;
inline constexpr unsigned kAgeShift = 8;
inline constexpr HeaderWord kAgeMask = HeaderWord{0xF} << kAgeShift;
inline constexpr unsigned kMaxAge = 15;
inline constexpr unsigned kTypeShift = 16;
inline constexpr HeaderWord kTypeMask = HeaderWord{0xFFFF} << kTypeShift;
inline constexpr unsigned kSizeShift = 32;

/// Type indices reserved by the heap for memory that holds no object.
inline constexpr std::uint32_t kFreeChunkType = 0;  ///< free-list chunk: [header][next]...
inline constexpr std::uint32_t kFillerType = 1;     ///< unusable gap (may be one word)
inline constexpr std::uint32_t kFirstUserType = 2;

constexpr std::size_t align_up(std::size_t n, std::size_t a) { return (n + a - 1) & ~(a - 1); }
constexpr std::size_t align_down(std::size_t n, std::size_t a) { return n & ~(a - 1); }

constexpr HeaderWord make_header(std::size_t total_size, std::uint32_t type) {
  return (HeaderWord{total_size / kWordSize} << kSizeShift) | (HeaderWord{type} << kTypeShift);
}
constexpr std::size_t header_size_bytes(HeaderWord h) { return (h >> kSizeShift) * kWordSize; }
constexpr std::uint32_t header_type(HeaderWord h) {
  return static_cast<std::uint32_t>((h & kTypeMask) >> kTypeShift);
}
constexpr unsigned header_age(HeaderWord h) { return unsigned((h & kAgeMask) >> kAgeShift); }
constexpr HeaderWord with_age(HeaderWord h, unsigned age) {
  return (h & ~kAgeMask) | (HeaderWord{age} << kAgeShift);
}
/// `h` marked with `mark_bit` (one of the two), the other mark bit cleared.
constexpr HeaderWord with_mark(HeaderWord h, HeaderWord mark_bit) {
  return (h & ~kMarkBits) | mark_bit;
}
constexpr bool is_forwarded(HeaderWord h) { return (h & kForwardedBit) != 0; }
constexpr bool is_free_type(std::uint32_t t) { return t < kFirstUserType; }

inline HeaderWord* header_of(const void* object) {
  return reinterpret_cast<HeaderWord*>(const_cast<void*>(object)) - 1;
}
inline void* object_of(void* header) { return static_cast<std::byte*>(header) + kHeaderSize; }
inline HeaderWord* forwardee_header(HeaderWord h) {
  return reinterpret_cast<HeaderWord*>(h & ~kForwardedBit);
}

}  // namespace marrow::internal
