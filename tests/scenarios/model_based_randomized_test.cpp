// Model-based randomized test: random operations run on the managed heap and, in
// parallel, on a plain shadow graph; after every collection the reachable heap must match
// the shadow exactly (ids, payloads, edges, trailing bytes, object identity), pinned
// objects must not have moved, and weak references must agree with reachability.
#include <bit>
#include <cmath>
#include <list>
#include <memory>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "test_support.hpp"

namespace {

using marrow::GcKind;
using marrow::Value;

constexpr int kEdges = 3;

struct MNode : marrow::Object {
  static constexpr const char* kTypeName = "MNode";
  marrow::Member<Value> id;
  marrow::Member<Value> payload;
  marrow::Member<MNode> edge[kEdges];
  std::uint32_t tail_len;
  MNode(std::int64_t i, std::uint32_t tail) : tail_len(tail) {
    id = Value::number(static_cast<double>(i));
    for (std::uint32_t b = 0; b < tail; ++b) this->tail()[b] = tail_byte(i, b);
  }
  unsigned char* tail() { return reinterpret_cast<unsigned char*>(this) + sizeof(MNode); }
  static unsigned char tail_byte(std::int64_t i, std::uint32_t b) {
    return static_cast<unsigned char>(i * 31 + b * 7 + 1);
  }
  void trace(marrow::Tracer& t) {
    t.visit(id, "id");
    t.visit(payload, "payload");
    for (auto& e : edge) t.visit(e, "edge");
  }
};

struct SVal {
  enum Kind { kNil, kBool, kNum, kRef } kind = kNil;
  bool b = false;
  double d = 0;
  std::int64_t ref = -1;
};

struct SNode {
  std::int64_t id;
  std::uint32_t tail;
  SVal payload;
  std::int64_t edge[kEdges] = {-1, -1, -1};
};

struct SourceRoots : marrow::RootSource {
  std::list<Value> slots;
  void trace_roots(marrow::Tracer& t) override {
    for (auto& v : slots) t.visit(v);
  }
};

enum class RootKind { kLocal, kGlobal, kSource };

struct Root {
  std::int64_t id;
  RootKind kind;
  std::size_t level = 0;  // scope level for locals
  marrow::Local<MNode> local;
  std::unique_ptr<marrow::Global<MNode>> global;
  std::list<Value>::iterator source;
  int pins = 0;
  MNode* pinned_at = nullptr;
};

struct WeakRef {
  std::unique_ptr<marrow::Weak<MNode>> weak;
  std::int64_t id;
};

class Model {
 public:
  Model(std::uint64_t seed, const marrow::Config& cfg, std::size_t ops)
      : rng_(seed), rt_(mt::config(cfg)), ops_(ops) {
    rt_.add_root_source(&source_);
    scopes_.push_back(std::make_unique<marrow::HandleScope>(rt_));
  }
  ~Model() {
    for (auto& r : roots_) unpin_all(r);
    roots_.clear();
    weaks_.clear();
    while (!scopes_.empty()) scopes_.pop_back();
    rt_.remove_root_source(&source_);
  }

  void run() {
    for (std::size_t op = 0; op < ops_; ++op) {
      step();
      if (failed_) return;
    }
    collect(GcKind::kMajor);
    check_count_by_heap_walk();
  }

  std::size_t collections = 0, max_reachable = 0;

 private:
  std::uint64_t rnd(std::uint64_t n) {
    return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng_);
  }
  bool chance(int percent) { return rnd(100) < static_cast<std::uint64_t>(percent); }

  MNode* root_ptr(const Root& r) const {
    switch (r.kind) {
      case RootKind::kLocal:
        return r.local.get();
      case RootKind::kGlobal:
        return r.global->get();
      case RootKind::kSource:
        return r.source->as<MNode>();
    }
    return nullptr;
  }

  /// A random reachable node: a root, then up to 3 random steps along edges/payload refs.
  /// Returns false when there are no roots.
  bool walk(std::int64_t& id, MNode*& ptr) {
    if (roots_.empty()) return false;
    const Root& r = roots_[rnd(roots_.size())];
    id = r.id;
    ptr = root_ptr(r);
    for (std::uint64_t steps = rnd(4); steps > 0; --steps) {
      const SNode& s = shadow_[static_cast<std::size_t>(id)];
      std::vector<int> out;
      for (int k = 0; k < kEdges; ++k)
        if (s.edge[k] >= 0) out.push_back(k);
      if (s.payload.kind == SVal::kRef) out.push_back(kEdges);
      if (out.empty()) break;
      int k = out[rnd(out.size())];
      if (k == kEdges) {
        id = s.payload.ref;
        ptr = ptr->payload.get().as<MNode>();
      } else {
        id = s.edge[k];
        ptr = ptr->edge[k].get();
      }
    }
    REQUIRE(ptr != nullptr);
    REQUIRE(ptr->id.get().as_number() == static_cast<double>(id));
    return true;
  }

  std::uint32_t random_tail() {
    if (chance(2)) return static_cast<std::uint32_t>(rt_.config().large_object_bytes + rnd(2000));
    return static_cast<std::uint32_t>(rnd(49));
  }

  std::int64_t new_shadow(std::uint32_t tail) {
    SNode s;
    s.id = static_cast<std::int64_t>(shadow_.size());
    s.tail = tail;
    shadow_.push_back(s);
    return s.id;
  }

  void op_allocate() {
    std::uint32_t tail = random_tail();
    std::int64_t id = new_shadow(tail);
    int where = static_cast<int>(rnd(100));
    if (where < 40) {
      auto l = rt_.make_sized<MNode>(tail, id, tail);
      Root r{id, RootKind::kLocal, scopes_.size() - 1, l, nullptr, {}, 0, nullptr};
      roots_.push_back(std::move(r));
    } else if (where < 60 || roots_.empty()) {
      marrow::HandleScope tmp(rt_);
      auto l = rt_.make_sized<MNode>(tail, id, tail);
      Root r{
          id,     RootKind::kGlobal, 0, {}, std::make_unique<marrow::Global<MNode>>(rt_, l), {}, 0,
          nullptr};
      roots_.push_back(std::move(r));
    } else if (where < 72) {
      marrow::HandleScope tmp(rt_);
      auto l = rt_.make_sized<MNode>(tail, id, tail);
      source_.slots.push_back(Value::object(l.get()));
      Root r{id, RootKind::kSource, 0, {}, nullptr, std::prev(source_.slots.end()), 0, nullptr};
      roots_.push_back(std::move(r));
    } else {
      // Linked from a reachable node only (walk after the allocation: it may move things).
      marrow::HandleScope tmp(rt_);
      auto l = rt_.make_sized<MNode>(tail, id, tail);
      std::int64_t from;
      MNode* p;
      walk(from, p);
      int k = static_cast<int>(rnd(kEdges));
      p->edge[k] = l;
      shadow_[static_cast<std::size_t>(from)].edge[k] = id;
      if (chance(30)) weaks_.push_back({std::make_unique<marrow::Weak<MNode>>(rt_, l), id});
    }
  }

  void op_link() {
    std::int64_t a, b;
    MNode *pa, *pb;
    if (!walk(a, pa) || !walk(b, pb)) return;
    int k = static_cast<int>(rnd(kEdges));
    pa->edge[k] = pb;
    shadow_[static_cast<std::size_t>(a)].edge[k] = b;
  }

  void op_unlink() {
    std::int64_t a;
    MNode* pa;
    if (!walk(a, pa)) return;
    int k = static_cast<int>(rnd(kEdges));
    pa->edge[k] = nullptr;
    shadow_[static_cast<std::size_t>(a)].edge[k] = -1;
  }

  void op_set_value() {
    std::int64_t a;
    MNode* pa;
    if (!walk(a, pa)) return;
    SVal v;
    switch (rnd(5)) {
      case 0:
        v.kind = SVal::kNil;
        pa->payload = Value::nil();
        break;
      case 1:
        v.kind = SVal::kBool;
        v.b = chance(50);
        pa->payload = Value::boolean(v.b);
        break;
      case 2: {
        static const double special[] = {-0.0, std::numeric_limits<double>::infinity(),
                                         std::numeric_limits<double>::quiet_NaN(),
                                         std::numeric_limits<double>::denorm_min(), 1e308};
        v.kind = SVal::kNum;
        v.d = special[rnd(5)];
        pa->payload = Value::number(v.d);
        break;
      }
      case 3:
        v.kind = SVal::kNum;
        v.d = static_cast<double>(rnd(1000000)) / 7.0;
        pa->payload = Value::number(v.d);
        break;
      default: {
        std::int64_t b;
        MNode* pb;
        walk(b, pb);
        v.kind = SVal::kRef;
        v.ref = b;
        pa->payload = Value::object(pb);
      }
    }
    shadow_[static_cast<std::size_t>(a)].payload = v;
  }

  void unpin_all(Root& r) {
    while (r.pins > 0) {
      rt_.unpin(root_ptr(r));
      --r.pins;
    }
  }

  void op_drop() {
    if (scopes_.size() > 1 && chance(25)) {
      std::size_t level = scopes_.size() - 1;
      for (auto& r : roots_)
        if (r.kind == RootKind::kLocal && r.level == level) unpin_all(r);
      std::erase_if(roots_,
                    [&](const Root& r) { return r.kind == RootKind::kLocal && r.level == level; });
      scopes_.pop_back();
      return;
    }
    std::vector<std::size_t> droppable;
    for (std::size_t i = 0; i < roots_.size(); ++i)
      if (roots_[i].kind != RootKind::kLocal) droppable.push_back(i);
    if (droppable.empty()) return;
    std::size_t i = droppable[rnd(droppable.size())];
    Root& r = roots_[i];
    if (r.kind == RootKind::kGlobal && chance(30)) {
      // Move the Global into a new root entry instead of dropping it.
      auto moved = std::make_unique<marrow::Global<MNode>>(std::move(*r.global));
      REQUIRE_FALSE(*r.global);
      r.global = std::move(moved);
      return;
    }
    if (r.kind == RootKind::kSource) source_.slots.erase(r.source);
    roots_.erase(roots_.begin() + static_cast<std::ptrdiff_t>(i));
  }

  void op_pin() {
    std::vector<std::size_t> locals;
    for (std::size_t i = 0; i < roots_.size(); ++i)
      if (roots_[i].kind == RootKind::kLocal && roots_[i].pins < 2) locals.push_back(i);
    if (locals.empty()) return;
    Root& r = roots_[locals[rnd(locals.size())]];
    MNode* p = rt_.pin(r.local);
    REQUIRE(p == r.local.get());
    auto space = mt::space_of(rt_, p);
    CHECK((space == marrow::Space::kOld || space == marrow::Space::kLarge));
    if (r.pins > 0) CHECK(p == r.pinned_at);
    r.pinned_at = p;
    ++r.pins;
  }

  void op_unpin() {
    std::vector<std::size_t> pinned;
    for (std::size_t i = 0; i < roots_.size(); ++i)
      if (roots_[i].pins > 0) pinned.push_back(i);
    if (pinned.empty()) return;
    Root& r = roots_[pinned[rnd(pinned.size())]];
    rt_.unpin(r.local.get());
    --r.pins;
  }

  void op_weak() {
    std::vector<std::size_t> locals;
    for (std::size_t i = 0; i < roots_.size(); ++i)
      if (roots_[i].kind == RootKind::kLocal) locals.push_back(i);
    if (!locals.empty() && chance(60)) {
      Root& r = roots_[locals[rnd(locals.size())]];
      weaks_.push_back({std::make_unique<marrow::Weak<MNode>>(rt_, r.local), r.id});
      return;
    }
    // A weak to a node that is garbage at once.
    marrow::HandleScope tmp(rt_);
    std::uint32_t tail = random_tail();
    std::int64_t id = new_shadow(tail);
    auto l = rt_.make_sized<MNode>(tail, id, tail);
    weaks_.push_back({std::make_unique<marrow::Weak<MNode>>(rt_, l), id});
  }

  void collect(GcKind kind) {
    rt_.collect(kind);
    ++collections;
    check_heap(kind != GcKind::kMinor);
  }

  void step() {
    int r = static_cast<int>(rnd(100));
    if (r < 28)
      op_allocate();
    else if (r < 44)
      op_link();
    else if (r < 52)
      op_unlink();
    else if (r < 62)
      op_set_value();
    else if (r < 72)
      op_drop();
    else if (r < 75) {
      if (scopes_.size() < 8) scopes_.push_back(std::make_unique<marrow::HandleScope>(rt_));
    } else if (r < 79)
      op_pin();
    else if (r < 82)
      op_unpin();
    else if (r < 86)
      op_weak();
    else if (r < 88)
      check_heap(false);  // implicit (stress / allocation) collections happened
    else {
      int k = static_cast<int>(rnd(10));
      collect(k < 5 ? GcKind::kMinor : k < 8 ? GcKind::kMajor : GcKind::kCompact);
      if (rnd(40) == 0) check_count_by_heap_walk();
    }
    // Keep the graph bounded: too many roots -> drop some.
    while (roots_.size() > 300) op_drop();
  }

  /// Reachable shadow ids from the roots, plus a full comparison with the heap.
  void check_heap(bool after_major) {
    std::unordered_map<std::int64_t, const MNode*> addr_of;
    std::unordered_map<const MNode*, std::int64_t> id_at;
    std::vector<std::pair<std::int64_t, MNode*>> stack;
    auto visit = [&](std::int64_t id, MNode* p) {
      if (p == nullptr) {
        FAIL_CHECK("heap reference is null where the shadow has node " << id);
        failed_ = true;
        return;
      }
      auto it = addr_of.find(id);
      if (it != addr_of.end()) {
        if (it->second != p) {
          FAIL_CHECK("node " << id << " reached at two addresses");
          failed_ = true;
        }
        return;
      }
      auto jt = id_at.find(p);
      if (jt != id_at.end()) {
        FAIL_CHECK("nodes " << id << " and " << jt->second << " share an address");
        failed_ = true;
        return;
      }
      addr_of[id] = p;
      id_at[p] = id;
      stack.emplace_back(id, p);
    };
    for (auto& r : roots_) {
      visit(r.id, root_ptr(r));
      if (r.pins > 0 && root_ptr(r) != r.pinned_at) {
        FAIL_CHECK("pinned node " << r.id << " moved");
        failed_ = true;
      }
    }
    while (!stack.empty() && !failed_) {
      auto [id, p] = stack.back();
      stack.pop_back();
      const SNode& s = shadow_[static_cast<std::size_t>(id)];
      Value hid = p->id.get();
      if (!hid.is_number() || hid.as_number() != static_cast<double>(id)) {
        FAIL_CHECK("node " << id << " has a wrong id");
        failed_ = true;
        return;
      }
      if (p->tail_len != s.tail) {
        FAIL_CHECK("node " << id << " has a wrong tail length");
        failed_ = true;
        return;
      }
      for (std::uint32_t b = 0; b < s.tail; b += 5)
        if (p->tail()[b] != MNode::tail_byte(id, b)) {
          FAIL_CHECK("node " << id << " has a corrupted tail at " << b);
          failed_ = true;
          return;
        }
      Value v = p->payload.get();
      bool ok = true;
      switch (s.payload.kind) {
        case SVal::kNil:
          ok = v.is_nil();
          break;
        case SVal::kBool:
          ok = v.is_bool() && v.as_bool() == s.payload.b;
          break;
        case SVal::kNum:
          ok = v.is_number() &&
               (std::isnan(s.payload.d) ? std::isnan(v.as_number())
                                        : std::bit_cast<std::uint64_t>(v.as_number()) ==
                                              std::bit_cast<std::uint64_t>(s.payload.d));
          break;
        case SVal::kRef:
          ok = v.is_object();
          if (ok) visit(s.payload.ref, v.as<MNode>());
          break;
      }
      if (!ok) {
        FAIL_CHECK("node " << id << " has a wrong payload");
        failed_ = true;
        return;
      }
      for (int k = 0; k < kEdges; ++k) {
        MNode* e = p->edge[k].get();
        if (s.edge[k] < 0) {
          if (e != nullptr) {
            FAIL_CHECK("node " << id << " edge " << k << " should be null");
            failed_ = true;
            return;
          }
        } else {
          visit(s.edge[k], e);
        }
      }
    }
    max_reachable = std::max(max_reachable, addr_of.size());
    // Weak references agree with reachability.
    for (auto& w : weaks_) {
      MNode* p = w.weak->get();
      bool reachable = addr_of.count(w.id) != 0;
      if (p == nullptr && reachable) {
        FAIL_CHECK("weak ref to reachable node " << w.id << " was cleared");
        failed_ = true;
      }
      if (p != nullptr && reachable && p != addr_of[w.id]) {
        FAIL_CHECK("weak ref to node " << w.id << " does not follow it");
        failed_ = true;
      }
      if (p != nullptr && !reachable && after_major) {
        FAIL_CHECK("weak ref to unreachable node " << w.id << " survived a major collection");
        failed_ = true;
      }
    }
    std::erase_if(weaks_, [](const WeakRef& w) { return w.weak->get() == nullptr; });
    last_reachable_ = addr_of.size();
  }

  /// for_each_object (a full collection) reports exactly the reachable MNodes.
  void check_count_by_heap_walk() {
    std::size_t count = 0;
    rt_.for_each_object([&](const marrow::ObjectInfo& info) {
      if (std::string_view(info.type_name) == "MNode") ++count;
    });
    check_heap(true);
    CHECK(count == last_reachable_);
  }

  std::mt19937_64 rng_;
  marrow::Runtime rt_;
  std::size_t ops_;
  SourceRoots source_;
  std::vector<std::unique_ptr<marrow::HandleScope>> scopes_;
  std::vector<Root> roots_;
  std::vector<SNode> shadow_;
  std::vector<WeakRef> weaks_;
  std::size_t last_reachable_ = 0;
  bool failed_ = false;
};

}  // namespace

TEST_CASE("model-based randomized heap operations match a shadow graph") {
  const std::size_t seeds = mt::scaled(30, 5);
  const std::size_t ops = mt::scaled(3000, 300);
  for (std::size_t seed = 1; seed <= seeds; ++seed) {
    CAPTURE(seed);
    marrow::Config cfg;
    switch (seed % 4) {
      case 0:
        break;
      case 1:
        cfg.nursery_bytes = 64 << 10;
        cfg.tenure_age = 2;
        break;
      case 2:
        cfg.nursery_bytes = 128 << 10;
        cfg.large_object_bytes = 1024;
        cfg.tenure_age = 3;
        break;
      case 3:
        cfg.nursery_bytes = 64 << 10;
        cfg.survivor_bytes = 4096;
        cfg.compaction_threshold = 0.1;
        break;
    }
    if (seed <= 2) cfg.verify_heap = true;
    Model model(seed * 0x9e3779b97f4a7c15ull, cfg, ops);
    model.run();
    if (seed == 1)
      MESSAGE("collections " << model.collections << ", max reachable " << model.max_reachable);
  }
}
