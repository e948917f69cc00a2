/* vae_ltxv.so: the ABI descriptor and entry points, latent
 * de-normalisation, spatial tiling with diffusers' blending, unpatchify. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lvae.h"
#include "wpc.h"

#define DEF_FRAMES 121
#define DEF_HEIGHT 512
#define DEF_WIDTH 768

static void lvae_destroy(warm_instance *inst);

static int open_net(const warm_component_config *cfg, warm_dtype dt,
                    lvae_net *n, warm_st **st, warm_error *err) {
  if (!cfg || !cfg->weights || !cfg->weights[0])
    return warm_error_set(err, WARM_EINVAL,
                          LVAE_NAME ": component %s has no weights path",
                          cfg && cfg->name ? cfg->name : "?");
  int rc = lvae_net_build(cfg->weights, dt, n, err);
  if (!rc) rc = warm_st_open(cfg->weights, st, err);
  if (!rc) rc = lvae_net_check(n, *st, err);
  return rc;
}

static int check_caps(const warm_component_config *cfg, warm_dtype *dt,
                      warm_error *err) {
  *dt = cfg->dtype == WARM_DTYPE_NONE ? WARM_F32 : cfg->dtype;
  if (*dt != WARM_F32 && *dt != WARM_BF16 && *dt != WARM_FP8_E4M3)
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          LVAE_NAME ": dtype %s not supported (f32, bf16, "
                                    "fp8)",
                          warm_dtype_name(*dt) ? warm_dtype_name(*dt) : "?");
  if (cfg->placement == WARM_PLACE_STREAM)
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          LVAE_NAME ": placement stream is not supported "
                                    "(resident only)");
  return 0;
}

static int lvae_validate(const warm_services *svc,
                         const warm_component_config *cfg, warm_error *err) {
  lvae_opts o;
  lvae_net n;
  warm_dtype dt;
  warm_st *st = NULL;
  memset(&n, 0, sizeof n);
  int rc = check_caps(cfg, &dt, err);
  if (!rc) rc = lvae_parse_opts(cfg, &o, err);
  if (!rc) rc = open_net(cfg, dt, &n, &st, err);
  lvae_net_free(&n);
  warm_st_close(st);
  return rc;
}

/* Opens config and weights and checks every decoder tensor; allocates no
 * device memory. Loader thread. */
static int lvae_create(const warm_services *svc,
                       const warm_component_config *cfg, warm_instance **out,
                       warm_error *err) {
  lvae *v = calloc(1, sizeof *v);
  if (!v) return warm_error_set(err, WARM_ENOMEM, LVAE_NAME ": out of memory");
  v->svc = svc;
  int rc = check_caps(cfg, &v->dtype, err);
  if (!rc) rc = lvae_parse_opts(cfg, &v->opts, err);
  if (!rc) rc = open_net(cfg, v->dtype, &v->net, &v->st, err);
  if (!rc) {
    v->device = cfg->device;
    v->name = strdup(cfg->name ? cfg->name : LVAE_NAME);
    if (!v->name) rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
  }
  if (!rc) {
    rc = wpc_ctx(svc, cfg, (int)v->opts.threads, v->name, &v->wk, err);
  }
  if (rc) {
    lvae_destroy((warm_instance *)v);
    return rc;
  }
  *out = (warm_instance *)v;
  return 0;
}

/* Latent tile size in use for a latent [F, H, W]: the whole latent when
 * tiling is off or not needed (diffusers' rule), else the first (largest)
 * tile. */
static void tile_extent(const lvae *v, int64_t H, int64_t W, int *tiled,
                        int64_t *th, int64_t *tw) {
  int64_t tl = v->opts.tile_size / v->net.scomp;
  if (tl < 1) tl = 1;
  *tiled = v->opts.tiling && (W > tl || H > tl);
  *th = *tiled && H > tl ? tl : H;
  *tw = *tiled && W > tl ? tl : W;
}

static int lvae_estimate(warm_instance *inst, const warm_place_req *req,
                         const warm_job_shape *js, warm_estimate *out,
                         warm_error *err) {
  lvae *v = (lvae *)inst;
  if (!req || req->placement != WARM_PLACE_RESIDENT)
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: only resident placement is supported", v->name);
  int64_t frames = js && js->frames ? js->frames : DEF_FRAMES;
  int64_t h = js && js->height ? js->height : DEF_HEIGHT;
  int64_t w = js && js->width ? js->width : DEF_WIDTH;
  int64_t F = (frames - 1) / v->net.tcomp + 1;
  int64_t H = (h + v->net.scomp - 1) / v->net.scomp;
  int64_t W = (w + v->net.scomp - 1) / v->net.scomp;
  if (F > 4096 || H > 65536 || W > 65536)
    return warm_error_set(err, WARM_EINVAL, "%s: job too large", v->name);
  int tiled;
  int64_t th, tw;
  tile_extent(v, H, W, &tiled, &th, &tw);
  memset(out, 0, sizeof *out);
  out->persistent = v->net.blob_bytes;
  out->workspace = lvae_workspace_bytes(v, F, th, tw);
  return 0;
}

/* Uploads every tensor into one persistent blob; keeps the latent
 * statistics and the timestep multiplier on the host for run(). */
static int lvae_place(warm_instance *inst, const warm_place_req *req,
                      warm_error *err) {
  lvae *v = (lvae *)inst;
  if (!req || req->placement != WARM_PLACE_RESIDENT)
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: only resident placement is supported", v->name);
  if (v->blob) return 0;
  const lvae_net *n = &v->net;
  void *blob = NULL;
  float *stats = malloc(2 * (size_t)n->latent_channels * sizeof *stats);
  if (!stats)
    return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory", v->name);
  int rc = v->svc->dev_alloc(v->svc->ctx, WARM_MEM_PERSISTENT,
                             n->blob_bytes ? n->blob_bytes : 1, &blob, err);
  float tsm = 1.0f;
  for (int i = 0; i < n->n_t && !rc; i++) {
    lvae_tspec *s = &n->t[i];
    warm_tensor t;
    if ((rc = warm_st_expect(v->st, s->name, s->ndim, s->shape, &t, err)))
      break;
    void *h = malloc(s->bytes ? s->bytes : 1);
    if (!h) {
      rc = warm_error_set(err, WARM_ENOMEM, "%s: out of host memory", v->name);
      break;
    }
    rc = warm_weight_convert(&t, s->matrix ? v->dtype : WARM_F32, h, &s->scale,
                             err);
    if (!rc && i == n->mean)
      memcpy(stats, h, (size_t)n->latent_channels * sizeof(float));
    if (!rc && i == n->std)
      memcpy(stats + n->latent_channels, h,
             (size_t)n->latent_channels * sizeof(float));
    if (!rc && i == n->tsm) memcpy(&tsm, h, sizeof tsm);
    if (!rc) {
      rc = wk_copy_h2d(v->wk, (char *)blob + s->offset, h, s->bytes);
      if (!rc) rc = wk_sync(v->wk);
      if (rc)
        rc = warm_error_set(err, WARM_EDEVICE, "%s: weight upload failed: %s",
                            v->name, wk_last_error(v->wk));
    }
    free(h);
  }
  if (rc) {
    v->svc->dev_free(v->svc->ctx, blob);
    free(stats);
    return rc;
  }
  v->blob = blob;
  v->mean = stats;
  v->std = stats + n->latent_channels;
  v->tsm = tsm;
  return 0;
}

/* conv_out layout [C*pt*p*p, F, h, w] -> frames [C, F*pt, h*p, w*p] with
 * diffusers' order (the first p index runs along the width). */
static void unpatchify(const lvae_net *n, const lvae_dims *d, const float *in,
                       float *out) {
  int64_t p = n->patch_size, pt = n->patch_size_t;
  int64_t C = d->Cp / (pt * p * p), Fo = d->Fo * pt, Ho = d->Ho * p,
          Wo = d->Wo * p;
  for (int64_t c = 0; c < C; c++)
    for (int64_t it = 0; it < pt; it++)
      for (int64_t a = 0; a < p; a++)
        for (int64_t b = 0; b < p; b++) {
          int64_t ch = ((c * pt + it) * p + a) * p + b;
          for (int64_t f = 0; f < d->Fo; f++)
            for (int64_t y = 0; y < d->Ho; y++) {
              const float *src = in + ((ch * d->Fo + f) * d->Ho + y) * d->Wo;
              float *dst =
                  out + ((c * Fo + f * pt + it) * Ho + y * p + b) * Wo + a;
              for (int64_t x = 0; x < d->Wo; x++)
                dst[x * p] = src[x];
            }
        }
}

/* A decoded tile on the host, frames layout [C, F, h, w]. */
typedef struct tile {
  float *px;
  int64_t h, w;
} tile;

/* Decodes z[:, :, y0:y0+h, x0:x0+w] (z de-normalised, [C, F, H, W]) into
 * a frames tile. With `dst`, the frames go there (the caller's buffer of
 * the tile's size) and t->px stays NULL; otherwise t->px is allocated and
 * the caller frees it. */
static int decode_region(lvae *v, const float *z, int64_t F, int64_t H,
                         int64_t W, int64_t y0, int64_t x0, int64_t h,
                         int64_t w, float temb, float *dst, tile *t,
                         warm_error *err) {
  const lvae_net *n = &v->net;
  int64_t C = n->latent_channels;
  lvae_dims d;
  lvae_dims_of(n, F, h, w, &d);
  size_t nin = (size_t)(C * F * h * w),
         nout = (size_t)(d.Cp * d.Fo * d.Ho * d.Wo);
  float *zt = malloc(nin * sizeof *zt), *raw = malloc(nout * sizeof *raw);
  t->px = dst ? NULL : malloc(nout * sizeof *t->px);
  if (!zt || !raw || (!dst && !t->px)) {
    free(zt);
    free(raw);
    free(t->px);
    t->px = NULL;
    return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory", v->name);
  }
  for (int64_t c = 0; c < C; c++)
    for (int64_t f = 0; f < F; f++)
      for (int64_t y = 0; y < h; y++)
        memcpy(zt + ((c * F + f) * h + y) * w,
               z + ((c * F + f) * H + y0 + y) * W + x0, (size_t)w * sizeof *zt);
  int rc = lvae_decode_tile(v, zt, F, h, w, temb, raw, err);
  if (!rc) unpatchify(n, &d, raw, dst ? dst : t->px);
  free(zt);
  free(raw);
  if (rc) {
    free(t->px);
    t->px = NULL;
    return rc;
  }
  t->h = d.Ho * n->patch_size;
  t->w = d.Wo * n->patch_size;
  return 0;
}

/* diffusers blend_v / blend_h, in place on b, float32 weights computed in
 * double like Python's y / blend_extent. */
static void blend(const tile *a, tile *b, int64_t CF, int64_t extent,
                  int vertical) {
  int64_t e =
      vertical ? (a->h < b->h ? a->h : b->h) : (a->w < b->w ? a->w : b->w);
  if (extent < e) e = extent;
  for (int64_t k = 0; k < e; k++) {
    float wa = (float)(1.0 - (double)k / (double)e);
    float wb = (float)((double)k / (double)e);
    for (int64_t cf = 0; cf < CF; cf++) {
      if (vertical) {
        const float *ar = a->px + (cf * a->h + a->h - e + k) * a->w;
        float *br = b->px + (cf * b->h + k) * b->w;
        for (int64_t x = 0; x < b->w; x++) {
          float p1 = ar[x] * wa, p2 = br[x] * wb;
          br[x] = p1 + p2;
        }
      } else {
        for (int64_t y = 0; y < b->h; y++) {
          float av = a->px[(cf * a->h + y) * a->w + a->w - e + k];
          float *bv = &b->px[(cf * b->h + y) * b->w + k];
          float p1 = av * wa, p2 = *bv * wb;
          *bv = p1 + p2;
        }
      }
    }
  }
}

static void free_row(tile *row, int64_t n) {
  for (int64_t j = 0; row && j < n; j++)
    free(row[j].px);
  free(row);
}

/* diffusers' tiled_decode: tiles of tile_size pixels every tile_stride,
 * each blended with the (already blended) tile above and to its left, then
 * cropped to the stride. Host memory: two rows of tiles. */
static int decode_tiled(lvae *v, const float *z, int64_t F, int64_t H,
                        int64_t W, float temb, warm_tensor *o,
                        warm_error *err) {
  const lvae_net *n = &v->net;
  int64_t sc = n->scomp;
  int64_t tl = v->opts.tile_size / sc, sl = v->opts.tile_stride / sc;
  if (tl < 1) tl = 1;
  if (sl < 1) sl = 1;
  int64_t ss = v->opts.tile_stride, blend_ext = v->opts.tile_size - ss;
  int64_t rows = (H + sl - 1) / sl, cols = (W + sl - 1) / sl;
  int64_t C = o->shape[0], Fo = o->shape[1], OH = o->shape[2], OW = o->shape[3];
  tile *prev = NULL, *cur = NULL;
  int rc = 0;
  for (int64_t i = 0; i < rows && !rc; i++) {
    cur = calloc((size_t)cols, sizeof *cur);
    if (!cur) {
      rc = warm_error_set(err, WARM_ENOMEM, "%s: out of host memory", v->name);
      break;
    }
    for (int64_t j = 0; j < cols && !rc; j++) {
      int64_t y0 = i * sl, x0 = j * sl;
      int64_t h = H - y0 < tl ? H - y0 : tl, w = W - x0 < tl ? W - x0 : tl;
      rc = decode_region(v, z, F, H, W, y0, x0, h, w, temb, NULL, &cur[j], err);
      if (rc) break;
      if (cur[j].px && (cur[j].h != h * sc || cur[j].w != w * sc)) {
        rc = warm_error_set(err, WARM_EFORMAT,
                            "%s: the decoder upscales by %lld, not by the "
                            "spatial compression %lld; tiling needs them equal",
                            v->name, (long long)(cur[j].h / h), (long long)sc);
        break;
      }
      if (v->svc->progress)
        v->svc->progress(v->svc->ctx,
                         (float)(i * cols + j + 1) / (float)(rows * cols));
      if (i > 0) blend(&prev[j], &cur[j], C * Fo, blend_ext, 1);
      if (j > 0) blend(&cur[j - 1], &cur[j], C * Fo, blend_ext, 0);
    }
    /* Copy the row's cropped tiles into the output. */
    for (int64_t j = 0; j < cols && !rc; j++) {
      const tile *t = &cur[j];
      int64_t oy = i * ss, ox = j * ss;
      int64_t hh = t->h < ss ? t->h : ss, ww = t->w < ss ? t->w : ss;
      if (oy + hh > OH) hh = OH - oy;
      if (ox + ww > OW) ww = OW - ox;
      for (int64_t cf = 0; cf < C * Fo && hh > 0 && ww > 0; cf++)
        for (int64_t y = 0; y < hh; y++)
          memcpy((float *)o->data + (cf * OH + oy + y) * OW + ox,
                 t->px + (cf * t->h + y) * t->w, (size_t)ww * sizeof(float));
    }
    free_row(prev, cols);
    prev = cur;
    cur = NULL;
  }
  free_row(prev, cols);
  free_row(cur, cols);
  return rc;
}

static int lvae_run(warm_instance *inst, warm_run_args *a, warm_error *err) {
  lvae *v = (lvae *)inst;
  const lvae_net *n = &v->net;
  if (!v->blob)
    return warm_error_set(err, WARM_EINVAL, "%s: run before place", v->name);
  const warm_tensor *lt = wpc_input(a, "latents");
  if (!lt)
    return warm_error_set(err, WARM_EINVAL, "%s: input \"latents\" is missing",
                          v->name);
  int off = lt->ndim == 5 ? 1 : 0;
  if (lt->dtype != WARM_F32 || !lt->data || (lt->ndim != 4 && lt->ndim != 5) ||
      (off && lt->shape[0] != 1))
    return warm_error_set(err, WARM_EINVAL,
                          "%s: input \"latents\" must be host f32 [C, F, H, "
                          "W] (or [1, C, F, H, W])",
                          v->name);
  int64_t C = lt->shape[off], F = lt->shape[off + 1], H = lt->shape[off + 2],
          W = lt->shape[off + 3];
  if (C != n->latent_channels)
    return warm_error_set(err, WARM_EINVAL,
                          "%s: latents have %lld channels; the VAE has "
                          "latent_channels %lld",
                          v->name, (long long)C, (long long)n->latent_channels);
  if (F <= 0 || H <= 0 || W <= 0 || F > 4096 || H > 65536 || W > 65536 ||
      F * H * W > ((int64_t)1 << 32) / C)
    return warm_error_set(err, WARM_EINVAL,
                          "%s: latents [%lld, %lld, %lld] (F, H, W) out of "
                          "range",
                          v->name, (long long)F, (long long)H, (long long)W);
  float temb = (float)v->opts.decode_timestep;
  const warm_tensor *tt = wpc_input(a, "timestep");
  if (tt) {
    if (tt->dtype != WARM_F32 || warm_tensor_numel(tt) != 1 || !tt->data)
      return warm_error_set(err, WARM_EINVAL,
                            "%s: input \"timestep\" must be one f32", v->name);
    temb = ((const float *)tt->data)[0];
  }
  lvae_dims d;
  lvae_dims_of(n, F, H, W, &d);
  int64_t p = n->patch_size, pt = n->patch_size_t;
  int64_t shape[4] = {d.Cp / (pt * p * p), d.Fo * pt, d.Ho * p, d.Wo * p};
  int tiled;
  int64_t th, tw;
  tile_extent(v, H, W, &tiled, &th, &tw);
  if (tiled) {
    shape[2] = H * n->scomp; /* diffusers crops to the sample size */
    shape[3] = W * n->scomp;
  }
  warm_tensor o;
  size_t nz = (size_t)(C * F * H * W);
  float *z = malloc(nz * sizeof *z);
  if (!z || warm_tensor_alloc(&o, "frames", WARM_F32, 4, shape)) {
    free(z);
    return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory", v->name);
  }
  /* LTXPipeline._denormalize_latents: z * std / scaling_factor + mean. */
  const float *src = lt->data;
  float sf = (float)n->scaling_factor;
  for (int64_t c = 0; c < C; c++)
    for (int64_t k = 0; k < F * H * W; k++) {
      float x = src[c * F * H * W + k] * v->std[c];
      x = x / sf;
      z[c * F * H * W + k] = x + v->mean[c];
    }
  int rc;
  if (tiled) {
    rc = decode_tiled(v, z, F, H, W, temb, &o, err);
  } else {
    tile t = {NULL, 0, 0};
    rc = decode_region(v, z, F, H, W, 0, 0, H, W, temb, o.data, &t, err);
  }
  free(z);
  if (rc) {
    warm_tensor_free(&o);
    return rc;
  }
  if (v->opts.clamp) {
    float *px = o.data;
    int64_t cnt = warm_tensor_numel(&o);
    for (int64_t k = 0; k < cnt; k++)
      px[k] = px[k] < -1.0f ? -1.0f : px[k] > 1.0f ? 1.0f : px[k];
  }
  a->n_outputs = 1;
  a->outputs[0] = o;
  a->used_placement = WARM_PLACE_RESIDENT;
  a->streamed_bytes = 0;
  return 0;
}

static void lvae_destroy(warm_instance *inst) {
  lvae *v = (lvae *)inst;
  if (!v) return;
  if (v->blob) {
    wk_sync(v->wk);
    v->svc->dev_free(v->svc->ctx, v->blob);
  }
  if (v->wk) wk_ctx_destroy(v->wk);
  free(v->mean);
  lvae_net_free(&v->net);
  warm_st_close(v->st);
  free(v->name);
  free(v);
}

static void fnv_add(uint64_t h[4], const void *p, size_t n) {
  const unsigned char *b = p;
  for (int k = 0; k < 4; k++)
    for (size_t i = 0; i < n; i++) {
      h[k] ^= b[i];
      h[k] *= 0x100000001b3ULL;
    }
}

/* Weights identity by FILE IDENTITY (device, inode, size, mtime of each
 * file) plus the tensor table, plugin name + version and stored dtype. */
static int lvae_fingerprint(warm_instance *inst, char out[65],
                            warm_error *err) {
  lvae *v = (lvae *)inst;
  uint64_t h[4] = {0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL,
                   0x9e3779b97f4a7c15ULL, 0x2545f4914f6cdd1dULL};
  fnv_add(h, LVAE_NAME, sizeof LVAE_NAME);
  fnv_add(h, LVAE_VERSION, sizeof LVAE_VERSION);
  fnv_add(h, &v->dtype, sizeof v->dtype);
  for (uint32_t i = 0; i < warm_st_file_count(v->st); i++) {
    struct stat sb;
    if (stat(warm_st_file_path(v->st, i), &sb) != 0)
      return warm_error_set(err, WARM_EIO, "%s: cannot stat %s", v->name,
                            warm_st_file_path(v->st, i));
    uint64_t id[5] = {(uint64_t)sb.st_dev, (uint64_t)sb.st_ino,
                      (uint64_t)sb.st_size, (uint64_t)sb.st_mtim.tv_sec,
                      (uint64_t)sb.st_mtim.tv_nsec};
    fnv_add(h, id, sizeof id);
  }
  for (int i = 0; i < v->net.n_t; i++)
    fnv_add(h, v->net.t[i].name, strlen(v->net.t[i].name));
  for (int k = 0; k < 4; k++)
    snprintf(out + 16 * k, 17, "%016llx", (unsigned long long)h[k]);
  return 0;
}

/* Model facts: latent channels and the compression ratios diffusers
 * derives (patch size x 2^scalings, or the config's explicit ratios). */
static int lvae_info(warm_instance *inst, warm_model_info *out,
                     warm_error *err) {
  lvae *v = (lvae *)inst;
  if (!out || out->struct_size < sizeof(uint32_t))
    return warm_error_set(err, WARM_EINVAL, "%s: info: bad struct", v->name);
  if (WARM_HAS_FIELD(out->struct_size, warm_model_info, latent_channels))
    out->latent_channels = (uint32_t)v->net.latent_channels;
  if (WARM_HAS_FIELD(out->struct_size, warm_model_info, temporal_compression))
    out->temporal_compression = (uint32_t)v->net.tcomp;
  if (WARM_HAS_FIELD(out->struct_size, warm_model_info, spatial_compression))
    out->spatial_compression = (uint32_t)v->net.scomp;
  return 0;
}

static const warm_plugin_desc lvae_desc = {
    .abi_major = WARM_ABI_MAJOR,
    .abi_minor = WARM_ABI_MINOR,
    .struct_size = sizeof(warm_plugin_desc),
    .name = LVAE_NAME,
    .version = LVAE_VERSION,
    .kind = WARM_KIND_VAE,
    .devices = WARM_DEVCAP_CPU | WARM_DEVCAP_CUDA,
    .placements = WARM_PLACE_RESIDENT,
    .dtypes = WARM_DTYPECAP_F32 | WARM_DTYPECAP_BF16 | WARM_DTYPECAP_FP8,
    .flags = 0,
    .create = lvae_create,
    .estimate = lvae_estimate,
    .place = lvae_place,
    .run = lvae_run,
    .destroy = lvae_destroy,
    .validate = lvae_validate,
    .fingerprint = lvae_fingerprint,
    .info = lvae_info,
};

WARM_PLUGIN_EXPORT const warm_plugin_desc *warm_plugin_entry(void) {
  return &lvae_desc;
}
