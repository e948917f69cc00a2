/*
 * g3_place.c — estimate, place and run: the same forward pass over layer
 * weights that are either resident (one persistent blob per layer) or
 * passing through the weight streamer's window.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "g3_plugin.h"

static uint64_t norm_bytes(const warm_instance *g) {
  return (uint64_t)g->mc.hidden * sizeof(float);
}

int g3_stream_layers_init(warm_instance *g, warm_error *err) {
  size_t L = (size_t)g->mc.layers;
  g->stensors = calloc(L * G3_T_COUNT, sizeof *g->stensors);
  g->slayers = calloc(L, sizeof *g->slayers);
  if (!g->stensors || !g->slayers)
    return warm_error_set(err, WARM_ENOMEM, "out of memory");
  for (size_t l = 0; l < L; l++) {
    for (int i = 0; i < G3_T_COUNT; i++) {
      g->stensors[l * G3_T_COUNT + i].src = g->w.src[l * G3_T_COUNT + i];
      g->stensors[l * G3_T_COUNT + i].bytes = g->w.lay.bytes[i];
    }
    g->slayers[l].tensors = &g->stensors[l * G3_T_COUNT];
    g->slayers[l].n_tensors = G3_T_COUNT;
  }
  return 0;
}

static wk_backend backend_of(const warm_instance *g) {
  return g->dev.type == WARM_DEVICE_CUDA ? WK_BACKEND_CUDA : WK_BACKEND_CPU;
}

static warm_stream_source source_of(const warm_place_req *req) {
  return req->stream_source == WARM_SOURCE_MMAP ? WARM_SOURCE_MMAP
                                                : WARM_SOURCE_PINNED;
}

static int check_req(const warm_place_req *req, warm_error *err) {
  if (req->placement != WARM_PLACE_RESIDENT &&
      req->placement != WARM_PLACE_STREAM)
    return warm_error_set(err, WARM_EINVAL,
                          "placement %d: must be resident or stream (auto is "
                          "resolved by the host)",
                          (int)req->placement);
  if (req->placement == WARM_PLACE_STREAM && req->stream_window < 1)
    return warm_error_set(err, WARM_EINVAL, "stream_window must be >= 1");
  return 0;
}

int g3_estimate(warm_instance *g, const warm_place_req *req,
                const warm_job_shape *shape, warm_estimate *out,
                warm_error *err) {
  memset(out, 0, sizeof *out);
  int rc = check_req(req, err);
  if (rc) return rc;
  uint32_t T = shape && shape->max_tokens ? shape->max_tokens : g->max_tokens;
  out->workspace = g3_workspace_bytes(g->wk, &g->mc, g->wdt, T);
  out->persistent = norm_bytes(g);
  if (req->placement == WARM_PLACE_RESIDENT) {
    out->persistent +=
        g->w.embed_bytes + (uint64_t)g->mc.layers * g->w.lay.blob_bytes;
    return 0;
  }
  warm_stream_plan plan;
  rc =
      warm_streamer_plan(g->slayers, (uint32_t)g->mc.layers, req->stream_window,
                         source_of(req), backend_of(g), &plan, err);
  if (rc) return rc;
  out->window = plan.window_bytes;
  out->host_pinned = plan.host_bytes;
  return 0;
}

/* ---- placement ---------------------------------------------------------- */

static int win_alloc(void *user, size_t bytes, void **out, warm_error *err) {
  warm_instance *g = user;
  return g->svc->dev_alloc(g->svc->ctx, WARM_MEM_WINDOW, bytes, out, err);
}
static void win_free(void *user, void *ptr) {
  warm_instance *g = user;
  g->svc->dev_free(g->svc->ctx, ptr);
}
static int pin_alloc(void *user, size_t bytes, void **out, warm_error *err) {
  warm_instance *g = user;
  return g->svc->pinned_alloc(g->svc->ctx, bytes, out, err);
}
static void pin_free(void *user, void *ptr) {
  warm_instance *g = user;
  g->svc->pinned_free(g->svc->ctx, ptr);
}

void g3_place_state_free(warm_instance *g, g3_place_state *s) {
  /* The compute that read these buffers must be done before they go. */
  if (g->wk && (s->embed_dev || s->layer_dev || s->streamer)) wk_sync(g->wk);
  warm_streamer_destroy(s->streamer);
  if (s->layer_dev) {
    for (int64_t l = 0; l < g->mc.layers; l++)
      if (s->layer_dev[l]) g->svc->dev_free(g->svc->ctx, s->layer_dev[l]);
    free(s->layer_dev);
  }
  if (s->embed_dev) g->svc->dev_free(g->svc->ctx, s->embed_dev);
  memset(s, 0, sizeof *s);
}

static int copy_err(warm_instance *g, const char *what, warm_error *err) {
  return warm_error_set(err, WARM_EDEVICE, "copying %s to the device: %s", what,
                        wk_last_error(g->wk));
}

/* Every layer into its own persistent blob, and the embedding table. */
static int place_resident(warm_instance *g, g3_place_state *s,
                          warm_error *err) {
  const warm_services *svc = g->svc;
  int rc = svc->dev_alloc(svc->ctx, WARM_MEM_PERSISTENT, g->w.embed_bytes,
                          &s->embed_dev, err);
  if (rc) return rc;
  if (wk_copy_h2d(g->wk, s->embed_dev, g->w.embed, g->w.embed_bytes))
    return copy_err(g, "embed_tokens", err);
  s->layer_dev = calloc((size_t)g->mc.layers, sizeof *s->layer_dev);
  if (!s->layer_dev) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  for (int64_t l = 0; l < g->mc.layers; l++) {
    rc = svc->dev_alloc(svc->ctx, WARM_MEM_PERSISTENT, g->w.lay.blob_bytes,
                        &s->layer_dev[l], err);
    if (rc) return rc;
    for (int i = 0; i < G3_T_COUNT; i++) {
      if (wk_copy_h2d(g->wk, (char *)s->layer_dev[l] + g->w.lay.off[i],
                      g->w.src[l * G3_T_COUNT + i], g->w.lay.bytes[i]))
        return copy_err(g, g3_tensor_suffix[i], err);
    }
  }
  if (wk_sync(g->wk)) return copy_err(g, "layers", err);
  return 0;
}

static int place_stream(warm_instance *g, const warm_place_req *req,
                        g3_place_state *s, warm_error *err) {
  warm_streamer_config sc = {
      .window = req->stream_window,
      .source = source_of(req),
      .dev_alloc = {g, win_alloc, win_free},
      .host_alloc = {g, pin_alloc, pin_free},
      .name = g->name,
  };
  s->window = req->stream_window;
  s->source = sc.source;
  return warm_streamer_create(g->wk, g->slayers, (uint32_t)g->mc.layers, &sc,
                              &s->streamer, err);
}

/* Builds the new placement completely before dropping the old one, so a
 * failure leaves the previous placement serving. One exception: when the
 * budget refuses a move to stream (a demotion, another window) only because
 * the old placement is still booked, the old one is freed first and the new
 * one tried again — making room is the point of a demotion. Should it still
 * not fit, the old placement is rebuilt; only if that fails too is the
 * instance left unplaced. A promotion to resident never frees first: the
 * host reserves its whole estimate before asking. */
static int place_as(warm_instance *g, const warm_place_req *req,
                    g3_place_state *s, warm_error *err) {
  *s = (g3_place_state){0};
  s->placement = req->placement;
  return req->placement == WARM_PLACE_RESIDENT ? place_resident(g, s, err)
                                               : place_stream(g, req, s, err);
}

int g3_place(warm_instance *g, const warm_place_req *req, warm_error *err) {
  int rc = check_req(req, err);
  if (rc) return rc;
  if (g->cur.placement == req->placement &&
      (req->placement == WARM_PLACE_RESIDENT ||
       (g->cur.window == req->stream_window &&
        g->cur.source == source_of(req))))
    return 0;
  int fresh_norm = 0;
  if (!g->final_norm_dev) {
    rc = g->svc->dev_alloc(g->svc->ctx, WARM_MEM_PERSISTENT, norm_bytes(g),
                           &g->final_norm_dev, err);
    if (rc) return rc;
    fresh_norm = 1;
    if (wk_copy_h2d(g->wk, g->final_norm_dev, g->w.final_norm, norm_bytes(g)) ||
        wk_sync(g->wk))
      rc = copy_err(g, "norm", err);
  }
  g3_place_state ns = {0};
  if (!rc) rc = place_as(g, req, &ns, err);
  if (rc == WARM_ENOSPACE && g->cur.placement &&
      req->placement == WARM_PLACE_STREAM) {
    warm_place_req old = {g->cur.placement, g->cur.window, g->cur.source};
    g3_place_state_free(g, &ns);
    g3_place_state_free(g, &g->cur);
    rc = place_as(g, req, &ns, err);
    if (rc) {
      g3_place_state_free(g, &ns);
      warm_error e2 = {0};
      if (place_as(g, &old, &g->cur, &e2)) g3_place_state_free(g, &g->cur);
      return rc;
    }
  }
  if (rc) {
    /* Leave the instance exactly as it was: an unplaced one holds nothing. */
    g3_place_state_free(g, &ns);
    if (fresh_norm) {
      g->svc->dev_free(g->svc->ctx, g->final_norm_dev);
      g->final_norm_dev = NULL;
    }
    return rc;
  }
  g3_place_state_free(g, &g->cur);
  g->cur = ns;
  return 0;
}

/* ---- run ------------------------------------------------------------------
 */

#define WKCK(call, what)                                                       \
  do {                                                                         \
    if ((call) != 0) {                                                         \
      rc = warm_error_set(err, WARM_EDEVICE, "%s: %s", what,                   \
                          wk_last_error(g->wk));                               \
      goto out;                                                                \
    }                                                                          \
  } while (0)

int g3_run(warm_instance *g, warm_run_args *args, warm_error *err) {
  const warm_services *svc = g->svc;
  if (!g->cur.placement)
    return warm_error_set(err, WARM_EINVAL, "%s: run before place()", g->name);
  uint32_t T = args->max_tokens ? args->max_tokens : g->max_tokens;
  g3_prompt p;
  int rc = g3_prompt_make(g->tok, args->prompt, T, g->mc.bos_id, g->mc.pad_id,
                          &p, err);
  if (rc) return rc;
  if (p.n_dropped)
    svc->log(svc->ctx, WARM_LOG_WARN,
             "prompt truncated: kept BOS + the first %u of %u tokens "
             "(max_tokens %u)",
             p.n_real - 1, p.n_real - 1 + p.n_dropped, T);

  const int64_t C = g->mc.hidden, D = g->mc.head_dim, L = g->mc.layers;
  const int64_t TC = (int64_t)T * C;
  const int stream = g->cur.placement == WARM_PLACE_STREAM;
  void *ws = NULL;
  float *tables = NULL;
  int acquired = -1;
  warm_tensor emb = {0}, mask = {0};
  void *const *ptrs0 = NULL;
  if (stream) {
    /* Start layer 0's copy first, so it overlaps the host-side setup. */
    warm_streamer_stats_reset(g->cur.streamer);
    rc = warm_streamer_acquire(g->cur.streamer, 0, &ptrs0, err);
    if (rc) goto out;
    acquired = 0;
  }
  uint64_t ws_bytes = g3_workspace_bytes(g->wk, &g->mc, g->wdt, T);
  rc = svc->dev_alloc(svc->ctx, WARM_MEM_WORKSPACE, ws_bytes, &ws, err);
  if (rc) goto out;
  g3_acts a;
  g3_acts_carve(g->wk, &g->mc, g->wdt, T, ws, &a);
  wk_set_workspace(g->wk, a.scratch, a.scratch_bytes);

  int64_t nslices = g->output_all ? L + 1 : 1;
  int64_t eshape[3] = {nslices, T, C}, mshape[1] = {T};
  tables = malloc((size_t)(4 * T * D) * sizeof(float));
  if (!tables ||
      warm_tensor_alloc(&emb, "embeddings", WARM_F32, g->output_all ? 3 : 2,
                        g->output_all ? eshape : eshape + 1) ||
      warm_tensor_alloc(&mask, "mask", WARM_I32, 1, mshape)) {
    rc = warm_error_set(err, WARM_ENOMEM, "out of memory for %u tokens", T);
    goto out;
  }
  memcpy(mask.data, p.mask, T * sizeof(int32_t));
  float *cl = tables, *sl = cl + T * D, *cg = sl + T * D, *sg = cg + T * D;
  g3_rope_tables(&g->mc, T, 0, cl, sl);
  g3_rope_tables(&g->mc, T, 1, cg, sg);
  size_t tb = (size_t)(T * D) * sizeof(float);
  WKCK(wk_copy_h2d(g->wk, a.cos_l, cl, tb), "rope tables");
  WKCK(wk_copy_h2d(g->wk, a.sin_l, sl, tb), "rope tables");
  WKCK(wk_copy_h2d(g->wk, a.cos_g, cg, tb), "rope tables");
  WKCK(wk_copy_h2d(g->wk, a.sin_g, sg, tb), "rope tables");
  WKCK(wk_copy_h2d(g->wk, a.mask, p.mask, T * sizeof(int32_t)), "mask");

  /* Gemma scales the embeddings by sqrt(hidden), as an f32 scalar. */
  const float mult = (float)sqrt((double)C);
  wk_w table = {stream ? g->w.embed : g->cur.embed_dev, g->wdt,
                g->w.embed_scale};
  if (stream)
    WKCK(
        wk_embed_gather_host(g->wk, table, g->mc.vocab, C, p.ids, T, mult, a.x),
        "embed_tokens (host table)");
  else
    WKCK(wk_embed_gather(g->wk, table, g->mc.vocab, C, p.ids, T, mult, a.x),
         "embed_tokens");
  float *out = emb.data;
  if (g->output_all)
    WKCK(wk_copy_d2h(g->wk, out, a.x, (size_t)TC * sizeof(float)),
         "hidden state 0");
  for (int64_t l = 0; l < L; l++) {
    if (svc->cancelled(svc->ctx)) {
      rc = warm_error_set(err, WARM_ECANCELED, "cancelled before layer %lld",
                          (long long)l);
      goto out;
    }
    g3_layer_view lv;
    if (stream) {
      void *const *ptrs = ptrs0;
      if (l > 0) {
        rc = warm_streamer_acquire(g->cur.streamer, (uint32_t)l, &ptrs, err);
        if (rc) goto out;
        acquired = (int)l;
      }
      g3_layer_view_ptrs(&lv, &g->w, (int)l, ptrs);
    } else {
      g3_layer_view_blob(&lv, &g->w, (int)l, g->cur.layer_dev[l]);
    }
    rc = g3_layer_forward(g->wk, &g->mc, (int)l, &lv, &a, T, err);
    if (rc) goto out;
    if (stream) {
      acquired = -1;
      rc = warm_streamer_release(g->cur.streamer, (uint32_t)l, err);
      if (rc) goto out;
    }
    if (g->output_all && l + 1 < L)
      WKCK(wk_copy_d2h(g->wk, out + (l + 1) * TC, a.x,
                       (size_t)TC * sizeof(float)),
           "hidden state");
    svc->progress(svc->ctx, (float)(l + 1) / (float)L);
  }
  wk_w fn = {g->final_norm_dev, WK_F32, 1.0f};
  WKCK(wk_rmsnorm(g->wk, a.x, fn, T, C, (float)g->mc.eps, 1, a.h), "norm");
  WKCK(wk_copy_d2h(g->wk, out + (nslices - 1) * TC, a.h,
                   (size_t)TC * sizeof(float)),
       "final hidden state");
  WKCK(wk_sync(g->wk), "sync");

  /* Padded rows (mask 0) are zeroed in every slice: their attention saw no
   * key, and consumers must not read them. */
  uint32_t first = T - p.n_real;
  for (int64_t s = 0; s < nslices; s++)
    memset(out + s * TC, 0, (size_t)first * C * sizeof(float));

  args->outputs[0] = emb;
  args->outputs[1] = mask;
  args->n_outputs = 2;
  args->used_placement = g->cur.placement;
  args->streamed_bytes = 0;
  if (stream) {
    warm_stream_stats st;
    warm_streamer_stats(g->cur.streamer, &st);
    args->streamed_bytes = st.streamed_bytes;
  }
  memset(&emb, 0, sizeof emb);
  memset(&mask, 0, sizeof mask);
  rc = 0;
out:
  if (acquired >= 0) {
    warm_error ignore;
    warm_streamer_release(g->cur.streamer, (uint32_t)acquired, &ignore);
  }
  if (ws) {
    wk_sync(g->wk);
    wk_set_workspace(g->wk, NULL, 0);
    svc->dev_free(svc->ctx, ws);
  }
  free(tables);
  warm_tensor_free(&emb);
  warm_tensor_free(&mask);
  g3_prompt_free(&p);
  return rc;
}
