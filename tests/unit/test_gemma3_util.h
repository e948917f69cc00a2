/*
 * test_gemma3_util.h — a minimal host for the Gemma-3 plugin tests: a
 * services table over a real warm_ledger (device allocations are booked,
 * then made with wk_dev_alloc on the component's device), config helpers
 * and the checkpoint folders ctest builds with warm-mkmodel.
 */
#ifndef TEST_GEMMA3_UTIL_H
#define TEST_GEMMA3_UTIL_H

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* G3T_HOST_ONLY: just the host (services, ledger, config helpers), for
 * other plugins' tests (text_encoder_ltx2) that reuse it. */
#ifndef G3T_HOST_ONLY
#include "g3_plugin.h"
#endif
#include "warm/plugin.h"
#include "warm/ledger.h"
#include "warm/warm.h"
#include "wk.h"

#define G3T_MAX_ALLOCS 4096

typedef struct g3t_alloc {
  void *ptr;
  uint64_t bytes;
  warm_mem_class cls;
  int pinned;
} g3t_alloc;

typedef struct g3t_host {
  warm_services svc;
  warm_ledger *ledger;
  wk_ctx *wk; /* allocations on the component's device */
  const char *component;
  pthread_mutex_t mu;
  g3t_alloc allocs[G3T_MAX_ALLOCS];
  int n_allocs;
  uint64_t pinned_now, pinned_peak;
  int cancel_after; /* cancelled() turns true after this many polls; <0 never */
  int polls;
  int warnings;
  char last_log[512];
  const warm_kv *keys;
  uint32_t n_keys;
} g3t_host;

static int g3t_failures;

#define G3T_CHECK(cond, ...)                                                   \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);          \
      fprintf(stderr, __VA_ARGS__);                                            \
      fprintf(stderr, "\n");                                                   \
      g3t_failures++;                                                          \
    }                                                                          \
  } while (0)

static inline void g3t_log(void *ctx, int level, const char *fmt, ...) {
  g3t_host *h = ctx;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(h->last_log, sizeof h->last_log, fmt, ap);
  va_end(ap);
  if (level == WARM_LOG_WARN) h->warnings++;
}

static inline void g3t_remember(g3t_host *h, void *p, uint64_t n,
                                warm_mem_class c, int pinned) {
  pthread_mutex_lock(&h->mu);
  if (h->n_allocs < G3T_MAX_ALLOCS)
    h->allocs[h->n_allocs++] = (g3t_alloc){p, n, c, pinned};
  pthread_mutex_unlock(&h->mu);
}

static inline int g3t_forget(g3t_host *h, void *p, g3t_alloc *out) {
  pthread_mutex_lock(&h->mu);
  for (int i = 0; i < h->n_allocs; i++) {
    if (h->allocs[i].ptr == p) {
      *out = h->allocs[i];
      h->allocs[i] = h->allocs[--h->n_allocs];
      pthread_mutex_unlock(&h->mu);
      return 1;
    }
  }
  pthread_mutex_unlock(&h->mu);
  return 0;
}

static inline int g3t_dev_alloc(void *ctx, warm_mem_class cls, size_t bytes,
                                void **out, warm_error *err) {
  g3t_host *h = ctx;
  int rc = warm_ledger_book(h->ledger, h->component, cls, bytes, err);
  if (rc) return rc;
  if (wk_dev_alloc(h->wk, bytes ? bytes : 1, out) != 0) {
    warm_ledger_release(h->ledger, h->component, cls, bytes);
    return warm_error_set(err, WARM_EDEVICE, "device allocation of %zu failed",
                          bytes);
  }
  g3t_remember(h, *out, bytes, cls, 0);
  return 0;
}

static inline void g3t_dev_free(void *ctx, void *p) {
  g3t_host *h = ctx;
  g3t_alloc a;
  if (!p || !g3t_forget(h, p, &a)) return;
  wk_dev_free(h->wk, p);
  warm_ledger_release(h->ledger, h->component, a.cls, a.bytes);
}

static inline int g3t_pinned_alloc(void *ctx, size_t bytes, void **out,
                                   warm_error *err) {
  g3t_host *h = ctx;
  if (wk_host_alloc_pinned(h->wk, bytes ? bytes : 1, out) != 0)
    return warm_error_set(err, WARM_ENOMEM, "pinned allocation failed");
  g3t_remember(h, *out, bytes, 0, 1);
  pthread_mutex_lock(&h->mu);
  h->pinned_now += bytes;
  if (h->pinned_now > h->pinned_peak) h->pinned_peak = h->pinned_now;
  pthread_mutex_unlock(&h->mu);
  return 0;
}

static inline void g3t_pinned_free(void *ctx, void *p) {
  g3t_host *h = ctx;
  g3t_alloc a;
  if (!p || !g3t_forget(h, p, &a)) return;
  wk_host_free_pinned(h->wk, p);
  pthread_mutex_lock(&h->mu);
  h->pinned_now -= a.bytes;
  pthread_mutex_unlock(&h->mu);
}

static inline void g3t_progress(void *ctx, float f) {
  (void)ctx;
  (void)f;
}

static inline int g3t_cancelled(void *ctx) {
  g3t_host *h = ctx;
  h->polls++;
  return h->cancel_after >= 0 && h->polls > h->cancel_after;
}

static const char *g3t_config_get(void *ctx, const char *key) {
  g3t_host *h = ctx;
  for (uint32_t i = 0; i < h->n_keys; i++)
    if (strcmp(h->keys[i].key, key) == 0) return h->keys[i].value;
  return NULL;
}

/* budget 0 = unlimited. Returns 0 or exits the test (setup failure). */
static inline void g3t_host_init(g3t_host *h, warm_device dev,
                                 uint64_t budget) {
  memset(h, 0, sizeof *h);
  pthread_mutex_init(&h->mu, NULL);
  h->component = "text_encoder";
  h->cancel_after = -1;
  if (warm_ledger_create(dev.type == WARM_DEVICE_CUDA ? "cuda:0" : "cpu",
                         budget ? budget : UINT64_MAX / 4, &h->ledger) != 0 ||
      wk_ctx_create(dev.type == WARM_DEVICE_CUDA ? WK_BACKEND_CUDA
                                                 : WK_BACKEND_CPU,
                    dev.index, 1, &h->wk) != 0) {
    fprintf(stderr, "setup: ledger/context creation failed\n");
    exit(1);
  }
  h->svc.struct_size = sizeof h->svc;
  h->svc.abi_minor = WARM_ABI_MINOR;
  h->svc.ctx = h;
  h->svc.log = g3t_log;
  h->svc.dev_alloc = g3t_dev_alloc;
  h->svc.dev_free = g3t_dev_free;
  h->svc.pinned_alloc = g3t_pinned_alloc;
  h->svc.pinned_free = g3t_pinned_free;
  h->svc.progress = g3t_progress;
  h->svc.cancelled = g3t_cancelled;
  h->svc.config_get = g3t_config_get;
}

static inline void g3t_host_fini(g3t_host *h) {
  G3T_CHECK(h->n_allocs == 0, "%d allocations leaked by the plugin",
            h->n_allocs);
  wk_ctx_destroy(h->wk);
  warm_ledger_destroy(h->ledger);
  pthread_mutex_destroy(&h->mu);
}

static inline uint64_t g3t_booked(const g3t_host *h) {
  return warm_ledger_component_total(h->ledger, h->component);
}

static inline uint64_t g3t_peak(const g3t_host *h) {
  warm_ledger_stats st;
  warm_ledger_stats_get(h->ledger, &st);
  return st.peak;
}

/* The checkpoint folder of a parity config, built by the gemma3_checkpoints
 * ctest fixture (warm-mkmodel) under the build dir. */
static inline const char *g3t_ckpt(const char *name, char *buf, size_t n) {
  const char *root = getenv("G3_CKPT_DIR");
  snprintf(buf, n, "%s/%s", root ? root : WARM_BUILD_DIR "/gemma3-ckpt", name);
  return buf;
}

static inline warm_component_config g3t_config(const char *weights,
                                               warm_device dev, warm_dtype dt,
                                               const warm_kv *keys,
                                               uint32_t n_keys) {
  warm_component_config c;
  memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  c.name = "text_encoder";
  c.weights = weights;
  c.device = dev;
  c.placement = WARM_PLACE_RESIDENT;
  c.stream_window = 2;
  c.stream_source = WARM_SOURCE_PINNED;
  c.dtype = dt;
  c.keys = keys;
  c.n_keys = n_keys;
  return c;
}

static inline uint64_t g3t_seed(void) {
  const char *s = getenv("G3_SEED");
  uint64_t seed = s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL);
  printf("seed %llu (set G3_SEED to repeat)\n", (unsigned long long)seed);
  return seed;
}

/* ---- one placed run (shared by the cpu and cuda placement tests) ---- */

typedef struct g3t_out {
  float *emb;
  size_t bytes;
  warm_placement used;
  uint64_t streamed;
} g3t_out;

static inline int g3t_run_once(const warm_plugin_desc *d, warm_instance *g,
                               const char *prompt, g3t_out *o,
                               warm_error *err) {
  warm_run_args a;
  memset(&a, 0, sizeof a);
  a.struct_size = sizeof a;
  a.prompt = prompt;
  int rc = d->run(g, &a, err);
  if (rc) return rc;
  o->bytes = warm_tensor_bytes(&a.outputs[0]);
  o->emb = malloc(o->bytes);
  memcpy(o->emb, a.outputs[0].data, o->bytes);
  o->used = a.used_placement;
  o->streamed = a.streamed_bytes;
  warm_tensor_free(&a.outputs[0]);
  warm_tensor_free(&a.outputs[1]);
  return 0;
}

static inline uint64_t g3t_total(const warm_estimate *e) {
  return e->persistent + e->window + e->workspace;
}

#ifndef G3T_HOST_ONLY
/* place + run in one placement on a fresh instance; checks the ledger peak
 * against the estimate and returns the output. extra: one more plugin key
 * or NULL. */
static inline void g3t_placed_run_key(warm_device dev, const char *ck,
                                      warm_dtype dt, warm_place_req req,
                                      uint64_t budget, const char *prompt,
                                      const warm_kv *extra, g3t_out *o) {
  warm_kv keys[3] = {{"max_tokens", "32"}, {"output", "all"}, {NULL, NULL}};
  if (extra) keys[2] = *extra;
  warm_component_config cc = g3t_config(ck, dev, dt, keys, extra ? 3 : 2);
  g3t_host h;
  g3t_host_init(&h, dev, budget);
  const warm_plugin_desc *d = g3_descriptor();
  warm_instance *g = NULL;
  warm_error err = {0};
  memset(o, 0, sizeof *o);
  int rc = d->create(&h.svc, &cc, &g, &err);
  G3T_CHECK(rc == 0, "create: %s", err.msg);
  if (rc) {
    g3t_host_fini(&h);
    return;
  }
  warm_job_shape shape = {0};
  warm_estimate est;
  G3T_CHECK(d->estimate(g, &req, &shape, &est, &err) == 0, "%s", err.msg);
  warm_ledger_mark_reset(h.ledger);
  rc = d->place(g, &req, &err);
  G3T_CHECK(rc == 0, "place %s W=%u: %s", warm_placement_name(req.placement),
            req.stream_window, err.msg);
  if (rc == 0) {
    rc = g3t_run_once(d, g, prompt, o, &err);
    G3T_CHECK(rc == 0, "run: %s", err.msg);
    uint64_t peak = g3t_peak(&h);
    G3T_CHECK(peak <= g3t_total(&est),
              "%s W=%u: ledger peak %llu > estimate %llu",
              warm_placement_name(req.placement), req.stream_window,
              (unsigned long long)peak, (unsigned long long)g3t_total(&est));
    G3T_CHECK(h.pinned_peak <= est.host_pinned, "pinned %llu > estimate %llu",
              (unsigned long long)h.pinned_peak,
              (unsigned long long)est.host_pinned);
  }
  d->destroy(g);
  G3T_CHECK(g3t_booked(&h) == 0, "destroy frees every booked byte");
  g3t_host_fini(&h);
}

static inline void g3t_placed_run(warm_device dev, const char *ck,
                                  warm_dtype dt, warm_place_req req,
                                  uint64_t budget, const char *prompt,
                                  g3t_out *o) {
  g3t_placed_run_key(dev, ck, dt, req, budget, prompt, NULL, o);
}
#endif /* G3T_HOST_ONLY */

#endif /* TEST_GEMMA3_UTIL_H */
