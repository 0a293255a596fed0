// Arena's out-of-line half: the allocation slow path (validation, chunk reuse and growth),
// LIFO free and in-place resizing, rewind/reset and statistics. Never on the fast path;
// must keep the cur_/limit_ invariant stated in arena.hpp at every return.
#include <marrow/alloc/arena.hpp>

#include <algorithm>

namespace marrow {

// Every chunk starts with this header; the usable bytes follow it. Aligned so that the
// first block of a chunk needs no padding for malloc-aligned requests.
struct alignas(kDefaultAlignment) Arena::Chunk {
  Chunk* next;              // next older chunk in used_, or next in free_
  std::size_t bytes;        // whole chunk, header included, as obtained from upstream
  std::uintptr_t used_end;  // bump pointer when it stopped being current (used_ only)

  std::uintptr_t begin() const noexcept { return reinterpret_cast<std::uintptr_t>(this + 1); }
  std::uintptr_t end() const noexcept { return reinterpret_cast<std::uintptr_t>(this) + bytes; }
  std::size_t capacity() const noexcept { return bytes - sizeof(Chunk); }
};

namespace {

// Chunks below this would spend most of themselves on the header and on tail waste.
constexpr std::size_t kMinChunkBytes = 256;

}  // namespace

Arena::Arena(ArenaOptions options, Allocator& upstream) noexcept
    : upstream_(&upstream), options_(options) {
  options_.initial_chunk_bytes = std::max(options_.initial_chunk_bytes, kMinChunkBytes);
  options_.max_chunk_bytes = std::max(options_.max_chunk_bytes, options_.initial_chunk_bytes);
  next_chunk_bytes_ = options_.initial_chunk_bytes;
}

Arena::~Arena() {
  release_list(used_);
  release_list(free_);
}

void Arena::release_list(Chunk* list) noexcept {
  while (list != nullptr) {
    Chunk* next = list->next;
    std::size_t bytes = list->bytes;
    reserved_bytes_ -= bytes;
    upstream_->deallocate(internal::unpoisoned(list, bytes), bytes, alignof(Chunk));
    list = next;
  }
}

// Records where the current chunk stopped, so stats and rewind see its used part.
void Arena::retire_current() noexcept {
  if (used_ != nullptr) used_->used_end = cur_;
}

Arena::Chunk* Arena::take_free_chunk(std::size_t min_bytes) noexcept {
  for (Chunk** link = &free_; *link != nullptr; link = &(*link)->next) {
    Chunk* c = *link;
    if (c->bytes >= min_bytes) {
      *link = c->next;
      return c;
    }
  }
  return nullptr;
}

AllocResult Arena::allocate_slow(std::size_t size, std::size_t align) noexcept {
  if (AllocError e = internal::validate_request(size, align); e != AllocError::kNone) {
    return AllocResult::failure(e);
  }
  if (size == 0) {
    size = 1;  // a unique address needs a byte
    std::uintptr_t p = internal::round_up_to_align(cur_, align);
    if (used_ != nullptr && p + size <= limit_) {
      cur_ = p + size;
      internal::unpoison_memory(reinterpret_cast<void*>(p), size);
      return AllocResult::success(reinterpret_cast<void*>(p));
    }
  }

  // Worst case: the chunk's first usable byte is kDefaultAlignment-aligned, so at most
  // align - kDefaultAlignment bytes of padding. validate_request bounds size + align.
  std::size_t padding = align > kDefaultAlignment ? align - kDefaultAlignment : 0;
  std::size_t min_bytes = sizeof(Chunk) + size + padding;

  Chunk* chunk = take_free_chunk(min_bytes);
  if (chunk == nullptr) {
    std::size_t bytes = std::max(next_chunk_bytes_, min_bytes);
    AllocResult r = upstream_->allocate(bytes, alignof(Chunk));
    if (!r) return AllocResult::failure(r.error);  // kOutOfMemory, or the upstream's reason
    chunk = static_cast<Chunk*>(r.ptr);
    chunk->bytes = bytes;
    // Only regular chunks advance the growth: one huge request must not make every later
    // chunk huge.
    if (bytes == next_chunk_bytes_) {
      next_chunk_bytes_ = std::min(next_chunk_bytes_ * 2, options_.max_chunk_bytes);
    }
    reserved_bytes_ += bytes;
    peak_reserved_bytes_ = std::max(peak_reserved_bytes_, reserved_bytes_);
    ++upstream_allocations_;
    internal::poison_memory(reinterpret_cast<void*>(chunk->begin()), chunk->capacity());
  }

  // The old chunk's tail (less than this request) is abandoned until the next reset or
  // rewind: the price of a single bump pointer.
  retire_current();
  chunk->next = used_;
  chunk->used_end = chunk->begin();
  used_ = chunk;
  limit_ = chunk->end();
  std::uintptr_t p = internal::round_up_to_align(chunk->begin(), align);
  cur_ = p + size;
  MARROW_DCHECK(cur_ <= limit_, "a fresh arena chunk fits the request it was sized for");
  internal::unpoison_memory(reinterpret_cast<void*>(p), size);
  return AllocResult::success(reinterpret_cast<void*>(p));
}

void Arena::deallocate(void* p, std::size_t size, std::size_t) noexcept {
  if (p == nullptr) return;
  size = std::max<std::size_t>(size, 1);  // zero-size blocks occupy a byte
  auto begin = reinterpret_cast<std::uintptr_t>(p);
  if (begin + size == cur_) cur_ = begin;  // the newest block: give its bytes back
  internal::poison_memory(p, size);
}

AllocError Arena::grow_in_place(void* p, std::size_t old_size, std::size_t new_size,
                                std::size_t align) noexcept {
  if (AllocError e = internal::validate_request(new_size, align); e != AllocError::kNone) {
    return e;
  }
  if (new_size < old_size) return AllocError::kUnsupported;
  old_size = std::max<std::size_t>(old_size, 1);
  new_size = std::max<std::size_t>(new_size, 1);
  if (new_size == old_size) return AllocError::kNone;
  auto begin = reinterpret_cast<std::uintptr_t>(p);
  if (p == nullptr || begin + old_size != cur_ || new_size - old_size > limit_ - cur_) {
    return AllocError::kNotInPlace;
  }
  internal::unpoison_memory(reinterpret_cast<void*>(cur_), new_size - old_size);
  cur_ = begin + new_size;
  return AllocError::kNone;
}

AllocError Arena::shrink_in_place(void* p, std::size_t old_size, std::size_t new_size,
                                  std::size_t) noexcept {
  if (new_size > old_size) return AllocError::kUnsupported;
  old_size = std::max<std::size_t>(old_size, 1);
  new_size = std::max<std::size_t>(new_size, 1);
  if (p == nullptr || new_size == old_size) return AllocError::kNone;
  auto begin = reinterpret_cast<std::uintptr_t>(p);
  if (begin + old_size == cur_) cur_ = begin + new_size;
  internal::poison_memory(static_cast<std::byte*>(p) + new_size, old_size - new_size);
  return AllocError::kNone;
}

void Arena::rewind(ArenaCheckpoint cp) noexcept {
  retire_current();
  while (used_ != cp.chunk) {
    MARROW_CHECK(used_ != nullptr,
                 "rewind takes a checkpoint of this arena, taken since its last reset");
    Chunk* c = used_;
    used_ = c->next;
    internal::poison_memory(reinterpret_cast<void*>(c->begin()), c->used_end - c->begin());
    c->next = free_;
    free_ = c;
  }
  if (used_ == nullptr) {
    cur_ = limit_ = 0;
    return;
  }
  // cp.cur may lie beyond the position when blocks older than the checkpoint were freed
  // LIFO since: rewinding then leaves those bytes unused until the next reset. Harmless;
  // only a position outside the chunk would be corruption.
  MARROW_CHECK(cp.cur >= used_->begin() && cp.cur <= used_->end(),
               "rewind takes a checkpoint of this arena (its position lies in its chunk)");
  if (cp.cur < used_->used_end) {
    internal::poison_memory(reinterpret_cast<void*>(cp.cur), used_->used_end - cp.cur);
  }
  cur_ = cp.cur;
  limit_ = used_->end();
}

void Arena::reset(ArenaReset mode) noexcept {
  if (mode == ArenaReset::kReleaseChunks) {
    release_list(used_);
    release_list(free_);
    used_ = free_ = nullptr;
    cur_ = limit_ = 0;
    next_chunk_bytes_ = options_.initial_chunk_bytes;
    return;
  }
  rewind(ArenaCheckpoint{});
}

ArenaStats Arena::stats() const noexcept {
  ArenaStats s;
  for (const Chunk* c = used_; c != nullptr; c = c->next) {
    std::uintptr_t end = c == used_ ? cur_ : c->used_end;
    s.used_bytes += end - c->begin();
    ++s.chunk_count;
  }
  for (const Chunk* c = free_; c != nullptr; c = c->next) ++s.free_chunk_count;
  s.reserved_bytes = reserved_bytes_;
  s.peak_reserved_bytes = peak_reserved_bytes_;
  s.upstream_allocations = upstream_allocations_;
  return s;
}

}  // namespace marrow
