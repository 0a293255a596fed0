// The collector's state for one runtime: spaces, roots, remembered set, policies and
// statistics, plus the out-of-line slow paths the runtime's inline code falls into.
// Knows object graphs and raw root slots, not the C++ surface of handles.
#pragma once
#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "marrow/gc/config.hpp"
#include "marrow/gc/object.hpp"
#include "marrow/gc/stats.hpp"
#include "marrow/gc/tracer.hpp"
#include "marrow/heap/check.hpp"
#include "marrow/heap/header.hpp"
#include "marrow/heap/page.hpp"
#include "marrow/heap/spaces.hpp"

namespace marrow::internal {

/// Handle slots for Local<T>: blocks of raw object pointers used like a stack. Scopes
/// save (next, limit, block) and restore them. Invariant: every block before `block` is
/// full up to its end; `block` is in use up to `next`.
struct HandleArea {
  static constexpr std::size_t kBlockSlots = 1022;  // a block is 8 KiB with its links
  std::vector<Object**> blocks;
  std::size_t block = 0;  ///< index of the block `next` points into (valid if next != null)
  Object** next = nullptr;
  Object** limit = nullptr;
  int depth = 0;  ///< open HandleScopes

  HandleArea() = default;
  HandleArea(const HandleArea&) = delete;
  HandleArea& operator=(const HandleArea&) = delete;
  ~HandleArea() {
    for (Object** b : blocks) delete[] b;
  }

  template <class Fn>
  void for_each_slot(Fn&& fn) {
    if (next == nullptr) return;
    for (std::size_t b = 0; b < block; ++b)
      for (std::size_t i = 0; i < kBlockSlots; ++i) fn(blocks[b][i]);
    for (Object** s = blocks[block]; s < next; ++s) fn(*s);
  }
  bool owns(Object* const* slot) const;
  std::size_t live_slots() const;
};

/// Stable slots for Global and Weak handles: chunks that never move, a free list.
class SlotTable {
 public:
  ~SlotTable();
  Object** acquire(Object* value);
  void release(Object** slot) noexcept;
  bool owns(Object* const* slot) const;
  std::size_t size() const { return live_; }
  template <class Fn>
  void for_each(Fn&& fn) {
    for (Object** chunk : chunks_)
      for (std::size_t i = 0; i < kChunkSlots; ++i)
        if (!is_free(chunk[i])) fn(chunk[i]);
  }

 private:
  static constexpr std::size_t kChunkSlots = 512;
  static bool is_free(Object* p) { return (reinterpret_cast<std::uintptr_t>(p) & 1) != 0; }
  std::vector<Object**> chunks_;
  Object** free_ = nullptr;  ///< free slots hold (next free | 1)
  std::size_t live_ = 0;
};

using marrow::Space;
class GcTraceWriter;

/// The collector for one runtime. Single-threaded: the runtime's owner thread only.
class Heap {
 public:
  explicit Heap(const Config& config);
  ~Heap();
  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  // ---- Allocation ----------------------------------------------------------------
  // The bump pointer and limit read and written by the runtime's inline fast path: in
  // eden, or, while pretenuring, in old space's LAB (eden is then empty). `limit_` is
  // lowered to `top_` to force every allocation into the slow path (stress mode, inside
  // finalizers).
  std::byte* top_ = nullptr;
  std::byte* limit_ = nullptr;

  /// Memory for a young object of `size` bytes when the fast path failed, or for a large
  /// object. May collect. Throws OutOfMemory or UsageError; allocates nothing then.
  [[gnu::noinline]] std::byte* allocate_slow(std::size_t size);
  /// Memory in the immortal space (never moved or freed).
  std::byte* allocate_immortal(std::size_t size);
  /// Throws InvalidSize when size is beyond what any heap can hold.
  void check_size(std::size_t size) const {
    if (size > kMaxObjectSize) [[unlikely]]
      throw_invalid_size(size);
  }
  [[noreturn, gnu::cold]] static void throw_invalid_size(std::size_t size);
  std::size_t large_object_threshold() const { return config_.large_object_bytes; }
  void register_finalizable(Object* object);

  // ---- Handles and roots ---------------------------------------------------------
  HandleArea handles_;
  /// Called when `handles_.next == handles_.limit`: returns a fresh slot. Throws
  /// UsageError when no HandleScope is open.
  Object** handle_slow();
  SlotTable& globals() { return globals_; }
  SlotTable& weaks() { return weaks_; }
  void add_root_source(RootSource* source);
  void remove_root_source(RootSource* source);

  /// Set while a managed constructor runs: a collection then would free the object
  /// under construction, so the slow path refuses to collect.
  bool constructing_ = false;
  [[noreturn, gnu::cold]] static void throw_allocation_in_constructor();

  // ---- Collections ---------------------------------------------------------------
  void collect(GcKind kind, GcReason reason);
  Object* pin(Object* object);  ///< promotes a young object first; returns its address
  void unpin(Object* object);
  bool is_pinned(Object* object) const;
  void set_near_heap_limit_callback(std::function<std::size_t(std::size_t, std::size_t)> cb) {
    near_limit_callback_ = std::move(cb);
  }
  std::uint64_t add_gc_listener(std::function<void(const GcEvent&)> listener);
  bool remove_gc_listener(std::uint64_t id);

  // ---- Inspection ----------------------------------------------------------------
  const HeapStats& stats();
  /// Starts writing every collection and its phases as Chrome trace-event JSON to `path`
  /// (replacing a trace in progress). Throws std::runtime_error naming the path when it
  /// cannot be opened.
  void start_gc_trace(const std::string& path);
  /// Finishes the trace file (valid JSON from then on); no-op when none is open.
  void stop_gc_trace();
  bool gc_trace_active() const { return trace_writer_ != nullptr; }
  /// Writes the live object graph as a Chrome DevTools .heapsnapshot (runs a major
  /// collection first). Throws std::runtime_error naming the path on I/O failure.
  void write_heap_snapshot(const std::string& path);
  const Config& config() const { return config_; }
  /// Problems found by a full heap verification (empty when the heap is sound).
  std::vector<std::string> find_heap_problems();
  /// Aborts with the problems printed when the heap is broken.
  void verify_heap();
  Space space_of(const void* address) const;
  /// Calls fn(object, header) for each object in the heap, dead ones included unless a
  /// collection just ran. Eden and survivors are walked too.
  void for_each_object(const std::function<void(Object*, HeaderWord)>& fn);
  bool is_young(const void* p) const { return nursery_.contains(p); }
  bool owns(const void* object) const;

  void set_mark_stack_limit_for_testing(std::size_t n) { mark_stack_limit_ = n; }
  std::size_t mark_stack_overflows() const { return mark_stack_overflows_; }

  // ---- Threads -------------------------------------------------------------------
  void check_thread() const {
    if (std::this_thread::get_id() != owner_thread_) [[unlikely]]
      wrong_thread();
  }
  void attach_current_thread() { owner_thread_ = std::this_thread::get_id(); }

  // ---- Write barrier slow paths (called through the page owner) ------------------
  void remember_page(Page* page);
  void remember_object(Object* object);

 private:
  friend class MinorCollector;
  friend class MajorCollector;
  friend class Verifier;
  friend class MarkingTracer;
  friend struct MinorAccess;
  friend class HeapSnapshotWriter;

  [[noreturn]] void wrong_thread() const;
  void collect_minor(GcReason reason, bool promote_all);
  /// The body of a minor collection without reporting; returns bytes promoted.
  std::size_t evacuate_nursery(bool promote_all);
  void collect_major(GcReason reason, bool force_compact);
  void run_finalizers();
  void sweep_page(Page* page);
  void sweep_large_objects();
  void compact_old_space();
  /// Brackets every collection: begin starts the pause clock (phase kVerify or kRoots),
  /// enter_phase charges the time since the last switch to the phase that ran, end
  /// finishes the event, updates statistics and tells the log, the trace and listeners.
  void begin_collection();
  void enter_phase(GcPhase phase);
  void end_collection(GcKind kind, GcReason reason, std::size_t promoted);
  std::array<SpaceStats, kSpaceCount> space_usage() const;
  std::byte* allocate_large(std::size_t size);
  /// Eden is empty after a minor collection; resets top/limit (stress-aware).
  void reset_eden();
  void set_limit() {
    if (config_.stress_interval != 0 || in_finalizers_)
      limit_ = top_;
    else
      limit_ = pretenuring_ ? old_.lab_end() : eden_limit_;
  }
  std::byte* eden_top() const { return pretenuring_ ? nursery_.eden_start() : top_; }

  // Pretenuring (Config::pretenure_survival). While `pretenuring_`, top_/limit_ bump old
  // space's LAB from `lent_from_`; sync_lab() hands what was bumped back to old space
  // (accounting, walkability) and must run before anything walks or allocates there.
  void sync_lab() {
    if (!pretenuring_ || top_ == lent_from_) return;
    std::size_t used = std::size_t(top_ - lent_from_);
    old_.advance_lab(top_);
    stats_.bytes_pretenured += used;
    pretenure_left_ -= std::min(used, pretenure_left_);
    lent_from_ = top_;
  }
  void stop_pretenuring();
  /// After a collection: lends the LAB when a pretenuring window is open, else eden.
  void resume_allocation();
  /// After an allocation-triggered minor collection: opens, widens or closes the window.
  void adapt_pretenuring(std::size_t copied, std::size_t young_before);
  /// The slow path while pretenuring; nullptr when the window is over (allocate in eden).
  std::byte* allocate_pretenured(std::size_t size);
  std::size_t heap_bytes() const;
  /// The old generation (old space + large objects), plus `extra`, reached the trigger.
  bool old_generation_full(std::size_t extra) const {
    return old_.allocated_bytes() + large_.object_bytes() + extra >= next_major_trigger_;
  }
  /// After a collection: when over the heap limit, a compacting collection, then the
  /// near-limit callback, then OutOfMemory.
  void enforce_heap_limit(std::size_t extra_bytes);
  void trace_roots(Tracer& tracer, bool include_handles = true);
  void process_root_source_weaks(WeakProcessor& w);

  Config config_;
  std::thread::id owner_thread_;
  PageProvider provider_;
  Nursery nursery_;
  OldSpace old_;
  LargeObjectSpace large_;
  OldSpace immortal_;

  std::vector<Page*> remembered_pages_;
  std::vector<Object*> remembered_objects_;
  SlotTable globals_;
  SlotTable weaks_;
  std::vector<RootSource*> root_sources_;
  std::vector<Object*> finalizable_young_;
  std::vector<Object*> finalizable_old_;
  std::vector<Object*> pending_finalizers_;
  std::unordered_map<Object*, std::uint32_t> pins_;
  std::vector<std::pair<std::uint64_t, std::function<void(const GcEvent&)>>> listeners_;
  std::uint64_t next_listener_id_ = 1;
  std::function<std::size_t(std::size_t, std::size_t)> near_limit_callback_;

  HeapStats stats_;
  std::chrono::steady_clock::time_point created_ = std::chrono::steady_clock::now();
  GcEvent event_;  ///< the collection in progress
  GcPhase phase_ = GcPhase::kRoots;
  std::chrono::steady_clock::time_point phase_start_;
  std::unique_ptr<GcTraceWriter> trace_writer_;
  std::uint64_t gc_sequence_ = 0;
  std::size_t eden_allocated_before_ = 0;  ///< eden bytes allocated before the current cycle
  std::size_t other_allocated_ = 0;        ///< large and immortal bytes allocated
  std::size_t old_live_after_major_ = 0;
  std::size_t next_major_trigger_ = 0;
  std::uint64_t stress_countdown_ = 0;
  unsigned stress_cycle_ = 0;
  std::size_t free_after_last_sweep_ = 0;  ///< old-space free-list bytes after the last major
  std::size_t free_page_tails_ = 0;        ///< of those, bytes at the ends of pages (not holes)
  bool in_gc_ = false;
  bool in_finalizers_ = false;
  bool pretenuring_ = false;
  std::byte* eden_limit_ = nullptr;   ///< end of eden for this cycle (shorter when probing)
  std::byte* lent_from_ = nullptr;    ///< top_ when the LAB was lent or last synced
  std::size_t pretenure_left_ = 0;    ///< bytes the open window may still allocate old
  std::size_t pretenure_window_ = 0;  ///< size of the last window; 0 when none is open
  double survival_average_ = 0;       ///< nursery survival rate, decaying average
  std::size_t mark_stack_limit_ = std::size_t{1} << 22;  ///< 32 MiB of entries; overflow rescans
  std::size_t mark_stack_overflows_ = 0;
};

/// Barrier slow path: records `slot` (inside an old, large or immortal object) as holding a
/// young reference. Out of line; never allocates except to grow the page list.
[[gnu::noinline]] void remember_slot_slow(void* slot) noexcept;

/// The generational write barrier, run on every Member store after the store.
/// Fast path: two range checks against the young region's base and span (both globals
/// on one cache line), about 9 instructions on x86-64 with the store itself (counted with
/// objdump, g++ 12 -O2). bench_gc_micro measures its cost.
inline void write_barrier(void* slot, std::uintptr_t new_value) noexcept {
  // The slot first: most stores initialise or update young objects (a new object's
  // fields), and those are decided by that one check.
  if (!is_young_address(slot) && is_young_address(new_value)) [[unlikely]]
    remember_slot_slow(slot);
}

}  // namespace marrow::internal
