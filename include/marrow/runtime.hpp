// marrow::Runtime: one independent managed heap and the API to allocate in it, collect
// it and inspect it. The allocation fast path is inline here.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <utility>

#include "marrow/config.hpp"
#include "marrow/errors.hpp"
#include "marrow/handles.hpp"
#include "marrow/internal/check.hpp"
#include "marrow/internal/header.hpp"
#include "marrow/internal/mutator.hpp"
#include "marrow/member.hpp"
#include "marrow/stats.hpp"
#include "marrow/value.hpp"

namespace marrow {

/// One object as seen by a heap walk.
struct ObjectInfo {
  const Object* address;
  const char* type_name;
  std::size_t size;   ///< bytes, header included
  const char* space;  ///< "eden", "survivor", "old", "large", "immortal"
};

/// An independent managed heap. One thread at a time uses it (the creating thread, or
/// the one that called `attach_current_thread`); every allocation needs an open
/// HandleScope.
///
/// ```cpp
/// marrow::Runtime rt(marrow::Config::from_env());
/// marrow::HandleScope scope(rt);
/// marrow::Local<Node> a = rt.make<Node>(1);
/// a->left = rt.make<Node>(2);
/// rt.collect(marrow::GcKind::kMinor);
/// std::printf("%zu minor collections\n", rt.stats().minor_collections);
/// ```
class Runtime {
 public:
  explicit Runtime(const Config& config = Config{});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  /// Allocates and constructs a T; may collect (so raw pointers die here). Arguments
  /// should be values or handles, not raw managed pointers. The constructor must not
  /// allocate managed memory.
  template <class T, class... Args>
  Local<T> make(Args&&... args) {
    return make_with_size<T>(internal::align_up(internal::kHeaderSize + sizeof(T), 8),
                             std::forward<Args>(args)...);
  }

  /// Like make, with `extra` bytes after the fixed part, at
  /// `reinterpret_cast<std::byte*>(obj) + sizeof(T)` (zeroed). Throws InvalidSize when
  /// sizeof(T) + extra is impossible, before anything is allocated.
  template <class T, class... Args>
  Local<T> make_sized(std::size_t extra, Args&&... args) {
    constexpr std::size_t kFixed = internal::kHeaderSize + sizeof(T);
    if (extra > internal::kMaxObjectSize - kFixed) [[unlikely]]
      throw_bad_size(sizeof(T), extra);
    std::size_t size = internal::align_up(kFixed + extra, 8);
    return make_with_size<T, true>(size, std::forward<Args>(args)...);
  }

  /// An object that lives as long as the runtime: never moved, never freed, its
  /// references are roots. The pointer stays valid.
  template <class T, class... Args>
  T* make_immortal(Args&&... args) {
    internal::check_managed_type<T>();
    mutator_.check_thread();
    constexpr std::size_t size = internal::align_up(internal::kHeaderSize + sizeof(T), 8);
    std::byte* p = internal::allocate_immortal(*heap_, size);
    return construct<T>(p, size, std::forward<Args>(args)...);
  }

  /// Collects now. kMinor: the nursery; kMajor: everything (compacting if fragmented);
  /// kCompact: everything, compacting old space.
  void collect(GcKind kind = GcKind::kMajor);

  /// Gives back all the memory it can, for an embedder that knows it went idle (a server
  /// between requests, an app sent to the background): a major collection (compacting
  /// when old space is fragmented), every empty page returned to the OS, eden shrunk to
  /// Config::min_nursery_bytes and the survivor spaces released. The heap grows again as
  /// the program allocates. Costs a full collection; same rules as collect().
  ///
  /// ```cpp
  /// rt.collect(marrow::GcKind::kMinor);  // nothing special needed before
  /// rt.reduce_memory();
  /// std::printf("%zu bytes committed\n", rt.stats().heap_bytes);
  /// ```
  void reduce_memory();

  /// Gives the collector work to do until `deadline`, for an embedder with an event loop
  /// that knows it has time to spare (the rest of a frame, a wait for input). In order, as
  /// long as each fits the time left (estimated from what earlier collections measured):
  /// a minor collection when eden is at least half full, or sooner when it grows so fast
  /// that by the next call its collection would not fit this much time; with incremental
  /// marking, a marking step that runs to the deadline (allocation-paced steps then skip
  /// what it did ahead), the remark once marking is done, sweep steps, and a new cycle
  /// once the old generation is due for one; without it, a major collection once the old
  /// generation is near its trigger. Work done here is not done later, inside the
  /// embedder's own time. Each piece is a collection event with GcReason::kIdle. A
  /// deadline already past does nothing. Same rules as collect(). samples/frame_loop.cpp
  /// shows it in a frame loop, with its figures.
  ///
  /// Returns whether work remains that more idle time would advance (a marking cycle or
  /// a sweep runs): an embedder may then call again on its next break.
  ///
  /// ```cpp
  /// auto frame_end = std::chrono::steady_clock::now() + std::chrono::milliseconds(16);
  /// run_frame(rt);
  /// rt.idle(frame_end);  // the collector gets what the frame did not use
  /// ```
  bool idle(std::chrono::steady_clock::time_point deadline);

  /// Pins the object: it will not move until `unpin`. A young object is promoted first
  /// (a minor collection). Pins nest; each pin needs one unpin.
  template <class T>
  T* pin(const Local<T>& local) {
    check_owned(local.slot());
    return static_cast<T*>(pin_object(local.get()));
  }
  void unpin(const Object* object);

  /// A Local in the current HandleScope for an object reached some other way: a raw
  /// pointer (valid until the next allocation), a Member's get(), a Global. The object
  /// must belong to this runtime (checked: UsageError otherwise); null gives an empty
  /// Local. Lets a field's object be pinned, watched by a Weak or kept in a Global.
  ///
  /// ```cpp
  /// marrow::Local<Node> child = rt.local(parent->left.get());
  /// marrow::Weak<Node> watch(rt, child);
  /// ```
  template <class T>
  Local<T> local(T* object) {
    return Local<T>::from_slot(new_local_slot(object));
  }
  template <class T>
  Local<T> local(const Global<T>& global) {
    return local(global.get());
  }

  /// Refreshed statistics (see HeapStats).
  const HeapStats& stats();
  /// Registers a listener called after every collection; returns an id for remove_gc_listener.
  std::uint64_t on_gc(std::function<void(const GcEvent&)> listener);
  bool remove_gc_listener(std::uint64_t id);
  /// Called when a collection could not bring the heap under the limit; receives
  /// (current limit, bytes needed) and returns a new limit (0 or the same: give up).
  void set_near_heap_limit_callback(std::function<std::size_t(std::size_t, std::size_t)> cb);

  /// Checks every heap invariant; aborts with a report when one is broken.
  void verify_heap();
  /// The problems verify_heap would report, without aborting (empty when sound).
  std::vector<std::string> find_heap_problems();

  /// Calls fn for every live object (runs a full collection first so that only live
  /// objects are reported). fn must not allocate.
  void for_each_object(const std::function<void(const ObjectInfo&)>& fn);

  /// Writes the live object graph to `path` as a Chrome DevTools heap snapshot
  /// (.heapsnapshot JSON; opens in DevTools' Memory panel and memlab). Runs a major
  /// collection first. Node names are type names (TypeInfo::name, or `kTypeName`), edge
  /// names are the names given to `Tracer::visit`. Throws std::runtime_error naming the
  /// path when it cannot be written.
  ///
  /// ```cpp
  /// rt.write_heap_snapshot("vm.heapsnapshot");
  /// ```
  void write_heap_snapshot(const std::string& path);

  /// Writes every collection from now on, with its phases, to `path` as Chrome
  /// trace-event JSON (Perfetto, chrome://tracing); `stop_gc_trace` finishes the file
  /// (so does destroying the runtime). Config::gc_trace_path starts one at creation.
  ///
  /// ```cpp
  /// rt.start_gc_trace("gc-trace.json");
  /// run_program(rt);
  /// rt.stop_gc_trace();
  /// ```
  void start_gc_trace(const std::string& path);
  void stop_gc_trace();

  void add_root_source(RootSource* source);
  void remove_root_source(RootSource* source);

  /// Makes the calling thread the runtime's thread (hand-over between threads).
  void attach_current_thread() { mutator_.owner_thread = std::this_thread::get_id(); }
  /// The configuration in force (normalised; see Config).
  const Config& config() const;

  /// Whether `local` is a handle of this runtime (checks handle ownership).
  bool owns_handle(Object* const* slot) const;
  internal::Heap& heap_for_internal_use() { return *heap_; }
  internal::Mutator& mutator_for_internal_use() { return mutator_; }

 private:
  template <class T>
  friend class Global;
  template <class T>
  friend class Weak;

  [[noreturn]] static void throw_bad_size(std::size_t fixed, std::size_t extra);
  void check_owned(Object* const* slot) const;
  void check_owns_object(const Object* object) const;
  Object* pin_object(Object* object);
  Object** new_local_slot(Object* object);
  internal::SlotTable& global_slots();
  internal::SlotTable& weak_slots();

  template <class T, class... Args>
  T* construct(std::byte* p, std::size_t size, Args&&... args) {
    // The header goes first: it is outside T's storage, so the constructor cannot clobber it.
    *reinterpret_cast<internal::HeaderWord*>(p) =
        internal::make_header(size, internal::type_index_of<T>());
    void* where = p + internal::kHeaderSize;
    mutator_.constructing = true;
    T* object;
    try {
      object = ::new (where) T(std::forward<Args>(args)...);
    } catch (...) {
      mutator_.constructing = false;
      *reinterpret_cast<internal::HeaderWord*>(p) =
          internal::make_header(size, internal::kFillerType);
      throw;
    }
    mutator_.constructing = false;
    if constexpr (internal::HasFinalize<T>) internal::register_finalizable(*heap_, object);
    return object;
  }

  /// The allocation fast path. Measured with objdump on x86-64 (g++ 12 -O2, a 2-field
  /// type): 26 instructions from entry to return, of which: constructor-flag check (2),
  /// handle-slot check (3), bump + limit compare (6), type-index guard (3), header (4),
  /// the constructor's own zeroing (1), handle store (4); plus register saves because the
  /// slow paths are calls. The large-object compare folds away for types under 256 bytes.
  template <class T, bool kZeroTail = false, class... Args>
  Local<T> make_with_size(std::size_t size, Args&&... args) {
    internal::check_managed_type<T>();
    if (mutator_.constructing) [[unlikely]]
      internal::Mutator::throw_allocation_in_constructor();
    Object** handle = mutator_.handles.next;
    if (handle == mutator_.handles.limit) [[unlikely]]
      handle = internal::handle_slow(mutator_);
    std::byte* p;
    if (size > internal::kMinLargeObjectBytes && size > mutator_.large_object_bytes) [[unlikely]] {
      p = internal::allocate_slow(*heap_, size);
    } else {
      p = mutator_.top;
      if (static_cast<std::size_t>(mutator_.limit - p) >= size) [[likely]] {
        mutator_.top = p + size;
      } else {
        p = internal::allocate_slow(*heap_, size);
      }
    }
    if constexpr (kZeroTail) {
      constexpr std::size_t kFixed = internal::kHeaderSize + sizeof(T);
      std::memset(p + kFixed, 0, size - kFixed);
    }
    T* object = construct<T>(p, size, std::forward<Args>(args)...);
    *handle = object;
    mutator_.handles.next = handle + 1;
    return Local<T>::from_slot(handle);
  }

  // The mutator state comes first: the fast path reads it at small offsets from `this`.
  internal::Mutator mutator_;
  std::unique_ptr<internal::Heap> heap_;  // its destructor is out of line (runtime.cpp)
};

// ---- Handle scopes (inline: one opens per call frame of an interpreter) ------------

[[gnu::always_inline]] inline HandleScope::HandleScope(Runtime& rt)
    : rt_(rt), area_(rt.mutator_for_internal_use().handles) {
  rt.mutator_for_internal_use().check_thread();
  saved_next_ = area_.next;
  saved_limit_ = area_.limit;
  saved_block_ = area_.block;
  saved_depth_ = area_.depth;
  if (area_.next == nullptr) [[unlikely]]
    open_first_block();
  ++area_.depth;
}

inline HandleScope::~HandleScope() {
  MARROW_CHECK(area_.depth == saved_depth_ + 1,
               "HandleScopes must be destroyed in reverse order of creation");
  area_.next = saved_next_;
  area_.limit = saved_limit_;
  area_.block = saved_block_;
  area_.depth = saved_depth_;
}

inline Object** EscapableHandleScope::reserve(Runtime& rt) {
  internal::Mutator& m = rt.mutator_for_internal_use();
  m.check_thread();
  if (m.handles.depth == 0) [[unlikely]]
    throw_no_enclosing_scope();
  Object** slot = m.handles.next;
  if (slot == m.handles.limit) [[unlikely]]
    slot = internal::handle_slow(m);
  *slot = nullptr;
  m.handles.next = slot + 1;
  return slot;
}

inline EscapableHandleScope::EscapableHandleScope(Runtime& rt)
    : reserved_(reserve(rt)), scope_(rt) {}

// ---- Handle templates that need Runtime --------------------------------------------

template <class T>
template <class U>
requires std::is_convertible_v<U*, T*> Global<T>::Global(Runtime& rt, const Local<U>& local) {
  rt.check_owned(local.slot());
  slot_ = internal::OwnedSlot(rt.global_slots(), local.get());
}

template <class T>
Global<T>::Global(Runtime& rt, T* object) {
  if (object != nullptr) rt.check_owns_object(object);
  slot_ = internal::OwnedSlot(rt.global_slots(), object);
}

template <class T>
template <class U>
requires std::is_convertible_v<U*, T*> Weak<T>::Weak(Runtime& rt, const Local<U>& local) {
  rt.check_owned(local.slot());
  slot_ = internal::OwnedSlot(rt.weak_slots(), local.get());
}

}  // namespace marrow
