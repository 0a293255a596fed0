// Heap snapshots (gc/src/heap_snapshot.cpp): a known graph written and read back through
// meta's field lists — layout, synthetic roots, edge types and names, labels, sizes against
// the heap walk, reachability — plus escaping, finalized objects and unwritable paths.
// With MARROW_SNAPSHOT_OUT=DIR the graph test also leaves DIR/graph.heapsnapshot and
// DIR/graph-walk.json for the DevTools parser in tools/tests.d/heap-snapshot.sh.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/test_support.hpp"
#include "snapshot_reader.hpp"

using marrow::GcKind;
using marrow::Local;
using marrow::Member;
using marrow::Value;
using snapshot_test::Snapshot;

namespace {

struct Leaf : marrow::Object {
  static constexpr const char* kTypeName = "obs::Leaf";
  std::int64_t id;
  explicit Leaf(std::int64_t i) : id(i) {}
  void snapshot_name(std::string& out) const { out += "leaf " + std::to_string(id); }
};

struct Holder : marrow::Object {
  static constexpr const char* kTypeName = "obs::Holder";
  Member<Leaf> child;
  Member<Value> extra;
  Member<Holder> next;
  void trace(marrow::Tracer& t) {
    t.visit(child, "child");
    t.visit(extra, "extra");
    t.visit(next, "next");
  }
};

/// Text in trailing storage, shown as a DevTools string.
struct Text : marrow::Object {
  static constexpr const char* kTypeName = "obs::Text";
  static constexpr auto kSnapshotNodeType = marrow::SnapshotNodeType::kString;
  std::size_t length;
  explicit Text(std::size_t n) : length(n) {}
  char* chars() { return reinterpret_cast<char*>(this) + sizeof(Text); }
  const char* chars() const { return reinterpret_cast<const char*>(this) + sizeof(Text); }
  void snapshot_name(std::string& out) const { out.append(chars(), length); }
};

Local<Text> make_text(marrow::Runtime& rt, const std::string& s) {
  Local<Text> t = rt.make_sized<Text>(s.size(), s.size());
  std::memcpy(t->chars(), s.data(), s.size());
  return t;
}

int g_finalized = 0;
struct Finalized : marrow::Object {
  static constexpr const char* kTypeName = "obs::Finalized";
  void finalize() { ++g_finalized; }
};

struct TestRoots : marrow::RootSource {
  Holder* current = nullptr;
  std::vector<Value> values;
  void trace_roots(marrow::Tracer& t) override {
    t.visit(current, "current");
    for (Value& v : values) t.visit(v);
  }
  const char* root_name() const override { return "Test roots"; }
};

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("marrow-" + std::to_string(getpid()) + "-" + name))
      .string();
}

/// The node name the writer should give an object: its label, else its type name.
std::string expected_name(const marrow::ObjectInfo& info) {
  using namespace marrow::internal;
  const marrow::TypeInfo& t = type_info(header_type(*header_of(info.address)));
  std::string label;
  if (t.snapshot_name != nullptr)
    t.snapshot_name(static_cast<const marrow::Object*>(info.address), label);
  return label.empty() ? t.name : label;
}

std::string json_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

struct Totals {
  std::size_t count = 0;
  std::size_t bytes = 0;
  bool operator==(const Totals&) const = default;
};

/// Count and bytes per node name, over the snapshot's non-synthetic nodes.
std::map<std::string, Totals> totals_by_name(const Snapshot& s) {
  std::map<std::string, Totals> m;
  for (const Snapshot::Node& n : s.nodes) {
    if (n.type == "synthetic") continue;
    m[n.name].count++;
    m[n.name].bytes += n.self_size;
  }
  return m;
}

}  // namespace

namespace doctest {
template <>
struct StringMaker<Totals> {
  static String convert(const Totals& t) {
    return (std::to_string(t.count) + " objects, " + std::to_string(t.bytes) + " bytes").c_str();
  }
};
}  // namespace doctest

/// The graph every structural test looks at, and the files the npm check reads.
struct Graph {
  static constexpr std::size_t kTableSlots = 5;
  std::size_t list_length = mt::scaled(200, 20);
  marrow::Global<mt::Node> list;
  marrow::Weak<mt::Node> weak_live;
  marrow::Weak<mt::Node> weak_dead;
  Leaf* pinned = nullptr;
  Holder* immortal = nullptr;

  /// Builds it in `scope` (which must stay open) and `roots` (registered with rt).
  void build(marrow::Runtime& rt, TestRoots& roots) {
    // Handles: two holders, each with a labelled leaf; the second is also the root
    // source's "current".
    Local<Holder> first = rt.make<Holder>();
    first->child = rt.make<Leaf>(0);
    first->extra = Value::number(1.5);  // not a reference: no edge
    first->next = rt.make<Holder>();
    first->next->child = rt.make<Leaf>(1);
    first->next->extra = Value::object(make_text(rt, "h\xC3\xA9llo").get());
    roots.current = first->next.get();
    roots.values.push_back(Value::boolean(true));  // not a reference: no edge

    // A Global list of plain nodes, and a table with unnamed slots (element edges).
    for (std::size_t i = 0; i < list_length; ++i) {
      marrow::HandleScope inner(rt);
      Local<mt::Node> n = rt.make<mt::Node>(static_cast<std::int64_t>(i));
      n->next = list;
      list = marrow::Global<mt::Node>(rt, n);
    }
    Local<mt::Table> table = rt.make_sized<mt::Table>(mt::table_extra(kTableSlots), kTableSlots);
    Local<mt::Node> minus = rt.make<mt::Node>(-1);
    table->at(1) = minus;
    table->at(3) = list;
    table->at(4) = list;
    weak_live = marrow::Weak<mt::Node>(rt, minus);
    {
      marrow::HandleScope inner(rt);
      Local<mt::Node> dead = rt.make<mt::Node>(-2);
      weak_dead = marrow::Weak<mt::Node>(rt, dead);
      Local<Leaf> leaf = rt.make<Leaf>(2);
      pinned = rt.pin(leaf);  // held by the pin alone once `inner` closes
    }
    immortal = rt.make_immortal<Holder>();
    immortal->child = rt.make<Leaf>(3);
  }

  void release(marrow::Runtime& rt) {
    rt.unpin(pinned);
    list.reset();
    weak_live.reset();
    weak_dead.reset();
  }
};

TEST_CASE("a snapshot of a known graph: layout, roots, edges, labels and sizes") {
  marrow::Runtime rt(mt::config());
  TestRoots roots;
  rt.add_root_source(&roots);
  marrow::HandleScope scope(rt);
  Graph g;
  g.build(rt, roots);

  const char* out_dir = std::getenv("MARROW_SNAPSHOT_OUT");
  std::string path = out_dir != nullptr ? std::string(out_dir) + "/graph.heapsnapshot"
                                        : temp_path("graph.heapsnapshot");
  rt.write_heap_snapshot(path);
  Snapshot s = Snapshot::load(path);
  MT_CHECK_SOUND(rt);

  // The heap walk of the same (unchanged) heap.
  std::map<std::string, Totals> walk;
  std::size_t walked = 0;
  std::string walk_json = "{\"objects\":[";
  rt.for_each_object([&](const marrow::ObjectInfo& info) {
    std::string name = expected_name(info);
    walk[name].count++;
    walk[name].bytes += info.size;
    walk_json += (walked++ == 0 ? "\n" : ",\n") + std::string("{\"type\":") +
                 json_quote(info.type_name) + ",\"name\":" + json_quote(name) +
                 ",\"size\":" + std::to_string(info.size) + "}";
  });

  SUBCASE("the header and meta are V8's") {
    const auto& snap = s.json["snapshot"];
    CHECK(s.json.keys() == std::vector<std::string>{"snapshot", "nodes", "edges",
                                                    "trace_function_infos", "trace_tree", "samples",
                                                    "locations", "strings"});
    CHECK(snap.keys() ==
          std::vector<std::string>{"meta", "node_count", "edge_count", "trace_function_count"});
    const auto& meta = snap["meta"];
    CHECK(meta["node_fields"].strings() ==
          std::vector<std::string>{"type", "name", "id", "self_size", "edge_count", "trace_node_id",
                                   "detachedness"});
    CHECK(meta["edge_fields"].strings() ==
          std::vector<std::string>{"type", "name_or_index", "to_node"});
    CHECK(meta["edge_types"].array.at(0).strings() ==
          std::vector<std::string>{"context", "element", "property", "internal", "hidden",
                                   "shortcut", "weak"});
    CHECK(meta["node_types"].array.at(0).strings().at(9) == "synthetic");
    CHECK(meta["trace_function_info_fields"].array.size() == 6);
    CHECK(meta["trace_node_fields"].array.size() == 5);
    CHECK(meta["sample_fields"].array.size() == 2);
    CHECK(meta["location_fields"].array.size() == 4);
    CHECK(snap["node_count"].number == double(s.nodes.size()));
    CHECK(snap["edge_count"].number * 3 == double(s.json["edges"].array.size()));
    CHECK(snap["trace_function_count"].number == 0);
  }

  SUBCASE("one node per live object plus the synthetic roots; counts and bytes per name") {
    // root, (GC roots), and seven sub-roots: handles, globals, weaks, "Test roots",
    // pinned, immortal, finalizers.
    const std::size_t synthetic = 9;
    CHECK(s.nodes.size() == walked + synthetic);
    std::size_t synthetic_seen = 0;
    for (const auto& n : s.nodes) synthetic_seen += n.type == "synthetic";
    CHECK(synthetic_seen == synthetic);
    CHECK(totals_by_name(s) == walk);
    CHECK(walk["mt::Node"].count == g.list_length + 1);  // the list and `minus`; -2 died
    CHECK(walk["obs::Holder"].count == 3);
    CHECK(walk["obs::Holder"].bytes == 3 * marrow::internal::align_up(8 + sizeof(Holder), 8));
  }

  SUBCASE("ids are odd and unique; the string table has no duplicates") {
    std::set<std::uint64_t> ids;
    for (const auto& n : s.nodes) {
      CHECK(n.id % 2 == 1);
      ids.insert(n.id);
    }
    CHECK(ids.size() == s.nodes.size());
    std::vector<std::string> strings = s.json["strings"].strings();
    CHECK(std::set<std::string>(strings.begin(), strings.end()).size() == strings.size());
  }

  SUBCASE("the root, (GC roots) and one sub-root per kind of root") {
    CHECK(s.nodes[0].type == "synthetic");
    CHECK(s.nodes[0].name == "");
    for (const char* name : {"(Handles)", "(Global handles)", "(Weak handles)", "Test roots",
                             "(Pinned)", "(Immortal)", "(Finalizers)"}) {
      CAPTURE(name);
      std::size_t r = s.sub_root(name);
      REQUIRE(r != SIZE_MAX);
      CHECK(s.nodes[r].type == "synthetic");
      CHECK(s.nodes[r].self_size == 0);
    }
    auto reachable = s.reachable();
    for (std::size_t i = 0; i < s.nodes.size(); ++i) {
      CAPTURE(s.nodes[i].name);
      CHECK(reachable[i]);
    }
  }

  SUBCASE("the retainer path root -> (GC roots) -> (Handles) -> Holder -child-> leaf 0") {
    std::size_t handles = s.sub_root("(Handles)");
    REQUIRE(handles != SIZE_MAX);
    bool found = false;
    for (const auto& e : s.nodes[handles].edges) {
      CHECK(e.type == "element");
      if (s.nodes[e.to].name != "obs::Holder") continue;
      std::size_t leaf = s.follow(e.to, "child");
      if (leaf == SIZE_MAX || s.nodes[leaf].name != "leaf 0") continue;
      found = true;
      CHECK(s.nodes[leaf].type == "object");
      CHECK(s.nodes[leaf].self_size == marrow::internal::align_up(8 + sizeof(Leaf), 8));
      const auto& holder = s.nodes[e.to];
      REQUIRE(holder.edges.size() == 2);  // child and next; `extra` holds a number
      CHECK(holder.edges[0].type == "property");
      CHECK(holder.edges[1].name == "next");
    }
    CHECK(found);
  }

  SUBCASE("root sources, weak handles, pins, immortal objects, unnamed slots") {
    std::size_t src = s.sub_root("Test roots");
    REQUIRE(s.nodes[src].edges.size() == 1);  // `current`; the boolean is no reference
    const auto& current = s.nodes[src].edges[0];
    CHECK(current.type == "property");
    CHECK(current.name == "current");
    std::size_t second_leaf = s.follow(current.to, "child");
    REQUIRE(second_leaf != SIZE_MAX);
    CHECK(s.nodes[second_leaf].name == "leaf 1");
    std::size_t text = s.follow(current.to, "extra");
    REQUIRE(text != SIZE_MAX);
    CHECK(s.nodes[text].type == "string");
    CHECK(s.nodes[text].name == "h\xC3\xA9llo");

    std::size_t weaks = s.sub_root("(Weak handles)");
    REQUIRE(s.nodes[weaks].edges.size() == 1);  // the dead one was cleared
    CHECK(s.nodes[weaks].edges[0].type == "weak");
    CHECK(s.nodes[s.nodes[weaks].edges[0].to].name == "mt::Node");

    std::size_t pins = s.sub_root("(Pinned)");
    REQUIRE(s.nodes[pins].edges.size() == 1);
    CHECK(s.nodes[s.nodes[pins].edges[0].to].name == "leaf 2");

    std::size_t immortal = s.sub_root("(Immortal)");
    REQUIRE(s.nodes[immortal].edges.size() == 1);
    std::size_t imm_holder = s.nodes[immortal].edges[0].to;
    CHECK(s.nodes[imm_holder].name == "obs::Holder");
    std::size_t imm_leaf = s.follow(imm_holder, "child");
    REQUIRE(imm_leaf != SIZE_MAX);
    CHECK(s.nodes[imm_leaf].name == "leaf 3");

    CHECK(s.nodes[s.sub_root("(Global handles)")].edges.size() == 1);
    CHECK(s.nodes[s.sub_root("(Finalizers)")].edges.empty());

    auto tables = s.named("mt::Table");
    REQUIRE(tables.size() == 1);
    const auto& edges = s.nodes[tables[0]].edges;
    REQUIRE(edges.size() == 3);  // slots 1, 3 and 4; 0 and 2 are null
    for (std::size_t i = 0; i < edges.size(); ++i) {
      CHECK(edges[i].type == "element");
      CHECK(edges[i].name == std::to_string(i));
    }
    CHECK(edges[1].to == edges[2].to);  // the same list head twice
  }

  if (out_dir != nullptr) {
    walk_json += "\n],\n\"root_source\":\"Test roots\",\n";
    walk_json +=
        "\"retainer_path\":{\"nodes\":[\"\",\"(GC roots)\",\"(Handles)\",\"obs::Holder\","
        "\"leaf 0\"],\"edges\":[null,null,null,\"child\"]}}\n";
    std::ofstream(std::string(out_dir) + "/graph-walk.json") << walk_json;
  } else {
    std::remove(path.c_str());
  }
  g.release(rt);
  rt.remove_root_source(&roots);
}

TEST_CASE("labels are escaped, cut at 1 KiB on a character boundary, and deduplicated") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  const std::string tricky = "q\"b\\n\nt\tc\x01 \xE2\x82\xAC bad\xFF\xC3 end";
  // Every object here is kept by its Local until the scope closes.
  make_text(rt, tricky);
  make_text(rt, tricky);  // the same label: one string
  std::string long_text(1022, 'x');
  long_text += "\xE2\x82\xAC";  // a 3-byte character across the 1024-byte cut
  long_text += std::string(2000, 'y');
  make_text(rt, long_text);
  make_text(rt, "");  // an empty label: the type name
  std::string path = temp_path("labels.heapsnapshot");
  rt.write_heap_snapshot(path);
  Snapshot s = Snapshot::load(path);
  std::remove(path.c_str());

  // Malformed UTF-8 (a stray 0xFF, a truncated sequence) reads back as U+FFFD.
  const std::string decoded = "q\"b\\n\nt\tc\x01 \xE2\x82\xAC bad\xEF\xBF\xBD\xEF\xBF\xBD end";
  CHECK(s.named(decoded).size() == 2);
  std::vector<std::string> strings = s.json["strings"].strings();
  CHECK(std::count(strings.begin(), strings.end(), decoded) == 1);
  CHECK(s.named(std::string(1022, 'x') + "...").size() == 1);
  CHECK(s.named("obs::Text").size() == 1);
  for (std::size_t n : s.named(decoded)) CHECK(s.nodes[n].type == "string");
}

TEST_CASE("objects finalized by the snapshot's collection leave no unreachable nodes") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  g_finalized = 0;
  Local<Finalized> kept = rt.make<Finalized>();
  {
    marrow::HandleScope inner(rt);
    for (int i = 0; i < 10; ++i) rt.make<Finalized>();
  }
  rt.collect(GcKind::kMajor);  // some die old, some young: both lists are exercised
  {
    marrow::HandleScope inner(rt);
    for (int i = 0; i < 10; ++i) rt.make<Finalized>();
  }
  std::string path = temp_path("finalized.heapsnapshot");
  rt.write_heap_snapshot(path);
  Snapshot s = Snapshot::load(path);
  std::remove(path.c_str());
  CHECK(g_finalized == 20);
  CHECK(s.named("obs::Finalized").size() == 1);
  auto reachable = s.reachable();
  CHECK(std::count(reachable.begin(), reachable.end(), false) == 0);
  CHECK(kept);
}

TEST_CASE("a snapshot path that cannot be written is an error naming it; the runtime goes on") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  Local<mt::Node> n = rt.make<mt::Node>(1);

  const std::string missing = "/nonexistent-marrow-dir/for/sure/x.heapsnapshot";
  try {
    rt.write_heap_snapshot(missing);
    FAIL("write_heap_snapshot should have thrown");
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    CHECK(what.find(missing) != std::string::npos);
    CHECK(what.find(std::strerror(ENOENT)) != std::string::npos);
  }

  if (std::filesystem::exists("/dev/full")) {  // opens, then every write fails
    try {
      rt.write_heap_snapshot("/dev/full");
      FAIL("write_heap_snapshot should have thrown");
    } catch (const std::runtime_error& e) {
      std::string what = e.what();
      CHECK(what.find("/dev/full") != std::string::npos);
      CHECK(what.find(std::strerror(ENOSPC)) != std::string::npos);
    }
  }

  // Still usable: allocate, collect, snapshot.
  n->next = rt.make<mt::Node>(2);
  rt.collect(GcKind::kCompact);
  CHECK(n->next->id == 2);
  std::string path = temp_path("after-error.heapsnapshot");
  rt.write_heap_snapshot(path);
  Snapshot s = Snapshot::load(path);
  std::remove(path.c_str());
  CHECK(s.named("mt::Node").size() == 2);
  MT_CHECK_SOUND(rt);
}
