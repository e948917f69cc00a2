/* ltx-core's vocoders (audio_vae/vocoder.py). A generator: conv_pre, per
 * stage (HiFi-GAN: LeakyReLU(0.1)) ConvTranspose1d and the mean of its
 * residual blocks, then LeakyReLU(0.01) or an anti-aliased SnakeBeta,
 * conv_post, tanh or clamp. The mel [2, T, M] enters as 2*M channels
 * (stereo * M + mel bin). The 2.3 VocoderWithBWE chains two generators
 * around a causal log-mel STFT (see au.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "au.h"


/* ---- structure ----------------------------------------------------------- */

static int ints(const warm_config *c, const char *file, const char *key,
                int64_t *out, size_t max, size_t *n, warm_error *err) {
  int rc = warm_config_array_len(c, key, n, err);
  if (rc) return rc;
  if (*n < 1 || *n > max)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: config.vocoder: %s has %zu entries (1..%zu)",
                          file, key, *n, max);
  for (size_t i = 0; i < *n && !rc; i++) {
    rc = warm_config_int_at(c, key, i, &out[i], err);
    if (!rc && (out[i] < 1 || out[i] > 4096))
      rc = warm_error_set(err, WARM_EFORMAT,
                          "%s: config.vocoder: %s[%zu] is %lld", file, key, i,
                          (long long)out[i]);
  }
  return rc;
}

static void c1_add(lxc_tab *tb, warm_dtype dt, const char *P, const char *name,
                   int64_t ci, int64_t co, int64_t k, int64_t dil, int bias,
                   au_conv1 *c) {
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

static void act_add(lxc_tab *tb, warm_dtype dt, const char *P, const char *name,
                    int64_t C, au_act *a) {
  char n[128];
  snprintf(n, sizeof n, "%s.act.alpha", name);
  a->alpha = lxc_tab_add(tb, dt, 0, P, n, 1, C);
  snprintf(n, sizeof n, "%s.act.beta", name);
  a->beta = lxc_tab_add(tb, dt, 0, P, n, 1, C);
  snprintf(n, sizeof n, "%s.upsample.filter", name);
  a->up = lxc_tab_add(tb, dt, 0, P, n, 3, (int64_t)1, (int64_t)1, (int64_t)12);
  snprintf(n, sizeof n, "%s.downsample.lowpass.filter", name);
  a->down =
      lxc_tab_add(tb, dt, 0, P, n, 3, (int64_t)1, (int64_t)1, (int64_t)12);
}

/* One generator from a flat vocoder config `c` (a view of config.vocoder or
 * of its "vocoder" / "bwe" members, named `where` in messages); tensors
 * under prefix P. */
static int gen_build(const warm_config *c, const char *file, const char *where,
                     const char *P, warm_dtype dt, int final_act, au_gen *g,
                     lxc_tab *tb, warm_error *err) {
  const char *rb, *act;
  int stereo, bias_final;
  int rc;
  if ((rc = warm_config_string_or(c, "resblock", "1", &rb, err)) ||
      (rc = warm_config_bool_or(c, "stereo", 1, &stereo, err)) ||
      (rc = warm_config_string_or(c, "activation", "snake", &act, err)) ||
      (rc =
           warm_config_bool_or(c, "use_tanh_at_final", 1, &g->tanh_out, err)) ||
      (rc = warm_config_bool_or(c, "use_bias_at_final", 1, &bias_final, err)) ||
      (rc = warm_config_int_or(c, "upsample_initial_channel", 1024, &g->c0,
                               err)))
    return rc;
  g->amp = !strcmp(rb, "AMP1");
  if ((!g->amp && strcmp(rb, "1")) || !stereo ||
      (g->amp && strcmp(act, "snakebeta")))
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: config.%s: resblock \"%s\", activation \"%s\", "
                          "stereo %s; ltx-core needs resblock \"1\" (2.0) or "
                          "\"AMP1\" with snakebeta (2.3), stereo",
                          file, where, rb, act, stereo ? "true" : "false");
  size_t nu = 0, nk = 0, n2 = 0, nd = 0;
  if ((rc = ints(c, file, "upsample_rates", g->rates, AU_MAX_UPS, &nu, err)) ||
      (rc = ints(c, file, "upsample_kernel_sizes", g->up_k, AU_MAX_UPS, &n2,
                 err)) ||
      (rc = ints(c, file, "resblock_kernel_sizes", g->res_k, AU_MAX_KERNELS,
                 &nk, err)) ||
      (rc = warm_config_array_len(c, "resblock_dilation_sizes", &nd, err)))
    return rc;
  if (nu != n2 || nd != nk || g->c0 < ((int64_t)1 << nu) || g->c0 > 65536)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: config.%s: %zu upsample rates vs %zu kernels, "
                          "%zu resblock kernels vs %zu dilation lists, %lld "
                          "initial channels",
                          file, where, nu, n2, nk, nd, (long long)g->c0);
  for (size_t j = 0; j < nk; j++)
    for (int m = 0; m < 3; m++) {
      char key[64];
      snprintf(key, sizeof key, "resblock_dilation_sizes.%zu.%d", j, m);
      if ((rc = warm_config_int(c, key, &g->dil[j][m], err))) return rc;
      if (g->dil[j][m] < 1 || g->dil[j][m] > 1024)
        return warm_error_set(err, WARM_EFORMAT, "%s: config.%s.%s is %lld",
                              file, where, key, (long long)g->dil[j][m]);
    }
  g->n_ups = (int64_t)nu;
  g->n_kernels = (int64_t)nk;
  g->in_channels = 128; /* hard-wired in the reference: 2 x 64 mel bins */
  g->out_channels = 2;
  g->final_act = final_act;
  c1_add(tb, dt, P, "conv_pre", g->in_channels, g->c0, 7, 1, 1, &g->conv_pre);
  for (int64_t i = 0; i < g->n_ups; i++) {
    int64_t ci = g->c0 >> i, co = g->c0 >> (i + 1);
    char n[96];
    snprintf(n, sizeof n, "ups.%lld.weight", (long long)i);
    g->ups_w[i] = lxc_tab_add(tb, dt, 1, P, n, 3, ci, co, g->up_k[i]);
    snprintf(n, sizeof n, "ups.%lld.bias", (long long)i);
    g->ups_b[i] = lxc_tab_add(tb, dt, 0, P, n, 1, co);
    if (g->up_k[i] < g->rates[i] || (g->up_k[i] - g->rates[i]) % 2)
      return warm_error_set(err, WARM_EFORMAT,
                            "%s: config.%s: upsample kernel %lld with rate "
                            "%lld gives an uneven padding",
                            file, where, (long long)g->up_k[i],
                            (long long)g->rates[i]);
    for (int64_t j = 0; j < g->n_kernels; j++)
      for (int m = 0; m < 3; m++) {
        long long rbi = (long long)(i * g->n_kernels + j);
        snprintf(n, sizeof n, "resblocks.%lld.convs1.%d", rbi, m);
        c1_add(tb, dt, P, n, co, co, g->res_k[j], g->dil[j][m], 1,
               &g->c1[i][j][m]);
        snprintf(n, sizeof n, "resblocks.%lld.convs2.%d", rbi, m);
        c1_add(tb, dt, P, n, co, co, g->res_k[j], 1, 1, &g->c2[i][j][m]);
        if (g->amp) {
          snprintf(n, sizeof n, "resblocks.%lld.acts1.%d", rbi, m);
          act_add(tb, dt, P, n, co, &g->a1[i][j][m]);
          snprintf(n, sizeof n, "resblocks.%lld.acts2.%d", rbi, m);
          act_add(tb, dt, P, n, co, &g->a2[i][j][m]);
        }
      }
  }
  int64_t cf = g->c0 >> g->n_ups;
  if (g->amp) act_add(tb, dt, P, "act_post", cf, &g->act_post);
  c1_add(tb, dt, P, "conv_post", cf, g->out_channels, 7, 1, bias_final,
         &g->conv_post);
  return 0;
}

/* UpSample1d(ratio, window "hann")'s filter, in float32 as torch computes
 * it: t = (arange(k)/ratio - width) * 0.99, window = cos(clamp(t, +-6) *
 * pi / 6 / 2)^2, sinc(t) * window * 0.99 / ratio. */
static void hann_filter(au_voc *v) {
  const float rolloff = 0.99f;
  const int lpw = 6;
  int64_t width = (int64_t)ceil(lpw / 0.99);
  v->rs_k = 2 * width * v->ratio + 1;
  v->rs_pad = width;
  v->rs_left = 2 * width * v->ratio;
  v->rs_right = v->rs_k - v->ratio;
  for (int64_t i = 0; i < v->rs_k; i++) {
    float t = (float)i / (float)v->ratio - (float)width;
    t = t * rolloff;
    float tc = t < -lpw ? (float)-lpw : t > lpw ? (float)lpw : t;
    float a = tc * (float)M_PI;
    a = a / (float)lpw;
    a = a / 2.0f;
    float cw = cosf(a);
    float win = cw * cw;
    float sinc;
    if (t == 0.0f) {
      sinc = 1.0f;
    } else {
      float pt = (float)M_PI * t;
      sinc = sinf(pt) / pt;
    }
    float f = sinc * win;
    f = f * rolloff;
    v->resample[i] = f / (float)v->ratio;
  }
}

int au_voc_build(const warm_ltx2 *f, warm_dtype dt, au_voc *v, lxc_tab *tb,
                 warm_error *err) {
  const char *file = warm_ltx2_path(f);
  const warm_config *c;
  int rc = warm_ltx2_config(f, "vocoder", &c, err);
  if (rc) return rc;
  memset(v, 0, sizeof *v);
  if (!warm_config_has(c, "bwe")) {
    if ((rc = gen_build(c, file, "vocoder", "vocoder.", dt, 1, &v->main, tb,
                        err)) ||
        (rc = warm_config_int_or(c, "output_sampling_rate", 24000,
                                 &v->sample_rate, err)))
      return rc;
  } else {
    warm_config *cv = NULL, *cb = NULL;
    int64_t in_rate;
    rc = warm_config_child(c, "vocoder", &cv, err);
    if (!rc) rc = warm_config_child(c, "bwe", &cb, err);
    if (!rc)
      rc = gen_build(cv, file, "vocoder.vocoder", "vocoder.vocoder.", dt, 1,
                     &v->main, tb, err);
    if (!rc)
      rc = gen_build(cb, file, "vocoder.bwe", "vocoder.bwe_generator.", dt, 0,
                     &v->bwe, tb, err);
    if (!rc) rc = warm_config_int(cb, "input_sampling_rate", &in_rate, err);
    if (!rc)
      rc = warm_config_int(cb, "output_sampling_rate", &v->sample_rate, err);
    if (!rc) rc = warm_config_int(cb, "n_fft", &v->n_fft, err);
    if (!rc) rc = warm_config_int(cb, "hop_length", &v->hop, err);
    if (!rc) rc = warm_config_int(cb, "num_mels", &v->n_mels, err);
    warm_config_close(cv);
    warm_config_close(cb);
    if (rc) return rc;
    if (in_rate < 1 || v->sample_rate % in_rate || v->n_fft < 2 ||
        v->n_fft > 1 << 16 || v->hop < 1 || v->hop > v->n_fft ||
        v->n_mels * 2 != v->bwe.in_channels)
      return warm_error_set(err, WARM_EFORMAT,
                            "%s: config.vocoder.bwe: rates %lld -> %lld Hz, "
                            "n_fft %lld, hop %lld, %lld mels (the generator "
                            "takes %lld channels)",
                            file, (long long)in_rate, (long long)v->sample_rate,
                            (long long)v->n_fft, (long long)v->hop,
                            (long long)v->n_mels,
                            (long long)v->bwe.in_channels);
    v->ratio = v->sample_rate / in_rate;
    if (2 * (2 * (int64_t)ceil(6 / 0.99) * v->ratio + 1) > 128)
      return warm_error_set(err, WARM_EUNSUPPORTED,
                            "%s: config.vocoder.bwe: resampling ratio %lld is "
                            "too large",
                            file, (long long)v->ratio);
    int64_t prod = 1;
    for (int64_t i = 0; i < v->bwe.n_ups; i++)
      prod *= v->bwe.rates[i];
    if (prod != v->ratio * v->hop)
      return warm_error_set(err, WARM_EFORMAT,
                            "%s: config.vocoder.bwe: the generator upsamples "
                            "by %lld, not ratio * hop = %lld",
                            file, (long long)prod,
                            (long long)(v->ratio * v->hop));
    int64_t nf = v->n_fft / 2 + 1;
    v->fwd_basis =
        lxc_tab_add(tb, dt, 0, "vocoder.", "mel_stft.stft_fn.forward_basis", 3,
                    2 * nf, (int64_t)1, v->n_fft);
    v->mel_basis = lxc_tab_add(tb, dt, 0, "vocoder.", "mel_stft.mel_basis", 2,
                               v->n_mels, nf);
    hann_filter(v);
    v->has_bwe = 1;
  }
  v->in_channels = v->main.in_channels;
  v->out_channels = v->main.out_channels;
  if (v->sample_rate < 1)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: config.vocoder: output_sampling_rate %lld", file,
                          (long long)v->sample_rate);
  return lxc_tab_check(tb, warm_ltx2_st(f), file, err);
}

static int64_t gen_samples(const au_gen *g, int64_t frames) {
  int64_t L = frames;
  for (int64_t i = 0; i < g->n_ups; i++)
    L = (L - 1) * g->rates[i] - (g->up_k[i] - g->rates[i]) + g->up_k[i];
  return L;
}

int64_t au_voc_samples(const au_voc *v, int64_t frames) {
  int64_t L = gen_samples(&v->main, frames);
  return v->has_bwe ? L * v->ratio : L;
}

/* ---- forward ------------------------------------------------------------- */

/* Buffers: the generator's (X, R, A, B, S, and P, Q for the 2x-rate
 * activation), the BWE's (its mel input M, the 16 kHz signal Y, the skip
 * K), the resampler filter, op scratch. */
enum { B_X, B_R, B_A, B_B, B_S, B_P, B_Q, B_M, B_Y, B_K, B_F, B_WK, B_COUNT };

typedef struct plan {
  size_t off[B_COUNT], size[B_COUNT], total;
} plan;

static wk_conv1d desc1(const au_conv1 *c, int64_t L, int64_t pad_f,
                       int64_t pad_b) {
  wk_conv1d p;
  memset(&p, 0, sizeof p);
  p.Ci = c->ci;
  p.Co = c->co;
  p.L = L;
  p.k = c->k;
  p.stride = 1;
  p.dilation = c->dilation;
  p.groups = 1;
  p.pad_front = pad_f;
  p.pad_back = pad_b;
  p.pad = WK_PAD_ZEROS;
  return p;
}

/* Residual-block conv padding: torch "same" for HiFi-GAN (left = total/2),
 * get_padding for AMP ((k*d - d)/2 both sides; k odd in practice). */
static void res_pad(const au_gen *g, const au_conv1 *c, int64_t *f,
                    int64_t *b) {
  int64_t total = c->dilation * (c->k - 1);
  if (g->amp) {
    *f = *b = total / 2;
  } else {
    *f = total / 2;
    *b = total - total / 2;
  }
}

typedef struct sizer {
  int64_t act, big;
  size_t ws;
} sizer;

static void see_conv(const au *a, sizer *z, const au_conv1 *c, int64_t L,
                     int64_t f, int64_t b) {
  wk_conv1d p = desc1(c, L, f, b);
  size_t s =
      wk_conv1d_workspace(a->wk, &p, a->dtype == WARM_BF16 ? WK_BF16 : WK_F32);
  if (s > z->ws) z->ws = s;
}

static void see_gen(const au *a, const au_gen *g, int64_t frames, sizer *z) {
  int64_t L = frames;
  if (g->in_channels * L > z->act) z->act = g->in_channels * L;
  if (g->c0 * L > z->act) z->act = g->c0 * L;
  see_conv(a, z, &g->conv_pre, L, 3, 3);
  for (int64_t i = 0; i < g->n_ups; i++) {
    L = (L - 1) * g->rates[i] - (g->up_k[i] - g->rates[i]) + g->up_k[i];
    int64_t co = g->c0 >> (i + 1);
    if (co * L > z->act) z->act = co * L;
    /* Activation1d: padded input, x2 output, padded for the low-pass. */
    if (g->amp && co * (2 * L + 11) > z->big) z->big = co * (2 * L + 11);
    for (int64_t j = 0; j < g->n_kernels; j++)
      for (int m = 0; m < 3; m++) {
        int64_t f, b;
        res_pad(g, &g->c1[i][j][m], &f, &b);
        see_conv(a, z, &g->c1[i][j][m], L, f, b);
        res_pad(g, &g->c2[i][j][m], &f, &b);
        see_conv(a, z, &g->c2[i][j][m], L, f, b);
        if (g->amp) {
          wk_conv1d lp = {co, 2 * L, co, 12, 2, 1, co, 5, 6, WK_PAD_REPLICATE,
                          1};
          size_t s = wk_conv1d_workspace(a->wk, &lp, WK_F32);
          if (s > z->ws) z->ws = s;
        }
      }
  }
  int64_t cf = g->c0 >> g->n_ups;
  if (g->amp && cf * (2 * L + 11) > z->big) z->big = cf * (2 * L + 11);
  see_conv(a, z, &g->conv_post, L, 3, 3);
  if (g->out_channels * L > z->act) z->act = g->out_channels * L;
}

static void make_plan(const au *a, int64_t frames, plan *p) {
  const au_voc *v = &a->voc;
  sizer z = {0, 0, 0};
  see_gen(a, &v->main, frames, &z);
  int64_t Lm = gen_samples(&v->main, frames), Lp = Lm, T = 0;
  size_t mel = 0, ysz = 0, ksz = 0;
  if (v->has_bwe) {
    Lp = (Lm + v->hop - 1) / v->hop * v->hop;
    T = Lp / v->hop;
    see_gen(a, &v->bwe, T, &z);
    /* STFT: 2 rows of 2*nf x T, then magnitudes and mels. */
    int64_t nf = v->n_fft / 2 + 1;
    au_conv1 st = {0, -1, 1, 2 * nf, v->n_fft, 1};
    wk_conv1d sp = desc1(&st, Lp, v->n_fft - v->hop, 0);
    sp.stride = v->hop;
    size_t s = wk_conv1d_workspace(a->wk, &sp, WK_F32);
    if (s > z.ws) z.ws = s;
    if (2 * nf * T + nf * T > z.act) z.act = 2 * nf * T + nf * T;
    mel = (size_t)(v->bwe.in_channels * T);
    ysz = (size_t)(2 * (Lp + 2 * v->rs_pad));
    ksz = (size_t)(2 * ((Lp + 2 * v->rs_pad - 1) * v->ratio + v->rs_k));
  }
  memset(p, 0, sizeof *p);
  for (int i = B_X; i <= B_S; i++)
    p->size[i] = (size_t)z.act * sizeof(float);
  p->size[B_P] = p->size[B_Q] = (size_t)z.big * sizeof(float);
  p->size[B_M] = mel * sizeof(float);
  p->size[B_Y] = ysz * sizeof(float);
  p->size[B_K] = ksz * sizeof(float);
  p->size[B_F] = v->has_bwe ? (size_t)v->rs_k * sizeof(float) : 0;
  p->size[B_WK] = z.ws;
  p->total = lxc_layout(p->size, p->off, B_COUNT);
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
#define CK(call) LXC_CK(call)

static wk_w W_(run *r, int i) {
  return lxc_get(&r->a->w, &r->a->tab, i);
}

static int conv1(run *r, const au_conv1 *c, int64_t pf, int64_t pb,
                 const float *x, float *y) {
  wk_conv1d p = desc1(c, r->L, pf, pb);
  wk_w w = W_(r, c->w), b = W_(r, c->b);
  return wk_conv1d_fwd(r->a->wk, &p, x, w, b, y);
}

/* Activation1d(SnakeBeta) on x [C, L] -> y [C, L] (through B_P, B_Q). */
static int act1d(run *r, const au_act *ac, int64_t C, const float *x,
                 float *y) {
  wk_ctx *k = r->a->wk;
  float *p = BUF(r, B_P), *q = BUF(r, B_Q);
  int64_t L = r->L;
  CK(wk_pad1d(k, x, C, L, 5, 5, WK_PAD_REPLICATE, p));
  /* conv_transpose1d stride 2, then [15 : -15]: the transposed conv's
   * symmetric padding 15 crops the same samples. */
  wk_convt1d up = {C, L + 10, C, 12, 2, 15, C, 1};
  CK(wk_conv_transpose1d(k, &up, p, W_(r, ac->up), (wk_w){0}, q));
  CK(wk_scale(k, q, 2.0f, C * 2 * L, q));
  CK(wk_snake(k, q, C, 2 * L, W_(r, ac->alpha), W_(r, ac->beta), 1, q));
  wk_conv1d lp = {C, 2 * L, C, 12, 2, 1, C, 5, 6, WK_PAD_REPLICATE, 1};
  return wk_conv1d_fwd(k, &lp, q, W_(r, ac->down), (wk_w){0}, y);
}

/* Residual block j of stage i on x (B_X, read only) -> B_R. */
static int resblock(run *r, const au_gen *g, int64_t i, int64_t j, int64_t C) {
  wk_ctx *k = r->a->wk;
  float *x = BUF(r, B_X), *xr = BUF(r, B_R), *t = BUF(r, B_A), *u = BUF(r, B_B);
  int64_t n = C * r->L, f, b;
  CK(wk_copy_d2d(k, xr, x, (size_t)n * sizeof(float)));
  for (int m = 0; m < 3; m++) {
    if (g->amp)
      CK(act1d(r, &g->a1[i][j][m], C, xr, t));
    else
      CK(wk_leaky_relu(k, xr, n, 0.1f, t));
    res_pad(g, &g->c1[i][j][m], &f, &b);
    CK(conv1(r, &g->c1[i][j][m], f, b, t, u));
    if (g->amp)
      CK(act1d(r, &g->a2[i][j][m], C, u, u == t ? t : t));
    else
      CK(wk_leaky_relu(k, u, n, 0.1f, t));
    res_pad(g, &g->c2[i][j][m], &f, &b);
    CK(conv1(r, &g->c2[i][j][m], f, b, t, u));
    CK(wk_add(k, xr, u, n, xr));
  }
  return 0;
}

/* One generator: in [in_channels, frames] (device, B_A) -> B_X [2, L]. */
static int gen_run(run *r, const au_gen *g, int64_t frames) {
  au *a = r->a;
  wk_ctx *k = a->wk;
  r->L = frames;
  CK(conv1(r, &g->conv_pre, 3, 3, BUF(r, B_A), BUF(r, B_X)));
  for (int64_t i = 0; i < g->n_ups; i++) {
    if (a->svc->cancelled && a->svc->cancelled(a->svc->ctx))
      return WARM_ECANCELED;
    int64_t ci = g->c0 >> i, co = g->c0 >> (i + 1);
    const float *in = BUF(r, B_X);
    if (!g->amp) {
      CK(wk_leaky_relu(k, BUF(r, B_X), ci * r->L, 0.1f, BUF(r, B_A)));
      in = BUF(r, B_A);
    } else {
      CK(wk_copy_d2d(k, BUF(r, B_A), BUF(r, B_X),
                     (size_t)(ci * r->L) * sizeof(float)));
      in = BUF(r, B_A);
    }
    wk_convt1d q = {
        ci, r->L, co, g->up_k[i], g->rates[i], (g->up_k[i] - g->rates[i]) / 2,
        1,  0};
    CK(wk_conv_transpose1d(k, &q, in, W_(r, g->ups_w[i]), W_(r, g->ups_b[i]),
                           BUF(r, B_X)));
    r->L = wk_convt1d_out_len(&q);
    int64_t n = co * r->L;
    for (int64_t j = 0; j < g->n_kernels; j++) {
      CK(resblock(r, g, i, j, co));
      if (j == 0)
        CK(wk_copy_d2d(k, BUF(r, B_S), BUF(r, B_R), (size_t)n * 4));
      else
        CK(wk_add(k, BUF(r, B_S), BUF(r, B_R), n, BUF(r, B_S)));
    }
    CK(wk_scale(k, BUF(r, B_S), 1.0f / (float)g->n_kernels, n, BUF(r, B_X)));
  }
  int64_t cf = g->c0 >> g->n_ups;
  if (g->amp)
    CK(act1d(r, &g->act_post, cf, BUF(r, B_X), BUF(r, B_A)));
  else
    CK(wk_leaky_relu(k, BUF(r, B_X), cf * r->L, 0.01f, BUF(r, B_A)));
  CK(conv1(r, &g->conv_post, 3, 3, BUF(r, B_A), BUF(r, B_X)));
  int64_t n = g->out_channels * r->L;
  if (g->final_act && g->tanh_out)
    CK(wk_tanh(k, BUF(r, B_X), n, BUF(r, B_X)));
  else if (g->final_act)
    CK(wk_clamp(k, BUF(r, B_X), n, -1.0f, 1.0f, BUF(r, B_X)));
  return 0;
}

/* VocoderWithBWE after the main generator: B_X [2, Lm] -> B_X [2, ratio *
 * Lm]. */
static int bwe_run(run *r, int64_t Lm) {
  au *a = r->a;
  const au_voc *v = &a->voc;
  wk_ctx *k = a->wk;
  int64_t Lp = (Lm + v->hop - 1) / v->hop * v->hop, T = Lp / v->hop;
  int64_t nf = v->n_fft / 2 + 1, C = 2;
  float *y = BUF(r, B_Y);
  /* The 16 kHz signal zero-padded to a multiple of the hop, and padded by
   * replication for the resampler: Y = [C, Lp + 2*pad]. */
  CK(wk_pad1d(k, BUF(r, B_X), C, Lm, 0, Lp - Lm, WK_PAD_ZEROS, BUF(r, B_A)));
  CK(wk_pad1d(k, BUF(r, B_A), C, Lp, v->rs_pad, v->rs_pad, WK_PAD_REPLICATE,
              y));
  /* Causal log-mel per channel: conv1d with the stored DFT*window bases
   * (left pad n_fft - hop), magnitude, mel projection, log(clamp 1e-5). */
  for (int64_t s = 0; s < C; s++) {
    au_conv1 st = {v->fwd_basis, -1, 1, 2 * nf, v->n_fft, 1};
    wk_conv1d sp = desc1(&st, Lp, v->n_fft - v->hop, 0);
    sp.stride = v->hop;
    float *spec = BUF(r, B_B), *mag = BUF(r, B_B) + 2 * nf * T;
    CK(wk_conv1d_fwd(k, &sp, BUF(r, B_A) + s * Lp, W_(r, v->fwd_basis),
                     (wk_w){0}, spec));
    CK(wk_complex_abs(k, spec, nf, T, mag));
    wk_w mb = W_(r, v->mel_basis);
    CK(wk_gemm(k, 0, 0, v->n_mels, T, nf, 1.0f, mb.data, nf, 0, mag, T, 0, 0.0f,
               BUF(r, B_M) + s * v->n_mels * T, T, 0, 1));
  }
  CK(wk_log_clamp(k, BUF(r, B_M), C * v->n_mels * T, 1e-5f, BUF(r, B_A)));
  /* The residual from the BWE generator (its input is [2*mels, T]). */
  CK(gen_run(r, &v->bwe, T));
  /* The skip: ratio * conv_transpose1d(hann sinc) cropped [left : -right]. */
  wk_convt1d rs = {C, Lp + 2 * v->rs_pad, C, v->rs_k, v->ratio, 0, C, 1};
  int64_t Lf = wk_convt1d_out_len(&rs), Lo = v->ratio * Lp;
  wk_w fw = {BUF(r, B_F), WK_F32, 1.0f};
  CK(wk_conv_transpose1d(k, &rs, y, fw, (wk_w){0}, BUF(r, B_K)));
  for (int64_t s = 0; s < C; s++)
    CK(wk_copy_d2d(k, BUF(r, B_A) + s * Lo, BUF(r, B_K) + s * Lf + v->rs_left,
                   (size_t)Lo * sizeof(float)));
  CK(wk_scale(k, BUF(r, B_A), (float)v->ratio, C * Lo, BUF(r, B_A)));
  CK(wk_add(k, BUF(r, B_X), BUF(r, B_A), C * Lo, BUF(r, B_X)));
  CK(wk_clamp(k, BUF(r, B_X), C * Lo, -1.0f, 1.0f, BUF(r, B_X)));
  r->L = Lo;
  return 0;
}

static int run_net(run *r, const float *mel, int64_t frames, float *wave) {
  au *a = r->a;
  const au_voc *v = &a->voc;
  wk_ctx *k = a->wk;
  int64_t half = v->in_channels / 2;
  /* [2, T, M] -> [(s m), T] */
  float *xin = malloc((size_t)(v->in_channels * frames) * sizeof *xin);
  if (!xin) return WARM_ENOMEM;
  for (int64_t s = 0; s < 2; s++)
    for (int64_t t = 0; t < frames; t++)
      for (int64_t m = 0; m < half; m++)
        xin[(s * half + m) * frames + t] = mel[(s * frames + t) * half + m];
  int rc = wk_copy_h2d(k, BUF(r, B_A), xin,
                       (size_t)(v->in_channels * frames) * sizeof(float));
  if (!rc && v->has_bwe)
    rc = wk_copy_h2d(k, BUF(r, B_F), v->resample,
                     (size_t)v->rs_k * sizeof(float));
  if (!rc) rc = wk_sync(k);
  free(xin);
  CK(rc);
  CK(gen_run(r, &v->main, frames));
  int64_t Lm = r->L;
  if (v->has_bwe) CK(bwe_run(r, Lm));
  /* Keep ratio * Lm samples (the padding to the hop is cut again). */
  int64_t Lout = au_voc_samples(v, frames);
  for (int64_t s = 0; s < v->out_channels && !rc; s++)
    rc = wk_copy_d2h(k, wave + s * Lout, BUF(r, B_X) + s * r->L,
                     (size_t)Lout * sizeof(float));
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
