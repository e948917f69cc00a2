/*
 * g3_forward.c — one Gemma-3 decoder layer against wk.h, as HF transformers'
 * Gemma3DecoderLayer computes it:
 *
 *   h = norm_in(x);  q,k,v = h Wq, h Wk, h Wv;  q,k = q_norm(q), k_norm(k)
 *   q,k = rope(q,k);  a = attention(q,k,v) Wo;  x = x + norm_post_attn(a)
 *   h = norm_pre_ff(x);  m = (gelu_tanh(h Wg) * h Wu) Wd;  x = x +
 * norm_post_ff(m)
 *
 * Every norm is Gemma's x / rms(x) * (1 + w). Sliding layers see `window`
 * keys (themselves included) and use the local RoPE base; full layers see
 * every earlier key and use the global base with linear scaling. The same
 * code runs on every backend and whether the weights are resident or in a
 * stream window, so placements give the same bytes.
 */
#include <math.h>
#include <string.h>

#include "g3.h"

#define G3_ALIGN 256u

static uint64_t al(uint64_t n) {
  return (n + G3_ALIGN - 1) / G3_ALIGN * G3_ALIGN;
}

static size_t max_sz(size_t a, size_t b) {
  return a > b ? a : b;
}

/* Scratch for the biggest op of a layer. */
static size_t op_scratch(wk_ctx *c, const g3_config *cfg, wk_dtype wdt,
                         int64_t T) {
  int64_t C = cfg->hidden, HD = cfg->heads * cfg->head_dim,
          KD = cfg->kv_heads * cfg->head_dim, I = cfg->inter;
  size_t s = wk_linear_workspace(c, T, C, HD, wdt);
  s = max_sz(s, wk_linear_workspace(c, T, C, KD, wdt));
  s = max_sz(s, wk_linear_workspace(c, T, HD, C, wdt));
  s = max_sz(s, wk_linear_workspace(c, T, C, I, wdt));
  s = max_sz(s, wk_linear_workspace(c, T, I, C, wdt));
  wk_attn a = {.B = 1,
               .Tq = T,
               .Tk = T,
               .Hq = cfg->heads,
               .Hkv = cfg->kv_heads,
               .D = cfg->head_dim,
               .scale = 1.0f,
               .causal = 1,
               .window = cfg->sliding_window};
  s = max_sz(s, wk_attention_workspace(c, &a));
  a.window = 0;
  s = max_sz(s, wk_attention_workspace(c, &a));
  return s;
}

/* Sizes of the carved pieces, in carve order. */
static void piece_sizes(wk_ctx *c, const g3_config *cfg, wk_dtype wdt,
                        int64_t T, uint64_t sz[14]) {
  uint64_t f = sizeof(float);
  uint64_t C = (uint64_t)cfg->hidden,
           HD = (uint64_t)(cfg->heads * cfg->head_dim),
           KD = (uint64_t)(cfg->kv_heads * cfg->head_dim),
           I = (uint64_t)cfg->inter, D = (uint64_t)cfg->head_dim,
           t = (uint64_t)T;
  sz[0] = t * C * f;  /* x */
  sz[1] = t * C * f;  /* h */
  sz[2] = t * HD * f; /* q */
  sz[3] = t * KD * f; /* k */
  sz[4] = t * KD * f; /* v */
  sz[5] = t * HD * f; /* attn */
  sz[6] = t * I * f;  /* gate */
  sz[7] = t * I * f;  /* up */
  for (int i = 8; i < 12; i++)
    sz[i] = t * D * f; /* cos/sin local, cos/sin global */
  sz[12] = t * sizeof(int32_t);
  sz[13] = op_scratch(c, cfg, wdt, T);
}

uint64_t g3_workspace_bytes(wk_ctx *c, const g3_config *cfg, wk_dtype wdt,
                            int64_t T) {
  uint64_t sz[14], total = 0;
  piece_sizes(c, cfg, wdt, T, sz);
  for (int i = 0; i < 14; i++)
    total += al(sz[i]);
  return total;
}

void g3_acts_carve(wk_ctx *c, const g3_config *cfg, wk_dtype wdt, int64_t T,
                   void *base, g3_acts *a) {
  uint64_t sz[14];
  piece_sizes(c, cfg, wdt, T, sz);
  char *p = base;
  void *ptr[14];
  for (int i = 0; i < 14; i++) {
    ptr[i] = p;
    p += al(sz[i]);
  }
  a->x = ptr[0], a->h = ptr[1], a->q = ptr[2], a->k = ptr[3], a->v = ptr[4];
  a->attn = ptr[5], a->gate = ptr[6], a->up = ptr[7];
  a->cos_l = ptr[8], a->sin_l = ptr[9], a->cos_g = ptr[10], a->sin_g = ptr[11];
  a->mask = ptr[12];
  a->scratch = ptr[13];
  a->scratch_bytes = sz[13];
}

/* HF: inv_freq = 1 / base^(arange(0, D, 2) / D) in f32, divided by the
 * linear factor; angle = f32(pos) * inv_freq in f32; cos/sin in f32. */
void g3_rope_tables(const g3_config *cfg, int64_t T, int global, float *cs,
                    float *sn) {
  int64_t D = cfg->head_dim, half = D / 2;
  double base = global ? cfg->theta_global : cfg->theta_local;
  double factor = global ? cfg->factor_global : cfg->factor_local;
  float basef = (float)base;
  for (int64_t i = 0; i < half; i++) {
    float e = (float)(2 * i) / (float)D;
    float inv = 1.0f / powf(basef, e);
    if (factor != 1.0) inv = inv / (float)factor;
    for (int64_t t = 0; t < T; t++) {
      float ang = (float)t * inv;
      float cv = cosf(ang), sv = sinf(ang);
      cs[t * D + i] = cs[t * D + i + half] = cv;
      sn[t * D + i] = sn[t * D + i + half] = sv;
    }
  }
}

void g3_layer_view_blob(g3_layer_view *v, const g3_weights *w, int layer,
                        const void *blob_dev) {
  for (int i = 0; i < G3_T_COUNT; i++) {
    v->t[i].data = (const char *)blob_dev + w->lay.off[i];
    v->t[i].dtype = w->lay.dt[i];
    v->t[i].scale = w->scale[(size_t)layer * G3_T_COUNT + i];
  }
}

void g3_layer_view_ptrs(g3_layer_view *v, const g3_weights *w, int layer,
                        void *const *ptrs) {
  for (int i = 0; i < G3_T_COUNT; i++) {
    v->t[i].data = ptrs[i];
    v->t[i].dtype = w->lay.dt[i];
    v->t[i].scale = w->scale[(size_t)layer * G3_T_COUNT + i];
  }
}

#define CK(call, what)                                                         \
  do {                                                                         \
    int rc_ = (call);                                                          \
    if (rc_)                                                                   \
      return warm_error_set(err,                                               \
                            rc_ == WK_ESPACE    ? WARM_EINTERNAL               \
                            : rc_ == WK_EDEVICE ? WARM_EDEVICE                 \
                                                : WARM_EINTERNAL,              \
                            "layer %d: %s: %s", layer, what,                   \
                            wk_last_error(c));                                 \
  } while (0)

int g3_layer_forward(wk_ctx *c, const g3_config *cfg, int layer,
                     const g3_layer_view *lv, g3_acts *a, int64_t T,
                     warm_error *err) {
  const int64_t C = cfg->hidden, H = cfg->heads, KV = cfg->kv_heads,
                D = cfg->head_dim, I = cfg->inter;
  const float eps = (float)cfg->eps;
  const wk_w none = {0};
  const int sliding = cfg->sliding[layer];
  const wk_w *t = lv->t;

  /* Attention block. */
  CK(wk_rmsnorm(c, a->x, t[G3_T_IN_NORM], T, C, eps, 1, a->h),
     "input_layernorm");
  CK(wk_linear(c, a->h, T, C, t[G3_T_Q], none, H * D, a->q), "q_proj");
  CK(wk_linear(c, a->h, T, C, t[G3_T_K], none, KV * D, a->k), "k_proj");
  CK(wk_linear(c, a->h, T, C, t[G3_T_V], none, KV * D, a->v), "v_proj");
  CK(wk_rmsnorm(c, a->q, t[G3_T_Q_NORM], T * H, D, eps, 1, a->q), "q_norm");
  CK(wk_rmsnorm(c, a->k, t[G3_T_K_NORM], T * KV, D, eps, 1, a->k), "k_norm");
  const float *cs = sliding ? a->cos_l : a->cos_g;
  const float *sn = sliding ? a->sin_l : a->sin_g;
  CK(wk_rope(c, a->q, T, H, D, cs, sn, WK_ROPE_HALF), "rope q");
  CK(wk_rope(c, a->k, T, KV, D, cs, sn, WK_ROPE_HALF), "rope k");
  wk_attn at = {.B = 1,
                .Tq = T,
                .Tk = T,
                .Hq = H,
                .Hkv = KV,
                .D = D,
                .scale = (float)(1.0 / sqrt(cfg->query_pre_attn_scalar)),
                .causal = 1,
                .window = sliding ? cfg->sliding_window : 0,
                .kv_mask = a->mask};
  CK(wk_attention(c, &at, a->q, a->k, a->v, a->attn), "attention");
  CK(wk_linear(c, a->attn, T, H * D, t[G3_T_O], none, C, a->h), "o_proj");
  CK(wk_rmsnorm(c, a->h, t[G3_T_POST_ATTN_NORM], T, C, eps, 1, a->h),
     "post_attention_layernorm");
  CK(wk_add(c, a->x, a->h, T * C, a->x), "residual");

  /* Feed-forward block. */
  CK(wk_rmsnorm(c, a->x, t[G3_T_PRE_FF_NORM], T, C, eps, 1, a->h),
     "pre_feedforward_layernorm");
  CK(wk_linear(c, a->h, T, C, t[G3_T_GATE], none, I, a->gate), "gate_proj");
  CK(wk_linear(c, a->h, T, C, t[G3_T_UP], none, I, a->up), "up_proj");
  CK(wk_gelu_tanh(c, a->gate, T * I, a->gate), "gelu");
  CK(wk_mul(c, a->gate, a->up, T * I, a->gate), "gate*up");
  CK(wk_linear(c, a->gate, T, I, t[G3_T_DOWN], none, C, a->h), "down_proj");
  CK(wk_rmsnorm(c, a->h, t[G3_T_POST_FF_NORM], T, C, eps, 1, a->h),
     "post_feedforward_layernorm");
  CK(wk_add(c, a->x, a->h, T * C, a->x), "residual");
  return 0;
}
