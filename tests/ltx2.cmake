# LTX-2 transformer plugin tests (label ltx2). The golden files in
# data/ltx2 are tiny combined checkpoints with inputs and ltx-core's
# outputs (tests/parity/ltx2.py).
function(ltx2_test name)
  warm_add_test(${name} ${ARGN})
  add_dependencies(${name} transformer_ltx2)
endfunction()

ltx2_test(test_ltx2_parity SOURCES unit/test_ltx2_parity.c LIBS warm::sdk
          LABELS ltx2
          ARGS v20_split v20_interleaved v23_split v20_video_only v20_lora)

# `warmd -t` on LTX-2 checkpoints: missing required config keys, a wrong
# tensor shape and a truncated file are named with file and key.
warm_add_test(test_ltx2_check SOURCES integration/test_ltx2_check.c
              LIBS warm::sdk LABELS ltx2 integration)
target_include_directories(test_ltx2_check PRIVATE
                           ${CMAKE_CURRENT_SOURCE_DIR}/integration)
add_dependencies(test_ltx2_check warmd transformer_ltx2)
