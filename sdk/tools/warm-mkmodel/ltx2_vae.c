/* LTX-2 video VAE (ltx-core VideoEncoder / VideoDecoder) and audio VAE
 * (AudioEncoder / AudioDecoder) tensor plans, with the per-channel
 * statistics the files carry. */
#include <stdio.h>
#include <string.h>

#include "mk_ltx2.h"

static void iota_fill(const mk_tensor *t, float *out) {
  for (int64_t i = 0; i < t->shape[0]; i++)
    out[i] = (float)i;
}

/* Statistics: std-of-means positive (~1 +- 0.35), mean-of-means ~ N(0,
 * 0.2). The video file also carries `channel` (the channel index) and
 * `mean-of-stds`, which ltx-core ignores. */
static int stats(mk_plan *p, const char *pre, int64_t n, int video,
                 warm_error *err) {
  int64_t s[1] = {n};
  int rc = 0;
  if (video) {
    rc = mk_plan_add_func(p, iota_fill, NULL, 0, 1, s, err, "%schannel", pre);
    rc = rc ? rc
            : mk_plan_add(p, MK_NORMAL, 1.0f, 0.1f, 1, s, err, "%smean-of-stds",
                          pre);
  }
  rc = rc ? rc
          : mk_plan_add(p, MK_NORMAL, 0.0f, 0.2f, 1, s, err, "%smean-of-means",
                        pre);
  rc = rc ? rc
          : mk_plan_add(p, MK_NORMAL, 1.0f, 0.1f, 1, s, err, "%sstd-of-means",
                        pre);
  return rc;
}

/* A block of the config's encoder_blocks / decoder_blocks list. */
static int block_at(const json_t *list, size_t i, const char **name,
                    int64_t *layers, int64_t *mult, warm_error *err) {
  const json_t *b = json_array_get(list, i);
  const json_t *n = json_array_get(b, 0), *o = json_array_get(b, 1);
  if (!json_is_string(n) || !json_is_object(o))
    return warm_error_set(err, WARM_EINVAL,
                          "vae block %zu: expected [name, {...}]", i);
  *name = json_string_value(n);
  json_t *l = json_object_get(o, "num_layers"),
         *m = json_object_get(o, "multiplier");
  *layers = json_is_integer(l) ? json_integer_value(l) : 0;
  *mult = json_is_integer(m) ? json_integer_value(m) : 0;
  return 0;
}

static int res_blocks(mk_plan *p, const char *pre, int64_t ch, int64_t n,
                      warm_error *err) {
  static const int64_t k3[3] = {3, 3, 3};
  char name[200];
  int rc = 0;
  for (int64_t j = 0; !rc && j < n; j++) {
    snprintf(name, sizeof name, "%s.res_blocks.%lld.conv1.conv", pre,
             (long long)j);
    rc = lx_conv(p, name, ch, ch, 3, k3, 1, err);
    snprintf(name, sizeof name, "%s.res_blocks.%lld.conv2.conv", pre,
             (long long)j);
    rc = rc ? rc : lx_conv(p, name, ch, ch, 3, k3, 1, err);
  }
  return rc;
}

int lx_plan_video_vae(mk_plan *p, const json_t *vae, warm_error *err) {
  static const int64_t k3[3] = {3, 3, 3};
  int64_t latent, patch, base;
  int rc = lx_int(vae, "latent_channels", &latent, err);
  rc = rc ? rc : lx_int(vae, "patch_size", &patch, err);
  rc = rc ? rc : lx_int(vae, "decoder_base_channels", &base, err);
  if (rc) return rc;
  if (lx_bool(vae, "timestep_conditioning", 1))
    return warm_error_set(err, WARM_EINVAL,
                          "vae.timestep_conditioning: LTX-2 files have false");
  const json_t *dec = json_object_get(vae, "decoder_blocks");
  const json_t *enc = json_object_get(vae, "encoder_blocks");
  int64_t pix = 3 * patch * patch;
  char name[200];
  /* Decoder: conv_in latent -> 8 * base, then the config's blocks in
   * reverse order (up_blocks.0 is the last entry of decoder_blocks). */
  int64_t ch = 8 * base;
  size_t nd = json_array_size(dec);
  rc = lx_conv(p, "vae.decoder.conv_in.conv", ch, latent, 3, k3, 1, err);
  for (size_t i = 0; !rc && i < nd; i++) {
    const char *bn;
    int64_t layers, mult;
    if ((rc = block_at(dec, nd - 1 - i, &bn, &layers, &mult, err))) break;
    snprintf(name, sizeof name, "vae.decoder.up_blocks.%zu", i);
    if (strcmp(bn, "res_x") == 0) {
      rc = res_blocks(p, name, ch, layers, err);
    } else if (strncmp(bn, "compress_", 9) == 0) {
      int64_t prod = strcmp(bn, "compress_all") == 0    ? 8
                     : strcmp(bn, "compress_time") == 0 ? 2
                                                        : 4;
      if (mult <= 0) mult = 1;
      strncat(name, ".conv.conv", sizeof name - strlen(name) - 1);
      rc = lx_conv(p, name, prod * ch / mult, ch, 3, k3, 1, err);
      ch /= mult;
    } else {
      rc = warm_error_set(err, WARM_EINVAL,
                          "vae.decoder_blocks[%zu]: %s is "
                          "not an LTX-2 block",
                          i, bn);
    }
  }
  rc =
      rc ? rc : lx_conv(p, "vae.decoder.conv_out.conv", pix, ch, 3, k3, 1, err);
  /* Encoder: conv_in pixels -> latent, the blocks, conv_out -> latent + 1
   * (uniform log-variance). */
  ch = latent;
  rc = rc ? rc : lx_conv(p, "vae.encoder.conv_in.conv", ch, pix, 3, k3, 1, err);
  for (size_t i = 0; !rc && i < json_array_size(enc); i++) {
    const char *bn;
    int64_t layers, mult;
    if ((rc = block_at(enc, i, &bn, &layers, &mult, err))) break;
    snprintf(name, sizeof name, "vae.encoder.down_blocks.%zu", i);
    if (strcmp(bn, "res_x") == 0) {
      rc = res_blocks(p, name, ch, layers, err);
    } else if (strcmp(bn, "compress_all_res") == 0 ||
               strcmp(bn, "compress_space_res") == 0 ||
               strcmp(bn, "compress_time_res") == 0) {
      int64_t prod = bn[9] == 'a' ? 8 : bn[9] == 't' ? 2 : 4;
      int64_t out = ch * (mult > 0 ? mult : 2);
      strncat(name, ".conv.conv", sizeof name - strlen(name) - 1);
      rc = lx_conv(p, name, out / prod, ch, 3, k3, 1, err);
      ch = out;
    } else {
      rc = warm_error_set(err, WARM_EINVAL,
                          "vae.encoder_blocks[%zu]: %s is "
                          "not an LTX-2 block",
                          i, bn);
    }
  }
  rc = rc ? rc
          : lx_conv(p, "vae.encoder.conv_out.conv", latent + 1, ch, 3, k3, 1,
                    err);
  rc = rc ? rc : stats(p, "vae.per_channel_statistics.", latent, 1, err);
  return rc;
}

/* An audio ResnetBlock (2-D causal convs), with a 1x1 shortcut when the
 * width changes. */
static int audio_res(mk_plan *p, const char *pre, int64_t in, int64_t out,
                     warm_error *err) {
  static const int64_t k3[2] = {3, 3}, k1[2] = {1, 1};
  char n[200];
  snprintf(n, sizeof n, "%s.conv1.conv", pre);
  int rc = lx_conv(p, n, out, in, 2, k3, 1, err);
  snprintf(n, sizeof n, "%s.conv2.conv", pre);
  rc = rc ? rc : lx_conv(p, n, out, out, 2, k3, 1, err);
  if (!rc && in != out) {
    snprintf(n, sizeof n, "%s.nin_shortcut.conv", pre);
    rc = lx_conv(p, n, out, in, 2, k1, 1, err);
  }
  return rc;
}

int lx_plan_audio_vae(mk_plan *p, const json_t *avae, warm_error *err) {
  static const int64_t k3[2] = {3, 3};
  const json_t *dd = json_object_get(
      json_object_get(json_object_get(avae, "model"), "params"), "ddconfig");
  int64_t ch, out_ch, nres, z, mel, in_ch = 2;
  int rc = lx_int(dd, "ch", &ch, err);
  rc = rc ? rc : lx_int(dd, "out_ch", &out_ch, err);
  rc = rc ? rc : lx_int(dd, "num_res_blocks", &nres, err);
  rc = rc ? rc : lx_int(dd, "z_channels", &z, err);
  rc = rc ? rc : lx_int(dd, "mel_bins", &mel, err);
  if (!rc && json_object_get(dd, "in_channels"))
    rc = lx_int(dd, "in_channels", &in_ch, err);
  if (rc) return rc;
  const json_t *cm = json_object_get(dd, "ch_mult");
  size_t nl = json_array_size(cm);
  int64_t mult[8];
  if (nl < 1 || nl > 8)
    return warm_error_set(err, WARM_EINVAL, "audio_vae ch_mult: 1 to 8 levels");
  for (size_t i = 0; i < nl; i++)
    mult[i] = json_integer_value(json_array_get(cm, i));
  int64_t lat_mel = mel >> (nl - 1);
  if (z * lat_mel != ch)
    return warm_error_set(err, WARM_EINVAL,
                          "audio_vae: ch (%lld) must equal z_channels x "
                          "mel_bins / %d (%lld): the statistics' width",
                          (long long)ch, 1 << (nl - 1),
                          (long long)(z * lat_mel));
  char n[200];
  /* Decoder: conv_in z -> ch * mult[top], mid, up levels top..0. */
  int64_t bin = ch * mult[nl - 1];
  rc = lx_conv(p, "audio_vae.decoder.conv_in.conv", bin, z, 2, k3, 1, err);
  rc = rc ? rc : audio_res(p, "audio_vae.decoder.mid.block_1", bin, bin, err);
  rc = rc ? rc : audio_res(p, "audio_vae.decoder.mid.block_2", bin, bin, err);
  for (int64_t l = (int64_t)nl - 1; !rc && l >= 0; l--) {
    int64_t bout = ch * mult[l];
    for (int64_t j = 0; !rc && j <= nres; j++) {
      snprintf(n, sizeof n, "audio_vae.decoder.up.%lld.block.%lld",
               (long long)l, (long long)j);
      rc = audio_res(p, n, bin, bout, err);
      bin = bout;
    }
    if (!rc && l != 0) {
      snprintf(n, sizeof n, "audio_vae.decoder.up.%lld.upsample.conv.conv",
               (long long)l);
      rc = lx_conv(p, n, bin, bin, 2, k3, 1, err);
    }
  }
  rc = rc ? rc
          : lx_conv(p, "audio_vae.decoder.conv_out.conv", out_ch, bin, 2, k3, 1,
                    err);
  /* Encoder: conv_in -> ch, down levels 0..top, mid, conv_out -> 2z. */
  bin = ch;
  rc = rc ? rc
          : lx_conv(p, "audio_vae.encoder.conv_in.conv", ch, in_ch, 2, k3, 1,
                    err);
  for (size_t l = 0; !rc && l < nl; l++) {
    int64_t bout = ch * mult[l];
    for (int64_t j = 0; !rc && j < nres; j++) {
      snprintf(n, sizeof n, "audio_vae.encoder.down.%zu.block.%lld", l,
               (long long)j);
      rc = audio_res(p, n, bin, bout, err);
      bin = bout;
    }
    if (!rc && l + 1 != nl) {
      snprintf(n, sizeof n, "audio_vae.encoder.down.%zu.downsample.conv", l);
      rc = lx_conv(p, n, bin, bin, 2, k3, 1, err);
    }
  }
  rc = rc ? rc : audio_res(p, "audio_vae.encoder.mid.block_1", bin, bin, err);
  rc = rc ? rc : audio_res(p, "audio_vae.encoder.mid.block_2", bin, bin, err);
  int64_t zo = lx_bool(dd, "double_z", 1) ? 2 * z : z;
  rc = rc ? rc
          : lx_conv(p, "audio_vae.encoder.conv_out.conv", zo, bin, 2, k3, 1,
                    err);
  rc = rc ? rc : stats(p, "audio_vae.per_channel_statistics.", ch, 0, err);
  return rc;
}
