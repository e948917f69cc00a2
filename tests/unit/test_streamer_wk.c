/* Streamed == resident, bitwise, for a real model stack on the cpu backend:
 * each layer is y = rmsnorm(x . W^T) * (1 + g), with W bf16 or f32, run with
 * the weights where they lie (resident) and through the streamer with
 * W = 1, 2, 3 windows and both sources. */
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

enum { L = 5, M = 7, D = 48 };

static uint64_t rng;
static char tmpdir[256];

static float next_f(void) {
  uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return (float)((double)(z >> 11) / 9007199254740992.0 * 2 - 1);
}

static int dev_alloc(void *user, size_t n, void **out, warm_error *err) {
  return wk_dev_alloc(user, n, out)
             ? warm_error_set(err, WARM_ENOMEM, "dev alloc %zu", n)
             : 0;
}

static void dev_free(void *user, void *p) {
  wk_dev_free(user, p);
}

/* Runs the stack; weights[i][0] = W, weights[i][1] = g. */
static int forward(wk_ctx *wk, wk_dtype wdt, const void *const (*weights)[2],
                   warm_streamer *s, const float *x0, float *out) {
  float x[M * D], y[M * D];
  memcpy(x, x0, sizeof x);
  warm_error err;
  for (int i = 0; i < L; i++) {
    const void *w = weights ? weights[i][0] : NULL,
               *g = weights ? weights[i][1] : NULL;
    void *const *p = NULL;
    if (s) {
      if (warm_streamer_acquire(s, (uint32_t)i, &p, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
      }
      w = p[0];
      g = p[1];
    }
    wk_w W = {w, wdt, 1.0f}, bias = {NULL, WK_F32, 1.0f}, G = {g, WK_F32, 1.0f};
    if (wk_linear(wk, x, M, D, W, bias, D, y) ||
        wk_rmsnorm(wk, y, G, M, D, 1e-6f, 1, x)) {
      fprintf(stderr, "wk: %s\n", wk_last_error(wk));
      return -1;
    }
    if (s && warm_streamer_release(s, (uint32_t)i, &err)) return -1;
  }
  memcpy(out, x, sizeof x);
  return 0;
}

static void run_dtype(wk_ctx *wk, wk_dtype wdt) {
  size_t es = wdt == WK_BF16 ? 2 : 4;
  /* Weights in one safetensors file (for mmap) and in host arrays. */
  static uint8_t wbuf[L][D * D * 4];
  static float gbuf[L][D];
  warm_tensor ts[2 * L];
  char names[2 * L][32];
  for (int i = 0; i < L; i++) {
    for (int k = 0; k < D * D; k++) {
      float v = next_f() * 0.2f;
      if (wdt == WK_BF16)
        ((uint16_t *)wbuf[i])[k] = wk_f32_to_bf16(v);
      else
        ((float *)wbuf[i])[k] = v;
    }
    for (int k = 0; k < D; k++)
      gbuf[i][k] = next_f() * 0.1f;
    snprintf(names[2 * i], 32, "layers.%d.w", i);
    snprintf(names[2 * i + 1], 32, "layers.%d.g", i);
    ts[2 * i] = (warm_tensor){.name = names[2 * i],
                              .dtype = wdt == WK_BF16 ? WARM_BF16 : WARM_F32,
                              .ndim = 2,
                              .shape = {D, D},
                              .data = wbuf[i]};
    ts[2 * i + 1] = (warm_tensor){.name = names[2 * i + 1],
                                  .dtype = WARM_F32,
                                  .ndim = 1,
                                  .shape = {D},
                                  .data = gbuf[i]};
  }
  char path[512];
  snprintf(path, sizeof path, "%s/w%zu.safetensors", tmpdir, es);
  warm_error err;
  warm_st *st = NULL;
  if (warm_st_write_file(path, ts, 2 * L, NULL, 0, &err) ||
      warm_st_open(path, &st, &err)) {
    CHECK(0);
    fprintf(stderr, "%s\n", err.msg);
    return;
  }
  float x0[M * D], want[M * D], got[M * D];
  for (int k = 0; k < M * D; k++)
    x0[k] = next_f();
  const void *res[L][2];
  for (int i = 0; i < L; i++) {
    res[i][0] = wbuf[i];
    res[i][1] = gbuf[i];
  }
  CHECK(forward(wk, wdt, (const void *const(*)[2])res, NULL, x0, want) == 0);
  for (int source = 0; source < 2; source++) {
    warm_stream_source src = source ? WARM_SOURCE_MMAP : WARM_SOURCE_PINNED;
    warm_stream_tensor t[L][2];
    warm_stream_layer layers[L];
    for (int i = 0; i < L; i++) {
      const warm_st_entry *ew = warm_st_find(st, names[2 * i]),
                          *eg = warm_st_find(st, names[2 * i + 1]);
      t[i][0] = (warm_stream_tensor){source ? ew->data : wbuf[i], D * D * es};
      t[i][1] = (warm_stream_tensor){source ? eg->data : gbuf[i], D * 4};
      layers[i] = (warm_stream_layer){t[i], 2};
    }
    for (uint32_t W = 1; W <= 3; W++) {
      warm_streamer_config cfg = {
          .window = W, .source = src, .dev_alloc = {wk, dev_alloc, dev_free}};
      warm_streamer *s = NULL;
      CHECK(warm_streamer_create(wk, layers, L, &cfg, &s, &err) == 0);
      if (!s) continue;
      for (int pass = 0; pass < 2; pass++) {
        memset(got, 0xff, sizeof got);
        CHECK(forward(wk, wdt, NULL, s, x0, got) == 0);
        CHECK(memcmp(got, want, sizeof got) == 0);
      }
      warm_streamer_destroy(s);
    }
  }
  warm_st_close(st);
}

static void test_streamed_stack_is_bitwise_resident(void) {
  wk_ctx *wk;
  if (wk_ctx_create(WK_BACKEND_CPU, 0, 2, &wk)) {
    CHECK(0);
    return;
  }
  size_t ws = wk_linear_workspace(wk, M, D, D, WK_BF16);
  size_t ws2 = wk_linear_workspace(wk, M, D, D, WK_F32);
  if (ws2 > ws) ws = ws2;
  void *wsp = malloc(ws ? ws : 1);
  wk_set_workspace(wk, wsp, ws);
  run_dtype(wk, WK_BF16);
  run_dtype(wk, WK_F32);
  wk_ctx_destroy(wk);
  free(wsp);
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
  snprintf(tmpdir, sizeof tmpdir, "/tmp/warm_streamer_wk.XXXXXX");
  if (!mkdtemp(tmpdir)) return 1;
  RUN(test_streamed_stack_is_bitwise_resident);
  nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
  return check_result();
}
