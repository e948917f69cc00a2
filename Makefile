# Thin wrapper over CMake. `make demo` and `make test` are the two commands a
# newcomer runs; both install missing Debian packages first.

BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

DEB_PACKAGES = build-essential cmake pkg-config clang libclang-rt-14-dev \
               libuv1-dev libinih-dev libjansson-dev libopenblas-dev libdnnl-dev \
               libsentencepiece-dev libpng-dev libjpeg62-turbo-dev libhttp-parser-dev \
               libavformat-dev libavcodec-dev libavutil-dev libswscale-dev \
               ffmpeg chromium \
               libsystemd-dev nginx

.PHONY: all deps build demo demo-ltxv test test-fast asan tsan bench gpu-check mutants install clean

all: build

# Installs what is missing when root; otherwise prints the exact command.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "missing Debian packages; run:"; \
	    echo "  sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	@tests/demo.sh $(BUILD) ltx2

demo-ltxv: build
	@tests/demo.sh $(BUILD) ltxv

# The whole suite twice: the normal build (gcc), then ASan+UBSan (clang, with
# the libFuzzer targets, each run for 30 s); then every test that starts
# threads (label tsan) under ThreadSanitizer. Any sanitizer report fails it.
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE 'fuzz|bench'
	$(MAKE) asan
	$(MAKE) tsan

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE 'fuzz|bench'

asan: deps
	CC=clang CXX=clang++ cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DWARM_SANITIZE=ON -DWARM_FUZZ=ON $(CMAKE_ARGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) -LE bench

# What the tsan-labelled tests are and run (tests/CMakeLists.txt lists them).
TSAN_TARGETS = warmd warmctl warm-mkmodel text_encoder_gemma3 transformer_ltxv \
               vae_ltxv hello_encoder warm_fixtures \
               test_http test_http_ltx2 test_http_pipeline test_http_warmd test_http_limits \
               test_reload_window test_warmd test_warmd_check test_runtime \
               test_ledger test_embcache test_pipeline test_encoder_cli \
               test_streamer test_streamer_wk test_kernels_dtype \
               test_kernels_linear test_kernels_ops test_kernels_attention \
               test_kernels_conv test_kernels_args test_gemma3_checkpoints \
               test_gemma3_parity test_gemma3_placement test_gemma3_errors \
               test_ltxv_parity test_ltxv_placement test_ltxv_errors \
               test_ops_warmd \
               transformer_ltx2 text_encoder_ltx2 vae_ltx2 upsampler_ltx2 \
               audio_ltx2 test_ltx2_parity test_ltx2_memory test_ltx2_check \
               test_ltx2_text test_ltx2_text_checkpoints test_ltx2_encode_cli \
               test_ltx2_decoders test_ltx2_pipeline \
               test_kernels_textfeat test_kernels_signal test_web \
               test_faults_load fixture_fault_encoder test_kernels_pool

tsan: deps
	CC=clang CXX=clang++ cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DWARM_TSAN=ON -DWARM_CUDA=OFF $(CMAKE_ARGS)
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target $(TSAN_TARGETS)
	# OpenBLAS's own worker threads synchronise in uninstrumented code that
	# TSan cannot see, so they run single-threaded here.
	# tests/tsan.supp: descriptor numbers libuv closed behind TSan's back.
	cd $(TSAN_BUILD) && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/tsan.supp \
	  OPENBLAS_NUM_THREADS=1 ctest --output-on-failure -j $(JOBS) -L tsan

# TORCH_PY=/path/to/python (with torch, transformers, diffusers; ltx-pipelines
# for the whole demo job) adds the PyTorch side to bench_vs_torch: the same
# shapes in the same run.
bench: build
	@TORCH_PY="$(TORCH_PY)" tests/bench/run.sh $(BUILD)

gpu-check:
	tests/gpu/check.sh

# Plants each bug of tests/mutants/*.mut in a copy of the tree (build-mutants/)
# and runs the tests it names; fails when one survives. Not part of `make test`.
mutants: deps
	tests/mutants/run.sh

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) build-mutants
