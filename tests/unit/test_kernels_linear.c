/*
 * wk_linear and wk_gemm against float64 references. Errors are norm-based
 * relative (||got - want|| / ||want||) because each output is a dot product
 * whose elementwise relative error is unbounded near zero.
 */
#include "wk_testutil.h"

/* want[m,n] = sum_k x[m,k] w[n,k] + bias[n] in double. */
static double *ref_linear(const float *x, const float *w, const float *bias,
                          int64_t M, int64_t K, int64_t N) {
  double *y = wt_dalloc(M * N);
  for (int64_t m = 0; m < M; m++)
    for (int64_t n = 0; n < N; n++) {
      double s = bias ? bias[n] : 0.0;
      for (int64_t k = 0; k < K; k++)
        s += (double)x[m * K + k] * w[n * K + k];
      y[m * N + n] = s;
    }
  return y;
}

static void check_linear(wt_env *e, int64_t M, int64_t K, int64_t N,
                         wk_dtype wdt, int with_bias) {
  float *x = wt_randn(M * K, -1, 1), *w = wt_randn(N * K, -1, 1);
  float *bias = with_bias ? wt_randn(N, -1, 1) : NULL;
  float *deq = malloc((size_t)(N * K + 1) * 4), scale;
  void *wq = wt_quantise(w, N * K, wdt, deq, &scale);
  float *y = malloc((size_t)(M * N + 1) * 4);
  wk_w W = {wq, wdt, scale};
  wk_w B = with_bias ? wt_f32(bias) : wt_none();
  wt_env_ws(e, wk_linear_workspace(e->c, M, K, N, wdt));
  int rc = wk_linear(e->c, x, M, K, W, B, N, y);
  WT_CHECK(rc == 0, "wk_linear M%lld K%lld N%lld: %s", (long long)M,
           (long long)K, (long long)N, wk_last_error(e->c));
  double *want_deq = ref_linear(x, deq, bias, M, K, N);
  double err = wt_norm_err(y, want_deq, M * N);
  WT_CHECK(err <= 1e-5,
           "linear dt%d M%lld K%lld N%lld bias%d: err %.3g vs "
           "de-quantised weights",
           (int)wdt, (long long)M, (long long)K, (long long)N, with_bias, err);
  if (wdt != WK_F32) { /* quantisation error itself stays small */
    double *want = ref_linear(x, w, bias, M, K, N);
    double qerr = wt_norm_err(y, want, M * N);
    WT_CHECK(qerr <= (wdt == WK_BF16 ? 1e-2 : 6e-2),
             "linear dt%d vs f32 weights: err %.3g", (int)wdt, qerr);
    free(want);
  }
  free(x), free(w), free(bias), free(deq), free(wq), free(y), free(want_deq);
}

static void test_linear_f32_shapes(wt_env *e) {
  const int64_t shapes[][3] = {{1, 1, 1},     {1, 7, 5},     {3, 64, 33},
                               {17, 129, 65}, {64, 256, 96}, {5, 0, 4}};
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    check_linear(e, shapes[i][0], shapes[i][1], shapes[i][2], WK_F32, 0);
    check_linear(e, shapes[i][0], shapes[i][1], shapes[i][2], WK_F32, 1);
  }
}

static void test_linear_bf16_fp8_weights(wt_env *e) {
  check_linear(e, 9, 96, 31, WK_BF16, 1);
  check_linear(e, 1, 33, 7, WK_BF16, 0);
  check_linear(e, 9, 96, 31, WK_FP8_E4M3, 1);
  check_linear(e, 4, 8192, 1100, WK_BF16, 1); /* several decode blocks */
}

/* wk_set_bf16_activations: activations rounded to bf16 once. The result
 * stays near f32 activations times the same weights (bf16 rounding of x,
 * ~2^-9 relative) and is deterministic; switched off, the default
 * precision is back. */
static void test_linear_bf16_activations(wt_env *e) {
  const int64_t M = 37, K = 300, N = 70;
  float *x = wt_randn(M * K, -1, 1), *w = wt_randn(N * K, -1, 1);
  float *deq = malloc(N * K * 4), scale;
  void *wq = wt_quantise(w, N * K, WK_BF16, deq, &scale);
  float *y1 = malloc(M * N * 4), *y2 = malloc(M * N * 4);
  wk_w W = {wq, WK_BF16, 1.0f};
  wt_env_ws(e, wk_linear_workspace(e->c, M, K, N, WK_BF16));
  double *want = ref_linear(x, deq, NULL, M, K, N);
  WT_RC(wk_set_bf16_activations(e->c, 1), 0);
  WT_RC(wk_linear(e->c, x, M, K, W, wt_none(), N, y1), 0);
  WT_RC(wk_linear(e->c, x, M, K, W, wt_none(), N, y2), 0);
  double err = wt_norm_err(y1, want, M * N);
  WT_CHECK(err <= 8e-3, "bf16 activations: err %.3g", err);
  WT_CHECK(memcmp(y1, y2, M * N * 4) == 0, "bf16 activations: runs differ");
  WT_RC(wk_set_bf16_activations(e->c, 0), 0);
  WT_RC(wk_linear(e->c, x, M, K, W, wt_none(), N, y2), 0);
  err = wt_norm_err(y2, want, M * N);
  WT_CHECK(err <= 1e-5, "default precision after switching back: err %.3g",
           err);
  WT_RC(wk_set_bf16_activations(NULL, 1), WK_EINVAL);
  free(x), free(w), free(deq), free(wq), free(y1), free(y2), free(want);
}

static void test_linear_bias_in_bf16(wt_env *e) {
  const int64_t M = 3, K = 5, N = 4;
  float *x = wt_randn(M * K, -1, 1), *w = wt_randn(N * K, -1, 1);
  float *bias = wt_randn(N, -1, 1), y[12];
  uint16_t bq[4];
  for (int i = 0; i < N; i++) {
    bq[i] = wk_f32_to_bf16(bias[i]);
    bias[i] = wk_bf16_to_f32(bq[i]);
  }
  wk_w B = {bq, WK_BF16, 1.0f};
  WT_RC(wk_linear(e->c, x, M, K, wt_f32(w), B, N, y), 0);
  double *want = ref_linear(x, w, bias, M, K, N);
  WT_CHECK(wt_norm_err(y, want, M * N) <= 1e-5, "bf16 bias");
  free(x), free(w), free(bias), free(want);
}

static void test_linear_workspace_too_small(wt_env *e) {
  const int64_t M = 2, K = 16, N = 8;
  float x[32], y[16];
  uint16_t w[128] = {0};
  wk_w W = {w, WK_BF16, 1.0f};
  size_t need = wk_linear_workspace(e->c, M, K, N, WK_BF16);
  WT_CHECK(need >= (size_t)(N * K * 4), "bf16 workspace %zu", need);
  WT_CHECK(wk_linear_workspace(e->c, M, K, N, WK_F32) == 0, "f32 needs none");
  for (int i = 0; i < 32; i++)
    x[i] = 1.0f;
  char *ws = malloc(need);
  wk_set_workspace(e->c, ws, need - 1);
  WT_RC(wk_linear(e->c, x, M, K, W, wt_none(), N, y), WK_ESPACE);
  WT_CHECK(strstr(wk_last_error(e->c), "workspace") != NULL, "message: %s",
           wk_last_error(e->c));
  wk_set_workspace(e->c, ws, need);
  WT_RC(wk_linear(e->c, x, M, K, W, wt_none(), N, y), 0);
  free(ws);
  /* The workspace may start at any address (here: odd). */
  ws = malloc(need + 1);
  wk_set_workspace(e->c, ws + 1, need);
  WT_RC(wk_linear(e->c, x, M, K, W, wt_none(), N, y), 0);
  int ok = 1;
  for (int i = 0; i < M * N; i++)
    ok &= y[i] == 0.0f;
  WT_CHECK(ok, "zero weights give zeros");
  free(ws);
  wt_env_ws(e, 0);
}

static void test_linear_deterministic_across_threads(wt_env *e) {
  const int64_t M = 33, K = 300, N = 77;
  float *x = wt_randn(M * K, -1, 1), *w = wt_randn(N * K, -1, 1);
  float deq[300 * 77], scale;
  void *wq = wt_quantise(w, N * K, WK_BF16, deq, &scale);
  float *y1 = malloc(M * N * 4), *y2 = malloc(M * N * 4),
        *y3 = malloc(M * N * 4);
  wk_w W = {wq, WK_BF16, 1.0f};
  wt_env e1;
  wt_env_init(&e1, 1);
  wt_env_ws(&e1, wk_linear_workspace(e1.c, M, K, N, WK_BF16));
  wt_env_ws(e, wk_linear_workspace(e->c, M, K, N, WK_BF16));
  WT_RC(wk_linear(e->c, x, M, K, W, wt_none(), N, y1), 0);
  WT_RC(wk_linear(e->c, x, M, K, W, wt_none(), N, y2), 0);
  WT_RC(wk_linear(e1.c, x, M, K, W, wt_none(), N, y3), 0);
  WT_CHECK(memcmp(y1, y2, M * N * 4) == 0, "two runs differ");
  WT_CHECK(memcmp(y1, y3, M * N * 4) == 0, "1 vs 3 threads differ");
  wt_env_fini(&e1);
  free(x), free(w), free(wq), free(y1), free(y2), free(y3);
}

/* The same weights from another buffer (another alignment, as a streamed
 * window slot would give) produce the same bytes. */
static void test_linear_same_bytes_wherever_weights_live(wt_env *e) {
  const int64_t M = 19, K = 133, N = 45;
  float *x = wt_randn(M * K, -1, 1), *w = wt_randn(N * K, -1, 1);
  float *moved = malloc((N * K + 3) * 4);
  memcpy(moved + 3, w, N * K * 4);
  float *y1 = malloc(M * N * 4), *y2 = malloc(M * N * 4);
  WT_RC(wk_linear(e->c, x, M, K, wt_f32(w), wt_none(), N, y1), 0);
  WT_RC(wk_linear(e->c, x, M, K, wt_f32(moved + 3), wt_none(), N, y2), 0);
  WT_CHECK(memcmp(y1, y2, M * N * 4) == 0, "f32 weights moved: bytes differ");
  uint16_t *wb = malloc((N * K + 1) * 2);
  for (int64_t i = 0; i < N * K; i++)
    wb[i + 1] = wk_f32_to_bf16(w[i]);
  uint16_t *wb2 = malloc(N * K * 2);
  memcpy(wb2, wb + 1, N * K * 2);
  wk_w B1 = {wb + 1, WK_BF16, 1.0f}, B2 = {wb2, WK_BF16, 1.0f};
  wt_env_ws(e, wk_linear_workspace(e->c, M, K, N, WK_BF16));
  WT_RC(wk_linear(e->c, x, M, K, B1, wt_none(), N, y1), 0);
  WT_RC(wk_linear(e->c, x, M, K, B2, wt_none(), N, y2), 0);
  WT_CHECK(memcmp(y1, y2, M * N * 4) == 0, "bf16 weights moved: bytes differ");
  free(x), free(w), free(moved), free(y1), free(y2), free(wb), free(wb2);
}

/* One gemm case: stored shapes padded by `pad` columns, `batch` batches. */
static void check_gemm(wt_env *e, int ta, int tb, int64_t M, int64_t N,
                       int64_t K, int64_t batch, int64_t pad, float alpha,
                       float beta) {
  int64_t ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
  int64_t lda = ac + pad, ldb = bc + pad, ldc = N + pad;
  int64_t sA = ar * lda + 3, sB = br * ldb + 1, sC = M * ldc + 2;
  float *A = wt_randn(sA * batch, -1, 1), *B = wt_randn(sB * batch, -1, 1);
  float *C = wt_randn(sC * batch, -1, 1);
  double *want = wt_dalloc(sC * batch);
  for (int64_t i = 0; i < sC * batch; i++)
    want[i] = C[i];
  for (int64_t b = 0; b < batch; b++)
    for (int64_t m = 0; m < M; m++)
      for (int64_t n = 0; n < N; n++) {
        double s = 0.0;
        for (int64_t k = 0; k < K; k++) {
          double av = ta ? A[b * sA + k * lda + m] : A[b * sA + m * lda + k];
          double bv = tb ? B[b * sB + n * ldb + k] : B[b * sB + k * ldb + n];
          s += av * bv;
        }
        double *c = &want[b * sC + m * ldc + n];
        *c = alpha * s + beta * *c;
      }
  int rc = wk_gemm(e->c, ta, tb, M, N, K, alpha, A, lda, sA, B, ldb, sB, beta,
                   C, ldc, sC, batch);
  WT_CHECK(rc == 0, "wk_gemm: %s", wk_last_error(e->c));
  double err = wt_norm_err(C, want, sC * batch);
  WT_CHECK(err <= 1e-5, "gemm ta%d tb%d M%lld N%lld K%lld b%lld: err %.3g", ta,
           tb, (long long)M, (long long)N, (long long)K, (long long)batch, err);
  free(A), free(B), free(C), free(want);
}

static void test_gemm_transposes_strides_batches(wt_env *e) {
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) {
      check_gemm(e, ta, tb, 13, 9, 21, 3, 2, 1.0f, 0.0f);
      check_gemm(e, ta, tb, 1, 1, 1, 1, 0, 0.5f, 2.0f);
      check_gemm(e, ta, tb, 31, 17, 64, 2, 0, -1.5f, 0.25f);
    }
  check_gemm(e, 0, 0, 4, 5, 0, 2, 1, 1.0f, 0.5f); /* K == 0: C = beta C */
}

int main(void) {
  wt_seed("test_kernels_linear");
  wt_env e;
  if (wt_env_init(&e, 3)) return 1;
  test_linear_f32_shapes(&e);
  test_linear_bf16_fp8_weights(&e);
  test_linear_bias_in_bf16(&e);
  test_linear_workspace_too_small(&e);
  test_linear_deterministic_across_threads(&e);
  test_linear_bf16_activations(&e);
  test_linear_same_bytes_wherever_weights_live(&e);
  test_gemm_transposes_strides_batches(&e);
  wt_env_fini(&e);
  return wt_finish("test_kernels_linear");
}
