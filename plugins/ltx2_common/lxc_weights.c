/* The weight table and its resident / streamed placement (see lxc.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lxc.h"

#define ALIGN_UP(x) (((x) + 255) / 256 * 256)

int lxc_tab_add(lxc_tab *tb, warm_dtype dt, int matrix, const char *prefix,
                const char *name, int32_t ndim, ...) {
  if (tb->n == tb->cap) {
    int cap = tb->cap ? 2 * tb->cap : 64;
    lxc_t *t = realloc(tb->t, (size_t)cap * sizeof *t);
    if (!t) {
      tb->failed = 1;
      return -1;
    }
    tb->t = t;
    tb->cap = cap;
  }
  lxc_t *s = &tb->t[tb->n];
  memset(s, 0, sizeof *s);
  snprintf(s->name, sizeof s->name, "%s%s", prefix ? prefix : "", name);
  s->ndim = ndim;
  s->matrix = matrix;
  s->scale = 1.0f;
  uint64_t numel = 1;
  va_list ap;
  va_start(ap, ndim);
  for (int32_t i = 0; i < ndim && i < 5; i++) {
    s->shape[i] = va_arg(ap, int64_t);
    numel *= (uint64_t)(s->shape[i] > 0 ? s->shape[i] : 0);
  }
  va_end(ap);
  s->bytes = warm_weight_bytes(matrix ? dt : WARM_F32, numel);
  s->offset = tb->bytes;
  tb->bytes += ALIGN_UP(s->bytes ? s->bytes : 1);
  if (s->bytes > tb->max_bytes) tb->max_bytes = s->bytes;
  return tb->n++;
}

void lxc_tab_free(lxc_tab *tb) {
  free(tb->t);
  memset(tb, 0, sizeof *tb);
}

int lxc_tab_check(const lxc_tab *tb, const warm_st *st, const char *who,
                  warm_error *err) {
  if (tb->failed)
    return warm_error_set(err, WARM_ENOMEM, "%s: out of memory", who);
  for (int i = 0; i < tb->n; i++) {
    warm_tensor t;
    int rc = warm_st_expect(st, tb->t[i].name, tb->t[i].ndim, tb->t[i].shape,
                            &t, err);
    if (rc) return rc;
  }
  return 0;
}

static size_t resident_bytes(const lxc_tab *tb) {
  size_t b = tb->bytes ? tb->bytes : 1;
  return tb->pack ? ALIGN_UP(b) + tb->pack : b;
}

void lxc_estimate_weights(const lxc_tab *tb, const warm_place_req *req,
                          warm_estimate *out) {
  memset(out, 0, sizeof *out);
  if (req->placement == WARM_PLACE_STREAM) {
    uint32_t slots = req->stream_window < 2 ? 2 : req->stream_window;
    out->window = (uint64_t)slots * ALIGN_UP(tb->max_bytes ? tb->max_bytes : 1);
    out->host_pinned = tb->bytes;
  } else {
    out->persistent = resident_bytes(tb);
  }
}

static void release(lxc_weights *w, warm_placement p, void *blob,
                    void *window) {
  if (p == WARM_PLACE_RESIDENT)
    w->svc->dev_free(w->svc->ctx, blob);
  else if (p == WARM_PLACE_STREAM)
    w->svc->pinned_free(w->svc->ctx, blob);
  w->svc->dev_free(w->svc->ctx, window);
}

int lxc_place(lxc_weights *w, lxc_tab *tb, const warm_st *st,
              const warm_place_req *req, lxc_hook hook, void *arg,
              const char *who, warm_error *err) {
  if (!req || (req->placement != WARM_PLACE_RESIDENT &&
               req->placement != WARM_PLACE_STREAM))
    return warm_error_set(err, WARM_EINVAL,
                          "%s: place needs resident or stream", who);
  if (req->placement == WARM_PLACE_STREAM &&
      req->stream_source == WARM_SOURCE_MMAP)
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: stream_source mmap is not supported (the "
                          "weights are converted into a pinned copy)",
                          who);
  uint32_t slots = req->stream_window < 2 ? 2 : req->stream_window;
  if (w->placement == req->placement &&
      (req->placement == WARM_PLACE_RESIDENT || slots == w->slots))
    return 0;
  /* The old placement is freed first (a move to stream must not need both
   * at once); on failure it is rebuilt, or the instance is left unplaced
   * with the error. */
  warm_placement old = w->placement;
  uint32_t old_slots = w->slots;
  lxc_unplace(w);
  void *blob = NULL, *window = NULL;
  size_t slot_bytes = ALIGN_UP(tb->max_bytes ? tb->max_bytes : 1);
  int rc = 0;
  if (req->placement == WARM_PLACE_RESIDENT)
    rc = w->svc->dev_alloc(w->svc->ctx, WARM_MEM_PERSISTENT,
                           resident_bytes(tb), &blob, err);
  else {
    rc = w->svc->pinned_alloc(w->svc->ctx, tb->bytes ? tb->bytes : 1, &blob,
                              err);
    if (!rc)
      rc = w->svc->dev_alloc(w->svc->ctx, WARM_MEM_WINDOW, slots * slot_bytes,
                             &window, err);
  }
  for (int i = 0; i < tb->n && !rc; i++) {
    lxc_t *s = &tb->t[i];
    warm_tensor t;
    if ((rc = warm_st_expect(st, s->name, s->ndim, s->shape, &t, err))) break;
    void *h = req->placement == WARM_PLACE_STREAM
                  ? (char *)blob + s->offset
                  : malloc(s->bytes ? s->bytes : 1);
    if (!h) {
      rc = warm_error_set(err, WARM_ENOMEM, "%s: out of host memory", who);
      break;
    }
    rc = warm_weight_convert(&t, s->matrix ? w->dtype : WARM_F32, h, &s->scale,
                             err);
    if (!rc && hook) hook(arg, i, h);
    if (!rc && req->placement == WARM_PLACE_RESIDENT) {
      rc = wk_copy_h2d(w->wk, (char *)blob + s->offset, h, s->bytes);
      if (!rc) rc = wk_sync(w->wk);
      if (rc)
        rc = warm_error_set(err, WARM_EDEVICE, "%s: weight upload failed: %s",
                            who, wk_last_error(w->wk));
    }
    if (req->placement == WARM_PLACE_RESIDENT) free(h);
  }
  if (rc) {
    release(w, req->placement, blob, window);
    if (old) {
      warm_place_req back = {old, old_slots, WARM_SOURCE_PINNED};
      warm_error e2;
      lxc_place(w, tb, st, &back, hook, arg, who, &e2);
    }
    return rc;
  }
  if (req->placement == WARM_PLACE_RESIDENT && tb->pack)
    wk_set_pack_arena(w->wk, (char *)blob + ALIGN_UP(tb->bytes), tb->pack);
  w->placement = req->placement;
  w->blob = blob;
  w->window = window;
  w->slots = req->placement == WARM_PLACE_STREAM ? slots : 0;
  w->slot_bytes = slot_bytes;
  w->next = 0;
  return 0;
}

void lxc_unplace(lxc_weights *w) {
  if (!w->placement) return;
  wk_sync(w->wk);
  wk_set_pack_arena(w->wk, NULL, 0); /* the packed copies go with the blob */
  release(w, w->placement, w->blob, w->window);
  w->placement = 0;
  w->blob = w->window = NULL;
  w->slots = 0;
}

wk_w lxc_get(lxc_weights *w, const lxc_tab *tb, int i) {
  wk_w r = {NULL, WK_F32, 1.0f};
  if (i < 0 || !w->placement) return r;
  const lxc_t *s = &tb->t[i];
  r.dtype = !s->matrix                  ? WK_F32
            : w->dtype == WARM_BF16     ? WK_BF16
            : w->dtype == WARM_FP8_E4M3 ? WK_FP8_E4M3
                                        : WK_F32;
  r.scale = s->scale;
  const char *src = (const char *)w->blob + s->offset;
  if (w->placement == WARM_PLACE_RESIDENT) {
    r.data = src;
    return r;
  }
  char *slot = (char *)w->window + (size_t)w->next * w->slot_bytes;
  w->next = (w->next + 1) % w->slots;
  if (wk_copy_h2d(w->wk, slot, src, s->bytes)) return r;
  w->streamed += s->bytes;
  r.data = slot;
  return r;
}
