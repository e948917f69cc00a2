/*
 * conv_transpose1d.cu — transposed 1-D convolution in gather form: one
 * thread per output element sums the (input channel, tap) pairs of its
 * group that land on it, in the cpu backend's order (channel, then tap).
 */
#include "wkcu_internal.cuh"

__global__ void wkcu_convt1d_k(wk_convt1d p, int64_t Lo,
                               const float *__restrict__ x, const void *w,
                               int wdt, float wscale, const void *bias, int bdt,
                               float bscale, float *__restrict__ y) {
  const int64_t n = p.Co * Lo, Cig = p.Ci / p.groups, Cog = p.Co / p.groups;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t co = i / Lo, o = i % Lo, g = co / Cog, oc = co % Cog;
    float acc = 0.0f;
    for (int64_t ci = g * Cig; ci < (g + 1) * Cig; ci++)
      for (int64_t kk = 0; kk < p.k; kk++) {
        int64_t t = o + p.padding - kk; /* = l * stride */
        if (t < 0 || t % p.stride) continue;
        int64_t l = t / p.stride;
        if (l >= p.L) continue;
        int64_t wr = p.shared ? ci - g * Cig : ci;
        acc += wkcu_w_at(w, (wk_dtype)wdt, wscale, (wr * Cog + oc) * p.k + kk) *
               x[ci * p.L + l];
      }
    if (bias) acc += wkcu_w_at(bias, (wk_dtype)bdt, bscale, co);
    y[i] = acc;
  }
}

extern "C" int wkcu_conv_transpose1d(wk_ctx *c, const wk_convt1d *p,
                                     const float *x, wk_w weight, wk_w bias,
                                     float *y) {
  static const char *W = "wk_conv_transpose1d(cuda)";
  int64_t Lo = wk_convt1d_out_len(p);
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  wkcu_convt1d_k<<<wkcu__blocks(p->Co * Lo, 128), 128, 0,
                   wkcu__st(c)->compute>>>(*p, Lo, x, weight.data, weight.dtype,
                                           weight.scale, bias.data, bias.dtype,
                                           bias.scale, y);
  return wkcu__launched(c, W);
}
