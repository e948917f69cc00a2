/* The embedding cache: keys, LRU order, budget, invalidation, threads. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "embcache.h"

static int failures;
#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c)) {                                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);   \
      failures++;                                                              \
    }                                                                          \
  } while (0)

/* One "embeddings" tensor of n floats filled from `seed`, plus a mask. */
static void make(warm_tensor t[2], int64_t n, unsigned seed) {
  int64_t shape[1] = {n};
  warm_tensor_alloc(&t[0], "embeddings", WARM_F32, 1, shape);
  warm_tensor_alloc(&t[1], "mask", WARM_I32, 1, shape);
  float *f = t[0].data;
  int32_t *m = t[1].data;
  for (int64_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    f[i] = (float)(seed >> 8) / 16777216.0f;
    m[i] = (int32_t)(i & 1);
  }
}

static void drop(warm_tensor *t, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) warm_tensor_free(&t[i]);
}

static int same(const warm_tensor *a, const warm_tensor *b) {
  return a->dtype == b->dtype && warm_tensor_bytes(a) == warm_tensor_bytes(b) &&
         !memcmp(a->data, b->data, warm_tensor_bytes(a)) &&
         a->name && b->name && !strcmp(a->name, b->name);
}

static void test_hit_returns_equal_copies_and_miss_on_other_key(void) {
  wh_embcache *c;
  CHECK(wh_embcache_create(1 << 20, &c) == 0);
  warm_tensor in[2], out[WARM_MAX_IO];
  uint32_t n = 0;
  make(in, 1000, (unsigned)rand());
  CHECK(wh_embcache_get(c, "fp1", "a cat", 64, out, &n) == 0);
  CHECK(wh_embcache_put(c, "fp1", "a cat", 64, in, 2) == 0);
  CHECK(wh_embcache_get(c, "fp1", "a cat", 64, out, &n) == 1);
  CHECK(n == 2 && same(&out[0], &in[0]) && same(&out[1], &in[1]));
  CHECK(out[0].data != in[0].data);
  drop(out, n);
  /* Each key part matters. */
  CHECK(wh_embcache_get(c, "fp2", "a cat", 64, out, &n) == 0);
  CHECK(wh_embcache_get(c, "fp1", "a cat ", 64, out, &n) == 0);
  CHECK(wh_embcache_get(c, "fp1", "a cat", 128, out, &n) == 0);
  wh_embcache_stats st;
  wh_embcache_stats_get(c, &st);
  CHECK(st.hits == 1 && st.misses == 4 && st.entries == 1);
  drop(in, 2);
  wh_embcache_destroy(c);
}

static void test_least_recently_used_is_evicted_first(void) {
  warm_tensor t[2];
  make(t, 1000, 1); /* ~8 KB per entry */
  wh_embcache *c;
  wh_embcache_create(30000, &c); /* room for three */
  wh_embcache_put(c, "fp", "p1", 8, t, 2);
  wh_embcache_put(c, "fp", "p2", 8, t, 2);
  wh_embcache_put(c, "fp", "p3", 8, t, 2);
  warm_tensor out[WARM_MAX_IO];
  uint32_t n;
  CHECK(wh_embcache_get(c, "fp", "p1", 8, out, &n) == 1); /* p1 now newest */
  drop(out, n);
  wh_embcache_put(c, "fp", "p4", 8, t, 2); /* evicts p2 */
  CHECK(wh_embcache_get(c, "fp", "p2", 8, out, &n) == 0);
  CHECK(wh_embcache_get(c, "fp", "p1", 8, out, &n) == 1);
  drop(out, n);
  CHECK(wh_embcache_get(c, "fp", "p3", 8, out, &n) == 1);
  drop(out, n);
  wh_embcache_stats st;
  wh_embcache_stats_get(c, &st);
  CHECK(st.evictions == 1 && st.bytes <= st.budget);
  /* Shrinking the budget evicts down to it. */
  wh_embcache_set_budget(c, 10000);
  wh_embcache_stats_get(c, &st);
  CHECK(st.entries == 1 && st.bytes <= 10000);
  drop(t, 2);
  wh_embcache_destroy(c);
}

static void test_oversized_entry_and_zero_budget_keep_nothing(void) {
  warm_tensor t[2];
  make(t, 100000, 2);
  wh_embcache *c;
  wh_embcache_create(1000, &c);
  CHECK(wh_embcache_put(c, "fp", "big", 8, t, 2) == 0);
  wh_embcache_stats st;
  wh_embcache_stats_get(c, &st);
  CHECK(st.entries == 0 && st.bytes == 0);
  wh_embcache_destroy(c);
  wh_embcache_create(0, &c);
  wh_embcache_put(c, "fp", "x", 8, t, 1);
  warm_tensor out[WARM_MAX_IO];
  uint32_t n;
  CHECK(wh_embcache_get(c, "fp", "x", 8, out, &n) == 0);
  drop(t, 2);
  wh_embcache_destroy(c);
}

static void test_drop_removes_only_that_fingerprint(void) {
  warm_tensor t[2];
  make(t, 10, 3);
  wh_embcache *c;
  wh_embcache_create(1 << 20, &c);
  wh_embcache_put(c, "old", "a", 8, t, 2);
  wh_embcache_put(c, "old", "b", 8, t, 2);
  wh_embcache_put(c, "new", "a", 8, t, 2);
  CHECK(wh_embcache_drop(c, "old") == 2);
  warm_tensor out[WARM_MAX_IO];
  uint32_t n;
  CHECK(wh_embcache_get(c, "old", "a", 8, out, &n) == 0);
  CHECK(wh_embcache_get(c, "new", "a", 8, out, &n) == 1);
  drop(out, n);
  wh_embcache_clear(c);
  wh_embcache_stats st;
  wh_embcache_stats_get(c, &st);
  CHECK(st.entries == 0 && st.bytes == 0);
  drop(t, 2);
  wh_embcache_destroy(c);
}

static wh_embcache *shared;

static void *worker(void *arg) {
  unsigned id = (unsigned)(size_t)arg;
  warm_tensor t[2], out[WARM_MAX_IO];
  make(t, 256, id);
  char prompt[32];
  /* A hot set of 8 prompts per max_tokens value (it fits the budget, so
   * gets must hit) and a stream of one-off prompts (they must evict). */
  for (int i = 0; i < 2000; i++) {
    if (i % 4 == 3) snprintf(prompt, sizeof prompt, "cold-%u-%d", id, i);
    else snprintf(prompt, sizeof prompt, "hot-%d", i % 8);
    uint32_t n;
    if (wh_embcache_get(shared, "fp", prompt, id % 2, out, &n) == 1) drop(out, n);
    else wh_embcache_put(shared, "fp", prompt, id % 2, t, 2);
    if (i % 500 == 0) wh_embcache_drop(shared, "nothing");
  }
  drop(t, 2);
  return NULL;
}

static void test_concurrent_use_keeps_the_budget(void) {
  wh_embcache_create(64 * 1024, &shared);
  pthread_t th[4];
  for (size_t i = 0; i < 4; i++) pthread_create(&th[i], NULL, worker, (void *)i);
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  wh_embcache_stats st;
  wh_embcache_stats_get(shared, &st);
  CHECK(st.bytes <= st.budget && st.hits > 0 && st.evictions > 0);
  wh_embcache_destroy(shared);
}

int main(void) {
  unsigned seed = (unsigned)time(NULL);
  printf("seed %u\n", seed);
  srand(seed);
  test_hit_returns_equal_copies_and_miss_on_other_key();
  test_least_recently_used_is_evicted_first();
  test_oversized_entry_and_zero_budget_keep_nothing();
  test_drop_removes_only_that_fingerprint();
  test_concurrent_use_keeps_the_budget();
  if (failures) return 1;
  printf("embcache: all checks passed\n");
  return 0;
}
