/* One latent tile through ltx-core's VideoDecoder with wk ops (the same
 * code on cpu and cuda). Activations are channel-first [C, F, H, W]. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lv2.h"


enum { B_X, B_H, B_T, B_U, B_TPROJ, B_TE1, B_TE2, B_MOD, B_WK, B_COUNT };

typedef struct plan {
  size_t off[B_COUNT], size[B_COUNT], total;
} plan;

/* Convs of the decoder: kernel k^3, temporal padding replicates the edge
 * frames (causal: k-1 in front; otherwise (k-1)/2 each side), spatial
 * padding k/2 in the configured mode (CausalConv3d). */
static wk_conv3d conv_desc(const lv2_dec *d, const lv2_conv *c, int64_t F,
                           int64_t H, int64_t W) {
  wk_conv3d p;
  memset(&p, 0, sizeof p);
  p.Ci = c->ci;
  p.Co = c->co;
  p.T = F;
  p.H = H;
  p.W = W;
  p.kt = p.kh = p.kw = c->k;
  p.pt_front = d->causal ? c->k - 1 : (c->k - 1) / 2;
  p.pt_back = d->causal ? 0 : (c->k - 1) / 2;
  p.ph = p.pw = c->k / 2;
  p.tpad = WK_PAD_REPLICATE;
  p.spad = d->spad;
  return p;
}

typedef struct sizes {
  int64_t act, tdim;
  size_t wk, pack; /* pack: every conv's packed weights (the pack arena) */
} sizes;

static void upd(sizes *z, int64_t n) {
  if (n > z->act) z->act = n;
}
static void upd_ws(sizes *z, size_t n) {
  if (n > z->wk) z->wk = n;
}
static wk_dtype wkdt(warm_dtype d) {
  return d == WARM_BF16 ? WK_BF16 : WK_F32;
}
static void upd_conv(const lv2 *v, sizes *z, const lv2_conv *c, int64_t F,
                     int64_t H, int64_t W) {
  wk_conv3d p = conv_desc(&v->dec, c, F, H, W);
  upd_ws(z, wk_conv3d_workspace(v->wk, &p, wkdt(v->dtype)));
  z->pack += wk_conv3d_packed_bytes(v->wk, &p, wkdt(v->dtype));
  upd(z, c->ci * F * H * W);
  upd(z, c->co * F * H * W);
}
static void upd_temb(const lv2 *v, sizes *z, const lv2_temb *t) {
  if (t->l1w < 0) return;
  if (t->dim > z->tdim) z->tdim = t->dim;
  upd_ws(z, wk_linear_workspace(v->wk, 1, LXC_TPROJ, t->dim, wkdt(v->dtype)));
  upd_ws(z, wk_linear_workspace(v->wk, 1, t->dim, t->dim, wkdt(v->dtype)));
}

static void walk(const lv2 *v, int64_t F, int64_t H, int64_t W, sizes *z) {
  const lv2_dec *d = &v->dec;
  memset(z, 0, sizeof *z);
  upd(z, d->latent_channels * F * H * W);
  upd_conv(v, z, &d->conv_in, F, H, W);
  for (int i = 0; i < d->n_blocks; i++) {
    const lv2_block *b = &d->blocks[i];
    if (b->kind == LV2_RES) {
      upd_temb(v, z, &b->temb);
      for (int j = 0; j < b->n_res; j++) {
        upd_conv(v, z, &b->res[j].conv1, F, H, W);
        upd_conv(v, z, &b->res[j].conv2, F, H, W);
      }
    } else {
      upd_conv(v, z, &b->conv, F, H, W);
      F = F * b->st - (b->st == 2);
      H *= b->sh;
      W *= b->sw;
      upd(z, b->ci * (F + 1) * H * W);
    }
  }
  upd_temb(v, z, &d->last_temb);
  upd_conv(v, z, &d->conv_out, F, H, W);
}

static void make_plan(const lv2 *v, int64_t F, int64_t H, int64_t W, plan *p) {
  sizes z;
  walk(v, F, H, W, &z);
  memset(p, 0, sizeof *p);
  size_t act = (size_t)z.act * sizeof(float);
  p->size[B_X] = p->size[B_H] = p->size[B_T] = p->size[B_U] = act;
  p->size[B_TPROJ] = LXC_TPROJ * sizeof(float);
  p->size[B_TE1] = p->size[B_TE2] = p->size[B_MOD] =
      (size_t)(z.tdim > 0 ? z.tdim : 1) * sizeof(float);
  p->size[B_WK] = z.wk;
  p->total = lxc_layout(p->size, p->off, B_COUNT);
}

size_t lv2_decode_pack_bytes(const lv2 *v, int64_t F, int64_t H, int64_t W) {
  sizes z;
  walk(v, F, H, W, &z);
  return z.pack;
}

size_t lv2_decode_workspace(const lv2 *v, int64_t F, int64_t H, int64_t W) {
  plan p;
  make_plan(v, F, H, W, &p);
  return p.total;
}

typedef struct run {
  lv2 *v;
  char *ws;
  plan p;
  int64_t F, H, W;
} run;

#define BUF(r, i) ((float *)((r)->ws + (r)->p.off[i]))
#define CK(call) LXC_CK(call)

static wk_w W_(run *r, int i) {
  return lxc_get(&r->v->w, &r->v->tab, i);
}

static int conv(run *r, const lv2_conv *c, const float *x, float *y) {
  wk_conv3d p = conv_desc(&r->v->dec, c, r->F, r->H, r->W);
  wk_w w = W_(r, c->w), b = W_(r, c->b);
  return wk_conv3d_fwd(r->v->wk, &p, x, w, b, y);
}

static int pixnorm(run *r, const float *x, int64_t C, const float *scale,
                   const float *shift, float *tmp, float *y) {
  return lxc_pixelnorm(r->v->wk, x, C, r->F * r->H * r->W, 1e-8f, scale, shift,
                       1, tmp, y);
}

/* ResnetBlock3D on B_X in place; temb [4C] on the device or NULL. */
static int resnet(run *r, const lv2_res *rs, int64_t C, const float *temb) {
  wk_ctx *k = r->v->wk;
  float *x = BUF(r, B_X), *h = BUF(r, B_H), *t = BUF(r, B_T), *u = BUF(r, B_U);
  const float *s1 = NULL, *sh1 = NULL, *s2 = NULL, *sh2 = NULL;
  if (rs->sst >= 0) {
    float *mod = BUF(r, B_MOD);
    wk_w sst = W_(r, rs->sst);
    CK(wk_add(k, sst.data, temb, 4 * C, mod));
    sh1 = mod;
    s1 = mod + C;
    sh2 = mod + 2 * C;
    s2 = mod + 3 * C;
  }
  CK(pixnorm(r, x, C, s1, sh1, t, h));
  CK(conv(r, &rs->conv1, h, t));
  CK(pixnorm(r, t, C, s2, sh2, u, h));
  CK(conv(r, &rs->conv2, h, t));
  return wk_add(k, t, x, C * r->F * r->H * r->W, x);
}

/* DepthToSpaceUpsample on B_X: conv, depth-to-space (st, sh, sw), drop the
 * first frame when temporal; with `residual`, plus the input's
 * depth-to-space repeated over channels. */
static int upsample(run *r, const lv2_block *b) {
  wk_ctx *k = r->v->wk;
  float *x = BUF(r, B_X), *h = BUF(r, B_H), *t = BUF(r, B_T), *u = BUF(r, B_U);
  int64_t F = r->F, H = r->H, W = r->W, prod = (int64_t)b->st * b->sh * b->sw;
  int64_t Fu = F * b->st, F2 = Fu - (b->st == 2), plane = H * b->sh * W * b->sw;
  int64_t drop = b->st == 2 ? 1 : 0, cr = b->ci / prod;
  CK(conv(r, &b->conv, x, h));
  if (b->residual)
    CK(wk_depth_to_space3d(k, x, cr, F, H, W, b->st, b->sh, b->sw, u));
  CK(wk_depth_to_space3d(k, h, b->co, F, H, W, b->st, b->sh, b->sw, t));
  for (int64_t c = 0; c < b->co; c++)
    CK(wk_copy_d2d(k, x + c * F2 * plane, t + (c * Fu + drop) * plane,
                   (size_t)(F2 * plane) * sizeof(float)));
  if (b->residual)
    for (int64_t c = 0; c < b->co; c++)
      CK(wk_add(k, x + c * F2 * plane, u + ((c % cr) * Fu + drop) * plane,
                F2 * plane, x + c * F2 * plane));
  r->F = F2;
  r->H *= b->sh;
  r->W *= b->sw;
  return 0;
}

/* TimestepEmbedding on the projection in B_TPROJ into `out` [dim]. */
static int temb_mlp(run *r, const lv2_temb *t, float *out) {
  wk_ctx *k = r->v->wk;
  float *h = BUF(r, B_TE1);
  CK(wk_linear(k, BUF(r, B_TPROJ), 1, LXC_TPROJ, W_(r, t->l1w), W_(r, t->l1b),
               t->dim, h));
  CK(wk_silu(k, h, t->dim, h));
  return wk_linear(k, h, 1, t->dim, W_(r, t->l2w), W_(r, t->l2b), t->dim, out);
}

/* Unpatchify: conv_out [c*p*p, F, h, w] with channel c*p*p + r*p + q (r the
 * width offset) -> frames [c, F, h*p, w*p]. Host to host. */
static void unpatchify(const lv2_dec *d, int64_t F, int64_t h, int64_t w,
                       const float *in, float *out) {
  int64_t p = d->patch_size, Ho = h * p, Wo = w * p;
  for (int64_t c = 0; c < d->out_channels; c++)
    for (int64_t rr = 0; rr < p; rr++)
      for (int64_t q = 0; q < p; q++) {
        int64_t ch = (c * p + rr) * p + q;
        for (int64_t f = 0; f < F; f++)
          for (int64_t y = 0; y < h; y++) {
            const float *src = in + ((ch * F + f) * h + y) * w;
            float *dst = out + ((c * F + f) * Ho + y * p + q) * Wo + rr;
            for (int64_t x = 0; x < w; x++)
              dst[x * p] = src[x];
          }
      }
}

static int run_net(run *r, const float *z, const float *noise, float *out) {
  lv2 *v = r->v;
  const lv2_dec *d = &v->dec;
  wk_ctx *k = v->wk;
  int64_t C = d->latent_channels, S = r->F * r->H * r->W;
  /* Noise (timestep conditioning) and un-normalisation on the host:
   * x = noise * 0.025 + 0.975 * x, then x * std + mean. */
  float *zin = malloc((size_t)(C * S) * sizeof *zin);
  if (!zin) return WARM_ENOMEM;
  for (int64_t c = 0; c < C; c++)
    for (int64_t i = 0; i < S; i++) {
      float x = z[c * S + i];
      if (d->tc) {
        float n = noise[c * S + i] * 0.025f;
        x = n + 0.975f * x;
      }
      zin[c * S + i] = x * v->std[c] + v->mean[c];
    }
  int rc = wk_copy_h2d(k, BUF(r, B_H), zin, (size_t)(C * S) * sizeof(float));
  if (!rc) rc = wk_sync(k);
  free(zin);
  CK(rc);
  if (d->tc) {
    float tp[LXC_TPROJ];
    lxc_timestep_proj((float)v->opts.decode_timestep * v->tsm, tp);
    CK(wk_copy_h2d(k, BUF(r, B_TPROJ), tp, sizeof tp));
    CK(wk_sync(k)); /* tp lives on this stack frame */
  }
  CK(conv(r, &d->conv_in, BUF(r, B_H), BUF(r, B_X)));
  float *te = BUF(r, B_TE2);
  for (int i = 0; i < d->n_blocks; i++) {
    const lv2_block *b = &d->blocks[i];
    if (v->svc->cancelled && v->svc->cancelled(v->svc->ctx))
      return WARM_ECANCELED;
    if (b->kind == LV2_D2S) {
      CK(upsample(r, b));
      continue;
    }
    if (b->temb.l1w >= 0) CK(temb_mlp(r, &b->temb, te));
    for (int j = 0; j < b->n_res; j++)
      CK(resnet(r, &b->res[j], b->ci, b->temb.l1w >= 0 ? te : NULL));
  }
  const float *scale = NULL, *shift = NULL;
  int64_t Cf = d->final_channels;
  if (d->tc) {
    float *mod = BUF(r, B_MOD);
    CK(temb_mlp(r, &d->last_temb, te));
    wk_w sst = W_(r, d->last_sst);
    CK(wk_add(k, sst.data, te, 2 * Cf, mod));
    shift = mod;
    scale = mod + Cf;
  }
  CK(pixnorm(r, BUF(r, B_X), Cf, scale, shift, BUF(r, B_T), BUF(r, B_H)));
  CK(conv(r, &d->conv_out, BUF(r, B_H), BUF(r, B_T)));
  size_t n = (size_t)(d->conv_out.co * r->F * r->H * r->W);
  float *raw = malloc(n * sizeof *raw);
  if (!raw) return WARM_ENOMEM;
  rc = wk_copy_d2h(k, raw, BUF(r, B_T), n * sizeof(float));
  if (!rc) rc = wk_sync(k);
  if (!rc) unpatchify(d, r->F, r->H, r->W, raw, out);
  free(raw);
  return rc;
}

int lv2_decode_tile(lv2 *v, const float *z, const float *noise, int64_t F,
                    int64_t H, int64_t W, float *out, warm_error *err) {
  run r = {v, NULL, {{0}, {0}, 0}, F, H, W};
  make_plan(v, F, H, W, &r.p);
  void *ws = NULL;
  int rc =
      v->svc->dev_alloc(v->svc->ctx, WARM_MEM_WORKSPACE, r.p.total, &ws, err);
  if (rc) return rc;
  r.ws = ws;
  wk_set_workspace(v->wk, BUF(&r, B_WK), r.p.size[B_WK]);
  rc = run_net(&r, z, noise, out);
  if (rc == WARM_ECANCELED)
    warm_error_set(err, rc, "%s: cancelled", v->name);
  else if (rc == WARM_ENOMEM)
    warm_error_set(err, rc, "%s: out of host memory", v->name);
  else if (rc)
    rc = warm_error_set(err, WARM_EDEVICE, "%s: decode failed (%d): %s",
                        v->name, rc, wk_last_error(v->wk));
  wk_sync(v->wk);
  wk_set_workspace(v->wk, NULL, 0);
  v->svc->dev_free(v->svc->ctx, ws);
  return rc;
}
