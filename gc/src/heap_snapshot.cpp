// Heap snapshots in the Chrome DevTools .heapsnapshot format. (Being written.)
#include <stdexcept>

#include "marrow/gc/heap.hpp"

namespace marrow::internal {

void Heap::write_heap_snapshot(const std::string& path) {
  throw std::runtime_error("marrow: heap snapshots are not implemented yet (" + path + ")");
}

}  // namespace marrow::internal
