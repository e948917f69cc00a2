/* warm-mkmodel --arch gemma3: an HF transformers Gemma-3 text model
 * (Gemma3TextConfig keys, Gemma3ForCausalLM tensor names), or with
 * --set prefix=multimodal the text half of Gemma3ForConditionalGeneration
 * (config with text_config, names under model.language_model.). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mkmodel.h"

#define G3_SHARD_BYTES 5000000000ull /* HF's default max_shard_size */
#define G3_TOKENIZER "gemma3-tokenizer.model"

typedef struct g3_preset {
  const char *name;
  int64_t vocab; /* 0: the bundled tokenizer's size */
  int64_t hidden, inter, layers, heads, kv_heads, head_dim;
  int64_t window, pattern, max_pos;
} g3_preset;

static const g3_preset g3_presets[] = {
    {"tiny", 0, 64, 128, 4, 4, 2, 16, 8, 2, 512},
    {"small", 0, 256, 1024, 6, 4, 2, 64, 32, 6, 2048},
    /* Gemma-3-12B. */
    {"full", 262208, 3840, 15360, 48, 16, 8, 256, 1024, 6, 131072},
};

/* Number of pieces in a SentencePiece model: the count of field 1
 * (repeated SentencePiece) at the top level of the ModelProto. */
static int g3_spm_vocab(const char *path, int64_t *out, warm_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return warm_error_set(err, WARM_EIO, "%s: cannot open", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = n > 0 && n < (64l << 20) ? malloc((size_t)n) : NULL;
  int ok = b && fread(b, 1, (size_t)n, f) == (size_t)n;
  fclose(f);
  int64_t count = 0;
  size_t i = 0;
  while (ok && i < (size_t)n) {
    uint64_t key = 0, len = 0;
    for (int s = 0; i < (size_t)n && s < 64; s += 7) {
      key |= (uint64_t)(b[i] & 0x7f) << s;
      if (!(b[i++] & 0x80)) break;
    }
    switch (key & 7) {
    case 0: /* varint */
      while (i < (size_t)n && (b[i++] & 0x80)) {
      }
      break;
    case 1:
      i += 8;
      break;
    case 5:
      i += 4;
      break;
    case 2:
      for (int s = 0; i < (size_t)n && s < 64; s += 7) {
        len |= (uint64_t)(b[i] & 0x7f) << s;
        if (!(b[i++] & 0x80)) break;
      }
      if (len > (size_t)n - i) ok = 0;
      i += (size_t)len;
      if ((key >> 3) == 1) count++;
      break;
    default:
      ok = 0;
    }
  }
  free(b);
  if (!ok || count == 0)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: not a SentencePiece model file", path);
  *out = count;
  return 0;
}

/* The text config: preset values, then --set, then the derived keys
 * (layer_types, rope_parameters) unless --set gave them. */
static json_t *g3_text_config(const mk_ctx *c, const g3_preset *p,
                              int64_t vocab, warm_error *err) {
  json_t *t = json_object();
  json_object_set_new(t, "architectures",
                      json_pack("[s]", "Gemma3ForCausalLM"));
  json_object_set_new(t, "model_type", json_string("gemma3_text"));
  json_object_set_new(t, "vocab_size", json_integer(vocab));
  json_object_set_new(t, "hidden_size", json_integer(p->hidden));
  json_object_set_new(t, "intermediate_size", json_integer(p->inter));
  json_object_set_new(t, "num_hidden_layers", json_integer(p->layers));
  json_object_set_new(t, "num_attention_heads", json_integer(p->heads));
  json_object_set_new(t, "num_key_value_heads", json_integer(p->kv_heads));
  json_object_set_new(t, "head_dim", json_integer(p->head_dim));
  json_object_set_new(t, "hidden_activation", json_string("gelu_pytorch_tanh"));
  json_object_set_new(t, "max_position_embeddings", json_integer(p->max_pos));
  json_object_set_new(t, "rms_norm_eps", json_real(1e-6));
  json_object_set_new(t, "rope_theta", json_real(1000000.0));
  json_object_set_new(t, "rope_local_base_freq", json_real(10000.0));
  json_object_set_new(
      t, "rope_scaling",
      json_pack("{s:s, s:f}", "rope_type", "linear", "factor", 8.0));
  json_object_set_new(t, "sliding_window", json_integer(p->window));
  json_object_set_new(t, "sliding_window_pattern", json_integer(p->pattern));
  json_object_set_new(t, "query_pre_attn_scalar", json_integer(p->head_dim));
  json_object_set_new(t, "attention_bias", json_false());
  json_object_set_new(t, "attention_dropout", json_real(0.0));
  json_object_set_new(t, "final_logit_softcapping", json_null());
  json_object_set_new(t, "attn_logit_softcapping", json_null());
  json_object_set_new(t, "use_bidirectional_attention", json_false());
  json_object_set_new(t, "pad_token_id", json_integer(0));
  json_object_set_new(t, "eos_token_id", json_integer(1));
  json_object_set_new(t, "bos_token_id", json_integer(2));
  json_object_set_new(t, "tie_word_embeddings", json_true());
  json_object_set_new(t, "initializer_range", json_real(0.02));
  json_object_set_new(
      t, "torch_dtype",
      json_string(c->dtype == WARM_BF16 ? "bfloat16" : "float32"));
  json_object_set_new(t, "use_cache", json_true());
  static const char *const skip[] = {"prefix", NULL};
  if (mk_config_apply_sets(t, c, skip, err)) {
    json_decref(t);
    return NULL;
  }
  int64_t layers, pattern;
  if (mk_config_dim(t, "num_hidden_layers", &layers, err) ||
      mk_config_dim(t, "sliding_window_pattern", &pattern, err)) {
    json_decref(t);
    return NULL;
  }
  if (!mk_set_get(c, "layer_types")) {
    /* HF: layer i is global when (i + 1) % pattern == 0. */
    json_t *lt = json_array();
    for (int64_t i = 0; i < layers; i++)
      json_array_append_new(lt, json_string((i + 1) % pattern == 0
                                                ? "full_attention"
                                                : "sliding_attention"));
    json_object_set_new(t, "layer_types", lt);
  }
  if (!mk_set_get(c, "rope_parameters")) {
    /* transformers >= 5 spelling of the same RoPE settings. */
    json_t *full = json_object(), *scal = json_object_get(t, "rope_scaling");
    if (json_is_object(scal))
      json_object_update(full, scal);
    else
      json_object_set_new(full, "rope_type", json_string("default"));
    json_object_set(full, "rope_theta", json_object_get(t, "rope_theta"));
    json_t *slide =
        json_pack("{s:s, s:O}", "rope_type", "default", "rope_theta",
                  json_object_get(t, "rope_local_base_freq"));
    json_object_set_new(t, "rope_parameters",
                        json_pack("{s:o, s:o}", "full_attention", full,
                                  "sliding_attention", slide));
  }
  return t;
}

static int g3_plan(json_t *t, const char *pfx, mk_plan *p, warm_error *err) {
  int64_t V, H, I, L, NH, KV, D;
  int rc;
  if ((rc = mk_config_dim(t, "vocab_size", &V, err)) ||
      (rc = mk_config_dim(t, "hidden_size", &H, err)) ||
      (rc = mk_config_dim(t, "intermediate_size", &I, err)) ||
      (rc = mk_config_dim(t, "num_hidden_layers", &L, err)) ||
      (rc = mk_config_dim(t, "num_attention_heads", &NH, err)) ||
      (rc = mk_config_dim(t, "num_key_value_heads", &KV, err)) ||
      (rc = mk_config_dim(t, "head_dim", &D, err)))
    return rc;
  if (NH % KV)
    return warm_error_set(err, WARM_EINVAL,
                          "num_attention_heads (%lld) must be a multiple of "
                          "num_key_value_heads (%lld)",
                          (long long)NH, (long long)KV);
  const float sd = 0.02f;
  int64_t emb[2] = {V, H}, q[2] = {NH * D, H}, kv[2] = {KV * D, H},
          o[2] = {H, NH * D}, up[2] = {I, H}, down[2] = {H, I}, h[1] = {H},
          d[1] = {D};
  if ((rc = mk_plan_add(p, MK_NORMAL, 0, sd, 2, emb, err,
                        "%sembed_tokens.weight", pfx)))
    return rc;
  for (int64_t l = 0; l < L; l++) {
    char b[96];
    snprintf(b, sizeof b, "%slayers.%lld.", pfx, (long long)l);
    /* Gemma's RMSNorm computes x * (1 + w): weights near 0 are identity. */
    if ((rc = mk_plan_add(p, MK_NORMAL, 0, sd, 1, h, err,
                          "%sinput_layernorm.weight", b)) ||
        (rc = mk_plan_add(p, MK_NORMAL, 0, sd, 2, q, err,
                          "%sself_attn.q_proj.weight", b)) ||
        (rc = mk_plan_add(p, MK_NORMAL, 0, sd, 2, kv, err,
                          "%sself_attn.k_proj.weight", b)) ||
        (rc = mk_plan_add(p, MK_NORMAL, 0, sd, 2, kv, err,
                          "%sself_attn.v_proj.weight", b)) ||
        (rc = mk_plan_add(p, MK_NORMAL, 0, sd, 2, o, err,
                          "%sself_attn.o_proj.weight", b)) ||
        (rc = mk_plan_add(p, MK_NORMAL, 0, sd, 1, d, err,
                          "%sself_attn.q_norm.weight", b)) ||
        (rc = mk_plan_add(p, MK_NORMAL, 0, sd, 1, d, err,
                          "%sself_attn.k_norm.weight", b)) ||
        (rc = mk_plan_add(p, MK_NORMAL, 0, sd, 1, h, err,
                          "%spost_attention_layernorm.weight", b)) ||
        (rc = mk_plan_add(p, MK_NORMAL, 0, sd, 1, h, err,
                          "%spre_feedforward_layernorm.weight", b)) ||
        (rc = mk_plan_add(p, MK_NORMAL, 0, sd, 2, up, err,
                          "%smlp.gate_proj.weight", b)) ||
        (rc = mk_plan_add(p, MK_NORMAL, 0, sd, 2, up, err,
                          "%smlp.up_proj.weight", b)) ||
        (rc = mk_plan_add(p, MK_NORMAL, 0, sd, 2, down, err,
                          "%smlp.down_proj.weight", b)) ||
        (rc = mk_plan_add(p, MK_NORMAL, 0, sd, 1, h, err,
                          "%spost_feedforward_layernorm.weight", b)))
      return rc;
  }
  return mk_plan_add(p, MK_NORMAL, 0, sd, 1, h, err, "%snorm.weight", pfx);
}

static int g3_make(const mk_ctx *c, warm_error *err) {
  const g3_preset *p = NULL;
  for (size_t i = 0; i < sizeof g3_presets / sizeof *g3_presets; i++)
    if (strcmp(c->preset, g3_presets[i].name) == 0) p = &g3_presets[i];
  if (!p)
    return warm_error_set(err, WARM_EINVAL,
                          "gemma3: unknown preset '%s' (tiny, small, full)",
                          c->preset);
  const char *prefix = mk_set_get(c, "prefix");
  int mm = 0;
  if (prefix && strcmp(prefix, "multimodal") == 0)
    mm = 1;
  else if (prefix && strcmp(prefix, "text") != 0)
    return warm_error_set(err, WARM_EINVAL,
                          "gemma3: --set prefix=%s (text or multimodal)",
                          prefix);
  char tok[4096];
  int rc = mk_find_data(c, G3_TOKENIZER, tok, sizeof tok, err);
  int64_t vocab = p->vocab;
  if (!rc && !vocab) rc = g3_spm_vocab(tok, &vocab, err);
  if (rc) return rc;
  json_t *text = g3_text_config(c, p, vocab, err);
  if (!text) return err->code ? err->code : WARM_EINVAL;
  json_t *root = text;
  if (mm) {
    json_object_del(text, "architectures");
    root = json_pack("{s:[s], s:s, s:o, s:i, s:i, s:i, s:i, s:f, s:b}",
                     "architectures", "Gemma3ForConditionalGeneration",
                     "model_type", "gemma3", "text_config", text,
                     "boi_token_index", 255999, "eoi_token_index", 256000,
                     "image_token_index", 262144, "mm_tokens_per_image", 256,
                     "initializer_range", 0.02, "tie_word_embeddings", 1);
  }
  mk_plan plan = {0};
  rc = g3_plan(text, mm ? "model.language_model." : "model.", &plan, err);
  if (!rc) rc = mk_config_write(c, root, err);
  if (!rc) rc = mk_copy_data(c, G3_TOKENIZER, "tokenizer.model", err);
  if (!rc)
    rc = mk_write_tensors(
        c, &plan, c->max_shard_bytes ? c->max_shard_bytes : G3_SHARD_BYTES,
        err);
  mk_plan_free(&plan);
  json_decref(root);
  return rc;
}

const mk_arch mk_arch_gemma3 = {"gemma3", "tiny|small|full", g3_make, 0};
