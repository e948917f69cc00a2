/*
 * hello_encoder — the smallest complete warmd plugin, written to be read.
 *
 * Kind text_encoder. A prompt is cut into tokens (its UTF-8 bytes, or its
 * whitespace-separated words), each token is hashed into one of `buckets`
 * rows of a table of `dim` floats generated from `seed`, and each row is
 * RMS-normalised into the output. That table plays the part of a real
 * model's weights: it is what the placement decides about.
 *
 *   resident  the table lives in device memory (WARM_MEM_PERSISTENT);
 *   stream    the table lives in a page-locked host copy (pinned_alloc) and
 *             each row passes through a device window of `stream_window`
 *             row slots (WARM_MEM_WINDOW) before it is used;
 *   auto      the host picks one of the two per call.
 *
 * Both placements run the same arithmetic on the same bytes, so the output
 * is bitwise identical (warm-plugin-check verifies it). Every device byte
 * comes from svc->dev_alloc, so the host's ledger sees all of it, and
 * estimate() returns exactly what place() + run() book.
 *
 * Plugin keys ([component NAME] section), all optional:
 *   dim        floats per token embedding, 1..4096, default 64
 *   buckets    rows of the table, 1..1048576, default 4096
 *   seed       table seed (decimal), default 1
 *   tokenizer  bytes | words, default bytes
 *   max_tokens tokens per run when the caller gives none, default 64
 * Any other key is refused at create with a message naming it.
 *
 * A real plugin would read weights from cfg->weights (see warm/safetensors.h)
 * and stream layers with the SDK streamer (warm/streamer.h), which overlaps
 * the copy of layer i+1 with the compute of layer i. This example copies one
 * row at a time by hand so that every step is visible.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warm/warm.h"

#define HE_NAME "hello_encoder"
#define HE_VERSION "1.0.0"

/* Check svc->cancelled every this many tokens. */
#define HE_CANCEL_EVERY 64

/* ---- configuration ------------------------------------------------------- */

typedef enum he_tokenizer { HE_TOK_BYTES = 0, HE_TOK_WORDS = 1 } he_tokenizer;

typedef struct he_params {
  uint32_t dim, buckets, max_tokens;
  uint64_t seed;
  he_tokenizer tokenizer;
} he_params;

/* Parses an unsigned decimal in [lo, hi] for key `key`. */
static int he_parse_u64(const char *key, const char *v, uint64_t lo,
                        uint64_t hi, uint64_t *out, warm_error *err) {
  char *end = NULL;
  errno = 0;
  unsigned long long x = strtoull(v, &end, 10);
  if (v[0] < '0' || v[0] > '9' || errno || *end || x < lo || x > hi)
    return warm_error_set(err, WARM_EINVAL,
                          HE_NAME ": key '%s': '%s' is not a whole number in "
                                  "[%llu, %llu]",
                          key, v, (unsigned long long)lo,
                          (unsigned long long)hi);
  *out = x;
  return WARM_OK;
}

/* Reads the plugin keys and the generic parts of cfg that this plugin
 * restricts (device cpu, dtype f32). Shared by create() and validate(). */
static int he_parse_config(const warm_component_config *cfg, he_params *p,
                           warm_error *err) {
  p->dim = 64;
  p->buckets = 4096;
  p->max_tokens = 64;
  p->seed = 1;
  p->tokenizer = HE_TOK_BYTES;
  if (cfg->device.type != WARM_DEVICE_CPU)
    return warm_error_set(err, WARM_EUNSUPPORTED, HE_NAME ": runs on cpu only");
  if (cfg->dtype != WARM_DTYPE_NONE && cfg->dtype != WARM_F32)
    return warm_error_set(
        err, WARM_EUNSUPPORTED,
        HE_NAME ": weight dtype %s not supported (f32 only)",
        warm_dtype_name(cfg->dtype) ? warm_dtype_name(cfg->dtype) : "?");
  for (uint32_t i = 0; i < cfg->n_keys; i++) {
    const char *k = cfg->keys[i].key, *v = cfg->keys[i].value;
    uint64_t x;
    int rc = WARM_OK;
    if (!k || !v)
      return warm_error_set(err, WARM_EINVAL, HE_NAME ": empty key");
    if (!strcmp(k, "dim")) {
      if (!(rc = he_parse_u64(k, v, 1, 4096, &x, err))) p->dim = (uint32_t)x;
    } else if (!strcmp(k, "buckets")) {
      if (!(rc = he_parse_u64(k, v, 1, 1u << 20, &x, err)))
        p->buckets = (uint32_t)x;
    } else if (!strcmp(k, "max_tokens")) {
      if (!(rc = he_parse_u64(k, v, 1, 65536, &x, err)))
        p->max_tokens = (uint32_t)x;
    } else if (!strcmp(k, "seed")) {
      if (!(rc = he_parse_u64(k, v, 0, UINT64_MAX, &x, err))) p->seed = x;
    } else if (!strcmp(k, "tokenizer")) {
      if (!strcmp(v, "bytes"))
        p->tokenizer = HE_TOK_BYTES;
      else if (!strcmp(v, "words"))
        p->tokenizer = HE_TOK_WORDS;
      else
        rc = warm_error_set(err, WARM_EINVAL,
                            HE_NAME ": key 'tokenizer': '%s' is not bytes or "
                                    "words",
                            v);
    } else {
      rc = warm_error_set(err, WARM_EINVAL,
                          HE_NAME ": unknown key '%s' (known: dim, buckets, "
                                  "seed, tokenizer, max_tokens)",
                          k);
    }
    if (rc) return rc;
  }
  return WARM_OK;
}

/* ---- the "model" --------------------------------------------------------- */

/* splitmix64: a small, well-mixed generator; the table is a pure function of
 * (seed, index), so it can be rebuilt anywhere at any time. */
static uint64_t he_mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static void he_fill_table(const he_params *p, float *table) {
  size_t n = (size_t)p->buckets * p->dim;
  for (size_t i = 0; i < n; i++) /* uniform in [-1, 1) */
    table[i] =
        (float)((double)(he_mix(p->seed ^ (i * 0x2545f4914f6cdd1dull)) >> 11) *
                    (2.0 / 9007199254740992.0) -
                1.0);
}

static uint64_t he_fnv1a(const unsigned char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++)
    h = (h ^ s[i]) * 0x100000001b3ull;
  return h;
}

/* Cuts the prompt into at most T bucket ids; returns the token count. */
static uint32_t he_tokenize(const he_params *p, const char *prompt, uint32_t T,
                            uint32_t *ids) {
  const unsigned char *s = (const unsigned char *)prompt;
  uint32_t n = 0;
  if (p->tokenizer == HE_TOK_BYTES) {
    for (; s[n] && n < T; n++)
      ids[n] = (uint32_t)(he_fnv1a(&s[n], 1) % p->buckets);
    return n;
  }
  while (*s && n < T) {
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
      s++;
    const unsigned char *w = s;
    while (*s && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
      s++;
    if (s > w) ids[n++] = (uint32_t)(he_fnv1a(w, (size_t)(s - w)) % p->buckets);
  }
  return n;
}

/* y = x / sqrt(mean(x^2) + eps): the one "layer" of this model. */
static void he_rmsnorm(const float *x, uint32_t dim, float *y) {
  double ss = 0.0;
  for (uint32_t c = 0; c < dim; c++)
    ss += (double)x[c] * x[c];
  float inv = (float)(1.0 / sqrt(ss / dim + 1e-6));
  for (uint32_t c = 0; c < dim; c++)
    y[c] = x[c] * inv;
}

/* ---- the instance -------------------------------------------------------- */

typedef struct he_instance {
  const warm_services *svc; /* valid until destroy() returns */
  he_params p;
  warm_placement placed; /* 0 until place() succeeds */
  uint32_t window_slots;
  float *dev_table;  /* resident: [buckets, dim], device (persistent) */
  float *host_table; /* stream: [buckets, dim], pinned host copy */
  float *window;     /* stream: [window_slots, dim], device (window) */
} he_instance;

static uint64_t he_table_bytes(const he_params *p) {
  return (uint64_t)p->buckets * p->dim * sizeof(float);
}

/* Loader thread. Parses the config; touches no device memory. */
static int he_create(const warm_services *svc, const warm_component_config *cfg,
                     warm_instance **out, warm_error *err) {
  he_params p;
  int rc = he_parse_config(cfg, &p, err);
  if (rc) return rc;
  if (cfg->weights && svc->log)
    svc->log(svc->ctx, WARM_LOG_WARN,
             "weights '%s' ignored: hello_encoder generates its table from "
             "seed %llu",
             cfg->weights, (unsigned long long)p.seed);
  he_instance *h = calloc(1, sizeof *h);
  if (!h) return warm_error_set(err, WARM_ENOMEM, HE_NAME ": out of memory");
  h->svc = svc;
  h->p = p;
  *out = (warm_instance *)h;
  return WARM_OK;
}

/* Loader thread (warmd -t). The same checks as create, nothing allocated. */
static int he_validate(const warm_services *svc,
                       const warm_component_config *cfg, warm_error *err) {
  he_params p;
  return he_parse_config(cfg, &p, err);
}

/* Executor thread. Exact device bytes of place() + run() for a placement. */
static int he_estimate(warm_instance *inst, const warm_place_req *req,
                       const warm_job_shape *shape, warm_estimate *out,
                       warm_error *err) {
  he_instance *h = (he_instance *)inst;
  uint32_t T = shape && shape->max_tokens ? shape->max_tokens : h->p.max_tokens;
  uint64_t row = (uint64_t)h->p.dim * sizeof(float);
  memset(out, 0, sizeof *out);
  out->workspace = T * row; /* the run's output rows on the device */
  if (req->placement == WARM_PLACE_RESIDENT) {
    out->persistent = he_table_bytes(&h->p);
  } else if (req->placement == WARM_PLACE_STREAM) {
    if (req->stream_window < 1)
      return warm_error_set(err, WARM_EINVAL,
                            HE_NAME ": stream_window must be >= 1");
    out->window = req->stream_window * row;
    out->host_pinned = he_table_bytes(&h->p);
  } else {
    return warm_error_set(err, WARM_EINVAL,
                          HE_NAME ": estimate needs resident or stream, got %s",
                          warm_placement_name(req->placement));
  }
  return WARM_OK;
}

/* Frees what the given placement holds (NULL pointers are fine). */
static void he_release(he_instance *h, float **dev_table, float **host_table,
                       float **window) {
  const warm_services *s = h->svc;
  s->dev_free(s->ctx, *dev_table);
  s->pinned_free(s->ctx, *host_table);
  s->dev_free(s->ctx, *window);
  *dev_table = *host_table = *window = NULL;
}

/* Executor thread. Builds the new placement completely before freeing the
 * old one, so a failure (the ledger saying no) leaves the old one serving.
 * This is what lets the plugin declare WARM_FLAG_LIVE_PLACEMENT. */
static int he_place(warm_instance *inst, const warm_place_req *req,
                    warm_error *err) {
  he_instance *h = (he_instance *)inst;
  const warm_services *s = h->svc;
  if (req->placement == h->placed && (req->placement == WARM_PLACE_RESIDENT ||
                                      req->stream_window == h->window_slots))
    return WARM_OK;
  float *dev_table = NULL, *host_table = NULL, *window = NULL;
  int rc;
  if (req->placement == WARM_PLACE_RESIDENT) {
    rc = s->dev_alloc(s->ctx, WARM_MEM_PERSISTENT,
                      (size_t)he_table_bytes(&h->p), (void **)&dev_table, err);
    if (rc) return rc;
    he_fill_table(&h->p, dev_table); /* cpu: device memory is host memory */
  } else if (req->placement == WARM_PLACE_STREAM) {
    if (req->stream_window < 1)
      return warm_error_set(err, WARM_EINVAL,
                            HE_NAME ": stream_window must be >= 1");
    rc = s->pinned_alloc(s->ctx, (size_t)he_table_bytes(&h->p),
                         (void **)&host_table, err);
    if (rc) return rc;
    rc = s->dev_alloc(s->ctx, WARM_MEM_WINDOW,
                      (size_t)req->stream_window * h->p.dim * sizeof(float),
                      (void **)&window, err);
    if (rc) {
      s->pinned_free(s->ctx, host_table);
      return rc;
    }
    he_fill_table(&h->p, host_table);
  } else {
    return warm_error_set(err, WARM_EINVAL,
                          HE_NAME ": place needs resident or stream, got %s",
                          warm_placement_name(req->placement));
  }
  he_release(h, &h->dev_table, &h->host_table, &h->window);
  h->dev_table = dev_table;
  h->host_table = host_table;
  h->window = window;
  h->window_slots =
      req->placement == WARM_PLACE_STREAM ? req->stream_window : 0;
  h->placed = req->placement;
  return WARM_OK;
}

/* Executor thread. Outputs "embeddings" f32 [T, dim] and "mask" i32 [T];
 * rows past the prompt are zero with mask 0. Workspace is booked and freed
 * inside the call. */
static int he_run(warm_instance *inst, warm_run_args *a, warm_error *err) {
  he_instance *h = (he_instance *)inst;
  const warm_services *s = h->svc;
  if (!h->placed)
    return warm_error_set(err, WARM_EINVAL, HE_NAME ": run before place");
  if (!a->prompt)
    return warm_error_set(err, WARM_EINVAL, HE_NAME ": no prompt given");
  uint32_t T = a->max_tokens ? a->max_tokens : h->p.max_tokens;
  uint32_t dim = h->p.dim;
  size_t row = (size_t)dim * sizeof(float);
  uint32_t *ids = malloc((size_t)T * sizeof *ids); /* host scratch */
  if (!ids) return warm_error_set(err, WARM_ENOMEM, HE_NAME ": out of memory");
  uint32_t n = he_tokenize(&h->p, a->prompt, T, ids);
  float *ws = NULL;
  int rc = s->dev_alloc(s->ctx, WARM_MEM_WORKSPACE, (size_t)T * row,
                        (void **)&ws, err);
  if (rc) {
    free(ids);
    return rc;
  }
  memset(ws, 0, (size_t)T * row);
  uint64_t streamed = 0;
  for (uint32_t t = 0; t < n; t++) {
    if (t % HE_CANCEL_EVERY == 0) {
      if (s->cancelled(s->ctx)) {
        rc = warm_error_set(err, WARM_ECANCELED, HE_NAME ": cancelled");
        goto out;
      }
      s->progress(s->ctx, (float)t / (float)n);
    }
    const float *src;
    if (h->placed == WARM_PLACE_RESIDENT) {
      src = h->dev_table + (size_t)ids[t] * dim;
    } else { /* the row passes through its window slot */
      float *slot = h->window + (size_t)(t % h->window_slots) * dim;
      memcpy(slot, h->host_table + (size_t)ids[t] * dim, row);
      streamed += row;
      src = slot;
    }
    he_rmsnorm(src, dim, ws + (size_t)t * dim);
  }
  int64_t eshape[2] = {T, dim}, mshape[1] = {T};
  rc = warm_tensor_alloc(&a->outputs[0], "embeddings", WARM_F32, 2, eshape);
  if (!rc) rc = warm_tensor_alloc(&a->outputs[1], "mask", WARM_I32, 1, mshape);
  if (rc) {
    warm_tensor_free(&a->outputs[0]);
    rc = warm_error_set(err, rc, HE_NAME ": cannot allocate outputs");
    goto out;
  }
  memcpy(a->outputs[0].data, ws, (size_t)T * row); /* device -> host */
  int32_t *mask = a->outputs[1].data;
  for (uint32_t t = 0; t < T; t++)
    mask[t] = t < n;
  a->n_outputs = 2;
  a->used_placement = h->placed;
  a->streamed_bytes = streamed;
  s->progress(s->ctx, 1.0f);
out:
  s->dev_free(s->ctx, ws);
  free(ids);
  return rc;
}

/* Stable identity of what this instance computes: plugin name and version,
 * every key that shapes the table or the tokens, and the dtype. The table is
 * generated, so its parameters identify it as well as its content would. */
static int he_fingerprint(warm_instance *inst, char out[65], warm_error *err) {
  he_instance *h = (he_instance *)inst;
  char id[256];
  int n =
      snprintf(id, sizeof id, "%s/%s/dim=%u/buckets=%u/seed=%llu/tok=%d/f32",
               HE_NAME, HE_VERSION, h->p.dim, h->p.buckets,
               (unsigned long long)h->p.seed, (int)h->p.tokenizer);
  uint64_t a = he_fnv1a((const unsigned char *)id, (size_t)n);
  uint64_t b = he_mix(a ^ 0x68656c6c6full);
  snprintf(out, 65, "%016llx%016llx", (unsigned long long)a,
           (unsigned long long)b);
  return WARM_OK;
}

/* ABI 1.1. The model facts a host needs to wire a pipeline; write only the
 * fields the host's struct_size covers (later minors may append more). */
static int he_info(warm_instance *inst, warm_model_info *out, warm_error *err) {
  he_instance *h = (he_instance *)inst;
  if (WARM_HAS_FIELD(out->struct_size, warm_model_info, embed_dim))
    out->embed_dim = h->p.dim;
  if (WARM_HAS_FIELD(out->struct_size, warm_model_info, max_tokens))
    out->max_tokens = h->p.max_tokens;
  return WARM_OK;
}

/* Loader thread. Frees everything, placed or not. */
static void he_destroy(warm_instance *inst) {
  he_instance *h = (he_instance *)inst;
  if (!h) return;
  he_release(h, &h->dev_table, &h->host_table, &h->window);
  free(h);
}

/* ---- the descriptor and the one exported symbol -------------------------- */

static const warm_plugin_desc he_desc = {
    .abi_major = WARM_ABI_MAJOR,
    .abi_minor = WARM_ABI_MINOR,
    .struct_size = sizeof(warm_plugin_desc),
    .name = HE_NAME,
    .version = HE_VERSION,
    .kind = WARM_KIND_TEXT_ENCODER,
    .devices = WARM_DEVCAP_CPU,
    .placements = WARM_PLACE_RESIDENT | WARM_PLACE_STREAM | WARM_PLACE_AUTO,
    .dtypes = WARM_DTYPECAP_F32,
    .flags = WARM_FLAG_LIVE_PLACEMENT,
    .create = he_create,
    .estimate = he_estimate,
    .place = he_place,
    .run = he_run,
    .destroy = he_destroy,
    .validate = he_validate,
    .fingerprint = he_fingerprint,
    .info = he_info, /* ABI 1.1 */
};

/* The only exported symbol (the library is built with hidden visibility). */
WARM_PLUGIN_EXPORT const warm_plugin_desc *warm_plugin_entry(void) {
  return &he_desc;
}
