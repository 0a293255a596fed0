// Micro-benchmarks of the collector's parts (Google Benchmark): the allocation fast path
// against Boehm, malloc/free and an arena; the write barrier on Member stores; minor pause
// against survival rate; mark and compaction throughput. Collection times come from
// marrow's own pause accounting (HeapStats::last_pause) as manual time, so the setup of
// each iteration (filling the heap) is not counted.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <vector>

#include "common.hpp"
#include "marrow/gc/heap.hpp"

namespace {

// Allocations per timed batch: large enough to hide the loop and scope overhead, small
// enough that the handles of one batch stay in L1.
constexpr int kBatch = 256;

// ---- Allocation -----------------------------------------------------------------------

void BM_Alloc_Malloc(benchmark::State& state) {
  const auto size = std::size_t(state.range(0));
  void* ptrs[kBatch];
  for (auto _ : state) {
    for (auto& p : ptrs) {
      p = std::malloc(size);
      benchmark::DoNotOptimize(p);
    }
    for (auto* p : ptrs) std::free(p);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_Alloc_Malloc)->Arg(16)->Arg(32)->Arg(48);

void BM_Alloc_Boehm(benchmark::State& state) {
  const auto size = std::size_t(state.range(0));
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) benchmark::DoNotOptimize(GC_MALLOC(size));
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["collections"] = double(GC_get_gc_no());
}
BENCHMARK(BM_Alloc_Boehm)->Arg(16)->Arg(32)->Arg(48);

void BM_Alloc_Arena(benchmark::State& state) {
  const auto size = std::size_t(state.range(0));
  marrow::bench::BumpArena arena;
  std::size_t used = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) benchmark::DoNotOptimize(arena.allocate(size));
    used += kBatch * size;
    if (used > (std::size_t{4} << 20)) {  // like a nursery: reuse 4 MiB, stay in cache
      arena.reset();
      used = 0;
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_Alloc_Arena)->Arg(16)->Arg(32)->Arg(48);

using marrow::GcKind;
using marrow::Global;
using marrow::HandleScope;
using marrow::Local;
using marrow::Member;

/// An object with `kBytes` bytes of fields (the header comes on top).
template <std::size_t kBytes>
struct Fields : marrow::Object {
  std::uint64_t words[kBytes / 8];
};

template <std::size_t kBytes>
void BM_Alloc_Marrow(benchmark::State& state) {
  marrow::Runtime rt;
  for (auto _ : state) {
    HandleScope scope(rt);
    for (int i = 0; i < kBatch; ++i) benchmark::DoNotOptimize(rt.make<Fields<kBytes>>().get());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["collections"] = double(rt.stats().minor_collections);
}
BENCHMARK_TEMPLATE(BM_Alloc_Marrow, 16);
BENCHMARK_TEMPLATE(BM_Alloc_Marrow, 32);
BENCHMARK_TEMPLATE(BM_Alloc_Marrow, 48);

// ---- Write barrier --------------------------------------------------------------------

struct Target : marrow::Object {
  std::uint64_t value = 0;
};
struct Holder : marrow::Object {
  Member<Target> field;
  void trace(marrow::Tracer& t) { t.visit(field); }
};

constexpr int kBarrierObjects = 64;
constexpr int kStoresPerIteration = 1024;

enum class Ages { kYoungToYoung, kOldToOld, kOldToYoung, kNoBarrier };

/// Stores into `kBarrierObjects` holders, cycling over as many targets; raw pointers are
/// fine because nothing allocates inside the timed loop.
void BM_Barrier(benchmark::State& state, Ages ages) {
  marrow::Runtime rt;
  HandleScope scope(rt);
  std::vector<Local<Holder>> holders;
  std::vector<Local<Target>> targets;
  auto make_holders = [&] {
    for (int i = 0; i < kBarrierObjects; ++i) holders.push_back(rt.make<Holder>());
  };
  auto make_targets = [&] {
    for (int i = 0; i < kBarrierObjects; ++i) targets.push_back(rt.make<Target>());
  };
  auto promote = [&] {  // survive more than tenure_age minor collections
    for (unsigned i = 0; i <= rt.config().tenure_age; ++i) rt.collect(GcKind::kMinor);
  };
  switch (ages) {
    case Ages::kYoungToYoung:
    case Ages::kNoBarrier:
      make_holders();
      make_targets();
      break;
    case Ages::kOldToOld:
      make_holders();
      make_targets();
      promote();
      break;
    case Ages::kOldToYoung:
      make_holders();
      promote();
      make_targets();
      break;
  }
  marrow::internal::Heap& heap = rt.heap_for_internal_use();
  bool holders_young = heap.is_young(holders[0].get());
  bool targets_young = heap.is_young(targets[0].get());
  bool want_holders_young = ages == Ages::kYoungToYoung || ages == Ages::kNoBarrier;
  bool want_targets_young = ages != Ages::kOldToOld;
  if (holders_young != want_holders_young || targets_young != want_targets_young) {
    state.SkipWithError("objects did not reach the intended generations");
    return;
  }
  Holder* h[kBarrierObjects];
  Target* t[kBarrierObjects];
  for (int i = 0; i < kBarrierObjects; ++i) {
    h[i] = holders[i].get();
    t[i] = targets[i].get();
  }
  for (auto _ : state) {
    for (int i = 0; i < kStoresPerIteration; ++i) {
      Holder* holder = h[i % kBarrierObjects];
      Target* target = t[(i * 7 + 3) % kBarrierObjects];
      if (ages == Ages::kNoBarrier) {
        holder->field.store_without_barrier_for_testing(target);
      } else {
        holder->field = target;
      }
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kStoresPerIteration);
}
BENCHMARK_CAPTURE(BM_Barrier, no_barrier, Ages::kNoBarrier);
BENCHMARK_CAPTURE(BM_Barrier, young_to_young, Ages::kYoungToYoung);
BENCHMARK_CAPTURE(BM_Barrier, old_to_old, Ages::kOldToOld);
BENCHMARK_CAPTURE(BM_Barrier, old_to_young, Ages::kOldToYoung);

// ---- Minor pause vs survival rate -----------------------------------------------------

struct Cell : marrow::Object {
  Member<Cell> next;
  std::uint64_t payload[2] = {0, 0};
  void trace(marrow::Tracer& t) { t.visit(next); }
};
struct Anchor : marrow::Object {
  Member<Cell> head;
  void trace(marrow::Tracer& t) { t.visit(head); }
};

constexpr std::size_t kMinorNursery = std::size_t{4} << 20;

/// Fills 90% of a 4 MiB eden with 32-byte cells of which one in `100 / percent` is kept
/// (chained from an old anchor), then times the minor collection.
void BM_MinorPause(benchmark::State& state) {
  const auto percent = std::size_t(state.range(0));
  marrow::Config cfg;
  cfg.nursery_bytes = kMinorNursery;
  marrow::Runtime rt(cfg);
  HandleScope outer(rt);
  Global<Anchor> anchor(rt, rt.make<Anchor>());
  for (unsigned i = 0; i <= rt.config().tenure_age; ++i) rt.collect(GcKind::kMinor);

  const std::size_t cell_bytes =
      marrow::internal::align_up(marrow::internal::kHeaderSize + sizeof(Cell), 8);
  const std::size_t cells = kMinorNursery * 9 / 10 / cell_bytes;
  std::size_t survived = 0, iteration = 0;
  for (auto _ : state) {
    anchor->head = nullptr;
    rt.collect(iteration++ % 16 == 15 ? GcKind::kMajor : GcKind::kMinor);
    const std::size_t minors_before = rt.stats().minor_collections;
    const marrow::HeapStats before = rt.stats();
    std::size_t keep_counter = 0;
    for (std::size_t i = 0; i < cells; i += kBatch) {
      HandleScope scope(rt);
      for (std::size_t j = i; j < cells && j < i + kBatch; ++j) {
        Local<Cell> c = rt.make<Cell>();
        keep_counter += percent;
        if (keep_counter >= 100) {  // exactly `percent` in every 100 cells survive
          keep_counter -= 100;
          c->next = anchor->head;
          anchor->head = c;
        }
      }
    }
    if (rt.stats().minor_collections != minors_before) {
      state.SkipWithError("eden filled up during setup: the nursery is smaller than configured");
      break;
    }
    rt.collect(GcKind::kMinor);
    const marrow::HeapStats& after = rt.stats();
    survived += (after.bytes_survived - before.bytes_survived) +
                (after.bytes_promoted - before.bytes_promoted);
    state.SetIterationTime(std::chrono::duration<double>(after.last_pause).count());
  }
  state.counters["survived_kb"] =
      benchmark::Counter(double(survived) / 1024.0, benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_MinorPause)
    ->Arg(1)
    ->Arg(10)
    ->Arg(50)
    ->UseManualTime()
    ->Iterations(40)
    ->Unit(benchmark::kMicrosecond);

// ---- Mark throughput ------------------------------------------------------------------

struct TreeNode : marrow::Object {
  Member<TreeNode> left, right;
  std::uint64_t payload[2] = {0, 0};
  TreeNode() = default;
  TreeNode(const Local<TreeNode>& l, const Local<TreeNode>& r) : left(l), right(r) {}
  void trace(marrow::Tracer& t) {
    t.visit(left);
    t.visit(right);
  }
};

Local<TreeNode> build_tree(marrow::Runtime& rt, int depth) {
  marrow::EscapableHandleScope scope(rt);
  if (depth == 0) return scope.escape(rt.make<TreeNode>());
  Local<TreeNode> l = build_tree(rt, depth - 1);
  Local<TreeNode> r = build_tree(rt, depth - 1);
  return scope.escape(rt.make<TreeNode>(l, r));
}

/// A live heap of about `mb` MiB: trees of 2^15 - 1 nodes (40 bytes each) chained from
/// a Global list.
struct Forest : marrow::Object {
  Member<Forest> next;
  Member<TreeNode> tree;
  void trace(marrow::Tracer& t) {
    t.visit(next);
    t.visit(tree);
  }
};

Global<Forest> build_forest(marrow::Runtime& rt, std::size_t mb) {
  HandleScope scope(rt);
  const std::size_t node_bytes =
      marrow::internal::align_up(marrow::internal::kHeaderSize + sizeof(TreeNode), 8);
  const std::size_t tree_bytes = ((std::size_t{1} << 15) - 1) * node_bytes;
  Global<Forest> head;
  for (std::size_t built = 0; built < (mb << 20); built += tree_bytes) {
    HandleScope inner(rt);
    Local<TreeNode> tree = build_tree(rt, 14);
    Local<Forest> f = rt.make<Forest>();
    f->tree = tree;
    f->next = head.get();
    head = Global<Forest>(rt, f);
  }
  return head;
}

void BM_MarkThroughput(benchmark::State& state) {
  const auto mb = std::size_t(state.range(0));
  marrow::Runtime rt;
  Global<Forest> forest = build_forest(rt, mb);
  rt.collect(GcKind::kMajor);
  rt.collect(GcKind::kMajor);
  const std::size_t live = rt.stats().live_bytes;
  for (auto _ : state) {
    rt.collect(GcKind::kMajor);
    state.SetIterationTime(std::chrono::duration<double>(rt.stats().last_pause).count());
  }
  state.SetBytesProcessed(std::int64_t(live) * state.iterations());
  state.counters["live_mb"] = double(live) / (1 << 20);
}
BENCHMARK(BM_MarkThroughput)
    ->Arg(16)
    ->Arg(64)
    ->UseManualTime()
    ->Iterations(10)
    ->Unit(benchmark::kMillisecond);

// ---- Compaction throughput ------------------------------------------------------------

struct ListAnchor : marrow::Object {
  Member<TreeNode> head;
  void trace(marrow::Tracer& t) { t.visit(head); }
};

/// `mb` MiB of 40-byte objects in a list (linked through `left`) promoted to old space;
/// every other one is unlinked (50% fragmentation in every page), then a compacting
/// collection is timed.
void BM_CompactThroughput(benchmark::State& state) {
  const auto mb = std::size_t(state.range(0));
  marrow::Runtime rt;
  HandleScope outer(rt);
  Global<ListAnchor> anchor(rt, rt.make<ListAnchor>());
  const std::size_t node_bytes =
      marrow::internal::align_up(marrow::internal::kHeaderSize + sizeof(TreeNode), 8);
  const std::size_t count = (mb << 20) / node_bytes;
  std::size_t moved = 0;
  for (auto _ : state) {
    anchor->head = nullptr;
    for (std::size_t i = 0; i < count; i += kBatch) {
      HandleScope batch(rt);
      for (std::size_t j = i; j < count && j < i + kBatch; ++j) {
        Local<TreeNode> n = rt.make<TreeNode>();
        n->left = anchor->head;
        anchor->head = n;
      }
    }
    for (unsigned i = 0; i <= rt.config().tenure_age; ++i) rt.collect(GcKind::kMinor);
    for (TreeNode* p = anchor->head.get(); p != nullptr && p->left; p = p->left.get()) {
      p->left = p->left->left;  // no allocation here: raw pointers stay valid
    }
    const std::size_t before = rt.stats().bytes_moved;
    rt.collect(GcKind::kCompact);
    moved += rt.stats().bytes_moved - before;
    state.SetIterationTime(std::chrono::duration<double>(rt.stats().last_pause).count());
  }
  state.SetBytesProcessed(std::int64_t(moved));
  state.counters["moved_mb"] =
      benchmark::Counter(double(moved) / (1 << 20), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_CompactThroughput)
    ->Arg(16)
    ->Arg(64)
    ->UseManualTime()
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond);

// ---- Boehm full collection, for scale -------------------------------------------------

struct BoehmTree {
  BoehmTree* left;
  BoehmTree* right;
  std::uint64_t payload[2];
};
BoehmTree* boehm_tree(int depth) {
  auto* n = static_cast<BoehmTree*>(GC_MALLOC(sizeof(BoehmTree)));
  if (depth > 0) {
    n->left = boehm_tree(depth - 1);
    n->right = boehm_tree(depth - 1);
  }
  return n;
}

/// The same forest shape as BM_MarkThroughput, collected with GC_gcollect (mark + sweep).
void BM_MarkThroughput_Boehm(benchmark::State& state) {
  const auto mb = std::size_t(state.range(0));
  const std::size_t tree_bytes = ((std::size_t{1} << 15) - 1) * sizeof(BoehmTree);
  auto** root_array =
      static_cast<BoehmTree**>(GC_MALLOC(sizeof(BoehmTree*) * ((mb << 20) / tree_bytes + 1)));
  std::size_t n = 0;
  for (std::size_t built = 0; built < (mb << 20); built += tree_bytes)
    root_array[n++] = boehm_tree(14);
  GC_gcollect();
  const std::size_t live = n * tree_bytes;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    GC_gcollect();
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  benchmark::DoNotOptimize(root_array);
  state.SetBytesProcessed(std::int64_t(live) * state.iterations());
  state.counters["live_mb"] = double(live) / (1 << 20);
  root_array = nullptr;
  GC_gcollect();
}
BENCHMARK(BM_MarkThroughput_Boehm)
    ->Arg(16)
    ->Arg(64)
    ->UseManualTime()
    ->Iterations(10)
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  GC_INIT();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
