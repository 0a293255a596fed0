// Tests for FallbackAllocator: buffer first, then the fallback; frees routed by address;
// reallocation across the boundary; errors that must not fall back.
#include <marrow/alloc/fallback_allocator.hpp>
#include <marrow/alloc/tracking_allocator.hpp>

#include <doctest/doctest.h>

#include <cstring>
#include <random>

#include "alloc_model.hpp"

using marrow::AllocError;
using marrow::AllocResult;
using marrow::FallbackAllocator;

TEST_CASE("fallback: the buffer serves first, then the fallback") {
  alignas(16) std::byte buffer[256];
  marrow::TrackingAllocator heap;
  FallbackAllocator alloc(buffer, heap);
  AllocResult a = alloc.allocate(100, 8);
  AllocResult b = alloc.allocate(100, 8);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(alloc.in_buffer(a.ptr));
  CHECK(alloc.in_buffer(b.ptr));
  CHECK(heap.stats().total_allocations == 0);
  AllocResult c = alloc.allocate(100, 8);  // 200 of 256 used: does not fit
  REQUIRE(c);
  CHECK_FALSE(alloc.in_buffer(c.ptr));
  CHECK(heap.stats().live_allocations == 1);
  AllocResult d = alloc.allocate(40, 8);  // fits in the rest of the buffer
  CHECK(alloc.in_buffer(d.ptr));

  alloc.deallocate(c.ptr, 100, 8);  // routed to the fallback
  CHECK(heap.stats().live_allocations == 0);
  CHECK(heap.stats().bad_deallocations == 0);
  alloc.deallocate(d.ptr, 40, 8);     // the newest buffer block: reclaimed
  CHECK(alloc.buffer_used() == 208);  // back to where d began (b ended at 204, padded)
  alloc.deallocate(nullptr, 8, 8);
  CHECK(&alloc.fallback() == &heap);
}

TEST_CASE("fallback: bad requests are reported, not passed on") {
  alignas(16) std::byte buffer[64];
  marrow::TrackingAllocator heap;
  FallbackAllocator alloc(buffer, heap);
  CHECK(alloc.allocate(8, 3).error == AllocError::kBadAlignment);
  CHECK(alloc.allocate(SIZE_MAX, 8).error == AllocError::kSizeOverflow);
  CHECK(alloc.reallocate(nullptr, 0, SIZE_MAX, 8).error == AllocError::kSizeOverflow);
  CHECK(heap.stats().total_allocations == 0);
  CHECK(heap.stats().failed_requests == 0);
}

TEST_CASE("fallback: when both are full the fallback's error comes back") {
  alignas(16) std::byte small[64];
  alignas(16) std::byte tiny[64];
  marrow::FixedArena second(tiny);
  FallbackAllocator alloc(small, second);
  REQUIRE(alloc.allocate(48, 8));
  REQUIRE(alloc.allocate(48, 8));  // from `tiny`
  CHECK(alloc.allocate(48, 8).error == AllocError::kExhausted);
}

TEST_CASE("fallback: reallocate grows in place, then moves out of the buffer") {
  alignas(16) std::byte buffer[256];
  marrow::TrackingAllocator heap;
  FallbackAllocator alloc(buffer, heap);
  AllocResult a = alloc.allocate(32, 8);
  std::memset(a.ptr, 0x3C, 32);
  AllocResult b = alloc.reallocate(a.ptr, 32, 128, 8);
  CHECK(b.ptr == a.ptr);  // newest block, room in the buffer
  AllocResult c = alloc.reallocate(b.ptr, 128, 4096, 8);
  REQUIRE(c);
  CHECK_FALSE(alloc.in_buffer(c.ptr));
  for (int i = 0; i < 32; ++i) REQUIRE(static_cast<unsigned char*>(c.ptr)[i] == 0x3C);
  CHECK(alloc.buffer_used() == 0);                       // the old newest block was reclaimed
  AllocResult d = alloc.reallocate(c.ptr, 4096, 16, 8);  // stays with the fallback
  REQUIRE(d);
  CHECK(static_cast<unsigned char*>(d.ptr)[15] == 0x3C);
  CHECK(alloc.shrink_in_place(d.ptr, 16, 8, 8) == AllocError::kNone);
  CHECK(alloc.grow_in_place(d.ptr, 8, 4096, 8) == AllocError::kNotInPlace);
  alloc.deallocate(d.ptr, 8, 8);
  CHECK(heap.stats().live_allocations == 0);
}

TEST_CASE("fallback: random allocate/free/reallocate against a model") {
  alignas(64) static std::byte buffer[8192];
  marrow::TrackingAllocator heap(marrow::system_allocator(),
                                 marrow::TrackingMode::kRecordAllocations);
  for (std::uint64_t seed : {21u, 22u}) {
    std::mt19937_64 rng(seed);
    FallbackAllocator alloc(std::span<std::byte>(buffer), heap);
    marrow::test::BlockModel model;
    for (int step = 0; step < 3000; ++step) {
      int op = std::uniform_int_distribution<int>(0, 9)(rng);
      auto fill = static_cast<unsigned char>(rng());
      if (op < 5 || model.empty()) {
        std::size_t size = std::uniform_int_distribution<std::size_t>(0, 400)(rng);
        std::size_t align = marrow::test::random_alignment(rng, 64);
        AllocResult r = alloc.allocate(size, align);
        REQUIRE(r);
        model.add(r.ptr, size, align, fill);
      } else {
        std::size_t i = std::uniform_int_distribution<std::size_t>(0, model.count() - 1)(rng);
        marrow::test::ModelBlock b = model.remove(model.at(i).ptr);
        if (op < 8) {
          std::size_t new_size = std::uniform_int_distribution<std::size_t>(0, 600)(rng);
          AllocResult r = alloc.reallocate(b.ptr, b.size, new_size, b.align);
          REQUIRE(r);
          auto* bytes = static_cast<unsigned char*>(r.ptr);
          for (std::size_t k = 0; k < std::min(b.size, new_size); ++k) REQUIRE(bytes[k] == b.fill);
          model.add(r.ptr, new_size, b.align, fill);
        } else {
          alloc.deallocate(b.ptr, b.size, b.align);
        }
      }
    }
    model.check_all();
    while (!model.empty()) {
      marrow::test::ModelBlock b = model.remove(model.at(0).ptr);
      alloc.deallocate(b.ptr, b.size, b.align);
    }
    CHECK(heap.stats().live_allocations == 0);
    CHECK(heap.stats().bad_deallocations == 0);  // every fallback block went back there
  }
  CHECK(heap.stats().total_allocations > 0);  // the buffer did overflow
}
