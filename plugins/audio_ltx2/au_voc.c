/* ltx-core's Vocoder, 2.0 HiFi-GAN flavour (vocoder.py): conv_pre, then per
 * stage LeakyReLU(0.1), ConvTranspose1d and the mean of the ResBlock1s,
 * then LeakyReLU(0.01), conv_post, tanh. The mel [2, T, 64] enters as 128
 * channels (stereo * 64 + mel bin). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "au.h"

#define P "vocoder."
#define ALIGN_UP(x) (((x) + 255) / 256 * 256)

static int ints(const warm_config *c, const char *file, const char *key,
                int64_t *out, size_t max, size_t *n, warm_error *err) {
  int rc = warm_config_array_len(c, key, n, err);
  if (rc) return rc;
  if (*n < 1 || *n > max)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: config.vocoder.%s has %zu entries (1..%zu)",
                          file, key, *n, max);
  for (size_t i = 0; i < *n && !rc; i++) {
    rc = warm_config_int_at(c, key, i, &out[i], err);
    if (!rc && (out[i] < 1 || out[i] > 4096))
      rc = warm_error_set(err, WARM_EFORMAT,
                          "%s: config.vocoder.%s[%zu] is %lld", file, key, i,
                          (long long)out[i]);
  }
  return rc;
}

static void c1_add(lxc_tab *tb, warm_dtype dt, const char *name, int64_t ci,
                   int64_t co, int64_t k, int64_t dil, int bias, au_conv1 *c) {
  char n[128];
  snprintf(n, sizeof n, "%s.weight", name);
  c->w = lxc_tab_add(tb, dt, 1, P, n, 3, co, ci, k);
  c->b = -1;
  if (bias) {
    snprintf(n, sizeof n, "%s.bias", name);
    c->b = lxc_tab_add(tb, dt, 0, P, n, 1, co);
  }
  c->ci = ci;
  c->co = co;
  c->k = k;
  c->dilation = dil;
}

int au_voc_build(const warm_ltx2 *f, warm_dtype dt, au_voc *v, lxc_tab *tb,
                 warm_error *err) {
  const char *file = warm_ltx2_path(f);
  const warm_config *c;
  int rc = warm_ltx2_config(f, "vocoder", &c, err);
  if (rc) return rc;
  memset(v, 0, sizeof *v);
  if (warm_config_has(c, "bwe"))
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: config.vocoder has \"bwe\" (the LTX-2.3 vocoder "
                          "with bandwidth extension), which this version does "
                          "not implement",
                          file);
  const char *rb;
  int stereo;
  if ((rc = warm_config_string_or(c, "resblock", "1", &rb, err)) ||
      (rc = warm_config_bool_or(c, "stereo", 1, &stereo, err)) ||
      (rc = warm_config_int_or(c, "upsample_initial_channel", 1024, &v->c0,
                               err)) ||
      (rc = warm_config_int_or(c, "output_sampling_rate", 24000,
                               &v->sample_rate, err)))
    return rc;
  if (strcmp(rb, "1") || !stereo)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: config.vocoder: resblock \"%s\", stereo %s; "
                          "ltx-core requires resblock \"1\" and stereo",
                          file, rb, stereo ? "true" : "false");
  size_t nu = 0, nk = 0, n2 = 0, nd = 0;
  if ((rc = ints(c, file, "upsample_rates", v->rates, AU_MAX_UPS, &nu, err)) ||
      (rc = ints(c, file, "upsample_kernel_sizes", v->up_k, AU_MAX_UPS, &n2,
                 err)) ||
      (rc = ints(c, file, "resblock_kernel_sizes", v->res_k, AU_MAX_KERNELS,
                 &nk, err)) ||
      (rc = warm_config_array_len(c, "resblock_dilation_sizes", &nd, err)))
    return rc;
  if (nu != n2 || nd != nk || v->c0 < ((int64_t)1 << nu) || v->c0 > 65536 ||
      v->sample_rate < 1)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: config.vocoder: %zu upsample rates vs %zu "
                          "kernels, %zu resblock kernels vs %zu dilation "
                          "lists, %lld initial channels",
                          file, nu, n2, nk, nd, (long long)v->c0);
  for (size_t j = 0; j < nk; j++)
    for (int m = 0; m < 3; m++) {
      char key[64];
      snprintf(key, sizeof key, "resblock_dilation_sizes.%zu.%d", j, m);
      if ((rc = warm_config_int(c, key, &v->dil[j][m], err))) return rc;
      if (v->dil[j][m] < 1 || v->dil[j][m] > 1024)
        return warm_error_set(err, WARM_EFORMAT, "%s: config.vocoder.%s is %lld",
                              file, key, (long long)v->dil[j][m]);
    }
  v->n_ups = (int64_t)nu;
  v->n_kernels = (int64_t)nk;
  v->in_channels = 128; /* hard-wired in the reference: 2 x 64 mel bins */
  v->out_channels = 2;
  v->tanh_out = 1;
  c1_add(tb, dt, "conv_pre", v->in_channels, v->c0, 7, 1, 1, &v->conv_pre);
  for (int64_t i = 0; i < v->n_ups; i++) {
    int64_t ci = v->c0 >> i, co = v->c0 >> (i + 1);
    char n[96];
    snprintf(n, sizeof n, "ups.%lld.weight", (long long)i);
    v->ups_w[i] = lxc_tab_add(tb, dt, 1, P, n, 3, ci, co, v->up_k[i]);
    snprintf(n, sizeof n, "ups.%lld.bias", (long long)i);
    v->ups_b[i] = lxc_tab_add(tb, dt, 0, P, n, 1, co);
    if (v->up_k[i] < v->rates[i] || (v->up_k[i] - v->rates[i]) % 2)
      return warm_error_set(err, WARM_EFORMAT,
                            "%s: config.vocoder: upsample kernel %lld with "
                            "rate %lld gives an uneven padding",
                            file, (long long)v->up_k[i],
                            (long long)v->rates[i]);
    for (int64_t j = 0; j < v->n_kernels; j++)
      for (int m = 0; m < 3; m++) {
        snprintf(n, sizeof n, "resblocks.%lld.convs1.%d",
                 (long long)(i * v->n_kernels + j), m);
        c1_add(tb, dt, n, co, co, v->res_k[j], v->dil[j][m], 1, &v->c1[i][j][m]);
        snprintf(n, sizeof n, "resblocks.%lld.convs2.%d",
                 (long long)(i * v->n_kernels + j), m);
        c1_add(tb, dt, n, co, co, v->res_k[j], 1, 1, &v->c2[i][j][m]);
      }
  }
  int bias_final = 1;
  if ((rc = warm_config_bool_or(c, "use_bias_at_final", 1, &bias_final, err)))
    return rc;
  c1_add(tb, dt, "conv_post", v->c0 >> v->n_ups, v->out_channels, 7, 1,
         bias_final, &v->conv_post);
  return lxc_tab_check(tb, warm_ltx2_st(f), file, err);
}

int64_t au_voc_samples(const au_voc *v, int64_t frames) {
  int64_t L = frames;
  for (int64_t i = 0; i < v->n_ups; i++)
    L = (L - 1) * v->rates[i] - (v->up_k[i] - v->rates[i]) + v->up_k[i];
  return L;
}

/* ---- forward ------------------------------------------------------------- */

enum { B_X, B_R, B_A, B_B, B_S, B_WK, B_COUNT };

typedef struct plan {
  size_t off[B_COUNT], size[B_COUNT], total;
} plan;

/* Conv1d with torch's padding "same" (left = total/2) or an explicit one. */
static wk_conv1d desc1(const au_conv1 *c, int64_t L, int same, int64_t pad) {
  wk_conv1d p;
  memset(&p, 0, sizeof p);
  p.Ci = c->ci;
  p.Co = c->co;
  p.L = L;
  p.k = c->k;
  p.stride = 1;
  p.dilation = c->dilation;
  p.groups = 1;
  int64_t total = c->dilation * (c->k - 1);
  p.pad_front = same ? total / 2 : pad;
  p.pad_back = same ? total - total / 2 : pad;
  p.pad = WK_PAD_ZEROS;
  return p;
}

static void make_plan(const au *a, int64_t frames, plan *p) {
  const au_voc *v = &a->voc;
  wk_dtype wd = a->dtype == WARM_BF16 ? WK_BF16 : WK_F32;
  int64_t act = v->in_channels * frames, L = frames;
  size_t ws = 0;
  wk_conv1d q = desc1(&v->conv_pre, L, 0, 3);
  ws = wk_conv1d_workspace(a->wk, &q, wd);
  if (v->c0 * L > act) act = v->c0 * L;
  for (int64_t i = 0; i < v->n_ups; i++) {
    L = (L - 1) * v->rates[i] - (v->up_k[i] - v->rates[i]) + v->up_k[i];
    int64_t co = v->c0 >> (i + 1);
    if (co * L > act) act = co * L;
    for (int64_t j = 0; j < v->n_kernels; j++)
      for (int m = 0; m < 3; m++) {
        wk_conv1d d = desc1(&v->c1[i][j][m], L, 1, 0);
        size_t s = wk_conv1d_workspace(a->wk, &d, wd);
        if (s > ws) ws = s;
      }
  }
  q = desc1(&v->conv_post, L, 0, 3);
  size_t s = wk_conv1d_workspace(a->wk, &q, wd);
  if (s > ws) ws = s;
  memset(p, 0, sizeof *p);
  for (int i = B_X; i <= B_S; i++)
    p->size[i] = (size_t)act * sizeof(float);
  p->size[B_WK] = ws;
  size_t off = 0;
  for (int i = 0; i < B_COUNT; i++) {
    p->off[i] = off;
    off += ALIGN_UP(p->size[i] ? p->size[i] : 1);
  }
  p->total = off;
}

size_t au_voc_workspace(const au *a, int64_t frames) {
  plan p;
  make_plan(a, frames, &p);
  return p.total;
}

typedef struct run {
  au *a;
  char *ws;
  plan p;
  int64_t L;
} run;

#define BUF(r, i) ((float *)((r)->ws + (r)->p.off[i]))
#define CK(call)                                                               \
  do {                                                                         \
    int rc_ = (call);                                                          \
    if (rc_) return rc_;                                                       \
  } while (0)

static int conv1(run *r, const au_conv1 *c, int same, int64_t pad,
                 const float *x, float *y) {
  wk_conv1d p = desc1(c, r->L, same, pad);
  wk_w w = lxc_get(&r->a->w, &r->a->tab, c->w);
  wk_w b = lxc_get(&r->a->w, &r->a->tab, c->b);
  return wk_conv1d_fwd(r->a->wk, &p, x, w, b, y);
}

/* ResBlock1 of stage i, kernel j: x (B_X, read only) -> B_R. */
static int resblock(run *r, int64_t i, int64_t j, int64_t C) {
  wk_ctx *k = r->a->wk;
  float *x = BUF(r, B_X), *xr = BUF(r, B_R), *t = BUF(r, B_A), *u = BUF(r, B_B);
  int64_t n = C * r->L;
  CK(wk_copy_d2d(k, xr, x, (size_t)n * sizeof(float)));
  for (int m = 0; m < 3; m++) {
    CK(wk_leaky_relu(k, xr, n, 0.1f, t));
    CK(conv1(r, &r->a->voc.c1[i][j][m], 1, 0, t, u));
    CK(wk_leaky_relu(k, u, n, 0.1f, u));
    CK(conv1(r, &r->a->voc.c2[i][j][m], 1, 0, u, t));
    CK(wk_add(k, t, xr, n, xr));
  }
  return 0;
}

static int run_net(run *r, const float *mel, int64_t frames, float *wave) {
  au *a = r->a;
  const au_voc *v = &a->voc;
  wk_ctx *k = a->wk;
  int64_t half = v->in_channels / 2;
  /* [2, T, 64] -> [(s c), T] */
  float *xin = malloc((size_t)(v->in_channels * frames) * sizeof *xin);
  if (!xin) return WARM_ENOMEM;
  for (int64_t s = 0; s < 2; s++)
    for (int64_t t = 0; t < frames; t++)
      for (int64_t m = 0; m < half; m++)
        xin[(s * half + m) * frames + t] = mel[(s * frames + t) * half + m];
  int rc = wk_copy_h2d(k, BUF(r, B_A), xin,
                       (size_t)(v->in_channels * frames) * sizeof(float));
  if (!rc) rc = wk_sync(k);
  free(xin);
  CK(rc);
  r->L = frames;
  CK(conv1(r, &v->conv_pre, 0, 3, BUF(r, B_A), BUF(r, B_X)));
  for (int64_t i = 0; i < v->n_ups; i++) {
    if (a->svc->cancelled && a->svc->cancelled(a->svc->ctx))
      return WARM_ECANCELED;
    int64_t ci = v->c0 >> i, co = v->c0 >> (i + 1);
    CK(wk_leaky_relu(k, BUF(r, B_X), ci * r->L, 0.1f, BUF(r, B_A)));
    wk_convt1d q = {ci, r->L, co, v->up_k[i], v->rates[i],
                    (v->up_k[i] - v->rates[i]) / 2, 1};
    CK(wk_conv_transpose1d(k, &q, BUF(r, B_A),
                           lxc_get(&a->w, &a->tab, v->ups_w[i]),
                           lxc_get(&a->w, &a->tab, v->ups_b[i]), BUF(r, B_X)));
    r->L = wk_convt1d_out_len(&q);
    int64_t n = co * r->L;
    /* Mean of the resblocks, each from the same input. */
    for (int64_t j = 0; j < v->n_kernels; j++) {
      CK(resblock(r, i, j, co));
      if (j == 0)
        CK(wk_copy_d2d(k, BUF(r, B_S), BUF(r, B_R), (size_t)n * 4));
      else
        CK(wk_add(k, BUF(r, B_S), BUF(r, B_R), n, BUF(r, B_S)));
    }
    CK(wk_scale(k, BUF(r, B_S), 1.0f / (float)v->n_kernels, n, BUF(r, B_X)));
  }
  int64_t cf = v->c0 >> v->n_ups;
  CK(wk_leaky_relu(k, BUF(r, B_X), cf * r->L, 0.01f, BUF(r, B_A)));
  CK(conv1(r, &v->conv_post, 0, 3, BUF(r, B_A), BUF(r, B_X)));
  int64_t n = v->out_channels * r->L;
  if (v->tanh_out) CK(wk_tanh(k, BUF(r, B_X), n, BUF(r, B_X)));
  rc = wk_copy_d2h(k, wave, BUF(r, B_X), (size_t)n * sizeof(float));
  if (!rc) rc = wk_sync(k);
  return rc;
}

int au_voc_run(au *a, const float *mel, int64_t frames, float *wave,
               warm_error *err) {
  run r = {a, NULL, {{0}, {0}, 0}, frames};
  make_plan(a, frames, &r.p);
  void *ws = NULL;
  int rc =
      a->svc->dev_alloc(a->svc->ctx, WARM_MEM_WORKSPACE, r.p.total, &ws, err);
  if (rc) return rc;
  r.ws = ws;
  wk_set_workspace(a->wk, BUF(&r, B_WK), r.p.size[B_WK]);
  rc = run_net(&r, mel, frames, wave);
  if (rc == WARM_ECANCELED)
    warm_error_set(err, rc, "%s: cancelled", a->name);
  else if (rc == WARM_ENOMEM)
    warm_error_set(err, rc, "%s: out of host memory", a->name);
  else if (rc)
    rc = warm_error_set(err, WARM_EDEVICE, "%s: vocoder failed (%d): %s",
                        a->name, rc, wk_last_error(a->wk));
  wk_sync(a->wk);
  wk_set_workspace(a->wk, NULL, 0);
  a->svc->dev_free(a->svc->ctx, ws);
  return rc;
}
