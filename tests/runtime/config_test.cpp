// Config::from_env and parse_size.
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
