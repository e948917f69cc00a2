/* vae_ltx2.so: the ABI descriptor and entry points of the LTX-2 video VAE
 * (decoder; per-channel statistics exposed through info()). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lv2.h"

#define DEF_FRAMES 121
#define DEF_HEIGHT 512
#define DEF_WIDTH 768

static void lv2_destroy(warm_instance *inst);

static int open_model(const warm_component_config *cfg, warm_dtype *dt,
                      lv2_opts *o, warm_ltx2 **f, lv2_dec *d, lv2_enc *e,
                      lxc_tab *tb, warm_error *err) {
  int rc = lxc_check_caps(cfg, LV2_NAME, dt, err);
  if (!rc) rc = lv2_parse_opts(cfg, o, err);
  if (!rc) rc = warm_ltx2_open(cfg->weights, f, err);
  if (!rc) rc = lv2_dec_build(*f, *dt, d, tb, err);
  if (!rc) rc = lv2_enc_build(*f, *dt, o->encoder, e, tb, err);
  if (!rc && e->present && e->latent_channels != d->latent_channels)
    rc = warm_error_set(err, WARM_EFORMAT,
                        "%s: the encoder has %lld latent channels, the "
                        "decoder %lld",
                        warm_ltx2_path(*f), (long long)e->latent_channels,
                        (long long)d->latent_channels);
  return rc;
}

static int lv2_validate(const warm_services *svc,
                        const warm_component_config *cfg, warm_error *err) {
  (void)svc;
  warm_dtype dt;
  lv2_opts o;
  warm_ltx2 *f = NULL;
  lv2_dec *d = calloc(1, sizeof *d);
  lv2_enc *e = calloc(1, sizeof *e);
  lxc_tab tb = {0};
  int rc = d && e
               ? open_model(cfg, &dt, &o, &f, d, e, &tb, err)
               : warm_error_set(err, WARM_ENOMEM, LV2_NAME ": out of memory");
  lxc_tab_free(&tb);
  free(d);
  free(e);
  warm_ltx2_close(f);
  return rc;
}

/* Keeps the timestep multiplier on the host as the weights are converted.
 * The statistics were read at create and are not written again: the host
 * may be reading them (info()) from another thread. */
static void keep_host(void *arg, int i, const void *h) {
  lv2 *v = arg;
  if (i == v->dec.tsm) memcpy(&v->tsm, h, sizeof v->tsm);
}

static void size_pack(lv2 *v);

static int lv2_create(const warm_services *svc,
                      const warm_component_config *cfg, warm_instance **out,
                      warm_error *err) {
  lv2 *v = calloc(1, sizeof *v);
  if (!v) return warm_error_set(err, WARM_ENOMEM, LV2_NAME ": out of memory");
  v->svc = svc;
  v->tsm = 1.0f;
  int rc = open_model(cfg, &v->dtype, &v->opts, &v->f, &v->dec, &v->enc,
                      &v->tab, err);
  if (!rc) {
    v->st = warm_ltx2_st(v->f);
    v->name = strdup(cfg->name ? cfg->name : LV2_NAME);
    v->mean = calloc(2 * (size_t)v->dec.latent_channels, sizeof(float));
    if (!v->name || !v->mean)
      rc = warm_error_set(err, WARM_ENOMEM, LV2_NAME ": out of memory");
    else
      v->std = v->mean + v->dec.latent_channels;
  }
  if (!rc) rc = wpc_ctx(svc, cfg, (int)v->opts.threads, v->name, &v->wk, err);
  if (!rc) {
    v->w.svc = svc;
    v->w.wk = v->wk;
    v->w.dtype = v->dtype;
    /* The statistics are needed before placement (info() hands them to the
     * upsampler): read them now, once. */
    warm_tensor t;
    for (int k = 0; k < 2 && !rc; k++) {
      int i = k ? v->dec.std : v->dec.mean;
      rc = warm_st_expect(v->st, v->tab.t[i].name, 1, v->tab.t[i].shape, &t,
                          err);
      if (!rc)
        rc = warm_weight_convert(&t, WARM_F32, k ? v->std : v->mean, NULL, err);
    }
    for (int64_t c = 0; c < v->dec.latent_channels && !rc; c++)
      if (!(v->std[c] > 0.0f) || !isfinite(v->mean[c]))
        rc = warm_error_set(err, WARM_EFORMAT,
                            "%s: %sstd-of-means[%lld] is %g; statistics must "
                            "be finite and std positive",
                            warm_ltx2_path(v->f), WARM_LTX2_VAE_STATS,
                            (long long)c, (double)v->std[c]);
  }
  if (!rc) size_pack(v);
  if (rc) {
    lv2_destroy((warm_instance *)v);
    return rc;
  }
  *out = (warm_instance *)v;
  return 0;
}

static int job_latent(const lv2 *v, const warm_job_shape *js, int64_t *F,
                      int64_t *H, int64_t *W, warm_error *err) {
  int64_t frames = js && js->frames ? js->frames : DEF_FRAMES;
  int64_t h = js && js->height ? js->height : DEF_HEIGHT;
  int64_t w = js && js->width ? js->width : DEF_WIDTH;
  *F = (frames - 1) / v->dec.tcomp + 1;
  *H = (h + v->dec.scomp - 1) / v->dec.scomp;
  *W = (w + v->dec.scomp - 1) / v->dec.scomp;
  if (*F > 4096 || *H > 65536 || *W > 65536)
    return warm_error_set(err, WARM_EINVAL, "%s: job too large", v->name);
  return 0;
}

static int lv2_estimate(warm_instance *inst, const warm_place_req *req,
                        const warm_job_shape *js, warm_estimate *out,
                        warm_error *err) {
  lv2 *v = (lv2 *)inst;
  int64_t F, H, W, tf, th, tw;
  int rc = job_latent(v, js, &F, &H, &W, err);
  if (rc) return rc;
  lxc_estimate_weights(&v->tab, req, out);
  lv2_tile_extent(v, F, H, W, &tf, &th, &tw);
  out->workspace = lv2_decode_workspace(v, tf, th, tw);
  if (v->enc.present) {
    /* An encode runs untiled: of the job's video, or of at most
     * encode_frames frames (1 for image conditioning). */
    int64_t ef = (F - 1) * v->enc.tcomp + 1;
    if (v->opts.encode_frames > 0 && ef > v->opts.encode_frames)
      ef = (v->opts.encode_frames - 1) / v->enc.tcomp * v->enc.tcomp + 1;
    size_t e = lv2_encode_workspace(v, ef, H * v->enc.scomp, W * v->enc.scomp);
    if (e > out->workspace) out->workspace = e;
  }
  return 0;
}

/* The pack arena (lxc_tab.pack): the packed weights of one decode of the
 * default job's tile and, with the encoder, one encode, as estimate()
 * sizes them. */
static void size_pack(lv2 *v) {
  int64_t F, H, W, tf, th, tw;
  v->tab.pack = 0;
  if (!v->opts.pack_weights || job_latent(v, NULL, &F, &H, &W, NULL)) return;
  lv2_tile_extent(v, F, H, W, &tf, &th, &tw);
  size_t b = lv2_decode_pack_bytes(v, tf, th, tw);
  if (v->enc.present) {
    int64_t ef = (F - 1) * v->enc.tcomp + 1;
    if (v->opts.encode_frames > 0 && ef > v->opts.encode_frames)
      ef = (v->opts.encode_frames - 1) / v->enc.tcomp * v->enc.tcomp + 1;
    b += lv2_encode_pack_bytes(v, ef, H * v->enc.scomp, W * v->enc.scomp);
  }
  v->tab.pack = b;
}

static int lv2_place(warm_instance *inst, const warm_place_req *req,
                     warm_error *err) {
  lv2 *v = (lv2 *)inst;
  return lxc_place(&v->w, &v->tab, v->st, req, keep_host, v, v->name, err);
}

/* Standard normal draws for the decoder's noise when the caller passes
 * none: splitmix64 + Box-Muller, seeded by the noise_seed key. */
static void gauss_fill(float *x, size_t n, uint64_t seed) {
  uint64_t s = seed ^ 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; i < n; i += 2) {
    double u[2];
    for (int k = 0; k < 2; k++) {
      uint64_t z = (s += 0x9E3779B97F4A7C15ull);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      z ^= z >> 31;
      u[k] = ((double)(z >> 11) + 0.5) / 9007199254740992.0;
    }
    double r = sqrt(-2.0 * log(u[0])), a = 6.283185307179586 * u[1];
    x[i] = (float)(r * cos(a));
    if (i + 1 < n) x[i + 1] = (float)(r * sin(a));
  }
}

static int decode(lv2 *v, warm_run_args *a, warm_error *err) {
  const lv2_dec *d = &v->dec;
  int64_t dims[4];
  const float *z;
  int rc = lxc_input_f32(a, "latents", 4, dims, &z, v->name, err);
  if (rc) return rc;
  int64_t C = dims[0], F = dims[1], H = dims[2], W = dims[3];
  if (C != d->latent_channels)
    return warm_error_set(err, WARM_EINVAL,
                          "%s: latents have %lld channels; the VAE has "
                          "latent_channels %lld",
                          v->name, (long long)C, (long long)d->latent_channels);
  if (F > 4096 || H > 65536 || W > 65536 || F * H * W > ((int64_t)1 << 32) / C)
    return warm_error_set(err, WARM_EINVAL,
                          "%s: latents [%lld, %lld, %lld] (F, H, W) out of "
                          "range",
                          v->name, (long long)F, (long long)H, (long long)W);
  const float *noise = NULL;
  float *own = NULL;
  if (d->tc) {
    if (wpc_input(a, "noise")) {
      int64_t nd[4];
      if ((rc = lxc_input_f32(a, "noise", 4, nd, &noise, v->name, err)))
        return rc;
      if (memcmp(nd, dims, sizeof nd))
        return warm_error_set(err, WARM_EINVAL,
                              "%s: input \"noise\" must have the shape of "
                              "\"latents\"",
                              v->name);
    } else {
      size_t n = (size_t)(C * F * H * W);
      own = malloc(n * sizeof *own);
      if (!own)
        return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory",
                              v->name);
      gauss_fill(own, n, (uint64_t)v->opts.noise_seed);
      noise = own;
    }
  }
  int64_t shape[4] = {d->out_channels, lv2_frames_of(d, F), H * d->scomp,
                      W * d->scomp};
  warm_tensor o;
  if (warm_tensor_alloc(&o, "frames", WARM_F32, 4, shape)) {
    free(own);
    return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory", v->name);
  }
  v->w.streamed = 0;
  rc = lv2_decode_tiled(v, z, noise, F, H, W, o.data, err);
  free(own);
  if (rc) {
    warm_tensor_free(&o);
    return rc;
  }
  a->n_outputs = 1;
  a->outputs[0] = o;
  return 0;
}

/* "frames" [3, F, H, W] in [-1, 1] -> "latents" (normalised means). Like
 * the reference, frames past the last 1 + tcomp*k are dropped. */
static int encode(lv2 *v, warm_run_args *a, warm_error *err) {
  const lv2_enc *e = &v->enc;
  if (!e->present)
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: no encoder (the file has no vae.encoder.* "
                          "tensors, or the key encoder = false)",
                          v->name);
  int64_t d[4];
  const float *px;
  int rc = lxc_input_f32(a, "frames", 4, d, &px, v->name, err);
  if (rc) return rc;
  if (d[0] != e->in_channels || d[2] % e->scomp || d[3] % e->scomp ||
      d[1] > 100000)
    return warm_error_set(err, WARM_EINVAL,
                          "%s: frames [%lld, %lld, %lld, %lld]: need %lld "
                          "channels and a height and width divisible by %lld",
                          v->name, (long long)d[0], (long long)d[1],
                          (long long)d[2], (long long)d[3],
                          (long long)e->in_channels, (long long)e->scomp);
  if (v->opts.encode_frames > 0 && d[1] > v->opts.encode_frames)
    return warm_error_set(err, WARM_EINVAL,
                          "%s: an encode of %lld frames, but the key "
                          "encode_frames = %lld bounds what its estimate "
                          "books",
                          v->name, (long long)d[1],
                          (long long)v->opts.encode_frames);
  int64_t F = (d[1] - 1) / e->tcomp * e->tcomp + 1, H = d[2], W = d[3];
  const float *src = px;
  float *crop = NULL;
  if (F != d[1]) {
    crop = malloc((size_t)(d[0] * F * H * W) * sizeof *crop);
    if (!crop)
      return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory",
                            v->name);
    for (int64_t c = 0; c < d[0]; c++)
      memcpy(crop + c * F * H * W, px + c * d[1] * H * W,
             (size_t)(F * H * W) * sizeof *crop);
    src = crop;
  }
  int64_t shape[4] = {e->latent_channels, (F - 1) / e->tcomp + 1, H / e->scomp,
                      W / e->scomp};
  warm_tensor o;
  if (warm_tensor_alloc(&o, "latents", WARM_F32, 4, shape)) {
    free(crop);
    return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory", v->name);
  }
  v->w.streamed = 0;
  rc = lv2_encode(v, src, F, H, W, o.data, err);
  free(crop);
  if (rc) {
    warm_tensor_free(&o);
    return rc;
  }
  a->n_outputs = 1;
  a->outputs[0] = o;
  return 0;
}

static int lv2_run(warm_instance *inst, warm_run_args *a, warm_error *err) {
  lv2 *v = (lv2 *)inst;
  if (!v->w.placement)
    return warm_error_set(err, WARM_EINVAL, "%s: run before place", v->name);
  int rc;
  if (wpc_input(a, "latents"))
    rc = decode(v, a, err);
  else if (wpc_input(a, "frames"))
    rc = encode(v, a, err);
  else
    rc = warm_error_set(err, WARM_EINVAL,
                        "%s: input \"latents\" (decode) or \"frames\" "
                        "(encode) is missing",
                        v->name);
  if (!rc) {
    a->used_placement = v->w.placement;
    a->streamed_bytes = v->w.streamed;
  }
  return rc;
}

static void lv2_destroy(warm_instance *inst) {
  lv2 *v = (lv2 *)inst;
  if (!v) return;
  lxc_unplace(&v->w);
  if (v->wk) wk_ctx_destroy(v->wk);
  lxc_tab_free(&v->tab);
  warm_ltx2_close(v->f);
  free(v->mean);
  free(v->name);
  free(v);
}

static int lv2_fingerprint(warm_instance *inst, char out[65], warm_error *err) {
  lv2 *v = (lv2 *)inst;
  return lxc_fingerprint(v->st, &v->tab, LV2_NAME, LV2_VERSION, v->dtype, out,
                         v->name, err);
}

static int lv2_info(warm_instance *inst, warm_model_info *out,
                    warm_error *err) {
  lv2 *v = (lv2 *)inst;
  if (!out || out->struct_size < sizeof(uint32_t))
    return warm_error_set(err, WARM_EINVAL, "%s: info: bad struct", v->name);
  if (WARM_HAS_FIELD(out->struct_size, warm_model_info, latent_channels))
    out->latent_channels = (uint32_t)v->dec.latent_channels;
  if (WARM_HAS_FIELD(out->struct_size, warm_model_info, temporal_compression))
    out->temporal_compression = (uint32_t)v->dec.tcomp;
  if (WARM_HAS_FIELD(out->struct_size, warm_model_info, spatial_compression))
    out->spatial_compression = (uint32_t)v->dec.scomp;
  if (WARM_HAS_FIELD(out->struct_size, warm_model_info, latent_std)) {
    out->latent_mean = v->mean;
    out->latent_std = v->std;
  }
  return 0;
}

static const warm_plugin_desc lv2_desc = {
    .abi_major = WARM_ABI_MAJOR,
    .abi_minor = WARM_ABI_MINOR,
    .struct_size = sizeof(warm_plugin_desc),
    .name = LV2_NAME,
    .version = LV2_VERSION,
    .kind = WARM_KIND_VAE,
    .devices = WARM_DEVCAP_CPU | WARM_DEVCAP_CUDA,
    .placements = WARM_PLACE_RESIDENT | WARM_PLACE_STREAM | WARM_PLACE_AUTO,
    .dtypes = WARM_DTYPECAP_F32 | WARM_DTYPECAP_BF16,
    .flags = WARM_FLAG_LIVE_PLACEMENT,
    .create = lv2_create,
    .estimate = lv2_estimate,
    .place = lv2_place,
    .run = lv2_run,
    .destroy = lv2_destroy,
    .validate = lv2_validate,
    .fingerprint = lv2_fingerprint,
    .info = lv2_info,
};

WARM_PLUGIN_EXPORT const warm_plugin_desc *warm_plugin_entry(void) {
  return &lv2_desc;
}
