/* The weight streamer on the cpu backend: streamed bytes and results equal
 * resident ones for W = 1, 2, 3 and W >= L, both sources, any order. */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../sdk/check.h"
#include "warm/safetensors.h"
#include "warm/streamer.h"
#include "warm/warm.h"
#include "wk.h"

enum { L = 6, T = 3 };

static uint64_t rng;
static char tmpdir[256];

static uint64_t next_u64(void) {
  uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* A counting device allocator: every slot byte is seen and given back. */
typedef struct counter {
  uint64_t live, peak, allocs;
} counter;

static int count_alloc(void *user, size_t n, void **out, warm_error *err) {
  counter *c = user;
  size_t *p = malloc(n + 64);
  if (!p) return warm_error_set(err, WARM_ENOMEM, "malloc");
  p[0] = n;
  c->live += n;
  c->allocs++;
  if (c->live > c->peak) c->peak = c->live;
  *out = (char *)p + 64;
  return 0;
}

static void count_free(void *user, void *ptr) {
  counter *c = user;
  size_t *p = (size_t *)((char *)ptr - 64);
  c->live -= p[0];
  free(p);
}

/* Layers: T tensors each, random sizes (multiples of 16 when `aligned`). */
typedef struct model {
  warm_stream_tensor t[L][T];
  warm_stream_layer layers[L];
  uint8_t *host[L][T];
  warm_st *st;
} model;

static void model_init(model *m, int aligned) {
  memset(m, 0, sizeof *m);
  for (int i = 0; i < L; i++) {
    for (int k = 0; k < T; k++) {
      size_t n = 16 + next_u64() % 3000;
      if (aligned) n = n / 16 * 16;
      m->host[i][k] = malloc(n);
      for (size_t b = 0; b < n; b++)
        m->host[i][k][b] = (uint8_t)next_u64();
      m->t[i][k].src = m->host[i][k];
      m->t[i][k].bytes = n;
    }
    m->layers[i].tensors = m->t[i];
    m->layers[i].n_tensors = T;
  }
}

/* Rewrites the sources to point into a safetensors file's mmap. */
static int model_to_file(model *m, const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  warm_tensor ts[L * T];
  char names[L * T][32];
  for (int i = 0; i < L; i++)
    for (int k = 0; k < T; k++) {
      int j = i * T + k;
      snprintf(names[j], sizeof names[j], "layers.%d.t%d", i, k);
      ts[j] = (warm_tensor){.name = names[j],
                            .dtype = WARM_U8,
                            .ndim = 1,
                            .shape = {(int64_t)m->t[i][k].bytes},
                            .data = m->host[i][k]};
    }
  warm_error err;
  if (warm_st_write_file(path, ts, L * T, NULL, 0, &err) ||
      warm_st_open(path, &m->st, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return -1;
  }
  for (int j = 0; j < L * T; j++)
    m->t[j / T][j % T].src = warm_st_find(m->st, names[j])->data;
  return 0;
}

static void model_free(model *m) {
  for (int i = 0; i < L; i++)
    for (int k = 0; k < T; k++)
      free(m->host[i][k]);
  warm_st_close(m->st);
}

/* The "compute" of a layer: a running FNV over its bytes, so a wrong or
 * stale byte anywhere changes the result. */
static uint64_t mix(uint64_t h, const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

static uint64_t resident_result(const model *m, const int *order, int n) {
  uint64_t h = 1469598103934665603ull;
  for (int o = 0; o < n; o++)
    for (int k = 0; k < T; k++)
      h = mix(h, m->host[order[o]][k], m->t[order[o]][k].bytes);
  return h;
}

static uint64_t streamed_result(warm_streamer *s, const model *m,
                                const int *order, int n, int *bad) {
  uint64_t h = 1469598103934665603ull;
  warm_error err;
  for (int o = 0; o < n; o++) {
    void *const *p;
    int i = order[o];
    if (warm_streamer_acquire(s, (uint32_t)i, &p, &err)) {
      fprintf(stderr, "acquire %d: %s\n", i, err.msg);
      (*bad)++;
      return 0;
    }
    for (int k = 0; k < T; k++) {
      if (memcmp(p[k], m->host[i][k], m->t[i][k].bytes)) (*bad)++;
      h = mix(h, p[k], m->t[i][k].bytes);
    }
    if (warm_streamer_release(s, (uint32_t)i, &err)) (*bad)++;
  }
  return h;
}

static void run_case(wk_ctx *wk, model *m, warm_stream_source src, uint32_t W) {
  counter c = {0};
  warm_streamer_config cfg = {.window = W,
                              .source = src,
                              .dev_alloc = {&c, count_alloc, count_free},
                              .name = "test"};
  warm_stream_plan plan;
  warm_error err;
  CHECK(warm_streamer_plan(m->layers, L, W, src, WK_BACKEND_CPU, &plan, &err) ==
        0);
  warm_streamer *s = NULL;
  CHECK(warm_streamer_create(wk, m->layers, L, &cfg, &s, &err) == 0);
  if (!s) {
    fprintf(stderr, "create: %s\n", err.msg);
    return;
  }
  CHECK_EQ_U64(c.live, plan.window_bytes);
  CHECK_EQ_U64(c.allocs, W < L ? W : L); /* no slot beyond the layers */
  int seq[L], rev[L] = {3, 1, 4, 0, 5, 2}, bad = 0;
  for (int i = 0; i < L; i++)
    seq[i] = i;
  for (int pass = 0; pass < 3; pass++) {
    warm_streamer_stats_reset(s);
    uint64_t want = resident_result(m, seq, L);
    CHECK(streamed_result(s, m, seq, L, &bad) == want);
    warm_stream_stats st;
    warm_streamer_stats(s, &st);
    if (W >= L && pass > 0) /* resident through the streamer */
      CHECK_EQ_U64(st.streamed_bytes, 0);
    else if (W < L)
      CHECK_EQ_U64(st.copies, L);
  }
  uint64_t want = resident_result(m, rev, L);
  CHECK(streamed_result(s, m, rev, L, &bad) == want);
  CHECK(bad == 0);
  warm_stream_stats st;
  warm_streamer_stats(s, &st);
  if (src == WARM_SOURCE_PINNED) CHECK_EQ_U64(st.contiguous_layers, L);
  warm_streamer_destroy(s);
  CHECK_EQ_U64(c.live, 0);
  printf("  source %s W=%u: slot %llu bytes, %u/%d layers one-span\n",
         warm_source_name(src), W, (unsigned long long)plan.slot_bytes,
         st.contiguous_layers, L);
}

static void test_streamed_bytes_equal_resident_for_all_windows(void) {
  wk_ctx *wk;
  if (wk_ctx_create(WK_BACKEND_CPU, 0, 1, &wk)) {
    CHECK(0);
    return;
  }
  for (int aligned = 0; aligned < 2; aligned++) {
    model m;
    model_init(&m, aligned);
    for (uint32_t W = 1; W <= 3; W++)
      run_case(wk, &m, WARM_SOURCE_PINNED, W);
    run_case(wk, &m, WARM_SOURCE_PINNED, L);
    CHECK(model_to_file(&m, aligned ? "a.safetensors" : "u.safetensors") == 0);
    if (m.st) {
      for (uint32_t W = 1; W <= 3; W++)
        run_case(wk, &m, WARM_SOURCE_MMAP, W);
      run_case(wk, &m, WARM_SOURCE_MMAP, L + 2);
    }
    model_free(&m);
  }
  wk_ctx_destroy(wk);
}

static void test_mmap_span_is_one_copy_when_file_layout_allows(void) {
  wk_ctx *wk;
  if (wk_ctx_create(WK_BACKEND_CPU, 0, 1, &wk)) return;
  model m;
  model_init(&m, 1);
  CHECK(model_to_file(&m, "span.safetensors") == 0);
  counter c = {0};
  warm_streamer_config cfg = {.window = 2,
                              .source = WARM_SOURCE_MMAP,
                              .dev_alloc = {&c, count_alloc, count_free}};
  warm_streamer *s = NULL;
  warm_error err;
  CHECK(warm_streamer_create(wk, m.layers, L, &cfg, &s, &err) == 0);
  warm_stream_stats st;
  if (s) {
    warm_streamer_stats(s, &st);
    CHECK_EQ_U64(st.contiguous_layers, L); /* writer spans are contiguous */
    void *const *p;
    CHECK(warm_streamer_acquire(s, 2, &p, &err) == 0);
    /* One span: tensor offsets in the slot follow the file. */
    CHECK((const char *)p[1] - (const char *)p[0] ==
          (const char *)m.t[2][1].src - (const char *)m.t[2][0].src);
    CHECK(warm_streamer_release(s, 2, &err) == 0);
  }
  warm_streamer_destroy(s);
  model_free(&m);
  wk_ctx_destroy(wk);
}

static void test_misuse_is_refused_with_a_message(void) {
  wk_ctx *wk;
  if (wk_ctx_create(WK_BACKEND_CPU, 0, 1, &wk)) return;
  model m;
  model_init(&m, 0);
  counter c = {0};
  warm_streamer_config cfg = {.window = 2,
                              .source = WARM_SOURCE_PINNED,
                              .dev_alloc = {&c, count_alloc, count_free},
                              .name = "enc"};
  warm_streamer *s = NULL;
  warm_error err;
  CHECK(warm_streamer_create(wk, m.layers, L, &cfg, &s, &err) == 0);
  if (s) {
    void *const *p;
    CHECK(warm_streamer_acquire(s, 0, &p, &err) == 0);
    CHECK(warm_streamer_acquire(s, 0, &p, &err) == WARM_EINVAL);
    CHECK_HAS(err.msg, "already acquired");
    CHECK(warm_streamer_acquire(s, 1, &p, &err) == 0);
    CHECK(warm_streamer_acquire(s, 2, &p, &err) == WARM_EINVAL);
    CHECK_HAS(err.msg, "all 2 window slots");
    CHECK(warm_streamer_release(s, 3, &err) == WARM_EINVAL);
    CHECK_HAS(err.msg, "enc: release of layer 3");
    CHECK(warm_streamer_acquire(s, L, &p, &err) == WARM_EINVAL);
    CHECK(warm_streamer_release(s, 0, &err) == 0);
    CHECK(warm_streamer_release(s, 1, &err) == 0);
    CHECK(warm_streamer_acquire(s, 2, &p, &err) == 0);
    CHECK(memcmp(p[0], m.host[2][0], m.t[2][0].bytes) == 0);
    CHECK(warm_streamer_release(s, 2, &err) == 0);
  }
  /* Destroy with a copy possibly in flight and a layer still acquired. */
  void *const *p;
  if (s) CHECK(warm_streamer_acquire(s, 3, &p, &err) == 0);
  warm_streamer_destroy(s);
  CHECK_EQ_U64(c.live, 0);
  cfg.window = 0;
  CHECK(warm_streamer_create(wk, m.layers, L, &cfg, &s, &err) == WARM_EINVAL);
  cfg.window = 2;
  cfg.dev_alloc.alloc = NULL;
  CHECK(warm_streamer_create(wk, m.layers, L, &cfg, &s, &err) == WARM_EINVAL);
  model_free(&m);
  wk_ctx_destroy(wk);
}

/* A device allocator that refuses, as the ledger does over budget. */
static int refuse_alloc(void *user, size_t n, void **out, warm_error *err) {
  int *calls = user;
  if ((*calls)++ == 1)
    return warm_error_set(err, WARM_ENOSPACE, "over budget by %zu", n);
  *out = malloc(n);
  return 0;
}

static void refuse_free(void *user, void *ptr) {
  free(ptr);
}

static void test_allocator_refusal_fails_create_cleanly(void) {
  wk_ctx *wk;
  if (wk_ctx_create(WK_BACKEND_CPU, 0, 1, &wk)) return;
  model m;
  model_init(&m, 0);
  int calls = 0;
  warm_streamer_config cfg = {.window = 3,
                              .source = WARM_SOURCE_PINNED,
                              .dev_alloc = {&calls, refuse_alloc, refuse_free}};
  warm_streamer *s = NULL;
  warm_error err;
  CHECK(warm_streamer_create(wk, m.layers, L, &cfg, &s, &err) == WARM_ENOSPACE);
  CHECK(s == NULL);
  CHECK_HAS(err.msg, "over budget");
  model_free(&m);
  wk_ctx_destroy(wk);
}

static int rm_cb(const char *p, const struct stat *sb, int flag,
                 struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(p);
}

int main(void) {
  const char *env = getenv("WARM_TEST_SEED");
  uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
  rng = seed;
  printf("seed %llu (WARM_TEST_SEED to replay)\n", (unsigned long long)seed);
  snprintf(tmpdir, sizeof tmpdir, "/tmp/warm_streamer_test.XXXXXX");
  if (!mkdtemp(tmpdir)) return 1;
  RUN(test_streamed_bytes_equal_resident_for_all_windows);
  RUN(test_mmap_span_is_one_copy_when_file_layout_allows);
  RUN(test_misuse_is_refused_with_a_message);
  RUN(test_allocator_refusal_fails_create_cleanly);
  nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
  return check_result();
}
