# LTX-2 transformer plugin tests (label ltx2). The golden files in
# data/ltx2 are tiny combined checkpoints with inputs and ltx-core's
# outputs (tests/parity/ltx2.py).
function(ltx2_test name)
  warm_add_test(${name} ${ARGN})
  add_dependencies(${name} transformer_ltx2)
endfunction()

ltx2_test(test_ltx2_parity SOURCES unit/test_ltx2_parity.c LIBS warm::sdk
          LABELS ltx2
          ARGS v20_split v20_interleaved v23_split v20_video_only v20_lora
               v20_f32grid v20_bf16pos)

# `warmd -t` on LTX-2 checkpoints: missing required config keys, a wrong
# tensor shape and a truncated file are named with file and key.
warm_add_test(test_ltx2_check SOURCES integration/test_ltx2_check.c
              LIBS warm::sdk LABELS ltx2 integration)
target_include_directories(test_ltx2_check PRIVATE
                           ${CMAKE_CURRENT_SOURCE_DIR}/integration)
add_dependencies(test_ltx2_check warmd transformer_ltx2)

# The SDK's conformance checker builds the two-modality token inputs from
# info() (ABI 1.2) and checks estimates, placements, cancellation, faults.
if(TARGET warm-plugin-check)
  foreach(c v20_split v23_split v20_video_only)
    add_test(NAME ltx2_plugin_check_${c}
             COMMAND warm-plugin-check $<TARGET_FILE:transformer_ltx2>
                     --weights ${WARM_TEST_DATA}/ltx2/${c}.safetensors)
    set_tests_properties(ltx2_plugin_check_${c} PROPERTIES LABELS ltx2)
  endforeach()
  add_test(NAME ltx2_plugin_check_adapter
           COMMAND warm-plugin-check $<TARGET_FILE:transformer_ltx2>
                   --weights ${WARM_TEST_DATA}/ltx2/v20_lora.safetensors
                   --config "lora.distilled=${WARM_TEST_DATA}/ltx2/v20_lora.lora.safetensors 0.8")
  set_tests_properties(ltx2_plugin_check_adapter PROPERTIES LABELS ltx2)
endif()

# Benchmarks (label bench: tests/bench/run.sh; gpu: tests/gpu/check.sh).
warm_add_test(bench_ltx2 SOURCES bench/bench_ltx2.c LIBS warm::sdk wk
              LABELS bench)
add_dependencies(bench_ltx2 transformer_ltx2)
warm_add_test(gpubench_ltx2 SOURCES gpu/gpubench_ltx2.c LIBS warm::sdk wk
              LABELS bench gpu)
add_dependencies(gpubench_ltx2 transformer_ltx2)
