/* The DiT forward pass, written once against wk ops (cpu and cuda), plus
 * the host-side tables (sinusoidal timestep projection, 3-D RoPE) computed
 * in float32 in exactly the order diffusers computes them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ltxv.h"

#define ALIGN_UP(x) (((x) + 255) / 256 * 256)

/* Activation buffers of one run, carved from one workspace allocation. */
enum {
  WS_X,
  WS_NX,
  WS_BIG,
  WS_KX,
  WS_VX,
  WS_CTX,
  WS_CAP,
  WS_LAT,
  WS_OUT,
  WS_TPROJ,
  WS_TH,
  WS_EMB,
  WS_TSILU,
  WS_TEMB6,
  WS_MOD,
  WS_FMOD,
  WS_COS,
  WS_SIN,
  WS_MASK,
  WS_WK,
  WS_COUNT
};

typedef struct ws_plan {
  size_t off[WS_COUNT];
  size_t size[WS_COUNT];
  size_t total;
} ws_plan;

static size_t lin_ws(wk_ctx *c, int64_t M, int64_t K, int64_t N,
                     warm_dtype dt) {
  return wk_linear_workspace(c, M, K, N,
                             dt == WARM_BF16       ? WK_BF16
                             : dt == WARM_FP8_E4M3 ? WK_FP8_E4M3
                                                   : WK_F32);
}

static void plan(const ltxv *m, const ltxv_shape *s, ws_plan *p) {
  const ltxv_cfg *c = &m->cfg;
  int64_t B = s->B, N = s->N, T = s->T, D = c->dim;
  size_t f = sizeof(float);
  memset(p, 0, sizeof *p);
  p->size[WS_X] = (size_t)(B * N * D) * f;
  p->size[WS_NX] = (size_t)(B * N * D) * f;
  p->size[WS_BIG] = (size_t)(B * N * 4 * D) * f;
  p->size[WS_KX] = (size_t)(B * T * D) * f;
  p->size[WS_VX] = (size_t)(B * T * D) * f;
  p->size[WS_CTX] = (size_t)(B * T * D) * f;
  p->size[WS_CAP] = (size_t)(B * T * c->caption_channels) * f;
  p->size[WS_LAT] = (size_t)(B * N * c->in_channels) * f;
  p->size[WS_OUT] = (size_t)(B * N * c->out_channels) * f;
  p->size[WS_TPROJ] = (size_t)(B * LTXV_TPROJ) * f;
  p->size[WS_TH] = (size_t)(B * D) * f;
  p->size[WS_EMB] = (size_t)(B * D) * f;
  p->size[WS_TSILU] = (size_t)(B * D) * f;
  p->size[WS_TEMB6] = (size_t)(B * 6 * D) * f;
  p->size[WS_MOD] = (size_t)(B * 6 * D) * f;
  p->size[WS_FMOD] = (size_t)(B * 2 * D) * f;
  p->size[WS_COS] = (size_t)(N * D) * f;
  p->size[WS_SIN] = (size_t)(N * D) * f;
  p->size[WS_MASK] = (size_t)(B * T) * sizeof(int32_t);
  wk_ctx *w = m->wk;
  warm_dtype dt = m->dtype;
  size_t mx = 0, v;
#define MX(e)                                                                  \
  do {                                                                         \
    v = (e);                                                                   \
    if (v > mx) mx = v;                                                        \
  } while (0)
  MX(lin_ws(w, B * N, c->in_channels, D, dt));
  MX(lin_ws(w, B, LTXV_TPROJ, D, dt));
  MX(lin_ws(w, B, D, D, dt));
  MX(lin_ws(w, B, D, 6 * D, dt));
  MX(lin_ws(w, B * T, c->caption_channels, D, dt));
  MX(lin_ws(w, B * T, D, D, dt));
  MX(lin_ws(w, B * N, D, D, dt));
  MX(lin_ws(w, B * N, D, 4 * D, dt));
  MX(lin_ws(w, B * N, 4 * D, D, dt));
  MX(lin_ws(w, B * N, D, c->out_channels, dt));
  wk_attn a = {B, N, N, c->heads, c->heads, c->head_dim, 1.0f, 0, 0, NULL};
  MX(wk_attention_workspace(w, &a));
  a.Tk = T;
  MX(wk_attention_workspace(w, &a));
#undef MX
  p->size[WS_WK] = mx;
  size_t off = 0;
  for (int i = 0; i < WS_COUNT; i++) {
    p->off[i] = off;
    off += ALIGN_UP(p->size[i]);
  }
  p->total = off;
}

size_t ltxv_workspace_bytes(const ltxv *m, const ltxv_shape *s) {
  ws_plan p;
  plan(m, s, &p);
  return p.total;
}

/* LTXVideoRotaryPosEmbed for the token grid [Fp, Hp, Wp] with diffusers'
 * rope_interpolation_scale = (tcomp / fps, scomp, scomp): tables [N, dim]
 * in the interleaved layout (pairs 2i, 2i+1 share an angle), the dim % 6
 * leading channels unrotated (cos 1, sin 0). */
int ltxv_rope_tables(const ltxv_cfg *c, const ltxv_shape *s, double fps,
                     int64_t tcomp, int64_t scomp, float *cos_t, float *sin_t) {
  const int64_t D = c->dim, n6 = D / 6, pad = D % 6;
  float *freq = malloc((size_t)(n6 > 0 ? n6 : 1) * sizeof *freq);
  if (!freq) return WARM_ENOMEM;
  /* torch.linspace(0, 1, n6) in float32, then theta ** x * pi / 2. */
  float step = n6 > 1 ? (1.0f - 0.0f) / (float)(n6 - 1) : 0.0f;
  int64_t halfway = n6 / 2;
  for (int64_t j = 0; j < n6; j++) {
    float x = j < halfway ? 0.0f + step * (float)j
                          : 1.0f - step * (float)(n6 - j - 1);
    if (n6 == 1) x = 0.0f;
    float f = powf(10000.0f, x);
    f = f * (float)M_PI;
    f = f / 2.0f;
    freq[j] = f;
  }
  const float s0 = (float)((double)tcomp / fps), s1 = (float)scomp;
  for (int64_t fi = 0; fi < s->Fp; fi++)
    for (int64_t hi = 0; hi < s->Hp; hi++)
      for (int64_t wi = 0; wi < s->Wp; wi++) {
        int64_t n = (fi * s->Hp + hi) * s->Wp + wi;
        float g[3];
        g[0] = (float)fi * s0 * (float)c->patch_size_t / 20.0f;
        g[1] = (float)hi * s1 * (float)c->patch_size / 2048.0f;
        g[2] = (float)wi * s1 * (float)c->patch_size / 2048.0f;
        float *co = cos_t + n * D, *si = sin_t + n * D;
        for (int64_t k = 0; k < pad; k++) {
          co[k] = 1.0f;
          si[k] = 0.0f;
        }
        for (int64_t j = 0; j < n6; j++)
          for (int a = 0; a < 3; a++) {
            float ang = freq[j] * (g[a] * 2.0f - 1.0f);
            int64_t k = pad + 2 * (j * 3 + a);
            co[k] = co[k + 1] = cosf(ang);
            si[k] = si[k + 1] = sinf(ang);
          }
      }
  free(freq);
  return 0;
}

static wk_dtype wkdt(warm_dtype d) {
  return d == WARM_BF16 ? WK_BF16 : d == WARM_FP8_E4M3 ? WK_FP8_E4M3 : WK_F32;
}

/* A forward-pass context: weights pointers of the block being computed. */
typedef struct fwd {
  ltxv *m;
  const ltxv_shape *s;
  char *ws;
  ws_plan p;
  int rc;
} fwd;

#define BUF(f, i) ((float *)((f)->ws + (f)->p.off[i]))

static wk_w wmat(const ltxv *m, const void *const *ptr, const float *scale,
                 int i) {
  wk_w w = {ptr[i], wkdt(m->dtype), scale[i]};
  return w;
}
static wk_w wvec(const void *const *ptr, const wpc_pack *p, int i) {
  wk_w w = {p->t[i].present ? ptr[i] : NULL, WK_F32, 1.0f};
  return w;
}

#define CK(call)                                                               \
  do {                                                                         \
    int rc_ = (call);                                                          \
    if (rc_) return rc_;                                                       \
  } while (0)

/* Self- or cross-attention of one block: q from `xq` [B*N, D], k/v from
 * `xkv` [B*Tk, D]; the result (after to_out) goes to `out`. */
static int attention(fwd *f, const void *const *w, const float *sc, int base,
                     const float *xq, const float *xkv, int64_t Tk, int rope,
                     const int32_t *kv_mask, float *out) {
  ltxv *m = f->m;
  const ltxv_cfg *c = &m->cfg;
  const wpc_pack *pr = &m->w.b;
  int64_t B = f->s->B, N = f->s->N, D = c->dim;
  int64_t Kin = rope ? D : c->cross_dim;
  float *big = BUF(f, WS_BIG);
  float *q = big, *o = big + 3 * B * N * D;
  float *k = rope ? big + B * N * D : BUF(f, WS_KX);
  float *v = rope ? big + 2 * B * N * D : BUF(f, WS_VX);
  wk_ctx *x = m->wk;
  CK(wk_linear(x, xq, B * N, D, wmat(m, w, sc, base + 2), wvec(w, pr, base + 3),
               D, q));
  CK(wk_linear(x, xkv, B * Tk, Kin, wmat(m, w, sc, base + 4),
               wvec(w, pr, base + 5), D, k));
  CK(wk_linear(x, xkv, B * Tk, Kin, wmat(m, w, sc, base + 6),
               wvec(w, pr, base + 7), D, v));
  CK(wk_rmsnorm(x, q, wvec(w, pr, base + 0), B * N, D, 1e-5f, 0, q));
  CK(wk_rmsnorm(x, k, wvec(w, pr, base + 1), B * Tk, D, 1e-5f, 0, k));
  if (rope)
    for (int64_t b = 0; b < B; b++) {
      CK(wk_rope(x, q + b * N * D, N, 1, D, BUF(f, WS_COS), BUF(f, WS_SIN),
                 WK_ROPE_INTERLEAVED));
      CK(wk_rope(x, k + b * N * D, N, 1, D, BUF(f, WS_COS), BUF(f, WS_SIN),
                 WK_ROPE_INTERLEAVED));
    }
  wk_attn a = {B,
               N,
               Tk,
               c->heads,
               c->heads,
               c->head_dim,
               (float)(1.0 / sqrt((double)c->head_dim)),
               0,
               0,
               kv_mask};
  CK(wk_attention(x, &a, q, k, v, o));
  CK(wk_linear(x, o, B * N, D, wmat(m, w, sc, base + 8), wvec(w, pr, base + 9),
               D, out));
  return 0;
}

/* LTXVideoTransformerBlock.forward on the hidden states in WS_X. */
static int block(fwd *f, const void *const *w, const float *sc) {
  ltxv *m = f->m;
  const ltxv_cfg *c = &m->cfg;
  const wpc_pack *pr = &m->w.b;
  int64_t B = f->s->B, N = f->s->N, D = c->dim;
  wk_ctx *x = m->wk;
  float *h = BUF(f, WS_X), *nx = BUF(f, WS_NX), *mod = BUF(f, WS_MOD);
  float *temb6 = BUF(f, WS_TEMB6), *big = BUF(f, WS_BIG);
  /* ada[b] = scale_shift_table + temb[b]: shift, scale, gate (msa), then
   * shift, scale, gate (mlp). */
  for (int64_t b = 0; b < B; b++)
    CK(wk_add(x, (const float *)w[LB_SST], temb6 + b * 6 * D, 6 * D,
              mod + b * 6 * D));
  CK(wk_rmsnorm(x, h, wvec(w, pr, LB_NORM1), B * N, D, (float)c->norm_eps, 0,
                nx));
  for (int64_t b = 0; b < B; b++) {
    float *mb = mod + b * 6 * D;
    CK(wk_modulate(x, nx + b * N * D, mb + D, mb, N, D, nx + b * N * D));
  }
  CK(attention(f, w, sc, LB_A1_NQ, nx, nx, N, 1, NULL, nx));
  for (int64_t b = 0; b < B; b++)
    CK(wk_gate_add(x, h + b * N * D, mod + b * 6 * D + 2 * D, nx + b * N * D, N,
                   D, h + b * N * D));
  CK(attention(f, w, sc, LB_A2_NQ, h, BUF(f, WS_CTX), f->s->T, 0,
               (const int32_t *)BUF(f, WS_MASK), nx));
  CK(wk_add(x, h, nx, B * N * D, h));
  CK(wk_rmsnorm(x, h, wvec(w, pr, LB_NORM2), B * N, D, (float)c->norm_eps, 0,
                nx));
  for (int64_t b = 0; b < B; b++) {
    float *mb = mod + b * 6 * D;
    CK(wk_modulate(x, nx + b * N * D, mb + 4 * D, mb + 3 * D, N, D,
                   nx + b * N * D));
  }
  CK(wk_linear(x, nx, B * N, D, wmat(m, w, sc, LB_FF1), wvec(w, pr, LB_FF1B),
               4 * D, big));
  CK(wk_gelu_tanh(x, big, B * N * 4 * D, big));
  CK(wk_linear(x, big, B * N, 4 * D, wmat(m, w, sc, LB_FF2),
               wvec(w, pr, LB_FF2B), D, nx));
  for (int64_t b = 0; b < B; b++)
    CK(wk_gate_add(x, h + b * N * D, mod + b * 6 * D + 5 * D, nx + b * N * D, N,
                   D, h + b * N * D));
  return 0;
}

/* Time embedding, caption projection and proj_in (the globals' part). */
static int prologue(fwd *f) {
  ltxv *m = f->m;
  const ltxv_cfg *c = &m->cfg;
  int64_t B = f->s->B, N = f->s->N, T = f->s->T, D = c->dim;
  wk_ctx *x = m->wk;
  const void *gp[LG_COUNT];
  wpc_globals(&m->w, gp);
  const wpc_pack *pr = &m->w.g;
  float *th = BUF(f, WS_TH), *emb = BUF(f, WS_EMB), *ts = BUF(f, WS_TSILU);
  CK(wk_linear(x, BUF(f, WS_TPROJ), B, LTXV_TPROJ,
               wmat(m, gp, m->w.gscale, LG_T1), wvec(gp, pr, LG_T1B), D, th));
  CK(wk_silu(x, th, B * D, th));
  CK(wk_linear(x, th, B, D, wmat(m, gp, m->w.gscale, LG_T2),
               wvec(gp, pr, LG_T2B), D, emb));
  CK(wk_silu(x, emb, B * D, ts));
  CK(wk_linear(x, ts, B, D, wmat(m, gp, m->w.gscale, LG_TLIN),
               wvec(gp, pr, LG_TLINB), 6 * D, BUF(f, WS_TEMB6)));
  float *kx = BUF(f, WS_KX);
  CK(wk_linear(x, BUF(f, WS_CAP), B * T, c->caption_channels,
               wmat(m, gp, m->w.gscale, LG_C1), wvec(gp, pr, LG_C1B), D, kx));
  CK(wk_gelu_tanh(x, kx, B * T * D, kx));
  CK(wk_linear(x, kx, B * T, D, wmat(m, gp, m->w.gscale, LG_C2),
               wvec(gp, pr, LG_C2B), D, BUF(f, WS_CTX)));
  CK(wk_linear(x, BUF(f, WS_LAT), B * N, c->in_channels,
               wmat(m, gp, m->w.gscale, LG_PROJ_IN), wvec(gp, pr, LG_PROJ_IN_B),
               D, BUF(f, WS_X)));
  return 0;
}

/* norm_out, the final shift/scale from scale_shift_table + the embedded
 * timestep, and proj_out into WS_OUT. */
static int epilogue(fwd *f) {
  ltxv *m = f->m;
  const ltxv_cfg *c = &m->cfg;
  int64_t B = f->s->B, N = f->s->N, D = c->dim;
  wk_ctx *x = m->wk;
  const void *gp[LG_COUNT];
  wpc_globals(&m->w, gp);
  const float *sst = gp[LG_SST];
  float *fm = BUF(f, WS_FMOD), *emb = BUF(f, WS_EMB), *nx = BUF(f, WS_NX);
  wk_w none = {NULL, WK_F32, 1.0f};
  CK(wk_layernorm(x, BUF(f, WS_X), none, none, B * N, D, 1e-6f, nx));
  for (int64_t b = 0; b < B; b++) {
    float *shift = fm + b * 2 * D, *scale = shift + D;
    CK(wk_add(x, sst, emb + b * D, D, shift));
    CK(wk_add(x, sst + D, emb + b * D, D, scale));
    CK(wk_modulate(x, nx + b * N * D, scale, shift, N, D, nx + b * N * D));
  }
  CK(wk_linear(x, nx, B * N, D, wmat(m, gp, m->w.gscale, LG_PROJ_OUT),
               wvec(gp, &m->w.g, LG_PROJ_OUT_B), c->out_channels,
               BUF(f, WS_OUT)));
  return 0;
}

/* diffusers LTXPipeline._pack_latents on the host: [B,C,F,H,W] ->
 * [B, Fp*Hp*Wp, C*pt*p*p]; unpack = 1 does the inverse. */
static void pack(const ltxv_cfg *c, const ltxv_shape *s, int64_t C, float *lat,
                 float *tok, int unpack) {
  int64_t p = c->patch_size, pt = c->patch_size_t;
  int64_t feat = C * pt * p * p;
  for (int64_t b = 0; b < s->B; b++)
    for (int64_t ch = 0; ch < C; ch++)
      for (int64_t f = 0; f < s->F; f++)
        for (int64_t y = 0; y < s->H; y++)
          for (int64_t xw = 0; xw < s->W; xw++) {
            int64_t n = ((f / pt) * s->Hp + y / p) * s->Wp + xw / p;
            int64_t k = ((ch * pt + f % pt) * p + y % p) * p + xw % p;
            float *tp = tok + (b * s->N + n) * feat + k;
            float *lp =
                lat + (((b * C + ch) * s->F + f) * s->H + y) * s->W + xw;
            if (unpack)
              *lp = *tp;
            else
              *tp = *lp;
          }
}

static int wkerr(ltxv *m, int rc, warm_error *err) {
  if (rc == WARM_ECANCELED || rc == WARM_ENOSPACE) return rc;
  return warm_error_set(err, WARM_EDEVICE, "%s: compute failed (%d): %s",
                        m->name, rc, wk_last_error(m->wk));
}

/* The whole model for one call. Workspace is booked for the call and
 * released before returning; blocks come from the resident blob or the
 * streamer. Polls cancellation between blocks. */
int ltxv_forward(ltxv *m, const ltxv_shape *s, const float *latents,
                 const float *timestep, const float *emb, const int32_t *mask,
                 double fps, float *velocity, uint64_t *streamed,
                 warm_error *err) {
  const ltxv_cfg *c = &m->cfg;
  fwd f = {m, s, NULL, {{0}, {0}, 0}, 0};
  plan(m, s, &f.p);
  void *ws = NULL;
  int rc =
      m->svc->dev_alloc(m->svc->ctx, WARM_MEM_WORKSPACE, f.p.total, &ws, err);
  if (rc) return rc;
  f.ws = ws;
  int64_t B = s->B, N = s->N, D = c->dim;
  int64_t Cl =
      c->in_channels / (c->patch_size * c->patch_size * c->patch_size_t);
  int64_t Co =
      c->out_channels / (c->patch_size * c->patch_size * c->patch_size_t);
  size_t host_n = (size_t)(B * N) * (size_t)(c->in_channels > c->out_channels
                                                 ? c->in_channels
                                                 : c->out_channels);
  size_t tab_n = (size_t)(N * D) * 2 + (size_t)(B * LTXV_TPROJ);
  float *host = malloc((host_n > tab_n ? host_n : tab_n) * sizeof(float));
  if (!host) {
    m->svc->dev_free(m->svc->ctx, ws);
    return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory", m->name);
  }
  wk_ctx *x = m->wk;
  int oom = 0;
  wk_set_workspace(x, BUF(&f, WS_WK), f.p.size[WS_WK]);
  /* Inputs: packed latents, caption embeddings, mask, tables. Each host
   * staging copy is synchronised before the buffer is reused. */
  pack(c, s, Cl, (float *)latents, host, 0);
  rc = wk_copy_h2d(x, BUF(&f, WS_LAT), host, f.p.size[WS_LAT]);
  if (!rc) rc = wk_sync(x);
  if (!rc) rc = wk_copy_h2d(x, BUF(&f, WS_CAP), emb, f.p.size[WS_CAP]);
  if (!rc) rc = wk_copy_h2d(x, BUF(&f, WS_MASK), mask, f.p.size[WS_MASK]);
  if (!rc) {
    float *cs = host, *sn = host + N * D, *tp = host + 2 * N * D;
    wpc_timestep_proj(timestep, B, tp);
    if (ltxv_rope_tables(c, s, fps, m->opts.tcomp, m->opts.scomp, cs, sn))
      oom = 1;
    else
      rc = wk_copy_h2d(x, BUF(&f, WS_COS), cs, f.p.size[WS_COS]);
    if (!rc) rc = wk_copy_h2d(x, BUF(&f, WS_SIN), sn, f.p.size[WS_SIN]);
    if (!rc) rc = wk_copy_h2d(x, BUF(&f, WS_TPROJ), tp, f.p.size[WS_TPROJ]);
    if (!rc) rc = wk_sync(x);
  }
  if (oom)
    rc = warm_error_set(err, WARM_ENOMEM, "%s: out of host memory", m->name);
  else if (rc)
    rc = wkerr(m, rc, err);
  if (!rc && (rc = prologue(&f))) rc = wkerr(m, rc, err);
  if (m->w.streamer) warm_streamer_stats_reset(m->w.streamer);
  for (int64_t l = 0; l < c->layers && !rc; l++) {
    if (m->svc->cancelled && m->svc->cancelled(m->svc->ctx)) {
      rc = warm_error_set(err, WARM_ECANCELED,
                          "%s: cancelled before block "
                          "%lld",
                          m->name, (long long)l);
      break;
    }
    const void *bp[LB_COUNT];
    const float *bs = NULL;
    if ((rc = wpc_block_get(&m->w, l, bp, &bs, err))) break;
    if ((rc = block(&f, bp, bs))) rc = wkerr(m, rc, err);
    warm_error e2;
    int r2 = wpc_block_done(&m->w, l, &e2);
    if (!rc && r2) {
      *err = e2;
      rc = r2;
    }
    if (m->svc->progress)
      m->svc->progress(m->svc->ctx, (float)(l + 1) / (float)c->layers);
  }
  if (!rc && (rc = epilogue(&f))) rc = wkerr(m, rc, err);
  if (!rc) {
    rc = wk_copy_d2h(x, host, BUF(&f, WS_OUT), f.p.size[WS_OUT]);
    if (!rc) rc = wk_sync(x);
    if (rc) rc = wkerr(m, rc, err);
  }
  if (!rc) pack(c, s, Co, velocity, host, 1);
  if (m->w.streamer) {
    warm_stream_stats st;
    warm_streamer_stats(m->w.streamer, &st);
    *streamed = st.streamed_bytes;
  } else {
    *streamed = 0;
  }
  wk_sync(x);
  wk_set_workspace(x, NULL, 0);
  m->svc->dev_free(m->svc->ctx, ws);
  free(host);
  return rc;
}
