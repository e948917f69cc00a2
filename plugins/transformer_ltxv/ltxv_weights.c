/* Weights of the DiT on the device: the globals blob (always persistent) and
 * the blocks, either resident (one persistent blob, block-major) or streamed
 * through the SDK streamer (window slots). Both hold each block's tensors in
 * the same stored dtype, so both placements compute on identical bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ltxv.h"

/* Converts the checkpoint tensor `name` to the stored dtype of `s` into a new
 * malloc'd host buffer (*out, caller frees) and its fp8 scale. */
static int convert(const ltxv *m, const char *name, const ltxv_tspec *s,
                   void **out, size_t *bytes, float *scale, warm_error *err) {
  warm_tensor t;
  int rc = warm_st_expect(m->st, name, s->ndim, s->shape, &t, err);
  if (rc) return rc;
  warm_dtype dt = s->matrix ? m->dtype : WARM_F32;
  size_t n = warm_weight_bytes(dt, (uint64_t)warm_tensor_numel(&t));
  void *buf = malloc(n ? n : 1);
  if (!buf)
    return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory for %s",
                          m->name, name);
  if ((rc = warm_weight_convert(&t, dt, buf, scale, err))) {
    free(buf);
    return rc;
  }
  *out = buf;
  *bytes = n;
  return 0;
}

static void block_name(char *nm, size_t n, int64_t l, const char *suffix) {
  snprintf(nm, n, "transformer_blocks.%lld.%s", (long long)l, suffix);
}

static int wkfail(const ltxv *m, int rc, const char *what, warm_error *err) {
  return warm_error_set(err, WARM_EDEVICE, "%s: %s failed (%d): %s", m->name,
                        what, rc, wk_last_error(m->wk));
}

/* Converts and uploads the tensors of pack `p` (block `l`, or the globals
 * when l < 0) into the device blob `dev`, recording fp8 scales. */
static int upload_pack(ltxv *m, const ltxv_pack *p, int64_t l, char *dev,
                       float *scales, warm_error *err) {
  char nm[160];
  for (int i = 0; i < p->n; i++) {
    scales[i] = 1.0f;
    if (!p->present[i]) continue;
    if (l >= 0)
      block_name(nm, sizeof nm, l, p->spec[i].name);
    else
      snprintf(nm, sizeof nm, "%s", p->spec[i].name);
    void *h = NULL;
    size_t n = 0;
    int rc = convert(m, nm, &p->spec[i], &h, &n, &scales[i], err);
    if (rc) return rc;
    rc = wk_copy_h2d(m->wk, dev + p->offset[i], h, n);
    if (!rc) rc = wk_sync(m->wk); /* h must outlive an async copy */
    free(h);
    if (rc) return wkfail(m, rc, "weight upload", err);
  }
  return 0;
}

static int dev_alloc(ltxv *m, warm_mem_class cls, size_t n, void **out,
                     warm_error *err) {
  return m->svc->dev_alloc(m->svc->ctx, cls, n ? n : 1, out, err);
}

/* Streamer allocators: window slots through the ledger, pinned host memory
 * through the services table. */
static int st_dev_alloc(void *user, size_t bytes, void **out, warm_error *err) {
  ltxv *m = user;
  return m->svc->dev_alloc(m->svc->ctx, WARM_MEM_WINDOW, bytes, out, err);
}
static void st_dev_free(void *user, void *ptr) {
  ltxv *m = user;
  m->svc->dev_free(m->svc->ctx, ptr);
}
static int st_host_alloc(void *user, size_t bytes, void **out,
                         warm_error *err) {
  ltxv *m = user;
  return m->svc->pinned_alloc(m->svc->ctx, bytes, out, err);
}
static void st_host_free(void *user, void *ptr) {
  ltxv *m = user;
  m->svc->pinned_free(m->svc->ctx, ptr);
}

static void free_bhost(ltxv *m, void **bhost) {
  if (!bhost) return;
  for (int64_t k = 0; k < m->cfg.layers * LB_COUNT; k++)
    free(bhost[k]);
  free(bhost);
}

/* Layer descriptors for the streamer: the present tensors of each block in
 * table order. srcs[l][k] from `bhost` when given (converted copies),
 * else the checkpoint's own bytes (planning only needs sizes). */
static int stream_layers(const ltxv *m, void **bhost, warm_stream_layer **out,
                         warm_stream_tensor **tout, warm_error *err) {
  int64_t L = m->cfg.layers;
  warm_stream_layer *ls = calloc((size_t)L, sizeof *ls);
  warm_stream_tensor *ts = calloc((size_t)(L * LB_COUNT), sizeof *ts);
  if (!ls || !ts) {
    free(ls);
    free(ts);
    return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory", m->name);
  }
  char nm[160];
  for (int64_t l = 0; l < L; l++) {
    warm_stream_tensor *t = ts + l * LB_COUNT;
    uint32_t k = 0;
    for (int i = 0; i < LB_COUNT; i++) {
      if (!m->bpack.present[i]) continue;
      const void *src = bhost ? bhost[l * LB_COUNT + i] : NULL;
      if (!src) {
        block_name(nm, sizeof nm, l, m->bpack.spec[i].name);
        const warm_st_entry *e = warm_st_find(m->st, nm);
        src = e ? e->data : NULL;
      }
      t[k].src = src;
      t[k].bytes = m->bpack.bytes[i];
      k++;
    }
    ls[l].tensors = t;
    ls[l].n_tensors = k;
  }
  *out = ls;
  *tout = ts;
  return 0;
}

int ltxv_stream_plan(const ltxv *m, const warm_place_req *req,
                     warm_stream_plan *plan, warm_error *err) {
  warm_stream_layer *ls = NULL;
  warm_stream_tensor *ts = NULL;
  int rc = stream_layers(m, NULL, &ls, &ts, err);
  if (rc) return rc;
  rc = warm_streamer_plan(
      ls, (uint32_t)m->cfg.layers, req->stream_window, req->stream_source,
      m->device.type == WARM_DEVICE_CUDA ? WK_BACKEND_CUDA : WK_BACKEND_CPU,
      plan, err);
  free(ls);
  free(ts);
  return rc;
}

/* Streamed blocks: converted host copies of every block tensor (the
 * streamer's sources), then the streamer itself. With source PINNED the
 * streamer packs its own page-locked copy and ours is dropped; with MMAP a
 * tensor already in the stored dtype streams from the file's pages and only
 * converted ones are kept in host memory. */
static int place_stream(ltxv *m, const warm_place_req *req, float *bscale,
                        warm_streamer **sout, void ***bhost_out,
                        warm_error *err) {
  int64_t L = m->cfg.layers;
  void **bhost = calloc((size_t)(L * LB_COUNT), sizeof *bhost);
  if (!bhost)
    return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory", m->name);
  char nm[160];
  int rc = 0;
  for (int64_t l = 0; l < L && !rc; l++)
    for (int i = 0; i < LB_COUNT && !rc; i++) {
      bscale[l * LB_COUNT + i] = 1.0f;
      if (!m->bpack.present[i]) continue;
      block_name(nm, sizeof nm, l, m->bpack.spec[i].name);
      const warm_st_entry *e = warm_st_find(m->st, nm);
      warm_dtype want = m->bpack.spec[i].matrix ? m->dtype : WARM_F32;
      if (req->stream_source == WARM_SOURCE_MMAP && e && e->dtype == want &&
          want != WARM_FP8_E4M3)
        continue; /* streams from the file as is */
      size_t n = 0;
      rc = convert(m, nm, &m->bpack.spec[i], &bhost[l * LB_COUNT + i], &n,
                   &bscale[l * LB_COUNT + i], err);
    }
  warm_stream_layer *ls = NULL;
  warm_stream_tensor *ts = NULL;
  if (!rc) rc = stream_layers(m, bhost, &ls, &ts, err);
  if (!rc) {
    warm_streamer_config sc;
    memset(&sc, 0, sizeof sc);
    sc.window = req->stream_window;
    sc.source = req->stream_source;
    sc.dev_alloc = (warm_stream_alloc){m, st_dev_alloc, st_dev_free};
    sc.host_alloc = (warm_stream_alloc){m, st_host_alloc, st_host_free};
    sc.name = m->name;
    rc = warm_streamer_create(m->wk, ls, (uint32_t)L, &sc, sout, err);
  }
  free(ls);
  free(ts);
  if (!rc && req->stream_source == WARM_SOURCE_PINNED) {
    free_bhost(m, bhost); /* the streamer holds its own packed copy */
    bhost = NULL;
  }
  if (rc) {
    free_bhost(m, bhost);
    return rc;
  }
  *bhost_out = bhost;
  return 0;
}

/* Makes the instance serve in `req`. The new block placement is built
 * completely before the old one is released, so a failure leaves the
 * previous placement serving. The globals are placed once and kept (a
 * failed first place frees them again). */
int ltxv_weights_place(ltxv *m, const warm_place_req *req, warm_error *err) {
  int rc, new_globals = !m->gdev;
  if (!m->gdev) {
    void *g = NULL;
    float *gs = calloc(LG_COUNT, sizeof *gs);
    if (!gs)
      return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory",
                            m->name);
    rc = dev_alloc(m, WARM_MEM_PERSISTENT, m->gpack.total, &g, err);
    if (!rc) rc = upload_pack(m, &m->gpack, -1, g, gs, err);
    if (rc) {
      m->svc->dev_free(m->svc->ctx, g);
      free(gs);
      return rc;
    }
    m->gdev = g;
    m->gscale = gs;
  }
  int64_t L = m->cfg.layers;
  float *bscale = calloc((size_t)(L * LB_COUNT), sizeof *bscale);
  if (!bscale)
    return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory", m->name);
  void *bdev = NULL;
  void **bhost = NULL;
  warm_streamer *s = NULL;
  if (req->placement == WARM_PLACE_RESIDENT) {
    rc = dev_alloc(m, WARM_MEM_PERSISTENT, (size_t)L * m->bpack.total, &bdev,
                   err);
    for (int64_t l = 0; l < L && !rc; l++) {
      rc = upload_pack(m, &m->bpack, l, (char *)bdev + l * m->bpack.total,
                       bscale + l * LB_COUNT, err);
      if (!rc && m->svc->cancelled && m->svc->cancelled(m->svc->ctx))
        rc = warm_error_set(err, WARM_ECANCELED, "%s: placement cancelled",
                            m->name);
    }
    if (rc) m->svc->dev_free(m->svc->ctx, bdev);
  } else {
    rc = place_stream(m, req, bscale, &s, &bhost, err);
  }
  if (rc) {
    free(bscale);
    if (new_globals) { /* leave nothing booked by a failed first place */
      wk_sync(m->wk);
      m->svc->dev_free(m->svc->ctx, m->gdev);
      free(m->gscale);
      m->gdev = NULL;
      m->gscale = NULL;
    }
    return rc;
  }
  ltxv_weights_release(m);
  m->bdev = bdev;
  m->bscale = bscale;
  m->bhost = bhost;
  m->streamer = s;
  m->place = *req;
  m->placed = 1;
  return 0;
}

/* Frees the block placement (not the globals). */
void ltxv_weights_release(ltxv *m) {
  if (m->streamer) {
    warm_streamer_destroy(m->streamer);
    m->streamer = NULL;
  }
  if (m->bdev) {
    wk_sync(m->wk);
    m->svc->dev_free(m->svc->ctx, m->bdev);
    m->bdev = NULL;
  }
  free_bhost(m, m->bhost);
  m->bhost = NULL;
  free(m->bscale);
  m->bscale = NULL;
  m->placed = 0;
}
