/* audio_ltx2.so: the ABI descriptor and entry points of the LTX-2 audio
 * decoder (audio VAE decoder + vocoder): "latents" -> "waveform" (and the
 * intermediate "mel"), or "mel" -> "waveform". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "au.h"

#define DEF_FRAMES 121

static void au_destroy(warm_instance *inst);

static int parse_opts(const warm_component_config *cfg, int64_t *threads,
                      int64_t *min_fps, warm_error *err) {
  static const char *const known[] = {"threads", "min_fps", NULL};
  *threads = 0;
  *min_fps = 24;
  int rc = lxc_keys_known(cfg, known, AU_NAME, err);
  if (!rc) rc = lxc_key_int(cfg, "threads", 0, 1024, threads, err);
  if (!rc) rc = lxc_key_int(cfg, "min_fps", 1, 1000, min_fps, err);
  return rc;
}

static int open_model(const warm_component_config *cfg, au *a,
                      warm_error *err) {
  int rc = lxc_check_caps(cfg, AU_NAME, &a->dtype, err);
  if (!rc) rc = parse_opts(cfg, &a->threads, &a->min_fps, err);
  if (!rc) rc = warm_ltx2_open(cfg->weights, &a->f, err);
  if (!rc) rc = au_vae_build(a->f, a->dtype, &a->vae, &a->tab, err);
  if (!rc) rc = au_voc_build(a->f, a->dtype, &a->voc, &a->tab, err);
  if (!rc && a->vae.out_ch * a->vae.mel_bins != a->voc.in_channels)
    rc = warm_error_set(err, WARM_EFORMAT,
                        "%s: the audio VAE gives %lld x %lld mel channels; the "
                        "vocoder takes %lld",
                        warm_ltx2_path(a->f), (long long)a->vae.out_ch,
                        (long long)a->vae.mel_bins,
                        (long long)a->voc.in_channels);
  return rc;
}

static int au_validate(const warm_services *svc,
                       const warm_component_config *cfg, warm_error *err) {
  (void)svc;
  au *a = calloc(1, sizeof *a);
  if (!a) return warm_error_set(err, WARM_ENOMEM, AU_NAME ": out of memory");
  int rc = open_model(cfg, a, err);
  lxc_tab_free(&a->tab);
  warm_ltx2_close(a->f);
  free(a);
  return rc;
}

static int au_create(const warm_services *svc, const warm_component_config *cfg,
                     warm_instance **out, warm_error *err) {
  au *a = calloc(1, sizeof *a);
  if (!a) return warm_error_set(err, WARM_ENOMEM, AU_NAME ": out of memory");
  a->svc = svc;
  int rc = open_model(cfg, a, err);
  if (!rc) {
    a->st = warm_ltx2_st(a->f);
    a->name = strdup(cfg->name ? cfg->name : AU_NAME);
    a->mean = calloc(2 * (size_t)a->vae.stats, sizeof(float));
    if (!a->name || !a->mean)
      rc = warm_error_set(err, WARM_ENOMEM, AU_NAME ": out of memory");
    else
      a->std = a->mean + a->vae.stats;
  }
  if (!rc) rc = wpc_ctx(svc, cfg, (int)a->threads, a->name, &a->wk, err);
  for (int k = 0; k < 2 && !rc; k++) {
    /* The latent statistics stay on the host (read once, here). */
    int i = k ? a->vae.std : a->vae.mean;
    warm_tensor t;
    rc = warm_st_expect(a->st, a->tab.t[i].name, 1, a->tab.t[i].shape, &t, err);
    if (!rc)
      rc = warm_weight_convert(&t, WARM_F32, k ? a->std : a->mean, NULL, err);
  }
  if (!rc) {
    a->w.svc = svc;
    a->w.wk = a->wk;
    a->w.dtype = a->dtype;
  }
  if (rc) {
    au_destroy((warm_instance *)a);
    return rc;
  }
  *out = (warm_instance *)a;
  return 0;
}

static int au_estimate(warm_instance *inst, const warm_place_req *req,
                       const warm_job_shape *js, warm_estimate *out,
                       warm_error *err) {
  au *a = (au *)inst;
  int64_t frames = js && js->frames ? js->frames : DEF_FRAMES;
  if (frames > 100000)
    return warm_error_set(err, WARM_EINVAL, "%s: job too large", a->name);
  /* Audio latents: 25 per second of video, at the slowest frame rate. */
  int64_t T = (frames * 25 + a->min_fps - 1) / a->min_fps + 1;
  int64_t M = a->vae.stats / a->vae.z_channels;
  lxc_estimate_weights(&a->tab, req, out);
  size_t v = au_vae_workspace(a, T, M);
  size_t w = au_voc_workspace(a, au_vae_frames(&a->vae, T));
  out->workspace = v > w ? v : w;
  return 0;
}

static int au_place(warm_instance *inst, const warm_place_req *req,
                    warm_error *err) {
  au *a = (au *)inst;
  return lxc_place(&a->w, &a->tab, a->st, req, NULL, NULL, a->name, err);
}

static int vocode(au *a, const float *mel, int64_t frames, warm_run_args *args,
                  warm_error *err) {
  int64_t shape[2] = {a->voc.out_channels, au_voc_samples(&a->voc, frames)};
  warm_tensor o, sr;
  int64_t one[1] = {1};
  if (warm_tensor_alloc(&o, "waveform", WARM_F32, 2, shape))
    return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory", a->name);
  if (warm_tensor_alloc(&sr, "sample_rate", WARM_I32, 1, one)) {
    warm_tensor_free(&o);
    return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory", a->name);
  }
  ((int32_t *)sr.data)[0] = (int32_t)a->voc.sample_rate;
  int rc = au_voc_run(a, mel, frames, o.data, err);
  if (rc) {
    warm_tensor_free(&o);
    warm_tensor_free(&sr);
    return rc;
  }
  args->outputs[args->n_outputs++] = o;
  args->outputs[args->n_outputs++] = sr;
  return 0;
}

static int au_run(warm_instance *inst, warm_run_args *args, warm_error *err) {
  au *a = (au *)inst;
  if (!a->w.placement)
    return warm_error_set(err, WARM_EINVAL, "%s: run before place", a->name);
  a->w.streamed = 0;
  args->n_outputs = 0;
  int64_t d[3];
  const float *x;
  int rc;
  if (wpc_input(args, "latents")) {
    if ((rc = lxc_input_f32(args, "latents", 3, d, &x, a->name, err)))
      return rc;
    if (d[0] != a->vae.z_channels || d[0] * d[2] != a->vae.stats)
      return warm_error_set(err, WARM_EINVAL,
                            "%s: latents [%lld, %lld, %lld]; the audio VAE "
                            "takes [%lld, T, %lld]",
                            a->name, (long long)d[0], (long long)d[1],
                            (long long)d[2], (long long)a->vae.z_channels,
                            (long long)(a->vae.stats / a->vae.z_channels));
    if (d[1] > 100000)
      return warm_error_set(err, WARM_EINVAL,
                            "%s: %lld latent frames is too "
                            "many",
                            a->name, (long long)d[1]);
    int64_t frames = au_vae_frames(&a->vae, d[1]);
    int64_t shape[3] = {a->vae.out_ch, frames, a->vae.mel_bins};
    warm_tensor mel;
    if (warm_tensor_alloc(&mel, "mel", WARM_F32, 3, shape))
      return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory",
                            a->name);
    rc = au_vae_decode(a, x, d[1], d[2], mel.data, err);
    if (!rc) rc = vocode(a, mel.data, frames, args, err);
    if (rc) {
      warm_tensor_free(&mel);
      return rc;
    }
    args->outputs[args->n_outputs++] = mel;
  } else if (wpc_input(args, "mel")) {
    if ((rc = lxc_input_f32(args, "mel", 3, d, &x, a->name, err))) return rc;
    if (d[0] * d[2] != a->voc.in_channels || d[0] != 2 || d[1] > 1000000)
      return warm_error_set(err, WARM_EINVAL,
                            "%s: mel [%lld, %lld, %lld]; the vocoder takes "
                            "[2, T, %lld]",
                            a->name, (long long)d[0], (long long)d[1],
                            (long long)d[2],
                            (long long)(a->voc.in_channels / 2));
    if ((rc = vocode(a, x, d[1], args, err))) return rc;
  } else {
    return warm_error_set(err, WARM_EINVAL,
                          "%s: input \"latents\" (or \"mel\") is missing",
                          a->name);
  }
  args->used_placement = a->w.placement;
  args->streamed_bytes = a->w.streamed;
  return 0;
}

static void au_destroy(warm_instance *inst) {
  au *a = (au *)inst;
  if (!a) return;
  lxc_unplace(&a->w);
  if (a->wk) wk_ctx_destroy(a->wk);
  lxc_tab_free(&a->tab);
  warm_ltx2_close(a->f);
  free(a->mean);
  free(a->name);
  free(a);
}

static int au_fingerprint(warm_instance *inst, char out[65], warm_error *err) {
  au *a = (au *)inst;
  return lxc_fingerprint(a->st, &a->tab, AU_NAME, AU_VERSION, a->dtype, out,
                         a->name, err);
}

static int au_info(warm_instance *inst, warm_model_info *out, warm_error *err) {
  au *a = (au *)inst;
  if (!out || out->struct_size < sizeof(uint32_t))
    return warm_error_set(err, WARM_EINVAL, "%s: info: bad struct", a->name);
  if (WARM_HAS_FIELD(out->struct_size, warm_model_info, latent_channels))
    out->latent_channels = (uint32_t)a->vae.z_channels;
  if (WARM_HAS_FIELD(out->struct_size, warm_model_info, audio_channels)) {
    out->sample_rate = (uint32_t)a->voc.sample_rate;
    out->audio_channels = (uint32_t)a->voc.out_channels;
  }
  if (WARM_HAS_FIELD(out->struct_size, warm_model_info, audio_latent_bins))
    out->audio_latent_bins = (uint32_t)(a->vae.stats / a->vae.z_channels);
  return 0;
}

static const warm_plugin_desc au_desc = {
    .abi_major = WARM_ABI_MAJOR,
    .abi_minor = WARM_ABI_MINOR,
    .struct_size = sizeof(warm_plugin_desc),
    .name = AU_NAME,
    .version = AU_VERSION,
    .kind = WARM_KIND_AUDIO_DECODER,
    .devices = WARM_DEVCAP_CPU | WARM_DEVCAP_CUDA,
    .placements = WARM_PLACE_RESIDENT | WARM_PLACE_STREAM | WARM_PLACE_AUTO,
    .dtypes = WARM_DTYPECAP_F32 | WARM_DTYPECAP_BF16,
    .flags = WARM_FLAG_LIVE_PLACEMENT,
    .create = au_create,
    .estimate = au_estimate,
    .place = au_place,
    .run = au_run,
    .destroy = au_destroy,
    .validate = au_validate,
    .fingerprint = au_fingerprint,
    .info = au_info,
};

WARM_PLUGIN_EXPORT const warm_plugin_desc *warm_plugin_entry(void) {
  return &au_desc;
}
