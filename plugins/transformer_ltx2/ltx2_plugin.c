/* transformer_ltx2.so: the ABI descriptor and entry points. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ltx2.h"

/* Job defaults for estimate() when the host passes zeros: LTX-2 stage 1,
 * 121 frames of 512 x 768, a 1024-token context, 4 guidance passes. */
#define DEF_FRAMES 121
#define DEF_HEIGHT 512
#define DEF_WIDTH 768
#define DEF_TOKENS 1024
#define DEF_BATCH 4
#define MAX_BATCH 64

static void lx_destroy(warm_instance *inst);

/* Opens the file and checks the config and every tensor of the model (and
 * of its LoRA files) without touching a device. */
static int open_all(ltx2 *m, const warm_component_config *cfg,
                    warm_error *err) {
  int rc = wpc_check_caps(cfg, LX_NAME, &m->dtype, err);
  if (!rc) rc = lx_parse_opts(cfg, &m->opts, err);
  if (!rc) rc = lx_open(cfg->weights, &m->file, &m->cfg, err);
  if (rc) return rc;
  m->st = warm_ltx2_st(m->file);
  lx_tables(&m->cfg, m->dtype, &m->w.g, &m->w.b, &m->tabs);
  if ((rc = wpc_pack_check(&m->w.g, m->st, LX_PREFIX, err))) return rc;
  char pfx[96];
  for (int64_t l = 0; l < m->cfg.layers; l++) {
    snprintf(pfx, sizeof pfx, LX_PREFIX "transformer_blocks.%lld.",
             (long long)l);
    if ((rc = wpc_pack_check(&m->w.b, m->st, pfx, err))) return rc;
  }
  return lx_lora_open(m, err);
}

static int lx_validate(const warm_services *svc,
                       const warm_component_config *cfg, warm_error *err) {
  ltx2 *m = calloc(1, sizeof *m);
  if (!m) return warm_error_set(err, WARM_ENOMEM, LX_NAME ": out of memory");
  m->name = (char *)LX_NAME;
  int rc = open_all(m, cfg, err);
  if (!rc) rc = lx_adapters_init(m, err); /* uniform rank per adapter */
  lx_adapters_free(m);
  lx_opts_free(&m->opts);
  warm_ltx2_close(m->file);
  free(m);
  return rc;
}

static int lx_create(const warm_services *svc, const warm_component_config *cfg,
                     warm_instance **out, warm_error *err) {
  ltx2 *m = calloc(1, sizeof *m);
  if (!m) return warm_error_set(err, WARM_ENOMEM, LX_NAME ": out of memory");
  m->svc = svc;
  m->name = strdup(cfg && cfg->name ? cfg->name : LX_NAME);
  int rc = m->name ? open_all(m, cfg, err)
                   : warm_error_set(err, WARM_ENOMEM, "out of memory");
  if (!rc) {
    m->device = cfg->device;
    rc = wpc_ctx(svc, cfg, m->opts.threads, m->name, &m->wk, err);
  }
  if (!rc) {
    m->opts.bf16_act = warm_bf16_activations(m->opts.bf16_act, m->dtype);
    wk_set_bf16_activations(m->wk, m->opts.bf16_act);
  }
  if (!rc) {
    wpc_weights *w = &m->w;
    w->svc = svc;
    w->name = m->name;
    w->wk = m->wk;
    w->st = m->st;
    w->dtype = m->dtype;
    w->cuda = cfg->device.type == WARM_DEVICE_CUDA;
    w->gprefix = LX_PREFIX;
    w->bfmt = LX_PREFIX "transformer_blocks.%lld.";
    w->layers = m->cfg.layers;
    int fused = 0;
    for (int i = 0; i < m->opts.n_lora; i++)
      fused |= !m->opts.lora[i].name;
    if (fused) {
      w->fuse = lx_fuse;
      w->fuse_user = m;
    }
    rc = lx_adapters_init(m, err);
  }
  if (rc) {
    lx_destroy((warm_instance *)m);
    return rc;
  }
  *out = (warm_instance *)m;
  return 0;
}

/* Pixel-space job size -> token counts as the LTX-2 pipelines make them:
 * video (frames - 1) / tc + 1 latent frames of ceil(H / sc) x ceil(W / sc),
 * audio 25 latents per second of frames / fps (16 kHz, hop 160, x4). */
static int job_run(const ltx2 *m, const warm_job_shape *js, lx_run *r,
                   warm_error *err) {
  int64_t frames = js && js->frames ? js->frames : DEF_FRAMES;
  int64_t h = js && js->height ? js->height : DEF_HEIGHT;
  int64_t w = js && js->width ? js->width : DEF_WIDTH;
  memset(r, 0, sizeof *r);
  r->B = js && js->batch ? js->batch : DEF_BATCH;
  r->adapter = -1;
  int64_t S = js && js->max_tokens ? js->max_tokens : DEF_TOKENS;
  lx_min *v = &r->m[LX_VIDEO], *a = &r->m[LX_AUDIO];
  v->present = 1;
  v->N = ((frames - 1) / m->opts.tcomp + 1) *
         ((h + m->opts.scomp - 1) / m->opts.scomp) *
         ((w + m->opts.scomp - 1) / m->opts.scomp);
  v->S = S;
  if (m->cfg.av) {
    a->present = 1;
    a->N = (int64_t)ceil((double)frames / m->opts.fps * 25.0);
    if (a->N < 1) a->N = 1;
    a->S = S;
  }
  r->n_val[0] = r->n_val[1] = m->opts.max_tvalues;
  if (v->N > (1 << 22) || a->N > (1 << 22) || r->B > MAX_BATCH || S > (1 << 20))
    return warm_error_set(err, WARM_EINVAL,
                          "%s: job too large to estimate (%lld video tokens "
                          "x %lld passes)",
                          m->name, (long long)v->N, (long long)r->B);
  return 0;
}

static int lx_estimate(warm_instance *inst, const warm_place_req *req,
                       const warm_job_shape *shape, warm_estimate *out,
                       warm_error *err) {
  ltx2 *m = (ltx2 *)inst;
  int rc = wpc_check_req(m->name, req, err);
  lx_run r;
  if (!rc) rc = job_run(m, shape, &r, err);
  if (rc) return rc;
  memset(out, 0, sizeof *out);
  out->persistent = m->w.g.total + lx_adapters_bytes(m);
  if (req->placement == WARM_PLACE_RESIDENT) {
    out->persistent += (uint64_t)m->cfg.layers * m->w.b.total;
  } else {
    warm_stream_plan p;
    if ((rc = wpc_stream_plan(&m->w, req, &p, err))) return rc;
    out->window = p.window_bytes;
    out->host_pinned = p.host_bytes;
  }
  /* The largest adapter's low-rank scratch is part of the workspace. */
  size_t ws = lx_workspace_bytes(m, &r);
  for (int i = 0; i < m->n_ad; i++) {
    r.adapter = i;
    size_t x = lx_workspace_bytes(m, &r);
    if (x > ws) ws = x;
  }
  out->workspace = ws;
  return 0;
}

static int lx_place(warm_instance *inst, const warm_place_req *req,
                    warm_error *err) {
  ltx2 *m = (ltx2 *)inst;
  int rc = wpc_check_req(m->name, req, err);
  if (rc) return rc;
  if (m->w.placed && m->w.place.placement == req->placement &&
      (req->placement == WARM_PLACE_RESIDENT ||
       (m->w.place.stream_window == req->stream_window &&
        m->w.place.stream_source == req->stream_source)))
    return 0;
  int first = !m->w.gdev;
  if ((rc = wpc_weights_place(&m->w, req, err))) return rc;
  if (first && (rc = lx_adapters_place(m, err))) {
    wpc_weights_free(&m->w);
    return rc;
  }
  return 0;
}

/* Input `pfx`_`name`: a host f32 tensor of `ndim` dims whose dims equal
 * want[i] where want[i] >= 0. */
static int need(const ltx2 *m, const warm_run_args *a, const char *pfx,
                const char *name, int ndim, const int64_t *want,
                const warm_tensor **out, warm_error *err) {
  char nm[64];
  snprintf(nm, sizeof nm, "%s_%s", pfx, name);
  const warm_tensor *t = wpc_input(a, nm);
  if (!t)
    return warm_error_set(err, WARM_EINVAL, "%s: input \"%s\" is missing",
                          m->name, nm);
  if (t->dtype != WARM_F32 || t->ndim != ndim || !t->data ||
      t->device.type != WARM_DEVICE_CPU)
    return warm_error_set(
        err, WARM_EINVAL,
        "%s: input \"%s\" must be a host f32 tensor with %d "
        "dims (got %s, %d dims)",
        m->name, nm, ndim,
        warm_dtype_name(t->dtype) ? warm_dtype_name(t->dtype) : "?", t->ndim);
  char exp[128] = "", got[128] = "";
  int bad = 0;
  for (int i = 0; i < ndim; i++) {
    if (t->shape[i] <= 0 || t->shape[i] > (1 << 22) ||
        (want[i] >= 0 && t->shape[i] != want[i]))
      bad = 1;
    size_t le = strlen(exp), lg = strlen(got);
    if (want[i] >= 0)
      snprintf(exp + le, sizeof exp - le, "%s%lld", i ? ", " : "",
               (long long)want[i]);
    else
      snprintf(exp + le, sizeof exp - le, "%s*", i ? ", " : "");
    snprintf(got + lg, sizeof got - lg, "%s%lld", i ? ", " : "",
             (long long)t->shape[i]);
  }
  if (bad)
    return warm_error_set(err, WARM_EINVAL,
                          "%s: input \"%s\" has shape [%s]; expected [%s]",
                          m->name, nm, got, exp);
  *out = t;
  return 0;
}

/* The inputs of one modality, checked against each other and the model. */
static int modality_in(const ltx2 *m, const warm_run_args *a, int k, int64_t *B,
                       lx_min *mi, warm_error *err) {
  const char *pfx = k ? "audio" : "video";
  const lx_mcfg *s = &m->cfg.m[k];
  char nm[32];
  snprintf(nm, sizeof nm, "%s_latent", pfx);
  memset(mi, 0, sizeof *mi);
  if (!wpc_input(a, nm)) return 0;
  if (k == LX_AUDIO && !m->cfg.av)
    return warm_error_set(err, WARM_EINVAL,
                          "%s: audio inputs given, but %s holds a video-only "
                          "model",
                          m->name, warm_st_path(m->st));
  const warm_tensor *t;
  int64_t w3[3] = {*B, -1, s->in};
  int rc = need(m, a, pfx, "latent", 3, w3, &t, err);
  if (rc) return rc;
  *B = t->shape[0];
  mi->N = t->shape[1];
  mi->latent = t->data;
  int64_t w2[2] = {*B, mi->N};
  if ((rc = need(m, a, pfx, "timesteps", 2, w2, &t, err))) return rc;
  mi->ts = t->data;
  int64_t w1[1] = {*B};
  if ((rc = need(m, a, pfx, "sigma", 1, w1, &t, err))) return rc;
  mi->sigma = t->data;
  int64_t w4[4] = {*B, s->n_pos, mi->N, 2};
  if ((rc = need(m, a, pfx, "positions", 4, w4, &t, err))) return rc;
  mi->pos = t->data;
  int64_t E = m->cfg.capproj ? m->cfg.caption_channels : s->ctx_dim;
  int64_t wc[3] = {*B, -1, E};
  if ((rc = need(m, a, pfx, "context", 3, wc, &t, err))) return rc;
  mi->S = t->shape[1];
  mi->ctx = t->data;
  mi->present = 1;
  return 0;
}

/* Perturbations -> per pass and block skip bits. */
static int perturb(const ltx2 *m, const warm_run_args *a, int64_t B,
                   uint8_t *skip, warm_error *err) {
  int64_t L = m->cfg.layers;
  memset(skip, 0, (size_t)(B * L));
  if (!WARM_HAS_FIELD(a->struct_size, warm_run_args, n_perturbations)) return 0;
  for (uint32_t i = 0; i < a->n_perturbations; i++) {
    const warm_perturbation *p = &a->perturbations[i];
    uint8_t bit = p->kind == WARM_PERTURB_SKIP_VIDEO_SELF_ATTN   ? LX_SKIP_VSELF
                  : p->kind == WARM_PERTURB_SKIP_AUDIO_SELF_ATTN ? LX_SKIP_ASELF
                  : p->kind == WARM_PERTURB_SKIP_A2V_CROSS_ATTN  ? LX_SKIP_A2V
                  : p->kind == WARM_PERTURB_SKIP_V2A_CROSS_ATTN  ? LX_SKIP_V2A
                                                                 : 0;
    if (!bit || p->pass >= B || (p->n_blocks && !p->blocks))
      return warm_error_set(err, WARM_EINVAL,
                            "%s: perturbation %u: kind %d / pass %u invalid "
                            "(%lld passes)",
                            m->name, i, (int)p->kind, p->pass, (long long)B);
    for (int64_t l = 0; l < L; l++) {
      int on = p->n_blocks == 0;
      for (uint32_t j = 0; j < p->n_blocks && !on; j++)
        on = p->blocks[j] == (uint32_t)l;
      if (on) skip[p->pass * L + l] |= bit;
    }
    for (uint32_t j = 0; j < p->n_blocks; j++)
      if (p->blocks[j] >= (uint32_t)L)
        return warm_error_set(err, WARM_EINVAL,
                              "%s: perturbation %u names block %u; the model "
                              "has %lld",
                              m->name, i, p->blocks[j], (long long)L);
  }
  return 0;
}

static int adapter_of(const ltx2 *m, const warm_run_args *a, int *out,
                      warm_error *err) {
  *out = -1;
  if (!WARM_HAS_FIELD(a->struct_size, warm_run_args, adapter) || !a->adapter ||
      !a->adapter[0])
    return 0;
  for (int i = 0; i < m->n_ad; i++)
    if (!strcmp(m->ad[i].name, a->adapter)) {
      *out = i;
      return 0;
    }
  return warm_error_set(err, WARM_EINVAL,
                        "%s: adapter \"%s\" is not configured (lora.NAME "
                        "keys of the component)",
                        m->name, a->adapter);
}

static int lx_run_fn(warm_instance *inst, warm_run_args *a, warm_error *err) {
  ltx2 *m = (ltx2 *)inst;
  if (!m->w.placed)
    return warm_error_set(err, WARM_EINVAL, "%s: run before place", m->name);
  lx_run r;
  memset(&r, 0, sizeof r);
  int64_t B = -1;
  int rc = modality_in(m, a, LX_VIDEO, &B, &r.m[0], err);
  if (!rc) rc = modality_in(m, a, LX_AUDIO, &B, &r.m[1], err);
  if (rc) return rc;
  if (!r.m[0].present && !r.m[1].present)
    return warm_error_set(err, WARM_EINVAL,
                          "%s: no modality given (video_latent and/or "
                          "audio_latent)",
                          m->name);
  if (B > MAX_BATCH)
    return warm_error_set(err, WARM_EINVAL, "%s: %lld passes; at most %d",
                          m->name, (long long)B, MAX_BATCH);
  r.B = B;
  if ((rc = adapter_of(m, a, &r.adapter, err))) return rc;
  uint8_t *skip = malloc((size_t)(B * m->cfg.layers));
  if (!skip)
    return warm_error_set(err, WARM_ENOMEM, "%s: out of memory", m->name);
  if ((rc = perturb(m, a, B, skip, err))) {
    free(skip);
    return rc;
  }
  r.skip = skip;
  /* The plan is sized by the values actually present. */
  for (int k = 0; k < 2; k++) {
    if (!r.m[k].present) continue;
    lx_segs s;
    if (lx_segments(r.m[k].ts, B, r.m[k].N, m->opts.max_tvalues, &s)) {
      free(skip);
      return warm_error_set(err, WARM_EINVAL,
                            "%s: %s_timesteps hold more than "
                            "max_timestep_values = %lld distinct values",
                            m->name, k ? "audio" : "video",
                            (long long)m->opts.max_tvalues);
    }
    r.n_val[k] = s.n_val;
    lx_segs_free(&s);
  }
  warm_tensor out[2];
  int n_out = 0;
  for (int k = 0; k < 2 && !rc; k++) {
    if (!r.m[k].present) continue;
    int64_t shape[3] = {B, r.m[k].N, m->cfg.m[k].out};
    if (warm_tensor_alloc(&out[n_out], k ? "audio_velocity" : "video_velocity",
                          WARM_F32, 3, shape))
      rc = warm_error_set(err, WARM_ENOMEM, "%s: out of host memory", m->name);
    else
      n_out++;
  }
  uint64_t streamed = 0;
  if (!rc) {
    float *ov = r.m[0].present ? out[0].data : NULL;
    float *oa = r.m[1].present ? out[r.m[0].present ? 1 : 0].data : NULL;
    rc = lx_forward(m, &r, ov, oa, &streamed, err);
  }
  free(skip);
  if (rc) {
    for (int i = 0; i < n_out; i++)
      warm_tensor_free(&out[i]);
    return rc;
  }
  a->n_outputs = (uint32_t)n_out;
  for (int i = 0; i < n_out; i++)
    a->outputs[i] = out[i];
  a->used_placement = m->w.place.placement;
  a->streamed_bytes = streamed;
  return 0;
}

static void lx_destroy(warm_instance *inst) {
  ltx2 *m = (ltx2 *)inst;
  if (!m) return;
  if (m->wk) {
    lx_adapters_free(m);
    wpc_weights_free(&m->w);
    wk_ctx_destroy(m->wk);
  }
  lx_opts_free(&m->opts);
  warm_ltx2_close(m->file);
  free(m->name);
  free(m);
}

/* Identity by file identity (the checkpoint and every LoRA file), the
 * config, the position dtype, the LoRA strengths, plugin name + version, the
 * stored dtype and bf16_activations (when on). */
static int lx_fingerprint(warm_instance *inst, char out[65], warm_error *err) {
  ltx2 *m = (ltx2 *)inst;
  wpc_fp f;
  wpc_fp_init(&f);
  wpc_fp_add(&f, LX_NAME, sizeof LX_NAME);
  wpc_fp_add(&f, LX_VERSION, sizeof LX_VERSION);
  wpc_fp_add(&f, &m->dtype, sizeof m->dtype);
  wpc_fp_add(&f, &m->cfg, sizeof m->cfg);
  wpc_fp_add(&f, &m->opts.bf16_positions, sizeof m->opts.bf16_positions);
  if (m->opts.bf16_act) /* changes the outputs; f32 ids stay as they were */
    wpc_fp_add(&f, &m->opts.bf16_act, sizeof m->opts.bf16_act);
  int rc = wpc_fp_file(&f, m->st, err);
  for (int i = 0; i < m->opts.n_lora && !rc; i++) {
    const lx_lora *l = &m->opts.lora[i];
    wpc_fp_add(&f, &l->strength, sizeof l->strength);
    if (l->name) wpc_fp_add(&f, l->name, strlen(l->name) + 1);
    rc = wpc_fp_file(&f, warm_lora_st(l->lf), err);
  }
  if (rc) return rc;
  wpc_fp_hex(&f, out);
  return 0;
}

static int lx_info(warm_instance *inst, warm_model_info *out, warm_error *err) {
  ltx2 *m = (ltx2 *)inst;
  const lx_cfg *c = &m->cfg;
  if (!out || out->struct_size < sizeof(uint32_t))
    return warm_error_set(err, WARM_EINVAL, "%s: info: bad struct", m->name);
  uint32_t sz = out->struct_size;
  if (WARM_HAS_FIELD(sz, warm_model_info, embed_dim))
    out->embed_dim =
        (uint32_t)(c->capproj ? c->caption_channels : c->m[0].ctx_dim);
  if (WARM_HAS_FIELD(sz, warm_model_info, latent_channels))
    out->latent_channels = (uint32_t)c->m[0].in;
  if (WARM_HAS_FIELD(sz, warm_model_info, run_inputs))
    out->run_inputs = WARM_RUN_AV_TOKENS;
  if (WARM_HAS_FIELD(sz, warm_model_info, audio_latent_channels))
    out->audio_latent_channels = c->av ? (uint32_t)c->m[1].in : 0;
  if (WARM_HAS_FIELD(sz, warm_model_info, audio_embed_dim))
    out->audio_embed_dim =
        c->av ? (uint32_t)(c->capproj ? c->caption_channels : c->m[1].ctx_dim)
              : 0;
  if (WARM_HAS_FIELD(sz, warm_model_info, layers))
    out->layers = (uint32_t)c->layers;
  if (WARM_HAS_FIELD(sz, warm_model_info, model_version))
    out->model_version = warm_ltx2_model_version(m->file);
  return 0;
}

static const warm_plugin_desc lx_desc = {
    .abi_major = WARM_ABI_MAJOR,
    .abi_minor = WARM_ABI_MINOR,
    .struct_size = sizeof(warm_plugin_desc),
    .name = LX_NAME,
    .version = LX_VERSION,
    .kind = WARM_KIND_TRANSFORMER,
    .devices = WARM_DEVCAP_CPU | WARM_DEVCAP_CUDA,
    .placements = WARM_PLACE_RESIDENT | WARM_PLACE_STREAM | WARM_PLACE_AUTO,
    .dtypes = WARM_DTYPECAP_F32 | WARM_DTYPECAP_BF16 | WARM_DTYPECAP_FP8,
    .flags = WARM_FLAG_LIVE_PLACEMENT,
    .create = lx_create,
    .estimate = lx_estimate,
    .place = lx_place,
    .run = lx_run_fn,
    .destroy = lx_destroy,
    .validate = lx_validate,
    .fingerprint = lx_fingerprint,
    .info = lx_info,
};

WARM_PLUGIN_EXPORT const warm_plugin_desc *warm_plugin_entry(void) {
  return &lx_desc;
}
