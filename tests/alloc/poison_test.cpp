// Tests for poison.hpp: the mode matches the build macros, and poisoning / unpoisoning
// behave as documented for that mode (shadow memory under ASan, 0xDB fill in debug).
#include <marrow/alloc/poison.hpp>

#include <doctest/doctest.h>

#include <cstring>

using marrow::internal::kPoisonMode;
using marrow::internal::PoisonMode;

TEST_CASE("poison: the mode follows the build macros") {
#if defined(MARROW_ASAN)
  CHECK(kPoisonMode == PoisonMode::kAsan);
#elif defined(MARROW_DEBUG)
  CHECK(kPoisonMode == PoisonMode::kPattern);
#else
  CHECK(kPoisonMode == PoisonMode::kNone);
#endif
}

TEST_CASE("poison: poison_memory then unpoison_memory round-trips") {
  alignas(16) unsigned char bytes[64];
  std::memset(bytes, 0x11, sizeof bytes);
  marrow::internal::poison_memory(bytes + 16, 32);
  if constexpr (kPoisonMode == PoisonMode::kAsan) {
    CHECK(marrow::internal::is_poisoned(bytes + 16));
    CHECK(marrow::internal::is_poisoned(bytes + 47));
    CHECK_FALSE(marrow::internal::is_poisoned(bytes + 15));
    CHECK_FALSE(marrow::internal::is_poisoned(bytes + 48));
  }
  marrow::internal::unpoison_memory(bytes + 16, 32);
  CHECK_FALSE(marrow::internal::is_poisoned(bytes + 16));
  if constexpr (kPoisonMode == PoisonMode::kNone) {
    CHECK(bytes[20] == 0x11);  // release builds leave memory alone
  } else {
#if defined(MARROW_DEBUG)
    CHECK(bytes[20] == marrow::internal::kPoisonByte);
    CHECK(bytes[47] == marrow::internal::kPoisonByte);
#endif
  }
  CHECK(bytes[15] == 0x11);
  CHECK(bytes[48] == 0x11);
}

TEST_CASE("poison: keep_bytes poisons for ASan without touching the bytes") {
  alignas(16) unsigned char bytes[32];
  std::memset(bytes, 0x22, sizeof bytes);
  marrow::internal::poison_memory_keep_bytes(bytes, 16);
  CHECK(marrow::internal::is_poisoned(bytes) == (kPoisonMode == PoisonMode::kAsan));
  marrow::internal::unpoison_memory(bytes, 16);
  CHECK(bytes[0] == 0x22);
  CHECK(bytes[15] == 0x22);
  CHECK(marrow::internal::unpoisoned(bytes, 16) == bytes);
}

TEST_CASE("poison: null and empty regions are ignored") {
  marrow::internal::poison_memory(nullptr, 100);
  marrow::internal::unpoison_memory(nullptr, 100);
  unsigned char b = 5;
  marrow::internal::poison_memory(&b, 0);
  CHECK(b == 5);
  CHECK_FALSE(marrow::internal::is_poisoned(&b));
}
