// gc::Heap: allocation slow paths, handle and slot tables, roots, pins, finalizers,
// sizing policy, heap limit, statistics and events. The collections themselves live in
// minor.cpp (nursery evacuation) and major.cpp (mark, sweep, compact).
#include "marrow/gc/heap.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "gc_trace.hpp"
#include "marrow/gc/errors.hpp"

namespace marrow::internal {

// ---- Handle area and slot tables -----------------------------------------------------

bool HandleArea::owns(Object* const* slot) const {
  if (next == nullptr) return false;
  for (std::size_t b = 0; b <= block && b < blocks.size(); ++b) {
    Object** start = blocks[b];
    Object** end = b == block ? next : start + kBlockSlots;
    if (slot >= start && slot < end) return true;
  }
  return false;
}

std::size_t HandleArea::live_slots() const {
  if (next == nullptr) return 0;
  return block * kBlockSlots + std::size_t(next - blocks[block]);
}

SlotTable::~SlotTable() {
  for (Object** c : chunks_) delete[] c;
}

Object** SlotTable::acquire(Object* value) {
  if (free_ == nullptr) {
    auto* chunk = new Object*[kChunkSlots];
    chunks_.push_back(chunk);
    for (std::size_t i = kChunkSlots; i-- > 0;) {
      chunk[i] = reinterpret_cast<Object*>(reinterpret_cast<std::uintptr_t>(free_) | 1);
      free_ = &chunk[i];
    }
  }
  Object** slot = free_;
  free_ = reinterpret_cast<Object**>(reinterpret_cast<std::uintptr_t>(*slot) & ~std::uintptr_t{1});
  *slot = value;
  ++live_;
  return slot;
}

void SlotTable::release(Object** slot) noexcept {
  *slot = reinterpret_cast<Object*>(reinterpret_cast<std::uintptr_t>(free_) | 1);
  free_ = slot;
  --live_;
}

bool SlotTable::owns(Object* const* slot) const {
  for (Object** c : chunks_)
    if (slot >= c && slot < c + kChunkSlots) return true;
  return false;
}

// ---- Construction --------------------------------------------------------------------

namespace {

Config normalised(Config c) {
  constexpr std::size_t kMinNursery = std::size_t{64} << 10;
  if (c.nursery_bytes < kMinNursery) c.nursery_bytes = kMinNursery;
  if (c.heap_limit_bytes != 0) {
    // Leave at least half of the limit to the old generation.
    std::size_t young =
        c.nursery_bytes + 2 * (c.survivor_bytes ? c.survivor_bytes : c.nursery_bytes / 4);
    while (young > c.heap_limit_bytes / 2 && c.nursery_bytes > kMinNursery) {
      c.nursery_bytes /= 2;
      if (c.survivor_bytes != 0) c.survivor_bytes /= 2;
      young = c.nursery_bytes + 2 * (c.survivor_bytes ? c.survivor_bytes : c.nursery_bytes / 4);
    }
  }
  if (c.survivor_bytes == 0) c.survivor_bytes = c.nursery_bytes / 4;
  if (c.survivor_bytes < 4096) c.survivor_bytes = 4096;
  // Large objects must fit neither eden's slow path badly nor an old page: at most a
  // quarter of eden and of a page's object area.
  std::size_t max_large =
      std::min(c.nursery_bytes / 4, (kPageSize - Page::header_bytes(kPageSize)) / 2);
  if (c.large_object_bytes > max_large) c.large_object_bytes = max_large;
  if (c.large_object_bytes < kMinLargeObjectBytes) c.large_object_bytes = kMinLargeObjectBytes;
  if (c.tenure_age > kMaxAge - 1) c.tenure_age = kMaxAge - 1;
  if (c.growth_factor < 1.1) c.growth_factor = 1.1;
  return c;
}

}  // namespace

Heap::Heap(const Config& config)
    : config_(normalised(config)),
      owner_thread_(std::this_thread::get_id()),
      provider_(config_.page_reserve),
      old_(provider_, this, SpaceKind::kOld),
      large_(provider_, this),
      immortal_(provider_, this, SpaceKind::kImmortal) {
  if (!nursery_.init(config_.nursery_bytes, config_.survivor_bytes))
    throw OutOfMemory("marrow: cannot reserve the nursery (too many runtimes, or no memory)");
  top_ = nursery_.eden_start();
  eden_limit_ = nursery_.eden_end();
  stress_countdown_ = config_.stress_interval;
  next_major_trigger_ = config_.initial_old_trigger_bytes;
  if (config_.heap_limit_bytes != 0) {
    std::size_t room =
        config_.heap_limit_bytes - std::min(config_.heap_limit_bytes, nursery_.committed_bytes());
    next_major_trigger_ = std::min(next_major_trigger_, room / 2);
  }
  set_limit();
  if (!config_.gc_trace_path.empty()) start_gc_trace(config_.gc_trace_path);
}

Heap::~Heap() {
  // Native resources of objects still alive are released: every finalizer runs once.
  in_finalizers_ = true;
  auto run = [](std::vector<Object*>& list) {
    for (Object* o : list) {
      HeaderWord h = *header_of(o);
      if (const auto fin = type_info(header_type(h)).finalize) fin(o);
    }
    list.clear();
  };
  run(pending_finalizers_);
  run(finalizable_young_);
  run(finalizable_old_);
}

void Heap::reset_eden() {
  MARROW_DCHECK(!pretenuring_, "collections stop pretenuring before they empty eden");
#if defined(MARROW_DEBUG)
  std::memset(nursery_.eden_start(), 0xDB, std::size_t(top_ - nursery_.eden_start()));
#endif
  eden_allocated_before_ += std::size_t(top_ - nursery_.eden_start());
  top_ = nursery_.eden_start();
  eden_limit_ = nursery_.eden_end();
  set_limit();
}

void Heap::wrong_thread() const {
  throw UsageError(
      "marrow: a Runtime is used by one thread at a time: this thread is not the runtime's "
      "owner (call rt.attach_current_thread() to hand it over)");
}

void Heap::throw_allocation_in_constructor() {
  throw UsageError("marrow: constructors of managed objects must not allocate managed memory");
}

void Heap::throw_invalid_size(std::size_t size) {
  throw InvalidSize(
      fmt::format("marrow: object size {} exceeds the maximum of {} bytes", size, kMaxObjectSize));
}

// ---- Allocation slow paths -------------------------------------------------------------

std::byte* Heap::allocate_slow(std::size_t size) {
  check_thread();
  if (in_finalizers_) throw UsageError("marrow: finalizers must not allocate managed memory");
  MARROW_CHECK(!in_gc_, "no allocation during a collection (trace/process_weak must not allocate)");
  check_size(size);
  if (size > config_.large_object_bytes) return allocate_large(size);
  if (constructing_)
    throw UsageError("marrow: constructors of managed objects must not allocate managed memory");

  if (config_.stress_interval != 0) {
    if (--stress_countdown_ == 0) {
      stress_countdown_ = config_.stress_interval;
      static constexpr GcKind kCycle[] = {GcKind::kMinor, GcKind::kMajor, GcKind::kCompact};
      // Every other stress collection opens a pretenuring window that lasts until the next
      // one, so stress runs allocate straight into old space as well as into eden.
      pretenure_left_ =
          (stress_cycle_ % 2 != 0 && config_.pretenure_survival > 0) ? nursery_.eden_capacity() : 0;
      GcKind kind = kCycle[stress_cycle_++ % 3];
      if (kind == GcKind::kMinor)
        collect_minor(GcReason::kStress, false);
      else
        collect_major(GcReason::kStress, kind == GcKind::kCompact);
      run_finalizers();
      enforce_heap_limit(0);
    }
  }
  if (!pretenuring_ && std::size_t(eden_limit_ - top_) < size) {
    collect_minor(GcReason::kAllocation, false);
    if (old_generation_full(0)) collect_major(GcReason::kHeapGrowth, false);
    run_finalizers();
    enforce_heap_limit(0);
  }
  // A collection above may have opened a pretenuring window; when one closes, eden is empty.
  if (pretenuring_) {
    if (std::byte* p = allocate_pretenured(size)) return p;
  }
  std::byte* p = top_;
  top_ += size;
  set_limit();
  return p;
}

// ---- Pretenuring ------------------------------------------------------------------------

void Heap::stop_pretenuring() {
  if (!pretenuring_) return;
  sync_lab();
  pretenuring_ = false;
  top_ = nursery_.eden_start();  // eden stays empty while pretenuring
  set_limit();
}

void Heap::resume_allocation() {
  if (pretenure_left_ != 0 && !pretenuring_) {
    MARROW_DCHECK(top_ == nursery_.eden_start(), "pretenuring starts with an empty eden");
    pretenuring_ = true;
    top_ = lent_from_ = old_.lab_top();
  }
  set_limit();
}

void Heap::adapt_pretenuring(std::size_t copied, std::size_t young_before) {
  double threshold = config_.pretenure_survival;
  if (threshold <= 0 || young_before == 0) return;
  // Survival is averaged over the last few minor collections: one nursery can hold the end
  // of a structure that just died and the start of the next, and a single low reading
  // should not end a phase that keeps building long-lived data.
  double survival = double(copied) / double(young_before);
  survival_average_ = 0.5 * survival_average_ + 0.5 * survival;
  std::size_t eden = nursery_.eden_capacity();
  if (survival >= threshold) {
    // Most of what the nursery held was copied: allocate the next window old. Windows
    // double while the nursery keeps being mostly alive between them.
    pretenure_window_ = pretenure_window_ == 0 ? eden : std::min(2 * pretenure_window_, 8 * eden);
  } else if (survival_average_ < threshold) {
    pretenure_window_ = 0;
  } else if (pretenure_window_ == 0) {
    pretenure_window_ = eden;
  }
  pretenure_left_ = pretenure_window_;
}

std::byte* Heap::allocate_pretenured(std::size_t size) {
  sync_lab();
  if (pretenure_left_ == 0) {
    // The window is over. The next minor collection decides whether another opens; it
    // comes after a quarter of eden, which is enough to tell and copies less if the
    // answer is yes again.
    eden_limit_ = nursery_.eden_start() + align_up(nursery_.eden_capacity() / 4, kWordSize);
    stop_pretenuring();
    return nullptr;
  }
  if (old_generation_full(0)) {
    collect_major(GcReason::kHeapGrowth, false);
    run_finalizers();
  }
  enforce_heap_limit(size);
  if (!pretenuring_) return nullptr;  // a collection closed the window
  std::byte* p = old_.allocate(size);
  if (p == nullptr) throw OutOfMemory("marrow: out of memory: the OS refused a page for old space");
  stats_.bytes_pretenured += size;
  pretenure_left_ -= std::min(size, pretenure_left_);
  top_ = lent_from_ = old_.lab_top();
  set_limit();
  return p;
}

std::byte* Heap::allocate_large(std::size_t size) {
  if (constructing_)
    throw UsageError("marrow: constructors of managed objects must not allocate managed memory");
  std::size_t run = align_up(size + Page::header_bytes(size + kPageSize) + 64, kPageSize);
  if (old_generation_full(size)) {
    collect_major(GcReason::kHeapGrowth, false);
    run_finalizers();
  }
  enforce_heap_limit(run);
  std::byte* p = large_.allocate(size);
  if (p == nullptr) {
    collect_major(GcReason::kHeapLimit, true);
    run_finalizers();
    p = large_.allocate(size);
    if (p == nullptr)
      throw OutOfMemory(
          fmt::format("marrow: out of memory: the OS refused {} bytes for a large object", size));
  }
  other_allocated_ += size;
  return p;
}

std::byte* Heap::allocate_immortal(std::size_t size) {
  check_thread();
  check_size(size);
  MARROW_CHECK(!in_gc_, "no allocation during a collection");
  if (in_finalizers_) throw UsageError("marrow: finalizers must not allocate managed memory");
  if (size > kPageSize - Page::header_bytes(kPageSize))
    throw InvalidSize(
        fmt::format("marrow: immortal objects are limited to one page ({} bytes requested)", size));
  enforce_heap_limit(size);
  std::byte* p = immortal_.allocate(size);
  if (p == nullptr) throw OutOfMemory("marrow: out of memory: no page for an immortal object");
  other_allocated_ += size;
  stats_.immortal_bytes += size;
  return p;
}

void Heap::register_finalizable(Object* object) {
  (is_young(object) ? finalizable_young_ : finalizable_old_).push_back(object);
}

Object** Heap::handle_slow() {
  check_thread();
  if (handles_.depth == 0)
    throw UsageError(
        "marrow: no HandleScope is open: open a marrow::HandleScope before allocating or "
        "creating a Local");
  ++handles_.block;
  if (handles_.block == handles_.blocks.size())
    handles_.blocks.push_back(new Object*[HandleArea::kBlockSlots]);
  handles_.next = handles_.blocks[handles_.block];
  handles_.limit = handles_.next + HandleArea::kBlockSlots;
  return handles_.next;
}

void Heap::add_root_source(RootSource* source) {
  check_thread();
  MARROW_CHECK(source != nullptr, "add_root_source needs a source");
  if (std::find(root_sources_.begin(), root_sources_.end(), source) != root_sources_.end())
    throw UsageError("marrow: this RootSource is already registered");
  root_sources_.push_back(source);
}

void Heap::remove_root_source(RootSource* source) {
  check_thread();
  auto it = std::find(root_sources_.begin(), root_sources_.end(), source);
  if (it == root_sources_.end()) throw UsageError("marrow: remove_root_source: not registered");
  root_sources_.erase(it);
}

void Heap::trace_roots(Tracer& tracer, bool include_handles) {
  struct RootSlots {
    static void visit(Tracer& t, Object*& slot) { t.visit(slot); }
  };
  if (include_handles) handles_.for_each_slot([&](Object*& s) { RootSlots::visit(tracer, s); });
  globals_.for_each([&](Object*& s) { RootSlots::visit(tracer, s); });
  for (RootSource* src : root_sources_) src->trace_roots(tracer);
}

void Heap::process_root_source_weaks(WeakProcessor& w) {
  for (RootSource* src : root_sources_) src->process_weak(w);
}

// ---- Collections: entry points ---------------------------------------------------------

void Heap::collect(GcKind kind, GcReason reason) {
  check_thread();
  if (in_finalizers_) throw UsageError("marrow: finalizers must not start a collection");
  if (constructing_) throw UsageError("marrow: constructors must not start a collection");
  MARROW_CHECK(!in_gc_, "collect() was called during a collection");
  if (kind == GcKind::kMinor)
    collect_minor(reason, false);
  else
    collect_major(reason, kind == GcKind::kCompact);
  run_finalizers();
}

void Heap::run_finalizers() {
  if (pending_finalizers_.empty()) return;
  std::vector<Object*> batch;
  batch.swap(pending_finalizers_);
  in_finalizers_ = true;
  set_limit();
  for (Object* o : batch) {
    if (const auto fin = type_info(header_type(*header_of(o))).finalize) {
      try {
        fin(o);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "marrow: a finalizer threw (ignored): %s\n", e.what());
      } catch (...) {
        std::fprintf(stderr, "marrow: a finalizer threw (ignored)\n");
      }
    }
  }
  in_finalizers_ = false;
  set_limit();
}

void Heap::enforce_heap_limit(std::size_t extra) {
  if (config_.heap_limit_bytes == 0) return;
  if (heap_bytes() + extra <= config_.heap_limit_bytes) return;
  collect_major(GcReason::kHeapLimit, true);
  run_finalizers();
  provider_.trim(0);
  while (heap_bytes() + extra > config_.heap_limit_bytes) {
    std::size_t needed = heap_bytes() + extra;
    std::size_t raised =
        near_limit_callback_ ? near_limit_callback_(config_.heap_limit_bytes, needed) : 0;
    if (raised <= config_.heap_limit_bytes) {
      throw OutOfMemory(fmt::format(
          "marrow: out of memory: heap limit of {} bytes reached ({} committed, {} more needed "
          "after a full compacting collection)",
          config_.heap_limit_bytes, heap_bytes(), extra));
    }
    config_.heap_limit_bytes = raised;
  }
}

// ---- Pins ------------------------------------------------------------------------------

Object* Heap::pin(Object* object) {
  check_thread();
  MARROW_CHECK(object != nullptr, "pin needs an object");
  if (is_young(object)) {
    // Promote it (and everything young) so that it has an old-space address.
    Object* slot = object;
    Object** root = globals_.acquire(slot);
    collect_minor(GcReason::kPin, true);
    run_finalizers();
    object = *root;
    globals_.release(root);
  }
  auto& count = pins_[object];
  if (count++ == 0) {
    *header_of(object) |= kPinnedBit;
    Page::of(object)->pinned_count++;
  }
  return object;
}

void Heap::unpin(Object* object) {
  check_thread();
  auto it = pins_.find(object);
  if (it == pins_.end()) throw UsageError("marrow: unpin: this object is not pinned");
  if (--it->second == 0) {
    pins_.erase(it);
    *header_of(object) &= ~kPinnedBit;
    Page::of(object)->pinned_count--;
  }
}

bool Heap::is_pinned(Object* object) const { return pins_.count(object) != 0; }

// ---- Events and statistics -------------------------------------------------------------

std::uint64_t Heap::add_gc_listener(std::function<void(const GcEvent&)> listener) {
  std::uint64_t id = next_listener_id_++;
  listeners_.emplace_back(id, std::move(listener));
  return id;
}

bool Heap::remove_gc_listener(std::uint64_t id) {
  for (auto it = listeners_.begin(); it != listeners_.end(); ++it) {
    if (it->first == id) {
      listeners_.erase(it);
      return true;
    }
  }
  return false;
}

std::size_t Heap::heap_bytes() const {
  return nursery_.committed_bytes() + provider_.committed_bytes();
}

const HeapStats& Heap::stats() {
  sync_lab();
  HeapStats& s = stats_;
  s.heap_bytes = heap_bytes();
  s.peak_heap_bytes = std::max(s.peak_heap_bytes, s.heap_bytes);
  s.old_bytes = old_.allocated_bytes();
  s.large_bytes = large_.object_bytes();
  s.live_bytes = s.old_bytes + s.large_bytes + s.immortal_bytes;
  s.pages_returned = provider_.pages_returned_to_os();
  s.bytes_allocated = other_allocated_ + eden_allocated_before_ + s.bytes_pretenured +
                      std::size_t(eden_top() - nursery_.eden_start());
  auto usage = space_usage();
  for (std::size_t i = 0; i < kSpaceCount; ++i) {
    s.spaces[i].capacity = usage[i].capacity;
    s.spaces[i].used = usage[i].used;
  }
  s.uptime = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                                  created_);
  s.allocation_rate =
      s.uptime.count() > 0 ? double(s.bytes_allocated) / (double(s.uptime.count()) / 1e9) : 0.0;
  s.pause_p50 = s.pauses.percentile(0.50);
  s.pause_p90 = s.pauses.percentile(0.90);
  s.pause_p99 = s.pauses.percentile(0.99);
  return s;
}

std::array<SpaceStats, kSpaceCount> Heap::space_usage() const {
  std::array<SpaceStats, kSpaceCount> u{};
  auto& eden = u[std::size_t(Space::kEden)];
  eden.capacity = nursery_.eden_capacity();
  eden.used = std::size_t(eden_top() - nursery_.eden_start());
  auto& survivor = u[std::size_t(Space::kSurvivor)];
  survivor.capacity = 2 * nursery_.survivor_capacity();
  survivor.used = nursery_.from_space().used();
  auto& old = u[std::size_t(Space::kOld)];
  old.capacity = old_.pages().size() * kPageSize;
  old.used = old_.allocated_bytes();
  auto& large = u[std::size_t(Space::kLarge)];
  for (Page* run : large_.runs()) large.capacity += run->run_bytes;
  large.used = large_.object_bytes();
  auto& immortal = u[std::size_t(Space::kImmortal)];
  immortal.capacity = immortal_.pages().size() * kPageSize;
  immortal.used = stats_.immortal_bytes;
  return u;
}

void Heap::begin_collection() {
  stop_pretenuring();  // collections see old space walkable and eden as eden
  GcEvent& e = event_;
  e = GcEvent{};
  e.start = std::chrono::steady_clock::now();
  phase_start_ = e.start;
  e.bytes_before = heap_bytes();
  auto usage = space_usage();
  for (std::size_t i = 0; i < kSpaceCount; ++i) {
    e.space_before[i] = usage[i].used;
    e.live_before += usage[i].used;
  }
  phase_ = GcPhase::kRoots;
  if (config_.verify_heap) {
    phase_ = GcPhase::kVerify;
    verify_heap();
    enter_phase(GcPhase::kRoots);
  }
  in_gc_ = true;
}

void Heap::enter_phase(GcPhase phase) {
  auto now = std::chrono::steady_clock::now();
  auto spent = std::chrono::duration_cast<std::chrono::nanoseconds>(now - phase_start_);
  GcEvent& e = event_;
  if (spent.count() > 0) {
    e.phases[std::size_t(phase_)] += spent;
    PhaseSpan* last = e.span_count == 0 ? nullptr : &e.spans[e.span_count - 1];
    if (last != nullptr && (last->phase == phase_ || e.span_count == GcEvent::kMaxSpans)) {
      last->duration += spent;  // the same phase again, or out of room: extend the last span
    } else {
      e.spans[e.span_count++] = {
          phase_, std::chrono::duration_cast<std::chrono::nanoseconds>(phase_start_ - e.start),
          spent};
    }
  }
  phase_ = phase;
  phase_start_ = now;
}

void Heap::end_collection(GcKind kind, GcReason reason, std::size_t promoted) {
  in_gc_ = false;
  if (config_.verify_heap) {
    enter_phase(GcPhase::kVerify);
    verify_heap();
  }
  enter_phase(GcPhase::kVerify);  // closes the last phase; nothing is charged after this
  GcEvent& e = event_;
  e.sequence = ++gc_sequence_;
  e.kind = kind;
  e.reason = reason;
  e.pause = std::chrono::duration_cast<std::chrono::nanoseconds>(phase_start_ - e.start);
  e.bytes_after = heap_bytes();
  e.promoted_bytes = promoted;
  auto usage = space_usage();
  for (std::size_t i = 0; i < kSpaceCount; ++i) {
    e.space_after[i] = usage[i].used;
    e.live_after += usage[i].used;
  }

  HeapStats& s = stats_;
  if (kind == GcKind::kMinor)
    ++s.minor_collections;
  else
    ++s.major_collections;
  if (kind == GcKind::kCompact) ++s.compactions;
  ++s.collections_by_reason[std::size_t(reason)];
  s.total_pause += e.pause;
  s.last_pause = e.pause;
  s.max_pause = std::max(s.max_pause, e.pause);
  s.pauses.record(e.pause);
  (kind == GcKind::kMinor ? s.minor_pauses : s.major_pauses).record(e.pause);
  for (std::size_t p = 0; p < kGcPhaseCount; ++p) s.phase_total[p] += e.phases[p];
  s.peak_heap_bytes = std::max({s.peak_heap_bytes, e.bytes_before, e.bytes_after});
  // What each space holds right after the collection. A minor collection frees nothing in
  // old and large space, so there this is the last major's live size plus what minor
  // collections promoted since.
  for (std::size_t i = 0; i < kSpaceCount; ++i) s.spaces[i].live_after_gc = usage[i].used;
  resume_allocation();
  e.pretenure_window = pretenuring_ ? pretenure_left_ : 0;

  if (config_.trace_gc > 0) std::fprintf(stderr, "%s\n", format_event(e, config_.trace_gc).c_str());
  if (trace_writer_) trace_writer_->record(e, stats());
  if (!listeners_.empty()) {
    // Copies: a listener may register or remove listeners, or even collect, which would
    // overwrite event_ before the next listener ran.
    const GcEvent event = e;
    auto copy = listeners_;
    for (auto& [id, fn] : copy) fn(event);
  }
}

void Heap::start_gc_trace(const std::string& path) {
  check_thread();
  auto writer = std::make_unique<GcTraceWriter>(path, created_);
  trace_writer_ = std::move(writer);  // a trace in progress is finished by its destructor
}

void Heap::stop_gc_trace() {
  check_thread();
  trace_writer_.reset();
}

// ---- Addresses -------------------------------------------------------------------------

Space Heap::space_of(const void* p) const {
  if (nursery_.contains(p)) {
    auto* b = static_cast<const std::byte*>(p);
    return b < nursery_.eden_end() ? Space::kEden : Space::kSurvivor;
  }
  for (Page* page : old_.pages())
    if (page->contains(p)) return Space::kOld;
  for (Page* run : large_.runs())
    if (run->contains(p)) return Space::kLarge;
  for (Page* page : immortal_.pages())
    if (page->contains(p)) return Space::kImmortal;
  return Space::kNone;
}

bool Heap::owns(const void* object) const { return space_of(object) != Space::kNone; }

void Heap::for_each_object(const std::function<void(Object*, HeaderWord)>& fn) {
  auto walk = [&](std::byte* p, std::byte* end) {
    while (p < end) {
      HeaderWord h = *reinterpret_cast<HeaderWord*>(p);
      if (!is_free_type(header_type(h))) fn(static_cast<Object*>(object_of(p)), h);
      p += header_size_bytes(h);
    }
  };
  sync_lab();
  walk(nursery_.eden_start(), eden_top());
  walk(nursery_.from_space().start, nursery_.from_space().top);
  for (Page* page : old_.pages()) walk(page->area_start(), page->top);
  for (Page* run : large_.runs()) walk(run->area_start(), run->top);
  for (Page* page : immortal_.pages()) walk(page->area_start(), page->top);
}

// ---- Write barrier slow path -----------------------------------------------------------

void Heap::remember_page(Page* page) {
  page->in_remembered_list = true;
  remembered_pages_.push_back(page);
}

void Heap::remember_object(Object* object) {
  HeaderWord& h = *header_of(object);
  if (h & kRememberedBit) return;
  h |= kRememberedBit;
  remembered_objects_.push_back(object);
}

void remember_slot_slow(void* slot) noexcept {
  Page* page = page_containing(slot);
  MARROW_CHECK(page != nullptr,
               "Member<T> is only for fields of managed objects (a Member outside the managed "
               "heap received a young object)");
  page->remember_slot(slot);
  if (!page->in_remembered_list) static_cast<Heap*>(page->owner)->remember_page(page);
}

}  // namespace marrow::internal
