// Micro-benchmarks for the off-heap allocators on 16-64 byte requests: Arena vs Pool vs
// std::pmr::monotonic_buffer_resource vs malloc/free. Every pointer escapes through
// DoNotOptimize so no allocation can be optimised away; arenas are reset once per batch
// of kBatch allocations, inside the timed region, exactly as the pmr resource is released.
#include <marrow/alloc/arena.hpp>
#include <marrow/alloc/concurrent_pool.hpp>
#include <marrow/alloc/pool.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <cstdlib>
#include <memory_resource>
#include <random>
#include <vector>

namespace {

// Allocations per timed batch: enough to amortise the per-batch reset to noise, few enough
// (at most 64 KiB) that the working set stays in L2 for every allocator alike.
constexpr int kBatch = 1024;

// Chunk / initial-buffer size for the arena and the monotonic resource: one chunk holds a
// whole batch, so neither goes upstream in the steady state.
constexpr std::size_t kRegionBytes = 256 * 1024;

// The request sizes of a batch: Arg(0) means a fixed mix of 16-64 bytes in steps of 8
// (seeded, the same for every allocator); any other Arg is that size every time.
std::array<std::size_t, kBatch> make_sizes(std::int64_t arg) {
  std::array<std::size_t, kBatch> sizes{};
  std::mt19937 rng(42);
  for (std::size_t& s : sizes) {
    s = arg != 0 ? static_cast<std::size_t>(arg) : 16 + 8 * (rng() % 7);
  }
  return sizes;
}

void set_items(benchmark::State& state) { state.SetItemsProcessed(state.iterations() * kBatch); }

// ---- Allocation only (bump allocators reset per batch; malloc frees per batch) ----------

void BM_ArenaAlloc(benchmark::State& state) {
  auto sizes = make_sizes(state.range(0));
  marrow::Arena arena({.initial_chunk_bytes = kRegionBytes, .max_chunk_bytes = kRegionBytes});
  for (auto _ : state) {
    for (std::size_t size : sizes) {
      marrow::AllocResult r = arena.allocate(size, 8);
      benchmark::DoNotOptimize(r.ptr);
    }
    benchmark::ClobberMemory();
    arena.reset(marrow::ArenaReset::kKeepChunks);
  }
  set_items(state);
}

void BM_PmrMonotonicAlloc(benchmark::State& state) {
  auto sizes = make_sizes(state.range(0));
  std::vector<std::byte> buffer(kRegionBytes);
  std::pmr::monotonic_buffer_resource mono(buffer.data(), buffer.size());
  for (auto _ : state) {
    for (std::size_t size : sizes) {
      void* p = mono.allocate(size, 8);
      benchmark::DoNotOptimize(p);
    }
    benchmark::ClobberMemory();
    mono.release();  // back to the initial buffer: no upstream calls
  }
  set_items(state);
}

// Both through a std::pmr::memory_resource* (a virtual call each), as containers use them.
void BM_ArenaResourceVirtual(benchmark::State& state) {
  auto sizes = make_sizes(state.range(0));
  marrow::Arena arena({.initial_chunk_bytes = kRegionBytes, .max_chunk_bytes = kRegionBytes});
  marrow::ArenaResource adapter(arena);
  std::pmr::memory_resource* resource = &adapter;
  benchmark::DoNotOptimize(resource);
  for (auto _ : state) {
    for (std::size_t size : sizes) {
      void* p = resource->allocate(size, 8);
      benchmark::DoNotOptimize(p);
    }
    benchmark::ClobberMemory();
    arena.reset(marrow::ArenaReset::kKeepChunks);
  }
  set_items(state);
}

void BM_PmrMonotonicVirtual(benchmark::State& state) {
  auto sizes = make_sizes(state.range(0));
  std::vector<std::byte> buffer(kRegionBytes);
  std::pmr::monotonic_buffer_resource mono(buffer.data(), buffer.size());
  std::pmr::memory_resource* resource = &mono;
  benchmark::DoNotOptimize(resource);
  for (auto _ : state) {
    for (std::size_t size : sizes) {
      void* p = resource->allocate(size, 8);
      benchmark::DoNotOptimize(p);
    }
    benchmark::ClobberMemory();
    mono.release();
  }
  set_items(state);
}

// malloc's allocation cost, comparable with the arena's: a batch of mallocs, then the
// batch's frees, both timed (a bump allocator's "free" is the reset, also timed).
void BM_MallocAllocFreeBatch(benchmark::State& state) {
  auto sizes = make_sizes(state.range(0));
  std::array<void*, kBatch> ptrs{};
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      ptrs[i] = std::malloc(sizes[i]);
      benchmark::DoNotOptimize(ptrs[i]);
    }
    benchmark::ClobberMemory();
    for (void* p : ptrs) std::free(p);
  }
  set_items(state);
}

// ---- Allocate + free ----------------------------------------------------------------------

void BM_PoolAllocFreePairs(benchmark::State& state) {
  auto size = static_cast<std::size_t>(state.range(0));
  marrow::Pool pool(size, 8);
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      marrow::AllocResult r = pool.allocate_block();
      benchmark::DoNotOptimize(r.ptr);
      pool.deallocate_block(r.ptr);
    }
  }
  set_items(state);
}

void BM_MallocFreePairs(benchmark::State& state) {
  auto size = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      void* p = std::malloc(size);
      benchmark::DoNotOptimize(p);
      std::free(p);
    }
  }
  set_items(state);
}

// A batch of allocations then their frees in allocation order (FIFO: the free list ends up
// reversed, as in real programs), one pool per size class.
void BM_PoolAllocFreeBatch(benchmark::State& state) {
  auto size = static_cast<std::size_t>(state.range(0));
  marrow::Pool pool(size, 8);
  std::array<void*, kBatch> ptrs{};
  for (auto _ : state) {
    for (void*& p : ptrs) {
      p = pool.allocate_block().ptr;
      benchmark::DoNotOptimize(p);
    }
    benchmark::ClobberMemory();
    for (void* p : ptrs) pool.deallocate_block(p);
  }
  set_items(state);
}

void BM_MallocFreeBatchFixed(benchmark::State& state) {
  auto size = static_cast<std::size_t>(state.range(0));
  std::array<void*, kBatch> ptrs{};
  for (auto _ : state) {
    for (void*& p : ptrs) {
      p = std::malloc(size);
      benchmark::DoNotOptimize(p);
    }
    benchmark::ClobberMemory();
    for (void* p : ptrs) std::free(p);
  }
  set_items(state);
}

// The thread-safe pool through a per-thread cache, single-threaded: the cost of safety.
void BM_ConcurrentPoolCachePairs(benchmark::State& state) {
  auto size = static_cast<std::size_t>(state.range(0));
  marrow::ConcurrentPool pool(size, 8);
  marrow::ConcurrentPool::Cache cache(pool);
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      marrow::AllocResult r = cache.allocate();
      benchmark::DoNotOptimize(r.ptr);
      cache.deallocate(r.ptr);
    }
  }
  set_items(state);
}

}  // namespace

// Arg(0) is the 16-64 byte mix; 16 and 64 are the ends of the range.
BENCHMARK(BM_ArenaAlloc)->Arg(0)->Arg(16)->Arg(64);
BENCHMARK(BM_PmrMonotonicAlloc)->Arg(0)->Arg(16)->Arg(64);
BENCHMARK(BM_ArenaResourceVirtual)->Arg(0);
BENCHMARK(BM_PmrMonotonicVirtual)->Arg(0);
BENCHMARK(BM_MallocAllocFreeBatch)->Arg(0)->Arg(16)->Arg(64);
BENCHMARK(BM_PoolAllocFreePairs)->Arg(16)->Arg(32)->Arg(64);
BENCHMARK(BM_MallocFreePairs)->Arg(16)->Arg(32)->Arg(64);
BENCHMARK(BM_PoolAllocFreeBatch)->Arg(16)->Arg(32)->Arg(64);
BENCHMARK(BM_MallocFreeBatchFixed)->Arg(16)->Arg(32)->Arg(64);
BENCHMARK(BM_ConcurrentPoolCachePairs)->Arg(32);

BENCHMARK_MAIN();
