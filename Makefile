# marrow's front end. `make demo` runs the main job, `make test` the whole suite.
# Each target first installs missing Debian packages (apt-get as root, sudo otherwise).
.PHONY: all deps build demo test test-release test-asan test-tsan bench format format-check clean

PRESET ?= release
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
QUICK ?=

all: build

deps:
	@tools/install-deps.sh

build: deps
	cmake --preset $(PRESET) >/dev/null
	cmake --build --preset $(PRESET) -j $(JOBS)

demo: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)
	@tools/demo.sh

test: deps test-release test-asan test-tsan
	@echo "make test: all suites passed in release, asan and tsan"

test-release:
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)
	ctest --preset release -j $(JOBS)
	@tools/run-extra-tests.sh release

test-asan:
	cmake --preset asan >/dev/null
	cmake --build --preset asan -j $(JOBS)
	ctest --preset asan -j $(JOBS)
	@tools/run-extra-tests.sh asan

# ThreadSanitizer: the collector's suites with two GC threads (the parallel phases).
test-tsan:
	cmake --preset tsan >/dev/null
	cmake --build --preset tsan -j $(JOBS) --target gc_tests scenario_tests runtime_tests
	MARROW_GC_THREADS=2 TSAN_OPTIONS=halt_on_error=1 ctest --preset tsan -j $(JOBS) -R '^(gc|scenario|runtime)_tests'

bench: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)
	@QUICK=$(QUICK) tools/bench.sh

format:
	@git ls-files '*.cpp' '*.hpp' '*.h' | xargs -r clang-format -i

format-check:
	@tools/format-check.sh

clean:
	rm -rf build
