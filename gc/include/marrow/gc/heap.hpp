// The collector for one runtime: the spaces and the parts of the collector, each owned by
// the file named after its concept (docs/design.md, "Where things are"), and the entry
// points the runtime calls. Single-threaded: the runtime's owner thread only.
#pragma once
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "marrow/config.hpp"
#include "marrow/gc/events.hpp"
#include "marrow/gc/finalization.hpp"
#include "marrow/gc/incremental_marking.hpp"
#include "marrow/gc/parallelism.hpp"
#include "marrow/gc/policy.hpp"
#include "marrow/gc/pretenuring.hpp"
#include "marrow/gc/remembered_set.hpp"
#include "marrow/gc/roots.hpp"
#include "marrow/gc/sweeping.hpp"
#include "marrow/gc/work_sharing.hpp"
#include "marrow/gc/workers.hpp"
#include "marrow/heap/page.hpp"
#include "marrow/heap/spaces.hpp"
#include "marrow/internal/check.hpp"
#include "marrow/internal/header.hpp"
#include "marrow/internal/mutator.hpp"
#include "marrow/object.hpp"
#include "marrow/stats.hpp"
#include "marrow/tracer.hpp"

namespace marrow::internal {

/// Config ranges (include/marrow/config.hpp documents each).
inline constexpr std::size_t kMinNurseryBytes = std::size_t{64} << 10;
inline constexpr std::size_t kMaxNurseryBytes = std::size_t{512} << 20;
/// The smallest heap limit: the smallest nursery (96 KiB with its survivor spaces), and
/// promotion room for it under the limit's accounting (HeapPolicy::eden_budget).
inline constexpr std::size_t kMinHeapLimitBytes = std::size_t{1} << 20;
inline constexpr double kMinGrowthFactor = 1.1;
inline constexpr double kMaxGrowthFactor = 100.0;
inline constexpr double kMaxHeapTuning = 100.0;

/// Normalises a Config the way a Runtime applies it (ranges, derived sizes); throws
/// ConfigError for a value outside its range (gc/src/config.cpp).
Config normalised(Config config);

/// One runtime's collector. The parts are public to the collector's own files (each
/// concept's file owns its part's behaviour); nothing outside gc/ and the tests sees
/// this header.
class Heap {
 public:
  Heap(const Config& config, Mutator& mutator);
  ~Heap();
  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  // ---- Entry points (the runtime's out-of-line calls) ---------------------------
  // Allocation: gc/src/allocation.cpp.
  std::byte* allocate_slow(std::size_t size);
  std::byte* allocate_immortal(std::size_t size);
  /// Throws InvalidSize when size is beyond what any heap can hold.
  void check_size(std::size_t size) const {
    if (size > kMaxObjectSize) [[unlikely]]
      throw_invalid_size(size);
  }
  [[noreturn, gnu::cold]] static void throw_invalid_size(std::size_t size);
  /// The one check before anything that may allocate or collect (allocation slow paths,
  /// rt.collect, pin, the heap walk, snapshots): the runtime's thread, and none of the
  /// contexts where a collection would break something. `what` names the operation in
  /// the message. Throws UsageError; inside a collection (trace, process_weak, root
  /// sources) it is a failed check, since a collection cannot be abandoned.
  void check_may_collect(const char* what) const;

  /// A collection of `kind` and then the finalizers it queued: the one way every
  /// caller (the runtime, the slow path, the heap limit, pins) collects.
  void collect(GcKind kind, GcReason reason);
  /// rt.collect(): refuses inside finalizers and constructors.
  void collect_requested(GcKind kind);
  /// rt.reduce_memory(): a major collection (and a compaction when fragmented), then every
  /// empty page, the survivor spaces and eden beyond its minimum given back.
  void reduce_memory();
  /// rt.idle(): the work that fits before `deadline` (gc/src/idle.cpp); whether a
  /// marking cycle or a sweep remains.
  bool idle(std::chrono::steady_clock::time_point deadline);
  Object* pin(Object* object);  ///< promotes a young object first; returns its address
  void unpin(Object* object);
  void set_near_heap_limit_callback(std::function<std::size_t(std::size_t, std::size_t)> cb);

  // Inspection: gc/src/events.cpp, verify.cpp, heap_snapshot.cpp, heap.cpp.
  const HeapStats& stats();
  void start_gc_trace(const std::string& path);
  void stop_gc_trace();
  void write_heap_snapshot(const std::string& path);
  std::vector<std::string> find_heap_problems();
  void verify_heap();
  /// verify_heap plus the marking invariant (no marked object points to an unmarked old or
  /// large one): for the end of marking, before the sweep.
  void verify_marking();
  /// Prints the problems and aborts, when there are any.
  static void report_problems(const std::vector<std::string>& problems);
  const Config& config() const { return config_; }
  Space space_of(const void* address) const;
  /// Whether `object` lies in this heap (O(1): the nursery range, else the page table).
  bool owns(const void* object) const;
  bool is_young(const void* p) const { return nursery_.contains(p); }
  /// Calls fn(object, header) for every object in the heap, dead ones included unless
  /// collect_for_inspection just ran. fn runs with allocation and collection refused.
  void for_each_object(const std::function<void(Object*, HeaderWord)>& fn);
  /// A major collection that leaves only objects reachable from the roots: when it queued
  /// finalizers (their objects stay in the heap, unreachable, until the next collection),
  /// a second one frees those. For the heap walk and heap snapshots.
  void collect_for_inspection(const char* what);
  SpaceUsage space_usage() const;
  /// Under a heap limit the nursery counts whole, whatever eden's size and the survivor
  /// pages touched: invariant L then holds through eden resizing and survivor growth.
  std::size_t committed_bytes() const {
    if (config_.heap_limit_bytes != 0) return nursery_.span() + provider_.committed_bytes();
    return nursery_.committed_bytes(std::size_t(pretenuring_.eden_top() - nursery_.eden_start())) +
           provider_.committed_bytes();
  }

  void set_mark_stack_limit_for_testing(std::size_t n) {
    mark_stack_limit_ = n;
    marking_.set_stack_limit(n);
  }
  std::size_t mark_stack_overflows() const { return mark_stack_overflows_; }
  /// The header bit the current (or, between cycles, the last) major marking sets: one of
  /// kMarkBitEven and kMarkBitOdd, alternating from one marking to the next.
  HeaderWord mark_bit() const { return mark_bit_; }
  /// A marking starts: the other bit becomes the current one. Every object still carrying
  /// it is dead (its page was swept since) or was cleared by marking (live objects), so
  /// no object starts out marked. Returns the new bit.
  HeaderWord next_mark_bit() { return mark_bit_ ^= kMarkBits; }
  /// Whether the live bytes of the current (or last) marking's pages are exact (a serial
  /// marking: parallel markers may count an object twice). Only then may a sweep trust a
  /// page whose live bytes fill it to hold no dead object, and skip it.
  bool marking_exact() const { return marking_exact_; }

  // ---- Collections (gc/src/minor.cpp, gc/src/major.cpp) --------------------------
  /// Evacuates the nursery (promoting everything when asked); returns bytes promoted.
  std::size_t evacuate_nursery(bool promote_all);
  void collect_minor(GcReason reason, bool promote_all);
  void collect_major(GcReason reason, bool force_compact);
  // ---- Incremental marking (gc/src/incremental_marking.cpp; pacing here) ----------
  /// kMarkStart or kMarkStep in a pause of its own: a cycle's start (the nursery emptied
  /// into old space, the roots marked), or one step of `budget` bytes.
  void collect_increment(GcKind kind, GcReason reason);
  /// Whether the old generation has grown far enough for a cycle to start now.
  /// Under a heap limit only when promoting the survivors (the start empties the nursery)
  /// keeps within it.
  /// A cycle starts only once the last one's sweep is done: sweep steps, paced faster when
  /// the cycle is due, finish it, so no mark-start pause sweeps what is left.
  bool marking_should_start() const {
    return config_.incremental_marking && !marking_.active() && !lazy_sweep_.pending() &&
           policy_.marking_should_start(old_generation_bytes()) &&
           heap_limit_holds(nursery_.from_space().used() + kPageSize, kMinObjectSize);
  }
  /// The slow path reached marking_poll_: a step, or the remark once marking is done.
  void poll_marking();
  /// Old-space bytes handed to the mutator (pretenuring, large objects) during a cycle:
  /// they pace steps as eden allocation does.
  void marking_charge(std::size_t bytes);
  /// Old space's sweep hook (lazy sweeping): sweeps until a hole fits `size`.
  static bool sweep_hook(void* heap, std::size_t size) noexcept {
    auto* h = static_cast<Heap*>(heap);
    return h->lazy_sweep_.sweep_for_size(*h, size);
  }
  /// Sweeps what lazy sweeping left (before marking, heap walks and snapshots).
  void finish_sweeping() {
    pretenuring_.sync();
    lazy_sweep_.finish(*this);
  }
  /// Incremental stress mode (Config::stress_incremental), at every allocation.
  void stress_marking();
  /// Where the next step is due (kMarkingStepBytes on), or the mutator's top when the
  /// remark is; nullptr when no cycle runs.
  void schedule_marking();
  /// Runs queued finalizers (gc/src/finalization.cpp).
  void run_finalizers();
  /// Makes room under the heap limit for `extra_bytes` of new old-space pages and, when
  /// `eden_needed` > 0, an eden allocation of that size, with the promotion of the next
  /// minor collection provided for: if there is none, a compacting collection, then the
  /// near-limit callback, then OutOfMemory. Shrinks eden's limit to its budget
  /// (gc/src/policy.cpp).
  void enforce_heap_limit(std::size_t extra_bytes, std::size_t eden_needed = 0);
  bool heap_limit_holds(std::size_t extra_bytes, std::size_t eden_needed) const;
  /// Eden bytes in use plus what the next allocations need (at least kMinEdenBudget).
  std::size_t eden_wanted(std::size_t eden_needed) const;
  std::size_t eden_budget(std::size_t extra_bytes) const;
  /// Committed old-space bytes that can take promoted objects without a new page.
  std::size_t reusable_old_bytes() const;
  /// Lowers eden's limit for this cycle to what the heap limit allows (never below top).
  void clamp_eden_limit(std::size_t extra_bytes = 0);
  /// Brackets every collection (gc/src/events.cpp): verification when configured, the
  /// pause clock, pretenuring stopped and resumed, the report.
  /// Steps (kMarkStep, kSweepStep) pass `verify` false: verification at every step would
  /// make the stress modes quadratic; cycles are verified at their start and remark.
  void begin_collection(bool verify = true);
  void enter_phase(GcPhase phase) { events_.enter_phase(phase); }
  /// Records the workers' busy times of the parallel part of `phase` in the event.
  void record_workers(GcPhase phase, const WorkerPool& pool) {
    events_.record_workers(phase, pool.busy(), pool.started());
  }
  void end_collection(GcKind kind, GcReason reason, std::size_t promoted);
  /// Eden is empty after a minor collection; resets the allocation buffer.
  void reset_eden();
  /// With a pause goal (incremental marking), lowers this cycle's eden limit to what a
  /// minor collection can copy within it at the recent survival rate
  /// (HeapPolicy::eden_for_pause; gc/src/allocation.cpp).
  void limit_eden_for_pause();
  /// Sets eden's size (HeapPolicy::next_eden_size); eden must be empty (gc/src/allocation.cpp).
  void resize_eden(std::size_t bytes);
  /// The slow path reached a poll point (eden_poll_): a shrinking collection when the
  /// policy sees a quiet phase (returns true), else the next poll point.
  bool poll_for_quiet();
  /// Eden bytes a probe after a pretenuring window uses (gc/src/allocation.cpp).
  std::size_t probe_bytes() const {
    return std::min(nursery_.eden_max_capacity() / 4, nursery_.eden_capacity());
  }
  /// Sets the mutator's limit from the state: closed (stress, finalizers), the lent LAB,
  /// or eden's limit for this cycle (gc/src/allocation.cpp).
  void set_limit();
  std::size_t old_generation_bytes() const {
    return old_.allocated_bytes() + large_.object_bytes();
  }
  // The slow path's branches (gc/src/allocation.cpp).
  std::byte* allocate_large(std::size_t size);
  /// While a pretenuring window is open; nullptr when the window is over (allocate in eden).
  std::byte* allocate_pretenured(std::size_t size);
  void collect_for_stress();

  // ---- The parts -----------------------------------------------------------------
  Config config_;
  Mutator& mutator_;
  PageProvider provider_;
  Nursery nursery_;
  OldSpace old_;
  LargeObjectSpace large_;
  OldSpace immortal_;
  Roots roots_;
  RememberedSet remembered_;
  /// Before finalization_: finalizers run by its destructor still pass the marking barrier.
  IncrementalMarking marking_{std::size_t{1} << 22};
  LazySweeping lazy_sweep_;
  Finalization finalization_;
  GcEvents events_;
  Pretenuring pretenuring_;
  HeapPolicy policy_;
  WorkerPool workers_;  ///< config_.gc_threads - 1 threads (none for the serial collector)
  /// How many of them each parallel phase uses: all, unless gc_threads was left to the
  /// collector and the phase measured faster alone.
  Parallelism parallelism_;
  /// One per worker of a parallel phase, kept between collections: fresh memory for them
  /// in every collection would cost page faults.
  std::vector<WorkStack> work_stacks_;
  std::function<std::size_t(std::size_t, std::size_t)> near_limit_callback_;

  // Allocation state (gc/src/allocation.cpp).
  std::byte* eden_limit_ = nullptr;  ///< end of eden for this cycle (shorter when probing)
  /// While the policy watches for a quiet phase, the mutator's limit stops here too (every
  /// HeapPolicy::kShrinkPollBytes of eden) so that the slow path can look; else nullptr.
  std::byte* eden_poll_ = nullptr;
  std::size_t eden_allocated_before_ = 0;  ///< eden bytes allocated before the current cycle
  std::size_t other_allocated_ = 0;        ///< large and immortal bytes allocated
  std::uint64_t stress_countdown_ = 0;
  std::uint64_t stress_marking_countdown_ = 0;
  /// While a cycle runs, the mutator's limit stops here too, so that the slow path takes
  /// the next marking step (every kMarkingStepBytes of eden); else nullptr.
  std::byte* marking_poll_ = nullptr;
  std::size_t marking_old_debt_ = 0;   ///< old-space bytes allocated since the last step
  HeaderWord mark_bit_ = kMarkBitOdd;  ///< the first marking's is kMarkBitEven
  bool marking_exact_ = false;
  std::size_t marking_pretenured_charged_ = 0;  ///< HeapStats::bytes_pretenured, last charged
  /// Bytes idle time marked in this cycle that allocation-paced steps have not yet counted
  /// as their own: a step's budget is taken from it first (a step it covers is skipped).
  std::size_t marking_credit_ = 0;
  /// An allocation-paced step's budget: what was allocated since the last step times
  /// marking_rate, or times the rate that finishes the cycle before the trigger if that is
  /// higher: the work left over the headroom left, with a quarter to spare. The work is
  /// bounded by what old space held at the start (each byte scanned at most once) and
  /// twice what it gained since (promoted and pretenured objects are taken, then scanned).
  std::size_t marking_step_budget() const {
    double allocated = double(std::max(kMarkingStepBytes, marking_old_debt_));
    std::size_t old = old_generation_bytes();
    std::size_t work = marking_work_ + 2 * (old > marking_work_ ? old - marking_work_ : 0);
    std::size_t scanned = marking_.cycle_scanned();
    std::size_t left = work > scanned ? work - scanned : 0;
    std::size_t trigger = policy_.next_major_trigger();
    double headroom = double(std::max(trigger > old ? trigger - old : 0, kMarkingStepBytes));
    return std::size_t(allocated * std::max(config_.marking_rate, 1.25 * double(left) / headroom));
  }
  /// Old-generation bytes when the cycle started.
  std::size_t marking_work_ = 0;
  static constexpr std::size_t kMarkingStepBytes = std::size_t{256} << 10;
  /// Old-space pages a sweep step sweeps per kMarkingStepBytes allocated (lazy sweeping).
  static constexpr std::size_t kSweepPagesPerStep = 8;
  /// While rt.idle() runs: its deadline, which bounds the increments it starts
  /// (GcReason::kIdle) instead of the pause goal.
  std::chrono::steady_clock::time_point idle_deadline_{};
  std::size_t idle_eden_seen_ = 0;  ///< eden's fill when the last rt.idle() returned
  unsigned stress_cycle_ = 0;
  bool in_gc_ = false;
  bool walking_ = false;            ///< a for_each_object callback runs
  bool in_limit_callback_ = false;  ///< the near-heap-limit callback runs

  /// Sets one of the flags above for a scope, with the allocation buffer closed.
  class RefuseAllocation {
   public:
    RefuseAllocation(Heap& heap, bool& flag) : heap_(heap), flag_(flag) {
      flag_ = true;
      heap_.set_limit();
    }
    ~RefuseAllocation() {
      flag_ = false;
      heap_.set_limit();
    }
    RefuseAllocation(const RefuseAllocation&) = delete;
    RefuseAllocation& operator=(const RefuseAllocation&) = delete;

   private:
    Heap& heap_;
    bool& flag_;
  };

  std::size_t mark_stack_limit_ = std::size_t{1} << 22;  ///< 32 MiB of entries; overflow rescans
  std::size_t mark_stack_overflows_ = 0;
};

}  // namespace marrow::internal
