/*
 * bench_gemm — wk_linear on the cpu against calling OpenBLAS cblas_sgemm
 * directly on the same shapes in the same run. Prints GFLOP/s for both and
 * their ratio (above 1 = wk_linear faster), for f32 weights and for bf16
 * weights (oneDNN's bf16 matmul where the cpu has AVX512-BF16, f32
 * activations kept; "act": activations rounded to bf16, see
 * wk_set_bf16_activations; the baseline is the f32 sgemm). The direct sgemm
 * runs with OpenBLAS's threads set to the pool's size for its call (the
 * wk contexts keep OpenBLAS single-threaded otherwise).
 * Shapes: Gemma-3 projections at small scale, M = 256 tokens.
 * Usage: bench_gemm [reps]   (default 3; best of reps is reported)
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "wk.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 3;
  if (reps < 1) reps = 1;
  const long shapes[][3] = {{256, 1024, 1024},  {256, 2048, 2048},
                            {256, 3840, 3840},  {256, 3840, 4096},
                            {256, 3840, 15360}, {256, 15360, 3840}};
  wk_ctx *c;
  if (wk_ctx_create(WK_BACKEND_CPU, 0, 0, &c)) {
    fprintf(stderr, "bench_gemm: %s\n", wk_last_error(NULL));
    return 1;
  }
  printf("bench_gemm: wk_linear vs cblas_sgemm (same shapes, same run), "
         "best of %d\n",
         reps);
  int nt = wk_cpu_pool_threads();
  printf("%6s %6s %6s | %10s %10s %6s | %10s %6s | %10s %6s\n", "M", "K", "N",
         "sgemm GF/s", "wk f32", "ratio", "wk bf16", "ratio", "bf16 act",
         "ratio");
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    long M = shapes[s][0], K = shapes[s][1], N = shapes[s][2];
    float *x = malloc(sizeof(float) * M * K),
          *w = malloc(sizeof(float) * N * K);
    float *y = malloc(sizeof(float) * M * N);
    uint16_t *wb = malloc(sizeof(uint16_t) * N * K);
    srand(1);
    for (long i = 0; i < M * K; i++)
      x[i] = rand() / (float)RAND_MAX - 0.5f;
    for (long i = 0; i < N * K; i++) {
      w[i] = rand() / (float)RAND_MAX - 0.5f;
      wb[i] = wk_f32_to_bf16(w[i]);
    }
    wk_set_bf16_activations(c, 0);
    size_t wsb = wk_linear_workspace(c, M, K, N, WK_BF16);
    void *ws = malloc(wsb);
    wk_set_workspace(c, ws, wsb);
    wk_w Wf = {w, WK_F32, 1.0f}, Wb = {wb, WK_BF16, 1.0f},
         none = {NULL, WK_F32, 1.0f};
    double best[4] = {1e30, 1e30, 1e30, 1e30};
    for (int r = 0; r <= reps; r++) { /* r == 0 warms up */
      openblas_set_num_threads(nt);
      double t0 = now();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, x, K,
                  w, K, 0.0f, y, N);
      double t1 = now();
      openblas_set_num_threads(1);
      int rc = wk_linear(c, x, M, K, Wf, none, N, y);
      double t2 = now();
      rc |= wk_linear(c, x, M, K, Wb, none, N, y);
      double t3 = now();
      wk_set_bf16_activations(c, 1);
      rc |= wk_linear(c, x, M, K, Wb, none, N, y);
      wk_set_bf16_activations(c, 0);
      double t4 = now();
      if (rc) {
        fprintf(stderr, "bench_gemm: %s\n", wk_last_error(c));
        return 1;
      }
      if (r == 0) continue;
      best[0] = t1 - t0 < best[0] ? t1 - t0 : best[0];
      best[1] = t2 - t1 < best[1] ? t2 - t1 : best[1];
      best[2] = t3 - t2 < best[2] ? t3 - t2 : best[2];
      best[3] = t4 - t3 < best[3] ? t4 - t3 : best[3];
    }
    double flop = 2.0 * M * N * K * 1e-9;
    printf("%6ld %6ld %6ld | %10.1f %10.1f %6.2f | %10.1f %6.2f | %10.1f "
           "%6.2f\n",
           M, K, N, flop / best[0], flop / best[1], best[0] / best[1],
           flop / best[2], best[0] / best[2], flop / best[3],
           best[0] / best[3]);
    free(x), free(w), free(y), free(wb), free(ws);
  }
  wk_ctx_destroy(c);
  return 0;
}
