// Pretenuring: while a window is open, the mutator's inline bump pointer is lent old
// space's LAB instead of eden, so objects of a phase that builds long-lived data are born
// old and never copied (docs/design.md, "Pretenuring"). This class owns the window state
// and the lending; the decision to open a window is taken after each minor collection
// caused by a full eden. Never collects.
#pragma once
#include <cstddef>

#include "marrow/gc/incremental_marking.hpp"
#include "marrow/heap/spaces.hpp"
#include "marrow/internal/mutator.hpp"
#include "marrow/stats.hpp"

namespace marrow::internal {

class Pretenuring {
 public:
  Pretenuring(Mutator& mutator, OldSpace& old_space, Nursery& nursery, HeapStats& stats)
      : m_(mutator), old_(old_space), nursery_(nursery), stats_(stats) {}

  /// A window is open: mutator.top/limit bump old space's LAB and eden is empty.
  bool active() const { return active_; }
  /// Bytes the open (or about to open) window may still allocate old.
  std::size_t left() const { return left_; }
  /// The nursery's survival rate over the last few minor collections (decaying average).
  double survival() const { return survival_average_; }

  /// Hands what the mutator bumped in the LAB back to old space (accounting, and the
  /// filler after it that keeps invariant W). Must run before anything walks old space
  /// or allocates there; cheap when nothing was bumped.
  void sync() {
    if (!active_ || m_.top == lent_from_) return;
    std::size_t used = std::size_t(m_.top - lent_from_);
    if (marking_ != nullptr && marking_->active()) marking_->allocated(lent_from_, m_.top);
    old_.advance_lab(m_.top);
    stats_.bytes_pretenured += used;
    left_ -= std::min(used, left_);
    lent_from_ = m_.top;
  }
  /// Whether `p` lies in what the mutator bumped in the LAB since the last sync().
  bool lent(const std::byte* p) const { return active_ && p >= lent_from_ && p < m_.top; }
  /// Ends the lending (eden is empty while it lasts): collections see eden as eden.
  void stop();
  /// After a collection: lends the LAB when a window is to open. Returns whether it did.
  bool resume();
  /// After an allocation-triggered minor collection that copied `copied` of the
  /// `young_before` bytes the nursery held: opens, widens or closes the window.
  void adapt(double threshold, std::size_t copied, std::size_t young_before);
  /// While `marking` runs a cycle, what the mutator bumps in the LAB is reported to it.
  void report_allocations_to(IncrementalMarking* marking) { marking_ = marking; }
  /// Stress mode: the next window lasts at most `bytes` (0: no window).
  void set_stress_window(std::size_t bytes) { left_ = bytes; }
  /// The mutator allocated `size` bytes from old space outside the lent range.
  void charge(std::size_t size) {
    stats_.bytes_pretenured += size;
    left_ -= std::min(size, left_);
  }
  /// Re-lends the LAB after old space handed out memory past it (a refill).
  void relend() { m_.top = lent_from_ = old_.lab_top(); }
  /// Where eden's bump pointer really is (the lent pointer is not eden's).
  std::byte* eden_top() const { return active_ ? nursery_.eden_start() : m_.top; }

 private:
  Mutator& m_;
  OldSpace& old_;
  Nursery& nursery_;
  HeapStats& stats_;
  IncrementalMarking* marking_ = nullptr;
  bool active_ = false;
  std::byte* lent_from_ = nullptr;  ///< mutator.top when the LAB was lent or last synced
  std::size_t left_ = 0;            ///< bytes the open window may still allocate old
  std::size_t window_ = 0;          ///< size of the last window; 0 when none is open
  double survival_average_ = 0;     ///< nursery survival rate, decaying average
};

}  // namespace marrow::internal
