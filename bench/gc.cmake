# The GC comparison benchmarks: marrow against Boehm GC, malloc/free, a pool and an arena.
# One binary per workload (bench_binary_trees, bench_gcbench, bench_churn, bench_large_live;
# every variant selected with --variant) plus the Google Benchmark micro-benchmarks
# (bench_gc_micro).
# tools/bench.d/20-gc.sh runs them and writes build/bench/report.md; bench_large_live (pauses
# with 1 and 4 GiB live) is run by tools/bench.d/45-large-live.sh.
find_package(PkgConfig REQUIRED)
if(NOT TARGET PkgConfig::MARROW_BENCH_BDWGC)
  pkg_check_modules(MARROW_BENCH_BDWGC REQUIRED IMPORTED_TARGET bdw-gc)
endif()
find_package(benchmark REQUIRED)

foreach(name binary_trees gcbench churn gc_micro spike large_live)
  add_executable(bench_${name} ${CMAKE_CURRENT_SOURCE_DIR}/${name}.cpp)
  target_link_libraries(bench_${name} PRIVATE marrow::marrow PkgConfig::MARROW_BENCH_BDWGC
                                              marrow_build_flags)
endforeach()
target_link_libraries(bench_gc_micro PRIVATE benchmark::benchmark marrow_gc)  # checks ages with is_young
# Full-collection pause against live size for 1 and 2 GC threads (tools/bench.d/25-scaling.sh).
add_executable(bench_full_gc_scaling ${CMAKE_CURRENT_SOURCE_DIR}/full_gc_scaling.cpp)
target_link_libraries(bench_full_gc_scaling PRIVATE marrow::marrow marrow_build_flags)
