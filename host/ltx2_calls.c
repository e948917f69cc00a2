/*
 * host/ltx2_calls.c — the component calls of an LTX-2 job around its
 * stages: injected or seeded noise, the image through the VAE encoder, the
 * upsampler and the decoders.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ltx2_int.h"
#include "image_in.h"
#include "sampler.h"

/* ---- the job
 * ----------------------------------------------------------------------- */

/* The noise of one state: the injected tensor `name` [n, c], or the seeded
 * generator's stream k. */
int lx_draw_noise(lx_job *J, const char *name, int k, float *out, int64_t n,
                  int64_t c) {
  if (!J->noise) {
    wh_noise(out, n * c, J->q.seed * 8u + (uint64_t)k);
    return 0;
  }
  warm_tensor t;
  int64_t shape[2] = {n, c};
  int rc = warm_st_expect(J->noise, name, 2, shape, &t, J->err);
  if (rc) return rc;
  if (t.dtype != WARM_F32)
    return warm_error_set(J->err, WARM_EFORMAT, "%s: noise '%s' must be f32",
                          warm_st_path(J->noise), name);
  memcpy(out, t.data, sizeof(float) * (size_t)(n * c));
  return 0;
}

/* One run of component c with inputs `in`; the outputs stay in *a. */
int lx_call(lx_job *J, wh_component *c, const warm_job_shape *shape,
            warm_tensor *in, uint32_t n_in, warm_run_args *a,
            warm_placement *used) {
  memset(a, 0, sizeof *a);
  a->inputs = in;
  a->n_inputs = n_in;
  return wh_pc_call(J->rt, c, shape, a, J->ctl, used, J->err);
}

/* VAE-encodes prepared pixels [3, 1, H, W] to first-frame tokens
 * [Hl*Wl, C]. */
static int encode_image(lx_job *J, const float *px, uint32_t H, uint32_t W,
                        float **tokens) {
  const int64_t C = J->w.vae.latent_channels, sc = J->w.vae.spatial_compression;
  warm_tensor in = {0};
  int64_t shape[4] = {3, 1, H, W};
  warm_run_args a;
  warm_placement u = 0;
  if (warm_tensor_alloc(&in, "frames", WARM_F32, 4, shape))
    return warm_error_set(J->err, WARM_ENOMEM, "out of memory");
  memcpy(in.data, px, sizeof(float) * 3 * H * W);
  warm_job_shape js = {J->T, 1, H, W, 1};
  int rc = lx_call(J, J->w.dec, &js, &in, 1, &a, &u);
  warm_tensor_free(&in);
  warm_tensor *z = rc ? NULL : wh_pc_output(&a, "latents");
  if (!rc &&
      (!z || z->dtype != WARM_F32 || z->ndim != 4 || z->shape[0] != C ||
       z->shape[1] != 1 || z->shape[2] != H / sc || z->shape[3] != W / sc))
    rc = warm_error_set(J->err, WARM_EFORMAT,
                        "decoder %s encoded the image to no f32 \"latents\" "
                        "[%lld, 1, %lld, %lld]",
                        J->w.dec->name, (long long)C, (long long)(H / sc),
                        (long long)(W / sc));
  if (!rc) {
    int64_t n = (H / sc) * (W / sc);
    *tokens = malloc(sizeof(float) * (size_t)(n * C));
    if (!*tokens)
      rc = warm_error_set(J->err, WARM_ENOMEM, "out of memory");
    else
      wh_ltx2_video_patchify(z->data, C, 1, H / sc, W / sc, *tokens);
  }
  wh_pc_free_outputs(&a);
  return rc;
}

/* The job's image at a stage's size as first-frame tokens [Hl*Wl, C]
 * (load_image_conditioning, then the VAE encoder), or NULL without one. */
int lx_image_tokens(lx_job *J, const wh_job_params *p, uint32_t H, uint32_t W,
                    float **tokens) {
  *tokens = NULL;
  if (!p->image_len) return 0;
  wh_image_format fmt;
  uint32_t sw = 0, sh = 0;
  int rc = wh_image_probe(p->image, p->image_len, &fmt, &sw, &sh, J->err);
  if (rc) return rc;
  const uint64_t C = J->w.vae.latent_channels,
                 sc = J->w.vae.spatial_compression;
  const uint64_t bytes = wh_image_prepare_bytes(sw, sh, W, H) +
                         sizeof(float) * C * (H / sc) * (W / sc);
  if ((rc = wh_hbook_add(&J->hb, bytes, J->err))) return rc;
  float *px = NULL;
  rc = wh_image_prepare(p->image, p->image_len, H, W, &px, J->err);
  if (!rc) rc = encode_image(J, px, H, W, tokens);
  free(px);
  /* The pixels are gone; the tokens stay booked until the job ends. */
  wh_hbook_sub(&J->hb, wh_image_prepare_bytes(sw, sh, W, H));
  return rc;
}

/* ---- decoding
 * ----------------------------------------------------------------- */

/* The upsampler: grid [C, F, H, W] -> [C, F, 2H, 2W] (malloc'd). */
int lx_upsample(lx_job *J, const float *grid, int64_t F, int64_t H, int64_t W,
                float **out) {
  const int64_t C = J->w.vae.latent_channels;
  if (!J->w.vae.latent_mean || !J->w.vae.latent_std)
    return warm_error_set(J->err, WARM_EINVAL,
                          "decoder %s reports no latent statistics for the "
                          "upsampler",
                          J->w.dec->name);
  warm_tensor in[3] = {{0}};
  int64_t s0[4] = {C, F, H, W}, s1[1] = {C};
  if (warm_tensor_alloc(&in[0], "latents", WARM_F32, 4, s0) ||
      warm_tensor_alloc(&in[1], "latent_mean", WARM_F32, 1, s1) ||
      warm_tensor_alloc(&in[2], "latent_std", WARM_F32, 1, s1)) {
    for (int k = 0; k < 3; k++)
      warm_tensor_free(&in[k]);
    return warm_error_set(J->err, WARM_ENOMEM, "out of memory");
  }
  memcpy(in[0].data, grid, sizeof(float) * (size_t)(C * F * H * W));
  memcpy(in[1].data, J->w.vae.latent_mean, sizeof(float) * (size_t)C);
  memcpy(in[2].data, J->w.vae.latent_std, sizeof(float) * (size_t)C);
  warm_run_args a;
  warm_placement u = 0;
  warm_job_shape js = {J->T, J->q.frames, J->q.height, J->q.width, 1};
  uint64_t s = J->ctl->streamed_bytes;
  int rc = lx_call(J, J->w.up, &js, in, 3, &a, &u);
  for (int k = 0; k < 3; k++)
    warm_tensor_free(&in[k]);
  warm_tensor *z = rc ? NULL : wh_pc_output(&a, "latents");
  if (!rc && (!z || z->dtype != WARM_F32 || z->ndim != 4 || z->shape[0] != C ||
              z->shape[1] != F || z->shape[2] != 2 * H || z->shape[3] != 2 * W))
    rc = warm_error_set(J->err, WARM_EFORMAT,
                        "upsampler %s returned no f32 \"latents\" [%lld, %lld, "
                        "%lld, %lld]",
                        J->w.up->name, (long long)C, (long long)F,
                        (long long)(2 * H), (long long)(2 * W));
  if (!rc) {
    *out = z->data;
    z->data = NULL;
    lx_note_component(J, J->w.up, u, J->ctl->streamed_bytes - s);
  }
  wh_pc_free_outputs(&a);
  return rc;
}

/* Runs a decoder-like component on one f32 input, keeping the named
 * output's tensor (moved into *out). */
int lx_decode_one(lx_job *J, wh_component *c, const warm_tensor *in,
                  const char *out_name, warm_tensor *out, warm_tensor *extra,
                  const char *extra_name) {
  warm_run_args a;
  warm_placement u = 0;
  warm_job_shape js = {J->T, J->q.frames, J->q.height, J->q.width, 1};
  uint64_t s = J->ctl->streamed_bytes;
  warm_tensor tmp = *in;
  int rc = lx_call(J, c, &js, &tmp, 1, &a, &u);
  warm_tensor *o = rc ? NULL : wh_pc_output(&a, out_name);
  if (!rc && (!o || o->dtype != WARM_F32))
    rc = warm_error_set(J->err, WARM_EFORMAT, "%s returned no f32 \"%s\"",
                        c->name, out_name);
  if (!rc) {
    *out = *o;
    o->data = NULL;
    if (extra) {
      warm_tensor *e = wh_pc_output(&a, extra_name);
      if (e) {
        *extra = *e;
        e->data = NULL;
      }
    }
    lx_note_component(J, c, u, J->ctl->streamed_bytes - s);
  }
  wh_pc_free_outputs(&a);
  return rc;
}
