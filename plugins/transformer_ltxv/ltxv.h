/*
 * ltxv.h — the LTX-Video diffusion transformer plugin (diffusers'
 * LTXVideoTransformer3DModel), shared between its files:
 *   ltxv_config.c   config.json -> ltxv_cfg, the tensor table, validation
 *   ltxv_forward.c  timestep / RoPE tables, workspace plan, the forward pass
 *   ltxv_plugin.c   the ABI descriptor and entry points
 * Weights placement (resident blobs, the block streamer), the timestep
 * projection and fingerprints come from plugins/common (wpc_*).
 */
#ifndef LTXV_H
#define LTXV_H

#include <stddef.h>
#include <stdint.h>

#include "warm/model.h"
#include "warm/safetensors.h"
#include "warm/streamer.h"
#include "warm/warm.h"
#include "wk.h"
#include "wpc.h"

#define LTXV_NAME "transformer_ltxv"
#define LTXV_VERSION "1.0.0"
#define LTXV_TPROJ WPC_TPROJ /* sinusoidal timestep channels */
#define LTXV_MAX_TENSORS 32  /* per block, and for the globals */

/* The model's config.json, as diffusers reads it. */
typedef struct ltxv_cfg {
  int64_t in_channels, out_channels, patch_size, patch_size_t;
  int64_t heads, head_dim, cross_dim, layers, caption_channels;
  int norm_affine, attn_bias, attn_out_bias;
  double norm_eps;
  int64_t dim; /* heads * head_dim */
} ltxv_cfg;

/* Indices into the per-block table (absent optional tensors keep their slot
 * with bytes 0 so indices never move). */
enum {
  LB_NORM1,
  LB_NORM2,
  LB_A1_NQ,
  LB_A1_NK,
  LB_A1_Q,
  LB_A1_QB,
  LB_A1_K,
  LB_A1_KB,
  LB_A1_V,
  LB_A1_VB,
  LB_A1_O,
  LB_A1_OB,
  LB_A2_NQ,
  LB_A2_NK,
  LB_A2_Q,
  LB_A2_QB,
  LB_A2_K,
  LB_A2_KB,
  LB_A2_V,
  LB_A2_VB,
  LB_A2_O,
  LB_A2_OB,
  LB_FF1,
  LB_FF1B,
  LB_FF2,
  LB_FF2B,
  LB_SST,
  LB_COUNT
};
_Static_assert((int)LB_COUNT <= LTXV_MAX_TENSORS, "block table");
enum {
  LG_PROJ_IN,
  LG_PROJ_IN_B,
  LG_SST,
  LG_T1,
  LG_T1B,
  LG_T2,
  LG_T2B,
  LG_TLIN,
  LG_TLINB,
  LG_C1,
  LG_C1B,
  LG_C2,
  LG_C2B,
  LG_PROJ_OUT,
  LG_PROJ_OUT_B,
  LG_COUNT
};
_Static_assert((int)LG_COUNT <= LTXV_MAX_TENSORS, "globals table");

/* Per-run options the host or the config sets (see docs/ltxv.md). */
typedef struct ltxv_opts {
  double fps;
  int64_t tcomp, scomp; /* the VAE's temporal / spatial compression */
  int threads;
  int bf16_act; /* bf16_activations: -1 auto when parsed, then resolved */
} ltxv_opts;

typedef struct ltxv {
  const warm_services *svc;
  char *name;
  warm_device device;
  warm_dtype dtype;
  ltxv_opts opts;
  ltxv_cfg cfg;
  warm_st *st;
  wk_ctx *wk;
  /* The globals and block packs (w.g, w.b, in LG_ / LB_ order) and their
   * placement. */
  wpc_weights w;
} ltxv;

/* ltxv_config.c */
int ltxv_cfg_read(const char *weights, ltxv_cfg *cfg, warm_error *err);
void ltxv_packs_build(const ltxv_cfg *cfg, warm_dtype dt, wpc_pack *g,
                      wpc_pack *b);
int ltxv_check_weights(const warm_st *st, const ltxv_cfg *cfg,
                       const wpc_pack *g, const wpc_pack *b, warm_error *err);
int ltxv_parse_opts(const warm_component_config *cfg, ltxv_opts *o,
                    warm_error *err);

/* ltxv_forward.c */
typedef struct ltxv_shape {
  int64_t B, F, H, W; /* latent video (pre-patch) */
  int64_t Fp, Hp, Wp; /* token grid (post-patch) */
  int64_t N, T;       /* tokens per sample, text tokens */
} ltxv_shape;
size_t ltxv_workspace_bytes(const ltxv *m, const ltxv_shape *s);
int ltxv_forward(ltxv *m, const ltxv_shape *s, const float *latents,
                 const float *timestep, const float *emb, const int32_t *mask,
                 double fps, float *velocity, uint64_t *streamed,
                 warm_error *err);
/* Host RoPE tables [N, dim]; 0 or WARM_ENOMEM. */
int ltxv_rope_tables(const ltxv_cfg *c, const ltxv_shape *s, double fps,
                     int64_t tcomp, int64_t scomp, float *cos_t, float *sin_t);

#endif /* LTXV_H */
