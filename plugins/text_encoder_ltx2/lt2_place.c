/*
 * lt2_place.c — estimate and placement of the LTX-2 text encoder: the
 * Gemma layers through gemma3_core, the text layers (projection slices,
 * connector preludes and blocks) beside them with the same placement —
 * one persistent blob per text layer when resident, a second streamer with
 * the same window and source when streamed.
 *
 * Workspace. A run books the accumulated features and the extractor's
 * scratch during the Gemma pass (with Gemma's own workspace), then frees the
 * scratch and books the connectors' workspace: the peak is the larger of
 * the two phases, and the estimate says exactly that.
 */
#include <stdlib.h>
#include <string.h>

#include "lt2_plugin.h"

static uint64_t al(uint64_t n) {
  return (n + WARM_STREAM_ALIGN - 1) / WARM_STREAM_ALIGN * WARM_STREAM_ALIGN;
}

int lt2_layout_init(warm_instance *g, warm_error *err) {
  uint32_t n = g->w.n_layers;
  g->off = calloc((size_t)n * LT2_B_COUNT, sizeof *g->off);
  g->blob_bytes = calloc(n, sizeof *g->blob_bytes);
  g->stensors = calloc((size_t)n * LT2_B_COUNT, sizeof *g->stensors);
  g->slayers = calloc(n, sizeof *g->slayers);
  if (!g->off || !g->blob_bytes || !g->stensors || !g->slayers)
    return warm_error_set(err, WARM_ENOMEM, "out of memory");
  for (uint32_t i = 0; i < n; i++) {
    const lt2_layer *L = &g->w.layers[i];
    uint64_t o = 0;
    for (uint32_t k = 0; k < L->n; k++) {
      g->off[i * LT2_B_COUNT + k] = o;
      o += al(L->t[k].bytes);
      g->stensors[i * LT2_B_COUNT + k] =
          (warm_stream_tensor){L->t[k].src, L->t[k].bytes};
    }
    g->blob_bytes[i] = o;
    g->slayers[i].tensors = &g->stensors[i * LT2_B_COUNT];
    g->slayers[i].n_tensors = L->n;
  }
  return 0;
}

static wk_backend backend_of(const warm_instance *g) {
  return g->m.dev.type == WARM_DEVICE_CUDA ? WK_BACKEND_CUDA : WK_BACKEND_CPU;
}

uint64_t lt2_run_workspace(warm_instance *g, int64_t T, uint64_t gemma_ws) {
  uint64_t feats = lt2_feats_bytes(&g->c, T);
  uint64_t pass1 =
      gemma_ws + feats + lt2_xscratch_bytes(g->m.wk, &g->c, g->m.wdt, T);
  uint64_t pass2 = feats + lt2_conn_ws_bytes(g->m.wk, &g->c, g->m.wdt, T);
  return pass1 > pass2 ? pass1 : pass2;
}

int lt2_estimate(warm_instance *g, const warm_place_req *req,
                 const warm_job_shape *shape, warm_estimate *out,
                 warm_error *err) {
  memset(out, 0, sizeof *out);
  uint32_t T = shape && shape->max_tokens ? shape->max_tokens : g->max_tokens;
  int rc = g3_model_estimate(&g->m, req, T, out, err);
  if (rc) return rc;
  out->workspace = lt2_run_workspace(g, T, out->workspace);
  if (req->placement == WARM_PLACE_RESIDENT) {
    for (uint32_t i = 0; i < g->w.n_layers; i++)
      out->persistent += g->blob_bytes[i];
    return 0;
  }
  warm_stream_plan plan;
  rc = warm_streamer_plan(g->slayers, g->w.n_layers, req->stream_window,
                          g3_model_source(req), backend_of(g), &plan, err);
  if (rc) return rc;
  out->window += plan.window_bytes;
  out->host_pinned += plan.host_bytes;
  return 0;
}

/* ---- placement ---------------------------------------------------------- */

static int win_alloc(void *user, size_t bytes, void **out, warm_error *err) {
  warm_instance *g = user;
  return g->m.svc->dev_alloc(g->m.svc->ctx, WARM_MEM_WINDOW, bytes, out, err);
}
static void win_free(void *user, void *ptr) {
  warm_instance *g = user;
  g->m.svc->dev_free(g->m.svc->ctx, ptr);
}
static int pin_alloc(void *user, size_t bytes, void **out, warm_error *err) {
  warm_instance *g = user;
  return g->m.svc->pinned_alloc(g->m.svc->ctx, bytes, out, err);
}
static void pin_free(void *user, void *ptr) {
  warm_instance *g = user;
  g->m.svc->pinned_free(g->m.svc->ctx, ptr);
}

static void ps_free(warm_instance *g, lt2_place_state *s) {
  if (g->m.wk && (s->blob || s->streamer)) wk_sync(g->m.wk);
  warm_streamer_destroy(s->streamer);
  if (s->blob) {
    for (uint32_t i = 0; i < g->w.n_layers; i++)
      if (s->blob[i]) g->m.svc->dev_free(g->m.svc->ctx, s->blob[i]);
    free(s->blob);
  }
  memset(s, 0, sizeof *s);
}

static int place_resident(warm_instance *g, lt2_place_state *s,
                          warm_error *err) {
  const warm_services *svc = g->m.svc;
  s->blob = calloc(g->w.n_layers, sizeof *s->blob);
  if (!s->blob) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  for (uint32_t i = 0; i < g->w.n_layers; i++) {
    int rc = svc->dev_alloc(svc->ctx, WARM_MEM_PERSISTENT, g->blob_bytes[i],
                            &s->blob[i], err);
    if (rc) return rc;
    const lt2_layer *L = &g->w.layers[i];
    for (uint32_t k = 0; k < L->n; k++)
      if (wk_copy_h2d(g->m.wk, (char *)s->blob[i] + g->off[i * LT2_B_COUNT + k],
                      L->t[k].src, L->t[k].bytes))
        return warm_error_set(err, WARM_EDEVICE,
                              "copying text layer %u to the device: %s", i,
                              wk_last_error(g->m.wk));
  }
  if (wk_sync(g->m.wk))
    return warm_error_set(err, WARM_EDEVICE, "copying text layers: %s",
                          wk_last_error(g->m.wk));
  return 0;
}

static int place_as(warm_instance *g, const warm_place_req *req,
                    lt2_place_state *s, warm_error *err) {
  *s = (lt2_place_state){0};
  s->placement = req->placement;
  if (req->placement == WARM_PLACE_RESIDENT) return place_resident(g, s, err);
  warm_streamer_config sc = {
      .window = req->stream_window,
      .source = g3_model_source(req),
      .dev_alloc = {g, win_alloc, win_free},
      .host_alloc = {g, pin_alloc, pin_free},
      .name = g->name,
  };
  s->window = req->stream_window;
  s->source = sc.source;
  return warm_streamer_create(g->m.wk, g->slayers, g->w.n_layers, &sc,
                              &s->streamer, err);
}

/* Gemma first, then the text layers the same way: the new placement is
 * built before the old one goes, except that a move to stream refused for
 * space frees the old one first and, failing again, rebuilds it. When the
 * text layers cannot be placed, Gemma goes back to where it was (unplaced,
 * for a first placement), so a refused place() leaves the instance as it
 * was; only if even that fails is the instance left unplaced. */
int lt2_place(warm_instance *g, const warm_place_req *req, warm_error *err) {
  warm_place_req gold = {g->m.cur.placement, g->m.cur.window, g->m.cur.source};
  int rc = g3_model_place(&g->m, req, err);
  if (rc) return rc;
  if (g->cur.placement == req->placement &&
      (req->placement == WARM_PLACE_RESIDENT ||
       (g->cur.window == req->stream_window &&
        g->cur.source == g3_model_source(req))))
    return 0;
  lt2_place_state ns = {0};
  rc = place_as(g, req, &ns, err);
  if (rc == WARM_ENOSPACE && g->cur.placement &&
      req->placement == WARM_PLACE_STREAM) {
    warm_place_req old = {g->cur.placement, g->cur.window, g->cur.source};
    ps_free(g, &ns);
    ps_free(g, &g->cur);
    rc = place_as(g, req, &ns, err);
    if (rc) {
      ps_free(g, &ns);
      warm_error e2 = {0};
      if (place_as(g, &old, &g->cur, &e2)) ps_free(g, &g->cur);
    }
  }
  if (rc) {
    ps_free(g, &ns);
    warm_error e2 = {0};
    if (!gold.placement || g3_model_place(&g->m, &gold, &e2))
      g3_model_unplace(&g->m);
    if (!g->cur.placement) g3_model_unplace(&g->m);
    return rc;
  }
  ps_free(g, &g->cur);
  g->cur = ns;
  return 0;
}

void lt2_unplace(warm_instance *g) {
  ps_free(g, &g->cur);
  g3_model_unplace(&g->m);
}

int lt2_layer_acquire(warm_instance *g, uint32_t i, lt2_view *v,
                      warm_error *err) {
  void *ptrs[LT2_B_COUNT];
  void *const *p = ptrs;
  if (g->cur.placement == WARM_PLACE_STREAM) {
    int rc = warm_streamer_acquire(g->cur.streamer, i, &p, err);
    if (rc) return rc;
  } else {
    for (uint32_t k = 0; k < g->w.layers[i].n; k++)
      ptrs[k] = (char *)g->cur.blob[i] + g->off[i * LT2_B_COUNT + k];
  }
  lt2_view_make(v, &g->w.layers[i], p);
  return 0;
}

int lt2_layer_release(warm_instance *g, uint32_t i, warm_error *err) {
  if (g->cur.placement != WARM_PLACE_STREAM) return 0;
  return warm_streamer_release(g->cur.streamer, i, err);
}
