// The heap verifier: checks every invariant the collectors rely on and reports each
// broken one in words (invariants W, R and S of docs/design.md, and the accounting).
// Expensive by design (switched on by Config::verify_heap). Walks its own way: it must
// survive a broken header, where the shared walk would not.
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "marrow/gc/heap.hpp"

namespace marrow::internal {

bool is_registered_type(std::uint32_t index) noexcept;

class Verifier final : public Tracer {
 public:
  explicit Verifier(Heap& heap, bool marking_complete = false)
      : heap_(heap), marking_complete_(marking_complete) {}

  std::vector<std::string> run() {
    Heap& h = heap_;
    walk("eden", h.nursery_.eden_start(), h.pretenuring_.eden_top());
    walk("survivor", h.nursery_.from_space().start, h.nursery_.from_space().top);
    for (Page* p : h.old_.pages()) walk("old", p->area_start(), p->top, p);
    for (Page* p : h.large_.runs()) walk("large", p->area_start(), p->top, p);
    for (Page* p : h.immortal_.pages()) walk("immortal", p->area_start(), p->top, p);
    std::sort(starts_.begin(), starts_.end());
    // References from every object (dead ones too: they must not dangle either).
    for (auto [start, holder_old] : objects_) {
      holder_ = start;
      holder_old_ = holder_old;
      HeaderWord hw = *reinterpret_cast<HeaderWord*>(start);
      if (auto trace = type_info(header_type(hw)).trace)
        trace(static_cast<Object*>(object_of(start)), *this);
    }
    // Roots.
    holder_ = nullptr;
    holder_old_ = false;
    h.roots_.trace(h.mutator_.handles, *this);
    h.roots_.weaks().for_each([&](Object*& s) {
      if (s != nullptr) check_target(s, "a Weak handle");
    });
    for (Object* o : h.finalization_.queue()) check_target(o, "the finalization queue");
    for (Object* o : h.finalization_.young())
      if (!h.is_young(o)) problem("an old object is on the young finalizable list");
    // Free lists.
    h.old_.for_each_free_chunk([&](std::byte* p, std::size_t size) {
      HeaderWord hw = *reinterpret_cast<HeaderWord*>(p);
      if (header_type(hw) != kFreeChunkType || header_size_bytes(hw) != size)
        problem(fmt::format("free-list chunk at {} has a header that does not say free/{}",
                            (void*)p, size));
      bool in_page = false;
      for (Page* pg : h.old_.pages()) in_page |= pg->contains(p);
      if (!in_page) problem(fmt::format("free-list chunk at {} lies outside old space", (void*)p));
    });
    // Accounting.
    std::size_t large = 0;
    for (Page* p : h.large_.runs()) large += std::size_t(p->top - p->area_start());
    if (large != h.large_.object_bytes())
      problem(fmt::format("large-object bytes {} != accounted {}", large, h.large_.object_bytes()));
    return std::move(problems_);
  }

 protected:
  Object* visit_reference(Object* p, void* slot, const char* name) override {
    check_target(p, name ? name : "a reference");
    // The marking invariant, once marking is complete: nothing a marked object points to
    // in old or large space is unmarked (it would be swept while still referenced).
    HeaderWord mark_bit = heap_.mark_bit();
    if (marking_complete_ && holder_old_ && (*reinterpret_cast<HeaderWord*>(holder_) & mark_bit) &&
        !heap_.is_young(p) && Page::of(p)->kind != Space::kImmortal && !(*header_of(p) & mark_bit))
      problem(fmt::format(
          "marked object {} ({}) points to unmarked {} ({}) at the end of marking (a store that "
          "bypassed the marking barrier?)",
          object_of(holder_), type_name(holder_), (void*)p,
          type_name(reinterpret_cast<std::byte*>(header_of(p)))));
    if (holder_old_ && heap_.is_young(p)) {
      Page* page = Page::of(holder_);
      bool remembered = (*reinterpret_cast<HeaderWord*>(holder_) & kRememberedBit) != 0 ||
                        RememberedSet::is_slot_remembered(page, slot);
      if (!remembered)
        problem(
            fmt::format("old object {} ({}) points to young {} through an unremembered slot "
                        "(a store that bypassed the write barrier?)",
                        object_of(holder_), type_name(holder_), (void*)p));
    }
    return p;
  }

 private:
  void walk(const char* space, std::byte* p, std::byte* end, Page* page = nullptr) {
    bool old = page != nullptr;
    if (page != nullptr && page->magic != kPageMagic)
      problem(fmt::format("{} page {} has a bad magic", space, (void*)page));
    while (p < end) {
      HeaderWord h = *reinterpret_cast<HeaderWord*>(p);
      std::size_t size = header_size_bytes(h);
      if (is_forwarded(h)) {
        problem(fmt::format("forwarding pointer left in {} at {}", space, (void*)p));
        return;
      }
      if (size == 0 || p + size > end) {
        problem(fmt::format("object at {} in {} has an impossible size {}", (void*)p, space, size));
        return;
      }
      std::uint32_t type = header_type(h);
      if (!is_registered_type(type)) {
        problem(
            fmt::format("object at {} in {} has an unknown type index {}", (void*)p, space, type));
        return;
      }
      // Only old and large objects are marked. The current (or last) marking's bit stays
      // on the live ones; the other bit, the marking before's, is left only on objects
      // that died since and are not swept yet: while a cycle marks, between marking and
      // its sweep, and on pages lazy sweeping has not reached.
      bool unswept = page != nullptr && page->unswept;
      bool markable = page != nullptr && page->kind != Space::kImmortal;
      HeaderWord stale = h & kMarkBits & ~heap_.mark_bit();
      if ((h & kMarkBits) && !markable)
        problem(fmt::format("mark bit set at {} in {}", (void*)p, space));
      else if (stale && !marking_complete_ && !unswept && !heap_.marking_.active())
        problem(
            fmt::format("the last marking's mark bit left set at {} in {} (a dead object "
                        "a sweep missed?)",
                        (void*)p, space));
      // On a page lazy sweeping has not reached, the unmarked objects are dead: nothing
      // may point at them, and what they point at may be gone.
      if (!is_free_type(type) && !(unswept && !(h & heap_.mark_bit()))) {
        if (size < kMinObjectSize)
          problem(fmt::format("object at {} smaller than the minimum", (void*)p));
        starts_.push_back(p);
        objects_.emplace_back(p, old);
      }
      p += size;
    }
  }

  void check_target(Object* p, const char* what) {
    auto* start = reinterpret_cast<std::byte*>(header_of(p));
    if (!std::binary_search(starts_.begin(), starts_.end(), start)) {
      std::string from = holder_
                             ? fmt::format("object {} ({})", object_of(holder_), type_name(holder_))
                             : std::string("a root");
      problem(
          fmt::format("{} from {} points to {}, which is not the start of a live-formatted object",
                      what, from, (void*)p));
    }
  }

  static const char* type_name(std::byte* header) {
    return type_info(header_type(*reinterpret_cast<HeaderWord*>(header))).name;
  }

  void problem(std::string s) {
    if (problems_.size() < 50) problems_.push_back(std::move(s));
  }

  Heap& heap_;
  bool marking_complete_;
  std::vector<std::byte*> starts_;
  std::vector<std::pair<std::byte*, bool>> objects_;
  std::byte* holder_ = nullptr;
  bool holder_old_ = false;
  std::vector<std::string> problems_;
};

std::vector<std::string> Heap::find_heap_problems() {
  pretenuring_.sync();
  Verifier v(*this);
  return v.run();
}

void Heap::verify_marking() {
  Verifier v(*this, true);
  report_problems(v.run());
}

void Heap::verify_heap() { report_problems(find_heap_problems()); }

void Heap::report_problems(const std::vector<std::string>& problems) {
  if (problems.empty()) return;
  std::fprintf(stderr, "marrow: heap verification failed (%zu problems):\n", problems.size());
  for (auto& p : problems) std::fprintf(stderr, "  - %s\n", p.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace marrow::internal
