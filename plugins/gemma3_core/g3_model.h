/*
 * g3_model.h — the Gemma-3 stack as a reusable engine (prefix g3_model_):
 * opening a checkpoint folder, estimating and placing the layer weights
 * (resident blobs or the weight streamer's window) and running the layer
 * loop with a hook that sees every hidden state on the device as soon as
 * it exists. text_encoder_gemma3 and text_encoder_ltx2 both drive it; what
 * they do with the hidden states is theirs.
 *
 * Memory. Every device byte comes from svc->dev_alloc: the final norm
 * (persistent, kept across placements), the resident embedding table and
 * layer blobs (persistent), the streamer's window slots (window) and one
 * workspace block per encode (workspace). g3_model_estimate adds up exactly
 * these sizes.
 */
#ifndef G3_MODEL_H
#define G3_MODEL_H

#include "g3.h"
#include "warm/plugin.h"
#include "warm/streamer.h"

#ifdef __cplusplus
extern "C" {
#endif

struct warm_st;

/* One placement's device state. Zeroed = unplaced. */
typedef struct g3_place_state {
  warm_placement placement; /* 0, RESIDENT or STREAM */
  uint32_t window;
  warm_stream_source source;
  void *embed_dev;         /* resident: the table (persistent) */
  void **layer_dev;        /* resident: [layers] blobs (persistent) */
  warm_streamer *streamer; /* stream */
} g3_place_state;

typedef struct g3_model {
  const warm_services *svc;
  const char *name; /* the component's name, owned by the caller */
  char *weights_path;
  warm_device dev;
  wk_dtype wdt;
  g3_config mc;
  struct warm_st *st;
  const char *prefix;
  g3_tok *tok;
  g3_weights w;
  warm_stream_tensor *stensors; /* [layers * G3_T_COUNT] */
  warm_stream_layer *slayers;   /* [layers] */
  wk_ctx *wk;
  void *final_norm_dev; /* persistent, from the first place() */
  g3_place_state cur;
} g3_model;

/* The storage dtype for cfg->dtype: f32 on cpu and bf16 on cuda by
 * default; f32, bf16, fp8 on request; anything else is refused naming
 * `plugin`. */
int g3_model_pick_dtype(const warm_component_config *cfg, const char *plugin,
                        wk_dtype *out, warm_error *err);

/* Checks cfg->weights as a Gemma-3 folder (config.json, tokenizer.model,
 * every tensor) without loading anything; for validate(). */
int g3_model_check_folder(const warm_component_config *cfg, warm_error *err);

/* Opens cfg->weights, converts the layer weights to wdt on the host and
 * creates the compute context for cfg->device. On failure *m is left
 * closed (g3_model_close on it is a no-op). */
int g3_model_open(g3_model *m, const warm_services *svc, const char *name,
                  const warm_component_config *cfg, wk_dtype wdt,
                  warm_error *err);
void g3_model_close(g3_model *m);

/* FNV-1a identity of every checkpoint file, config.json and
 * tokenizer.model (path, size, mtime), folded into h. */
int g3_model_hash_files(const g3_model *m, uint64_t h[2], warm_error *err);
/* Two-lane FNV-1a 64 over n bytes. */
void g3_fnv(uint64_t h[2], const void *p, size_t n);

/* 0 when req is a resident or stream request with a window >= 1. */
int g3_model_check_req(const warm_place_req *req, warm_error *err);
warm_stream_source g3_model_source(const warm_place_req *req);

/* The Gemma share of a placement's estimate for T tokens: persistent
 * (final norm + resident weights), window, host_pinned and the encode
 * workspace. Adds to *out (does not clear it). */
int g3_model_estimate(g3_model *m, const warm_place_req *req, uint32_t T,
                      warm_estimate *out, warm_error *err);

/* Places the layers (builds the new placement before dropping the old
 * one; see g3_model.c for the demotion rule). A no-op when already so
 * placed. */
int g3_model_place(g3_model *m, const warm_place_req *req, warm_error *err);
void g3_model_unplace(g3_model *m);

/* Called once per hidden state: index 0 is the scaled embeddings, 1..L-1
 * the outputs of layers 0..L-2, L the final-normed output of the last
 * layer. x is [T, hidden] f32 on the device; it stays valid only during
 * the call, and the hook must not write it. */
typedef int (*g3_hidden_fn)(void *user, int64_t index, const float *x,
                            warm_error *err);

/* Runs the embedding and the layer loop over p (p->T tokens) on the current
 * placement, calling hook for every index in [first_index, L]. Polls
 * cancellation before each layer and reports progress scaled into
 * [progress0, progress1]. *streamed_bytes gets what the streamer copied. */
int g3_model_encode(g3_model *m, const g3_prompt *p, int64_t first_index,
                    g3_hidden_fn hook, void *user, float progress0,
                    float progress1, uint64_t *streamed_bytes, warm_error *err);

/* Python's str.strip(): the prompt without leading and trailing Unicode
 * whitespace (str.isspace), as a view [*start, *start + *len). s must be
 * valid UTF-8. */
void g3_strip(const char *s, size_t n, size_t *start, size_t *len);

#ifdef __cplusplus
}
#endif
#endif /* G3_MODEL_H */
