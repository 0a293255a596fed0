// embedding_guide: every code example of docs/embedding.md, compiled and run by CI
// (tools/tests.d/docs.sh). Each section of the guide names the function it comes from;
// main runs them all, prints what they did and exits 0. If you change one, change both.
#include <marrow/marrow.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

// ---- Objects ---------------------------------------------------------------------------

// A binary-tree node: two references, one tagged slot, one plain field.
struct Node : marrow::Object {
  static constexpr const char* kTypeName = "Node";
  marrow::Member<Node> left;
  marrow::Member<Node> right;
  marrow::Member<marrow::Value> tag;
  std::int64_t item;

  explicit Node(std::int64_t i) : item(i) {}
  void trace(marrow::Tracer& t) {
    t.visit(left, "left");
    t.visit(right, "right");
    t.visit(tag, "tag");
  }
};

// An immutable string: a length and trailing characters. No references, so no trace:
// the collector never scans its bytes.
struct Str : marrow::Object {
  static constexpr const char* kTypeName = "Str";
  std::size_t length;

  explicit Str(std::string_view s) : length(s.size()) { std::memcpy(chars(), s.data(), s.size()); }
  char* chars() { return reinterpret_cast<char*>(this) + sizeof(Str); }
  std::string_view view() { return {chars(), length}; }
};

marrow::Local<Str> make_str(marrow::Runtime& rt, std::string_view s) {
  return rt.make_sized<Str>(s.size(), s);
}

// A fixed-capacity array: its slots are part of the object, so visit_range may mark a long
// one a piece at a time.
struct Array : marrow::Object {
  static constexpr const char* kTypeName = "Array";
  std::size_t capacity;

  explicit Array(std::size_t n) : capacity(n) {}
  marrow::Member<marrow::Value>* slots() {
    return reinterpret_cast<marrow::Member<marrow::Value>*>(reinterpret_cast<std::byte*>(this) +
                                                            sizeof(Array));
  }
  void trace(marrow::Tracer& t) { t.visit_range(slots(), capacity); }
};

marrow::Local<Array> make_array(marrow::Runtime& rt, std::size_t n) {
  return rt.make_sized<Array>(n * sizeof(marrow::Member<marrow::Value>), n);  // all nil
}

void objects() {
  marrow::Runtime rt;
  marrow::HandleScope scope(rt);
  marrow::Local<Node> root = rt.make<Node>(1);
  root->left = rt.make<Node>(2);  // the right side runs first, then the store (C++17)
  root->right = rt.make<Node>(3);
  root->tag = marrow::Value::number(0.5);
  marrow::Local<Str> name = make_str(rt, "marrow");
  root->left->tag = marrow::Value::object(name.get());

  marrow::Local<Array> array = make_array(rt, 100'000);
  array->slots()[99'999] = marrow::Value::object(root.get());
  rt.collect(marrow::GcKind::kMajor);  // everything above moves into old space

  Str* s = root->left->tag.get().as<Str>();
  std::printf("objects: root %lld, left %lld, right %lld, tag %g, left's tag \"%.*s\"\n",
              static_cast<long long>(root->item), static_cast<long long>(root->left->item),
              static_cast<long long>(root->right->item), root->tag.get().as_number(),
              static_cast<int>(s->length), s->chars());
  std::printf("objects: the array's last slot holds the root: %s\n",
              array->slots()[99'999].get().as<Node>() == root.get() ? "yes" : "no");
}

// A managed object that owns native memory: trivially destructible (a raw pointer, not a
// std::vector), released in finalize().
int g_buffers_freed = 0;

struct NativeBuffer : marrow::Object {
  static constexpr const char* kTypeName = "NativeBuffer";
  char* data;
  std::size_t size;

  explicit NativeBuffer(std::size_t n) : data(static_cast<char*>(std::malloc(n))), size(n) {}
  void finalize() {  // runs once, after the collection that found it dead
    std::free(data);
    ++g_buffers_freed;
  }
};

void finalizers() {
  marrow::Runtime rt;
  {
    marrow::HandleScope scope(rt);
    for (int i = 0; i < 3; ++i) rt.make<NativeBuffer>(1024);
  }  // no handle holds them any more
  rt.collect(marrow::GcKind::kMinor);
  std::printf("finalizers: %d native buffers freed by the collection\n", g_buffers_freed);
}

// Immortal objects: never moved, never freed; their references are roots.
struct Builtins : marrow::Object {
  marrow::Member<Str> init_name;
  void trace(marrow::Tracer& t) { t.visit(init_name, "init_name"); }
};

void immortal_objects() {
  marrow::Runtime rt;
  Builtins* builtins = rt.make_immortal<Builtins>();  // a raw pointer that stays valid
  {
    marrow::HandleScope scope(rt);
    builtins->init_name = make_str(rt, "init");
  }
  rt.collect(marrow::GcKind::kCompact);
  std::printf("immortal_objects: builtins->init_name = \"%.*s\" after a compaction\n",
              static_cast<int>(builtins->init_name->length), builtins->init_name->chars());
}

// ---- Handles ---------------------------------------------------------------------------

marrow::Local<Node> make_pair(marrow::Runtime& rt, std::int64_t a, std::int64_t b) {
  marrow::EscapableHandleScope scope(rt);
  marrow::Local<Node> pair = rt.make<Node>(0);
  pair->left = rt.make<Node>(a);
  pair->right = rt.make<Node>(b);
  return scope.escape(pair);  // a slot in the caller's scope; the rest are released
}

void handle_scopes() {
  marrow::Runtime rt;
  marrow::HandleScope outer(rt);
  marrow::Local<Node> pair = make_pair(rt, 10, 20);
  for (int i = 0; i < 300'000; ++i) {
    marrow::HandleScope inner(rt);  // one slot per iteration, freed at the end of it
    rt.make<Node>(i);
  }
  marrow::Local<marrow::Object> as_object = pair;  // Local<Derived> converts to Local<Base>
  std::printf("handle_scopes: pair (%lld, %lld) survived %zu minor collections; upcast %s\n",
              static_cast<long long>(pair->left->item), static_cast<long long>(pair->right->item),
              rt.stats().minor_collections, as_object == pair ? "is the same object" : "differs");
}

struct Registry {
  marrow::Global<Node> current;  // a root for as long as the Registry holds it
};

void globals_and_weaks() {
  marrow::Runtime rt;
  Registry registry;
  marrow::Weak<Node> kept_watch;
  marrow::Weak<Node> dropped_watch;
  {
    marrow::HandleScope scope(rt);
    marrow::Local<Node> kept = rt.make<Node>(1);
    marrow::Local<Node> dropped = rt.make<Node>(2);
    registry.current = marrow::Global<Node>(rt, kept);
    kept_watch = marrow::Weak<Node>(rt, kept);
    dropped_watch = marrow::Weak<Node>(rt, dropped);
  }
  rt.collect(marrow::GcKind::kMajor);
  std::printf("globals_and_weaks: global item %lld; weak to kept %s; weak to dropped %s\n",
              static_cast<long long>(registry.current->item),
              kept_watch.get() == registry.current.get() ? "follows it" : "is wrong",
              dropped_watch.get() == nullptr ? "reads nullptr" : "still set");
  registry.current.reset();  // releases the root
}

// ---- Root sources ----------------------------------------------------------------------

// A VM's own roots: its value stack (strong) and its string-interning table (weak).
struct Vm : marrow::RootSource {
  std::vector<marrow::Value> stack;
  std::unordered_map<std::string, Str*> strings;  // interned; does not keep them alive

  void trace_roots(marrow::Tracer& t) override {
    for (marrow::Value& v : stack) t.visit(v);
  }
  void process_weak(marrow::WeakProcessor& w) override {
    for (auto it = strings.begin(); it != strings.end();) {
      if (Str* s = w.update(it->second)) {
        it->second = s;  // it may have moved
        ++it;
      } else {
        it = strings.erase(it);  // it died
      }
    }
  }

  Str* intern(marrow::Runtime& rt, std::string_view text) {
    auto it = strings.find(std::string(text));
    if (it != strings.end()) return it->second;
    Str* s = make_str(rt, text).get();  // raw: no allocation before it is stored below
    strings.emplace(std::string(text), s);
    return s;
  }
};

void root_sources() {
  marrow::Runtime rt;
  Vm vm;
  rt.add_root_source(&vm);
  {
    marrow::HandleScope scope(rt);
    vm.stack.push_back(marrow::Value::object(vm.intern(rt, "kept")));
    vm.intern(rt, "garbage");
    vm.stack.push_back(marrow::Value::number(42));
  }
  rt.collect(marrow::GcKind::kCompact);
  Str* kept = vm.stack[0].as<Str>();
  std::printf("root_sources: stack[0] = \"%.*s\", stack[1] = %g, %zu interned string(s) left\n",
              static_cast<int>(kept->length), kept->chars(), vm.stack[1].as_number(),
              vm.strings.size());
  rt.remove_root_source(&vm);
}

// ---- The write barrier -----------------------------------------------------------------

void write_barrier() {
  marrow::Config cfg = marrow::Config::from_env();
  cfg.verify_heap = false;  // this example breaks the heap on purpose, briefly
  marrow::Runtime rt(cfg);
  marrow::HandleScope scope(rt);
  marrow::Local<Node> old_node = rt.make<Node>(1);
  rt.collect(marrow::GcKind::kMajor);  // old_node is now in old space
  marrow::Local<Node> young = rt.make<Node>(2);

  old_node->left = young;  // barriered: the slot is remembered
  std::size_t with_barrier = rt.find_heap_problems().size();

  old_node->right.store_without_barrier_for_testing(young.get());  // never do this
  std::size_t without_barrier = rt.find_heap_problems().size();
  old_node->right = young;  // the same store through the barrier repairs it

  rt.collect(marrow::GcKind::kMinor);  // young moves; both slots are updated
  std::printf(
      "write_barrier: problems with the barrier %zu, without %zu; after a minor "
      "collection left %lld, right %lld\n",
      with_barrier, without_barrier, static_cast<long long>(old_node->left->item),
      static_cast<long long>(old_node->right->item));
}

// ---- Raw pointers ----------------------------------------------------------------------

void raw_pointers() {
  marrow::Runtime rt;
  marrow::HandleScope scope(rt);
  marrow::Local<Node> node = rt.make<Node>(7);

  Node* raw = node.get();  // fine: no allocation or collection until its last use
  raw->item += 1;
  raw->tag = marrow::Value::boolean(true);

  rt.collect(marrow::GcKind::kMinor);  // node moves to a survivor space
  // `raw` is stale now; the handle is not.
  bool moved = node.get() != raw;
  std::printf("raw_pointers: item %lld, object %s by the collection\n",
              static_cast<long long>(node->item), moved ? "moved" : "did not move");
}

// ---- Pinning ---------------------------------------------------------------------------

void pinning() {
  marrow::Runtime rt;
  marrow::HandleScope scope(rt);
  marrow::Local<Node> node = rt.make<Node>(5);
  Node* fixed = rt.pin(node);  // promotes it first (it was young)
  rt.collect(marrow::GcKind::kCompact);
  bool stayed = node.get() == fixed;
  rt.unpin(fixed);
  std::printf("pinning: the pinned object %s through a compaction\n",
              stayed ? "stayed in place" : "moved");
}

// ---- Errors ----------------------------------------------------------------------------

void errors() {
  marrow::Config cfg = marrow::Config::from_env();
  cfg.heap_limit_bytes = 32 << 20;
  marrow::Runtime rt(cfg);

  try {
    rt.make<Node>(1);  // no HandleScope is open
  } catch (const marrow::UsageError& e) {
    std::printf("errors: UsageError: %s\n", e.what());
  }

  marrow::HandleScope scope(rt);
  try {
    make_str(rt, "x");  // fine
    rt.make_sized<Str>(SIZE_MAX - 4, "");
  } catch (const marrow::InvalidSize& e) {
    std::printf("errors: InvalidSize: %s\n", e.what());
  }

  marrow::Global<Node> list;  // a list that grows until the limit is reached
  std::size_t length = 0;
  try {
    for (;;) {
      marrow::HandleScope inner(rt);
      marrow::Local<Node> n = rt.make<Node>(static_cast<std::int64_t>(length));
      n->left = list;
      list = marrow::Global<Node>(rt, n);
      ++length;
    }
  } catch (const marrow::OutOfMemory& e) {
    std::printf("errors: OutOfMemory after %zu nodes: %s\n", length, e.what());
  }
  list.reset();  // drop the data; the runtime stays usable
  rt.collect(marrow::GcKind::kMajor);
  marrow::Local<Node> after = rt.make<Node>(1);
  std::printf("errors: after dropping the list, allocation works again (item %lld)\n",
              static_cast<long long>(after->item));
}

// ---- Threads ---------------------------------------------------------------------------

void threads() {
  marrow::Runtime rt(marrow::Config::from_env());
  marrow::Global<Node> result;
  std::thread worker([&] {
    try {
      marrow::HandleScope scope(rt);  // not the runtime's thread
    } catch (const marrow::UsageError&) {
      std::puts("threads: the worker was refused before the hand-over");
    }
    rt.attach_current_thread();  // the main thread no longer touches rt
    marrow::HandleScope scope(rt);
    result = marrow::Global<Node>(rt, rt.make<Node>(99));
  });
  worker.join();
  rt.attach_current_thread();  // and back
  std::printf("threads: item %lld made on the worker, read on the main thread\n",
              static_cast<long long>(result->item));
}

}  // namespace

int main() {
  objects();
  finalizers();
  immortal_objects();
  handle_scopes();
  globals_and_weaks();
  root_sources();
  write_barrier();
  raw_pointers();
  pinning();
  errors();
  threads();
  std::puts("embedding_guide: all examples ran");
  return 0;
}
