// Pretenuring windows: when to open one, how long it lasts, and lending old space's LAB
// to the mutator's bump pointer while it is open (docs/design.md, "Pretenuring").
// Relies on: eden is empty while a window is open; sync() runs before anything walks or
// allocates in old space (invariant W). Never collects.
#include <algorithm>

#include "marrow/gc/pretenuring.hpp"
#include "marrow/internal/check.hpp"

namespace marrow::internal {

void Pretenuring::stop() {
  if (!active_) return;
  sync();
  active_ = false;
  m_.top = nursery_.eden_start();  // eden stays empty while pretenuring
}

bool Pretenuring::resume() {
  if (left_ == 0 || active_) return false;
  MARROW_DCHECK(m_.top == nursery_.eden_start(), "pretenuring starts with an empty eden");
  active_ = true;
  m_.top = lent_from_ = old_.lab_top();
  return true;
}

void Pretenuring::adapt(double threshold, std::size_t copied, std::size_t young_before) {
  if (threshold <= 0 || young_before == 0) return;
  // Survival is averaged over the last few minor collections: one nursery can hold the end
  // of a structure that just died and the start of the next, and a single low reading
  // should not end a phase that keeps building long-lived data.
  double survival = double(copied) / double(young_before);
  survival_average_ = 0.5 * survival_average_ + 0.5 * survival;
  // Windows are measured in the largest eden: the adaptive eden shrinks exactly when
  // windows open (high survival), and shorter windows would only mean more probes.
  std::size_t eden = nursery_.eden_max_capacity();
  if (survival >= threshold) {
    // Most of what the nursery held was copied: allocate the next window old. Windows
    // double while the nursery keeps being mostly alive between them (at most 8 edens:
    // a phase change is then noticed within 8 edens' worth of allocation).
    window_ = window_ == 0 ? eden : std::min(2 * window_, 8 * eden);
  } else if (survival_average_ < threshold) {
    window_ = 0;
  } else if (window_ == 0) {
    window_ = eden;
  }
  left_ = window_;
}

}  // namespace marrow::internal
