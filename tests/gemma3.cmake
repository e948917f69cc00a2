# Gemma-3 text encoder plugin tests (label gemma3). test_gemma3_checkpoints
# is the fixture: it builds the parity checkpoints with warm-mkmodel under
# <build>/gemma3-ckpt, which the other model tests read.
warm_add_test(test_gemma3_checkpoints SOURCES unit/test_gemma3_checkpoints.c
              LIBS g3core PkgConfig::JANSSON LABELS gemma3)
add_dependencies(test_gemma3_checkpoints warm-mkmodel)
set_tests_properties(test_gemma3_checkpoints PROPERTIES
                     FIXTURES_SETUP gemma3_ckpt)

warm_add_test(test_gemma3_config SOURCES unit/test_gemma3_config.c
              LIBS g3core LABELS gemma3)
warm_add_test(test_gemma3_tokenizer SOURCES unit/test_gemma3_tokenizer.c
              LIBS g3core PkgConfig::JANSSON LABELS gemma3)
warm_add_test(test_gemma3_parity SOURCES unit/test_gemma3_parity.c
              LIBS g3core PkgConfig::JANSSON LABELS gemma3)
warm_add_test(test_gemma3_placement SOURCES unit/test_gemma3_placement.c
              LIBS g3core LABELS gemma3)
warm_add_test(test_gemma3_errors SOURCES unit/test_gemma3_errors.c
              LIBS g3core LABELS gemma3)
set_tests_properties(test_gemma3_parity test_gemma3_placement
                     test_gemma3_errors PROPERTIES
                     FIXTURES_REQUIRED gemma3_ckpt)

# CUDA (label gpu): skips with exit 77 where no device is present.
warm_add_test(test_gemma3_cuda SOURCES gpu/test_gemma3_cuda.c
              LIBS g3core LABELS gpu gemma3)
set_tests_properties(test_gemma3_cuda PROPERTIES FIXTURES_REQUIRED gemma3_ckpt)

# Benchmarks (label bench: out of the default ctest runs; tests/bench/run.sh
# and tests/gpu/check.sh find them by name). Both write their checkpoint
# with warm-mkmodel.
warm_add_test(bench_gemma3 SOURCES bench/bench_gemma3.c LIBS g3core
              LABELS bench)
warm_add_test(gpubench_gemma3 SOURCES gpu/gpubench_gemma3.c LIBS g3core
              LABELS bench gpu)
add_dependencies(bench_gemma3 warm-mkmodel)
add_dependencies(gpubench_gemma3 warm-mkmodel)

# The SDK's conformance checker on the plugin, as a third party would run it.
if(TARGET warm-plugin-check)
  add_test(NAME gemma3_plugin_check
           COMMAND warm-plugin-check $<TARGET_FILE:text_encoder_gemma3>
                   --weights ${CMAKE_BINARY_DIR}/gemma3-ckpt/gqa_window
                   --max-tokens 32 --prompt "A red fox runs across the snow")
  set_tests_properties(gemma3_plugin_check PROPERTIES LABELS gemma3
                       FIXTURES_REQUIRED gemma3_ckpt TIMEOUT 300)
endif()
