/*
 * conv3d_dnnl.c — 3-D convolution (stride 1) through oneDNN's direct f32
 * convolution, in its channel-blocked layout (nCdhw16c).
 *
 * The output is cut into tasks of one output frame and a band of at most
 * BAND_POS output positions' rows, with at least MIN_TASKS tasks where the
 * rows allow, so that a small image (the audio VAE's spectrogram is one
 * frame) still spreads over the pool. The split depends on the shape only,
 * so every output element always comes from the same primitive shape
 * whatever the thread count.
 * Each task writes its padded input window (kt frames, the band's rows plus
 * the kernel halo, every padding mode resolved here through wk_pad.h) into
 * the thread's slice of the workspace in the blocked layout, runs a
 * zero-padding convolution on the calling thread into a blocked output
 * band, and unblocks that into y adding the bias. The weights are reordered
 * into the primitive's layout once per call, or once per context when the
 * caller gave it a pack arena (wk_set_pack_arena). Primitives are cached per
 * shape; a shape oneDNN serves only with its reference code, or a process
 * where the cpu backend does not use oneDNN (no AVX512-BF16, or
 * WK_CPU_NO_DNNL set), keeps the im2col path (conv3d.c).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "conv3d_dnnl.h"
#include "dnnl.h"
#include "wk_pad.h"

/* Output positions per task band (rows of Wo rounded up), and the tasks a
 * call is cut into at least, rows allowing. */
#define BAND_POS 8192
#define MIN_TASKS 8
#define CONV_CACHE_MAX 256
#define BLK 16

typedef struct conv_key {
  int64_t Ci, Co, kt, kh, kw, hb, Wo;
} conv_key;

typedef struct conv_prim {
  conv_key k;
  dnnl_primitive_t prim;
  dnnl_memory_desc_t src, wei, dst;
  size_t scratch;
} conv_prim;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static conv_prim cache[CONV_CACHE_MAX];
static int n_cache;

static int64_t band_rows(int64_t To, int64_t Ho, int64_t Wo) {
  int64_t hb = (BAND_POS + Wo - 1) / Wo;
  int64_t per_frame = (MIN_TASKS + To - 1) / To; /* bands each frame needs */
  int64_t cap = (Ho + per_frame - 1) / per_frame;
  if (hb > cap) hb = cap;
  return hb < Ho ? hb : Ho;
}

static int64_t rup(int64_t v) {
  return (v + BLK - 1) / BLK * BLK;
}

/* Creates the primitive for one band shape; 0, or -1 when oneDNN refuses
 * it or would run it with reference code. */
static int create(dnnl_engine_t eng, conv_prim *e) {
  const conv_key *k = &e->k;
  dnnl_dims_t sd = {1, k->Ci, k->kt, k->hb + k->kh - 1, k->Wo + k->kw - 1};
  dnnl_dims_t wd = {k->Co, k->Ci, k->kt, k->kh, k->kw};
  dnnl_dims_t dd = {1, k->Co, 1, k->hb, k->Wo};
  dnnl_dims_t one = {1, 1, 1}, zero = {0, 0, 0};
  dnnl_memory_desc_t src, wei, dst;
  if (dnnl_memory_desc_init_by_tag(&src, 5, sd, dnnl_f32, dnnl_nCdhw16c) ||
      dnnl_memory_desc_init_by_tag(&wei, 5, wd, dnnl_f32,
                                   dnnl_format_tag_any) ||
      dnnl_memory_desc_init_by_tag(&dst, 5, dd, dnnl_f32, dnnl_nCdhw16c))
    return -1;
  dnnl_convolution_desc_t cd;
  if (dnnl_convolution_forward_desc_init(
          &cd, dnnl_forward_inference, dnnl_convolution_direct, &src, &wei,
          NULL, &dst, one, zero, zero) != dnnl_success)
    return -1;
  dnnl_primitive_attr_t attr;
  if (dnnl_primitive_attr_create(&attr) != dnnl_success) return -1;
  int rc = -1;
  dnnl_primitive_desc_t pd = NULL;
  if (dnnl_primitive_attr_set_scratchpad_mode(
          attr, dnnl_scratchpad_mode_user) == dnnl_success &&
      dnnl_primitive_desc_create(&pd, &cd, attr, eng, NULL) == dnnl_success) {
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    const dnnl_memory_desc_t *sm =
        dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    const dnnl_memory_desc_t *wm =
        dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    if (impl && !strstr(impl, "ref") && wm &&
        dnnl_primitive_create(&e->prim, pd) == dnnl_success) {
      e->src = src;
      e->wei = *wm;
      e->dst = dst;
      e->scratch = sm ? dnnl_memory_desc_get_size(sm) : 0;
      rc = 0;
    }
    dnnl_primitive_desc_destroy(pd);
  }
  dnnl_primitive_attr_destroy(attr);
  return rc;
}

/* The cached primitive of a band shape (created on first use), or NULL.
 * Entries are never removed while a context lives, so the pointer stays
 * valid; a full cache refuses new shapes (the caller falls back), as
 * does a shape oneDNN refused before. */
static const conv_prim *get(const conv_key *k) {
  dnnl_engine_t eng = wkcpu__dnnl_engine();
  if (!eng) return NULL;
  pthread_mutex_lock(&mu);
  const conv_prim *r = NULL;
  for (int i = 0; i < n_cache && !r; i++)
    if (!memcmp(&cache[i].k, k, sizeof *k)) r = &cache[i];
  if (!r && n_cache < CONV_CACHE_MAX) {
    conv_prim *e = &cache[n_cache++];
    memset(e, 0, sizeof *e);
    e->k = *k;
    if (create(eng, e)) e->prim = NULL; /* remembered: not served */
    r = e;
  }
  pthread_mutex_unlock(&mu);
  return r && r->prim ? r : NULL;
}

typedef struct plan {
  int64_t To, Ho, Wo, hb, nb;   /* nb: bands per frame */
  const conv_prim *full, *last; /* band shapes: hb rows, Ho % hb rows */
  size_t wbytes, slot;          /* blocked weights; one thread's slice */
} plan;

static size_t slot_bytes(const conv_prim *e) {
  return wkcpu__align(dnnl_memory_desc_get_size(&e->src)) +
         wkcpu__align(dnnl_memory_desc_get_size(&e->dst)) +
         wkcpu__align(e->scratch);
}

static int make_plan(const wk_conv3d *p, plan *pl) {
  memset(pl, 0, sizeof *pl);
  if (!wkcpu__dnnl_engine()) return -1;
  pl->To = wk_conv3d_out_t(p);
  pl->Ho = wk_conv3d_out_h(p);
  pl->Wo = wk_conv3d_out_w(p);
  pl->hb = band_rows(pl->To, pl->Ho, pl->Wo);
  pl->nb = (pl->Ho + pl->hb - 1) / pl->hb;
  conv_key k = {p->Ci, p->Co, p->kt, p->kh, p->kw, pl->hb, pl->Wo};
  pl->full = get(&k);
  if (!pl->full) return -1;
  pl->last = pl->full;
  if (pl->Ho % pl->hb) {
    k.hb = pl->Ho % pl->hb;
    pl->last = get(&k);
    /* The weights are reordered once for both band shapes. */
    if (!pl->last || !dnnl_memory_desc_equal(&pl->full->wei, &pl->last->wei))
      return -1;
  }
  size_t a = slot_bytes(pl->full), b = slot_bytes(pl->last);
  pl->slot = a > b ? a : b;
  pl->wbytes = wkcpu__align(dnnl_memory_desc_get_size(&pl->full->wei));
  return 0;
}

size_t wkcpu__conv3d_packed_bytes(const wk_conv3d *p) {
  plan pl;
  return make_plan(p, &pl) ? 0 : pl.wbytes;
}

/* ---- the pack arena ------------------------------------------------------
 * A context's table of the weights reordered into its arena: the weight
 * pointer, dtype and conv (channels, kernel) with the blocked layout they
 * were reordered into, and where. Only the thread running the context's
 * ops reads or changes it. */

typedef struct pack_entry {
  const void *w;
  wk_dtype dt;
  int64_t Ci, Co, kt, kh, kw;
  dnnl_memory_desc_t md;
  size_t off;
} pack_entry;

typedef struct packs {
  pack_entry *e;
  int n, cap;
} packs;

void wkcpu__packs_free(wk_ctx *c) {
  packs *t = c->packs;
  if (t) free(t->e);
  free(t);
  c->packs = NULL;
}

static int same_conv(const pack_entry *e, const wk_conv3d *p) {
  return e->Ci == p->Ci && e->Co == p->Co && e->kt == p->kt && e->kh == p->kh &&
         e->kw == p->kw;
}

/* The packed copy of `w` for p in the layout md, or NULL. */
static const char *pack_find(const wk_ctx *c, wk_w w, const wk_conv3d *p,
                             const dnnl_memory_desc_t *md) {
  const packs *t = c->packs;
  for (int i = 0; t && i < t->n; i++) {
    const pack_entry *e = &t->e[i];
    if (e->w == w.data && e->dt == w.dtype && same_conv(e, p) &&
        dnnl_memory_desc_equal(&e->md, md))
      return c->pack + e->off;
  }
  return NULL;
}

/* Room for `bytes` more in the arena, or NULL. */
static char *pack_room(const wk_ctx *c, size_t bytes) {
  if (!c->pack || !bytes || c->pack_bytes - c->pack_used < bytes) return NULL;
  return c->pack + c->pack_used;
}

/* Records the copy just written at pack_room's slot. */
static void pack_add(wk_ctx *c, wk_w w, const wk_conv3d *p,
                     const dnnl_memory_desc_t *md, size_t bytes) {
  packs *t = c->packs;
  if (!t && !(t = c->packs = calloc(1, sizeof *t))) return;
  if (t->n == t->cap) {
    int cap = t->cap ? 2 * t->cap : 32;
    pack_entry *e = realloc(t->e, (size_t)cap * sizeof *e);
    if (!e) return; /* not recorded: the next call reorders again */
    t->e = e;
    t->cap = cap;
  }
  t->e[t->n++] = (pack_entry){w.data, w.dtype, p->Ci, p->Co,       p->kt,
                              p->kh,  p->kw,   *md,   c->pack_used};
  c->pack_used += bytes;
}

size_t wkcpu__conv3d_dnnl_workspace(wk_ctx *c, const wk_conv3d *p) {
  plan pl;
  if (make_plan(p, &pl)) return 0;
  return pl.wbytes + wkcpu__align((size_t)p->Co * 4) +
         pl.slot * (size_t)wkcpu__threads(c);
}

typedef struct conv_job {
  const wk_conv3d *p;
  const plan *pl;
  const float *x, *bias;
  const void *wei;
  char *slots;
  float *y;
  int fail;
} conv_job;

/* Writes the padded input window of output frame t, rows [h0, h0 + hb)
 * into s, blocked as [Ci/16][kt][hb+kh-1][Wo+kw-1][16]. Inside the input's
 * width, groups of 8 whole channels move 8 columns at a time through
 * wkcpu__transpose8 (this path runs only on AVX-512 cpus); the padding
 * columns, the column tail and partial channel groups go one by one. */
static void pack_src(const conv_job *J, int64_t t, int64_t h0, int64_t hb,
                     float *s) {
  const wk_conv3d *p = J->p;
  int64_t Hs = hb + p->kh - 1, Ws = J->pl->Wo + p->kw - 1;
  int64_t cstride = p->T * p->H * p->W, W8 = p->W / 8 * 8;
  int tm = wk__tmode(p), sm = wk__smode(p);
  for (int64_t cb = 0; cb < rup(p->Ci) / BLK; cb++)
    for (int64_t dt = 0; dt < p->kt; dt++) {
      int64_t ti = wk__pad_src(t + dt - p->pt_front, p->T, tm);
      for (int64_t hh = 0; hh < Hs; hh++) {
        float *d = s + ((cb * p->kt + dt) * Hs + hh) * Ws * BLK;
        int64_t ih = ti < 0 ? -1 : wk__pad_src(h0 + hh - p->ph, p->H, sm);
        if (ih < 0) {
          memset(d, 0, (size_t)(Ws * BLK) * 4);
          continue;
        }
        const float *x0 = J->x + (ti * p->H + ih) * p->W;
        for (int c8 = 0; c8 < BLK; c8 += 8) {
          int64_t ci0 = cb * BLK + c8;
          if (ci0 + 8 > p->Ci) continue;
          for (int64_t iw = 0; iw < W8; iw += 8)
            wkcpu__transpose8(x0 + ci0 * cstride + iw, cstride,
                              d + (iw + p->pw) * BLK + c8, BLK);
        }
        for (int c16 = 0; c16 < BLK; c16++) {
          int64_t ci = cb * BLK + c16;
          int vec = (ci - c16 % 8) + 8 <= p->Ci; /* its group went above */
          if (ci >= p->Ci) {
            for (int64_t w = 0; w < Ws; w++)
              d[w * BLK + c16] = 0.0f;
            continue;
          }
          const float *row = x0 + ci * cstride;
          for (int64_t w = 0; w < Ws; w++) {
            int64_t iw = w - p->pw;
            if (vec && iw >= 0 && iw < W8) continue;
            if (iw < 0 || iw >= p->W) iw = wk__pad_src(iw, p->W, sm);
            d[w * BLK + c16] = iw < 0 ? 0.0f : row[iw];
          }
        }
      }
    }
}

/* y[co, t, h0 .. h0 + hb) = the blocked output band + bias[co]: groups of
 * 8 whole channels through wkcpu__transpose8, then the bias in a pass of
 * its own (the same single addition per element); the rest one by one. */
static void unpack_dst(const conv_job *J, int64_t t, int64_t h0, int64_t hb,
                       const float *dst) {
  const wk_conv3d *p = J->p;
  const plan *pl = J->pl;
  int64_t n = hb * pl->Wo, n8 = n / 8 * 8, plane = pl->To * pl->Ho * pl->Wo;
  float *y0 = J->y + t * pl->Ho * pl->Wo + h0 * pl->Wo;
  for (int64_t co = 0; co < p->Co; co++) {
    const float *b = dst + (co / BLK) * n * BLK + co % BLK;
    float bv = J->bias[co];
    float *yr = y0 + co * plane;
    int64_t i = 0;
    if (co % 8 == 0 && co + 8 <= p->Co) {
      for (; i < n8; i += 8)
        wkcpu__transpose8(b + i * BLK, BLK, yr + i, plane);
      for (int64_t c = co; c < co + 8; c++) {
        float *yc = y0 + c * plane, bc = J->bias[c];
        for (int64_t k = 0; k < n8; k++)
          yc[k] += bc;
      }
    } else if (co % 8 != 0 && (co - co % 8) + 8 <= p->Co) {
      i = n8; /* its group's transposes wrote [0, n8) */
    }
    for (; i < n; i++)
      yr[i] = b[i * BLK] + bv;
  }
}

static int run_band(const conv_job *J, const conv_prim *e, float *src,
                    float *dst, void *scratch) {
  return wkcpu__dnnl_run(e->prim, &e->src, src, &e->wei, J->wei, &e->dst, dst,
                         scratch, e->scratch);
}

static void conv_tasks(void *v, int64_t k0, int64_t k1, int tid) {
  conv_job *J = v;
  const plan *pl = J->pl;
  char *slot = J->slots + (size_t)tid * pl->slot;
  for (int64_t k = k0; k < k1; k++) {
    int64_t t = k / pl->nb, band = k % pl->nb, h0 = band * pl->hb;
    int64_t hb = pl->Ho - h0 < pl->hb ? pl->Ho - h0 : pl->hb;
    const conv_prim *e = hb == pl->hb ? pl->full : pl->last;
    float *src = (float *)slot;
    float *dst =
        (float *)(slot + wkcpu__align(dnnl_memory_desc_get_size(&e->src)));
    void *scratch =
        (char *)dst + wkcpu__align(dnnl_memory_desc_get_size(&e->dst));
    pack_src(J, t, h0, hb, src);
    if (run_band(J, e, src, dst, scratch)) {
      __atomic_store_n(&J->fail, 1, __ATOMIC_RELAXED);
      return;
    }
    unpack_dst(J, t, h0, hb, dst);
  }
}

/* Reorders the [Co, Ci, kt, kh, kw] f32 weights into the primitive's
 * layout at dst (on the calling thread). */
static int reorder_weights(const wk_conv3d *p, const conv_prim *e,
                           const float *wf, void *dst) {
  dnnl_engine_t eng = wkcpu__dnnl_engine();
  dnnl_stream_t s = wkcpu__dnnl_stream();
  if (!eng || !s) return -1;
  dnnl_dims_t wd = {p->Co, p->Ci, p->kt, p->kh, p->kw};
  dnnl_memory_desc_t user;
  if (dnnl_memory_desc_init_by_tag(&user, 5, wd, dnnl_f32, dnnl_oidhw))
    return -1;
  dnnl_primitive_desc_t pd;
  if (dnnl_reorder_primitive_desc_create(&pd, &user, eng, &e->wei, eng, NULL) !=
      dnnl_success)
    return -1;
  dnnl_primitive_t r = NULL;
  dnnl_memory_t mu_ = NULL, mw = NULL;
  int rc = -1;
  if (dnnl_primitive_create(&r, pd) == dnnl_success &&
      dnnl_memory_create(&mu_, &user, eng, (void *)wf) == dnnl_success &&
      dnnl_memory_create(&mw, &e->wei, eng, dst) == dnnl_success) {
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, mu_}, {DNNL_ARG_TO, mw}};
    if (dnnl_primitive_execute(r, s, 2, args) == dnnl_success &&
        dnnl_stream_wait(s) == dnnl_success)
      rc = 0;
  }
  dnnl_memory_destroy(mu_);
  dnnl_memory_destroy(mw);
  if (r) dnnl_primitive_destroy(r);
  dnnl_primitive_desc_destroy(pd);
  return rc;
}

int wkcpu__conv3d_dnnl(wk_ctx *c, const wk_conv3d *p, const float *x,
                       wk_w weight, float *dec, wk_w bias, float *y, char *ws) {
  plan pl;
  if (make_plan(p, &pl)) return -1;
  float *bv = (float *)(ws + pl.wbytes);
  char *slots = (char *)bv + wkcpu__align((size_t)p->Co * 4);
  const void *wei = pack_find(c, weight, p, &pl.full->wei);
  if (!wei) {
    const float *wf = weight.data;
    if (weight.dtype != WK_F32) {
      wkcpu__decode_rows(c, dec, weight, p->Ci * p->kt * p->kh * p->kw, 0,
                         p->Co);
      wf = dec;
    }
    char *slot = pack_room(c, pl.wbytes);
    if (reorder_weights(p, pl.full, wf, slot ? slot : ws)) return -1;
    if (slot) pack_add(c, weight, p, &pl.full->wei, pl.wbytes);
    wei = slot ? slot : ws;
  }
  for (int64_t co = 0; co < p->Co; co++) {
    bv[co] = 0.0f;
    if (bias.data) wkcpu__decode(&bv[co], bias, co, 1);
  }
  conv_job J = {p, &pl, x, bv, wei, slots, y, 0};
  wkcpu__parallel(c, pl.To * pl.nb, 1, conv_tasks, &J);
  return J.fail ? -1 : 0;
}

void wkcpu__conv_dnnl_release(void) {
  pthread_mutex_lock(&mu);
  for (int i = 0; i < n_cache; i++)
    dnnl_primitive_destroy(cache[i].prim);
  n_cache = 0;
  pthread_mutex_unlock(&mu);
}
