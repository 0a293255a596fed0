// Full-collection pause against live heap size, for 1 and more GC threads: a binary tree
// of the given live size is kept alive and rt.collect(kMajor) is timed several times,
// runtimes with different gc_threads alternating. Prints a table and one RESULT line per
// (size, threads) with the median and the minimum pause.
// --minor: instead, the minor-collection pause with a 16 MiB eden filled to 90% with
// 32-byte cells of which 10% survive, in short chains hung from old objects' slots (the
// remembered set), for each thread count.
//
// Usage: bench_full_gc_scaling [--threads 1,2] [--repeats 5] [--minor] SIZE_MIB...
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <marrow/marrow.hpp>

namespace {

struct TreeNode : marrow::Object {
  marrow::Member<TreeNode> left, right;
  void trace(marrow::Tracer& t) {
    t.visit(left);
    t.visit(right);
  }
};

marrow::Local<TreeNode> build(marrow::Runtime& rt, int depth) {
  marrow::EscapableHandleScope scope(rt);
  auto n = rt.make<TreeNode>();
  if (depth > 0) {
    n->left = build(rt, depth - 1);
    n->right = build(rt, depth - 1);
  }
  return scope.escape(n);
}

/// Median and minimum of `repeats` major-collection pauses with `mib` MiB live.
std::pair<double, double> measure(unsigned threads, std::size_t mib, int repeats) {
  marrow::Config cfg = marrow::Config::from_env();  // MARROW_TRACE_GC=1 shows the phases
  cfg.gc_threads = threads;
  marrow::Runtime rt(cfg);
  marrow::HandleScope scope(rt);
  // A node is 24 bytes with its header: depth d holds 2^(d+1) - 1 of them.
  std::size_t nodes = (mib << 20) / 24;
  int depth = 0;
  while ((std::size_t{2} << (depth + 1)) - 1 <= nodes) ++depth;
  marrow::Global<TreeNode> root(rt, build(rt, depth));
  rt.collect(marrow::GcKind::kMajor);  // promote everything, settle the heap
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    auto start = std::chrono::steady_clock::now();
    rt.collect(marrow::GcKind::kMajor);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front()};
}

struct Cell : marrow::Object {
  marrow::Member<Cell> next;
  std::uint64_t payload[2] = {0, 0};
  void trace(marrow::Tracer& t) { t.visit(next); }
};

/// An old object with slots that young cells hang from.
struct Bucket : marrow::Object {
  static constexpr std::size_t kSlots = 16;
  marrow::Member<Cell> slots[kSlots];
  marrow::Member<Bucket> next;
  void trace(marrow::Tracer& t) {
    for (auto& s : slots) t.visit(s);
    t.visit(next);
  }
};

/// Median and minimum of `repeats` minor pauses at 10% survival with a 16 MiB eden.
std::pair<double, double> measure_minor(unsigned threads, int repeats) {
  constexpr std::size_t kEden = std::size_t{16} << 20;
  constexpr std::size_t kBuckets = 1024;
  marrow::Config cfg = marrow::Config::from_env();
  cfg.gc_threads = threads;
  cfg.nursery_bytes = kEden;
  marrow::Runtime rt(cfg);
  marrow::HandleScope scope(rt);
  marrow::Global<Bucket> buckets(rt, rt.make<Bucket>());
  for (std::size_t i = 1; i < kBuckets; ++i) {
    auto b = rt.make<Bucket>();  // inserted after the head
    b->next = buckets->next;
    buckets->next = b;
  }
  rt.collect(marrow::GcKind::kMajor);  // the buckets are old from here on
  std::vector<double> ms;
  const std::size_t cells = kEden * 9 / 10 / 32;
  for (int i = 0; i < repeats + 1; ++i) {
    rt.collect(marrow::GcKind::kMajor);  // the last round's survivors go
    std::size_t keep = 0, slot = 0;
    // Old buckets do not move until the next major collection: raw pointers are safe here.
    Bucket* b = buckets.get();
    for (std::size_t c = 0; c < cells; ++c) {
      marrow::HandleScope inner(rt);
      auto cell = rt.make<Cell>();
      if (++keep == 10) {  // one in ten survives
        keep = 0;
        marrow::Member<Cell>& s = b->slots[slot % Bucket::kSlots];
        cell->next = s;
        s = cell;
        if (++slot % Bucket::kSlots == 0) b = b->next ? b->next.get() : buckets.get();
      }
    }
    std::uint64_t minors = rt.stats().minor_collections;
    rt.collect(marrow::GcKind::kMinor);
    if (rt.stats().minor_collections != minors + 1) {
      std::fprintf(stderr, "eden filled up while building the round\n");
      std::exit(1);
    }
    if (i > 0)
      ms.push_back(std::chrono::duration<double, std::milli>(rt.stats().last_pause).count());
    for (Bucket* p = buckets.get(); p != nullptr; p = p->next.get())
      for (auto& s : p->slots) s = nullptr;
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front()};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<unsigned> threads = {1, 2};
  int repeats = 5;
  std::vector<std::size_t> sizes;
  bool minor = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      threads.clear();
      for (char* s = argv[++i]; *s != '\0';) {
        threads.push_back(unsigned(std::strtoul(s, &s, 10)));
        if (*s == ',') ++s;
      }
    } else if (std::strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) {
      repeats = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--minor") == 0) {
      minor = true;
    } else {
      sizes.push_back(std::strtoul(argv[i], nullptr, 10));
    }
  }
  if (minor) {
    std::printf("%-8s %14s %12s %10s\n", "threads", "median ms", "min ms", "vs 1 thr");
    double serial = 0;
    for (unsigned t : threads) {
      auto [median, min] = measure_minor(t, repeats);
      if (t == threads.front()) serial = median;
      std::printf("%-8u %14.3f %12.3f %9.2fx\n", t, median, min, median / serial);
      std::printf(
          "RESULT {\"minor\": true, \"gc_threads\": %u, \"pause_median_ms\": %.3f, "
          "\"pause_min_ms\": %.3f}\n",
          t, median, min);
      std::fflush(stdout);
    }
    return 0;
  }
  if (sizes.empty()) sizes = {64, 256};
  std::printf("%-10s %-8s %14s %12s %10s\n", "live MiB", "threads", "median ms", "min ms",
              "vs 1 thr");
  for (std::size_t mib : sizes) {
    double serial = 0;
    for (unsigned t : threads) {
      auto [median, min] = measure(t, mib, repeats);
      if (t == threads.front()) serial = median;
      std::printf("%-10zu %-8u %14.2f %12.2f %9.2fx\n", mib, t, median, min, median / serial);
      std::printf(
          "RESULT {\"live_mib\": %zu, \"gc_threads\": %u, \"pause_median_ms\": %.3f, "
          "\"pause_min_ms\": %.3f}\n",
          mib, t, median, min);
      std::fflush(stdout);
    }
  }
  return 0;
}
