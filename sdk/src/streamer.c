/* The weight streamer: layers pass through W device slots; a copy thread
 * (cpu) or the copy stream plus events (cuda) fill slots ahead of compute.
 * See warm/streamer.h for the contract. */
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "warm/fault.h"
#include "warm/streamer.h"
#include "warm/warm.h"

/* SLOT_FAILED: the cpu copy hit SIGBUS (a mapped file that shrank). */
enum {
  SLOT_FREE = 0,
  SLOT_QUEUED,
  SLOT_COPYING,
  SLOT_READY,
  SLOT_INUSE,
  SLOT_FAILED
};

typedef struct st_layer {
  uint32_t n;
  const void **src; /* per tensor: host source */
  size_t *bytes;
  size_t *off;       /* per tensor: offset in the slot */
  const void *span;  /* one-copy source (pinned copy or mmap span) */
  size_t copy_bytes; /* bytes moved per fill */
  int contiguous;    /* span holds the whole layer, copied as is */
  int registered;    /* span is page-locked (cuda) */
  void *pinned;      /* PINNED: the packed copy, owned */
} st_layer;

typedef struct st_slot {
  void *dev;
  int64_t layer; /* -1: none */
  int state;
  uint64_t seq; /* fill order for the cpu copy thread */
  void **ptrs;
  wk_event *ready, *freed;
  int freed_recorded;
} st_slot;

typedef struct st_range {
  void *base;
  size_t len;
  int ok;
} st_range;

struct warm_streamer {
  wk_ctx *wk;
  wk_backend be;
  uint32_t L, W;
  warm_stream_source source;
  warm_stream_alloc dev, host;
  char name[64];
  st_layer *layers;
  st_slot *slots;
  uint64_t slot_bytes;
  uint32_t max_tensors;
  /* cuda: bounce buffer for spans that could not be registered */
  void *bounce;
  wk_event *bounce_ev;
  int bounce_used;
  st_range *ranges;
  size_t n_ranges;
  /* cpu: copy thread */
  pthread_t th;
  int th_started, stop;
  pthread_mutex_t mu;
  pthread_cond_t cv_work, cv_done;
  uint64_t seq;
  uint32_t next, n_inuse;
  const void *fault_addr; /* the last SIGBUS of the copy thread */
  warm_stream_stats stats;
};

static size_t align_up(size_t x, size_t a) {
  return (x + a - 1) / a * a;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- layout -------------------------------------------------------------- */

/* Packed size of a layer: tensors at WARM_STREAM_ALIGN offsets. */
static size_t packed_bytes(const warm_stream_layer *l) {
  size_t o = 0;
  for (uint32_t k = 0; k < l->n_tensors; k++)
    o = align_up(o, WARM_STREAM_ALIGN) + l->tensors[k].bytes;
  return o;
}

/* For an mmap source: the span [lo, hi) when the layer can be copied as one
 * piece (see the header), else 0. */
static int span_of(const warm_stream_layer *l, const char **lo_out,
                   size_t *len_out) {
  if (!l->n_tensors) return 0;
  const char *lo = NULL, *hi = NULL;
  size_t sum = 0;
  for (uint32_t k = 0; k < l->n_tensors; k++) {
    const char *p = l->tensors[k].src;
    if (!p) return 0;
    if (!lo || p < lo) lo = p;
    if (!hi || p + l->tensors[k].bytes > hi) hi = p + l->tensors[k].bytes;
    sum += l->tensors[k].bytes;
  }
  for (uint32_t k = 0; k < l->n_tensors; k++)
    if ((size_t)((const char *)l->tensors[k].src - lo) % WARM_STREAM_ALIGN_MIN)
      return 0;
  size_t len = (size_t)(hi - lo);
  if (len > sum + sum / 8) return 0;
  *lo_out = lo;
  *len_out = len;
  return 1;
}

int warm_streamer_plan(const warm_stream_layer *layers, uint32_t n_layers,
                       uint32_t window, warm_stream_source source,
                       wk_backend backend, warm_stream_plan *out,
                       warm_error *err) {
  memset(out, 0, sizeof *out);
  if (window < 1)
    return warm_error_set(err, WARM_EINVAL, "streamer: window must be >= 1");
  if (source != WARM_SOURCE_PINNED && source != WARM_SOURCE_MMAP)
    return warm_error_set(err, WARM_EINVAL, "streamer: unknown source %d",
                          (int)source);
  for (uint32_t i = 0; i < n_layers; i++) {
    const warm_stream_layer *l = &layers[i];
    if (l->n_tensors && !l->tensors)
      return warm_error_set(err, WARM_EINVAL, "streamer: layer %u: no tensors",
                            i);
    size_t pk = packed_bytes(l), slot = pk;
    const char *lo;
    size_t len;
    if (source == WARM_SOURCE_MMAP && span_of(l, &lo, &len)) slot = len;
    if (slot > out->slot_bytes) out->slot_bytes = slot;
    if (source == WARM_SOURCE_PINNED) out->host_bytes += pk;
    for (uint32_t k = 0; k < l->n_tensors; k++)
      out->layer_bytes += l->tensors[k].bytes;
  }
  out->slot_bytes = align_up(out->slot_bytes, WARM_STREAM_ALIGN);
  /* More slots than layers would never be used. */
  uint32_t w = window < n_layers ? window : (n_layers ? n_layers : 1);
  out->window_bytes = out->slot_bytes * w;
  if (source == WARM_SOURCE_MMAP && backend == WK_BACKEND_CUDA)
    out->host_bytes = out->slot_bytes;
  return 0;
}

/* ---- host buffers -------------------------------------------------------- */

static int host_alloc(warm_streamer *s, size_t n, void **out, warm_error *err) {
  if (s->host.alloc) return s->host.alloc(s->host.user, n ? n : 1, out, err);
  int rc = wk_host_alloc_pinned(s->wk, n ? n : 1, out);
  if (rc)
    return warm_error_set(err, WARM_ENOMEM,
                          "%s: pinned host allocation of %zu bytes failed: %s",
                          s->name, n, wk_last_error(s->wk));
  return 0;
}

static void host_free(warm_streamer *s, void *p) {
  if (!p) return;
  if (s->host.alloc)
    s->host.free(s->host.user, p);
  else
    wk_host_free_pinned(s->wk, p);
}

static int range_cmp(const void *a, const void *b) {
  const st_range *x = a, *y = b;
  return (x->base > y->base) - (x->base < y->base);
}

/* cuda + mmap: page-lock the contiguous spans in place, merged into
 * maximal page ranges (registering overlapping ranges twice fails). A range
 * the driver refuses falls back to the bounce buffer. */
static void register_spans(warm_streamer *s) {
  long pg = sysconf(_SC_PAGESIZE);
  size_t page = pg > 0 ? (size_t)pg : 4096, n = 0;
  s->ranges = calloc(s->L ? s->L : 1, sizeof *s->ranges);
  if (!s->ranges) return;
  for (uint32_t i = 0; i < s->L; i++) {
    st_layer *l = &s->layers[i];
    if (!l->contiguous || !l->copy_bytes) continue;
    uintptr_t a = (uintptr_t)l->span / page * page;
    uintptr_t b = align_up((uintptr_t)l->span + l->copy_bytes, page);
    s->ranges[n].base = (void *)a;
    s->ranges[n].len = b - a;
    n++;
  }
  qsort(s->ranges, n, sizeof *s->ranges, range_cmp);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (m && (char *)s->ranges[m - 1].base + s->ranges[m - 1].len >=
                 (char *)s->ranges[i].base) {
      char *end = (char *)s->ranges[i].base + s->ranges[i].len;
      char *cur = (char *)s->ranges[m - 1].base + s->ranges[m - 1].len;
      if (end > cur)
        s->ranges[m - 1].len = (size_t)(end - (char *)s->ranges[m - 1].base);
    } else {
      s->ranges[m++] = s->ranges[i];
    }
  }
  s->n_ranges = m;
  for (size_t r = 0; r < m; r++)
    s->ranges[r].ok =
        wk_host_register(s->wk, s->ranges[r].base, s->ranges[r].len) == 0;
  for (uint32_t i = 0; i < s->L; i++) {
    st_layer *l = &s->layers[i];
    if (!l->contiguous || !l->copy_bytes) continue;
    for (size_t r = 0; r < m; r++) {
      const char *b = s->ranges[r].base;
      if ((const char *)l->span >= b &&
          (const char *)l->span + l->copy_bytes <= b + s->ranges[r].len) {
        l->registered = s->ranges[r].ok;
        break;
      }
    }
    s->stats.registered += (uint32_t)l->registered;
  }
}

/* ---- copying ------------------------------------------------------------- */

/* cpu: fills a slot from the copy thread, outside the lock. */
static void cpu_fill(const st_layer *l, void *dev) {
  if (l->contiguous) {
    if (l->copy_bytes) memcpy(dev, l->span, l->copy_bytes);
    return;
  }
  for (uint32_t k = 0; k < l->n; k++)
    if (l->bytes[k]) memcpy((char *)dev + l->off[k], l->src[k], l->bytes[k]);
}

/* cpu_fill under a SIGBUS guard: a mapped source can fault (a truncated
 * file); then the slot fails and the acquire that waits for it reports the
 * file. Returns the faulting address, or NULL. */
static const void *guarded_fill(const st_layer *l, void *dev) {
  warm_fault_guard g;
  const void *volatile fault = NULL;
  warm_fault_push(&g);
  if (sigsetjmp(g.jb, 0) == 0)
    cpu_fill(l, dev);
  else
    fault = g.addr ? g.addr : (const void *)l;
  warm_fault_pop(&g);
  return fault;
}

static void *copy_thread(void *arg) {
  warm_streamer *s = arg;
  pthread_mutex_lock(&s->mu);
  while (!s->stop) {
    st_slot *pick = NULL;
    for (uint32_t i = 0; i < s->W; i++)
      if (s->slots[i].state == SLOT_QUEUED &&
          (!pick || s->slots[i].seq < pick->seq))
        pick = &s->slots[i];
    if (!pick) {
      pthread_cond_wait(&s->cv_work, &s->mu);
      continue;
    }
    pick->state = SLOT_COPYING;
    const st_layer *l = &s->layers[pick->layer];
    pthread_mutex_unlock(&s->mu);
    const void *fault = guarded_fill(l, pick->dev);
    pthread_mutex_lock(&s->mu);
    if (fault) s->fault_addr = fault;
    pick->state = fault ? SLOT_FAILED : SLOT_READY;
    pthread_cond_broadcast(&s->cv_done);
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

static int dev_fail(warm_streamer *s, const char *what, warm_error *err) {
  return warm_error_set(err, WARM_EDEVICE, "%s: streamer %s: %s", s->name, what,
                        wk_last_error(s->wk));
}

/* cuda: queues the fill of slot sl on the copy stream, after the compute
 * that last read the slot. A span that is not page-locked goes through the
 * bounce buffer (host memcpy, after the previous bounce copy finished). */
static int cuda_fill(warm_streamer *s, st_slot *sl, warm_error *err) {
  const st_layer *l = &s->layers[sl->layer];
  if (sl->freed_recorded && wk_copy_wait(s->wk, sl->freed))
    return dev_fail(s, "copy wait", err);
  if (l->copy_bytes) {
    const void *src = l->span;
    if (!(s->source == WARM_SOURCE_PINNED || l->registered)) {
      if (s->bounce_used && wk_event_sync(s->wk, s->bounce_ev))
        return dev_fail(s, "bounce sync", err);
      cpu_fill(l, s->bounce);
      src = s->bounce;
    }
    if (wk_copy_h2d_async(s->wk, sl->dev, src, l->copy_bytes))
      return dev_fail(s, "h2d copy", err);
    if (src == s->bounce) {
      if (wk_event_record_copy(s->wk, s->bounce_ev))
        return dev_fail(s, "event record", err);
      s->bounce_used = 1;
    }
  }
  if (wk_event_record_copy(s->wk, sl->ready))
    return dev_fail(s, "event record", err);
  return 0;
}

/* The slot holding (or filling) layer i, or NULL. Lock held. */
static st_slot *slot_of(warm_streamer *s, uint32_t i) {
  for (uint32_t k = 0; k < s->W; k++)
    if (s->slots[k].layer == (int64_t)i) return &s->slots[k];
  return NULL;
}

/* A free slot to overwrite: an empty one first, else the one holding the
 * lowest layer (passed first in a sequential pass). Lock held. */
static st_slot *victim(warm_streamer *s) {
  st_slot *best = NULL;
  for (uint32_t k = 0; k < s->W; k++) {
    st_slot *sl = &s->slots[k];
    if (sl->state != SLOT_FREE) continue;
    if (sl->layer < 0) return sl;
    if (!best || sl->layer < best->layer) best = sl;
  }
  return best;
}

/* Starts fills for layers next, next+1, ... while free slots last. Lock
 * held. */
static int schedule(warm_streamer *s, warm_error *err) {
  while (s->next < s->L) {
    uint32_t j = s->next;
    st_slot *have = slot_of(s, j);
    if (have) {
      /* Still cached from before: count it as prefetched. */
      if (have->state == SLOT_FREE) have->state = SLOT_READY;
      s->next++;
      continue;
    }
    st_slot *sl = victim(s);
    if (!sl) break;
    sl->layer = j;
    const st_layer *l = &s->layers[j];
    for (uint32_t k = 0; k < l->n; k++)
      sl->ptrs[k] = (char *)sl->dev + l->off[k];
    s->next++;
    s->stats.copies++;
    s->stats.streamed_bytes += l->copy_bytes;
    if (s->be == WK_BACKEND_CUDA) {
      int rc = cuda_fill(s, sl, err);
      if (rc) {
        sl->layer = -1;
        sl->state = SLOT_FREE;
        return rc;
      }
      sl->state = SLOT_READY;
    } else {
      sl->state = SLOT_QUEUED;
      sl->seq = s->seq++;
      pthread_cond_signal(&s->cv_work);
    }
  }
  return 0;
}

/* A miss: drop prefetched layers that are not in use so the asked one can
 * be copied. cpu: waits for a copy in progress. Lock held. */
static void discard_prefetch(warm_streamer *s) {
  for (;;) {
    int copying = 0;
    for (uint32_t k = 0; k < s->W; k++)
      copying |= s->slots[k].state == SLOT_COPYING;
    if (!copying) break;
    pthread_cond_wait(&s->cv_done, &s->mu);
  }
  for (uint32_t k = 0; k < s->W; k++) {
    st_slot *sl = &s->slots[k];
    if (sl->state == SLOT_QUEUED || sl->state == SLOT_FAILED) {
      sl->layer = -1;
      sl->state = SLOT_FREE;
    } else if (sl->state == SLOT_READY) {
      sl->state = SLOT_FREE; /* contents stay valid: a cached layer */
    }
  }
}

int warm_streamer_acquire(warm_streamer *s, uint32_t layer, void *const **ptrs,
                          warm_error *err) {
  if (layer >= s->L)
    return warm_error_set(err, WARM_EINVAL, "%s: layer %u of %u", s->name,
                          layer, s->L);
  int rc = 0;
  pthread_mutex_lock(&s->mu);
  st_slot *sl = slot_of(s, layer);
  if (sl && sl->state == SLOT_INUSE) {
    rc = warm_error_set(err, WARM_EINVAL, "%s: layer %u is already acquired",
                        s->name, layer);
    goto out;
  }
  if (s->n_inuse == s->W) {
    rc = warm_error_set(err, WARM_EINVAL,
                        "%s: all %u window slots are acquired; release one "
                        "before acquiring layer %u",
                        s->name, s->W, layer);
    goto out;
  }
  if (sl) {
    /* Cached or prefetched: keep it from being chosen as a victim. */
    if (sl->state == SLOT_FREE) sl->state = SLOT_READY;
    s->stats.hits++;
    if (s->next <= layer) s->next = layer + 1;
  } else {
    s->next = layer;
    if (!victim(s)) discard_prefetch(s);
  }
  if ((rc = schedule(s, err))) goto out;
  sl = slot_of(s, layer);
  if (!sl) {
    rc = warm_error_set(err, WARM_EINTERNAL, "%s: no slot for layer %u",
                        s->name, layer);
    goto out;
  }
  if (s->be == WK_BACKEND_CUDA) {
    if (wk_compute_wait(s->wk, sl->ready)) {
      rc = dev_fail(s, "compute wait", err);
      goto out;
    }
  } else if (sl->state == SLOT_QUEUED || sl->state == SLOT_COPYING) {
    uint64_t t0 = now_ns();
    while (sl->state == SLOT_QUEUED || sl->state == SLOT_COPYING)
      pthread_cond_wait(&s->cv_done, &s->mu);
    s->stats.wait_ns += now_ns() - t0;
  }
  if (sl->state == SLOT_FAILED) {
    char file[256];
    warm_fault_describe(s->fault_addr, file, sizeof file);
    sl->layer = -1;
    sl->state = SLOT_FREE;
    rc = warm_error_set(err, WARM_EIO,
                        "%s: layer %u: SIGBUS reading %s (the file was "
                        "truncated or rewritten while mapped)",
                        s->name, layer, file);
    goto out;
  }
  sl->state = SLOT_INUSE;
  s->n_inuse++;
  *ptrs = sl->ptrs;
out:
  pthread_mutex_unlock(&s->mu);
  return rc;
}

int warm_streamer_release(warm_streamer *s, uint32_t layer, warm_error *err) {
  int rc = 0;
  pthread_mutex_lock(&s->mu);
  st_slot *sl = layer < s->L ? slot_of(s, layer) : NULL;
  if (!sl || sl->state != SLOT_INUSE) {
    rc = warm_error_set(err, WARM_EINVAL,
                        "%s: release of layer %u, which "
                        "is not acquired",
                        s->name, layer);
    goto out;
  }
  if (s->be == WK_BACKEND_CUDA) {
    if (wk_event_record_compute(s->wk, sl->freed)) {
      rc = dev_fail(s, "event record", err);
      goto out;
    }
    sl->freed_recorded = 1;
  }
  sl->state = SLOT_FREE;
  s->n_inuse--;
  rc = schedule(s, err);
out:
  pthread_mutex_unlock(&s->mu);
  return rc;
}

/* ---- create / destroy ---------------------------------------------------- */

/* Copies the layer table and works out each layer's slot layout. */
static int build_layers(warm_streamer *s, const warm_stream_layer *layers,
                        warm_error *err) {
  s->layers = calloc(s->L ? s->L : 1, sizeof *s->layers);
  if (!s->layers) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  for (uint32_t i = 0; i < s->L; i++) {
    const warm_stream_layer *in = &layers[i];
    st_layer *l = &s->layers[i];
    l->n = in->n_tensors;
    l->src = calloc(l->n + 1, sizeof *l->src);
    l->bytes = calloc(l->n + 1, sizeof *l->bytes);
    l->off = calloc(l->n + 1, sizeof *l->off);
    if (!l->src || !l->bytes || !l->off)
      return warm_error_set(err, WARM_ENOMEM, "out of memory");
    if (l->n > s->max_tensors) s->max_tensors = l->n;
    size_t o = 0;
    for (uint32_t k = 0; k < l->n; k++) {
      l->src[k] = in->tensors[k].src;
      l->bytes[k] = in->tensors[k].bytes;
      if (l->bytes[k] && !l->src[k])
        return warm_error_set(err, WARM_EINVAL,
                              "%s: layer %u tensor %u has no source", s->name,
                              i, k);
      o = align_up(o, WARM_STREAM_ALIGN);
      l->off[k] = o;
      o += l->bytes[k];
    }
    const char *lo;
    size_t len;
    if (s->source == WARM_SOURCE_MMAP && span_of(in, &lo, &len)) {
      l->contiguous = 1;
      l->span = lo;
      l->copy_bytes = len;
      for (uint32_t k = 0; k < l->n; k++)
        l->off[k] = (size_t)((const char *)l->src[k] - lo);
    } else if (s->source == WARM_SOURCE_PINNED) {
      int rc = host_alloc(s, o, &l->pinned, err);
      if (rc) return rc;
      for (uint32_t k = 0; k < l->n; k++)
        if (l->bytes[k])
          memcpy((char *)l->pinned + l->off[k], l->src[k], l->bytes[k]);
      l->contiguous = 1;
      l->span = l->pinned;
      l->copy_bytes = o;
    } else {
      l->copy_bytes = o; /* gathered tensor by tensor */
    }
    s->stats.contiguous_layers += (uint32_t)l->contiguous;
  }
  return 0;
}

int warm_streamer_create(wk_ctx *wk, const warm_stream_layer *layers,
                         uint32_t n_layers, const warm_streamer_config *cfg,
                         warm_streamer **out, warm_error *err) {
  *out = NULL;
  if (!wk || !cfg || !cfg->dev_alloc.alloc || !cfg->dev_alloc.free ||
      (n_layers && !layers))
    return warm_error_set(err, WARM_EINVAL,
                          "streamer: missing context, layers or allocator");
  if (cfg->host_alloc.alloc && !cfg->host_alloc.free)
    return warm_error_set(err, WARM_EINVAL,
                          "streamer: host allocator without free");
  warm_stream_plan plan;
  int rc = warm_streamer_plan(layers, n_layers, cfg->window, cfg->source,
                              wk_ctx_backend(wk), &plan, err);
  if (rc) return rc;
  warm_streamer *s = calloc(1, sizeof *s);
  if (!s) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  s->wk = wk;
  s->be = wk_ctx_backend(wk);
  s->L = n_layers;
  s->W = cfg->window < n_layers ? cfg->window : (n_layers ? n_layers : 1);
  s->source = cfg->source;
  s->dev = cfg->dev_alloc;
  s->host = cfg->host_alloc;
  s->slot_bytes = plan.slot_bytes;
  snprintf(s->name, sizeof s->name, "%s", cfg->name ? cfg->name : "streamer");
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv_work, NULL);
  pthread_cond_init(&s->cv_done, NULL);
  s->slots = calloc(s->W, sizeof *s->slots);
  if (!s->slots) {
    rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
    goto fail;
  }
  for (uint32_t k = 0; k < s->W; k++)
    s->slots[k].layer = -1;
  if ((rc = build_layers(s, layers, err))) goto fail;
  for (uint32_t k = 0; k < s->W; k++) {
    st_slot *sl = &s->slots[k];
    sl->ptrs = calloc(s->max_tensors + 1, sizeof *sl->ptrs);
    if (!sl->ptrs) {
      rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
      goto fail;
    }
    if ((rc = s->dev.alloc(s->dev.user, s->slot_bytes ? s->slot_bytes : 1,
                           &sl->dev, err)))
      goto fail;
    if (s->be == WK_BACKEND_CUDA &&
        (wk_event_create(wk, &sl->ready) || wk_event_create(wk, &sl->freed))) {
      rc = dev_fail(s, "event create", err);
      goto fail;
    }
  }
  if (s->be == WK_BACKEND_CUDA && s->source == WARM_SOURCE_MMAP) {
    register_spans(s);
    int need_bounce = 0;
    for (uint32_t i = 0; i < s->L; i++)
      need_bounce |= !s->layers[i].registered && s->layers[i].copy_bytes;
    if (need_bounce) {
      if ((rc = host_alloc(s, s->slot_bytes, &s->bounce, err))) goto fail;
      if (wk_event_create(wk, &s->bounce_ev)) {
        rc = dev_fail(s, "event create", err);
        goto fail;
      }
    }
  }
  if (s->be == WK_BACKEND_CPU) {
    if (pthread_create(&s->th, NULL, copy_thread, s) != 0) {
      rc = warm_error_set(err, WARM_ENOMEM, "%s: cannot start copy thread",
                          s->name);
      goto fail;
    }
    s->th_started = 1;
  }
  *out = s;
  return 0;
fail:
  warm_streamer_destroy(s);
  return rc;
}

void warm_streamer_destroy(warm_streamer *s) {
  if (!s) return;
  if (s->th_started) {
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->cv_work);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->th, NULL);
  }
  if (s->be == WK_BACKEND_CUDA) wk_sync(s->wk);
  for (uint32_t k = 0; s->slots && k < s->W; k++) {
    st_slot *sl = &s->slots[k];
    if (sl->dev) s->dev.free(s->dev.user, sl->dev);
    if (sl->ready) wk_event_destroy(s->wk, sl->ready);
    if (sl->freed) wk_event_destroy(s->wk, sl->freed);
    free(sl->ptrs);
  }
  for (size_t r = 0; r < s->n_ranges; r++)
    if (s->ranges[r].ok) wk_host_unregister(s->wk, s->ranges[r].base);
  free(s->ranges);
  if (s->bounce_ev) wk_event_destroy(s->wk, s->bounce_ev);
  host_free(s, s->bounce);
  for (uint32_t i = 0; s->layers && i < s->L; i++) {
    host_free(s, s->layers[i].pinned);
    free(s->layers[i].src);
    free(s->layers[i].bytes);
    free(s->layers[i].off);
  }
  free(s->layers);
  free(s->slots);
  pthread_cond_destroy(&s->cv_work);
  pthread_cond_destroy(&s->cv_done);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

/* ---- queries ------------------------------------------------------------- */

void warm_streamer_stats(const warm_streamer *s, warm_stream_stats *out) {
  pthread_mutex_lock((pthread_mutex_t *)&s->mu);
  *out = s->stats;
  pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
}

void warm_streamer_stats_reset(warm_streamer *s) {
  pthread_mutex_lock(&s->mu);
  s->stats.streamed_bytes = 0;
  s->stats.copies = 0;
  s->stats.hits = 0;
  s->stats.wait_ns = 0;
  pthread_mutex_unlock(&s->mu);
}

uint32_t warm_streamer_window(const warm_streamer *s) {
  return s->W;
}

uint64_t warm_streamer_slot_bytes(const warm_streamer *s) {
  return s->slot_bytes;
}
