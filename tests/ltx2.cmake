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
