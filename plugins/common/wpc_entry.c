/*
 * wpc_entry.c — entry-point checks the model plugins share: the dtypes and
 * devices a transformer serves, a placement request, the compute context of
 * a component's device, and looking up a run input by name.
 */
#include <string.h>

#include "wpc.h"

int wpc_check_caps(const warm_component_config *cfg, const char *who,
                   warm_dtype *dt, warm_error *err) {
  if (!cfg || !cfg->weights || !cfg->weights[0])
    return warm_error_set(err, WARM_EINVAL,
                          "%s: component %s has no weights path", who,
                          cfg && cfg->name ? cfg->name : "?");
  *dt = cfg->dtype == WARM_DTYPE_NONE ? WARM_F32 : cfg->dtype;
  if (*dt != WARM_F32 && *dt != WARM_BF16 && *dt != WARM_FP8_E4M3)
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: dtype %s not supported (f32, bf16, fp8)", who,
                          warm_dtype_name(*dt) ? warm_dtype_name(*dt) : "?");
  if (cfg->device.type != WARM_DEVICE_CPU &&
      cfg->device.type != WARM_DEVICE_CUDA)
    return warm_error_set(err, WARM_EUNSUPPORTED, "%s: unknown device type",
                          who);
  return 0;
}

int wpc_check_req(const char *name, const warm_place_req *req,
                  warm_error *err) {
  if (!req || (req->placement != WARM_PLACE_RESIDENT &&
               req->placement != WARM_PLACE_STREAM))
    return warm_error_set(err, WARM_EINVAL,
                          "%s: placement must be resident or stream", name);
  if (req->placement == WARM_PLACE_STREAM &&
      (req->stream_window < 1 || (req->stream_source != WARM_SOURCE_PINNED &&
                                  req->stream_source != WARM_SOURCE_MMAP)))
    return warm_error_set(err, WARM_EINVAL,
                          "%s: stream needs a window >= 1 and a source "
                          "(pinned or mmap)",
                          name);
  return 0;
}

int wpc_ctx(const warm_services *svc, const warm_component_config *cfg,
            int threads, const char *who, wk_ctx **out, warm_error *err) {
  wk_backend be =
      cfg->device.type == WARM_DEVICE_CUDA ? WK_BACKEND_CUDA : WK_BACKEND_CPU;
  if (warm_plan_only(svc)) {
    if (wk_ctx_create_sizing(be, threads, out))
      return warm_error_set(
          err, WARM_EUNSUPPORTED, "%s: cannot size the %s workspaces: %s", who,
          be == WK_BACKEND_CUDA ? "cuda" : "cpu", wk_last_error(NULL));
    return 0;
  }
  if (!wk_backend_available(be))
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: device %s is not available here", who,
                          be == WK_BACKEND_CUDA ? "cuda" : "cpu");
  if (wk_ctx_create(be, cfg->device.index, threads, out))
    return warm_error_set(err, WARM_EDEVICE,
                          "%s: cannot create the compute context: %s", who,
                          wk_last_error(NULL));
  return 0;
}

const warm_tensor *wpc_input(const warm_run_args *a, const char *name) {
  for (uint32_t i = 0; i < a->n_inputs; i++)
    if (a->inputs[i].name && !strcmp(a->inputs[i].name, name))
      return &a->inputs[i];
  return NULL;
}
