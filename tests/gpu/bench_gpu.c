/*
 * bench_gpu — CUDA backend throughput, each number next to a baseline
 * measured in the same run:
 *   - H2D bandwidth, pinned vs pageable source (wk_copy_h2d_async), GB/s;
 *     baseline: a device-to-device copy of the same size (the memory ceiling).
 *   - bf16 GEMM through wk_linear (bf16 weight; includes rounding x to bf16)
 *     vs the same cublasGemmEx called directly on bf16 inputs, TFLOP/s, on
 *     4096^3 and the Gemma-like 256x3840x15360.
 *   - attention T=1024, 16 heads, D=256 (causal and full), ms and TFLOP/s.
 * Times: host clock around wk_sync, 3 warm-ups, median of the repetitions.
 * Prints `RESULT key value unit` lines for tests/gpu/check.sh's table.
 * Exits 77 without a CUDA device.
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "gpu_testutil.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

typedef int (*bench_fn)(void *arg);

/* Median seconds of `reps` synchronised runs after 3 warm-ups. The device
 * sync also covers the baseline cuBLAS handle's (default) stream. */
static void sync_all(wk_ctx *c) {
  gt_must(c, wk_sync(c), "sync");
  if (cudaDeviceSynchronize() != cudaSuccess)
    gt_must(c, WK_EDEVICE, "cudaDeviceSynchronize");
}

static double time_median(wk_ctx *c, bench_fn fn, void *arg, int reps) {
  double t[64];
  if (reps > 64) reps = 64;
  for (int i = 0; i < 3; i++)
    gt_must(c, fn(arg), "warm-up");
  sync_all(c);
  for (int i = 0; i < reps; i++) {
    double t0 = now_s();
    gt_must(c, fn(arg), "timed run");
    sync_all(c);
    t[i] = now_s() - t0;
  }
  qsort(t, (size_t)reps, sizeof t[0], cmp_d);
  return t[reps / 2];
}

static void result(const char *key, double v, const char *unit) {
  printf("RESULT %s %.4g %s\n", key, v, unit);
}

/* ---- copies -----------------------------------------------------------------
 */

typedef struct copy_arg {
  wk_ctx *c;
  void *dst;
  const void *src;
  size_t n;
  int d2d;
} copy_arg;

static int do_copy(void *p) {
  copy_arg *a = (copy_arg *)p;
  return a->d2d ? wk_copy_d2d(a->c, a->dst, a->src, a->n)
                : wk_copy_h2d_async(a->c, a->dst, a->src, a->n);
}

static void bench_copies(wk_ctx *c) {
  const size_t n = (size_t)256 << 20;
  void *pin = NULL, *dev = NULL, *dev2 = NULL;
  char *pg = (char *)gt_xmalloc(n);
  memset(pg, 1, n); /* fault the pages in before timing */
  gt_must(c, wk_host_alloc_pinned(c, n, &pin), "pinned");
  memset(pin, 1, n);
  gt_must(c, wk_dev_alloc(c, n, &dev), "dev");
  gt_must(c, wk_dev_alloc(c, n, &dev2), "dev");
  copy_arg a = {c, dev, pin, n, 0};
  double tp = time_median(c, do_copy, &a, 10);
  a.src = pg;
  double tg = time_median(c, do_copy, &a, 10);
  copy_arg d = {c, dev2, dev, n, 1};
  double td = time_median(c, do_copy, &d, 10);
  printf("H2D 256 MiB: pinned %.2f GB/s, pageable %.2f GB/s (pageable/pinned "
         "%.2f); D2D %.0f GB/s (read+write)\n",
         n / tp / 1e9, n / tg / 1e9, tp / tg, 2.0 * n / td / 1e9);
  result("h2d_pinned_GBps", n / tp / 1e9, "GB/s");
  result("h2d_pageable_GBps", n / tg / 1e9, "GB/s");
  result("h2d_pageable_over_pinned", tp / tg, "x");
  result("d2d_GBps", 2.0 * n / td / 1e9, "GB/s");
  wk_dev_free(c, dev), wk_dev_free(c, dev2);
  wk_host_free_pinned(c, pin);
  free(pg);
}

/* ---- GEMM -------------------------------------------------------------------
 */

typedef struct gemm_arg {
  wk_ctx *c;
  cublasHandle_t h;
  int64_t M, K, N;
  const float *x;
  const void *xb, *w;
  float *y;
} gemm_arg;

static int do_linear(void *p) {
  gemm_arg *a = (gemm_arg *)p;
  wk_w W = {a->w, WK_BF16, 1.0f}, B = {NULL, WK_F32, 1.0f};
  return wk_linear(a->c, a->x, a->M, a->K, W, B, a->N, a->y);
}

/* The baseline: one cublasGemmEx on already-bf16 inputs, same layout. */
static int do_cublas(void *p) {
  gemm_arg *a = (gemm_arg *)p;
  const float one = 1.0f, zero = 0.0f;
  cublasStatus_t s = cublasGemmEx(
      a->h, CUBLAS_OP_T, CUBLAS_OP_N, (int)a->N, (int)a->M, (int)a->K, &one,
      a->w, CUDA_R_16BF, (int)a->K, a->xb, CUDA_R_16BF, (int)a->K, &zero, a->y,
      CUDA_R_32F, (int)a->N, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  return s == CUBLAS_STATUS_SUCCESS ? 0 : WK_EDEVICE;
}

static void bench_gemm(wk_ctx *c, cublasHandle_t h, int64_t M, int64_t K,
                       int64_t N, const char *key) {
  float *x = gt_rand(M * K, -1, 1), *w = gt_rand(N * K, -1, 1);
  uint16_t *wb = (uint16_t *)gt_xmalloc((size_t)(N * K) * 2);
  uint16_t *xb = (uint16_t *)gt_xmalloc((size_t)(M * K) * 2);
  for (int64_t i = 0; i < N * K; i++)
    wb[i] = wk_f32_to_bf16(w[i]);
  for (int64_t i = 0; i < M * K; i++)
    xb[i] = wk_f32_to_bf16(x[i]);
  void *dx = gt_dev(c, x, (size_t)(M * K) * 4);
  void *dxb = gt_dev(c, xb, (size_t)(M * K) * 2);
  void *dw = gt_dev(c, wb, (size_t)(N * K) * 2);
  void *dy = gt_dev(c, NULL, (size_t)(M * N) * 4);
  void *ws = NULL;
  size_t wsb = wk_linear_workspace(c, M, K, N, WK_BF16);
  gt_must(c, wk_dev_alloc(c, wsb, &ws), "workspace");
  wk_set_workspace(c, ws, wsb);
  gemm_arg a = {c, h, M, K, N, (const float *)dx, dxb, dw, (float *)dy};
  double tw = time_median(c, do_linear, &a, 20);
  double tb = time_median(c, do_cublas, &a, 20);
  double fl = 2.0 * (double)M * (double)K * (double)N;
  printf("GEMM %lldx%lldx%lld bf16: wk_linear %.1f TFLOP/s (%.3f ms), "
         "cublasGemmEx %.1f TFLOP/s (%.3f ms), wk/cublas time %.2f\n",
         (long long)M, (long long)K, (long long)N, fl / tw / 1e12, tw * 1e3,
         fl / tb / 1e12, tb * 1e3, tw / tb);
  char k[96];
  snprintf(k, sizeof k, "%s_wk_linear_TFLOPs", key);
  result(k, fl / tw / 1e12, "TFLOP/s");
  snprintf(k, sizeof k, "%s_cublas_TFLOPs", key);
  result(k, fl / tb / 1e12, "TFLOP/s");
  snprintf(k, sizeof k, "%s_wk_over_cublas_time", key);
  result(k, tw / tb, "x");
  wk_set_workspace(c, NULL, 0);
  wk_dev_free(c, ws), wk_dev_free(c, dx), wk_dev_free(c, dxb);
  wk_dev_free(c, dw), wk_dev_free(c, dy);
  free(x), free(w), free(wb), free(xb);
}

/* ---- attention --------------------------------------------------------------
 */

typedef struct attn_arg {
  wk_ctx *c;
  wk_attn a;
  const float *q, *k, *v;
  float *o;
} attn_arg;

static int do_attn(void *p) {
  attn_arg *a = (attn_arg *)p;
  return wk_attention(a->c, &a->a, a->q, a->k, a->v, a->o);
}

static void bench_attention(wk_ctx *c) {
  const int64_t T = 1024, H = 16, D = 256, n = T * H * D;
  float *h = gt_rand(n, -1, 1);
  void *q = gt_dev(c, h, (size_t)n * 4), *k = gt_dev(c, h, (size_t)n * 4);
  void *v = gt_dev(c, h, (size_t)n * 4), *o = gt_dev(c, NULL, (size_t)n * 4);
  for (int causal = 0; causal < 2; causal++) {
    attn_arg a = {c,
                  {1, T, T, H, H, D, 1.0f / 16.0f, causal, 0, NULL},
                  (const float *)q,
                  (const float *)k,
                  (const float *)v,
                  (float *)o};
    double t = time_median(c, do_attn, &a, 10);
    double fl = 4.0 * T * T * D * H * (causal ? 0.5 : 1.0);
    printf("attention T=%lld H=%lld D=%lld %s: %.3f ms, %.2f TFLOP/s\n",
           (long long)T, (long long)H, (long long)D, causal ? "causal" : "full",
           t * 1e3, fl / t / 1e12);
    result(causal ? "attn_T1024_H16_D256_causal_ms" : "attn_T1024_H16_D256_ms",
           t * 1e3, "ms");
  }
  wk_dev_free(c, q), wk_dev_free(c, k), wk_dev_free(c, v), wk_dev_free(c, o);
  free(h);
}

int main(void) {
  if (wk_cuda_device_count() == 0) {
    printf("SKIP: no CUDA device\n");
    return 77;
  }
  gt_seed("bench_gpu");
  wk_ctx *c = NULL;
  if (wk_ctx_create(WK_BACKEND_CUDA, 0, 0, &c)) {
    fprintf(stderr, "FATAL: cuda context: %s\n", wk_last_error(NULL));
    return 1;
  }
  struct cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess)
    printf("device: %s, %d SMs\n", prop.name, prop.multiProcessorCount);
  cublasHandle_t h;
  if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) {
    fprintf(stderr, "FATAL: cublasCreate failed\n");
    return 1;
  }
  /* The baseline handle gets the same settings as the backend's: its own
   * workspace on the default stream, no reduced-precision reductions. */
  void *bws = NULL;
  gt_must(c, wk_dev_alloc(c, (size_t)32 << 20, &bws), "cublas workspace");
  cublasSetWorkspace(h, bws, (size_t)32 << 20);
  cublasSetMathMode(
      h, (cublasMath_t)(CUBLAS_DEFAULT_MATH |
                        CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION));
  bench_copies(c);
  bench_gemm(c, h, 4096, 4096, 4096, "gemm_4096");
  bench_gemm(c, h, 256, 3840, 15360, "gemm_256x3840x15360");
  bench_attention(c);
  cudaDeviceSynchronize();
  cublasDestroy(h);
  wk_dev_free(c, bws);
  wk_ctx_destroy(c);
  return gt_failures ? 1 : 0;
}
