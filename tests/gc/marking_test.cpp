// Tests gc/src/marking.cpp: mark-stack overflow and the rescan that completes marking;
// immortal objects as roots of a major collection; the markers' prefetch queue.
#include <string>
#include <vector>

#include "marrow/gc/marking.hpp"
#include "test_support.hpp"

using marrow::GcKind;
using marrow::Value;
using mt::Node;
using Space = marrow::Space;

TEST_CASE("mark stack overflow is handled: a wide tree is marked completely") {
  marrow::Runtime rt(mt::config());
  const std::size_t width = mt::scaled(300, 40), fan = 8;
  marrow::HandleScope scope(rt);
  auto root = rt.make_sized<mt::Table>(mt::table_extra(width), width);
  std::vector<marrow::Weak<Node>> dead;
  for (std::size_t i = 0; i < width; ++i) {
    marrow::HandleScope inner(rt);
    auto child = rt.make<Node>(static_cast<std::int64_t>(i));
    auto leaves = rt.make_sized<mt::Table>(mt::table_extra(fan), fan);
    child->value = Value::object(leaves.get());
    for (std::size_t j = 0; j < fan; ++j) {
      auto leaf = rt.make<Node>(static_cast<std::int64_t>(i * 100 + j));
      leaf->next = rt.make<Node>(-7);
      leaves->at(j) = leaf;
    }
    root->at(i) = child;
    auto garbage = rt.make<Node>(-1);
    garbage->next = child;
    if (i % 10 == 0) dead.push_back(marrow::Weak<Node>(rt, garbage));
  }
  rt.collect(GcKind::kMajor);  // everything old
  rt.heap_for_internal_use().set_mark_stack_limit_for_testing(4);
  const auto overflows = rt.heap_for_internal_use().mark_stack_overflows();
  rt.collect(GcKind::kMajor);
  CHECK(rt.heap_for_internal_use().mark_stack_overflows() > overflows);
  rt.collect(GcKind::kCompact);
  std::size_t nodes = 0;
  for (std::size_t i = 0; i < width; ++i) {
    Node* child = root->at(i).get();
    REQUIRE(child != nullptr);
    REQUIRE(child->id == static_cast<std::int64_t>(i));
    auto* leaves = child->value.get().as<mt::Table>();
    ++nodes;
    for (std::size_t j = 0; j < fan; ++j) {
      REQUIRE(leaves->at(j)->id == static_cast<std::int64_t>(i * 100 + j));
      REQUIRE(leaves->at(j)->next->id == -7);
      nodes += 2;
    }
  }
  CHECK(nodes == width * (1 + 2 * fan));
  for (auto& w : dead) CHECK(w.get() == nullptr);
  std::size_t counted = 0;
  rt.for_each_object([&](const marrow::ObjectInfo& info) {
    if (std::string(info.type_name) == "mt::Node") ++counted;
  });
  CHECK(counted == nodes);
  MT_CHECK_SOUND(rt);
}

TEST_CASE("immortal objects are kept, never move, and their references are roots") {
  marrow::Runtime rt(mt::config());
  Node* imm = rt.make_immortal<Node>(7);
  Node* imm2 = rt.make_immortal<Node>(8);
  CHECK(mt::space_of(rt, imm) == Space::kImmortal);
  CHECK(rt.stats().immortal_bytes >= 2 * sizeof(Node));
  imm->other = imm2;
  {
    marrow::HandleScope scope(rt);
    auto a = rt.make<Node>(70);
    a->next = rt.make<Node>(71);
    imm->next = a;
    imm2->value = Value::object(rt.make<Node>(80).get());
  }
  for (auto kind :
       {GcKind::kMinor, GcKind::kMajor, GcKind::kMinor, GcKind::kCompact, GcKind::kMajor}) {
    rt.collect(kind);
    CHECK(imm->id == 7);
    CHECK(imm->other.get() == imm2);
    REQUIRE(imm->next.get() != nullptr);
    CHECK(imm->next->id == 70);
    CHECK(imm->next->next->id == 71);
    CHECK(imm2->value.get().as<Node>()->id == 80);
  }
  imm->next = nullptr;
  rt.collect(GcKind::kMajor);
  CHECK(imm->next.get() == nullptr);
  MT_CHECK_SOUND(rt);
}

TEST_CASE("the prefetch queue hands references back oldest first, once each") {
  using marrow::internal::PrefetchQueue;
  constexpr unsigned n = PrefetchQueue::kDistance;
  // Addresses with a header word before them: push prefetches the header.
  std::vector<marrow::internal::HeaderWord> words(2 * n + 2);
  auto ref = [&](unsigned i) { return reinterpret_cast<marrow::Object*>(&words[i + 1]); };
  PrefetchQueue q;
  CHECK(q.empty());
  for (unsigned i = 0; i < n; ++i) CHECK(q.push(ref(i)) == nullptr);  // filling
  CHECK_FALSE(q.empty());
  for (unsigned i = n; i < 2 * n; ++i) CHECK(q.push(ref(i)) == ref(i - n));  // oldest makes way
  for (unsigned i = n; i < 2 * n; ++i) CHECK(q.pop() == ref(i));
  CHECK(q.empty());
  q.push(ref(0));
  q.clear();
  CHECK(q.empty());
}
