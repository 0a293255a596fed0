// Tests Nursery (heap/src/spaces.cpp): init lays out [eden | survivor 0 | survivor 1] in a
// young slot, contains is exactly that span, flip swaps the semispaces, a slot is reused.
#include <marrow/heap/spaces.hpp>

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using marrow::internal::BumpRegion;
using marrow::internal::g_young;
using marrow::internal::is_young_address;
using marrow::internal::kYoungSlotBytes;
using marrow::internal::Nursery;
using marrow::internal::young_slot_count;

namespace {

/// Failed expectations of a body run in a child process, one line each.
struct Failures {
  int fd;
  void expect(bool ok, const char* what, int line) {
    if (ok) return;
    std::string text = std::to_string(line) + ": " + what + "\n";
    (void)!write(fd, text.data(), text.size());
  }
};
#define NURSERY_EXPECT(f, ...) (f).expect(bool(__VA_ARGS__), #__VA_ARGS__, __LINE__)

/// Runs `body` in a forked child and reports what it found wrong here. A nursery reserves
/// the process's young region for good, and young_region_test.cpp's first case (which runs
/// after this file) needs a process that has not reserved it yet.
void run_in_child(void (*body)(Failures&)) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    Failures f{fds[1]};
    body(f);
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string out;
  char buffer[512];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;) out.append(buffer, size_t(n));
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE_MESSAGE(WIFEXITED(status), "the child crashed (signal ", WTERMSIG(status), ")");
  CHECK(WEXITSTATUS(status) == 0);
  INFO("failed in the child (line: expectation):\n", out);
  CHECK(out.empty());
}

bool is_filled(const std::byte* p, std::size_t n, std::byte value) {
  return std::all_of(p, p + n, [&](std::byte b) { return b == value; });
}

}  // namespace

TEST_CASE("nursery: eden resizes within its range, and released pages stop counting") {
  run_in_child([](Failures& f) {
    Nursery n;
    const bool n_ok = n.init(64 * 4096, 8 * 4096) == Nursery::InitResult::kOk;
    NURSERY_EXPECT(f, n_ok);
    if (!n_ok) return;
    std::memset(n.eden_start(), 1, 64 * 4096);  // touch all of eden
    n.note_eden_use(64 * 4096);
    NURSERY_EXPECT(f, n.committed_bytes(0) == 64 * 4096);
    n.release_eden_beyond(16 * 4096);
    NURSERY_EXPECT(f, n.committed_bytes(0) == 16 * 4096);
    NURSERY_EXPECT(f, n.eden_capacity() == 64 * 4096);             // released, not resized
    NURSERY_EXPECT(f, n.eden_start()[20 * 4096] == std::byte{0});  // reads as zero again
    NURSERY_EXPECT(f, n.eden_start()[4096] == std::byte{1});       // kept
    n.resize_eden(8 * 4096 - 1);                                   // rounded up to an OS page
    NURSERY_EXPECT(f, n.eden_capacity() == 8 * 4096);
    NURSERY_EXPECT(f, n.eden_max_capacity() == 64 * 4096);
    NURSERY_EXPECT(f, n.committed_bytes(0) == 8 * 4096);
    NURSERY_EXPECT(f, n.contains(n.eden_start() + 32 * 4096));  // still young: same range
    n.resize_eden(std::size_t{1} << 30);                        // clamped to the maximum
    NURSERY_EXPECT(f, n.eden_capacity() == 64 * 4096);
  });
}

TEST_CASE("nursery: init lays out eden and two survivor spaces, rounded to 4 KiB") {
  run_in_child([](Failures& f) {
    NURSERY_EXPECT(f, young_slot_count() == 0);  // this child reserves the region itself
    Nursery n;
    const bool n_ok = n.init(100000, 5000) == Nursery::InitResult::kOk;
    NURSERY_EXPECT(f, n_ok);
    if (!n_ok) return;
    const std::size_t eden = 102400, survivor = 8192;  // each rounded up to 4 KiB
    std::byte* base = reinterpret_cast<std::byte*>(n.base());
    NURSERY_EXPECT(f, young_slot_count() >= 1);
    NURSERY_EXPECT(f, n.eden_capacity() == eden);
    NURSERY_EXPECT(f, n.survivor_capacity() == survivor);
    NURSERY_EXPECT(f, n.span() == eden + 2 * survivor);
    NURSERY_EXPECT(f, n.committed_bytes(0) == 0);  // nothing touched yet
    NURSERY_EXPECT(f, n.committed_bytes(eden) == eden);
    NURSERY_EXPECT(f, n.eden_start() == base);
    NURSERY_EXPECT(f, n.eden_end() == base + eden);
    const BumpRegion& from = n.from_space();
    BumpRegion& to = n.to_space();
    NURSERY_EXPECT(f, from.start == n.eden_end());
    NURSERY_EXPECT(f, from.end == from.start + survivor);
    NURSERY_EXPECT(f, to.start == from.end);
    NURSERY_EXPECT(f, to.end == base + n.span());
    NURSERY_EXPECT(f, from.top == from.start && to.top == to.start);
    NURSERY_EXPECT(f, from.used() == 0 && from.capacity() == survivor);
    NURSERY_EXPECT(f, from.contains(from.start) && !from.contains(from.end));
    // The whole span is committed read-write.
    std::memset(base, 0x5a, n.span());
    NURSERY_EXPECT(f, is_filled(base, n.span(), std::byte{0x5a}));
    NURSERY_EXPECT(f, is_young_address(base));
    NURSERY_EXPECT(f, is_young_address(base + n.span() - 1));
  });
}

TEST_CASE("nursery: contains is exactly [eden start, end of survivor 1)") {
  run_in_child([](Failures& f) {
    Nursery n;
    const bool n_ok = n.init(64 << 10, 16 << 10) == Nursery::InitResult::kOk;
    NURSERY_EXPECT(f, n_ok);
    if (!n_ok) return;
    std::byte* base = n.eden_start();
    int local = 0;
    NURSERY_EXPECT(f, n.contains(base));
    NURSERY_EXPECT(f, n.contains(n.eden_end()));  // the first survivor byte
    NURSERY_EXPECT(f, n.contains(base + n.span() - 1));
    NURSERY_EXPECT(f, !n.contains(base + n.span()));
    NURSERY_EXPECT(f, !n.contains(base - 1));
    NURSERY_EXPECT(f, !n.contains(&local));
    NURSERY_EXPECT(f, !n.contains(nullptr));
    // A second nursery has its own slot: neither contains the other's objects.
    Nursery other;
    const bool other_ok = other.init(64 << 10, 16 << 10) == Nursery::InitResult::kOk;
    NURSERY_EXPECT(f, other_ok);
    if (!other_ok) return;
    NURSERY_EXPECT(f, other.eden_start() != base);
    NURSERY_EXPECT(f, !n.contains(other.eden_start()));
    NURSERY_EXPECT(f, !other.contains(base));
    NURSERY_EXPECT(f, other.contains(other.eden_start()));
  });
}

TEST_CASE("nursery: flip swaps from-space and to-space") {
  run_in_child([](Failures& f) {
    Nursery n;
    const bool n_ok = n.init(64 << 10, 16 << 10) == Nursery::InitResult::kOk;
    NURSERY_EXPECT(f, n_ok);
    if (!n_ok) return;
    BumpRegion* from0 = &n.from_space();
    BumpRegion* to0 = &n.to_space();
    std::byte* from_start = from0->start;
    std::byte* to_start = to0->start;
    NURSERY_EXPECT(f, from0 != to0);
    to0->top = to0->start + 256;  // a collection copied survivors into to-space
    n.flip();
    NURSERY_EXPECT(f, &n.from_space() == to0);
    NURSERY_EXPECT(f, &n.to_space() == from0);
    NURSERY_EXPECT(f, n.from_space().start == to_start);
    NURSERY_EXPECT(f, n.from_space().used() == 256);  // the survivors are from-space now
    NURSERY_EXPECT(f, n.to_space().start == from_start);
    n.flip();
    NURSERY_EXPECT(f, &n.from_space() == from0);
    NURSERY_EXPECT(f, n.from_space().start == from_start);
  });
}

TEST_CASE("nursery: each survivor space keeps its populated frontier until it is released") {
  run_in_child([](Failures& f) {
    Nursery n;
    const bool n_ok = n.init(64 << 10, 64 << 10) == Nursery::InitResult::kOk;
    NURSERY_EXPECT(f, n_ok);
    if (!n_ok) return;
    NURSERY_EXPECT(f, n.to_space_populated() == n.to_space().start);  // nothing yet
    std::byte* first = n.to_space().start;
    n.note_to_space_populated(first + 8 * 4096);  // a collection populated 8 pages
    n.note_to_space_populated(first + 4 * 4096);  // a frontier never moves back
    NURSERY_EXPECT(f, n.to_space_populated() == first + 8 * 4096);
    n.to_space().top = first + 3 * 4096;  // it copied 3 pages' worth
    n.flip();
    NURSERY_EXPECT(f, n.to_space_populated() == n.to_space().start);  // the other space
    n.from_space().top = n.from_space().start;                        // the survivors died
    n.flip();
    NURSERY_EXPECT(f, n.to_space_populated() == first + 8 * 4096);  // back: still populated
    // Releasing to-space beyond what the next collection needs lowers its frontier; the
    // populated pages read as zero again once released.
    n.from_space().top = n.from_space().start;
    n.trim_survivors(Nursery::ReleaseSurvivors::kAll);
    NURSERY_EXPECT(f, n.to_space_populated() == n.to_space().start);
    n.flip();
    NURSERY_EXPECT(f, n.to_space_populated() == n.to_space().start);
  });
}

TEST_CASE("nursery: destruction frees the slot; the next nursery there starts zeroed") {
  run_in_child([](Failures& f) {
    std::byte* first_base = nullptr;
    std::size_t span = 0;
    {
      Nursery a;
      const bool a_ok = a.init(64 << 10, 16 << 10) == Nursery::InitResult::kOk;
      NURSERY_EXPECT(f, a_ok);
      if (!a_ok) return;
      first_base = a.eden_start();
      span = a.span();
      std::memset(first_base, 0xdb, span);
    }
    Nursery b;
    const bool b_ok = b.init(64 << 10, 16 << 10) == Nursery::InitResult::kOk;
    NURSERY_EXPECT(f, b_ok);
    if (!b_ok) return;
    NURSERY_EXPECT(f, b.eden_start() == first_base);  // the lowest free slot: the same one
    NURSERY_EXPECT(f, b.span() == span);
    NURSERY_EXPECT(f, is_filled(b.eden_start(), span, std::byte{0}));  // decommitted before
  });
}

TEST_CASE("nursery: init refuses a span larger than a young slot") {
  run_in_child([](Failures& f) {
    Nursery too_big;
    NURSERY_EXPECT(f, too_big.init(kYoungSlotBytes, 4096) == Nursery::InitResult::kTooLarge);
    NURSERY_EXPECT(f, too_big.eden_start() == nullptr);
    NURSERY_EXPECT(f, too_big.init(kYoungSlotBytes - 4096, 4096) ==
                          Nursery::InitResult::kTooLarge);  // 4 KiB over
    // No slot was taken: the next nursery gets the first one.
    Nursery n;
    const bool n_ok = n.init(64 << 10, 16 << 10) == Nursery::InitResult::kOk;
    NURSERY_EXPECT(f, n_ok);
    if (!n_ok) return;
    NURSERY_EXPECT(f, n.base() == g_young.base);
  });
}
