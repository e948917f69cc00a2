/* --arch ltx2-upsampler: the LTX-2 latent upsampler file (ltx-core
 * LatentUpsampler, keys stored without a prefix) with its flat config in
 * __metadata__["config"]. 2.0 uses the SpatialRationalResampler
 * (upsampler.conv, upsampler.blur_down.kernel), 2.3 a plain Conv2d +
 * PixelShuffle (upsampler.0). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "mk_ltx2.h"

/* The 5x5 binomial blur of ltx-core's BlurDownsample: outer([1,4,6,4,1])
 * / 256. */
static void binomial_fill(const mk_tensor *t, float *out) {
  int64_t k = t->shape[3];
  double c[16], sum = 0;
  for (int64_t i = 0; i < k && i < 16; i++) {
    c[i] = i == 0 ? 1 : c[i - 1] * (double)(k - i) / (double)i;
    sum += c[i];
  }
  for (int64_t i = 0; i < k && i < 16; i++)
    for (int64_t j = 0; j < k && j < 16; j++)
      out[i * k + j] = (float)(c[i] * c[j] / (sum * sum));
}

/* GroupNorm(32, ch) with affine weight ~ 1 and bias ~ 0. */
static int group_norm(mk_plan *p, const char *name, int64_t ch,
                      warm_error *err) {
  int64_t s[1] = {ch};
  int rc = mk_plan_add(p, MK_NORMAL, 1.0f, 0.05f, 1, s, err, "%s.weight", name);
  return rc ? rc
            : mk_plan_add(p, MK_NORMAL, 0, 0.02f, 1, s, err, "%s.bias", name);
}

static int res_block(mk_plan *p, const char *pre, int64_t mid,
                     warm_error *err) {
  static const int64_t k3[3] = {3, 3, 3};
  char n[160];
  snprintf(n, sizeof n, "%s.conv1", pre);
  int rc = lx_conv(p, n, mid, mid, 3, k3, 1, err);
  snprintf(n, sizeof n, "%s.norm1", pre);
  rc = rc ? rc : group_norm(p, n, mid, err);
  snprintf(n, sizeof n, "%s.conv2", pre);
  rc = rc ? rc : lx_conv(p, n, mid, mid, 3, k3, 1, err);
  snprintf(n, sizeof n, "%s.norm2", pre);
  return rc ? rc : group_norm(p, n, mid, err);
}

int lx_plan_upsampler(mk_plan *p, const json_t *cfg, warm_error *err) {
  static const int64_t k3[3] = {3, 3, 3}, k2[2] = {3, 3};
  int64_t in, mid, nb, dims;
  int rc = lx_int(cfg, "in_channels", &in, err);
  rc = rc ? rc : lx_int(cfg, "mid_channels", &mid, err);
  rc = rc ? rc : lx_int(cfg, "num_blocks_per_stage", &nb, err);
  rc = rc ? rc : lx_int(cfg, "dims", &dims, err);
  if (rc) return rc;
  double scale = json_number_value(json_object_get(cfg, "spatial_scale"));
  if (dims != 3 || mid % 32 || !lx_bool(cfg, "spatial_upsample", 1) ||
      lx_bool(cfg, "temporal_upsample", 0) || scale != 2.0)
    return warm_error_set(err, WARM_EINVAL,
                          "upsampler: only the LTX-2 layout (dims 3, spatial "
                          "x2, mid_channels a multiple of 32) is written");
  char n[160];
  rc = lx_conv(p, "initial_conv", mid, in, 3, k3, 1, err);
  rc = rc ? rc : group_norm(p, "initial_norm", mid, err);
  for (int64_t i = 0; !rc && i < nb; i++) {
    snprintf(n, sizeof n, "res_blocks.%lld", (long long)i);
    rc = res_block(p, n, mid, err);
  }
  if (!rc && lx_bool(cfg, "rational_resampler", 0)) {
    int64_t kb[4] = {1, 1, 5, 5};
    rc = lx_conv(p, "upsampler.conv", 4 * mid, mid, 2, k2, 1, err);
    rc = rc ? rc
            : mk_plan_add_func(p, binomial_fill, NULL, 0, 4, kb, err,
                               "upsampler.blur_down.kernel");
  } else if (!rc) {
    rc = lx_conv(p, "upsampler.0", 4 * mid, mid, 2, k2, 1, err);
  }
  for (int64_t i = 0; !rc && i < nb; i++) {
    snprintf(n, sizeof n, "post_upsample_res_blocks.%lld", (long long)i);
    rc = res_block(p, n, mid, err);
  }
  return rc ? rc : lx_conv(p, "final_conv", in, mid, 3, k3, 1, err);
}

static int make(const mk_ctx *c, warm_error *err) {
  int v23, preset;
  int rc = lx_variant(c, &v23, err);
  rc = rc ? rc : lx_preset(c, &preset, err);
  if (rc) return rc;
  json_t *cfg = NULL;
  if ((rc = lx_upsampler_config(c, v23, preset, &cfg, err))) return rc;
  mk_plan p = {0};
  rc = lx_plan_upsampler(&p, cfg, err);
  char *text = rc ? NULL : json_dumps(cfg, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (!rc && !text) rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
  if (!rc) {
    warm_kv meta[1] = {{"config", text}};
    rc = mk_write_file(c, &p, c->out_dir, meta, 1, err);
  }
  free(text);
  mk_plan_free(&p);
  json_decref(cfg);
  return rc;
}

const mk_arch mk_arch_ltx2_upsampler = {
    "ltx2-upsampler", "tiny|small|full (--variant 2.0|2.3)", make, 1};
