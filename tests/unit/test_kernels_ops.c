/*
 * Normalisation, softmax, activations, elementwise and row-broadcast ops,
 * transpose, embedding gather and RoPE against float64 references.
 * Errors are elementwise relative, max(|got - want|) / max(|want|, floor).
 * Where an output is a difference of O(1) terms (layernorm's x - mean,
 * modulate, gate_add) its relative error near zero is ill-conditioned, so
 * the floor is the operands' scale, 1, making the check absolute there.
 */
#include "wk_testutil.h"

static double *dcopy(const float *x, int64_t n) {
  double *d = wt_dalloc(n);
  for (int64_t i = 0; i < n; i++)
    d[i] = x[i];
  return d;
}

static void check_rmsnorm(wt_env *e, int64_t rows, int64_t dim, wk_dtype wdt,
                          int with_w, int plus_one, int in_place) {
  float *x = wt_randn(rows * dim, -3, 3), *w = wt_randn(dim, -1, 1);
  float *deq = malloc(dim * 4), scale;
  void *wq = wt_quantise(w, dim, wdt, deq, &scale);
  double *want = wt_dalloc(rows * dim);
  for (int64_t r = 0; r < rows; r++) {
    double ss = 0.0;
    for (int64_t i = 0; i < dim; i++)
      ss += (double)x[r * dim + i] * x[r * dim + i];
    double inv = 1.0 / sqrt(ss / dim + 1e-6);
    for (int64_t i = 0; i < dim; i++) {
      double g = with_w ? (plus_one ? 1.0 + deq[i] : deq[i]) : 1.0;
      want[r * dim + i] = x[r * dim + i] * inv * g;
    }
  }
  float *y = in_place ? x : malloc(rows * dim * 4);
  wk_w W = {with_w ? wq : NULL, wdt, scale};
  WT_RC(wk_rmsnorm(e->c, x, W, rows, dim, 1e-6f, plus_one, y), 0);
  double err = wt_max_rel(y, want, rows * dim, 1e-3);
  WT_CHECK(err <= 1e-5, "rmsnorm rows%lld dim%lld dt%d w%d plus%d: %.3g",
           (long long)rows, (long long)dim, (int)wdt, with_w, plus_one, err);
  if (!in_place) free(y);
  free(x), free(w), free(deq), free(wq), free(want);
}

static void test_rmsnorm_plain_gemma_and_weight_dtypes(wt_env *e) {
  check_rmsnorm(e, 7, 300, WK_F32, 1, 0, 0);
  check_rmsnorm(e, 7, 300, WK_F32, 1, 1, 1);
  check_rmsnorm(e, 1, 1, WK_F32, 0, 0, 0);
  check_rmsnorm(e, 65, 513, WK_BF16, 1, 1, 0);
  check_rmsnorm(e, 3, 64, WK_FP8_E4M3, 1, 0, 0);
}

static void test_layernorm_with_and_without_affine(wt_env *e) {
  for (int variant = 0; variant < 3; variant++) {
    int64_t rows = 9, dim = variant == 2 ? 1 : 257;
    float *x = wt_randn(rows * dim, -2, 5), *w = wt_randn(dim, -1, 1);
    float *b = wt_randn(dim, -1, 1), *y = malloc(rows * dim * 4);
    double *want = wt_dalloc(rows * dim);
    for (int64_t r = 0; r < rows; r++) {
      double s = 0, ss = 0;
      for (int64_t i = 0; i < dim; i++)
        s += x[r * dim + i];
      double mean = s / dim;
      for (int64_t i = 0; i < dim; i++)
        ss += (x[r * dim + i] - mean) * (x[r * dim + i] - mean);
      double inv = 1.0 / sqrt(ss / dim + 1e-5);
      for (int64_t i = 0; i < dim; i++)
        want[r * dim + i] =
            (x[r * dim + i] - mean) * inv * (variant == 0 ? w[i] : 1.0) +
            (variant == 0 ? b[i] : 0.0);
    }
    wk_w W = variant == 0 ? wt_f32(w) : wt_none();
    wk_w B = variant == 0 ? wt_f32(b) : wt_none();
    WT_RC(wk_layernorm(e->c, x, W, B, rows, dim, 1e-5f, y), 0);
    double err = wt_max_rel(y, want, rows * dim, 1.0);
    WT_CHECK(err <= 1e-5, "layernorm variant %d: %.3g", variant, err);
    free(x), free(w), free(b), free(y), free(want);
  }
}

static void test_softmax_rows_and_masked_row(wt_env *e) {
  int64_t rows = 11, cols = 1001;
  float *x = wt_randn(rows * cols, -30, 30);
  for (int64_t i = 0; i < cols; i++)
    x[3 * cols + i] = -INFINITY;
  x[5 * cols + 7] = -INFINITY;
  double *want = wt_dalloc(rows * cols);
  for (int64_t r = 0; r < rows; r++) {
    double m = -INFINITY, s = 0;
    for (int64_t i = 0; i < cols; i++)
      m = fmax(m, x[r * cols + i]);
    if (m == -INFINITY) continue;
    for (int64_t i = 0; i < cols; i++)
      s += exp(x[r * cols + i] - m);
    for (int64_t i = 0; i < cols; i++)
      want[r * cols + i] = exp(x[r * cols + i] - m) / s;
  }
  WT_RC(wk_softmax(e->c, x, rows, cols, x), 0); /* in place */
  double err = wt_max_rel(x, want, rows * cols, 1e-6);
  WT_CHECK(err <= 1e-5, "softmax: %.3g", err);
  free(x), free(want);
}

static void test_activations_and_elementwise(wt_env *e) {
  int64_t n = 100003;
  float *a = wt_randn(n, -8, 8), *b = wt_randn(n, -8, 8);
  float *y = malloc(n * 4);
  double *want = wt_dalloc(n);
  for (int64_t i = 0; i < n; i++) {
    double x = a[i];
    want[i] =
        0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
  }
  WT_RC(wk_gelu_tanh(e->c, a, n, y), 0);
  WT_CHECK(wt_max_rel(y, want, n, 1e-3) <= 1e-5, "gelu_tanh: %.3g",
           wt_max_rel(y, want, n, 1e-3));
  for (int64_t i = 0; i < n; i++)
    want[i] = a[i] / (1.0 + exp(-(double)a[i]));
  WT_RC(wk_silu(e->c, a, n, y), 0);
  WT_CHECK(wt_max_rel(y, want, n, 1e-3) <= 1e-5, "silu: %.3g",
           wt_max_rel(y, want, n, 1e-3));
  for (int64_t i = 0; i < n; i++)
    want[i] = (double)a[i] + b[i];
  WT_RC(wk_add(e->c, a, b, n, y), 0);
  WT_CHECK(wt_max_rel(y, want, n, 1e-3) <= 1e-6, "add");
  for (int64_t i = 0; i < n; i++)
    want[i] = (double)a[i] * b[i];
  WT_RC(wk_mul(e->c, a, b, n, y), 0);
  WT_CHECK(wt_max_rel(y, want, n, 1e-6) <= 1e-6, "mul");
  for (int64_t i = 0; i < n; i++)
    want[i] = (double)a[i] * -0.3f;
  WT_RC(wk_scale(e->c, a, -0.3f, n, a), 0); /* in place */
  WT_CHECK(wt_max_rel(a, want, n, 1e-6) <= 1e-6, "scale in place");
  WT_RC(wk_add(e->c, b, b, 1, b), 0);
  free(a), free(b), free(y), free(want);
}

static void test_row_broadcast_ops(wt_env *e) {
  int64_t rows = 37, cols = 129, n = rows * cols;
  float *x = wt_randn(n, -2, 2), *h = wt_randn(n, -2, 2);
  float *s = wt_randn(cols, -1, 1), *t = wt_randn(cols, -1, 1);
  float *y = malloc(n * 4);
  double *want = wt_dalloc(n);
  for (int64_t i = 0; i < n; i++)
    want[i] = (double)x[i] + s[i % cols];
  WT_RC(wk_add_row(e->c, x, s, rows, cols, y), 0);
  WT_CHECK(wt_max_rel(y, want, n, 1e-3) <= 1e-6, "add_row");
  for (int64_t i = 0; i < n; i++)
    want[i] = (double)x[i] * (1.0 + s[i % cols]) + t[i % cols];
  WT_RC(wk_modulate(e->c, x, s, t, rows, cols, y), 0);
  WT_CHECK(wt_max_rel(y, want, n, 1.0) <= 1e-5, "modulate: %.3g",
           wt_max_rel(y, want, n, 1.0));
  for (int64_t i = 0; i < n; i++)
    want[i] = (double)x[i] + (double)s[i % cols] * h[i];
  WT_RC(wk_gate_add(e->c, x, s, h, rows, cols, x), 0); /* y aliases res */
  WT_CHECK(wt_max_rel(x, want, n, 1.0) <= 1e-5, "gate_add: %.3g",
           wt_max_rel(x, want, n, 1.0));
  /* head_gate: x [rows, H, D] *= 2 sigmoid(g [rows, H]); cols = 3 x 43. */
  int64_t H = 3, D = cols / H;
  float *g = wt_randn(rows * H, -4, 4);
  for (int64_t i = 0; i < n; i++)
    want[i] = (double)h[i] * 2.0 / (1.0 + exp(-(double)g[i / D]));
  WT_RC(wk_head_gate(e->c, h, g, rows, H, D, h), 0);
  WT_CHECK(wt_max_rel(h, want, n, 1e-3) <= 1e-6, "head_gate: %.3g",
           wt_max_rel(h, want, n, 1e-3));
  WT_RC(wk_head_gate(e->c, h, NULL, rows, H, D, h), WK_EINVAL);
  free(g);
  free(x), free(h), free(s), free(t), free(y), free(want);
}

static void test_transpose_odd_shapes(wt_env *e) {
  /* Edges of the 8 x 8 vector blocks and of the 32 x 32 tiles. */
  const int64_t shapes[][2] = {{1, 1},   {1, 77},   {65, 33},
                               {300, 7}, {40, 200}, {8, 8}};
  for (int k = 0; k < 6; k++) {
    int64_t R = shapes[k][0], C = shapes[k][1];
    float *x = wt_randn(R * C, -1, 1), *y = malloc(R * C * 4);
    WT_RC(wk_transpose(e->c, x, R, C, y), 0);
    int ok = 1;
    for (int64_t r = 0; r < R; r++)
      for (int64_t c = 0; c < C; c++)
        ok &= y[c * R + r] == x[r * C + c];
    WT_CHECK(ok, "transpose %lldx%lld", (long long)R, (long long)C);
    free(x), free(y);
  }
}

static void test_embed_gather_dtypes_and_bad_id(wt_env *e) {
  int64_t V = 50, C = 33, T = 19;
  float *tab = wt_randn(V * C, -1, 1), *deq = malloc(V * C * 4), scale;
  int32_t ids[19];
  for (int t = 0; t < T; t++)
    ids[t] = (int32_t)wt_int(0, V - 1);
  ids[0] = 0;
  ids[1] = (int32_t)V - 1;
  float *out = malloc(T * C * 4);
  wk_dtype dts[3] = {WK_F32, WK_BF16, WK_FP8_E4M3};
  for (int d = 0; d < 3; d++) {
    void *q = wt_quantise(tab, V * C, dts[d], deq, &scale);
    wk_w W = {q, dts[d], scale};
    for (int host = 0; host < 2; host++) {
      memset(out, 0, T * C * 4);
      int rc = host ? wk_embed_gather_host(e->c, W, V, C, ids, T, 2.5f, out)
                    : wk_embed_gather(e->c, W, V, C, ids, T, 2.5f, out);
      WT_RC(rc, 0);
      int ok = 1;
      for (int64_t t = 0; t < T; t++)
        for (int64_t c = 0; c < C; c++)
          ok &= out[t * C + c] == deq[ids[t] * C + c] * 2.5f;
      WT_CHECK(ok, "embed_gather dt%d host%d", (int)dts[d], host);
    }
    free(q);
  }
  ids[4] = (int32_t)V;
  WT_RC(wk_embed_gather(e->c, wt_f32(tab), V, C, ids, T, 1.0f, out), WK_EINVAL);
  WT_CHECK(strstr(wk_last_error(e->c), "ids[4]") != NULL, "names the id: %s",
           wk_last_error(e->c));
  ids[4] = -1;
  WT_RC(wk_embed_gather_host(e->c, wt_f32(tab), V, C, ids, T, 1.0f, out),
        WK_EINVAL);
  free(tab), free(deq), free(out);
}

static void test_rope_half_and_interleaved(wt_env *e) {
  int64_t T = 13, H = 3, D = 10;
  float *cs = wt_randn(T * D, -1, 1), *sn = wt_randn(T * D, -1, 1);
  for (int mode = 0; mode < 2; mode++) {
    float *x = wt_randn(T * H * D, -2, 2);
    double *want = dcopy(x, T * H * D);
    for (int64_t t = 0; t < T; t++)
      for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < D / 2; i++) {
          int64_t p = mode == WK_ROPE_HALF ? i : 2 * i;
          int64_t q = mode == WK_ROPE_HALF ? i + D / 2 : 2 * i + 1;
          double a = x[(t * H + h) * D + p], b = x[(t * H + h) * D + q];
          want[(t * H + h) * D + p] = a * cs[t * D + p] - b * sn[t * D + p];
          want[(t * H + h) * D + q] = b * cs[t * D + q] + a * sn[t * D + q];
        }
    WT_RC(wk_rope(e->c, x, T, H, D, cs, sn, mode), 0);
    WT_CHECK(wt_norm_err(x, want, T * H * D) <= 1e-6, "rope mode %d: %.3g",
             mode, wt_norm_err(x, want, T * H * D));
    free(x), free(want);
  }
  float x1[6] = {0};
  WT_RC(wk_rope(e->c, x1, 1, 2, 3, cs, sn, 0), WK_EINVAL); /* odd D */
  WT_RC(wk_rope(e->c, x1, 1, 1, 2, cs, sn, 7), WK_EINVAL); /* bad mode */
  free(cs), free(sn);
}

/* Row ops split over the pool give the same bytes with 1 and 3 threads. */
static void test_row_ops_deterministic_across_threads(wt_env *e) {
  int64_t rows = 301, cols = 257, n = rows * cols;
  float *x = wt_randn(n, -4, 4), *w = wt_randn(cols, -1, 1);
  float *y1 = malloc(n * 4), *y3 = malloc(n * 4);
  wt_env e1;
  wt_env_init(&e1, 1);
  WT_RC(wk_rmsnorm(e->c, x, wt_f32(w), rows, cols, 1e-6f, 1, y3), 0);
  WT_RC(wk_rmsnorm(e1.c, x, wt_f32(w), rows, cols, 1e-6f, 1, y1), 0);
  WT_CHECK(memcmp(y1, y3, n * 4) == 0, "rmsnorm 1 vs 3 threads");
  WT_RC(wk_layernorm(e->c, x, wt_f32(w), wt_f32(w), rows, cols, 1e-6f, y3), 0);
  WT_RC(wk_layernorm(e1.c, x, wt_f32(w), wt_f32(w), rows, cols, 1e-6f, y1), 0);
  WT_CHECK(memcmp(y1, y3, n * 4) == 0, "layernorm 1 vs 3 threads");
  WT_RC(wk_softmax(e->c, x, rows, cols, y3), 0);
  WT_RC(wk_softmax(e1.c, x, rows, cols, y1), 0);
  WT_CHECK(memcmp(y1, y3, n * 4) == 0, "softmax 1 vs 3 threads");
  WT_RC(wk_gelu_tanh(e->c, x, n, y3), 0);
  WT_RC(wk_gelu_tanh(e1.c, x, n, y1), 0);
  WT_CHECK(memcmp(y1, y3, n * 4) == 0, "gelu 1 vs 3 threads");
  wt_env_fini(&e1);
  free(x), free(w), free(y1), free(y3);
}

/* wk_channel_rmsnorm against a float64 PixelNorm on channel-first data
 * (with and without modulation and SiLU, in place too, a position count
 * off the 512-position blocks), bitwise on 1 and 3 threads; scale without
 * shift is refused. */
static void test_channel_rmsnorm(wt_env *e) {
  const int64_t C = 37, S = 1100, n = C * S;
  float *x = wt_randn(n, -3, 3), *sc = wt_randn(C, -1, 1);
  float *sh = wt_randn(C, -1, 1), *y = malloc(n * 4), *y1 = malloc(n * 4);
  double *want = wt_dalloc(n);
  for (int mode = 0; mode < 2; mode++) {
    for (int64_t s = 0; s < S; s++) {
      double ss = 0;
      for (int64_t c = 0; c < C; c++)
        ss += (double)x[c * S + s] * x[c * S + s];
      double inv = 1.0 / sqrt(ss / (double)C + 1e-6);
      for (int64_t c = 0; c < C; c++) {
        double v = x[c * S + s] * inv;
        if (mode) {
          v = v * (1.0 + sc[c]) + sh[c];
          v = v / (1.0 + exp(-v));
        }
        want[c * S + s] = v;
      }
    }
    WT_RC(wk_channel_rmsnorm(e->c, x, C, S, 1e-6f, mode ? sc : NULL,
                             mode ? sh : NULL, mode, NULL, y),
          0);
    /* Relative to the output's scale: the shift can cancel a value. */
    double err = wt_max_rel(y, want, n, 1.0);
    WT_CHECK(err <= 1e-6, "channel_rmsnorm mode %d: %.3g", mode, err);
  }
  wt_env e1;
  wt_env_init(&e1, 1);
  WT_RC(wk_channel_rmsnorm(e1.c, x, C, S, 1e-6f, sc, sh, 1, NULL, y1), 0);
  WT_CHECK(memcmp(y, y1, n * 4) == 0, "channel_rmsnorm 1 vs 3 threads");
  wt_env_fini(&e1);
  memcpy(y1, x, n * 4);
  WT_RC(wk_channel_rmsnorm(e->c, y1, C, S, 1e-6f, sc, sh, 1, NULL, y1), 0);
  WT_CHECK(memcmp(y, y1, n * 4) == 0, "channel_rmsnorm in place");
  WT_RC(wk_channel_rmsnorm(e->c, x, C, S, 1e-6f, sc, NULL, 0, NULL, y),
        WK_EINVAL);
  free(x), free(sc), free(sh), free(y), free(y1), free(want);
}

int main(void) {
  wt_seed("test_kernels_ops");
  wt_env e;
  if (wt_env_init(&e, 3)) return 1;
  test_rmsnorm_plain_gemma_and_weight_dtypes(&e);
  test_layernorm_with_and_without_affine(&e);
  test_softmax_rows_and_masked_row(&e);
  test_activations_and_elementwise(&e);
  test_row_broadcast_ops(&e);
  test_transpose_odd_shapes(&e);
  test_embed_gather_dtypes_and_bad_id(&e);
  test_rope_half_and_interleaved(&e);
  test_row_ops_deterministic_across_threads(&e);
  test_channel_rmsnorm(&e);
  wt_env_fini(&e);
  return wt_finish("test_kernels_ops");
}
