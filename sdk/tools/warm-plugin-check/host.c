/* warm-plugin-check: the host side — a services table over a real ledger,
 * and helpers driving one instance. Single-threaded checker, but the
 * services are thread-safe because plugins may call them from their own
 * threads (a copy thread logging, for instance). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chk.h"
#include "wk.h"

#define CHK_BUDGET (1ull << 62) /* measure, never refuse */

static size_t round_up(size_t n, size_t a) {
  return n == 0 ? a : (n + a - 1) / a * a;
}

static void svc_log(void *ctx, int level, const char *fmt, ...) {
  chk_host *h = ctx;
  if (!h->opts->verbose) return;
  static const char *lv[] = {"error", "warn", "info", "debug"};
  fprintf(stderr, "  [%s] %s: ", h->component,
          level >= 0 && level <= 3 ? lv[level] : "log");
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

static int track(chk_host *h, void *p, size_t bytes, warm_mem_class cls,
                 int pinned) {
  pthread_mutex_lock(&h->mu);
  if (h->n_allocs == h->cap_allocs) {
    uint32_t cap = h->cap_allocs ? h->cap_allocs * 2 : 32;
    chk_alloc *na = realloc(h->allocs, cap * sizeof *na);
    if (!na) {
      pthread_mutex_unlock(&h->mu);
      return -1;
    }
    h->allocs = na;
    h->cap_allocs = cap;
  }
  h->allocs[h->n_allocs++] = (chk_alloc){p, bytes, cls, pinned};
  if (pinned) {
    h->pinned_now += bytes;
    if (h->pinned_now > h->pinned_peak) h->pinned_peak = h->pinned_now;
  }
  pthread_mutex_unlock(&h->mu);
  return 0;
}

/* Removes ptr from the table; returns 1 and the record if it was there. */
static int untrack(chk_host *h, void *p, int pinned, chk_alloc *rec) {
  int found = 0;
  pthread_mutex_lock(&h->mu);
  for (uint32_t i = 0; i < h->n_allocs; i++) {
    if (h->allocs[i].ptr == p && h->allocs[i].pinned == pinned) {
      *rec = h->allocs[i];
      h->allocs[i] = h->allocs[--h->n_allocs];
      if (pinned) h->pinned_now -= rec->bytes;
      found = 1;
      break;
    }
  }
  if (!found) h->bad_free++;
  pthread_mutex_unlock(&h->mu);
  return found;
}

/* Fresh memory is poisoned with a byte that changes per allocation, so a
 * plugin reading memory it never wrote shows up as differing runs. */
static void *raw_alloc(chk_host *h, size_t bytes, int pinned, uint32_t call) {
  void *p = NULL;
  if (h->wk) {
    int rc = pinned ? wk_host_alloc_pinned(h->wk, bytes ? bytes : 1, &p)
                    : wk_dev_alloc(h->wk, bytes ? bytes : 1, &p);
    if (rc) return NULL;
    if (!pinned) {
      wk_memset(h->wk, p, (int)(0x5a + call * 37) & 0xff, bytes);
      wk_sync(h->wk);
      return p;
    }
  } else {
    p = aligned_alloc(64, round_up(bytes, 64));
    if (!p) return NULL;
  }
  memset(p, (int)(0x5a + call * 37) & 0xff, bytes);
  return p;
}

static void raw_free(chk_host *h, void *p, int pinned) {
  if (h->wk) {
    if (pinned)
      wk_host_free_pinned(h->wk, p);
    else
      wk_dev_free(h->wk, p);
  } else {
    free(p);
  }
}

static int svc_dev_alloc(void *ctx, warm_mem_class cls, size_t bytes,
                         void **out, warm_error *err) {
  chk_host *h = ctx;
  if (!out) return warm_error_set(err, WARM_EINVAL, "dev_alloc: out is NULL");
  *out = NULL;
  pthread_mutex_lock(&h->mu);
  uint32_t call = h->dev_alloc_calls++;
  int inject = h->fail_at >= 0 && (int64_t)call == h->fail_at;
  if (inject) h->injected = 1;
  pthread_mutex_unlock(&h->mu);
  if (inject)
    return warm_error_set(err, WARM_ENOSPACE,
                          "%s: allocation #%u refused (injected by "
                          "warm-plugin-check)",
                          h->component, call);
  int rc = warm_ledger_book(h->ledger, h->component, cls, bytes, err);
  if (rc) return rc;
  void *p = raw_alloc(h, bytes, 0, call);
  if (!p || track(h, p, bytes, cls, 0)) {
    if (p) raw_free(h, p, 0);
    warm_ledger_release(h->ledger, h->component, cls, bytes);
    return warm_error_set(err, WARM_ENOMEM, "dev_alloc: out of memory");
  }
  *out = p;
  return WARM_OK;
}

static void svc_dev_free(void *ctx, void *ptr) {
  chk_host *h = ctx;
  chk_alloc rec;
  if (!ptr || !untrack(h, ptr, 0, &rec)) return;
  raw_free(h, ptr, 0);
  warm_ledger_release(h->ledger, h->component, rec.cls, rec.bytes);
}

static int svc_pinned_alloc(void *ctx, size_t bytes, void **out,
                            warm_error *err) {
  chk_host *h = ctx;
  if (!out)
    return warm_error_set(err, WARM_EINVAL, "pinned_alloc: out is NULL");
  void *p = raw_alloc(h, bytes, 1, 7);
  if (!p || track(h, p, bytes, WARM_MEM_PERSISTENT, 1)) {
    if (p) raw_free(h, p, 1);
    *out = NULL;
    return warm_error_set(err, WARM_ENOMEM, "pinned_alloc: out of memory");
  }
  *out = p;
  return WARM_OK;
}

static void svc_pinned_free(void *ctx, void *ptr) {
  chk_host *h = ctx;
  chk_alloc rec;
  if (ptr && untrack(h, ptr, 1, &rec)) raw_free(h, ptr, 1);
}

static void svc_progress(void *ctx, float f) {
  chk_host *h = ctx;
  if (!(f >= 0.0f && f <= 1.0f)) h->bad_progress++;
  h->last_progress = f;
}

static int svc_cancelled(void *ctx) {
  return ((chk_host *)ctx)->cancel;
}

static const char *svc_config_get(void *ctx, const char *key) {
  chk_host *h = ctx;
  for (uint32_t i = 0; key && i < h->n_keys; i++)
    if (!strcmp(h->keys[i].key, key)) return h->keys[i].value;
  return NULL;
}

int chk_host_init(chk_host *h, const chk_opts *o, const char *component,
                  warm_error *err) {
  memset(h, 0, sizeof *h);
  h->opts = o;
  h->component = component;
  h->fail_at = -1;
  char dev[32];
  warm_device_name(o->device, dev, sizeof dev);
  if (warm_ledger_create(dev, CHK_BUDGET, &h->ledger))
    return warm_error_set(err, WARM_ENOMEM, "out of memory");
  pthread_mutex_init(&h->mu, NULL);
  if (o->device.type == WARM_DEVICE_CUDA) {
    wk_ctx *c = NULL;
    if (wk_ctx_create(WK_BACKEND_CUDA, o->device.index, 0, &c)) {
      warm_ledger_destroy(h->ledger);
      pthread_mutex_destroy(&h->mu);
      return warm_error_set(err, WARM_EDEVICE, "%s: cannot open the device",
                            dev);
    }
    h->wk = c;
  }
  h->svc.struct_size = sizeof(warm_services);
  h->svc.abi_minor = WARM_ABI_MINOR;
  h->svc.ctx = h;
  h->svc.log = svc_log;
  h->svc.dev_alloc = svc_dev_alloc;
  h->svc.dev_free = svc_dev_free;
  h->svc.pinned_alloc = svc_pinned_alloc;
  h->svc.pinned_free = svc_pinned_free;
  h->svc.progress = svc_progress;
  h->svc.cancelled = svc_cancelled;
  h->svc.config_get = svc_config_get;
  return WARM_OK;
}

uint64_t chk_host_device_bytes(chk_host *h) {
  return warm_ledger_component_total(h->ledger, h->component);
}

void chk_host_fini(chk_host *h) {
  for (uint32_t i = 0; i < h->n_allocs; i++)
    raw_free(h, h->allocs[i].ptr, h->allocs[i].pinned);
  free(h->allocs);
  if (h->wk) wk_ctx_destroy(h->wk);
  warm_ledger_destroy(h->ledger);
  pthread_mutex_destroy(&h->mu);
  memset(h, 0, sizeof *h);
}

/* ---- driving an instance ------------------------------------------------- */

int chk_create(chk_inst *ci, const warm_plugin_desc *d, const chk_opts *o,
               const char *component, warm_dtype dtype, const warm_kv *extra,
               uint32_t n_extra, warm_error *err) {
  memset(ci, 0, sizeof *ci);
  ci->d = d;
  ci->source = WARM_SOURCE_PINNED;
  int rc = chk_host_init(&ci->host, o, component, err);
  if (rc) return rc;
  uint32_t n = 0;
  for (uint32_t i = 0; i < o->n_keys; i++)
    ci->keys[n++] = o->keys[i];
  for (uint32_t i = 0; i < n_extra && n < CHK_MAX_KEYS + 4; i++)
    ci->keys[n++] = extra[i];
  ci->host.keys = ci->keys;
  ci->host.n_keys = n;
  warm_component_config *c = &ci->cfg;
  c->struct_size = sizeof *c;
  c->name = component;
  c->weights = o->weights;
  c->device = o->device;
  c->placement = (d->placements & WARM_PLACE_AUTO)       ? WARM_PLACE_AUTO
                 : (d->placements & WARM_PLACE_RESIDENT) ? WARM_PLACE_RESIDENT
                                                         : WARM_PLACE_STREAM;
  c->stream_window = 2;
  c->stream_source = WARM_SOURCE_PINNED;
  c->dtype = dtype;
  c->keys = ci->keys;
  c->n_keys = n;
  chk_call_begin("create", (int)dtype, 0);
  rc = chk_call_end(d->create(&ci->host.svc, c, &ci->inst, err));
  if (rc == WARM_OK && !ci->inst)
    rc = warm_error_set(err, WARM_EINTERNAL,
                        "create returned 0 but no instance");
  if (rc) {
    ci->inst = NULL;
    if (rc > 0)
      warm_error_set(err, WARM_EINTERNAL,
                     "create returned positive code %d (must be 0 or < 0)", rc);
    return rc > 0 ? WARM_EINTERNAL : rc;
  }
  return WARM_OK;
}

void chk_destroy(chk_inst *ci) {
  if (ci->inst) {
    chk_call_begin("destroy", (int)ci->cfg.dtype, (int)ci->placed);
    ci->d->destroy(ci->inst);
    chk_call_end(0);
  }
  ci->inst = NULL;
  chk_host_fini(&ci->host);
}

warm_place_req chk_req(warm_placement p, warm_stream_source src) {
  warm_place_req r = {p, 2, src};
  return r;
}

int chk_estimate(chk_inst *ci, warm_placement p, warm_estimate *est,
                 warm_error *err) {
  warm_place_req r = chk_req(p, ci->source);
  memset(est, 0, sizeof *est);
  chk_call_begin("estimate", (int)ci->cfg.dtype, (int)p);
  return chk_call_end(
      ci->d->estimate(ci->inst, &r, &ci->host.opts->shape, est, err));
}

int chk_place(chk_inst *ci, warm_placement p, warm_error *err) {
  warm_place_req r = chk_req(p, ci->source);
  chk_call_begin("place", (int)ci->cfg.dtype, (int)p);
  int rc = chk_call_end(ci->d->place(ci->inst, &r, err));
  if (rc == 0) ci->placed = p;
  return rc;
}

static void add_input(chk_opts *o, const char *name, int32_t ndim,
                      const int64_t *shape) {
  uint32_t k = o->n_inputs++;
  snprintf(o->input_names[k], sizeof o->input_names[k], "%s", name);
  o->input_ndim[k] = ndim;
  memcpy(o->input_shape[k], shape, sizeof(int64_t) * (size_t)ndim);
}

/* Two passes over a 2x2x3 video latent grid (12 tokens) and, when the
 * model has audio, 5 audio tokens, with 8 context tokens each; the job
 * shape that holds them (9 frames of 64x96 at the usual compression). */
static int av_inputs(const warm_model_info *mi, chk_opts *o, char *what,
                     size_t n) {
  const int64_t B = 2, Nv = 12, Na = 5, S = 8;
  for (int k = 0; k < (mi->audio_latent_channels ? 2 : 1); k++) {
    const char *m = k ? "audio" : "video";
    int64_t N = k ? Na : Nv, A = k ? 1 : 3;
    int64_t C = k ? mi->audio_latent_channels : mi->latent_channels;
    int64_t E = k ? mi->audio_embed_dim : mi->embed_dim;
    int64_t lat[3] = {B, N, C}, ts[2] = {B, N}, sg[1] = {B},
            pos[4] = {B, A, N, 2}, ctx[3] = {B, S, E};
    char nm[32];
    snprintf(nm, sizeof nm, "%s_latent", m);
    add_input(o, nm, 3, lat);
    snprintf(nm, sizeof nm, "%s_timesteps", m);
    add_input(o, nm, 2, ts);
    snprintf(nm, sizeof nm, "%s_sigma", m);
    add_input(o, nm, 1, sg);
    snprintf(nm, sizeof nm, "%s_positions", m);
    add_input(o, nm, 4, pos);
    snprintf(nm, sizeof nm, "%s_context", m);
    add_input(o, nm, 3, ctx);
  }
  o->perturb_pass1 = mi->layers > 0;
  if (!o->shape.batch) o->shape.batch = (uint32_t)B;
  if (!o->shape.frames && !o->shape.height && !o->shape.width) {
    o->shape.frames = 9;
    o->shape.height = 64;
    o->shape.width = 96;
  }
  if (!o->shape.max_tokens) o->shape.max_tokens = (uint32_t)S;
  snprintf(what, n,
           "inputs from info() (two-modality tokens): %lld passes, video "
           "[%lld tokens x %u]%s, context %lld tokens; pass 1 perturbed",
           (long long)B, (long long)Nv, mi->latent_channels,
           mi->audio_latent_channels ? " + audio [5 tokens]" : "",
           (long long)S);
  return 1;
}

int chk_inputs_from_info(const warm_plugin_desc *d, chk_opts *o, char *what,
                         size_t n) {
  int (*info)(warm_instance *, warm_model_info *, warm_error *) =
      WARM_DESC_OPT(d, info);
  if (d->kind == WARM_KIND_TEXT_ENCODER || o->n_inputs || !info) return 0;
  chk_inst ci;
  warm_error e = {0};
  warm_model_info mi;
  memset(&mi, 0, sizeof mi);
  mi.struct_size = sizeof mi;
  warm_dtype dt = (d->dtypes & WARM_DTYPECAP_F32)    ? WARM_F32
                  : (d->dtypes & WARM_DTYPECAP_BF16) ? WARM_BF16
                                                     : WARM_FP8_E4M3;
  int rc = chk_create(&ci, d, o, "info_inputs", dt, NULL, 0, &e);
  if (!rc) rc = info(ci.inst, &mi, &e);
  chk_destroy(&ci);
  if (rc || !mi.latent_channels) return 0;
  if (d->kind == WARM_KIND_TRANSFORMER &&
      WARM_HAS_FIELD(mi.struct_size, warm_model_info, run_inputs) &&
      mi.run_inputs == WARM_RUN_AV_TOKENS)
    return av_inputs(&mi, o, what, n);
  const int64_t C = mi.latent_channels, F = 2, H = 4, W = 4, T = 8;
  if (d->kind == WARM_KIND_TRANSFORMER) {
    if (!mi.embed_dim) return 0;
    int64_t lat[5] = {1, C, F, H, W}, ts[1] = {1},
            emb[3] = {1, T, mi.embed_dim}, mask[2] = {1, T};
    add_input(o, "latents", 5, lat);
    add_input(o, "timestep", 1, ts);
    add_input(o, "embeddings", 3, emb);
    add_input(o, "mask", 2, mask);
    if (!o->shape.batch) o->shape.batch = 1;
    o->shape.max_tokens = T;
    snprintf(what, n,
             "inputs from info(): latents [1,%u,2,4,4], embeddings [1,8,%u], "
             "mask [1,8], timestep [1]",
             mi.latent_channels, mi.embed_dim);
    return 1;
  }
  if (d->kind == WARM_KIND_UPSAMPLER) {
    int64_t lat[4] = {C, F, H, W}, stat[1] = {C};
    add_input(o, "latents", 4, lat);
    add_input(o, "latent_mean", 1, stat);
    add_input(o, "latent_std", 1, stat);
    snprintf(what, n,
             "inputs from info(): latents [%u,2,4,4], latent_mean and "
             "latent_std [%u]",
             mi.latent_channels, mi.latent_channels);
    return 1;
  }
  if (d->kind == WARM_KIND_AUDIO_DECODER) {
    if (!mi.audio_latent_bins) return 0;
    int64_t lat[3] = {C, T, mi.audio_latent_bins};
    add_input(o, "latents", 3, lat);
    snprintf(what, n, "inputs from info(): latents [%u,8,%u]",
             mi.latent_channels, mi.audio_latent_bins);
    return 1;
  }
  int64_t lat[4] = {C, F, H, W};
  add_input(o, "latents", 4, lat);
  if (!o->shape.frames && !o->shape.height && !o->shape.width &&
      mi.temporal_compression && mi.spatial_compression) {
    o->shape.frames = (uint32_t)((F - 1) * mi.temporal_compression + 1);
    o->shape.height = (uint32_t)(H * mi.spatial_compression);
    o->shape.width = (uint32_t)(W * mi.spatial_compression);
  }
  snprintf(what, n, "inputs from info(): latents [%u,2,4,4]; job %ux%ux%u",
           mi.latent_channels, o->shape.frames, o->shape.height,
           o->shape.width);
  return 1;
}

int chk_can_run(const warm_plugin_desc *d, const chk_opts *o,
                const char **why) {
  if (d->kind == WARM_KIND_TEXT_ENCODER) return 1;
  if (o->n_inputs == 0) {
    *why = d->kind == WARM_KIND_TRANSFORMER
               ? "no inputs for a transformer: pass --input latents=DIMS "
                 "--input timestep=B --input embeddings=BxTxC --input "
                 "mask=BxT"
           : d->kind == WARM_KIND_UPSAMPLER
               ? "no inputs for an upsampler: pass --input latents=CxFxHxW "
                 "--input latent_mean=C --input latent_std=C"
           : d->kind == WARM_KIND_AUDIO_DECODER
               ? "no inputs for an audio decoder: pass --input latents=CxTxM"
               : "no inputs for a vae: pass --input latents=CxFxHxW";
    return 0;
  }
  return 1;
}

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix);
}

/* Inputs are the same every call (seeded by --seed): f32 uniform in
 * [-1, 1), "mask" i32 ones, "timestep", "*_timesteps" and "*_sigma" f32
 * 0.5, "latent_std" in [0.5, 1.5] (a divisor). */
static int make_inputs(const chk_opts *o, warm_tensor *in) {
  unsigned s = o->seed;
  for (uint32_t i = 0; i < o->n_inputs; i++) {
    const char *name = o->input_names[i];
    int is_mask = !strcmp(name, "mask");
    if (warm_tensor_alloc(&in[i], name, is_mask ? WARM_I32 : WARM_F32,
                          o->input_ndim[i], o->input_shape[i]))
      return -1;
    int64_t n = warm_tensor_numel(&in[i]);
    for (int64_t k = 0; k < n; k++) {
      if (is_mask)
        ((int32_t *)in[i].data)[k] = 1;
      else if (!strcmp(name, "timestep") || ends_with(name, "_timesteps") ||
               ends_with(name, "_sigma"))
        ((float *)in[i].data)[k] = 0.5f;
      else if (!strcmp(name, "latent_std"))
        ((float *)in[i].data)[k] = (float)(0.5 + rand_r(&s) / (double)RAND_MAX);
      else
        ((float *)in[i].data)[k] =
            (float)(rand_r(&s) / (double)RAND_MAX * 2.0 - 1.0);
    }
  }
  return 0;
}

static int pack_outputs(const warm_run_args *a, chk_out *out, warm_error *err) {
  size_t total = 0;
  memset(out, 0, sizeof *out);
  for (uint32_t i = 0; i < a->n_outputs; i++) {
    const warm_tensor *t = &a->outputs[i];
    if (!warm_dtype_name(t->dtype) || t->ndim < 0 || t->ndim > WARM_MAX_DIMS)
      return warm_error_set(err, WARM_EINTERNAL,
                            "output %u has a bad dtype or ndim", i);
    if (t->device.type != WARM_DEVICE_CPU)
      return warm_error_set(err, WARM_EINTERNAL,
                            "output %u is not a host tensor", i);
    if (!t->data && warm_tensor_numel(t) > 0)
      return warm_error_set(err, WARM_EINTERNAL, "output %u has no data", i);
    /* name, dtype+ndim, shape, data: as written below */
    total += 64 + 2 * sizeof(int32_t) + sizeof(int64_t) * WARM_MAX_DIMS +
             warm_tensor_bytes(t);
  }
  out->bytes = malloc(total ? total : 1);
  if (!out->bytes) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  size_t pos = 0, dl = 0;
  for (uint32_t i = 0; i < a->n_outputs; i++) {
    const warm_tensor *t = &a->outputs[i];
    char name[64] = {0};
    snprintf(name, sizeof name, "%s", t->name ? t->name : "?");
    memcpy(out->bytes + pos, name, sizeof name);
    pos += sizeof name;
    int32_t hdr[2] = {t->dtype, t->ndim};
    memcpy(out->bytes + pos, hdr, sizeof hdr);
    pos += sizeof hdr;
    memcpy(out->bytes + pos, t->shape, sizeof(int64_t) * (size_t)t->ndim);
    pos += sizeof(int64_t) * (size_t)t->ndim;
    size_t nb = warm_tensor_bytes(t);
    if (nb) memcpy(out->bytes + pos, t->data, nb);
    pos += nb;
    if (t->dtype == WARM_F32)
      for (size_t k = 0; k < nb / 4; k++)
        if (!isfinite(((const float *)t->data)[k])) out->nonfinite++;
    dl += (size_t)snprintf(out->desc + dl, sizeof out->desc - dl, "%s%s %s [",
                           i ? "; " : "", name, warm_dtype_name(t->dtype));
    for (int32_t k = 0; k < t->ndim && dl < sizeof out->desc; k++)
      dl += (size_t)snprintf(out->desc + dl, sizeof out->desc - dl, "%s%lld",
                             k ? "," : "", (long long)t->shape[k]);
    if (dl < sizeof out->desc)
      dl += (size_t)snprintf(out->desc + dl, sizeof out->desc - dl, "]");
    if (dl >= sizeof out->desc) dl = sizeof out->desc - 1;
  }
  out->n = pos;
  return WARM_OK;
}

int chk_run(chk_inst *ci, chk_out *out, warm_run_args *args_out,
            warm_error *err) {
  const chk_opts *o = ci->host.opts;
  warm_tensor in[CHK_MAX_INPUTS];
  memset(in, 0, sizeof in);
  warm_run_args a;
  memset(&a, 0, sizeof a);
  a.struct_size = sizeof a;
  if (ci->d->kind == WARM_KIND_TEXT_ENCODER) {
    a.prompt = o->prompt;
    a.max_tokens = o->shape.max_tokens;
  } else if (make_inputs(o, in)) {
    for (uint32_t i = 0; i < CHK_MAX_INPUTS; i++)
      warm_tensor_free(&in[i]);
    return warm_error_set(err, WARM_ENOMEM, "cannot build inputs");
  }
  a.n_inputs = o->n_inputs;
  a.inputs = in;
  warm_perturbation pt = {1, WARM_PERTURB_SKIP_VIDEO_SELF_ATTN, NULL, 0};
  if (o->perturb_pass1) {
    a.perturbations = &pt;
    a.n_perturbations = 1;
  }
  chk_call_begin("run", (int)ci->cfg.dtype, (int)ci->placed);
  int rc = chk_call_end(ci->d->run(ci->inst, &a, err));
  for (uint32_t i = 0; i < CHK_MAX_INPUTS; i++)
    warm_tensor_free(&in[i]);
  if (rc > 0)
    rc = warm_error_set(err, WARM_EINTERNAL,
                        "run returned positive code %d (must be 0 or < 0)", rc);
  if (rc == WARM_OK && a.n_outputs > WARM_MAX_IO)
    rc = warm_error_set(err, WARM_EINTERNAL, "run set n_outputs %u > %d",
                        a.n_outputs, WARM_MAX_IO);
  if (rc == WARM_OK && a.n_outputs == 0)
    rc = warm_error_set(err, WARM_EINTERNAL, "run produced no outputs");
  if (rc == WARM_OK && a.used_placement != WARM_PLACE_RESIDENT &&
      a.used_placement != WARM_PLACE_STREAM)
    rc = warm_error_set(err, WARM_EINTERNAL,
                        "run did not set used_placement to resident or "
                        "stream");
  if (rc == WARM_OK && out) rc = pack_outputs(&a, out, err);
  if (args_out) *args_out = a;
  uint32_t n_out = a.n_outputs > WARM_MAX_IO ? WARM_MAX_IO : a.n_outputs;
  for (uint32_t i = 0; i < n_out; i++)
    warm_tensor_free(&a.outputs[i]);
  if (args_out)
    for (uint32_t i = 0; i < WARM_MAX_IO; i++)
      args_out->outputs[i].data = NULL;
  return rc;
}

void chk_out_free(chk_out *o) {
  free(o->bytes);
  o->bytes = NULL;
}
