/* Streamer overhead on the cpu backend: a stack of L layers (bf16 linear
 * D x D + Gemma rmsnorm) run with resident weights, then streamed through
 * W = 1 and W = 2 windows (pinned and mmap sources), in one run. Prints each
 * time and the streamed / resident ratio (1.00 = free streaming).
 * Usage: bench_streamer [layers] [dim] [tokens] [reps]. */
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

static int L = 24, D = 1024, M = 32, REPS = 5;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int dev_alloc(void *user, size_t n, void **out, warm_error *err) {
  return wk_dev_alloc(user, n, out)
             ? warm_error_set(err, WARM_ENOMEM, "dev alloc %zu", n)
             : 0;
}

static void dev_free(void *user, void *p) {
  wk_dev_free(user, p);
}

/* One pass over the stack; w/g from `res` (resident) or the streamer. */
static int pass(wk_ctx *wk, const warm_st *st, warm_streamer *s, float *x,
                float *y) {
  warm_error err;
  for (int i = 0; i < L; i++) {
    const void *w, *g;
    void *const *p;
    if (s) {
      if (warm_streamer_acquire(s, (uint32_t)i, &p, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
      }
      w = p[0];
      g = p[1];
    } else {
      char n[64];
      snprintf(n, sizeof n, "layers.%d.w", i);
      w = warm_st_find(st, n)->data;
      snprintf(n, sizeof n, "layers.%d.g", i);
      g = warm_st_find(st, n)->data;
    }
    wk_w W = {w, WK_BF16, 1}, B = {NULL, WK_F32, 1}, G = {g, WK_F32, 1};
    if (wk_linear(wk, x, M, D, W, B, D, y) ||
        wk_rmsnorm(wk, y, G, M, D, 1e-6f, 1, x)) {
      fprintf(stderr, "wk: %s\n", wk_last_error(wk));
      return -1;
    }
    if (s && warm_streamer_release(s, (uint32_t)i, &err)) return -1;
  }
  return 0;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc > 1) L = atoi(argv[1]);
  if (argc > 2) D = atoi(argv[2]);
  if (argc > 3) M = atoi(argv[3]);
  if (argc > 4) REPS = atoi(argv[4]);
  if (L < 1 || D < 1 || M < 1 || REPS < 1 || REPS > 64) {
    fprintf(stderr, "usage: bench_streamer [layers] [dim] [tokens] [reps]\n");
    return 2;
  }
  /* Weights in a real safetensors file (mmap source, resident views). */
  char path[] = "/tmp/bench_streamer.XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return 1;
  close(fd);
  warm_error err;
  warm_st_writer *w;
  int64_t sw[2] = {D, D}, sg[1] = {D};
  int rc = warm_st_writer_open(path, &w, &err);
  for (int i = 0; !rc && i < L; i++) {
    char n[64];
    snprintf(n, sizeof n, "layers.%d.w", i);
    rc = warm_st_writer_declare(w, n, WARM_BF16, 2, sw, &err);
    snprintf(n, sizeof n, "layers.%d.g", i);
    if (!rc) rc = warm_st_writer_declare(w, n, WARM_F32, 1, sg, &err);
  }
  if (!rc) rc = warm_st_writer_begin(w, &err);
  uint16_t *row = malloc((size_t)D * 2);
  float *grow = malloc((size_t)D * 4);
  uint64_t z = 0x1234;
  for (int i = 0; !rc && i < L; i++) {
    for (int r = 0; !rc && r < D; r++) {
      for (int k = 0; k < D; k++) {
        z = z * 6364136223846793005ull + 1442695040888963407ull;
        row[k] = wk_f32_to_bf16((float)((int64_t)(z >> 40) - (1 << 23)) /
                                (float)(1 << 23) * 0.05f);
      }
      rc = warm_st_writer_write(w, row, (size_t)D * 2, &err);
    }
    for (int k = 0; k < D; k++)
      grow[k] = 0.01f * (float)(k % 7);
    if (!rc) rc = warm_st_writer_write(w, grow, (size_t)D * 4, &err);
  }
  free(row);
  free(grow);
  warm_st *st = NULL;
  if (rc || warm_st_writer_close(w, &err) || warm_st_open(path, &st, &err)) {
    fprintf(stderr, "bench_streamer: %s\n", err.msg);
    unlink(path);
    return 1;
  }
  unlink(path); /* the mapping stays valid */

  wk_ctx *wk;
  if (wk_ctx_create(WK_BACKEND_CPU, 0, 1, &wk)) return 1;
  size_t ws = wk_linear_workspace(wk, M, D, D, WK_BF16);
  void *wsp = malloc(ws ? ws : 1);
  wk_set_workspace(wk, wsp, ws);
  float *x = calloc((size_t)M * D, 4), *y = calloc((size_t)M * D, 4);
  for (int k = 0; k < M * D; k++)
    x[k] = (float)(k % 13) * 0.1f - 0.6f;

  warm_stream_tensor *t = calloc((size_t)L * 2, sizeof *t);
  warm_stream_layer *layers = calloc((size_t)L, sizeof *layers);
  for (int i = 0; i < L; i++) {
    char n[64];
    snprintf(n, sizeof n, "layers.%d.w", i);
    const warm_st_entry *e = warm_st_find(st, n);
    t[2 * i] = (warm_stream_tensor){e->data, e->nbytes};
    snprintf(n, sizeof n, "layers.%d.g", i);
    e = warm_st_find(st, n);
    t[2 * i + 1] = (warm_stream_tensor){e->data, e->nbytes};
    layers[i] = (warm_stream_layer){&t[2 * i], 2};
  }
  uint64_t layer_bytes = warm_st_total_bytes(st) / (uint64_t)L;
  printf("cpu streamer: %d layers x %.2f MiB (bf16 %dx%d linear + rmsnorm), "
         "%d tokens, 1 compute thread, median of %d\n",
         L, (double)layer_bytes / 1048576.0, D, D, M, REPS);
  /* Configurations 0 = resident, 1..4 = {pinned, mmap} x {W=1, W=2}, timed
   * interleaved rep by rep so machine load drifts hit all alike; the ratio
   * is the median over reps of (streamed / resident of the same rep). */
  enum { NC = 5 };
  warm_streamer *s[NC] = {NULL};
  int status = 0;
  for (int c = 1; c < NC && !status; c++) {
    warm_streamer_config cfg = {.window = (uint32_t)(c - 1) % 2 + 1,
                                .source = c > 2 ? WARM_SOURCE_MMAP
                                                : WARM_SOURCE_PINNED,
                                .dev_alloc = {wk, dev_alloc, dev_free},
                                .name = "bench"};
    if (warm_streamer_create(wk, layers, (uint32_t)L, &cfg, &s[c], &err)) {
      fprintf(stderr, "bench_streamer: %s\n", err.msg);
      status = 1;
    }
  }
  double tm[NC][64], ratio[NC][64];
  for (int c = 0; c < NC && !status; c++)
    status = pass(wk, st, s[c], x, y);
  for (int c = 1; c < NC && !status; c++)
    warm_streamer_stats_reset(s[c]);
  for (int r = 0; r < REPS && !status; r++)
    for (int c = 0; c < NC && !status; c++) {
      double t0 = now_s();
      status = pass(wk, st, s[c], x, y);
      tm[c][r] = now_s() - t0;
      ratio[c][r] = tm[c][r] / tm[0][r];
    }
  static const char *const label[NC] = {
      "resident", "streamed pinned W=1", "streamed pinned W=2",
      "streamed mmap W=1", "streamed mmap W=2"};
  for (int c = 0; c < NC && !status; c++) {
    qsort(tm[c], (size_t)REPS, sizeof(double), cmp_d);
    qsort(ratio[c], (size_t)REPS, sizeof(double), cmp_d);
    double wait = 0;
    if (s[c]) {
      warm_stream_stats stats;
      warm_streamer_stats(s[c], &stats);
      wait = (double)stats.wait_ns * 1e-6 / REPS;
    }
    printf("%-22s %9.2f ms  ratio %.2f  (acquire wait %.1f ms/pass)\n",
           label[c], tm[c][REPS / 2] * 1e3, ratio[c][REPS / 2], wait);
  }
  for (int c = 1; c < NC; c++)
    warm_streamer_destroy(s[c]);
  free(t);
  free(layers);
  free(x);
  free(y);
  wk_ctx_destroy(wk);
  free(wsp);
  warm_st_close(st);
  return status;
}
