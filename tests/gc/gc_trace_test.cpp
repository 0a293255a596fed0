// Tests gc/src/gc_trace.cpp: the Chrome trace timeline has one event per collection with
// nested phases, and a trace path that cannot be created is an error naming it.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "test_support.hpp"

using marrow::GcKind;
using mt::Node;

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("the GC trace has one complete event per collection and nested phases") {
  // Per process: ctest runs this suite and its stress twin at the same time.
  std::string path = "marrow_stats_test_trace." + std::to_string(getpid()) + ".json";
  {
    marrow::Runtime rt(mt::config());
    marrow::HandleScope scope(rt);
    rt.start_gc_trace(path);
    auto keep = rt.make<Node>(1);
    for (int i = 0; i < 3000; ++i) keep->next = rt.make<Node>(i);
    rt.collect(GcKind::kMinor);
    rt.collect(GcKind::kMajor);
    rt.collect(GcKind::kCompact);
    std::size_t collections =
        rt.stats().minor_collections + rt.stats().major_collections + rt.stats().marking_increments;
    rt.stop_gc_trace();
    std::string trace = read_all(path);
    CHECK(trace.starts_with("{\"displayTimeUnit\""));
    CHECK(trace.find("]}") != std::string::npos);
    CHECK(count_of(trace, "\"cat\":\"gc\",") == collections);
    CHECK(count_of(trace, "\"cat\":\"gc.phase\"") >= collections);
    CHECK(count_of(trace, "\"name\":\"compact\",\"cat\":\"gc.phase\"") >= 1);
    rt.collect(GcKind::kMinor);  // after stop: not written, and no crash
    CHECK(read_all(path) == trace);
  }
  std::remove(path.c_str());
}

TEST_CASE("a GC trace path that cannot be created is an error naming it; the runtime goes on") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  std::string bad = "/nonexistent-dir/for/sure/trace.json";
  try {
    rt.start_gc_trace(bad);
    FAIL("start_gc_trace should have thrown");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find(bad) != std::string::npos);
  }
  auto n = rt.make<Node>(7);
  rt.collect(GcKind::kMajor);
  CHECK(n->id == 7);
}
