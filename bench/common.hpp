// Shared helpers for the GC comparison benchmarks: argument parsing, wall/CPU timing,
// peak RSS, pause recording (marrow events and Boehm collection events, with each pause's
// kind and start for the runner's mutator utilization curves), the measured run every main
// goes through and the one machine-readable `RESULT {json}` line it ends with.
// Nothing here may allocate on a managed heap or run inside a collection except the
// pause hooks, which only append to pre-reserved vectors.
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gc.h>
#include <marrow/alloc/arena.hpp>
#include <marrow/alloc/pool.hpp>
#include <marrow/marrow.hpp>

namespace marrow::bench {

// ---- Command line ---------------------------------------------------------------------

/// `--name value`, `--name=value`, bare `--flag` and positional arguments, in any order.
class Args {
 public:
  Args(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string_view a = argv[i];
      if (a.starts_with("--")) {
        std::string name(a.substr(2));
        std::string value;
        bool has_value = false;
        if (auto eq = name.find('='); eq != std::string::npos) {
          value = name.substr(eq + 1);
          name.resize(eq);
          has_value = true;
        } else if (i + 1 < argc && std::string_view(argv[i + 1]).substr(0, 2) != "--" &&
                   takes_value(name)) {
          value = argv[++i];
          has_value = true;
        }
        options_.push_back({name, value, has_value});
      } else {
        positional_.emplace_back(a);
      }
    }
  }

  std::string get(std::string_view name, std::string fallback) const {
    for (const auto& o : options_)
      if (o.name == name && o.has_value) return o.value;
    return fallback;
  }
  long long get_int(std::string_view name, long long fallback) const {
    std::string v = get(name, "");
    return v.empty() ? fallback : parse_int(v, name);
  }
  bool flag(std::string_view name) const {
    for (const auto& o : options_)
      if (o.name == name) return true;
    return false;
  }
  long long positional_int(std::size_t index, long long fallback) const {
    return index < positional_.size() ? parse_int(positional_[index], "N") : fallback;
  }

 private:
  struct Option {
    std::string name, value;
    bool has_value;
  };
  // Options that are flags never swallow the next argument.
  static bool takes_value(std::string_view name) {
    return name != "holes" && name != "quiet" && name != "help";
  }
  static long long parse_int(const std::string& text, std::string_view what) {
    char* end = nullptr;
    long long v = std::strtoll(text.c_str(), &end, 10);
    if (end == text.c_str() || *end != '\0') {
      std::fprintf(stderr, "bad integer for %.*s: '%s'\n", int(what.size()), what.data(),
                   text.c_str());
      std::exit(2);
    }
    return v;
  }
  std::vector<Option> options_;
  std::vector<std::string> positional_;
};

[[noreturn]] inline void unknown_variant(std::string_view workload, std::string_view variant,
                                         std::string_view known) {
  std::fprintf(stderr, "%.*s: unknown variant '%.*s' (expected one of: %.*s)\n",
               int(workload.size()), workload.data(), int(variant.size()), variant.data(),
               int(known.size()), known.data());
  std::exit(2);
}

// ---- Clocks and resources -------------------------------------------------------------

inline double cpu_seconds_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

/// Wall and process CPU time (all threads: Boehm's parallel markers count) since start.
class Stopwatch {
 public:
  Stopwatch() : wall_start_(std::chrono::steady_clock::now()), cpu_start_(cpu_seconds_now()) {}
  double wall_ms() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall_start_)
        .count();
  }
  double cpu_ms() const { return (cpu_seconds_now() - cpu_start_) * 1e3; }
  std::chrono::steady_clock::time_point started() const { return wall_start_; }

 private:
  std::chrono::steady_clock::time_point wall_start_;
  double cpu_start_;
};

/// Resident set size now (not the peak), in MiB, from /proc/self/statm (0 if unreadable).
inline double rss_mib() {
  long pages_total = 0, pages_resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2) pages_resident = 0;
    std::fclose(f);
  }
  return double(pages_resident) * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

/// Peak resident set size of the process so far, in KiB (Linux reports ru_maxrss in KiB).
inline long peak_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

// ---- Pauses ---------------------------------------------------------------------------

/// Collection pauses in nanoseconds. Reserve up front: hooks append during collections.
class PauseLog {
 public:
  explicit PauseLog(std::size_t reserve = 1 << 16) { ns_.reserve(reserve); }
  void add(std::int64_t ns) { ns_.push_back(ns); }
  std::size_t count() const { return ns_.size(); }
  bool empty() const { return ns_.empty(); }
  /// Nearest-rank percentile in microseconds (p in [0, 100]).
  double percentile_us(double p) const {
    if (ns_.empty()) return 0;
    std::vector<std::int64_t> sorted = ns_;
    std::sort(sorted.begin(), sorted.end());
    auto rank = std::size_t(std::ceil(p / 100.0 * double(sorted.size())));
    rank = std::clamp<std::size_t>(rank, 1, sorted.size());
    return double(sorted[rank - 1]) / 1e3;
  }
  double max_us() const {
    return ns_.empty() ? 0 : double(*std::max_element(ns_.begin(), ns_.end())) / 1e3;
  }
  double total_ms() const {
    std::int64_t sum = 0;
    for (auto v : ns_) sum += v;
    return double(sum) / 1e6;
  }
  const std::vector<std::int64_t>& values() const { return ns_; }

 private:
  std::vector<std::int64_t> ns_;
};

/// Every pause with its kind and its start, for minimum mutator utilization (MMU): the
/// runner needs to know when the mutator was stopped, not only for how long. Written as
/// text, one pause a line after a line with the run's length:
///
///   span_us 812345.125
///   minor 10345.250 412.875
///   <kind> <start_us> <duration_us>
///
/// with starts measured from the start of the measured run (Stopwatch::started) and in
/// the order the pauses happened. A kind is one word (marrow's to_string(GcKind), "full"
/// for Boehm); tools/gc_pauses.py reports whatever kinds it finds, so a new kind of pause
/// needs no change there. `kind` must be a string with static storage. Reserve up front:
/// hooks append during collections.
class PauseTimeline {
 public:
  explicit PauseTimeline(std::size_t reserve = 1 << 16) { pauses_.reserve(reserve); }
  void add(const char* kind, std::chrono::steady_clock::time_point start, std::int64_t ns) {
    pauses_.push_back({kind, start, ns});
  }
  /// Writes the log to `path` (the format above); false if it cannot be written.
  bool write(const char* path, std::chrono::steady_clock::time_point origin, double span_ms) const {
    std::FILE* f = std::fopen(path, "w");
    if (f == nullptr) return false;
    std::fprintf(f, "span_us %.3f\n", span_ms * 1e3);
    for (const Pause& p : pauses_) {
      auto from = std::chrono::duration<double, std::micro>(p.start - origin).count();
      std::fprintf(f, "%s %.3f %.3f\n", p.kind, from, double(p.ns) / 1e3);
    }
    return std::fclose(f) == 0;
  }

 private:
  struct Pause {
    const char* kind;
    std::chrono::steady_clock::time_point start;
    std::int64_t ns;
  };
  std::vector<Pause> pauses_;
};

/// Boehm GC pauses: the time from GC_EVENT_START to GC_EVENT_END of each collection (the
/// world is stopped for all of it: incremental mode is off by default). Lazy sweeping
/// happens later, inside allocations, and is not part of these pauses.
class BoehmPauses {
 public:
  static void install() {
    log();
    timeline();
    GC_set_on_collection_event(&on_event);
  }
  static PauseLog& log() {
    static PauseLog pauses;
    return pauses;
  }
  static PauseTimeline& timeline() {
    static PauseTimeline pauses;
    return pauses;
  }
  static std::size_t collections() { return std::size_t(GC_get_gc_no()); }

 private:
  static void on_event(GC_EventType event) {
    static std::chrono::steady_clock::time_point start;
    if (event == GC_EVENT_START) {
      start = std::chrono::steady_clock::now();
    } else if (event == GC_EVENT_END) {
      auto d = std::chrono::steady_clock::now() - start;
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
      log().add(ns);
      // Every collection marks the whole heap with the world stopped (no generations and
      // no incremental mode by default): one kind, "full".
      timeline().add("full", start, ns);
    }
  }
};

/// Records every marrow collection's pause (GcEvent::pause, starting at GcEvent::start)
/// and counts minor/major ones.
class MarrowPauses {
 public:
  explicit MarrowPauses(marrow::Runtime& rt) : rt_(rt) {
    id_ = rt.on_gc([this](const marrow::GcEvent& e) {
      log_.add(e.pause.count());
      timeline_.add(marrow::to_string(e.kind), e.start, e.pause.count());
      if (e.kind == marrow::GcKind::kMinor) {
        ++minor_;
        minor_log_.add(e.pause.count());
      } else {
        ++major_;
        major_log_.add(e.pause.count());
      }
    });
  }
  ~MarrowPauses() { rt_.remove_gc_listener(id_); }
  MarrowPauses(const MarrowPauses&) = delete;
  MarrowPauses& operator=(const MarrowPauses&) = delete;

  const PauseLog& log() const { return log_; }
  const PauseLog& minor_log() const { return minor_log_; }
  const PauseLog& major_log() const { return major_log_; }
  const PauseTimeline& timeline() const { return timeline_; }
  std::size_t minor() const { return minor_; }
  std::size_t major() const { return major_; }

 private:
  marrow::Runtime& rt_;
  std::uint64_t id_ = 0;
  PauseLog log_, minor_log_{1 << 12}, major_log_{1 << 10};
  PauseTimeline timeline_;
  std::size_t minor_ = 0, major_ = 0;
};

// ---- The RESULT line ------------------------------------------------------------------

/// One benchmark run, printed as `RESULT {json}` on stdout. Unset optionals print null
/// (a variant that does not expose collections or pauses).
struct Result {
  std::string workload;
  std::string variant;
  double wall_ms = 0;
  double cpu_ms = 0;
  long peak_rss_kb = 0;
  std::optional<double> collections;
  std::optional<double> pause_p50_us, pause_p99_us, pause_max_us;
  /// Extra numeric fields (e.g. minor/major counts, total pause, a checksum).
  std::vector<std::pair<std::string, double>> extra;
  /// Extra string fields (e.g. parameters).
  std::vector<std::pair<std::string, std::string>> extra_text;

  void set_pauses(const PauseLog& log, std::size_t collection_count) {
    collections = double(collection_count);
    if (log.empty()) {
      pause_p50_us = pause_p99_us = pause_max_us = 0.0;
    } else {
      pause_p50_us = log.percentile_us(50);
      pause_p99_us = log.percentile_us(99);
      pause_max_us = log.max_us();
    }
    extra.emplace_back("pause_total_ms", log.total_ms());
    // The runner asks for every pause (for distribution plots) through the environment.
    if (const char* path = std::getenv("BENCH_PAUSES_OUT"); path != nullptr && *path != '\0') {
      if (std::FILE* f = std::fopen(path, "w")) {
        for (std::int64_t ns : log.values()) std::fprintf(f, "%lld\n", static_cast<long long>(ns));
        std::fclose(f);
      }
    }
  }
  /// The runner asks for the pause timeline (for MMU) through the environment:
  /// BENCH_PAUSE_LOG names the file. Variants without a collector write the span only.
  static void write_pause_timeline(const PauseTimeline& timeline, const Stopwatch& sw,
                                   double span_ms) {
    const char* path = std::getenv("BENCH_PAUSE_LOG");
    if (path == nullptr || *path == '\0') return;
    if (!timeline.write(path, sw.started(), span_ms))
      std::fprintf(stderr, "cannot write the pause log to %s\n", path);
  }
  void finish(const Stopwatch& sw) {
    wall_ms = sw.wall_ms();
    cpu_ms = sw.cpu_ms();
    peak_rss_kb = bench::peak_rss_kb();
  }

  void print() const {
    std::string s = "RESULT {";
    s += "\"workload\": " + quote(workload);
    s += ", \"variant\": " + quote(variant);
    s += ", \"wall_ms\": " + number(wall_ms);
    s += ", \"cpu_ms\": " + number(cpu_ms);
    s += ", \"peak_rss_kb\": " + std::to_string(peak_rss_kb);
    s += ", \"collections\": " + optional_number(collections);
    s += ", \"pause_p50_us\": " + optional_number(pause_p50_us);
    s += ", \"pause_p99_us\": " + optional_number(pause_p99_us);
    s += ", \"pause_max_us\": " + optional_number(pause_max_us);
    for (const auto& [k, v] : extra) s += ", " + quote(k) + ": " + number(v);
    for (const auto& [k, v] : extra_text) s += ", " + quote(k) + ": " + quote(v);
    s += "}";
    std::fflush(stdout);
    std::printf("%s\n", s.c_str());
    std::fflush(stdout);
  }

 private:
  static std::string quote(std::string_view v) {
    std::string out = "\"";
    for (char c : v) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  }
  static std::string number(double v) {
    if (!std::isfinite(v)) return "null";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    return buf;
  }
  static std::string optional_number(const std::optional<double>& v) {
    return v ? number(*v) : "null";
  }
};

// ---- Misc -----------------------------------------------------------------------------

/// A small, fast, deterministic generator (xorshift64*): the same sequence in every
/// variant, so every variant does the same work.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed ? seed : 0x9e3779b97f4a7c15ull) {}
  std::uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545f4914f6cdd1dull;
  }
  /// Uniform in [0, n) (n > 0; the modulo bias is irrelevant here).
  std::uint64_t below(std::uint64_t n) { return next() % n; }

 private:
  std::uint64_t state_;
};

/// The no-free limit: marrow's Arena (heap/arena.hpp), emptied in bulk by reset() with
/// its chunks kept for the next round.
class BumpArena {
 public:
  void* allocate(std::size_t size) {
    marrow::AllocResult r = arena_.allocate(size, 8);
    if (!r) [[unlikely]]
      std::abort();
    return r.ptr;
  }
  void reset() { arena_.reset(marrow::ArenaReset::kKeepChunks); }

 private:
  // 1 MiB chunks from the start: the workloads allocate hundreds of MiB.
  marrow::Arena arena_{{.initial_chunk_bytes = 1 << 20, .max_chunk_bytes = 1 << 20}};
};

/// Fixed-size blocks with explicit free: marrow's Pool (heap/pool.hpp), a free list
/// without malloc's size-class lookup and per-block metadata.
class FixedPool {
 public:
  explicit FixedPool(std::size_t block) : pool_(block, 8) {}
  void* allocate() {
    marrow::AllocResult r = pool_.allocate_block();
    if (!r) [[unlikely]]
      std::abort();
    return r.ptr;
  }
  void deallocate(void* p) { pool_.deallocate_block(p); }

 private:
  marrow::Pool pool_;
};

/// Boehm with its default settings; call once, before any GC_MALLOC, from main.
inline void init_boehm() {
  GC_INIT();
  BoehmPauses::install();
}

// ---- One measured run ------------------------------------------------------------------

/// The timed part of every GC benchmark's main, the same for each workload: starts Boehm
/// for variant "boehm", starts the clocks, calls `run` once, then fills in `result`'s time,
/// peak RSS and, for the two collectors, pauses and heap figures. `run(marrow::Runtime* rt)`
/// runs the workload in `result.variant`; `rt` is a runtime configured from the MARROW_*
/// environment for variant "marrow" (its construction is timed, its pauses recorded; it is
/// destroyed after the figures are taken) and nullptr for the others. An unknown variant is
/// `run`'s to reject (unknown_variant). The caller prints the result.
///
///   Result result;  // workload, variant and parameters filled in by the caller
///   run_measured(result, [&](marrow::Runtime* rt) { ... });
///   result.print();
template <class Run>
void run_measured(Result& result, Run&& run) {
  if (result.variant == "boehm") init_boehm();
  Stopwatch sw;
  if (result.variant == "marrow") {
    marrow::Runtime rt(marrow::Config::from_env(marrow::Config{}));
    MarrowPauses pauses(rt);
    run(&rt);
    result.finish(sw);
    result.set_pauses(pauses.log(), pauses.log().count());
    Result::write_pause_timeline(pauses.timeline(), sw, result.wall_ms);
    const marrow::HeapStats& s = rt.stats();
    result.extra.emplace_back("minor", double(s.minor_collections));
    result.extra.emplace_back("major", double(s.major_collections));
    result.extra.emplace_back("compactions", double(s.compactions));
    result.extra.emplace_back("minor_pause_p99_us", pauses.minor_log().percentile_us(99));
    result.extra.emplace_back("major_pause_max_us", pauses.major_log().max_us());
    result.extra.emplace_back("peak_heap_bytes", double(s.peak_heap_bytes));
    result.extra.emplace_back("bytes_promoted", double(s.bytes_promoted));
    return;
  }
  run(static_cast<marrow::Runtime*>(nullptr));
  result.finish(sw);
  if (result.variant == "boehm") {
    result.set_pauses(BoehmPauses::log(), BoehmPauses::collections());
    Result::write_pause_timeline(BoehmPauses::timeline(), sw, result.wall_ms);
    result.extra.emplace_back("heap_bytes", double(GC_get_heap_size()));
  } else {
    Result::write_pause_timeline(PauseTimeline(0), sw, result.wall_ms);
  }
}

}  // namespace marrow::bench
