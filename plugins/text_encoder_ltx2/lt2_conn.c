/*
 * lt2_conn.c — Embeddings1DConnector (ltx-core embeddings_connector.py) on
 * wk ops: register replacement, 1-D RoPE over positions 0..T-1, pre-norm
 * blocks (self-attention with q/k RMSNorm over the full width, optional
 * per-head gate; GELU-tanh feed-forward), final RMS norm.
 *
 *   h = rms(x); q, k, v = h Wq + bq, ...; q, k = q_norm(q), k_norm(k);
 *   q, k = rope(q, k); a = attention(q, k, v) (bidirectional, no mask);
 *   gated: a[:, h, :] *= 2 sigmoid(h Wg + bg); x += a Wo + bo;
 *   x += gelu_tanh(rms(x) W1 + b1) W2 + b2.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lt2.h"

#define LT2_ALIGN 256u

static uint64_t al(uint64_t n) {
  return (n + LT2_ALIGN - 1) / LT2_ALIGN * LT2_ALIGN;
}

static size_t mx(size_t a, size_t b) {
  return a > b ? a : b;
}

static size_t conn_scratch(wk_ctx *wk, const lt2_conn_config *cc, wk_dtype wdt,
                           int64_t T) {
  int64_t C = cc->width;
  size_t s = wk_linear_workspace(wk, T, C, C, wdt);
  s = mx(s, wk_linear_workspace(wk, T, C, 4 * C, wdt));
  s = mx(s, wk_linear_workspace(wk, T, 4 * C, C, wdt));
  if (cc->gated) s = mx(s, wk_linear_workspace(wk, T, C, cc->heads, wdt));
  wk_attn a = {.B = 1,
               .Tq = T,
               .Tk = T,
               .Hq = cc->heads,
               .Hkv = cc->heads,
               .D = cc->head_dim,
               .scale = 1.0f};
  return mx(s, wk_attention_workspace(wk, &a));
}

/* x h q k v attn gate ff cos sin scratch */
static void sizes(wk_ctx *wk, const lt2_config *c, wk_dtype wdt, int64_t T,
                  uint64_t sz[11]) {
  int64_t C = c->vc.width > c->ac.width ? c->vc.width : c->ac.width;
  int64_t H = c->vc.heads > c->ac.heads ? c->vc.heads : c->ac.heads;
  uint64_t tc = (uint64_t)(T * C) * sizeof(float);
  for (int i = 0; i < 6; i++)
    sz[i] = tc;
  sz[6] = (uint64_t)(T * H) * sizeof(float);
  sz[7] = 4 * tc;
  sz[8] = sz[9] = tc;
  sz[10] =
      mx(conn_scratch(wk, &c->vc, wdt, T), conn_scratch(wk, &c->ac, wdt, T));
}

uint64_t lt2_conn_ws_bytes(wk_ctx *wk, const lt2_config *c, wk_dtype wdt,
                           int64_t T) {
  uint64_t sz[11], s = 0;
  sizes(wk, c, wdt, T, sz);
  for (int i = 0; i < 11; i++)
    s += al(sz[i]);
  return s;
}

void lt2_conn_ws_carve(wk_ctx *wk, const lt2_config *c, wk_dtype wdt, int64_t T,
                       void *base, lt2_cacts *a) {
  uint64_t sz[11];
  sizes(wk, c, wdt, T, sz);
  float **f[10] = {&a->x,    &a->h,    &a->q,  &a->k,   &a->v,
                   &a->attn, &a->gate, &a->ff, &a->cos, &a->sin};
  char *p = base;
  for (int i = 0; i < 10; i++) {
    *f[i] = (float *)p;
    p += al(sz[i]);
  }
  a->scratch = p;
  a->scratch_bytes = sz[10];
}

/* The frequency grid of generate_freq_grid_np (float64, rounded once) or
 * generate_freq_grid_pytorch (float32 throughout): n values
 * theta^(i / (n - 1)) * pi / 2. */
static void freq_grid(const lt2_config *c, int64_t n, float *g) {
  if (c->f64_grid) {
    double step = n > 1 ? 1.0 / (double)(n - 1) : 0.0;
    for (int64_t i = 0; i < n; i++) {
      double y = i == n - 1 && n > 1 ? 1.0 : (double)i * step;
      g[i] = (float)(pow(c->theta, y) * M_PI / 2.0);
    }
    return;
  }
  /* torch.linspace(0, 1, n) in f32: the first half counts up from 0, the
   * second half down from 1. */
  float step = n > 1 ? 1.0f / (float)(n - 1) : 0.0f;
  for (int64_t i = 0; i < n; i++) {
    float y = i < n / 2 ? step * (float)i : 1.0f - step * (float)(n - 1 - i);
    g[i] = powf((float)c->theta, y) * (float)M_PI / 2.0f;
  }
}

int lt2_conn_rope(const lt2_config *c, const lt2_conn_config *cc, int64_t T,
                  float *cs, float *sn, warm_error *err) {
  const int64_t C = cc->width, n = C / 2, H = cc->heads, hd = cc->head_dim,
                half = hd / 2;
  float *grid = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
  if (!grid) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  freq_grid(c, n, grid);
  const float maxp = (float)c->max_pos;
  for (int64_t t = 0; t < T; t++) {
    float frac = (float)t / maxp;
    float m = frac * 2.0f - 1.0f;
    for (int64_t i = 0; i < n; i++) {
      float fr = grid[i] * m;
      float cv = cosf(fr), sv = sinf(fr);
      if (c->split_rope) {
        /* Frequency i belongs to head i / half, pair i % half. */
        int64_t h = i / half, j = i % half;
        float *cr = cs + (t * H + h) * hd, *sr = sn + (t * H + h) * hd;
        cr[j] = cr[j + half] = cv;
        sr[j] = sr[j + half] = sv;
      } else {
        cs[t * C + 2 * i] = cs[t * C + 2 * i + 1] = cv;
        sn[t * C + 2 * i] = sn[t * C + 2 * i + 1] = sv;
      }
    }
  }
  free(grid);
  return 0;
}

#define CK(call, what)                                                         \
  do {                                                                         \
    if ((call) != 0)                                                           \
      return warm_error_set(err, WARM_EDEVICE, "connector: %s: %s", what,      \
                            wk_last_error(wk));                                \
  } while (0)

int lt2_conn_registers(wk_ctx *wk, const lt2_conn_config *cc,
                       const float *feats, const float *registers, int64_t T,
                       int64_t n, lt2_cacts *a, warm_error *err) {
  const int64_t C = cc->width;
  const size_t row = (size_t)C * sizeof(float);
  if (n > 0)
    CK(wk_copy_d2d(wk, a->x, feats + (T - n) * C, (size_t)n * row),
       "valid rows");
  for (int64_t t = n; t < T;) {
    int64_t r0 = t % LT2_REGISTERS, cnt = LT2_REGISTERS - r0;
    if (cnt > T - t) cnt = T - t;
    CK(wk_copy_d2d(wk, a->x + t * C, registers + r0 * C, (size_t)cnt * row),
       "registers");
    t += cnt;
  }
  return 0;
}

int lt2_conn_block(wk_ctx *wk, const lt2_conn_config *cc, int64_t T,
                   const lt2_view *b, lt2_cacts *a, int split_rope,
                   warm_error *err) {
  const int64_t C = cc->width, H = cc->heads, hd = cc->head_dim;
  const wk_w none = {0};
  const wk_w *w = b->t;
  wk_set_workspace(wk, a->scratch, a->scratch_bytes);
  CK(wk_rmsnorm(wk, a->x, none, T, C, 1e-6f, 0, a->h), "norm");
  CK(wk_linear(wk, a->h, T, C, w[LT2_B_Q_W], w[LT2_B_Q_B], C, a->q), "to_q");
  CK(wk_linear(wk, a->h, T, C, w[LT2_B_K_W], w[LT2_B_K_B], C, a->k), "to_k");
  CK(wk_linear(wk, a->h, T, C, w[LT2_B_V_W], w[LT2_B_V_B], C, a->v), "to_v");
  CK(wk_rmsnorm(wk, a->q, w[LT2_B_QN], T, C, 1e-6f, 0, a->q), "q_norm");
  CK(wk_rmsnorm(wk, a->k, w[LT2_B_KN], T, C, 1e-6f, 0, a->k), "k_norm");
  if (split_rope) {
    CK(wk_rope(wk, a->q, T * H, 1, hd, a->cos, a->sin, WK_ROPE_HALF), "rope q");
    CK(wk_rope(wk, a->k, T * H, 1, hd, a->cos, a->sin, WK_ROPE_HALF), "rope k");
  } else {
    CK(wk_rope(wk, a->q, T, 1, C, a->cos, a->sin, WK_ROPE_INTERLEAVED),
       "rope q");
    CK(wk_rope(wk, a->k, T, 1, C, a->cos, a->sin, WK_ROPE_INTERLEAVED),
       "rope k");
  }
  wk_attn at = {.B = 1,
                .Tq = T,
                .Tk = T,
                .Hq = H,
                .Hkv = H,
                .D = hd,
                .scale = (float)(1.0 / sqrt((double)hd)),
                .causal = 0,
                .window = 0,
                .kv_mask = NULL};
  CK(wk_attention(wk, &at, a->q, a->k, a->v, a->attn), "attention");
  if (cc->gated) {
    CK(wk_linear(wk, a->h, T, C, w[LT2_B_G_W], w[LT2_B_G_B], H, a->gate),
       "to_gate_logits");
    CK(wk_head_gate(wk, a->attn, a->gate, T, H, hd, a->attn), "gate");
  }
  CK(wk_linear(wk, a->attn, T, C, w[LT2_B_O_W], w[LT2_B_O_B], C, a->q),
     "to_out");
  CK(wk_add(wk, a->x, a->q, T * C, a->x), "residual");
  CK(wk_rmsnorm(wk, a->x, none, T, C, 1e-6f, 0, a->h), "norm");
  CK(wk_linear(wk, a->h, T, C, w[LT2_B_FF1_W], w[LT2_B_FF1_B], 4 * C, a->ff),
     "ff.net.0");
  CK(wk_gelu_tanh(wk, a->ff, T * 4 * C, a->ff), "gelu");
  CK(wk_linear(wk, a->ff, T, 4 * C, w[LT2_B_FF2_W], w[LT2_B_FF2_B], C, a->q),
     "ff.net.2");
  CK(wk_add(wk, a->x, a->q, T * C, a->x), "residual");
  return 0;
}

int lt2_conn_final(wk_ctx *wk, const lt2_conn_config *cc, int64_t T,
                   lt2_cacts *a, float *out, warm_error *err) {
  const wk_w none = {0};
  CK(wk_rmsnorm(wk, a->x, none, T, cc->width, 1e-6f, 0, out), "final norm");
  return 0;
}
