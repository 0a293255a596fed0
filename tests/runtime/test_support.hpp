// Shared helpers for the collector test suites (runtime/, gc/, scenarios/ include this file).
#pragma once
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <doctest/doctest.h>
#include <marrow/marrow.hpp>
#include "marrow/gc/heap.hpp"

namespace mt {

/// True in the ctest stress run (MARROW_TEST_STRESS set): keep work small.
inline bool stress() {
  const char* v = std::getenv("MARROW_TEST_STRESS");
  return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
}

/// `normal` normally, `small` in stress mode.
inline std::size_t scaled(std::size_t normal, std::size_t small) {
  return stress() ? small : normal;
}

/// Every test runtime goes through here so that MARROW_* (the stress run) applies.
inline marrow::Config config(marrow::Config base = marrow::Config{}) {
  return marrow::Config::from_env(base);
}

/// A new object of type T that is young. In the stress run every other stress collection
/// opens a pretenuring window until the next one, so an allocation may go straight to old
/// space; this allocates again (the next collection closes the window) until one is young.
template <class T, class... Args>
marrow::Local<T> make_young(marrow::Runtime& rt, const Args&... args) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    auto object = rt.make<T>(args...);
    if (rt.heap_for_internal_use().is_young(object.get())) return object;
  }
  FAIL("four allocations in a row went to old space");
  return {};
}

/// A general-purpose managed node: an id, two references, a tagged value.
struct Node : marrow::Object {
  static constexpr const char* kTypeName = "mt::Node";
  marrow::Member<Node> next;
  marrow::Member<Node> other;
  marrow::Member<marrow::Value> value;
  std::int64_t id;
  explicit Node(std::int64_t i = 0) : id(i) {}
  void trace(marrow::Tracer& t) {
    t.visit(next, "next");
    t.visit(other, "other");
    t.visit(value, "value");
  }
};

/// Holds `n` trailing Member<Node> slots (allocate with make_sized<Table>(n * 8, n)).
struct Table : marrow::Object {
  static constexpr const char* kTypeName = "mt::Table";
  std::size_t count;
  explicit Table(std::size_t n) : count(n) {
    for (std::size_t i = 0; i < n; ++i) ::new (&slots()[i]) marrow::Member<Node>();
  }
  marrow::Member<Node>* slots() {
    return reinterpret_cast<marrow::Member<Node>*>(reinterpret_cast<std::byte*>(this) +
                                                   sizeof(Table));
  }
  marrow::Member<Node>& at(std::size_t i) { return slots()[i]; }
  /// A fixed-capacity array: long tables are marked a piece at a time (visit_range).
  void trace(marrow::Tracer& t) { t.visit_range(slots(), count); }
};

inline std::size_t table_extra(std::size_t n) { return n * sizeof(marrow::Member<Node>); }

/// Hangs a list of `length` nodes from every slot of `table`, with a garbage node between
/// any two, and links each list's head to the previous list's head (`other`). Node ids
/// count from 0 along the lists; lists_intact checks all of it. `table` is a handle (a
/// Local or a Global): the table may move while the lists are allocated.
template <class TableHandle>
void hang_lists(marrow::Runtime& rt, const TableHandle& table, std::size_t length) {
  for (std::size_t w = 0; w < table->count; ++w) {
    marrow::HandleScope inner(rt);
    auto head = rt.make<Node>(static_cast<std::int64_t>(w * length));
    auto tail = head;
    for (std::size_t i = 1; i < length; ++i) {
      rt.make<Node>(-1);  // garbage
      auto n = rt.make<Node>(static_cast<std::int64_t>(w * length + i));
      tail->next = n;
      tail = n;
    }
    table->at(w) = head;
    if (w > 0) head->other = table->at(w - 1);
  }
}
inline bool lists_intact(Table* table, std::size_t length) {
  for (std::size_t w = 0; w < table->count; ++w) {
    Node* n = table->at(w).get();
    if (w > 0 && n->other.get() != table->at(w - 1).get()) return false;
    for (std::size_t i = 0; i < length; ++i, n = n->next.get())
      if (n == nullptr || n->id != static_cast<std::int64_t>(w * length + i)) return false;
    if (n != nullptr) return false;
  }
  return true;
}

/// Heap problems joined into one string (empty when the heap is sound).
inline std::string problems(marrow::Runtime& rt) {
  std::string all;
  for (const auto& p : rt.find_heap_problems()) all += p + "\n";
  return all;
}

#define MT_CHECK_SOUND(rt) CHECK_MESSAGE(::mt::problems(rt).empty(), ::mt::problems(rt))

inline marrow::Space space_of(marrow::Runtime& rt, const void* p) {
  return rt.heap_for_internal_use().space_of(p);
}

/// Allocates a little, collects and checks the heap: the runtime is still usable (after a
/// refused operation, an OutOfMemory, ...).
inline void check_usable(marrow::Runtime& rt) {
  marrow::HandleScope scope(rt);
  auto a = rt.make<Node>(100);
  a->next = rt.make<Node>(101);
  rt.collect(marrow::GcKind::kMinor);
  rt.collect(marrow::GcKind::kMajor);
  CHECK(a->id == 100);
  CHECK(a->next->id == 101);
  MT_CHECK_SOUND(rt);
}

/// Runs `fn` in a forked child and reports whether it died by abort() with `message` on
/// stderr: how the tests see a MARROW_CHECK fire (a rule broken where no exception can be
/// thrown, e.g. inside a collection).
template <class Fn>
bool dies_with_check(Fn&& fn, const char* message) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return false;
  pid_t pid = fork();
  if (pid == 0) {
    std::signal(SIGABRT, SIG_DFL);  // the test framework's crash handler stays in the parent
    dup2(pipe_fds[1], 2);
    dup2(pipe_fds[1], 1);
    close(pipe_fds[0]);
    fn();
    _exit(0);  // no check fired
  }
  close(pipe_fds[1]);
  std::string err;
  char buf[512];
  for (ssize_t n; (n = read(pipe_fds[0], buf, sizeof buf)) > 0;) err.append(buf, std::size_t(n));
  close(pipe_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  INFO("child stderr: " << err);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT &&
         err.find("check failed") != std::string::npos && err.find(message) != std::string::npos;
}

}  // namespace mt
