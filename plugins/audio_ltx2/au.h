/*
 * au.h — the LTX-2 audio decoder plugin: ltx-core 1.0.0's AudioDecoder
 * (audio latents -> mel spectrogram) and Vocoder (mel -> waveform; 2.0
 * HiFi-GAN), shared between its files:
 *   au_vae.c     config.audio_vae -> the decoder, and its forward pass
 *   au_voc.c     config.vocoder -> the vocoder, and its forward pass
 *   au_plugin.c  the ABI entry points
 */
#ifndef AU_H
#define AU_H

#include <stddef.h>
#include <stdint.h>

#include "lxc.h"

#define AU_NAME "audio_ltx2"
#define AU_VERSION "1.0.0"
#define AU_MAX_LEVELS 8
#define AU_MAX_BLOCKS 8
#define AU_MAX_UPS 8
#define AU_MAX_KERNELS 4

/* A 2-D conv over [C, time, freq], causal in time (ltx-core CausalConv2d
 * with causality_axis "height"). */
typedef struct au_conv2 {
  int w, b;
  int64_t ci, co, k;
} au_conv2;

typedef struct au_res {
  int64_t ci, co;
  au_conv2 conv1, conv2, nin; /* nin.w = -1 when ci == co */
} au_res;

typedef struct au_level {
  int n_blocks;
  au_res blocks[AU_MAX_BLOCKS];
  int has_up;
  au_conv2 up;
} au_level;

typedef struct au_vae {
  int64_t ch, out_ch, z_channels, mel_bins, n_levels, stats;
  au_conv2 conv_in, conv_out;
  au_res mid1, mid2;
  au_level levels[AU_MAX_LEVELS]; /* in run order (top level first) */
  int64_t final_channels;
  int mean, std; /* per_channel_statistics */
} au_vae;

/* A 1-D conv with its weight/bias and geometry. */
typedef struct au_conv1 {
  int w, b;
  int64_t ci, co, k, dilation;
} au_conv1;

/* BigVGAN's anti-aliased activation (Activation1d): x2 upsampling with a
 * stored kaiser-sinc filter, SnakeBeta (log-scale alpha, beta), low-pass
 * x2 downsampling with a stored filter. */
typedef struct au_act {
  int alpha, beta, up, down; /* tensor indices */
} au_act;

/* One ltx-core Vocoder: HiFi-GAN ("1": LeakyReLU, ResBlock1) or BigVGAN-v2
 * ("AMP1": Activation1d(SnakeBeta), AMPBlock1). */
typedef struct au_gen {
  int amp;
  int64_t in_channels, c0, n_ups, n_kernels, out_channels, sample_rate;
  int64_t rates[AU_MAX_UPS], up_k[AU_MAX_UPS], res_k[AU_MAX_KERNELS];
  int64_t dil[AU_MAX_KERNELS][3];
  au_conv1 conv_pre, conv_post;
  int ups_w[AU_MAX_UPS], ups_b[AU_MAX_UPS];
  au_conv1 c1[AU_MAX_UPS][AU_MAX_KERNELS][3], c2[AU_MAX_UPS][AU_MAX_KERNELS][3];
  au_act a1[AU_MAX_UPS][AU_MAX_KERNELS][3], a2[AU_MAX_UPS][AU_MAX_KERNELS][3];
  au_act act_post;
  int final_act; /* tanh, or clamp [-1, 1] when !tanh_out */
  int tanh_out;
} au_gen;

/* The vocoder: 2.0 one HiFi-GAN; 2.3 (VocoderWithBWE) a BigVGAN at 16 kHz,
 * a causal log-mel STFT of its output (stored bases), a second BigVGAN
 * predicting a residual, plus the 16 kHz signal resampled x3 (hann-windowed
 * sinc, computed), clamped to [-1, 1]. */
typedef struct au_voc {
  au_gen main, bwe;
  int has_bwe;
  int64_t in_channels, out_channels, sample_rate;
  int64_t n_fft, hop, n_mels, ratio;
  int fwd_basis, mel_basis;
  float resample[64]; /* the x3 resampler's filter */
  int64_t rs_k, rs_pad, rs_left, rs_right;
} au_voc;

typedef struct au {
  const warm_services *svc;
  char *name;
  warm_dtype dtype;
  int64_t threads, min_fps;
  au_vae vae;
  au_voc voc;
  lxc_tab tab;
  lxc_weights w;
  warm_ltx2 *f;
  const warm_st *st;
  wk_ctx *wk;
  float *mean, *std; /* audio latent statistics, host */
} au;

/* au_vae.c */
int au_vae_build(const warm_ltx2 *f, warm_dtype dt, au_vae *v, lxc_tab *tb,
                 warm_error *err);
int64_t au_vae_frames(const au_vae *v, int64_t T); /* mel frames: 4T - 3 */
size_t au_vae_workspace(const au *a, int64_t T, int64_t M);
/* z [zc, T, M] (host, normalised) -> mel [out_ch, 4T-3, mel_bins] (host). */
int au_vae_decode(au *a, const float *z, int64_t T, int64_t M, float *mel,
                  warm_error *err);

/* au_voc.c */
int au_voc_build(const warm_ltx2 *f, warm_dtype dt, au_voc *v, lxc_tab *tb,
                 warm_error *err);
int64_t au_voc_samples(const au_voc *v, int64_t frames);
size_t au_voc_workspace(const au *a, int64_t frames);
/* mel [2, frames, in/2] (host) -> waveform [2, samples] (host). */
int au_voc_run(au *a, const float *mel, int64_t frames, float *wave,
               warm_error *err);

#endif /* AU_H */
