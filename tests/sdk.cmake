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

# warm-plugin-check: passes the example and the ABI 1.0 plugin, fails (with
# the right FAIL line) on deliberately broken fixtures, exits 2 on files that
# are not plugins.
set(_chk $<TARGET_FILE:warm-plugin-check>)
set(_exp ${CMAKE_CURRENT_LIST_DIR}/sdk/expect.sh)
set(_fx ${CMAKE_BINARY_DIR}/tests/fixtures)
function(warm_check_test name rc regex)
  add_test(NAME ${name} COMMAND sh ${_exp} ${rc} ${regex} ${_chk} ${ARGN})
  set_tests_properties(${name} PROPERTIES LABELS sdk TIMEOUT 120)
endfunction()
warm_check_test(sdk_check_passes_hello_encoder 0 "16 passed, 0 failed"
                ${WARM_PLUGIN_OUTPUT_DIR}/hello_encoder.so)
warm_check_test(sdk_check_passes_hello_encoder_words 0 "0 failed"
                ${WARM_PLUGIN_OUTPUT_DIR}/hello_encoder.so --config dim=24
                --config tokenizer=words --config buckets=97 --max-tokens 7)
warm_check_test(sdk_check_passes_abi10_plugin 0 " 0 failed"
                ${_fx}/abi10_plugin.so)
warm_check_test(sdk_check_fails_bad_estimate 1
                "FAIL estimate\\[resident/f32\\]: ledger peak .* is above the estimate"
                ${_fx}/bad_estimate.so)
warm_check_test(sdk_check_fails_leaky 1
                "FAIL create_destroy\\[f32\\]: after destroy #4 the plugin still holds 8.00 KiB"
                ${_fx}/leaky.so)
warm_check_test(sdk_check_survives_aborting_plugin 1
                "FAIL create_destroy: the plugin crashed: signal 6 .* in run\\(\\) \\[dtype f32, placement resident\\]"
                ${_fx}/aborts.so)
warm_check_test(sdk_check_times_out_spinning_plugin 1
                "FAIL create_destroy: timed out after 1 s in run\\(\\) \\[dtype f32, placement resident\\]: killed"
                ${_fx}/spins.so --timeout 1)
warm_check_test(sdk_check_prints_the_code_returned 1
                "FAIL estimate\\[resident/f32\\]: place failed: fx_place_eio: the weights went away \\(last call: place\\(\\) \\[dtype f32, placement resident\\] returned -4"
                ${_fx}/place_eio.so)
warm_check_test(sdk_check_refuses_not_elf 2 "cannot load as a shared object"
                ${_fx}/not_elf.so)
warm_check_test(sdk_check_refuses_abi_major2 2
                "built for ABI 2.0, this host speaks 1\\.[0-9]+" ${_fx}/abi_major2.so)
warm_check_test(sdk_check_refuses_missing_file 2 "No such file"
                ${_fx}/no_such_plugin.so)
warm_check_test(sdk_check_refuses_bad_config 1
                "FAIL .*key 'dim': 'zero' is not a whole number"
                ${WARM_PLUGIN_OUTPUT_DIR}/hello_encoder.so --config dim=zero)
add_custom_target(warm_sdk_test_deps ALL DEPENDS warm_fixtures)

# Install into a temporary prefix, build the example out of tree with
# find_package and with pkg-config, check both with the installed checker.
add_test(NAME sdk_install_out_of_tree_build
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/sdk/install_test.sh ${CMAKE_BINARY_DIR})
set_tests_properties(sdk_install_out_of_tree_build PROPERTIES LABELS sdk
                     TIMEOUT 300)

# The checker on every shipped plugin, each with a tiny random checkpoint.
foreach(p text_encoder_gemma3 transformer_ltxv vae_ltxv)
  if(TARGET ${p} AND TARGET warm-mkmodel)
    add_test(NAME sdk_check_shipped_${p}
             COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/sdk/check_shipped.sh
                     ${CMAKE_BINARY_DIR} ${p})
    set_tests_properties(sdk_check_shipped_${p} PROPERTIES LABELS sdk
                         TIMEOUT 300)
  endif()
endforeach()
# Without --input: the checker builds inputs from info() (ABI 1.1).
foreach(p transformer_ltxv vae_ltxv)
  if(TARGET ${p} AND TARGET warm-mkmodel)
    add_test(NAME sdk_check_shipped_${p}_inputs_from_info
             COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/sdk/expect.sh 0
                     "PASS inputs: inputs from info"
                     sh ${CMAKE_CURRENT_LIST_DIR}/sdk/check_shipped.sh
                     ${CMAKE_BINARY_DIR} ${p} auto)
    set_tests_properties(sdk_check_shipped_${p}_inputs_from_info PROPERTIES
                         LABELS sdk TIMEOUT 300)
  endif()
endforeach()

# The example plugin's own behaviour (tokens, exact estimate, streaming).
warm_add_test(test_sdk_hello_encoder SOURCES unit/test_sdk_hello_encoder.c
              LIBS warm::sdk LABELS sdk unit)
add_dependencies(test_sdk_hello_encoder hello_encoder)

# libwarm's exports are the public API only; no CUDA runtime in libwarm or
# in cpu plugins (issue 15).
add_test(NAME sdk_exports_public_only
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/sdk/exports_test.sh
                 ${CMAKE_BINARY_DIR} ${PROJECT_SOURCE_DIR})
set_tests_properties(sdk_exports_public_only PROPERTIES LABELS sdk)
