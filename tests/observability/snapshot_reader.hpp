// A small JSON reader and a view of a .heapsnapshot for the heap snapshot tests: parses the
// whole file into values, then exposes nodes and edges by the field names in `meta`, so a
// wrong layout fails the test instead of being read the way the writer meant it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace snapshot_test {

struct Json {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Json> array;
  std::vector<std::pair<std::string, Json>> object;  // in file order; duplicate keys kept

  const Json& operator[](const std::string& key) const {
    for (const auto& [k, v] : object)
      if (k == key) return v;
    throw std::runtime_error("JSON: no key '" + key + "'");
  }
  bool has(const std::string& key) const {
    for (const auto& kv : object)
      if (kv.first == key) return true;
    return false;
  }
  std::vector<std::string> keys() const {
    std::vector<std::string> ks;
    for (const auto& kv : object) ks.push_back(kv.first);
    return ks;
  }
  std::vector<std::string> strings() const {
    std::vector<std::string> out;
    for (const Json& v : array) out.push_back(v.string);
    return out;
  }
};

/// Strict enough for the tests: rejects trailing garbage, bad escapes, raw control
/// characters in strings and malformed numbers.
class JsonParser {
 public:
  explicit JsonParser(std::string text) : s_(std::move(text)) {}
  Json parse() {
    Json v = value();
    skip_space();
    if (i_ != s_.size()) fail("trailing characters");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("JSON: " + what + " at offset " + std::to_string(i_));
  }
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t'))
      ++i_;
  }
  bool eat(char c) {
    skip_space();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  void literal(const char* word) {
    for (const char* p = word; *p != '\0'; ++p, ++i_)
      if (i_ >= s_.size() || s_[i_] != *p) fail("bad literal");
  }
  Json value() {
    skip_space();
    if (i_ >= s_.size()) fail("unexpected end");
    Json v;
    char c = s_[i_];
    if (c == '{') {
      ++i_;
      v.kind = Json::Kind::kObject;
      if (eat('}')) return v;
      do {
        skip_space();
        if (i_ >= s_.size() || s_[i_] != '"') fail("expected a key");
        std::string key = string_body();
        expect(':');
        v.object.emplace_back(std::move(key), value());
      } while (eat(','));
      expect('}');
    } else if (c == '[') {
      ++i_;
      v.kind = Json::Kind::kArray;
      if (eat(']')) return v;
      do v.array.push_back(value());
      while (eat(','));
      expect(']');
    } else if (c == '"') {
      v.kind = Json::Kind::kString;
      v.string = string_body();
    } else if (c == 't') {
      literal("true");
      v.kind = Json::Kind::kBool;
      v.boolean = true;
    } else if (c == 'f') {
      literal("false");
      v.kind = Json::Kind::kBool;
    } else if (c == 'n') {
      literal("null");
    } else {
      v.kind = Json::Kind::kNumber;
      v.number = number();
    }
    return v;
  }
  double number() {
    std::size_t start = i_;
    if (s_[i_] == '-') ++i_;
    auto digits = [&] {
      std::size_t d = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      if (i_ == d) fail("malformed number");
    };
    digits();
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      digits();
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      digits();
    }
    return std::stod(s_.substr(start, i_ - start));
  }
  unsigned hex4() {
    if (i_ + 4 > s_.size()) fail("short \\u escape");
    unsigned u = 0;
    for (int k = 0; k < 4; ++k) {
      char h = s_[i_++];
      u <<= 4;
      if (h >= '0' && h <= '9')
        u |= unsigned(h - '0');
      else if (h >= 'a' && h <= 'f')
        u |= unsigned(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        u |= unsigned(h - 'A' + 10);
      else
        fail("bad \\u escape");
    }
    return u;
  }
  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }
  std::string string_body() {
    ++i_;  // opening quote
    std::string out;
    for (;;) {
      if (i_ >= s_.size()) fail("unterminated string");
      char c = s_[i_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("raw control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) fail("unterminated escape");
      char e = s_[i_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00) {
            if (i_ + 2 > s_.size() || s_[i_] != '\\' || s_[i_ + 1] != 'u') fail("lone surrogate");
            i_ += 2;
            unsigned lo = hex4();
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default:
          fail("bad escape");
      }
    }
  }

  std::string s_;
  std::size_t i_ = 0;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A parsed snapshot, read through meta's field lists.
struct Snapshot {
  struct Edge {
    std::string type;
    std::string name;  ///< property/weak name, or the element index as text
    std::size_t to;    ///< target node ordinal
  };
  struct Node {
    std::string type;
    std::string name;
    std::uint64_t id;
    std::uint64_t self_size;
    std::vector<Edge> edges;
  };

  Json json;
  std::vector<Node> nodes;

  static Snapshot load(const std::string& path) {
    Snapshot s;
    s.json = JsonParser(read_file(path)).parse();
    const Json& meta = s.json["snapshot"]["meta"];
    std::vector<std::string> node_fields = meta["node_fields"].strings();
    std::vector<std::string> node_types = meta["node_types"].array.at(0).strings();
    std::vector<std::string> edge_fields = meta["edge_fields"].strings();
    std::vector<std::string> edge_types = meta["edge_types"].array.at(0).strings();
    std::vector<std::string> strings = s.json["strings"].strings();
    auto field = [](const std::vector<std::string>& fields, const char* name) {
      for (std::size_t i = 0; i < fields.size(); ++i)
        if (fields[i] == name) return i;
      throw std::runtime_error(std::string("meta lacks the field ") + name);
    };
    const std::size_t nf = node_fields.size(), ef = edge_fields.size();
    const std::size_t n_type = field(node_fields, "type"), n_name = field(node_fields, "name"),
                      n_id = field(node_fields, "id"), n_size = field(node_fields, "self_size"),
                      n_edges = field(node_fields, "edge_count");
    const std::size_t e_type = field(edge_fields, "type"),
                      e_name = field(edge_fields, "name_or_index"),
                      e_to = field(edge_fields, "to_node");
    const auto& nodes = s.json["nodes"].array;
    const auto& edges = s.json["edges"].array;
    if (nodes.size() % nf != 0) throw std::runtime_error("nodes is not a multiple of node_fields");
    if (edges.size() % ef != 0) throw std::runtime_error("edges is not a multiple of edge_fields");
    auto num = [](const Json& v) { return static_cast<std::uint64_t>(v.number); };
    std::size_t next_edge = 0;
    for (std::size_t i = 0; i < nodes.size(); i += nf) {
      Node n;
      n.type = node_types.at(num(nodes[i + n_type]));
      n.name = strings.at(num(nodes[i + n_name]));
      n.id = num(nodes[i + n_id]);
      n.self_size = num(nodes[i + n_size]);
      std::uint64_t count = num(nodes[i + n_edges]);
      for (std::uint64_t k = 0; k < count; ++k, next_edge += ef) {
        if (next_edge + ef > edges.size()) throw std::runtime_error("edge_count overruns edges");
        Edge e;
        e.type = edge_types.at(num(edges[next_edge + e_type]));
        std::uint64_t name = num(edges[next_edge + e_name]);
        e.name =
            (e.type == "element" || e.type == "hidden") ? std::to_string(name) : strings.at(name);
        std::uint64_t to = num(edges[next_edge + e_to]);
        if (to % nf != 0 || to >= nodes.size()) throw std::runtime_error("to_node out of range");
        e.to = to / nf;
        n.edges.push_back(std::move(e));
      }
      s.nodes.push_back(std::move(n));
    }
    if (next_edge != edges.size()) throw std::runtime_error("edges left over after the nodes");
    return s;
  }

  /// Ordinals of the nodes named `name`.
  std::vector<std::size_t> named(const std::string& name) const {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < nodes.size(); ++i)
      if (nodes[i].name == name) out.push_back(i);
    return out;
  }
  /// The target of the first edge of `from` named `edge`, or SIZE_MAX.
  std::size_t follow(std::size_t from, const std::string& edge) const {
    for (const Edge& e : nodes.at(from).edges)
      if (e.name == edge) return e.to;
    return SIZE_MAX;
  }
  /// The sub-root named `name` (a child of "(GC roots)"), or SIZE_MAX.
  std::size_t sub_root(const std::string& name) const {
    std::size_t gc_roots = SIZE_MAX;
    for (const Edge& e : nodes.at(0).edges)
      if (nodes[e.to].name == "(GC roots)") gc_roots = e.to;
    if (gc_roots == SIZE_MAX) return SIZE_MAX;
    for (const Edge& e : nodes[gc_roots].edges)
      if (nodes[e.to].name == name) return e.to;
    return SIZE_MAX;
  }
  /// Which nodes are reachable from the root through non-weak edges.
  std::vector<bool> reachable() const {
    std::vector<bool> seen(nodes.size(), false);
    std::vector<std::size_t> stack{0};
    seen[0] = true;
    while (!stack.empty()) {
      std::size_t n = stack.back();
      stack.pop_back();
      for (const Edge& e : nodes[n].edges)
        if (e.type != "weak" && !seen[e.to]) {
          seen[e.to] = true;
          stack.push_back(e.to);
        }
    }
    return seen;
  }
};

}  // namespace snapshot_test
