/* The DiT's config.json, its tensor table and plugin keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ltxv.h"

/* Reads config.json next to the weights with diffusers' defaults for
 * LTXVideoTransformer3DModel, and refuses what that class refuses (other
 * qk_norm / activation) or what cannot run (zero sizes, a cross-attention
 * width other than the model width, which the caption projection feeds). */
int ltxv_cfg_read(const char *weights, ltxv_cfg *c, warm_error *err) {
  warm_config *j = NULL;
  int rc = warm_config_open(weights, &j, err);
  if (rc) return rc;
  memset(c, 0, sizeof *c);
  const char *qk = NULL, *act = NULL;
  int64_t out_ch = 0;
  if ((rc = warm_config_int_or(j, "in_channels", 128, &c->in_channels, err)) ||
      (rc = warm_config_int_or(j, "out_channels", 0, &out_ch, err)) ||
      (rc = warm_config_int_or(j, "patch_size", 1, &c->patch_size, err)) ||
      (rc = warm_config_int_or(j, "patch_size_t", 1, &c->patch_size_t, err)) ||
      (rc = warm_config_int_or(j, "num_attention_heads", 32, &c->heads, err)) ||
      (rc = warm_config_int_or(j, "attention_head_dim", 64, &c->head_dim,
                               err)) ||
      (rc = warm_config_int_or(j, "cross_attention_dim", 2048, &c->cross_dim,
                               err)) ||
      (rc = warm_config_int_or(j, "num_layers", 28, &c->layers, err)) ||
      (rc = warm_config_int_or(j, "caption_channels", 4096,
                               &c->caption_channels, err)) ||
      (rc = warm_config_bool_or(j, "norm_elementwise_affine", 0,
                                &c->norm_affine, err)) ||
      (rc = warm_config_bool_or(j, "attention_bias", 1, &c->attn_bias, err)) ||
      (rc = warm_config_bool_or(j, "attention_out_bias", 1, &c->attn_out_bias,
                                err)) ||
      (rc = warm_config_float_or(j, "norm_eps", 1e-6, &c->norm_eps, err)) ||
      (rc = warm_config_string_or(j, "qk_norm", "rms_norm_across_heads", &qk,
                                  err)) ||
      (rc = warm_config_string_or(j, "activation_fn", "gelu-approximate", &act,
                                  err)))
    goto out;
  c->out_channels = out_ch > 0 ? out_ch : c->in_channels;
  if (strcmp(qk, "rms_norm_across_heads") != 0) {
    rc = warm_error_set(err, WARM_EFORMAT,
                        "%s: qk_norm \"%s\" is not supported (diffusers "
                        "accepts only rms_norm_across_heads)",
                        warm_config_file(j), qk);
    goto out;
  }
  if (strcmp(act, "gelu-approximate") != 0) {
    rc = warm_error_set(err, WARM_EFORMAT,
                        "%s: activation_fn \"%s\" is not supported (only "
                        "gelu-approximate)",
                        warm_config_file(j), act);
    goto out;
  }
  if (c->in_channels <= 0 || c->out_channels <= 0 || c->patch_size <= 0 ||
      c->patch_size_t <= 0 || c->heads <= 0 || c->head_dim <= 0 ||
      c->layers <= 0 || c->caption_channels <= 0 || c->heads > 4096 ||
      c->head_dim > 4096 || c->layers > 4096 || c->in_channels > (1 << 20) ||
      c->out_channels > (1 << 20) || c->caption_channels > (1 << 20)) {
    rc = warm_error_set(
        err, WARM_EFORMAT,
        "%s: sizes must be positive and sane (in_channels %lld, "
        "heads %lld, head_dim %lld, layers %lld)",
        warm_config_file(j), (long long)c->in_channels, (long long)c->heads,
        (long long)c->head_dim, (long long)c->layers);
    goto out;
  }
  c->dim = c->heads * c->head_dim;
  if (c->cross_dim != c->dim) {
    rc = warm_error_set(err, WARM_EFORMAT,
                        "%s: cross_attention_dim %lld must equal "
                        "num_attention_heads * attention_head_dim = %lld (the "
                        "caption projection outputs the model width)",
                        warm_config_file(j), (long long)c->cross_dim,
                        (long long)c->dim);
    goto out;
  }
  if (c->in_channels % (c->patch_size * c->patch_size * c->patch_size_t) ||
      c->out_channels % (c->patch_size * c->patch_size * c->patch_size_t)) {
    rc = warm_error_set(
        err, WARM_EFORMAT,
        "%s: in/out_channels (%lld/%lld) must be multiples of "
        "patch_size_t * patch_size^2 = %lld",
        warm_config_file(j), (long long)c->in_channels,
        (long long)c->out_channels,
        (long long)(c->patch_size * c->patch_size * c->patch_size_t));
    goto out;
  }
  if (c->norm_eps <= 0) {
    rc = warm_error_set(err, WARM_EFORMAT, "%s: norm_eps must be > 0",
                        warm_config_file(j));
    goto out;
  }
out:
  warm_config_close(j);
  return rc;
}

/* Tensors are appended in LG_ / LB_ order: `i` names the index the
 * append gives, for the reader (absent ones keep their slot). */
static void spec(wpc_pack *p, int i, const char *name, int present, int64_t d0,
                 int64_t d1, int matrix) {
  (void)i;
  wpc_pack_add(p, name, present, d0, d1, matrix);
}

/* The diffusers names and shapes of the globals and of one block. */
void ltxv_packs_build(const ltxv_cfg *c, warm_dtype dt, wpc_pack *g,
                      wpc_pack *b) {
  int64_t D = c->dim, X = c->cross_dim;
  int ab = c->attn_bias, ob = c->attn_out_bias;
  memset(g, 0, sizeof *g);
  memset(b, 0, sizeof *b);
  spec(g, LG_PROJ_IN, "proj_in.weight", 1, D, c->in_channels, 1);
  spec(g, LG_PROJ_IN_B, "proj_in.bias", 1, D, 0, 0);
  spec(g, LG_SST, "scale_shift_table", 1, 2, D, 0);
  spec(g, LG_T1, "time_embed.emb.timestep_embedder.linear_1.weight", 1, D,
       LTXV_TPROJ, 1);
  spec(g, LG_T1B, "time_embed.emb.timestep_embedder.linear_1.bias", 1, D, 0, 0);
  spec(g, LG_T2, "time_embed.emb.timestep_embedder.linear_2.weight", 1, D, D,
       1);
  spec(g, LG_T2B, "time_embed.emb.timestep_embedder.linear_2.bias", 1, D, 0, 0);
  spec(g, LG_TLIN, "time_embed.linear.weight", 1, 6 * D, D, 1);
  spec(g, LG_TLINB, "time_embed.linear.bias", 1, 6 * D, 0, 0);
  spec(g, LG_C1, "caption_projection.linear_1.weight", 1, D,
       c->caption_channels, 1);
  spec(g, LG_C1B, "caption_projection.linear_1.bias", 1, D, 0, 0);
  spec(g, LG_C2, "caption_projection.linear_2.weight", 1, D, D, 1);
  spec(g, LG_C2B, "caption_projection.linear_2.bias", 1, D, 0, 0);
  spec(g, LG_PROJ_OUT, "proj_out.weight", 1, c->out_channels, D, 1);
  spec(g, LG_PROJ_OUT_B, "proj_out.bias", 1, c->out_channels, 0, 0);
  wpc_pack_layout(g, dt);

  spec(b, LB_NORM1, "norm1.weight", c->norm_affine, D, 0, 0);
  spec(b, LB_NORM2, "norm2.weight", c->norm_affine, D, 0, 0);
  for (int a = 0; a < 2; a++) {
    int base = a ? LB_A2_NQ : LB_A1_NQ;
    int64_t kin = a ? X : D;
    char nm[64];
    const char *pfx = a ? "attn2" : "attn1";
#define SP(off, suffix, pres, d0, d1, mx)                                      \
  do {                                                                         \
    snprintf(nm, sizeof nm, "%s.%s", pfx, suffix);                             \
    spec(b, base + (off), nm, pres, d0, d1, mx);                               \
  } while (0)
    SP(0, "norm_q.weight", 1, D, 0, 0);
    SP(1, "norm_k.weight", 1, D, 0, 0);
    SP(2, "to_q.weight", 1, D, D, 1);
    SP(3, "to_q.bias", ab, D, 0, 0);
    SP(4, "to_k.weight", 1, D, kin, 1);
    SP(5, "to_k.bias", ab, D, 0, 0);
    SP(6, "to_v.weight", 1, D, kin, 1);
    SP(7, "to_v.bias", ab, D, 0, 0);
    SP(8, "to_out.0.weight", 1, D, D, 1);
    SP(9, "to_out.0.bias", ob, D, 0, 0);
#undef SP
  }
  spec(b, LB_FF1, "ff.net.0.proj.weight", 1, 4 * D, D, 1);
  spec(b, LB_FF1B, "ff.net.0.proj.bias", 1, 4 * D, 0, 0);
  spec(b, LB_FF2, "ff.net.2.weight", 1, D, 4 * D, 1);
  spec(b, LB_FF2B, "ff.net.2.bias", 1, D, 0, 0);
  spec(b, LB_SST, "scale_shift_table", 1, 6, D, 0);
  wpc_pack_layout(b, dt);
}

/* Every tensor the forward pass reads is present with its diffusers shape.
 * Extra tensors are ignored (as diffusers' loader would warn). */
int ltxv_check_weights(const warm_st *st, const ltxv_cfg *c, const wpc_pack *g,
                       const wpc_pack *b, warm_error *err) {
  int rc = wpc_pack_check(g, st, "", err);
  char pfx[64];
  for (int64_t l = 0; l < c->layers && !rc; l++) {
    snprintf(pfx, sizeof pfx, "transformer_blocks.%lld.", (long long)l);
    rc = wpc_pack_check(b, st, pfx, err);
  }
  return rc;
}

static int parse_num(const char *key, const char *v, double lo, double hi,
                     double *out, warm_error *err) {
  char *end = NULL;
  double d = strtod(v, &end);
  if (!v[0] || !end || *end || !(d >= lo && d <= hi))
    return warm_error_set(err, WARM_EINVAL,
                          LTXV_NAME ": key %s = \"%s\": expected a number in "
                                    "[%g, %g]",
                          key, v, lo, hi);
  *out = d;
  return 0;
}

/* Plugin keys: fps (default 25), temporal_compression (8),
 * spatial_compression (32) — the RoPE interpolation inputs diffusers'
 * LTXPipeline derives from the VAE and the frame rate — threads (cpu
 * worker threads, 0 = all cores) and bf16_activations (auto / true /
 * false: o->bf16_act -1, 1, 0; see warm_bf16_activations). Unknown keys
 * are refused. */
int ltxv_parse_opts(const warm_component_config *cfg, ltxv_opts *o,
                    warm_error *err) {
  o->fps = 25.0;
  o->tcomp = 8;
  o->scomp = 32;
  o->threads = 0;
  o->bf16_act = -1;
  for (uint32_t i = 0; cfg && i < cfg->n_keys; i++) {
    const char *k = cfg->keys[i].key, *v = cfg->keys[i].value;
    double d = 0;
    int rc;
    if (!k || !v)
      return warm_error_set(err, WARM_EINVAL, LTXV_NAME ": empty key");
    if (!strcmp(k, "fps")) {
      if ((rc = parse_num(k, v, 1e-3, 1e4, &d, err))) return rc;
      o->fps = d;
    } else if (!strcmp(k, "temporal_compression")) {
      if ((rc = parse_num(k, v, 1, 1024, &d, err))) return rc;
      o->tcomp = (int64_t)d;
    } else if (!strcmp(k, "spatial_compression")) {
      if ((rc = parse_num(k, v, 1, 1024, &d, err))) return rc;
      o->scomp = (int64_t)d;
    } else if (!strcmp(k, "threads")) {
      if ((rc = parse_num(k, v, 0, 1024, &d, err))) return rc;
      o->threads = (int)d;
    } else if (!strcmp(k, "bf16_activations")) {
      if ((rc = warm_key_auto_bool("bf16_activations", v, &o->bf16_act, err)))
        return rc;
    } else {
      return warm_error_set(err, WARM_EINVAL,
                            LTXV_NAME ": unknown key \"%s\" in [component %s] "
                                      "(known: fps, temporal_compression, "
                                      "spatial_compression, threads, "
                                      "bf16_activations)",
                            k, cfg->name ? cfg->name : "?");
    }
  }
  return 0;
}
