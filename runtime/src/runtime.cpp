// Runtime and handle scopes: the public API's out-of-line parts. Usage rules are checked
// here and reported as UsageError with the rule in the message.
#include "marrow/runtime.hpp"

#include <fmt/format.h>

#include "marrow/gc/heap.hpp"

namespace marrow {

Runtime::Runtime(const Config& config)
    : heap_(std::make_unique<internal::Heap>(config, mutator_)) {}
Runtime::~Runtime() = default;

void Runtime::collect(GcKind kind) { heap_->collect_requested(kind); }
void Runtime::reduce_memory() { heap_->reduce_memory(); }
bool Runtime::idle(std::chrono::steady_clock::time_point deadline) { return heap_->idle(deadline); }

Object* Runtime::pin_object(Object* object) { return heap_->pin(object); }
void Runtime::unpin(const Object* object) { heap_->unpin(const_cast<Object*>(object)); }

const HeapStats& Runtime::stats() { return heap_->stats(); }
const Config& Runtime::config() const { return heap_->config(); }

std::uint64_t Runtime::on_gc(std::function<void(const GcEvent&)> listener) {
  return heap_->events_.add_listener(std::move(listener));
}
bool Runtime::remove_gc_listener(std::uint64_t id) { return heap_->events_.remove_listener(id); }

void Runtime::set_near_heap_limit_callback(
    std::function<std::size_t(std::size_t, std::size_t)> cb) {
  heap_->set_near_heap_limit_callback(std::move(cb));
}

void Runtime::verify_heap() { heap_->verify_heap(); }
std::vector<std::string> Runtime::find_heap_problems() { return heap_->find_heap_problems(); }

void Runtime::for_each_object(const std::function<void(const ObjectInfo&)>& fn) {
  heap_->collect_for_inspection("for_each_object");
  heap_->for_each_object([&](Object* o, internal::HeaderWord h) {
    ObjectInfo info{o, internal::type_info(internal::header_type(h)).name,
                    internal::header_size_bytes(h), to_string(heap_->space_of(o))};
    fn(info);
  });
}

void Runtime::write_heap_snapshot(const std::string& path) { heap_->write_heap_snapshot(path); }
void Runtime::start_gc_trace(const std::string& path) { heap_->start_gc_trace(path); }
void Runtime::stop_gc_trace() { heap_->stop_gc_trace(); }

void Runtime::add_root_source(RootSource* source) {
  mutator_.check_thread();
  heap_->roots_.add_source(source);
}
void Runtime::remove_root_source(RootSource* source) {
  mutator_.check_thread();
  heap_->roots_.remove_source(source);
}

Object** Runtime::new_local_slot(Object* object) {
  mutator_.check_thread();
  if (object != nullptr) check_owns_object(object);
  Object** slot = mutator_.handles.next;
  if (slot == mutator_.handles.limit) slot = internal::handle_slow(mutator_);
  *slot = object;
  mutator_.handles.next = slot + 1;
  return slot;
}

bool Runtime::owns_handle(Object* const* slot) const { return mutator_.handles.owns(slot); }

internal::SlotTable& Runtime::global_slots() { return heap_->roots_.globals(); }
internal::SlotTable& Runtime::weak_slots() { return heap_->roots_.weaks(); }

void Runtime::check_owned(Object* const* slot) const {
  if (slot == nullptr || mutator_.handles.owns(slot)) return;
  if (mutator_.handles.in_blocks(slot))
    throw UsageError(
        "marrow: this Local's HandleScope is closed: a Local is valid only while the scope "
        "that created it is open (keep the object in a Global, or escape the Local)");
  throw UsageError(
      "marrow: handles of two runtimes must not be mixed: this Local belongs to another "
      "runtime");
}

void Runtime::check_owns_object(const Object* object) const {
  if (!heap_->owns(object))
    throw UsageError(
        "marrow: the object does not belong to this runtime's heap (a pointer of another "
        "runtime, or not a managed object)");
}

void Runtime::throw_bad_size(std::size_t fixed, std::size_t extra) {
  throw InvalidSize(fmt::format(
      "marrow: impossible object size: sizeof(T) = {} plus {} extra bytes overflows the "
      "largest object a header can describe ({} bytes)",
      fixed, extra, internal::kMaxObjectSize));
}

// ---- Handle scopes -------------------------------------------------------------------

void HandleScope::open_first_block() {
  if (area_.blocks.empty()) area_.blocks.push_back(new Object*[internal::HandleArea::kBlockSlots]);
  area_.block = 0;
  area_.next = area_.blocks[0];
  area_.limit = area_.next + internal::HandleArea::kBlockSlots;
}

void EscapableHandleScope::throw_no_enclosing_scope() {
  throw UsageError("marrow: an EscapableHandleScope needs an open enclosing HandleScope");
}

Object** EscapableHandleScope::escape_slot(Object* value) {
  if (escaped_) throw UsageError("marrow: EscapableHandleScope::escape may be called only once");
  escaped_ = true;
  *reserved_ = value;
  return reserved_;
}

}  // namespace marrow
