/*
 * g3_config.c — config.json of an HF Gemma-3 checkpoint, through the SDK's
 * config reader (warm/model.h).
 *
 * Reads the keys HF's Gemma3TextConfig reads, with its defaults, in both the
 * current form (layer_types, rope_parameters per layer type) and the form
 * on the Hub (sliding_window_pattern, rope_theta, rope_local_base_freq,
 * rope_scaling). A multimodal config (Gemma3Config) nests the text model in
 * text_config. Messages name the file and the full key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "g3.h"
#include "warm/model.h"

/* Integer key with default, within [lo, hi]. */
static int get_int(const warm_config *t, const char *key, int64_t def,
                   int64_t lo, int64_t hi, int64_t *out, warm_error *err) {
  int rc = warm_config_int_or(t, key, def, out, err);
  if (rc) return rc;
  if (*out < lo || *out > hi)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: \"%s\" = %lld is out of range [%lld, %lld]",
                          warm_config_file(t), key, (long long)*out,
                          (long long)lo, (long long)hi);
  return 0;
}

/* One RoPE parameter object under `key` ({"rope_type": default|linear,
 * "rope_theta", "factor"}); absent members keep *theta / *factor. */
static int rope_params(const warm_config *t, const char *key, double *theta,
                       double *factor, warm_error *err) {
  if (!warm_config_has(t, key)) return 0;
  warm_config *p;
  int rc = warm_config_child(t, key, &p, err);
  if (rc) return rc;
  const char *type = "default";
  if (warm_config_has(p, "rope_type"))
    rc = warm_config_string(p, "rope_type", &type, err);
  else if (warm_config_has(p, "type"))
    rc = warm_config_string(p, "type", &type, err);
  if (!rc && strcmp(type, "default") != 0 && strcmp(type, "linear") != 0)
    rc = warm_error_set(err, WARM_EUNSUPPORTED,
                        "%s: %s rope_type \"%s\" is not supported (default "
                        "and linear are)",
                        warm_config_file(t), key, type);
  if (!rc) rc = warm_config_float_or(p, "rope_theta", *theta, theta, err);
  if (!rc && strcmp(type, "linear") == 0) {
    rc = warm_config_float_or(p, "factor", 1.0, factor, err);
    if (!rc && !(*factor > 0))
      rc = warm_error_set(err, WARM_EFORMAT, "%s: %s.factor must be > 0",
                          warm_config_file(t), key);
  }
  warm_config_close(p);
  return rc;
}

/* Refuses what this plugin does not implement instead of ignoring it. */
static int unsupported(const warm_config *t, warm_error *err) {
  const char *act;
  int flag, rc;
  if ((rc = warm_config_string_or(t, "hidden_activation", "gelu_pytorch_tanh",
                                  &act, err)))
    return rc;
  if (strcmp(act, "gelu_pytorch_tanh") != 0)
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: \"hidden_activation\" \"%s\" is not supported "
                          "(gelu_pytorch_tanh is)",
                          warm_config_file(t), act);
  if (warm_config_has(t, "attn_logit_softcapping"))
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: \"attn_logit_softcapping\" is not supported",
                          warm_config_file(t));
  if ((rc = warm_config_bool_or(t, "use_bidirectional_attention", 0, &flag,
                                err)))
    return rc;
  if (flag)
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: \"use_bidirectional_attention\" is not "
                          "supported (this encoder is causal)",
                          warm_config_file(t));
  if ((rc = warm_config_bool_or(t, "attention_bias", 0, &flag, err))) return rc;
  if (flag)
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: \"attention_bias\" true is not supported",
                          warm_config_file(t));
  return 0;
}

static int layer_types(const warm_config *t, g3_config *c, int64_t pattern,
                       warm_error *err) {
  c->sliding = calloc((size_t)c->layers, 1);
  if (!c->sliding) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  if (!warm_config_has(t, "layer_types")) {
    /* HF: layer i is global when (i + 1) % pattern == 0. */
    for (int64_t i = 0; i < c->layers; i++)
      c->sliding[i] = ((i + 1) % pattern) != 0;
    return 0;
  }
  size_t n;
  int rc = warm_config_array_len(t, "layer_types", &n, err);
  if (rc) return rc;
  if ((int64_t)n != c->layers)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: \"layer_types\" has %zu entries for %lld "
                          "layers",
                          warm_config_file(t), n, (long long)c->layers);
  for (size_t i = 0; i < n; i++) {
    const char *s;
    if ((rc = warm_config_string_at(t, "layer_types", i, &s, err))) return rc;
    if (strcmp(s, "sliding_attention") == 0)
      c->sliding[i] = 1;
    else if (strcmp(s, "full_attention") != 0)
      return warm_error_set(err, WARM_EFORMAT,
                            "%s: layer_types[%zu] \"%s\" is neither "
                            "sliding_attention nor full_attention",
                            warm_config_file(t), i, s);
  }
  return 0;
}

static int parse_text(const warm_config *t, g3_config *c, warm_error *err) {
  const int64_t big = (int64_t)1 << 31;
  int64_t pattern, pad, bos;
  int rc;
  if ((rc = get_int(t, "vocab_size", 262208, 1, big, &c->vocab, err)) ||
      (rc = get_int(t, "hidden_size", 2304, 1, 1 << 20, &c->hidden, err)) ||
      (rc =
           get_int(t, "intermediate_size", 9216, 1, 1 << 22, &c->inter, err)) ||
      (rc = get_int(t, "num_hidden_layers", 26, 1, 4096, &c->layers, err)) ||
      (rc = get_int(t, "num_attention_heads", 8, 1, 4096, &c->heads, err)) ||
      (rc = get_int(t, "num_key_value_heads", 4, 1, 4096, &c->kv_heads, err)) ||
      (rc = get_int(t, "head_dim", 256, 2, 1 << 16, &c->head_dim, err)) ||
      (rc = get_int(t, "sliding_window", 4096, 1, big, &c->sliding_window,
                    err)) ||
      (rc = get_int(t, "sliding_window_pattern", 6, 1, 4096, &pattern, err)) ||
      (rc = get_int(t, "pad_token_id", 0, 0, c->vocab - 1, &pad, err)) ||
      (rc = get_int(t, "bos_token_id", 2, 0, c->vocab - 1, &bos, err)) ||
      (rc = warm_config_float_or(t, "rms_norm_eps", 1e-6, &c->eps, err)) ||
      (rc = warm_config_float_or(t, "query_pre_attn_scalar", 256,
                                 &c->query_pre_attn_scalar, err)) ||
      (rc = unsupported(t, err)))
    return rc;
  c->pad_id = (int32_t)pad;
  c->bos_id = (int32_t)bos;
  const char *f = warm_config_file(t);
  if (!(c->query_pre_attn_scalar > 0) || !(c->eps > 0))
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: \"query_pre_attn_scalar\" and \"rms_norm_eps\" "
                          "must be > 0",
                          f);
  if (c->head_dim % 2)
    return warm_error_set(err, WARM_EFORMAT, "%s: \"head_dim\" must be even",
                          f);
  if (c->heads % c->kv_heads)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: num_attention_heads %lld is not a multiple of "
                          "num_key_value_heads %lld",
                          f, (long long)c->heads, (long long)c->kv_heads);
  if ((rc = layer_types(t, c, pattern, err))) return rc;

  /* RoPE: the legacy keys first, rope_parameters on top (HF's order). */
  c->factor_global = c->factor_local = 1.0;
  if ((rc =
           warm_config_float_or(t, "rope_theta", 1e6, &c->theta_global, err)) ||
      (rc = warm_config_float_or(t, "rope_local_base_freq", 1e4,
                                 &c->theta_local, err)) ||
      (rc = rope_params(t, "rope_scaling", &c->theta_global, &c->factor_global,
                        err)))
    return rc;
  if (warm_config_has(t, "rope_parameters.full_attention") ||
      warm_config_has(t, "rope_parameters.sliding_attention")) {
    if ((rc = rope_params(t, "rope_parameters.full_attention", &c->theta_global,
                          &c->factor_global, err)) ||
        (rc = rope_params(t, "rope_parameters.sliding_attention",
                          &c->theta_local, &c->factor_local, err)))
      return rc;
  } else if ((rc = rope_params(t, "rope_parameters", &c->theta_global,
                               &c->factor_global, err))) {
    return rc;
  }
  if (!(c->theta_global > 0) || !(c->theta_local > 0))
    return warm_error_set(err, WARM_EFORMAT, "%s: rope theta must be > 0", f);
  return 0;
}

int g3_config_load(const char *dir, g3_config *cfg, warm_error *err) {
  memset(cfg, 0, sizeof *cfg);
  char path[4096];
  if (snprintf(path, sizeof path, "%s/config.json", dir) >= (int)sizeof path)
    return warm_error_set(err, WARM_EINVAL, "weights path too long");
  warm_config *root = NULL, *text = NULL;
  int rc = warm_config_open(path, &root, err);
  if (!rc) rc = warm_config_text(root, &text, err);
  if (!rc) {
    cfg->multimodal = warm_config_has(root, "text_config");
    rc = parse_text(text, cfg, err);
  }
  warm_config_close(text);
  warm_config_close(root);
  if (rc) g3_config_free(cfg);
  return rc;
}

void g3_config_free(g3_config *cfg) {
  free(cfg->sliding);
  cfg->sliding = NULL;
}
