// Incremental marking: the old generation marked in steps between the mutator's
// allocations instead of in one pause (docs/design.md, section 5a). A cycle is
//   start  (a pause): the nursery is emptied into old space, live bytes are reset and the
//          roots are marked: this is the snapshot;
//   steps  (short pauses paced by allocation): the mark stack is drained a budget at a
//          time, with what the marking barrier recorded and what was promoted meanwhile;
//   finish (the remark, the first part of a major collection): the nursery is emptied
//          again (its objects grey), the roots are marked again, and marking runs to the
//          end; weak processing, finalization and the sweep follow as in any major.
// While a cycle runs, the marking barrier (include/marrow/internal/barrier.hpp) records
// the old and the new value of every store into an old object (and the construction
// barrier the value a constructor stores into one), Weak::get records what it hands out,
// objects promoted are marked and scanned, and objects the mutator allocates in old space
// (pretenured, large) are marked at the next step and never scanned (black allocation):
// nothing reachable at the start, and nothing created since, is swept.
// Never allocates managed memory.
#pragma once
#include <cstddef>
#include <utility>
#include <vector>

#include "marrow/gc/marking.hpp"

namespace marrow::internal {

class Heap;

class IncrementalMarking {
 public:
  explicit IncrementalMarking(std::size_t stack_limit) : marker_(stack_limit, kMarkBitEven) {}
  ~IncrementalMarking();
  IncrementalMarking(const IncrementalMarking&) = delete;
  IncrementalMarking& operator=(const IncrementalMarking&) = delete;

  void set_stack_limit(std::size_t n) { marker_ = Marker(n, marker_.mark_bit()); }
  /// A cycle runs: the barrier records, old-space allocation is black.
  bool active() const { return active_; }
  /// Every object known to need scanning was scanned: the remark has only what the
  /// mutator did since to catch up on.
  bool done() const { return active_ && marker_.stack_empty() && pending_empty(); }

  /// Starts a cycle; the nursery must be empty (in a pause).
  void start(Heap& heap);
  /// Scans about `budget` bytes of objects (in a pause); returns the bytes scanned.
  std::size_t step(Heap& heap, std::size_t budget, std::chrono::steady_clock::time_point deadline);
  /// The remark (in the major collection's pause, after the nursery was emptied): marks
  /// the roots again and everything not yet marked, to the end, rescanning after a mark
  /// stack overflow. Ends the cycle. Returns the number of overflow rescans.
  std::size_t finish(Heap& heap);

  /// Ends the cycle without finishing it: both mark bits cleared in every object (a walk
  /// of old and large space, so that any bit may be the next marking's), nothing recorded
  /// kept. For collections that must find all garbage now.
  void abandon(Heap& heap);

  /// The barrier's record: `object` (of this heap's old generation, or young) must be
  /// marked before the cycle ends.
  void record(Object* object) {
    if (is_young_address(object)) return;
    if (*header_of(object) & marker_.mark_bit()) return;
    recorded_.push_back(object);
  }
  /// An object promoted into old space during the cycle (marked and scanned later).
  void promoted(Object* object) { recorded_.push_back(object); }
  /// Old-space memory handed to the mutator during the cycle, [begin, end): the objects
  /// it will hold are marked (not scanned) at the next step, when their headers are
  /// written. A large object is one such range.
  void allocated(std::byte* begin, std::byte* end) {
    if (begin != end) allocated_.emplace_back(begin, end);
  }

  /// Bytes scanned in this cycle so far, and in all cycles.
  std::size_t cycle_scanned() const { return cycle_scanned_; }

 private:
  bool pending_empty() const { return recorded_.empty() && allocated_.empty(); }
  /// Marks every object allocated old since the last call, without scanning it (black).
  void mark_allocated();
  /// Marks (and pushes) what the barrier and the promotions recorded, about `max_bytes`
  /// of it; returns the bytes taken.
  std::size_t take_pending(std::size_t max_bytes);
  void set_active(bool on);

  Marker marker_;
  bool active_ = false;
  std::vector<Object*> recorded_;
  std::vector<std::pair<std::byte*, std::byte*>> allocated_;
  std::size_t cycle_scanned_ = 0;
};

}  // namespace marrow::internal
