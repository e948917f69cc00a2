/*
 * convert.cu — element conversion between f32, bf16 and fp8-e4m3 on the
 * device, with the rounding of the host helpers (wk_dtype.c): round to
 * nearest even, fp8 saturating to +-448, NaN -> 0x7F for fp8.
 */
#include "wkcu_internal.cuh"

/* Every pair goes through f32: decode (exact), then encode. For fp8 the
 * stored value is x / scale on the way in and byte * scale on the way out,
 * so fp8 -> fp8 with one scale round-trips exactly. */
__global__ void wkcu_convert_k(void *dst, int ddt, const void *src, int sdt,
                               int64_t n, float scale) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    float v = wkcu_w_at(src, (wk_dtype)sdt, scale, i);
    if (ddt == WK_F32)
      ((float *)dst)[i] = v;
    else if (ddt == WK_BF16)
      ((uint16_t *)dst)[i] = wkcu_f32_to_bf16(v);
    else
      ((uint8_t *)dst)[i] = wkcu_f32_to_fp8(v / scale);
  }
}

static int wkcu__dt_ok(wk_dtype d) {
  return d == WK_F32 || d == WK_BF16 || d == WK_FP8_E4M3;
}

extern "C" int wkcu_convert(wk_ctx *c, void *dst, wk_dtype dst_dt,
                            const void *src, wk_dtype src_dt, size_t n,
                            float scale) {
  static const char *W = "wk_convert(cuda)";
  if (!wkcu__dt_ok(dst_dt) || !wkcu__dt_ok(src_dt))
    return wk__fail(c, WK_EINVAL, "%s: unknown dtype (dst %d, src %d)", W,
                    (int)dst_dt, (int)src_dt);
  if ((dst_dt == WK_FP8_E4M3 || src_dt == WK_FP8_E4M3) && !(scale > 0.0f))
    return wk__fail(c, WK_EINVAL, "%s: fp8 needs a positive scale (got %g)", W,
                    (double)scale);
  if (n == 0) return WK_OK;
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  if (dst_dt == src_dt && dst_dt != WK_FP8_E4M3) /* plain copy */
    return wkcu__rt(c,
                    cudaMemcpyAsync(dst, src, n * wk__dtype_size(dst_dt),
                                    cudaMemcpyDeviceToDevice,
                                    wkcu__st(c)->compute),
                    W, "cudaMemcpyAsync");
  wkcu_convert_k<<<wkcu__blocks((int64_t)n, 256), 256, 0,
                   wkcu__st(c)->compute>>>(dst, dst_dt, src, src_dt, (int64_t)n,
                                           scale);
  return wkcu__launched(c, W);
}
