/*
 * lt2.h — internals of the LTX-2 text encoder plugin (prefix lt2_): Gemma-3
 * (plugins/gemma3_core) with the feature extractor folded into its layer
 * loop, then the video and audio embeddings connectors.
 *
 * Files: lt2_config.c (the transformer config and tensor shapes of the
 * combined LTX-2 checkpoint), lt2_weights.c (the text-side weights as
 * "text layers": one projection slice per Gemma hidden state, a prelude of
 * biases and registers, one layer per connector block), lt2_feat.c (V1 / V2
 * normalisation and the per-hidden-state share of the projection),
 * lt2_conn.c (Embeddings1DConnector), lt2_plugin.c (the ABI entry points,
 * placement, run).
 */
#ifndef LT2_H
#define LT2_H

#include <stddef.h>
#include <stdint.h>

#include "g3_model.h"
#include "warm/ltx2.h"
#include "warm/streamer.h"
#include "warm/warm.h"
#include "wk.h"

#define LT2_NAME "text_encoder_ltx2"
#define LT2_VERSION "1.0.0"
#define LT2_DEFAULT_MAX_TOKENS 1024u
/* The reference's register count (Embeddings1DConnector's default, never
 * overridden by its configurators). */
#define LT2_REGISTERS 128

#define LT2_PREFIX_PROJ "text_embedding_projection."
#define LT2_PREFIX_VCONN "model.diffusion_model.video_embeddings_connector."
#define LT2_PREFIX_ACONN "model.diffusion_model.audio_embeddings_connector."

/* ---- configuration --------------------------------------------------------
 */

typedef struct lt2_conn_config {
  int64_t heads, head_dim, width, layers; /* width = heads * head_dim */
  int gated;                              /* 2.3: to_gate_logits */
} lt2_conn_config;

typedef struct lt2_config {
  int v2;         /* FeatureExtractorV2 (2.3) vs V1 (2.0) */
  int64_t D;      /* Gemma hidden */
  int64_t S;      /* hidden states: Gemma layers + 1 */
  int64_t Cv, Ca; /* feature widths into the video / audio connectors */
  lt2_conn_config vc, ac;
  int split_rope; /* rope_type "split" (else interleaved) */
  int f64_grid;   /* frequencies_precision "float64" */
  double max_pos; /* connector_positional_embedding_max_pos[0] */
  double theta;   /* the connector's positional_embedding_theta */
} lt2_config;

/* Reads the combined file's transformer config the way ltx-core's
 * EmbeddingsProcessorConfigurator does (same defaults; a partial or
 * unknown V2 key set is refused, as there) and checks the tensor shapes
 * against it and against the Gemma config (hidden D, S hidden states). */
int lt2_config_load(const warm_ltx2 *f, int64_t D, int64_t S, lt2_config *c,
                    warm_error *err);

/* ---- weights as text layers ------------------------------------------------
 */

/* Tensors of one connector block, in layer order. */
enum {
  LT2_B_Q_W = 0,
  LT2_B_Q_B,
  LT2_B_K_W,
  LT2_B_K_B,
  LT2_B_V_W,
  LT2_B_V_B,
  LT2_B_QN,
  LT2_B_KN,
  LT2_B_O_W,
  LT2_B_O_B,
  LT2_B_FF1_W,
  LT2_B_FF1_B,
  LT2_B_FF2_W,
  LT2_B_FF2_B,
  LT2_B_G_W, /* gated only */
  LT2_B_G_B,
  LT2_B_COUNT
};

/* A connector's prelude layer: its registers [128, width], then (V2) the
 * projection bias of its modality [width]. */
enum { LT2_P_REG = 0, LT2_P_BIAS, LT2_P_COUNT };

typedef struct lt2_tensor {
  const void *src; /* host bytes in storage format */
  uint64_t bytes;
  wk_dtype dt;
  float scale;
} lt2_tensor;

typedef struct lt2_layer {
  lt2_tensor t[LT2_B_COUNT];
  uint32_t n; /* tensors used, in order */
} lt2_layer;

/* Text layer order: 0..S-1 projection slices (video slice, then audio for
 * V2), then per connector (video, then audio) its prelude and its blocks.
 * A run acquires them in exactly this order. */
typedef struct lt2_weights {
  wk_dtype wdt;
  lt2_layer *layers;
  uint32_t n_layers;
  uint32_t pre[2]; /* prelude index of the video / audio connector */
  void **owned;
  size_t n_owned;
  uint64_t bytes; /* sum over every layer's tensors */
  int sizes_only; /* plan-only instance: sizes, no data */
} lt2_weights;

/* Builds the text layers from f for storage dtype wdt: projection columns
 * regrouped per hidden state (feature index d * S + l), matrices in wdt,
 * vectors and registers in f32. sizes_only (a plan-only instance): the
 * layers' sizes without reading, regrouping or converting any data (the
 * tensors' src are NULL). */
int lt2_weights_load(const warm_ltx2 *f, const lt2_config *c, wk_dtype wdt,
                     int sizes_only, lt2_weights *w, warm_error *err);
void lt2_weights_free(lt2_weights *w);

/* Device view of a text layer: tensor k at ptr[k]. */
typedef struct lt2_view {
  wk_w t[LT2_B_COUNT];
} lt2_view;
void lt2_view_make(lt2_view *v, const lt2_layer *l, void *const *ptrs);

/* ---- feature extractor ------------------------------------------------------
 */

/* Device buffers that live through the whole run: the accumulated
 * features (audio aliases video for V1). */
typedef struct lt2_feats {
  float *fv, *fa;
} lt2_feats;
uint64_t lt2_feats_bytes(const lt2_config *c, int64_t T);
void lt2_feats_carve(const lt2_config *c, int64_t T, void *base,
                     lt2_feats *out);

/* Scratch of the extractor during the Gemma pass. */
typedef struct lt2_xscratch {
  float *xhat, *xs, *tmp;
  void *scratch;
  size_t scratch_bytes;
} lt2_xscratch;
uint64_t lt2_xscratch_bytes(wk_ctx *wk, const lt2_config *c, wk_dtype wdt,
                            int64_t T);
void lt2_xscratch_carve(wk_ctx *wk, const lt2_config *c, wk_dtype wdt,
                        int64_t T, void *base, lt2_xscratch *out);

/* Hidden state `index` (x [T, D]) normalised and projected into the
 * accumulators; row0 = first valid row. proj is that index's projection
 * view (tensor 0 video, 1 audio). */
int lt2_feat_accumulate(wk_ctx *wk, const lt2_config *c, int64_t index,
                        const float *x, int64_t T, int64_t row0,
                        const lt2_view *proj, lt2_xscratch *xs, lt2_feats *f,
                        warm_error *err);

/* ---- connectors
 * --------------------------------------------------------------- */

typedef struct lt2_cacts {
  float *x, *h, *q, *k, *v, *attn, *gate, *ff, *cos, *sin;
  void *scratch;
  size_t scratch_bytes;
} lt2_cacts;
/* Workspace for running either connector on T tokens. */
uint64_t lt2_conn_ws_bytes(wk_ctx *wk, const lt2_config *c, wk_dtype wdt,
                           int64_t T);
void lt2_conn_ws_carve(wk_ctx *wk, const lt2_config *c, wk_dtype wdt, int64_t T,
                       void *base, lt2_cacts *a);

/* RoPE tables of a connector, in the layout wk_rope takes: split (per
 * (t, head) rows of head_dim, HALF) or interleaved ([T, width]). cos and
 * sin hold T * width floats each. */
int lt2_conn_rope(const lt2_config *c, const lt2_conn_config *cc, int64_t T,
                  float *cos, float *sin, warm_error *err);

/* Register replacement: the n valid rows of feats (its last n rows) move
 * to rows 0..n-1 of a->x, rows n..T-1 get registers[t mod 128]. */
int lt2_conn_registers(wk_ctx *wk, const lt2_conn_config *cc,
                       const float *feats, const float *registers, int64_t T,
                       int64_t n, lt2_cacts *a, warm_error *err);
/* One pre-norm block in place on a->x; the rope tables must be in
 * a->cos / a->sin. */
int lt2_conn_block(wk_ctx *wk, const lt2_conn_config *cc, int64_t T,
                   const lt2_view *b, lt2_cacts *a, int split_rope,
                   warm_error *err);
/* The final RMS norm (no weight) from a->x into out (device). */
int lt2_conn_final(wk_ctx *wk, const lt2_conn_config *cc, int64_t T,
                   lt2_cacts *a, float *out, warm_error *err);

#endif /* LT2_H */
