# Weights area: safetensors + config.json, the weight streamer, warm-inspect
# and warm-mkmodel. Labels: weights (unit), bench, gpu, fuzz.
warm_add_test(test_safetensors SOURCES unit/test_safetensors.c
              LIBS warm::sdk LABELS weights unit)
warm_add_test(test_streamer SOURCES unit/test_streamer.c
              LIBS warm::sdk LABELS weights unit)
warm_add_fuzzer(fuzz_safetensors SOURCE fuzz/fuzz_safetensors.c
                LIBS warm::sdk)
