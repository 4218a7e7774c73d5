# Convenience wrapper over CMake; the README's two commands are `make demo`
# and `make check`.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps demo check build clean

all: build

deps:
	scripts/deps.sh

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j $(JOBS)

demo: build
	scripts/demo.sh

check:
	scripts/check.sh

clean:
	rm -rf build build-asan
