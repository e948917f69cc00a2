/*
 * lvae.h — the LTX-Video VAE decoder plugin (diffusers'
 * AutoencoderKLLTXVideo, decoder only), shared between its files:
 *   lvae_net.c      config.json -> the decoder's structure and tensor table
 *   lvae_decode.c   one tile through the decoder on the device (wk ops)
 *   lvae_plugin.c   the ABI entry points, de-normalisation, tiling, blending
 */
#ifndef LVAE_H
#define LVAE_H

#include <stddef.h>
#include <stdint.h>

#include "warm/model.h"
#include "warm/safetensors.h"
#include "warm/warm.h"
#include "wk.h"

#define LVAE_NAME "vae_ltxv"
#define LVAE_VERSION "1.0.0"
#define LVAE_MAX_BLOCKS 8
#define LVAE_MAX_RES 16
#define LVAE_TPROJ 256 /* = LXC_TPROJ (ltx2_common's timestep projection) */

/* One weight tensor: diffusers name, shape, stored dtype class and place in
 * the device blob. Convolution and linear weights are stored in the
 * component dtype; everything else in f32. */
typedef struct lvae_tspec {
  char name[112];
  int32_t ndim;
  int64_t shape[5];
  int matrix;
  size_t offset, bytes;
  float scale; /* fp8 scale once placed */
} lvae_tspec;

/* A causal/non-causal conv3d (kernel k^3, or 1 for shortcuts). */
typedef struct lvae_conv {
  int w, b; /* tensor indices */
  int64_t ci, co, k;
} lvae_conv;

/* The 2-layer MLP on the sinusoidal timestep (TimestepEmbedding). */
typedef struct lvae_temb {
  int l1w, l1b, l2w, l2b; /* -1 when the block has none */
  int64_t dim;
} lvae_temb;

/* LTXVideoResnetBlock3d. */
typedef struct lvae_res {
  int64_t ci, co;
  lvae_conv conv1, conv2, shortcut; /* shortcut.w = -1 when ci == co */
  int norm3_w, norm3_b;             /* LayerNorm when ci != co */
  int sst;                          /* [4, ci] when timestep-conditioned */
} lvae_res;

/* The mid block (up = 0) or an up block. */
typedef struct lvae_block {
  int up;
  lvae_temb temb;
  int has_conv_in;
  lvae_res conv_in;
  int has_upsampler, residual;
  lvae_conv upconv;
  int64_t up_cin, upscale; /* upsampler input channels, upscale factor */
  int n_res;
  lvae_res res[LVAE_MAX_RES];
} lvae_block;

typedef struct lvae_net {
  /* config.json */
  int64_t latent_channels, out_channels, patch_size, patch_size_t;
  int causal, timestep_conditioning;
  double resnet_eps, scaling_factor;
  int64_t scomp, tcomp; /* spatial / temporal compression */
  /* structure */
  lvae_conv conv_in, conv_out;
  int n_blocks; /* mid + up blocks */
  lvae_block blocks[LVAE_MAX_BLOCKS];
  lvae_temb final_temb;
  int final_sst, tsm; /* scale_shift_table [2, C], timestep multiplier */
  int64_t final_channels;
  int mean, std; /* latents_mean / latents_std */
  /* tensor table */
  lvae_tspec *t;
  int n_t, cap_t;
  size_t blob_bytes;
} lvae_net;

/* Per-instance options (plugin keys; docs/ltxv.md). */
typedef struct lvae_opts {
  int64_t tile_size, tile_stride; /* pixels, like diffusers' tiled decode */
  int tiling, clamp, threads;
  double decode_timestep;
} lvae_opts;

typedef struct lvae {
  const warm_services *svc;
  char *name;
  warm_device device;
  warm_dtype dtype;
  lvae_opts opts;
  lvae_net net;
  warm_st *st;
  wk_ctx *wk;
  void *blob; /* all weights, persistent */
  float *mean, *std;
  float tsm;
} lvae;

/* lvae_net.c */
int lvae_net_build(const char *weights, warm_dtype dt, lvae_net *n,
                   warm_error *err);
void lvae_net_free(lvae_net *n);
int lvae_net_check(const lvae_net *n, const warm_st *st, warm_error *err);
int lvae_parse_opts(const warm_component_config *cfg, lvae_opts *o,
                    warm_error *err);

/* lvae_decode.c: latent tile [C, F, h, w] (de-normalised, on the host) ->
 * conv_out output [Cp, F', h', w'] on the host (before unpatchify). */
typedef struct lvae_dims {
  int64_t F, H, W;    /* latent tile */
  int64_t Fo, Ho, Wo; /* conv_out output (pre-unpatchify) */
  int64_t Cp;         /* conv_out channels */
} lvae_dims;
void lvae_dims_of(const lvae_net *n, int64_t F, int64_t H, int64_t W,
                  lvae_dims *d);
size_t lvae_workspace_bytes(const lvae *v, int64_t F, int64_t H, int64_t W);
int lvae_decode_tile(lvae *v, const float *z, int64_t F, int64_t H, int64_t W,
                     float temb, float *out, warm_error *err);

#endif /* LVAE_H */
