/* transformer_ltxv.so: the ABI descriptor and entry points. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ltxv.h"

/* Job defaults for estimate() when the host passes zeros: LTX-Video's usual
 * 121 frames of 512 x 768 with a 128-token prompt. */
#define DEF_FRAMES 121
#define DEF_HEIGHT 512
#define DEF_WIDTH 768
#define DEF_TOKENS 128

static void ltxv_destroy(warm_instance *inst);

static int open_model(const warm_component_config *cfg, ltxv_cfg *c,
                      warm_st **st, warm_error *err) {
  if (!cfg || !cfg->weights || !cfg->weights[0])
    return warm_error_set(err, WARM_EINVAL,
                          LTXV_NAME ": component %s has no weights path",
                          cfg && cfg->name ? cfg->name : "?");
  int rc = ltxv_cfg_read(cfg->weights, c, err);
  if (!rc) rc = warm_st_open(cfg->weights, st, err);
  return rc;
}

/* Checks the config, the keys and every tensor, touching no device. */
static int ltxv_validate(const warm_services *svc,
                         const warm_component_config *cfg, warm_error *err) {
  ltxv_opts o;
  ltxv_cfg c;
  warm_dtype dt;
  warm_st *st = NULL;
  int rc = wpc_check_caps(cfg, LTXV_NAME, &dt, err);
  if (!rc) rc = ltxv_parse_opts(cfg, &o, err);
  if (!rc) rc = open_model(cfg, &c, &st, err);
  if (!rc) {
    wpc_pack g, b;
    ltxv_packs_build(&c, dt, &g, &b);
    rc = ltxv_check_weights(st, &c, &g, &b, err);
  }
  warm_st_close(st);
  return rc;
}

/* Opens config and weights (mmap), validates every tensor and creates the
 * compute context; allocates no device memory. Loader thread. */
static int ltxv_create(const warm_services *svc,
                       const warm_component_config *cfg, warm_instance **out,
                       warm_error *err) {
  ltxv *m = calloc(1, sizeof *m);
  if (!m) return warm_error_set(err, WARM_ENOMEM, LTXV_NAME ": out of memory");
  m->svc = svc;
  int rc = wpc_check_caps(cfg, LTXV_NAME, &m->dtype, err);
  if (!rc) rc = ltxv_parse_opts(cfg, &m->opts, err);
  m->opts.bf16_act = warm_bf16_activations(m->opts.bf16_act, m->dtype);
  if (!rc) rc = open_model(cfg, &m->cfg, &m->st, err);
  if (!rc) {
    ltxv_packs_build(&m->cfg, m->dtype, &m->w.g, &m->w.b);
    rc = ltxv_check_weights(m->st, &m->cfg, &m->w.g, &m->w.b, err);
  }
  if (!rc) {
    m->device = cfg->device;
    m->name = strdup(cfg->name ? cfg->name : LTXV_NAME);
    if (!m->name) rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
  }
  if (!rc) {
    rc = wpc_ctx(m->svc, cfg, m->opts.threads, m->name, &m->wk, err);
    if (!rc) wk_set_bf16_activations(m->wk, m->opts.bf16_act);
  }
  if (!rc) {
    wpc_weights *w = &m->w;
    w->svc = svc;
    w->name = m->name;
    w->wk = m->wk;
    w->st = m->st;
    w->dtype = m->dtype;
    w->cuda = cfg->device.type == WARM_DEVICE_CUDA;
    w->gprefix = "";
    w->bfmt = "transformer_blocks.%lld.";
    w->layers = m->cfg.layers;
  }
  if (rc) {
    ltxv_destroy((warm_instance *)m);
    return rc;
  }
  *out = (warm_instance *)m;
  return 0;
}

/* Pixel-space job size -> token grid, as LTXPipeline computes it. */
static int job_shape(const ltxv *m, const warm_job_shape *js, ltxv_shape *s,
                     warm_error *err) {
  const ltxv_cfg *c = &m->cfg;
  int64_t frames = js && js->frames ? js->frames : DEF_FRAMES;
  int64_t h = js && js->height ? js->height : DEF_HEIGHT;
  int64_t w = js && js->width ? js->width : DEF_WIDTH;
  memset(s, 0, sizeof *s);
  s->B = js && js->batch ? js->batch : 1;
  s->T = js && js->max_tokens ? js->max_tokens : DEF_TOKENS;
  s->F = (frames - 1) / m->opts.tcomp + 1;
  s->H = (h + m->opts.scomp - 1) / m->opts.scomp;
  s->W = (w + m->opts.scomp - 1) / m->opts.scomp;
  s->Fp = (s->F + c->patch_size_t - 1) / c->patch_size_t;
  s->Hp = (s->H + c->patch_size - 1) / c->patch_size;
  s->Wp = (s->W + c->patch_size - 1) / c->patch_size;
  s->N = s->Fp * s->Hp * s->Wp;
  if (s->N > (1 << 24) || s->B > 1024 || s->T > (1 << 20))
    return warm_error_set(err, WARM_EINVAL,
                          "%s: job too large to estimate (%lld tokens x %lld)",
                          m->name, (long long)s->N, (long long)s->B);
  return 0;
}

static int ltxv_estimate(warm_instance *inst, const warm_place_req *req,
                         const warm_job_shape *shape, warm_estimate *out,
                         warm_error *err) {
  ltxv *m = (ltxv *)inst;
  int rc = wpc_check_req(m->name, req, err);
  ltxv_shape s;
  if (!rc) rc = job_shape(m, shape, &s, err);
  if (rc) return rc;
  memset(out, 0, sizeof *out);
  out->persistent = m->w.g.total;
  if (req->placement == WARM_PLACE_RESIDENT) {
    out->persistent += (uint64_t)m->cfg.layers * m->w.b.total;
  } else {
    warm_stream_plan p;
    if ((rc = wpc_stream_plan(&m->w, req, &p, err))) return rc;
    out->window = p.window_bytes;
    out->host_pinned = p.host_bytes;
  }
  out->workspace = ltxv_workspace_bytes(m, &s);
  return 0;
}

static int ltxv_place(warm_instance *inst, const warm_place_req *req,
                      warm_error *err) {
  ltxv *m = (ltxv *)inst;
  int rc = wpc_check_req(m->name, req, err);
  if (rc) return rc;
  if (m->w.placed && m->w.place.placement == req->placement &&
      (req->placement == WARM_PLACE_RESIDENT ||
       (m->w.place.stream_window == req->stream_window &&
        m->w.place.stream_source == req->stream_source)))
    return 0;
  return wpc_weights_place(&m->w, req, err);
}

static int need(const ltxv *m, const warm_run_args *a, const char *name,
                warm_dtype dt, int ndim, const warm_tensor **out,
                warm_error *err) {
  const warm_tensor *t = wpc_input(a, name);
  if (!t)
    return warm_error_set(err, WARM_EINVAL, "%s: input \"%s\" is missing",
                          m->name, name);
  if (t->dtype != dt || t->ndim != ndim || !t->data ||
      t->device.type != WARM_DEVICE_CPU)
    return warm_error_set(
        err, WARM_EINVAL,
        "%s: input \"%s\" must be a host %s tensor with %d "
        "dims (got %s, %d dims)",
        m->name, name, warm_dtype_name(dt), ndim,
        warm_dtype_name(t->dtype) ? warm_dtype_name(t->dtype) : "?", t->ndim);
  for (int i = 0; i < ndim; i++)
    if (t->shape[i] <= 0 || t->shape[i] > (1 << 24))
      return warm_error_set(err, WARM_EINVAL,
                            "%s: input \"%s\" dim %d = %lld is out of range",
                            m->name, name, i, (long long)t->shape[i]);
  *out = t;
  return 0;
}

/* Checks the four inputs against each other and the model, and derives the
 * token grid. Every refusal names the input and the expected shape. */
static int run_shape(const ltxv *m, const warm_run_args *a, ltxv_shape *s,
                     const warm_tensor **in, double *fps, warm_error *err) {
  const ltxv_cfg *c = &m->cfg;
  int rc;
  if ((rc = need(m, a, "latents", WARM_F32, 5, &in[0], err)) ||
      (rc = need(m, a, "timestep", WARM_F32, 1, &in[1], err)) ||
      (rc = need(m, a, "embeddings", WARM_F32, 3, &in[2], err)) ||
      (rc = need(m, a, "mask", WARM_I32, 2, &in[3], err)))
    return rc;
  const int64_t *ls = in[0]->shape;
  int64_t p = c->patch_size, pt = c->patch_size_t;
  int64_t C = c->in_channels / (p * p * pt);
  s->B = ls[0];
  s->F = ls[2];
  s->H = ls[3];
  s->W = ls[4];
  if (ls[1] != C)
    return warm_error_set(err, WARM_EINVAL,
                          "%s: latents have %lld channels; the model takes "
                          "%lld (in_channels %lld / patch volume %lld)",
                          m->name, (long long)ls[1], (long long)C,
                          (long long)c->in_channels, (long long)(p * p * pt));
  if (s->F % pt || s->H % p || s->W % p)
    return warm_error_set(err, WARM_EINVAL,
                          "%s: latents [%lld, %lld, %lld] (F, H, W) are not "
                          "divisible by the patch size (%lld, %lld, %lld)",
                          m->name, (long long)s->F, (long long)s->H,
                          (long long)s->W, (long long)pt, (long long)p,
                          (long long)p);
  s->Fp = s->F / pt;
  s->Hp = s->H / p;
  s->Wp = s->W / p;
  s->N = s->Fp * s->Hp * s->Wp;
  s->T = in[2]->shape[1];
  if (s->N > (1 << 24) || s->B > 1024)
    return warm_error_set(err, WARM_EINVAL, "%s: latents too large", m->name);
  if (in[1]->shape[0] != s->B)
    return warm_error_set(err, WARM_EINVAL,
                          "%s: timestep has shape [%lld]; expected [%lld] "
                          "(the latents' batch)",
                          m->name, (long long)in[1]->shape[0], (long long)s->B);
  if (in[2]->shape[0] != s->B || in[2]->shape[2] != c->caption_channels)
    return warm_error_set(err, WARM_EINVAL,
                          "%s: embeddings have shape [%lld, %lld, %lld]; "
                          "expected [%lld, T, %lld] (caption_channels)",
                          m->name, (long long)in[2]->shape[0],
                          (long long)in[2]->shape[1],
                          (long long)in[2]->shape[2], (long long)s->B,
                          (long long)c->caption_channels);
  if (in[3]->shape[0] != s->B || in[3]->shape[1] != s->T)
    return warm_error_set(err, WARM_EINVAL,
                          "%s: mask has shape [%lld, %lld]; expected [%lld, "
                          "%lld] like the embeddings",
                          m->name, (long long)in[3]->shape[0],
                          (long long)in[3]->shape[1], (long long)s->B,
                          (long long)s->T);
  *fps = m->opts.fps;
  const warm_tensor *f = wpc_input(a, "fps");
  if (f) {
    if (f->dtype != WARM_F32 || warm_tensor_numel(f) != 1 || !f->data ||
        !(((const float *)f->data)[0] > 0.0f))
      return warm_error_set(err, WARM_EINVAL,
                            "%s: input \"fps\" must be one positive f32",
                            m->name);
    *fps = ((const float *)f->data)[0];
  }
  return 0;
}

static int ltxv_run(warm_instance *inst, warm_run_args *a, warm_error *err) {
  ltxv *m = (ltxv *)inst;
  if (!m->w.placed)
    return warm_error_set(err, WARM_EINVAL, "%s: run before place", m->name);
  ltxv_shape s;
  const warm_tensor *in[4];
  double fps = 0;
  int rc = run_shape(m, a, &s, in, &fps, err);
  if (rc) return rc;
  warm_tensor v;
  int64_t Co = m->cfg.out_channels /
               (m->cfg.patch_size * m->cfg.patch_size * m->cfg.patch_size_t);
  int64_t shape[5] = {s.B, Co, s.F, s.H, s.W};
  if (warm_tensor_alloc(&v, "velocity", WARM_F32, 5, shape))
    return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory", m->name);
  uint64_t streamed = 0;
  rc = ltxv_forward(m, &s, in[0]->data, in[1]->data, in[2]->data, in[3]->data,
                    fps, v.data, &streamed, err);
  if (rc) {
    warm_tensor_free(&v);
    return rc;
  }
  a->n_outputs = 1;
  a->outputs[0] = v;
  a->used_placement = m->w.place.placement;
  a->streamed_bytes = streamed;
  return 0;
}

static void ltxv_destroy(warm_instance *inst) {
  ltxv *m = (ltxv *)inst;
  if (!m) return;
  if (m->wk) {
    wpc_weights_free(&m->w);
    wk_ctx_destroy(m->wk);
  }
  warm_st_close(m->st);
  free(m->name);
  free(m);
}

/* Identity of the weights by FILE IDENTITY (not content, which would read
 * tens of GB): each checkpoint file's device, inode, size and mtime, the
 * tensor table (names, dtypes, shapes, offsets), the model config, plugin
 * name + version, the stored dtype and the bf16_activations key. */
static int ltxv_fingerprint(warm_instance *inst, char out[65],
                            warm_error *err) {
  ltxv *m = (ltxv *)inst;
  wpc_fp f;
  wpc_fp_init(&f);
  wpc_fp_add(&f, LTXV_NAME, sizeof LTXV_NAME);
  wpc_fp_add(&f, LTXV_VERSION, sizeof LTXV_VERSION);
  wpc_fp_add(&f, &m->dtype, sizeof m->dtype);
  if (m->opts.bf16_act) /* changes the outputs; f32 ids stay as they were */
    wpc_fp_add(&f, &m->opts.bf16_act, sizeof m->opts.bf16_act);
  wpc_fp_add(&f, &m->cfg, sizeof m->cfg);
  int rc = wpc_fp_file(&f, m->st, err);
  if (rc) return rc;
  wpc_fp_hex(&f, out);
  return 0;
}

/* Model facts for wiring a pipeline: caption width and latent channels. */
static int ltxv_info(warm_instance *inst, warm_model_info *out,
                     warm_error *err) {
  ltxv *m = (ltxv *)inst;
  const ltxv_cfg *c = &m->cfg;
  if (!out || out->struct_size < sizeof(uint32_t))
    return warm_error_set(err, WARM_EINVAL, "%s: info: bad struct", m->name);
  if (WARM_HAS_FIELD(out->struct_size, warm_model_info, embed_dim))
    out->embed_dim = (uint32_t)c->caption_channels;
  if (WARM_HAS_FIELD(out->struct_size, warm_model_info, latent_channels))
    out->latent_channels =
        (uint32_t)(c->in_channels /
                   (c->patch_size * c->patch_size * c->patch_size_t));
  return 0;
}

static const warm_plugin_desc ltxv_desc = {
    .abi_major = WARM_ABI_MAJOR,
    .abi_minor = WARM_ABI_MINOR,
    .struct_size = sizeof(warm_plugin_desc),
    .name = LTXV_NAME,
    .version = LTXV_VERSION,
    .kind = WARM_KIND_TRANSFORMER,
    .devices = WARM_DEVCAP_CPU | WARM_DEVCAP_CUDA,
    .placements = WARM_PLACE_RESIDENT | WARM_PLACE_STREAM | WARM_PLACE_AUTO,
    .dtypes = WARM_DTYPECAP_F32 | WARM_DTYPECAP_BF16 | WARM_DTYPECAP_FP8,
    .flags = WARM_FLAG_LIVE_PLACEMENT,
    .create = ltxv_create,
    .estimate = ltxv_estimate,
    .place = ltxv_place,
    .run = ltxv_run,
    .destroy = ltxv_destroy,
    .validate = ltxv_validate,
    .fingerprint = ltxv_fingerprint,
    .info = ltxv_info,
};

WARM_PLUGIN_EXPORT const warm_plugin_desc *warm_plugin_entry(void) {
  return &ltxv_desc;
}
