/*
 * rope.cu — rotary position embedding in place on x [T, H, D] with tables
 * cos/sin [T, D]. One thread per rotated pair; the two elements of a pair
 * are read and written by that thread only.
 */
#include "wkcu_internal.cuh"

/* Pair p of head (t, h): HALF pairs (i, i + D/2), INTERLEAVED (2i, 2i+1).
 * out[a] = x[a] * cos[a] - x[b] * sin[a]; out[b] = x[b] * cos[b] + x[a] *
 * sin[b] — the rotate_half form (HF) and its interleaved twin (diffusers). */
__global__ void wkcu_rope_k(float *x, int64_t T, int64_t H, int64_t D,
                            const float *cs, const float *sn, int mode) {
  int64_t half = D / 2, n = T * H * half;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t p = i % half, th = i / half, t = th / H;
    int64_t ia = mode == WK_ROPE_HALF ? p : 2 * p;
    int64_t ib = mode == WK_ROPE_HALF ? p + half : 2 * p + 1;
    float *xr = x + th * D;
    const float *cr = cs + t * D, *sr = sn + t * D;
    float a = xr[ia], b = xr[ib];
    xr[ia] = a * cr[ia] - b * sr[ia];
    xr[ib] = b * cr[ib] + a * sr[ib];
  }
}

extern "C" int wkcu_rope(wk_ctx *c, float *x, int64_t T, int64_t H, int64_t D,
                         const float *cos, const float *sin, int mode) {
  static const char *W = "wk_rope(cuda)";
  if (mode != WK_ROPE_HALF && mode != WK_ROPE_INTERLEAVED)
    return wk__fail(c, WK_EINVAL, "%s: unknown mode %d", W, mode);
  if (D % 2)
    return wk__fail(c, WK_EINVAL, "%s: head dim %lld is odd", W, (long long)D);
  int64_t n = T * H * (D / 2);
  if (n == 0) return WK_OK;
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  wkcu_rope_k<<<wkcu__blocks(n, 256), 256, 0, wkcu__st(c)->compute>>>(
      x, T, H, D, cos, sin, mode);
  return wkcu__launched(c, W);
}
