/* The combined file's transformer config, the tensor tables of both
 * streams, and the plugin keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ltx2.h"

static int bad(const char *file, const char *key, const char *what,
               warm_error *err) {
  return warm_error_set(err, WARM_EFORMAT, "%s: config.transformer.%s %s", file,
                        key, what);
}

static int read_cfg(const warm_config *j, const char *file, lx_cfg *c,
                    warm_error *err) {
  const char *rope = NULL, *prec = NULL, *qk = NULL, *act = NULL, *nrm = NULL;
  int64_t maxp[3] = {20, 2048, 2048}, amaxp = 20;
  double tsm = 1000, avm = 1;
  int before = 0, affine = 0, bias = 1;
  int rc;
  lx_mcfg *v = &c->m[LX_VIDEO], *a = &c->m[LX_AUDIO];
  if ((rc = warm_config_int_or(j, "num_attention_heads", 32, &v->heads, err)) ||
      (rc = warm_config_int_or(j, "attention_head_dim", 128, &v->dh, err)) ||
      (rc = warm_config_int_or(j, "in_channels", 128, &v->in, err)) ||
      (rc = warm_config_int_or(j, "out_channels", 128, &v->out, err)) ||
      (rc = warm_config_int_or(j, "cross_attention_dim", 4096, &v->ctx_dim,
                               err)) ||
      (rc = warm_config_int_or(j, "audio_num_attention_heads", 32, &a->heads,
                               err)) ||
      (rc = warm_config_int_or(j, "audio_attention_head_dim", 64, &a->dh,
                               err)) ||
      (rc = warm_config_int_or(j, "audio_in_channels", 128, &a->in, err)) ||
      (rc = warm_config_int_or(j, "audio_out_channels", 128, &a->out, err)) ||
      (rc = warm_config_int_or(j, "audio_cross_attention_dim", 2048,
                               &a->ctx_dim, err)) ||
      (rc = warm_config_int_or(j, "num_layers", 48, &c->layers, err)) ||
      (rc = warm_config_int_or(j, "caption_channels", 0, &c->caption_channels,
                               err)) ||
      (rc = warm_config_float_or(j, "norm_eps", 1e-6, &c->eps, err)) ||
      (rc = warm_config_float_or(j, "positional_embedding_theta", 10000.0,
                                 &c->theta, err)) ||
      (rc = warm_config_float_or(j, "timestep_scale_multiplier", 1000, &tsm,
                                 err)) ||
      (rc = warm_config_float(j, "av_ca_timestep_scale_multiplier", &avm,
                              err)) ||
      (rc = warm_config_string(j, "rope_type", &rope, err)) ||
      (rc = warm_config_bool_or(j, "apply_gated_attention", 0, &c->gated,
                                err)) ||
      (rc = warm_config_bool_or(j, "cross_attention_adaln", 0, &c->ca_adaln,
                                err)) ||
      (rc = warm_config_bool_or(j, "caption_proj_before_connector", 0, &before,
                                err)) ||
      (rc = warm_config_bool_or(j, "norm_elementwise_affine", 0, &affine,
                                err)) ||
      (rc = warm_config_bool_or(j, "attention_bias", 1, &bias, err)) ||
      (rc = warm_config_string_or(j, "qk_norm", "rms_norm", &qk, err)) ||
      (rc = warm_config_string_or(j, "activation_fn", "gelu-approximate", &act,
                                  err)) ||
      (rc = warm_config_string_or(j, "standardization_norm", "rms_norm", &nrm,
                                  err)))
    return rc;
  /* frequencies_precision: "float64" selects the numpy grid; any other
   * value (or false) the float32 one, as ltx-core compares it. */
  if (warm_config_string(j, "frequencies_precision", &prec, err)) prec = "";
  c->f64 = !strcmp(prec, "float64");
  if (!strcmp(rope, "split"))
    c->split = 1;
  else if (!strcmp(rope, "interleaved"))
    c->split = 0;
  else
    return bad(file, "rope_type", "must be \"split\" or \"interleaved\"", err);
  if (strcmp(qk, "rms_norm") || strcmp(act, "gelu-approximate") ||
      strcmp(nrm, "rms_norm") || affine || !bias)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: config.transformer: ltx-core accepts only "
                          "qk_norm rms_norm, activation_fn gelu-approximate, "
                          "standardization_norm rms_norm, "
                          "norm_elementwise_affine false, attention_bias true",
                          file);
  size_t n = 0;
  if (warm_config_has(j, "positional_embedding_max_pos")) {
    if ((rc =
             warm_config_array_len(j, "positional_embedding_max_pos", &n, err)))
      return rc;
    if (n != 3)
      return bad(file, "positional_embedding_max_pos", "must hold 3 values",
                 err);
    for (size_t i = 0; i < 3; i++)
      if ((rc = warm_config_int_at(j, "positional_embedding_max_pos", i,
                                   &maxp[i], err)))
        return rc;
  }
  if (warm_config_has(j, "audio_positional_embedding_max_pos")) {
    if ((rc = warm_config_array_len(j, "audio_positional_embedding_max_pos", &n,
                                    err)))
      return rc;
    if (n != 1)
      return bad(file, "audio_positional_embedding_max_pos",
                 "must hold 1 value", err);
    if ((rc = warm_config_int_at(j, "audio_positional_embedding_max_pos", 0,
                                 &amaxp, err)))
      return rc;
  }
  c->ts_mult = (float)tsm;
  c->av_mult = (float)avm;
  c->capproj = !before;
  c->k = c->ca_adaln ? 9 : 6;
  v->n_pos = 3;
  memcpy(v->max_pos, maxp, sizeof maxp);
  a->n_pos = 1;
  a->max_pos[0] = amaxp;
  c->cross_dim = a->ctx_dim;
  c->cross_max_pos = maxp[0] > amaxp ? maxp[0] : amaxp;
  for (int k = 0; k < 2; k++) {
    lx_mcfg *s = &c->m[k];
    s->dim = s->heads * s->dh;
    if (s->heads <= 0 || s->dh <= 0 || s->in <= 0 || s->out <= 0 ||
        s->heads > 1024 || s->dh > 4096 || s->in > (1 << 16) ||
        s->out > (1 << 16) || s->ctx_dim <= 0 || s->dh % 2)
      return warm_error_set(err, WARM_EFORMAT,
                            "%s: config.transformer: %s sizes must be "
                            "positive and sane (heads %lld, head dim %lld "
                            "even, channels %lld/%lld)",
                            file, k ? "audio" : "video", (long long)s->heads,
                            (long long)s->dh, (long long)s->in,
                            (long long)s->out);
  }
  if (c->layers <= 0 || c->layers > 1024 || c->eps <= 0 || c->theta <= 1 ||
      tsm <= 0 || maxp[0] <= 0 || maxp[1] <= 0 || maxp[2] <= 0 || amaxp <= 0)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: config.transformer: num_layers, norm_eps, "
                          "theta, multipliers and max positions must be "
                          "positive",
                          file);
  if (c->capproj &&
      (c->caption_channels <= 0 || c->caption_channels > (1 << 20)))
    return bad(file, "caption_channels",
               "must be positive (the caption projection reads it)", err);
  return 0;
}

/* Context width rules ltx-core relies on (the projected context is viewed
 * to the stream width), and the A<->V attention's RoPE width. */
static int check_dims(const lx_cfg *c, const char *file, warm_error *err) {
  for (int k = 0; k < (c->av ? 2 : 1); k++)
    if (c->m[k].ctx_dim != c->m[k].dim)
      return warm_error_set(
          err, WARM_EFORMAT,
          "%s: config.transformer.%s = %lld must equal the "
          "%s width heads x head_dim = %lld",
          file, k ? "audio_cross_attention_dim" : "cross_attention_dim",
          (long long)c->m[k].ctx_dim, k ? "audio" : "video",
          (long long)c->m[k].dim);
  if (c->av && (c->cross_dim % c->m[0].heads || c->cross_dim % c->m[1].heads ||
                (c->cross_dim / c->m[0].heads) % 2))
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: config.transformer: audio_cross_attention_dim "
                          "%lld must split into even per-head chunks for "
                          "both head counts",
                          file, (long long)c->cross_dim);
  return 0;
}

/* The transformer's config from the combined file. Keys whose code
 * default in ltx-core gives a different model than the checkpoints carry
 * (warm_ltx2_dit_required) are refused when absent, never defaulted. */
int lx_open(const char *path, warm_ltx2 **out, lx_cfg *c, warm_error *err) {
  warm_ltx2 *f = NULL;
  const warm_config *j = NULL;
  memset(c, 0, sizeof *c);
  int rc = warm_ltx2_open(path, &f, err);
  if (!rc) rc = warm_ltx2_config(f, "transformer", &j, err);
  if (!rc)
    rc = warm_ltx2_require(f, "transformer", warm_ltx2_dit_required, err);
  if (!rc) rc = read_cfg(j, path, c, err);
  if (!rc) {
    c->av =
        warm_ltx2_find(f, WARM_LTX2_DIT, "audio_patchify_proj.weight") != NULL;
    rc = check_dims(c, path, err);
  }
  if (rc)
    warm_ltx2_close(f);
  else
    *out = f;
  return rc;
}

static int add(wpc_pack *p, const char *pfx, const char *name, int64_t d0,
               int64_t d1, int matrix) {
  char nm[WPC_NAME_MAX];
  snprintf(nm, sizeof nm, "%s%s", pfx, name);
  return wpc_pack_add(p, nm, 1, d0, d1, matrix);
}

static void attn(wpc_pack *p, const char *pfx, int64_t heads, int64_t dh,
                 int64_t qdim, int64_t kvdim, int gated, lx_attn *a) {
  int64_t I = heads * dh;
  a->heads = heads;
  a->dh = dh;
  a->inner = I;
  a->qdim = qdim;
  a->kvdim = kvdim;
  a->qn = add(p, pfx, "q_norm.weight", I, 0, 0);
  a->kn = add(p, pfx, "k_norm.weight", I, 0, 0);
  a->q = add(p, pfx, "to_q.weight", I, qdim, 1);
  a->qb = add(p, pfx, "to_q.bias", I, 0, 0);
  a->k = add(p, pfx, "to_k.weight", I, kvdim, 1);
  a->kb = add(p, pfx, "to_k.bias", I, 0, 0);
  a->v = add(p, pfx, "to_v.weight", I, kvdim, 1);
  a->vb = add(p, pfx, "to_v.bias", I, 0, 0);
  a->o = add(p, pfx, "to_out.0.weight", qdim, I, 1);
  a->ob = add(p, pfx, "to_out.0.bias", qdim, 0, 0);
  a->g = gated ? add(p, pfx, "to_gate_logits.weight", heads, qdim, 1) : -1;
  a->gb = gated ? add(p, pfx, "to_gate_logits.bias", heads, 0, 0) : -1;
}

static void emb(wpc_pack *p, const char *pfx, int64_t D, int64_t coef,
                lx_emb *e) {
  e->dim = D;
  e->coef = coef;
  e->l1 = add(p, pfx, "emb.timestep_embedder.linear_1.weight", D, WPC_TPROJ, 1);
  e->l1b = add(p, pfx, "emb.timestep_embedder.linear_1.bias", D, 0, 0);
  e->l2 = add(p, pfx, "emb.timestep_embedder.linear_2.weight", D, D, 1);
  e->l2b = add(p, pfx, "emb.timestep_embedder.linear_2.bias", D, 0, 0);
  e->lin = add(p, pfx, "linear.weight", coef * D, D, 1);
  e->linb = add(p, pfx, "linear.bias", coef * D, 0, 0);
}

/* ltx-core module names (file keys add LX_PREFIX, and block tensors
 * "transformer_blocks.N."), shapes from the config. */
void lx_tables(const lx_cfg *c, warm_dtype dt, wpc_pack *g, wpc_pack *b,
               lx_tabs *t) {
  memset(g, 0, sizeof *g);
  memset(b, 0, sizeof *b);
  memset(t, 0xff, sizeof *t); /* every index -1 */
  for (int k = 0; k < (c->av ? 2 : 1); k++) {
    const lx_mcfg *s = &c->m[k];
    int64_t D = s->dim;
    const char *a = k ? "audio_" : "";
    char pf[64];
    lx_gmod *gm = &t->g[k];
    snprintf(pf, sizeof pf, "%spatchify_proj.", a);
    gm->patch = add(g, pf, "weight", D, s->in, 1);
    gm->patchb = add(g, pf, "bias", D, 0, 0);
    if (c->capproj) {
      snprintf(pf, sizeof pf, "%scaption_projection.", a);
      gm->cap1 = add(g, pf, "linear_1.weight", D, c->caption_channels, 1);
      gm->cap1b = add(g, pf, "linear_1.bias", D, 0, 0);
      gm->cap2 = add(g, pf, "linear_2.weight", D, D, 1);
      gm->cap2b = add(g, pf, "linear_2.bias", D, 0, 0);
    }
    snprintf(pf, sizeof pf, "%sadaln_single.", a);
    emb(g, pf, D, c->k, &gm->ada);
    if (c->ca_adaln) {
      snprintf(pf, sizeof pf, "%sprompt_adaln_single.", a);
      emb(g, pf, D, 2, &gm->prompt);
    }
    if (c->av) {
      snprintf(pf, sizeof pf, "av_ca_%s_scale_shift_adaln_single.",
               k ? "audio" : "video");
      emb(g, pf, D, 4, &gm->avss);
      snprintf(pf, sizeof pf, "av_ca_%s_gate_adaln_single.", k ? "v2a" : "a2v");
      emb(g, pf, D, 1, &gm->avgate);
    }
    snprintf(pf, sizeof pf, "%sscale_shift_table", a);
    gm->sst = add(g, "", pf, 2, D, 0);
    snprintf(pf, sizeof pf, "%sproj_out.", a);
    gm->out = add(g, pf, "weight", s->out, D, 1);
    gm->outb = add(g, pf, "bias", s->out, 0, 0);

    lx_bmod *bm = &t->b[k];
    snprintf(pf, sizeof pf, "%sscale_shift_table", a);
    bm->sst = add(b, "", pf, c->k, D, 0);
    if (c->ca_adaln) {
      snprintf(pf, sizeof pf, "%sprompt_scale_shift_table", a);
      bm->pst = add(b, "", pf, 2, D, 0);
    }
    snprintf(pf, sizeof pf, "%sattn1.", k ? "audio_" : "");
    attn(b, pf, s->heads, s->dh, D, D, c->gated, &bm->a1);
    snprintf(pf, sizeof pf, "%sattn2.", k ? "audio_" : "");
    attn(b, pf, s->heads, s->dh, D, s->ctx_dim, c->gated, &bm->a2);
    snprintf(pf, sizeof pf, "%sff.net.", k ? "audio_" : "");
    bm->ff1 = add(b, pf, "0.proj.weight", 4 * D, D, 1);
    bm->ff1b = add(b, pf, "0.proj.bias", 4 * D, 0, 0);
    bm->ff2 = add(b, pf, "2.weight", D, 4 * D, 1);
    bm->ff2b = add(b, pf, "2.bias", D, 0, 0);
    if (c->av) {
      snprintf(pf, sizeof pf, "scale_shift_table_a2v_ca_%s",
               k ? "audio" : "video");
      bm->avt = add(b, "", pf, 5, D, 0);
    }
  }
  if (c->av) {
    const lx_mcfg *v = &c->m[0], *a = &c->m[1];
    attn(b, "audio_to_video_attn.", a->heads, a->dh, v->dim, a->dim, c->gated,
         &t->a2v);
    attn(b, "video_to_audio_attn.", a->heads, a->dh, a->dim, v->dim, c->gated,
         &t->v2a);
  }
  wpc_pack_layout(g, dt);
  wpc_pack_layout(b, dt);
}

static int parse_num(const char *key, const char *v, double lo, double hi,
                     double *out, warm_error *err) {
  char *end = NULL;
  double d = strtod(v, &end);
  if (!v[0] || !end || *end || !(d >= lo && d <= hi))
    return warm_error_set(err, WARM_EINVAL,
                          LX_NAME ": key %s = \"%s\": expected a number in "
                                  "[%g, %g]",
                          key, v, lo, hi);
  *out = d;
  return 0;
}

/* "FILE [STRENGTH]" of a lora key. */
static int parse_lora(const warm_component_config *cfg, const char *key,
                      const char *v, const char *name, lx_opts *o,
                      warm_error *err) {
  if (o->n_lora >= LX_MAX_ADAPTERS)
    return warm_error_set(err, WARM_EINVAL,
                          LX_NAME ": key %s: at most %d LoRA files", key,
                          LX_MAX_ADAPTERS);
  lx_lora *l = &o->lora[o->n_lora];
  memset(l, 0, sizeof *l);
  const char *sp = strrchr(v, ' ');
  double s = 1.0;
  size_t plen = strlen(v);
  if (sp) {
    char *end = NULL;
    double d = strtod(sp + 1, &end);
    if (end && !*end && sp[1]) {
      s = d;
      plen = (size_t)(sp - v);
      while (plen && v[plen - 1] == ' ')
        plen--;
    }
  }
  if (!plen || !(s >= -100 && s <= 100))
    return warm_error_set(err, WARM_EINVAL,
                          LX_NAME ": key %s = \"%s\": expected FILE "
                                  "[STRENGTH] with a strength in [-100, 100]",
                          key, v);
  char *given = strndup(v, plen);
  l->path = given ? warm_config_path(cfg, given) : NULL;
  free(given);
  l->name = name ? strdup(name) : NULL;
  l->strength = (float)s;
  if (!l->path || (name && !l->name)) {
    free(l->path);
    free(l->name);
    return warm_error_set(err, WARM_ENOMEM, LX_NAME ": out of memory");
  }
  for (int i = 0; name && i < o->n_lora; i++)
    if (o->lora[i].name && !strcmp(o->lora[i].name, name)) {
      free(l->path);
      free(l->name);
      return warm_error_set(err, WARM_EINVAL,
                            LX_NAME ": key %s: adapter \"%s\" is defined "
                                    "twice",
                            key, name);
    }
  o->n_lora++;
  return 0;
}

void lx_opts_free(lx_opts *o) {
  for (int i = 0; i < o->n_lora; i++) {
    free(o->lora[i].path);
    free(o->lora[i].name);
    warm_lora_close(o->lora[i].lf);
  }
  o->n_lora = 0;
}

/* Plugin keys: threads, fps, temporal_compression, spatial_compression
 * (estimate() sizes: audio tokens and the video grid from pixels),
 * max_timestep_values, position_dtype, bf16_activations, lora, lora.NAME.
 * Unknown keys are refused. */
int lx_parse_opts(const warm_component_config *cfg, lx_opts *o,
                  warm_error *err) {
  memset(o, 0, sizeof *o);
  o->fps = 24.0;
  o->tcomp = 8;
  o->scomp = 32;
  o->max_tvalues = 16;
  o->bf16_act = -1;
  for (uint32_t i = 0; cfg && i < cfg->n_keys; i++) {
    const char *k = cfg->keys[i].key, *v = cfg->keys[i].value;
    double d = 0;
    int rc = 0;
    if (!k || !v) {
      rc = warm_error_set(err, WARM_EINVAL, LX_NAME ": empty key");
    } else if (!strcmp(k, "threads")) {
      if (!(rc = parse_num(k, v, 0, 1024, &d, err))) o->threads = (int)d;
    } else if (!strcmp(k, "fps")) {
      if (!(rc = parse_num(k, v, 1e-3, 1e4, &d, err))) o->fps = d;
    } else if (!strcmp(k, "temporal_compression")) {
      if (!(rc = parse_num(k, v, 1, 1024, &d, err))) o->tcomp = (int64_t)d;
    } else if (!strcmp(k, "spatial_compression")) {
      if (!(rc = parse_num(k, v, 1, 1024, &d, err))) o->scomp = (int64_t)d;
    } else if (!strcmp(k, "max_timestep_values")) {
      if (!(rc = parse_num(k, v, 1, 65536, &d, err)))
        o->max_tvalues = (int64_t)d;
    } else if (!strcmp(k, "position_dtype")) {
      if (!strcmp(v, "bf16") || !strcmp(v, "f32"))
        o->bf16_positions = !strcmp(v, "bf16");
      else
        rc = warm_error_set(err, WARM_EINVAL,
                            LX_NAME ": key position_dtype = \"%s\": expected "
                                    "f32 or bf16",
                            v);
    } else if (!strcmp(k, "bf16_activations")) {
      rc = warm_key_auto_bool("bf16_activations", v, &o->bf16_act, err);
    } else if (!strcmp(k, "lora")) {
      rc = parse_lora(cfg, k, v, NULL, o, err);
    } else if (!strncmp(k, "lora.", 5) && k[5]) {
      rc = parse_lora(cfg, k, v, k + 5, o, err);
    } else {
      rc = warm_error_set(err, WARM_EINVAL,
                          LX_NAME ": unknown key \"%s\" in [component %s] "
                                  "(known: threads, fps, "
                                  "temporal_compression, spatial_compression, "
                                  "max_timestep_values, position_dtype, "
                                  "bf16_activations, lora, lora.NAME)",
                          k, cfg->name ? cfg->name : "?");
    }
    if (rc) {
      lx_opts_free(o);
      return rc;
    }
  }
  return 0;
}
