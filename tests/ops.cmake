# Operations (issue 15): systemd's notify protocol, the JSON and access
# logs, bearer-token auth, job retention, and scale-out behind nginx.
# Label ops; the ones that start warmd are integration tests too.
warm_add_test(test_systemd_notify SOURCES integration/test_systemd_notify.c
              LABELS ops integration)
add_dependencies(test_systemd_notify warmd)
if(TARGET hello_encoder)
  add_dependencies(test_systemd_notify hello_encoder)
endif()
