// Roots: the handle area's slow path, the Global and Weak slot tables, root sources and
// pins, and the one scan over all strong roots that every collector and the verifier use.
// Usage rules broken here (no scope, a source registered twice) are UsageErrors.
#include "marrow/gc/roots.hpp"

#include <algorithm>
#include <mutex>
#include <unordered_set>

#include "marrow/errors.hpp"
#include "marrow/gc/heap.hpp"

namespace marrow::internal {

// ---- Handle area -------------------------------------------------------------------------

bool HandleArea::owns(Object* const* slot) const {
  if (next == nullptr) return false;
  for (std::size_t b = 0; b <= block && b < blocks.size(); ++b) {
    Object** start = blocks[b];
    Object** end = b == block ? next : start + kBlockSlots;
    if (slot >= start && slot < end) return true;
  }
  return false;
}

bool HandleArea::in_blocks(Object* const* slot) const {
  for (Object** b : blocks)
    if (slot >= b && slot < b + kBlockSlots) return true;
  return false;
}

Object** handle_slow(Mutator& m) {
  m.check_thread();
  HandleArea& a = m.handles;
  if (a.depth == 0)
    throw UsageError(
        "marrow: no HandleScope is open: open a marrow::HandleScope before allocating or "
        "creating a Local");
  ++a.block;
  if (a.block == a.blocks.size()) a.blocks.push_back(new Object*[HandleArea::kBlockSlots]);
  a.next = a.blocks[a.block];
  a.limit = a.next + HandleArea::kBlockSlots;
  return a.next;
}

// ---- Slot tables -------------------------------------------------------------------------

#if MARROW_DCHECK_IS_ON
namespace {
std::mutex g_live_tables_mutex;
std::unordered_set<const SlotTable*>& live_tables() {
  static std::unordered_set<const SlotTable*> tables;
  return tables;
}
}  // namespace
#endif

SlotTable::SlotTable() {
#if MARROW_DCHECK_IS_ON
  std::lock_guard lock(g_live_tables_mutex);
  live_tables().insert(this);
#endif
}

SlotTable::~SlotTable() {
#if MARROW_DCHECK_IS_ON
  {
    std::lock_guard lock(g_live_tables_mutex);
    live_tables().erase(this);
  }
#endif
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
#if MARROW_DCHECK_IS_ON
  {
    std::lock_guard lock(g_live_tables_mutex);
    MARROW_CHECK(live_tables().count(this) != 0,
                 "a Global or Weak was reset or destroyed after its Runtime: reset or destroy "
                 "every handle before the Runtime it belongs to");
  }
#endif
  *slot = reinterpret_cast<Object*>(reinterpret_cast<std::uintptr_t>(free_) | 1);
  free_ = slot;
  --live_;
}

bool SlotTable::owns(Object* const* slot) const {
  for (Object** c : chunks_)
    if (slot >= c && slot < c + kChunkSlots) return true;
  return false;
}

// ---- Root sources and the root scan --------------------------------------------------------

void Roots::add_source(RootSource* source) {
  if (source == nullptr) throw UsageError("marrow: add_root_source needs a RootSource, not null");
  if (std::find(sources_.begin(), sources_.end(), source) != sources_.end())
    throw UsageError("marrow: this RootSource is already registered");
  sources_.push_back(source);
}

void Roots::remove_source(RootSource* source) {
  auto it = std::find(sources_.begin(), sources_.end(), source);
  if (it == sources_.end()) throw UsageError("marrow: remove_root_source: not registered");
  sources_.erase(it);
}

void Roots::trace(HandleArea& handles, Tracer& tracer, HandleRoots which) {
  if (which == HandleRoots::kInclude) handles.for_each_slot([&](Object*& s) { tracer.visit(s); });
  globals_.for_each([&](Object*& s) { tracer.visit(s); });
  for (RootSource* src : sources_) src->trace_roots(tracer);
}

void Roots::process_source_weaks(WeakProcessor& w) {
  for (RootSource* src : sources_) src->process_weak(w);
}

// ---- Pins ----------------------------------------------------------------------------------

void Roots::add_pin(Object* object) {
  if (pins_[object]++ == 0) {
    *header_of(object) |= kPinnedBit;
    Page::of(object)->pinned_count++;
  }
}

bool Roots::remove_pin(Object* object) {
  auto it = pins_.find(object);
  if (it == pins_.end()) return false;
  if (--it->second == 0) {
    pins_.erase(it);
    *header_of(object) &= ~kPinnedBit;
    Page::of(object)->pinned_count--;
  }
  return true;
}

Object* Heap::pin(Object* object) {
  check_may_collect("pin");
  if (object == nullptr) throw UsageError("marrow: pin needs an object, not an empty handle");
  if (!owns(object)) throw UsageError("marrow: pin: the object does not belong to this runtime");
  if (is_young(object)) {
    // Promote it (and everything young) so that it has an old-space address.
    Object** root = roots_.globals().acquire(object);
    collect_minor(GcReason::kPin, true);
    run_finalizers();
    object = *root;
    roots_.globals().release(root);
  }
  roots_.add_pin(object);
  return object;
}

void Heap::unpin(Object* object) {
  mutator_.check_thread();
  if (object == nullptr || !owns(object))
    throw UsageError("marrow: unpin: the object does not belong to this runtime");
  if (!roots_.remove_pin(object)) throw UsageError("marrow: unpin: this object is not pinned");
}

}  // namespace marrow::internal
