# marrow's front end. `make demo` runs the main job, `make test` the whole suite.
# Each target first installs missing Debian packages (apt-get as root, sudo otherwise).
.PHONY: all deps build demo test test-release test-asan bench format format-check clean

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

test: deps test-release test-asan
	@echo "make test: all suites passed in release and asan"

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
