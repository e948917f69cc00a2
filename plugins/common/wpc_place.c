/* Weights of a block model on the device: the globals blob (always
 * persistent) and the blocks, either resident (one persistent blob,
 * block-major) or streamed through the SDK streamer (window slots). Both
 * hold each block's tensors in the same stored dtype, so both placements
 * compute on identical bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wpc.h"

static void key_of(const wpc_weights *w, int64_t l, const wpc_tensor *t,
                   char *nm, size_t n) {
  char pfx[160];
  if (l >= 0)
    snprintf(pfx, sizeof pfx, w->bfmt, (long long)l);
  else
    snprintf(pfx, sizeof pfx, "%s", w->gprefix);
  snprintf(nm, n, "%s%s", pfx, t->name);
}

/* Converts checkpoint tensor `nm` to the stored dtype of `t` into a new
 * malloc'd host buffer (*out, caller frees) and its fp8 scale. Matrices go
 * through f32 first when a fuse hook is set. */
static int convert(const wpc_weights *w, const char *nm, const wpc_tensor *t,
                   void **out, size_t *bytes, float *scale, warm_error *err) {
  warm_tensor src;
  int rc = warm_st_expect(w->st, nm, t->ndim, t->shape, &src, err);
  if (rc) return rc;
  warm_dtype dt = t->matrix ? w->dtype : WARM_F32;
  uint64_t numel = (uint64_t)warm_tensor_numel(&src);
  size_t n = warm_weight_bytes(dt, numel);
  void *buf = malloc(n ? n : 1);
  float *f32 = NULL;
  if (!buf) goto oom;
  if (t->matrix && w->fuse) {
    f32 = malloc((size_t)numel * sizeof *f32 + 1);
    if (!f32) goto oom;
    if ((rc = warm_weight_convert(&src, WARM_F32, f32, NULL, err)) ||
        (rc = w->fuse(w->fuse_user, nm, f32, t->shape[0], t->shape[1], err)))
      goto fail;
    warm_tensor v = src;
    v.dtype = WARM_F32;
    v.data = f32;
    v.scale = 1.0f;
    rc = warm_weight_convert(&v, dt, buf, scale, err);
  } else {
    rc = warm_weight_convert(&src, dt, buf, scale, err);
  }
  if (rc) goto fail;
  free(f32);
  *out = buf;
  *bytes = n;
  return 0;
oom:
  rc = warm_error_set(err, WARM_ENOMEM, "%s: out of host memory for %s",
                      w->name, nm);
fail:
  free(f32);
  free(buf);
  return rc;
}

static int wkfail(const wpc_weights *w, int rc, const char *what,
                  warm_error *err) {
  return warm_error_set(err, WARM_EDEVICE, "%s: %s failed (%d): %s", w->name,
                        what, rc, wk_last_error(w->wk));
}

/* Converts and uploads the tensors of pack `p` (block l, or the globals
 * when l < 0) into the device blob `dev`, recording fp8 scales. */
static int upload_pack(wpc_weights *w, const wpc_pack *p, int64_t l, char *dev,
                       float *scales, warm_error *err) {
  char nm[256];
  for (int i = 0; i < p->n; i++) {
    scales[i] = 1.0f;
    if (!p->t[i].present) continue;
    key_of(w, l, &p->t[i], nm, sizeof nm);
    void *h = NULL;
    size_t n = 0;
    int rc = convert(w, nm, &p->t[i], &h, &n, &scales[i], err);
    if (rc) return rc;
    rc = wk_copy_h2d(w->wk, dev + p->t[i].offset, h, n);
    if (!rc) rc = wk_sync(w->wk); /* h must outlive an async copy */
    free(h);
    if (rc) return wkfail(w, rc, "weight upload", err);
  }
  return 0;
}

static int dev_alloc(wpc_weights *w, warm_mem_class cls, size_t n, void **out,
                     warm_error *err) {
  return w->svc->dev_alloc(w->svc->ctx, cls, n ? n : 1, out, err);
}

static int st_dev_alloc(void *user, size_t bytes, void **out, warm_error *err) {
  wpc_weights *w = user;
  return w->svc->dev_alloc(w->svc->ctx, WARM_MEM_WINDOW, bytes, out, err);
}
static void st_dev_free(void *user, void *ptr) {
  wpc_weights *w = user;
  w->svc->dev_free(w->svc->ctx, ptr);
}
static int st_host_alloc(void *user, size_t bytes, void **out,
                         warm_error *err) {
  wpc_weights *w = user;
  return w->svc->pinned_alloc(w->svc->ctx, bytes, out, err);
}
static void st_host_free(void *user, void *ptr) {
  wpc_weights *w = user;
  w->svc->pinned_free(w->svc->ctx, ptr);
}

static void free_bhost(const wpc_weights *w, void **bhost) {
  if (!bhost) return;
  for (int64_t k = 0; k < w->layers * w->b.n; k++)
    free(bhost[k]);
  free(bhost);
}

/* Layer descriptors for the streamer: the present tensors of each block in
 * table order, from `bhost` when given (converted copies), else the
 * checkpoint's own bytes (planning only needs sizes). */
static int stream_layers(const wpc_weights *w, void **bhost,
                         warm_stream_layer **out, warm_stream_tensor **tout,
                         warm_error *err) {
  int64_t L = w->layers, nb = w->b.n;
  warm_stream_layer *ls = calloc((size_t)L, sizeof *ls);
  warm_stream_tensor *ts = calloc((size_t)(L * nb), sizeof *ts);
  if (!ls || !ts) {
    free(ls);
    free(ts);
    return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory", w->name);
  }
  char nm[256];
  for (int64_t l = 0; l < L; l++) {
    warm_stream_tensor *t = ts + l * nb;
    uint32_t k = 0;
    for (int i = 0; i < nb; i++) {
      if (!w->b.t[i].present) continue;
      const void *src = bhost ? bhost[l * nb + i] : NULL;
      if (!src) {
        key_of(w, l, &w->b.t[i], nm, sizeof nm);
        const warm_st_entry *e = warm_st_find(w->st, nm);
        src = e ? e->data : NULL;
      }
      t[k].src = src;
      t[k].bytes = w->b.t[i].bytes;
      k++;
    }
    ls[l].tensors = t;
    ls[l].n_tensors = k;
  }
  *out = ls;
  *tout = ts;
  return 0;
}

int wpc_stream_plan(const wpc_weights *w, const warm_place_req *req,
                    warm_stream_plan *plan, warm_error *err) {
  warm_stream_layer *ls = NULL;
  warm_stream_tensor *ts = NULL;
  int rc = stream_layers(w, NULL, &ls, &ts, err);
  if (rc) return rc;
  rc = warm_streamer_plan(
      ls, (uint32_t)w->layers, req->stream_window, req->stream_source,
      w->cuda ? WK_BACKEND_CUDA : WK_BACKEND_CPU, plan, err);
  free(ls);
  free(ts);
  return rc;
}

/* Streamed blocks: converted host copies of every block tensor (the
 * streamer's sources), then the streamer. With source PINNED the streamer
 * packs its own page-locked copy and ours is dropped; with MMAP a tensor
 * already in the stored dtype (and nothing to fuse) streams from the file's
 * pages and only converted ones are kept in host memory. */
static int place_stream(wpc_weights *w, const warm_place_req *req,
                        float *bscale, warm_streamer **sout, void ***bhost_out,
                        warm_error *err) {
  int64_t L = w->layers, nb = w->b.n;
  void **bhost = calloc((size_t)(L * nb), sizeof *bhost);
  if (!bhost)
    return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory", w->name);
  char nm[256];
  int rc = 0;
  for (int64_t l = 0; l < L && !rc; l++)
    for (int i = 0; i < nb && !rc; i++) {
      const wpc_tensor *t = &w->b.t[i];
      bscale[l * nb + i] = 1.0f;
      if (!t->present) continue;
      key_of(w, l, t, nm, sizeof nm);
      const warm_st_entry *e = warm_st_find(w->st, nm);
      warm_dtype want = t->matrix ? w->dtype : WARM_F32;
      if (req->stream_source == WARM_SOURCE_MMAP && e && e->dtype == want &&
          want != WARM_FP8_E4M3 && !(t->matrix && w->fuse))
        continue; /* streams from the file as is */
      size_t n = 0;
      rc = convert(w, nm, t, &bhost[l * nb + i], &n, &bscale[l * nb + i], err);
    }
  warm_stream_layer *ls = NULL;
  warm_stream_tensor *ts = NULL;
  if (!rc) rc = stream_layers(w, bhost, &ls, &ts, err);
  if (!rc) {
    warm_streamer_config sc;
    memset(&sc, 0, sizeof sc);
    sc.window = req->stream_window;
    sc.source = req->stream_source;
    sc.dev_alloc = (warm_stream_alloc){w, st_dev_alloc, st_dev_free};
    sc.host_alloc = (warm_stream_alloc){w, st_host_alloc, st_host_free};
    sc.name = w->name;
    rc = warm_streamer_create(w->wk, ls, (uint32_t)L, &sc, sout, err);
  }
  free(ls);
  free(ts);
  if (!rc && req->stream_source == WARM_SOURCE_PINNED) {
    free_bhost(w, bhost); /* the streamer holds its own packed copy */
    bhost = NULL;
  }
  if (rc) {
    free_bhost(w, bhost);
    return rc;
  }
  *bhost_out = bhost;
  return 0;
}

int wpc_weights_place(wpc_weights *w, const warm_place_req *req,
                      warm_error *err) {
  int rc, new_globals = !w->gdev;
  if (!w->gdev) {
    void *g = NULL;
    float *gs = calloc((size_t)(w->g.n ? w->g.n : 1), sizeof *gs);
    if (!gs)
      return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory",
                            w->name);
    rc = dev_alloc(w, WARM_MEM_PERSISTENT, w->g.total, &g, err);
    if (!rc) rc = upload_pack(w, &w->g, -1, g, gs, err);
    if (rc) {
      w->svc->dev_free(w->svc->ctx, g);
      free(gs);
      return rc;
    }
    w->gdev = g;
    w->gscale = gs;
  }
  int64_t L = w->layers, nb = w->b.n;
  float *bscale = calloc((size_t)(L * nb) + 1, sizeof *bscale);
  if (!bscale)
    return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory", w->name);
  void *bdev = NULL;
  void **bhost = NULL;
  warm_streamer *s = NULL;
  if (req->placement == WARM_PLACE_RESIDENT) {
    rc = dev_alloc(w, WARM_MEM_PERSISTENT, (size_t)L * w->b.total, &bdev, err);
    for (int64_t l = 0; l < L && !rc; l++) {
      rc = upload_pack(w, &w->b, l, (char *)bdev + l * w->b.total,
                       bscale + l * nb, err);
      if (!rc && w->svc->cancelled && w->svc->cancelled(w->svc->ctx))
        rc = warm_error_set(err, WARM_ECANCELED, "%s: placement cancelled",
                            w->name);
    }
    if (rc) w->svc->dev_free(w->svc->ctx, bdev);
  } else {
    rc = place_stream(w, req, bscale, &s, &bhost, err);
  }
  if (rc) {
    free(bscale);
    if (new_globals) { /* leave nothing booked by a failed first place */
      wk_sync(w->wk);
      w->svc->dev_free(w->svc->ctx, w->gdev);
      free(w->gscale);
      w->gdev = NULL;
      w->gscale = NULL;
    }
    return rc;
  }
  wpc_weights_release(w);
  w->bdev = bdev;
  w->bscale = bscale;
  w->bhost = bhost;
  w->streamer = s;
  w->place = *req;
  w->placed = 1;
  return 0;
}

void wpc_weights_release(wpc_weights *w) {
  if (w->streamer) {
    warm_streamer_destroy(w->streamer);
    w->streamer = NULL;
  }
  if (w->bdev) {
    wk_sync(w->wk);
    w->svc->dev_free(w->svc->ctx, w->bdev);
    w->bdev = NULL;
  }
  free_bhost(w, w->bhost);
  w->bhost = NULL;
  free(w->bscale);
  w->bscale = NULL;
  w->placed = 0;
}

void wpc_weights_free(wpc_weights *w) {
  wpc_weights_release(w);
  if (w->gdev) {
    wk_sync(w->wk);
    w->svc->dev_free(w->svc->ctx, w->gdev);
    w->gdev = NULL;
  }
  free(w->gscale);
  w->gscale = NULL;
}

void wpc_globals(const wpc_weights *w, const void **ptr) {
  for (int i = 0; i < w->g.n; i++)
    ptr[i] = w->g.t[i].present ? (char *)w->gdev + w->g.t[i].offset : NULL;
}

int wpc_block_get(wpc_weights *w, int64_t l, const void **ptr,
                  const float **scale, warm_error *err) {
  int nb = w->b.n;
  *scale = w->bscale + l * nb;
  if (w->streamer) {
    void *const *sp = NULL;
    int rc = warm_streamer_acquire(w->streamer, (uint32_t)l, &sp, err);
    if (rc) return rc;
    int k = 0;
    for (int i = 0; i < nb; i++)
      ptr[i] = w->b.t[i].present ? sp[k++] : NULL;
    return 0;
  }
  for (int i = 0; i < nb; i++)
    ptr[i] = w->b.t[i].present
                 ? (char *)w->bdev + l * w->b.total + w->b.t[i].offset
                 : NULL;
  return 0;
}

int wpc_block_done(wpc_weights *w, int64_t l, warm_error *err) {
  if (!w->streamer) return 0;
  return warm_streamer_release(w->streamer, (uint32_t)l, err);
}
