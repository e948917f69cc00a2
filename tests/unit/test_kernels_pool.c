/*
 * The process's one cpu compute pool: contexts share it (its size is the
 * largest request, not the sum), the last context stops it, OpenBLAS is
 * single-threaded inside it, and two host threads driving two contexts at
 * once both get the bytes a lone context gets.
 */
#include <cblas.h>
#include <pthread.h>

#include "wk_testutil.h"

static void test_contexts_share_one_pool(void) {
  WT_CHECK(wk_cpu_pool_threads() == 0, "no pool before any context (%d)",
           wk_cpu_pool_threads());
  wt_env a, b, c;
  WT_RC(wt_env_init(&a, 2), 0);
  WT_CHECK(wk_cpu_pool_threads() == 2, "pool of 2, got %d",
           wk_cpu_pool_threads());
  WT_RC(wt_env_init(&b, 3), 0);
  WT_RC(wt_env_init(&c, 1), 0);
  WT_CHECK(wk_cpu_pool_threads() == 3,
           "three contexts (2, 3, 1 threads) share a pool of 3, got %d",
           wk_cpu_pool_threads());
  WT_CHECK(openblas_get_num_threads() == 1, "OpenBLAS runs %d threads",
           openblas_get_num_threads());
  wt_env_fini(&b);
  WT_CHECK(wk_cpu_pool_threads() == 3, "the pool does not shrink (%d)",
           wk_cpu_pool_threads());
  wt_env_fini(&a);
  wt_env_fini(&c);
  WT_CHECK(wk_cpu_pool_threads() == 0, "the last context stops the pool (%d)",
           wk_cpu_pool_threads());
  /* The process default applies to threads == 0. */
  wk_cpu_set_threads(3);
  WT_RC(wt_env_init(&a, 0), 0);
  WT_CHECK(wk_cpu_pool_threads() == 3, "default 3, got %d",
           wk_cpu_pool_threads());
  wt_env_fini(&a);
  wk_cpu_set_threads(0);
}

#define M 70
#define K 300
#define N 190

typedef struct driver {
  const float *x;
  const uint16_t *w;
  float *y;
  int rounds, rc;
} driver;

/* Its own context, its own workspace; the same linear + gelu many times. */
static void *drive(void *v) {
  driver *d = v;
  wt_env e;
  if (wt_env_init(&e, 2)) {
    d->rc = -1;
    return NULL;
  }
  wt_env_ws(&e, wk_linear_workspace(e.c, M, K, N, WK_BF16));
  wk_w W = {d->w, WK_BF16, 1.0f};
  for (int r = 0; r < d->rounds && !d->rc; r++)
    d->rc = wk_linear(e.c, d->x, M, K, W, wt_none(), N, d->y) ||
            wk_gelu_tanh(e.c, d->y, M * N, d->y);
  wt_env_fini(&e);
  return NULL;
}

static void test_two_threads_two_contexts(void) {
  float *x = wt_randn(M * K, -1, 1), *w = wt_randn(N * K, -1, 1);
  uint16_t *wb = malloc(N * K * 2);
  for (int i = 0; i < N * K; i++)
    wb[i] = wk_f32_to_bf16(w[i]);
  float *want = malloc(M * N * 4), *y1 = malloc(M * N * 4),
        *y2 = malloc(M * N * 4);
  driver lone = {x, wb, want, 1, 0};
  drive(&lone);
  WT_CHECK(lone.rc == 0, "lone run failed");
  wt_env keep; /* holds the pool so both threads attach to the same one */
  WT_RC(wt_env_init(&keep, 2), 0);
  driver d1 = {x, wb, y1, 20, 0}, d2 = {x, wb, y2, 20, 0};
  pthread_t t1, t2;
  pthread_create(&t1, NULL, drive, &d1);
  pthread_create(&t2, NULL, drive, &d2);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  WT_CHECK(d1.rc == 0 && d2.rc == 0, "concurrent runs failed");
  WT_CHECK(memcmp(y1, want, M * N * 4) == 0 && memcmp(y2, want, M * N * 4) == 0,
           "concurrent contexts: bytes differ from a lone context");
  wt_env_fini(&keep);
  free(x), free(w), free(wb), free(want), free(y1), free(y2);
}

int main(void) {
  wt_seed("test_kernels_pool");
  test_contexts_share_one_pool();
  test_two_threads_two_contexts();
  return wt_finish("test_kernels_pool");
}
