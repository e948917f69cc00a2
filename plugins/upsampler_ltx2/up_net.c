/* ltx-core's LatentUpsampler (upsampler/model.py), dims 3, spatial x2:
 * Conv3d (zero padding in all axes) -> GroupNorm(32) -> SiLU -> ResBlocks
 * -> per-frame Conv2d to 4x channels + pixel shuffle (2.0 files: the
 * SpatialRationalResampler at scale 2, whose blur is the identity) ->
 * ResBlocks -> Conv3d. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "up.h"

#define GN_EPS 1e-5f

static void conv_add(lxc_tab *tb, warm_dtype dt, const char *name, int64_t ci,
                     int64_t co, int64_t kt, up_conv *c) {
  char n[128];
  snprintf(n, sizeof n, "%s.weight", name);
  c->w =
      kt == 3
          ? lxc_tab_add(tb, dt, 1, "", n, 5, co, ci, kt, (int64_t)3, (int64_t)3)
          : lxc_tab_add(tb, dt, 1, "", n, 4, co, ci, (int64_t)3, (int64_t)3);
  snprintf(n, sizeof n, "%s.bias", name);
  c->b = lxc_tab_add(tb, dt, 0, "", n, 1, co);
  c->ci = ci;
  c->co = co;
  c->kt = kt;
}

static void res_add(lxc_tab *tb, warm_dtype dt, const char *name, int64_t C,
                    up_res *r) {
  char n[128];
  snprintf(n, sizeof n, "%s.conv1", name);
  conv_add(tb, dt, n, C, C, 3, &r->conv1);
  snprintf(n, sizeof n, "%s.conv2", name);
  conv_add(tb, dt, n, C, C, 3, &r->conv2);
  snprintf(n, sizeof n, "%s.norm1.weight", name);
  r->n1w = lxc_tab_add(tb, dt, 0, "", n, 1, C);
  snprintf(n, sizeof n, "%s.norm1.bias", name);
  r->n1b = lxc_tab_add(tb, dt, 0, "", n, 1, C);
  snprintf(n, sizeof n, "%s.norm2.weight", name);
  r->n2w = lxc_tab_add(tb, dt, 0, "", n, 1, C);
  snprintf(n, sizeof n, "%s.norm2.bias", name);
  r->n2b = lxc_tab_add(tb, dt, 0, "", n, 1, C);
}

int up_net_build(const warm_ltx2 *f, warm_dtype dt, up_net *n, lxc_tab *tb,
                 warm_error *err) {
  const char *file = warm_ltx2_path(f);
  const warm_config *c;
  int rc = warm_ltx2_config_root(f, &c, err);
  if (rc) return rc;
  memset(n, 0, sizeof *n);
  int64_t dims;
  int sup, tup;
  double scale;
  if ((rc = warm_config_int_or(c, "in_channels", 128, &n->in_channels, err)) ||
      (rc = warm_config_int_or(c, "mid_channels", 512, &n->mid, err)) ||
      (rc = warm_config_int_or(c, "num_blocks_per_stage", 4, &n->n_blocks,
                               err)) ||
      (rc = warm_config_int_or(c, "dims", 3, &dims, err)) ||
      (rc = warm_config_bool_or(c, "spatial_upsample", 1, &sup, err)) ||
      (rc = warm_config_bool_or(c, "temporal_upsample", 0, &tup, err)) ||
      (rc = warm_config_float_or(c, "spatial_scale", 2.0, &scale, err)) ||
      (rc = warm_config_bool_or(c, "rational_resampler", 0, &n->rational, err)))
    return rc;
  if (dims != 3 || !sup || tup || scale != 2.0)
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: config: dims %lld, spatial_upsample %d, "
                          "temporal_upsample %d, spatial_scale %g; this plugin "
                          "serves the x2 spatial upsampler (dims 3, spatial "
                          "only, scale 2)",
                          file, (long long)dims, sup, tup, scale);
  if (n->in_channels < 1 || n->in_channels > 4096 || n->mid < 32 ||
      n->mid > 8192 || n->mid % 32 || n->n_blocks < 0 ||
      n->n_blocks > UP_MAX_BLOCKS)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: config: in_channels %lld, mid_channels %lld "
                          "(a multiple of 32 for GroupNorm(32)), %lld blocks "
                          "per stage",
                          file, (long long)n->in_channels, (long long)n->mid,
                          (long long)n->n_blocks);
  conv_add(tb, dt, "initial_conv", n->in_channels, n->mid, 3, &n->initial);
  n->in_w = lxc_tab_add(tb, dt, 0, "", "initial_norm.weight", 1, n->mid);
  n->in_b = lxc_tab_add(tb, dt, 0, "", "initial_norm.bias", 1, n->mid);
  for (int64_t i = 0; i < n->n_blocks; i++) {
    char name[64];
    snprintf(name, sizeof name, "res_blocks.%lld", (long long)i);
    res_add(tb, dt, name, n->mid, &n->pre[i]);
  }
  conv_add(tb, dt, n->rational ? "upsampler.conv" : "upsampler.0", n->mid,
           4 * n->mid, 1, &n->up);
  for (int64_t i = 0; i < n->n_blocks; i++) {
    char name[64];
    snprintf(name, sizeof name, "post_upsample_res_blocks.%lld", (long long)i);
    res_add(tb, dt, name, n->mid, &n->post[i]);
  }
  conv_add(tb, dt, "final_conv", n->mid, n->in_channels, 3, &n->final);
  return lxc_tab_check(tb, warm_ltx2_st(f), file, err);
}

/* ---- forward ------------------------------------------------------------- */

enum { B_X, B_H, B_T, B_WK, B_COUNT };

typedef struct plan {
  size_t off[B_COUNT], size[B_COUNT], total;
} plan;

static wk_conv3d desc(const up_conv *c, int64_t F, int64_t H, int64_t W) {
  wk_conv3d p;
  memset(&p, 0, sizeof p);
  p.Ci = c->ci;
  p.Co = c->co;
  p.T = F;
  p.H = H;
  p.W = W;
  p.kt = c->kt;
  p.kh = p.kw = 3;
  p.pt_front = p.pt_back = c->kt / 2;
  p.ph = p.pw = 1;
  p.tpad = WK_PAD_ZEROS; /* plain nn.Conv3d */
  p.spad = WK_PAD_ZEROS;
  return p;
}

static void make_plan(const ups *u, int64_t F, int64_t H, int64_t W, plan *p) {
  const up_net *n = &u->net;
  wk_dtype wd = u->dtype == WARM_BF16 ? WK_BF16 : WK_F32;
  int64_t act = 4 * n->mid * F * H * W;
  size_t ws = 0;
  const up_conv *cs[4] = {&n->initial, &n->pre[0].conv1, &n->up, &n->final};
  int64_t scale[4] = {1, 1, 1, 2};
  for (int i = 0; i < 4; i++) {
    if (i == 1 && n->n_blocks == 0) continue;
    wk_conv3d q = desc(cs[i], F, H * scale[i], W * scale[i]);
    size_t s = wk_conv3d_workspace(u->wk, &q, wd);
    if (s > ws) ws = s;
    if (i == 1) { /* the post blocks at the upsampled size */
      q = desc(cs[i], F, 2 * H, 2 * W);
      s = wk_conv3d_workspace(u->wk, &q, wd);
      if (s > ws) ws = s;
    }
  }
  memset(p, 0, sizeof *p);
  p->size[B_X] = p->size[B_H] = p->size[B_T] = (size_t)act * sizeof(float);
  p->size[B_WK] = ws;
  p->total = lxc_layout(p->size, p->off, B_COUNT);
}

size_t up_workspace(const ups *u, int64_t F, int64_t H, int64_t W) {
  plan p;
  make_plan(u, F, H, W, &p);
  return p.total;
}

typedef struct run {
  ups *u;
  char *ws;
  plan p;
  int64_t F, H, W;
} run;

#define BUF(r, i) ((float *)((r)->ws + (r)->p.off[i]))
#define CK(call) LXC_CK(call)

static wk_w W_(run *r, int i) {
  return lxc_get(&r->u->w, &r->u->tab, i);
}

static int conv(run *r, const up_conv *c, const float *x, float *y) {
  wk_conv3d p = desc(c, r->F, r->H, r->W);
  wk_w w = W_(r, c->w), b = W_(r, c->b);
  return wk_conv3d_fwd(r->u->wk, &p, x, w, b, y);
}

static int gnorm(run *r, const float *x, int wi, int bi, float *y) {
  int64_t C = r->u->net.mid;
  wk_w w = W_(r, wi), b = W_(r, bi);
  return wk_group_norm(r->u->wk, x, C, r->F * r->H * r->W, 32, w, b, GN_EPS, y);
}

/* ResBlock on B_X in place: conv1 GN SiLU conv2 GN, SiLU(x + residual). */
static int resblock(run *r, const up_res *b) {
  wk_ctx *k = r->u->wk;
  float *x = BUF(r, B_X), *h = BUF(r, B_H), *t = BUF(r, B_T);
  int64_t n = r->u->net.mid * r->F * r->H * r->W;
  CK(conv(r, &b->conv1, x, h));
  CK(gnorm(r, h, b->n1w, b->n1b, h));
  CK(wk_silu(k, h, n, h));
  CK(conv(r, &b->conv2, h, t));
  CK(gnorm(r, t, b->n2w, b->n2b, t));
  CK(wk_add(k, t, x, n, x));
  return wk_silu(k, x, n, x);
}

static int run_net(run *r, const float *x, float *y) {
  ups *u = r->u;
  const up_net *n = &u->net;
  wk_ctx *k = u->wk;
  size_t nin = (size_t)(n->in_channels * r->F * r->H * r->W);
  CK(wk_copy_h2d(k, BUF(r, B_H), x, nin * sizeof(float)));
  CK(wk_sync(k));
  CK(conv(r, &n->initial, BUF(r, B_H), BUF(r, B_X)));
  CK(gnorm(r, BUF(r, B_X), n->in_w, n->in_b, BUF(r, B_X)));
  CK(wk_silu(k, BUF(r, B_X), n->mid * r->F * r->H * r->W, BUF(r, B_X)));
  for (int64_t i = 0; i < n->n_blocks; i++) {
    if (u->svc->cancelled && u->svc->cancelled(u->svc->ctx))
      return WARM_ECANCELED;
    CK(resblock(r, &n->pre[i]));
  }
  /* Per-frame conv to 4x channels, pixel shuffle (c p1 p2) h w ->
   * c (h p1) (w p2): depth-to-space with factors (1, 2, 2). */
  CK(conv(r, &n->up, BUF(r, B_X), BUF(r, B_H)));
  CK(wk_depth_to_space3d(k, BUF(r, B_H), n->mid, r->F, r->H, r->W, 1, 2, 2,
                         BUF(r, B_X)));
  r->H *= 2;
  r->W *= 2;
  for (int64_t i = 0; i < n->n_blocks; i++) {
    if (u->svc->cancelled && u->svc->cancelled(u->svc->ctx))
      return WARM_ECANCELED;
    CK(resblock(r, &n->post[i]));
  }
  CK(conv(r, &n->final, BUF(r, B_X), BUF(r, B_H)));
  size_t nout = (size_t)(n->in_channels * r->F * r->H * r->W);
  CK(wk_copy_d2h(k, y, BUF(r, B_H), nout * sizeof(float)));
  return wk_sync(k);
}

int up_forward(ups *u, const float *x, int64_t F, int64_t H, int64_t W,
               float *y, warm_error *err) {
  run r = {u, NULL, {{0}, {0}, 0}, F, H, W};
  make_plan(u, F, H, W, &r.p);
  void *ws = NULL;
  int rc =
      u->svc->dev_alloc(u->svc->ctx, WARM_MEM_WORKSPACE, r.p.total, &ws, err);
  if (rc) return rc;
  r.ws = ws;
  wk_set_workspace(u->wk, BUF(&r, B_WK), r.p.size[B_WK]);
  rc = run_net(&r, x, y);
  if (rc == WARM_ECANCELED)
    warm_error_set(err, rc, "%s: cancelled", u->name);
  else if (rc)
    rc = warm_error_set(err, WARM_EDEVICE, "%s: upsampling failed (%d): %s",
                        u->name, rc, wk_last_error(u->wk));
  wk_sync(u->wk);
  wk_set_workspace(u->wk, NULL, 0);
  u->svc->dev_free(u->svc->ctx, ws);
  return rc;
}
