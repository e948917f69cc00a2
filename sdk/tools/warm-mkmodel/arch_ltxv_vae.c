/* warm-mkmodel --arch ltxv-vae: a diffusers AutoencoderKLLTXVideo
 * config.json (every key, encoder ones included) with random weights for
 * the DECODER only (decoder.* plus latents_mean / latents_std), as
 * diffusion_pytorch_model.safetensors. vae_ltxv.so decodes; the parity
 * script loads the folder into diffusers with the encoder left at its
 * initialisation.
 *
 * Presets: tiny (0.9.0-style: conv_in resnet with a shortcut, plain
 * upsamplers), tiny-t (0.9.5-style: timestep conditioning, residual
 * upsamplers with upsample_factor 2), small (cpu benchmarks), full
 * (LTX-Video 0.9.1 VAE decoder). --set overrides any key, e.g.
 * --set decoder_causal=true. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mkmodel.h"

/* 1 / sqrt(x) for x >= 1 by Newton's method (warm-mkmodel links no libm). */
static double lv_rsqrt(double x) {
  double y = 1.0 / x;
  for (int i = 0; i < 200; i++)
    y = y * (1.5 - 0.5 * x * y * y);
  return y;
}

#define LV_ONE_FILE (1ull << 46)
#define LV_MAX 16

typedef struct lv_preset {
  const char *name;
  const char *json; /* the preset's keys */
} lv_preset;

static const lv_preset lv_presets[] = {
    {"tiny",
     "{\"latent_channels\":8,\"patch_size\":2,\"block_out_channels\":[8,16,16],"
     "\"decoder_block_out_channels\":[8,16,16],\"layers_per_block\":[1,1,1,1],"
     "\"decoder_layers_per_block\":[1,1,1,1],\"spatio_temporal_scaling\":"
     "[true,true,false],\"decoder_spatio_temporal_scaling\":[true,true,false],"
     "\"decoder_inject_noise\":[false,false,false,false],\"upsample_residual\":"
     "[false,false,false],\"upsample_factor\":[1,1,1],\"timestep_"
     "conditioning\":false,\"scaling_factor\":0.75}"},
    {"tiny-t",
     "{\"latent_channels\":8,\"patch_size\":2,\"block_out_channels\":[8,16,32],"
     "\"decoder_block_out_channels\":[8,16,32],\"layers_per_block\":[1,1,1,1],"
     "\"decoder_layers_per_block\":[1,1,1,1],\"spatio_temporal_scaling\":"
     "[true,true,true],\"decoder_spatio_temporal_scaling\":[true,true,true],"
     "\"decoder_inject_noise\":[false,false,false,false],\"upsample_residual\":"
     "[true,true,true],\"upsample_factor\":[2,2,2],\"timestep_conditioning\":"
     "true,\"scaling_factor\":0.75}"},
    {"small",
     "{\"latent_channels\":32,\"patch_size\":4,\"block_out_channels\":[32,64,"
     "64],\"decoder_block_out_channels\":[32,64,64],\"layers_per_block\":[1,1,"
     "1,1],\"decoder_layers_per_block\":[1,1,1,1],\"spatio_temporal_scaling\":"
     "[true,true,false],\"decoder_spatio_temporal_scaling\":[true,true,false],"
     "\"decoder_inject_noise\":[false,false,false,false],\"upsample_residual\":"
     "[false,false,false],\"upsample_factor\":[1,1,1],\"timestep_"
     "conditioning\":false,\"scaling_factor\":1.0}"},
    {"full",
     "{\"latent_channels\":128,\"patch_size\":4,\"block_out_channels\":[128,"
     "256,512,512],\"decoder_block_out_channels\":[128,256,512,512],\"layers_"
     "per_block\":[4,3,3,3,4],\"decoder_layers_per_block\":[4,3,3,3,4],"
     "\"spatio_temporal_scaling\":[true,true,true,false],\"decoder_spatio_"
     "temporal_scaling\":[true,true,true,false],\"decoder_inject_noise\":"
     "[false,false,false,false,false],\"upsample_residual\":[false,false,"
     "false,false],\"upsample_factor\":[1,1,1,1],\"timestep_conditioning\":"
     "false,\"scaling_factor\":1.0}"},
};

static json_t *lv_config(const mk_ctx *c, const lv_preset *p, warm_error *err) {
  json_error_t je;
  json_t *pre = json_loads(p->json, 0, &je);
  json_t *t = json_object();
  if (!pre) {
    json_decref(t);
    warm_error_set(err, WARM_EINTERNAL, "ltxv-vae: preset json: %s", je.text);
    return NULL;
  }
  json_object_set_new(t, "_class_name", json_string("AutoencoderKLLTXVideo"));
  json_object_set_new(t, "_diffusers_version", json_string("0.32.0"));
  json_object_set_new(t, "in_channels", json_integer(3));
  json_object_set_new(t, "out_channels", json_integer(3));
  json_object_set_new(t, "patch_size_t", json_integer(1));
  json_object_set_new(t, "resnet_norm_eps", json_real(1e-6));
  json_object_set_new(t, "encoder_causal", json_true());
  json_object_set_new(t, "decoder_causal", json_false());
  json_object_update(t, pre);
  json_decref(pre);
  /* Encoder lists sized like block_out_channels, so diffusers can build
   * the (unused) encoder. */
  size_t nb = json_array_size(json_object_get(t, "block_out_channels"));
  json_t *dbt = json_array(), *dst = json_array();
  for (size_t i = 0; i < nb; i++) {
    json_array_append_new(dbt, json_string("LTXVideoDownBlock3D"));
    json_array_append_new(dst, json_string("conv"));
  }
  json_object_set_new(t, "down_block_types", dbt);
  json_object_set_new(t, "downsample_type", dst);
  if (mk_config_apply_sets(t, c, NULL, err)) {
    json_decref(t);
    return NULL;
  }
  return t;
}

/* Element i of array `key` as an integer (booleans 0/1). */
static int arr(json_t *t, const char *key, size_t i, int64_t *out,
               warm_error *err) {
  json_t *a = json_object_get(t, key), *e = json_array_get(a, i);
  if (json_is_integer(e))
    *out = json_integer_value(e);
  else if (json_is_boolean(e))
    *out = json_is_true(e);
  else
    return warm_error_set(err, WARM_EINVAL, "ltxv-vae: %s[%zu] missing", key,
                          i);
  return 0;
}

static int conv(mk_plan *p, const char *pfx, int64_t ci, int64_t co, int64_t k,
                warm_error *err) {
  int64_t w[5] = {co, ci, k, k, k}, b[1] = {co};
  float sd = (float)(lv_rsqrt((double)(ci * k * k * k)));
  int rc = mk_plan_add(p, MK_NORMAL, 0, sd, 5, w, err, "%s.conv.weight", pfx);
  if (!rc)
    rc = mk_plan_add(p, MK_NORMAL, 0, 0.02f, 1, b, err, "%s.conv.bias", pfx);
  return rc;
}

static int temb(mk_plan *p, const char *pfx, int64_t dim, warm_error *err) {
  int64_t w1[2] = {dim, 256}, w2[2] = {dim, dim}, b[1] = {dim};
  int rc;
  if ((rc = mk_plan_add(p, MK_NORMAL, 0, 1.0f / 16.0f, 2, w1, err,
                        "%s.timestep_embedder.linear_1.weight", pfx)) ||
      (rc = mk_plan_add(p, MK_NORMAL, 0, 0.02f, 1, b, err,
                        "%s.timestep_embedder.linear_1.bias", pfx)) ||
      (rc = mk_plan_add(p, MK_NORMAL, 0, (float)(lv_rsqrt((double)dim)), 2, w2,
                        err, "%s.timestep_embedder.linear_2.weight", pfx)) ||
      (rc = mk_plan_add(p, MK_NORMAL, 0, 0.02f, 1, b, err,
                        "%s.timestep_embedder.linear_2.bias", pfx)))
    return rc;
  return 0;
}

static int res(mk_plan *p, const char *pfx, int64_t ci, int64_t co, int tc,
               warm_error *err) {
  char nm[160];
  int rc;
  snprintf(nm, sizeof nm, "%s.conv1", pfx);
  if ((rc = conv(p, nm, ci, co, 3, err))) return rc;
  snprintf(nm, sizeof nm, "%s.conv2", pfx);
  if ((rc = conv(p, nm, co, co, 3, err))) return rc;
  if (ci != co) {
    int64_t s[1] = {ci};
    snprintf(nm, sizeof nm, "%s.conv_shortcut", pfx);
    if ((rc = mk_plan_add(p, MK_NORMAL, 1, 0.1f, 1, s, err, "%s.norm3.weight",
                          pfx)) ||
        (rc = mk_plan_add(p, MK_NORMAL, 0, 0.1f, 1, s, err, "%s.norm3.bias",
                          pfx)) ||
        (rc = conv(p, nm, ci, co, 1, err)))
      return rc;
  }
  if (tc) {
    int64_t s[2] = {4, ci};
    if ((rc = mk_plan_add(p, MK_NORMAL, 0, (float)(lv_rsqrt((double)ci)), 2, s,
                          err, "%s.scale_shift_table", pfx)))
      return rc;
  }
  return 0;
}

/* The decoder's tensors in LTXVideoDecoder3d's construction order (lists
 * reversed; channels divided by the upsample factors). */
static int lv_plan(json_t *t, mk_plan *p, warm_error *err) {
  int64_t lat, outc, ps;
  int rc;
  if ((rc = mk_config_dim(t, "latent_channels", &lat, err)) ||
      (rc = mk_config_dim(t, "out_channels", &outc, err)) ||
      (rc = mk_config_dim(t, "patch_size", &ps, err)))
    return rc;
  int tc = json_is_true(json_object_get(t, "timestep_conditioning"));
  size_t nb = json_array_size(json_object_get(t, "decoder_block_out_channels"));
  if (nb < 1 || nb > LV_MAX - 1 ||
      json_array_size(json_object_get(t, "decoder_layers_per_block")) != nb + 1)
    return warm_error_set(err, WARM_EINVAL,
                          "ltxv-vae: decoder_block_out_channels (N) and "
                          "decoder_layers_per_block (N+1) disagree");
  int64_t boc[LV_MAX], lpb[LV_MAX], sts[LV_MAX], ur[LV_MAX], uf[LV_MAX];
  for (size_t i = 0; i < nb; i++)
    if ((rc = arr(t, "decoder_block_out_channels", nb - 1 - i, &boc[i], err)) ||
        (rc = arr(t, "decoder_spatio_temporal_scaling", nb - 1 - i, &sts[i],
                  err)) ||
        (rc = arr(t, "upsample_residual", nb - 1 - i, &ur[i], err)) ||
        (rc = arr(t, "upsample_factor", nb - 1 - i, &uf[i], err)))
      return rc;
  for (size_t i = 0; i < nb + 1; i++)
    if ((rc = arr(t, "decoder_layers_per_block", nb - i, &lpb[i], err)))
      return rc;
  for (size_t i = 0; i < nb; i++)
    if (uf[i] < 1 || boc[i] < 1 || boc[i] % uf[i])
      return warm_error_set(err, WARM_EINVAL,
                            "ltxv-vae: block channels must divide by "
                            "upsample_factor");
  int64_t ch = boc[0];
  char nm[160];
  if ((rc = conv(p, "decoder.conv_in", lat, ch, 3, err))) return rc;
  if (tc && (rc = temb(p, "decoder.mid_block.time_embedder", 4 * ch, err)))
    return rc;
  for (int64_t r = 0; r < lpb[0]; r++) {
    snprintf(nm, sizeof nm, "decoder.mid_block.resnets.%lld", (long long)r);
    if ((rc = res(p, nm, ch, ch, tc, err))) return rc;
  }
  for (size_t i = 0; i < nb; i++) {
    int64_t in = ch / uf[i], out = boc[i] / uf[i];
    ch = out;
    if (in != out) {
      snprintf(nm, sizeof nm, "decoder.up_blocks.%zu.conv_in", i);
      if ((rc = res(p, nm, in, out, tc, err))) return rc;
    }
    if (tc) {
      snprintf(nm, sizeof nm, "decoder.up_blocks.%zu.time_embedder", i);
      if ((rc = temb(p, nm, 4 * out, err))) return rc;
    }
    if (sts[i]) {
      int64_t cin = out * uf[i];
      snprintf(nm, sizeof nm, "decoder.up_blocks.%zu.upsamplers.0.conv", i);
      if ((rc = conv(p, nm, cin, cin * 8 / uf[i], 3, err))) return rc;
    }
    for (int64_t r = 0; r < lpb[i + 1]; r++) {
      snprintf(nm, sizeof nm, "decoder.up_blocks.%zu.resnets.%lld", i,
               (long long)r);
      if ((rc = res(p, nm, out, out, tc, err))) return rc;
    }
  }
  if (tc) {
    int64_t s[2] = {2, ch}, scalar[1] = {1}; /* ndim 0: shape unused */
    if ((rc = temb(p, "decoder.time_embedder", 2 * ch, err)) ||
        (rc = mk_plan_add(p, MK_NORMAL, 0, (float)(lv_rsqrt((double)ch)), 2, s,
                          err, "decoder.scale_shift_table")) ||
        (rc = mk_plan_add(p, MK_CONST, 1000.0f, 0, 0, scalar, err,
                          "decoder.timestep_scale_multiplier")))
      return rc;
  }
  if ((rc = conv(p, "decoder.conv_out", ch, outc * ps * ps, 3, err))) return rc;
  int64_t l[1] = {lat};
  if ((rc = mk_plan_add(p, MK_NORMAL, 0, 0.1f, 1, l, err, "latents_mean")) ||
      (rc = mk_plan_add(p, MK_NORMAL, 1, 0.2f, 1, l, err, "latents_std")))
    return rc;
  return 0;
}

static int lv_make(const mk_ctx *c, warm_error *err) {
  const lv_preset *p = NULL;
  for (size_t i = 0; i < sizeof lv_presets / sizeof *lv_presets; i++)
    if (strcmp(c->preset, lv_presets[i].name) == 0) p = &lv_presets[i];
  if (!p)
    return warm_error_set(err, WARM_EINVAL,
                          "ltxv-vae: unknown preset '%s' (tiny, tiny-t, "
                          "small, full)",
                          c->preset);
  json_t *t = lv_config(c, p, err);
  if (!t) return err->code ? err->code : WARM_EINVAL;
  mk_plan plan = {0};
  int rc = lv_plan(t, &plan, err);
  if (!rc) rc = mk_write_diffusers(c, t, &plan, LV_ONE_FILE, "ltxv-vae", err);
  mk_plan_free(&plan);
  json_decref(t);
  return rc;
}

const mk_arch mk_arch_ltxv_vae = {"ltxv-vae", "tiny|tiny-t|small|full",
                                  lv_make, 0};
