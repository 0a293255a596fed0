// Tests gc/src/major.cpp: a major collection as a whole (its steps have their own test
// files): the promote-all scavenge first, so nothing young outlives a dead old holder.
#include "test_support.hpp"

using marrow::GcKind;
using mt::Node;

TEST_CASE("major collection with a young object referenced only from a dead old object") {
  marrow::Runtime rt(mt::config());
  marrow::Global<Node> holder;
  marrow::Weak<Node> young_watch;
  {
    marrow::HandleScope scope(rt);
    auto h = rt.make<Node>(1);
    holder = marrow::Global<Node>(rt, h);
  }
  rt.collect(GcKind::kMajor);
  {
    marrow::HandleScope scope(rt);
    auto y = rt.make<Node>(2);
    holder->next = y;
    young_watch = marrow::Weak<Node>(rt, y);
  }
  holder.reset();
  rt.collect(GcKind::kMajor);
  CHECK(young_watch.get() == nullptr);
  MT_CHECK_SOUND(rt);
}
