/* The decoder's structure from config.json, its tensor table (diffusers
 * names and shapes) and plugin keys. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lvae.h"

#define LV_MAXLEN 16

/* Config arrays read once. warm/model.h has no boolean-array getter, so the
 * arrays are read with jansson here (the SDK's getters do the scalars). */
typedef struct lv_arrays {
  int64_t boc[LV_MAXLEN], lpb[LV_MAXLEN], uf[LV_MAXLEN];
  int sts[LV_MAXLEN], enc_sts[LV_MAXLEN], inj[LV_MAXLEN], ur[LV_MAXLEN];
  size_t n_boc, n_lpb, n_uf, n_sts, n_enc_sts, n_inj, n_ur;
} lv_arrays;

/* Reads array `key` of ints or booleans (booleans read as 0/1) into out,
 * or the default when absent. */
static int read_arr(json_t *root, const char *file, const char *key,
                    const int64_t *def, size_t n_def, int64_t *out, size_t *n,
                    int want_bool, warm_error *err) {
  json_t *a = json_object_get(root, key);
  if (!a || json_is_null(a)) {
    memcpy(out, def, n_def * sizeof *out);
    *n = n_def;
    return 0;
  }
  if (!json_is_array(a) || json_array_size(a) > LV_MAXLEN)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: %s: expected an array of at most %d elements",
                          file, key, LV_MAXLEN);
  *n = json_array_size(a);
  for (size_t i = 0; i < *n; i++) {
    json_t *e = json_array_get(a, i);
    if (want_bool && json_is_boolean(e))
      out[i] = json_is_true(e);
    else if (!want_bool && json_is_integer(e))
      out[i] = json_integer_value(e);
    else
      return warm_error_set(err, WARM_EFORMAT, "%s: %s[%zu]: expected %s", file,
                            key, i, want_bool ? "a boolean" : "an integer");
  }
  return 0;
}

static int read_arrays(const char *cfgfile, lv_arrays *a, warm_error *err) {
  json_error_t je;
  json_t *root = json_load_file(cfgfile, 0, &je);
  if (!root)
    return warm_error_set(err, WARM_EFORMAT, "%s: line %d: %s", cfgfile,
                          je.line, je.text);
  static const int64_t d_boc[] = {128, 256, 512, 512};
  static const int64_t d_lpb[] = {4, 3, 3, 3, 4};
  static const int64_t d_sts[] = {1, 1, 1, 0};
  static const int64_t d_inj[] = {0, 0, 0, 0, 0};
  static const int64_t d_ur[] = {0, 0, 0, 0};
  static const int64_t d_uf[] = {1, 1, 1, 1};
  int64_t tmp[LV_MAXLEN];
  int rc = read_arr(root, cfgfile, "decoder_block_out_channels", d_boc, 4,
                    a->boc, &a->n_boc, 0, err);
  if (!rc)
    rc = read_arr(root, cfgfile, "decoder_layers_per_block", d_lpb, 5, a->lpb,
                  &a->n_lpb, 0, err);
  if (!rc)
    rc = read_arr(root, cfgfile, "upsample_factor", d_uf, 4, a->uf, &a->n_uf, 0,
                  err);
#define RB(key, def, nd, dst, ndst)                                            \
  if (!rc) {                                                                   \
    rc = read_arr(root, cfgfile, key, def, nd, tmp, &a->ndst, 1, err);         \
    for (size_t i_ = 0; !rc && i_ < a->ndst; i_++)                             \
      a->dst[i_] = (int)tmp[i_];                                               \
  }
  RB("decoder_spatio_temporal_scaling", d_sts, 4, sts, n_sts)
  RB("spatio_temporal_scaling", d_sts, 4, enc_sts, n_enc_sts)
  RB("decoder_inject_noise", d_inj, 5, inj, n_inj)
  RB("upsample_residual", d_ur, 4, ur, n_ur)
#undef RB
  json_decref(root);
  return rc;
}

static int add(lvae_net *n, const char *name, int ndim, int64_t d0, int64_t d1,
               int64_t d2, int64_t d3, int64_t d4, int matrix) {
  if (n->n_t == n->cap_t) {
    int cap = n->cap_t ? 2 * n->cap_t : 64;
    lvae_tspec *t = realloc(n->t, (size_t)cap * sizeof *t);
    if (!t) return -1;
    n->t = t;
    n->cap_t = cap;
  }
  lvae_tspec *s = &n->t[n->n_t];
  memset(s, 0, sizeof *s);
  snprintf(s->name, sizeof s->name, "%s", name);
  s->ndim = ndim;
  int64_t d[5] = {d0, d1, d2, d3, d4};
  memcpy(s->shape, d, sizeof d);
  s->matrix = matrix;
  s->scale = 1.0f;
  return n->n_t++;
}

/* Appends one conv's weight [co, ci, k, k, k] and bias [co]. */
static int add_conv(lvae_net *n, const char *pfx, int64_t ci, int64_t co,
                    int64_t k, lvae_conv *c) {
  char nm[112];
  snprintf(nm, sizeof nm, "%s.conv.weight", pfx);
  c->w = add(n, nm, 5, co, ci, k, k, k, 1);
  snprintf(nm, sizeof nm, "%s.conv.bias", pfx);
  c->b = add(n, nm, 1, co, 0, 0, 0, 0, 0);
  c->ci = ci;
  c->co = co;
  c->k = k;
  return c->w < 0 || c->b < 0 ? -1 : 0;
}

static int add_temb(lvae_net *n, const char *pfx, int64_t dim, lvae_temb *t) {
  char nm[112];
  snprintf(nm, sizeof nm, "%s.timestep_embedder.linear_1.weight", pfx);
  t->l1w = add(n, nm, 2, dim, LVAE_TPROJ, 0, 0, 0, 1);
  snprintf(nm, sizeof nm, "%s.timestep_embedder.linear_1.bias", pfx);
  t->l1b = add(n, nm, 1, dim, 0, 0, 0, 0, 0);
  snprintf(nm, sizeof nm, "%s.timestep_embedder.linear_2.weight", pfx);
  t->l2w = add(n, nm, 2, dim, dim, 0, 0, 0, 1);
  snprintf(nm, sizeof nm, "%s.timestep_embedder.linear_2.bias", pfx);
  t->l2b = add(n, nm, 1, dim, 0, 0, 0, 0, 0);
  t->dim = dim;
  return (t->l1w < 0 || t->l1b < 0 || t->l2w < 0 || t->l2b < 0) ? -1 : 0;
}

static int add_res(lvae_net *n, const char *pfx, int64_t ci, int64_t co, int tc,
                   lvae_res *r) {
  char nm[112];
  memset(r, 0, sizeof *r);
  r->ci = ci;
  r->co = co;
  r->shortcut.w = r->norm3_w = r->norm3_b = r->sst = -1;
  snprintf(nm, sizeof nm, "%s.conv1", pfx);
  if (add_conv(n, nm, ci, co, 3, &r->conv1)) return -1;
  snprintf(nm, sizeof nm, "%s.conv2", pfx);
  if (add_conv(n, nm, co, co, 3, &r->conv2)) return -1;
  if (ci != co) {
    snprintf(nm, sizeof nm, "%s.norm3.weight", pfx);
    r->norm3_w = add(n, nm, 1, ci, 0, 0, 0, 0, 0);
    snprintf(nm, sizeof nm, "%s.norm3.bias", pfx);
    r->norm3_b = add(n, nm, 1, ci, 0, 0, 0, 0, 0);
    snprintf(nm, sizeof nm, "%s.conv_shortcut", pfx);
    if (r->norm3_w < 0 || r->norm3_b < 0 ||
        add_conv(n, nm, ci, co, 1, &r->shortcut))
      return -1;
  }
  if (tc) {
    snprintf(nm, sizeof nm, "%s.scale_shift_table", pfx);
    if ((r->sst = add(n, nm, 2, 4, ci, 0, 0, 0, 0)) < 0) return -1;
  }
  return 0;
}

static int bad(warm_error *err, const char *file, const char *why) {
  return warm_error_set(err, WARM_EFORMAT, "%s: %s", file, why);
}

/* Builds the decoder exactly as LTXVideoDecoder3d.__init__ does (lists
 * reversed, channel arithmetic with upsample factors) and lays the tensors
 * out in one blob of `dt`-stored matrices and f32 vectors. Refuses what
 * diffusers could not run either. */
int lvae_net_build(const char *weights, warm_dtype dt, lvae_net *n,
                   warm_error *err) {
  memset(n, 0, sizeof *n);
  warm_config *j = NULL;
  int rc = warm_config_open(weights, &j, err);
  if (rc) return rc;
  const char *file = warm_config_file(j);
  int64_t sc = 0, tcr = 0;
  lv_arrays a;
  if ((rc = warm_config_int_or(j, "latent_channels", 128, &n->latent_channels,
                               err)) ||
      (rc = warm_config_int_or(j, "out_channels", 3, &n->out_channels, err)) ||
      (rc = warm_config_int_or(j, "patch_size", 4, &n->patch_size, err)) ||
      (rc = warm_config_int_or(j, "patch_size_t", 1, &n->patch_size_t, err)) ||
      (rc = warm_config_bool_or(j, "decoder_causal", 0, &n->causal, err)) ||
      (rc = warm_config_bool_or(j, "timestep_conditioning", 0,
                                &n->timestep_conditioning, err)) ||
      (rc = warm_config_float_or(j, "resnet_norm_eps", 1e-6, &n->resnet_eps,
                                 err)) ||
      (rc = warm_config_float_or(j, "scaling_factor", 1.0, &n->scaling_factor,
                                 err)) ||
      (rc = warm_config_int_or(j, "spatial_compression_ratio", 0, &sc, err)) ||
      (rc =
           warm_config_int_or(j, "temporal_compression_ratio", 0, &tcr, err)) ||
      (rc = read_arrays(file, &a, err)))
    goto out;
  size_t nb = a.n_boc;
  if (nb < 1 || nb + 1 > LVAE_MAX_BLOCKS || a.n_lpb != nb + 1 || a.n_sts < nb ||
      a.n_inj < nb + 1 || a.n_ur < nb || a.n_uf < nb) {
    rc = bad(err, file,
             "decoder_block_out_channels / decoder_layers_per_block / "
             "decoder_spatio_temporal_scaling / upsample_* lengths disagree "
             "(need N, N+1, N, N, N entries)");
    goto out;
  }
  if (n->latent_channels <= 0 || n->out_channels <= 0 || n->patch_size <= 0 ||
      n->patch_size_t <= 0 || n->scaling_factor == 0 || n->resnet_eps <= 0 ||
      n->latent_channels > 65536 || n->patch_size > 64 ||
      n->patch_size_t > 64 ||
      (n->out_channels * n->patch_size * n->patch_size) %
          (n->patch_size_t * n->patch_size * n->patch_size)) {
    rc = bad(err, file,
             "latent_channels, out_channels, patch sizes must be "
             "positive and out_channels * patch_size^2 divisible "
             "by the patch volume; scaling_factor nonzero");
    goto out;
  }
  int sum_enc = 0;
  for (size_t i = 0; i < a.n_enc_sts; i++)
    sum_enc += a.enc_sts[i] != 0;
  n->scomp = sc > 0 ? sc : n->patch_size << sum_enc;
  n->tcomp = tcr > 0 ? tcr : n->patch_size_t << sum_enc;
  for (size_t i = 0; i < nb + 1; i++)
    if (a.inj[i]) {
      rc = bad(err, file,
               "decoder_inject_noise is not supported (it adds "
               "unseeded noise inside the decoder)");
      goto out;
    }
  /* Reverse like the decoder's __init__. */
  int64_t boc[LV_MAXLEN], lpb[LV_MAXLEN], uf[LV_MAXLEN];
  int sts[LV_MAXLEN], ur[LV_MAXLEN];
  for (size_t i = 0; i < nb; i++) {
    boc[i] = a.boc[nb - 1 - i];
    sts[i] = a.sts[nb - 1 - i];
    ur[i] = a.ur[nb - 1 - i];
    uf[i] = a.uf[nb - 1 - i];
  }
  for (size_t i = 0; i < nb + 1; i++)
    lpb[i] = a.lpb[nb - i];
  for (size_t i = 0; i < nb + 1; i++)
    if (lpb[i] < 0 || lpb[i] > LVAE_MAX_RES || (i < nb && boc[i] <= 0) ||
        (i < nb && (uf[i] <= 0 || uf[i] > 8 || boc[i] % uf[i]))) {
      rc = bad(err, file,
               "bad decoder block sizes (layers 0..16, channels "
               "positive and divisible by upsample_factor 1..8)");
      goto out;
    }
  int tc = n->timestep_conditioning;
  int64_t ch = boc[0];
  if (add_conv(n, "decoder.conv_in", n->latent_channels, ch, 3, &n->conv_in)) {
    rc = WARM_ENOMEM;
    goto oom;
  }
  char nm[112];
  n->n_blocks = (int)nb + 1;
  lvae_block *mid = &n->blocks[0];
  mid->n_res = (int)lpb[0];
  if (tc && add_temb(n, "decoder.mid_block.time_embedder", ch * 4, &mid->temb))
    goto oom;
  if (!tc) mid->temb.l1w = -1;
  for (int r = 0; r < mid->n_res; r++) {
    snprintf(nm, sizeof nm, "decoder.mid_block.resnets.%d", r);
    if (add_res(n, nm, ch, ch, tc, &mid->res[r])) goto oom;
  }
  int64_t cur = ch; /* channels actually flowing */
  for (size_t i = 0; i < nb; i++) {
    lvae_block *b = &n->blocks[i + 1];
    int64_t in = ch / uf[i], outc = boc[i] / uf[i];
    ch = outc;
    b->up = 1;
    b->n_res = (int)lpb[i + 1];
    if (in != outc && (cur != in || tc)) {
      rc = bad(err, file,
               "an up block changes channels with an upsample "
               "factor or timestep conditioning: diffusers' "
               "decoder cannot run this configuration");
      goto out;
    }
    if (in != outc) {
      b->has_conv_in = 1;
      snprintf(nm, sizeof nm, "decoder.up_blocks.%zu.conv_in", i);
      if (add_res(n, nm, in, outc, 0, &b->conv_in)) goto oom;
      cur = outc;
    }
    if (tc) {
      snprintf(nm, sizeof nm, "decoder.up_blocks.%zu.time_embedder", i);
      if (add_temb(n, nm, outc * 4, &b->temb)) goto oom;
    } else {
      b->temb.l1w = -1;
    }
    if (sts[i]) {
      int64_t cin = outc * uf[i];
      if (cur != cin || (cin * 8) % uf[i]) {
        rc = bad(err, file,
                 "upsampler input channels do not match the "
                 "previous block's output");
        goto out;
      }
      b->has_upsampler = 1;
      b->residual = ur[i];
      b->upscale = uf[i];
      b->up_cin = cin;
      snprintf(nm, sizeof nm, "decoder.up_blocks.%zu.upsamplers.0.conv", i);
      if (add_conv(n, nm, cin, cin * 8 / uf[i], 3, &b->upconv)) goto oom;
      cur = cin / uf[i];
    }
    if (cur != outc) {
      rc = bad(err, file, "up block channel counts do not chain");
      goto out;
    }
    for (int r = 0; r < b->n_res; r++) {
      snprintf(nm, sizeof nm, "decoder.up_blocks.%zu.resnets.%d", i, r);
      if (add_res(n, nm, outc, outc, tc, &b->res[r])) goto oom;
    }
  }
  n->final_channels = cur;
  n->final_sst = n->tsm = -1;
  n->final_temb.l1w = -1;
  if (tc) {
    if (add_temb(n, "decoder.time_embedder", cur * 2, &n->final_temb)) goto oom;
    if ((n->final_sst =
             add(n, "decoder.scale_shift_table", 2, 2, cur, 0, 0, 0, 0)) < 0 ||
        (n->tsm = add(n, "decoder.timestep_scale_multiplier", 0, 0, 0, 0, 0, 0,
                      0)) < 0)
      goto oom;
  }
  if (add_conv(n, "decoder.conv_out", cur,
               n->out_channels * n->patch_size * n->patch_size, 3,
               &n->conv_out))
    goto oom;
  if ((n->mean = add(n, "latents_mean", 1, n->latent_channels, 0, 0, 0, 0, 0)) <
          0 ||
      (n->std = add(n, "latents_std", 1, n->latent_channels, 0, 0, 0, 0, 0)) <
          0)
    goto oom;
  /* Layout: one blob, each tensor at a 256-byte offset. */
  size_t off = 0;
  for (int i = 0; i < n->n_t; i++) {
    lvae_tspec *s = &n->t[i];
    uint64_t cnt = 1;
    for (int d = 0; d < s->ndim; d++)
      cnt *= (uint64_t)s->shape[d];
    s->bytes = warm_weight_bytes(s->matrix ? dt : WARM_F32, cnt);
    s->offset = off;
    off += (s->bytes + 255) / 256 * 256;
  }
  n->blob_bytes = off;
  goto out;
oom:
  rc = warm_error_set(err, WARM_ENOMEM, LVAE_NAME ": out of host memory");
out:
  warm_config_close(j);
  if (rc) lvae_net_free(n);
  return rc;
}

void lvae_net_free(lvae_net *n) {
  free(n->t);
  n->t = NULL;
  n->n_t = n->cap_t = 0;
}

/* Every tensor of the table is in the checkpoint with its diffusers shape
 * (encoder tensors, when present, are ignored). */
int lvae_net_check(const lvae_net *n, const warm_st *st, warm_error *err) {
  for (int i = 0; i < n->n_t; i++) {
    const lvae_tspec *s = &n->t[i];
    warm_tensor t;
    int rc = warm_st_expect(st, s->name, s->ndim, s->shape, &t, err);
    if (rc) return rc;
    if (t.dtype != WARM_F32 && t.dtype != WARM_BF16 && t.dtype != WARM_F16 &&
        t.dtype != WARM_FP8_E4M3)
      return warm_error_set(err, WARM_EFORMAT,
                            "%s: tensor %s has dtype %s; weights must be f32, "
                            "bf16, f16 or fp8",
                            warm_st_path(st), s->name,
                            warm_dtype_name(t.dtype) ? warm_dtype_name(t.dtype)
                                                     : "?");
  }
  return 0;
}

static int num(const char *k, const char *v, double lo, double hi, double *out,
               warm_error *err) {
  char *end = NULL;
  double d = strtod(v, &end);
  if (!v[0] || *end || !(d >= lo && d <= hi))
    return warm_error_set(err, WARM_EINVAL,
                          LVAE_NAME ": key %s = \"%s\": expected a number in "
                                    "[%g, %g]",
                          k, v, lo, hi);
  *out = d;
  return 0;
}

static int boolean(const char *k, const char *v, int *out, warm_error *err) {
  if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes")) {
    *out = 1;
    return 0;
  }
  if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no")) {
    *out = 0;
    return 0;
  }
  return warm_error_set(err, WARM_EINVAL,
                        LVAE_NAME ": key %s = \"%s\": expected true or false",
                        k, v);
}

/* Keys: tile_size (pixels, default 512) and tile_stride (default 448) as in
 * diffusers' enable_tiling; tiling (true); clamp (true: frames clamped to
 * [-1, 1]); decode_timestep (0.0, used when the run has no "timestep"
 * input); threads (0 = all cores). */
int lvae_parse_opts(const warm_component_config *cfg, lvae_opts *o,
                    warm_error *err) {
  o->tile_size = 512;
  o->tile_stride = 448;
  o->tiling = 1;
  o->clamp = 1;
  o->threads = 0;
  o->decode_timestep = 0.0;
  for (uint32_t i = 0; cfg && i < cfg->n_keys; i++) {
    const char *k = cfg->keys[i].key, *v = cfg->keys[i].value;
    double d = 0;
    int rc = 0;
    if (!k || !v)
      return warm_error_set(err, WARM_EINVAL, LVAE_NAME ": empty key");
    if (!strcmp(k, "tile_size")) {
      if (!(rc = num(k, v, 1, 1 << 20, &d, err))) o->tile_size = (int64_t)d;
    } else if (!strcmp(k, "tile_stride")) {
      if (!(rc = num(k, v, 1, 1 << 20, &d, err))) o->tile_stride = (int64_t)d;
    } else if (!strcmp(k, "tiling")) {
      rc = boolean(k, v, &o->tiling, err);
    } else if (!strcmp(k, "clamp")) {
      rc = boolean(k, v, &o->clamp, err);
    } else if (!strcmp(k, "decode_timestep")) {
      if (!(rc = num(k, v, 0, 1e4, &d, err))) o->decode_timestep = d;
    } else if (!strcmp(k, "threads")) {
      if (!(rc = num(k, v, 0, 1024, &d, err))) o->threads = (int)d;
    } else {
      return warm_error_set(err, WARM_EINVAL,
                            LVAE_NAME ": unknown key \"%s\" in [component %s] "
                                      "(known: tile_size, tile_stride, "
                                      "tiling, clamp, decode_timestep, "
                                      "threads)",
                            k, cfg->name ? cfg->name : "?");
    }
    if (rc) return rc;
  }
  if (o->tile_stride > o->tile_size)
    return warm_error_set(err, WARM_EINVAL,
                          LVAE_NAME ": tile_stride %lld must not exceed "
                                    "tile_size %lld",
                          (long long)o->tile_stride, (long long)o->tile_size);
  return 0;
}
