# Operations (issue 15): systemd's notify protocol, the JSON and access
# logs, bearer-token auth, job retention, and scale-out behind nginx.
# Label ops; the ones that start warmd are integration tests too.
warm_add_test(test_systemd_notify SOURCES integration/test_systemd_notify.c
              LABELS ops integration)
add_dependencies(test_systemd_notify warmd)
if(TARGET hello_encoder)
  add_dependencies(test_systemd_notify hello_encoder)
endif()

warm_add_test(test_ops_units SOURCES unit/test_ops_units.c
              LIBS wh_core LABELS ops host)
target_include_directories(test_ops_units PRIVATE
                           ${CMAKE_CURRENT_SOURCE_DIR}/integration)

warm_add_test(test_ops_warmd SOURCES integration/test_ops_warmd.c
              LIBS PkgConfig::JANSSON LABELS ops integration tsan)
target_include_directories(test_ops_warmd PRIVATE
                           ${CMAKE_CURRENT_SOURCE_DIR}/integration)
set_tests_properties(test_ops_warmd PROPERTIES FIXTURES_REQUIRED ltxv_checkpoints)
foreach(t warmd hello_encoder transformer_ltxv vae_ltxv warm-mkmodel)
  if(TARGET ${t})
    add_dependencies(test_ops_warmd ${t})
  endif()
endforeach()

# Three warmd instances behind Debian's nginx with conf/nginx-warmd.conf
# (label deploy). Only in the plain build: under the sanitizers the three
# daemons would take minutes, and it tests configuration, not memory.
if(NOT WARM_SANITIZE AND NOT WARM_TSAN)
  warm_add_test(test_deploy_nginx SOURCES integration/test_deploy_nginx.c
                LIBS PkgConfig::JANSSON LABELS ops deploy integration)
  target_include_directories(test_deploy_nginx PRIVATE
                             ${CMAKE_CURRENT_SOURCE_DIR}/integration)
  set_tests_properties(test_deploy_nginx PROPERTIES
                       FIXTURES_REQUIRED ltxv_checkpoints TIMEOUT 180)
  foreach(t warmd hello_encoder transformer_ltxv vae_ltxv warm-mkmodel)
    if(TARGET ${t})
      add_dependencies(test_deploy_nginx ${t})
    endif()
  endforeach()
endif()

# The README's `warmd -t` sample is real output.
add_test(NAME readme_check_sample_matches
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/ops/readme_samples.sh
                 ${CMAKE_BINARY_DIR} ${PROJECT_SOURCE_DIR})
set_tests_properties(readme_check_sample_matches PROPERTIES LABELS ops
                     SKIP_RETURN_CODE 77)

# The nginx configuration shipped inside conf/k8s/front-nginx.yaml parses.
add_test(NAME k8s_front_nginx_conf_parses
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/ops/k8s_front_conf.sh
                 ${PROJECT_SOURCE_DIR})
set_tests_properties(k8s_front_nginx_conf_parses PROPERTIES LABELS "ops;deploy"
                     SKIP_RETURN_CODE 77)
