# Gemma-3 text encoder plugin tests (label gemma3). test_gemma3_checkpoints
# is the fixture: it builds the parity checkpoints with warm-mkmodel under
# <build>/gemma3-ckpt, which the other model tests read.
warm_add_test(test_gemma3_checkpoints SOURCES unit/test_gemma3_checkpoints.c
              LIBS g3core PkgConfig::JANSSON LABELS gemma3)
add_dependencies(test_gemma3_checkpoints warm-mkmodel)
set_tests_properties(test_gemma3_checkpoints PROPERTIES
                     FIXTURES_SETUP gemma3_ckpt)

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
