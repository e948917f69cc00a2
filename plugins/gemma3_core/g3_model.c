/*
 * g3_model.c — the Gemma-3 engine shared by the text encoder plugins:
 * opening the checkpoint folder, estimate, place (resident / stream,
 * switchable live) and the layer loop with its per-hidden-state hook. The
 * same forward pass runs over layer weights that are either resident (one
 * persistent blob per layer) or passing through the streamer's window.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>
#include <sys/stat.h>

#include "g3_model.h"
#include "warm/safetensors.h"

static uint64_t norm_bytes(const g3_model *g) {
  return (uint64_t)g->mc.hidden * sizeof(float);
}

static int stream_layers_init(g3_model *g, warm_error *err) {
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

static wk_backend backend_of(const g3_model *g) {
  return g->dev.type == WARM_DEVICE_CUDA ? WK_BACKEND_CUDA : WK_BACKEND_CPU;
}

warm_stream_source g3_model_source(const warm_place_req *req) {
  return req->stream_source == WARM_SOURCE_MMAP ? WARM_SOURCE_MMAP
                                                : WARM_SOURCE_PINNED;
}

int g3_model_check_req(const warm_place_req *req, warm_error *err) {
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

int g3_model_estimate(g3_model *g, const warm_place_req *req, uint32_t T,
                      warm_estimate *out, warm_error *err) {
  int rc = g3_model_check_req(req, err);
  if (rc) return rc;
  out->workspace += g3_workspace_bytes(g->wk, &g->mc, g->wdt, T);
  out->persistent += norm_bytes(g);
  if (req->placement == WARM_PLACE_RESIDENT) {
    out->persistent +=
        g->w.embed_bytes + (uint64_t)g->mc.layers * g->w.lay.blob_bytes;
    return 0;
  }
  warm_stream_plan plan;
  rc =
      warm_streamer_plan(g->slayers, (uint32_t)g->mc.layers, req->stream_window,
                         g3_model_source(req), backend_of(g), &plan, err);
  if (rc) return rc;
  out->window += plan.window_bytes;
  out->host_pinned += plan.host_bytes;
  return 0;
}

/* ---- placement ---------------------------------------------------------- */

static int win_alloc(void *user, size_t bytes, void **out, warm_error *err) {
  g3_model *g = user;
  return g->svc->dev_alloc(g->svc->ctx, WARM_MEM_WINDOW, bytes, out, err);
}
static void win_free(void *user, void *ptr) {
  g3_model *g = user;
  g->svc->dev_free(g->svc->ctx, ptr);
}
static int pin_alloc(void *user, size_t bytes, void **out, warm_error *err) {
  g3_model *g = user;
  return g->svc->pinned_alloc(g->svc->ctx, bytes, out, err);
}
static void pin_free(void *user, void *ptr) {
  g3_model *g = user;
  g->svc->pinned_free(g->svc->ctx, ptr);
}

static void ps_free(g3_model *g, g3_place_state *s) {
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

static int copy_err(g3_model *g, const char *what, warm_error *err) {
  return warm_error_set(err, WARM_EDEVICE, "copying %s to the device: %s", what,
                        wk_last_error(g->wk));
}

/* Every layer into its own persistent blob, and the embedding table. */
static int place_resident(g3_model *g, g3_place_state *s, warm_error *err) {
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

static int place_stream(g3_model *g, const warm_place_req *req,
                        g3_place_state *s, warm_error *err) {
  warm_streamer_config sc = {
      .window = req->stream_window,
      .source = g3_model_source(req),
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
static int place_as(g3_model *g, const warm_place_req *req, g3_place_state *s,
                    warm_error *err) {
  *s = (g3_place_state){0};
  s->placement = req->placement;
  return req->placement == WARM_PLACE_RESIDENT ? place_resident(g, s, err)
                                               : place_stream(g, req, s, err);
}

int g3_model_place(g3_model *g, const warm_place_req *req, warm_error *err) {
  int rc = g3_model_check_req(req, err);
  if (rc) return rc;
  if (g->cur.placement == req->placement &&
      (req->placement == WARM_PLACE_RESIDENT ||
       (g->cur.window == req->stream_window &&
        g->cur.source == g3_model_source(req))))
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
    ps_free(g, &ns);
    ps_free(g, &g->cur);
    rc = place_as(g, req, &ns, err);
    if (rc) {
      ps_free(g, &ns);
      warm_error e2 = {0};
      if (place_as(g, &old, &g->cur, &e2)) ps_free(g, &g->cur);
      return rc;
    }
  }
  if (rc) {
    /* Leave the instance exactly as it was: an unplaced one holds nothing. */
    ps_free(g, &ns);
    if (fresh_norm) {
      g->svc->dev_free(g->svc->ctx, g->final_norm_dev);
      g->final_norm_dev = NULL;
    }
    return rc;
  }
  ps_free(g, &g->cur);
  g->cur = ns;
  return 0;
}

void g3_model_unplace(g3_model *g) {
  ps_free(g, &g->cur);
  if (g->final_norm_dev) {
    g->svc->dev_free(g->svc->ctx, g->final_norm_dev);
    g->final_norm_dev = NULL;
  }
}

/* ---- opening ------------------------------------------------------------ */

int g3_model_pick_dtype(const warm_component_config *cfg, const char *plugin,
                        wk_dtype *out, warm_error *err) {
  switch (cfg->dtype) {
  case WARM_DTYPE_NONE:
    *out = cfg->device.type == WARM_DEVICE_CUDA ? WK_BF16 : WK_F32;
    return 0;
  case WARM_F32:
    *out = WK_F32;
    return 0;
  case WARM_BF16:
    *out = WK_BF16;
    return 0;
  case WARM_FP8_E4M3:
    *out = WK_FP8_E4M3;
    return 0;
  default:
    return warm_error_set(
        err, WARM_EUNSUPPORTED, "dtype %s: %s stores f32, bf16 or fp8",
        warm_dtype_name(cfg->dtype) ? warm_dtype_name(cfg->dtype) : "?",
        plugin);
  }
}

/* Opens config, checkpoint and tokenizer of cfg->weights and checks every
 * tensor. On success the caller owns *st, *tok and mc. */
static int open_checkpoint(const warm_component_config *cfg, g3_config *mc,
                           warm_st **st, const char **prefix, g3_tok **tok,
                           warm_error *err) {
  *st = NULL;
  *tok = NULL;
  memset(mc, 0, sizeof *mc);
  if (!cfg->weights || !*cfg->weights)
    return warm_error_set(err, WARM_EINVAL,
                          "weights: missing (a Gemma-3 checkpoint folder)");
  struct stat sb;
  if (stat(cfg->weights, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return warm_error_set(err, WARM_EIO,
                          "weights %s: not a folder (expected a checkpoint "
                          "folder with config.json, *.safetensors, "
                          "tokenizer.model)",
                          cfg->weights);
  int rc = g3_config_load(cfg->weights, mc, err);
  if (rc) return rc;
  char path[4096];
  snprintf(path, sizeof path, "%s/tokenizer.model", cfg->weights);
  if (stat(path, &sb) != 0) {
    rc = warm_error_set(err, WARM_EIO, "%s: tokenizer missing", path);
    goto fail;
  }
  if ((rc = warm_st_open(cfg->weights, st, err)) ||
      (rc = g3_find_prefix(*st, prefix, err)) ||
      (rc = g3_check_tensors(*st, mc, *prefix, err)) ||
      (rc = g3_tok_open(path, tok, err)))
    goto fail;
  if (g3_tok_vocab(*tok) > mc->vocab) {
    rc = warm_error_set(err, WARM_EFORMAT,
                        "%s: tokenizer has %d pieces but the embedding "
                        "table only %lld rows",
                        path, g3_tok_vocab(*tok), (long long)mc->vocab);
    goto fail;
  }
  return 0;
fail:
  g3_tok_close(*tok);
  warm_st_close(*st);
  g3_config_free(mc);
  *tok = NULL;
  *st = NULL;
  return rc;
}

int g3_model_check_folder(const warm_component_config *cfg, warm_error *err) {
  g3_config mc;
  warm_st *st;
  const char *prefix;
  g3_tok *tok;
  int rc = open_checkpoint(cfg, &mc, &st, &prefix, &tok, err);
  if (rc) return rc;
  g3_tok_close(tok);
  warm_st_close(st);
  g3_config_free(&mc);
  return 0;
}

int g3_model_open(g3_model *g, const warm_services *svc, const char *name,
                  const warm_component_config *cfg, wk_dtype wdt,
                  warm_error *err) {
  memset(g, 0, sizeof *g);
  g->svc = svc;
  g->name = name;
  g->dev = cfg->device;
  g->wdt = wdt;
  int rc;
  g->weights_path = strdup(cfg->weights ? cfg->weights : "");
  if (!g->weights_path) {
    rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
    goto fail;
  }
  wk_backend be = backend_of(g);
  int plan = warm_plan_only(svc); /* estimates only: no device, no data */
  if (!plan && !wk_backend_available(be)) {
    rc = warm_error_set(err, WARM_EUNSUPPORTED,
                        "device cuda:%d: no CUDA device here",
                        cfg->device.index);
    goto fail;
  }
  if ((rc = open_checkpoint(cfg, &g->mc, &g->st, &g->prefix, &g->tok, err)) ||
      (rc = g3_weights_load(g->st, &g->mc, g->prefix, g->wdt, plan, &g->w,
                            err)) ||
      (rc = stream_layers_init(g, err)))
    goto fail;
  if (plan) {
    if (wk_ctx_create_sizing(be, 0, &g->wk) != 0) {
      rc = warm_error_set(
          err, WARM_EUNSUPPORTED, "cannot size the %s workspaces: %s",
          be == WK_BACKEND_CUDA ? "cuda" : "cpu", wk_last_error(NULL));
      goto fail;
    }
    return 0;
  }
  if (wk_ctx_create(be, cfg->device.index, 0, &g->wk) != 0) {
    rc = warm_error_set(err, WARM_EDEVICE, "cannot create a %s context",
                        be == WK_BACKEND_CUDA ? "cuda" : "cpu");
    goto fail;
  }
  return 0;
fail:
  g3_model_close(g);
  return rc;
}

void g3_model_close(g3_model *g) {
  if (!g->svc && !g->weights_path) return;
  g3_model_unplace(g);
  if (g->wk) wk_ctx_destroy(g->wk);
  free(g->stensors);
  free(g->slayers);
  g3_weights_free(&g->w);
  g3_tok_close(g->tok);
  warm_st_close(g->st);
  g3_config_free(&g->mc);
  free(g->weights_path);
  memset(g, 0, sizeof *g);
}

void g3_fnv(uint64_t h[2], const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) {
    h[0] = (h[0] ^ b[i]) * 0x100000001b3ull;
    h[1] = (h[1] ^ b[i]) * 0x100000001b3ull;
  }
}

int g3_model_hash_files(const g3_model *g, uint64_t h[2], warm_error *err) {
  /* Weights by file identity: every checkpoint file's path, size and
   * mtime (content hashing 23 GB at every start costs too much), plus the
   * tokenizer and config.json the outputs also depend on. */
  char path[4096];
  uint32_t nf = warm_st_file_count(g->st);
  for (uint32_t i = 0; i <= nf + 1; i++) {
    const char *p;
    if (i < nf) {
      p = warm_st_file_path(g->st, i);
    } else {
      snprintf(path, sizeof path, "%s/%s", g->weights_path,
               i == nf ? "config.json" : "tokenizer.model");
      p = path;
    }
    struct stat sb;
    if (stat(p, &sb) != 0)
      return warm_error_set(err, WARM_EIO, "%s: cannot stat", p);
    char real[4096];
    const char *canon = realpath(p, real) ? real : p;
    int64_t ident[3] = {(int64_t)sb.st_size, (int64_t)sb.st_mtim.tv_sec,
                        (int64_t)sb.st_mtim.tv_nsec};
    g3_fnv(h, canon, strlen(canon) + 1);
    g3_fnv(h, ident, sizeof ident);
  }
  return 0;
}

/* ---- encode --------------------------------------------------------------
 */

#define WKCK(call, what)                                                       \
  do {                                                                         \
    if ((call) != 0) {                                                         \
      rc = warm_error_set(err, WARM_EDEVICE, "%s: %s", what,                   \
                          wk_last_error(g->wk));                               \
      goto out;                                                                \
    }                                                                          \
  } while (0)

int g3_model_encode(g3_model *g, const g3_prompt *p, int64_t first_index,
                    g3_hidden_fn hook, void *user, float progress0,
                    float progress1, uint64_t *streamed_bytes,
                    warm_error *err) {
  const warm_services *svc = g->svc;
  *streamed_bytes = 0;
  if (!g->cur.placement)
    return warm_error_set(err, WARM_EINVAL, "%s: run before place()", g->name);
  const int64_t T = p->T, C = g->mc.hidden, D = g->mc.head_dim,
                L = g->mc.layers;
  const int stream = g->cur.placement == WARM_PLACE_STREAM;
  void *ws = NULL;
  float *tables = NULL;
  int acquired = -1, rc = 0;
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

  tables = malloc((size_t)(4 * T * D) * sizeof(float));
  if (!tables) {
    rc = warm_error_set(err, WARM_ENOMEM, "out of memory for %lld tokens",
                        (long long)T);
    goto out;
  }
  float *cl = tables, *sl = cl + T * D, *cg = sl + T * D, *sg = cg + T * D;
  g3_rope_tables(&g->mc, T, 0, cl, sl);
  g3_rope_tables(&g->mc, T, 1, cg, sg);
  size_t tb = (size_t)(T * D) * sizeof(float);
  WKCK(wk_copy_h2d(g->wk, a.cos_l, cl, tb), "rope tables");
  WKCK(wk_copy_h2d(g->wk, a.sin_l, sl, tb), "rope tables");
  WKCK(wk_copy_h2d(g->wk, a.cos_g, cg, tb), "rope tables");
  WKCK(wk_copy_h2d(g->wk, a.sin_g, sg, tb), "rope tables");
  WKCK(wk_copy_h2d(g->wk, a.mask, p->mask, (size_t)T * sizeof(int32_t)),
       "mask");

  /* Gemma scales the embeddings by sqrt(hidden), as an f32 scalar. */
  const float mult = (float)sqrt((double)C);
  wk_w table = {stream ? g->w.embed : g->cur.embed_dev, g->wdt,
                g->w.embed_scale};
  if (stream)
    WKCK(wk_embed_gather_host(g->wk, table, g->mc.vocab, C, p->ids, T, mult,
                              a.x),
         "embed_tokens (host table)");
  else
    WKCK(wk_embed_gather(g->wk, table, g->mc.vocab, C, p->ids, T, mult, a.x),
         "embed_tokens");
  if (first_index <= 0) {
    wk_set_workspace(g->wk, NULL, 0);
    rc = hook(user, 0, a.x, err);
    wk_set_workspace(g->wk, a.scratch, a.scratch_bytes);
    if (rc) goto out;
  }
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
    if (l + 1 < L && l + 1 >= first_index) {
      wk_set_workspace(g->wk, NULL, 0);
      rc = hook(user, l + 1, a.x, err);
      wk_set_workspace(g->wk, a.scratch, a.scratch_bytes);
      if (rc) goto out;
    }
    svc->progress(svc->ctx, progress0 + (progress1 - progress0) *
                                            (float)(l + 1) / (float)L);
  }
  wk_w fn = {g->final_norm_dev, WK_F32, 1.0f};
  WKCK(wk_rmsnorm(g->wk, a.x, fn, T, C, (float)g->mc.eps, 1, a.h), "norm");
  wk_set_workspace(g->wk, NULL, 0);
  rc = hook(user, L, a.h, err);
  if (rc) goto out;
  WKCK(wk_sync(g->wk), "sync");
  if (stream) {
    warm_stream_stats st;
    warm_streamer_stats(g->cur.streamer, &st);
    *streamed_bytes = st.streamed_bytes;
  }
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
  return rc;
}

/* ---- prompt text ----------------------------------------------------------
 */

/* Python's str.isspace() code points. */
static int is_space_cp(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 ||
         c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

/* The code point at s[i] and its length in bytes (valid UTF-8). */
static uint32_t cp_at(const unsigned char *s, size_t i, size_t *len) {
  unsigned c = s[i];
  if (c < 0x80) return *len = 1, c;
  if ((c & 0xE0) == 0xC0)
    return *len = 2, ((c & 0x1Fu) << 6) | (s[i + 1] & 0x3Fu);
  if ((c & 0xF0) == 0xE0)
    return *len = 3,
           ((c & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu);
  return *len = 4, ((c & 0x07u) << 18) | ((s[i + 1] & 0x3Fu) << 12) |
                       ((s[i + 2] & 0x3Fu) << 6) | (s[i + 3] & 0x3Fu);
}

void g3_strip(const char *str, size_t n, size_t *start, size_t *len) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0, end = 0, k;
  /* Leading: skip spaces. Trailing: remember the end of the last
   * non-space code point. */
  while (i < n && is_space_cp(cp_at(s, i, &k)))
    i += k;
  *start = i;
  end = i;
  while (i < n) {
    uint32_t c = cp_at(s, i, &k);
    i += k;
    if (!is_space_cp(c)) end = i;
  }
  *len = end - *start;
}
