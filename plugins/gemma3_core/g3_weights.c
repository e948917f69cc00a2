/*
 * g3_weights.c — Gemma-3 tensor names, shape checks, and the weights in
 * their storage dtype on the host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "g3.h"
#include "warm/model.h"
#include "warm/safetensors.h"

#define G3_ALIGN 256u

const char *const g3_tensor_suffix[G3_T_COUNT] = {
    "input_layernorm.weight",
    "self_attn.q_proj.weight",
    "self_attn.k_proj.weight",
    "self_attn.v_proj.weight",
    "self_attn.o_proj.weight",
    "self_attn.q_norm.weight",
    "self_attn.k_norm.weight",
    "post_attention_layernorm.weight",
    "pre_feedforward_layernorm.weight",
    "post_feedforward_layernorm.weight",
    "mlp.gate_proj.weight",
    "mlp.up_proj.weight",
    "mlp.down_proj.weight",
};

/* Text-only (Gemma3ForCausalLM), multimodal (current and pre-5.x HF names),
 * and a bare Gemma3TextModel save. */
static const char *const g3_prefixes[] = {"model.", "model.language_model.",
                                          "language_model.model.", ""};

static int is_matrix(int which) {
  return which == G3_T_Q || which == G3_T_K || which == G3_T_V ||
         which == G3_T_O || which == G3_T_GATE || which == G3_T_UP ||
         which == G3_T_DOWN;
}

void g3_tensor_shape(const g3_config *c, int which, int32_t *ndim,
                     int64_t shape[2]) {
  *ndim = is_matrix(which) ? 2 : 1;
  switch (which) {
  case G3_T_Q:
    shape[0] = c->heads * c->head_dim, shape[1] = c->hidden;
    break;
  case G3_T_K:
  case G3_T_V:
    shape[0] = c->kv_heads * c->head_dim, shape[1] = c->hidden;
    break;
  case G3_T_O:
    shape[0] = c->hidden, shape[1] = c->heads * c->head_dim;
    break;
  case G3_T_GATE:
  case G3_T_UP:
    shape[0] = c->inter, shape[1] = c->hidden;
    break;
  case G3_T_DOWN:
    shape[0] = c->hidden, shape[1] = c->inter;
    break;
  case G3_T_Q_NORM:
  case G3_T_K_NORM:
    shape[0] = c->head_dim, shape[1] = 1;
    break;
  default:
    shape[0] = c->hidden, shape[1] = 1;
  }
}

static warm_dtype to_warm(wk_dtype d) {
  return d == WK_F32 ? WARM_F32 : d == WK_BF16 ? WARM_BF16 : WARM_FP8_E4M3;
}

void g3_layout_init(g3_layout *lay, const g3_config *cfg, wk_dtype wdt) {
  uint64_t off = 0;
  for (int i = 0; i < G3_T_COUNT; i++) {
    int32_t nd;
    int64_t sh[2];
    g3_tensor_shape(cfg, i, &nd, sh);
    uint64_t n = (uint64_t)sh[0] * (nd == 2 ? (uint64_t)sh[1] : 1);
    lay->dt[i] = is_matrix(i) ? wdt : WK_F32;
    lay->bytes[i] = warm_weight_bytes(to_warm(lay->dt[i]), n);
    lay->off[i] = off;
    off += (lay->bytes[i] + G3_ALIGN - 1) / G3_ALIGN * G3_ALIGN;
  }
  lay->blob_bytes = off;
}

int g3_find_prefix(const warm_st *st, const char **prefix, warm_error *err) {
  char name[256];
  for (size_t i = 0; i < sizeof g3_prefixes / sizeof *g3_prefixes; i++) {
    snprintf(name, sizeof name, "%sembed_tokens.weight", g3_prefixes[i]);
    if (warm_st_find(st, name)) {
      *prefix = g3_prefixes[i];
      return 0;
    }
  }
  return warm_error_set(err, WARM_EFORMAT,
                        "%s: no Gemma-3 embedding table (looked for "
                        "model.embed_tokens.weight, "
                        "model.language_model.embed_tokens.weight, "
                        "language_model.model.embed_tokens.weight, "
                        "embed_tokens.weight)",
                        warm_st_path(st));
}

/* The tensor with its expected shape and a float dtype we can convert. */
static int expect(const warm_st *st, const char *name, int32_t nd,
                  const int64_t *sh, warm_tensor *t, warm_error *err) {
  int rc = warm_st_expect(st, name, nd, sh, t, err);
  if (rc) return rc;
  if (t->dtype != WARM_F32 && t->dtype != WARM_BF16 && t->dtype != WARM_F16)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: tensor %s has dtype %s (expected F32, BF16 or "
                          "F16)",
                          warm_st_path(st), name,
                          warm_dtype_name(t->dtype) ? warm_dtype_name(t->dtype)
                                                    : "?");
  return 0;
}

static void layer_name(char *buf, size_t n, const char *prefix, int64_t l,
                       int which) {
  snprintf(buf, n, "%slayers.%lld.%s", prefix, (long long)l,
           g3_tensor_suffix[which]);
}

int g3_check_tensors(const warm_st *st, const g3_config *cfg,
                     const char *prefix, warm_error *err) {
  char name[256];
  warm_tensor t;
  int64_t sh[2] = {cfg->vocab, cfg->hidden};
  snprintf(name, sizeof name, "%sembed_tokens.weight", prefix);
  int rc = expect(st, name, 2, sh, &t, err);
  if (rc) return rc;
  snprintf(name, sizeof name, "%snorm.weight", prefix);
  sh[0] = cfg->hidden;
  if ((rc = expect(st, name, 1, sh, &t, err))) return rc;
  for (int64_t l = 0; l < cfg->layers; l++) {
    for (int i = 0; i < G3_T_COUNT; i++) {
      int32_t nd;
      g3_tensor_shape(cfg, i, &nd, sh);
      layer_name(name, sizeof name, prefix, l, i);
      if ((rc = expect(st, name, nd, sh, &t, err))) return rc;
    }
  }
  /* A checkpoint with more layers than config.json says is a mismatch
   * too: it would silently drop layers. */
  layer_name(name, sizeof name, prefix, cfg->layers, G3_T_Q);
  if (warm_st_find(st, name))
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: tensor %s exists but config.json says "
                          "num_hidden_layers = %lld",
                          warm_st_path(st), name, (long long)cfg->layers);
  return 0;
}

/* src as dst dtype: a view when the dtype already matches, else a
 * converted copy recorded in w->owned. */
static int storage(g3_weights *w, const warm_tensor *src, warm_dtype dst,
                   const void **out, float *scale, warm_error *err) {
  if (src->dtype == dst && dst != WARM_FP8_E4M3) {
    *out = src->data;
    *scale = 1.0f;
    return 0;
  }
  size_t bytes = warm_weight_bytes(dst, (uint64_t)warm_tensor_numel(src));
  if (w->sizes_only) {
    w->converted_bytes += bytes;
    *out = NULL;
    *scale = 1.0f;
    return 0;
  }
  void *buf = malloc(bytes ? bytes : 1);
  void **grown = realloc(w->owned, (w->n_owned + 1) * sizeof *grown);
  if (!buf || !grown) {
    free(buf);
    if (grown) w->owned = grown;
    return warm_error_set(err, WARM_ENOMEM,
                          "out of memory converting %s (%zu bytes)",
                          src->name ? src->name : "tensor", bytes);
  }
  w->owned = grown;
  w->owned[w->n_owned++] = buf;
  w->converted_bytes += bytes;
  int rc = warm_weight_convert(src, dst, buf, scale, err);
  if (rc) return rc;
  *out = buf;
  return 0;
}

int g3_weights_load(const warm_st *st, const g3_config *cfg, const char *prefix,
                    wk_dtype wdt, int sizes_only, g3_weights *w,
                    warm_error *err) {
  memset(w, 0, sizeof *w);
  w->wdt = wdt;
  w->sizes_only = sizes_only;
  g3_layout_init(&w->lay, cfg, wdt);
  size_t n = (size_t)cfg->layers * G3_T_COUNT;
  w->src = calloc(n, sizeof *w->src);
  w->scale = calloc(n, sizeof *w->scale);
  w->final_norm = malloc((size_t)cfg->hidden * sizeof(float));
  if (!w->src || !w->scale || !w->final_norm) {
    g3_weights_free(w);
    return warm_error_set(err, WARM_ENOMEM, "out of memory");
  }
  char name[256];
  warm_tensor t;
  int64_t sh[2] = {cfg->vocab, cfg->hidden};
  const void *p;
  float s;
  int rc;
  snprintf(name, sizeof name, "%sembed_tokens.weight", prefix);
  if ((rc = expect(st, name, 2, sh, &t, err)) ||
      (rc = storage(w, &t, to_warm(wdt), &w->embed, &w->embed_scale, err)))
    goto fail;
  w->embed_bytes = warm_weight_bytes(to_warm(wdt), (uint64_t)sh[0] * sh[1]);
  snprintf(name, sizeof name, "%snorm.weight", prefix);
  sh[0] = cfg->hidden;
  if ((rc = expect(st, name, 1, sh, &t, err)) ||
      (!sizes_only &&
       (rc = warm_weight_convert(&t, WARM_F32, w->final_norm, NULL, err))))
    goto fail;
  for (int64_t l = 0; l < cfg->layers; l++) {
    for (int i = 0; i < G3_T_COUNT; i++) {
      int32_t nd;
      g3_tensor_shape(cfg, i, &nd, sh);
      layer_name(name, sizeof name, prefix, l, i);
      if ((rc = expect(st, name, nd, sh, &t, err)) ||
          (rc = storage(w, &t, to_warm(w->lay.dt[i]), &p, &s, err)))
        goto fail;
      w->src[l * G3_T_COUNT + i] = p;
      w->scale[l * G3_T_COUNT + i] = s;
    }
  }
  return 0;
fail:
  g3_weights_free(w);
  return rc;
}

void g3_weights_free(g3_weights *w) {
  for (size_t i = 0; i < w->n_owned; i++)
    free(w->owned[i]);
  free(w->owned);
  free(w->src);
  free(w->scale);
  free(w->final_norm);
  memset(w, 0, sizeof *w);
}
