/*
 * host/device.c — a device as warmd runs it: ledger + executor thread (+ a
 * wk cuda context for cuda:N, where device memory comes from).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"
#include "wk.h"

int wh_cuda_devices(void) {
  return wk_cuda_device_count();
}

int wh_device_create(const wh_cfg_device *cd, int with_executor,
                     wh_device **out, warm_error *err) {
  *out = NULL;
  if (cd->dev.type == WARM_DEVICE_CUDA) {
    int n = wh_cuda_devices();
    if (cd->dev.index >= n)
      return warm_error_set(err, WARM_EDEVICE,
                            "%s: no CUDA device (this machine has %d)",
                            cd->name, n);
  }
  wh_device *d = calloc(1, sizeof *d);
  if (!d || !(d->name = strdup(cd->name))) {
    free(d);
    return warm_error_set(err, WARM_ENOMEM, "out of memory");
  }
  d->dev = cd->dev;
  int rc = warm_ledger_create(cd->name, cd->budget, &d->ledger);
  if (rc) {
    warm_error_set(err, rc, "%s: cannot create the ledger", cd->name);
    goto fail;
  }
  /* The cpu compute pool's size for the contexts plugins create from now
   * on (the pool grows to it; it never shrinks while contexts exist). */
  if (cd->dev.type == WARM_DEVICE_CPU) wk_cpu_set_threads(cd->threads);
  if (cd->dev.type == WARM_DEVICE_CUDA) {
    rc = wk_ctx_create(WK_BACKEND_CUDA, cd->dev.index, 0, &d->wk);
    if (rc) {
      warm_error_set(err, WARM_EDEVICE, "%s: cannot open the device (%d)",
                     cd->name, rc);
      goto fail;
    }
  }
  if (with_executor) {
    char tname[32];
    snprintf(tname, sizeof tname, "ex-%s", cd->name);
    rc = wh_executor_create(tname, &d->exec);
    if (rc) {
      warm_error_set(err, rc, "%s: cannot start the executor thread", cd->name);
      goto fail;
    }
  }
  *out = d;
  return 0;
fail:
  wh_device_destroy(d);
  return err ? err->code : rc;
}

int wh_device_create_paper(const wh_cfg_device *cd, wh_device **out,
                           warm_error *err) {
  *out = NULL;
  wh_device *d = calloc(1, sizeof *d);
  if (!d || !(d->name = strdup(cd->name))) {
    free(d);
    return warm_error_set(err, WARM_ENOMEM, "out of memory");
  }
  d->dev = cd->dev;
  int rc = warm_ledger_create(cd->name, cd->budget, &d->ledger);
  if (rc) {
    wh_device_destroy(d);
    return warm_error_set(err, rc, "%s: cannot create the ledger", cd->name);
  }
  *out = d;
  return 0;
}

void wh_device_destroy(wh_device *d) {
  if (!d) return;
  wh_executor_destroy(d->exec);
  if (d->wk) wk_ctx_destroy(d->wk);
  warm_ledger_destroy(d->ledger);
  free(d->name);
  free(d);
}

wh_device *wh_runtime_device(wh_runtime *rt, const char *name) {
  for (size_t i = 0; i < rt->n_devices; i++)
    if (!strcmp(rt->devices[i]->name, name)) return rt->devices[i];
  return NULL;
}
