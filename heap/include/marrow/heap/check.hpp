// Checks at three levels (STYLE 7): MARROW_CHECK is always on, cheap and fatal, with a
// message naming the rule; MARROW_DCHECK only in debug builds. Checks never allocate.
#pragma once

namespace marrow::internal {

/// Prints "marrow: check failed: <rule>" with the location to stderr and aborts. Never returns.
[[noreturn, gnu::cold]] void check_failed(const char* file, int line, const char* condition,
                                          const char* rule) noexcept;

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
