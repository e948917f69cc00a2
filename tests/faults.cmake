# Fault injection (label faults): the real warmd driven from outside with
# malformed input, faults and load; one regression test per fault found
# (issue 14). The tests that drive warmd from many threads carry the tsan
# label too.
foreach(t test_faults test_faults_load)
  if(NOT EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/integration/${t}.c)
    continue()
  endif()
  warm_add_test(${t} SOURCES integration/${t}.c
                LIBS PkgConfig::JANSSON LABELS faults integration)
  target_include_directories(${t} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  set_tests_properties(${t} PROPERTIES FIXTURES_REQUIRED ltxv_checkpoints)
  foreach(d warmd warmctl hello_encoder transformer_ltxv vae_ltxv warm-mkmodel)
    if(TARGET ${d})
      add_dependencies(${t} ${d})
    endif()
  endforeach()
endforeach()
set_tests_properties(test_faults_load PROPERTIES LABELS "faults;integration;tsan")
