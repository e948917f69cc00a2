/*
 * g3_plugin.c — the Gemma-3 text encoder's ABI entry points: create,
 * estimate, place (resident / stream, switchable live), run, destroy,
 * validate and fingerprint, over the engine in plugins/gemma3_core.
 *
 * Memory. Every device byte comes from svc->dev_alloc: the final norm
 * (persistent, kept across placements), the resident embedding table and
 * layer blobs (persistent), the streamer's window slots (window), and one
 * workspace block per run (workspace). estimate() adds up exactly these
 * sizes, so the ledger peak of a run never exceeds it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "g3.h"
#include "g3_plugin.h"
#include "warm/model.h"
#include "warm/safetensors.h"
#include "warm/streamer.h"

/* ---- configuration ------------------------------------------------------ */

static int parse_keys(const warm_component_config *cfg, uint32_t *max_tokens,
                      int *output_all, int *bf16_act, warm_error *err) {
  *max_tokens = G3_DEFAULT_MAX_TOKENS;
  *output_all = 0;
  *bf16_act = -1;
  for (uint32_t i = 0; i < cfg->n_keys; i++) {
    const char *k = cfg->keys[i].key, *v = cfg->keys[i].value;
    if (strcmp(k, "max_tokens") == 0) {
      char *end;
      unsigned long n = strtoul(v, &end, 10);
      if (!*v || *end || v[0] == '-' || n < 2 || n > 1u << 20)
        return warm_error_set(err, WARM_EINVAL,
                              "key max_tokens: \"%s\" is not an integer in "
                              "[2, 1048576]",
                              v);
      *max_tokens = (uint32_t)n;
    } else if (strcmp(k, "output") == 0) {
      if (strcmp(v, "last") == 0)
        *output_all = 0;
      else if (strcmp(v, "all") == 0)
        *output_all = 1;
      else
        return warm_error_set(err, WARM_EINVAL,
                              "key output: \"%s\" must be last or all", v);
    } else if (strcmp(k, "bf16_activations") == 0) {
      int rc = warm_key_auto_bool(k, v, bf16_act, err);
      if (rc) return rc;
    } else {
      return warm_error_set(err, WARM_EINVAL,
                            "unknown key \"%s\" for plugin " G3_NAME
                            " (known: max_tokens, output, bf16_activations)",
                            k);
    }
  }
  return 0;
}

/* ---- create / destroy --------------------------------------------------- */

static void g3_destroy(warm_instance *g) {
  if (!g) return;
  g3_model_close(&g->m);
  free(g->name);
  free(g);
}

/* Plugin id, then the files, then the storage dtype. */
static int fingerprint_compute(warm_instance *g, warm_error *err) {
  uint64_t h[2] = {0xcbf29ce484222325ull, 0x84222325cbf29ce4ull};
  const char *id = G3_NAME " " G3_VERSION;
  g3_fnv(h, id, strlen(id) + 1);
  int rc = g3_model_hash_files(&g->m, h, err);
  if (rc) return rc;
  int dt[2] = {(int)g->m.wdt, g->bf16_act}; /* both change the outputs */
  g3_fnv(h, dt, sizeof dt);
  snprintf(g->fp, sizeof g->fp, "%016" PRIx64 "%016" PRIx64, h[0], h[1]);
  return 0;
}

static int g3_create(const warm_services *svc, const warm_component_config *cfg,
                     warm_instance **out, warm_error *err) {
  *out = NULL;
  warm_instance *g = calloc(1, sizeof *g);
  if (!g) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  g->name = strdup(cfg->name ? cfg->name : G3_NAME);
  int rc;
  wk_dtype wdt;
  if (!g->name) {
    rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
    goto fail;
  }
  if ((rc = parse_keys(cfg, &g->max_tokens, &g->output_all, &g->bf16_act,
                       err)) ||
      (rc = g3_model_pick_dtype(cfg, G3_NAME, &wdt, err)))
    goto fail;
  g->bf16_act =
      warm_bf16_activations(g->bf16_act, wdt == WK_BF16 ? WARM_BF16 : WARM_F32);
  if ((rc = g3_model_open(&g->m, svc, g->name, cfg, wdt, err)) ||
      (rc = fingerprint_compute(g, err)))
    goto fail;
  wk_set_bf16_activations(g->m.wk, g->bf16_act);
  *out = g;
  return 0;
fail:
  g3_destroy(g);
  return rc;
}

/* ---- validate / fingerprint -------------------------------------------- */

static int g3_validate(const warm_services *svc,
                       const warm_component_config *cfg, warm_error *err) {
  (void)svc;
  uint32_t mt;
  int all, bact;
  wk_dtype wdt;
  int rc;
  if ((rc = parse_keys(cfg, &mt, &all, &bact, err)) ||
      (rc = g3_model_pick_dtype(cfg, G3_NAME, &wdt, err)))
    return rc;
  return g3_model_check_folder(cfg, err);
}

static int g3_fingerprint(warm_instance *g, char out[65], warm_error *err) {
  (void)err;
  memcpy(out, g->fp, sizeof g->fp);
  return 0;
}

/* The host wires the pipeline with these: the embedding width (per slice
 * for output = all) and the padded prompt length. */
static int g3_info(warm_instance *g, warm_model_info *out, warm_error *err) {
  (void)err;
  if (WARM_HAS_FIELD(out->struct_size, warm_model_info, embed_dim))
    out->embed_dim = (uint32_t)g->m.mc.hidden;
  if (WARM_HAS_FIELD(out->struct_size, warm_model_info, max_tokens))
    out->max_tokens = g->max_tokens;
  return 0;
}

/* ---- estimate / place / run ------------------------------------------- */

static int g3_estimate(warm_instance *g, const warm_place_req *req,
                       const warm_job_shape *shape, warm_estimate *out,
                       warm_error *err) {
  memset(out, 0, sizeof *out);
  uint32_t T = shape && shape->max_tokens ? shape->max_tokens : g->max_tokens;
  return g3_model_estimate(&g->m, req, T, out, err);
}

static int g3_place(warm_instance *g, const warm_place_req *req,
                    warm_error *err) {
  return g3_model_place(&g->m, req, err);
}

typedef struct copy_out {
  wk_ctx *wk;
  float *out;    /* [slices, T, C] on the host */
  int64_t first; /* hidden-state index of slice 0 */
  int64_t TC;
} copy_out;

static int copy_hidden(void *user, int64_t index, const float *x,
                       warm_error *err) {
  copy_out *co = user;
  if (wk_copy_d2h(co->wk, co->out + (index - co->first) * co->TC, x,
                  (size_t)co->TC * sizeof(float)))
    return warm_error_set(err, WARM_EDEVICE, "hidden state %lld: %s",
                          (long long)index, wk_last_error(co->wk));
  return 0;
}

static int g3_run(warm_instance *g, warm_run_args *args, warm_error *err) {
  const warm_services *svc = g->m.svc;
  if (!g->m.cur.placement)
    return warm_error_set(err, WARM_EINVAL, "%s: run before place()", g->name);
  uint32_t T = args->max_tokens ? args->max_tokens : g->max_tokens;
  g3_prompt p;
  int rc = g3_prompt_make(g->m.tok, args->prompt, T, g->m.mc.bos_id,
                          g->m.mc.pad_id, &p, err);
  if (rc) return rc;
  if (p.n_dropped)
    svc->log(svc->ctx, WARM_LOG_WARN,
             "prompt truncated: kept BOS + the first %u of %u tokens "
             "(max_tokens %u)",
             p.n_real - 1, p.n_real - 1 + p.n_dropped, T);

  const int64_t C = g->m.mc.hidden, L = g->m.mc.layers;
  const int64_t TC = (int64_t)T * C;
  warm_tensor emb = {0}, mask = {0};
  int64_t nslices = g->output_all ? L + 1 : 1;
  int64_t eshape[3] = {nslices, T, C}, mshape[1] = {T};
  if (warm_tensor_alloc(&emb, "embeddings", WARM_F32, g->output_all ? 3 : 2,
                        g->output_all ? eshape : eshape + 1) ||
      warm_tensor_alloc(&mask, "mask", WARM_I32, 1, mshape)) {
    rc = warm_error_set(err, WARM_ENOMEM, "out of memory for %u tokens", T);
    goto out;
  }
  memcpy(mask.data, p.mask, T * sizeof(int32_t));
  copy_out co = {g->m.wk, emb.data, g->output_all ? 0 : L, TC};
  uint64_t streamed = 0;
  rc = g3_model_encode(&g->m, &p, co.first, copy_hidden, &co, 0.0f, 1.0f,
                       &streamed, err);
  if (rc) goto out;

  /* Padded rows (mask 0) are zeroed in every slice: their attention saw no
   * key, and consumers must not read them. */
  uint32_t first = T - p.n_real;
  float *o = emb.data;
  for (int64_t s = 0; s < nslices; s++)
    memset(o + s * TC, 0, (size_t)first * C * sizeof(float));

  args->outputs[0] = emb;
  args->outputs[1] = mask;
  args->n_outputs = 2;
  args->used_placement = g->m.cur.placement;
  args->streamed_bytes = streamed;
  memset(&emb, 0, sizeof emb);
  memset(&mask, 0, sizeof mask);
out:
  warm_tensor_free(&emb);
  warm_tensor_free(&mask);
  g3_prompt_free(&p);
  return rc;
}

/* ---- the descriptor ---------------------------------------------------- */

static const warm_plugin_desc g3_desc = {
    .abi_major = WARM_ABI_MAJOR,
    .abi_minor = WARM_ABI_MINOR,
    .struct_size = sizeof(warm_plugin_desc),
    .name = G3_NAME,
    .version = G3_VERSION,
    .kind = WARM_KIND_TEXT_ENCODER,
    .devices = WARM_DEVCAP_CPU | WARM_DEVCAP_CUDA,
    .placements = WARM_PLACE_RESIDENT | WARM_PLACE_STREAM | WARM_PLACE_AUTO,
    .dtypes = WARM_DTYPECAP_F32 | WARM_DTYPECAP_BF16 | WARM_DTYPECAP_FP8,
    .flags = WARM_FLAG_LIVE_PLACEMENT,
    .create = g3_create,
    .estimate = g3_estimate,
    .place = g3_place,
    .run = g3_run,
    .destroy = g3_destroy,
    .validate = g3_validate,
    .fingerprint = g3_fingerprint,
    .info = g3_info,
};

const warm_plugin_desc *g3_descriptor(void) {
  return &g3_desc;
}
