// The generational write barrier's inline half, run by every Member store, and the young
// region it tests against. The slow half (remembering the slot) is the remembered set's:
// gc/src/remembered_set.cpp. Never allocates, never throws.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace marrow::internal {

// ---- The young region ---------------------------------------------------------------
// All nurseries of all runtimes live in one reserved address range, so the write barrier
// can ask "is this address young?" with one subtraction and one compare against the
// range's base and span, without knowing which runtime it is in. heap/src/page.cpp
// reserves it and hands out its slots.

/// 1 GiB per runtime (eden + two survivor spaces); a nursery must fit in one slot.
inline constexpr std::size_t kYoungSlotBytes = std::size_t{1} << 30;
/// At most 64 runtimes at once. The first acquire_young_slot reserves this many slots
/// and, when the OS refuses (valgrind grants its client 32 GiB, a low `ulimit -v` less),
/// halves the count until a reservation succeeds, down to one slot.
inline constexpr std::size_t kMaxYoungSlots = 64;
inline constexpr std::size_t kMaxYoungRegionBytes = kYoungSlotBytes * kMaxYoungSlots;

/// The young region: what was actually reserved, which may be less than
/// kMaxYoungRegionBytes.
///
/// Invariant (exact span): [base, base + span) is exactly the reservation. Addresses past
/// it may belong to any other mapping (old-space pages among them), so is_young_address
/// must compare against `span`, never against kMaxYoungRegionBytes. Before the first
/// reservation `span` is 0 and nothing is young. Written once, under the young-region
/// lock, before the first slot is handed out; constant afterwards. The fields share a
/// cache line because the write barriers read them.
///
/// `marking` counts the runtimes (of the process) whose old generation is being marked
/// incrementally; while it is 0 the marking barrier is one load and a not-taken branch.
struct alignas(32) YoungRegion {
  std::uintptr_t base;
  std::size_t span;
  std::atomic<std::uint32_t> marking;
};
extern YoungRegion g_young;

/// Two loads (one cache line), sub, cmp. The span costs a load where a constant 64 GiB
/// costs a movabs (it fits no immediate), so a lone barrier is no longer; in a store loop
/// the constant could be hoisted and the span is reloaded: one instruction more per store
/// (bench_gc_micro BM_Barrier/young_to_young).
inline bool is_young_address(std::uintptr_t a) { return a - g_young.base < g_young.span; }
inline bool is_young_address(const void* p) {
  return is_young_address(reinterpret_cast<std::uintptr_t>(p));
}

/// Barrier slow path: records `slot` (inside an old, large or immortal object) as holding
/// a young reference. Out of line (gc/src/remembered_set.cpp); never allocates except to
/// grow the remembered page list.
[[gnu::noinline]] void remember_slot_slow(void* slot) noexcept;

/// The generational write barrier, run on every Member store after the store. Keeps the
/// invariant R (docs/design.md, "remembered set"): every old-to-young reference is
/// in a remembered slot or a remembered object.
/// Fast path: two range checks against the young region's base and span (both globals
/// on one cache line), about 9 instructions on x86-64 with the store itself (counted with
/// objdump, g++ 12 -O2). bench_gc_micro measures its cost.
inline void write_barrier(void* slot, std::uintptr_t new_value) noexcept {
  // The slot first: most stores initialise or update young objects (a new object's
  // fields), and those are decided by that one check.
  if (!is_young_address(slot) && is_young_address(new_value)) [[unlikely]]
    remember_slot_slow(slot);
}

// ---- The marking barrier ---------------------------------------------------------------
// While a runtime marks its old generation incrementally (gc/src/incremental_marking.cpp),
// a reference store must not hide an object from the marker. Every Member store runs
// marking_barrier *before* the store: it records the value being overwritten (the
// snapshot-at-the-beginning, or deletion, barrier: everything reachable when marking
// started stays reachable for the marker) and the value being stored (so an object a
// weak table hands back during marking is not lost). The slow half is
// gc/src/marking_barrier.cpp.

/// Whether any runtime of the process is marking (one relaxed load).
inline bool marking_active() noexcept {
  return g_young.marking.load(std::memory_order_relaxed) != 0;
}

/// Records `old_value` and `new_value` (object addresses, or 0) with the runtime that owns
/// `slot`, when that runtime is marking and the slot lies in its old generation.
[[gnu::noinline]] void marking_barrier_slow(void* slot, std::uintptr_t old_value,
                                            std::uintptr_t new_value) noexcept;
/// Weak<T>::get while marking: the object handed out must survive this marking cycle.
[[gnu::noinline]] void weak_read_barrier_slow(const void* object) noexcept;

/// The marking barrier's inline half: a load and a branch when no runtime is marking.
inline void marking_barrier(void* slot, std::uintptr_t old_value,
                            std::uintptr_t new_value) noexcept {
  if (marking_active()) [[unlikely]]
    marking_barrier_slow(slot, old_value, new_value);
}

/// The construction barrier's slow half: `object` (old, or 0) was stored by a constructor
/// into `slot` (outside the nursery) while a runtime may be marking.
[[gnu::noinline]] void construction_barrier_slow(void* slot, std::uintptr_t object) noexcept;

/// The barrier of a Member's construction, after the store: the generational barrier and,
/// for a slot outside the nursery while a runtime marks, a record of the value stored when
/// it is an old object not yet marked. `raw` is the slot's bits, `object` the stored
/// object's address (0 for a value that is no object). Objects allocated old during a
/// cycle are black and never scanned, so what their constructors store must be recorded:
/// an object a weak table hands back and a new object holds is kept. A slot in the
/// nursery, the common case, costs the same one check as in write_barrier.
inline void construction_barrier(void* slot, std::uintptr_t raw, std::uintptr_t object) noexcept {
  if (!is_young_address(slot)) [[unlikely]] {
    if (is_young_address(raw)) [[unlikely]]
      remember_slot_slow(slot);
    else if (marking_active()) [[unlikely]]
      construction_barrier_slow(slot, object);
  }
}

}  // namespace marrow::internal
