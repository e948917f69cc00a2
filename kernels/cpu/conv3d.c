/*
 * conv3d.c — 3-D convolution (stride 1) as im2col + sgemm, and depth to
 * space. For each output frame the input patches of a chunk of output
 * positions are unrolled into the workspace ([Ci*kt*kh*kw, chunk]) and one
 * GEMM with the [Co, Ci*kt*kh*kw] weight writes that chunk of every output
 * channel, cut into column tiles spread over the pool (each GEMM
 * single-threaded). Padding follows the descriptor's modes (wk_pad.h maps a
 * padded coordinate to its source). Chunk and tile sizes depend only on the
 * shape (deterministic whatever the thread count). Where oneDNN serves the
 * shape with its direct convolution (conv3d_dnnl.c) that runs instead; this
 * path is the fallback.
 */
#include <limits.h>
#include <string.h>

#include "conv3d_dnnl.h"
#include "cpu.h"
#include "dnnl.h"
#include "wk_pad.h"

/* f32 elements of unrolled patches per chunk (16 MiB). */
#define WKCPU_COL_ELEMS ((int64_t)4 << 20)

typedef struct conv_geom {
  int64_t To, Ho, Wo, P, Kc, np;
} conv_geom;

static conv_geom geom(const wk_conv3d *p) {
  conv_geom g;
  g.To = wk_conv3d_out_t(p);
  g.Ho = wk_conv3d_out_h(p);
  g.Wo = wk_conv3d_out_w(p);
  g.P = g.Ho * g.Wo;
  g.Kc = p->Ci * p->kt * p->kh * p->kw;
  g.np = WKCPU_COL_ELEMS / g.Kc;
  if (g.np < 1) g.np = 1;
  if (g.np > g.P) g.np = g.P;
  return g;
}

size_t wkcpu_conv3d_workspace(wk_ctx *c, const wk_conv3d *p, wk_dtype wdt) {
  conv_geom g = geom(p);
  size_t wbytes = wdt == WK_F32 ? 0 : wkcpu__align((size_t)(p->Co * g.Kc) * 4);
  size_t col = wkcpu__align((size_t)(g.Kc * g.np) * 4);
  size_t dn = wkcpu__conv3d_dnnl_workspace(c, p);
  return wbytes + (dn > col ? dn : col) + WKCPU_WS_SLACK;
}

typedef struct im2col_job {
  const wk_conv3d *p;
  conv_geom g;
  const float *x;
  float *col;
  int64_t t, p0, p1;
} im2col_job;

static void im2col_rows(void *v, int64_t k0, int64_t k1, int tid) {
  const im2col_job *J = v;
  const wk_conv3d *p = J->p;
  int64_t khw = p->kh * p->kw, n = J->p1 - J->p0;
  int tm = wk__tmode(p), sm = wk__smode(p);
  for (int64_t kr = k0; kr < k1; kr++) {
    int64_t ci = kr / (p->kt * khw), rem = kr % (p->kt * khw);
    int64_t dt = rem / khw, dh = (rem % khw) / p->kw, dw = rem % p->kw;
    int64_t ti = wk__pad_src(J->t + dt - p->pt_front, p->T, tm);
    float *dst = J->col + kr * n;
    if (ti < 0) {
      memset(dst, 0, (size_t)n * 4);
      continue;
    }
    const float *frame = J->x + (ci * p->T + ti) * p->H * p->W;
    for (int64_t q = J->p0; q < J->p1;) {
      int64_t oh = q / J->g.Wo, ow = q % J->g.Wo;
      int64_t run = J->g.Wo - ow < J->p1 - q ? J->g.Wo - ow : J->p1 - q;
      int64_t ih = wk__pad_src(oh + dh - p->ph, p->H, sm);
      float *d = dst + (q - J->p0);
      if (ih < 0) {
        memset(d, 0, (size_t)run * 4);
      } else {
        const float *row = frame + ih * p->W;
        for (int64_t i = 0; i < run; i++) {
          int64_t iw = ow + i + dw - p->pw;
          if (iw >= 0 && iw < p->W) {
            d[i] = row[iw];
          } else {
            int64_t s2 = wk__pad_src(iw, p->W, sm);
            d[i] = s2 < 0 ? 0.0f : row[s2];
          }
        }
      }
      q += run;
    }
  }
}

/* Output positions per GEMM tile: the chunk's GEMM is cut into column
 * blocks of this width (a shape-only split) spread over the pool. */
#define CONV_NB 256

typedef struct conv_gemm_job {
  const wk_conv3d *p;
  const float *w, *col;
  float *y;
  int64_t n, Kc, ystride;
} conv_gemm_job;

static void conv_gemm(void *v, int64_t b0, int64_t b1, int tid) {
  const conv_gemm_job *J = v;
  for (int64_t b = b0; b < b1; b++) {
    int64_t q0 = b * CONV_NB, nq = J->n - q0 < CONV_NB ? J->n - q0 : CONV_NB;
    wkcpu__sgemm(0, 0, J->p->Co, nq, J->Kc, 1.0f, J->w, J->Kc, J->col + q0,
                 J->n, 1.0f, J->y + q0, J->ystride);
  }
}

int wkcpu_conv3d_fwd(wk_ctx *c, const wk_conv3d *p, const float *x, wk_w weight,
                     wk_w bias, float *y) {
  conv_geom g = geom(p);
  int64_t ystride = g.To * g.P; /* between output channels */
  if (g.Kc > INT_MAX || p->Co > INT_MAX || ystride > INT_MAX)
    return wk__fail(c, WK_EUNSUPPORTED,
                    "wk_conv3d_fwd: a GEMM dimension exceeds the BLAS range");
  char *ws = wkcpu__ws(c);
  size_t wdec =
      weight.dtype == WK_F32 ? 0 : wkcpu__align((size_t)(p->Co * g.Kc) * 4);
  if (wkcpu__conv3d_dnnl(c, p, x, weight, (float *)ws, bias, y, ws + wdec) == 0)
    return 0;
  const float *wf = weight.data;
  if (weight.dtype != WK_F32) {
    wkcpu__decode_rows(c, (float *)ws, weight, g.Kc, 0, p->Co);
    wf = (const float *)ws;
  }
  ws += wdec;
  float *col = (float *)ws;
  /* y starts as the bias (or zeros); the GEMMs accumulate onto it. */
  for (int64_t co = 0; co < p->Co; co++) {
    float bv = 0.0f;
    if (bias.data) wkcpu__decode(&bv, bias, co, 1);
    float *yc = y + co * ystride;
    for (int64_t i = 0; i < ystride; i++)
      yc[i] = bv;
  }
  for (int64_t t = 0; t < g.To; t++) {
    for (int64_t p0 = 0; p0 < g.P; p0 += g.np) {
      int64_t p1 = p0 + g.np < g.P ? p0 + g.np : g.P;
      im2col_job J = {p, g, x, col, t, p0, p1};
      int64_t grain = ((int64_t)1 << 14) / (p1 - p0) + 1;
      wkcpu__parallel(c, g.Kc, grain, im2col_rows, &J);
      conv_gemm_job G = {p, wf, col, y + t * g.P + p0, p1 - p0, g.Kc, ystride};
      wkcpu__parallel(c, (p1 - p0 + CONV_NB - 1) / CONV_NB, 1, conv_gemm, &G);
    }
  }
  return 0;
}

typedef struct d2s_job {
  const float *x;
  float *y;
  int64_t C, T, H, W;
  int pt, ph, pw;
} d2s_job;

/* One task per output plane (c, t_out): y[c, t*pt+it, h*ph+ih, w*pw+iw] =
 * x[c*pt*ph*pw + it*ph*pw + ih*pw + iw, t, h, w]. */
static void d2s_planes(void *v, int64_t k0, int64_t k1, int tid) {
  const d2s_job *J = v;
  int64_t To = J->T * J->pt, Ho = J->H * J->ph, Wo = J->W * J->pw;
  for (int64_t k = k0; k < k1; k++) {
    int64_t c = k / To, to = k % To, t = to / J->pt, it = to % J->pt;
    float *dst = J->y + k * Ho * Wo;
    for (int64_t ho = 0; ho < Ho; ho++) {
      int64_t h = ho / J->ph, ih = ho % J->ph;
      for (int iw = 0; iw < J->pw; iw++) {
        int64_t ci = ((c * J->pt + it) * J->ph + ih) * J->pw + iw;
        const float *src = J->x + ((ci * J->T + t) * J->H + h) * J->W;
        float *d = dst + ho * Wo + iw;
        for (int64_t w = 0; w < J->W; w++)
          d[w * J->pw] = src[w];
      }
    }
  }
}

int wkcpu_depth_to_space3d(wk_ctx *c, const float *x, int64_t C, int64_t T,
                           int64_t H, int64_t W, int pt, int ph, int pw,
                           float *y) {
  d2s_job J = {x, y, C, T, H, W, pt, ph, pw};
  int64_t planes = C * T * pt;
  int64_t per = H * ph * W * pw;
  int64_t grain = ((int64_t)1 << 15) / (per > 0 ? per : 1) + 1;
  wkcpu__parallel(c, planes, grain, d2s_planes, &J);
  return 0;
}
