// The spaces of a managed heap, as statistics, the heap walk and the collector's pages
// name them. One enum for the idea: a page of old, large or immortal space carries it too.
#pragma once
#include <cstddef>
#include <cstdint>

namespace marrow {

/// The spaces of a heap. Eden is where objects are born (the nursery proper); survivors
/// are the two semispaces young objects age in; old, large and immortal hold the rest.
///
/// ```cpp
/// const marrow::SpaceStats& old = rt.stats().spaces[std::size_t(marrow::Space::kOld)];
/// std::printf("%s: %zu bytes used\n", marrow::to_string(marrow::Space::kOld), old.used);
/// ```
enum class Space : std::uint8_t { kEden, kSurvivor, kOld, kLarge, kImmortal, kNone };
inline constexpr std::size_t kSpaceCount = 5;  ///< kEden..kImmortal (kNone excluded)

/// "eden", "survivor", "old", "large", "immortal" or "none".
const char* to_string(Space space) noexcept;

}  // namespace marrow
