/*
 * wk_conv3d_fwd and wk_depth_to_space3d against direct float64 loops.
 * Convolution errors are norm-based relative (outputs are dot products).
 */
#include "wk_testutil.h"

/* A descriptor from the 12 classic fields; the padding modes default. */
#define CV(...)                                                                \
  { __VA_ARGS__, 0, 0, 0, 0, 0 }

/* Index of padded coordinate i on an axis of n (torch's pad semantics,
 * written out case by case): -1 for a zero. */
static int64_t ref_src(int64_t i, int64_t n, int mode) {
  if (i >= 0 && i < n) return i;
  switch (mode) {
  case WK_PAD_ZEROS:
    return -1;
  case WK_PAD_REPLICATE:
    return i < 0 ? 0 : n - 1;
  default: /* reflect, pad < n: one bounce */
    return i < 0 ? -i : 2 * (n - 1) - i;
  }
}

/* Pads x explicitly into a [Ci, Tp, Hp, Wp] double array, then runs a valid
 * convolution over it. */
static double *ref_conv(const wk_conv3d *p, const float *x, const float *w,
                        const float *bias, int64_t *n_out) {
  int tm = p->tpad ? p->tpad : WK_PAD_REPLICATE;
  int sm = p->spad ? p->spad : WK_PAD_ZEROS;
  int64_t hb = p->asym ? p->ph_back : p->ph, wb = p->asym ? p->pw_back : p->pw;
  int64_t Tp = p->T + p->pt_front + p->pt_back, Hp = p->H + p->ph + hb,
          Wp = p->W + p->pw + wb;
  double *xp = wt_dalloc(p->Ci * Tp * Hp * Wp);
  for (int64_t ci = 0; ci < p->Ci; ci++)
    for (int64_t t = 0; t < Tp; t++)
      for (int64_t h = 0; h < Hp; h++)
        for (int64_t ww = 0; ww < Wp; ww++) {
          int64_t st = ref_src(t - p->pt_front, p->T, tm);
          int64_t sh = ref_src(h - p->ph, p->H, sm);
          int64_t sw = ref_src(ww - p->pw, p->W, sm);
          xp[((ci * Tp + t) * Hp + h) * Wp + ww] =
              (st < 0 || sh < 0 || sw < 0)
                  ? 0.0
                  : x[((ci * p->T + st) * p->H + sh) * p->W + sw];
        }
  int64_t To = Tp - p->kt + 1, Ho = Hp - p->kh + 1, Wo = Wp - p->kw + 1;
  *n_out = p->Co * To * Ho * Wo;
  double *y = wt_dalloc(*n_out);
  for (int64_t co = 0; co < p->Co; co++)
    for (int64_t t = 0; t < To; t++)
      for (int64_t oh = 0; oh < Ho; oh++)
        for (int64_t ow = 0; ow < Wo; ow++) {
          double s = bias ? bias[co] : 0.0;
          for (int64_t ci = 0; ci < p->Ci; ci++)
            for (int64_t dt = 0; dt < p->kt; dt++)
              for (int64_t dh = 0; dh < p->kh; dh++)
                for (int64_t dw = 0; dw < p->kw; dw++)
                  s += xp[((ci * Tp + t + dt) * Hp + oh + dh) * Wp + ow + dw] *
                       w[(((co * p->Ci + ci) * p->kt + dt) * p->kh + dh) *
                             p->kw +
                         dw];
          y[((co * To + t) * Ho + oh) * Wo + ow] = s;
        }
  free(xp);
  return y;
}

static void check_conv(wt_env *e, wk_conv3d p, wk_dtype wdt, int with_bias) {
  int64_t nx = p.Ci * p.T * p.H * p.W;
  int64_t nw = p.Co * p.Ci * p.kt * p.kh * p.kw, ny;
  float *x = wt_randn(nx, -1, 1), *w = wt_randn(nw, -1, 1);
  float *bias = with_bias ? wt_randn(p.Co, -1, 1) : NULL;
  float *deq = malloc(nw * 4), scale;
  void *wq = wt_quantise(w, nw, wdt, deq, &scale);
  double *want = ref_conv(&p, x, deq, bias, &ny);
  float *y = malloc((ny + 1) * 4);
  wk_w W = {wq, wdt, scale};
  wt_env_ws(e, wk_conv3d_workspace(e->c, &p, wdt));
  int rc =
      wk_conv3d_fwd(e->c, &p, x, W, with_bias ? wt_f32(bias) : wt_none(), y);
  WT_CHECK(rc == 0, "conv3d: %s", wk_last_error(e->c));
  double err = wt_norm_err(y, want, ny);
  WT_CHECK(err <= 1e-5,
           "conv3d Ci%lld T%lld H%lld W%lld Co%lld k%lldx%lldx%lld pt%lld,%lld "
           "p%lld,%lld dt%d: err %.3g",
           (long long)p.Ci, (long long)p.T, (long long)p.H, (long long)p.W,
           (long long)p.Co, (long long)p.kt, (long long)p.kh, (long long)p.kw,
           (long long)p.pt_front, (long long)p.pt_back, (long long)p.ph,
           (long long)p.pw, (int)wdt, err);
  free(x), free(w), free(bias), free(deq), free(wq), free(want), free(y);
}

static void test_conv3d_causal_and_symmetric_padding(wt_env *e) {
  wk_conv3d causal = CV(3, 4, 7, 6, 5, 3, 3, 3, 2, 0, 1, 1);
  check_conv(e, causal, WK_F32, 1);
  wk_conv3d sym = CV(2, 3, 5, 9, 4, 3, 3, 3, 1, 1, 1, 1);
  check_conv(e, sym, WK_F32, 0);
  wk_conv3d pointwise = CV(8, 2, 3, 3, 6, 1, 1, 1, 0, 0, 0, 0);
  check_conv(e, pointwise, WK_F32, 1);
  wk_conv3d uneven = CV(3, 5, 6, 8, 2, 2, 3, 1, 1, 0, 2, 0); /* kh != kw */
  check_conv(e, uneven, WK_F32, 1);
  wk_conv3d replicate = CV(1, 1, 4, 4, 1, 3, 1, 1, 1, 1, 0, 0); /* T = 1 */
  check_conv(e, replicate, WK_F32, 0);
}

static void test_conv3d_padding_modes(wt_env *e) {
  /* reflect in space (the LTX-2 video VAE), replicate time */
  wk_conv3d refl = CV(3, 4, 5, 6, 4, 3, 3, 3, 1, 1, 1, 1);
  refl.spad = WK_PAD_REFLECT;
  check_conv(e, refl, WK_F32, 1);
  /* reflect with a pad of 2 on a short axis */
  wk_conv3d refl2 = CV(2, 2, 3, 7, 3, 1, 5, 5, 0, 0, 2, 2);
  refl2.spad = WK_PAD_REFLECT;
  check_conv(e, refl2, WK_F32, 0);
  /* zeros in time too (the latent upsampler's plain Conv3d) */
  wk_conv3d zt = CV(3, 3, 4, 5, 2, 3, 3, 3, 1, 1, 1, 1);
  zt.tpad = WK_PAD_ZEROS;
  check_conv(e, zt, WK_F32, 1);
  /* replicate in space, reflect in time */
  wk_conv3d rep = CV(2, 4, 4, 4, 3, 3, 3, 3, 1, 1, 1, 1);
  rep.spad = WK_PAD_REPLICATE;
  rep.tpad = WK_PAD_REFLECT;
  check_conv(e, rep, WK_F32, 1);
  /* a causal 2-D conv: H padded 2 above and 0 below, W 1/1 */
  wk_conv3d c2d = CV(4, 1, 7, 6, 5, 1, 3, 3, 0, 0, 2, 1);
  c2d.asym = 1;
  c2d.ph_back = 0;
  c2d.pw_back = 1;
  check_conv(e, c2d, WK_F32, 1);
  /* asymmetric width, reflect, bf16 weights */
  wk_conv3d aw = CV(3, 2, 5, 8, 2, 1, 3, 4, 0, 0, 1, 2);
  aw.asym = 1;
  aw.ph_back = 1;
  aw.pw_back = 1;
  aw.spad = WK_PAD_REFLECT;
  check_conv(e, aw, WK_BF16, 1);
}

static void test_conv3d_bad_padding(wt_env *e) {
  float buf[256] = {0};
  wk_conv3d p = CV(1, 1, 2, 8, 1, 1, 3, 3, 0, 0, 2, 1);
  p.spad = WK_PAD_REFLECT; /* pad 2 on an axis of 2 */
  WT_RC(wk_conv3d_fwd(e->c, &p, buf, wt_f32(buf), wt_none(), buf + 64),
        WK_EINVAL);
  WT_CHECK(strstr(wk_last_error(e->c), "reflect") != NULL, "message: %s",
           wk_last_error(e->c));
  wk_conv3d q = CV(1, 1, 4, 4, 1, 1, 3, 3, 0, 0, 1, 1);
  q.spad = 9;
  WT_RC(wk_conv3d_fwd(e->c, &q, buf, wt_f32(buf), wt_none(), buf + 64),
        WK_EINVAL);
  wk_conv3d r = CV(1, 1, 4, 4, 1, 1, 3, 3, 0, 0, 1, 1);
  r.asym = 1;
  r.ph_back = -1;
  WT_RC(wk_conv3d_fwd(e->c, &r, buf, wt_f32(buf), wt_none(), buf + 64),
        WK_EINVAL);
}

static void test_conv3d_low_precision_weights(wt_env *e) {
  wk_conv3d p = CV(4, 3, 6, 5, 3, 3, 3, 3, 2, 0, 1, 1);
  check_conv(e, p, WK_BF16, 1);
  check_conv(e, p, WK_FP8_E4M3, 1);
}

static void test_conv3d_chunked_positions(wt_env *e) {
  /* Ci*27 = 1728 patch rows x 2500 positions > one 4 Mi-element chunk. */
  wk_conv3d p = CV(64, 2, 50, 50, 2, 3, 3, 3, 2, 0, 1, 1);
  check_conv(e, p, WK_BF16, 1);
}

static void test_conv3d_deterministic_across_threads(wt_env *e) {
  wk_conv3d p = CV(5, 3, 9, 11, 4, 3, 3, 3, 2, 0, 1, 1);
  int64_t nx = 5 * 3 * 9 * 11, nw = 4 * 5 * 27, ny = 4 * 3 * 9 * 11;
  float *x = wt_randn(nx, -1, 1), *w = wt_randn(nw, -1, 1);
  float *deq = malloc(nw * 4), scale;
  void *wq = wt_quantise(w, nw, WK_BF16, deq, &scale);
  wk_w W = {wq, WK_BF16, scale};
  float *y1 = malloc(ny * 4), *y2 = malloc(ny * 4), *y3 = malloc(ny * 4);
  wt_env e1;
  wt_env_init(&e1, 1);
  wt_env_ws(&e1, wk_conv3d_workspace(e1.c, &p, WK_BF16));
  wt_env_ws(e, wk_conv3d_workspace(e->c, &p, WK_BF16));
  WT_RC(wk_conv3d_fwd(e->c, &p, x, W, wt_none(), y1), 0);
  WT_RC(wk_conv3d_fwd(e->c, &p, x, W, wt_none(), y2), 0);
  WT_RC(wk_conv3d_fwd(e1.c, &p, x, W, wt_none(), y3), 0);
  WT_CHECK(memcmp(y1, y2, ny * 4) == 0, "two runs differ");
  WT_CHECK(memcmp(y1, y3, ny * 4) == 0, "1 vs 3 threads differ");
  wt_env_fini(&e1);
  free(x), free(w), free(deq), free(wq), free(y1), free(y2), free(y3);
}

/* More output positions per frame than one oneDNN band (8192): a full band
 * and a 2-row last band; channel counts off the 16-channel blocks; reflect
 * in space. Against the reference, and bitwise on 1 and 3 threads. */
static void test_conv3d_row_bands(wt_env *e) {
  wk_conv3d p = CV(17, 2, 84, 100, 18, 3, 3, 3, 2, 0, 1, 1);
  p.spad = WK_PAD_REFLECT;
  check_conv(e, p, WK_F32, 1);
  int64_t nx = 17 * 2 * 84 * 100, nw = 18 * 17 * 27, ny = 18 * 2 * 84 * 100;
  float *x = wt_randn(nx, -1, 1), *w = wt_randn(nw, -1, 1);
  float *y1 = malloc(ny * 4), *y3 = malloc(ny * 4);
  wt_env e1;
  wt_env_init(&e1, 1);
  wt_env_ws(&e1, wk_conv3d_workspace(e1.c, &p, WK_F32));
  wt_env_ws(e, wk_conv3d_workspace(e->c, &p, WK_F32));
  WT_RC(wk_conv3d_fwd(e->c, &p, x, wt_f32(w), wt_none(), y3), 0);
  WT_RC(wk_conv3d_fwd(e1.c, &p, x, wt_f32(w), wt_none(), y1), 0);
  WT_CHECK(memcmp(y1, y3, ny * 4) == 0, "row bands: 1 vs 3 threads differ");
  wt_env_fini(&e1);
  free(x), free(w), free(y1), free(y3);
}

/* A pack arena: the conv reads its weights from the arena after the first
 * call, with the same bytes as without one; changing the weights in place
 * then does not show (the packed copy serves) until the arena is dropped.
 * A weight that finds no room is reordered per call. f32 and bf16. */
static void pack_case(wt_env *e, wk_dtype dt) {
  wk_conv3d p = CV(20, 2, 10, 13, 24, 3, 3, 3, 2, 0, 1, 1);
  int64_t nx = 20 * 2 * 10 * 13, nw = 24 * 20 * 27, ny = 24 * 2 * 10 * 13;
  float *x = wt_randn(nx, -1, 1), *w = wt_randn(nw, -1, 1);
  float *b = wt_randn(24, -1, 1), *deq = malloc(nw * 4), scale;
  void *wq = dt == WK_F32 ? w : wt_quantise(w, nw, dt, deq, &scale);
  wk_w W = {wq, dt, dt == WK_F32 ? 1.0f : scale};
  float *y0 = malloc(ny * 4), *y1 = malloc(ny * 4);
  size_t bytes = wk_conv3d_packed_bytes(e->c, &p, dt);
  wt_env_ws(e, wk_conv3d_workspace(e->c, &p, dt));
  WT_RC(wk_conv3d_fwd(e->c, &p, x, W, wt_f32(b), y0), 0);
  if (!bytes) { /* no oneDNN here: nothing is packed */
    printf("pack arena: not used by this cpu's convolution (dtype %d)\n", dt);
    goto out;
  }
  char *arena = malloc(bytes);
  /* Scribbles on the stored weights (the first bf16 or f32 element). */
  uint16_t keep16 = 0;
  float keep32 = 0;
  WT_RC(wk_set_pack_arena(e->c, arena, bytes), 0);
  WT_RC(wk_conv3d_fwd(e->c, &p, x, W, wt_f32(b), y1), 0);
  WT_CHECK(memcmp(y0, y1, ny * 4) == 0, "pack: first call differs");
  if (dt == WK_F32)
    keep32 = w[0], w[0] += 3.0f;
  else
    keep16 = ((uint16_t *)wq)[0], ((uint16_t *)wq)[0] ^= 0x4000;
  WT_RC(wk_conv3d_fwd(e->c, &p, x, W, wt_f32(b), y1), 0);
  WT_CHECK(memcmp(y0, y1, ny * 4) == 0, "pack: the packed copy did not serve");
  WT_RC(wk_set_pack_arena(e->c, NULL, 0), 0);
  WT_RC(wk_conv3d_fwd(e->c, &p, x, W, wt_f32(b), y1), 0);
  WT_CHECK(memcmp(y0, y1, ny * 4) != 0, "pack: dropped, yet still served");
  /* One byte short: no room, so every call reorders the weights it gets. */
  WT_RC(wk_set_pack_arena(e->c, arena, bytes - 1), 0);
  if (dt == WK_F32)
    w[0] = keep32;
  else
    ((uint16_t *)wq)[0] = keep16;
  WT_RC(wk_conv3d_fwd(e->c, &p, x, W, wt_f32(b), y1), 0);
  WT_CHECK(memcmp(y0, y1, ny * 4) == 0, "pack: no room, result differs");
  if (dt == WK_F32)
    w[0] += 3.0f;
  else
    ((uint16_t *)wq)[0] ^= 0x4000;
  WT_RC(wk_conv3d_fwd(e->c, &p, x, W, wt_f32(b), y1), 0);
  WT_CHECK(memcmp(y0, y1, ny * 4) != 0, "pack: no room, yet a copy served");
  WT_RC(wk_set_pack_arena(e->c, NULL, 0), 0);
  free(arena);
out:
  free(x), free(w), free(b), free(deq), free(y0), free(y1);
  if (wq != w) free(wq);
}

static void test_conv3d_pack_arena(wt_env *e) {
  pack_case(e, WK_F32);
  pack_case(e, WK_BF16);
  char one;
  WT_RC(wk_set_pack_arena(e->c, NULL, 8), WK_EINVAL);
  WT_RC(wk_set_pack_arena(e->c, &one, 0), 0); /* an empty arena holds none */
  WT_RC(wk_set_pack_arena(e->c, NULL, 0), 0);
}

static void test_conv3d_bad_geometry(wt_env *e) {
  float buf[64] = {0};
  wk_conv3d p = CV(1, 1, 2, 2, 1, 3, 3, 3, 0, 0, 0, 0); /* kernel > input */
  WT_RC(wk_conv3d_fwd(e->c, &p, buf, wt_f32(buf), wt_none(), buf + 32),
        WK_EINVAL);
  wk_conv3d q = CV(1, 2, 2, 2, 0, 1, 1, 1, 0, 0, 0, 0); /* Co = 0 */
  WT_RC(wk_conv3d_fwd(e->c, &q, buf, wt_f32(buf), wt_none(), buf + 32),
        WK_EINVAL);
  wk_conv3d r = CV(1, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
  WT_RC(wk_conv3d_fwd(e->c, &r, buf, wt_f32(buf), wt_none(), buf + 2),
        WK_EINVAL); /* y overlaps x */
  uint16_t wb[27] = {0};
  wk_conv3d s = CV(1, 3, 3, 3, 1, 3, 3, 3, 0, 0, 0, 0);
  wk_w W = {wb, WK_BF16, 1.0f};
  size_t need = wk_conv3d_workspace(e->c, &s, WK_BF16);
  char *ws = malloc(need);
  wk_set_workspace(e->c, ws, need - 1);
  WT_RC(wk_conv3d_fwd(e->c, &s, buf, W, wt_none(), buf + 32), WK_ESPACE);
  free(ws);
  wt_env_ws(e, 0);
}

static void test_depth_to_space_matches_index_formula(wt_env *e) {
  int64_t C = 3, T = 2, H = 3, W = 5;
  int pt = 2, ph = 2, pw = 3;
  int64_t n = C * pt * ph * pw * T * H * W;
  float *x = wt_randn(n, -1, 1), *y = malloc(n * 4);
  WT_RC(wk_depth_to_space3d(e->c, x, C, T, H, W, pt, ph, pw, y), 0);
  int ok = 1;
  for (int64_t c = 0; c < C; c++)
    for (int64_t t = 0; t < T * pt; t++)
      for (int64_t h = 0; h < H * ph; h++)
        for (int64_t w = 0; w < W * pw; w++) {
          int64_t ci =
              c * pt * ph * pw + (t % pt) * ph * pw + (h % ph) * pw + (w % pw);
          float want = x[((ci * T + t / pt) * H + h / ph) * W + w / pw];
          ok &= y[((c * T * pt + t) * H * ph + h) * W * pw + w] == want;
        }
  WT_CHECK(ok, "depth_to_space index mapping");
  WT_RC(wk_depth_to_space3d(e->c, x, C, T, H, W, 0, 1, 1, y), WK_EINVAL);
  free(x), free(y);
}

int main(void) {
  wt_seed("test_kernels_conv");
  wt_env e;
  if (wt_env_init(&e, 3)) return 1;
  test_conv3d_causal_and_symmetric_padding(&e);
  test_conv3d_padding_modes(&e);
  test_conv3d_bad_padding(&e);
  test_conv3d_low_precision_weights(&e);
  test_conv3d_chunked_positions(&e);
  test_conv3d_deterministic_across_threads(&e);
  test_conv3d_row_bands(&e);
  test_conv3d_pack_arena(&e);
  test_conv3d_bad_geometry(&e);
  test_depth_to_space_matches_index_formula(&e);
  wt_env_fini(&e);
  return wt_finish("test_kernels_conv");
}
