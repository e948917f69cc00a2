/*
 * g3_config.c — config.json of an HF Gemma-3 checkpoint.
 *
 * Reads the keys HF's Gemma3TextConfig reads, with its defaults, in both the
 * current form (layer_types, rope_parameters per layer type) and the form
 * on the Hub (sliding_window_pattern, rope_theta, rope_local_base_freq,
 * rope_scaling). A multimodal config (Gemma3Config) nests the text model in
 * text_config.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "g3.h"

/* Integer key with default; refuses non-integers and values out of range. */
static int get_int(json_t *o, const char *path, const char *key, int64_t def,
                   int64_t lo, int64_t hi, int64_t *out, warm_error *err) {
  json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) {
    *out = def;
    return 0;
  }
  if (!json_is_integer(v))
    return warm_error_set(err, WARM_EFORMAT, "%s: \"%s\" is not an integer",
                          path, key);
  int64_t x = (int64_t)json_integer_value(v);
  if (x < lo || x > hi)
    return warm_error_set(
        err, WARM_EFORMAT, "%s: \"%s\" = %lld is out of range [%lld, %lld]",
        path, key, (long long)x, (long long)lo, (long long)hi);
  *out = x;
  return 0;
}

static int get_num(json_t *o, const char *path, const char *key, double def,
                   double *out, warm_error *err) {
  json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) {
    *out = def;
    return 0;
  }
  if (!json_is_number(v))
    return warm_error_set(err, WARM_EFORMAT, "%s: \"%s\" is not a number", path,
                          key);
  *out = json_number_value(v);
  return 0;
}

/* One RoPE parameter object: {"rope_type": default|linear, "rope_theta",
 * "factor"}. Missing theta keeps *theta. */
static int rope_params(json_t *p, const char *path, const char *what,
                       double *theta, double *factor, warm_error *err) {
  if (!p || json_is_null(p)) return 0;
  if (!json_is_object(p))
    return warm_error_set(err, WARM_EFORMAT, "%s: \"%s\" is not an object",
                          path, what);
  json_t *t = json_object_get(p, "rope_type");
  if (!t) t = json_object_get(p, "type");
  const char *type = json_is_string(t) ? json_string_value(t) : "default";
  if (strcmp(type, "default") != 0 && strcmp(type, "linear") != 0)
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: %s rope_type \"%s\" is not supported "
                          "(default and linear are)",
                          path, what, type);
  int rc = get_num(p, path, "rope_theta", *theta, theta, err);
  if (rc) return rc;
  if (strcmp(type, "linear") == 0) {
    rc = get_num(p, path, "factor", 1.0, factor, err);
    if (rc) return rc;
    if (!(*factor > 0))
      return warm_error_set(err, WARM_EFORMAT, "%s: %s rope factor must be > 0",
                            path, what);
  }
  return 0;
}

static int parse_text(json_t *o, const char *path, g3_config *c,
                      warm_error *err) {
  int64_t pattern = 6;
  int rc;
  const int64_t big = (int64_t)1 << 31;
  if ((rc = get_int(o, path, "vocab_size", 262208, 1, big, &c->vocab, err)) ||
      (rc = get_int(o, path, "hidden_size", 2304, 1, 1 << 20, &c->hidden,
                    err)) ||
      (rc = get_int(o, path, "intermediate_size", 9216, 1, 1 << 22, &c->inter,
                    err)) ||
      (rc = get_int(o, path, "num_hidden_layers", 26, 1, 4096, &c->layers,
                    err)) ||
      (rc = get_int(o, path, "num_attention_heads", 8, 1, 4096, &c->heads,
                    err)) ||
      (rc = get_int(o, path, "num_key_value_heads", 4, 1, 4096, &c->kv_heads,
                    err)) ||
      (rc = get_int(o, path, "head_dim", 256, 2, 1 << 16, &c->head_dim, err)) ||
      (rc = get_int(o, path, "sliding_window", 4096, 1, big, &c->sliding_window,
                    err)) ||
      (rc = get_int(o, path, "sliding_window_pattern", 6, 1, 4096, &pattern,
                    err)))
    return rc;
  int64_t pad = 0, bos = 2;
  if ((rc = get_int(o, path, "pad_token_id", 0, 0, c->vocab - 1, &pad, err)) ||
      (rc = get_int(o, path, "bos_token_id", 2, 0, c->vocab - 1, &bos, err)))
    return rc;
  c->pad_id = (int32_t)pad;
  c->bos_id = (int32_t)bos;
  if ((rc = get_num(o, path, "rms_norm_eps", 1e-6, &c->eps, err)) ||
      (rc = get_num(o, path, "query_pre_attn_scalar", 256,
                    &c->query_pre_attn_scalar, err)))
    return rc;
  if (!(c->query_pre_attn_scalar > 0))
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: \"query_pre_attn_scalar\" must be > 0", path);
  if (c->head_dim % 2)
    return warm_error_set(err, WARM_EFORMAT, "%s: \"head_dim\" must be even",
                          path);
  if (c->heads % c->kv_heads)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: num_attention_heads %lld is not a multiple of "
                          "num_key_value_heads %lld",
                          path, (long long)c->heads, (long long)c->kv_heads);

  /* What this plugin does not implement is refused, not ignored. */
  json_t *v = json_object_get(o, "hidden_activation");
  if (v && !json_is_null(v) &&
      !(json_is_string(v) &&
        strcmp(json_string_value(v), "gelu_pytorch_tanh") == 0))
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: \"hidden_activation\" must be "
                          "\"gelu_pytorch_tanh\"",
                          path);
  v = json_object_get(o, "attn_logit_softcapping");
  if (v && !json_is_null(v))
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: \"attn_logit_softcapping\" is not supported",
                          path);
  v = json_object_get(o, "use_bidirectional_attention");
  if (v && json_is_true(v))
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: \"use_bidirectional_attention\" is not "
                          "supported (this encoder is causal)",
                          path);
  v = json_object_get(o, "attention_bias");
  if (v && json_is_true(v))
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: \"attention_bias\" true is not supported", path);

  c->sliding = calloc((size_t)c->layers, 1);
  if (!c->sliding) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  json_t *lt = json_object_get(o, "layer_types");
  if (lt && !json_is_null(lt)) {
    if (!json_is_array(lt) || (int64_t)json_array_size(lt) != c->layers)
      return warm_error_set(err, WARM_EFORMAT,
                            "%s: \"layer_types\" must be an array of %lld "
                            "strings",
                            path, (long long)c->layers);
    for (int64_t i = 0; i < c->layers; i++) {
      const char *s = json_string_value(json_array_get(lt, (size_t)i));
      if (s && strcmp(s, "sliding_attention") == 0)
        c->sliding[i] = 1;
      else if (!s || strcmp(s, "full_attention") != 0)
        return warm_error_set(err, WARM_EFORMAT,
                              "%s: layer_types[%lld] must be "
                              "\"sliding_attention\" or \"full_attention\"",
                              path, (long long)i);
    }
  } else {
    for (int64_t i = 0; i < c->layers; i++)
      c->sliding[i] = ((i + 1) % pattern) != 0;
  }

  /* RoPE: legacy keys first, then rope_parameters on top (HF's order). */
  c->theta_global = 1e6;
  c->theta_local = 1e4;
  c->factor_global = c->factor_local = 1.0;
  if ((rc = get_num(o, path, "rope_theta", 1e6, &c->theta_global, err)) ||
      (rc = get_num(o, path, "rope_local_base_freq", 1e4, &c->theta_local,
                    err)) ||
      (rc =
           rope_params(json_object_get(o, "rope_scaling"), path, "rope_scaling",
                       &c->theta_global, &c->factor_global, err)))
    return rc;
  json_t *rp = json_object_get(o, "rope_parameters");
  if (rp && json_is_object(rp)) {
    json_t *full = json_object_get(rp, "full_attention");
    json_t *slid = json_object_get(rp, "sliding_attention");
    if (full || slid) {
      if ((rc = rope_params(full, path, "rope_parameters.full_attention",
                            &c->theta_global, &c->factor_global, err)) ||
          (rc = rope_params(slid, path, "rope_parameters.sliding_attention",
                            &c->theta_local, &c->factor_local, err)))
        return rc;
    } else if ((rc = rope_params(rp, path, "rope_parameters", &c->theta_global,
                                 &c->factor_global, err))) {
      return rc;
    }
  }
  if (!(c->theta_global > 0) || !(c->theta_local > 0))
    return warm_error_set(err, WARM_EFORMAT, "%s: rope theta must be > 0",
                          path);
  return 0;
}

int g3_config_load(const char *dir, g3_config *cfg, warm_error *err) {
  memset(cfg, 0, sizeof *cfg);
  char path[4096];
  if (snprintf(path, sizeof path, "%s/config.json", dir) >= (int)sizeof path)
    return warm_error_set(err, WARM_EINVAL, "weights path too long");
  json_error_t je;
  json_t *root = json_load_file(path, 0, &je);
  if (!root) {
    FILE *f = fopen(path, "r");
    if (!f) return warm_error_set(err, WARM_EIO, "%s: cannot open", path);
    fclose(f);
    return warm_error_set(err, WARM_EFORMAT, "%s:%d: %s", path, je.line,
                          je.text);
  }
  int rc;
  if (!json_is_object(root)) {
    rc = warm_error_set(err, WARM_EFORMAT, "%s: not a JSON object", path);
  } else {
    json_t *tc = json_object_get(root, "text_config");
    if (tc && json_is_object(tc)) {
      cfg->multimodal = 1;
      rc = parse_text(tc, path, cfg, err);
    } else {
      rc = parse_text(root, path, cfg, err);
    }
  }
  json_decref(root);
  if (rc) g3_config_free(cfg);
  return rc;
}

void g3_config_free(g3_config *cfg) {
  free(cfg->sliding);
  cfg->sliding = NULL;
}
