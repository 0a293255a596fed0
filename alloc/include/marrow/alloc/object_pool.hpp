// ObjectPool<T>: a Pool of T-sized blocks with construction and destruction, and PoolPtr<T>,
// the owning handle that gives an object back to its pool. Header-only. Must never hand
// a block to anything but its own pool.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

#include <marrow/alloc/pool.hpp>

namespace marrow {

template <typename T>
class ObjectPool;

/// Unique ownership of an object in an ObjectPool: destroys it and returns its block on
/// destruction or reset(). Move-only, like std::unique_ptr; empty when the pool could not
/// allocate. Must not outlive its pool.
///
/// Example:
/// ```
/// marrow::ObjectPool<Token> tokens;
/// {
///   marrow::PoolPtr<Token> t = tokens.make(TokenKind::kIdent, "x");
///   if (t) t->line = 3;
/// }  // ~Token() runs, the block returns to `tokens`
/// ```
template <typename T>
class PoolPtr {
 public:
  PoolPtr() noexcept = default;
  PoolPtr(T* object, ObjectPool<T>& pool) noexcept : object_(object), pool_(&pool) {}
  PoolPtr(PoolPtr&& other) noexcept
      : object_(std::exchange(other.object_, nullptr)), pool_(other.pool_) {}
  PoolPtr& operator=(PoolPtr&& other) noexcept {
    if (this != &other) {
      reset();
      object_ = std::exchange(other.object_, nullptr);
      pool_ = other.pool_;
    }
    return *this;
  }
  PoolPtr(const PoolPtr&) = delete;
  PoolPtr& operator=(const PoolPtr&) = delete;
  ~PoolPtr() { reset(); }

  T* get() const noexcept { return object_; }
  T* operator->() const noexcept { return object_; }
  T& operator*() const noexcept { return *object_; }
  explicit operator bool() const noexcept { return object_ != nullptr; }

  /// Destroys the object now (if any) and returns its block.
  void reset() noexcept {
    if (object_ != nullptr) pool_->destroy(std::exchange(object_, nullptr));
  }
  /// Gives up ownership: the caller must destroy() the object through the pool.
  [[nodiscard]] T* release() noexcept { return std::exchange(object_, nullptr); }

 private:
  T* object_ = nullptr;
  ObjectPool<T>* pool_ = nullptr;
};

/// A pool of T objects: construct() places a T in a pooled block, destroy() runs ~T and
/// recycles the block; make() returns a PoolPtr that does the destroy. Allocation failures
/// (the upstream is out of memory, PoolOptions::max_blocks reached) return nullptr / an
/// empty PoolPtr; exceptions from T's constructor propagate with the block recycled.
///
/// Single-threaded, like Pool. Every object must be destroyed before the pool is (checked
/// in debug builds): the pool cannot know which blocks hold live objects, so it cannot
/// run their destructors for you.
///
/// Example:
/// ```
/// marrow::ObjectPool<std::string> strings;
/// std::string* s = strings.construct("hello");
/// strings.destroy(s);
/// auto owned = strings.make(10, 'x');  // PoolPtr<std::string>
/// ```
template <typename T>
class ObjectPool {
 public:
  explicit ObjectPool(PoolOptions options = {}, Allocator& upstream = system_allocator()) noexcept
      : pool_(sizeof(T), alignof(T), options, upstream) {}

  ~ObjectPool() {
    MARROW_DCHECK(pool_.stats().live_blocks == 0,
                  "every object of an ObjectPool is destroyed before the pool");
  }

  ObjectPool(const ObjectPool&) = delete;
  ObjectPool& operator=(const ObjectPool&) = delete;

  /// A new T, or nullptr if no block could be allocated.
  template <typename... Args>
  T* construct(Args&&... args) {
    AllocResult r = pool_.allocate_block();
    if (!r) return nullptr;
    if constexpr (std::is_nothrow_constructible_v<T, Args...>) {
      return ::new (r.ptr) T(std::forward<Args>(args)...);
    } else {
      try {
        return ::new (r.ptr) T(std::forward<Args>(args)...);
      } catch (...) {
        pool_.deallocate_block(r.ptr);
        throw;
      }
    }
  }

  /// Runs ~T and recycles the block. `object` must come from this pool (or be null).
  void destroy(T* object) noexcept {
    if (object == nullptr) return;
    object->~T();
    pool_.deallocate_block(object);
  }

  /// construct() wrapped in an owning PoolPtr; empty on allocation failure.
  template <typename... Args>
  PoolPtr<T> make(Args&&... args) {
    T* object = construct(std::forward<Args>(args)...);
    return object != nullptr ? PoolPtr<T>(object, *this) : PoolPtr<T>();
  }

  /// Live objects. O(free blocks): for tests and reports.
  std::size_t live() const noexcept { return pool_.stats().live_blocks; }

  /// The underlying Pool (statistics, ownership tests).
  const Pool& pool() const noexcept { return pool_; }

 private:
  Pool pool_;
};

}  // namespace marrow
