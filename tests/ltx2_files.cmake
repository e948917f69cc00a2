# LTX-2 checkpoint files: the combined-checkpoint reader (warm/ltx2.h), the
# LoRA reader (warm/lora.h), warm-mkmodel's ltx2 arches and warm-inspect on
# them. Label: ltx2_files (and weights).
warm_add_test(test_ltx2_ckpt SOURCES unit/test_ltx2_ckpt.c
              LIBS warm::sdk LABELS ltx2_files weights unit)
# warm-mkmodel's ltx2 arches: full --sparse against the production goldens
# (tests/data/ltx2, written by tests/parity/ltx2_keys.py golden), tiny files
# read back with warm/ltx2.h, LoRA against its base, refusals.
warm_add_test(test_ltx2_files SOURCES unit/test_ltx2_files.c
              LIBS warm::sdk LABELS ltx2_files weights unit)
add_dependencies(test_ltx2_files warm-mkmodel warm-inspect)
warm_add_test(test_lora SOURCES unit/test_lora.c
              LIBS warm::sdk LABELS ltx2_files weights unit)
# The tiny files loaded into ltx-core 1.0.0 with strict key checks (skips
# without Python / ltx-core; see docs/ltx2.md).
add_test(NAME ltx2_keys_ltx_core
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/parity/ltx2_keys.sh ${CMAKE_BINARY_DIR})
set_tests_properties(ltx2_keys_ltx_core PROPERTIES LABELS "ltx2_files;parity"
                     SKIP_RETURN_CODE 77 TIMEOUT 300)
warm_add_fuzzer(fuzz_ltx2_files SOURCE fuzz/fuzz_ltx2_files.c LIBS warm::sdk)
