/*
 * lt2_plugin.c — the LTX-2 text encoder's ABI entry points: create,
 * validate, fingerprint, info, run and the descriptor (estimate and place
 * are in lt2_place.c).
 *
 * A run: strip the prompt, tokenize (BOS + pieces, left padded to T);
 * Gemma's layer loop with the feature extractor as its hidden-state hook
 * (each hidden state is normalised and projected into the accumulators,
 * then dropped); then per connector its prelude (registers, V2 bias) and
 * blocks. Outputs video_context f32 [T, Cv], audio_context f32 [T, Ca] and
 * mask i32 [T] — all ones, as the reference hands the transformer after the
 * registers replaced the padding.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lt2_plugin.h"
#include "warm/model.h"

/* ---- configuration ------------------------------------------------------ */

static int parse_keys(const warm_component_config *cfg, uint32_t *max_tokens,
                      const char **ltx, int *bf16_act, warm_error *err) {
  *max_tokens = LT2_DEFAULT_MAX_TOKENS;
  *ltx = NULL;
  *bf16_act = -1;
  for (uint32_t i = 0; i < cfg->n_keys; i++) {
    const char *k = cfg->keys[i].key, *v = cfg->keys[i].value;
    if (strcmp(k, "max_tokens") == 0) {
      char *end;
      unsigned long n = strtoul(v, &end, 10);
      if (!*v || *end || v[0] == '-' || n < 1 || n > 1u << 20)
        return warm_error_set(err, WARM_EINVAL,
                              "key max_tokens: \"%s\" is not an integer in "
                              "[128, 1048576]",
                              v);
      if (n % LT2_REGISTERS)
        return warm_error_set(err, WARM_EINVAL,
                              "key max_tokens: %lu is not a multiple of %d "
                              "(the connectors replace padding with %d "
                              "registers, tiled over the prompt)",
                              n, LT2_REGISTERS, LT2_REGISTERS);
      *max_tokens = (uint32_t)n;
    } else if (strcmp(k, "ltx_checkpoint") == 0) {
      *ltx = v;
    } else if (strcmp(k, "bf16_activations") == 0) {
      int rc = warm_key_auto_bool(k, v, bf16_act, err);
      if (rc) return rc;
    } else {
      return warm_error_set(err, WARM_EINVAL,
                            "unknown key \"%s\" for plugin " LT2_NAME
                            " (known: ltx_checkpoint, max_tokens, "
                            "bf16_activations)",
                            k);
    }
  }
  if (!*ltx || !**ltx)
    return warm_error_set(err, WARM_EINVAL,
                          "key ltx_checkpoint: missing (the combined LTX-2 "
                          ".safetensors holding text_embedding_projection.* "
                          "and the embeddings connectors)");
  return 0;
}

/* Opens the LTX-2 file and reads its text side against the Gemma shape. */
static int open_ltx(const char *path, int64_t D, int64_t S, warm_ltx2 **lf,
                    lt2_config *c, warm_error *err) {
  int rc = warm_ltx2_open(path, lf, err);
  if (rc) return rc;
  if ((rc = lt2_config_load(*lf, D, S, c, err))) {
    warm_ltx2_close(*lf);
    *lf = NULL;
  }
  return rc;
}

/* ---- create / destroy --------------------------------------------------- */

static void lt2_destroy(warm_instance *g) {
  if (!g) return;
  lt2_unplace(g);
  g3_model_close(&g->m);
  free(g->off);
  free(g->blob_bytes);
  free(g->stensors);
  free(g->slayers);
  lt2_weights_free(&g->w);
  warm_ltx2_close(g->lf);
  free(g->ltx_path);
  free(g->name);
  free(g);
}

/* Identity of a file: canonical path, size, mtime. */
static int hash_file(uint64_t h[2], const char *p, warm_error *err) {
  struct stat sb;
  if (stat(p, &sb) != 0)
    return warm_error_set(err, WARM_EIO, "%s: cannot stat", p);
  char real[4096];
  const char *canon = realpath(p, real) ? real : p;
  int64_t ident[3] = {(int64_t)sb.st_size, (int64_t)sb.st_mtim.tv_sec,
                      (int64_t)sb.st_mtim.tv_nsec};
  g3_fnv(h, canon, strlen(canon) + 1);
  g3_fnv(h, ident, sizeof ident);
  return 0;
}

/* Both weight sources (the Gemma folder and the LTX-2 file), the storage
 * dtype, the prompt length and bf16_activations; never the placement, so
 * the embedding cache hits across placement changes. */
static int fingerprint_compute(warm_instance *g, warm_error *err) {
  uint64_t h[2] = {0xcbf29ce484222325ull, 0x84222325cbf29ce4ull};
  const char *id = LT2_NAME " " LT2_VERSION;
  g3_fnv(h, id, strlen(id) + 1);
  int rc = g3_model_hash_files(&g->m, h, err);
  if (rc || (rc = hash_file(h, g->ltx_path, err))) return rc;
  int32_t v[3] = {(int32_t)g->m.wdt, (int32_t)g->max_tokens, g->bf16_act};
  g3_fnv(h, v, sizeof v);
  snprintf(g->fp, sizeof g->fp, "%016" PRIx64 "%016" PRIx64, h[0], h[1]);
  return 0;
}

static int lt2_create(const warm_services *svc,
                      const warm_component_config *cfg, warm_instance **out,
                      warm_error *err) {
  *out = NULL;
  warm_instance *g = calloc(1, sizeof *g);
  if (!g) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  const char *ltx;
  wk_dtype wdt;
  int rc;
  g->name = strdup(cfg->name ? cfg->name : LT2_NAME);
  if (!g->name) {
    rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
    goto fail;
  }
  if ((rc = parse_keys(cfg, &g->max_tokens, &ltx, &g->bf16_act, err)) ||
      (rc = g3_model_pick_dtype(cfg, LT2_NAME, &wdt, err)))
    goto fail;
  g->bf16_act =
      warm_bf16_activations(g->bf16_act, wdt == WK_BF16 ? WARM_BF16 : WARM_F32);
  g->ltx_path = warm_config_path(cfg, ltx);
  if (!g->ltx_path) {
    rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
    goto fail;
  }
  if ((rc = g3_model_open(&g->m, svc, g->name, cfg, wdt, err)) ||
      (rc = open_ltx(g->ltx_path, g->m.mc.hidden, g->m.mc.layers + 1, &g->lf,
                     &g->c, err)) ||
      (rc = lt2_weights_load(g->lf, &g->c, wdt, warm_plan_only(svc), &g->w,
                             err)) ||
      (rc = lt2_layout_init(g, err)) || (rc = fingerprint_compute(g, err)))
    goto fail;
  wk_set_bf16_activations(g->m.wk, g->bf16_act);
  *out = g;
  return 0;
fail:
  lt2_destroy(g);
  return rc;
}

static int lt2_validate(const warm_services *svc,
                        const warm_component_config *cfg, warm_error *err) {
  (void)svc;
  uint32_t mt;
  const char *ltx;
  wk_dtype wdt;
  int rc;
  int act;
  if ((rc = parse_keys(cfg, &mt, &ltx, &act, err)) ||
      (rc = g3_model_pick_dtype(cfg, LT2_NAME, &wdt, err)) ||
      (rc = g3_model_check_folder(cfg, err)))
    return rc;
  g3_config mc;
  if ((rc = g3_config_load(cfg->weights, &mc, err))) return rc;
  warm_ltx2 *lf = NULL;
  lt2_config c;
  char *path = warm_config_path(cfg, ltx);
  rc = path ? open_ltx(path, mc.hidden, mc.layers + 1, &lf, &c, err)
            : warm_error_set(err, WARM_ENOMEM, "out of memory");
  free(path);
  warm_ltx2_close(lf);
  g3_config_free(&mc);
  return rc;
}

static int lt2_fingerprint(warm_instance *g, char out[65], warm_error *err) {
  (void)err;
  memcpy(out, g->fp, sizeof g->fp);
  return 0;
}

static int lt2_info(warm_instance *g, warm_model_info *out, warm_error *err) {
  (void)err;
  if (WARM_HAS_FIELD(out->struct_size, warm_model_info, embed_dim))
    out->embed_dim = (uint32_t)g->c.Cv;
  if (WARM_HAS_FIELD(out->struct_size, warm_model_info, audio_embed_dim))
    out->audio_embed_dim = (uint32_t)g->c.Ca;
  if (WARM_HAS_FIELD(out->struct_size, warm_model_info, max_tokens))
    out->max_tokens = g->max_tokens;
  return 0;
}

/* ---- run ------------------------------------------------------------------
 */

typedef struct feat_hook {
  warm_instance *g;
  int64_t T, row0;
  lt2_xscratch xs;
  lt2_feats f;
} feat_hook;

static int on_hidden(void *user, int64_t index, const float *x,
                     warm_error *err) {
  feat_hook *fh = user;
  warm_instance *g = fh->g;
  lt2_view v;
  int rc = lt2_layer_acquire(g, (uint32_t)index, &v, err);
  if (rc) return rc;
  rc = lt2_feat_accumulate(g->m.wk, &g->c, index, x, fh->T, fh->row0, &v,
                           &fh->xs, &fh->f, err);
  wk_set_workspace(g->m.wk, NULL, 0);
  int rc2 = lt2_layer_release(g, (uint32_t)index, err);
  return rc ? rc : rc2;
}

/* One connector: prelude (bias for V2, registers), blocks, final norm into
 * a->h, copied to host out [T, width]. */
static int run_connector(warm_instance *g, int audio, float *feats, int64_t T,
                         int64_t n_real, lt2_cacts *a, float *out,
                         warm_error *err) {
  const lt2_conn_config *cc = audio ? &g->c.ac : &g->c.vc;
  wk_ctx *wk = g->m.wk;
  uint32_t pre = g->w.pre[audio];
  lt2_view v;
  int rc = lt2_layer_acquire(g, pre, &v, err);
  if (rc) return rc;
  if (g->c.v2 &&
      wk_add_row(wk, feats, v.t[LT2_P_BIAS].data, T, cc->width, feats))
    rc = warm_error_set(err, WARM_EDEVICE, "projection bias: %s",
                        wk_last_error(wk));
  if (!rc)
    rc = lt2_conn_registers(wk, cc, feats, v.t[LT2_P_REG].data, T, n_real, a,
                            err);
  int rc2 = lt2_layer_release(g, pre, err);
  if (rc || (rc = rc2)) return rc;
  size_t tb = (size_t)(T * cc->width) * sizeof(float);
  float *cs = malloc(tb), *sn = malloc(tb);
  if (!cs || !sn) {
    rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
    goto out;
  }
  if ((rc = lt2_conn_rope(&g->c, cc, T, cs, sn, err))) goto out;
  if (wk_copy_h2d(wk, a->cos, cs, tb) || wk_copy_h2d(wk, a->sin, sn, tb)) {
    rc =
        warm_error_set(err, WARM_EDEVICE, "rope tables: %s", wk_last_error(wk));
    goto out;
  }
  for (int64_t b = 0; b < cc->layers; b++) {
    uint32_t i = pre + 1 + (uint32_t)b;
    if ((rc = lt2_layer_acquire(g, i, &v, err))) goto out;
    rc = lt2_conn_block(wk, cc, T, &v, a, g->c.split_rope, err);
    wk_set_workspace(wk, NULL, 0);
    rc2 = lt2_layer_release(g, i, err);
    if (rc || (rc = rc2)) goto out;
  }
  if ((rc = lt2_conn_final(wk, cc, T, a, a->h, err))) goto out;
  if (wk_copy_d2h(wk, out, a->h, tb) || wk_sync(wk))
    rc = warm_error_set(err, WARM_EDEVICE, "connector output: %s",
                        wk_last_error(wk));
out:
  /* The host tables may go only once the copies that read them are done. */
  wk_sync(wk);
  free(cs);
  free(sn);
  return rc;
}

static int lt2_run(warm_instance *g, warm_run_args *args, warm_error *err) {
  const warm_services *svc = g->m.svc;
  if (!g->m.cur.placement || !g->cur.placement)
    return warm_error_set(err, WARM_EINVAL, "%s: run before place()", g->name);
  uint32_t T = args->max_tokens ? args->max_tokens : g->max_tokens;
  if (T % LT2_REGISTERS)
    return warm_error_set(err, WARM_EINVAL,
                          "max_tokens %u: not a multiple of %d (the "
                          "connectors' register count)",
                          T, LT2_REGISTERS);
  if (!args->prompt) return warm_error_set(err, WARM_EINVAL, "prompt: missing");
  /* The reference strips the prompt (str.strip()) before tokenizing. UTF-8
   * is checked first, so the strip walks whole code points. */
  size_t len = strlen(args->prompt), bad = 0, s0, sl;
  if (!g3_utf8_valid(args->prompt, len, &bad))
    return warm_error_set(err, WARM_EINVAL,
                          "prompt: not valid UTF-8 (byte %zu, 0x%02x)", bad,
                          (unsigned)(unsigned char)args->prompt[bad]);
  g3_strip(args->prompt, len, &s0, &sl);
  char *text = strndup(args->prompt + s0, sl);
  if (!text) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  g3_prompt p;
  int rc = g3_prompt_make(g->m.tok, text, T, g->m.mc.bos_id, g->m.mc.pad_id, &p,
                          err);
  free(text);
  if (rc) return rc;
  if (p.n_dropped)
    svc->log(svc->ctx, WARM_LOG_WARN,
             "prompt truncated: kept BOS + the first %u of %u tokens "
             "(max_tokens %u)",
             p.n_real - 1, p.n_real - 1 + p.n_dropped, T);

  wk_ctx *wk = g->m.wk;
  const lt2_config *c = &g->c;
  void *feats_mem = NULL, *xs_mem = NULL, *cws = NULL;
  warm_tensor vt = {0}, at = {0}, mt = {0};
  int64_t vs[2] = {T, c->Cv}, as[2] = {T, c->Ca}, ms[1] = {T};
  if (warm_tensor_alloc(&vt, "video_context", WARM_F32, 2, vs) ||
      warm_tensor_alloc(&at, "audio_context", WARM_F32, 2, as) ||
      warm_tensor_alloc(&mt, "mask", WARM_I32, 1, ms)) {
    rc = warm_error_set(err, WARM_ENOMEM, "out of memory for %u tokens", T);
    goto out;
  }
  for (uint32_t t = 0; t < T; t++)
    ((int32_t *)mt.data)[t] = 1;

  feat_hook fh = {.g = g, .T = T, .row0 = T - p.n_real};
  if ((rc = svc->dev_alloc(svc->ctx, WARM_MEM_WORKSPACE, lt2_feats_bytes(c, T),
                           &feats_mem, err)) ||
      (rc = svc->dev_alloc(svc->ctx, WARM_MEM_WORKSPACE,
                           lt2_xscratch_bytes(wk, c, g->m.wdt, T), &xs_mem,
                           err)))
    goto out;
  lt2_feats_carve(c, T, feats_mem, &fh.f);
  lt2_xscratch_carve(wk, c, g->m.wdt, T, xs_mem, &fh.xs);
  if (g->cur.streamer) warm_streamer_stats_reset(g->cur.streamer);
  uint64_t streamed = 0;
  rc =
      g3_model_encode(&g->m, &p, 0, on_hidden, &fh, 0.0f, 0.9f, &streamed, err);
  if (rc) goto out;
  wk_sync(wk);
  svc->dev_free(svc->ctx, xs_mem);
  xs_mem = NULL;

  if (svc->cancelled(svc->ctx)) {
    rc = warm_error_set(err, WARM_ECANCELED, "cancelled before the connectors");
    goto out;
  }
  lt2_cacts a;
  if ((rc = svc->dev_alloc(svc->ctx, WARM_MEM_WORKSPACE,
                           lt2_conn_ws_bytes(wk, c, g->m.wdt, T), &cws, err)))
    goto out;
  lt2_conn_ws_carve(wk, c, g->m.wdt, T, cws, &a);
  if ((rc = run_connector(g, 0, fh.f.fv, T, p.n_real, &a, vt.data, err)))
    goto out;
  svc->progress(svc->ctx, 0.95f);
  if ((rc = run_connector(g, 1, fh.f.fa, T, p.n_real, &a, at.data, err)))
    goto out;
  svc->progress(svc->ctx, 1.0f);
  if (g->cur.streamer) {
    warm_stream_stats st;
    warm_streamer_stats(g->cur.streamer, &st);
    streamed += st.streamed_bytes;
  }
  args->outputs[0] = vt;
  args->outputs[1] = at;
  args->outputs[2] = mt;
  args->n_outputs = 3;
  args->used_placement = g->m.cur.placement;
  args->streamed_bytes = streamed;
  memset(&vt, 0, sizeof vt);
  memset(&at, 0, sizeof at);
  memset(&mt, 0, sizeof mt);
out:
  if (feats_mem || xs_mem || cws) wk_sync(wk);
  if (cws) svc->dev_free(svc->ctx, cws);
  if (xs_mem) svc->dev_free(svc->ctx, xs_mem);
  if (feats_mem) svc->dev_free(svc->ctx, feats_mem);
  warm_tensor_free(&vt);
  warm_tensor_free(&at);
  warm_tensor_free(&mt);
  g3_prompt_free(&p);
  return rc;
}

/* ---- the descriptor ---------------------------------------------------- */

static const warm_plugin_desc lt2_desc = {
    .abi_major = WARM_ABI_MAJOR,
    .abi_minor = WARM_ABI_MINOR,
    .struct_size = sizeof(warm_plugin_desc),
    .name = LT2_NAME,
    .version = LT2_VERSION,
    .kind = WARM_KIND_TEXT_ENCODER,
    .devices = WARM_DEVCAP_CPU | WARM_DEVCAP_CUDA,
    .placements = WARM_PLACE_RESIDENT | WARM_PLACE_STREAM | WARM_PLACE_AUTO,
    .dtypes = WARM_DTYPECAP_F32 | WARM_DTYPECAP_BF16 | WARM_DTYPECAP_FP8,
    .flags = WARM_FLAG_LIVE_PLACEMENT,
    .create = lt2_create,
    .estimate = lt2_estimate,
    .place = lt2_place,
    .run = lt2_run,
    .destroy = lt2_destroy,
    .validate = lt2_validate,
    .fingerprint = lt2_fingerprint,
    .info = lt2_info,
};

const warm_plugin_desc *lt2_descriptor(void) {
  return &lt2_desc;
}
