/*
 * conv1d.cu — direct 1-D convolution (stride, dilation, groups, padding
 * modes via wk_pad.h, shared with the cpu backend). One thread per output
 * element, summing its group's channels and taps in a fixed order; weights
 * decoded at use, so no workspace.
 */
#include "wkcu_internal.cuh"
#include "wk_pad.h"

__global__ void wkcu_conv1d_k(wk_conv1d p, int64_t Lo,
                              const float *__restrict__ x, const void *w,
                              int wdt, float wscale, const void *bias, int bdt,
                              float bscale, float *__restrict__ y) {
  const int64_t n = p.Co * Lo, Cig = p.Ci / p.groups, Cog = p.Co / p.groups;
  const int mode = p.pad ? p.pad : WK_PAD_ZEROS;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t co = i / Lo, lo = i % Lo, g = co / Cog;
    float acc = 0.0f;
    for (int64_t ci = 0; ci < Cig; ci++) {
      const float *xr = x + (g * Cig + ci) * p.L;
      for (int64_t kk = 0; kk < p.k; kk++) {
        int64_t pos = wk__pad_src(lo * p.stride + kk * p.dilation - p.pad_front,
                                  p.L, mode);
        if (pos < 0) continue;
        int64_t wc = p.shared ? co % Cog : co;
        acc += xr[pos] *
               wkcu_w_at(w, (wk_dtype)wdt, wscale, (wc * Cig + ci) * p.k + kk);
      }
    }
    if (bias) acc += wkcu_w_at(bias, (wk_dtype)bdt, bscale, co);
    y[i] = acc;
  }
}

extern "C" size_t wkcu_conv1d_workspace(wk_ctx *c, const wk_conv1d *p,
                                        wk_dtype wdt) {
  (void)c;
  (void)p;
  (void)wdt;
  return 0;
}

extern "C" int wkcu_conv1d_fwd(wk_ctx *c, const wk_conv1d *p, const float *x,
                               wk_w weight, wk_w bias, float *y) {
  static const char *W = "wk_conv1d_fwd(cuda)";
  int64_t Lo = wk_conv1d_out_len(p);
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  wkcu_conv1d_k<<<wkcu__blocks(p->Co * Lo, 128), 128, 0,
                  wkcu__st(c)->compute>>>(*p, Lo, x, weight.data, weight.dtype,
                                          weight.scale, bias.data, bias.dtype,
                                          bias.scale, y);
  return wkcu__launched(c, W);
}
