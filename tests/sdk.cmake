# SDK tests: runtime units, loader against fixture plugins, the conformance
# checker, and the install / out-of-tree build test. Label: sdk.
include(${CMAKE_CURRENT_LIST_DIR}/fixtures/fixtures.cmake)

warm_add_test(test_sdk_size SOURCES unit/test_sdk_size.c LIBS warm::sdk
              LABELS sdk unit)
warm_add_test(test_sdk_names SOURCES unit/test_sdk_names.c LIBS warm::sdk
              LABELS sdk unit)
warm_add_test(test_ledger SOURCES unit/test_ledger.c LIBS warm::sdk
              LABELS sdk unit)
warm_add_test(test_loader SOURCES unit/test_loader.c LIBS warm::sdk
              LABELS sdk unit)
add_dependencies(test_loader warm_fixtures)
