// Tests for the young region (heap/src/page.cpp): is_young_address covers exactly the
// slots that were reserved, never the address space past them, and a reservation the OS
// cuts short (valgrind, `ulimit -v`) falls back to fewer slots that still all work.
#include <marrow/heap/page.hpp>

#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <vector>

using marrow::internal::acquire_young_slot;
using marrow::internal::g_young;
using marrow::internal::is_young_address;
using marrow::internal::kMaxYoungSlots;
using marrow::internal::kYoungSlotBytes;
using marrow::internal::release_young_slot;
using marrow::internal::young_slot_count;

namespace {

/// Takes every free slot; returns them in order of acquisition.
std::vector<std::byte*> acquire_all() {
  std::vector<std::byte*> slots;
  while (std::byte* s = acquire_young_slot()) slots.push_back(s);
  return slots;
}

/// Bytes of address space the process has mapped (first field of /proc/self/statm).
std::size_t mapped_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long pages = 0;
  int n = std::fscanf(f, "%lu", &pages);
  std::fclose(f);
  return n == 1 ? pages * std::size_t(sysconf(_SC_PAGESIZE)) : 0;
}

// Exit codes of the child in the fallback test.
enum ChildExit : int {
  kChildOk = 0,
  kChildAlreadyReserved = 10,  // the parent reserved first: nothing to test
  kChildNoRlimit,
  kChildYoungBeforeReservation,
  kChildNoSlot,
  kChildNotReduced,
  kChildSpanWrong,
  kChildPastSpanIsYoung,
  kChildSlotCountWrong,
};

}  // namespace

// First in this file so that, run in file order, it forks before this process reserves.
TEST_CASE("young region: a refused reservation falls back to fewer slots, all exact") {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Child: no doctest macros here; the exit code says what failed.
    if (young_slot_count() != 0) _exit(kChildAlreadyReserved);
    int local = 0;
    if (is_young_address(&local) || is_young_address(std::uintptr_t{0}))
      _exit(kChildYoungBeforeReservation);
    // Room for a 16-slot reservation but not 32: the 64 and 32 attempts must fail.
    std::size_t limit = mapped_bytes() + 20 * kYoungSlotBytes;
    rlimit rl{limit, limit};
    if (mapped_bytes() == 0 || setrlimit(RLIMIT_AS, &rl) != 0) _exit(kChildNoRlimit);
    std::byte* first = acquire_young_slot();
    if (first == nullptr) _exit(kChildNoSlot);
    std::size_t slots = young_slot_count();
    if (slots >= kMaxYoungSlots / 2) _exit(kChildNotReduced);
    if (slots != 16 || g_young.span != slots * kYoungSlotBytes) _exit(kChildSpanWrong);
    if (is_young_address(g_young.base + g_young.span) ||
        is_young_address(g_young.base + kMaxYoungSlots * kYoungSlotBytes - 1))
      _exit(kChildPastSpanIsYoung);
    if (acquire_all().size() + 1 != slots) _exit(kChildSlotCountWrong);
    _exit(kChildOk);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  int code = WEXITSTATUS(status);
  if (code == kChildAlreadyReserved) {
    MESSAGE("skipped: the young region was reserved before this test ran");
    return;
  }
  INFO("child exit code ", code, " (see ChildExit)");
  CHECK(code == kChildOk);
}

TEST_CASE("young region: is_young_address covers exactly the reserved slots") {
  std::byte* slot = acquire_young_slot();
  REQUIRE(slot != nullptr);
  const std::size_t slots = young_slot_count();
  CHECK(slots >= 1);
  CHECK(slots <= kMaxYoungSlots);
  CHECK(g_young.span == slots * kYoungSlotBytes);
  const std::uintptr_t base = g_young.base;
  CHECK(reinterpret_cast<std::uintptr_t>(slot) >= base);
  CHECK(reinterpret_cast<std::uintptr_t>(slot) + kYoungSlotBytes <= base + g_young.span);

  CHECK(is_young_address(base));
  CHECK(is_young_address(base + g_young.span - 1));
  CHECK_FALSE(is_young_address(base - 1));
  CHECK_FALSE(is_young_address(base + g_young.span));
  int on_stack = 0;
  CHECK_FALSE(is_young_address(&on_stack));
  CHECK_FALSE(is_young_address(std::uintptr_t{0}));
  release_young_slot(slot);
}

TEST_CASE("young region: exactly young_slot_count() slots, then nullptr, then reusable") {
  std::vector<std::byte*> slots = acquire_all();
  CHECK(slots.size() == young_slot_count());
  CHECK(acquire_young_slot() == nullptr);
  for (std::size_t i = 0; i < slots.size(); ++i) {
    CHECK(is_young_address(slots[i]));
    CHECK(is_young_address(slots[i] + kYoungSlotBytes - 1));
    if (i > 0) CHECK(slots[i] == slots[i - 1] + kYoungSlotBytes);
  }
  release_young_slot(slots.back());
  std::byte* again = acquire_young_slot();
  CHECK(again == slots.back());
  slots.back() = again;
  for (std::byte* s : slots) release_young_slot(s);
}
