// marrow::Value: NaN boxing of numbers, booleans, nil and references.
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "test_support.hpp"

using marrow::Value;

namespace {

void check_number_round_trip(double d) {
  Value v = Value::number(d);
  CHECK(v.is_number());
  CHECK_FALSE(v.is_nil());
  CHECK_FALSE(v.is_bool());
  CHECK_FALSE(v.is_object());
  if (std::isnan(d)) {
    CHECK(std::isnan(v.as_number()));
  } else {
    CHECK(std::bit_cast<std::uint64_t>(v.as_number()) == std::bit_cast<std::uint64_t>(d));
  }
}

}  // namespace

TEST_CASE("numbers round-trip bit-exactly, including special values") {
  using L = std::numeric_limits<double>;
  const double cases[] = {0.0,
                          -0.0,
                          1.0,
                          -1.0,
                          3.5,
                          1e300,
                          -1e300,
                          L::max(),
                          L::lowest(),
                          L::min(),
                          L::denorm_min(),
                          -L::denorm_min(),
                          L::epsilon(),
                          L::infinity(),
                          -L::infinity(),
                          4503599627370496.0,
                          9007199254740993.0,
                          123456789.125};
  for (double d : cases) {
    CAPTURE(d);
    check_number_round_trip(d);
  }
}

TEST_CASE("negative zero keeps its sign and differs bitwise from zero") {
  Value neg = Value::number(-0.0);
  CHECK(std::signbit(neg.as_number()));
  CHECK_FALSE(std::signbit(Value::number(0.0).as_number()));
  CHECK_FALSE(neg == Value::number(0.0));
}

TEST_CASE("every NaN is a number, never a reference or another tag") {
  const std::uint64_t nans[] = {0x7ff8000000000000ull, 0xfff8000000000000ull,
                                0x7ff0000000000001ull, 0xffffffffffffffffull,
                                0x7fffffffffffffffull, 0xfff0000000000001ull};
  for (std::uint64_t bits : nans) {
    CAPTURE(bits);
    check_number_round_trip(std::bit_cast<double>(bits));
  }
  CHECK(Value::number(std::numeric_limits<double>::quiet_NaN()).is_number());
}

TEST_CASE("booleans") {
  Value t = Value::boolean(true), f = Value::boolean(false);
  CHECK(t.is_bool());
  CHECK(f.is_bool());
  CHECK(t.as_bool());
  CHECK_FALSE(f.as_bool());
  for (Value v : {t, f}) {
    CHECK_FALSE(v.is_number());
    CHECK_FALSE(v.is_nil());
    CHECK_FALSE(v.is_object());
  }
  CHECK_FALSE(t == f);
  CHECK(t == Value::boolean(true));
}

TEST_CASE("nil: default, explicit, zero bits and zeroed memory") {
  Value d;
  CHECK(d.is_nil());
  CHECK(Value::nil().is_nil());
  CHECK(Value::from_raw_bits(0).is_nil());
  CHECK(Value::nil().raw_bits() == 0);
  Value zeroed = Value::number(5);
  std::memset(static_cast<void*>(&zeroed), 0, sizeof zeroed);
  CHECK(zeroed.is_nil());
  CHECK_FALSE(d.is_number());
  CHECK_FALSE(d.is_bool());
  CHECK_FALSE(d.is_object());
  CHECK(Value::object(nullptr).is_nil());
  CHECK_FALSE(Value::nil() == Value::boolean(false));
  CHECK_FALSE(Value::nil() == Value::number(0));
}

TEST_CASE("references to managed objects") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  auto n = rt.make<mt::Node>(7);
  Value v = Value::object(n.get());
  CHECK(v.is_object());
  CHECK_FALSE(v.is_number());
  CHECK_FALSE(v.is_nil());
  CHECK_FALSE(v.is_bool());
  CHECK(v.as_object() == n.get());
  CHECK(v.as<mt::Node>()->id == 7);
  CHECK(v.raw_bits() == reinterpret_cast<std::uint64_t>(n.get()));
  CHECK(v == Value::object(n.get()));
}

TEST_CASE("a fresh object's Member<Value> is nil and values survive collections bit-exactly") {
  marrow::Runtime rt(mt::config());
  marrow::HandleScope scope(rt);
  using L = std::numeric_limits<double>;
  const double nums[] = {-0.0, L::denorm_min(), L::infinity(), -L::infinity(), L::max(), 2.5};
  std::vector<marrow::Local<mt::Node>> nodes;
  for (double d : nums) {
    auto n = rt.make<mt::Node>(0);
    CHECK(n->value.get().is_nil());
    n->value = Value::number(d);
    nodes.push_back(n);
  }
  auto b = rt.make<mt::Node>(1);
  b->value = Value::boolean(true);
  auto r = rt.make<mt::Node>(2);
  r->value = Value::object(b.get());
  for (auto kind : {marrow::GcKind::kMinor, marrow::GcKind::kMajor, marrow::GcKind::kCompact}) {
    rt.collect(kind);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      CAPTURE(i);
      REQUIRE(nodes[i]->value.get().is_number());
      CHECK(std::bit_cast<std::uint64_t>(nodes[i]->value.get().as_number()) ==
            std::bit_cast<std::uint64_t>(nums[i]));
    }
    CHECK(b->value.get() == Value::boolean(true));
    CHECK(r->value.get().is_object());
    CHECK(r->value.get().as_object() == b.get());
  }
  MT_CHECK_SOUND(rt);
}
