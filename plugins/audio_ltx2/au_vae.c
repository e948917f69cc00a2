/* ltx-core's AudioDecoder (audio_vae.py): un-normalise the latent with the
 * per-channel statistics, causal 2-D convs over [C, time, freq], mid block,
 * the up levels (ResnetBlocks, nearest x2 + conv dropping the first time
 * row), PixelNorm, SiLU, conv_out, then crop/pad to [out_ch, 4T-3, mel]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "au.h"

#define P "audio_vae.decoder."
#define DD "model.params.ddconfig."

static void conv2_add(lxc_tab *tb, warm_dtype dt, const char *name, int64_t ci,
                      int64_t co, int64_t k, au_conv2 *c) {
  char n[128];
  snprintf(n, sizeof n, "%s.conv.weight", name);
  c->w = lxc_tab_add(tb, dt, 1, P, n, 4, co, ci, k, k);
  snprintf(n, sizeof n, "%s.conv.bias", name);
  c->b = lxc_tab_add(tb, dt, 0, P, n, 1, co);
  c->ci = ci;
  c->co = co;
  c->k = k;
}

static void res_add(lxc_tab *tb, warm_dtype dt, const char *name, int64_t ci,
                    int64_t co, au_res *r) {
  char n[128];
  r->ci = ci;
  r->co = co;
  snprintf(n, sizeof n, "%s.conv1", name);
  conv2_add(tb, dt, n, ci, co, 3, &r->conv1);
  snprintf(n, sizeof n, "%s.conv2", name);
  conv2_add(tb, dt, n, co, co, 3, &r->conv2);
  r->nin.w = r->nin.b = -1;
  if (ci != co) {
    snprintf(n, sizeof n, "%s.nin_shortcut", name);
    conv2_add(tb, dt, n, ci, co, 1, &r->nin);
  }
}

static int in_set(const warm_config *c, const char *key, int64_t v) {
  size_t n = 0;
  warm_error e;
  if (warm_config_array_len(c, key, &n, &e)) return 0;
  for (size_t i = 0; i < n; i++) {
    int64_t x;
    if (!warm_config_int_at(c, key, i, &x, &e) && x == v) return 1;
  }
  return 0;
}

int au_vae_build(const warm_ltx2 *f, warm_dtype dt, au_vae *v, lxc_tab *tb,
                 warm_error *err) {
  const char *file = warm_ltx2_path(f);
  const warm_config *c;
  int rc = warm_ltx2_config(f, "audio_vae", &c, err);
  if (rc) return rc;
  memset(v, 0, sizeof *v);
  int64_t nres, resolution, mel = 0;
  const char *norm, *axis;
  int mid_attn;
  if ((rc = warm_config_int_or(c, DD "ch", 128, &v->ch, err)) ||
      (rc = warm_config_int_or(c, DD "out_ch", 2, &v->out_ch, err)) ||
      (rc = warm_config_int_or(c, DD "num_res_blocks", 2, &nres, err)) ||
      (rc = warm_config_int_or(c, DD "resolution", 256, &resolution, err)) ||
      (rc = warm_config_int_or(c, DD "z_channels", 8, &v->z_channels, err)) ||
      (rc = warm_config_string_or(c, DD "norm_type", "pixel", &norm, err)) ||
      (rc = warm_config_string_or(c, DD "causality_axis", "height", &axis,
                                  err)) ||
      (rc = warm_config_bool_or(c, DD "mid_block_add_attention", 1, &mid_attn,
                                err)))
    return rc;
  /* mel_bins: ddconfig, else preprocessing.mel, else variables. */
  if (warm_config_has(c, DD "mel_bins"))
    rc = warm_config_int(c, DD "mel_bins", &mel, err);
  else if (warm_config_has(c, "preprocessing.mel.n_mel_channels"))
    rc = warm_config_int(c, "preprocessing.mel.n_mel_channels", &mel, err);
  else if (warm_config_has(c, "variables.mel_bins"))
    rc = warm_config_int(c, "variables.mel_bins", &mel, err);
  if (rc) return rc;
  v->mel_bins = mel;
  if (strcmp(norm, "pixel"))
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: config.audio_vae." DD "norm_type \"%s\" is not "
                          "supported (pixel)",
                          file, norm);
  if (strcmp(axis, "height"))
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: config.audio_vae." DD "causality_axis \"%s\" is "
                          "not supported (height)",
                          file, axis);
  if (mid_attn)
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: config.audio_vae." DD "mid_block_add_attention "
                          "is true (or absent: its code default); LTX-2 audio "
                          "decoders have no attention and this plugin has "
                          "none",
                          file);
  size_t nl = 0;
  if (warm_config_has(c, DD "ch_mult")) {
    if ((rc = warm_config_array_len(c, DD "ch_mult", &nl, err))) return rc;
  } else {
    nl = 3;
  }
  if (nl < 1 || nl > AU_MAX_LEVELS || nres < 0 || nres + 1 > AU_MAX_BLOCKS ||
      v->ch < 1 || v->ch > 4096 || v->z_channels < 1 || v->out_ch < 1 ||
      v->out_ch > 16 || mel < 1 || mel > 4096)
    return warm_error_set(
        err, WARM_EFORMAT,
        "%s: config.audio_vae.%s sizes out of range (ch %lld, "
        "levels %zu, res blocks %lld, z %lld, out %lld, mel "
        "%lld)",
        file, DD, (long long)v->ch, nl, (long long)nres,
        (long long)v->z_channels, (long long)v->out_ch, (long long)mel);
  int64_t mult[AU_MAX_LEVELS];
  for (size_t i = 0; i < nl; i++) {
    mult[i] = (int64_t)1 << i;
    if (warm_config_has(c, DD "ch_mult") &&
        (rc = warm_config_int_at(c, DD "ch_mult", i, &mult[i], err)))
      return rc;
    if (mult[i] < 1 || mult[i] > 64)
      return warm_error_set(err, WARM_EFORMAT,
                            "%s: config.audio_vae." DD "ch_mult[%zu] is %lld",
                            file, i, (long long)mult[i]);
  }
  /* Attention would apply at the resolutions listed; the reference's code
   * default lists 8, 16, 32. */
  int has_attn_key = warm_config_has(c, DD "attn_resolutions");
  int64_t cur = resolution >> (nl - 1);
  for (size_t i = 0; i < nl; i++) {
    if (has_attn_key ? in_set(c, DD "attn_resolutions", cur)
                     : (cur == 8 || cur == 16 || cur == 32))
      return warm_error_set(err, WARM_EUNSUPPORTED,
                            "%s: config.audio_vae." DD "attn_resolutions puts "
                            "attention at resolution %lld; this plugin has "
                            "none",
                            file, (long long)cur);
    cur *= 2;
  }
  v->stats = v->ch; /* PerChannelStatistics(latent_channels=ch) */
  v->n_levels = (int64_t)nl;
  int64_t top = v->ch * mult[nl - 1];
  conv2_add(tb, dt, "conv_in", v->z_channels, top, 3, &v->conv_in);
  res_add(tb, dt, "mid.block_1", top, top, &v->mid1);
  res_add(tb, dt, "mid.block_2", top, top, &v->mid2);
  int64_t bin = top;
  for (size_t r = 0; r < nl; r++) {
    size_t level = nl - 1 - r;
    au_level *L = &v->levels[r];
    int64_t bout = v->ch * mult[level];
    L->n_blocks = (int)nres + 1;
    for (int j = 0; j < L->n_blocks; j++) {
      char n[64];
      snprintf(n, sizeof n, "up.%zu.block.%d", level, j);
      res_add(tb, dt, n, bin, bout, &L->blocks[j]);
      bin = bout;
    }
    L->has_up = level != 0;
    if (L->has_up) {
      char n[64];
      snprintf(n, sizeof n, "up.%zu.upsample.conv", level);
      conv2_add(tb, dt, n, bin, bin, 3, &L->up);
    }
  }
  v->final_channels = bin;
  conv2_add(tb, dt, "conv_out", bin, v->out_ch, 3, &v->conv_out);
  v->mean = lxc_tab_add(tb, dt, 0, "audio_vae.per_channel_statistics.",
                        "mean-of-means", 1, v->stats);
  v->std = lxc_tab_add(tb, dt, 0, "audio_vae.per_channel_statistics.",
                       "std-of-means", 1, v->stats);
  return lxc_tab_check(tb, warm_ltx2_st(f), file, err);
}

int64_t au_vae_frames(const au_vae *v, int64_t T) {
  int64_t t = T * 4 - 3; /* LATENT_DOWNSAMPLE_FACTOR 4, causal */
  (void)v;
  return t < 1 ? 1 : t;
}

/* ---- forward ------------------------------------------------------------- */

enum { B_X, B_H, B_T, B_U, B_WK, B_COUNT };

typedef struct plan {
  size_t off[B_COUNT], size[B_COUNT], total;
} plan;

static wk_conv3d desc(const au_conv2 *c, int64_t T, int64_t F) {
  wk_conv3d p;
  memset(&p, 0, sizeof p);
  p.Ci = c->ci;
  p.Co = c->co;
  p.T = 1;
  p.H = T;
  p.W = F;
  p.kt = 1;
  p.kh = p.kw = c->k;
  p.spad = WK_PAD_ZEROS;
  p.asym = 1;
  p.ph = c->k - 1; /* time: all padding in front (causal) */
  p.ph_back = 0;
  p.pw = (c->k - 1) / 2;
  p.pw_back = c->k - 1 - (c->k - 1) / 2;
  return p;
}

typedef struct walker {
  const au *a;
  int64_t act;
  size_t ws;
} walker;

static void see(walker *w, const au_conv2 *c, int64_t T, int64_t F) {
  wk_conv3d p = desc(c, T, F);
  size_t s = wk_conv3d_workspace(w->a->wk, &p,
                                 w->a->dtype == WARM_BF16 ? WK_BF16 : WK_F32);
  if (s > w->ws) w->ws = s;
  int64_t m = (c->ci > c->co ? c->ci : c->co) * T * F;
  if (m > w->act) w->act = m;
}

static void see_res(walker *w, const au_res *r, int64_t T, int64_t F) {
  see(w, &r->conv1, T, F);
  see(w, &r->conv2, T, F);
  if (r->nin.w >= 0) see(w, &r->nin, T, F);
}

static void make_plan(const au *a, int64_t T, int64_t F, plan *p) {
  const au_vae *v = &a->vae;
  walker w = {a, v->z_channels * T * F, 0};
  see(&w, &v->conv_in, T, F);
  see_res(&w, &v->mid1, T, F);
  see_res(&w, &v->mid2, T, F);
  for (int64_t r = 0; r < v->n_levels; r++) {
    const au_level *L = &v->levels[r];
    for (int j = 0; j < L->n_blocks; j++)
      see_res(&w, &L->blocks[j], T, F);
    if (L->has_up) {
      see(&w, &L->up, 2 * T, 2 * F);
      T = 2 * T - 1;
      F *= 2;
    }
  }
  see(&w, &v->conv_out, T, F);
  memset(p, 0, sizeof *p);
  for (int i = B_X; i <= B_U; i++)
    p->size[i] = (size_t)w.act * sizeof(float);
  p->size[B_WK] = w.ws;
  p->total = lxc_layout(p->size, p->off, B_COUNT);
}

size_t au_vae_workspace(const au *a, int64_t T, int64_t M) {
  plan p;
  make_plan(a, T, M, &p);
  return p.total;
}

typedef struct run {
  au *a;
  char *ws;
  plan p;
  int64_t T, F;
} run;

#define BUF(r, i) ((float *)((r)->ws + (r)->p.off[i]))
#define CK(call) LXC_CK(call)

static int conv(run *r, const au_conv2 *c, const float *x, float *y) {
  wk_conv3d p = desc(c, r->T, r->F);
  wk_w w = lxc_get(&r->a->w, &r->a->tab, c->w);
  wk_w b = lxc_get(&r->a->w, &r->a->tab, c->b);
  return wk_conv3d_fwd(r->a->wk, &p, x, w, b, y);
}

static int pixnorm(run *r, const float *x, int64_t C, float *tmp, float *y) {
  return lxc_pixelnorm(r->a->wk, x, C, r->T * r->F, 1e-6f, NULL, NULL, 1, tmp,
                       y);
}

/* ResnetBlock on B_X in place (channels ci -> co). */
static int resnet(run *r, const au_res *rs) {
  wk_ctx *k = r->a->wk;
  float *x = BUF(r, B_X), *h = BUF(r, B_H), *t = BUF(r, B_T), *u = BUF(r, B_U);
  int64_t S = r->T * r->F;
  CK(pixnorm(r, x, rs->ci, t, h));
  CK(conv(r, &rs->conv1, h, t));
  CK(pixnorm(r, t, rs->co, u, h));
  CK(conv(r, &rs->conv2, h, t));
  if (rs->nin.w >= 0) {
    CK(conv(r, &rs->nin, x, u));
    return wk_add(k, u, t, rs->co * S, x);
  }
  return wk_add(k, x, t, rs->co * S, x);
}

/* Upsample: nearest x2 in time and frequency, causal conv, drop the first
 * time row. */
static int upsample(run *r, const au_conv2 *c) {
  wk_ctx *k = r->a->wk;
  float *x = BUF(r, B_X), *h = BUF(r, B_H), *t = BUF(r, B_T);
  CK(wk_upsample_nearest(k, x, c->ci, 1, r->T, r->F, 1, 2, 2, h));
  r->T *= 2;
  r->F *= 2;
  CK(conv(r, c, h, t));
  int64_t row = r->F, keep = (r->T - 1) * row;
  for (int64_t ch = 0; ch < c->co; ch++)
    CK(wk_copy_d2d(k, x + ch * keep, t + ch * r->T * row + row,
                   (size_t)keep * sizeof(float)));
  r->T -= 1;
  return 0;
}

static int run_net(run *r, const float *z, float *mel) {
  au *a = r->a;
  const au_vae *v = &a->vae;
  wk_ctx *k = a->wk;
  int64_t zc = v->z_channels, T = r->T, M = r->F;
  /* patchify (c, f) -> c*M + f, un-normalise, unpatchify: on the host. */
  float *zin = malloc((size_t)(zc * T * M) * sizeof *zin);
  if (!zin) return WARM_ENOMEM;
  for (int64_t c = 0; c < zc; c++)
    for (int64_t t = 0; t < T; t++)
      for (int64_t f = 0; f < M; f++) {
        int64_t s = c * M + f, i = (c * T + t) * M + f;
        zin[i] = z[i] * a->std[s] + a->mean[s];
      }
  int rc = wk_copy_h2d(k, BUF(r, B_H), zin, (size_t)(zc * T * M) * 4);
  if (!rc) rc = wk_sync(k);
  free(zin);
  CK(rc);
  CK(conv(r, &v->conv_in, BUF(r, B_H), BUF(r, B_X)));
  CK(resnet(r, &v->mid1));
  CK(resnet(r, &v->mid2));
  for (int64_t l = 0; l < v->n_levels; l++) {
    const au_level *L = &v->levels[l];
    if (a->svc->cancelled && a->svc->cancelled(a->svc->ctx))
      return WARM_ECANCELED;
    for (int j = 0; j < L->n_blocks; j++)
      CK(resnet(r, &L->blocks[j]));
    if (L->has_up) CK(upsample(r, &L->up));
  }
  CK(pixnorm(r, BUF(r, B_X), v->final_channels, BUF(r, B_T), BUF(r, B_H)));
  CK(conv(r, &v->conv_out, BUF(r, B_H), BUF(r, B_T)));
  size_t n = (size_t)(v->out_ch * r->T * r->F);
  float *raw = malloc(n * sizeof *raw);
  if (!raw) return WARM_ENOMEM;
  rc = wk_copy_d2h(k, raw, BUF(r, B_T), n * sizeof(float));
  if (!rc) rc = wk_sync(k);
  if (!rc) {
    /* Crop, then zero-pad, to [out_ch, 4T-3, mel_bins]. */
    int64_t To = au_vae_frames(v, T), Fo = v->mel_bins;
    for (int64_t c = 0; c < v->out_ch; c++)
      for (int64_t t = 0; t < To; t++)
        for (int64_t f = 0; f < Fo; f++)
          mel[(c * To + t) * Fo + f] =
              t < r->T && f < r->F ? raw[(c * r->T + t) * r->F + f] : 0.0f;
  }
  free(raw);
  return rc;
}

int au_vae_decode(au *a, const float *z, int64_t T, int64_t M, float *mel,
                  warm_error *err) {
  run r = {a, NULL, {{0}, {0}, 0}, T, M};
  make_plan(a, T, M, &r.p);
  void *ws = NULL;
  int rc =
      a->svc->dev_alloc(a->svc->ctx, WARM_MEM_WORKSPACE, r.p.total, &ws, err);
  if (rc) return rc;
  r.ws = ws;
  wk_set_workspace(a->wk, BUF(&r, B_WK), r.p.size[B_WK]);
  rc = run_net(&r, z, mel);
  if (rc == WARM_ECANCELED)
    warm_error_set(err, rc, "%s: cancelled", a->name);
  else if (rc == WARM_ENOMEM)
    warm_error_set(err, rc, "%s: out of host memory", a->name);
  else if (rc)
    rc = warm_error_set(err, WARM_EDEVICE, "%s: audio decode failed (%d): %s",
                        a->name, rc, wk_last_error(a->wk));
  wk_sync(a->wk);
  wk_set_workspace(a->wk, NULL, 0);
  a->svc->dev_free(a->svc->ctx, ws);
  return rc;
}
