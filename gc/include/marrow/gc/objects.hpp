// How the collectors read a managed object through its header: trace it, follow its
// forwarding word, ask whether marking reached it. Header-only; one definition each.
#pragma once
#include <cstdint>

#include "marrow/heap/page.hpp"
#include "marrow/internal/header.hpp"
#include "marrow/object.hpp"
#include "marrow/tracer.hpp"

namespace marrow::internal {

/// Calls the type's trace function (none: the type holds no references).
inline void trace_object(Object* o, std::uint32_t type, Tracer& t) {
  if (auto trace = type_info(type).trace) trace(o, t);
}
inline void trace_object(Object* o, Tracer& t) { trace_object(o, header_type(*header_of(o)), t); }

/// The object's new address when its header is a forwarding word, else itself.
inline Object* forwardee(Object* p) {
  HeaderWord h = *header_of(p);
  return is_forwarded(h) ? static_cast<Object*>(object_of(forwardee_header(h))) : p;
}

/// Whether the marking that sets `mark_bit` (the heap's mark_bit()) reached `o` (immortal
/// objects always count as marked).
inline bool is_marked(const Object* o, HeaderWord mark_bit) {
  return (*header_of(o) & mark_bit) != 0 || Page::of(o)->kind == Space::kImmortal;
}

}  // namespace marrow::internal
