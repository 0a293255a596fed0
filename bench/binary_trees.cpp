// binary-trees (Benchmarks Game rules) on marrow, Boehm GC, malloc/free, a pool and an
// arena: perfect trees built bottom-up with one allocation per node, each tree fully built
// before any of it is freed. Usage: bench_binary_trees --variant V N. Prints the reference
// output, then one RESULT line.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common.hpp"

namespace {

using marrow::bench::Result;

constexpr int kMinDepth = 4;

/// The driver is the same for every variant: a variant supplies
///   int tree_check(int depth)   builds a tree, counts its nodes, disposes of it;
///   void build_long_lived(int depth);  int check_long_lived();
template <class Variant>
void run_binary_trees(Variant& v, int n) {
  const int max_depth = std::max(kMinDepth + 2, n);
  const int stretch_depth = max_depth + 1;
  std::printf("stretch tree of depth %d\t check: %d\n", stretch_depth, v.tree_check(stretch_depth));

  v.build_long_lived(max_depth);
  for (int depth = kMinDepth; depth <= max_depth; depth += 2) {
    const int iterations = 1 << (max_depth - depth + kMinDepth);
    int check = 0;
    for (int i = 0; i < iterations; ++i) check += v.tree_check(depth);
    std::printf("%d\t trees of depth %d\t check: %d\n", iterations, depth, check);
  }
  std::printf("long lived tree of depth %d\t check: %d\n", max_depth, v.check_long_lived());
}

/// The node count; `get` turns a child slot (raw pointer or Member) into a pointer.
template <class N>
int count_nodes(const N* node) {
  if (node->left == nullptr) return 1;
  return 1 + count_nodes(get(node->left)) + count_nodes(get(node->right));
}

// ---- Plain nodes: malloc/free, pool, arena, Boehm ------------------------------------

struct PlainNode {
  PlainNode* left;
  PlainNode* right;
};
const PlainNode* get(PlainNode* p) { return p; }

/// Bottom-up construction with an allocation function returning raw memory for one node.
template <class Alloc>
PlainNode* build_plain(int depth, Alloc& alloc) {
  PlainNode* left = nullptr;
  PlainNode* right = nullptr;
  if (depth > 0) {
    left = build_plain(depth - 1, alloc);
    right = build_plain(depth - 1, alloc);
  }
  auto* node = static_cast<PlainNode*>(alloc());
  node->left = left;
  node->right = right;
  return node;
}

template <class Free>
void free_plain(PlainNode* node, Free& free_one) {
  if (node->left != nullptr) {
    free_plain(node->left, free_one);
    free_plain(node->right, free_one);
  }
  free_one(node);
}

struct MallocVariant {
  PlainNode* long_lived = nullptr;
  static void* alloc_one() { return std::malloc(sizeof(PlainNode)); }
  static void free_one(PlainNode* n) { std::free(n); }
  PlainNode* build(int depth) {
    auto alloc = alloc_one;
    return build_plain(depth, alloc);
  }
  int tree_check(int depth) {
    PlainNode* t = build(depth);
    int c = count_nodes(t);
    auto f = free_one;
    free_plain(t, f);
    return c;
  }
  void build_long_lived(int depth) { long_lived = build(depth); }
  int check_long_lived() {
    int c = count_nodes(long_lived);
    auto f = free_one;
    free_plain(long_lived, f);
    return c;
  }
};

/// Fixed-size blocks recycled through the pool's free list (explicit free, no malloc).
struct PoolVariant {
  marrow::bench::FixedPool pool{sizeof(PlainNode)};
  PlainNode* long_lived = nullptr;
  PlainNode* build(int depth) {
    auto alloc = [this] { return pool.allocate(); };
    return build_plain(depth, alloc);
  }
  int tree_check(int depth) {
    PlainNode* t = build(depth);
    int c = count_nodes(t);
    auto f = [this](PlainNode* n) { pool.deallocate(n); };
    free_plain(t, f);
    return c;
  }
  void build_long_lived(int depth) { long_lived = build(depth); }
  int check_long_lived() { return count_nodes(long_lived); }
};

/// No frees at all: each tree lives in an arena that is reset (chunks kept) once the tree
/// is dead. The allocation cost limit.
struct ArenaVariant {
  marrow::bench::BumpArena scratch, keep;
  PlainNode* long_lived = nullptr;
  static PlainNode* build(marrow::bench::BumpArena& arena, int depth) {
    auto alloc = [&arena] { return arena.allocate(sizeof(PlainNode)); };
    return build_plain(depth, alloc);
  }
  int tree_check(int depth) {
    int c = count_nodes(build(scratch, depth));
    scratch.reset();
    return c;
  }
  void build_long_lived(int depth) { long_lived = build(keep, depth); }
  int check_long_lived() { return count_nodes(long_lived); }
};

/// Boehm GC with default settings; dead trees are simply dropped.
struct BoehmVariant {
  PlainNode* long_lived = nullptr;  // a root: the variant object lives on main's stack
  static PlainNode* build(int depth) {
    auto alloc = [] { return GC_MALLOC(sizeof(PlainNode)); };
    return build_plain(depth, alloc);
  }
  int tree_check(int depth) { return count_nodes(build(depth)); }
  void build_long_lived(int depth) { long_lived = build(depth); }
  int check_long_lived() { return count_nodes(long_lived); }
};

// ---- marrow ----------------------------------------------------------------------------

struct Node : marrow::Object {
  static constexpr const char* kTypeName = "Node";
  marrow::Member<Node> left, right;
  Node() = default;
  Node(const marrow::Local<Node>& l, const marrow::Local<Node>& r) : left(l), right(r) {}
  void trace(marrow::Tracer& t) {
    t.visit(left);
    t.visit(right);
  }
};
const Node* get(const marrow::Member<Node>& m) { return m.get(); }

/// Subtrees this shallow are built inside their caller's scope (at most 2^(k+1) - 1
/// handles); deeper levels open an EscapableHandleScope each, so the handle area never
/// holds more than about 16 * depth slots and minor collections scan few roots.
constexpr int kFlatDepth = 3;

marrow::Local<Node> build_flat(marrow::Runtime& rt, int depth) {
  if (depth == 0) return rt.make<Node>();
  marrow::Local<Node> left = build_flat(rt, depth - 1);
  marrow::Local<Node> right = build_flat(rt, depth - 1);
  return rt.make<Node>(left, right);  // the youngest object holds the older ones
}

marrow::Local<Node> build_marrow(marrow::Runtime& rt, int depth) {
  marrow::EscapableHandleScope scope(rt);
  if (depth <= kFlatDepth) return scope.escape(build_flat(rt, depth));
  marrow::Local<Node> left = build_marrow(rt, depth - 1);
  marrow::Local<Node> right = build_marrow(rt, depth - 1);
  return scope.escape(rt.make<Node>(left, right));
}

struct MarrowVariant {
  marrow::Runtime& rt;
  marrow::Global<Node> long_lived;
  int tree_check(int depth) {
    marrow::HandleScope scope(rt);
    marrow::Local<Node> t = build_marrow(rt, depth);
    return count_nodes(t.get());  // no allocation while counting: raw pointers stay valid
  }
  void build_long_lived(int depth) {
    marrow::HandleScope scope(rt);
    long_lived = marrow::Global<Node>(rt, build_marrow(rt, depth));
  }
  int check_long_lived() { return count_nodes(long_lived.get()); }
};

}  // namespace

int main(int argc, char** argv) {
  marrow::bench::Args args(argc, argv);
  const std::string variant = args.get("variant", "marrow");
  const int n = int(args.positional_int(0, 10));

  Result result;
  result.workload = "binary-trees";
  result.variant = variant;
  result.extra.emplace_back("n", n);

  marrow::bench::run_measured(result, [&](marrow::Runtime* rt) {
    if (variant == "malloc") {
      MallocVariant v;
      run_binary_trees(v, n);
    } else if (variant == "pool") {
      PoolVariant v;
      run_binary_trees(v, n);
    } else if (variant == "arena") {
      ArenaVariant v;
      run_binary_trees(v, n);
    } else if (variant == "boehm") {
      BoehmVariant v;
      run_binary_trees(v, n);
    } else if (variant == "marrow") {
      MarrowVariant v{*rt, {}};
      run_binary_trees(v, n);
    } else {
      marrow::bench::unknown_variant("binary-trees", variant, "marrow boehm malloc pool arena");
    }
  });
  result.print();
  return 0;
}
