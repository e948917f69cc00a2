/*
 * wk_testutil.h — small helpers shared by the kernel tests: a seeded RNG
 * (seed from the clock, or WK_TEST_SEED to replay; always printed), float64
 * error measures, a context with a growable workspace, and check macros
 * that count failures instead of aborting so one run reports them all.
 */
#ifndef WK_TESTUTIL_H
#define WK_TESTUTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wk.h"

static int wt_failures;

#define WT_CHECK(cond, ...)                                                    \
  do {                                                                         \
    if (!(cond)) {                                                             \
      wt_failures++;                                                           \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                     \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
    }                                                                          \
  } while (0)

#define WT_RC(expr, want)                                                      \
  do {                                                                         \
    int rc_ = (expr);                                                          \
    WT_CHECK(rc_ == (want), "%s returned %d, want %d", #expr, rc_, (want));    \
  } while (0)

/* xorshift64*; state never 0. */
static uint64_t wt_state = 1;

static inline uint64_t wt_next(void) {
  wt_state ^= wt_state >> 12;
  wt_state ^= wt_state << 25;
  wt_state ^= wt_state >> 27;
  return wt_state * 2685821657736338717ull;
}

/* Seeds from WK_TEST_SEED or the clock and prints the seed. */
static inline uint64_t wt_seed(const char *test) {
  const char *env = getenv("WK_TEST_SEED");
  uint64_t s;
  if (env && *env) {
    s = strtoull(env, NULL, 0);
  } else {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec;
  }
  printf("%s: seed %llu (replay with WK_TEST_SEED=%llu)\n", test,
         (unsigned long long)s, (unsigned long long)s);
  wt_state = s ? s : 0x9E3779B97F4A7C15ull;
  return s;
}

/* Uniform in [lo, hi). */
static inline float wt_uniform(float lo, float hi) {
  return lo + (hi - lo) * (float)((wt_next() >> 40) * (1.0 / 16777216.0));
}

static inline int64_t wt_int(int64_t lo, int64_t hi) { /* [lo, hi] */
  return lo + (int64_t)(wt_next() % (uint64_t)(hi - lo + 1));
}

static inline float *wt_randn(int64_t n, float lo, float hi) {
  float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
  for (int64_t i = 0; i < n; i++)
    p[i] = wt_uniform(lo, hi);
  return p;
}

static inline double *wt_dalloc(int64_t n) {
  return calloc((size_t)(n > 0 ? n : 1), sizeof(double));
}

/* ||got - want||_2 / ||want||_2 (absolute when want is ~0): the measure
 * for outputs that are sums of many products, where one element near zero
 * would make an elementwise relative error meaningless. */
static inline double wt_norm_err(const float *got, const double *want,
                                 int64_t n) {
  double num = 0.0, den = 0.0;
  for (int64_t i = 0; i < n; i++) {
    double d = (double)got[i] - want[i];
    if (isnan(got[i]) != isnan(want[i])) return INFINITY;
    num += d * d;
    den += want[i] * want[i];
  }
  return den > 1e-30 ? sqrt(num / den) : sqrt(num);
}

/* max_i |got - want| / max(|want|, floor): elementwise, for ops whose
 * outputs are well-conditioned in every element. */
static inline double wt_max_rel(const float *got, const double *want, int64_t n,
                                double floor) {
  double worst = 0.0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - want[i]);
    double m = fabs(want[i]) > floor ? fabs(want[i]) : floor;
    if (isnan(got[i]) != isnan(want[i])) return INFINITY;
    if (d / m > worst) worst = d / m;
  }
  return worst;
}

/* A context plus a workspace that grows to what each op asks for. */
typedef struct wt_env {
  wk_ctx *c;
  void *ws;
  size_t ws_bytes;
} wt_env;

static inline int wt_env_init(wt_env *e, int threads) {
  memset(e, 0, sizeof *e);
  int rc = wk_ctx_create(WK_BACKEND_CPU, 0, threads, &e->c);
  if (rc) fprintf(stderr, "wk_ctx_create: %s\n", wk_last_error(NULL));
  return rc;
}

static inline void wt_env_ws(wt_env *e, size_t bytes) {
  if (bytes > e->ws_bytes) {
    free(e->ws);
    e->ws = malloc(bytes);
    e->ws_bytes = bytes;
  }
  wk_set_workspace(e->c, e->ws, e->ws_bytes);
}

static inline void wt_env_fini(wt_env *e) {
  wk_ctx_destroy(e->c);
  free(e->ws);
  memset(e, 0, sizeof *e);
}

static inline wk_w wt_f32(const float *p) {
  wk_w w = {p, WK_F32, 1.0f};
  return w;
}

static inline wk_w wt_none(void) {
  wk_w w = {NULL, WK_F32, 1.0f};
  return w;
}

/* Quantises f32 values to dt (bf16, or fp8 with a per-tensor scale chosen
 * so the largest magnitude maps to 448). Returns the stored bytes
 * (malloc'd) and fills deq with the de-quantised values and *scale. */
static inline void *wt_quantise(const float *src, int64_t n, wk_dtype dt,
                                float *deq, float *scale) {
  *scale = 1.0f;
  if (dt == WK_BF16) {
    uint16_t *q = malloc((size_t)(n > 0 ? n : 1) * 2);
    for (int64_t i = 0; i < n; i++) {
      q[i] = wk_f32_to_bf16(src[i]);
      deq[i] = wk_bf16_to_f32(q[i]);
    }
    return q;
  }
  if (dt == WK_FP8_E4M3) {
    float amax = 0.0f;
    for (int64_t i = 0; i < n; i++)
      amax = fabsf(src[i]) > amax ? fabsf(src[i]) : amax;
    *scale = amax > 0.0f ? amax / 448.0f : 1.0f;
    uint8_t *q = malloc((size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++) {
      q[i] = wk_f32_to_fp8(src[i] / *scale);
      deq[i] = wk_fp8_to_f32(q[i]) * *scale;
    }
    return q;
  }
  float *q = malloc((size_t)(n > 0 ? n : 1) * 4);
  memcpy(q, src, (size_t)n * 4);
  memcpy(deq, src, (size_t)n * 4);
  return q;
}

static inline int wt_finish(const char *test) {
  if (wt_failures) {
    fprintf(stderr, "%s: %d check(s) failed\n", test, wt_failures);
    return 1;
  }
  printf("%s: all checks passed\n", test);
  return 0;
}

#endif /* WK_TESTUTIL_H */
