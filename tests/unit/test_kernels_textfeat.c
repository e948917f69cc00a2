/*
 * The LTX-2 text conditioning ops against float64 references:
 * wk_range_norm (V1 feature normalisation over the valid rows of a hidden
 * state, padded rows zeroed, in place too, deterministic across thread
 * counts, bad row0 refused) and wk_head_gate (2 * sigmoid per head).
 */
#include <math.h>

#include "wk_testutil.h"

/* The float64 reference; returns the op's conditioning, 8 max|x| / range:
 * x - mean is formed in f32, so its rounding (an ulp of |x|) comes out
 * multiplied by 8 / range, and a few close values make that large. */
static double range_ref(const float *x, int64_t rows, int64_t cols,
                        int64_t row0, double *want) {
  double s = 0, lo = INFINITY, hi = -INFINITY, amax = 0;
  for (int64_t i = row0 * cols; i < rows * cols; i++) {
    s += x[i];
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
    amax = fabs(x[i]) > amax ? fabs(x[i]) : amax;
  }
  double mean = s / ((double)(rows - row0) * cols + 1e-6);
  for (int64_t i = 0; i < rows * cols; i++)
    want[i] = i < row0 * cols ? 0.0 : 8.0 * (x[i] - mean) / (hi - lo + 1e-6);
  return 8.0 * amax / (hi - lo + 1e-6);
}

static void test_range_norm(wt_env *e) {
  const int64_t cases[][3] = {
      {1, 3, 0}, {9, 64, 0}, {33, 70, 20}, {128, 5, 127}};
  for (int k = 0; k < 4; k++) {
    int64_t rows = cases[k][0], cols = cases[k][1], row0 = cases[k][2];
    int64_t n = rows * cols;
    float *x = wt_randn(n, -4, 9), *y = malloc(n * 4);
    double *want = wt_dalloc(n);
    /* Padded rows hold garbage the statistics must not see. */
    for (int64_t i = 0; i < row0 * cols; i++)
      x[i] = 1e6f;
    double cond = range_ref(x, rows, cols, row0, want);
    WT_RC(wk_range_norm(e->c, x, rows, cols, row0, 1e-6f, y), 0);
    double err = wt_max_rel(y, want, n, cond > 1.0 ? cond : 1.0);
    WT_CHECK(err <= 1e-5, "range_norm %lldx%lld row0 %lld: %.3g",
             (long long)rows, (long long)cols, (long long)row0, err);
    int zeros = 1;
    for (int64_t i = 0; i < row0 * cols; i++)
      zeros &= y[i] == 0.0f;
    WT_CHECK(zeros, "range_norm: padded rows are zero");
    WT_RC(wk_range_norm(e->c, x, rows, cols, row0, 1e-6f, x), 0); /* alias */
    WT_CHECK(memcmp(x, y, (size_t)n * 4) == 0, "range_norm in place");
    free(x), free(y), free(want);
  }
  float v = 1.0f, out;
  WT_RC(wk_range_norm(e->c, &v, 1, 1, 1, 1e-6f, &out), WK_EINVAL);
  WT_RC(wk_range_norm(e->c, &v, 1, 1, -1, 1e-6f, &out), WK_EINVAL);
  WT_RC(wk_range_norm(e->c, &v, 1, 1, 0, NAN, &out), WK_EINVAL);
}

static void test_range_norm_threads(void) {
  int64_t rows = 300, cols = 257, n = rows * cols;
  float *x = wt_randn(n, -3, 3), *y1 = malloc(n * 4), *y3 = malloc(n * 4);
  wt_env a, b;
  if (wt_env_init(&a, 1) || wt_env_init(&b, 3)) {
    WT_CHECK(0, "contexts");
    return;
  }
  WT_RC(wk_range_norm(a.c, x, rows, cols, 17, 1e-6f, y1), 0);
  WT_RC(wk_range_norm(b.c, x, rows, cols, 17, 1e-6f, y3), 0);
  WT_CHECK(memcmp(y1, y3, (size_t)n * 4) == 0,
           "range_norm: same bits on 1 and 3 threads");
  wt_env_fini(&a);
  wt_env_fini(&b);
  free(x), free(y1), free(y3);
}

static void test_head_gate(wt_env *e) {
  int64_t rows = 37, H = 3, D = 16, n = rows * H * D;
  float *x = wt_randn(n, -2, 2), *g = wt_randn(rows * H, -8, 8);
  float *y = malloc(n * 4);
  double *want = wt_dalloc(n);
  for (int64_t i = 0; i < n; i++)
    want[i] = x[i] * 2.0 / (1.0 + exp(-(double)g[i / D]));
  WT_RC(wk_head_gate(e->c, x, g, rows, H, D, y), 0);
  WT_CHECK(wt_max_rel(y, want, n, 1e-3) <= 1e-6, "head_gate: %.3g",
           wt_max_rel(y, want, n, 1e-3));
  WT_RC(wk_head_gate(e->c, x, g, rows, H, D, x), 0); /* in place */
  WT_CHECK(memcmp(x, y, (size_t)n * 4) == 0, "head_gate in place");
  WT_RC(wk_head_gate(e->c, x, NULL, rows, H, D, y), WK_EINVAL);
  free(x), free(g), free(y), free(want);
}

int main(void) {
  wt_seed("test_kernels_textfeat");
  wt_env e;
  if (wt_env_init(&e, 3)) return 1;
  test_range_norm(&e);
  test_range_norm_threads();
  test_head_gate(&e);
  wt_env_fini(&e);
  return wt_finish("test_kernels_textfeat");
}
