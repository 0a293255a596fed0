// The fatal end of MARROW_CHECK: one message naming the broken rule, then abort.
#include "marrow/heap/check.hpp"

#include <cstdio>
#include <cstdlib>

namespace marrow::internal {

void check_failed(const char* file, int line, const char* condition, const char* rule) noexcept {
  std::fprintf(stderr, "marrow: check failed: %s\n  (%s at %s:%d)\n", rule, condition, file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace marrow::internal
