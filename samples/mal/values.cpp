// Equality, hashing and hash maps: what mal `=` means, and the immutable maps built on
// it. Map construction allocates once, then fills the new map without allocating.
#include <bit>

#include "interp.hpp"

namespace mal {

namespace {

std::uint32_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return static_cast<std::uint32_t>(x);
}

/// Slots for a map of up to `n` pairs: exactly n in the linear layout, else a power of
/// two at least twice n (so the table is at most half full and probes stay short).
std::uint32_t capacity_for(std::uint32_t n) {
  if (n <= Map::kLinearSlots) return n;
  return std::bit_ceil(n * 2);
}

/// Adds or replaces a pair in a map under construction. Allocates nothing.
void put(Map* m, Value key, Value value) {
  Entry* e = m->entries();
  if (!m->hashed()) {
    for (std::uint32_t i = 0; i < m->count; ++i) {
      if (equal(e[i].key.get(), key)) {
        e[i].value = value;
        return;
      }
    }
    e[m->count].key = key;
    e[m->count].value = value;
    ++m->count;
    return;
  }
  std::uint32_t mask = m->capacity - 1;
  for (std::uint32_t i = hash_value(key) & mask;; i = (i + 1) & mask) {
    Value k = e[i].key.get();
    if (k == no_key()) {
      e[i].key = key;
      e[i].value = value;
      ++m->count;
      return;
    }
    if (equal(k, key)) {
      e[i].value = value;
      return;
    }
  }
}

Local<Map> new_map(Interp& in, std::uint32_t pairs) {
  std::uint32_t capacity = capacity_for(pairs);
  Local<Map> m = in.runtime().make_sized<Map>(std::size_t{capacity} * sizeof(Entry), capacity);
  if (m->hashed()) {
    Entry* e = m->entries();
    for (std::uint32_t i = 0; i < capacity; ++i) e[i].key = no_key();
  }
  return m;
}

}  // namespace

bool equal(Value a, Value b) {
  if (a == b) return true;
  if (a.is_number() && b.is_number()) return a.as_number() == b.as_number();
  if (!a.is_object() || !b.is_object()) return false;
  MalObj* x = a.as<MalObj>();
  MalObj* y = b.as<MalObj>();
  if (is_seq(a) && is_seq(b)) {
    Interp::check_stack();
    Seq* s = static_cast<Seq*>(x);
    Seq* t = static_cast<Seq*>(y);
    if (s->count != t->count) return false;
    for (std::uint32_t i = 0; i < s->count; ++i)
      if (!equal(s->at(i), t->at(i))) return false;
    return true;
  }
  if (x->tag != y->tag) return false;
  if (x->tag == Tag::kString) return static_cast<Str*>(x)->view() == static_cast<Str*>(y)->view();
  if (x->tag == Tag::kMap) {
    Interp::check_stack();
    Map* m = static_cast<Map*>(x);
    Map* n = static_cast<Map*>(y);
    if (m->count != n->count) return false;
    for (std::uint32_t i = 0; i < m->slot_count(); ++i) {
      Entry& e = m->entries()[i];
      if (e.key.get() == no_key()) continue;
      Member<Value>* other = map_get(n, e.key.get());
      if (other == nullptr || !equal(e.value.get(), other->get())) return false;
    }
    return true;
  }
  return false;  // names are interned, everything else is equal only to itself
}

std::uint32_t hash_value(Value v) {
  if (v.is_number()) return mix(std::bit_cast<std::uint64_t>(v.as_number() + 0.0));
  if (!v.is_object()) return mix(v.raw_bits());
  MalObj* o = v.as<MalObj>();
  switch (o->tag) {
    case Tag::kString:
      return static_cast<Str*>(o)->get_hash();
    case Tag::kSymbol:
    case Tag::kKeyword:
      return static_cast<Name*>(o)->hash;
    // Equal collections must hash alike, and lists equal vectors: hash the shape only.
    case Tag::kList:
    case Tag::kVector:
      return mix(0x5e9 + static_cast<Seq*>(o)->count);
    case Tag::kMap:
      return mix(0x3a9 + static_cast<Map*>(o)->count);
    default:
      return mix(static_cast<std::uint64_t>(o->tag));  // equal only to itself
  }
}

Member<Value>* map_get(Map* m, Value key) {
  Entry* e = m->entries();
  if (!m->hashed()) {
    for (std::uint32_t i = 0; i < m->count; ++i)
      if (equal(e[i].key.get(), key)) return &e[i].value;
    return nullptr;
  }
  std::uint32_t mask = m->capacity - 1;
  for (std::uint32_t i = hash_value(key) & mask;; i = (i + 1) & mask) {
    Value k = e[i].key.get();
    if (k == no_key()) return nullptr;
    if (equal(k, key)) return &e[i].value;
  }
}

Local<Map> map_assoc(Interp& in, const Value* map, const Value* kv, std::uint32_t npairs) {
  std::uint32_t existing = map->is_object() ? map->as<Map>()->count : 0;
  Local<Map> m = new_map(in, existing + npairs);
  // Re-read the operands: the allocation may have moved them (they are rooted slots).
  if (map->is_object()) {
    Map* old = map->as<Map>();
    for (std::uint32_t i = 0; i < old->slot_count(); ++i) {
      Entry& e = old->entries()[i];
      if (e.key.get() != no_key()) put(m.get(), e.key.get(), e.value.get());
    }
  }
  for (std::uint32_t i = 0; i < npairs; ++i) put(m.get(), kv[2 * i], kv[2 * i + 1]);
  return m;
}

Local<Map> map_dissoc(Interp& in, const Value* map, const Value* keys, std::uint32_t nkeys) {
  Local<Map> m = new_map(in, map->as<Map>()->count);
  Map* old = map->as<Map>();
  for (std::uint32_t i = 0; i < old->slot_count(); ++i) {
    Entry& e = old->entries()[i];
    if (e.key.get() == no_key()) continue;
    bool removed = false;
    for (std::uint32_t j = 0; j < nkeys && !removed; ++j) removed = equal(e.key.get(), keys[j]);
    if (!removed) put(m.get(), e.key.get(), e.value.get());
  }
  return m;
}

}  // namespace mal
