/* The LTX-2 forward pass (ltx-core LTXModel.forward), written once against
 * wk ops (cpu and cuda). B passes run together: every linear takes the rows
 * of all passes, so a block's weights are read once per call. Per-token
 * timesteps: the AdaLN embedders run once per distinct timestep value, and
 * modulation and gates apply per contiguous run of tokens sharing a value
 * (no [N, k*D] per-token tensor). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ltx2.h"

#define ALIGN_UP(x) (((x) + 255) / 256 * 256)
#define MAX2(a, b) ((a) > (b) ? (a) : (b))

/* Workspace buffers; per-modality ones come in pairs (video, audio). */
enum {
  W_X,
  W_X_A, /* hidden states [B*N, D] */
  W_NX,
  W_NX_A, /* normed / modulated input of a sub-layer */
  W_N3,
  W_N3_A, /* rms(x) before the A<->V attentions */
  W_CTX,
  W_CTX_A, /* projected text context [B*S, D] */
  W_CTXM,
  W_CTXM_A, /* 2.3: context modulated per block */
  W_CIN,
  W_CIN_A, /* raw context (2.0: caption_channels wide) */
  W_LAT,
  W_LAT_A, /* latent tokens [B*N, in] */
  W_OUT,
  W_OUT_A, /* velocity [B*N, out] */
  W_TK,
  W_TK_A, /* AdaLN linear out per distinct value [U, k*D] */
  W_EMB,
  W_EMB_A, /* embedded timestep per distinct value [U, D] */
  W_ADA,
  W_ADA_A, /* per block: table + TK [U, k*D] */
  W_PT,
  W_PT_A, /* 2.3 prompt AdaLN out per pass [B, 2D] */
  W_PKV,
  W_PKV_A, /* per block: prompt table + PT [B, 2D] */
  W_AVSS,
  W_AVSS_A, /* A<->V scale/shift AdaLN out per pass [B, 4D] */
  W_AVG,
  W_AVG_A, /* A<->V gate AdaLN out per pass [B, D] */
  W_PAV,
  W_PAV_A, /* per block: A<->V table + the above [B, 5D] */
  W_RC,
  W_RC_A, /* self RoPE cos [B*N*D] */
  W_RS,
  W_RS_A, /* self RoPE sin */
  W_XC,
  W_XC_A, /* cross RoPE cos [B*N*cross_dim] */
  W_XS,
  W_XS_A, /* cross RoPE sin */
  W_ETP,  /* embedder input: sincos [R, 256] */
  W_ETH,  /* embedder hidden [R, Dmax] */
  W_EEM,  /* embedder embedded [R, Dmax] */
  W_ETS,  /* silu(embedded) [R, Dmax] */
  W_Q,
  W_K,
  W_V,
  W_O,
  W_G,
  W_TMP,
  W_BIG,
  W_LXA, /* run-time adapter: x . A^T [rows, rank] */
  W_LY,  /* run-time adapter: (x . A^T) . B^T [rows, out] */
  W_WK,
  W_COUNT
};

typedef struct ws_plan {
  size_t off[W_COUNT];
  size_t size[W_COUNT];
  size_t total;
} ws_plan;

/* A forward-pass context. */
typedef struct fwd {
  ltx2 *m;
  const lx_run *r;
  char *ws;
  ws_plan p;
  lx_segs segs[2];
  const void *gp[WPC_MAX_TENSORS];
  const void *bp[WPC_MAX_TENSORS];
  const float *bs;
  int64_t layer;
} fwd;

#define BUF(f, i) ((float *)((f)->ws + (f)->p.off[i]))
#define CK(call)                                                               \
  do {                                                                         \
    int rc_ = (call);                                                          \
    if (rc_) return rc_;                                                       \
  } while (0)

static size_t lin_ws(const ltx2 *m, int64_t M, int64_t K, int64_t N) {
  return wk_linear_workspace(m->wk, M, K, N, wpc_wkdt(m->dtype));
}

static int64_t rows_of(const lx_run *r, int k) {
  return r->m[k].present ? r->B * r->m[k].N : 0;
}

static void plan(const ltx2 *m, const lx_run *r, ws_plan *p) {
  const lx_cfg *c = &m->cfg;
  size_t f = sizeof(float);
  int64_t B = r->B;
  memset(p, 0, sizeof *p);
  int64_t R = B, Dmax = 0, q = 0, kv = 0, gate = 0, big = 0, tmp = 0;
  size_t mx = 0, v;
#define MX(e)                                                                  \
  do {                                                                         \
    v = (e);                                                                   \
    if (v > mx) mx = v;                                                        \
  } while (0)
  for (int k = 0; k < 2; k++) {
    const lx_min *mi = &r->m[k];
    if (!mi->present) continue;
    const lx_mcfg *s = &c->m[k];
    int64_t D = s->dim, N = mi->N, S = mi->S, M = B * N, U = r->n_val[k];
    int64_t E = c->capproj ? c->caption_channels : s->ctx_dim;
    R = MAX2(R, U);
    Dmax = MAX2(Dmax, D);
    p->size[W_X + k] = p->size[W_NX + k] = p->size[W_N3 + k] =
        (size_t)(M * D) * f;
    p->size[W_CTX + k] = (size_t)(B * S * D) * f;
    if (c->ca_adaln) p->size[W_CTXM + k] = (size_t)(B * S * D) * f;
    if (c->capproj) p->size[W_CIN + k] = (size_t)(B * S * E) * f;
    p->size[W_LAT + k] = (size_t)(M * s->in) * f;
    p->size[W_OUT + k] = (size_t)(M * s->out) * f;
    p->size[W_TK + k] = p->size[W_ADA + k] = (size_t)(U * c->k * D) * f;
    p->size[W_EMB + k] = (size_t)(U * D) * f;
    p->size[W_PT + k] = p->size[W_PKV + k] = (size_t)(B * 2 * D) * f;
    p->size[W_AVSS + k] = (size_t)(B * 4 * D) * f;
    p->size[W_AVG + k] = (size_t)(B * D) * f;
    p->size[W_PAV + k] = (size_t)(B * 5 * D) * f;
    p->size[W_RC + k] = p->size[W_RS + k] = (size_t)(M * D) * f;
    if (c->av)
      p->size[W_XC + k] = p->size[W_XS + k] = (size_t)(M * c->cross_dim) * f;
    q = MAX2(q, M * D);
    kv = MAX2(kv, MAX2(M * D, B * S * D));
    gate = MAX2(gate, M * s->heads);
    big = MAX2(big, M * 4 * D);
    tmp = MAX2(tmp, M * D);
    /* Every linear of this stream. */
    MX(lin_ws(m, M, s->in, D));
    MX(lin_ws(m, B * S, E, D));
    MX(lin_ws(m, B * S, D, D));
    MX(lin_ws(m, M, D, D));
    MX(lin_ws(m, M, D, 4 * D));
    MX(lin_ws(m, M, 4 * D, D));
    MX(lin_ws(m, M, D, s->out));
    MX(lin_ws(m, M, D, s->heads));
    MX(lin_ws(m, MAX2(U, B), WPC_TPROJ, D));
    MX(lin_ws(m, MAX2(U, B), D, D));
    MX(lin_ws(m, MAX2(U, B), D, c->k * D));
    wk_attn a = {1, N, N, s->heads, s->heads, s->dh, 1.0f, 0, 0, NULL};
    MX(wk_attention_workspace(m->wk, &a));
    a.Tk = S;
    MX(wk_attention_workspace(m->wk, &a));
  }
  if (c->av && r->m[0].present && r->m[1].present) {
    const lx_attn *x = &m->tabs.a2v, *y = &m->tabs.v2a;
    int64_t Mv = rows_of(r, 0), Ma = rows_of(r, 1);
    q = MAX2(q, MAX2(Mv * x->inner, Ma * y->inner));
    kv = MAX2(kv, MAX2(Ma * x->inner, Mv * y->inner));
    gate = MAX2(gate, MAX2(Mv, Ma) * x->heads);
    MX(lin_ws(m, Mv, x->qdim, x->inner));
    MX(lin_ws(m, Ma, x->kvdim, x->inner));
    MX(lin_ws(m, Mv, x->inner, x->qdim));
    MX(lin_ws(m, Mv, x->qdim, x->heads));
    MX(lin_ws(m, Ma, y->qdim, y->inner));
    MX(lin_ws(m, Mv, y->kvdim, y->inner));
    MX(lin_ws(m, Ma, y->inner, y->qdim));
    MX(lin_ws(m, Ma, y->qdim, y->heads));
    wk_attn a = {1,     r->m[0].N, r->m[1].N, x->heads, x->heads,
                 x->dh, 1.0f,      0,         0,        NULL};
    MX(wk_attention_workspace(m->wk, &a));
    a.Tq = r->m[1].N;
    a.Tk = r->m[0].N;
    MX(wk_attention_workspace(m->wk, &a));
  }
  /* Run-time adapter: x.A^T [rows, rank], then .B^T [rows, out] added
   * into y; out is at most the feed-forward's 4 D. */
  if (r->adapter >= 0) {
    const lx_adapter *ad = &m->ad[r->adapter];
    int64_t rk = ad->rank, Mx = MAX2(rows_of(r, 0), rows_of(r, 1));
    /* attn2's to_k and to_v run on the text context, B*S rows, which may
     * outnumber the tokens (stage 2 of a small video: 1024 against 72). */
    for (int k = 0; k < 2; k++)
      if (r->m[k].present) Mx = MAX2(Mx, r->B * r->m[k].S);
    p->size[W_LXA] = (size_t)(Mx * rk) * f;
    p->size[W_LY] = (size_t)(Mx * 4 * Dmax) * f;
    MX(wk_linear_workspace(m->wk, Mx, 4 * Dmax, rk, wpc_wkdt(ad->dtype)));
    MX(wk_linear_workspace(m->wk, Mx, rk, 4 * Dmax, wpc_wkdt(ad->dtype)));
  }
#undef MX
  p->size[W_ETP] = (size_t)(R * WPC_TPROJ) * f;
  p->size[W_ETH] = p->size[W_EEM] = p->size[W_ETS] = (size_t)(R * Dmax) * f;
  p->size[W_Q] = p->size[W_O] = (size_t)q * f;
  p->size[W_K] = p->size[W_V] = (size_t)kv * f;
  p->size[W_G] = (size_t)gate * f;
  p->size[W_TMP] = (size_t)tmp * f;
  p->size[W_BIG] = (size_t)big * f;
  p->size[W_WK] = mx;
  size_t off = 0;
  for (int i = 0; i < W_COUNT; i++) {
    p->off[i] = off;
    off += ALIGN_UP(p->size[i]);
  }
  p->total = off;
}

size_t lx_workspace_bytes(const ltx2 *m, const lx_run *r) {
  ws_plan p;
  plan(m, r, &p);
  return p.total;
}

/* ---- weights ------------------------------------------------------------- */

static wk_w gw(const fwd *f, int i) {
  const ltx2 *m = f->m;
  if (i < 0) return (wk_w){NULL, WK_F32, 1.0f};
  return wpc_w(&m->w.g, m->dtype, f->gp, m->w.gscale, i);
}
static wk_w bw(const fwd *f, int i) {
  const ltx2 *m = f->m;
  if (i < 0) return (wk_w){NULL, WK_F32, 1.0f};
  return wpc_w(&m->w.b, m->dtype, f->bp, f->bs, i);
}
static const float *bvec(const fwd *f, int i) {
  return f->bp[i];
}
static const float *gvec(const fwd *f, int i) {
  return f->gp[i];
}

/* y = x . W^T + b for block tensor `wi`, plus the run's adapter on that
 * tensor when it has one: y += (x . A^T) . (S B)^T. */
static int blin(fwd *f, const float *x, int64_t M, int64_t K, int wi, int bi,
                int64_t N, float *y) {
  ltx2 *m = f->m;
  CK(wk_linear(m->wk, x, M, K, bw(f, wi), bw(f, bi), N, y));
  if (f->r->adapter < 0) return 0;
  const lx_adapter *ad = &m->ad[f->r->adapter];
  size_t k = (size_t)f->layer * (size_t)m->w.b.n + (size_t)wi;
  if (ad->off_a[k] == SIZE_MAX) return 0;
  wk_w A = {(const char *)ad->dev + ad->off_a[k], wpc_wkdt(ad->dtype), 1.0f};
  wk_w Bs = {(const char *)ad->dev + ad->off_b[k], wpc_wkdt(ad->dtype), 1.0f};
  wk_w none = {NULL, WK_F32, 1.0f};
  float *xa = BUF(f, W_LXA), *ly = BUF(f, W_LY);
  CK(wk_linear(m->wk, x, M, K, A, none, ad->rank, xa));
  CK(wk_linear(m->wk, xa, M, ad->rank, Bs, none, N, ly));
  return wk_add(m->wk, y, ly, M * N, y);
}

/* ---- AdaLN embedders --------------------------------------------------------
 */

/* AdaLayerNormSingle on `n` scaled timesteps `u` (host): the embedded
 * timestep into `emb_out` (may be NULL) and linear(silu(.)) into `out`. */
static int embed(fwd *f, const lx_emb *e, const float *u, int64_t n,
                 float *emb_out, float *out, float *host) {
  ltx2 *m = f->m;
  wk_ctx *x = m->wk;
  int64_t D = e->dim;
  float *tp = BUF(f, W_ETP), *th = BUF(f, W_ETH), *em = BUF(f, W_EEM),
        *ts = BUF(f, W_ETS);
  wpc_timestep_proj(u, n, host);
  CK(wk_copy_h2d(x, tp, host, (size_t)(n * WPC_TPROJ) * sizeof(float)));
  CK(wk_sync(x));
  CK(wk_linear(x, tp, n, WPC_TPROJ, gw(f, e->l1), gw(f, e->l1b), D, th));
  CK(wk_silu(x, th, n * D, th));
  float *eo = emb_out ? emb_out : em;
  CK(wk_linear(x, th, n, D, gw(f, e->l2), gw(f, e->l2b), D, eo));
  CK(wk_silu(x, eo, n * D, ts));
  return wk_linear(x, ts, n, D, gw(f, e->lin), gw(f, e->linb), e->coef * D,
                   out);
}

/* ---- per-token modulation
 * ------------------------------------------------------- */

/* y = x * (1 + ada[u][scale]) + ada[u][shift] per segment of modality k. */
static int modseg(fwd *f, int k, const float *x, int shift, int scale,
                  float *y) {
  int64_t D = f->m->cfg.m[k].dim, kD = f->m->cfg.k * D;
  const float *ada = BUF(f, W_ADA + k);
  const lx_segs *s = &f->segs[k];
  for (int64_t i = 0; i < s->n_seg; i++) {
    const lx_seg *g = &s->seg[i];
    const float *a = ada + g->u * kD;
    CK(wk_modulate(f->m->wk, x + g->row * D, a + scale * D, a + shift * D,
                   g->len, D, y + g->row * D));
  }
  return 0;
}

/* res += ada[u][gate] * h per segment. */
static int gateseg(fwd *f, int k, float *res, const float *h, int gate) {
  int64_t D = f->m->cfg.m[k].dim, kD = f->m->cfg.k * D;
  const float *ada = BUF(f, W_ADA + k);
  const lx_segs *s = &f->segs[k];
  for (int64_t i = 0; i < s->n_seg; i++) {
    const lx_seg *g = &s->seg[i];
    CK(wk_gate_add(f->m->wk, res + g->row * D, ada + g->u * kD + gate * D,
                   h + g->row * D, g->len, D, res + g->row * D));
  }
  return 0;
}

/* ---- attention ------------------------------------------------------------
 */

typedef struct rope_ref {
  const float *cos, *sin;
  int64_t heads; /* chunks the width is split into (split layout) */
} rope_ref;

static int rope(fwd *f, float *x, int64_t rows, int64_t C, const rope_ref *t) {
  if (f->m->cfg.split)
    return wk_rope(f->m->wk, x, rows * t->heads, 1, C / t->heads, t->cos,
                   t->sin, WK_ROPE_HALF);
  return wk_rope(f->m->wk, x, rows, 1, C, t->cos, t->sin, WK_ROPE_INTERLEAVED);
}

/* ltx-core Attention.forward for B passes: q from xq [B*Nq, qdim], k/v
 * from xkv [B*Nk, kvdim]; RoPE when given; pass b with skip[b] set takes
 * the value projection instead of attending (self-attention only). The
 * result after to_out is in `out` [B*Nq, qdim]. */
static int attention(fwd *f, const lx_attn *a, const float *xq, int64_t Nq,
                     const float *xkv, int64_t Nk, const rope_ref *rq,
                     const rope_ref *rk, const uint8_t *skip, float *out) {
  ltx2 *m = f->m;
  wk_ctx *x = m->wk;
  int64_t B = f->r->B, I = a->inner;
  float *q = BUF(f, W_Q), *k = BUF(f, W_K), *v = BUF(f, W_V), *o = BUF(f, W_O);
  int n_skip = 0;
  for (int64_t b = 0; skip && b < B; b++)
    n_skip += skip[b] != 0;
  CK(blin(f, xkv, B * Nk, a->kvdim, a->v, a->vb, I, v));
  if (n_skip < B) {
    float eps = (float)m->cfg.eps;
    CK(blin(f, xq, B * Nq, a->qdim, a->q, a->qb, I, q));
    CK(blin(f, xkv, B * Nk, a->kvdim, a->k, a->kb, I, k));
    CK(wk_rmsnorm(x, q, bw(f, a->qn), B * Nq, I, eps, 0, q));
    CK(wk_rmsnorm(x, k, bw(f, a->kn), B * Nk, I, eps, 0, k));
    if (rq) {
      CK(rope(f, q, B * Nq, I, rq));
      CK(rope(f, k, B * Nk, I, rk));
    }
  }
  wk_attn at = {
      B, Nq, Nk,  a->heads, a->heads, a->dh, (float)(1.0 / sqrt((double)a->dh)),
      0, 0,  NULL};
  if (n_skip == 0) {
    CK(wk_attention(x, &at, q, k, v, o));
  } else {
    at.B = 1;
    for (int64_t b = 0; b < B; b++) {
      size_t qo = (size_t)(b * Nq * I), ko = (size_t)(b * Nk * I);
      if (skip[b])
        CK(wk_copy_d2d(x, o + qo, v + ko, (size_t)(Nq * I) * sizeof(float)));
      else
        CK(wk_attention(x, &at, q + qo, k + ko, v + ko, o + qo));
    }
  }
  if (a->g >= 0) {
    float *g = BUF(f, W_G);
    CK(blin(f, xq, B * Nq, a->qdim, a->g, a->gb, a->heads, g));
    CK(wk_head_gate(x, o, g, B * Nq, a->heads, a->dh, o));
  }
  return blin(f, o, B * Nq, I, a->o, a->ob, a->qdim, out);
}

/* ---- one block -------------------------------------------------------------
 */

static int rope_self(fwd *f, int k, rope_ref *t) {
  t->cos = BUF(f, W_RC + k);
  t->sin = BUF(f, W_RS + k);
  t->heads = f->m->cfg.m[k].heads;
  return 0;
}
static int rope_cross(fwd *f, int k, rope_ref *t) {
  t->cos = BUF(f, W_XC + k);
  t->sin = BUF(f, W_XS + k);
  t->heads = f->m->cfg.m[k].heads;
  return 0;
}

/* Self-attention and text cross-attention of stream k. */
static int stream_attn(fwd *f, int k, const uint8_t *skip) {
  ltx2 *m = f->m;
  const lx_cfg *c = &m->cfg;
  const lx_bmod *bm = &m->tabs.b[k];
  wk_ctx *x = m->wk;
  int64_t B = f->r->B, N = f->r->m[k].N, S = f->r->m[k].S, D = c->m[k].dim;
  int64_t kD = c->k * D;
  float eps = (float)c->eps;
  float *h = BUF(f, W_X + k), *nx = BUF(f, W_NX + k), *tmp = BUF(f, W_TMP);
  float *ada = BUF(f, W_ADA + k);
  wk_w none = {NULL, WK_F32, 1.0f};
  /* ada[u] = scale_shift_table + timestep embedding of value u. */
  for (int64_t u = 0; u < f->segs[k].n_val; u++)
    CK(wk_add(x, bvec(f, bm->sst), BUF(f, W_TK + k) + u * kD, kD,
              ada + u * kD));
  CK(wk_rmsnorm(x, h, none, B * N, D, eps, 0, nx));
  CK(modseg(f, k, nx, 0, 1, nx));
  rope_ref rs;
  rope_self(f, k, &rs);
  CK(attention(f, &bm->a1, nx, N, nx, N, &rs, &rs, skip, tmp));
  CK(gateseg(f, k, h, tmp, 2));
  /* Text cross-attention: 2.0 on rms(x), ungated; 2.3 modulated query and
   * context, gated per token. */
  CK(wk_rmsnorm(x, h, none, B * N, D, eps, 0, nx));
  const float *ctx = BUF(f, W_CTX + k);
  if (c->ca_adaln) {
    CK(modseg(f, k, nx, 6, 7, nx));
    float *pkv = BUF(f, W_PKV + k), *cm = BUF(f, W_CTXM + k);
    for (int64_t b = 0; b < B; b++) {
      float *pb = pkv + b * 2 * D;
      CK(wk_add(x, bvec(f, bm->pst), BUF(f, W_PT + k) + b * 2 * D, 2 * D, pb));
      CK(wk_modulate(x, ctx + b * S * D, pb + D, pb, S, D, cm + b * S * D));
    }
    ctx = cm;
  }
  CK(attention(f, &bm->a2, nx, N, ctx, S, NULL, NULL, NULL, tmp));
  if (c->ca_adaln) return gateseg(f, k, h, tmp, 8);
  return wk_add(x, h, tmp, B * N * D, h);
}

/* Audio<->video cross-attention (both streams present). */
static int av_attn(fwd *f, const uint8_t *skip_a2v, const uint8_t *skip_v2a) {
  ltx2 *m = f->m;
  const lx_cfg *c = &m->cfg;
  wk_ctx *x = m->wk;
  int64_t B = f->r->B, Nv = f->r->m[0].N, Na = f->r->m[1].N;
  int64_t Dv = c->m[0].dim, Da = c->m[1].dim;
  float eps = (float)c->eps;
  wk_w none = {NULL, WK_F32, 1.0f};
  float *hv = BUF(f, W_X), *ha = BUF(f, W_X_A);
  float *n3v = BUF(f, W_N3), *n3a = BUF(f, W_N3_A);
  float *nv = BUF(f, W_NX), *na = BUF(f, W_NX_A), *tmp = BUF(f, W_TMP);
  CK(wk_rmsnorm(x, hv, none, B * Nv, Dv, eps, 0, n3v));
  CK(wk_rmsnorm(x, ha, none, B * Na, Da, eps, 0, n3a));
  /* Per pass: rows 0-3 of each table + the other modality's sigma
   * embedding (scale, shift for a2v; scale, shift for v2a), row 4 + gate. */
  for (int k = 0; k < 2; k++) {
    int64_t D = c->m[k].dim;
    const float *tab = bvec(f, m->tabs.b[k].avt);
    for (int64_t b = 0; b < B; b++) {
      float *pb = BUF(f, W_PAV + k) + b * 5 * D;
      CK(wk_add(x, tab, BUF(f, W_AVSS + k) + b * 4 * D, 4 * D, pb));
      CK(wk_add(x, tab + 4 * D, BUF(f, W_AVG + k) + b * D, D, pb + 4 * D));
    }
  }
  const float *pv = BUF(f, W_PAV), *pa = BUF(f, W_PAV_A);
  rope_ref cv, ca;
  rope_cross(f, 0, &cv);
  rope_cross(f, 1, &ca);
  int any = 0;
  for (int64_t b = 0; b < B; b++)
    any |= !skip_a2v[b];
  if (any) {
    for (int64_t b = 0; b < B; b++) {
      const float *v5 = pv + b * 5 * Dv, *a5 = pa + b * 5 * Da;
      CK(wk_modulate(x, n3v + b * Nv * Dv, v5, v5 + Dv, Nv, Dv,
                     nv + b * Nv * Dv));
      CK(wk_modulate(x, n3a + b * Na * Da, a5, a5 + Da, Na, Da,
                     na + b * Na * Da));
    }
    CK(attention(f, &m->tabs.a2v, nv, Nv, na, Na, &cv, &ca, NULL, tmp));
    for (int64_t b = 0; b < B; b++)
      if (!skip_a2v[b])
        CK(wk_gate_add(x, hv + b * Nv * Dv, pv + b * 5 * Dv + 4 * Dv,
                       tmp + b * Nv * Dv, Nv, Dv, hv + b * Nv * Dv));
  }
  any = 0;
  for (int64_t b = 0; b < B; b++)
    any |= !skip_v2a[b];
  if (any) {
    for (int64_t b = 0; b < B; b++) {
      const float *v5 = pv + b * 5 * Dv, *a5 = pa + b * 5 * Da;
      CK(wk_modulate(x, n3a + b * Na * Da, a5 + 2 * Da, a5 + 3 * Da, Na, Da,
                     na + b * Na * Da));
      CK(wk_modulate(x, n3v + b * Nv * Dv, v5 + 2 * Dv, v5 + 3 * Dv, Nv, Dv,
                     nv + b * Nv * Dv));
    }
    CK(attention(f, &m->tabs.v2a, na, Na, nv, Nv, &ca, &cv, NULL, tmp));
    for (int64_t b = 0; b < B; b++)
      if (!skip_v2a[b])
        CK(wk_gate_add(x, ha + b * Na * Da, pa + b * 5 * Da + 4 * Da,
                       tmp + b * Na * Da, Na, Da, ha + b * Na * Da));
  }
  return 0;
}

static int stream_ff(fwd *f, int k) {
  ltx2 *m = f->m;
  const lx_cfg *c = &m->cfg;
  const lx_bmod *bm = &m->tabs.b[k];
  wk_ctx *x = m->wk;
  int64_t M = f->r->B * f->r->m[k].N, D = c->m[k].dim;
  wk_w none = {NULL, WK_F32, 1.0f};
  float *h = BUF(f, W_X + k), *nx = BUF(f, W_NX + k), *big = BUF(f, W_BIG);
  float *tmp = BUF(f, W_TMP);
  CK(wk_rmsnorm(x, h, none, M, D, (float)c->eps, 0, nx));
  CK(modseg(f, k, nx, 3, 4, nx));
  CK(blin(f, nx, M, D, bm->ff1, bm->ff1b, 4 * D, big));
  CK(wk_gelu_tanh(x, big, M * 4 * D, big));
  CK(blin(f, big, M, 4 * D, bm->ff2, bm->ff2b, D, tmp));
  return gateseg(f, k, h, tmp, 5);
}

static int block(fwd *f) {
  const lx_run *r = f->r;
  int64_t B = r->B, L = f->m->cfg.layers, l = f->layer;
  uint8_t sk[4][1024];
  for (int64_t b = 0; b < B; b++) {
    uint8_t s = r->skip ? r->skip[b * L + l] : 0;
    sk[0][b] = (s & LX_SKIP_VSELF) != 0;
    sk[1][b] = (s & LX_SKIP_ASELF) != 0;
    sk[2][b] = (s & LX_SKIP_A2V) != 0;
    sk[3][b] = (s & LX_SKIP_V2A) != 0;
  }
  for (int k = 0; k < 2; k++)
    if (r->m[k].present) CK(stream_attn(f, k, sk[k]));
  if (f->m->cfg.av && r->m[0].present && r->m[1].present)
    CK(av_attn(f, sk[2], sk[3]));
  for (int k = 0; k < 2; k++)
    if (r->m[k].present) CK(stream_ff(f, k));
  return 0;
}

/* ---- prologue and epilogue ------------------------------------------------
 */

/* Inputs of stream k on the device: patchify_proj, the context (2.0
 * through the caption projection), RoPE tables, every AdaLN embedding. */
static int prologue(fwd *f, int k, float *host) {
  ltx2 *m = f->m;
  const lx_cfg *c = &m->cfg;
  const lx_mcfg *s = &c->m[k];
  const lx_gmod *g = &m->tabs.g[k];
  const lx_min *mi = &f->r->m[k];
  wk_ctx *x = m->wk;
  int64_t B = f->r->B, N = mi->N, S = mi->S, D = s->dim, M = B * N;
  size_t fs = sizeof(float);
  CK(wk_copy_h2d(x, BUF(f, W_LAT + k), mi->latent, (size_t)(M * s->in) * fs));
  CK(wk_linear(x, BUF(f, W_LAT + k), M, s->in, gw(f, g->patch),
               gw(f, g->patchb), D, BUF(f, W_X + k)));
  if (c->capproj) {
    /* PixArt caption projection: linear_1, GELU(tanh), linear_2. */
    float *cin = BUF(f, W_CIN + k), *hid = BUF(f, W_K);
    CK(wk_copy_h2d(x, cin, mi->ctx,
                   (size_t)(B * S * c->caption_channels) * fs));
    CK(wk_linear(x, cin, B * S, c->caption_channels, gw(f, g->cap1),
                 gw(f, g->cap1b), D, hid));
    CK(wk_gelu_tanh(x, hid, B * S * D, hid));
    CK(wk_linear(x, hid, B * S, D, gw(f, g->cap2), gw(f, g->cap2b), D,
                 BUF(f, W_CTX + k)));
  } else {
    CK(wk_copy_h2d(x, BUF(f, W_CTX + k), mi->ctx, (size_t)(B * S * D) * fs));
  }
  CK(wk_sync(x));
  /* RoPE: self over the stream width with all axes; cross (A<->V) over
   * cross_dim with the time axis only. */
  /* The reference casts video positions to the model dtype; audio
   * positions stay f32. */
  int pb = k == LX_VIDEO && m->opts.bf16_positions;
  CK(lx_rope_tables(c, mi->pos, B, N, s->n_pos, s->n_pos, s->max_pos, D,
                    s->heads, pb, host, host + M * D));
  CK(wk_copy_h2d(x, BUF(f, W_RC + k), host, (size_t)(M * D) * fs));
  CK(wk_copy_h2d(x, BUF(f, W_RS + k), host + M * D, (size_t)(M * D) * fs));
  CK(wk_sync(x));
  if (c->av && f->r->m[0].present && f->r->m[1].present) {
    int64_t Cx = c->cross_dim;
    CK(lx_rope_tables(c, mi->pos, B, N, s->n_pos, 1, &c->cross_max_pos, Cx,
                      s->heads, pb, host, host + M * Cx));
    CK(wk_copy_h2d(x, BUF(f, W_XC + k), host, (size_t)(M * Cx) * fs));
    CK(wk_copy_h2d(x, BUF(f, W_XS + k), host + M * Cx, (size_t)(M * Cx) * fs));
    CK(wk_sync(x));
  }
  /* Per-token AdaLN, once per distinct value (timesteps * multiplier). */
  const lx_segs *sg = &f->segs[k];
  float *u = host, *hb = host + MAX2(sg->n_val, B);
  for (int64_t i = 0; i < sg->n_val; i++)
    u[i] = sg->val[i] * c->ts_mult;
  CK(embed(f, &g->ada, u, sg->n_val, BUF(f, W_EMB + k), BUF(f, W_TK + k), hb));
  if (c->ca_adaln) {
    for (int64_t b = 0; b < B; b++)
      u[b] = mi->sigma[b] * c->ts_mult;
    CK(embed(f, &g->prompt, u, B, NULL, BUF(f, W_PT + k), hb));
  }
  if (c->av && f->r->m[0].present && f->r->m[1].present) {
    const float *so = f->r->m[1 - k].sigma;
    float fac = (float)((double)c->av_mult / (double)c->ts_mult);
    for (int64_t b = 0; b < B; b++)
      u[b] = so[b] * c->ts_mult;
    CK(embed(f, &g->avss, u, B, NULL, BUF(f, W_AVSS + k), hb));
    for (int64_t b = 0; b < B; b++)
      u[b] = u[b] * fac;
    CK(embed(f, &g->avgate, u, B, NULL, BUF(f, W_AVG + k), hb));
  }
  return 0;
}

/* LayerNorm, shift/scale = table + embedded timestep per token, proj_out. */
static int epilogue(fwd *f, int k) {
  ltx2 *m = f->m;
  const lx_cfg *c = &m->cfg;
  const lx_gmod *g = &m->tabs.g[k];
  wk_ctx *x = m->wk;
  int64_t M = f->r->B * f->r->m[k].N, D = c->m[k].dim;
  wk_w none = {NULL, WK_F32, 1.0f};
  float *nx = BUF(f, W_NX + k), *fm = BUF(f, W_ADA + k);
  const float *sst = gvec(f, g->sst), *emb = BUF(f, W_EMB + k);
  const lx_segs *s = &f->segs[k];
  CK(wk_layernorm(x, BUF(f, W_X + k), none, none, M, D, (float)c->eps, nx));
  for (int64_t u = 0; u < s->n_val; u++) {
    CK(wk_add(x, sst, emb + u * D, D, fm + u * 2 * D));
    CK(wk_add(x, sst + D, emb + u * D, D, fm + u * 2 * D + D));
  }
  for (int64_t i = 0; i < s->n_seg; i++) {
    const lx_seg *sg = &s->seg[i];
    const float *a = fm + sg->u * 2 * D;
    CK(wk_modulate(x, nx + sg->row * D, a + D, a, sg->len, D,
                   nx + sg->row * D));
  }
  return wk_linear(x, nx, M, D, gw(f, g->out), gw(f, g->outb), c->m[k].out,
                   BUF(f, W_OUT + k));
}

static int wkerr(ltx2 *m, int rc, warm_error *err) {
  if (rc == WARM_ECANCELED || rc == WARM_ENOSPACE) return rc;
  if (rc == WARM_ENOMEM)
    return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory", m->name);
  return warm_error_set(err, WARM_EDEVICE, "%s: compute failed (%d): %s",
                        m->name, rc, wk_last_error(m->wk));
}

/* Host staging: the largest RoPE table pair or embedder input. */
static size_t host_floats(const ltx2 *m, const lx_run *r) {
  size_t n = 0;
  for (int k = 0; k < 2; k++) {
    if (!r->m[k].present) continue;
    int64_t M = r->B * r->m[k].N;
    int64_t w = MAX2(m->cfg.m[k].dim, m->cfg.cross_dim);
    n = MAX2(n, (size_t)(2 * M * w));
    int64_t U = MAX2(r->n_val[k], r->B);
    n = MAX2(n, (size_t)(U + U * WPC_TPROJ));
  }
  return n;
}

int lx_forward(ltx2 *m, const lx_run *r, float *out_v, float *out_a,
               uint64_t *streamed, warm_error *err) {
  const lx_cfg *c = &m->cfg;
  fwd f;
  memset(&f, 0, sizeof f);
  f.m = m;
  f.r = r;
  for (int k = 0; k < 2; k++)
    if (r->m[k].present && lx_segments(r->m[k].ts, r->B, r->m[k].N,
                                       m->opts.max_tvalues, &f.segs[k])) {
      lx_segs_free(&f.segs[0]);
      return warm_error_set(err, WARM_EINVAL,
                            "%s: %s_timesteps hold more than "
                            "max_timestep_values = %lld distinct values",
                            m->name, k ? "audio" : "video",
                            (long long)m->opts.max_tvalues);
    }
  plan(m, r, &f.p);
  void *ws = NULL;
  float *host = malloc(host_floats(m, r) * sizeof(float) + 64);
  int rc = host ? 0
                : warm_error_set(err, WARM_ENOMEM, "%s: out of host memory",
                                 m->name);
  if (!rc)
    rc =
        m->svc->dev_alloc(m->svc->ctx, WARM_MEM_WORKSPACE, f.p.total, &ws, err);
  if (rc) {
    free(host);
    lx_segs_free(&f.segs[0]);
    lx_segs_free(&f.segs[1]);
    return rc;
  }
  f.ws = ws;
  wk_ctx *x = m->wk;
  wk_set_workspace(x, BUF(&f, W_WK), f.p.size[W_WK]);
  wpc_globals(&m->w, f.gp);
  for (int k = 0; k < 2 && !rc; k++)
    if (r->m[k].present && (rc = prologue(&f, k, host))) rc = wkerr(m, rc, err);
  if (m->w.streamer) warm_streamer_stats_reset(m->w.streamer);
  for (int64_t l = 0; l < c->layers && !rc; l++) {
    if (m->svc->cancelled && m->svc->cancelled(m->svc->ctx)) {
      rc =
          warm_error_set(err, WARM_ECANCELED, "%s: cancelled before block %lld",
                         m->name, (long long)l);
      break;
    }
    if ((rc = wpc_block_get(&m->w, l, f.bp, &f.bs, err))) break;
    f.layer = l;
    if ((rc = block(&f))) rc = wkerr(m, rc, err);
    warm_error e2;
    int r2 = wpc_block_done(&m->w, l, &e2);
    if (!rc && r2) {
      *err = e2;
      rc = r2;
    }
    if (m->svc->progress)
      m->svc->progress(m->svc->ctx, (float)(l + 1) / (float)c->layers);
  }
  float *outs[2] = {out_v, out_a};
  for (int k = 0; k < 2 && !rc; k++) {
    if (!r->m[k].present) continue;
    if ((rc = epilogue(&f, k))) {
      rc = wkerr(m, rc, err);
      break;
    }
    rc = wk_copy_d2h(x, outs[k], BUF(&f, W_OUT + k), f.p.size[W_OUT + k]);
    if (!rc) rc = wk_sync(x);
    if (rc) rc = wkerr(m, rc, err);
  }
  *streamed = 0;
  if (m->w.streamer) {
    warm_stream_stats st;
    warm_streamer_stats(m->w.streamer, &st);
    *streamed = st.streamed_bytes;
  }
  wk_sync(x);
  wk_set_workspace(x, NULL, 0);
  m->svc->dev_free(m->svc->ctx, ws);
  free(host);
  lx_segs_free(&f.segs[0]);
  lx_segs_free(&f.segs[1]);
  return rc;
}
