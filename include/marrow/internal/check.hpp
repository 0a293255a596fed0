// Checks for marrow bugs, at two of the three levels of docs/design.md ("Checks"):
// MARROW_CHECK is always on, cheap and fatal, with a message naming the rule; MARROW_DCHECK
// only in debug and sanitizer builds. Checks never allocate. What an embedder can cause is
// an exception instead (marrow/errors.hpp). Header-only, so every library may use it.
#pragma once
#include <cstdio>
#include <cstdlib>

namespace marrow::internal {

/// Prints "marrow: check failed: <rule>" with the location to stderr and aborts. Never returns.
[[noreturn, gnu::cold, gnu::noinline]] inline void check_failed(const char* file, int line,
                                                                const char* condition,
                                                                const char* rule) noexcept {
  std::fprintf(stderr, "marrow: check failed: %s\n  (%s at %s:%d)\n", rule, condition, file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace marrow::internal

#define MARROW_CHECK(cond, rule)                                         \
  do {                                                                   \
    if (!(cond)) [[unlikely]]                                            \
      ::marrow::internal::check_failed(__FILE__, __LINE__, #cond, rule); \
  } while (0)

#if defined(MARROW_DEBUG) || defined(MARROW_ASAN)
#define MARROW_DCHECK(cond, rule) MARROW_CHECK(cond, rule)
#define MARROW_DCHECK_IS_ON 1
#else
#define MARROW_DCHECK(cond, rule) \
  do {                            \
  } while (0)
#define MARROW_DCHECK_IS_ON 0
#endif
