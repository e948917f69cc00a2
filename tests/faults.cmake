# Fault injection (label faults): the real warmd driven from outside with
# malformed input, faults and load; one regression test per fault found
# (issue 14). The tests that drive warmd from many threads carry the tsan
# label too.
foreach(t test_faults test_faults_host test_faults_load)
  if(NOT EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/integration/${t}.c)
    continue()
  endif()
  warm_add_test(${t} SOURCES integration/${t}.c
                LIBS wh_core PkgConfig::JANSSON LABELS faults integration)
  target_include_directories(${t} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  set_tests_properties(${t} PROPERTIES FIXTURES_REQUIRED ltxv_checkpoints)
  foreach(d warmd warmctl hello_encoder transformer_ltxv vae_ltxv warm-mkmodel)
    if(TARGET ${d})
      add_dependencies(${t} ${d})
    endif()
  endforeach()
endforeach()
set_tests_properties(test_faults_load PROPERTIES LABELS "faults;integration;tsan")

# fault_encoder: hello_encoder with faults on request and no live placement.
add_library(fixture_fault_encoder MODULE fixtures/fault_encoder.c)
set_target_properties(fixture_fault_encoder PROPERTIES PREFIX ""
  OUTPUT_NAME fault_encoder
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/fixtures
  C_VISIBILITY_PRESET hidden)
target_include_directories(fixture_fault_encoder PRIVATE
                           ${PROJECT_SOURCE_DIR}/sdk/examples/hello_encoder)
target_link_libraries(fixture_fault_encoder PRIVATE warm::sdk m)
foreach(t test_faults test_faults_host test_faults_load)
  if(TARGET ${t})
    add_dependencies(${t} fixture_fault_encoder)
  endif()
endforeach()
