# Thin wrapper over CMake. The two commands a new user needs:
#   make run    install dependencies, build, run the quickstart benchmark
#   make test   install dependencies, build, run every test
BUILD ?= build
PREFIX ?= /usr/local
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
# CI (CI=true) treats warnings as errors; so does `make test`.
WERROR ?= ON

.PHONY: all build deps run test test-sanitize test-tsan bench lint fuzz install clean \
	check-llamacpp

all: build

deps:
	@scripts/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DAIEB_WERROR=$(WERROR) $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: deps build
	@scripts/quickstart.sh $(BUILD)

# The JUnit file names skipped tests with their output (scripts/check-skips.sh).
test: deps build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --output-junit Testing/junit.xml

# Same tests under AddressSanitizer + UndefinedBehaviorSanitizer (CI runs this too).
test-sanitize: deps
	$(MAKE) BUILD=build-asan CMAKE_FLAGS="-DAIEB_SANITIZE=ON -DAIEB_BENCH=OFF" test

# The sampler thread and its readers under ThreadSanitizer (the meter's tests).
TSAN_BUILD ?= build-tsan
test-tsan: deps
	cmake -S . -B $(TSAN_BUILD) -DAIEB_TSAN=ON -DAIEB_BENCH=OFF -DAIEB_WERROR=$(WERROR)
	cmake --build $(TSAN_BUILD) -j $(JOBS)
	cd $(TSAN_BUILD) && ctest --output-on-failure -R 'test_meter|test_nvml|test_measure'

bench: deps build
	@scripts/bench.sh $(BUILD)

# Files quantized by llama.cpp's llama-quantize against the NumPy reference (needs a
# llama.cpp build: LLAMA_CPP_BIN=path/to/llama.cpp/build/bin). Not part of `make test`.
check-llamacpp: build
	@scripts/check-llamacpp.sh $(BUILD) $(LLAMA_CPP_BIN)

# invalidPointerCast is suppressed: weights and config values are read through
# typed pointers into byte buffers on purpose (mmap'ed GGUF data, tagged values).
lint:
	@files=$$(git ls-files '*.c' '*.h'); \
	clang-format --dry-run -Werror $$files && \
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
	    --suppress=missingIncludeSystem --suppress=invalidPointerCast -I include -I src/lib -D__GNUC__ $$files

fuzz: deps
	CC=clang cmake -S . -B build-fuzz -DAIEB_FUZZ=ON -DAIEB_TESTS=OFF -DAIEB_BENCH=OFF \
	    -DAIEB_SANITIZE=ON
	cmake --build build-fuzz -j $(JOBS)
	@scripts/fuzz.sh build-fuzz $${FUZZ_SECONDS:-60}

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf build build-asan build-tsan build-fuzz
