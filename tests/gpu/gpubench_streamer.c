/* The weight streamer on CUDA, in one run:
 *  1. correctness: a bf16 linear + rmsnorm stack streamed through W = 1, 2, 3
 *     from a pinned copy, from registered mmap pages and through the bounce
 *     buffer (a file whose layout forces the per-tensor gather) gives the
 *     same bytes as the same stack with resident device weights;
 *  2. pinned (and pageable) H2D bandwidth, measured here;
 *  3. 48 layers of the Gemma-3-12B layer size (~448 MB bf16: q, k, v, o,
 *     gate, up, down, norms) streamed from pinned host memory through a W=2
 *     window with a light compute per layer (x[16, 3840] . q_proj^T):
 *     throughput as a ratio of the pinned bandwidth.
 *  4. the same from a safetensors file's mmap'd pages (registered in place),
 *     GPB_MMAP_LAYERS layers (16; 0 skips it; the file is written to /tmp).
 * Exits 77 without a GPU. Env: GPB_LAYERS (48), GPB_WINDOW (2).
 * Prints `RESULT key value unit` lines for tests/gpu/check.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "warm/safetensors.h"
#include "warm/streamer.h"
#include "warm/warm.h"
#include "wk.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int dev_alloc(void *user, size_t n, void **out, warm_error *err) {
  return wk_dev_alloc(user, n, out)
             ? warm_error_set(err, WARM_EDEVICE, "cuda alloc %zu: %s", n,
                              wk_last_error(user))
             : 0;
}

static void dev_free(void *user, void *p) {
  wk_dev_free(user, p);
}

#define WK(call)                                                               \
  do {                                                                         \
    if ((call) != 0) {                                                         \
      fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call,            \
              wk_last_error(wk));                                              \
      return -1;                                                               \
    }                                                                          \
  } while (0)

/* ---- 1. correctness
 * ---------------------------------------------------------- */

enum { CL = 6, CD = 256, CM = 5 };

/* Runs the small stack: per layer [W bf16 CD x CD, filler, g f32 CD]. */
static int small_pass(wk_ctx *wk, warm_streamer *s, void *const (*res)[3],
                      float *dx, float *dy, float *host_out) {
  warm_error err;
  for (int i = 0; i < CL; i++) {
    void *const *p = res ? res[i] : NULL;
    if (s && warm_streamer_acquire(s, (uint32_t)i, &p, &err)) {
      fprintf(stderr, "acquire: %s\n", err.msg);
      return -1;
    }
    wk_w W = {p[0], WK_BF16, 1}, B = {NULL, WK_F32, 1}, G = {p[2], WK_F32, 1};
    WK(wk_linear(wk, dx, CM, CD, W, B, CD, dy));
    WK(wk_rmsnorm(wk, dy, G, CM, CD, 1e-6f, 1, dx));
    if (s && warm_streamer_release(s, (uint32_t)i, &err)) return -1;
  }
  WK(wk_copy_d2h(wk, host_out, dx, sizeof(float) * CM * CD));
  return 0;
}

static int correctness(wk_ctx *wk) {
  /* Two files: filler of 64 bytes keeps offsets 16-aligned (one span,
   * registered in place); 6 bytes breaks it (gathered via the bounce). */
  char path[2][64] = {"/tmp/gpb_a.XXXXXX", "/tmp/gpb_u.XXXXXX"};
  static uint16_t w[CL][CD * CD];
  static float g[CL][CD], x0[CM * CD], want[CM * CD], got[CM * CD];
  static uint8_t filler[64];
  uint64_t z = 42;
  for (int i = 0; i < CL; i++) {
    for (int k = 0; k < CD * CD; k++) {
      z = z * 6364136223846793005ull + 1442695040888963407ull;
      w[i][k] = wk_f32_to_bf16((float)((int64_t)(z >> 40) - (1 << 23)) /
                               (float)(1 << 23) * 0.1f);
    }
    for (int k = 0; k < CD; k++)
      g[i][k] = 0.01f * (float)(k % 9);
  }
  for (int k = 0; k < CM * CD; k++)
    x0[k] = (float)(k % 11) * 0.1f - 0.5f;
  warm_st *st[2] = {NULL, NULL};
  warm_error err;
  for (int f = 0; f < 2; f++) {
    int fd = mkstemp(path[f]);
    if (fd < 0) return -1;
    close(fd);
    warm_tensor ts[3 * CL];
    char names[3 * CL][32];
    for (int i = 0; i < CL; i++) {
      snprintf(names[3 * i], 32, "l%d.w", i);
      snprintf(names[3 * i + 1], 32, "l%d.f", i);
      snprintf(names[3 * i + 2], 32, "l%d.g", i);
      ts[3 * i] = (warm_tensor){.name = names[3 * i],
                                .dtype = WARM_BF16,
                                .ndim = 2,
                                .shape = {CD, CD},
                                .data = w[i]};
      ts[3 * i + 1] = (warm_tensor){.name = names[3 * i + 1],
                                    .dtype = WARM_U8,
                                    .ndim = 1,
                                    .shape = {f ? 6 : 64},
                                    .data = filler};
      ts[3 * i + 2] = (warm_tensor){.name = names[3 * i + 2],
                                    .dtype = WARM_F32,
                                    .ndim = 1,
                                    .shape = {CD},
                                    .data = g[i]};
    }
    if (warm_st_write_file(path[f], ts, 3 * CL, NULL, 0, &err) ||
        warm_st_open(path[f], &st[f], &err)) {
      fprintf(stderr, "%s\n", err.msg);
      return -1;
    }
    unlink(path[f]);
  }
  /* Resident: device copies of every layer. */
  void *res[CL][3];
  float *dx, *dy;
  WK(wk_dev_alloc(wk, sizeof(float) * CM * CD, (void **)&dx));
  WK(wk_dev_alloc(wk, sizeof(float) * CM * CD, (void **)&dy));
  for (int i = 0; i < CL; i++) {
    WK(wk_dev_alloc(wk, sizeof w[i], &res[i][0]));
    WK(wk_dev_alloc(wk, 64, &res[i][1]));
    WK(wk_dev_alloc(wk, sizeof g[i], &res[i][2]));
    WK(wk_copy_h2d(wk, res[i][0], w[i], sizeof w[i]));
    WK(wk_copy_h2d(wk, res[i][2], g[i], sizeof g[i]));
  }
  size_t wsb = wk_linear_workspace(wk, CM, CD, CD, WK_BF16);
  void *ws;
  WK(wk_dev_alloc(wk, wsb ? wsb : 1, &ws));
  wk_set_workspace(wk, ws, wsb);
  WK(wk_copy_h2d(wk, dx, x0, sizeof x0));
  if (small_pass(wk, NULL, (void *const(*)[3])res, dx, dy, want)) return -1;
  int bad = 0, cases = 0;
  for (int mode = 0; mode < 3; mode++) { /* pinned, mmap span, mmap gather */
    const warm_st *sf = st[mode == 2];
    warm_stream_tensor t[CL][3];
    warm_stream_layer layers[CL];
    for (int i = 0; i < CL; i++) {
      for (int k = 0; k < 3; k++) {
        char n[32];
        snprintf(n, sizeof n, "l%d.%c", i, "wfg"[k]);
        const warm_st_entry *e = warm_st_find(sf, n);
        t[i][k] = (warm_stream_tensor){e->data, e->nbytes};
      }
      layers[i] = (warm_stream_layer){t[i], 3};
    }
    for (uint32_t W = 1; W <= 3; W++) {
      warm_streamer_config cfg = {.window = W,
                                  .source = mode ? WARM_SOURCE_MMAP
                                                 : WARM_SOURCE_PINNED,
                                  .dev_alloc = {wk, dev_alloc, dev_free}};
      warm_streamer *s;
      if (warm_streamer_create(wk, layers, CL, &cfg, &s, &err)) {
        fprintf(stderr, "create: %s\n", err.msg);
        return -1;
      }
      for (int pass = 0; pass < 2; pass++) {
        memset(got, 0, sizeof got);
        WK(wk_copy_h2d(wk, dx, x0, sizeof x0));
        if (small_pass(wk, s, NULL, dx, dy, got)) return -1;
        cases++;
        if (memcmp(got, want, sizeof got)) {
          bad++;
          fprintf(stderr, "MISMATCH mode %d W=%u pass %d\n", mode, W, pass);
        }
      }
      warm_stream_stats ss;
      warm_streamer_stats(s, &ss);
      printf("  %-12s W=%u: %u/%d layers one span, %u registered\n",
             mode == 0   ? "pinned"
             : mode == 1 ? "mmap span"
                         : "mmap gather",
             W, ss.contiguous_layers, CL, ss.registered);
      warm_streamer_destroy(s);
    }
  }
  for (int i = 0; i < CL; i++)
    for (int k = 0; k < 3; k++)
      wk_dev_free(wk, res[i][k]);
  wk_set_workspace(wk, NULL, 0);
  wk_dev_free(wk, ws);
  wk_dev_free(wk, dx);
  wk_dev_free(wk, dy);
  warm_st_close(st[0]);
  warm_st_close(st[1]);
  printf("streamed == resident (bitwise): %d/%d cases\n", cases - bad, cases);
  printf("RESULT cuda_streamed_bitwise_cases_ok %d of_%d\n", cases - bad,
         cases);
  return bad ? 1 : 0;
}

/* ---- 2. bandwidth -----------------------------------------------------------
 */

static int bandwidth(wk_ctx *wk, size_t n, double *pinned_gbs) {
  void *h, *d, *pg = malloc(n);
  if (!pg) return -1;
  memset(pg, 1, n);
  WK(wk_host_alloc_pinned(wk, n, &h));
  WK(wk_dev_alloc(wk, n, &d));
  memset(h, 1, n);
  WK(wk_copy_h2d_async(wk, d, h, n));
  WK(wk_sync(wk));
  double t0 = now_s();
  for (int r = 0; r < 5; r++)
    WK(wk_copy_h2d_async(wk, d, h, n));
  WK(wk_sync(wk));
  *pinned_gbs = 5.0 * (double)n / (now_s() - t0) / 1e9;
  WK(wk_copy_h2d(wk, d, pg, n));
  t0 = now_s();
  for (int r = 0; r < 3; r++)
    WK(wk_copy_h2d(wk, d, pg, n));
  double pageable = 3.0 * (double)n / (now_s() - t0) / 1e9;
  printf("H2D %.0f MB: pinned %.1f GB/s, pageable %.1f GB/s\n", n / 1e6,
         *pinned_gbs, pageable);
  printf("RESULT h2d_pinned %.2f GB/s\n", *pinned_gbs);
  printf("RESULT h2d_pageable %.2f GB/s\n", pageable);
  wk_host_free_pinned(wk, h);
  wk_dev_free(wk, d);
  free(pg);
  return 0;
}

/* ---- 3. the 48 x 448 MB stream
 * ------------------------------------------------ */

enum { H = 3840, QD = 4096, KVD = 2048, FF = 15360, HD = 256, TOK = 16 };

/* mmap_src: the layers are written to a safetensors file first and
 * streamed from its (registered) pages; else from per-layer pinned copies. */
static int stream_bench(wk_ctx *wk, int L, uint32_t W, int mmap_src,
                        double pinned_gbs) {
  /* Tensor sizes of one Gemma-3-12B layer, bf16. */
  const size_t sz[] = {(size_t)QD * H * 2,
                       (size_t)KVD * H * 2,
                       (size_t)KVD * H * 2,
                       (size_t)H * QD * 2,
                       (size_t)FF * H * 2,
                       (size_t)FF * H * 2,
                       (size_t)H * FF * 2,
                       H * 2,
                       H * 2,
                       H * 2,
                       H * 2,
                       HD * 2,
                       HD * 2};
  enum { NT = sizeof sz / sizeof sz[0] };
  size_t layer = 0;
  for (int k = 0; k < NT; k++)
    layer += sz[k];
  /* One host source layer; each streamed layer gets its own pinned copy. */
  uint8_t *src = malloc(layer);
  if (!src) return -1;
  uint64_t z = 7;
  for (size_t b = 0; b + 8 <= layer; b += 8) {
    z = z * 6364136223846793005ull + 1442695040888963407ull;
    uint16_t v[4];
    for (int k = 0; k < 4; k++)
      v[k] = wk_f32_to_bf16((float)((int)((z >> (16 * k)) & 0xffff) - 32768) /
                            32768.0f * 0.02f);
    memcpy(src + b, v, 8);
  }
  warm_stream_tensor t[NT];
  size_t off = 0;
  for (int k = 0; k < NT; k++) {
    t[k] = (warm_stream_tensor){src + off, sz[k]};
    off += sz[k];
  }
  warm_stream_layer *layers = calloc((size_t)L, sizeof *layers);
  warm_stream_tensor *ft = calloc((size_t)L * NT, sizeof *ft);
  warm_st *st = NULL;
  warm_error err;
  double t0 = now_s();
  for (int i = 0; i < L; i++)
    layers[i] = (warm_stream_layer){t, NT};
  if (mmap_src) {
    char path[] = "/tmp/gpb_stream.XXXXXX";
    int fd = mkstemp(path);
    warm_st_writer *w = NULL;
    int rc = fd < 0 || warm_st_writer_open(path, &w, &err);
    if (fd >= 0) close(fd);
    for (int i = 0; !rc && i < L; i++)
      for (int k = 0; !rc && k < NT; k++) {
        char n[48];
        int64_t shape[1] = {(int64_t)(sz[k] / 2)};
        snprintf(n, sizeof n, "layers.%d.t%d", i, k);
        rc = warm_st_writer_declare(w, n, WARM_BF16, 1, shape, &err);
      }
    if (!rc) rc = warm_st_writer_begin(w, &err);
    for (int i = 0; !rc && i < L; i++)
      rc = warm_st_writer_write(w, src, layer, &err);
    if (!rc)
      rc = warm_st_writer_close(w, &err);
    else
      warm_st_writer_abort(w);
    if (rc || warm_st_open(path, &st, &err)) {
      fprintf(stderr, "mmap file: %s\n", err.msg);
      unlink(path);
      return -1;
    }
    unlink(path); /* the mapping keeps the pages */
    for (int i = 0; i < L; i++) {
      for (int k = 0; k < NT; k++) {
        char n[48];
        snprintf(n, sizeof n, "layers.%d.t%d", i, k);
        const warm_st_entry *e = warm_st_find(st, n);
        ft[i * NT + k] = (warm_stream_tensor){e->data, e->nbytes};
      }
      layers[i] = (warm_stream_layer){&ft[i * NT], NT};
    }
    printf("wrote and mapped %.1f GB in %.1f s\n", (double)layer * L / 1e9,
           now_s() - t0);
  }
  const char *srcname = mmap_src ? "mmap" : "pinned";
  warm_streamer_config cfg = {.window = W,
                              .source = mmap_src ? WARM_SOURCE_MMAP
                                                 : WARM_SOURCE_PINNED,
                              .dev_alloc = {wk, dev_alloc, dev_free},
                              .name = "gemma3-12b"};
  warm_streamer *s;
  t0 = now_s();
  if (warm_streamer_create(wk, layers, (uint32_t)L, &cfg, &s, &err)) {
    fprintf(stderr, "create: %s\n", err.msg);
    return -1;
  }
  double t_create = now_s() - t0;
  free(src);
  free(ft);
  float *x, *y;
  void *ws;
  size_t wsb = wk_linear_workspace(wk, TOK, H, QD, WK_BF16);
  WK(wk_dev_alloc(wk, sizeof(float) * TOK * H, (void **)&x));
  WK(wk_dev_alloc(wk, sizeof(float) * TOK * QD, (void **)&y));
  WK(wk_dev_alloc(wk, wsb ? wsb : 1, &ws));
  wk_set_workspace(wk, ws, wsb);
  WK(wk_memset(wk, x, 0, sizeof(float) * TOK * H));
  double best = 1e30, compute = 1e30;
  for (int rep = 0; rep < 3; rep++) {
    warm_streamer_stats_reset(s);
    WK(wk_sync(wk));
    t0 = now_s();
    for (int i = 0; i < L; i++) {
      void *const *p;
      if (warm_streamer_acquire(s, (uint32_t)i, &p, &err) ||
          wk_linear(wk, x, TOK, H, (wk_w){p[0], WK_BF16, 1},
                    (wk_w){NULL, WK_F32, 1}, QD, y) ||
          warm_streamer_release(s, (uint32_t)i, &err)) {
        fprintf(stderr, "layer %d: %s %s\n", i, err.msg, wk_last_error(wk));
        return -1;
      }
    }
    WK(wk_sync(wk));
    double dt = now_s() - t0;
    if (rep > 0 && dt < best) best = dt; /* rep 0 warms up */
  }
  warm_stream_stats ss;
  warm_streamer_stats(s, &ss);
  /* The compute alone: the same linear on a slot that stays put. */
  void *const *p;
  if (warm_streamer_acquire(s, 0, &p, &err)) return -1;
  WK(wk_sync(wk));
  t0 = now_s();
  for (int i = 0; i < L; i++)
    WK(wk_linear(wk, x, TOK, H, (wk_w){p[0], WK_BF16, 1},
                 (wk_w){NULL, WK_F32, 1}, QD, y));
  WK(wk_sync(wk));
  compute = now_s() - t0;
  warm_streamer_release(s, 0, &err);
  double gbs = (double)ss.streamed_bytes / best / 1e9;
  printf("stream %d x %.1f MB (W=%u, %s source, %u/%d layers registered "
         "or pinned): %.3f s per pass, %.1f GB/s = %.2f x pinned H2D; "
         "compute alone %.3f s; create %.1f s\n",
         L, layer / 1e6, W, srcname,
         mmap_src ? ss.registered : ss.contiguous_layers, L, best, gbs,
         gbs / pinned_gbs, compute, t_create);
  printf("RESULT stream_%s_%dx%.0fMB_W%u_time %.3f s\n", srcname, L,
         layer / 1e6, W, best);
  printf("RESULT stream_%s_%dx%.0fMB_W%u_throughput %.2f GB/s\n", srcname, L,
         layer / 1e6, W, gbs);
  printf("RESULT stream_%s_over_pinned_h2d %.3f x\n", srcname,
         gbs / pinned_gbs);
  wk_set_workspace(wk, NULL, 0);
  wk_dev_free(wk, ws);
  wk_dev_free(wk, x);
  wk_dev_free(wk, y);
  warm_streamer_destroy(s);
  warm_st_close(st);
  free(layers);
  return 0;
}

int main(void) {
  if (!wk_backend_available(WK_BACKEND_CUDA)) {
    printf("SKIP: no CUDA device\n");
    return 77;
  }
  wk_ctx *wk;
  if (wk_ctx_create(WK_BACKEND_CUDA, 0, 0, &wk)) {
    printf("cannot create a cuda context\n");
    return 1;
  }
  int L = getenv("GPB_LAYERS") ? atoi(getenv("GPB_LAYERS")) : 48;
  int W = getenv("GPB_WINDOW") ? atoi(getenv("GPB_WINDOW")) : 2;
  int ML = getenv("GPB_MMAP_LAYERS") ? atoi(getenv("GPB_MMAP_LAYERS")) : 16;
  if (L < 1 || W < 1) return 2;
  int rc = correctness(wk);
  double pinned = 0;
  if (rc >= 0 && bandwidth(wk, (size_t)448 << 20, &pinned) == 0)
    rc |= stream_bench(wk, L, (uint32_t)W, 0, pinned) ||
                  (ML > 0 && stream_bench(wk, ML, (uint32_t)W, 1, pinned))
              ? 1
              : 0;
  else
    rc = 1;
  wk_ctx_destroy(wk);
  return rc ? 1 : 0;
}
