/*
 * conv3d.cu — direct 3-D convolution, stride 1: x [Ci, T, H, W] -> y [Co,
 * T', H', W'], padded per the descriptor's modes (wk_pad.h, shared with the
 * cpu backend). f32 accumulate; the weight
 * is decoded at use from its stored dtype, so no workspace is needed.
 *
 * Each thread computes WKCU_COB output channels at one output position, so
 * an input value is loaded once per tap for all of them; the threads of a
 * block share their channel group, so weight loads are warp-uniform
 * (broadcast from cache). Simple and exact in its summation order
 * (ci, then kt, kh, kw) rather than fast.
 */
#include "wkcu_internal.cuh"
#include "wk_pad.h"

#define WKCU_COB 8

__global__ void wkcu_conv3d_k(wk_conv3d p, const float *__restrict__ x,
                              const void *w, int wdt, float wscale,
                              const void *bias, int bdt, float bscale,
                              float *__restrict__ y) {
  const int64_t To = p.T + p.pt_front + p.pt_back - p.kt + 1;
  const int64_t Ho = p.H + p.ph + wk__ph_back(&p) - p.kh + 1;
  const int64_t Wo = p.W + p.pw + wk__pw_back(&p) - p.kw + 1;
  const int tm = wk__tmode(&p), sm = wk__smode(&p);
  const int64_t P = To * Ho * Wo, HW = p.H * p.W;
  const int64_t co0 = (int64_t)blockIdx.y * WKCU_COB;
  const int64_t taps = p.kt * p.kh * p.kw;
  for (int64_t pos = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; pos < P;
       pos += (int64_t)gridDim.x * blockDim.x) {
    int64_t wo = pos % Wo, q = pos / Wo;
    int64_t ho = q % Ho, to = q / Ho;
    float acc[WKCU_COB];
#pragma unroll
    for (int j = 0; j < WKCU_COB; j++)
      acc[j] = 0.0f;
    for (int64_t ci = 0; ci < p.Ci; ci++) {
      const float *xc = x + ci * p.T * HW;
      for (int64_t a = 0; a < p.kt; a++) {
        int64_t t = wk__pad_src(to + a - p.pt_front, p.T, tm);
        if (t < 0) continue;
        for (int64_t bb = 0; bb < p.kh; bb++) {
          int64_t hh = wk__pad_src(ho + bb - p.ph, p.H, sm);
          if (hh < 0) continue;
          for (int64_t cc = 0; cc < p.kw; cc++) {
            int64_t ww = wk__pad_src(wo + cc - p.pw, p.W, sm);
            if (ww < 0) continue;
            float xv = xc[t * HW + hh * p.W + ww];
            int64_t wi = (co0 * p.Ci + ci) * taps + (a * p.kh + bb) * p.kw + cc;
#pragma unroll
            for (int j = 0; j < WKCU_COB; j++)
              if (co0 + j < p.Co)
                acc[j] += xv * wkcu_w_at(w, (wk_dtype)wdt, wscale,
                                         wi + j * p.Ci * taps);
          }
        }
      }
    }
#pragma unroll
    for (int j = 0; j < WKCU_COB; j++) {
      int64_t co = co0 + j;
      if (co >= p.Co) break;
      float r = acc[j];
      if (bias) r += wkcu_w_at(bias, (wk_dtype)bdt, bscale, co);
      y[co * P + pos] = r;
    }
  }
}

extern "C" size_t wkcu_conv3d_workspace(wk_ctx *c, const wk_conv3d *p,
                                        wk_dtype wdt) {
  (void)c;
  (void)p;
  (void)wdt;
  return 0;
}

extern "C" int wkcu_conv3d_fwd(wk_ctx *c, const wk_conv3d *p, const float *x,
                               wk_w weight, wk_w bias, float *y) {
  static const char *W = "wk_conv3d_fwd(cuda)";
  int64_t To = wk_conv3d_out_t(p), Ho = wk_conv3d_out_h(p),
          Wo = wk_conv3d_out_w(p);
  if (p->T < 1 || To < 1 || Ho < 1 || Wo < 1 || p->kt < 1 || p->kh < 1 ||
      p->kw < 1)
    return wk__fail(c, WK_EINVAL,
                    "%s: no output for T=%lld H=%lld W=%lld with kernel "
                    "%lldx%lldx%lld and padding",
                    W, (long long)p->T, (long long)p->H, (long long)p->W,
                    (long long)p->kt, (long long)p->kh, (long long)p->kw);
  if (p->Co == 0 || p->H == 0 || p->W == 0) return WK_OK;
  int64_t groups = (p->Co + WKCU_COB - 1) / WKCU_COB;
  if (groups > 65535)
    return wk__fail(c, WK_EUNSUPPORTED, "%s: Co=%lld is too many channels", W,
                    (long long)p->Co);
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  int64_t P = To * Ho * Wo;
  int64_t bx = (P + 127) / 128;
  if (bx > 65535 * 4) bx = 65535 * 4;
  dim3 grid((unsigned)bx, (unsigned)groups);
  wkcu_conv3d_k<<<grid, 128, 0, wkcu__st(c)->compute>>>(
      *p, x, weight.data, weight.dtype, weight.scale, bias.data, bias.dtype,
      bias.scale, y);
  return wkcu__launched(c, W);
}
