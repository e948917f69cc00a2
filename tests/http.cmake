# The HTTP data plane (label http; label tsan marks the tests meant to run
# in a WARM_TSAN build as well: `ctest -L tsan` there): the server, job table, API and metrics
# embedded in the test process over real TCP, and the request fuzzer.
# wh_core links http-parser itself; the tests name it too for clarity.
find_library(WARM_HTTP_PARSER_LIB http_parser REQUIRED)

warm_add_test(test_http SOURCES integration/test_http.c
              LIBS wh_core ${WARM_HTTP_PARSER_LIB} LABELS http integration tsan)
target_include_directories(test_http PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/integration)
if(TARGET hello_encoder)
  add_dependencies(test_http hello_encoder)
endif()
# The LTX-2 job fields: image, negative prompt, guidance, their records.
warm_add_test(test_http_ltx2 SOURCES integration/test_http_ltx2.c
              LIBS wh_core ${WARM_HTTP_PARSER_LIB} LABELS http integration tsan)
target_include_directories(test_http_ltx2 PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/integration)
if(TARGET hello_encoder)
  add_dependencies(test_http_ltx2 hello_encoder)
endif()

# Jobs through the real pipeline (hello_encoder -> transformer_ltxv ->
# vae_ltxv) on the tiny checkpoints of the ltxv_checkpoints fixture.
warm_add_test(test_http_pipeline SOURCES integration/test_http_pipeline.c
              LIBS wh_core ${WARM_HTTP_PARSER_LIB} LABELS http integration tsan)
target_include_directories(test_http_pipeline PRIVATE
                           ${CMAKE_CURRENT_SOURCE_DIR}/integration)
set_tests_properties(test_http_pipeline PROPERTIES
                     FIXTURES_REQUIRED ltxv_checkpoints)
foreach(t hello_encoder transformer_ltxv vae_ltxv warm-mkmodel)
  if(TARGET ${t})
    add_dependencies(test_http_pipeline ${t})
  endif()
endforeach()

# The real warmd binary with http_listen: jobs, admin drain/resume/show
# jobs, metrics, SIGTERM with shutdown_timeout.
warm_add_test(test_http_warmd SOURCES integration/test_http_warmd.c
              LIBS PkgConfig::JANSSON LABELS http integration tsan)
target_include_directories(test_http_warmd PRIVATE
                           ${CMAKE_CURRENT_SOURCE_DIR}/integration)
set_tests_properties(test_http_warmd PROPERTIES
                     FIXTURES_REQUIRED ltxv_checkpoints)
foreach(t warmd hello_encoder transformer_ltxv vae_ltxv warm-mkmodel)
  if(TARGET ${t})
    add_dependencies(test_http_warmd ${t})
  endif()
endforeach()

warm_add_fuzzer(fuzz_http SOURCE fuzz/fuzz_http.c
                LIBS wh_core ${WARM_HTTP_PARSER_LIB})

# Admin latency while a job runs, and set-placement commit time (label
# bench: run by tests/bench/run.sh, not by ctest's default runs).
warm_add_test(bench_admin SOURCES bench/bench_admin.c LIBS wh_core LABELS bench)
target_include_directories(bench_admin PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/integration)
if(TARGET hello_encoder)
  add_dependencies(bench_admin hello_encoder)
endif()

# The built-in web page in headless chromium (DevTools over a pipe): submit
# through the form, progress, memory bars, the MP4 in <video>, cancel, and a
# screenshot in <build>/web-screenshot.png.
warm_add_test(test_web SOURCES integration/test_web.c
              LIBS PkgConfig::JANSSON m LABELS http integration)
target_include_directories(test_web PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/integration)
set_tests_properties(test_web PROPERTIES FIXTURES_REQUIRED ltxv_checkpoints
                     TIMEOUT 180)
foreach(t warmd hello_encoder transformer_ltxv vae_ltxv warm-mkmodel)
  if(TARGET ${t})
    add_dependencies(test_web ${t})
  endif()
endforeach()
