// What the public API's inline fast paths share with the collector: the allocation
// buffer, the handle area for Locals, the flags those paths test, and the out-of-line
// entry points they fall into. The collector itself (internal::Heap) stays incomplete in
// embedders' translation units.
#pragma once
#include <cstddef>
#include <thread>
#include <vector>

namespace marrow {
class Object;
}

namespace marrow::internal {

class Heap;  // gc/include/marrow/gc/heap.hpp

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
  /// Whether `slot` is a live slot (of an open scope) of this area.
  bool owns(Object* const* slot) const;
  /// Whether `slot` lies in one of this area's blocks, live or not (a Local whose scope
  /// closed points into a block but past `next`).
  bool in_blocks(Object* const* slot) const;
};

/// The mutator's side of one runtime, read and written by inline code on every
/// allocation and handle creation. Owned by the Runtime; the Heap holds a reference.
///
/// Invariant (allocation buffer): [top, limit) is free memory the fast path may bump
/// into without asking: the rest of eden, or of old space's LAB while a pretenuring
/// window is open (gc/src/pretenuring.cpp). `limit == top` sends every allocation to the
/// slow path (stress mode, inside finalizers).
struct Mutator {
  std::byte* top = nullptr;
  std::byte* limit = nullptr;
  HandleArea handles;
  /// Config::large_object_bytes after normalisation: larger objects skip the buffer.
  std::size_t large_object_bytes = 0;
  /// Set while a managed constructor runs: a collection then would free the object under
  /// construction, so allocation and collection are refused.
  bool constructing = false;
  std::thread::id owner_thread = std::this_thread::get_id();

  void check_thread() const {
    if (std::this_thread::get_id() != owner_thread) [[unlikely]]
      throw_wrong_thread();
  }
  [[noreturn, gnu::cold]] static void throw_wrong_thread();
  [[noreturn, gnu::cold]] static void throw_allocation_in_constructor();
};

// ---- Out-of-line entry points (gc/src/allocation.cpp, gc/src/roots.cpp) ---------------

/// Memory for an object of `size` bytes when the buffer is exhausted, or for a large
/// object. May collect. Throws OutOfMemory, UsageError or InvalidSize; allocates nothing
/// then.
[[gnu::noinline]] std::byte* allocate_slow(Heap& heap, std::size_t size);
/// Memory in the immortal space (never moved or freed).
std::byte* allocate_immortal(Heap& heap, std::size_t size);
/// Puts a just-constructed object with a finalizer on the finalizable list.
void register_finalizable(Heap& heap, Object* object);
/// Called when `handles.next == handles.limit`: returns a fresh slot. Throws UsageError
/// when no HandleScope is open.
[[gnu::noinline]] Object** handle_slow(Mutator& mutator);

}  // namespace marrow::internal
