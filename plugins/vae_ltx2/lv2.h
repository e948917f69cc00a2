/*
 * lv2.h — the LTX-2 video VAE plugin (ltx-core 1.0.0's VideoDecoder and
 * VideoEncoder from the combined checkpoint), shared between its files:
 *   lv2_net.c     config.vae -> the decoder's structure and tensor table
 *   lv2_decode.c  one latent tile through the decoder on the device
 *   lv2_tiles.c   ltx-core's spatial + temporal tiles and trapezoid blending
 *   lv2_plugin.c  the ABI entry points
 */
#ifndef LV2_H
#define LV2_H

#include <stddef.h>
#include <stdint.h>

#include "lxc.h"

#define LV2_NAME "vae_ltx2"
#define LV2_VERSION "1.0.0"
#define LV2_MAX_BLOCKS 16
#define LV2_MAX_RES 16

enum { LV2_RES = 1, LV2_D2S = 2, LV2_S2D = 3 };

/* A conv with kernel k^3 (causal-capable, spatial padding per config). */
typedef struct lv2_conv {
  int w, b; /* tensor indices */
  int64_t ci, co, k;
} lv2_conv;

/* TimestepEmbedding after the 256-wide projection (linear, SiLU, linear). */
typedef struct lv2_temb {
  int l1w, l1b, l2w, l2b; /* -1 when absent */
  int64_t dim;
} lv2_temb;

typedef struct lv2_res {
  lv2_conv conv1, conv2;
  int sst; /* scale_shift_table [4, C], -1 without timestep conditioning */
} lv2_res;

/* res_x (UNetMidBlock3D) or compress_* (DepthToSpaceUpsample). */
typedef struct lv2_block {
  int kind;
  int64_t ci, co;
  /* res_x */
  int n_res;
  lv2_res res[LV2_MAX_RES];
  lv2_temb temb;
  /* compress_* (decoder: depth to space; encoder: space to depth with a
   * channel-group mean of `group` on the skip path) */
  int st, sh, sw, mult, residual;
  int64_t group;
  lv2_conv conv;
} lv2_block;

typedef struct lv2_dec {
  int64_t latent_channels, out_channels, patch_size;
  int causal, tc, spad; /* spad: WK_PAD_* */
  lv2_conv conv_in, conv_out;
  int n_blocks;
  lv2_block blocks[LV2_MAX_BLOCKS];
  lv2_temb last_temb;
  int last_sst, tsm; /* [2, C]; timestep_scale_multiplier */
  int64_t final_channels;
  int64_t tcomp, scomp; /* frames = (F-1)*tcomp + 1, pixels = scomp * cells */
  int mean, std;        /* per_channel_statistics */
} lv2_dec;

/* VideoEncoder: patchify, causal convs, compress_*_res blocks, PixelNorm,
 * SiLU, conv_out; the means normalised with the statistics. */
typedef struct lv2_enc {
  int present;
  int64_t in_channels, patch_size, latent_channels, out_channels;
  int spad;
  lv2_conv conv_in, conv_out;
  int n_blocks;
  lv2_block blocks[LV2_MAX_BLOCKS];
  int64_t final_channels, tcomp, scomp;
} lv2_enc;

/* Plugin keys (docs/ltx2.md "Decoders"). */
typedef struct lv2_opts {
  int tiling;
  int64_t tile_size, tile_overlap; /* pixels */
  int64_t tile_frames, tile_frames_overlap;
  int64_t threads, noise_seed;
  double decode_timestep;
  int encoder; /* load the encoder's weights (when the file has them) */
  /* The most frames one encode call takes (0: the job's whole video);
   * image conditioning encodes 1. */
  int64_t encode_frames;
  /* Resident on the cpu: the convs' weights reordered once into a pack
   * arena booked with them (wk_set_pack_arena), not on every call: about
   * the conv weights' size again, for less work per tile. Off by default. */
  int pack_weights;
} lv2_opts;

typedef struct lv2 {
  const warm_services *svc;
  char *name;
  warm_dtype dtype;
  lv2_opts opts;
  lv2_dec dec;
  lv2_enc enc;
  lxc_tab tab;
  lxc_weights w;
  warm_ltx2 *f;
  const warm_st *st;
  wk_ctx *wk;
  float *mean, *std; /* host copies of the statistics (read once) */
  float tsm;
} lv2;

/* lv2_net.c */
int lv2_dec_build(const warm_ltx2 *f, warm_dtype dt, lv2_dec *d, lxc_tab *tb,
                  warm_error *err);
int lv2_enc_build(const warm_ltx2 *f, warm_dtype dt, int want, lv2_enc *e,
                  lxc_tab *tb, warm_error *err);
int lv2_parse_opts(const warm_component_config *cfg, lv2_opts *o,
                   warm_error *err);
/* Output extent of a latent tile of F frames: (F-1)*tcomp + 1. */
int64_t lv2_frames_of(const lv2_dec *d, int64_t F);

/* lv2_decode.c: latent tile z [C, F, h, w] (host, normalised; noise [C, F,
 * h, w] or NULL) -> frames [3, F', h*s, w*s] on the host. */
size_t lv2_decode_workspace(const lv2 *v, int64_t F, int64_t H, int64_t W);
/* Packed conv weights (wk_conv3d_packed_bytes) of one decode / encode. */
size_t lv2_decode_pack_bytes(const lv2 *v, int64_t F, int64_t H, int64_t W);
size_t lv2_encode_pack_bytes(const lv2 *v, int64_t F, int64_t H, int64_t W);
int lv2_decode_tile(lv2 *v, const float *z, const float *noise, int64_t F,
                    int64_t H, int64_t W, float *out, warm_error *err);

/* lv2_encode.c: frames [3, F, H, W] (host, [-1, 1], F = 1 + tcomp*k, H and
 * W multiples of scomp) -> normalised latent means [C, F', H', W'] (host). */
size_t lv2_encode_workspace(const lv2 *v, int64_t F, int64_t H, int64_t W);
int lv2_encode(lv2 *v, const float *px, int64_t F, int64_t H, int64_t W,
               float *out, warm_error *err);

/* lv2_tiles.c: the whole latent [C, F, H, W] through ltx-core's tiled
 * decode into out [3, F', H*s, W*s]; and the largest latent tile it uses. */
int lv2_decode_tiled(lv2 *v, const float *z, const float *noise, int64_t F,
                     int64_t H, int64_t W, float *out, warm_error *err);
void lv2_tile_extent(const lv2 *v, int64_t F, int64_t H, int64_t W, int64_t *tf,
                     int64_t *th, int64_t *tw);

#endif /* LV2_H */
