/*
 * g3_plugin.c — the Gemma-3 text encoder's ABI entry points: create,
 * estimate, place (resident / stream, switchable live), run, destroy,
 * validate and fingerprint.
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
#include "warm/safetensors.h"
#include "warm/streamer.h"

/* ---- configuration ------------------------------------------------------ */

static int parse_keys(const warm_component_config *cfg, uint32_t *max_tokens,
                      int *output_all, int *bf16_act, warm_error *err) {
  *max_tokens = G3_DEFAULT_MAX_TOKENS;
  *output_all = 0;
  *bf16_act = 0;
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
      if (strcmp(v, "true") == 0)
        *bf16_act = 1;
      else if (strcmp(v, "false") == 0)
        *bf16_act = 0;
      else
        return warm_error_set(err, WARM_EINVAL,
                              "key bf16_activations: \"%s\" must be true or "
                              "false",
                              v);
    } else {
      return warm_error_set(err, WARM_EINVAL,
                            "unknown key \"%s\" for plugin " G3_NAME
                            " (known: max_tokens, output, bf16_activations)",
                            k);
    }
  }
  return 0;
}

static int pick_dtype(const warm_component_config *cfg, wk_dtype *out,
                      warm_error *err) {
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
        err, WARM_EUNSUPPORTED, "dtype %s: " G3_NAME " stores f32, bf16 or fp8",
        warm_dtype_name(cfg->dtype) ? warm_dtype_name(cfg->dtype) : "?");
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

/* ---- create / destroy --------------------------------------------------- */

static int g3_create(const warm_services *svc, const warm_component_config *cfg,
                     warm_instance **out, warm_error *err) {
  *out = NULL;
  warm_instance *g = calloc(1, sizeof *g);
  if (!g) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  g->svc = svc;
  g->dev = cfg->device;
  g->name = strdup(cfg->name ? cfg->name : G3_NAME);
  g->weights_path = strdup(cfg->weights ? cfg->weights : "");
  int rc;
  if (!g->name || !g->weights_path) {
    rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
    goto fail;
  }
  if ((rc = parse_keys(cfg, &g->max_tokens, &g->output_all, &g->bf16_act,
                       err)) ||
      (rc = pick_dtype(cfg, &g->wdt, err)))
    goto fail;
  wk_backend be =
      cfg->device.type == WARM_DEVICE_CUDA ? WK_BACKEND_CUDA : WK_BACKEND_CPU;
  if (!wk_backend_available(be)) {
    rc = warm_error_set(err, WARM_EUNSUPPORTED,
                        "device cuda:%d: no CUDA device here",
                        cfg->device.index);
    goto fail;
  }
  if ((rc = open_checkpoint(cfg, &g->mc, &g->st, &g->prefix, &g->tok, err)) ||
      (rc = g3_weights_load(g->st, &g->mc, g->prefix, g->wdt, &g->w, err)))
    goto fail;
  if ((rc = g3_stream_layers_init(g, err))) goto fail;
  if (wk_ctx_create(be, cfg->device.index, 0, &g->wk) != 0) {
    rc = warm_error_set(err, WARM_EDEVICE, "cannot create a %s context",
                        be == WK_BACKEND_CUDA ? "cuda" : "cpu");
    goto fail;
  }
  wk_set_bf16_activations(g->wk, g->bf16_act);
  if ((rc = g3_fingerprint_compute(g, err))) goto fail;
  *out = g;
  return 0;
fail:
  g3_destroy(g);
  return rc;
}

void g3_destroy(warm_instance *g) {
  if (!g) return;
  g3_place_state_free(g, &g->cur);
  if (g->final_norm_dev) g->svc->dev_free(g->svc->ctx, g->final_norm_dev);
  if (g->wk) wk_ctx_destroy(g->wk);
  free(g->stensors);
  free(g->slayers);
  g3_weights_free(&g->w);
  g3_tok_close(g->tok);
  warm_st_close(g->st);
  g3_config_free(&g->mc);
  free(g->name);
  free(g->weights_path);
  free(g);
}

/* ---- validate / fingerprint -------------------------------------------- */

static int g3_validate(const warm_services *svc,
                       const warm_component_config *cfg, warm_error *err) {
  uint32_t mt;
  int all, bact;
  wk_dtype wdt;
  int rc;
  if ((rc = parse_keys(cfg, &mt, &all, &bact, err)) ||
      (rc = pick_dtype(cfg, &wdt, err)))
    return rc;
  g3_config mc;
  warm_st *st;
  const char *prefix;
  g3_tok *tok;
  if ((rc = open_checkpoint(cfg, &mc, &st, &prefix, &tok, err))) return rc;
  g3_tok_close(tok);
  warm_st_close(st);
  g3_config_free(&mc);
  return 0;
}

/* FNV-1a 64, twice with different offsets, for a 128-bit hex identity. */
static void fnv(uint64_t h[2], const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) {
    h[0] = (h[0] ^ b[i]) * 0x100000001b3ull;
    h[1] = (h[1] ^ b[i]) * 0x100000001b3ull;
  }
}

int g3_fingerprint_compute(warm_instance *g, warm_error *err) {
  uint64_t h[2] = {0xcbf29ce484222325ull, 0x84222325cbf29ce4ull};
  const char *id = G3_NAME " " G3_VERSION;
  fnv(h, id, strlen(id) + 1);
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
    fnv(h, canon, strlen(canon) + 1);
    fnv(h, ident, sizeof ident);
  }
  int dt[2] = {(int)g->wdt, g->bf16_act}; /* both change the outputs */
  fnv(h, dt, sizeof dt);
  snprintf(g->fp, sizeof g->fp, "%016" PRIx64 "%016" PRIx64, h[0], h[1]);
  return 0;
}

static int g3_fingerprint(warm_instance *g, char out[65], warm_error *err) {
  memcpy(out, g->fp, sizeof g->fp);
  return 0;
}

/* The host wires the pipeline with these: the embedding width (per slice
 * for output = all) and the padded prompt length. */
static int g3_info(warm_instance *g, warm_model_info *out, warm_error *err) {
  if (WARM_HAS_FIELD(out->struct_size, warm_model_info, embed_dim))
    out->embed_dim = (uint32_t)g->mc.hidden;
  if (WARM_HAS_FIELD(out->struct_size, warm_model_info, max_tokens))
    out->max_tokens = g->max_tokens;
  return 0;
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
