// A frame loop that gives the collector its spare time (docs/tuning.md, "Idle time"). Each
// frame is a tick of a small game world: some entities die and are replaced, every entity
// moves, and the tick makes short-lived garbage. A frame has a fixed budget (60 frames a
// second); what the tick leaves of it is either slept away ("sleep") or first offered to
// the collector with rt.idle(frame_end) ("idle"). The report compares the two: how long
// ticks took (the collection pauses inside them included), how many missed the budget,
// and how much collection time fell inside ticks and inside idle time.
//
// Usage: frame_loop [--frames N] [--entities N] [--budget-ms F] [--mode idle|sleep|both]
// The runtime's configuration comes from MARROW_* (incremental marking is on unless
// MARROW_INCREMENTAL_MARKING=0). CI runs it briefly (tools/tests.d/frame-loop.sh).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <marrow/marrow.hpp>

namespace {

using Clock = std::chrono::steady_clock;

struct Part : marrow::Object {
  static constexpr const char* kTypeName = "Part";
  marrow::Member<Part> next;
  double x = 0, y = 0;
  void trace(marrow::Tracer& t) { t.visit(next, "next"); }
};

struct Entity : marrow::Object {
  static constexpr const char* kTypeName = "Entity";
  marrow::Member<Part> parts;
  marrow::Member<Entity> target;
  double x = 0, y = 0, dx = 0, dy = 0;
  void trace(marrow::Tracer& t) {
    t.visit(parts, "parts");
    t.visit(target, "target");
  }
};

/// A fixed block of entity slots: the world is a list of these, so no object is huge.
struct Chunk : marrow::Object {
  static constexpr const char* kTypeName = "Chunk";
  static constexpr std::size_t kSlots = 256;
  marrow::Member<Entity> slots[kSlots];
  void trace(marrow::Tracer& t) {
    for (auto& s : slots) t.visit(s);
  }
};

struct World : marrow::Object {
  static constexpr const char* kTypeName = "World";
  std::size_t chunks = 0;
  explicit World(std::size_t n) : chunks(n) {
    for (std::size_t i = 0; i < n; ++i) ::new (&chunk(i)) marrow::Member<Chunk>();
  }
  marrow::Member<Chunk>& chunk(std::size_t i) {
    return reinterpret_cast<marrow::Member<Chunk>*>(this + 1)[i];
  }
  void trace(marrow::Tracer& t) {
    for (std::size_t i = 0; i < chunks; ++i) t.visit(chunk(i));
  }
};

marrow::Local<Entity> make_entity(marrow::Runtime& rt, std::mt19937& rng) {
  marrow::EscapableHandleScope scope(rt);
  auto e = rt.make<Entity>();
  std::uniform_real_distribution<double> d(-1, 1);
  e->dx = d(rng);
  e->dy = d(rng);
  for (int i = 0; i < 3; ++i) {
    auto p = rt.make<Part>();
    p->x = d(rng);
    p->next = e->parts;
    e->parts = p;
  }
  return scope.escape(e);
}

struct Options {
  std::size_t frames = 300;
  std::size_t entities = 100000;
  double budget_ms = 1000.0 / 60;
  std::string mode = "both";
};

struct Report {
  std::vector<double> tick_ms;  ///< each tick's wall time, pauses included
  double gc_in_ticks_ms = 0, gc_in_idle_ms = 0, max_pause_in_ticks_ms = 0;
  std::size_t idle_pieces = 0, over_budget = 0;
};

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

Report run(const Options& o, bool use_idle) {
  marrow::Config base;
  base.incremental_marking = true;
  marrow::Runtime rt(marrow::Config::from_env(base));
  Report r;
  bool in_idle = false;
  rt.on_gc([&](const marrow::GcEvent& e) {
    double p = ms(e.pause);
    if (in_idle) {
      r.gc_in_idle_ms += p;
      ++r.idle_pieces;
    } else {
      r.gc_in_ticks_ms += p;
      r.max_pause_in_ticks_ms = std::max(r.max_pause_in_ticks_ms, p);
    }
  });
  std::mt19937 rng(42);
  marrow::HandleScope scope(rt);
  std::size_t chunks = (o.entities + Chunk::kSlots - 1) / Chunk::kSlots;
  marrow::Global<World> world(rt, rt.make_sized<World>(chunks * 8, chunks));
  for (std::size_t c = 0; c < chunks; ++c) {
    marrow::HandleScope inner(rt);
    auto chunk = rt.make<Chunk>();
    world->chunk(c) = chunk;
    // Indexed, not a range-for: an allocation may move the chunk, so its slots are found
    // again after each one.
    for (std::size_t j = 0; j < Chunk::kSlots; ++j) {
      auto e = make_entity(rt, rng);
      chunk->slots[j] = e;
    }
  }
  std::uniform_int_distribution<std::size_t> pick(0, chunks * Chunk::kSlots - 1);
  auto entity_at = [&](std::size_t i) -> marrow::Member<Entity>& {
    return world->chunk(i / Chunk::kSlots)->slots[i % Chunk::kSlots];
  };
  auto budget = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double, std::milli>(o.budget_ms));
  auto frame_start = Clock::now();
  for (std::size_t f = 0; f < o.frames; ++f) {
    auto frame_end = frame_start + budget;
    {
      marrow::HandleScope tick(rt);
      // 2% of the entities die and are replaced; each new one targets a random other.
      for (std::size_t k = 0; k < o.entities / 50; ++k) {
        marrow::HandleScope one(rt);
        auto e = make_entity(rt, rng);
        e->target = entity_at(pick(rng)).get();
        entity_at(pick(rng)) = e;
      }
      // Every entity moves; a path of temporary parts per 16 entities is garbage at once.
      for (std::size_t i = 0; i < chunks * Chunk::kSlots; ++i) {
        Entity* e = entity_at(i).get();  // a raw pointer: good until the next allocation
        e->x += e->dx;
        e->y += e->dy;
        if (i % 16 == 0) {
          double x = e->x;
          marrow::HandleScope one(rt);
          auto p = rt.make<Part>();
          p->x = x;
          p->next = rt.make<Part>();
        }
      }
    }
    auto tick_end = Clock::now();
    double tick = ms(tick_end - frame_start);
    r.tick_ms.push_back(tick);
    if (tick > o.budget_ms) ++r.over_budget;
    if (use_idle && tick_end < frame_end) {
      in_idle = true;
      rt.idle(frame_end);
      in_idle = false;
    }
    std::this_thread::sleep_until(frame_end);
    frame_start = std::max(frame_end, Clock::now());  // a late frame starts the next at once
  }
  return r;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, std::size_t(q * double(v.size())))];
}

void print(const char* mode, const Report& r, const Options& o) {
  std::printf("%-6s %7zu %8.2f %8.2f %8.2f %6zu %10.1f %10.2f %10.1f %7zu\n", mode,
              r.tick_ms.size(), percentile(r.tick_ms, 0.5), percentile(r.tick_ms, 0.99),
              percentile(r.tick_ms, 1.0), r.over_budget, r.gc_in_ticks_ms, r.max_pause_in_ticks_ms,
              r.gc_in_idle_ms, r.idle_pieces);
  std::printf(
      "RESULT {\"bench\":\"frame_loop\",\"mode\":\"%s\",\"frames\":%zu,\"budget_ms\":%.2f,"
      "\"tick_p50_ms\":%.3f,\"tick_p99_ms\":%.3f,\"tick_max_ms\":%.3f,\"over_budget\":%zu,"
      "\"gc_in_ticks_ms\":%.3f,\"max_pause_in_ticks_ms\":%.3f,\"gc_in_idle_ms\":%.3f,"
      "\"idle_pieces\":%zu}\n",
      mode, r.tick_ms.size(), o.budget_ms, percentile(r.tick_ms, 0.5), percentile(r.tick_ms, 0.99),
      percentile(r.tick_ms, 1.0), r.over_budget, r.gc_in_ticks_ms, r.max_pause_in_ticks_ms,
      r.gc_in_idle_ms, r.idle_pieces);
}

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (v == nullptr) return false;
    if (a == "--frames") {
      o.frames = std::strtoull(v, nullptr, 10);
    } else if (a == "--entities") {
      o.entities = std::strtoull(v, nullptr, 10);
    } else if (a == "--budget-ms") {
      o.budget_ms = std::strtod(v, nullptr);
    } else if (a == "--mode") {
      o.mode = v;
    } else {
      return false;
    }
    ++i;
  }
  return o.frames > 0 && o.entities >= Chunk::kSlots && o.budget_ms > 0 &&
         (o.mode == "idle" || o.mode == "sleep" || o.mode == "both");
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (argc == 2 && std::strcmp(argv[1], "--help") == 0) {
    std::puts(
        "usage: frame_loop [--frames N] [--entities N (>= 256)] [--budget-ms F] "
        "[--mode idle|sleep|both]");
    return 0;
  }
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: frame_loop [--frames N] [--entities N (>= 256)] [--budget-ms F] "
                 "[--mode idle|sleep|both]\n");
    return 2;
  }
  std::printf("frame_loop: %zu frames of %.1f ms, %zu entities\n", o.frames, o.budget_ms,
              o.entities);
  std::printf("%-6s %7s %8s %8s %8s %6s %10s %10s %10s %7s\n", "mode", "frames", "tick p50",
              "tick p99", "tick max", "late", "gc in tick", "max pause", "gc in idle", "pieces");
  if (o.mode != "idle") print("sleep", run(o, false), o);
  if (o.mode != "sleep") print("idle", run(o, true), o);
  std::puts("frame_loop: done");
  return 0;
}
