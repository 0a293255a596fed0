// Large live heap: the pauses of a program that keeps a large structure live while it
// allocates, for the requirement "1 GiB and then 4 GiB live while allocating: no pause over
// 10 ms" (what Config::incremental_marking is meant to meet; stop-the-world marrow and
// Boehm GC are the comparisons).
//
// Each phase first builds (phase 1) or grows (the next ones) a table of parts to
// --live-mib MiB. A part (24 KiB on average) is a small graph as an interpreter's heap
// holds them: records (objects of 2-12 fields with a shape, arrays of 16-511 values, now
// and then one over 8 KiB), strings of 8 bytes to 16 KiB, numbers, and references to
// shapes and symbols shared by the whole heap. Then it runs a steady workload: transactions
// that build, read and drop a temporary part, read a live one and replace a string field
// of a live record (an old-to-young store); and whole parts replaced by new ones at
// --churn-mib-s MiB a second, so the old generation fills with dead parts and major
// collections happen. The steady workload runs --seconds, and on until --min-majors major
// collections have finished in it (at most 20 times --seconds): with 4 GiB live the
// growth trigger can be a minute of churn away.
//
// Per phase it prints the pauses of the whole phase, of its build and of its steady part
// (max, p99, total; count, longest and total per kind), the work done, wall time and peak
// RSS, then one RESULT line whose pause figures are the whole phase's.
//
// Usage: bench_large_live [--variant marrow|boehm] [--live-mib 1024,4096] [--seconds 5]
//                         [--churn-mib-s 64] [--min-majors 1]
// Variant marrow reads the MARROW_* variables (Config::from_env): MARROW_INCREMENTAL_MARKING=1
// for incremental marking, MARROW_TRACE_GC=1 for the GC log. BENCH_PAUSE_LOG names a file
// for the whole run's pause timeline (bench/common.hpp).

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using marrow::Value;
using marrow::bench::PauseLog;
using marrow::bench::Result;
using marrow::bench::Rng;

constexpr std::uint64_t kSeed = 0x9e3779b97f4a7c15ull;
// 256 parts a chunk: a chunk is 2 KiB of slots, an old-space object (not large-object
// space, from 8 KiB), so the table is spread over many small objects as a hash table's
// buckets would be, and the minor collections' remembered set sees the chunks written.
constexpr std::size_t kPartsPerChunk = 256;
constexpr std::size_t kSymbols = 4096;  // interned strings: names, keys
constexpr std::size_t kShapes = 512;    // hidden classes, each naming its fields by symbol
constexpr std::size_t kShapeFields = 4;
constexpr std::size_t kNoShape = ~std::size_t{0};
constexpr int kPartDepth = 4;  // a part's records nest this deep below its root
constexpr int kTempDepth = 2;  // a transaction's temporary part: 7-8 KiB on average

// The first word of every cell says what it is, in both variants.
enum Tag : std::uint32_t { kTagString = 1, kTagRecord = 2, kTagSymbol = 3, kTagShape = 4 };

// Nominal sizes, marrow's (an 8-byte header, then the fields), used by both variants so
// both build the same structure: a string is tag, length and bytes; a record is tag,
// length, shape and its slots.
constexpr std::size_t string_bytes(std::size_t n) { return 16 + (n + 7) / 8 * 8; }
constexpr std::size_t record_bytes(std::size_t n) { return 24 + 8 * n; }

[[gnu::noinline]] void fill(unsigned char* bytes, std::size_t n, std::uint64_t seed) {
  for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<unsigned char>(seed + i);
}
[[gnu::noinline]] std::uint64_t digest_bytes(const unsigned char* bytes, std::size_t n) {
  std::uint64_t h = n;
  for (std::size_t i = 0; i < n; i += 8) h = h * 31 + bytes[i];
  return h;
}

/// A string's length: mostly short (names, small text), a few long, rarely one that goes
/// to large-object space.
std::size_t string_length(Rng& rng) {
  std::uint64_t r = rng.below(10000);
  if (r < 5) return 8192 + rng.below(8192);
  if (r < 100) return 512 + rng.below(3584);
  if (r < 1000) return 64 + rng.below(448);
  return 8 + rng.below(56);
}

// ---- Pauses by kind ---------------------------------------------------------------------

// What a phase reports per kind of pause. A remark is the major (or compacting)
// collection that ends an incremental cycle; kMajor and kCompact are stop-the-world ones.
enum Category : std::uint8_t {
  kMinor,
  kMajor,
  kCompact,
  kRemark,
  kMarkStart,
  kMarkStep,
  kSweepStep,
  kFull,  // Boehm: every collection
  kCategoryCount
};
constexpr const char* kCategoryNames[kCategoryCount] = {
    "minor", "major", "compact", "remark", "mark-start", "mark-step", "sweep-step", "full"};
constexpr const char* kCategoryFields[kCategoryCount] = {
    "minor", "major_stw", "compact", "remark", "mark_start", "mark_step", "sweep_step", "full"};

Category category(const marrow::GcEvent& e) {
  switch (e.kind) {
    case marrow::GcKind::kMinor:
      return kMinor;
    case marrow::GcKind::kMajor:
      return e.incremental ? kRemark : kMajor;
    case marrow::GcKind::kCompact:
      return e.incremental ? kRemark : kCompact;
    case marrow::GcKind::kMarkStart:
      return kMarkStart;
    case marrow::GcKind::kMarkStep:
      return kMarkStep;
    case marrow::GcKind::kSweepStep:
      return kSweepStep;
  }
  return kMajor;
}

/// Every pause of the run in order, with its category; a phase summarises the range it
/// spans. Appended to by the marrow listener inside collections: reserved up front, and
/// past the reservation pauses are counted as lost rather than reallocating there.
class PauseRecord {
 public:
  struct Pause {
    Category category;
    bool compacted;  // a remark that compacted
    std::int64_t ns;
  };
  PauseRecord() { pauses_.reserve(1 << 20); }
  void add(Category c, bool compacted, std::int64_t ns) {
    if (pauses_.size() == pauses_.capacity()) {
      ++lost_;
      return;
    }
    pauses_.push_back({c, compacted, ns});
  }
  std::size_t size() const { return pauses_.size(); }
  std::size_t lost() const { return lost_; }
  const Pause& operator[](std::size_t i) const { return pauses_[i]; }

 private:
  std::vector<Pause> pauses_;
  std::size_t lost_ = 0;
};

struct KindStats {
  std::size_t count = 0;
  std::int64_t max_ns = 0, total_ns = 0;
};

struct PauseSummary {
  PauseLog all{0};
  std::array<KindStats, kCategoryCount> kinds{};
  std::size_t compacting_remarks = 0;
};

PauseSummary summarize(const PauseRecord& record, std::size_t begin, std::size_t end) {
  PauseSummary s;
  for (std::size_t i = begin; i < end; ++i) {
    const PauseRecord::Pause& p = record[i];
    s.all.add(p.ns);
    KindStats& k = s.kinds[p.category];
    ++k.count;
    k.max_ns = std::max(k.max_ns, p.ns);
    k.total_ns += p.ns;
    if (p.compacted) ++s.compacting_remarks;
  }
  return s;
}

// ---- marrow ------------------------------------------------------------------------------

class MarrowHeap {
 public:
  struct Cell : marrow::Object {
    std::uint32_t tag, length;
    Cell(std::uint32_t t, std::uint32_t n) : tag(t), length(n) {}
  };
  /// Strings and symbols: pointer-free (no trace), never scanned.
  struct String : Cell {
    static constexpr const char* kTypeName = "LargeLive.String";
    String(std::uint32_t t, std::uint32_t n) : Cell(t, n) {}
    unsigned char* bytes() { return reinterpret_cast<unsigned char*>(this) + sizeof(*this); }
  };
  /// Objects, arrays, shapes, the table's chunks and directory: `length` value slots.
  struct Record : Cell {
    static constexpr const char* kTypeName = "LargeLive.Record";
    marrow::Member<Value> shape;
    Record(std::uint32_t t, std::uint32_t n) : Cell(t, n) {}
    marrow::Member<Value>* slots() {
      return reinterpret_cast<marrow::Member<Value>*>(reinterpret_cast<std::byte*>(this) +
                                                      sizeof(*this));
    }
    Value slot(std::size_t i) { return slots()[i].get(); }
    void trace(marrow::Tracer& t) {
      t.visit(shape);
      t.visit_range(slots(), length);
    }
  };
  using Ref = marrow::Local<Record>;
  /// For a recursive builder: one Local handed to the caller.
  class Scope {
   public:
    explicit Scope(MarrowHeap& h) : scope_(h.rt_) {}
    Ref escape(const Ref& r) { return scope_.escape(r); }

   private:
    marrow::EscapableHandleScope scope_;
  };
  /// For a loop body: its Locals released at each iteration.
  class Frame {
   public:
    explicit Frame(MarrowHeap& h) : scope_(h.rt_) {}

   private:
    marrow::HandleScope scope_;
  };

  MarrowHeap(marrow::Runtime& rt, PauseRecord& record) : rt_(rt) {
    listener_ = rt.on_gc([&record, this](const marrow::GcEvent& e) {
      record.add(category(e), e.kind == marrow::GcKind::kCompact && e.incremental, e.pause.count());
      timeline_.add(marrow::to_string(e.kind), e.start, e.pause.count());
    });
    marrow::HandleScope scope(rt_);
    shared_ = marrow::Global<Record>(rt_, make_record(kTagRecord, kSymbols + kShapes));
    directory_ = marrow::Global<Record>(rt_, make_record(kTagRecord, 64));
  }
  ~MarrowHeap() { rt_.remove_gc_listener(listener_); }
  MarrowHeap(const MarrowHeap&) = delete;
  MarrowHeap& operator=(const MarrowHeap&) = delete;

  static const Cell* cell(Value v) { return v.as<Cell>(); }
  static const unsigned char* bytes(const Cell* c) {
    return reinterpret_cast<const unsigned char*>(c) + sizeof(String);
  }
  static Value slot(const Cell* c, std::size_t i) {
    return const_cast<Record*>(static_cast<const Record*>(c))->slot(i);
  }
  static Value value(const Ref& r) { return Value::object(r.get()); }

  Ref record(std::size_t n, std::size_t shape) {
    Ref r = make_record(kTagRecord, n);
    if (shape != kNoShape) r->shape = shared_->slot(kSymbols + shape);
    return r;
  }
  Ref make_record(std::uint32_t tag, std::size_t n) {
    return rt_.make_sized<Record>(n * sizeof(marrow::Member<Value>), tag, std::uint32_t(n));
  }
  void set_string(const Ref& r, std::size_t i, std::uint32_t tag, std::size_t n,
                  std::uint64_t seed) {
    marrow::Local<String> s = rt_.make_sized<String>(n, tag, std::uint32_t(n));
    fill(s->bytes(), n, seed);
    r->slots()[i] = Value::object(s.get());
  }
  void set_ref(const Ref& r, std::size_t i, const Ref& child) {
    r->slots()[i] = Value::object(child.get());
  }
  void set_value(const Ref& r, std::size_t i, Value v) { r->slots()[i] = v; }
  void set_shared(const Ref& r, std::size_t i, std::size_t index) {
    r->slots()[i] = shared_->slot(index);
  }
  /// Fills the shared table: slot `index` of it.
  void set_shared_slot(std::size_t index, const Ref& v) {
    shared_->slots()[index] = Value::object(v.get());
  }
  Ref shared() { return rt_.local(shared_); }

  std::size_t parts() const { return parts_; }
  Value part(std::size_t index) {
    return chunk(index / kPartsPerChunk)->slot(index % kPartsPerChunk);
  }
  /// Stores `p` as part `index`: an existing one (replaced) or the next one (appended).
  void put_part(std::size_t index, const Ref& p) {
    if (index == parts_) {
      if (parts_ % kPartsPerChunk == 0) add_chunk();
      ++parts_;
    }
    chunk(index / kPartsPerChunk)->slots()[index % kPartsPerChunk] = Value::object(p.get());
  }
  /// Replaces string field `field` of part `index`'s root record (if it is one) with a new
  /// string of the same length; returns its size, 0 if the field holds no string.
  std::size_t replace_string(std::size_t index, std::size_t field, std::uint64_t seed) {
    Record* root = part(index).as<Record>();
    if (field >= root->length) return 0;
    Value v = root->slot(field);
    if (!v.is_object() || v.as<Cell>()->tag != kTagString) return 0;
    std::uint32_t n = v.as<Cell>()->length;
    Frame frame(*this);
    marrow::Local<String> s = rt_.make_sized<String>(n, kTagString, n);
    fill(s->bytes(), n, seed);
    root = part(index).as<Record>();  // the allocation may have moved it
    root->slots()[field] = Value::object(s.get());
    return string_bytes(n);
  }

  void heap_fields(Result& r) const {
    const marrow::HeapStats& s = rt_.stats();
    r.extra.emplace_back("heap_bytes", double(s.heap_bytes));
    r.extra.emplace_back("peak_heap_bytes", double(s.peak_heap_bytes));
    r.extra.emplace_back("old_live_bytes", double(s.live_bytes));
    r.extra.emplace_back("bytes_promoted", double(s.bytes_promoted));
    r.extra.emplace_back("gc_threads", double(rt_.config().gc_threads));
    r.extra_text.emplace_back("incremental", rt_.config().incremental_marking ? "on" : "off");
  }
  const marrow::bench::PauseTimeline& timeline() const { return timeline_; }
  void sync_pauses(PauseRecord&) {}  // the listener records them as they happen

 private:
  Record* chunk(std::size_t c) { return directory_->slot(c).as<Record>(); }
  void add_chunk() {
    Frame frame(*this);
    std::size_t c = parts_ / kPartsPerChunk;
    Ref fresh = make_record(kTagRecord, kPartsPerChunk);
    if (c == directory_->length) {  // grow the directory: twice the chunks, copied over
      Ref bigger = make_record(kTagRecord, 2 * c);
      for (std::size_t i = 0; i < c; ++i) bigger->slots()[i] = directory_->slot(i);
      directory_ = marrow::Global<Record>(rt_, bigger);
    }
    directory_->slots()[c] = Value::object(fresh.get());
  }

  marrow::Runtime& rt_;
  std::uint64_t listener_ = 0;
  marrow::bench::PauseTimeline timeline_{1 << 18};
  marrow::Global<Record> shared_;
  marrow::Global<Record> directory_;
  std::size_t parts_ = 0;
};

// ---- Boehm GC ----------------------------------------------------------------------------

/// The same cells as plain structs: records scanned (GC_MALLOC), strings atomic. A Value
/// reference is the address itself, which Boehm's conservative scan sees; numbers are
/// above 2^49, outside any heap address.
class BoehmHeap {
 public:
  struct Cell {
    std::uint32_t tag, length;
  };
  struct Record : Cell {
    Value shape;
    Value* slots() { return reinterpret_cast<Value*>(this + 1); }
  };
  using Ref = Record*;
  struct Scope {
    explicit Scope(BoehmHeap&) {}
    Ref escape(Ref r) { return r; }
  };
  struct Frame {
    explicit Frame(BoehmHeap&) {}
  };

  BoehmHeap() {
    shared_ = make_record(kTagRecord, kSymbols + kShapes);
    directory_ = make_record(kTagRecord, 64);
  }

  static const Cell* cell(Value v) { return reinterpret_cast<const Cell*>(v.raw_bits()); }
  static const unsigned char* bytes(const Cell* c) {
    return reinterpret_cast<const unsigned char*>(c + 1);
  }
  static Value slot(const Cell* c, std::size_t i) {
    return const_cast<Record*>(static_cast<const Record*>(c))->slots()[i];
  }
  static Value value(const Cell* c) {
    return Value::from_raw_bits(reinterpret_cast<std::uint64_t>(c));
  }

  Ref record(std::size_t n, std::size_t shape) {
    Ref r = make_record(kTagRecord, n);
    if (shape != kNoShape) r->shape = shared_->slots()[kSymbols + shape];
    return r;
  }
  static Ref make_record(std::uint32_t tag, std::size_t n) {
    auto* r = static_cast<Record*>(GC_MALLOC(sizeof(Record) + n * sizeof(Value)));  // zeroed
    r->tag = tag;
    r->length = std::uint32_t(n);
    return r;
  }
  void set_string(Ref r, std::size_t i, std::uint32_t tag, std::size_t n, std::uint64_t seed) {
    r->slots()[i] = value(make_string(tag, n, seed));
  }
  void set_ref(Ref r, std::size_t i, Ref child) { r->slots()[i] = value(child); }
  void set_value(Ref r, std::size_t i, Value v) { r->slots()[i] = v; }
  void set_shared(Ref r, std::size_t i, std::size_t index) {
    r->slots()[i] = shared_->slots()[index];
  }
  void set_shared_slot(std::size_t index, Ref v) { shared_->slots()[index] = value(v); }
  Ref shared() { return shared_; }

  std::size_t parts() const { return parts_; }
  Value part(std::size_t index) {
    return chunk(index / kPartsPerChunk)->slots()[index % kPartsPerChunk];
  }
  void put_part(std::size_t index, Ref p) {
    if (index == parts_) {
      if (parts_ % kPartsPerChunk == 0) add_chunk();
      ++parts_;
    }
    chunk(index / kPartsPerChunk)->slots()[index % kPartsPerChunk] = value(p);
  }
  std::size_t replace_string(std::size_t index, std::size_t field, std::uint64_t seed) {
    auto* root = reinterpret_cast<Record*>(part(index).raw_bits());
    if (field >= root->length) return 0;
    Value v = root->slots()[field];
    if (!v.is_object() || cell(v)->tag != kTagString) return 0;
    std::uint32_t n = cell(v)->length;
    root->slots()[field] = value(make_string(kTagString, n, seed));
    return string_bytes(n);
  }

  void heap_fields(Result& r) const {
    r.extra.emplace_back("heap_bytes", double(GC_get_heap_size()));
  }
  /// Boehm's collections since the last call, from BoehmPauses (common.hpp).
  void sync_pauses(PauseRecord& record) {
    const auto& values = marrow::bench::BoehmPauses::log().values();
    for (; synced_ < values.size(); ++synced_) record.add(kFull, false, values[synced_]);
  }

 private:
  static Cell* make_string(std::uint32_t tag, std::size_t n, std::uint64_t seed) {
    auto* s = static_cast<Cell*>(GC_MALLOC_ATOMIC(sizeof(Cell) + n));
    s->tag = tag;
    s->length = std::uint32_t(n);
    fill(reinterpret_cast<unsigned char*>(s + 1), n, seed);
    return s;
  }
  Record* chunk(std::size_t c) {
    return reinterpret_cast<Record*>(directory_->slots()[c].raw_bits());
  }
  void add_chunk() {
    std::size_t c = parts_ / kPartsPerChunk;
    Ref fresh = make_record(kTagRecord, kPartsPerChunk);
    if (c == directory_->length) {
      Ref bigger = make_record(kTagRecord, 2 * c);
      for (std::size_t i = 0; i < c; ++i) bigger->slots()[i] = directory_->slots()[i];
      directory_ = bigger;
    }
    directory_->slots()[c] = value(fresh);
  }

  // Held by this object, which lives on main's stack: Boehm scans it.
  Record* shared_ = nullptr;
  Record* directory_ = nullptr;
  std::size_t parts_ = 0;
  std::size_t synced_ = 0;
};

constexpr double kMiB = 1024.0 * 1024.0;

// ---- The workload, the same for both variants ---------------------------------------------

/// Sink for what the workload reads, so the compiler keeps the reads.
volatile std::uint64_t g_sink = 0;

/// A record and what hangs from it, `depth` levels of records deep; adds the bytes it
/// allocates (nominal sizes) to `bytes`.
template <class H>
typename H::Ref build_record(H& h, Rng& rng, int depth, bool root, std::size_t& bytes) {
  typename H::Scope scope(h);
  std::size_t n;
  bool array = false;
  std::uint64_t r = root ? 1000 : rng.below(1000);
  if (r < 2) {
    n = 1100 + rng.below(1000), array = true;  // over 8 KiB: large-object space
  } else if (r < 40) {
    n = 128 + rng.below(384), array = true;
  } else if (r < 250) {
    n = 16 + rng.below(48), array = true;
  } else {
    n = root ? 6 + rng.below(7) : 2 + rng.below(7);
  }
  typename H::Ref rec = h.record(n, array ? kNoShape : rng.below(kShapes));
  bytes += record_bytes(n);
  for (std::size_t i = 0; i < n; ++i) {
    // Objects hold more references than arrays, and only they nest further.
    std::uint64_t c = rng.below(100);
    if (!array && depth > 0 && c < 40) {
      typename H::Ref child = build_record(h, rng, depth - 1, false, bytes);
      h.set_ref(rec, i, child);
    } else if (c < 65) {
      h.set_value(rec, i, Value::number(double(rng.next() >> 11)));
    } else if (c < 85) {
      std::size_t len = string_length(rng);
      h.set_string(rec, i, kTagString, len, rng.next());
      bytes += string_bytes(len);
    } else if (c < 95) {
      h.set_shared(rec, i, rng.below(kSymbols));
    } else {
      h.set_value(rec, i, Value::boolean(c & 1));
    }
  }
  return scope.escape(rec);
}

template <class H>
typename H::Ref build_part(H& h, Rng& rng, std::size_t& bytes) {
  return build_record(h, rng, kPartDepth, true, bytes);
}

/// The bytes of a part (nominal sizes), shared symbols and shapes not counted.
template <class H>
std::size_t part_bytes(Value v) {
  if (!v.is_object()) return 0;
  const typename H::Cell* c = H::cell(v);
  if (c->tag == kTagString) return string_bytes(c->length);
  if (c->tag != kTagRecord) return 0;
  std::size_t sum = record_bytes(c->length);
  for (std::size_t i = 0; i < c->length; ++i) sum += part_bytes<H>(H::slot(c, i));
  return sum;
}

/// Reads a part: strings' bytes, numbers, symbols, `depth` levels of records.
template <class H>
std::uint64_t digest(Value v, int depth) {
  if (!v.is_object()) return v.raw_bits();
  const typename H::Cell* c = H::cell(v);
  if (c->tag != kTagRecord && c->tag != kTagShape) return digest_bytes(H::bytes(c), c->length);
  std::uint64_t h = c->length;
  if (depth == 0) return h;
  for (std::size_t i = 0; i < c->length; ++i) h = h * 31 + digest<H>(H::slot(c, i), depth - 1);
  return h;
}

/// The symbols and shapes every part points at.
template <class H>
void build_shared(H& h, Rng& rng) {
  typename H::Frame frame(h);
  typename H::Ref table = h.shared();
  for (std::size_t i = 0; i < kSymbols; ++i)
    h.set_string(table, i, kTagSymbol, 8 + rng.below(24), rng.next());
  for (std::size_t i = 0; i < kShapes; ++i) {
    typename H::Frame inner(h);
    typename H::Ref shape = h.make_record(kTagShape, kShapeFields);
    for (std::size_t f = 0; f < kShapeFields; ++f) h.set_shared(shape, f, rng.below(kSymbols));
    h.set_shared_slot(kSymbols + i, shape);
  }
}

struct Params {
  std::vector<std::size_t> live_mib = {1024, 4096};
  double seconds = 5;
  double churn_mib_s = 64;
  long long min_majors = 1;
};

/// What the steady workload did.
struct SteadyWork {
  std::size_t transactions = 0, parts_replaced = 0;
  std::size_t allocated = 0, replaced_bytes = 0;
  bool cut_short = false;  // stopped at the time cap before min_majors major collections
};

/// Builds parts until the structure holds `target` bytes; returns the bytes allocated.
template <class H>
std::size_t grow(H& h, Rng& rng, std::size_t target, std::size_t& live) {
  std::size_t allocated = 0;
  while (live < target) {
    typename H::Frame frame(h);
    std::size_t b = 0;
    typename H::Ref p = build_part(h, rng, b);
    h.put_part(h.parts(), p);
    live += b;
    allocated += b;
  }
  return allocated;
}

/// Major collections (a stop-the-world major or compaction, a remark, a Boehm collection)
/// recorded from `begin` on.
std::size_t majors_since(const PauseRecord& record, std::size_t begin) {
  std::size_t n = 0;
  for (std::size_t i = begin; i < record.size(); ++i) {
    Category c = record[i].category;
    n += c == kMajor || c == kCompact || c == kRemark || c == kFull;
  }
  return n;
}

/// The steady workload: at least p.seconds, and on until p.min_majors major collections
/// have finished in it (a window without one would show only minor collections), but
/// not past kTimeCap times p.seconds. `live` follows the sizes of the parts replaced.
template <class H>
SteadyWork steady(H& h, Rng& rng, const Params& p, std::size_t& live, PauseRecord& record) {
  // With --seconds 5, 100 s: room for a major collection at 4 GiB live and the default
  // rate (up to 4 GiB more to promote before the growth trigger: up to 64 s at 64 MiB/s).
  constexpr double kTimeCap = 20;
  SteadyWork w;
  const double rate = p.churn_mib_s * kMiB;  // bytes a second
  h.sync_pauses(record);
  const std::size_t begin = record.size();
  std::size_t majors = 0, counted = begin;
  const auto start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  for (;;) {
    double t = elapsed();
    if (t >= p.seconds) {
      h.sync_pauses(record);
      majors += majors_since(record, counted);
      counted = record.size();
      if (majors >= std::size_t(p.min_majors)) break;
      if (t >= kTimeCap * p.seconds) {
        w.cut_short = true;
        break;
      }
    }
    typename H::Frame frame(h);
    {
      typename H::Frame txn(h);
      typename H::Ref tmp = build_record(h, rng, kTempDepth, true, w.allocated);
      g_sink = g_sink + digest<H>(H::value(tmp), 3);
    }
    g_sink = g_sink + digest<H>(h.part(rng.below(h.parts())), 2);
    w.allocated += h.replace_string(rng.below(h.parts()), rng.below(12), rng.next());
    ++w.transactions;
    // Behind the rate (after a long pause, or when the mutator cannot keep up): catch up
    // for at most 50 ms, so that transactions go on.
    for (double limit = t + 0.05; double(w.replaced_bytes) < rate * t && t < limit;) {
      typename H::Frame replace(h);
      std::size_t index = rng.below(h.parts());
      std::size_t b = 0;
      typename H::Ref fresh = build_part(h, rng, b);
      live -= part_bytes<H>(h.part(index));
      h.put_part(index, fresh);
      live += b;
      w.allocated += b;
      w.replaced_bytes += b;
      ++w.parts_replaced;
      t = elapsed();
    }
  }
  return w;
}

void print_pauses(const char* what, const PauseSummary& s) {
  std::printf("  %s: %zu pauses, max %.2f ms, p99 %.2f ms, total %.1f ms\n", what, s.all.count(),
              s.all.max_us() / 1e3, s.all.percentile_us(99) / 1e3, s.all.total_ms());
}

void print_kinds(const PauseSummary& build, const PauseSummary& steady) {
  std::printf("    %-10s %7s %10s %10s   %7s %10s %10s\n", "", "build", "max ms", "total ms",
              "steady", "max ms", "total ms");
  for (std::size_t k = 0; k < kCategoryCount; ++k) {
    const KindStats& b = build.kinds[k];
    const KindStats& s = steady.kinds[k];
    if (b.count == 0 && s.count == 0) continue;
    std::printf("    %-10s %7zu %10.2f %10.1f   %7zu %10.2f %10.1f\n", kCategoryNames[k], b.count,
                double(b.max_ns) / 1e6, double(b.total_ns) / 1e6, s.count, double(s.max_ns) / 1e6,
                double(s.total_ns) / 1e6);
  }
}

template <class H>
void run_phases(H& h, const std::string& variant, const Params& p, PauseRecord& record) {
  Rng rng(kSeed);
  build_shared(h, rng);
  std::size_t live = 0;
  for (std::size_t phase = 0; phase < p.live_mib.size(); ++phase) {
    const std::size_t target = p.live_mib[phase] << 20;
    marrow::bench::Stopwatch sw;
    h.sync_pauses(record);
    const std::size_t build_begin = record.size();
    const std::size_t built = grow(h, rng, target, live);
    const double build_ms = sw.wall_ms();
    h.sync_pauses(record);
    const std::size_t steady_begin = record.size();
    SteadyWork w = steady(h, rng, p, live, record);
    h.sync_pauses(record);
    const std::size_t end = record.size();
    const double wall_ms = sw.wall_ms();
    const double steady_ms = wall_ms - build_ms;

    const PauseSummary all = summarize(record, build_begin, end);
    const PauseSummary build = summarize(record, build_begin, steady_begin);
    const PauseSummary s = summarize(record, steady_begin, end);
    std::printf(
        "phase %zu: %s, %.0f MiB live in %zu parts (built %.0f MiB in %.0f ms); steady %.1f s: "
        "%zu transactions, %zu parts replaced (%.0f MiB/s), %.0f MiB allocated%s\n",
        phase + 1, variant.c_str(), double(live) / kMiB, h.parts(), double(built) / kMiB, build_ms,
        steady_ms / 1e3, w.transactions, w.parts_replaced,
        double(w.replaced_bytes) / kMiB / (steady_ms / 1e3), double(w.allocated) / kMiB,
        w.cut_short ? " (time cap reached before --min-majors major collections)" : "");
    print_pauses("phase ", all);
    print_pauses("build ", build);
    print_pauses("steady", s);
    print_kinds(build, s);
    std::printf("  wall %.0f ms, peak RSS %.0f MiB, RSS now %.0f MiB\n", wall_ms,
                double(marrow::bench::peak_rss_kb()) / 1024.0, marrow::bench::rss_mib());

    // The headline pause figures are the whole phase's, build included: the requirement
    // is about every pause of a program that grows to this size and keeps it.
    Result r;
    r.workload = "large-live";
    r.variant = variant;
    r.finish(sw);
    r.collections = double(all.all.count());
    r.pause_p50_us = all.all.percentile_us(50);
    r.pause_p99_us = all.all.percentile_us(99);
    r.pause_max_us = all.all.max_us();
    r.extra.emplace_back("phase", double(phase + 1));
    r.extra.emplace_back("live_mib", double(p.live_mib[phase]));
    r.extra.emplace_back("live_bytes", double(live));
    r.extra.emplace_back("churn_mib_s", p.churn_mib_s);
    r.extra.emplace_back("build_ms", build_ms);
    r.extra.emplace_back("steady_ms", steady_ms);
    r.extra.emplace_back("transactions", double(w.transactions));
    r.extra.emplace_back("transactions_per_s", double(w.transactions) / (steady_ms / 1e3));
    r.extra.emplace_back("replaced_mib", double(w.replaced_bytes) / kMiB);
    r.extra.emplace_back("allocated_mib", double(w.allocated) / kMiB);
    r.extra.emplace_back("pause_total_ms", all.all.total_ms());
    // As HeapStats counts them: every major collection, remarks and compactions included.
    const auto& k = all.kinds;
    r.extra.emplace_back("minor", double(k[kMinor].count));
    r.extra.emplace_back("major", double(k[kMajor].count + k[kCompact].count + k[kRemark].count));
    r.extra.emplace_back("compactions", double(k[kCompact].count + all.compacting_remarks));
    for (std::size_t c = 0; c < kCategoryCount; ++c) {
      if (c != kMinor) r.extra.emplace_back(kCategoryFields[c], double(k[c].count));
      r.extra.emplace_back(std::string(kCategoryFields[c]) + "_max_us", double(k[c].max_ns) / 1e3);
    }
    r.extra.emplace_back("build_pause_max_us", build.all.max_us());
    r.extra.emplace_back("build_pause_p99_us", build.all.percentile_us(99));
    r.extra.emplace_back("build_pause_total_ms", build.all.total_ms());
    r.extra.emplace_back("steady_collections", double(s.all.count()));
    r.extra.emplace_back("steady_major", double(majors_since(record, steady_begin)));
    r.extra.emplace_back("steady_pause_max_us", s.all.max_us());
    r.extra.emplace_back("steady_pause_p99_us", s.all.percentile_us(99));
    r.extra.emplace_back("steady_pause_total_ms", s.all.total_ms());
    r.extra.emplace_back("pauses_lost", double(record.lost()));
    h.heap_fields(r);
    r.print();
  }
}

std::vector<std::size_t> parse_sizes(const std::string& text) {
  std::vector<std::size_t> out;
  for (const char* s = text.c_str(); *s != '\0';) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(s, &end, 10);
    if (end == s || v == 0 || (*end != ',' && *end != '\0')) {
      std::fprintf(stderr, "bad --live-mib '%s' (expected sizes in MiB, e.g. 1024,4096)\n",
                   text.c_str());
      std::exit(2);
    }
    if (!out.empty() && v < out.back()) {
      std::fprintf(stderr, "--live-mib: each phase grows the structure (sizes ascending)\n");
      std::exit(2);
    }
    out.push_back(std::size_t(v));
    s = *end == ',' ? end + 1 : end;
  }
  return out;
}

double parse_positive(const std::string& text, const char* what) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || !(v > 0)) {
    std::fprintf(stderr, "bad %s '%s' (expected a positive number)\n", what, text.c_str());
    std::exit(2);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  marrow::bench::Args args(argc, argv);
  const std::string variant = args.get("variant", "marrow");
  Params p;
  p.live_mib = parse_sizes(args.get("live-mib", "1024,4096"));
  p.seconds = parse_positive(args.get("seconds", "5"), "--seconds");
  p.churn_mib_s = parse_positive(args.get("churn-mib-s", "64"), "--churn-mib-s");
  p.min_majors = args.get_int("min-majors", p.min_majors);

  PauseRecord record;
  if (variant == "marrow") {
    marrow::bench::Stopwatch sw;
    marrow::Runtime rt(marrow::Config::from_env(marrow::Config{}));
    MarrowHeap h(rt, record);
    run_phases(h, variant, p, record);
    Result::write_pause_timeline(h.timeline(), sw, sw.wall_ms());
  } else if (variant == "boehm") {
    marrow::bench::init_boehm();
    marrow::bench::Stopwatch sw;
    BoehmHeap h;
    run_phases(h, variant, p, record);
    Result::write_pause_timeline(marrow::bench::BoehmPauses::timeline(), sw, sw.wall_ms());
  } else {
    marrow::bench::unknown_variant("large-live", variant, "marrow boehm");
  }
  return 0;
}
