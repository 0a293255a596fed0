// Tests for Arena: the bump fast path, chunk growth and reuse, checkpoint/rewind, reset in
// both modes, statistics, the std::pmr adapter, bad requests, upstream failure, poisoning,
// and a randomized allocate/free/resize/rewind run against a model.
#include <marrow/alloc/arena.hpp>
#include <marrow/alloc/fixed_arena.hpp>
#include <marrow/alloc/tracking_allocator.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <memory_resource>
#include <random>
#include <string>
#include <vector>

#include "alloc_model.hpp"

using marrow::AllocError;
using marrow::AllocResult;
using marrow::Arena;
using marrow::ArenaReset;

namespace {

struct Point {
  int x, y;
  Point(int x_, int y_) : x(x_), y(y_) {}
};

}  // namespace

TEST_CASE("arena: consecutive small allocations are contiguous and aligned") {
  Arena arena;
  AllocResult a = arena.allocate(24, 8);
  AllocResult b = arena.allocate(8, 8);
  AllocResult c = arena.allocate(1, 1);
  AllocResult d = arena.allocate(16, 16);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(c);
  REQUIRE(d);
  CHECK(static_cast<char*>(b.ptr) == static_cast<char*>(a.ptr) + 24);
  CHECK(static_cast<char*>(c.ptr) == static_cast<char*>(b.ptr) + 8);
  CHECK(marrow::internal::is_aligned(d.ptr, 16));
  CHECK(static_cast<char*>(d.ptr) > static_cast<char*>(c.ptr));
  marrow::ArenaStats s = arena.stats();
  CHECK(s.chunk_count == 1);
  CHECK(s.upstream_allocations == 1);
  CHECK(s.used_bytes ==
        static_cast<std::size_t>(static_cast<char*>(d.ptr) + 16 - static_cast<char*>(a.ptr)));
}

TEST_CASE("arena: every power-of-two alignment up to 1 MiB") {
  Arena arena({.initial_chunk_bytes = 4096});
  for (std::size_t align = 1; align <= (std::size_t{1} << 20); align <<= 1) {
    AllocResult r = arena.allocate(3, align);
    REQUIRE(r);
    CHECK(marrow::internal::is_aligned(r.ptr, align));
  }
}

TEST_CASE("arena: chunks grow geometrically up to the cap; big requests get their own") {
  marrow::TrackingAllocator upstream;
  Arena arena({.initial_chunk_bytes = 1024, .max_chunk_bytes = 8192}, upstream);
  std::size_t total = 0;
  while (arena.stats().chunk_count < 6) {
    REQUIRE(arena.allocate(64, 8));
    total += 64;
  }
  marrow::ArenaStats s = arena.stats();
  // 1024 + 2048 + 4096 + 8192 + 8192 + 8192 bytes of chunks.
  CHECK(s.reserved_bytes == 1024 + 2048 + 4096 + 3 * 8192);
  CHECK(upstream.stats().current_bytes == s.reserved_bytes);
  CHECK(s.used_bytes == total);

  AllocResult big = arena.allocate(100'000, 64);
  REQUIRE(big);
  CHECK(marrow::internal::is_aligned(big.ptr, 64));
  std::memset(big.ptr, 1, 100'000);
  CHECK(arena.stats().chunk_count == 7);
  CHECK(upstream.stats().peak_bytes >= s.reserved_bytes + 100'000);
  CHECK(arena.stats().peak_reserved_bytes == upstream.stats().peak_bytes);
  // The big chunk did not advance growth: the next regular chunk is still 8 KiB.
  REQUIRE(arena.allocate(8000, 8));
  CHECK(arena.stats().reserved_bytes - 100'000 < s.reserved_bytes + 2 * 8192);
}

TEST_CASE("arena: zero-size allocations are unique and non-null") {
  Arena arena;
  AllocResult a = arena.allocate(0, 8);
  AllocResult b = arena.allocate(0, 8);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a.ptr != b.ptr);
  Arena empty;  // the very first request is a zero-size one: goes through a new chunk
  AllocResult c = empty.allocate(0, 64);
  REQUIRE(c);
  CHECK(marrow::internal::is_aligned(c.ptr, 64));
  arena.deallocate(b.ptr, 0, 8);
  AllocResult again = arena.allocate(0, 8);
  CHECK(again.ptr == b.ptr);  // the newest block's byte was reclaimed
}

TEST_CASE("arena: bad requests are errors and leave the arena usable") {
  Arena arena;
  REQUIRE(arena.allocate(16, 8));
  marrow::ArenaStats before = arena.stats();
  CHECK(arena.allocate(16, 0).error == AllocError::kBadAlignment);
  CHECK(arena.allocate(16, 24).error == AllocError::kBadAlignment);
  CHECK(arena.allocate(16, marrow::kMaxAlignment * 2).error == AllocError::kBadAlignment);
  CHECK(arena.allocate(SIZE_MAX, 8).error == AllocError::kSizeOverflow);
  CHECK(arena.allocate(SIZE_MAX - 7, 8).error == AllocError::kSizeOverflow);
  CHECK(arena.allocate(marrow::kMaxAllocationSize, 1).error == AllocError::kSizeOverflow);
  CHECK(arena.grow_in_place(nullptr, 0, SIZE_MAX, 8) == AllocError::kSizeOverflow);
  marrow::ArenaStats after = arena.stats();
  CHECK(after.used_bytes == before.used_bytes);
  CHECK(after.upstream_allocations == before.upstream_allocations);
  CHECK(arena.allocate(16, 8));
}

TEST_CASE("arena: upstream failure is reported with the upstream's reason") {
  alignas(16) std::byte buffer[2048];
  marrow::FixedArena upstream(buffer);
  Arena arena({.initial_chunk_bytes = 1024}, upstream);
  REQUIRE(arena.allocate(900, 8));
  // The next chunk (2048 bytes) does not fit in what is left of the buffer.
  AllocResult r = arena.allocate(900, 8);
  CHECK(r.error == AllocError::kExhausted);
  CHECK(arena.stats().chunk_count == 1);
  REQUIRE(arena.allocate(64, 8));  // the current chunk still serves what fits
}

TEST_CASE("arena: deallocate reclaims only the newest block") {
  Arena arena;
  AllocResult a = arena.allocate(32, 8);
  AllocResult b = arena.allocate(32, 8);
  std::size_t used = arena.stats().used_bytes;
  arena.deallocate(a.ptr, 32, 8);  // not the newest: memory stays used
  CHECK(arena.stats().used_bytes == used);
  arena.deallocate(b.ptr, 32, 8);  // the newest: its bytes come back
  CHECK(arena.stats().used_bytes == used - 32);
  CHECK(arena.allocate(32, 8).ptr == b.ptr);
  arena.deallocate(nullptr, 32, 8);
}

TEST_CASE("arena: grow and shrink in place for the newest block") {
  Arena arena({.initial_chunk_bytes = 1024});
  AllocResult a = arena.allocate(64, 8);
  AllocResult b = arena.allocate(64, 8);
  std::memset(b.ptr, 7, 64);
  CHECK(arena.grow_in_place(a.ptr, 64, 128, 8) == AllocError::kNotInPlace);
  CHECK(arena.grow_in_place(b.ptr, 64, 256, 8) == AllocError::kNone);
  std::memset(b.ptr, 7, 256);
  CHECK(arena.grow_in_place(b.ptr, 256, 100'000, 8) == AllocError::kNotInPlace);
  CHECK(arena.grow_in_place(b.ptr, 256, 100, 8) == AllocError::kUnsupported);
  CHECK(arena.shrink_in_place(b.ptr, 256, 16, 8) == AllocError::kNone);
  CHECK(arena.shrink_in_place(b.ptr, 16, 32, 8) == AllocError::kUnsupported);
  CHECK(arena.allocate(8, 8).ptr == static_cast<char*>(b.ptr) + 16);

  AllocResult moved = arena.reallocate(a.ptr, 64, 512, 8);  // not newest: moves
  REQUIRE(moved);
  CHECK(moved.ptr != a.ptr);
}

TEST_CASE("arena: checkpoint and rewind free what came after, across chunks") {
  marrow::TrackingAllocator upstream;
  Arena arena({.initial_chunk_bytes = 512, .max_chunk_bytes = 512}, upstream);
  AllocResult keep = arena.allocate(100, 8);
  std::memset(keep.ptr, 0x42, 100);
  marrow::ArenaCheckpoint cp = arena.checkpoint();
  std::size_t used = arena.stats().used_bytes;
  for (int i = 0; i < 40; ++i) REQUIRE(arena.allocate(100, 8));
  std::size_t chunks = arena.stats().chunk_count;
  CHECK(chunks > 5);
  arena.rewind(cp);
  marrow::ArenaStats s = arena.stats();
  CHECK(s.used_bytes == used);
  CHECK(s.chunk_count == 1);
  CHECK(s.free_chunk_count == chunks - 1);
  CHECK(static_cast<unsigned char*>(keep.ptr)[99] == 0x42);
  AllocResult next = arena.allocate(8, 8);
  CHECK(static_cast<char*>(next.ptr) == static_cast<char*>(keep.ptr) + 104);

  // Refilling reuses the kept chunks: no new upstream calls.
  std::size_t calls = upstream.stats().total_allocations;
  for (int i = 0; i < 40; ++i) REQUIRE(arena.allocate(100, 8));
  CHECK(upstream.stats().total_allocations == calls);

  arena.rewind(marrow::ArenaCheckpoint{});  // the empty arena's checkpoint
  CHECK(arena.stats().used_bytes == 0);
  CHECK(arena.stats().chunk_count == 0);
}

TEST_CASE("arena: ArenaScope rewinds at scope exit, and scopes nest") {
  Arena arena;
  REQUIRE(arena.allocate(10, 1));
  {
    marrow::ArenaScope outer(arena);
    REQUIRE(arena.allocate(100, 1));
    {
      marrow::ArenaScope inner(arena);
      REQUIRE(arena.allocate(1000, 1));
      CHECK(arena.stats().used_bytes == 1110);
    }
    CHECK(arena.stats().used_bytes == 110);
  }
  CHECK(arena.stats().used_bytes == 10);
}

TEST_CASE("arena: reset keeps or releases chunks") {
  marrow::TrackingAllocator upstream;
  Arena arena({.initial_chunk_bytes = 1024, .max_chunk_bytes = 4096}, upstream);
  for (int i = 0; i < 100; ++i) REQUIRE(arena.allocate(100, 8));
  std::size_t chunks = arena.stats().chunk_count;
  std::size_t reserved = arena.stats().reserved_bytes;

  arena.reset(ArenaReset::kKeepChunks);
  marrow::ArenaStats kept = arena.stats();
  CHECK(kept.used_bytes == 0);
  CHECK(kept.chunk_count == 0);
  CHECK(kept.free_chunk_count == chunks);
  CHECK(kept.reserved_bytes == reserved);
  CHECK(upstream.stats().current_bytes == reserved);
  std::size_t calls = upstream.stats().total_allocations;
  for (int i = 0; i < 100; ++i) REQUIRE(arena.allocate(100, 8));
  CHECK(upstream.stats().total_allocations == calls);

  arena.reset(ArenaReset::kReleaseChunks);
  CHECK(arena.stats().reserved_bytes == 0);
  CHECK(arena.stats().free_chunk_count == 0);
  CHECK(upstream.stats().current_bytes == 0);
  CHECK(upstream.stats().live_allocations == 0);
  REQUIRE(arena.allocate(100, 8));  // usable after a release
}

TEST_CASE("arena: the destructor returns every chunk to upstream") {
  marrow::TrackingAllocator upstream(marrow::system_allocator(),
                                     marrow::TrackingMode::kRecordAllocations);
  {
    Arena arena({.initial_chunk_bytes = 256}, upstream);
    for (int i = 0; i < 50; ++i) REQUIRE(arena.allocate(200, 16));
    marrow::ArenaCheckpoint cp = arena.checkpoint();
    for (int i = 0; i < 50; ++i) REQUIRE(arena.allocate(200, 16));
    arena.rewind(cp);  // some chunks in the free list too
    CHECK(upstream.stats().live_allocations > 1);
  }
  CHECK(upstream.stats().live_allocations == 0);
  CHECK(upstream.stats().bad_deallocations == 0);
}

TEST_CASE("arena: create constructs objects in place") {
  Arena arena;
  Point* p = arena.create<Point>(3, 4);
  REQUIRE(p != nullptr);
  CHECK(p->x == 3);
  CHECK(p->y == 4);
  CHECK(marrow::internal::is_aligned(p, alignof(Point)));
}

TEST_CASE("arena: std::pmr containers through ArenaResource") {
  marrow::TrackingAllocator upstream;
  Arena arena({}, upstream);
  marrow::ArenaResource resource(arena);
  {
    std::pmr::vector<std::pmr::string> words(&resource);
    for (int i = 0; i < 200; ++i) {
      words.emplace_back("a string long enough to need its own buffer #" + std::to_string(i));
    }
    CHECK(words.size() == 200);
    CHECK(words[123] == "a string long enough to need its own buffer #123");
    CHECK(words.get_allocator().resource() == &resource);
    CHECK(arena.stats().used_bytes > 200 * 40);
  }
  CHECK(upstream.stats().total_allocations == arena.stats().upstream_allocations);
  CHECK(&resource.allocator() == &arena);
}

TEST_CASE("arena: freed and rewound memory is poisoned") {
  Arena arena;
  AllocResult keep = arena.allocate(64, 8);
  marrow::ArenaCheckpoint cp = arena.checkpoint();
  AllocResult gone = arena.allocate(64, 8);
  std::memset(gone.ptr, 0, 64);
  arena.rewind(cp);
  using marrow::internal::PoisonMode;
  if constexpr (marrow::internal::kPoisonMode == PoisonMode::kAsan) {
    CHECK(marrow::internal::is_poisoned(gone.ptr));
    CHECK(marrow::internal::is_poisoned(static_cast<char*>(gone.ptr) + 63));
    CHECK_FALSE(marrow::internal::is_poisoned(keep.ptr));
    CHECK_FALSE(marrow::internal::is_poisoned(static_cast<char*>(keep.ptr) + 63));
  } else if constexpr (marrow::internal::kPoisonMode == PoisonMode::kPattern) {
    auto* bytes = static_cast<unsigned char*>(gone.ptr);
    for (int i = 0; i < 64; ++i) REQUIRE(bytes[i] == marrow::internal::kPoisonByte);
  } else {
    CHECK_FALSE(marrow::internal::is_poisoned(gone.ptr));  // release: nothing to see
  }
  AllocResult reused = arena.allocate(64, 8);
  CHECK(reused.ptr == gone.ptr);
  CHECK_FALSE(marrow::internal::is_poisoned(reused.ptr));
  std::memset(reused.ptr, 1, 64);  // writable again (ASan would report otherwise)
}

TEST_CASE("arena: random allocate/free/resize/rewind against a model") {
  for (std::uint64_t seed : {1u, 2u, 3u, 4u}) {
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    marrow::TrackingAllocator upstream;
    marrow::test::BlockModel model;
    {
      Arena arena({.initial_chunk_bytes = 512, .max_chunk_bytes = 16384}, upstream);
      struct Saved {
        marrow::ArenaCheckpoint cp;
        std::uint64_t seq;
      };
      std::vector<Saved> checkpoints;
      void* newest = nullptr;  // the newest live block, for LIFO frees and in-place growth
      std::size_t newest_size = 0;
      std::size_t newest_align = 1;
      for (int step = 0; step < 4000; ++step) {
        int op = std::uniform_int_distribution<int>(0, 99)(rng);
        auto fill = static_cast<unsigned char>(rng());
        if (op < 60 || model.empty()) {
          std::size_t size = std::uniform_int_distribution<std::size_t>(0, 300)(rng);
          if (op == 0) size = 20'000;  // bigger than the chunk cap
          std::size_t align = marrow::test::random_alignment(rng, 256);
          AllocResult r = arena.allocate(size, align);
          REQUIRE(r);
          model.add(r.ptr, size, align, fill);
          newest = r.ptr;
          newest_size = size;
          newest_align = align;
        } else if (op < 70 && newest != nullptr) {
          std::size_t new_size =
              newest_size + std::uniform_int_distribution<std::size_t>(0, 100)(rng);
          unsigned char old_fill = model.remove(newest).fill;
          AllocResult r = arena.reallocate(newest, newest_size, new_size, newest_align);
          REQUIRE(r);
          auto* bytes = static_cast<unsigned char*>(r.ptr);
          for (std::size_t i = 0; i < newest_size; ++i) REQUIRE(bytes[i] == old_fill);
          model.add(r.ptr, new_size, newest_align, fill);
          newest = r.ptr;
          newest_size = new_size;
        } else if (op < 78 && newest != nullptr) {
          model.remove(newest);
          arena.deallocate(newest, newest_size, newest_align);
          newest = nullptr;
        } else if (op < 88) {
          checkpoints.push_back({arena.checkpoint(), model.next_seq()});
        } else if (op < 96 && !checkpoints.empty()) {
          std::size_t i =
              std::uniform_int_distribution<std::size_t>(0, checkpoints.size() - 1)(rng);
          arena.rewind(checkpoints[i].cp);
          model.drop_from_seq(checkpoints[i].seq);
          checkpoints.resize(i);  // later checkpoints are beyond the position now
          newest = nullptr;
        } else if (op < 97) {
          arena.reset(op % 2 == 0 ? ArenaReset::kKeepChunks : ArenaReset::kReleaseChunks);
          model.clear();
          checkpoints.clear();
          newest = nullptr;
        }
        marrow::ArenaStats s = arena.stats();
        REQUIRE(s.used_bytes >= model.bytes());
        REQUIRE(s.reserved_bytes == upstream.stats().current_bytes);
        REQUIRE(s.chunk_count + s.free_chunk_count == upstream.stats().live_allocations);
      }
      model.check_all();
    }
    CHECK(upstream.stats().live_allocations == 0);
  }
}
