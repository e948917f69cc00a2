/*
 * bench_ops — wk_attention on the cpu (T = 1024, 16 heads, D = 256) against
 * two baselines measured in the same run on the same inputs:
 *   naive: the textbook loops (full score row per query, single thread);
 *   blas:  the materialising approach, per head S = Q K^T with cblas_sgemm
 *          into a T x T matrix, row softmax, O = P V with cblas_sgemm.
 * wk_attention runs with a pool of 1 thread and of all cores (its GEMMs use
 * OpenBLAS threads either way). Prints times, speed-ups and the max
 * difference to the naive result. Also times the causal and GQA (8 KV
 * heads, Gemma-3) variants of wk_attention.
 * Usage: bench_ops [T]   (default 1024)
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wk.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Layout [T, H, D] for q, k, v, out (B = 1, Hq = Hkv). */
static void naive(const float *q, const float *k, const float *v, float *out,
                  long T, long H, long D, float scale) {
  float *s = malloc(sizeof(float) * T);
  for (long h = 0; h < H; h++)
    for (long i = 0; i < T; i++) {
      float m = -INFINITY, sum = 0.0f;
      for (long j = 0; j < T; j++) {
        float d = 0.0f;
        for (long e = 0; e < D; e++)
          d += q[(i * H + h) * D + e] * k[(j * H + h) * D + e];
        s[j] = d * scale;
        m = s[j] > m ? s[j] : m;
      }
      for (long j = 0; j < T; j++) {
        s[j] = expf(s[j] - m);
        sum += s[j];
      }
      float *o = out + (i * H + h) * D;
      for (long e = 0; e < D; e++)
        o[e] = 0.0f;
      for (long j = 0; j < T; j++)
        for (long e = 0; e < D; e++)
          o[e] += s[j] / sum * v[(j * H + h) * D + e];
    }
  free(s);
}

static void blas_attention(const float *q, const float *k, const float *v,
                           float *out, long T, long H, long D, float scale,
                           float *S) {
  for (long h = 0; h < H; h++) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, D, scale,
                q + h * D, H * D, k + h * D, H * D, 0.0f, S, T);
    for (long i = 0; i < T; i++) {
      float *r = S + i * T, m = -INFINITY, sum = 0.0f;
      for (long j = 0; j < T; j++)
        m = r[j] > m ? r[j] : m;
      for (long j = 0; j < T; j++)
        sum += (r[j] = expf(r[j] - m));
      for (long j = 0; j < T; j++)
        r[j] /= sum;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, D, T, 1.0f, S, T,
                v + h * D, H * D, 0.0f, out + h * D, H * D);
  }
}

static double time_wk(wk_ctx *c, const wk_attn *a, const float *q,
                      const float *k, const float *v, float *out) {
  size_t wsb = wk_attention_workspace(c, a);
  void *ws = malloc(wsb);
  wk_set_workspace(c, ws, wsb);
  double best = 1e30;
  for (int r = 0; r < 3; r++) {
    double t0 = now();
    if (wk_attention(c, a, q, k, v, out)) {
      fprintf(stderr, "bench_ops: %s\n", wk_last_error(c));
      exit(1);
    }
    double t = now() - t0;
    best = t < best ? t : best;
  }
  free(ws);
  return best;
}

int main(int argc, char **argv) {
  long T = argc > 1 ? atol(argv[1]) : 1024, H = 16, D = 256;
  if (T < 1) T = 1024;
  float scale = 1.0f / sqrtf((float)D);
  long n = T * H * D;
  float *q = malloc(sizeof(float) * n), *k = malloc(sizeof(float) * n);
  float *v = malloc(sizeof(float) * n), *o_ref = malloc(sizeof(float) * n);
  float *o_blas = malloc(sizeof(float) * n), *o_wk = malloc(sizeof(float) * n);
  float *S = malloc(sizeof(float) * T * T);
  srand(7);
  for (long i = 0; i < n; i++) {
    q[i] = rand() / (float)RAND_MAX - 0.5f;
    k[i] = rand() / (float)RAND_MAX - 0.5f;
    v[i] = rand() / (float)RAND_MAX - 0.5f;
  }
  wk_ctx *c, *c1;
  if (wk_ctx_create(WK_BACKEND_CPU, 0, 0, &c) ||
      wk_ctx_create(WK_BACKEND_CPU, 0, 1, &c1)) {
    fprintf(stderr, "bench_ops: %s\n", wk_last_error(NULL));
    return 1;
  }
  printf("bench_ops: attention T=%ld heads=%ld D=%ld (B=1, fp32)\n", T, H, D);
  double t0 = now();
  naive(q, k, v, o_ref, T, H, D, scale);
  double t_naive = now() - t0;
  blas_attention(q, k, v, o_blas, T, H, D, scale, S); /* warm up */
  t0 = now();
  blas_attention(q, k, v, o_blas, T, H, D, scale, S);
  double t_blas = now() - t0;
  wk_attn a = {1, T, T, H, H, D, scale, 0, 0, NULL};
  double t_wk1 = time_wk(c1, &a, q, k, v, o_wk);
  double t_wk = time_wk(c, &a, q, k, v, o_wk);
  double diff = 0.0;
  for (long i = 0; i < n; i++) {
    double d = fabs((double)o_wk[i] - o_ref[i]);
    diff = d > diff ? d : diff;
  }
  double flop = 4.0 * T * T * H * D * 1e-9;
  printf("%-34s %9s %8s %9s\n", "variant", "ms", "GFLOP/s", "vs naive");
  printf("%-34s %9.1f %8.2f %9.2f\n", "naive loops (1 thread, full rows)",
         t_naive * 1e3, flop / t_naive, 1.0);
  printf("%-34s %9.1f %8.2f %9.2f\n", "blas, T x T scores materialised",
         t_blas * 1e3, flop / t_blas, t_naive / t_blas);
  printf("%-34s %9.1f %8.2f %9.2f\n", "wk_attention, pool of 1 thread",
         t_wk1 * 1e3, flop / t_wk1, t_naive / t_wk1);
  printf("%-34s %9.1f %8.2f %9.2f\n", "wk_attention, pool of all cores",
         t_wk * 1e3, flop / t_wk, t_naive / t_wk);
  printf("wk_attention vs blas-materialised: %.2fx; max |wk - naive| = %.2g\n",
         t_blas / t_wk, diff);
  a.causal = 1;
  double t_causal = time_wk(c, &a, q, k, v, o_wk);
  printf("%-34s %9.1f  (vs full: %.2fx)\n", "wk_attention causal, all cores",
         t_causal * 1e3, t_wk / t_causal);
  a.Hkv = 8;
  double t_gqa = time_wk(c, &a, q, k, v, o_wk);
  printf("%-34s %9.1f\n", "wk_attention causal GQA 16/8", t_gqa * 1e3);
  wk_ctx_destroy(c);
  wk_ctx_destroy(c1);
  free(q), free(k), free(v), free(o_ref), free(o_blas), free(o_wk), free(S);
  return 0;
}
