/* LTX-2 transformer (ltx-core LTXModel, AudioVideo) and text side
 * (feature-extractor projection, two Embeddings1DConnector) tensor plans,
 * plus the plan helpers every LTX-2 component uses. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mk_ltx2.h"

int lx_linear(mk_plan *p, const char *name, int64_t out, int64_t in, int bias,
              warm_error *err) {
  int64_t w[2] = {out, in}, b[1] = {out};
  int rc = mk_plan_add(p, MK_NORMAL, 0, 0.5f / sqrtf((float)in), 2, w, err,
                       "%s.weight", name);
  if (!rc && bias)
    rc = mk_plan_add(p, MK_NORMAL, 0, 0.02f, 1, b, err, "%s.bias", name);
  return rc;
}

int lx_norm(mk_plan *p, const char *name, int64_t n, warm_error *err) {
  int64_t s[1] = {n};
  return mk_plan_add(p, MK_NORMAL, 1.0f, 0.05f, 1, s, err, "%s.weight", name);
}

int lx_table(mk_plan *p, const char *name, int64_t rows, int64_t n,
             warm_error *err) {
  int64_t s[2] = {rows, n};
  return mk_plan_add(p, MK_NORMAL, 0, 0.05f, 2, s, err, "%s", name);
}

int lx_conv(mk_plan *p, const char *name, int64_t out, int64_t in, int nk,
            const int64_t *k, int bias, warm_error *err) {
  int64_t w[WARM_MAX_DIMS] = {out, in}, fan = in;
  for (int i = 0; i < nk; i++) {
    w[2 + i] = k[i];
    fan *= k[i];
  }
  int64_t b[1] = {out};
  int rc = mk_plan_add(p, MK_NORMAL, 0, 0.5f / sqrtf((float)fan), 2 + nk, w,
                       err, "%s.weight", name);
  if (!rc && bias)
    rc = mk_plan_add(p, MK_NORMAL, 0, 0.02f, 1, b, err, "%s.bias", name);
  return rc;
}

/* An ltx-core Attention: q/k RMSNorm over the inner width, biased
 * projections, (gated) per-head gate logits. */
static int attention(mk_plan *p, const char *pre, int64_t query, int64_t ctx,
                     int64_t heads, int64_t dim, int gated, warm_error *err) {
  char n[200];
  int64_t inner = heads * dim;
  int rc = 0;
  snprintf(n, sizeof n, "%s.q_norm", pre);
  rc = rc ? rc : lx_norm(p, n, inner, err);
  snprintf(n, sizeof n, "%s.k_norm", pre);
  rc = rc ? rc : lx_norm(p, n, inner, err);
  snprintf(n, sizeof n, "%s.to_q", pre);
  rc = rc ? rc : lx_linear(p, n, inner, query, 1, err);
  snprintf(n, sizeof n, "%s.to_k", pre);
  rc = rc ? rc : lx_linear(p, n, inner, ctx, 1, err);
  snprintf(n, sizeof n, "%s.to_v", pre);
  rc = rc ? rc : lx_linear(p, n, inner, ctx, 1, err);
  snprintf(n, sizeof n, "%s.to_out.0", pre);
  rc = rc ? rc : lx_linear(p, n, query, inner, 1, err);
  if (gated) {
    snprintf(n, sizeof n, "%s.to_gate_logits", pre);
    rc = rc ? rc : lx_linear(p, n, heads, query, 1, err);
  }
  return rc;
}

static int feed_forward(mk_plan *p, const char *pre, int64_t d,
                        warm_error *err) {
  char n[200];
  snprintf(n, sizeof n, "%s.net.0.proj", pre);
  int rc = lx_linear(p, n, 4 * d, d, 1, err);
  snprintf(n, sizeof n, "%s.net.2", pre);
  return rc ? rc : lx_linear(p, n, d, 4 * d, 1, err);
}

/* AdaLayerNormSingle: timestep embedder (256 -> d -> d) and the linear
 * (d -> k*d). */
static int adaln(mk_plan *p, const char *pre, int64_t d, int64_t k,
                 warm_error *err) {
  char n[200];
  snprintf(n, sizeof n, "%s.emb.timestep_embedder.linear_1", pre);
  int rc = lx_linear(p, n, d, 256, 1, err);
  snprintf(n, sizeof n, "%s.emb.timestep_embedder.linear_2", pre);
  rc = rc ? rc : lx_linear(p, n, d, d, 1, err);
  snprintf(n, sizeof n, "%s.linear", pre);
  return rc ? rc : lx_linear(p, n, k * d, d, 1, err);
}

/* The dims every transformer plan needs, read from config.transformer. */
typedef struct lx_tdims {
  int64_t h, hd, ah, ahd, layers, in, out, ain, aout, cap, ctx, actx;
  int64_t d, ad;
  int v23;
} lx_tdims;

static int tdims(const json_t *tr, lx_tdims *t, warm_error *err) {
  memset(t, 0, sizeof *t);
  int rc = lx_int(tr, "num_attention_heads", &t->h, err);
  rc = rc ? rc : lx_int(tr, "attention_head_dim", &t->hd, err);
  rc = rc ? rc : lx_int(tr, "audio_num_attention_heads", &t->ah, err);
  rc = rc ? rc : lx_int(tr, "audio_attention_head_dim", &t->ahd, err);
  rc = rc ? rc : lx_int(tr, "num_layers", &t->layers, err);
  rc = rc ? rc : lx_int(tr, "in_channels", &t->in, err);
  rc = rc ? rc : lx_int(tr, "out_channels", &t->out, err);
  rc = rc ? rc : lx_int(tr, "audio_in_channels", &t->ain, err);
  rc = rc ? rc : lx_int(tr, "audio_out_channels", &t->aout, err);
  rc = rc ? rc : lx_int(tr, "cross_attention_dim", &t->ctx, err);
  rc = rc ? rc : lx_int(tr, "audio_cross_attention_dim", &t->actx, err);
  if (rc) return rc;
  t->d = t->h * t->hd;
  t->ad = t->ah * t->ahd;
  t->v23 = lx_bool(tr, "caption_proj_before_connector", 0);
  if (!t->v23) rc = lx_int(tr, "caption_channels", &t->cap, err);
  if (!rc && (t->ctx != t->d || t->actx != t->ad))
    rc = warm_error_set(err, WARM_EINVAL,
                        "cross_attention_dim (%lld) / audio_cross_attention_dim"
                        " (%lld) must equal the video (%lld) / audio (%lld) "
                        "widths",
                        (long long)t->ctx, (long long)t->actx, (long long)t->d,
                        (long long)t->ad);
  return rc;
}

int lx_plan_transformer(mk_plan *p, const json_t *tr, warm_error *err) {
  lx_tdims t;
  int rc = tdims(tr, &t, err);
  if (rc) return rc;
  int gated = lx_bool(tr, "apply_gated_attention", 0);
  int xadaln = lx_bool(tr, "cross_attention_adaln", 0);
  int64_t k = xadaln ? 9 : 6;
  const char *P = "model.diffusion_model.";
  char n[200];
#define NAME(...) (snprintf(n, sizeof n, __VA_ARGS__), n)
  rc = lx_linear(p, NAME("%spatchify_proj", P), t.d, t.in, 1, err);
  rc = rc ? rc
          : lx_linear(p, NAME("%saudio_patchify_proj", P), t.ad, t.ain, 1, err);
  if (!t.v23) {
    rc = rc ? rc
            : lx_linear(p, NAME("%scaption_projection.linear_1", P), t.d, t.cap,
                        1, err);
    rc = rc ? rc
            : lx_linear(p, NAME("%scaption_projection.linear_2", P), t.d, t.d,
                        1, err);
    rc = rc ? rc
            : lx_linear(p, NAME("%saudio_caption_projection.linear_1", P), t.ad,
                        t.cap, 1, err);
    rc = rc ? rc
            : lx_linear(p, NAME("%saudio_caption_projection.linear_2", P), t.ad,
                        t.ad, 1, err);
  }
  rc = rc ? rc : adaln(p, NAME("%sadaln_single", P), t.d, k, err);
  rc = rc ? rc : adaln(p, NAME("%saudio_adaln_single", P), t.ad, k, err);
  if (xadaln) {
    rc = rc ? rc : adaln(p, NAME("%sprompt_adaln_single", P), t.d, 2, err);
    rc = rc ? rc
            : adaln(p, NAME("%saudio_prompt_adaln_single", P), t.ad, 2, err);
  }
  rc = rc ? rc
          : adaln(p, NAME("%sav_ca_video_scale_shift_adaln_single", P), t.d, 4,
                  err);
  rc = rc ? rc
          : adaln(p, NAME("%sav_ca_audio_scale_shift_adaln_single", P), t.ad, 4,
                  err);
  rc =
      rc ? rc : adaln(p, NAME("%sav_ca_a2v_gate_adaln_single", P), t.d, 1, err);
  rc = rc ? rc
          : adaln(p, NAME("%sav_ca_v2a_gate_adaln_single", P), t.ad, 1, err);
  for (int64_t b = 0; !rc && b < t.layers; b++) {
    char B[120];
    snprintf(B, sizeof B, "%stransformer_blocks.%lld", P, (long long)b);
    rc = attention(p, NAME("%s.attn1", B), t.d, t.d, t.h, t.hd, gated, err);
    rc = rc ? rc
            : attention(p, NAME("%s.attn2", B), t.d, t.ctx, t.h, t.hd, gated,
                        err);
    rc = rc ? rc
            : attention(p, NAME("%s.audio_attn1", B), t.ad, t.ad, t.ah, t.ahd,
                        gated, err);
    rc = rc ? rc
            : attention(p, NAME("%s.audio_attn2", B), t.ad, t.actx, t.ah, t.ahd,
                        gated, err);
    rc = rc ? rc
            : attention(p, NAME("%s.audio_to_video_attn", B), t.d, t.ad, t.ah,
                        t.ahd, gated, err);
    rc = rc ? rc
            : attention(p, NAME("%s.video_to_audio_attn", B), t.ad, t.d, t.ah,
                        t.ahd, gated, err);
    rc = rc ? rc : feed_forward(p, NAME("%s.ff", B), t.d, err);
    rc = rc ? rc : feed_forward(p, NAME("%s.audio_ff", B), t.ad, err);
    rc = rc ? rc : lx_table(p, NAME("%s.scale_shift_table", B), k, t.d, err);
    rc = rc ? rc
            : lx_table(p, NAME("%s.audio_scale_shift_table", B), k, t.ad, err);
    rc = rc ? rc
            : lx_table(p, NAME("%s.scale_shift_table_a2v_ca_video", B), 5, t.d,
                       err);
    rc = rc ? rc
            : lx_table(p, NAME("%s.scale_shift_table_a2v_ca_audio", B), 5, t.ad,
                       err);
    if (xadaln) {
      rc =
          rc ? rc
             : lx_table(p, NAME("%s.prompt_scale_shift_table", B), 2, t.d, err);
      rc = rc ? rc
              : lx_table(p, NAME("%s.audio_prompt_scale_shift_table", B), 2,
                         t.ad, err);
    }
  }
  rc = rc ? rc : lx_table(p, NAME("%sscale_shift_table", P), 2, t.d, err);
  rc =
      rc ? rc : lx_table(p, NAME("%saudio_scale_shift_table", P), 2, t.ad, err);
  rc = rc ? rc : lx_linear(p, NAME("%sproj_out", P), t.out, t.d, 1, err);
  rc =
      rc ? rc : lx_linear(p, NAME("%saudio_proj_out", P), t.aout, t.ad, 1, err);
#undef NAME
  return rc;
}

/* One Embeddings1DConnector: 128 registers, `layers` pre-norm blocks. */
static int connector(mk_plan *p, const char *pre, int64_t heads, int64_t dim,
                     int64_t layers, int gated, warm_error *err) {
  int64_t c = heads * dim, reg[2] = {128, c};
  char n[200];
  int rc = mk_plan_add(p, MK_NORMAL, 0, 0.5f, 2, reg, err,
                       "%slearnable_registers", pre);
  for (int64_t b = 0; !rc && b < layers; b++) {
    snprintf(n, sizeof n, "%stransformer_1d_blocks.%lld.attn1", pre,
             (long long)b);
    rc = attention(p, n, c, c, heads, dim, gated, err);
    snprintf(n, sizeof n, "%stransformer_1d_blocks.%lld.ff", pre, (long long)b);
    rc = rc ? rc : feed_forward(p, n, c, err);
  }
  return rc;
}

int lx_plan_text(mk_plan *p, const json_t *tr, int preset, warm_error *err) {
  lx_tdims t;
  int rc = tdims(tr, &t, err);
  if (rc) return rc;
  int64_t hidden, states, ch, cd, ach, acd, layers;
  lx_gemma_dims(preset, &hidden, &states);
  rc = lx_int(tr, "connector_num_attention_heads", &ch, err);
  rc = rc ? rc : lx_int(tr, "connector_attention_head_dim", &cd, err);
  rc = rc ? rc : lx_int(tr, "connector_num_layers", &layers, err);
  if (rc) return rc;
  /* The audio connector falls back to the video one's heads (ltx-core's
   * AudioEmbeddings1DConnectorConfigurator). */
  ach = ch;
  acd = cd;
  if (json_object_get(tr, "audio_connector_num_attention_heads"))
    rc = lx_int(tr, "audio_connector_num_attention_heads", &ach, err);
  if (!rc && json_object_get(tr, "audio_connector_attention_head_dim"))
    rc = lx_int(tr, "audio_connector_attention_head_dim", &acd, err);
  if (rc) return rc;
  int gated = lx_bool(tr, "connector_apply_gated_attention", 0);
  int64_t flat = hidden * states;
  if (!t.v23) {
    if (ch * cd != hidden)
      return warm_error_set(err, WARM_EINVAL,
                            "2.0 connectors are %lld wide; the Gemma width is "
                            "%lld",
                            (long long)(ch * cd), (long long)hidden);
    rc = lx_linear(p, "text_embedding_projection.aggregate_embed", hidden, flat,
                   0, err);
  } else {
    if (ch * cd != t.d || ach * acd != t.ad)
      return warm_error_set(err, WARM_EINVAL,
                            "2.3 connectors (%lld, %lld wide) must match the "
                            "transformer widths (%lld, %lld)",
                            (long long)(ch * cd), (long long)(ach * acd),
                            (long long)t.d, (long long)t.ad);
    rc = lx_linear(p, "text_embedding_projection.video_aggregate_embed", t.d,
                   flat, 1, err);
    rc = rc ? rc
            : lx_linear(p, "text_embedding_projection.audio_aggregate_embed",
                        t.ad, flat, 1, err);
  }
  rc = rc ? rc
          : connector(p, "model.diffusion_model.video_embeddings_connector.",
                      ch, cd, layers, gated, err);
  rc = rc ? rc
          : connector(p, "model.diffusion_model.audio_embeddings_connector.",
                      ach, acd, layers, gated, err);
  return rc;
}

int lx_block_linears(const json_t *tr, char names[][48], int64_t (*shape)[2],
                     int *count, warm_error *err) {
  lx_tdims t;
  int rc = tdims(tr, &t, err);
  if (rc) return rc;
  static const char *const att[6] = {"attn1",
                                     "attn2",
                                     "audio_attn1",
                                     "audio_attn2",
                                     "audio_to_video_attn",
                                     "video_to_audio_attn"};
  /* query width, context width, inner width per attention */
  int64_t q[6] = {t.d, t.d, t.ad, t.ad, t.d, t.ad};
  int64_t kv[6] = {t.d, t.ctx, t.ad, t.actx, t.ad, t.d};
  int64_t in[6] = {t.d, t.d, t.ad, t.ad, t.ad, t.ad};
  int n = 0;
#define ADD(o, i, ...)                                                         \
  do {                                                                         \
    snprintf(names[n], 48, __VA_ARGS__);                                       \
    shape[n][0] = (o);                                                         \
    shape[n][1] = (i);                                                         \
    n++;                                                                       \
  } while (0)
  for (int a = 0; a < 6; a++) {
    ADD(in[a], q[a], "%s.to_q", att[a]);
    ADD(in[a], kv[a], "%s.to_k", att[a]);
    ADD(in[a], kv[a], "%s.to_v", att[a]);
    ADD(q[a], in[a], "%s.to_out.0", att[a]);
  }
  ADD(4 * t.d, t.d, "ff.net.0.proj");
  ADD(t.d, 4 * t.d, "ff.net.2");
  ADD(4 * t.ad, t.ad, "audio_ff.net.0.proj");
  ADD(t.ad, 4 * t.ad, "audio_ff.net.2");
#undef ADD
  *count = n;
  return 0;
}
