// Heap snapshots: the live object graph as a Chrome DevTools .heapsnapshot file (the JSON
// layout of V8's HeapSnapshotJSONSerializer), streamed through a buffered FILE*. Runs a
// major collection first; it must never allocate managed memory or move an object while it
// writes, since node indices are object addresses.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "marrow/gc/heap.hpp"

namespace marrow::internal {
namespace {

// ==== The format ===========================================================================
//
// {"snapshot":{"meta":{...},"node_count":N,"edge_count":M,"trace_function_count":0},
//  "nodes":[...],"edges":[...],"trace_function_infos":[],"trace_tree":[],"samples":[],
//  "locations":[],"strings":[...]}
//
// `nodes` is flat, kNodeFields numbers per node (the order of meta.node_fields). `edges` is
// flat, kEdgeFields numbers per edge; a node's edges are the next `edge_count` ones after
// those of the nodes before it. An edge's `to_node` is the target's position in `nodes`
// (ordinal × kNodeFields). `name` fields and property/weak edge names index `strings`;
// element edges carry a number instead.
//
// Conventions DevTools and memlab rely on: node 0 is the root; every other node should be
// reachable from it; ids of heap objects are odd (even ids mean embedder-native objects,
// which DevTools leaves out of its JS-heap accounting). Here the node of ordinal i has id
// 2i + 1: ids are stable within one snapshot, not across snapshots (objects move, and
// marrow keeps no address-independent object identity).

constexpr std::size_t kNodeFields = 7;
constexpr std::size_t kEdgeFields = 3;

// Positions in meta.node_types[0] and meta.edge_types[0].
enum NodeType : std::uint32_t {
  kHiddenNode = 0,
  kArrayNode = 1,
  kStringNode = 2,
  kObjectNode = 3,
  kCodeNode = 4,
  kClosureNode = 5,
  kNativeNode = 8,
  kSyntheticNode = 9,
};
enum EdgeType : std::uint32_t {
  kElementEdge = 1,
  kPropertyEdge = 2,
  kWeakEdge = 6,
};

constexpr std::string_view kMeta =
    R"({"node_fields":["type","name","id","self_size","edge_count","trace_node_id",)"
    R"("detachedness"],)"
    R"("node_types":[["hidden","array","string","object","code","closure","regexp","number",)"
    R"("native","synthetic","concatenated string","sliced string","symbol","bigint",)"
    R"("object shape"],"string","number","number","number","number","number"],)"
    R"("edge_fields":["type","name_or_index","to_node"],)"
    R"("edge_types":[["context","element","property","internal","hidden","shortcut","weak"],)"
    R"("string_or_number","node"],)"
    R"("trace_function_info_fields":["function_id","name","script_name","script_id","line",)"
    R"("column"],)"
    R"("trace_node_fields":["id","function_info_index","count","size","children"],)"
    R"("sample_fields":["timestamp_us","last_assigned_id"],)"
    R"("location_fields":["object_index","script_id","line","column"]})";

NodeType node_type_of(SnapshotNodeType t) {
  switch (t) {
    case SnapshotNodeType::kObject:
      return kObjectNode;
    case SnapshotNodeType::kString:
      return kStringNode;
    case SnapshotNodeType::kArray:
      return kArrayNode;
    case SnapshotNodeType::kCode:
      return kCodeNode;
    case SnapshotNodeType::kClosure:
      return kClosureNode;
    case SnapshotNodeType::kNative:
      return kNativeNode;
    case SnapshotNodeType::kHidden:
      return kHiddenNode;
  }
  return kObjectNode;
}

/// Labels beyond this are cut (at a UTF-8 character boundary) and end in "...": a label is
/// for recognising an object, not for copying a large string's contents into the file.
constexpr std::size_t kMaxLabelBytes = 1024;

// ==== Output ===============================================================================

/// A buffered output file. Every failure (open, write, close) throws std::runtime_error
/// naming the path and the OS error; the destructor only closes.
class SnapshotFile {
 public:
  explicit SnapshotFile(const std::string& path)
      : path_(path), buffer_(new char[kBufferBytes]), file_(std::fopen(path.c_str(), "wb")) {
    if (file_ == nullptr) fail("cannot create the heap snapshot file");
  }
  ~SnapshotFile() {
    if (file_ != nullptr) std::fclose(file_);
  }
  SnapshotFile(const SnapshotFile&) = delete;
  SnapshotFile& operator=(const SnapshotFile&) = delete;

  void put(char c) {
    if (used_ == kBufferBytes) flush();
    buffer_[used_++] = c;
  }
  void put(std::string_view s) {
    if (s.size() > kBufferBytes - used_) {
      flush();
      if (s.size() > kBufferBytes) return write_out(s.data(), s.size());
    }
    std::memcpy(buffer_.get() + used_, s.data(), s.size());
    used_ += s.size();
  }
  void number(std::uint64_t n) {
    fmt::format_int digits(n);
    put(std::string_view(digits.data(), digits.size()));
  }
  /// `s` as a JSON string: quotes, backslashes and control characters escaped, malformed
  /// UTF-8 replaced by U+FFFD (a label may hold any bytes; JSON must be UTF-8).
  void json_string(std::string_view s);
  /// Flushes and closes; throws when any of it failed.
  void close() {
    flush();
    std::FILE* f = file_;
    file_ = nullptr;
    if (std::fclose(f) != 0) fail("writing the heap snapshot file failed");
  }

 private:
  static constexpr std::size_t kBufferBytes = std::size_t{1} << 20;  // few syscalls, little RAM

  void flush() {
    write_out(buffer_.get(), used_);
    used_ = 0;
  }
  void write_out(const char* data, std::size_t n) {
    if (n != 0 && std::fwrite(data, 1, n, file_) != n)
      fail("writing the heap snapshot file failed");
  }
  [[noreturn]] void fail(const char* what) const {
    int err = errno;
    throw std::runtime_error(
        fmt::format("marrow: {} '{}': {}", what, path_, std::strerror(err != 0 ? err : EIO)));
  }

  std::string path_;
  std::unique_ptr<char[]> buffer_;
  std::FILE* file_;
  std::size_t used_ = 0;
};

/// Length of the well-formed UTF-8 sequence at s[0] (1 to 4), or 0 when it is malformed.
std::size_t utf8_sequence_length(const unsigned char* s, std::size_t left) {
  unsigned char c = s[0];
  std::size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlong forms
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;  // nothing past U+10FFFF
  } else {
    return 0;
  }
  if (left < n || s[1] < lo || s[1] > hi) return 0;
  for (std::size_t i = 2; i < n; ++i)
    if ((s[i] & 0xC0) != 0x80) return 0;
  return n;
}

void SnapshotFile::json_string(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  put('"');
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t left = s.size();
  while (left > 0) {
    unsigned char c = *p;
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      put(char(c));
      ++p;
      --left;
      continue;
    }
    switch (c) {
      case '"':
        put("\\\"");
        break;
      case '\\':
        put("\\\\");
        break;
      case '\n':
        put("\\n");
        break;
      case '\r':
        put("\\r");
        break;
      case '\t':
        put("\\t");
        break;
      case '\b':
        put("\\b");
        break;
      case '\f':
        put("\\f");
        break;
      default:
        if (c < 0x20) {
          const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
          put(std::string_view(esc, sizeof esc));
        } else if (std::size_t n = utf8_sequence_length(p, left); n != 0) {
          put(std::string_view(reinterpret_cast<const char*>(p), n));
          p += n;
          left -= n;
          continue;
        } else {
          put("\\ufffd");
        }
    }
    ++p;
    --left;
  }
  put('"');
}

/// Heterogeneous lookup for the string table (find by string_view without a copy).
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

}  // namespace

// ==== The writer ===========================================================================

/// Writes one snapshot of a heap that was just collected. Nodes, in order: the root, "(GC
/// roots)", one synthetic sub-root per root category, then every object in address order.
/// Each section is produced by walking the graph again rather than by storing it: the
/// memory used is 12 bytes per object (address and edge count), the address index (about
/// 1 KiB per 256 KiB of heap) and the string table.
class HeapSnapshotWriter {
 public:
  HeapSnapshotWriter(Heap& heap, SnapshotFile& out) : heap_(heap), out_(out) {}

  void write() {
    collect_nodes();
    count_edges();
    out_.put(R"({"snapshot":{"meta":)");
    out_.put(kMeta);
    out_.put(R"(,"node_count":)");
    out_.number(node_count());
    out_.put(R"(,"edge_count":)");
    out_.number(total_edges_);
    out_.put(R"(,"trace_function_count":0},)");
    out_.put("\n\"nodes\":[");
    write_nodes();
    out_.put("],\n\"edges\":[");
    write_edges();
    out_.put(
        "],\n\"trace_function_infos\":[],\"trace_tree\":[],\"samples\":[],\"locations\":[],"
        "\n\"strings\":[");
    write_strings();
    out_.put("]}\n");
  }

 private:
  /// A synthetic sub-root of "(GC roots)": one per kind of root.
  enum class RootKind { kHandles, kGlobals, kWeaks, kRootSource, kPinned, kImmortal, kFinalizers };
  struct SubRoot {
    RootKind kind;
    const char* name;
    RootSource* source;  ///< for kRootSource
  };

  /// Tracer that turns each reference an object or root source reports into an edge.
  class EdgeTracer final : public Tracer {
   public:
    explicit EdgeTracer(HeapSnapshotWriter& w) : w_(w) { wants_edge_names_ = true; }

   protected:
    Object* visit_reference(Object* object, void*, const char* edge_name) override {
      w_.edge_to_object(object, edge_name, kPropertyEdge);
      return object;
    }

   private:
    HeapSnapshotWriter& w_;
  };

  static constexpr std::uint32_t kRootOrdinal = 0;
  static constexpr std::uint32_t kGcRootsOrdinal = 1;
  static constexpr std::uint32_t kFirstSubRootOrdinal = 2;
  static constexpr std::uint32_t kNone = ~std::uint32_t{0};  ///< no node, no string

  std::size_t node_count() const { return first_object_ordinal() + objects_.size(); }
  std::uint32_t first_object_ordinal() const {
    return kFirstSubRootOrdinal + static_cast<std::uint32_t>(sub_roots_.size());
  }

  void collect_nodes() {
    sub_roots_.push_back({RootKind::kHandles, "(Handles)", nullptr});
    sub_roots_.push_back({RootKind::kGlobals, "(Global handles)", nullptr});
    sub_roots_.push_back({RootKind::kWeaks, "(Weak handles)", nullptr});
    for (RootSource* src : heap_.roots_.sources()) {
      const char* name = src->root_name();
      sub_roots_.push_back({RootKind::kRootSource, name != nullptr ? name : "RootSource", src});
    }
    sub_roots_.push_back({RootKind::kPinned, "(Pinned)", nullptr});
    sub_roots_.push_back({RootKind::kImmortal, "(Immortal)", nullptr});
    sub_roots_.push_back({RootKind::kFinalizers, "(Finalizers)", nullptr});

    heap_.for_each_object([&](Object* o, HeaderWord) { objects_.push_back(o); });
    std::sort(objects_.begin(), objects_.end());
    if (node_count() >= (std::size_t{1} << 32) / kNodeFields)  // DevTools' to_node is 32-bit
      throw std::runtime_error(fmt::format(
          "marrow: a heap snapshot can hold at most {} objects; this heap has {}",
          (std::size_t{1} << 32) / kNodeFields - first_object_ordinal(), objects_.size()));
    build_address_index();
  }

  // ---- Address index -------------------------------------------------------------------
  // Object address -> node ordinal, asked for every reference of every object on each of
  // the two edge walks (millions of times). objects_ is sorted; for each 256 KiB-aligned
  // address window that holds objects, granule_first_ has, per 1 KiB granule, the index in
  // objects_ of the first object at or after the granule's start (and one entry more: the
  // window's end). A lookup is then a search of the short window list, two loads, and a scan
  // of the objects starting in one granule (at most 64, in 512 contiguous bytes). A binary
  // search of objects_ instead missed the cache at almost every step: a third of the
  // writer's time on a million objects. Memory: about 1 KiB per 256 KiB window.
  static constexpr unsigned kWindowShift = 18;
  static constexpr unsigned kGranuleShift = 10;
  static constexpr std::size_t kGranules = std::size_t{1} << (kWindowShift - kGranuleShift);

  static std::uintptr_t address(const Object* o) { return reinterpret_cast<std::uintptr_t>(o); }

  void build_address_index() {
    std::size_t j = 0;
    while (j < objects_.size()) {
      std::uintptr_t window = address(objects_[j]) >> kWindowShift;
      windows_.push_back(window);
      for (std::size_t g = 0; g <= kGranules; ++g) {
        std::uintptr_t start = (window << kWindowShift) + (g << kGranuleShift);
        while (j < objects_.size() && address(objects_[j]) < start) ++j;
        granule_first_.push_back(static_cast<std::uint32_t>(j));
      }
    }
  }

  /// The ordinal of an object's node, or kNone when it is not a live heap object.
  std::uint32_t ordinal_of(Object* object) const {
    std::uintptr_t a = address(object);
    auto w = std::lower_bound(windows_.begin(), windows_.end(), a >> kWindowShift);
    if (w == windows_.end() || *w != a >> kWindowShift) return kNone;
    std::size_t g = std::size_t(w - windows_.begin()) * (kGranules + 1) +
                    ((a >> kGranuleShift) & (kGranules - 1));
    for (std::uint32_t i = granule_first_[g], end = granule_first_[g + 1]; i < end; ++i)
      if (objects_[i] == object) return first_object_ordinal() + i;
    return kNone;
  }

  // ---- Edges ------------------------------------------------------------------------------
  // One walk, for_each_edge, serves both passes: counting (before any node is written,
  // since nodes carry their edge counts and the header the total) and writing.

  void count_edges() {
    counting_ = true;
    edge_counts_.resize(node_count());
    for (std::uint32_t n = 0; n < node_count(); ++n) {
      edges_of_node_ = 0;
      for_each_edge(n);
      edge_counts_[n] = edges_of_node_;
      total_edges_ += edges_of_node_;
    }
    counting_ = false;
  }

  void write_edges() {
    first_record_ = true;
    for (std::uint32_t n = 0; n < node_count(); ++n) {
      edges_of_node_ = 0;
      element_index_ = 0;
      for_each_edge(n);
      MARROW_CHECK(edges_of_node_ == edge_counts_[n],
                   "heap snapshot: a trace or root source reported different references on "
                   "two walks of an unchanged heap");
    }
  }

  void for_each_edge(std::uint32_t ordinal) {
    if (ordinal == kRootOrdinal) return edge_to_node(kGcRootsOrdinal, nullptr, kElementEdge);
    if (ordinal == kGcRootsOrdinal) {
      for (std::uint32_t i = 0; i < sub_roots_.size(); ++i)
        edge_to_node(kFirstSubRootOrdinal + i, nullptr, kElementEdge);
      return;
    }
    if (ordinal < first_object_ordinal()) return sub_root_edges(sub_roots_[ordinal - 2]);
    Object* o = objects_[ordinal - first_object_ordinal()];
    if (auto trace = type_info(header_type(*header_of(o))).trace) {
      EdgeTracer t(*this);
      trace(o, t);
    }
  }

  void sub_root_edges(const SubRoot& r) {
    auto element = [&](Object* o) {
      if (o != nullptr) edge_to_object(o, nullptr, kElementEdge);
    };
    switch (r.kind) {
      case RootKind::kHandles:
        heap_.mutator_.handles.for_each_slot([&](Object*& s) { element(s); });
        break;
      case RootKind::kGlobals:
        heap_.roots_.globals().for_each([&](Object*& s) { element(s); });
        break;
      case RootKind::kWeaks:
        heap_.roots_.weaks().for_each([&](Object*& s) {
          if (s != nullptr) edge_to_object(s, "weak handle", kWeakEdge);
        });
        break;
      case RootKind::kRootSource: {
        EdgeTracer t(*this);
        r.source->trace_roots(t);
        break;
      }
      case RootKind::kPinned:
        for (const auto& [object, count] : heap_.roots_.pins()) element(object);
        break;
      case RootKind::kImmortal:
        for (Page* page : heap_.immortal_.pages()) {
          OldSpace::walk_page(page, [&](std::byte* p, HeaderWord h) {
            if (!is_free_type(header_type(h))) element(static_cast<Object*>(object_of(p)));
          });
        }
        break;
      case RootKind::kFinalizers:
        for (Object* o : heap_.finalization_.queue()) element(o);
        break;
    }
  }

  /// An edge to an object's node; `type` kPropertyEdge becomes an element edge when the
  /// reference has no name.
  void edge_to_object(Object* target, const char* name, EdgeType type) {
    std::uint32_t to = ordinal_of(target);
    if (to == kNone) return;  // not a heap object: nothing to point at
    edge_to_node(to, name, type);
  }

  void edge_to_node(std::uint32_t to, const char* name, EdgeType type) {
    ++edges_of_node_;
    if (counting_) return;
    if (type == kPropertyEdge && name == nullptr) type = kElementEdge;
    if (!first_record_) out_.put(',');
    first_record_ = false;
    out_.number(type);
    out_.put(',');
    // Element edges are numbered per node, in trace order, counting only the unnamed
    // references it reported (null and non-reference slots are not visited).
    out_.number(type == kElementEdge ? element_index_++ : string_id(name));
    out_.put(',');
    out_.number(std::uint64_t{to} * kNodeFields);
    out_.put('\n');
  }

  // ---- Nodes ------------------------------------------------------------------------------

  void write_nodes() {
    first_record_ = true;
    node(kSyntheticNode, intern(""), 0, kRootOrdinal);
    node(kSyntheticNode, intern("(GC roots)"), 0, kGcRootsOrdinal);
    for (std::uint32_t i = 0; i < sub_roots_.size(); ++i)
      node(kSyntheticNode, intern(sub_roots_[i].name), 0, kFirstSubRootOrdinal + i);
    std::string label;
    for (std::uint32_t i = 0; i < objects_.size(); ++i) {
      Object* o = objects_[i];
      HeaderWord h = *header_of(o);
      std::uint32_t type = header_type(h);
      const TypeInfo& info = type_info(type);
      std::uint32_t name = kNone;
      if (info.snapshot_name != nullptr) {
        label.clear();
        info.snapshot_name(o, label);
        if (!label.empty()) name = intern(truncated(label));
      }
      if (name == kNone) name = type_name_id(type, info);
      node(node_type_of(info.snapshot_type), name, header_size_bytes(h),
           first_object_ordinal() + i);
    }
  }

  void node(NodeType type, std::uint32_t name, std::size_t self_size, std::uint32_t ordinal) {
    if (!first_record_) out_.put(',');
    first_record_ = false;
    out_.number(type);
    out_.put(',');
    out_.number(name);
    out_.put(',');
    out_.number(2 * std::uint64_t{ordinal} + 1);  // id: odd, see "The format"
    out_.put(',');
    out_.number(self_size);
    out_.put(',');
    out_.number(edge_counts_[ordinal]);
    out_.put(",0,0\n");  // trace_node_id (no allocation tracking), detachedness (unknown)
  }

  static std::string_view truncated(std::string& label) {
    if (label.size() <= kMaxLabelBytes) return label;
    std::size_t cut = kMaxLabelBytes;
    while (cut > 0 && (static_cast<unsigned char>(label[cut]) & 0xC0) == 0x80) --cut;
    label.resize(cut);
    label += "...";
    return label;
  }

  // ---- Strings ----------------------------------------------------------------------------

  std::uint32_t intern(std::string_view s) {
    auto it = strings_.find(s);
    if (it != strings_.end()) return it->second;
    auto id = static_cast<std::uint32_t>(string_order_.size());
    auto [pos, inserted] = strings_.emplace(std::string(s), id);
    string_order_.push_back(&pos->first);
    return id;
  }
  /// Edge names are almost always string literals: look them up by address first.
  std::uint32_t string_id(const char* name) {
    auto it = literal_ids_.find(name);
    if (it != literal_ids_.end()) return it->second;
    std::uint32_t id = intern(name);
    literal_ids_.emplace(name, id);
    return id;
  }
  std::uint32_t type_name_id(std::uint32_t type, const TypeInfo& info) {
    if (type >= type_name_ids_.size()) type_name_ids_.resize(type + 1, kNone);
    if (type_name_ids_[type] == kNone) type_name_ids_[type] = intern(info.name);
    return type_name_ids_[type];
  }

  void write_strings() {
    for (std::size_t i = 0; i < string_order_.size(); ++i) {
      if (i != 0) out_.put(",\n");
      out_.json_string(*string_order_[i]);
    }
  }

  Heap& heap_;
  SnapshotFile& out_;
  std::vector<SubRoot> sub_roots_;
  std::vector<Object*> objects_;  ///< live objects, sorted: node ordinal - first_object_ordinal
  std::vector<std::uintptr_t> windows_;       ///< address >> kWindowShift, ascending
  std::vector<std::uint32_t> granule_first_;  ///< kGranules + 1 per window, see above
  std::vector<std::uint32_t> edge_counts_;    ///< by node ordinal
  std::uint64_t total_edges_ = 0;
  bool counting_ = false;
  bool first_record_ = true;
  std::uint32_t edges_of_node_ = 0;
  std::uint32_t element_index_ = 0;
  std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> strings_;
  std::vector<const std::string*> string_order_;  ///< by id (map keys do not move)
  std::unordered_map<const char*, std::uint32_t> literal_ids_;
  std::vector<std::uint32_t> type_name_ids_;  ///< by type index
};

void Heap::write_heap_snapshot(const std::string& path) {
  check_may_collect("write_heap_snapshot");
  SnapshotFile out(path);                         // before collecting: a bad path fails fast
  collect_for_inspection("write_heap_snapshot");  // every node reachable from the roots
  HeapSnapshotWriter(*this, out).write();
  out.close();
}

}  // namespace marrow::internal
