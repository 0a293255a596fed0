// allocator_demo: a tour of marrow's off-heap allocators. Counts words with std::pmr
// containers in an Arena, runs a particle simulation on an ObjectPool, and shows what a
// TrackingAllocator sees, leak report included. Uses only <marrow/alloc/...> headers.
#include <marrow/alloc/arena.hpp>
#include <marrow/alloc/object_pool.hpp>
#include <marrow/alloc/pool.hpp>
#include <marrow/alloc/tracking_allocator.hpp>

#include <algorithm>
#include <cstdio>
#include <memory_resource>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

// Part 1: every string and map node of a word count lives in one arena; one reset frees
// them all, and the tracker under the arena shows the only upstream calls are chunks.
void count_words(marrow::TrackingAllocator& malloc_tracker) {
  std::puts("== arena + std::pmr: word count");
  static constexpr std::string_view kWords[] = {"marrow", "arena", "bump", "pointer", "chunk",
                                                "rewind", "pool",  "free", "list",    "page"};
  marrow::Arena arena({.initial_chunk_bytes = 4096, .max_chunk_bytes = 64 * 1024}, malloc_tracker);
  marrow::ArenaResource resource(arena);
  std::mt19937 rng(7);
  for (int round = 1; round <= 2; ++round) {
    std::pmr::vector<std::pmr::string> text(&resource);
    text.reserve(20'000);  // an arena never reuses a vector's outgrown buffers
    for (int i = 0; i < 20'000; ++i) {
      // 500 distinct words, long enough to live in the arena rather than in the string.
      std::pmr::string w(kWords[rng() % std::size(kWords)], &resource);
      w.append("-number-").append(std::to_string(rng() % 50));
      text.push_back(std::move(w));
    }
    std::pmr::vector<std::pair<std::pmr::string, int>> counts(&resource);
    std::sort(text.begin(), text.end());
    for (const auto& w : text) {
      if (counts.empty() || counts.back().first != w) counts.emplace_back(w, 0);
      ++counts.back().second;
    }
    auto top = std::max_element(counts.begin(), counts.end(),
                                [](const auto& a, const auto& b) { return a.second < b.second; });
    marrow::ArenaStats s = arena.stats();
    std::printf("round %d: %zu words, %zu distinct, most common '%s' (%d times)\n", round,
                text.size(), counts.size(), top->first.c_str(), top->second);
    std::printf("  arena: %zu bytes used in %zu chunks, %zu bytes reserved, %zu upstream calls\n",
                s.used_bytes, s.chunk_count, s.reserved_bytes, s.upstream_allocations);
    // The containers die here, then the reset frees everything at once (their
    // deallocations are no-ops except LIFO); the chunks stay for round 2.
    text = std::pmr::vector<std::pmr::string>(&resource);
    counts = decltype(counts)(&resource);
    arena.reset(marrow::ArenaReset::kKeepChunks);
  }
  marrow::ArenaStats s = arena.stats();
  std::printf("after 2 rounds: %zu upstream calls in total (round 2 reused round 1's chunks)\n",
              s.upstream_allocations);
  std::printf("  malloc as seen by the tracker: %zu bytes live, peak %zu bytes, %zu blocks\n",
              malloc_tracker.stats().current_bytes, malloc_tracker.stats().peak_bytes,
              malloc_tracker.stats().live_allocations);
}

// Part 2: particles spawn and die every step; the pool recycles their blocks, so after
// the warm-up no step goes to malloc.
struct Particle {
  float x, y, vx, vy;
  int ttl;
};

void simulate(marrow::TrackingAllocator& malloc_tracker) {
  std::puts("== object pool: particle simulation");
  marrow::ObjectPool<Particle> pool({.initial_chunk_blocks = 128}, malloc_tracker);
  std::vector<marrow::PoolPtr<Particle>> alive;
  std::mt19937 rng(11);
  std::size_t spawned = 0;
  std::size_t calls_before = malloc_tracker.stats().total_allocations;
  for (int step = 0; step < 200; ++step) {
    for (int i = 0; i < 50; ++i) {
      marrow::PoolPtr<Particle> p =
          pool.make(Particle{0, 0, float(rng() % 7), float(rng() % 5), int(rng() % 30)});
      if (!p) continue;
      alive.push_back(std::move(p));
      ++spawned;
    }
    for (auto& p : alive) {
      p->x += p->vx;
      p->y += p->vy;
      if (--p->ttl < 0) p.reset();  // dies: its block goes back to the pool
    }
    std::erase_if(alive, [](const auto& p) { return !p; });
  }
  marrow::PoolStats s = pool.pool().stats();
  std::printf(
      "spawned %zu particles, %zu alive, pool holds %zu blocks of %zu bytes in %zu "
      "chunks\n",
      spawned, alive.size(), s.total_blocks, s.block_size, s.chunk_count);
  std::printf("  malloc calls for all of it: %zu\n",
              malloc_tracker.stats().total_allocations - calls_before);
  alive.clear();
}

// Part 3: a tracker recording every block finds what was never freed.
void find_a_leak() {
  std::puts("== tracking allocator: leak report");
  marrow::TrackingAllocator tracker(marrow::system_allocator(),
                                    marrow::TrackingMode::kRecordAllocations);
  std::vector<void*> blocks;
  for (std::size_t size : {24u, 4096u, 100u, 64u, 512u}) {
    blocks.push_back(tracker.allocate(size, 16).ptr);
  }
  tracker.deallocate(blocks[0], 24, 16);
  tracker.deallocate(blocks[2], 100, 16);
  tracker.deallocate(blocks[4], 512, 16);
  // blocks[1] and blocks[3] are "forgotten":
  tracker.write_leak_report(stdout);
  tracker.deallocate(blocks[1], 4096, 16);
  tracker.deallocate(blocks[3], 64, 16);
  std::printf("after cleanup: %zu live blocks\n", tracker.stats().live_allocations);
}

}  // namespace

int main() {
  marrow::TrackingAllocator malloc_tracker;  // sees every chunk the arena and pool take
  count_words(malloc_tracker);
  simulate(malloc_tracker);
  find_a_leak();
  marrow::TrackingStats s = malloc_tracker.stats();
  std::printf(
      "== total from malloc: %zu chunk allocations, peak %zu bytes, %zu bytes still "
      "live\n",
      s.total_allocations, s.peak_bytes, s.current_bytes);
  return s.current_bytes == 0 ? 0 : 1;
}
