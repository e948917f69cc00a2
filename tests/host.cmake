# The host (warmd, warmctl): unit tests on wh_core, integration tests that
# run the real binaries over real sockets, and the two libFuzzer targets.
warm_add_test(test_config SOURCES unit/test_config.c LIBS wh_core
              LABELS host)
warm_add_test(test_admin_parse SOURCES unit/test_admin_parse.c LIBS wh_core
              LABELS host)
warm_add_test(test_registry SOURCES unit/test_registry.c LIBS wh_core
              LABELS host)
if(TARGET warm_fixtures)
  add_dependencies(test_registry warm_fixtures)
endif()

# Integration: the real binaries in a temp folder.
warm_add_test(test_warmd SOURCES integration/test_warmd.c
              LIBS PkgConfig::JANSSON LABELS host integration)
warm_add_test(test_warmd_check SOURCES integration/test_warmd_check.c
              LIBS warm::sdk LABELS host integration)
warm_add_test(test_runtime SOURCES integration/test_runtime.c
              LIBS wh_core LABELS host integration)
target_include_directories(test_runtime PRIVATE
                           ${CMAKE_CURRENT_SOURCE_DIR}/integration)
if(TARGET warm_fixtures)
  add_dependencies(test_runtime warm_fixtures)
endif()
foreach(t test_warmd test_warmd_check)
  add_dependencies(${t} warmd warmctl)
  if(TARGET hello_encoder)
    add_dependencies(${t} hello_encoder)
  endif()
  if(TARGET warm_fixtures)
    add_dependencies(${t} warm_fixtures)
  endif()
endforeach()

# libFuzzer targets (clang builds with WARM_FUZZ): the config loader and the
# admin command parser, seeded from tests/fuzz/corpus/<name>/.
warm_add_fuzzer(fuzz_config SOURCE fuzz/fuzz_config.c LIBS wh_core)
warm_add_fuzzer(fuzz_admin SOURCE fuzz/fuzz_admin.c LIBS wh_core)
