// marrow::Value: a NaN-boxed word holding a double, a boolean, nil or a reference.
#pragma once
#include <bit>
#include <cstdint>

#include "marrow/object.hpp"
#include "marrow/tracer.hpp"

namespace marrow {

/// A dynamically typed value in one 64-bit word, the default representation for
/// dynamic languages.
///
/// Encoding (pointer-favouring NaN boxing): a reference is the object's address itself
/// (top 16 bits zero), so the collector reads a Value slot like a pointer slot; doubles
/// are stored with 2^49 added to their bits, which moves every double, NaNs included,
/// out of the pointer range; nil, false and true are the small words 0, 6 and 7 (zeroed memory is
/// nil).
///
/// ```cpp
/// marrow::Value v = marrow::Value::number(3.5);
/// if (v.is_number()) std::printf("%g\n", v.as_number());
/// v = marrow::Value::object(some_object);  // v.is_object(), v.as_object()
/// ```
class Value {
 public:
  constexpr Value() : bits_(kNilBits) {}

  static Value number(double d) {
    // Canonicalise NaNs: NaN payloads at the top of the range would wrap into pointers.
    if (d != d) [[unlikely]]
      d = std::bit_cast<double>(std::uint64_t{0x7ff8000000000000});
    return Value(std::bit_cast<std::uint64_t>(d) + kDoubleOffset);
  }
  static constexpr Value boolean(bool b) { return Value(b ? kTrueBits : kFalseBits); }
  static constexpr Value nil() { return Value(kNilBits); }
  /// A reference; nullptr gives nil.
  static Value object(const Object* p) {
    return p == nullptr ? nil() : Value(reinterpret_cast<std::uint64_t>(p));
  }

  bool is_number() const { return bits_ >= kDoubleOffset; }
  double as_number() const { return std::bit_cast<double>(bits_ - kDoubleOffset); }
  bool is_bool() const { return (bits_ & ~std::uint64_t{1}) == kFalseBits; }
  bool as_bool() const { return bits_ == kTrueBits; }
  bool is_nil() const { return bits_ == kNilBits; }
  bool is_object() const { return bits_ < kDoubleOffset && bits_ > kTrueBits; }
  Object* as_object() const { return reinterpret_cast<Object*>(bits_); }
  /// as_object() cast to T (unchecked: the embedder knows the type).
  template <class T>
  T* as() const {
    return static_cast<T*>(as_object());
  }

  /// The raw word; two Values are the same value iff their words are equal (NaNs aside).
  std::uint64_t raw_bits() const { return bits_; }
  static Value from_raw_bits(std::uint64_t bits) { return Value(bits); }
  /// Bitwise identity (numbers: same bits; references: same object).
  friend bool operator==(Value a, Value b) { return a.bits_ == b.bits_; }

 private:
  static constexpr std::uint64_t kDoubleOffset = std::uint64_t{1} << 49;
  static constexpr std::uint64_t kNilBits = 0;  // zeroed memory reads as nil
  static constexpr std::uint64_t kFalseBits = 6;
  static constexpr std::uint64_t kTrueBits = 7;
  constexpr explicit Value(std::uint64_t bits) : bits_(bits) {}
  std::uint64_t bits_;
};

static_assert(sizeof(Value) == 8);

template <>
struct SlotTraits<Value> {
  static bool is_reference(const Value& v) { return v.is_object(); }
  static Object* get(const Value& v) { return v.as_object(); }
  static void replace(Value& v, Object* p) { v = Value::object(p); }
};

}  // namespace marrow
