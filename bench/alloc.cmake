# bench_alloc: off-heap allocator micro-benchmarks (arena, pool, std::pmr monotonic, malloc)
# for 16-64 byte requests. Run by tools/bench.d/10-alloc.sh, which writes build/bench/alloc.json.
find_package(benchmark REQUIRED)
add_executable(bench_alloc ${CMAKE_CURRENT_LIST_DIR}/alloc_bench.cpp)
target_link_libraries(bench_alloc PRIVATE marrow_alloc benchmark::benchmark marrow_build_flags)
