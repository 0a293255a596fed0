// A reference model of live blocks for the allocator tests: records every block handed
// out, fills it with a known byte, and checks alignment, non-overlap and contents. Test
// code only; included by the *_test.cpp files of tests/heap.
#pragma once

#include <doctest/doctest.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <map>
#include <random>

namespace marrow::test {

struct ModelBlock {
  std::byte* ptr = nullptr;
  std::size_t size = 0;  // as requested; a zero-size block occupies one (unwritten) byte
  std::size_t align = 1;
  unsigned char fill = 0;
  std::uint64_t seq = 0;  // order of allocation, from 1
};

/// The blocks an allocator under test has handed out and not taken back, by address.
class BlockModel {
 public:
  /// Records a fresh block: checks its alignment and that it overlaps no live block, then
  /// fills it with `fill`.
  void add(void* p, std::size_t size, std::size_t align, unsigned char fill) {
    REQUIRE(p != nullptr);
    auto a = reinterpret_cast<std::uintptr_t>(p);
    REQUIRE((a & (align - 1)) == 0);
    std::size_t extent = size == 0 ? 1 : size;
    auto next = blocks_.lower_bound(a);
    if (next != blocks_.end()) REQUIRE(a + extent <= next->first);
    if (next != blocks_.begin()) {
      auto prev = std::prev(next);
      REQUIRE(prev->first + extent_of(prev->second) <= a);
    }
    std::memset(p, fill, size);
    blocks_.emplace(a, ModelBlock{static_cast<std::byte*>(p), size, align, fill, ++seq_});
    bytes_ += size;
  }

  /// Checks a block's contents are still its fill byte.
  static void check(const ModelBlock& b) {
    for (std::size_t i = 0; i < b.size; ++i) {
      if (static_cast<unsigned char>(b.ptr[i]) != b.fill) {
        FAIL("block at offset " << i << " of " << b.size << " lost its contents");
      }
    }
  }

  void check_all() const {
    for (const auto& [a, b] : blocks_) check(b);
  }

  /// Checks and forgets the block at `p`.
  ModelBlock remove(void* p) {
    auto it = blocks_.find(reinterpret_cast<std::uintptr_t>(p));
    REQUIRE(it != blocks_.end());
    ModelBlock b = it->second;
    check(b);
    bytes_ -= b.size;
    blocks_.erase(it);
    return b;
  }

  /// The block whose index in address order is `i`.
  ModelBlock at(std::size_t i) const { return std::next(blocks_.begin(), i)->second; }

  /// The sequence number the next block will get; blocks added from now on are "newer".
  std::uint64_t next_seq() const { return seq_ + 1; }

  /// Forgets every block added at or after `seq` (an arena rewind), checking the older
  /// ones kept their contents.
  void drop_from_seq(std::uint64_t seq) {
    for (auto it = blocks_.begin(); it != blocks_.end();) {
      if (it->second.seq >= seq) {
        bytes_ -= it->second.size;
        it = blocks_.erase(it);
      } else {
        check(it->second);
        ++it;
      }
    }
  }
  void clear() {
    blocks_.clear();
    bytes_ = 0;
  }

  std::size_t count() const { return blocks_.size(); }
  std::size_t bytes() const { return bytes_; }
  bool empty() const { return blocks_.empty(); }

 private:
  static std::size_t extent_of(const ModelBlock& b) { return b.size == 0 ? 1 : b.size; }

  std::map<std::uintptr_t, ModelBlock> blocks_;
  std::size_t bytes_ = 0;
  std::uint64_t seq_ = 0;
};

/// A power of two in [1, max_align].
inline std::size_t random_alignment(std::mt19937_64& rng, std::size_t max_align) {
  std::size_t shift = std::uniform_int_distribution<std::size_t>(0, 63)(rng) %
                      (static_cast<std::size_t>(std::countr_zero(max_align)) + 1);
  return std::size_t{1} << shift;
}

}  // namespace marrow::test
