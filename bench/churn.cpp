// Churn: a cache with random replacement. A table holds a steady live set of entries
// (each a small object pointing at a payload of random size); every operation reads one
// random entry and replaces another with a fresh one. Entries live long enough to be
// promoted and then die old: the worst case for a generational collector, whose nursery
// catches none of this garbage. Usage: bench_churn --variant V [--live 200000]
// [--ops 10000000]. Every variant computes the same checksum.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common.hpp"

namespace {

using marrow::bench::Result;
using marrow::bench::Rng;

constexpr std::uint64_t kSeed = 0x2545f4914f6cdd1dull;
// Payloads are uniform in [kPayloadMin, kPayloadMin + kPayloadSpread) bytes: small
// objects of mixed sizes, like an interpreter's strings and arrays.
constexpr std::size_t kPayloadMin = 16;
constexpr std::size_t kPayloadSpread = 112;

struct Params {
  std::size_t live = 200000;
  std::uint64_t ops = 10000000;
};

/// The work every variant does per operation, on the payload bytes it reads. Out of line,
/// so that every variant runs the same machine code for it: inlined, the compiler's
/// vectorisation of these loops followed inlining choices in the surrounding variant code
/// and swung instruction counts by 20% (callgrind) with no change in the collector.
[[gnu::noinline]] std::uint64_t digest(const unsigned char* bytes, std::size_t n) {
  std::uint64_t h = n;
  for (std::size_t i = 0; i < n; i += 8) h = h * 31 + bytes[i];
  return h;
}
[[gnu::noinline]] void fill(unsigned char* bytes, std::size_t n, std::uint64_t key) {
  for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<unsigned char>(key + i);
}

/// The operation sequence, shared by every variant. V supplies
///   void put(std::size_t slot, std::uint64_t key, std::size_t payload_bytes)
///   std::uint64_t read(std::size_t slot)   digest of the entry's payload (0 if empty)
template <class V>
std::uint64_t run_churn(V& v, const Params& p) {
  Rng rng(kSeed);
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < p.live; ++i) v.put(i, i, kPayloadMin + rng.below(kPayloadSpread));
  for (std::uint64_t op = 0; op < p.ops; ++op) {
    sum += v.read(rng.below(p.live));
    v.put(rng.below(p.live), op, kPayloadMin + rng.below(kPayloadSpread));
  }
  return sum;
}

// ---- Plain entries: malloc/free, arena, Boehm ------------------------------------------

struct Payload {
  std::size_t length;
  unsigned char* bytes() { return reinterpret_cast<unsigned char*>(this + 1); }
};
struct PlainEntry {
  std::uint64_t key;
  Payload* payload;
};

std::uint64_t read_plain(const PlainEntry* e) {
  return e == nullptr ? 0 : e->key ^ digest(e->payload->bytes(), e->payload->length);
}

struct MallocVariant {
  std::vector<PlainEntry*> table;
  explicit MallocVariant(std::size_t live) : table(live, nullptr) {}
  ~MallocVariant() {
    for (PlainEntry* e : table) release(e);
  }
  static void release(PlainEntry* e) {
    if (e == nullptr) return;
    std::free(e->payload);
    std::free(e);
  }
  void put(std::size_t slot, std::uint64_t key, std::size_t n) {
    auto* e = static_cast<PlainEntry*>(std::malloc(sizeof(PlainEntry)));
    auto* pl = static_cast<Payload*>(std::malloc(sizeof(Payload) + n));
    pl->length = n;
    fill(pl->bytes(), n, key);
    *e = {key, pl};
    release(table[slot]);
    table[slot] = e;
  }
  std::uint64_t read(std::size_t slot) { return read_plain(table[slot]); }
};

/// Nothing is ever freed: the cost of allocation alone (memory grows with every op).
struct ArenaVariant {
  std::vector<PlainEntry*> table;
  marrow::bench::BumpArena arena;
  explicit ArenaVariant(std::size_t live) : table(live, nullptr) {}
  void* raw(std::size_t n) { return arena.allocate(n); }
  void put(std::size_t slot, std::uint64_t key, std::size_t n) {
    auto* e = static_cast<PlainEntry*>(raw(sizeof(PlainEntry)));
    auto* pl = static_cast<Payload*>(raw(sizeof(Payload) + n));
    pl->length = n;
    fill(pl->bytes(), n, key);
    *e = {key, pl};
    table[slot] = e;
  }
  std::uint64_t read(std::size_t slot) { return read_plain(table[slot]); }
};

/// Boehm: the table and entries are scanned, payloads are atomic (never scanned).
struct BoehmVariant {
  PlainEntry** table;
  explicit BoehmVariant(std::size_t live)
      : table(static_cast<PlainEntry**>(GC_MALLOC(live * sizeof(PlainEntry*)))) {}
  void put(std::size_t slot, std::uint64_t key, std::size_t n) {
    auto* pl = static_cast<Payload*>(GC_MALLOC_ATOMIC(sizeof(Payload) + n));
    pl->length = n;
    fill(pl->bytes(), n, key);
    auto* e = static_cast<PlainEntry*>(GC_MALLOC(sizeof(PlainEntry)));
    *e = {key, pl};
    table[slot] = e;
  }
  std::uint64_t read(std::size_t slot) { return read_plain(table[slot]); }
};

// ---- marrow ----------------------------------------------------------------------------

/// Pointer-free (no trace): never scanned.
struct Blob : marrow::Object {
  static constexpr const char* kTypeName = "Churn.Blob";
  std::size_t length;
  explicit Blob(std::size_t n) : length(n) {}
  unsigned char* bytes() { return reinterpret_cast<unsigned char*>(this) + sizeof(*this); }
};

struct Entry : marrow::Object {
  static constexpr const char* kTypeName = "Churn.Entry";
  std::uint64_t key;
  marrow::Member<Blob> payload;
  Entry(std::uint64_t k, const marrow::Local<Blob>& p) : key(k), payload(p) {}
  void trace(marrow::Tracer& t) { t.visit(payload); }
};

/// The table: one large object of Member slots (large-object space: old, never moved).
struct Table : marrow::Object {
  static constexpr const char* kTypeName = "Churn.Table";
  std::size_t length;
  explicit Table(std::size_t n) : length(n) {}
  marrow::Member<Entry>* slots() {
    return reinterpret_cast<marrow::Member<Entry>*>(reinterpret_cast<std::byte*>(this) +
                                                    sizeof(*this));
  }
  void trace(marrow::Tracer& t) { t.visit_range(slots(), length); }
};

struct MarrowVariant {
  marrow::Runtime& rt;
  marrow::Global<Table> table;
  MarrowVariant(marrow::Runtime& r, std::size_t live) : rt(r) {
    marrow::HandleScope scope(rt);
    table =
        marrow::Global<Table>(rt, rt.make_sized<Table>(live * sizeof(marrow::Member<Entry>), live));
  }
  void put(std::size_t slot, std::uint64_t key, std::size_t n) {
    marrow::HandleScope scope(rt);
    marrow::Local<Blob> pl = rt.make_sized<Blob>(n, n);
    fill(pl->bytes(), n, key);
    marrow::Local<Entry> e = rt.make<Entry>(key, pl);
    table->slots()[slot] = e;
  }
  std::uint64_t read(std::size_t slot) {
    Entry* e = table->slots()[slot].get();
    if (e == nullptr) return 0;
    Blob* b = e->payload.get();
    return e->key ^ digest(b->bytes(), b->length);
  }
};

}  // namespace

int main(int argc, char** argv) {
  marrow::bench::Args args(argc, argv);
  const std::string variant = args.get("variant", "marrow");
  Params p;
  p.live = std::size_t(args.get_int("live", long(p.live)));
  p.ops = std::uint64_t(args.get_int("ops", long(p.ops)));

  Result result;
  result.workload = "churn";
  result.variant = variant;
  result.extra.emplace_back("live", double(p.live));
  result.extra.emplace_back("ops", double(p.ops));

  std::uint64_t sum = 0;
  marrow::bench::run_measured(result, [&](marrow::Runtime* rt) {
    if (variant == "malloc") {
      MallocVariant v(p.live);
      sum = run_churn(v, p);
    } else if (variant == "arena") {
      ArenaVariant v(p.live);
      sum = run_churn(v, p);
    } else if (variant == "boehm") {
      BoehmVariant v(p.live);
      sum = run_churn(v, p);
    } else if (variant == "marrow") {
      MarrowVariant v(*rt, p.live);
      sum = run_churn(v, p);
    } else {
      marrow::bench::unknown_variant("churn", variant, "marrow boehm malloc arena");
    }
  });
  std::printf("churn: %zu live entries, %llu operations, checksum %016llx\n", p.live,
              static_cast<unsigned long long>(p.ops), static_cast<unsigned long long>(sum));
  result.extra_text.emplace_back("checksum", [&] {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(sum));
    return std::string(buf);
  }());
  result.print();
  return 0;
}
