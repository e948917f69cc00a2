/*
 * ltx2.h — the LTX-2 / LTX-2.3 transformer plugin (ltx-core's LTXModel:
 * a video and an audio stream per block, text cross-attention, audio<->video
 * cross-attention, AdaLN-single modulation per token), shared between:
 *   ltx2_config.c   the combined file's config, the tensor tables, keys
 *   ltx2_rope.c     RoPE tables (split / interleaved), timestep segments
 *   ltx2_forward.c  workspace plan and the forward pass against wk ops
 *   ltx2_lora.c     LoRA files: fused at place time, or run-time adapters
 *   ltx2_plugin.c   the ABI descriptor and entry points
 * Weights placement (resident / stream) is plugins/common's wpc_weights.
 */
#ifndef LTX2_H
#define LTX2_H

#include <stddef.h>
#include <stdint.h>

#include "warm/lora.h"
#include "warm/ltx2.h"
#include "warm/model.h"
#include "warm/safetensors.h"
#include "warm/warm.h"
#include "wk.h"
#include "wpc.h"

#define LX_NAME "transformer_ltx2"
#define LX_VERSION "1.0.0"
#define LX_PREFIX WARM_LTX2_DIT
#define LX_MAX_ADAPTERS 8

enum { LX_VIDEO = 0, LX_AUDIO = 1 };

/* One stream's sizes. */
typedef struct lx_mcfg {
  int64_t heads, dh, dim, in, out, ctx_dim;
  int64_t n_pos;      /* position axes: 3 video, 1 audio */
  int64_t max_pos[3]; /* positional_embedding_max_pos */
} lx_mcfg;

/* config["transformer"] as ltx-core's configurators read it. */
typedef struct lx_cfg {
  int av; /* the file holds the audio stream (LTXModel), else video only */
  lx_mcfg m[2];
  int64_t layers, caption_channels;
  int capproj;  /* 2.0: caption projections inside the transformer */
  int split;    /* rope_type split (else interleaved) */
  int f64;      /* frequencies_precision float64 */
  int gated;    /* apply_gated_attention */
  int ca_adaln; /* cross_attention_adaln (2.3) */
  int64_t k;    /* AdaLN rows per block: 6, or 9 with ca_adaln */
  double eps, theta;
  float ts_mult, av_mult;
  int64_t cross_dim, cross_max_pos; /* A<->V RoPE: width and max_pos */
} lx_cfg;

/* Pack indices; -1 where the model has no such tensor. */
typedef struct lx_attn {
  int qn, kn, q, qb, k, kb, v, vb, o, ob, g, gb;
  int64_t heads, dh, inner, qdim, kvdim;
} lx_attn;
typedef struct lx_emb { /* AdaLayerNormSingle */
  int l1, l1b, l2, l2b, lin, linb;
  int64_t dim, coef;
} lx_emb;
typedef struct lx_gmod {
  int patch, patchb, cap1, cap1b, cap2, cap2b, sst, out, outb;
  lx_emb ada, prompt, avss, avgate;
} lx_gmod;
typedef struct lx_bmod {
  int sst, pst, avt, ff1, ff1b, ff2, ff2b;
  lx_attn a1, a2;
} lx_bmod;
typedef struct lx_tabs {
  lx_gmod g[2];
  lx_bmod b[2];
  lx_attn a2v, v2a;
} lx_tabs;

/* A `lora` / `lora.NAME` key: the file (warm/lora.h) and its strength. */
typedef struct lx_lora {
  char *path, *name; /* name NULL: fused */
  float strength;
  warm_lora *lf;
} lx_lora;

/* Plugin keys (see docs/ltx2.md). */
typedef struct lx_opts {
  int threads;
  double fps;           /* estimate: audio tokens from frames */
  int64_t tcomp, scomp; /* estimate: the video VAE's compression */
  int64_t max_tvalues;  /* distinct timestep values a run may carry */
  int bf16_positions;   /* position_dtype = bf16: video RoPE as a bf16 run */
  int bf16_act;         /* bf16_activations: -1 auto when parsed, resolved */
  lx_lora lora[LX_MAX_ADAPTERS];
  int n_lora;
} lx_opts;

/* A run-time adapter on the device: per block and tensor, A and S * B,
 * stored in the component dtype (bf16 for fp8 components). */
typedef struct lx_adapter {
  char *name;
  float strength;
  const warm_lora *lf; /* the file's pairs (owned by the opts) */
  warm_dtype dtype;
  int64_t rank;
  void *dev; /* one persistent blob */
  size_t bytes;
  size_t *off_a; /* [layers][b.n] offsets, SIZE_MAX where absent */
  size_t *off_b;
} lx_adapter;

typedef struct ltx2 {
  const warm_services *svc;
  char *name;
  warm_device device;
  warm_dtype dtype;
  lx_opts opts;
  lx_cfg cfg;
  lx_tabs tabs;
  warm_ltx2 *file;
  const warm_st *st; /* warm_ltx2_st(file) */
  wk_ctx *wk;
  wpc_weights w;
  lx_adapter ad[LX_MAX_ADAPTERS];
  int n_ad;
} ltx2;

/* ltx2_config.c */
int lx_open(const char *path, warm_ltx2 **f, lx_cfg *c, warm_error *err);
void lx_tables(const lx_cfg *c, warm_dtype dt, wpc_pack *g, wpc_pack *b,
               lx_tabs *t);
int lx_parse_opts(const warm_component_config *cfg, lx_opts *o,
                  warm_error *err);
void lx_opts_free(lx_opts *o);

/* ltx2_rope.c */
/* cos/sin tables for positions pos [B, P, N, 2] (only the first `P` axes
 * are read, the stride is P_total), width C: split -> [B*N*heads, C/heads]
 * in the rotate-half layout per head; interleaved -> [B*N, C]. bf16: the
 * positions and the fractions are rounded as a bf16 reference run rounds
 * them. 0 or WARM_ENOMEM. */
int lx_rope_tables(const lx_cfg *c, const float *pos, int64_t B, int64_t N,
                   int64_t P_total, int64_t P, const int64_t *max_pos,
                   int64_t C, int64_t heads, int bf16, float *cos_t,
                   float *sin_t);

/* Distinct timestep values and contiguous segments of one modality. */
typedef struct lx_seg {
  int64_t row, len; /* rows b*N + start .. */
  int64_t u;        /* index into the distinct values */
} lx_seg;
typedef struct lx_segs {
  float *val; /* distinct values [n_val] */
  int64_t n_val;
  lx_seg *seg;
  int64_t n_seg;
} lx_segs;
int lx_segments(const float *ts, int64_t B, int64_t N, int64_t max_vals,
                lx_segs *s);
void lx_segs_free(lx_segs *s);

/* ltx2_forward.c */
typedef struct lx_min { /* one modality of a run (host tensors) */
  int present;
  int64_t N, S;
  const float *latent, *ts, *sigma, *pos, *ctx;
} lx_min;
typedef struct lx_run {
  int64_t B;
  lx_min m[2];
  const uint8_t *skip; /* [B][layers] bits LX_SKIP_* */
  int adapter;         /* index into ad[], -1 none */
  int64_t n_val[2];    /* distinct timestep values (for the plan) */
} lx_run;
enum {
  LX_SKIP_VSELF = 1,
  LX_SKIP_ASELF = 2,
  LX_SKIP_A2V = 4,
  LX_SKIP_V2A = 8,
};
size_t lx_workspace_bytes(const ltx2 *m, const lx_run *r);
int lx_forward(ltx2 *m, const lx_run *r, float *out_v, float *out_a,
               uint64_t *streamed, warm_error *err);

/* ltx2_lora.c */
int lx_lora_open(ltx2 *m, warm_error *err);
int lx_fuse(void *user, const char *key, float *w, int64_t rows, int64_t cols,
            warm_error *err);
uint64_t lx_adapters_bytes(const ltx2 *m);
int lx_adapters_init(ltx2 *m, warm_error *err);
int lx_adapters_place(ltx2 *m, warm_error *err);
void lx_adapters_free(ltx2 *m);

#endif /* LTX2_H */
