// A consumer of the installed marrow package: includes the umbrella header and the arena,
// allocates through a std::pmr container, and exits 0 only if everything checks out.
#include <marrow/alloc/arena.hpp>
#include <marrow/marrow.hpp>

#include <cstdio>
#include <memory_resource>
#include <vector>

int main() {
  marrow::Arena arena;
  marrow::ArenaResource resource(arena);
  std::pmr::vector<int> numbers(&resource);
  for (int i = 0; i < 1000; ++i) numbers.push_back(i);
  long long sum = 0;
  for (int n : numbers) sum += n;
  marrow::ArenaStats stats = arena.stats();
  bool ok =
      sum == 999 * 1000 / 2 && stats.used_bytes >= 1000 * sizeof(int) && stats.chunk_count >= 1;
  std::printf("marrow consumer: sum %lld, arena %zu bytes used in %zu chunks: %s\n", sum,
              stats.used_bytes, stats.chunk_count, ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
