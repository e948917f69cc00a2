/*
 * test_ltx2_model.h — writes an LTX-2 transformer checkpoint (the combined
 * single-file layout: model.diffusion_model.* keys, config JSON in
 * __metadata__) at any size, for the benchmarks: random values with a
 * fixed seed (uniform with the std of N(0, 1/in) for matrices, of
 * N(0, 0.04) for tables and vectors: cheap enough for GB-sized files), stored
 * f32 or bf16, streamed to disk tensor by tensor. The key names and shapes
 * restate ltx-core's LTXModel (Appendix A of LTX2.md) independently of the
 * plugin's own table.
 */
#ifndef TEST_LTX2_MODEL_H
#define TEST_LTX2_MODEL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warm/safetensors.h"
#include "warm/warm.h"
#include "wk.h"

typedef struct lt2_dims {
  int64_t heads, dh, aheads, adh; /* video and audio attention */
  int64_t in, ain, caption;       /* caption 0: 2.3 (no projection) */
  int64_t layers;
  int av, v23;
} lt2_dims;

typedef struct lt2_key {
  char name[256];
  int64_t shape[2];
  int ndim, matrix;
} lt2_key;

typedef struct lt2_keys {
  lt2_key *k;
  int n, cap;
} lt2_keys;

static inline void lt2_add(lt2_keys *t, const char *pfx, const char *nm,
                           int64_t d0, int64_t d1, int matrix) {
  if (t->n == t->cap) {
    t->cap = t->cap ? 2 * t->cap : 256;
    t->k = realloc(t->k, (size_t)t->cap * sizeof *t->k);
  }
  lt2_key *k = &t->k[t->n++];
  snprintf(k->name, sizeof k->name, "model.diffusion_model.%s%s", pfx, nm);
  k->shape[0] = d0;
  k->shape[1] = d1;
  k->ndim = d1 ? 2 : 1;
  k->matrix = matrix;
}

static inline void lt2_attn(lt2_keys *t, const char *pfx, int64_t heads,
                            int64_t dh, int64_t q, int64_t kv, int gated) {
  int64_t I = heads * dh;
  char p[160];
#define A(n, d0, d1, m)                                                        \
  do {                                                                         \
    snprintf(p, sizeof p, "%s%s", pfx, n);                                     \
    lt2_add(t, p, "", d0, d1, m);                                              \
  } while (0)
  A("q_norm.weight", I, 0, 0);
  A("k_norm.weight", I, 0, 0);
  A("to_q.weight", I, q, 1);
  A("to_q.bias", I, 0, 0);
  A("to_k.weight", I, kv, 1);
  A("to_k.bias", I, 0, 0);
  A("to_v.weight", I, kv, 1);
  A("to_v.bias", I, 0, 0);
  A("to_out.0.weight", q, I, 1);
  A("to_out.0.bias", q, 0, 0);
  if (gated) {
    A("to_gate_logits.weight", heads, q, 1);
    A("to_gate_logits.bias", heads, 0, 0);
  }
#undef A
}

static inline void lt2_emb(lt2_keys *t, const char *pfx, int64_t D,
                           int64_t coef) {
  lt2_add(t, pfx, "emb.timestep_embedder.linear_1.weight", D, 256, 1);
  lt2_add(t, pfx, "emb.timestep_embedder.linear_1.bias", D, 0, 0);
  lt2_add(t, pfx, "emb.timestep_embedder.linear_2.weight", D, D, 1);
  lt2_add(t, pfx, "emb.timestep_embedder.linear_2.bias", D, 0, 0);
  lt2_add(t, pfx, "linear.weight", coef * D, D, 1);
  lt2_add(t, pfx, "linear.bias", coef * D, 0, 0);
}

static inline lt2_keys lt2_key_list(const lt2_dims *d) {
  lt2_keys t = {0};
  int64_t k = d->v23 ? 9 : 6;
  for (int m = 0; m < (d->av ? 2 : 1); m++) {
    int64_t D = m ? d->aheads * d->adh : d->heads * d->dh;
    int64_t in = m ? d->ain : d->in;
    const char *a = m ? "audio_" : "";
    char p[96];
    snprintf(p, sizeof p, "%spatchify_proj.", a);
    lt2_add(&t, p, "weight", D, in, 1);
    lt2_add(&t, p, "bias", D, 0, 0);
    if (!d->v23) {
      snprintf(p, sizeof p, "%scaption_projection.", a);
      lt2_add(&t, p, "linear_1.weight", D, d->caption, 1);
      lt2_add(&t, p, "linear_1.bias", D, 0, 0);
      lt2_add(&t, p, "linear_2.weight", D, D, 1);
      lt2_add(&t, p, "linear_2.bias", D, 0, 0);
    }
    snprintf(p, sizeof p, "%sadaln_single.", a);
    lt2_emb(&t, p, D, k);
    if (d->v23) {
      snprintf(p, sizeof p, "%sprompt_adaln_single.", a);
      lt2_emb(&t, p, D, 2);
    }
    if (d->av) {
      snprintf(p, sizeof p, "av_ca_%s_scale_shift_adaln_single.",
               m ? "audio" : "video");
      lt2_emb(&t, p, D, 4);
      snprintf(p, sizeof p, "av_ca_%s_gate_adaln_single.", m ? "v2a" : "a2v");
      lt2_emb(&t, p, D, 1);
    }
    snprintf(p, sizeof p, "%sscale_shift_table", a);
    lt2_add(&t, p, "", 2, D, 0);
    snprintf(p, sizeof p, "%sproj_out.", a);
    lt2_add(&t, p, "weight", in, D, 1);
    lt2_add(&t, p, "bias", in, 0, 0);
  }
  int64_t Dv = d->heads * d->dh, Da = d->aheads * d->adh;
  for (int64_t l = 0; l < d->layers; l++)
    for (int m = 0; m < (d->av ? 2 : 1); m++) {
      int64_t D = m ? Da : Dv, H = m ? d->aheads : d->heads,
              dh = m ? d->adh : d->dh;
      const char *a = m ? "audio_" : "";
      char p[160];
      snprintf(p, sizeof p, "transformer_blocks.%lld.%sscale_shift_table",
               (long long)l, a);
      lt2_add(&t, p, "", k, D, 0);
      if (d->v23) {
        snprintf(p, sizeof p,
                 "transformer_blocks.%lld.%sprompt_scale_shift_table",
                 (long long)l, a);
        lt2_add(&t, p, "", 2, D, 0);
      }
      snprintf(p, sizeof p, "transformer_blocks.%lld.%sattn1.", (long long)l, a);
      lt2_attn(&t, p, H, dh, D, D, d->v23);
      snprintf(p, sizeof p, "transformer_blocks.%lld.%sattn2.", (long long)l, a);
      lt2_attn(&t, p, H, dh, D, D, d->v23);
      snprintf(p, sizeof p, "transformer_blocks.%lld.%sff.net.", (long long)l, a);
      lt2_add(&t, p, "0.proj.weight", 4 * D, D, 1);
      lt2_add(&t, p, "0.proj.bias", 4 * D, 0, 0);
      lt2_add(&t, p, "2.weight", D, 4 * D, 1);
      lt2_add(&t, p, "2.bias", D, 0, 0);
      if (d->av) {
        snprintf(p, sizeof p,
                 "transformer_blocks.%lld.scale_shift_table_a2v_ca_%s",
                 (long long)l, m ? "audio" : "video");
        lt2_add(&t, p, "", 5, D, 0);
        snprintf(p, sizeof p, "transformer_blocks.%lld.%s_attn.", (long long)l,
                 m ? "video_to_audio" : "audio_to_video");
        lt2_attn(&t, p, d->aheads, d->adh, D, m ? Dv : Da, d->v23);
      }
    }
  return t;
}

static inline float lt2_randn(uint64_t *s) {
  double u1, u2;
  do {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    u1 = (double)(*s >> 11) / 9007199254740992.0;
  } while (u1 <= 0);
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  u2 = (double)(*s >> 11) / 9007199254740992.0;
  return (float)(sqrt(-2 * log(u1)) * cos(2 * M_PI * u2));
}

/* Writes the checkpoint; dt is WARM_F32 or WARM_BF16. 0 or -1 (printed). */
static inline int lt2_write(const char *path, const lt2_dims *d, warm_dtype dt,
                            uint64_t seed) {
  seed |= 1; /* xorshift state must not be 0 */
  lt2_keys t = lt2_key_list(d);
  char cfg[2048];
  int64_t Dv = d->heads * d->dh, Da = d->aheads * d->adh;
  snprintf(cfg, sizeof cfg,
           "{\"transformer\": {\"num_attention_heads\": %lld, "
           "\"attention_head_dim\": %lld, \"in_channels\": %lld, "
           "\"out_channels\": %lld, \"num_layers\": %lld, "
           "\"cross_attention_dim\": %lld, \"audio_num_attention_heads\": "
           "%lld, \"audio_attention_head_dim\": %lld, \"audio_in_channels\": "
           "%lld, \"audio_out_channels\": %lld, \"audio_cross_attention_dim\": "
           "%lld, \"caption_channels\": %lld, \"rope_type\": \"split\", "
           "\"frequencies_precision\": \"float64\", "
           "\"av_ca_timestep_scale_multiplier\": 1000, "
           "\"apply_gated_attention\": %s, \"cross_attention_adaln\": %s, "
           "\"caption_proj_before_connector\": %s}}",
           (long long)d->heads, (long long)d->dh, (long long)d->in,
           (long long)d->in, (long long)d->layers, (long long)Dv,
           (long long)d->aheads, (long long)d->adh, (long long)d->ain,
           (long long)d->ain, (long long)Da,
           (long long)(d->caption ? d->caption : 3840),
           d->v23 ? "true" : "false", d->v23 ? "true" : "false",
           d->v23 ? "true" : "false");
  warm_error err = {0};
  warm_st_writer *w = NULL;
  int rc = warm_st_writer_open(path, &w, &err);
  if (!rc) rc = warm_st_writer_meta(w, "config", cfg, &err);
  for (int i = 0; i < t.n && !rc; i++)
    rc = warm_st_writer_declare(w, t.k[i].name,
                                t.k[i].matrix ? dt : WARM_F32, t.k[i].ndim,
                                t.k[i].shape, &err);
  if (!rc) rc = warm_st_writer_begin(w, &err);
  for (int i = 0; i < t.n && !rc; i++) {
    int64_t n = t.k[i].shape[0] * (t.k[i].ndim == 2 ? t.k[i].shape[1] : 1);
    /* Uniform in [-a, a) has std a / sqrt(3). */
    float a = (t.k[i].matrix ? (float)(1.0 / sqrt((double)t.k[i].shape[1]))
                             : 0.2f) * 1.7320508f;
    int bf = t.k[i].matrix && dt == WARM_BF16;
    size_t es = bf ? 2 : 4, chunk = 1 << 16;
    unsigned char *buf = malloc(chunk * es);
    for (int64_t o = 0; o < n && !rc; o += (int64_t)chunk) {
      int64_t m = n - o < (int64_t)chunk ? n - o : (int64_t)chunk;
      for (int64_t j = 0; j < m; j++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        float v = ((float)(seed >> 40) / 16777216.0f * 2.0f - 1.0f) * a;
        if (bf)
          ((uint16_t *)buf)[j] = wk_f32_to_bf16(v);
        else
          ((float *)buf)[j] = v;
      }
      rc = warm_st_writer_write(w, buf, (size_t)m * es, &err);
    }
    free(buf);
  }
  if (!rc)
    rc = warm_st_writer_close(w, &err);
  else if (w)
    warm_st_writer_abort(w);
  free(t.k);
  if (rc) fprintf(stderr, "writing %s: %s\n", path, err.msg);
  return rc ? -1 : 0;
}

/* Run inputs for B passes over an F x H x W latent video grid and Na audio
 * latents, S context tokens, as the pipelines make them: positions in
 * seconds (24 fps, causal first frame) and pixels (x32), audio 25 latents
 * a second; timesteps sigma 0.7 with the first latent frame at 0 (image
 * conditioning), audio sigma 0.5. in[] gets 10 tensors (5 without audio);
 * returns how many. Free them with warm_tensor_free. */
static inline uint32_t lt2_inputs(const lt2_dims *d, int64_t B, int64_t F,
                                  int64_t H, int64_t W, int64_t Na, int64_t S,
                                  uint64_t seed, warm_tensor *in) {
  int64_t Nv = F * H * W, Dv = d->heads * d->dh, Da = d->aheads * d->adh;
  int64_t Ev = d->v23 ? Dv : d->caption, Ea = d->v23 ? Da : d->caption;
  uint32_t n = 0;
  for (int m = 0; m < (d->av ? 2 : 1); m++) {
    int64_t N = m ? Na : Nv, A = m ? 1 : 3, C = m ? d->ain : d->in;
    int64_t E = m ? Ea : Ev;
    const char *mn = m ? "audio" : "video";
    int64_t s_lat[3] = {B, N, C}, s_ts[2] = {B, N}, s_sg[1] = {B},
            s_pos[4] = {B, A, N, 2}, s_ctx[3] = {B, S, E};
    static char names[2][5][24];
    const char *sfx[5] = {"latent", "timesteps", "sigma", "positions",
                          "context"};
    for (int i = 0; i < 5; i++)
      snprintf(names[m][i], sizeof names[m][i], "%s_%s", mn, sfx[i]);
    warm_tensor_alloc(&in[n], names[m][0], WARM_F32, 3, s_lat);
    warm_tensor_alloc(&in[n + 1], names[m][1], WARM_F32, 2, s_ts);
    warm_tensor_alloc(&in[n + 2], names[m][2], WARM_F32, 1, s_sg);
    warm_tensor_alloc(&in[n + 3], names[m][3], WARM_F32, 4, s_pos);
    warm_tensor_alloc(&in[n + 4], names[m][4], WARM_F32, 3, s_ctx);
    float sig = m ? 0.5f : 0.7f;
    float *lat = in[n].data, *ts = in[n + 1].data, *sg = in[n + 2].data,
          *pos = in[n + 3].data, *ctx = in[n + 4].data;
    for (int64_t i = 0; i < B * N * C; i++) lat[i] = lt2_randn(&seed);
    for (int64_t i = 0; i < B * S * E; i++) ctx[i] = lt2_randn(&seed);
    for (int64_t b = 0; b < B; b++) {
      sg[b] = sig;
      for (int64_t t = 0; t < N; t++) {
        ts[b * N + t] = (!m && t < H * W) ? 0.0f : sig;
        float *p = pos + (b * A * N + t) * 2;
        if (m) {
          double s0 = (double)(4 * t - 3 > 0 ? 4 * t - 3 : 0), s1 = 4.0 * t + 1;
          p[0] = (float)(s0 * 160 / 16000);
          p[1] = (float)(s1 * 160 / 16000);
        } else {
          int64_t f = t / (H * W), y = t / W % H, x = t % W;
          double t0 = 8.0 * f - 7 > 0 ? 8.0 * f - 7 : 0, t1 = 8.0 * f + 1;
          p[0] = (float)(t0 / 24.0);
          p[1] = (float)(t1 / 24.0);
          p[2 * N] = (float)(32 * y);
          p[2 * N + 1] = (float)(32 * y + 32);
          p[4 * N] = (float)(32 * x);
          p[4 * N + 1] = (float)(32 * x + 32);
        }
      }
    }
    n += 5;
  }
  return n;
}

#endif /* TEST_LTX2_MODEL_H */
