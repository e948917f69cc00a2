/*
 * gpu_testutil.h — helpers for the CUDA tests and benchmarks: a seeded RNG
 * (seed printed; replay with WK_TEST_SEED=N), a cpu and a cuda context with
 * growable workspaces, device buffer helpers that abort the test with a
 * message on any failure, and comparisons that count failures.
 */
#ifndef GPU_TESTUTIL_H
#define GPU_TESTUTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wk.h"

static int gt_failures;

#define GT_CHECK(cond, ...)                                                    \
  do {                                                                         \
    if (!(cond)) {                                                             \
      gt_failures++;                                                           \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                     \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
    }                                                                          \
  } while (0)

static uint64_t gt_state = 1;

static uint64_t gt_next(void) { /* xorshift64* */
  gt_state ^= gt_state >> 12;
  gt_state ^= gt_state << 25;
  gt_state ^= gt_state >> 27;
  return gt_state * 2685821657736338717ull;
}

static void gt_seed(const char *test) {
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
  gt_state = s ? s : 0x9E3779B97F4A7C15ull;
}

static float gt_uniform(float lo, float hi) {
  return lo + (hi - lo) * (float)((gt_next() >> 40) * (1.0 / 16777216.0));
}

static int64_t gt_int(int64_t lo, int64_t hi) { /* [lo, hi] */
  return lo + (int64_t)(gt_next() % (uint64_t)(hi - lo + 1));
}

static void *gt_xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) {
    fprintf(stderr, "FATAL: out of host memory (%zu bytes)\n", n);
    exit(1);
  }
  return p;
}

static float *gt_rand(int64_t n, float lo, float hi) {
  float *p = (float *)gt_xmalloc((size_t)n * sizeof *p);
  for (int64_t i = 0; i < n; i++)
    p[i] = gt_uniform(lo, hi);
  return p;
}

/* Dies with the context's message: a broken device call leaves nothing
 * meaningful to check afterwards. */
static void gt_must(wk_ctx *c, int rc, const char *what) {
  if (rc) {
    fprintf(stderr, "FATAL: %s returned %d: %s\n", what, rc, wk_last_error(c));
    exit(1);
  }
}

/* Device buffer of `bytes` filled from host `src` (or poisoned with 0xFF —
 * a NaN in f32 — when src is NULL, so unwritten outputs are caught). */
static void *gt_dev(wk_ctx *c, const void *src, size_t bytes) {
  void *d = NULL;
  gt_must(c, wk_dev_alloc(c, bytes ? bytes : 1, &d), "wk_dev_alloc");
  if (src)
    gt_must(c, wk_copy_h2d(c, d, src, bytes), "wk_copy_h2d");
  else
    gt_must(c, wk_memset(c, d, 0xFF, bytes), "wk_memset");
  return d;
}

static void gt_down(wk_ctx *c, void *dst, const void *dev, size_t bytes) {
  gt_must(c, wk_sync(c), "wk_sync");
  gt_must(c, wk_copy_d2h(c, dst, dev, bytes), "wk_copy_d2h");
}

/* A context and a workspace that grows to what each op asks for. */
typedef struct gt_env {
  wk_ctx *c;
  void *ws;
  size_t ws_bytes;
} gt_env;

static void gt_ws(gt_env *e, size_t need) {
  if (need <= e->ws_bytes) return;
  gt_must(e->c, wk_sync(e->c), "wk_sync");
  if (e->ws) wk_dev_free(e->c, e->ws);
  e->ws = NULL;
  gt_must(e->c, wk_dev_alloc(e->c, need, &e->ws), "wk_dev_alloc(workspace)");
  e->ws_bytes = need;
  wk_set_workspace(e->c, e->ws, need);
}

static void gt_env_fini(gt_env *e) {
  if (!e->c) return;
  if (e->ws) wk_dev_free(e->c, e->ws);
  wk_ctx_destroy(e->c);
  memset(e, 0, sizeof *e);
}

/* ||got - ref|| / ||ref|| over n floats; infinite when NaN-ness differs. */
static double gt_rel(const float *got, const float *ref, int64_t n) {
  double num = 0.0, den = 0.0;
  for (int64_t i = 0; i < n; i++) {
    if (isnan(got[i]) != isnan(ref[i])) return INFINITY;
    if (isnan(ref[i])) continue;
    double d = (double)got[i] - (double)ref[i];
    num += d * d;
    den += (double)ref[i] * (double)ref[i];
  }
  return den > 1e-30 ? sqrt(num / den) : sqrt(num);
}

#endif /* GPU_TESTUTIL_H */
