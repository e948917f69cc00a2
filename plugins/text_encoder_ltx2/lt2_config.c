/*
 * lt2_config.c — the text side of a combined LTX-2 checkpoint, read the way
 * ltx-core 1.0.0 builds its EmbeddingsProcessor: the feature extractor
 * variant from the V2 caption keys (_create_feature_extractor), each
 * connector from the connector_* keys with the configurators' defaults
 * (Embeddings1DConnectorConfigurator, AudioEmbeddings1DConnectorConfigurator),
 * then every tensor's shape checked against that.
 */
#include <stdio.h>
#include <string.h>

#include "lt2.h"

static const char *const v2_keys[4] = {
    "caption_proj_before_connector", "caption_projection_first_linear",
    "caption_proj_input_norm", "caption_projection_second_linear"};
static const int v2_want[4] = {1, 0, 0, 0};

static int detect_v2(const warm_ltx2 *f, const warm_config *t, int *v2,
                     warm_error *err) {
  int present = 0;
  for (int i = 0; i < 4; i++)
    present += warm_config_has(t, v2_keys[i]);
  *v2 = present > 0;
  if (!present) return 0;
  for (int i = 0; i < 4; i++) {
    if (!warm_config_has(t, v2_keys[i]))
      return warm_error_set(err, WARM_EFORMAT,
                            "%s: config.transformer.%s is missing while "
                            "other V2 caption keys are present (a partial V2 "
                            "config; ltx-core refuses it too)",
                            warm_ltx2_path(f), v2_keys[i]);
    int b;
    int rc = warm_config_bool_or(t, v2_keys[i], 0, &b, err);
    if (rc) return rc;
    if (b != v2_want[i])
      return warm_error_set(err, WARM_EUNSUPPORTED,
                            "%s: config.transformer.%s is %s; the V2 text "
                            "feature extractor expects %s",
                            warm_ltx2_path(f), v2_keys[i], b ? "true" : "false",
                            v2_want[i] ? "true" : "false");
  }
  return 0;
}

static int positive(const warm_ltx2 *f, const char *key, int64_t v,
                    warm_error *err) {
  if (v < 1 || v > (1 << 20))
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: config.transformer.%s = %lld is not a size",
                          warm_ltx2_path(f), key, (long long)v);
  return 0;
}

static int conn_config(const warm_ltx2 *f, const warm_config *t, int audio,
                       lt2_conn_config *cc, warm_error *err) {
  int64_t vh, vd, vl;
  int rc;
  if ((rc = warm_config_int_or(t, "connector_num_attention_heads", 30, &vh,
                               err)) ||
      (rc = warm_config_int_or(t, "connector_attention_head_dim", 128, &vd,
                               err)) ||
      (rc = warm_config_int_or(t, "connector_num_layers", 2, &vl, err)))
    return rc;
  cc->heads = vh, cc->head_dim = vd, cc->layers = vl;
  if (audio &&
      ((rc = warm_config_int_or(t, "audio_connector_num_attention_heads", vh,
                                &cc->heads, err)) ||
       (rc = warm_config_int_or(t, "audio_connector_attention_head_dim", vd,
                                &cc->head_dim, err)) ||
       (rc = warm_config_int_or(t, "audio_connector_num_layers", vl,
                                &cc->layers, err))))
    return rc;
  if ((rc = positive(f, "connector heads", cc->heads, err)) ||
      (rc = positive(f, "connector head_dim", cc->head_dim, err)) ||
      (rc = positive(f, "connector layers", cc->layers, err)))
    return rc;
  if (cc->head_dim % 2)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: %s connector head_dim %lld is odd (RoPE "
                          "rotates pairs)",
                          warm_ltx2_path(f), audio ? "audio" : "video",
                          (long long)cc->head_dim);
  cc->width = cc->heads * cc->head_dim;
  return warm_config_bool_or(t, "connector_apply_gated_attention", 0,
                             &cc->gated, err);
}

static int expect2(const warm_ltx2 *f, const char *prefix, const char *name,
                   int64_t a, int64_t b, warm_error *err) {
  int64_t sh[2] = {a, b};
  return warm_ltx2_expect(f, prefix, name, b ? 2 : 1, sh, err);
}

static int check_conn(const warm_ltx2 *f, const char *prefix,
                      const lt2_conn_config *cc, warm_error *err) {
  int64_t C = cc->width, H = cc->heads;
  int rc = expect2(f, prefix, "learnable_registers", LT2_REGISTERS, C, err);
  if (rc) return rc;
  char name[256];
  for (int64_t b = 0; b < cc->layers; b++) {
    static const char *const sq[] = {"attn1.to_q", "attn1.to_k", "attn1.to_v",
                                     "attn1.to_out.0"};
    for (int i = 0; i < 4; i++) {
      snprintf(name, sizeof name, "transformer_1d_blocks.%lld.%s.weight",
               (long long)b, sq[i]);
      if ((rc = expect2(f, prefix, name, C, C, err))) return rc;
      snprintf(name, sizeof name, "transformer_1d_blocks.%lld.%s.bias",
               (long long)b, sq[i]);
      if ((rc = expect2(f, prefix, name, C, 0, err))) return rc;
    }
    static const char *const nq[] = {"attn1.q_norm.weight",
                                     "attn1.k_norm.weight"};
    for (int i = 0; i < 2; i++) {
      snprintf(name, sizeof name, "transformer_1d_blocks.%lld.%s", (long long)b,
               nq[i]);
      if ((rc = expect2(f, prefix, name, C, 0, err))) return rc;
    }
    snprintf(name, sizeof name,
             "transformer_1d_blocks.%lld.ff.net.0.proj.weight", (long long)b);
    if ((rc = expect2(f, prefix, name, 4 * C, C, err))) return rc;
    snprintf(name, sizeof name, "transformer_1d_blocks.%lld.ff.net.0.proj.bias",
             (long long)b);
    if ((rc = expect2(f, prefix, name, 4 * C, 0, err))) return rc;
    snprintf(name, sizeof name, "transformer_1d_blocks.%lld.ff.net.2.weight",
             (long long)b);
    if ((rc = expect2(f, prefix, name, C, 4 * C, err))) return rc;
    snprintf(name, sizeof name, "transformer_1d_blocks.%lld.ff.net.2.bias",
             (long long)b);
    if ((rc = expect2(f, prefix, name, C, 0, err))) return rc;
    snprintf(name, sizeof name,
             "transformer_1d_blocks.%lld.attn1.to_gate_logits.weight",
             (long long)b);
    if (cc->gated) {
      if ((rc = expect2(f, prefix, name, H, C, err))) return rc;
      snprintf(name, sizeof name,
               "transformer_1d_blocks.%lld.attn1.to_gate_logits.bias",
               (long long)b);
      if ((rc = expect2(f, prefix, name, H, 0, err))) return rc;
    } else if (warm_ltx2_find(f, prefix, name)) {
      return warm_error_set(
          err, WARM_EFORMAT,
          "%s: %s%s exists but "
          "config.transformer.connector_apply_gated_attention "
          "is false",
          warm_ltx2_path(f), prefix, name);
    }
  }
  snprintf(name, sizeof name, "transformer_1d_blocks.%lld.attn1.to_q.weight",
           (long long)cc->layers);
  if (warm_ltx2_find(f, prefix, name))
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: %s%s exists but the config says %lld "
                          "connector blocks",
                          warm_ltx2_path(f), prefix, name,
                          (long long)cc->layers);
  return 0;
}

int lt2_config_load(const warm_ltx2 *f, int64_t D, int64_t S, lt2_config *c,
                    warm_error *err) {
  memset(c, 0, sizeof *c);
  c->D = D;
  c->S = S;
  c->theta = 10000.0; /* the connector's default; no configurator passes it */
  static const char *const required[] = {
      "rope_type", "connector_positional_embedding_max_pos", NULL};
  const warm_config *t;
  int rc;
  if ((rc = warm_ltx2_config(f, "transformer", &t, err)) ||
      (rc = warm_ltx2_require(f, "transformer", required, err)) ||
      (rc = detect_v2(f, t, &c->v2, err)))
    return rc;
  const char *rope, *prec;
  if ((rc = warm_config_string(t, "rope_type", &rope, err)) ||
      (rc = warm_config_string_or(t, "frequencies_precision", "float32", &prec,
                                  err)))
    return rc;
  if (strcmp(rope, "split") == 0)
    c->split_rope = 1;
  else if (strcmp(rope, "interleaved") != 0)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: config.transformer.rope_type \"%s\" must be "
                          "split or interleaved",
                          warm_ltx2_path(f), rope);
  c->f64_grid = strcmp(prec, "float64") == 0;
  size_t np;
  if ((rc = warm_config_array_len(t, "connector_positional_embedding_max_pos",
                                  &np, err)))
    return rc;
  if (np != 1)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: config.transformer."
                          "connector_positional_embedding_max_pos has %zu "
                          "entries; the connectors' positions are 1-D",
                          warm_ltx2_path(f), np);
  if ((rc = warm_config_float_at(t, "connector_positional_embedding_max_pos", 0,
                                 &c->max_pos, err)))
    return rc;
  if (!(c->max_pos > 0))
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: connector_positional_embedding_max_pos[0] "
                          "must be > 0",
                          warm_ltx2_path(f));
  if ((rc = conn_config(f, t, 0, &c->vc, err)) ||
      (rc = conn_config(f, t, 1, &c->ac, err)))
    return rc;

  /* Feature widths and the projection tensors. */
  int64_t flat = D * S;
  if (c->v2) {
    int64_t h, d;
    if ((rc = warm_config_int(t, "num_attention_heads", &h, err)) ||
        (rc = warm_config_int(t, "attention_head_dim", &d, err)))
      return rc;
    c->Cv = h * d;
    if ((rc = warm_config_int(t, "audio_num_attention_heads", &h, err)) ||
        (rc = warm_config_int(t, "audio_attention_head_dim", &d, err)))
      return rc;
    c->Ca = h * d;
    if ((rc = expect2(f, LT2_PREFIX_PROJ, "video_aggregate_embed.weight", c->Cv,
                      flat, err)) ||
        (rc = expect2(f, LT2_PREFIX_PROJ, "video_aggregate_embed.bias", c->Cv,
                      0, err)) ||
        (rc = expect2(f, LT2_PREFIX_PROJ, "audio_aggregate_embed.weight", c->Ca,
                      flat, err)) ||
        (rc = expect2(f, LT2_PREFIX_PROJ, "audio_aggregate_embed.bias", c->Ca,
                      0, err)))
      goto shape_hint;
  } else {
    c->Cv = c->Ca = D;
    if ((rc = expect2(f, LT2_PREFIX_PROJ, "aggregate_embed.weight", D, flat,
                      err)))
      goto shape_hint;
  }
  if (c->vc.width != c->Cv || c->ac.width != c->Ca)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: the connectors are %lld (video) and %lld "
                          "(audio) wide but the features are %lld and %lld",
                          warm_ltx2_path(f), (long long)c->vc.width,
                          (long long)c->ac.width, (long long)c->Cv,
                          (long long)c->Ca);
  if ((rc = check_conn(f, LT2_PREFIX_VCONN, &c->vc, err)) ||
      (rc = check_conn(f, LT2_PREFIX_ACONN, &c->ac, err)))
    return rc;
  return 0;
shape_hint:
  /* Name the Gemma side too: a mismatch is usually the wrong Gemma. */
  {
    char msg[sizeof err->msg];
    memcpy(msg, err->msg, sizeof msg);
    return warm_error_set(err, rc,
                          "%.400s (the Gemma checkpoint gives %lld hidden "
                          "states of %lld)",
                          msg, (long long)S, (long long)D);
  }
}
