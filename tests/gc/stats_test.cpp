// Tests gc/src/stats.cpp: the pause histogram's buckets and percentiles against exact ones,
// and the text table and JSON forms of the statistics.
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "test_support.hpp"

using marrow::GcKind;
using marrow::PauseHistogram;
using mt::Node;
using std::chrono::nanoseconds;

namespace {

std::uint64_t exact_percentile(std::vector<std::uint64_t> sorted, double q) {
  std::sort(sorted.begin(), sorted.end());
  auto rank = static_cast<std::size_t>(std::ceil(q * double(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("histogram buckets cover every value exactly once, in order") {
  std::uint64_t expected_lower = 0;
  for (unsigned b = 0; b < PauseHistogram::kBuckets; ++b) {
    CAPTURE(b);
    REQUIRE(PauseHistogram::bucket_lower(b) == expected_lower);
    REQUIRE(PauseHistogram::bucket_upper(b) >= PauseHistogram::bucket_lower(b));
    CHECK(PauseHistogram::bucket_of(PauseHistogram::bucket_lower(b)) == b);
    CHECK(PauseHistogram::bucket_of(PauseHistogram::bucket_upper(b)) == b);
    if (PauseHistogram::bucket_upper(b) == ~std::uint64_t{0}) break;
    expected_lower = PauseHistogram::bucket_upper(b) + 1;
  }
  // Relative bucket width is at most 1/8 above the exact range.
  for (std::uint64_t v : {9ull, 100ull, 12345ull, 1000000007ull, 1ull << 50}) {
    unsigned b = PauseHistogram::bucket_of(v);
    double width = double(PauseHistogram::bucket_upper(b) - PauseHistogram::bucket_lower(b) + 1);
    CHECK(width / double(PauseHistogram::bucket_lower(b)) <= 0.125 + 1e-12);
  }
}

TEST_CASE("histogram percentiles agree with sorted raw samples to within one bucket") {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 20; ++round) {
    PauseHistogram h;
    std::vector<std::uint64_t> raw;
    std::size_t n = 1 + rng() % 2000;
    std::lognormal_distribution<double> pause(std::log(200000.0), 1.5);  // ~200 us median
    for (std::size_t i = 0; i < n; ++i) {
      auto v = static_cast<std::uint64_t>(pause(rng));
      raw.push_back(v);
      h.record(nanoseconds(v));
    }
    CHECK(h.count() == n);
    CHECK(std::uint64_t(h.max().count()) == *std::max_element(raw.begin(), raw.end()));
    CHECK(std::uint64_t(h.min().count()) == *std::min_element(raw.begin(), raw.end()));
    for (double q : {0.0, 0.5, 0.9, 0.99, 1.0}) {
      CAPTURE(q);
      std::uint64_t exact = exact_percentile(raw, q);
      auto got = std::uint64_t(h.percentile(q).count());
      unsigned b = PauseHistogram::bucket_of(exact);
      CHECK(got >= PauseHistogram::bucket_lower(b));
      CHECK(got <= PauseHistogram::bucket_upper(b));
    }
  }
  PauseHistogram empty;
  CHECK(empty.percentile(0.5).count() == 0);
}

TEST_CASE("table and JSON forms name every space and the percentiles") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  rt.make<Node>(1);
  rt.collect(GcKind::kMajor);
  std::string table = marrow::format_table(rt.stats());
  std::string json = marrow::to_json(rt.stats());
  for (const char* space : {"eden", "survivor", "old", "large", "immortal"}) {
    CAPTURE(space);
    CHECK(table.find(space) != std::string::npos);
    CHECK(json.find(std::string("\"") + space + "\":{\"capacity\":") != std::string::npos);
  }
  CHECK(table.find("p99") != std::string::npos);
  CHECK(json.find("\"p99_ns\":") != std::string::npos);
  CHECK(json.front() == '{');
  CHECK(json.back() == '}');
  CHECK(count_of(json, "{") == count_of(json, "}"));
}
