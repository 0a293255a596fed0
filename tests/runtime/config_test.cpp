// Config::from_env and parse_size.
#include <cmath>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

#include "test_support.hpp"

namespace {

const char* const kVars[] = {
    "MARROW_NURSERY_BYTES",        "MARROW_SURVIVOR_BYTES", "MARROW_TENURE_AGE",
    "MARROW_LARGE_OBJECT_BYTES",   "MARROW_HEAP_LIMIT",     "MARROW_GROWTH_FACTOR",
    "MARROW_COMPACTION_THRESHOLD", "MARROW_PAGE_RESERVE",   "MARROW_STRESS_INTERVAL",
    "MARROW_VERIFY_HEAP",          "MARROW_TRACE_GC",       "MARROW_PRETENURE_SURVIVAL"};

/// Saves every MARROW_* variable, clears them, and restores them on destruction.
struct EnvGuard {
  std::map<std::string, std::optional<std::string>> saved;
  EnvGuard() {
    for (const char* v : kVars) {
      const char* cur = std::getenv(v);
      saved[v] = cur ? std::optional<std::string>(cur) : std::nullopt;
      unsetenv(v);
    }
  }
  ~EnvGuard() {
    for (auto& [name, value] : saved) {
      if (value)
        setenv(name.c_str(), value->c_str(), 1);
      else
        unsetenv(name.c_str());
    }
  }
};

}  // namespace

TEST_CASE("parse_size accepts plain numbers and binary suffixes") {
  CHECK(marrow::parse_size("0") == 0);
  CHECK(marrow::parse_size("64") == 64);
  CHECK(marrow::parse_size("512K") == 512u << 10);
  CHECK(marrow::parse_size("512k") == 512u << 10);
  CHECK(marrow::parse_size("16M") == std::size_t{16} << 20);
  CHECK(marrow::parse_size("2G") == std::size_t{2} << 30);
  CHECK(marrow::parse_size("16MiB") == std::size_t{16} << 20);
  CHECK(marrow::parse_size("4KB") == std::size_t{4} << 10);
  CHECK(marrow::parse_size("1g") == std::size_t{1} << 30);
}

TEST_CASE("parse_size rejects malformed and overflowing sizes") {
  const char* bad[] = {"",
                       "abc",
                       "-1",
                       "12X",
                       "1MM",
                       "K",
                       "1.5M",
                       "16 M",
                       "99999999999999999999999",
                       "17179869184G"};
  for (const char* s : bad) {
    CAPTURE(s);
    CHECK_THROWS_AS(marrow::parse_size(s), std::invalid_argument);
  }
  CHECK_THROWS_AS(marrow::parse_size(nullptr), std::invalid_argument);
}

TEST_CASE("from_env keeps the base when no variable is set") {
  EnvGuard guard;
  marrow::Config base;
  base.nursery_bytes = 1 << 20;
  base.tenure_age = 3;
  base.heap_limit_bytes = 123456;
  base.verify_heap = true;
  base.stress_interval = 7;
  marrow::Config c = marrow::Config::from_env(base);
  CHECK(c.nursery_bytes == base.nursery_bytes);
  CHECK(c.tenure_age == 3);
  CHECK(c.heap_limit_bytes == 123456);
  CHECK(c.verify_heap);
  CHECK(c.stress_interval == 7);
  CHECK(c.growth_factor == base.growth_factor);
}

TEST_CASE("from_env applies every MARROW_* override") {
  EnvGuard guard;
  setenv("MARROW_NURSERY_BYTES", "8M", 1);
  setenv("MARROW_SURVIVOR_BYTES", "512K", 1);
  setenv("MARROW_TENURE_AGE", "4", 1);
  setenv("MARROW_LARGE_OBJECT_BYTES", "16K", 1);
  setenv("MARROW_HEAP_LIMIT", "1G", 1);
  setenv("MARROW_GROWTH_FACTOR", "1.5", 1);
  setenv("MARROW_COMPACTION_THRESHOLD", "0.25", 1);
  setenv("MARROW_PRETENURE_SURVIVAL", "0.75", 1);
  setenv("MARROW_PAGE_RESERVE", "3", 1);
  setenv("MARROW_STRESS_INTERVAL", "10", 1);
  setenv("MARROW_VERIFY_HEAP", "yes", 1);
  setenv("MARROW_TRACE_GC", "0", 1);
  marrow::Config c = marrow::Config::from_env(marrow::Config{});
  CHECK(c.nursery_bytes == std::size_t{8} << 20);
  CHECK(c.survivor_bytes == std::size_t{512} << 10);
  CHECK(c.tenure_age == 4);
  CHECK(c.large_object_bytes == std::size_t{16} << 10);
  CHECK(c.heap_limit_bytes == std::size_t{1} << 30);
  CHECK(c.growth_factor == doctest::Approx(1.5));
  CHECK(c.compaction_threshold == doctest::Approx(0.25));
  CHECK(c.pretenure_survival == doctest::Approx(0.75));
  CHECK(c.page_reserve == 3);
  CHECK(c.stress_interval == 10);
  CHECK(c.verify_heap);
  CHECK(c.trace_gc == 0);
  setenv("MARROW_VERIFY_HEAP", "off", 1);
  CHECK_FALSE(marrow::Config::from_env(marrow::Config{}).verify_heap);
  setenv("MARROW_VERIFY_HEAP", "0", 1);
  marrow::Config on;
  on.verify_heap = true;
  CHECK_FALSE(marrow::Config::from_env(on).verify_heap);
  // The no-argument overload starts from the defaults.
  CHECK(marrow::Config::from_env().tenure_age == 4);
}

TEST_CASE("from_env reports malformed values naming the variable") {
  EnvGuard guard;
  auto expect_error = [](const char* var, const char* value) {
    setenv(var, value, 1);
    try {
      (void)marrow::Config::from_env(marrow::Config{});
      FAIL("no exception for " << var << "=" << value);
    } catch (const std::invalid_argument& e) {
      CHECK(std::string(e.what()).find(var) != std::string::npos);
    }
    unsetenv(var);
  };
  expect_error("MARROW_NURSERY_BYTES", "lots");
  expect_error("MARROW_HEAP_LIMIT", "16Q");
  expect_error("MARROW_GROWTH_FACTOR", "fast");
  expect_error("MARROW_GROWTH_FACTOR", "-2");
  expect_error("MARROW_VERIFY_HEAP", "maybe");
  expect_error("MARROW_STRESS_INTERVAL", "-5");
  expect_error("MARROW_HEAP_LIMIT", " -1");  // strtoull would skip the space and wrap
  expect_error("MARROW_HEAP_LIMIT", "+4M");
  expect_error("MARROW_STRESS_INTERVAL", " 5");
  expect_error("MARROW_COMPACTION_THRESHOLD", "nan");
}

TEST_CASE("from_env's errors are ConfigErrors") {
  EnvGuard guard;
  setenv("MARROW_PAGE_RESERVE", "many", 1);
  CHECK_THROWS_AS((void)marrow::Config::from_env(marrow::Config{}), marrow::ConfigError);
}

namespace {

/// The configuration a runtime normalises `c` to, or the ConfigError's message.
std::string config_error(const marrow::Config& c) {
  try {
    marrow::Runtime rt(c);
  } catch (const marrow::ConfigError& e) {
    return e.what();
  }
  return "(accepted)";
}

marrow::Config normalised(const marrow::Config& c) {
  marrow::Runtime rt(c);
  return rt.config();
}

}  // namespace

TEST_CASE("every numeric Config field is normalised into its range or refused by name") {
  marrow::Config c;
  auto with = [&](auto setter) {
    marrow::Config d;
    setter(d);
    return d;
  };
  // Refused, naming the field.
  CHECK(config_error(with([](auto& d) {
          d.survivor_bytes = std::size_t{1} << 63;
        })).find("survivor_bytes") != std::string::npos);
  CHECK(config_error(with([](auto& d) { d.survivor_bytes = SIZE_MAX; })).find("survivor_bytes") !=
        std::string::npos);
  CHECK(config_error(with([](auto& d) { d.nursery_bytes = SIZE_MAX; })).find("nursery_bytes") !=
        std::string::npos);
  CHECK(config_error(with([](auto& d) { d.growth_factor = std::nan(""); })).find("growth_factor") !=
        std::string::npos);
  CHECK(config_error(with([](auto& d) { d.growth_factor = INFINITY; })).find("growth_factor") !=
        std::string::npos);
  CHECK(config_error(with([](auto& d) {
          d.compaction_threshold = -0.5;
        })).find("compaction_threshold") != std::string::npos);
  CHECK(config_error(with([](auto& d) {
          d.compaction_threshold = std::nan("");
        })).find("compaction_threshold") != std::string::npos);
  CHECK(config_error(with([](auto& d) {
          d.pretenure_survival = 1.5;
        })).find("pretenure_survival") != std::string::npos);
  CHECK(config_error(with([](auto& d) { d.trace_gc = -1; })).find("trace_gc") != std::string::npos);
  CHECK(config_error(with([](auto& d) { d.heap_limit_bytes = 1; })).find("heap_limit_bytes") !=
        std::string::npos);
  CHECK(config_error(with([](auto& d) {
          d.heap_limit_bytes = (1 << 20) - 1;
        })).find("heap_limit_bytes") != std::string::npos);
  // Normalised, and config() reports what is in force.
  CHECK(normalised(with([](auto& d) { d.nursery_bytes = 1; })).nursery_bytes == 64 << 10);
  CHECK(normalised(with([](auto& d) { d.survivor_bytes = 1; })).survivor_bytes == 4096);
  CHECK(normalised(with([](auto& d) { d.tenure_age = 1000; })).tenure_age == 14);
  CHECK(normalised(with([](auto& d) { d.growth_factor = 0.0; })).growth_factor == 1.1);
  CHECK(normalised(with([](auto& d) { d.growth_factor = 1e9; })).growth_factor == 100.0);
  CHECK(normalised(with([](auto& d) { d.trace_gc = 7; })).trace_gc == 2);
  CHECK(normalised(with([](auto& d) { d.large_object_bytes = 0; })).large_object_bytes == 256);
  CHECK(normalised(with([](auto& d) { d.large_object_bytes = SIZE_MAX; })).large_object_bytes <=
        (c.nursery_bytes / 4));
  // The smallest accepted heap limit runs a program that fits in it.
  marrow::Config tight;
  tight.heap_limit_bytes = 1 << 20;
  marrow::Runtime rt(tight);
  marrow::HandleScope scope(rt);
  auto head = rt.make<mt::Node>(0);
  for (int i = 1; i <= 1000; ++i) {
    marrow::HandleScope inner(rt);
    auto n = rt.make<mt::Node>(i);
    n->next = head->next;
    head->next = n;
  }
  rt.collect(marrow::GcKind::kMajor);
  CHECK(rt.stats().heap_bytes <= tight.heap_limit_bytes);
}

TEST_CASE("an empty variable counts as unset") {
  EnvGuard guard;
  setenv("MARROW_TENURE_AGE", "", 1);
  marrow::Config base;
  base.tenure_age = 2;
  CHECK(marrow::Config::from_env(base).tenure_age == 2);
}

TEST_CASE("a runtime built from the environment uses it") {
  EnvGuard guard;
  setenv("MARROW_TENURE_AGE", "2", 1);
  marrow::Runtime rt(marrow::Config::from_env(marrow::Config{}));
  CHECK(rt.config().tenure_age == 2);
}
