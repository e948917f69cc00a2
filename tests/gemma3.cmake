# Gemma-3 text encoder plugin tests (label gemma3). The checkpoints they read
# are built by the gemma3_checkpoints fixture under <build>/gemma3-ckpt.
set(G3_CKPT_DIR ${CMAKE_BINARY_DIR}/gemma3-ckpt)

warm_add_test(test_gemma3_parity SOURCES unit/test_gemma3_parity.c
              LIBS g3core PkgConfig::JANSSON LABELS gemma3)
warm_add_test(test_gemma3_tokenizer SOURCES unit/test_gemma3_tokenizer.c
              LIBS g3core PkgConfig::JANSSON LABELS gemma3)
warm_add_test(test_gemma3_placement SOURCES unit/test_gemma3_placement.c
              LIBS g3core LABELS gemma3)
warm_add_test(test_gemma3_errors SOURCES unit/test_gemma3_errors.c
              LIBS g3core LABELS gemma3)
