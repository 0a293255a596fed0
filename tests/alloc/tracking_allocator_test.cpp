// Tests for TrackingAllocator: counters (current, peak, live, totals), resize accounting,
// failures, foreign frees, the leak report with sizes and ages, and thread safety.
#include <marrow/alloc/fixed_arena.hpp>
#include <marrow/alloc/tracking_allocator.hpp>

#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using marrow::AllocError;
using marrow::AllocResult;
using marrow::TrackingAllocator;
using marrow::TrackingMode;

TEST_CASE("tracking: counters follow allocations and frees") {
  TrackingAllocator t;
  AllocResult a = t.allocate(100, 8);
  AllocResult b = t.allocate(300, 16);
  AllocResult z = t.allocate(0, 8);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(z);
  marrow::TrackingStats s = t.stats();
  CHECK(s.current_bytes == 400);
  CHECK(s.peak_bytes == 400);
  CHECK(s.live_allocations == 3);
  CHECK(s.total_allocations == 3);
  t.deallocate(b.ptr, 300, 16);
  t.deallocate(z.ptr, 0, 8);
  s = t.stats();
  CHECK(s.current_bytes == 100);
  CHECK(s.peak_bytes == 400);
  CHECK(s.live_allocations == 1);
  CHECK(s.total_deallocations == 2);
  CHECK(s.total_bytes_allocated == 400);
  t.deallocate(a.ptr, 100, 8);
  t.deallocate(nullptr, 100, 8);  // not counted
  s = t.stats();
  CHECK(s.current_bytes == 0);
  CHECK(s.live_allocations == 0);
  CHECK(s.total_deallocations == 3);
}

TEST_CASE("tracking: reallocation and in-place resizing are accounted") {
  alignas(16) std::byte buffer[1024];
  marrow::FixedArena arena(buffer);
  TrackingAllocator t(arena, TrackingMode::kRecordAllocations);
  AllocResult a = t.allocate(100, 8);
  REQUIRE(a);
  CHECK(t.grow_in_place(a.ptr, 100, 200, 8) == AllocError::kNone);
  CHECK(t.stats().current_bytes == 200);
  CHECK(t.stats().peak_bytes == 200);
  CHECK(t.shrink_in_place(a.ptr, 200, 50, 8) == AllocError::kNone);
  CHECK(t.stats().current_bytes == 50);
  AllocResult b = t.allocate(10, 8);  // now `a` cannot grow in place
  CHECK(t.grow_in_place(a.ptr, 50, 60, 8) == AllocError::kNotInPlace);
  AllocResult moved = t.reallocate(a.ptr, 50, 400, 8);
  REQUIRE(moved);
  CHECK(moved.ptr != a.ptr);
  marrow::TrackingStats s = t.stats();
  CHECK(s.current_bytes == 410);
  CHECK(s.reallocations == 3);
  CHECK(s.live_allocations == 2);
  CHECK(t.live_blocks().size() == 2);
  CHECK(t.live_blocks()[0].ptr == moved.ptr);  // keeps its original serial: oldest first
  CHECK(t.live_blocks()[0].size == 400);
  t.deallocate(moved.ptr, 400, 8);
  t.deallocate(b.ptr, 10, 8);
  CHECK(t.stats().bad_deallocations == 0);
  CHECK(t.stats().live_allocations == 0);
}

TEST_CASE("tracking: refused requests are counted and passed through unchanged") {
  alignas(16) std::byte buffer[64];
  marrow::FixedArena arena(buffer);
  TrackingAllocator t(arena);
  CHECK(t.allocate(128, 8).error == AllocError::kExhausted);
  CHECK(t.allocate(8, 7).error == AllocError::kBadAlignment);
  CHECK(t.allocate(SIZE_MAX, 8).error == AllocError::kSizeOverflow);
  AllocResult a = t.allocate(32, 8);
  REQUIRE(a);
  CHECK(t.reallocate(a.ptr, 32, 1000, 8).error == AllocError::kExhausted);
  marrow::TrackingStats s = t.stats();
  CHECK(s.failed_requests == 4);
  CHECK(s.current_bytes == 32);
  CHECK(s.total_allocations == 1);
}

TEST_CASE("tracking: foreign and mis-sized frees are caught in record mode") {
  TrackingAllocator t(marrow::system_allocator(), TrackingMode::kRecordAllocations);
  int not_ours = 0;
  t.deallocate(&not_ours, 4, 4);  // not forwarded: the system allocator would crash
  CHECK(t.stats().bad_deallocations == 1);
  AllocResult a = t.allocate(64, 8);
  t.deallocate(a.ptr, 32, 8);  // wrong size: counted, freed with the recorded size
  marrow::TrackingStats s = t.stats();
  CHECK(s.bad_deallocations == 2);
  CHECK(s.current_bytes == 0);
  CHECK(s.live_allocations == 0);
}

TEST_CASE("tracking: the leak report lists live blocks with sizes and ages, oldest first") {
  TrackingAllocator t(marrow::system_allocator(), TrackingMode::kRecordAllocations);
  AllocResult a = t.allocate(111, 8);
  AllocResult b = t.allocate(2222, 16);
  AllocResult c = t.allocate(33, 8);
  t.deallocate(b.ptr, 2222, 16);
  std::string report = t.leak_report();
  CHECK(report.find("2 live blocks, 144 bytes") != std::string::npos);
  CHECK(report.find("peak 2366 bytes") != std::string::npos);
  std::size_t first = report.find("#1: 111 bytes, align 8");
  std::size_t third = report.find("#3: 33 bytes, align 8");
  CHECK(first != std::string::npos);
  CHECK(third != std::string::npos);
  CHECK(first < third);
  CHECK(report.find("2222 bytes,") == std::string::npos);  // freed: not listed
  CHECK(report.find("(2 allocations ago)") != std::string::npos);
  CHECK(report.find("age ") != std::string::npos);

  std::string short_report = t.leak_report(1);
  CHECK(short_report.find("... and 1 more") != std::string::npos);

  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  t.write_leak_report(f);
  std::rewind(f);
  char buf[512] = {};
  std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  std::string written(buf, n);
  CHECK(written.substr(0, written.find('\n')) == report.substr(0, report.find('\n')));
  CHECK(written.find("#3: 33 bytes, align 8") != std::string::npos);

  t.deallocate(a.ptr, 111, 8);
  t.deallocate(c.ptr, 33, 8);
  CHECK(t.leak_report().find("0 live blocks, 0 bytes") != std::string::npos);
  CHECK(t.live_blocks().empty());
}

TEST_CASE("tracking: counters-only mode reports counts without blocks") {
  TrackingAllocator t;
  AllocResult a = t.allocate(10, 1);
  CHECK(t.mode() == TrackingMode::kCounters);
  CHECK(t.live_blocks().empty());
  CHECK(t.leak_report().find("blocks not recorded") != std::string::npos);
  t.deallocate(a.ptr, 10, 1);
}

TEST_CASE("tracking: concurrent use keeps the counters exact") {
  TrackingAllocator t(marrow::system_allocator(), TrackingMode::kRecordAllocations);
  constexpr int kThreads = 4;
  constexpr int kRounds = 2000;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&t] {
      std::vector<void*> mine;
      for (int r = 0; r < kRounds; ++r) {
        AllocResult a = t.allocate(16, 8);
        if (a) mine.push_back(a.ptr);
        if (r % 3 == 2) {
          t.deallocate(mine.back(), 16, 8);
          mine.pop_back();
        }
      }
      for (void* p : mine) t.deallocate(p, 16, 8);
    });
  }
  for (auto& th : threads) th.join();
  marrow::TrackingStats s = t.stats();
  CHECK(s.total_allocations == kThreads * kRounds);
  CHECK(s.total_deallocations == kThreads * kRounds);
  CHECK(s.live_allocations == 0);
  CHECK(s.current_bytes == 0);
  CHECK(s.bad_deallocations == 0);
  CHECK(s.peak_bytes >= 16 * kRounds * 2 / 3);
}
