// A 10-million-node singly linked list: built through Locals, collected without stack
// overflow (the marker must not recurse), traversed intact.
#include "test_support.hpp"

namespace {

struct Cell : marrow::Object {
  static constexpr const char* kTypeName = "Cell";
  marrow::Member<Cell> next;
  std::int64_t index;
  explicit Cell(std::int64_t i) : index(i) {}
  void trace(marrow::Tracer& t) { t.visit(next); }
};

}  // namespace

TEST_CASE("ten million node list survives major collections and traverses intact") {
  marrow::Runtime rt(mt::config());
  const std::int64_t n = static_cast<std::int64_t>(mt::scaled(10'000'000, 2000));
  marrow::HandleScope scope(rt);
  marrow::Local<Cell> head = rt.make<Cell>(0);
  marrow::Local<Cell> holder = rt.make<Cell>(-1);  // holder->next is the current head
  holder->next = head;
  for (std::int64_t i = 1; i < n;) {
    marrow::HandleScope batch(rt);
    for (std::int64_t end = std::min(n, i + 4096); i < end; ++i) {
      marrow::Local<Cell> cell = rt.make<Cell>(i);
      cell->next = holder->next;
      holder->next = cell;
    }
  }
  rt.collect(marrow::GcKind::kMajor);
  rt.collect(marrow::GcKind::kMajor);
  std::int64_t count = 0, expect = n - 1;
  bool ordered = true;
  for (Cell* c = holder->next.get(); c != nullptr; c = c->next.get(), ++count, --expect)
    ordered &= c->index == expect;
  CHECK(count == n);
  CHECK(ordered);
  CHECK(head->index == 0);
  CHECK(head->next.get() == nullptr);
  CHECK(rt.stats().old_bytes >= static_cast<std::size_t>(n) * (sizeof(Cell) + 8));
}
