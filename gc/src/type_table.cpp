// The process-wide type table: index -> TypeInfo, filled on first use of each C++ type.
#include <atomic>

#include "marrow/internal/check.hpp"
#include "marrow/object.hpp"
#include "marrow/stats.hpp"

namespace marrow {
namespace internal {
namespace {

const TypeInfo kFreeChunkInfo = {"(free)", nullptr, nullptr, 0, nullptr, SnapshotNodeType::kHidden};
const TypeInfo kFillerInfo = {"(filler)", nullptr, nullptr, 0, nullptr, SnapshotNodeType::kHidden};

std::atomic<std::uint32_t> g_next_type{kFirstUserType};

}  // namespace

// Constant-initialized (no start-up code): the two reserved entries, then nulls.
std::atomic<const TypeInfo*> g_type_table[kMaxTypes] = {&kFreeChunkInfo, &kFillerInfo};
static_assert(kFreeChunkType == 0 && kFillerType == 1, "the reserved entries come first");

std::uint32_t register_type(const TypeInfo* info) noexcept {
  std::uint32_t index = g_next_type.fetch_add(1, std::memory_order_relaxed);
  MARROW_CHECK(index < kMaxTypes, "at most 65534 managed types per process");
  g_type_table[index].store(info, std::memory_order_release);
  return index;
}

std::uint32_t type_count() noexcept { return g_next_type.load(std::memory_order_acquire); }

bool is_registered_type(std::uint32_t index) noexcept {
  return index < type_count() &&
         (index < kFirstUserType || g_type_table[index].load(std::memory_order_acquire) != nullptr);
}

}  // namespace internal

}  // namespace marrow
