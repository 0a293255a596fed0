// Stable slots for Global and Weak handles: chunks that never move, threaded by a free
// list. The handles' RAII core (internal::OwnedSlot in marrow/handles.hpp) acquires and
// releases them; the collector visits them as roots (Globals) or as weak references.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace marrow {
class Object;
}

namespace marrow::internal {

/// Out of line in gc/src/roots.cpp. Invariant: a free slot holds (next free | 1), so a
/// live slot (an object address or null) is told apart by bit 0. In debug and sanitizer
/// builds, releasing a slot of a destroyed table (a Global reset after its Runtime) fails
/// a check instead of writing into freed memory.
class SlotTable {
 public:
  SlotTable();
  SlotTable(const SlotTable&) = delete;
  SlotTable& operator=(const SlotTable&) = delete;
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
  Object** free_ = nullptr;
  std::size_t live_ = 0;
};

}  // namespace marrow::internal
