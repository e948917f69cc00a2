# The HTTP data plane (label http): the server, job table, API and metrics
# embedded in the test process over real TCP, and the request fuzzer.
# http-parser is linked here until host/CMakeLists.txt links it into wh_core.
find_library(WARM_HTTP_PARSER_LIB http_parser REQUIRED)

warm_add_test(test_http SOURCES integration/test_http.c
              LIBS wh_core ${WARM_HTTP_PARSER_LIB} LABELS http integration)
target_include_directories(test_http PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/integration)
if(TARGET hello_encoder)
  add_dependencies(test_http hello_encoder)
endif()

warm_add_fuzzer(fuzz_http SOURCE fuzz/fuzz_http.c
                LIBS wh_core ${WARM_HTTP_PARSER_LIB})
