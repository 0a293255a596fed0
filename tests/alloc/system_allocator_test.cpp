// Tests for SystemAllocator: alignments from 1 to a page, zero-size uniqueness, bad
// requests reported as errors, and realloc preserving contents (over-aligned blocks too).
#include <marrow/alloc/poison.hpp>
#include <marrow/alloc/system_allocator.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "alloc_model.hpp"

using marrow::AllocError;
using marrow::AllocResult;

TEST_CASE("system allocator honours every alignment up to a page") {
  marrow::SystemAllocator& sys = marrow::system_allocator();
  for (std::size_t align = 1; align <= 4096; align <<= 1) {
    for (std::size_t size : {std::size_t{1}, std::size_t{7}, align, 3 * align + 1}) {
      AllocResult r = sys.allocate(size, align);
      REQUIRE(r);
      CHECK(marrow::internal::is_aligned(r.ptr, align));
      std::memset(r.ptr, 0xAB, size);
      sys.deallocate(r.ptr, size, align);
    }
  }
}

TEST_CASE("system allocator: zero-size requests give unique non-null blocks") {
  marrow::SystemAllocator& sys = marrow::system_allocator();
  AllocResult a = sys.allocate(0, 8);
  AllocResult b = sys.allocate(0, 8);
  AllocResult c = sys.allocate(0, 256);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(c);
  CHECK(a.ptr != b.ptr);
  CHECK(marrow::internal::is_aligned(c.ptr, 256));
  sys.deallocate(a.ptr, 0, 8);
  sys.deallocate(b.ptr, 0, 8);
  sys.deallocate(c.ptr, 0, 256);
}

TEST_CASE("system allocator: bad requests are errors, not crashes") {
  marrow::SystemAllocator& sys = marrow::system_allocator();
  CHECK(sys.allocate(16, 0).error == AllocError::kBadAlignment);
  CHECK(sys.allocate(16, 3).error == AllocError::kBadAlignment);
  CHECK(sys.allocate(16, 48).error == AllocError::kBadAlignment);
  CHECK(sys.allocate(16, marrow::kMaxAlignment << 1).error == AllocError::kBadAlignment);
  CHECK(sys.allocate(SIZE_MAX, 8).error == AllocError::kSizeOverflow);
  CHECK(sys.allocate(SIZE_MAX - 4095, 4096).error == AllocError::kSizeOverflow);
  CHECK(sys.allocate(marrow::kMaxAllocationSize, 1).error == AllocError::kSizeOverflow);
  CHECK(sys.reallocate(nullptr, 0, SIZE_MAX, 8).error == AllocError::kSizeOverflow);
  sys.deallocate(nullptr, 16, 8);  // a no-op
}

TEST_CASE("system allocator: an impossible size is out of memory") {
  // ASan's malloc aborts on sizes above its own limit instead of returning null (unless
  // allocator_may_return_null=1), so this request is only made without it.
  if constexpr (marrow::internal::kPoisonMode != marrow::internal::PoisonMode::kAsan) {
    marrow::SystemAllocator& sys = marrow::system_allocator();
    AllocResult r = sys.allocate(marrow::kMaxAllocationSize - 4096, 8);
    CHECK(r.error == AllocError::kOutOfMemory);
    AllocResult small = sys.allocate(64, 8);
    REQUIRE(small);
    std::memset(small.ptr, 0x11, 64);
    AllocResult failed = sys.reallocate(small.ptr, 64, marrow::kMaxAllocationSize - 4096, 8);
    CHECK(failed.error == AllocError::kOutOfMemory);
    CHECK(static_cast<unsigned char*>(small.ptr)[63] == 0x11);  // still ours, intact
    sys.deallocate(small.ptr, 64, 8);
  }
}

TEST_CASE("system allocator: in-place resizing") {
  marrow::SystemAllocator& sys = marrow::system_allocator();
  AllocResult r = sys.allocate(100, 8);
  REQUIRE(r);
  CHECK(sys.grow_in_place(r.ptr, 100, 200, 8) == AllocError::kNotInPlace);
  CHECK(sys.grow_in_place(r.ptr, 100, 100, 8) == AllocError::kNone);
  CHECK(sys.shrink_in_place(r.ptr, 100, 40, 8) == AllocError::kNone);
  CHECK(sys.shrink_in_place(r.ptr, 40, 80, 8) == AllocError::kUnsupported);
  sys.deallocate(r.ptr, 40, 8);
}

TEST_CASE("system allocator: random allocate/reallocate/free keeps blocks disjoint and intact") {
  marrow::SystemAllocator& sys = marrow::system_allocator();
  marrow::test::BlockModel model;
  std::mt19937_64 rng(20240501);
  for (int step = 0; step < 3000; ++step) {
    int op = std::uniform_int_distribution<int>(0, 9)(rng);
    if (op < 5 || model.empty()) {
      std::size_t size = std::uniform_int_distribution<std::size_t>(0, 600)(rng);
      std::size_t align = marrow::test::random_alignment(rng, 1024);
      AllocResult r = sys.allocate(size, align);
      REQUIRE(r);
      model.add(r.ptr, size, align, static_cast<unsigned char>(step));
    } else {
      std::size_t i = std::uniform_int_distribution<std::size_t>(0, model.count() - 1)(rng);
      marrow::test::ModelBlock b = model.at(i);
      model.remove(b.ptr);
      if (op < 8) {
        std::size_t new_size = std::uniform_int_distribution<std::size_t>(0, 900)(rng);
        AllocResult r = sys.reallocate(b.ptr, b.size, new_size, b.align);
        REQUIRE(r);
        auto* bytes = static_cast<unsigned char*>(r.ptr);
        for (std::size_t k = 0; k < std::min(b.size, new_size); ++k) REQUIRE(bytes[k] == b.fill);
        model.add(r.ptr, new_size, b.align, static_cast<unsigned char>(step));
      } else {
        sys.deallocate(b.ptr, b.size, b.align);
      }
    }
  }
  model.check_all();
  while (!model.empty()) {
    marrow::test::ModelBlock b = model.remove(model.at(0).ptr);
    sys.deallocate(b.ptr, b.size, b.align);
  }
}
