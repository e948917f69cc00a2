/*
 * g3.h — the Gemma-3 core shared by the text encoder plugins (prefix g3_).
 *
 * Files: g3_config.c (config.json), g3_tok.cc (SentencePiece shim),
 * g3_prompt.c (UTF-8 check, BOS, truncation, left padding), g3_weights.c
 * (tensor names, validation, conversion into per-layer blobs),
 * g3_forward.c (the model against wk.h), g3_model.c (placements, ledger
 * bookings, the layer loop; see g3_model.h). Everything here is compiled
 * into the static library gemma3_core that text_encoder_gemma3,
 * text_encoder_ltx2 and the unit tests link.
 */
#ifndef G3_H
#define G3_H

#include <stddef.h>
#include <stdint.h>

#include "warm/warm.h"
#include "wk.h"

#ifdef __cplusplus
extern "C" {
#endif

#define G3_NAME "text_encoder_gemma3"
#define G3_VERSION "1.0.0"
#define G3_DEFAULT_MAX_TOKENS 1024u

/* ---- model configuration (config.json) ---------------------------------- */

typedef struct g3_config {
  int64_t vocab, hidden, inter, layers, heads, kv_heads, head_dim;
  double eps;
  double query_pre_attn_scalar;
  int64_t sliding_window;
  uint8_t *sliding; /* [layers]: 1 = sliding_attention, 0 = full */
  double theta_local, factor_local;   /* sliding layers' RoPE */
  double theta_global, factor_global; /* full layers' RoPE (linear scaling) */
  int32_t pad_id, bos_id;
  int multimodal; /* config.json had text_config */
} g3_config;

/* Reads DIR/config.json (text-only, or multimodal with text_config) into
 * *cfg, with HF Gemma3TextConfig's defaults for absent keys. Refuses what
 * this plugin does not implement (bidirectional attention, logit softcaps,
 * another activation or RoPE type) with a message naming the key. The
 * caller frees with g3_config_free. */
int g3_config_load(const char *dir, g3_config *cfg, warm_error *err);
void g3_config_free(g3_config *cfg);

/* ---- tokenizer (C++ shim over libsentencepiece) ------------------------ */

typedef struct g3_tok g3_tok;

/* Loads a SentencePiece model file. The caller owns *out. */
int g3_tok_open(const char *path, g3_tok **out, warm_error *err);
void g3_tok_close(g3_tok *t);
int32_t g3_tok_vocab(const g3_tok *t);
/* Pieces of `text` (no BOS) into a malloc'd array the caller frees. */
int g3_tok_encode(g3_tok *t, const char *text, int32_t **ids, size_t *n,
                  warm_error *err);

/* ---- prompt -> ids + mask ---------------------------------------------- */

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or code
 * points past U+10FFFF); else 0 and *bad_at is the offending byte offset. */
int g3_utf8_valid(const char *s, size_t n, size_t *bad_at);

typedef struct g3_prompt {
  int32_t *ids;       /* [T], left-padded with pad_id */
  int32_t *mask;      /* [T], 1 on real tokens */
  uint32_t T;         /* max_tokens */
  uint32_t n_real;    /* BOS + pieces kept */
  uint32_t n_dropped; /* pieces cut by truncation */
} g3_prompt;

/* BOS + pieces, truncated to the first max_tokens - 1 pieces, left padded
 * to max_tokens. An empty prompt is BOS alone; invalid UTF-8 is refused. The caller
 * frees with g3_prompt_free. */
int g3_prompt_make(g3_tok *tok, const char *prompt, uint32_t max_tokens,
                   int32_t bos_id, int32_t pad_id, g3_prompt *out,
                   warm_error *err);
void g3_prompt_free(g3_prompt *p);

/* ---- weights ------------------------------------------------------------- */

/* The tensors of one decoder layer, in blob order. */
enum {
  G3_T_IN_NORM = 0,
  G3_T_Q,
  G3_T_K,
  G3_T_V,
  G3_T_O,
  G3_T_Q_NORM,
  G3_T_K_NORM,
  G3_T_POST_ATTN_NORM,
  G3_T_PRE_FF_NORM,
  G3_T_POST_FF_NORM,
  G3_T_GATE,
  G3_T_UP,
  G3_T_DOWN,
  G3_T_COUNT
};

/* Where each layer tensor sits inside a layer blob. Matrices are stored in
 * the component's weight dtype, norm vectors always in f32 (they are tiny and
 * Gemma adds 1 to them in f32). Offsets are 256-byte aligned. */
typedef struct g3_layout {
  uint64_t off[G3_T_COUNT];
  uint64_t bytes[G3_T_COUNT];
  wk_dtype dt[G3_T_COUNT];
  uint64_t blob_bytes; /* one layer */
} g3_layout;

/* The weights in their storage format on the host, tensor by tensor:
 * pointers straight into the checkpoint's mmap when its dtype already is the
 * storage dtype, else into converted copies this struct owns. These are the
 * sources of resident placement and of the streamer (both stream sources:
 * the streamer makes its own page-locked copy for the pinned one). */
typedef struct g3_weights {
  g3_layout lay;
  wk_dtype wdt;
  const void **src;  /* [layers * G3_T_COUNT] */
  float *scale;      /* [layers * G3_T_COUNT]: fp8 scales, 1 otherwise */
  const void *embed; /* [vocab, hidden] in wdt */
  float embed_scale; /* fp8 scale of the table, 1 otherwise */
  uint64_t embed_bytes;
  float *final_norm; /* [hidden] f32, owned */
  void **owned;      /* converted copies */
  size_t n_owned;
  uint64_t converted_bytes; /* host RAM held by converted copies */
  int sizes_only;           /* plan-only instance: no data read or converted */
} g3_weights;

/* Layer tensor name suffixes ("input_layernorm.weight", ...). */
extern const char *const g3_tensor_suffix[G3_T_COUNT];

/* Expected shape of layer tensor `which`. */
void g3_tensor_shape(const g3_config *cfg, int which, int32_t *ndim,
                     int64_t shape[2]);
void g3_layout_init(g3_layout *lay, const g3_config *cfg, wk_dtype wdt);

struct warm_st;
/* Finds the tensor prefix ("model.", "model.language_model.",
 * "language_model.model.") by the embedding table's name. */
int g3_find_prefix(const struct warm_st *st, const char **prefix,
                   warm_error *err);
/* Every tensor present with the configured shape and a float dtype; the
 * message names the first missing or misshapen tensor. */
int g3_check_tensors(const struct warm_st *st, const g3_config *cfg,
                     const char *prefix, warm_error *err);

/* Fills *w for storage dtype wdt, converting only the tensors whose
 * checkpoint dtype differs (norm vectors to f32). The views into st stay
 * valid only while st is open. The caller frees with g3_weights_free.
 * sizes_only (a plan-only instance): every shape is checked and every size
 * counted, but no tensor data is read or converted (the pointers are
 * NULL). */
int g3_weights_load(const struct warm_st *st, const g3_config *cfg,
                    const char *prefix, wk_dtype wdt, int sizes_only,
                    g3_weights *w, warm_error *err);
void g3_weights_free(g3_weights *w);

/* ---- forward ----------------------------------------------------------- */

/* Device pointers of one layer's tensors (inside a resident blob or a
 * window slot). */
typedef struct g3_layer_view {
  wk_w t[G3_T_COUNT];
} g3_layer_view;

/* From a resident blob laid out by w->lay. */
void g3_layer_view_blob(g3_layer_view *v, const g3_weights *w, int layer,
                        const void *blob_dev);
/* From the streamer's per-tensor device pointers. */
void g3_layer_view_ptrs(g3_layer_view *v, const g3_weights *w, int layer,
                        void *const *ptrs);

/* Activation buffers for one run, carved from one workspace allocation. */
typedef struct g3_acts {
  float *x, *h, *q, *k, *v, *attn, *gate, *up;
  float *cos_l, *sin_l, *cos_g, *sin_g;
  int32_t *mask;
  void *scratch;
  size_t scratch_bytes;
} g3_acts;

/* Bytes of device workspace one run with T tokens needs (activations + op
 * scratch, 256-aligned pieces). Exact: g3_acts_carve uses the same sums. */
uint64_t g3_workspace_bytes(wk_ctx *c, const g3_config *cfg, wk_dtype wdt,
                            int64_t T);
void g3_acts_carve(wk_ctx *c, const g3_config *cfg, wk_dtype wdt, int64_t T,
                   void *base, g3_acts *a);

/* RoPE tables for positions 0..T-1 the way HF computes them (f32 inverse
 * frequencies, divided by the linear factor), into host arrays [T, D]. */
void g3_rope_tables(const g3_config *cfg, int64_t T, int global, float *cos,
                    float *sin);

/* One decoder layer in place on a->x [T, C]. */
int g3_layer_forward(wk_ctx *c, const g3_config *cfg, int layer,
                     const g3_layer_view *lv, g3_acts *a, int64_t T,
                     warm_error *err);

#ifdef __cplusplus
}
#endif
#endif /* G3_H */
