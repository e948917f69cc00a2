/* One latent tile through LTXVideoDecoder3d on the device, with wk ops only
 * (so the same code runs on cpu and cuda). Activations are channel-first
 * [C, F, H, W]; channel norms transpose to [F*H*W, C] and back. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lvae.h"
#include "lxc.h"

#define ALIGN_UP(x) (((x) + 255) / 256 * 256)

static wk_dtype wkdt(warm_dtype d) {
  return d == WARM_BF16 ? WK_BF16 : d == WARM_FP8_E4M3 ? WK_FP8_E4M3 : WK_F32;
}

static wk_conv3d conv_desc(const lvae_net *n, const lvae_conv *c, int64_t F,
                           int64_t H, int64_t W) {
  wk_conv3d p;
  memset(&p, 0, sizeof p);
  p.Ci = c->ci;
  p.Co = c->co;
  p.T = F;
  p.H = H;
  p.W = W;
  p.kt = p.kh = p.kw = c->k;
  p.pt_front = n->causal ? c->k - 1 : (c->k - 1) / 2;
  p.pt_back = n->causal ? 0 : (c->k - 1) / 2;
  p.ph = p.pw = c->k / 2;
  return p;
}

/* Sizes of one tile's pass: the largest activation (elements), the
 * largest op scratch, the largest timestep-embedding width. */
typedef struct sizes {
  int64_t act;
  size_t wk;
  int64_t tdim;
} sizes;

static void upd(sizes *z, int64_t act) {
  if (act > z->act) z->act = act;
}
static void upd_conv(const lvae *v, sizes *z, const lvae_conv *c, int64_t F,
                     int64_t H, int64_t W) {
  wk_conv3d p = conv_desc(&v->net, c, F, H, W);
  size_t ws = wk_conv3d_workspace(v->wk, &p, wkdt(v->dtype));
  if (ws > z->wk) z->wk = ws;
  upd(z, c->ci * F * H * W);
  upd(z, c->co * F * H * W);
}
static void upd_temb(const lvae *v, sizes *z, const lvae_temb *t) {
  if (t->l1w < 0) return;
  if (t->dim > z->tdim) z->tdim = t->dim;
  size_t a = wk_linear_workspace(v->wk, 1, LVAE_TPROJ, t->dim, wkdt(v->dtype));
  size_t b = wk_linear_workspace(v->wk, 1, t->dim, t->dim, wkdt(v->dtype));
  if (a > z->wk) z->wk = a;
  if (b > z->wk) z->wk = b;
}
static void upd_res(const lvae *v, sizes *z, const lvae_res *r, int64_t F,
                    int64_t H, int64_t W) {
  upd_conv(v, z, &r->conv1, F, H, W);
  upd_conv(v, z, &r->conv2, F, H, W);
  if (r->shortcut.w >= 0) upd_conv(v, z, &r->shortcut, F, H, W);
  if (4 * r->ci > z->tdim) z->tdim = 4 * r->ci;
}

/* Walks the decoder's shapes for a latent tile [C, F, H, W]. */
static void walk(const lvae *v, int64_t F, int64_t H, int64_t W, sizes *z,
                 lvae_dims *d) {
  const lvae_net *n = &v->net;
  memset(z, 0, sizeof *z);
  upd(z, n->latent_channels * F * H * W);
  upd_conv(v, z, &n->conv_in, F, H, W);
  for (int bi = 0; bi < n->n_blocks; bi++) {
    const lvae_block *b = &n->blocks[bi];
    upd_temb(v, z, &b->temb);
    if (b->has_conv_in) upd_res(v, z, &b->conv_in, F, H, W);
    if (b->has_upsampler) {
      upd_conv(v, z, &b->upconv, F, H, W);
      F = 2 * F - 1;
      H *= 2;
      W *= 2;
    }
    for (int r = 0; r < b->n_res; r++)
      upd_res(v, z, &b->res[r], F, H, W);
  }
  upd_temb(v, z, &n->final_temb);
  if (2 * n->final_channels > z->tdim) z->tdim = 2 * n->final_channels;
  upd_conv(v, z, &n->conv_out, F, H, W);
  if (d) {
    d->Fo = F;
    d->Ho = H;
    d->Wo = W;
    d->Cp = n->conv_out.co;
  }
}

void lvae_dims_of(const lvae_net *n, int64_t F, int64_t H, int64_t W,
                  lvae_dims *d) {
  d->F = F;
  d->H = H;
  d->W = W;
  for (int bi = 0; bi < n->n_blocks; bi++)
    if (n->blocks[bi].has_upsampler) {
      F = 2 * F - 1;
      H *= 2;
      W *= 2;
    }
  d->Fo = F;
  d->Ho = H;
  d->Wo = W;
  d->Cp = n->conv_out.co;
}

enum { B_X, B_H, B_T, B_U, B_TPROJ, B_TE1, B_TE2, B_MOD, B_WK, B_COUNT };

typedef struct plan {
  size_t off[B_COUNT], size[B_COUNT], total;
} plan;

static void make_plan(const lvae *v, int64_t F, int64_t H, int64_t W, plan *p) {
  sizes z;
  walk(v, F, H, W, &z, NULL);
  memset(p, 0, sizeof *p);
  size_t act = (size_t)z.act * sizeof(float);
  p->size[B_X] = p->size[B_H] = p->size[B_T] = p->size[B_U] = act;
  p->size[B_TPROJ] = LVAE_TPROJ * sizeof(float);
  p->size[B_TE1] = p->size[B_TE2] = p->size[B_MOD] =
      (size_t)(z.tdim > 0 ? z.tdim : 1) * sizeof(float);
  p->size[B_WK] = z.wk;
  size_t off = 0;
  for (int i = 0; i < B_COUNT; i++) {
    p->off[i] = off;
    off += ALIGN_UP(p->size[i]);
  }
  p->total = off;
}

size_t lvae_workspace_bytes(const lvae *v, int64_t F, int64_t H, int64_t W) {
  plan p;
  make_plan(v, F, H, W, &p);
  return p.total;
}

typedef struct dec {
  lvae *v;
  char *ws;
  plan p;
  int64_t F, H, W;
} dec;

#define BUF(d, i) ((float *)((d)->ws + (d)->p.off[i]))
#define CK(call)                                                               \
  do {                                                                         \
    int rc_ = (call);                                                          \
    if (rc_) return rc_;                                                       \
  } while (0)

static const void *wp(const lvae *v, int i) {
  return (const char *)v->blob + v->net.t[i].offset;
}
static wk_w wmat(const lvae *v, int i) {
  wk_w w = {wp(v, i), wkdt(v->dtype), v->net.t[i].scale};
  return w;
}
static wk_w wvec(const lvae *v, int i) {
  wk_w w = {i >= 0 ? wp(v, i) : NULL, WK_F32, 1.0f};
  return w;
}

static int conv(dec *d, const lvae_conv *c, const float *x, float *y) {
  wk_conv3d p = conv_desc(&d->v->net, c, d->F, d->H, d->W);
  return wk_conv3d_fwd(d->v->wk, &p, x, wmat(d->v, c->w), wvec(d->v, c->b), y);
}

/* y = [silu](modulate(norm_c(x))) over channels of x [C, S]; tmp [S, C].
 * ln = 1: LayerNorm with weight/bias (eps), else RMSNorm eps 1e-8 without
 * affine (LTX's decoder norms). scale/shift [C] may be NULL. */
static int cnorm(dec *d, const float *x, int64_t C, int ln, int wi, int bi,
                 double eps, const float *scale, const float *shift, int act,
                 float *tmp, float *y) {
  wk_ctx *k = d->v->wk;
  int64_t S = d->F * d->H * d->W;
  if (!ln) /* PixelNorm: across the channels, in place */
    return wk_channel_rmsnorm(k, x, C, S, 1e-8f, scale, shift, act, tmp, y);
  CK(wk_transpose(k, x, C, S, tmp));
  CK(wk_layernorm(k, tmp, wvec(d->v, wi), wvec(d->v, bi), S, C, (float)eps,
                  tmp));
  if (scale) CK(wk_modulate(k, tmp, scale, shift, S, C, tmp));
  if (act) CK(wk_silu(k, tmp, S * C, tmp));
  CK(wk_transpose(k, tmp, S, C, y));
  return 0;
}

/* LTXVideoResnetBlock3d on B_X in place; temb [4*ci] on the device or
 * NULL. */
static int resnet(dec *d, const lvae_res *r, const float *temb) {
  lvae *v = d->v;
  wk_ctx *k = v->wk;
  float *x = BUF(d, B_X), *h = BUF(d, B_H), *t = BUF(d, B_T), *u = BUF(d, B_U);
  const float *s1 = NULL, *sh1 = NULL, *s2 = NULL, *sh2 = NULL;
  if (r->sst >= 0) {
    float *mod = BUF(d, B_MOD);
    int64_t C = r->ci;
    CK(wk_add(k, wp(v, r->sst), temb, 4 * C, mod));
    sh1 = mod;
    s1 = mod + C;
    sh2 = mod + 2 * C;
    s2 = mod + 3 * C;
  }
  int64_t S = d->F * d->H * d->W;
  CK(cnorm(d, x, r->ci, 0, -1, -1, 0, s1, sh1, 1, t, h));
  CK(conv(d, &r->conv1, h, t));
  CK(cnorm(d, t, r->co, 0, -1, -1, 0, s2, sh2, 1, u, h));
  CK(conv(d, &r->conv2, h, t));
  if (r->shortcut.w >= 0) {
    CK(cnorm(d, x, r->ci, 1, r->norm3_w, r->norm3_b, v->net.resnet_eps, NULL,
             NULL, 0, u, h));
    CK(conv(d, &r->shortcut, h, u));
    CK(wk_add(k, t, u, r->co * S, x));
  } else {
    CK(wk_add(k, t, x, r->co * S, x));
  }
  return 0;
}

/* LTXVideoUpsampler3d on B_X: conv, depth-to-space (2, 2, 2), drop the
 * first frame; with `residual`, plus the depth-to-space of the input
 * repeated over channels. */
static int upsample(dec *d, const lvae_block *b) {
  lvae *v = d->v;
  wk_ctx *k = v->wk;
  float *x = BUF(d, B_X), *h = BUF(d, B_H), *t = BUF(d, B_T), *u = BUF(d, B_U);
  int64_t F = d->F, H = d->H, W = d->W, cin = b->up_cin;
  int64_t cout = cin / b->upscale, F2 = 2 * F - 1, plane = 4 * H * W;
  CK(conv(d, &b->upconv, x, h));
  if (b->residual) CK(wk_depth_to_space3d(k, x, cin / 8, F, H, W, 2, 2, 2, u));
  CK(wk_depth_to_space3d(k, h, cout, F, H, W, 2, 2, 2, t));
  for (int64_t c = 0; c < cout; c++)
    CK(wk_copy_d2d(k, x + c * F2 * plane, t + (c * 2 * F + 1) * plane,
                   (size_t)(F2 * plane) * sizeof(float)));
  if (b->residual) {
    int64_t cr = cin / 8;
    for (int64_t c = 0; c < cout; c++)
      CK(wk_add(k, x + c * F2 * plane, u + ((c % cr) * 2 * F + 1) * plane,
                F2 * plane, x + c * F2 * plane));
  }
  d->F = F2;
  d->H = 2 * H;
  d->W = 2 * W;
  return 0;
}

/* PixArtAlphaCombinedTimestepSizeEmbeddings on the projection in B_TPROJ:
 * linear_1, SiLU, linear_2 into `out` [dim]. */
static int temb_mlp(dec *d, const lvae_temb *t, float *out) {
  lvae *v = d->v;
  wk_ctx *k = v->wk;
  float *h = BUF(d, B_TE1);
  CK(wk_linear(k, BUF(d, B_TPROJ), 1, LVAE_TPROJ, wmat(v, t->l1w),
               wvec(v, t->l1b), t->dim, h));
  CK(wk_silu(k, h, t->dim, h));
  CK(wk_linear(k, h, 1, t->dim, wmat(v, t->l2w), wvec(v, t->l2b), t->dim, out));
  return 0;
}

static int run_net(dec *d, const float *z, float temb, float *out) {
  lvae *v = d->v;
  const lvae_net *n = &v->net;
  wk_ctx *k = v->wk;
  size_t zin = (size_t)(n->latent_channels * d->F * d->H * d->W);
  CK(wk_copy_h2d(k, BUF(d, B_H), z, zin * sizeof(float)));
  if (n->timestep_conditioning) {
    float tp[LVAE_TPROJ];
    lxc_timestep_proj(temb * v->tsm, tp);
    CK(wk_copy_h2d(k, BUF(d, B_TPROJ), tp, sizeof tp));
    CK(wk_sync(k)); /* tp lives on this stack frame */
  }
  CK(conv(d, &n->conv_in, BUF(d, B_H), BUF(d, B_X)));
  float *te = BUF(d, B_TE2);
  for (int bi = 0; bi < n->n_blocks; bi++) {
    const lvae_block *b = &n->blocks[bi];
    if (v->svc->cancelled && v->svc->cancelled(v->svc->ctx))
      return WARM_ECANCELED;
    if (b->has_conv_in) CK(resnet(d, &b->conv_in, NULL));
    if (b->temb.l1w >= 0) CK(temb_mlp(d, &b->temb, te));
    if (b->has_upsampler) CK(upsample(d, b));
    for (int r = 0; r < b->n_res; r++)
      CK(resnet(d, &b->res[r], b->temb.l1w >= 0 ? te : NULL));
  }
  const float *scale = NULL, *shift = NULL;
  int64_t C = n->final_channels;
  if (n->final_temb.l1w >= 0) {
    float *mod = BUF(d, B_MOD);
    CK(temb_mlp(d, &n->final_temb, te));
    CK(wk_add(k, wp(v, n->final_sst), te, 2 * C, mod));
    shift = mod;
    scale = mod + C;
  }
  CK(cnorm(d, BUF(d, B_X), C, 0, -1, -1, 0, scale, shift, 1, BUF(d, B_T),
           BUF(d, B_H)));
  CK(conv(d, &n->conv_out, BUF(d, B_H), BUF(d, B_T)));
  size_t nout = (size_t)(n->conv_out.co * d->F * d->H * d->W);
  CK(wk_copy_d2h(k, out, BUF(d, B_T), nout * sizeof(float)));
  CK(wk_sync(k));
  return 0;
}

/* Decodes one de-normalised latent tile z [C, F, H, W] (host) into out
 * [Cp, Fo, Ho, Wo] (host, conv_out layout). Workspace is booked for the
 * call and released before returning. */
int lvae_decode_tile(lvae *v, const float *z, int64_t F, int64_t H, int64_t W,
                     float temb, float *out, warm_error *err) {
  dec d = {v, NULL, {{0}, {0}, 0}, F, H, W};
  make_plan(v, F, H, W, &d.p);
  void *ws = NULL;
  int rc =
      v->svc->dev_alloc(v->svc->ctx, WARM_MEM_WORKSPACE, d.p.total, &ws, err);
  if (rc) return rc;
  d.ws = ws;
  wk_set_workspace(v->wk, BUF(&d, B_WK), d.p.size[B_WK]);
  rc = run_net(&d, z, temb, out);
  if (rc == WARM_ECANCELED)
    warm_error_set(err, rc, "%s: cancelled", v->name);
  else if (rc)
    rc = warm_error_set(err, WARM_EDEVICE, "%s: decode failed (%d): %s",
                        v->name, rc, wk_last_error(v->wk));
  wk_sync(v->wk);
  wk_set_workspace(v->wk, NULL, 0);
  v->svc->dev_free(v->svc->ctx, ws);
  return rc;
}
