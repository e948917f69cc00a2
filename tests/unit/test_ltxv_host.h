/*
 * test_ltxv_host.h — a minimal host for the LTX-Video plugin tests and
 * benchmarks: a services table over a real warm_ledger (every device
 * allocation is booked, then made with wk_dev_alloc on the component's
 * device), plugin loading from <build>/plugins, golden files and the
 * checkpoint folders that ctest's ltxv_checkpoints fixture makes with
 * warm-mkmodel under <build>/ltxv-ckpt.
 */
#ifndef TEST_LTXV_HOST_H
#define TEST_LTXV_HOST_H

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "warm/ledger.h"
#include "warm/loader.h"
#include "warm/safetensors.h"
#include "warm/warm.h"
#include "wk.h"

#define LT_MAX_ALLOCS 4096
#define LT_CKPT WARM_BUILD_DIR "/ltxv-ckpt"

typedef struct lt_alloc {
  void *ptr;
  uint64_t bytes;
  warm_mem_class cls;
} lt_alloc;

typedef struct lt_host {
  warm_services svc;
  warm_ledger *ledger;
  wk_ctx *wk;
  const char *component;
  pthread_mutex_t mu;
  lt_alloc allocs[LT_MAX_ALLOCS];
  int n_allocs;
  uint64_t pinned_now;
  int cancel_after; /* cancelled() turns true after this many polls; <0 never */
  int polls;
  char last_log[512];
  warm_kv keys[16];
  uint32_t n_keys;
  warm_plugin *plugin;
  const warm_plugin_desc *desc;
} lt_host;

static int lt_failures;

#define LT_CHECK(cond, ...)                                                    \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);          \
      fprintf(stderr, __VA_ARGS__);                                            \
      fprintf(stderr, "\n");                                                   \
      lt_failures++;                                                           \
    }                                                                          \
  } while (0)

static inline void lt_log(void *ctx, int level, const char *fmt, ...) {
  lt_host *h = ctx;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(h->last_log, sizeof h->last_log, fmt, ap);
  va_end(ap);
  (void)level;
}

static inline int lt_dev_alloc(void *ctx, warm_mem_class cls, size_t bytes,
                               void **out, warm_error *err) {
  lt_host *h = ctx;
  int rc = warm_ledger_book(h->ledger, h->component, cls, bytes, err);
  if (rc) return rc;
  if (wk_dev_alloc(h->wk, bytes, out)) {
    warm_ledger_release(h->ledger, h->component, cls, bytes);
    return warm_error_set(err, WARM_ENOMEM, "device allocation failed");
  }
  pthread_mutex_lock(&h->mu);
  if (h->n_allocs < LT_MAX_ALLOCS)
    h->allocs[h->n_allocs++] = (lt_alloc){*out, bytes, cls};
  pthread_mutex_unlock(&h->mu);
  return 0;
}

static inline void lt_dev_free(void *ctx, void *p) {
  lt_host *h = ctx;
  if (!p) return;
  pthread_mutex_lock(&h->mu);
  for (int i = 0; i < h->n_allocs; i++)
    if (h->allocs[i].ptr == p) {
      warm_ledger_release(h->ledger, h->component, h->allocs[i].cls,
                          h->allocs[i].bytes);
      h->allocs[i] = h->allocs[--h->n_allocs];
      break;
    }
  pthread_mutex_unlock(&h->mu);
  wk_dev_free(h->wk, p);
}

static inline int lt_pinned_alloc(void *ctx, size_t bytes, void **out,
                                  warm_error *err) {
  lt_host *h = ctx;
  if (wk_host_alloc_pinned(h->wk, bytes, out))
    return warm_error_set(err, WARM_ENOMEM, "pinned allocation failed");
  pthread_mutex_lock(&h->mu);
  h->pinned_now += bytes;
  if (h->n_allocs < LT_MAX_ALLOCS)
    h->allocs[h->n_allocs++] = (lt_alloc){*out, bytes, 0};
  pthread_mutex_unlock(&h->mu);
  return 0;
}

static inline void lt_pinned_free(void *ctx, void *p) {
  lt_host *h = ctx;
  if (!p) return;
  pthread_mutex_lock(&h->mu);
  for (int i = 0; i < h->n_allocs; i++)
    if (h->allocs[i].ptr == p && h->allocs[i].cls == 0) {
      h->pinned_now -= h->allocs[i].bytes;
      h->allocs[i] = h->allocs[--h->n_allocs];
      break;
    }
  pthread_mutex_unlock(&h->mu);
  wk_host_free_pinned(h->wk, p);
}

static inline void lt_progress(void *ctx, float f) {
  (void)ctx;
  (void)f;
}

static inline int lt_cancelled(void *ctx) {
  lt_host *h = ctx;
  if (h->cancel_after < 0) return 0;
  return h->polls++ >= h->cancel_after;
}

static inline const char *lt_config_get(void *ctx, const char *key) {
  lt_host *h = ctx;
  for (uint32_t i = 0; i < h->n_keys; i++)
    if (!strcmp(h->keys[i].key, key)) return h->keys[i].value;
  return NULL;
}

/* Opens <build>/plugins/<plugin>.so and sets up a host for device 0 of
 * backend `be` with `budget` bytes. Returns 0 or prints why and returns
 * -1. */
static inline int lt_host_init_on(lt_host *h, const char *plugin,
                                  uint64_t budget, wk_backend be) {
  memset(h, 0, sizeof *h);
  pthread_mutex_init(&h->mu, NULL);
  h->component = plugin;
  h->cancel_after = -1;
  warm_error err = {0};
  char path[1024];
  snprintf(path, sizeof path, "%s/plugins/%s.so", WARM_BUILD_DIR, plugin);
  if (warm_plugin_open(path, &h->plugin, &err)) {
    fprintf(stderr, "cannot open %s: %s\n", path, err.msg);
    return -1;
  }
  h->desc = warm_plugin_descriptor(h->plugin);
  if (warm_ledger_create(be == WK_BACKEND_CUDA ? "cuda:0" : "cpu", budget,
                         &h->ledger) ||
      wk_ctx_create(be, 0, 0, &h->wk)) {
    fprintf(stderr, "host setup failed: %s\n", err.msg);
    return -1;
  }
  h->svc.struct_size = sizeof h->svc;
  h->svc.abi_minor = WARM_ABI_MINOR;
  h->svc.ctx = h;
  h->svc.log = lt_log;
  h->svc.dev_alloc = lt_dev_alloc;
  h->svc.dev_free = lt_dev_free;
  h->svc.pinned_alloc = lt_pinned_alloc;
  h->svc.pinned_free = lt_pinned_free;
  h->svc.progress = lt_progress;
  h->svc.cancelled = lt_cancelled;
  h->svc.config_get = lt_config_get;
  return 0;
}

static inline int lt_host_init(lt_host *h, const char *plugin,
                               uint64_t budget) {
  return lt_host_init_on(h, plugin, budget, WK_BACKEND_CPU);
}

static inline void lt_host_fini(lt_host *h) {
  LT_CHECK(h->n_allocs == 0, "%d allocations leaked by the plugin",
           h->n_allocs);
  warm_ledger_destroy(h->ledger);
  wk_ctx_destroy(h->wk);
  warm_plugin_close(h->plugin);
  pthread_mutex_destroy(&h->mu);
}

static inline void lt_key(lt_host *h, const char *k, const char *v) {
  h->keys[h->n_keys++] = (warm_kv){k, v};
}

static inline warm_component_config lt_config(lt_host *h, const char *weights,
                                              warm_dtype dt) {
  warm_component_config c;
  memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  c.name = h->component;
  c.weights = weights;
  c.device.type = WARM_DEVICE_CPU;
  c.placement = WARM_PLACE_RESIDENT;
  c.stream_window = 2;
  c.stream_source = WARM_SOURCE_PINNED;
  c.dtype = dt;
  c.keys = h->keys;
  c.n_keys = h->n_keys;
  return c;
}

static inline uint64_t lt_peak(lt_host *h) {
  warm_ledger_stats s;
  warm_ledger_stats_get(h->ledger, &s);
  return s.peak;
}

/* max |a - b| / max |b|: the relative error the parity tests bound. */
static inline double lt_rel_err(const float *a, const float *b, size_t n,
                                double *max_abs_ref) {
  double md = 0, mr = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - (double)b[i]);
    if (d > md || d != d) md = d != d ? INFINITY : d;
    if (fabs((double)b[i]) > mr) mr = fabs((double)b[i]);
  }
  if (max_abs_ref) *max_abs_ref = mr;
  return mr > 0 ? md / mr : md;
}

static inline double lt_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A fresh seed from the clock (printed by the caller) and a small PRNG. */
static inline uint64_t lt_seed(void) {
  const char *s = getenv("LTXV_TEST_SEED");
  if (s) return strtoull(s, NULL, 10);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20);
}
static inline float lt_randn(uint64_t *s) {
  double u1, u2;
  do {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    u1 = (double)(*s >> 11) / 9007199254740992.0;
  } while (u1 <= 0);
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  u2 = (double)(*s >> 11) / 9007199254740992.0;
  return (float)(sqrt(-2 * log(u1)) * cos(2 * M_PI * u2));
}

#endif /* TEST_LTXV_HOST_H */
