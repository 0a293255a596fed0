// The examples of docs/observability.md, as one program CI builds and runs
// (tools/tests.d/observability-docs.sh): statistics as a table and JSON, a GC event
// listener with phase times, the heap walk, a heap snapshot and a GC timeline.
// Usage: observability_demo [OUT_DIR]   (writes demo.heapsnapshot and demo-trace.json there)
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>

#include <marrow/marrow.hpp>

namespace {

// Types and fields named for the tools: kTypeName is the node name in snapshots and the
// heap walk; the names given to visit() become edge names; snapshot_name labels one object.
struct Symbol : marrow::Object {
  static constexpr const char* kTypeName = "Symbol";
  static constexpr auto kSnapshotNodeType = marrow::SnapshotNodeType::kString;
  std::uint32_t length = 0;
  char* chars() { return reinterpret_cast<char*>(this + 1); }
  const char* chars() const { return reinterpret_cast<const char*>(this + 1); }
  void snapshot_name(std::string& out) const { out.append(chars(), length); }
};

struct Entry : marrow::Object {
  static constexpr const char* kTypeName = "Entry";
  marrow::Member<Symbol> key;
  marrow::Member<Entry> next;
  std::int64_t value = 0;
  void trace(marrow::Tracer& t) {
    t.visit(key, "key");
    t.visit(next, "next");
  }
};

marrow::Local<Symbol> make_symbol(marrow::Runtime& rt, const std::string& text) {
  auto s = rt.make_sized<Symbol>(text.size() + 1);
  s->length = static_cast<std::uint32_t>(text.size());
  text.copy(s->chars(), text.size());
  return s;
}

void stats_example(marrow::Runtime& rt) {
  const marrow::HeapStats& s = rt.stats();
  std::printf("%zu minor, %zu major; p99 pause %.3f ms\n", s.minor_collections, s.major_collections,
              static_cast<double>(s.pause_p99.count()) / 1e6);
  std::fputs(marrow::format_table(s).c_str(), stdout);
  std::puts(marrow::to_json(s).c_str());
}

std::uint64_t listener_example(marrow::Runtime& rt) {
  return rt.on_gc([](const marrow::GcEvent& e) {
    if (e.kind == marrow::GcKind::kMinor) return;
    std::printf("#%llu %s (%s): %.3f ms, mark %.3f ms, sweep %.3f ms\n",
                static_cast<unsigned long long>(e.sequence), marrow::to_string(e.kind),
                marrow::to_string(e.reason), static_cast<double>(e.pause.count()) / 1e6,
                static_cast<double>(e.phase_time(marrow::GcPhase::kMark).count()) / 1e6,
                static_cast<double>(e.phase_time(marrow::GcPhase::kSweep).count()) / 1e6);
  });
}

void heap_walk_example(marrow::Runtime& rt) {
  std::map<std::string, std::size_t> bytes_by_type;
  rt.for_each_object([&](const marrow::ObjectInfo& o) { bytes_by_type[o.type_name] += o.size; });
  for (const auto& [type, bytes] : bytes_by_type)
    std::printf("%-10s %8zu bytes\n", type.c_str(), bytes);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : ".";
  marrow::Runtime rt(marrow::Config::from_env());
  marrow::HandleScope scope(rt);
  rt.start_gc_trace(dir + "/demo-trace.json");
  std::uint64_t listener = listener_example(rt);

  marrow::Global<Entry> table(rt, rt.make<Entry>());
  for (int i = 0; i < 200000; ++i) {
    marrow::HandleScope inner(rt);
    auto e = rt.make<Entry>();
    e->key = make_symbol(rt, "key-" + std::to_string(i % 1000));
    e->value = i;
    if (i % 10 == 0) {  // every tenth entry is kept: the rest die young
      e->next = table->next;
      table->next = e;
    }
  }
  rt.collect(marrow::GcKind::kMajor);

  stats_example(rt);
  heap_walk_example(rt);
  rt.write_heap_snapshot(dir + "/demo.heapsnapshot");
  rt.stop_gc_trace();
  rt.remove_gc_listener(listener);
  std::puts("observability_demo: all examples ran");
  return 0;
}
