/* ltx-core's VideoEncoder on the device: patchify (host), causal convs
 * (the first frame replicated in front), res_x blocks, SpaceToDepthDownsample
 * blocks, PixelNorm, SiLU, conv_out; the first latent_channels outputs (the
 * means) normalised with the statistics (host). */
#include <stdlib.h>
#include <string.h>

#include "lv2.h"


enum { B_X, B_H, B_T, B_U, B_WK, B_COUNT };

typedef struct plan {
  size_t off[B_COUNT], size[B_COUNT], total;
} plan;

static wk_conv3d desc(const lv2_enc *e, const lv2_conv *c, int64_t F, int64_t H,
                      int64_t W) {
  wk_conv3d p;
  memset(&p, 0, sizeof p);
  p.Ci = c->ci;
  p.Co = c->co;
  p.T = F;
  p.H = H;
  p.W = W;
  p.kt = p.kh = p.kw = c->k;
  p.pt_front = c->k - 1; /* causal: the encoder's convs run with causal=True */
  p.ph = p.pw = c->k / 2;
  p.tpad = WK_PAD_REPLICATE;
  p.spad = e->spad;
  return p;
}

/* Sizes one conv: the activations, workspace and packed weights. */
typedef struct sizes {
  int64_t act;
  size_t ws, pack;
} sizes;

static void see(const lv2 *v, sizes *z, const lv2_conv *c, int64_t F,
                int64_t H, int64_t W) {
  wk_conv3d p = desc(&v->enc, c, F, H, W);
  wk_dtype dt = v->dtype == WARM_BF16 ? WK_BF16 : WK_F32;
  size_t s = wk_conv3d_workspace(v->wk, &p, dt);
  if (s > z->ws) z->ws = s;
  z->pack += wk_conv3d_packed_bytes(v->wk, &p, dt);
  int64_t m = (c->ci > c->co ? c->ci : c->co) * (F + 1) * H * W;
  if (m > z->act) z->act = m;
}

static void walk(const lv2 *v, int64_t F, int64_t H, int64_t W, sizes *z) {
  const lv2_enc *e = &v->enc;
  memset(z, 0, sizeof *z);
  z->act = e->conv_in.ci * F * H * W;
  see(v, z, &e->conv_in, F, H, W);
  for (int i = 0; i < e->n_blocks; i++) {
    const lv2_block *b = &e->blocks[i];
    if (b->kind == LV2_RES) {
      for (int j = 0; j < b->n_res; j++)
        see(v, z, &b->res[j].conv1, F, H, W);
    } else {
      int64_t Fd = F + (b->st == 2);
      see(v, z, &b->conv, Fd, H, W);
      if (b->ci * Fd * H * W > z->act) z->act = b->ci * Fd * H * W;
      F = Fd / b->st;
      H /= b->sh;
      W /= b->sw;
      if (b->co * F * H * W > z->act) z->act = b->co * F * H * W;
    }
  }
  see(v, z, &e->conv_out, F, H, W);
}

static void make_plan(const lv2 *v, int64_t F, int64_t H, int64_t W, plan *p) {
  sizes z;
  walk(v, F, H, W, &z);
  memset(p, 0, sizeof *p);
  for (int i = B_X; i <= B_U; i++)
    p->size[i] = (size_t)z.act * sizeof(float);
  p->size[B_WK] = z.ws;
  p->total = lxc_layout(p->size, p->off, B_COUNT);
}

size_t lv2_encode_pack_bytes(const lv2 *v, int64_t F, int64_t H, int64_t W) {
  sizes z;
  int64_t ps = v->enc.patch_size;
  walk(v, F, H / ps, W / ps, &z);
  return z.pack;
}

size_t lv2_encode_workspace(const lv2 *v, int64_t F, int64_t H, int64_t W) {
  plan p;
  int64_t ps = v->enc.patch_size;
  make_plan(v, F, H / ps, W / ps, &p);
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

static int conv(run *r, const lv2_conv *c, int64_t F, const float *x,
                float *y) {
  wk_conv3d p = desc(&r->v->enc, c, F, r->H, r->W);
  wk_w w = lxc_get(&r->v->w, &r->v->tab, c->w);
  wk_w b = lxc_get(&r->v->w, &r->v->tab, c->b);
  return wk_conv3d_fwd(r->v->wk, &p, x, w, b, y);
}

static int pixnorm(run *r, const float *x, int64_t C, float *tmp, float *y) {
  return lxc_pixelnorm(r->v->wk, x, C, r->F * r->H * r->W, 1e-8f, NULL, NULL, 1,
                       tmp, y);
}

/* ResnetBlock3D (no timestep conditioning) on B_X in place. */
static int resnet(run *r, const lv2_res *rs, int64_t C) {
  float *x = BUF(r, B_X), *h = BUF(r, B_H), *t = BUF(r, B_T), *u = BUF(r, B_U);
  CK(pixnorm(r, x, C, t, h));
  CK(conv(r, &rs->conv1, r->F, h, t));
  CK(pixnorm(r, t, C, u, h));
  CK(conv(r, &rs->conv2, r->F, h, t));
  return wk_add(r->v->wk, t, x, C * r->F * r->H * r->W, x);
}

/* SpaceToDepthDownsample on B_X: (temporal: the first frame duplicated in
 * front) skip = space-to-depth + group mean; conv then space-to-depth; sum. */
static int downsample(run *r, const lv2_block *b) {
  wk_ctx *k = r->v->wk;
  float *x = BUF(r, B_X), *h = BUF(r, B_H), *t = BUF(r, B_T), *u = BUF(r, B_U);
  int64_t F = r->F, plane = r->H * r->W, C = b->ci;
  const float *src = x;
  int64_t Fd = F;
  if (b->st == 2) {
    Fd = F + 1;
    for (int64_t c = 0; c < C; c++) {
      CK(wk_copy_d2d(k, h + c * Fd * plane, x + c * F * plane,
                     (size_t)plane * sizeof(float)));
      CK(wk_copy_d2d(k, h + (c * Fd + 1) * plane, x + c * F * plane,
                     (size_t)(F * plane) * sizeof(float)));
    }
    src = h;
  }
  int64_t Fo = Fd / b->st, Ho = r->H / b->sh, Wo = r->W / b->sw;
  CK(wk_space_to_depth3d(k, src, C, Fo, Ho, Wo, b->st, b->sh, b->sw, b->group,
                         u));
  CK(conv(r, &b->conv, Fd, src, t));
  CK(wk_space_to_depth3d(k, t, b->conv.co, Fo, Ho, Wo, b->st, b->sh, b->sw, 1,
                         x));
  r->F = Fo;
  r->H = Ho;
  r->W = Wo;
  return wk_add(k, x, u, b->co * Fo * Ho * Wo, x);
}

static int run_net(run *r, const float *px, int64_t Fi, int64_t Hi, int64_t Wi,
                   float *out) {
  lv2 *v = r->v;
  const lv2_enc *e = &v->enc;
  wk_ctx *k = v->wk;
  int64_t p = e->patch_size, Cin = e->in_channels, h = Hi / p, w = Wi / p;
  /* patchify "c f (h q) (w r) -> (c r q) f h w" on the host. */
  size_t n = (size_t)(Cin * p * p * Fi * h * w);
  float *pt = malloc(n * sizeof *pt);
  if (!pt) return WARM_ENOMEM;
  for (int64_t c = 0; c < Cin; c++)
    for (int64_t rr = 0; rr < p; rr++)
      for (int64_t q = 0; q < p; q++) {
        int64_t ch = (c * p + rr) * p + q;
        for (int64_t f = 0; f < Fi; f++)
          for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++)
              pt[((ch * Fi + f) * h + y) * w + x] =
                  px[((c * Fi + f) * Hi + y * p + q) * Wi + x * p + rr];
      }
  int rc = wk_copy_h2d(k, BUF(r, B_H), pt, n * sizeof(float));
  if (!rc) rc = wk_sync(k);
  free(pt);
  CK(rc);
  CK(conv(r, &e->conv_in, r->F, BUF(r, B_H), BUF(r, B_X)));
  for (int i = 0; i < e->n_blocks; i++) {
    const lv2_block *b = &e->blocks[i];
    if (v->svc->cancelled && v->svc->cancelled(v->svc->ctx))
      return WARM_ECANCELED;
    if (b->kind == LV2_S2D) {
      CK(downsample(r, b));
      continue;
    }
    for (int j = 0; j < b->n_res; j++)
      CK(resnet(r, &b->res[j], b->ci));
  }
  CK(pixnorm(r, BUF(r, B_X), e->final_channels, BUF(r, B_T), BUF(r, B_H)));
  CK(conv(r, &e->conv_out, r->F, BUF(r, B_H), BUF(r, B_T)));
  int64_t L = e->latent_channels, S = r->F * r->H * r->W;
  CK(wk_copy_d2h(k, out, BUF(r, B_T), (size_t)(L * S) * sizeof(float)));
  CK(wk_sync(k));
  for (int64_t c = 0; c < L; c++)
    for (int64_t i = 0; i < S; i++)
      out[c * S + i] = (out[c * S + i] - v->mean[c]) / v->std[c];
  return 0;
}

int lv2_encode(lv2 *v, const float *px, int64_t F, int64_t H, int64_t W,
               float *out, warm_error *err) {
  int64_t p = v->enc.patch_size;
  run r = {v, NULL, {{0}, {0}, 0}, F, H / p, W / p};
  make_plan(v, F, H / p, W / p, &r.p);
  void *ws = NULL;
  int rc =
      v->svc->dev_alloc(v->svc->ctx, WARM_MEM_WORKSPACE, r.p.total, &ws, err);
  if (rc) return rc;
  r.ws = ws;
  wk_set_workspace(v->wk, BUF(&r, B_WK), r.p.size[B_WK]);
  rc = run_net(&r, px, F, H, W, out);
  if (rc == WARM_ECANCELED)
    warm_error_set(err, rc, "%s: cancelled", v->name);
  else if (rc == WARM_ENOMEM)
    warm_error_set(err, rc, "%s: out of host memory", v->name);
  else if (rc)
    rc = warm_error_set(err, WARM_EDEVICE, "%s: encode failed (%d): %s",
                        v->name, rc, wk_last_error(v->wk));
  wk_sync(v->wk);
  wk_set_workspace(v->wk, NULL, 0);
  v->svc->dev_free(v->svc->ctx, ws);
  return rc;
}
