# Convenience wrapper; the README's two commands are `bash scripts/demo.sh`
# and `bash scripts/check.sh` (a fresh Debian 12 may not even have make).
.PHONY: all demo check clean
all:
	scripts/deps.sh
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j $$(nproc)
demo:
	bash scripts/demo.sh
check:
	bash scripts/check.sh
clean:
	rm -rf build build-asan
