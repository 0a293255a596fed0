// Names of kinds, reasons, spaces and phases; the pause histogram; statistics and events
// as text tables, log lines and JSON.
#include "marrow/stats.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

#include <fmt/format.h>

namespace marrow {

const char* to_string(GcKind kind) noexcept {
  switch (kind) {
    case GcKind::kMinor:
      return "minor";
    case GcKind::kMajor:
      return "major";
    case GcKind::kCompact:
      return "compact";
    case GcKind::kMarkStart:
      return "mark-start";
    case GcKind::kMarkStep:
      return "mark-step";
    case GcKind::kSweepStep:
      return "sweep-step";
  }
  return "?";
}

const char* to_string(GcReason reason) noexcept {
  switch (reason) {
    case GcReason::kAllocation:
      return "allocation";
    case GcReason::kRequested:
      return "requested";
    case GcReason::kHeapGrowth:
      return "heap-growth";
    case GcReason::kHeapLimit:
      return "heap-limit";
    case GcReason::kStress:
      return "stress";
    case GcReason::kPin:
      return "pin";
    case GcReason::kFragmentation:
      return "fragmentation";
    case GcReason::kShrink:
      return "shrink";
    case GcReason::kIdle:
      return "idle";
  }
  return "?";
}

const char* to_string(Space space) noexcept {
  switch (space) {
    case Space::kEden:
      return "eden";
    case Space::kSurvivor:
      return "survivor";
    case Space::kOld:
      return "old";
    case Space::kLarge:
      return "large";
    case Space::kImmortal:
      return "immortal";
    case Space::kNone:
      return "none";
  }
  return "?";
}

const char* to_string(GcPhase phase) noexcept {
  switch (phase) {
    case GcPhase::kVerify:
      return "verify";
    case GcPhase::kRoots:
      return "roots";
    case GcPhase::kEvacuate:
      return "evacuate";
    case GcPhase::kMark:
      return "mark";
    case GcPhase::kWeak:
      return "weak";
    case GcPhase::kSweep:
      return "sweep";
    case GcPhase::kCompact:
      return "compact";
  }
  return "?";
}

// ---- PauseHistogram ------------------------------------------------------------------
// Values below kSubBuckets have a bucket each; above, a power of two [2^e, 2^(e+1)) is
// split into kSubBuckets equal buckets, selected by the 3 bits after the leading one.

namespace {
constexpr unsigned kSubBits = 3;
static_assert(PauseHistogram::kSubBuckets == 1u << kSubBits);
}  // namespace

unsigned PauseHistogram::bucket_of(std::uint64_t ns) noexcept {
  if (ns < kSubBuckets) return unsigned(ns);
  unsigned e = 63u - unsigned(std::countl_zero(ns));  // >= kSubBits
  unsigned sub = unsigned(ns >> (e - kSubBits)) & (kSubBuckets - 1);
  return (e - kSubBits + 1) * kSubBuckets + sub;
}

std::uint64_t PauseHistogram::bucket_lower(unsigned bucket) noexcept {
  if (bucket < kSubBuckets) return bucket;
  unsigned e = bucket / kSubBuckets + kSubBits - 1;
  std::uint64_t sub = bucket % kSubBuckets;
  return (kSubBuckets + sub) << (e - kSubBits);
}

std::uint64_t PauseHistogram::bucket_upper(unsigned bucket) noexcept {
  if (bucket < kSubBuckets) return bucket;
  unsigned e = bucket / kSubBuckets + kSubBits - 1;
  return bucket_lower(bucket) + ((std::uint64_t{1} << (e - kSubBits)) - 1);
}

void PauseHistogram::record(std::chrono::nanoseconds duration) noexcept {
  auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(duration.count(), 0));
  ++buckets_[bucket_of(ns)];
  ++count_;
  min_ = std::min(min_, ns);
  max_ = std::max(max_, ns);
}

std::chrono::nanoseconds PauseHistogram::percentile(double q) const noexcept {
  if (count_ == 0) return std::chrono::nanoseconds(0);
  q = std::clamp(q, 0.0, 1.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(q * double(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (unsigned b = 0; b < kBuckets; ++b) {
    seen += buckets_[b];
    if (seen >= rank) {
      std::uint64_t lo = bucket_lower(b);
      std::uint64_t mid = lo + (bucket_upper(b) - lo) / 2;
      return std::chrono::nanoseconds(std::clamp(mid, min_, max_));
    }
  }
  return std::chrono::nanoseconds(max_);
}

// ---- Text and JSON -------------------------------------------------------------------

namespace {

std::string bytes(std::size_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  if (n < (std::size_t{1} << 20)) return fmt::format("{:.1f} KiB", double(n) / 1024.0);
  if (n < (std::size_t{1} << 30)) return fmt::format("{:.1f} MiB", double(n) / 1048576.0);
  return fmt::format("{:.2f} GiB", double(n) / 1073741824.0);
}

std::string ms(std::chrono::nanoseconds t) {
  return fmt::format("{:.3f} ms", double(t.count()) / 1e6);
}

double mib(std::size_t n) { return double(n) / 1048576.0; }

constexpr Space kSpaces[kSpaceCount] = {Space::kEden, Space::kSurvivor, Space::kOld, Space::kLarge,
                                        Space::kImmortal};

}  // namespace

std::string format_table(const HeapStats& s) {
  std::string out =
      fmt::format("marrow heap statistics (uptime {:.3f} s)\n", double(s.uptime.count()) / 1e9);
  out +=
      fmt::format("  {:<10} {:>12} {:>12} {:>14}\n", "space", "capacity", "used", "live after gc");
  for (Space sp : kSpaces) {
    const SpaceStats& x = s.spaces[std::size_t(sp)];
    out += fmt::format("  {:<10} {:>12} {:>12} {:>14}\n", to_string(sp), bytes(x.capacity),
                       bytes(x.used), bytes(x.live_after_gc));
  }
  out +=
      fmt::format("  {:<10} {:>12} (peak {}), {} pages returned to the OS, fragmentation {:.1f}%\n",
                  "committed", bytes(s.heap_bytes), bytes(s.peak_heap_bytes), s.pages_returned,
                  s.fragmentation * 100.0);
  out += fmt::format("collections: {} minor, {} major ({} compacting)", s.minor_collections,
                     s.major_collections, s.compactions);
  const char* separator = "; by reason:";
  for (std::size_t r = 0; r < kGcReasonCount; ++r) {
    if (s.collections_by_reason[r] == 0) continue;
    out += fmt::format("{} {} {}", separator, to_string(GcReason(r)), s.collections_by_reason[r]);
    separator = ",";
  }
  out += "\n";
  out += fmt::format(
      "bytes: allocated {} ({:.1f} MiB/s), pretenured {}, promoted {}, survived {}, freed {}, "
      "moved {}\n",
      bytes(s.bytes_allocated), s.allocation_rate / 1048576.0, bytes(s.bytes_pretenured),
      bytes(s.bytes_promoted), bytes(s.bytes_survived), bytes(s.bytes_freed), bytes(s.bytes_moved));
  out += fmt::format("pauses: {} in all, total {}, p50 {}, p90 {}, p99 {}, max {}\n",
                     s.pauses.count(), ms(s.total_pause), ms(s.pause_p50), ms(s.pause_p90),
                     ms(s.pause_p99), ms(s.max_pause));
  out += "phases:";
  for (std::size_t p = 0; p < kGcPhaseCount; ++p)
    out += fmt::format("{} {} {}", p == 0 ? "" : ",", to_string(GcPhase(p)), ms(s.phase_total[p]));
  out += "\n";
  return out;
}

std::string to_json(const HeapStats& s) {
  std::string out = "{";
  auto field = [&](const char* name, auto value) {
    out += fmt::format("{}\"{}\":{}", out.size() > 1 ? "," : "", name, value);
  };
  field("uptime_ns", s.uptime.count());
  field("minor_collections", s.minor_collections);
  field("major_collections", s.major_collections);
  field("compactions", s.compactions);
  std::string reasons = "{";
  for (std::size_t r = 0; r < kGcReasonCount; ++r)
    reasons += fmt::format("{}\"{}\":{}", r ? "," : "", to_string(GcReason(r)),
                           s.collections_by_reason[r]);
  field("collections_by_reason", reasons + "}");
  field("bytes_allocated", s.bytes_allocated);
  field("bytes_pretenured", s.bytes_pretenured);
  field("bytes_promoted", s.bytes_promoted);
  field("bytes_survived", s.bytes_survived);
  field("bytes_freed", s.bytes_freed);
  field("bytes_moved", s.bytes_moved);
  field("heap_bytes", s.heap_bytes);
  field("peak_heap_bytes", s.peak_heap_bytes);
  field("live_bytes", s.live_bytes);
  field("pages_returned", s.pages_returned);
  field("fragmentation", fmt::format("{:.6f}", s.fragmentation));
  field("allocation_rate", fmt::format("{:.1f}", s.allocation_rate));
  field("next_major_trigger", s.next_major_trigger);
  field("old_allocation_rate", fmt::format("{:.1f}", s.old_allocation_rate));
  field("collection_speed", fmt::format("{:.1f}", s.collection_speed));
  field("eden_bytes", s.eden_bytes);
  std::string spaces = "{";
  for (Space sp : kSpaces) {
    const SpaceStats& x = s.spaces[std::size_t(sp)];
    spaces += fmt::format("{}\"{}\":{{\"capacity\":{},\"used\":{},\"live_after_gc\":{}}}",
                          spaces.size() > 1 ? "," : "", to_string(sp), x.capacity, x.used,
                          x.live_after_gc);
  }
  field("spaces", spaces + "}");
  std::string pauses = fmt::format(
      "{{\"count\":{},\"total_ns\":{},\"p50_ns\":{},\"p90_ns\":{},\"p99_ns\":{},\"max_ns\":{}}}",
      s.pauses.count(), s.total_pause.count(), s.pause_p50.count(), s.pause_p90.count(),
      s.pause_p99.count(), s.max_pause.count());
  field("pauses", pauses);
  std::string phases = "{";
  for (std::size_t p = 0; p < kGcPhaseCount; ++p)
    phases +=
        fmt::format("{}\"{}\":{}", p ? "," : "", to_string(GcPhase(p)), s.phase_total[p].count());
  field("phase_total_ns", phases + "}");
  return out + "}";
}

std::string format_event(const GcEvent& e, int detail) {
  std::string line = fmt::format(
      "[marrow gc #{}] {} ({}) committed {:.1f}M -> {:.1f}M, in use {:.1f}M -> {:.1f}M, "
      "promoted {:.1f}K, pause {:.3f} ms",
      e.sequence, to_string(e.kind), to_string(e.reason), mib(e.bytes_before), mib(e.bytes_after),
      mib(e.live_before), mib(e.live_after), double(e.promoted_bytes) / 1024.0,
      double(e.pause.count()) / 1e6);
  if (e.incremental) line += ", remark of an incremental cycle";
  if (e.kind == GcKind::kMarkStep)
    line += fmt::format(", marked {:.1f}K", double(e.marked_bytes) / 1024.0);
  std::string phases;
  for (std::size_t p = 0; p < kGcPhaseCount; ++p)
    if (e.phases[p].count() != 0)
      phases += fmt::format("{}{} {:.3f}", phases.empty() ? "" : ", ", to_string(GcPhase(p)),
                            double(e.phases[p].count()) / 1e6);
  line += " [" + phases + "]";
  if (e.gc_threads > 1) {
    std::string workers;
    for (std::size_t p = 0; p < kGcPhaseCount; ++p)
      if (e.worker_busiest[p].count() != 0)
        workers += fmt::format(", {} {:.3f}/{:.3f}", to_string(GcPhase(p)),
                               double(e.worker_busiest[p].count()) / 1e6,
                               double(e.worker_idlest[p].count()) / 1e6);
    line += fmt::format(", {} threads{}", e.gc_threads,
                        workers.empty() ? "" : " (busiest/idlest ms" + workers + ")");
  }
  if (e.pretenure_window != 0)
    line += fmt::format(", then pretenuring {:.1f}M", mib(e.pretenure_window));
  if (detail >= 2) {
    line += "\n   ";
    for (Space sp : kSpaces) {
      std::size_t i = std::size_t(sp);
      line +=
          fmt::format(" {} {:.1f}K -> {:.1f}K{}", to_string(sp), double(e.space_before[i]) / 1024.0,
                      double(e.space_after[i]) / 1024.0, sp == Space::kImmortal ? "" : ";");
    }
  }
  return line;
}

}  // namespace marrow
