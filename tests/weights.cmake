# Weights area: safetensors + config.json, the weight streamer, warm-inspect
# and warm-mkmodel. Labels: weights (unit), bench, gpu, fuzz.
warm_add_test(test_safetensors SOURCES unit/test_safetensors.c
              LIBS warm::sdk LABELS weights unit)
warm_add_test(test_streamer SOURCES unit/test_streamer.c
              LIBS warm::sdk LABELS weights unit)
warm_add_fuzzer(fuzz_safetensors SOURCE fuzz/fuzz_safetensors.c
                LIBS warm::sdk)
warm_add_test(test_mkmodel SOURCES unit/test_mkmodel.c
              LIBS warm::sdk LABELS weights unit)
add_dependencies(test_mkmodel warm-mkmodel warm-inspect)
warm_add_test(test_streamer_wk SOURCES unit/test_streamer_wk.c
              LIBS warm::sdk LABELS weights unit)
# Benchmarks: out of ctest's default runs (label bench); tests/bench/run.sh
# runs every <build>/tests/bench_* and tests/gpu/check.sh every gpubench_*.
warm_add_test(bench_streamer SOURCES bench/bench_streamer.c
              LIBS warm::sdk LABELS bench)
# GPU: streamer correctness on CUDA + H2D bandwidth + 48 x 448 MB stream
# (exits 77 without a GPU; run by tests/gpu/check.sh).
warm_add_test(gpubench_streamer SOURCES gpu/gpubench_streamer.c
              LIBS warm::sdk LABELS bench gpu)
