// Tests for the allocator interface itself: error names, request validation, AllocResult,
// the default reallocate built on allocate/grow/shrink, and the std::pmr adapter.
#include <marrow/alloc/allocator.hpp>
#include <marrow/alloc/system_allocator.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

namespace {

using marrow::AllocError;
using marrow::AllocResult;

// Forwards to the system allocator, but can be told to refuse, and uses the base class's
// reallocate / grow / shrink so those defaults get tested.
class ScriptedAllocator final : public marrow::Allocator {
 public:
  AllocResult allocate(std::size_t size, std::size_t align) noexcept override {
    ++allocations;
    if (fail_next) return AllocResult::failure(AllocError::kOutOfMemory);
    return marrow::system_allocator().allocate(size, align);
  }
  void deallocate(void* p, std::size_t size, std::size_t align) noexcept override {
    if (p != nullptr) ++deallocations;
    marrow::system_allocator().deallocate(p, size, align);
  }
  bool fail_next = false;
  int allocations = 0;
  int deallocations = 0;
};

}  // namespace

TEST_CASE("to_string names every error distinctly") {
  std::set<std::string> names;
  for (AllocError e : {AllocError::kNone, AllocError::kOutOfMemory, AllocError::kExhausted,
                       AllocError::kBadAlignment, AllocError::kSizeOverflow,
                       AllocError::kUnsupported, AllocError::kNotInPlace}) {
    std::string name(marrow::to_string(e));
    CHECK(!name.empty());
    names.insert(name);
  }
  CHECK(names.size() == 7);
  CHECK(marrow::to_string(AllocError::kOutOfMemory) == "out of memory");
  CHECK(marrow::to_string(static_cast<AllocError>(200)) == "unknown allocation error");
}

TEST_CASE("AllocResult is truthy exactly when it holds a block") {
  int x = 0;
  AllocResult ok = AllocResult::success(&x);
  AllocResult bad = AllocResult::failure(AllocError::kExhausted);
  CHECK(static_cast<bool>(ok));
  CHECK(ok.error == AllocError::kNone);
  CHECK_FALSE(static_cast<bool>(bad));
  CHECK(bad.ptr == nullptr);
  CHECK(bad.error == AllocError::kExhausted);
}

TEST_CASE("validate_request rejects bad alignments and overflowing sizes") {
  using marrow::internal::validate_request;
  for (std::size_t a = 1; a <= marrow::kMaxAlignment; a <<= 1) {
    CHECK(validate_request(8, a) == AllocError::kNone);
  }
  for (std::size_t a : {std::size_t{0}, std::size_t{3}, std::size_t{6}, std::size_t{12},
                        std::size_t{100}, marrow::kMaxAlignment * 2, SIZE_MAX}) {
    CHECK(validate_request(8, a) == AllocError::kBadAlignment);
  }
  CHECK(validate_request(SIZE_MAX, 8) == AllocError::kSizeOverflow);
  CHECK(validate_request(marrow::kMaxAllocationSize, 8) == AllocError::kSizeOverflow);
  CHECK(validate_request(marrow::kMaxAllocationSize - 8, 8) == AllocError::kNone);
  CHECK(validate_request(0, 1) == AllocError::kNone);
  CHECK(marrow::internal::round_up_to_align(13, 8) == 16);
  CHECK(marrow::internal::round_up_to_align(16, 8) == 16);
}

TEST_CASE("the default reallocate moves, copies and frees") {
  ScriptedAllocator alloc;
  AllocResult r = alloc.allocate(32, 8);
  REQUIRE(r);
  std::memset(r.ptr, 0x5A, 32);

  AllocResult grown = alloc.reallocate(r.ptr, 32, 4096, 8);
  REQUIRE(grown);
  CHECK(alloc.allocations == 2);    // no grow_in_place by default: a move
  CHECK(alloc.deallocations == 1);  // the old block went back
  auto* bytes = static_cast<unsigned char*>(grown.ptr);
  for (int i = 0; i < 32; ++i) REQUIRE(bytes[i] == 0x5A);

  AllocResult shrunk = alloc.reallocate(grown.ptr, 4096, 16, 8);
  REQUIRE(shrunk);
  bytes = static_cast<unsigned char*>(shrunk.ptr);
  for (int i = 0; i < 16; ++i) REQUIRE(bytes[i] == 0x5A);

  SUBCASE("same size returns the same block") {
    AllocResult same = alloc.reallocate(shrunk.ptr, 16, 16, 8);
    CHECK(same.ptr == shrunk.ptr);
    alloc.deallocate(same.ptr, 16, 8);
  }
  SUBCASE("a failed move leaves the old block intact and owned") {
    alloc.fail_next = true;
    AllocResult failed = alloc.reallocate(shrunk.ptr, 16, 1 << 20, 8);
    CHECK_FALSE(failed);
    CHECK(failed.error == AllocError::kOutOfMemory);
    for (int i = 0; i < 16; ++i) REQUIRE(bytes[i] == 0x5A);
    alloc.deallocate(shrunk.ptr, 16, 8);
  }
  SUBCASE("bad arguments are rejected before anything moves") {
    int before = alloc.allocations;
    CHECK(alloc.reallocate(shrunk.ptr, 16, 32, 3).error == AllocError::kBadAlignment);
    CHECK(alloc.reallocate(shrunk.ptr, 16, SIZE_MAX, 8).error == AllocError::kSizeOverflow);
    CHECK(alloc.allocations == before);
    alloc.deallocate(shrunk.ptr, 16, 8);
  }
}

TEST_CASE("the default reallocate of null allocates; in-place defaults refuse") {
  ScriptedAllocator alloc;
  AllocResult r = alloc.reallocate(nullptr, 0, 24, 8);
  REQUIRE(r);
  CHECK(alloc.allocations == 1);
  CHECK(alloc.grow_in_place(r.ptr, 24, 48, 8) == AllocError::kNotInPlace);
  CHECK(alloc.shrink_in_place(r.ptr, 24, 8, 8) == AllocError::kNotInPlace);
  alloc.deallocate(r.ptr, 24, 8);
}

TEST_CASE("ResourceAdapter lets std::pmr containers allocate and reports failure as bad_alloc") {
  ScriptedAllocator alloc;
  marrow::ResourceAdapter<ScriptedAllocator> resource(alloc);
  {
    std::pmr::vector<std::uint64_t> v(&resource);
    for (std::uint64_t i = 0; i < 1000; ++i) v.push_back(i * i);
    CHECK(v[999] == 999u * 999u);
    CHECK(alloc.allocations > 0);
  }
  CHECK(alloc.allocations == alloc.deallocations);

  marrow::ResourceAdapter<ScriptedAllocator> same(alloc);
  ScriptedAllocator other_alloc;
  marrow::ResourceAdapter<ScriptedAllocator> other(other_alloc);
  CHECK(resource.is_equal(same));
  CHECK_FALSE(resource.is_equal(other));
  CHECK_FALSE(resource.is_equal(*std::pmr::new_delete_resource()));

  alloc.fail_next = true;
  std::pmr::vector<int> w(&resource);
  CHECK_THROWS_AS(w.push_back(1), std::bad_alloc);
}
