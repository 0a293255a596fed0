// Config: the MARROW_* environment overrides, size parsing, and the normalisation a
// Runtime applies to every configuration it is given.
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "marrow/config.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "marrow/errors.hpp"
#include "marrow/gc/heap.hpp"
#include "marrow/gc/workers.hpp"

namespace marrow {

std::size_t parse_size(const char* text) {
  if (text == nullptr || *text == '\0') throw std::invalid_argument("empty size");
  // Digits first: strtoull would skip spaces and accept a sign (" -1" is 2^64 - 1).
  if (*text < '0' || *text > '9')
    throw std::invalid_argument(std::string("not a size: '") + text + "'");
  errno = 0;
  char* end = nullptr;
  unsigned long long n = std::strtoull(text, &end, 10);
  if (end == text || errno == ERANGE || *text == '-')
    throw std::invalid_argument(std::string("not a size: '") + text + "'");
  unsigned shift = 0;
  switch (*end) {
    case '\0':
      break;
    case 'k':
    case 'K':
      shift = 10;
      ++end;
      break;
    case 'm':
    case 'M':
      shift = 20;
      ++end;
      break;
    case 'g':
    case 'G':
      shift = 30;
      ++end;
      break;
    default:
      throw std::invalid_argument(std::string("not a size: '") + text + "'");
  }
  if (*end == 'i' || *end == 'I') ++end;  // "MiB"-style
  if (*end == 'b' || *end == 'B') ++end;
  if (*end != '\0') throw std::invalid_argument(std::string("not a size: '") + text + "'");
  if (shift != 0 && n > (~0ull >> shift))
    throw std::invalid_argument(std::string("size too large: '") + text + "'");
  return static_cast<std::size_t>(n << shift);
}

namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : nullptr;
}

std::size_t env_size(const char* name, std::size_t fallback) {
  const char* v = env(name);
  if (v == nullptr) return fallback;
  try {
    return parse_size(v);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(std::string(name) + ": " + e.what());
  }
}

double env_double(const char* name, double fallback) {
  const char* v = env(name);
  if (v == nullptr) return fallback;
  char* end = nullptr;
  double d = std::strtod(v, &end);
  if (end == v || *end != '\0' || !std::isfinite(d) || d < 0)
    throw ConfigError(std::string(name) + ": not a non-negative number: '" + v + "'");
  return d;
}

bool env_bool(const char* name, bool fallback) {
  const char* v = env(name);
  if (v == nullptr) return fallback;
  std::string s(v);
  if (s == "1" || s == "true" || s == "yes" || s == "on") return true;
  if (s == "0" || s == "false" || s == "no" || s == "off") return false;
  throw ConfigError(std::string(name) + ": expected 0 or 1, got '" + s + "'");
}

}  // namespace

Config Config::from_env() { return from_env(Config{}); }

Config Config::from_env(Config c) {
  c.nursery_bytes = env_size("MARROW_NURSERY_BYTES", c.nursery_bytes);
  c.min_nursery_bytes = env_size("MARROW_MIN_NURSERY_BYTES", c.min_nursery_bytes);
  c.survivor_bytes = env_size("MARROW_SURVIVOR_BYTES", c.survivor_bytes);
  c.tenure_age = static_cast<unsigned>(env_size("MARROW_TENURE_AGE", c.tenure_age));
  c.large_object_bytes = env_size("MARROW_LARGE_OBJECT_BYTES", c.large_object_bytes);
  c.heap_limit_bytes = env_size("MARROW_HEAP_LIMIT", c.heap_limit_bytes);
  c.growth_factor = env_double("MARROW_GROWTH_FACTOR", c.growth_factor);
  c.heap_tuning = env_double("MARROW_HEAP_TUNING", c.heap_tuning);
  c.compaction_threshold = env_double("MARROW_COMPACTION_THRESHOLD", c.compaction_threshold);
  c.pretenure_survival = env_double("MARROW_PRETENURE_SURVIVAL", c.pretenure_survival);
  c.page_reserve = env_size("MARROW_PAGE_RESERVE", c.page_reserve);
  c.gc_threads = static_cast<unsigned>(
      std::min<std::size_t>(env_size("MARROW_GC_THREADS", c.gc_threads), 1u << 20));
  c.stress_interval = env_size("MARROW_STRESS_INTERVAL", c.stress_interval);
  c.stress_incremental = env_size("MARROW_STRESS_INCREMENTAL", c.stress_incremental);
  c.incremental_marking = env_bool("MARROW_INCREMENTAL_MARKING", c.incremental_marking);
  c.marking_rate = env_double("MARROW_MARKING_RATE", c.marking_rate);
  c.pause_target_ms = env_double("MARROW_PAUSE_TARGET_MS", c.pause_target_ms);
  c.verify_heap = env_bool("MARROW_VERIFY_HEAP", c.verify_heap);
  std::size_t trace =
      env_size("MARROW_TRACE_GC", static_cast<std::size_t>(std::max(c.trace_gc, 0)));
  c.trace_gc = static_cast<int>(std::min<std::size_t>(trace, 2));
  if (const char* path = std::getenv("MARROW_GC_TRACE"); path != nullptr && *path != '\0')
    c.gc_trace_path = path;
  return c;
}

}  // namespace marrow

namespace marrow::internal {

namespace {
/// survivor_bytes 0: each survivor space is eden's size over this. An eighth rather than a
/// quarter: GCBench's peak RSS 32.6 -> 30.4 MiB, binary-trees 21 255 -> 231 MiB, at the
/// same wall (+1%); churn 61.0 -> 59.8 MiB at +2.5% (medians of 2-3 alternating runs).
constexpr std::size_t kSurvivorShare = 8;

}  // namespace

Config normalised(Config c) {
  auto fraction = [](double v, const char* name) {
    if (!(v >= 0.0 && v <= 1.0))
      throw ConfigError(fmt::format("marrow: Config::{} must be in [0, 1], got {}", name, v));
  };
  fraction(c.compaction_threshold, "compaction_threshold");
  fraction(c.pretenure_survival, "pretenure_survival");
  if (!std::isfinite(c.growth_factor))
    throw ConfigError(fmt::format("marrow: Config::growth_factor must be a finite number, got {}",
                                  c.growth_factor));
  c.growth_factor = std::clamp(c.growth_factor, kMinGrowthFactor, kMaxGrowthFactor);
  if (!(c.heap_tuning >= 0.0 && c.heap_tuning <= kMaxHeapTuning))
    throw ConfigError(fmt::format("marrow: Config::heap_tuning must be in [0, {}], got {}",
                                  kMaxHeapTuning, c.heap_tuning));
  if (c.trace_gc < 0)
    throw ConfigError(
        fmt::format("marrow: Config::trace_gc must be 0, 1 or 2, got {}", c.trace_gc));
  c.trace_gc = std::min(c.trace_gc, 2);
  if (!(c.marking_rate > 0 && c.marking_rate <= 1000))
    throw ConfigError(
        fmt::format("marrow: Config::marking_rate must be in (0, 1000], got {}", c.marking_rate));
  if (!(c.pause_target_ms > 0 && c.pause_target_ms <= 10000))
    throw ConfigError(fmt::format("marrow: Config::pause_target_ms must be in (0, 10000], got {}",
                                  c.pause_target_ms));
  if (c.gc_threads > 64)
    throw ConfigError(
        fmt::format("marrow: Config::gc_threads must be at most 64, got {}", c.gc_threads));
  if (c.gc_threads == 0) c.gc_threads = default_gc_threads();

  if (c.nursery_bytes > kMaxNurseryBytes)
    throw ConfigError(
        fmt::format("marrow: Config::nursery_bytes {} exceeds the maximum of {} bytes",
                    c.nursery_bytes, kMaxNurseryBytes));
  c.nursery_bytes = std::max(c.nursery_bytes, kMinNurseryBytes);
  if (c.min_nursery_bytes > kMaxNurseryBytes)
    throw ConfigError(
        fmt::format("marrow: Config::min_nursery_bytes {} exceeds the maximum of {} bytes",
                    c.min_nursery_bytes, kMaxNurseryBytes));
  if (c.survivor_bytes > (kYoungSlotBytes - c.nursery_bytes) / 2)
    throw ConfigError(fmt::format(
        "marrow: Config::survivor_bytes {}: eden ({} bytes) and two survivor spaces must fit "
        "in {} bytes",
        c.survivor_bytes, c.nursery_bytes, kYoungSlotBytes));
  if (c.heap_limit_bytes != 0) {
    if (c.heap_limit_bytes < kMinHeapLimitBytes)
      throw ConfigError(fmt::format(
          "marrow: Config::heap_limit_bytes {} is below the smallest heap marrow runs in ({} "
          "bytes: the smallest nursery and room to promote from it)",
          c.heap_limit_bytes, kMinHeapLimitBytes));
    // Leave at least half of the limit to the old generation.
    auto young = [&] {
      return c.nursery_bytes +
             2 * (c.survivor_bytes ? c.survivor_bytes : c.nursery_bytes / kSurvivorShare);
    };
    while (young() > c.heap_limit_bytes / 2 && c.nursery_bytes > kMinNurseryBytes) {
      c.nursery_bytes = std::max(c.nursery_bytes / 2, kMinNurseryBytes);
      if (c.survivor_bytes != 0) c.survivor_bytes /= 2;
    }
  }
  // After the heap limit's halving: eden never shrinks below its floor nor grows past it.
  c.min_nursery_bytes = std::clamp(c.min_nursery_bytes, kMinNurseryBytes, c.nursery_bytes);
  if (c.survivor_bytes == 0) c.survivor_bytes = c.nursery_bytes / kSurvivorShare;
  c.survivor_bytes = std::max<std::size_t>(c.survivor_bytes, 4096);
  // Large objects must fit neither eden's slow path badly nor an old page: at most a
  // quarter of eden and of a page's object area.
  std::size_t max_large =
      std::min(c.nursery_bytes / 4, (kPageSize - Page::header_bytes(kPageSize)) / 2);
  c.large_object_bytes = std::clamp(c.large_object_bytes, kMinLargeObjectBytes, max_large);
  c.tenure_age = std::min(c.tenure_age, kMaxAge - 1);
  return c;
}

}  // namespace marrow::internal
