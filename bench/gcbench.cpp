// GCBench (after Ellis, Kovac and Boehm) on marrow, Boehm GC, malloc/free, a pool and an
// arena, with the original parameters: a stretch tree, a long-lived tree and a long-lived
// pointer-free array of doubles, then many short-lived trees of growing depth built
// top-down (parent first, children stored into it) and bottom-up (children first).
// `--holes` allocates a random-sized garbage "hole" after every node (fixed seed), kept in
// a ring with random replacement so that holes die at mixed ages: a fragmentation test.
// Usage: bench_gcbench --variant V [--holes] [--stretch-depth 18 --long-lived-depth 16
//        --min-depth 4 --max-depth 16 --array-size 500000]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "common.hpp"

namespace {

using marrow::bench::Result;
using marrow::bench::Rng;
using marrow::bench::Stopwatch;

struct Params {
  int stretch_depth = 18;
  int long_lived_depth = 16;
  int min_depth = 4;
  int max_depth = 16;
  long array_size = 500000;
  bool holes = false;
};

long tree_size(int depth) { return (1L << (depth + 1)) - 1; }
/// As in the original: every depth allocates about twice the stretch tree's nodes.
long iterations_for(const Params& p, int depth) {
  return 2 * tree_size(p.stretch_depth) / tree_size(depth);
}

// Holes: a ring of this many slots, replaced at random, so a hole lives for about this
// many node allocations (exponentially distributed): most die young, some die old.
constexpr std::size_t kHoleRing = 1 << 13;
// Hole payloads are uniform in [kHoleMin, kHoleMin + kHoleSpread) bytes: many size
// classes, from smaller than a node to several nodes.
constexpr std::size_t kHoleMin = 8;
constexpr std::size_t kHoleSpread = 256;
constexpr std::uint64_t kSeed = 0x6c62272e07bb0142ull;

void print_header(const Params& p) {
  std::printf("GCBench%s\n", p.holes ? " with holes" : "");
  std::printf(" Stretching memory with a binary tree of depth %d\n", p.stretch_depth);
}

void print_depth(long iterations, int depth, double top_down_ms, double bottom_up_ms) {
  std::printf("Creating %ld trees of depth %d\n", iterations, depth);
  std::printf("\tTop down construction time %.0f msec\n", top_down_ms);
  std::printf("\tBottom up construction time %.0f msec\n", bottom_up_ms);
}

double ms_since(const Stopwatch& sw) { return sw.wall_ms(); }

// ---- Plain nodes: malloc/free, pool, arena, Boehm ------------------------------------

struct PlainNode {
  PlainNode* left;
  PlainNode* right;
  int i, j;
};

long count_plain(const PlainNode* n) {
  return n == nullptr ? 0 : 1 + count_plain(n->left) + count_plain(n->right);
}

/// The GCBench algorithm over raw pointers. V supplies:
///   PlainNode* node(PlainNode* l, PlainNode* r)   one node (and a hole when enabled)
///   void drop(PlainNode* tree)                    the tree is dead
///   double* make_array(long n)                    the long-lived array
///   void begin_long_lived() / end_long_lived()    allocations in between live to the end
template <class V>
struct PlainBench {
  V& v;
  const Params& p;

  void populate(int depth, PlainNode* node) {
    if (depth <= 0) return;
    --depth;
    node->left = v.node(nullptr, nullptr);
    node->right = v.node(nullptr, nullptr);
    populate(depth, node->left);
    populate(depth, node->right);
  }
  PlainNode* make_tree(int depth) {
    if (depth <= 0) return v.node(nullptr, nullptr);
    PlainNode* l = make_tree(depth - 1);
    PlainNode* r = make_tree(depth - 1);
    return v.node(l, r);
  }

  void run() {
    print_header(p);
    Stopwatch total;
    v.drop(make_tree(p.stretch_depth));

    std::printf(" Creating a long-lived binary tree of depth %d\n", p.long_lived_depth);
    v.begin_long_lived();
    PlainNode* long_lived = v.node(nullptr, nullptr);
    populate(p.long_lived_depth, long_lived);
    std::printf(" Creating a long-lived array of %ld doubles\n", p.array_size);
    double* array = v.make_array(p.array_size);
    for (long i = 1; i < p.array_size / 2; ++i) array[i] = 1.0 / double(i);
    v.end_long_lived();

    for (int depth = p.min_depth; depth <= p.max_depth; depth += 2) {
      long iterations = iterations_for(p, depth);
      Stopwatch td;
      for (long i = 0; i < iterations; ++i) {
        PlainNode* t = v.node(nullptr, nullptr);
        populate(depth, t);
        v.drop(t);
      }
      double td_ms = ms_since(td);
      Stopwatch bu;
      for (long i = 0; i < iterations; ++i) v.drop(make_tree(depth));
      print_depth(iterations, depth, td_ms, ms_since(bu));
    }
    if (count_plain(long_lived) != tree_size(p.long_lived_depth) || array[1000] != 1.0 / 1000) {
      std::printf("Failed: the long-lived data did not survive\n");
      std::exit(1);
    }
    std::printf("Completed in %.0f msec\n", total.wall_ms());
    v.free_long_lived(long_lived, array);
  }
};

/// The hole ring for the plain variants; `release` frees a replaced hole (or does nothing).
template <class Release>
struct PlainHoles {
  Rng rng{kSeed};
  void** ring;
  Release release;
  PlainHoles(void** storage, Release r) : ring(storage), release(r) {}
  template <class Alloc>
  void add(Alloc&& alloc) {
    std::size_t size = kHoleMin + rng.below(kHoleSpread);
    void* h = alloc(size);
    std::size_t slot = rng.below(kHoleRing);
    release(ring[slot]);
    ring[slot] = h;
  }
};

void free_plain_tree(PlainNode* n) {
  if (n == nullptr) return;
  free_plain_tree(n->left);
  free_plain_tree(n->right);
  std::free(n);
}

struct MallocVariant {
  bool holes;
  std::vector<void*> ring = std::vector<void*>(kHoleRing, nullptr);
  PlainHoles<void (*)(void*)> hole{ring.data(), [](void* h) { std::free(h); }};
  PlainNode* node(PlainNode* l, PlainNode* r) {
    auto* n = static_cast<PlainNode*>(std::malloc(sizeof(PlainNode)));
    *n = {l, r, 0, 0};
    if (holes) hole.add([](std::size_t s) { return std::malloc(s); });
    return n;
  }
  void drop(PlainNode* t) { free_plain_tree(t); }
  double* make_array(long n) { return static_cast<double*>(std::calloc(n, sizeof(double))); }
  void begin_long_lived() {}
  void end_long_lived() {}
  void free_long_lived(PlainNode* t, double* a) {
    free_plain_tree(t);
    std::free(a);
    for (void*& h : ring) std::free(std::exchange(h, nullptr));
  }
};

/// Nodes come from a fixed-size pool with explicit free; holes (any size) from malloc.
struct PoolVariant {
  bool holes;
  marrow::bench::FixedPool pool{sizeof(PlainNode)};
  std::vector<void*> ring = std::vector<void*>(kHoleRing, nullptr);
  PlainHoles<void (*)(void*)> hole{ring.data(), [](void* h) { std::free(h); }};
  PlainNode* node(PlainNode* l, PlainNode* r) {
    auto* n = static_cast<PlainNode*>(pool.allocate());
    *n = {l, r, 0, 0};
    if (holes) hole.add([](std::size_t s) { return std::malloc(s); });
    return n;
  }
  void drop(PlainNode* t) {
    if (t == nullptr) return;
    drop(t->left);
    drop(t->right);
    pool.deallocate(t);
  }
  double* make_array(long n) { return static_cast<double*>(std::calloc(n, sizeof(double))); }
  void begin_long_lived() {}
  void end_long_lived() {}
  void free_long_lived(PlainNode* t, double* a) {
    drop(t);
    std::free(a);
    for (void*& h : ring) std::free(std::exchange(h, nullptr));
  }
};

/// No frees: short-lived trees (and their holes) go into a scratch arena that is reset
/// when the tree dies; the long-lived data into an arena of its own.
struct ArenaVariant {
  explicit ArenaVariant(bool h) : holes(h) {}
  bool holes;
  Rng rng{kSeed};
  marrow::bench::BumpArena scratch, keep;
  marrow::bench::BumpArena* current = &scratch;
  void* raw(std::size_t size) { return current->allocate(size); }
  PlainNode* node(PlainNode* l, PlainNode* r) {
    auto* n = static_cast<PlainNode*>(raw(sizeof(PlainNode)));
    *n = {l, r, 0, 0};
    if (holes) {
      raw(kHoleMin + rng.below(kHoleSpread));
      rng.next();  // the ring slot the other variants draw
    }
    return n;
  }
  void drop(PlainNode*) { scratch.reset(); }
  double* make_array(long n) { return static_cast<double*>(raw(std::size_t(n) * sizeof(double))); }
  void begin_long_lived() { current = &keep; }
  void end_long_lived() { current = &scratch; }
  void free_long_lived(PlainNode*, double*) {}
};

/// Boehm GC, default settings: nodes with GC_MALLOC, the array and holes with
/// GC_MALLOC_ATOMIC (never scanned), dead trees dropped.
struct BoehmVariant {
  bool holes;
  void** ring = static_cast<void**>(GC_MALLOC(kHoleRing * sizeof(void*)));
  PlainHoles<void (*)(void*)> hole{ring, [](void*) {}};
  PlainNode* node(PlainNode* l, PlainNode* r) {
    auto* n = static_cast<PlainNode*>(GC_MALLOC(sizeof(PlainNode)));
    n->left = l;
    n->right = r;
    if (holes) hole.add([](std::size_t s) { return GC_MALLOC_ATOMIC(s); });
    return n;
  }
  void drop(PlainNode*) {}
  double* make_array(long n) {
    auto* a = static_cast<double*>(GC_MALLOC_ATOMIC(std::size_t(n) * sizeof(double)));
    std::fill(a, a + n, 0.0);
    return a;
  }
  void begin_long_lived() {}
  void end_long_lived() {}
  void free_long_lived(PlainNode*, double*) {}
};

// ---- marrow ----------------------------------------------------------------------------

using marrow::EscapableHandleScope;
using marrow::Global;
using marrow::HandleScope;
using marrow::Local;

struct Node : marrow::Object {
  static constexpr const char* kTypeName = "GCBench.Node";
  marrow::Member<Node> left, right;
  int i = 0, j = 0;
  Node() = default;
  Node(const Local<Node>& l, const Local<Node>& r) : left(l), right(r) {}
  void trace(marrow::Tracer& t) {
    t.visit(left);
    t.visit(right);
  }
};

/// Pointer-free: no trace, so the collector never scans its 4 MB.
struct DoubleArray : marrow::Object {
  static constexpr const char* kTypeName = "GCBench.DoubleArray";
  std::size_t length;
  explicit DoubleArray(std::size_t n) : length(n) {}
  double* data() {
    return reinterpret_cast<double*>(reinterpret_cast<std::byte*>(this) + sizeof(*this));
  }
};

struct Hole : marrow::Object {
  static constexpr const char* kTypeName = "GCBench.Hole";
};

struct HoleRing : marrow::Object {
  static constexpr const char* kTypeName = "GCBench.HoleRing";
  std::size_t length;
  explicit HoleRing(std::size_t n) : length(n) {}
  marrow::Member<Hole>* slots() {
    return reinterpret_cast<marrow::Member<Hole>*>(reinterpret_cast<std::byte*>(this) +
                                                   sizeof(*this));
  }
  void trace(marrow::Tracer& t) {
    marrow::Member<Hole>* s = slots();
    for (std::size_t i = 0; i < length; ++i) t.visit(s[i]);
  }
};

long count_marrow(const Node* n) {
  return n == nullptr ? 0 : 1 + count_marrow(n->left.get()) + count_marrow(n->right.get());
}

/// Subtrees of this depth or less use their caller's HandleScope (at most 2^(k+1) handles
/// for nodes, as many for holes); deeper levels open one scope each.
constexpr int kFlatDepth = 3;

struct MarrowBench {
  marrow::Runtime& rt;
  const Params& p;
  Rng rng{kSeed};
  Global<HoleRing> ring;

  Local<Node> node() {
    Local<Node> n = rt.make<Node>();
    if (p.holes) hole();
    return n;
  }
  Local<Node> node(const Local<Node>& l, const Local<Node>& r) {
    Local<Node> n = rt.make<Node>(l, r);
    if (p.holes) hole();
    return n;
  }
  void hole() {
    Local<Hole> h = rt.make_sized<Hole>(kHoleMin + rng.below(kHoleSpread));
    ring->slots()[rng.below(kHoleRing)] = h;
  }

  void populate_flat(int depth, const Local<Node>& n) {
    if (depth <= 0) return;
    --depth;
    Local<Node> l = node();
    Local<Node> r = node();
    n->left = l;
    n->right = r;
    populate_flat(depth, l);
    populate_flat(depth, r);
  }
  void populate(int depth, const Local<Node>& n) {
    if (depth <= kFlatDepth) return populate_flat(depth, n);
    HandleScope scope(rt);
    --depth;
    Local<Node> l = node();
    Local<Node> r = node();
    n->left = l;
    n->right = r;
    populate(depth, l);
    populate(depth, r);
  }
  Local<Node> make_tree_flat(int depth) {
    if (depth <= 0) return node();
    Local<Node> l = make_tree_flat(depth - 1);
    Local<Node> r = make_tree_flat(depth - 1);
    return node(l, r);
  }
  Local<Node> make_tree(int depth) {
    EscapableHandleScope scope(rt);
    if (depth <= kFlatDepth) return scope.escape(make_tree_flat(depth));
    Local<Node> l = make_tree(depth - 1);
    Local<Node> r = make_tree(depth - 1);
    return scope.escape(node(l, r));
  }

  void run() {
    print_header(p);
    Stopwatch total;
    if (p.holes) {
      HandleScope scope(rt);
      ring = Global<HoleRing>(
          rt, rt.make_sized<HoleRing>(kHoleRing * sizeof(marrow::Member<Hole>), kHoleRing));
    }
    {
      HandleScope scope(rt);
      make_tree(p.stretch_depth);
    }

    std::printf(" Creating a long-lived binary tree of depth %d\n", p.long_lived_depth);
    HandleScope outer(rt);
    Local<Node> long_lived = node();
    populate(p.long_lived_depth, long_lived);
    std::printf(" Creating a long-lived array of %ld doubles\n", p.array_size);
    Local<DoubleArray> array = rt.make_sized<DoubleArray>(
        std::size_t(p.array_size) * sizeof(double), std::size_t(p.array_size));
    double* a = array->data();
    for (long i = 1; i < p.array_size / 2; ++i) a[i] = 1.0 / double(i);

    for (int depth = p.min_depth; depth <= p.max_depth; depth += 2) {
      long iterations = iterations_for(p, depth);
      Stopwatch td;
      for (long i = 0; i < iterations; ++i) {
        HandleScope scope(rt);
        Local<Node> t = node();
        populate(depth, t);
      }
      double td_ms = ms_since(td);
      Stopwatch bu;
      for (long i = 0; i < iterations; ++i) {
        HandleScope scope(rt);
        make_tree(depth);
      }
      print_depth(iterations, depth, td_ms, ms_since(bu));
    }
    if (count_marrow(long_lived.get()) != tree_size(p.long_lived_depth) ||
        array->data()[1000] != 1.0 / 1000) {
      std::printf("Failed: the long-lived data did not survive\n");
      std::exit(1);
    }
    std::printf("Completed in %.0f msec\n", total.wall_ms());
  }
};

}  // namespace

int main(int argc, char** argv) {
  marrow::bench::Args args(argc, argv);
  const std::string variant = args.get("variant", "marrow");
  Params p;
  p.stretch_depth = int(args.get_int("stretch-depth", p.stretch_depth));
  p.long_lived_depth = int(args.get_int("long-lived-depth", p.long_lived_depth));
  p.min_depth = int(args.get_int("min-depth", p.min_depth));
  p.max_depth = int(args.get_int("max-depth", p.max_depth));
  p.array_size = long(args.get_int("array-size", p.array_size));
  p.holes = args.flag("holes");

  Result result;
  result.workload = p.holes ? "gcbench-holes" : "gcbench";
  result.variant = variant;
  result.extra.emplace_back("stretch_depth", p.stretch_depth);
  result.extra.emplace_back("long_lived_depth", p.long_lived_depth);
  result.extra.emplace_back("max_depth", p.max_depth);

  marrow::bench::run_measured(result, [&](marrow::Runtime* rt) {
    if (variant == "malloc") {
      MallocVariant v{p.holes};
      PlainBench<MallocVariant>{v, p}.run();
    } else if (variant == "pool") {
      PoolVariant v{p.holes};
      PlainBench<PoolVariant>{v, p}.run();
    } else if (variant == "arena") {
      ArenaVariant v{p.holes};
      PlainBench<ArenaVariant>{v, p}.run();
    } else if (variant == "boehm") {
      BoehmVariant v{p.holes};
      PlainBench<BoehmVariant>{v, p}.run();
    } else if (variant == "marrow") {
      MarrowBench{*rt, p, Rng{kSeed}, {}}.run();
    } else {
      marrow::bench::unknown_variant("gcbench", variant, "marrow boehm malloc pool arena");
    }
  });
  result.print();
  return 0;
}
