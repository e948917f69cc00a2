# The LTX-2 text encoder plugin (label ltx2_text). test_ltx2_text_checkpoints
# is the fixture: it builds the Gemma-3 folder and the combined LTX-2 files
# with warm-mkmodel under <build>/ltx2-text-ckpt, with the command lines of
# tests/data/ltx2/text_parity.json (those tests/parity/ltx2_text.py ran).
warm_add_test(test_ltx2_text_checkpoints
              SOURCES unit/test_ltx2_text_checkpoints.c
              LIBS warm::sdk PkgConfig::JANSSON LABELS ltx2_text)
add_dependencies(test_ltx2_text_checkpoints warm-mkmodel)
set_tests_properties(test_ltx2_text_checkpoints PROPERTIES
                     FIXTURES_SETUP ltx2_text_ckpt)

warm_add_test(test_ltx2_text SOURCES unit/test_ltx2_text.c
              LIBS lt2core PkgConfig::JANSSON LABELS ltx2_text)
add_dependencies(test_ltx2_text warm-mkmodel)
set_tests_properties(test_ltx2_text PROPERTIES FIXTURES_REQUIRED ltx2_text_ckpt)

if(TARGET warm-plugin-check)
  add_test(NAME ltx2_text_plugin_check
           COMMAND warm-plugin-check $<TARGET_FILE:text_encoder_ltx2>
                   --weights ${CMAKE_BINARY_DIR}/ltx2-text-ckpt/gemma
                   --config ltx_checkpoint=${CMAKE_BINARY_DIR}/ltx2-text-ckpt/ltx2_v23.safetensors
                   --max-tokens 128 --prompt "A red fox runs across the snow")
  set_tests_properties(ltx2_text_plugin_check PROPERTIES LABELS ltx2_text
                       FIXTURES_REQUIRED ltx2_text_ckpt TIMEOUT 300)
endif()

# `warmd --encode` with the plugin, across placements (auto included).
warm_add_test(test_ltx2_encode_cli SOURCES integration/test_ltx2_encode_cli.c
              LIBS warm::sdk LABELS ltx2_text integration
              ARGS ${CMAKE_BINARY_DIR}/ltx2-text-ckpt
                   ${CMAKE_BINARY_DIR}/pipeline-ckpt)
target_include_directories(test_ltx2_encode_cli PRIVATE
                           ${CMAKE_CURRENT_SOURCE_DIR}/integration)
set_tests_properties(test_ltx2_encode_cli PROPERTIES
                     FIXTURES_REQUIRED "ltx2_text_ckpt;pipeline_checkpoints")
add_dependencies(test_ltx2_encode_cli warmd text_encoder_ltx2 transformer_ltxv
                 vae_ltxv)

# The streamed encode at Gemma-3-12B shape with LTX-2.3's text side on CUDA
# (labels bench, gpu; tests/gpu/check.sh runs every gpubench_*).
warm_add_test(gpubench_ltx2_text SOURCES gpu/gpubench_ltx2_text.c
              LIBS lt2core LABELS bench gpu)
add_dependencies(gpubench_ltx2_text warm-mkmodel)

# CUDA (label gpu): skips with exit 77 where no device is present.
warm_add_test(test_ltx2_text_cuda SOURCES gpu/test_ltx2_text_cuda.c
              LIBS lt2core LABELS gpu ltx2_text)
set_tests_properties(test_ltx2_text_cuda PROPERTIES
                     FIXTURES_REQUIRED ltx2_text_ckpt)
