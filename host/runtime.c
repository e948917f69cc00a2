/*
 * host/runtime.c — creating and tearing down the runtime (see runtime.h).
 */
#include <stdlib.h>

#include "runtime.h"

int wh_runtime_create(wh_runtime **out) {
  wh_runtime *rt = calloc(1, sizeof *rt);
  if (!rt) return WARM_ENOMEM;
  if (wh_registry_create(&rt->registry)) {
    free(rt);
    return WARM_ENOMEM;
  }
  wh_cfg_device hd = {.name = "host",
                      .dev = {WARM_DEVICE_CPU, 0},
                      .budget = wh_physical_ram()};
  warm_error e = {0};
  if (wh_device_create_paper(&hd, &rt->host, &e)) {
    wh_registry_destroy(rt->registry);
    free(rt);
    return WARM_ENOMEM;
  }
  pthread_mutex_init(&rt->lock, NULL);
  pthread_rwlock_init(&rt->commit_lock, NULL);
  *out = rt;
  return 0;
}

typedef struct destroy_op {
  wh_runtime *rt;
  wh_component *c;
} destroy_op;

static int destroy_run(void *arg) {
  destroy_op *o = arg;
  wh_component_destroy(o->rt, o->c);
  return 0;
}

void wh_component_destroy_ordered(wh_runtime *rt, wh_component *c) {
  destroy_op o = {rt, c};
  wh_executor *ex = c->dev->exec;
  if (!ex || wh_executor_is_current(ex) ||
      wh_executor_call(ex, destroy_run, &o) != 0)
    destroy_run(&o);
}

void wh_runtime_destroy(wh_runtime *rt) {
  if (!rt) return;
  /* Components go in reverse order, each on its device executor so it
   * follows whatever work was still queued there. */
  for (size_t i = rt->n_components; i-- > 0;)
    wh_component_destroy_ordered(rt, rt->components[i]);
  free(rt->components);
  for (size_t i = 0; i < rt->n_devices; i++)
    wh_device_destroy(rt->devices[i]);
  free(rt->devices);
  wh_device_destroy(rt->host);
  wh_registry_destroy(rt->registry);
  wh_config_free(rt->config);
  pthread_mutex_destroy(&rt->lock);
  pthread_rwlock_destroy(&rt->commit_lock);
  free(rt);
}
