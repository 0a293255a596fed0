// Full-collection pause against live heap size, for 1 and more GC threads: a binary tree
// of the given live size is kept alive and rt.collect(kMajor) is timed several times,
// runtimes with different gc_threads alternating. Prints a table and one RESULT line per
// (size, threads) with the median and the minimum pause.
//
// Usage: bench_full_gc_scaling [--threads 1,2] [--repeats 5] SIZE_MIB...
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

}  // namespace

int main(int argc, char** argv) {
  std::vector<unsigned> threads = {1, 2};
  int repeats = 5;
  std::vector<std::size_t> sizes;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      threads.clear();
      for (char* s = argv[++i]; *s != '\0';) {
        threads.push_back(unsigned(std::strtoul(s, &s, 10)));
        if (*s == ',') ++s;
      }
    } else if (std::strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) {
      repeats = std::max(1, std::atoi(argv[++i]));
    } else {
      sizes.push_back(std::strtoul(argv[i], nullptr, 10));
    }
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
