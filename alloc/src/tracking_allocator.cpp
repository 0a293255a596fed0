// TrackingAllocator: forwarding with counters, the per-block records and the leak report.
// Must return to callers exactly what the upstream returned; a failure to record a block
// (the record table cannot grow) turns into kOutOfMemory with the block given back.
#include <marrow/alloc/tracking_allocator.hpp>

#include <algorithm>
#include <cinttypes>
#include <new>

namespace marrow {

void TrackingAllocator::note_allocation(void* p, std::size_t size, std::size_t align) {
  if (mode_ == TrackingMode::kRecordAllocations) {
    records_.emplace(p, Record{size, align, serial_ + 1, std::chrono::steady_clock::now()});
  }
  ++serial_;
  ++stats_.total_allocations;
  ++stats_.live_allocations;
  stats_.total_bytes_allocated += size;
  stats_.current_bytes += size;
  stats_.peak_bytes = std::max(stats_.peak_bytes, stats_.current_bytes);
}

void TrackingAllocator::note_resize(void* old_p, void* new_p, std::size_t old_size,
                                    std::size_t new_size) {
  ++stats_.reallocations;
  if (new_size > old_size) stats_.total_bytes_allocated += new_size - old_size;
  stats_.current_bytes = stats_.current_bytes - old_size + new_size;
  stats_.peak_bytes = std::max(stats_.peak_bytes, stats_.current_bytes);
  if (mode_ != TrackingMode::kRecordAllocations) return;
  auto it = records_.find(old_p);
  if (it == records_.end()) return;
  Record r = it->second;
  r.size = new_size;
  if (old_p == new_p) {
    it->second = r;
  } else {
    // Erase first: the freed slot makes room, so emplace cannot need to allocate more than
    // a plain insert would.
    records_.erase(it);
    records_.emplace(new_p, r);
  }
}

AllocResult TrackingAllocator::allocate(std::size_t size, std::size_t align) noexcept {
  AllocResult r = upstream_->allocate(size, align);
  std::lock_guard lock(mutex_);
  if (!r) {
    ++stats_.failed_requests;
    return r;
  }
  try {
    note_allocation(r.ptr, size, align);
  } catch (const std::bad_alloc&) {
    ++stats_.failed_requests;
    upstream_->deallocate(r.ptr, size, align);
    return AllocResult::failure(AllocError::kOutOfMemory);
  }
  return r;
}

void TrackingAllocator::deallocate(void* p, std::size_t size, std::size_t align) noexcept {
  if (p == nullptr) return;
  {
    std::lock_guard lock(mutex_);
    if (mode_ == TrackingMode::kRecordAllocations) {
      auto it = records_.find(p);
      if (it == records_.end()) {
        // Not ours (or freed twice): forwarding could corrupt the upstream.
        ++stats_.bad_deallocations;
        return;
      }
      if (it->second.size != size || it->second.align != align) {
        ++stats_.bad_deallocations;
        size = it->second.size;
        align = it->second.align;
      }
      records_.erase(it);
    }
    ++stats_.total_deallocations;
    --stats_.live_allocations;
    stats_.current_bytes -= size;
  }
  upstream_->deallocate(p, size, align);
}

AllocResult TrackingAllocator::reallocate(void* p, std::size_t old_size, std::size_t new_size,
                                          std::size_t align) noexcept {
  if (p == nullptr) return allocate(new_size, align);
  std::lock_guard lock(mutex_);  // held across the call: the record must not race a free
  AllocResult r = upstream_->reallocate(p, old_size, new_size, align);
  if (!r) {
    ++stats_.failed_requests;
    return r;
  }
  try {
    note_resize(p, r.ptr, old_size, new_size);
  } catch (const std::bad_alloc&) {
    // The record for the moved block is lost; count it rather than fail a reallocation
    // that has already happened.
    ++stats_.bad_deallocations;
  }
  return r;
}

AllocError TrackingAllocator::grow_in_place(void* p, std::size_t old_size, std::size_t new_size,
                                            std::size_t align) noexcept {
  std::lock_guard lock(mutex_);
  AllocError e = upstream_->grow_in_place(p, old_size, new_size, align);
  if (e == AllocError::kNone && new_size != old_size) note_resize(p, p, old_size, new_size);
  return e;
}

AllocError TrackingAllocator::shrink_in_place(void* p, std::size_t old_size, std::size_t new_size,
                                              std::size_t align) noexcept {
  std::lock_guard lock(mutex_);
  AllocError e = upstream_->shrink_in_place(p, old_size, new_size, align);
  if (e == AllocError::kNone && new_size != old_size) note_resize(p, p, old_size, new_size);
  return e;
}

TrackingStats TrackingAllocator::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::vector<AllocationRecord> TrackingAllocator::live_blocks() const {
  std::vector<AllocationRecord> out;
  {
    std::lock_guard lock(mutex_);
    out.reserve(records_.size());
    for (const auto& [ptr, r] : records_) {
      out.push_back(AllocationRecord{ptr, r.size, r.align, r.serial, r.when});
    }
  }
  std::sort(out.begin(), out.end(), [](const AllocationRecord& a, const AllocationRecord& b) {
    return a.serial < b.serial;
  });
  return out;
}

std::string TrackingAllocator::leak_report(std::size_t max_blocks) const {
  TrackingStats s = stats();
  std::uint64_t serial_now;
  {
    std::lock_guard lock(mutex_);
    serial_now = serial_;
  }
  std::vector<AllocationRecord> live = live_blocks();
  auto now = std::chrono::steady_clock::now();

  std::string out;
  char line[256];
  std::snprintf(line, sizeof line,
                "marrow leak report: %zu live blocks, %zu bytes (peak %zu bytes; %zu "
                "allocations, %zu deallocations, %zu failed, %zu bad frees)\n",
                s.live_allocations, s.current_bytes, s.peak_bytes, s.total_allocations,
                s.total_deallocations, s.failed_requests, s.bad_deallocations);
  out += line;
  if (mode_ != TrackingMode::kRecordAllocations) {
    if (s.live_allocations != 0) out += "  (blocks not recorded: use kRecordAllocations)\n";
    return out;
  }
  std::size_t shown = std::min(live.size(), max_blocks);
  for (std::size_t i = 0; i < shown; ++i) {
    const AllocationRecord& r = live[i];
    double age_ms = std::chrono::duration<double, std::milli>(now - r.when).count();
    std::snprintf(line, sizeof line,
                  "  #%" PRIu64 ": %zu bytes, align %zu, at %p, age %.3f ms (%" PRIu64
                  " allocations ago)\n",
                  r.serial, r.size, r.align, r.ptr, age_ms, serial_now - r.serial);
    out += line;
  }
  if (live.size() > shown) {
    std::snprintf(line, sizeof line, "  ... and %zu more\n", live.size() - shown);
    out += line;
  }
  return out;
}

void TrackingAllocator::write_leak_report(std::FILE* out, std::size_t max_blocks) const {
  std::string report = leak_report(max_blocks);
  std::fwrite(report.data(), 1, report.size(), out);
  std::fflush(out);
}

}  // namespace marrow
