# LTX-2 transformer plugin tests (label ltx2). The golden files in
# data/ltx2 hold run inputs and ltx-core's outputs (tests/parity/ltx2.py);
# the checkpoints they name are made by the ltx2_checkpoints fixture with
# warm-mkmodel under <build>/ltx2-ckpt, with the same arguments the script
# used (its CKPTS table).
set(LTX2_CKPT_DIR ${CMAKE_BINARY_DIR}/ltx2-ckpt)

function(ltx2_checkpoint name)
  add_test(NAME ltx2_ckpt_${name}
           COMMAND warm-mkmodel ${ARGN} --out ${LTX2_CKPT_DIR}/${name}.safetensors
                   --quiet)
  set_tests_properties(ltx2_ckpt_${name} PROPERTIES
                       FIXTURES_SETUP ltx2_checkpoints LABELS ltx2)
endfunction()

ltx2_checkpoint(v20 --arch ltx2 --variant 2.0 --preset tiny --seed 11)
ltx2_checkpoint(v20_interleaved --arch ltx2 --variant 2.0 --preset tiny
                --seed 12 --set transformer.rope_type=interleaved)
ltx2_checkpoint(v23 --arch ltx2 --variant 2.3 --preset tiny --seed 13)
ltx2_checkpoint(v20_f32grid --arch ltx2 --variant 2.0 --preset tiny --seed 16
                --set transformer.frequencies_precision=float32)
ltx2_checkpoint(v20_lora --arch ltx2-lora --variant 2.0 --preset tiny
                --rank 2 --seed 15)

function(ltx2_test name)
  warm_add_test(${name} ${ARGN})
  set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED ltx2_checkpoints)
  add_dependencies(${name} transformer_ltx2 warm-mkmodel)
endfunction()

ltx2_test(test_ltx2_parity SOURCES unit/test_ltx2_parity.c LIBS warm::sdk
          LABELS ltx2
          ARGS v20_split v20_interleaved v23_split v20_video_only v20_lora
               v20_f32grid v20_bf16pos)

# estimate() >= ledger peak over placements, dtypes and job sizes.
ltx2_test(test_ltx2_memory SOURCES unit/test_ltx2_memory.c LIBS warm::sdk
          LABELS ltx2)

# `warmd -t` on LTX-2 checkpoints: missing required config keys, a wrong
# tensor shape and a truncated file are named with file and key.
ltx2_test(test_ltx2_check SOURCES integration/test_ltx2_check.c
          LIBS warm::sdk LABELS ltx2 integration)
target_include_directories(test_ltx2_check PRIVATE
                           ${CMAKE_CURRENT_SOURCE_DIR}/integration)
add_dependencies(test_ltx2_check warmd transformer_ltx2)

# The SDK's conformance checker builds the two-modality token inputs from
# info() (ABI 1.2) and checks estimates, placements, cancellation, faults.
if(TARGET warm-plugin-check)
  foreach(c v20 v23)
    add_test(NAME ltx2_plugin_check_${c}
             COMMAND warm-plugin-check $<TARGET_FILE:transformer_ltx2>
                     --weights ${LTX2_CKPT_DIR}/${c}.safetensors)
  endforeach()
  add_test(NAME ltx2_plugin_check_video_only
           COMMAND warm-plugin-check $<TARGET_FILE:transformer_ltx2>
                   --weights ${WARM_TEST_DATA}/ltx2/v20_video_only.safetensors)
  add_test(NAME ltx2_plugin_check_adapter
           COMMAND warm-plugin-check $<TARGET_FILE:transformer_ltx2>
                   --weights ${LTX2_CKPT_DIR}/v20.safetensors
                   --config "lora.distilled=${LTX2_CKPT_DIR}/v20_lora.safetensors 0.8")
  set_tests_properties(ltx2_plugin_check_v20 ltx2_plugin_check_v23
                       ltx2_plugin_check_video_only ltx2_plugin_check_adapter
                       PROPERTIES LABELS ltx2
                       FIXTURES_REQUIRED ltx2_checkpoints)
endif()

# Benchmarks (label bench: tests/bench/run.sh; gpu: tests/gpu/check.sh).
warm_add_test(bench_ltx2 SOURCES bench/bench_ltx2.c LIBS warm::sdk wk
              LABELS bench)
add_dependencies(bench_ltx2 transformer_ltx2 warm-mkmodel)
warm_add_test(gpubench_ltx2 SOURCES gpu/gpubench_ltx2.c LIBS warm::sdk wk
              LABELS bench gpu)
add_dependencies(gpubench_ltx2 transformer_ltx2 warm-mkmodel)

# End-to-end parity of the LTX-2 pipelines (label ltx2_pipeline): warmd
# --once with the reference's noise against tests/parity/ltx2_pipeline.py's
# goldens; the test makes the tiny files with the warm-mkmodel arguments the
# goldens record.
warm_add_test(test_ltx2_pipeline SOURCES integration/test_ltx2_pipeline.c
              LIBS warm::sdk PkgConfig::JANSSON LABELS ltx2_pipeline integration)
target_include_directories(test_ltx2_pipeline PRIVATE
                           ${CMAKE_CURRENT_SOURCE_DIR}/integration)
add_dependencies(test_ltx2_pipeline warmd warm-mkmodel text_encoder_ltx2
                 transformer_ltx2 upsampler_ltx2 vae_ltx2 audio_ltx2)
