/*
 * The audio and signal ops (wk_conv1d_fwd, wk_conv_transpose1d,
 * wk_upsample_nearest, wk_group_norm, wk_leaky_relu, wk_tanh, wk_snake)
 * against direct float64 loops written here, on fresh random inputs.
 */
#include "wk_testutil.h"

/* torch's padding, case by case: -1 for a zero. */
static int64_t ref_src(int64_t i, int64_t n, int mode) {
  if (i >= 0 && i < n) return i;
  if (mode == WK_PAD_REPLICATE) return i < 0 ? 0 : n - 1;
  if (mode == WK_PAD_REFLECT) return i < 0 ? -i : 2 * (n - 1) - i;
  return -1;
}

static void check_conv1d(wt_env *e, wk_conv1d p, wk_dtype wdt, int with_bias) {
  int64_t Cig = p.Ci / p.groups, Cog = p.Co / p.groups;
  int64_t Lo = wk_conv1d_out_len(&p);
  int64_t nx = p.Ci * p.L, nw = (p.shared ? Cog : p.Co) * Cig * p.k,
          ny = p.Co * Lo;
  float *x = wt_randn(nx, -1, 1), *w = wt_randn(nw, -1, 1);
  float *b = with_bias ? wt_randn(p.Co, -1, 1) : NULL;
  float *deq = malloc(nw * 4), scale;
  void *wq = wt_quantise(w, nw, wdt, deq, &scale);
  double *want = wt_dalloc(ny);
  int mode = p.pad ? p.pad : WK_PAD_ZEROS;
  for (int64_t co = 0; co < p.Co; co++)
    for (int64_t lo = 0; lo < Lo; lo++) {
      double s = b ? b[co] : 0.0;
      int64_t g = co / Cog;
      for (int64_t ci = 0; ci < Cig; ci++)
        for (int64_t kk = 0; kk < p.k; kk++) {
          int64_t src =
              ref_src(lo * p.stride + kk * p.dilation - p.pad_front, p.L, mode);
          int64_t wc = p.shared ? co % Cog : co;
          if (src >= 0)
            s += (double)x[(g * Cig + ci) * p.L + src] *
                 deq[(wc * Cig + ci) * p.k + kk];
        }
      want[co * Lo + lo] = s;
    }
  float *y = malloc((ny + 1) * 4);
  wt_env_ws(e, wk_conv1d_workspace(e->c, &p, wdt));
  wk_w W = {wq, wdt, scale};
  WT_RC(wk_conv1d_fwd(e->c, &p, x, W, b ? wt_f32(b) : wt_none(), y), 0);
  double err = wt_norm_err(y, want, ny);
  WT_CHECK(err <= 1e-5,
           "conv1d Ci%lld L%lld Co%lld k%lld s%lld d%lld g%lld p%lld/%lld "
           "mode %d: err %.3g",
           (long long)p.Ci, (long long)p.L, (long long)p.Co, (long long)p.k,
           (long long)p.stride, (long long)p.dilation, (long long)p.groups,
           (long long)p.pad_front, (long long)p.pad_back, p.pad, err);
  free(x), free(w), free(b), free(deq), free(wq), free(want), free(y);
}

static void test_conv1d(wt_env *e) {
  /* HiFi-GAN 'same' dilated convs, a strided STFT-like conv, depthwise FIR
   * with replicate padding (BigVGAN's anti-alias filter), reflect. */
  wk_conv1d same = {6, 40, 5, 3, 1, 3, 1, 3, 3, 0, 0};
  check_conv1d(e, same, WK_F32, 1);
  wk_conv1d pre = {8, 30, 4, 7, 1, 1, 1, 3, 3, 0, 0};
  check_conv1d(e, pre, WK_BF16, 1);
  wk_conv1d stft = {1, 100, 10, 16, 4, 1, 1, 12, 0, 0, 0};
  check_conv1d(e, stft, WK_F32, 0);
  wk_conv1d dw = {6, 33, 6, 12, 2, 1, 6, 5, 6, WK_PAD_REPLICATE, 0};
  check_conv1d(e, dw, WK_F32, 0);
  wk_conv1d grp = {6, 20, 9, 3, 1, 2, 3, 2, 2, WK_PAD_REFLECT, 0};
  check_conv1d(e, grp, WK_F32, 1);
  /* BigVGAN's low-pass: one [1, 1, 12] filter shared by every channel. */
  wk_conv1d lp = {5, 24, 5, 12, 2, 1, 5, 5, 6, WK_PAD_REPLICATE, 1};
  check_conv1d(e, lp, WK_F32, 0);
  /* Long rows: several GEMM tiles, padding at both ends, strided. */
  wk_conv1d lng = {4, 1000, 3, 7, 1, 3, 1, 9, 9, WK_PAD_REFLECT, 0};
  check_conv1d(e, lng, WK_F32, 1);
  wk_conv1d lst = {3, 999, 2, 5, 3, 1, 1, 2, 2, WK_PAD_REPLICATE, 0};
  check_conv1d(e, lst, WK_BF16, 0);
  for (int r = 0; r < 4; r++) {
    wk_conv1d q = {0};
    q.groups = wt_int(1, 3);
    q.Ci = q.groups * wt_int(1, 4);
    q.Co = q.groups * wt_int(1, 4);
    q.L = wt_int(8, 50);
    q.k = wt_int(1, 7);
    q.stride = wt_int(1, 3);
    q.dilation = wt_int(1, 3);
    q.pad = (int)wt_int(0, 3);
    q.pad_front = wt_int(0, 4);
    q.pad_back = wt_int(0, 4);
    if (wk_conv1d_out_len(&q) < 1) q.pad_back += q.dilation * q.k;
    if (q.pad == WK_PAD_REFLECT && q.pad_back >= q.L) q.pad = WK_PAD_ZEROS;
    check_conv1d(e, q, WK_F32, (int)(r & 1));
  }
  /* Bad arguments name the op. */
  float buf[64] = {0};
  wk_conv1d bad = {3, 8, 4, 3, 1, 1, 2, 1, 1, 0, 0}; /* groups 2 vs Ci 3 */
  WT_RC(wk_conv1d_fwd(e->c, &bad, buf, wt_f32(buf), wt_none(), buf + 32),
        WK_EINVAL);
  WT_CHECK(strstr(wk_last_error(e->c), "wk_conv1d_fwd") != NULL, "%s",
           wk_last_error(e->c));
  wk_conv1d refl = {1, 4, 1, 3, 1, 1, 1, 4, 0, WK_PAD_REFLECT, 0};
  WT_RC(wk_conv1d_fwd(e->c, &refl, buf, wt_f32(buf), wt_none(), buf + 32),
        WK_EINVAL);
}

static void check_convt1d(wt_env *e, wk_convt1d p, wk_dtype wdt, int with_b) {
  int64_t Cig = p.Ci / p.groups, Cog = p.Co / p.groups;
  int64_t Lo = wk_convt1d_out_len(&p);
  int64_t nx = p.Ci * p.L, nw = (p.shared ? Cig : p.Ci) * Cog * p.k,
          ny = p.Co * Lo;
  float *x = wt_randn(nx, -1, 1), *w = wt_randn(nw, -1, 1);
  float *b = with_b ? wt_randn(p.Co, -1, 1) : NULL;
  float *deq = malloc(nw * 4), scale;
  void *wq = wt_quantise(w, nw, wdt, deq, &scale);
  /* Scatter form (the definition), unlike the kernels' gather. */
  double *want = wt_dalloc(ny);
  for (int64_t co = 0; co < p.Co; co++)
    for (int64_t o = 0; o < Lo; o++)
      want[co * Lo + o] = b ? b[co] : 0.0;
  for (int64_t ci = 0; ci < p.Ci; ci++) {
    int64_t g = ci / Cig;
    for (int64_t oc = 0; oc < Cog; oc++)
      for (int64_t l = 0; l < p.L; l++)
        for (int64_t kk = 0; kk < p.k; kk++) {
          int64_t o = l * p.stride + kk - p.padding;
          if (o < 0 || o >= Lo) continue;
          int64_t wr = p.shared ? ci % Cig : ci;
          want[(g * Cog + oc) * Lo + o] +=
              (double)x[ci * p.L + l] * deq[(wr * Cog + oc) * p.k + kk];
        }
  }
  float *y = malloc((ny + 1) * 4);
  wk_w W = {wq, wdt, scale};
  WT_RC(wk_conv_transpose1d(e->c, &p, x, W, b ? wt_f32(b) : wt_none(), y), 0);
  double err = wt_norm_err(y, want, ny);
  WT_CHECK(err <= 1e-5,
           "conv_transpose1d Ci%lld L%lld Co%lld k%lld s%lld p%lld g%lld: "
           "err %.3g",
           (long long)p.Ci, (long long)p.L, (long long)p.Co, (long long)p.k,
           (long long)p.stride, (long long)p.padding, (long long)p.groups, err);
  free(x), free(w), free(b), free(deq), free(wq), free(want), free(y);
}

static void test_conv_transpose1d(wt_env *e) {
  /* HiFi-GAN ups (k 16 s 6 p 5, k 15 s 5 p 5, k 4 s 2 p 1) and a depthwise
   * x2 upsampling filter. */
  wk_convt1d a = {8, 9, 4, 16, 6, 5, 1, 0};
  check_convt1d(e, a, WK_F32, 1);
  wk_convt1d b = {6, 7, 3, 15, 5, 5, 1, 0};
  check_convt1d(e, b, WK_BF16, 1);
  wk_convt1d c = {4, 11, 2, 4, 2, 1, 1, 0};
  check_convt1d(e, c, WK_F32, 0);
  wk_convt1d d = {5, 13, 5, 12, 2, 0, 5, 0};
  check_convt1d(e, d, WK_F32, 0);
  wk_convt1d sh = {4, 13, 4, 12, 2, 15, 4, 1}; /* BigVGAN x2 upsampling */
  check_convt1d(e, sh, WK_F32, 0);
  /* Long enough that each phase spans several blocks of outputs. */
  wk_convt1d lng = {3, 700, 2, 11, 4, 3, 1, 0};
  check_convt1d(e, lng, WK_F32, 1);
  wk_convt1d lsh = {3, 600, 3, 12, 2, 15, 3, 1};
  check_convt1d(e, lsh, WK_BF16, 0);
  for (int r = 0; r < 3; r++) {
    wk_convt1d q;
    q.shared = 0;
    q.groups = wt_int(1, 2);
    q.Ci = q.groups * wt_int(1, 4);
    q.Co = q.groups * wt_int(1, 4);
    q.L = wt_int(1, 20);
    q.k = wt_int(1, 9);
    q.stride = wt_int(1, 4);
    q.padding = wt_int(0, (q.k - 1) / 2);
    check_convt1d(e, q, WK_F32, r & 1);
  }
  float buf[64] = {0};
  wk_convt1d bad = {2, 1, 2, 2, 1, 3, 1, 0}; /* padding leaves nothing */
  WT_RC(wk_conv_transpose1d(e->c, &bad, buf, wt_f32(buf), wt_none(), buf + 32),
        WK_EINVAL);
}

static void test_upsample_nearest(wt_env *e) {
  int64_t C = 3, T = 2, H = 5, W = 4;
  int ft = 1, fh = 2, fw = 3;
  int64_t n = C * T * H * W, ny = n * ft * fh * fw;
  float *x = wt_randn(n, -1, 1), *y = malloc(ny * 4);
  WT_RC(wk_upsample_nearest(e->c, x, C, T, H, W, ft, fh, fw, y), 0);
  int ok = 1;
  for (int64_t c = 0; c < C; c++)
    for (int64_t t = 0; t < T * ft; t++)
      for (int64_t h = 0; h < H * fh; h++)
        for (int64_t w = 0; w < W * fw; w++)
          ok &= y[((c * T * ft + t) * H * fh + h) * W * fw + w] ==
                x[((c * T + t / ft) * H + h / fh) * W + w / fw];
  WT_CHECK(ok, "upsample_nearest index mapping");
  WT_RC(wk_upsample_nearest(e->c, x, C, T, H, W, 0, 2, 2, y), WK_EINVAL);
  free(x), free(y);
}

static void test_space_to_depth(wt_env *e) {
  int64_t C = 3, T = 2, H = 3, W = 2;
  int pt = 2, ph = 2, pw = 2;
  int64_t prod = pt * ph * pw, n = C * prod * T * H * W;
  float *x = wt_randn(n, -1, 1), *y = malloc(n * 4);
  for (int64_t group = 1; group <= 4; group *= 2) {
    int64_t Co = C * prod / group;
    WT_RC(wk_space_to_depth3d(e->c, x, C, T, H, W, pt, ph, pw, group, y), 0);
    double worst = 0;
    for (int64_t o = 0; o < Co; o++)
      for (int64_t t = 0; t < T; t++)
        for (int64_t h = 0; h < H; h++)
          for (int64_t w = 0; w < W; w++) {
            double s = 0;
            for (int64_t j = 0; j < group; j++) {
              /* einops "(c p1 p2 p3)" then "(c g)" */
              int64_t cs = o * group + j, c = cs / prod, r = cs % prod;
              int64_t it = r / (ph * pw), ih = (r / pw) % ph, iw = r % pw;
              s += x[((c * T * pt + t * pt + it) * H * ph + h * ph + ih) * W *
                         pw +
                     w * pw + iw];
            }
            double d = fabs(y[((o * T + t) * H + h) * W + w] - s / group);
            if (d > worst) worst = d;
          }
    WT_CHECK(worst <= 1e-6, "space_to_depth group %lld: %.3g", (long long)group,
             worst);
  }
  WT_RC(wk_space_to_depth3d(e->c, x, C, T, H, W, pt, ph, pw, 5, y), WK_EINVAL);
  free(x), free(y);
}

static void test_group_norm(wt_env *e) {
  int64_t C = 12, S = 37, G = 3, cg = C / G;
  float *x = wt_randn(C * S, -2, 3), *w = wt_randn(C, -1, 1);
  float *b = wt_randn(C, -1, 1), *y = malloc(C * S * 4);
  double *want = wt_dalloc(C * S);
  for (int64_t g = 0; g < G; g++) {
    double s = 0, q = 0;
    for (int64_t i = 0; i < cg * S; i++)
      s += x[g * cg * S + i];
    double m = s / (double)(cg * S);
    for (int64_t i = 0; i < cg * S; i++)
      q += (x[g * cg * S + i] - m) * (x[g * cg * S + i] - m);
    double inv = 1.0 / sqrt(q / (double)(cg * S) + 1e-5);
    for (int64_t c = g * cg; c < (g + 1) * cg; c++)
      for (int64_t i = 0; i < S; i++)
        want[c * S + i] = (x[c * S + i] - m) * inv * w[c] + b[c];
  }
  WT_RC(wk_group_norm(e->c, x, C, S, G, wt_f32(w), wt_f32(b), 1e-5f, y), 0);
  WT_CHECK(wt_max_rel(y, want, C * S, 1.0) <= 1e-5, "group_norm err %.3g",
           wt_max_rel(y, want, C * S, 1.0));
  /* In place, no affine, one group (GroupNorm(1, C)). */
  memcpy(y, x, C * S * 4);
  WT_RC(wk_group_norm(e->c, y, C, S, 1, wt_none(), wt_none(), 1e-6f, y), 0);
  double s = 0, q = 0;
  for (int64_t i = 0; i < C * S; i++)
    s += y[i], q += (double)y[i] * y[i];
  WT_CHECK(fabs(s / (C * S)) < 1e-5 && fabs(q / (C * S) - 1) < 1e-4,
           "group_norm(1): mean %.3g var %.3g", s / (C * S), q / (C * S));
  WT_RC(wk_group_norm(e->c, x, C, S, 5, wt_none(), wt_none(), 1e-5f, y),
        WK_EINVAL);
  free(x), free(w), free(b), free(y), free(want);
}

static void test_activations(wt_env *e) {
  int64_t C = 5, L = 41, n = C * L;
  float *x = wt_randn(n, -4, 4), *y = malloc(n * 4);
  float *al = wt_randn(C, -1, 1), *be = wt_randn(C, -1, 1);
  double *want = wt_dalloc(n);
  for (int64_t i = 0; i < n; i++)
    want[i] = x[i] >= 0 ? x[i] : 0.1 * x[i];
  WT_RC(wk_leaky_relu(e->c, x, n, 0.1f, y), 0);
  WT_CHECK(wt_max_rel(y, want, n, 1.0) <= 1e-6, "leaky_relu");
  for (int64_t i = 0; i < n; i++)
    want[i] = tanh((double)x[i]);
  WT_RC(wk_tanh(e->c, x, n, y), 0);
  WT_CHECK(wt_max_rel(y, want, n, 1.0) <= 1e-6, "tanh");
  for (int logscale = 0; logscale < 2; logscale++)
    for (int with_beta = 0; with_beta < 2; with_beta++) {
      for (int64_t c = 0; c < C; c++) {
        double a = logscale ? exp(al[c]) : al[c];
        double bb = with_beta ? (logscale ? exp(be[c]) : be[c]) : a;
        for (int64_t i = 0; i < L; i++) {
          double s = sin(x[c * L + i] * a);
          want[c * L + i] = x[c * L + i] + s * s / (bb + 1e-9);
        }
      }
      WT_RC(wk_snake(e->c, x, C, L, wt_f32(al),
                     with_beta ? wt_f32(be) : wt_none(), logscale, y),
            0);
      /* |b| may be small without logscale: compare relative to the value. */
      WT_CHECK(wt_max_rel(y, want, n, 1.0) <= 2e-5, "snake log%d beta%d: %.3g",
               logscale, with_beta, wt_max_rel(y, want, n, 1.0));
    }
  free(x), free(y), free(al), free(be), free(want);
}

static void test_stft_pieces(wt_env *e) {
  int64_t C = 3, L = 11, N = 7, T = 9;
  float *x = wt_randn(C * L, -2, 2),
        *y = malloc((C * (L + 12) + 2 * N * T) * 4);
  for (int mode = 0; mode <= WK_PAD_REPLICATE; mode++) {
    int64_t f = 4, b = 5, Lo = L + f + b;
    WT_RC(wk_pad1d(e->c, x, C, L, f, b, mode, y), 0);
    int ok = 1;
    for (int64_t r = 0; r < C; r++)
      for (int64_t i = 0; i < Lo; i++) {
        int64_t s = ref_src(i - f, L, mode ? mode : WK_PAD_ZEROS);
        ok &= y[r * Lo + i] == (s < 0 ? 0.0f : x[r * L + s]);
      }
    WT_CHECK(ok, "pad1d mode %d", mode);
  }
  WT_RC(wk_pad1d(e->c, x, C, L, L, 0, WK_PAD_REFLECT, y), WK_EINVAL);
  float *z = wt_randn(2 * N * T, -3, 3), *m = malloc(N * T * 4);
  double *want = wt_dalloc(N * T);
  for (int64_t i = 0; i < N * T; i++)
    want[i] = sqrt((double)z[i] * z[i] + (double)z[N * T + i] * z[N * T + i]);
  WT_RC(wk_complex_abs(e->c, z, N, T, m), 0);
  WT_CHECK(wt_max_rel(m, want, N * T, 1e-3) <= 1e-6, "complex_abs");
  for (int64_t i = 0; i < N * T; i++)
    want[i] = log(m[i] * 0.01 > 1e-5 ? m[i] * 0.01 : 1e-5);
  WT_RC(wk_scale(e->c, m, 0.01f, N * T, m), 0);
  WT_RC(wk_log_clamp(e->c, m, N * T, 1e-5f, m), 0);
  WT_CHECK(wt_max_rel(m, want, N * T, 1.0) <= 1e-6, "log_clamp");
  WT_RC(wk_clamp(e->c, z, 2 * N * T, -1.0f, 1.0f, y), 0);
  int ok = 1;
  for (int64_t i = 0; i < 2 * N * T; i++)
    ok &= y[i] == (z[i] < -1 ? -1.0f : z[i] > 1 ? 1.0f : z[i]);
  WT_CHECK(ok, "clamp");
  WT_RC(wk_clamp(e->c, z, 4, 1.0f, -1.0f, y), WK_EINVAL);
  free(x), free(y), free(z), free(m), free(want);
}

int main(void) {
  wt_seed("test_kernels_signal");
  wt_env e;
  if (wt_env_init(&e, 3)) return 1;
  test_conv1d(&e);
  test_conv_transpose1d(&e);
  test_upsample_nearest(&e);
  test_space_to_depth(&e);
  test_group_norm(&e);
  test_activations(&e);
  test_stft_pieces(&e);
  wt_env_fini(&e);
  return wt_finish("test_kernels_signal");
}
