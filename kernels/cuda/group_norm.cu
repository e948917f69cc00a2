/* group_norm.cu — GroupNorm over channel groups of [C, S]: one block per
 * group, statistics with the deterministic block sum (two passes, f32). */
#include "wkcu_internal.cuh"

__global__ void wkcu_group_norm_k(const float *__restrict__ x, int64_t C,
                                  int64_t S, int64_t G, const void *w, int wdt,
                                  float wscale, const void *b, int bdt,
                                  float bscale, float eps, float *y) {
  __shared__ float red[32];
  int64_t g = blockIdx.x, cg = C / G, n = cg * S;
  const float *xg = x + g * n;
  float s = 0.0f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
    s += xg[i];
  float mean = wkcu_block_sum(s, red) / (float)n;
  float q = 0.0f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    float d = xg[i] - mean;
    q += d * d;
  }
  float inv = rsqrtf(wkcu_block_sum(q, red) / (float)n + eps);
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    int64_t c = g * cg + i / S;
    float wv = w ? wkcu_w_at(w, (wk_dtype)wdt, wscale, c) : 1.0f;
    float bv = b ? wkcu_w_at(b, (wk_dtype)bdt, bscale, c) : 0.0f;
    y[g * n + i] = (xg[i] - mean) * inv * wv + bv;
  }
}

extern "C" int wkcu_group_norm(wk_ctx *c, const float *x, int64_t C, int64_t S,
                               int64_t groups, wk_w w, wk_w b, float eps,
                               float *y) {
  static const char *W = "wk_group_norm(cuda)";
  if (groups > 0x7fffffff)
    return wk__fail(c, WK_EUNSUPPORTED, "%s: too many groups", W);
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  wkcu_group_norm_k<<<(unsigned)groups, 256, 0, wkcu__st(c)->compute>>>(
      x, C, S, groups, w.data, w.dtype, w.scale, b.data, b.dtype, b.scale, eps,
      y);
  return wkcu__launched(c, W);
}
