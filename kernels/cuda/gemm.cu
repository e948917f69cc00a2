/*
 * gemm.cu — wk_linear (bf16 tensor-core GEMM through cuBLAS) and wk_gemm
 * (strict f32 strided-batched GEMM through cuBLAS).
 *
 * wk_linear, by weight dtype (x is always rounded to bf16 in the workspace,
 * f32 accumulate, f32 output):
 *   bf16 — used as stored.
 *   f32  — rounded to bf16 (nearest even) in the workspace, every call.
 *   fp8  — decoded to bf16 in the workspace; e4m3 values are exactly
 *          representable in bf16, and the per-tensor scale goes into the
 *          GEMM's alpha, so the dequantisation adds no rounding. (A native
 *          cuBLASLt FP8 GEMM would also quantise x to e4m3; we keep x in bf16
 *          for accuracy and because it can be checked without a GPU.)
 * The workspace holds only what the call converts, so the same op reads the
 * same bytes whether the weight is resident or sits in a stream window.
 * cuBLAS picks its kernel from the shapes and pointer alignment: weights
 * placed 16-byte aligned (256 is best) in both places give identical bytes.
 *
 * Row-major C[M,N] is column-major C^T[N,M], so every call computes
 * C^T = op(B)^T . op(A)^T with the operands swapped.
 */
#include <limits.h>

#include "wkcu_internal.cuh"

__global__ void wkcu_f32_to_bf16_k(const float *x, int64_t n, uint16_t *y) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    y[i] = wkcu_f32_to_bf16(x[i]);
}

/* fp8 byte -> the bf16 of its unscaled value (exact). */
__global__ void wkcu_fp8_to_bf16_k(const uint8_t *x, int64_t n, uint16_t *y) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    y[i] = wkcu_f32_to_bf16(wkcu_fp8_to_f32(x[i]));
}

/* y[r, c] += decode(bias[c]). */
__global__ void wkcu_bias_k(float *y, int64_t rows, int64_t cols, const void *b,
                            int bdt, float bscale) {
  int64_t n = rows * cols;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    y[i] += wkcu_w_at(b, (wk_dtype)bdt, bscale, i % cols);
}

extern "C" size_t wkcu_linear_workspace(wk_ctx *c, int64_t M, int64_t K,
                                        int64_t N, wk_dtype wdt) {
  (void)c;
  if (M <= 0 || K <= 0 || N <= 0) return 0;
  size_t ws = wkcu__align((size_t)M * (size_t)K * 2);
  if (wdt != WK_BF16) ws += wkcu__align((size_t)N * (size_t)K * 2);
  return ws;
}

extern "C" int wkcu_linear(wk_ctx *c, const float *x, int64_t M, int64_t K,
                           wk_w Wt, wk_w bias, int64_t N, float *y) {
  static const char *W = "wk_linear(cuda)";
  if (M == 0 || N == 0) return WK_OK;
  if (M > INT_MAX || N > INT_MAX || K > INT_MAX)
    return wk__fail(c, WK_EUNSUPPORTED,
                    "%s: M=%lld K=%lld N=%lld exceeds cuBLAS's int range", W,
                    (long long)M, (long long)K, (long long)N);
  if (Wt.dtype != WK_F32 && Wt.dtype != WK_BF16 && Wt.dtype != WK_FP8_E4M3)
    return wk__fail(c, WK_EINVAL, "%s: unknown weight dtype %d", W,
                    (int)Wt.dtype);
  if (bias.data && bias.dtype != WK_F32 && bias.dtype != WK_BF16 &&
      bias.dtype != WK_FP8_E4M3)
    return wk__fail(c, WK_EINVAL, "%s: unknown bias dtype %d", W,
                    (int)bias.dtype);
  size_t need = wkcu_linear_workspace(c, M, K, N, Wt.dtype);
  if (c->ws_bytes < need || (need && !c->ws))
    return wk__fail(c, WK_ESPACE, "%s: workspace %zu bytes < %zu needed", W,
                    c->ws_bytes, need);
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  wkcu_state *s = wkcu__st(c);
  float alpha = 1.0f, beta = 0.0f;
  if (K == 0) { /* empty sum: y = bias or 0 */
    rc = wkcu__rt(c, cudaMemsetAsync(y, 0, (size_t)M * N * 4, s->compute), W,
                  "cudaMemsetAsync");
  } else {
    uint16_t *xb = (uint16_t *)c->ws;
    const void *wb = Wt.data;
    wkcu_f32_to_bf16_k<<<wkcu__blocks(M * K, 256), 256, 0, s->compute>>>(
        x, M * K, xb);
    if ((rc = wkcu__launched(c, W))) return rc;
    if (Wt.dtype != WK_BF16) {
      uint16_t *wconv =
          (uint16_t *)((char *)c->ws + wkcu__align((size_t)M * K * 2));
      if (Wt.dtype == WK_F32)
        wkcu_f32_to_bf16_k<<<wkcu__blocks(N * K, 256), 256, 0, s->compute>>>(
            (const float *)Wt.data, N * K, wconv);
      else
        wkcu_fp8_to_bf16_k<<<wkcu__blocks(N * K, 256), 256, 0, s->compute>>>(
            (const uint8_t *)Wt.data, N * K, wconv);
      if ((rc = wkcu__launched(c, W))) return rc;
      if (Wt.dtype == WK_FP8_E4M3) alpha = Wt.scale;
      wb = wconv;
    }
    rc = wkcu__blas(c,
                    cublasGemmEx(s->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)N,
                                 (int)M, (int)K, &alpha, wb, CUDA_R_16BF,
                                 (int)K, xb, CUDA_R_16BF, (int)K, &beta, y,
                                 CUDA_R_32F, (int)N, CUBLAS_COMPUTE_32F,
                                 CUBLAS_GEMM_DEFAULT),
                    W, "cublasGemmEx(bf16)");
  }
  if (rc || !bias.data) return rc;
  wkcu_bias_k<<<wkcu__blocks(M * N, 256), 256, 0, s->compute>>>(
      y, M, N, bias.data, bias.dtype, bias.scale);
  return wkcu__launched(c, W);
}

/* Strict f32 (CUBLAS_COMPUTE_32F_PEDANTIC: no TF32, no reduced-precision
 * reductions), so it matches the cpu backend to f32 rounding. */
extern "C" int wkcu_gemm(wk_ctx *c, int trans_a, int trans_b, int64_t M,
                         int64_t N, int64_t K, float alpha, const float *A,
                         int64_t lda, int64_t sA, const float *B, int64_t ldb,
                         int64_t sB, float beta, float *C, int64_t ldc,
                         int64_t sC, int64_t batch) {
  static const char *W = "wk_gemm(cuda)";
  if (M == 0 || N == 0 || batch == 0) return WK_OK;
  if (M > INT_MAX || N > INT_MAX || K > INT_MAX || lda > INT_MAX ||
      ldb > INT_MAX || ldc > INT_MAX || batch > INT_MAX)
    return wk__fail(c, WK_EUNSUPPORTED,
                    "%s: a size or stride exceeds cuBLAS's int range", W);
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  wkcu_state *s = wkcu__st(c);
  /* cuBLAS rejects ld < 1 even when the operand is never read (K == 0). */
  int ia = (int)(lda > 0 ? lda : 1), ib = (int)(ldb > 0 ? ldb : 1);
  return wkcu__blas(c,
                    cublasGemmStridedBatchedEx(
                        s->blas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                        trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, (int)N, (int)M,
                        (int)K, &alpha, B, CUDA_R_32F, ib, (long long)sB, A,
                        CUDA_R_32F, ia, (long long)sA, &beta, C, CUDA_R_32F,
                        (int)ldc, (long long)sC, (int)batch,
                        CUBLAS_COMPUTE_32F_PEDANTIC, CUBLAS_GEMM_DEFAULT),
                    W, "cublasGemmStridedBatchedEx(f32)");
}
