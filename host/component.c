/*
 * host/component.c — component instances and the per-instance services table
 * (see runtime.h). Every device byte a plugin gets is booked in its device's
 * ledger first, allocated second, and released after it is freed, so the
 * ledger is never behind the driver.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "crash.h"
#include "runtime.h"
#include "warm/loader.h"
#include "wk.h"

/* ---- the services table
 * ------------------------------------------------------ */

static void svc_log(void *ctx, int level, const char *fmt, ...) {
  wh_component *c = ctx;
  va_list ap;
  va_start(ap, fmt);
  wh_logv(level, c->name, fmt, ap);
  va_end(ap);
}

static int track(wh_component *c, void *ptr, size_t bytes, int cls) {
  pthread_mutex_lock(&c->alloc_lock);
  if (c->n_allocs == c->cap_allocs) {
    size_t ncap = c->cap_allocs ? c->cap_allocs * 2 : 16;
    wh_alloc *na = realloc(c->allocs, ncap * sizeof *na);
    if (!na) {
      pthread_mutex_unlock(&c->alloc_lock);
      return WARM_ENOMEM;
    }
    c->allocs = na;
    c->cap_allocs = ncap;
  }
  c->allocs[c->n_allocs++] = (wh_alloc){ptr, bytes, cls};
  if (cls == 0) c->host_pinned += bytes;
  pthread_mutex_unlock(&c->alloc_lock);
  return 0;
}

/* Removes ptr from the table; returns 1 and its record when found. */
static int untrack(wh_component *c, void *ptr, wh_alloc *rec) {
  int found = 0;
  pthread_mutex_lock(&c->alloc_lock);
  for (size_t i = 0; i < c->n_allocs; i++)
    if (c->allocs[i].ptr == ptr) {
      *rec = c->allocs[i];
      c->allocs[i] = c->allocs[--c->n_allocs];
      if (rec->cls == 0) c->host_pinned -= rec->bytes;
      found = 1;
      break;
    }
  pthread_mutex_unlock(&c->alloc_lock);
  return found;
}

static void raw_free(wh_component *c, const wh_alloc *a) {
  if (a->cls == 0) {
    if (c->host_ledger)
      warm_ledger_release(c->host_ledger, c->name, WARM_MEM_PERSISTENT,
                          a->bytes);
    if (c->dev->wk)
      wk_host_free_pinned(c->dev->wk, a->ptr);
    else
      free(a->ptr);
  } else {
    if (c->dev->wk)
      wk_dev_free(c->dev->wk, a->ptr);
    else
      free(a->ptr);
    warm_ledger_release(c->dev->ledger, c->name, (warm_mem_class)a->cls,
                        a->bytes);
  }
}

static int svc_dev_alloc(void *ctx, warm_mem_class cls, size_t bytes,
                         void **out, warm_error *err) {
  wh_component *c = ctx;
  *out = NULL;
  if (cls < WARM_MEM_PERSISTENT || cls > WARM_MEM_WORKSPACE)
    return warm_error_set(err, WARM_EINVAL, "%s: dev_alloc: bad class %d",
                          c->name, (int)cls);
  if (bytes == 0)
    return warm_error_set(err, WARM_EINVAL, "%s: dev_alloc of 0 bytes",
                          c->name);
  int rc = warm_ledger_book(c->dev->ledger, c->name, cls, bytes, err);
  if (rc) return rc;
  void *p = NULL;
  if (c->dev->wk) {
    rc = wk_dev_alloc(c->dev->wk, bytes, &p);
    if (rc) p = NULL;
  } else {
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (posix_memalign(&p, 64, rounded) != 0) p = NULL;
  }
  if (!p) {
    warm_ledger_release(c->dev->ledger, c->name, cls, bytes);
    return warm_error_set(err, c->dev->wk ? WARM_EDEVICE : WARM_ENOMEM,
                          "%s: allocating %zu bytes on %s failed", c->name,
                          bytes, c->dev->name);
  }
  wh_alloc a = {p, bytes, (int)cls};
  if (track(c, p, bytes, (int)cls)) {
    raw_free(c, &a);
    return warm_error_set(err, WARM_ENOMEM, "%s: out of memory", c->name);
  }
  *out = p;
  return 0;
}

static void svc_dev_free(void *ctx, void *ptr) {
  wh_component *c = ctx;
  wh_alloc a;
  if (!ptr) return;
  if (!untrack(c, ptr, &a)) {
    wh_log(WARM_LOG_ERROR, c->name,
           "dev_free of a pointer dev_alloc did not return; ignored");
    return;
  }
  if (a.cls == 0) { /* pinned memory handed to dev_free: keep it tracked */
    wh_log(WARM_LOG_ERROR, c->name,
           "dev_free of pinned memory (use pinned_free); ignored");
    track(c, a.ptr, a.bytes, a.cls);
    return;
  }
  raw_free(c, &a);
}

static int svc_pinned_alloc(void *ctx, size_t bytes, void **out,
                            warm_error *err) {
  wh_component *c = ctx;
  void *p = NULL;
  *out = NULL;
  if (bytes == 0)
    return warm_error_set(err, WARM_EINVAL, "%s: pinned_alloc of 0 bytes",
                          c->name);
  /* A pinned host copy is host memory: the host ledger books it first. */
  int rc = c->host_ledger ? warm_ledger_book(c->host_ledger, c->name,
                                             WARM_MEM_PERSISTENT, bytes, err)
                          : 0;
  if (rc) return rc;
  if (c->dev->wk) {
    if (wk_host_alloc_pinned(c->dev->wk, bytes, &p)) p = NULL;
  } else if (posix_memalign(&p, 64, (bytes + 63) & ~(size_t)63) != 0) {
    p = NULL;
  }
  if (!p) {
    if (c->host_ledger)
      warm_ledger_release(c->host_ledger, c->name, WARM_MEM_PERSISTENT, bytes);
    return warm_error_set(err, WARM_ENOMEM,
                          "%s: pinned_alloc of %zu bytes failed", c->name,
                          bytes);
  }
  if (track(c, p, bytes, 0)) {
    wh_alloc a = {p, bytes, 0};
    raw_free(c, &a); /* releases the booking too */
    return warm_error_set(err, WARM_ENOMEM, "%s: out of memory", c->name);
  }
  *out = p;
  return 0;
}

static void svc_pinned_free(void *ctx, void *ptr) {
  wh_component *c = ctx;
  wh_alloc a;
  if (!ptr) return;
  if (!untrack(c, ptr, &a)) {
    wh_log(WARM_LOG_ERROR, c->name,
           "pinned_free of a pointer pinned_alloc did not return; ignored");
    return;
  }
  if (a.cls != 0) {
    wh_log(WARM_LOG_ERROR, c->name,
           "pinned_free of device memory (use dev_free); ignored");
    track(c, a.ptr, a.bytes, a.cls);
    return;
  }
  raw_free(c, &a);
}

static void svc_progress(void *ctx, float fraction) {
  wh_component *c = ctx;
  __atomic_store(&c->progress, &fraction, __ATOMIC_RELAXED);
}

static int svc_cancelled(void *ctx) {
  wh_component *c = ctx;
  return __atomic_load_n(&c->cancelled, __ATOMIC_RELAXED);
}

static const char *svc_config_get(void *ctx, const char *key) {
  wh_component *c = ctx;
  return key ? wh_cfg_component_get(c->cc, key) : NULL;
}

/* ---- lifecycle
 * ---------------------------------------------------------------- */

const char *wh_comp_state_name(wh_comp_state s) {
  switch (s) {
  case WH_COMP_CREATED:
    return "created";
  case WH_COMP_PLACED:
    return "ready";
  case WH_COMP_FAILED:
    return "failed";
  }
  return "?";
}

int wh_component_create(wh_runtime *rt, wh_config *cfg,
                        const wh_cfg_component *cc, wh_plugin_ref *plugin,
                        wh_device *dev, wh_component **out, warm_error *err) {
  (void)rt;
  *out = NULL;
  wh_component *c = calloc(1, sizeof *c);
  if (!c || !(c->name = strdup(cc->name))) {
    free(c);
    wh_registry_release(rt->registry, plugin);
    return warm_error_set(err, WARM_ENOMEM, "out of memory");
  }
  pthread_mutex_init(&c->alloc_lock, NULL);
  c->cfg = wh_config_ref(cfg);
  c->cc = cc;
  c->plugin = plugin;
  c->dev = dev;
  c->host_ledger = rt && rt->host ? rt->host->ledger : NULL;
  c->placement = cc->placement;
  c->stream_window = cc->stream_window;
  c->stream_source = cc->stream_source;
  c->priority = cc->priority;
  c->svc = (warm_services){
      .struct_size = sizeof(warm_services),
      .abi_minor = WARM_ABI_MINOR,
      .ctx = c,
      .log = svc_log,
      .dev_alloc = svc_dev_alloc,
      .dev_free = svc_dev_free,
      .pinned_alloc = svc_pinned_alloc,
      .pinned_free = svc_pinned_free,
      .progress = svc_progress,
      .cancelled = svc_cancelled,
      .config_get = svc_config_get,
      .flags = rt && rt->plan_only ? WARM_SVC_PLAN_ONLY : 0,
  };
  c->ccfg = (warm_component_config){
      .struct_size = sizeof(warm_component_config),
      .name = cc->name,
      .weights = cc->weights,
      .device = cc->device,
      .placement = cc->placement,
      .stream_window = cc->stream_window,
      .stream_source = cc->stream_source,
      .dtype = cc->dtype,
      .priority = cc->priority,
      .keys = cc->plugin_keys,
      .n_keys = (uint32_t)cc->n_plugin_keys,
      .base_dir = cfg->dir,
  };
  const warm_plugin_desc *d = wh_plugin_desc(plugin);
  warm_error e = {0};
  int rc = 0;
  int (*validate)(const warm_services *, const warm_component_config *,
                  warm_error *) = WARM_DESC_OPT(d, validate);
  if (validate && (rc = validate(&c->svc, &c->ccfg, &e)) != 0) {
    warm_error_set(err, rc < 0 ? rc : WARM_EINTERNAL, "%s (%s): validate: %s",
                   cc->name, wh_plugin_short(plugin),
                   e.msg[0] ? e.msg : warm_strerror(rc));
    wh_component_destroy(rt, c);
    return err ? err->code : rc;
  }
  rc = d->create(&c->svc, &c->ccfg, &c->inst, &e);
  if (rc == 0 && !c->inst)
    rc = warm_error_set(&e, WARM_EINTERNAL, "create returned no instance");
  if (rc) {
    warm_error_set(err, rc < 0 ? rc : WARM_EINTERNAL, "%s (%s): create: %s",
                   cc->name, wh_plugin_short(plugin),
                   e.msg[0] ? e.msg : warm_strerror(rc));
    c->inst = NULL;
    wh_component_destroy(rt, c);
    return err ? err->code : rc;
  }
  *out = c;
  return 0;
}

void wh_component_destroy(wh_runtime *rt, wh_component *c) {
  if (!c) return;
  if (c->inst) wh_plugin_desc(c->plugin)->destroy(c->inst);
  if (c->n_allocs)
    wh_log(WARM_LOG_WARN, c->name,
           "plugin left %zu allocations after destroy; freeing them",
           c->n_allocs);
  while (c->n_allocs) {
    wh_alloc a = c->allocs[--c->n_allocs];
    raw_free(c, &a);
  }
  free(c->allocs);
  warm_ledger_forget(c->dev->ledger, c->name);
  if (c->host_ledger) warm_ledger_forget(c->host_ledger, c->name);
  wh_registry_release(rt->registry, c->plugin);
  wh_config_free(c->cfg);
  pthread_mutex_destroy(&c->alloc_lock);
  free(c->name);
  free(c);
}

static warm_job_shape job_shape(const wh_config *cfg) {
  warm_job_shape s = {0};
  s.frames = cfg->pipeline.frames;
  s.height = cfg->pipeline.height;
  s.width = cfg->pipeline.width;
  s.batch = cfg->pipeline.guidance > 1.0 ? 2 : 1;
  return s;
}

int wh_component_estimate(wh_component *c, const wh_config *cfg,
                          warm_placement p, uint32_t window,
                          warm_stream_source src, warm_estimate *out,
                          warm_error *err) {
  warm_place_req req = {p, window, src};
  warm_job_shape shape = job_shape(cfg);
  warm_error e = {0};
  memset(out, 0, sizeof *out);
  int rc = wh_plugin_desc(c->plugin)->estimate(c->inst, &req, &shape, out, &e);
  if (rc)
    return warm_error_set(
        err, rc < 0 ? rc : WARM_EINTERNAL, "%s: estimate (%s): %s", c->name,
        warm_placement_name(p), e.msg[0] ? e.msg : warm_strerror(rc));
  return 0;
}

typedef struct place_args {
  wh_component *c;
  const warm_place_req *req;
  warm_error *e;
} place_args;

static int place_run(void *arg) {
  place_args *a = arg;
  return wh_plugin_desc(a->c->plugin)->place(a->c->inst, a->req, a->e);
}

/* place() under a SIGBUS guard: a resident placement reads the mapped
 * weights, which a truncated file turns into a fault. */
int wh_component_place(wh_runtime *rt, wh_component *c, warm_placement p,
                       uint32_t window, warm_stream_source src,
                       warm_error *err) {
  warm_place_req req = {p, window, src};
  warm_error e = {0};
  if (__atomic_load_n(&c->broken, __ATOMIC_ACQUIRE))
    return warm_error_set(err, WARM_EINVAL, "%s: failed earlier: %s", c->name,
                          c->last_error);
  place_args a = {c, &req, &e};
  int faulted = 0;
  wh_crash_set_component(c->name);
  int rc = wh_guarded_call(place_run, &a, c->name, &e, &faulted);
  wh_crash_set_component(NULL);
  if (faulted) __atomic_store_n(&c->broken, 1, __ATOMIC_RELEASE);
  pthread_mutex_lock(&rt->lock);
  if (faulted) c->state = WH_COMP_FAILED;
  if (rc == 0) {
    c->active = p;
    c->stream_window = window;
    c->stream_source = src;
    c->state = WH_COMP_PLACED;
    c->last_error[0] = '\0';
  } else {
    warm_error_set(err, rc < 0 ? rc : WARM_EINTERNAL, "%s: place %s: %s",
                   c->name, warm_placement_name(p),
                   e.msg[0] ? e.msg : warm_strerror(rc));
    snprintf(c->last_error, sizeof c->last_error, "%s", err ? err->msg : "");
    for (char *q = c->last_error; *q; q++) /* shown in one-line replies */
      if (*q == '\n' || *q == '\r') *q = ' ';
    if (c->state != WH_COMP_PLACED) c->state = WH_COMP_FAILED;
  }
  pthread_mutex_unlock(&rt->lock);
  return rc ? (rc < 0 ? rc : WARM_EINTERNAL) : 0;
}

typedef struct bytes_q {
  const char *name;
  uint64_t p, w, ws;
} bytes_q;

static void bytes_cb(void *user, const warm_ledger_entry *e) {
  bytes_q *q = user;
  if (strcmp(e->component, q->name)) return;
  q->p = e->persistent;
  q->w = e->window;
  q->ws = e->workspace;
}

void wh_component_bytes(const wh_component *c, uint64_t *persistent,
                        uint64_t *window, uint64_t *workspace) {
  bytes_q q = {c->name, 0, 0, 0};
  warm_ledger_foreach(c->dev->ledger, bytes_cb, &q);
  *persistent = q.p;
  *window = q.w;
  *workspace = q.ws;
}
