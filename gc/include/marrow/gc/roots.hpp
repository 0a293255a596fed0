// The strong roots besides the handle area: Global slots, registered root sources and
// pins; and the Weak slots, which are roots of nothing but live beside them. One
// `trace` visits every root slot, for every collector and the verifier.
#pragma once
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "marrow/internal/mutator.hpp"
#include "marrow/internal/slot_table.hpp"
#include "marrow/tracer.hpp"

namespace marrow::internal {

/// Whether a root scan includes the handle area (the heap snapshot reports handles as a
/// root category of its own and visits them separately).
enum class HandleRoots { kInclude, kExclude };

class Roots {
 public:
  SlotTable& globals() { return globals_; }
  SlotTable& weaks() { return weaks_; }

  /// Throws UsageError for a null, duplicate or unknown source.
  void add_source(RootSource* source);
  void remove_source(RootSource* source);
  const std::vector<RootSource*>& sources() const { return sources_; }

  /// Visits every strong root slot: handles (unless excluded), Globals, root sources.
  /// Pinned objects are not slots (they never move); markers mark them through pins().
  void trace(HandleArea& handles, Tracer& tracer, HandleRoots which = HandleRoots::kInclude);
  /// Every root source's process_weak, in registration order.
  void process_source_weaks(WeakProcessor& w);

  /// Pin counts of old objects (young objects are promoted before they are pinned).
  /// The first pin sets the header's pinned bit and counts the object in its page's
  /// `pinned_count`, which keeps the page out of compaction (docs/design.md, section 6).
  void add_pin(Object* object);
  /// Returns false when the object is not pinned.
  bool remove_pin(Object* object);
  const std::unordered_map<Object*, std::uint32_t>& pins() const { return pins_; }

 private:
  SlotTable globals_;
  SlotTable weaks_;
  std::vector<RootSource*> sources_;
  std::unordered_map<Object*, std::uint32_t> pins_;
};

}  // namespace marrow::internal
