/* upsampler_ltx2.so: the ABI descriptor and entry points of the LTX-2
 * latent upsampler. run(): "latents" [C, F, H, W] (normalised) with the
 * video VAE's statistics "latent_mean" / "latent_std" [C] (the host takes
 * them from the VAE instance's info(), so they are read from one file once)
 * -> "latents" [C, F, 2H, 2W], normalised again (ltx-core upsample_video). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "up.h"

/* The job shape is the final video (after upsampling and decoding); the
 * upsampler's input latent is that over the LTX-2 VAE's compression
 * (8 frames, 32 pixels) at half the resolution. */
#define TCOMP 8
#define SCOMP 32
#define DEF_FRAMES 121
#define DEF_HEIGHT 512
#define DEF_WIDTH 768

static void up_destroy(warm_instance *inst);

static int open_model(const warm_component_config *cfg, ups *u,
                      warm_error *err) {
  static const char *const known[] = {"threads", NULL};
  int rc = lxc_check_caps(cfg, UP_NAME, &u->dtype, err);
  if (!rc) rc = lxc_keys_known(cfg, known, UP_NAME, err);
  if (!rc) rc = lxc_key_int(cfg, "threads", 0, 1024, &u->threads, err);
  if (!rc) rc = warm_ltx2_open(cfg->weights, &u->f, err);
  if (!rc) rc = up_net_build(u->f, u->dtype, &u->net, &u->tab, err);
  return rc;
}

static int up_validate(const warm_services *svc,
                       const warm_component_config *cfg, warm_error *err) {
  (void)svc;
  ups *u = calloc(1, sizeof *u);
  if (!u) return warm_error_set(err, WARM_ENOMEM, UP_NAME ": out of memory");
  int rc = open_model(cfg, u, err);
  lxc_tab_free(&u->tab);
  warm_ltx2_close(u->f);
  free(u);
  return rc;
}

static int up_create(const warm_services *svc, const warm_component_config *cfg,
                     warm_instance **out, warm_error *err) {
  ups *u = calloc(1, sizeof *u);
  if (!u) return warm_error_set(err, WARM_ENOMEM, UP_NAME ": out of memory");
  u->svc = svc;
  int rc = open_model(cfg, u, err);
  if (!rc) {
    u->st = warm_ltx2_st(u->f);
    u->name = strdup(cfg->name ? cfg->name : UP_NAME);
    if (!u->name) rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
  }
  if (!rc) rc = wpc_ctx(svc, cfg, (int)u->threads, u->name, &u->wk, err);
  if (!rc) {
    u->w.svc = svc;
    u->w.wk = u->wk;
    u->w.dtype = u->dtype;
  }
  if (rc) {
    up_destroy((warm_instance *)u);
    return rc;
  }
  *out = (warm_instance *)u;
  return 0;
}

static int up_estimate(warm_instance *inst, const warm_place_req *req,
                       const warm_job_shape *js, warm_estimate *out,
                       warm_error *err) {
  ups *u = (ups *)inst;
  int64_t frames = js && js->frames ? js->frames : DEF_FRAMES;
  int64_t h = js && js->height ? js->height : DEF_HEIGHT;
  int64_t w = js && js->width ? js->width : DEF_WIDTH;
  int64_t F = (frames - 1) / TCOMP + 1;
  int64_t H = (h + 2 * SCOMP - 1) / (2 * SCOMP);
  int64_t W = (w + 2 * SCOMP - 1) / (2 * SCOMP);
  if (F > 4096 || H > 65536 || W > 65536)
    return warm_error_set(err, WARM_EINVAL, "%s: job too large", u->name);
  lxc_estimate_weights(&u->tab, req, out);
  out->workspace = up_workspace(u, F, H, W);
  return 0;
}

static int up_place(warm_instance *inst, const warm_place_req *req,
                    warm_error *err) {
  ups *u = (ups *)inst;
  return lxc_place(&u->w, &u->tab, u->st, req, NULL, NULL, u->name, err);
}

static int up_run(warm_instance *inst, warm_run_args *a, warm_error *err) {
  ups *u = (ups *)inst;
  const up_net *n = &u->net;
  if (!u->w.placement)
    return warm_error_set(err, WARM_EINVAL, "%s: run before place", u->name);
  int64_t d[4], dm[1], ds[1];
  const float *z, *mean, *std;
  int rc = lxc_input_f32(a, "latents", 4, d, &z, u->name, err);
  if (!rc) rc = lxc_input_f32(a, "latent_mean", 1, dm, &mean, u->name, err);
  if (!rc) rc = lxc_input_f32(a, "latent_std", 1, ds, &std, u->name, err);
  if (rc) return rc;
  int64_t C = d[0], F = d[1], H = d[2], W = d[3];
  if (C != n->in_channels || dm[0] != C || ds[0] != C)
    return warm_error_set(err, WARM_EINVAL,
                          "%s: latents have %lld channels, statistics %lld and "
                          "%lld; the upsampler has in_channels %lld",
                          u->name, (long long)C, (long long)dm[0],
                          (long long)ds[0], (long long)n->in_channels);
  if (F > 4096 || H > 32768 || W > 32768 ||
      F * H * W > ((int64_t)1 << 32) / (4 * n->mid))
    return warm_error_set(err, WARM_EINVAL,
                          "%s: latents [%lld, %lld, %lld] (F, H, W) out of "
                          "range",
                          u->name, (long long)F, (long long)H, (long long)W);
  for (int64_t c = 0; c < C; c++)
    if (!(std[c] > 0.0f) || !isfinite(std[c]) || !isfinite(mean[c]))
      return warm_error_set(err, WARM_EINVAL,
                            "%s: latent_std[%lld] = %g, latent_mean = %g: the "
                            "statistics must be finite and std positive",
                            u->name, (long long)c, (double)std[c],
                            (double)mean[c]);
  int64_t S = F * H * W, So = 4 * S;
  float *x = malloc((size_t)(C * S) * sizeof *x);
  warm_tensor o;
  int64_t shape[4] = {C, F, 2 * H, 2 * W};
  if (!x || warm_tensor_alloc(&o, "latents", WARM_F32, 4, shape)) {
    free(x);
    return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory", u->name);
  }
  for (int64_t c = 0; c < C; c++)
    for (int64_t i = 0; i < S; i++)
      x[c * S + i] = z[c * S + i] * std[c] + mean[c];
  u->w.streamed = 0;
  rc = up_forward(u, x, F, H, W, o.data, err);
  free(x);
  if (rc) {
    warm_tensor_free(&o);
    return rc;
  }
  float *y = o.data;
  for (int64_t c = 0; c < C; c++)
    for (int64_t i = 0; i < So; i++)
      y[c * So + i] = (y[c * So + i] - mean[c]) / std[c];
  a->n_outputs = 1;
  a->outputs[0] = o;
  a->used_placement = u->w.placement;
  a->streamed_bytes = u->w.streamed;
  return 0;
}

static void up_destroy(warm_instance *inst) {
  ups *u = (ups *)inst;
  if (!u) return;
  lxc_unplace(&u->w);
  if (u->wk) wk_ctx_destroy(u->wk);
  lxc_tab_free(&u->tab);
  warm_ltx2_close(u->f);
  free(u->name);
  free(u);
}

static int up_fingerprint(warm_instance *inst, char out[65], warm_error *err) {
  ups *u = (ups *)inst;
  return lxc_fingerprint(u->st, &u->tab, UP_NAME, UP_VERSION, u->dtype, out,
                         u->name, err);
}

static int up_info(warm_instance *inst, warm_model_info *out, warm_error *err) {
  ups *u = (ups *)inst;
  if (!out || out->struct_size < sizeof(uint32_t))
    return warm_error_set(err, WARM_EINVAL, "%s: info: bad struct", u->name);
  if (WARM_HAS_FIELD(out->struct_size, warm_model_info, latent_channels))
    out->latent_channels = (uint32_t)u->net.in_channels;
  return 0;
}

static const warm_plugin_desc up_desc = {
    .abi_major = WARM_ABI_MAJOR,
    .abi_minor = WARM_ABI_MINOR,
    .struct_size = sizeof(warm_plugin_desc),
    .name = UP_NAME,
    .version = UP_VERSION,
    .kind = WARM_KIND_UPSAMPLER,
    .devices = WARM_DEVCAP_CPU | WARM_DEVCAP_CUDA,
    .placements = WARM_PLACE_RESIDENT | WARM_PLACE_STREAM | WARM_PLACE_AUTO,
    .dtypes = WARM_DTYPECAP_F32 | WARM_DTYPECAP_BF16,
    .flags = WARM_FLAG_LIVE_PLACEMENT,
    .create = up_create,
    .estimate = up_estimate,
    .place = up_place,
    .run = up_run,
    .destroy = up_destroy,
    .validate = up_validate,
    .fingerprint = up_fingerprint,
    .info = up_info,
};

WARM_PLUGIN_EXPORT const warm_plugin_desc *warm_plugin_entry(void) {
  return &up_desc;
}
