# Limits at their edges (label boundaries): the HTTP body limit for
# Content-Length and chunked bodies, and the budget check counting a stream
# window at prepare (in-process reloads and `warmd -t`). Both start threads
# (the server loop, device executors), so both run under TSan too.
find_library(WARM_HTTP_PARSER_LIB http_parser REQUIRED)

warm_add_test(test_http_limits SOURCES integration/test_http_limits.c
              LIBS wh_core ${WARM_HTTP_PARSER_LIB} LABELS http boundaries tsan)
target_include_directories(test_http_limits PRIVATE
                           ${CMAKE_CURRENT_SOURCE_DIR}/integration)
if(TARGET hello_encoder)
  add_dependencies(test_http_limits hello_encoder)
endif()

warm_add_test(test_reload_window SOURCES integration/test_reload_window.c
              LIBS wh_core LABELS host boundaries tsan)
target_include_directories(test_reload_window PRIVATE
                           ${CMAKE_CURRENT_SOURCE_DIR}/integration)
add_dependencies(test_reload_window warmd)
if(TARGET hello_encoder)
  add_dependencies(test_reload_window hello_encoder)
endif()

# The DiT's RoPE tables on their own, against diffusers' formula in double
# precision (the parity test sees them only through the whole model).
# ltxv_forward.c is compiled in: the plugin exports only its entry symbol.
warm_add_test(test_ltxv_rope SOURCES unit/test_ltxv_rope.c
              ${PROJECT_SOURCE_DIR}/plugins/transformer_ltxv/ltxv_forward.c
              LIBS warm::sdk wk LABELS ltxv)
